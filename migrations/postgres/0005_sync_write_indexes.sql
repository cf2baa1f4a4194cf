-- Fewer indexes written per provisioning page. sync_objects_target (app_id, target_id) served no
-- query (links are read by source id; the one query that named target_id walked it over every
-- linked object instead of using the primary key), and every created link inserted into it at a
-- random place (target ids are random), a page of the B-tree per object. provisioning_logs_at (at)
-- stays: the portal's list of every app's logs walks it newest first (store::log_stats).
-- Keep in step with migrations/sqlite/0005_sync_write_indexes.sql.
DROP INDEX IF EXISTS sync_objects_target;
