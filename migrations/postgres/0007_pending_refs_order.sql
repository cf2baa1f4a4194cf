-- The references and members phases read the links with pending references of one object type in
-- source id order, a page at a time: an index in that order, holding only those links, answers each
-- page without walking the job's other links.
-- Keep in step with migrations/sqlite/0007_pending_refs_order.sql.
DROP INDEX sync_objects_pending;
CREATE INDEX sync_objects_pending ON sync_objects (app_id, object_type, source_id) WHERE refs_pending;
