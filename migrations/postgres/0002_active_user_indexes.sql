-- User listing indexes, partial on the active users (deleted_at IS NULL), replacing the indexes that
-- led with deleted_at. PostgreSQL does not treat "deleted_at IS NULL" as an equality, so it could not
-- read those in display order and sorted the whole table for every page; and no index served the
-- department and enabled filters together, so SQLite checked the department row by row. Each list
-- query now walks one index in (display_lower, id) order, starting at the page's cursor.
-- Keep in step with migrations/sqlite/0002_active_user_indexes.sql.
DROP INDEX users_list;
DROP INDEX users_dept;
DROP INDEX users_enabled;
CREATE INDEX users_active ON users (display_lower, id) WHERE deleted_at IS NULL;
CREATE INDEX users_active_dept ON users (department, display_lower, id) WHERE deleted_at IS NULL;
CREATE INDEX users_active_enabled ON users (account_enabled, display_lower, id) WHERE deleted_at IS NULL;
CREATE INDEX users_active_dept_enabled ON users (department, account_enabled, display_lower, id) WHERE deleted_at IS NULL;
-- The recycle bin, in display order.
CREATE INDEX users_bin ON users (display_lower, id) WHERE deleted_at IS NOT NULL;
