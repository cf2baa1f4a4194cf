-- Provisio schema (SQLite). Times are Unix milliseconds; ids are UUID text.
-- Keep in step with migrations/postgres/0001_init.sql.

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    upn TEXT NOT NULL,
    upn_lower TEXT NOT NULL,
    display_name TEXT NOT NULL,
    display_lower TEXT NOT NULL,
    given_name TEXT,
    given_lower TEXT,
    surname TEXT,
    surname_lower TEXT,
    mail TEXT,
    mail_lower TEXT,
    other_mails TEXT NOT NULL DEFAULT '[]',
    mail_nickname TEXT,
    department TEXT,
    job_title TEXT,
    company_name TEXT,
    employee_id TEXT,
    employee_type TEXT,
    office_location TEXT,
    city TEXT,
    country TEXT,
    usage_location TEXT,
    preferred_language TEXT,
    mobile_phone TEXT,
    business_phones TEXT NOT NULL DEFAULT '[]',
    account_enabled BOOLEAN NOT NULL,
    manager_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    extensions TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE UNIQUE INDEX users_upn ON users (upn_lower);
CREATE INDEX users_list ON users (deleted_at, display_lower, id);
CREATE INDEX users_dept ON users (deleted_at, department, display_lower, id);
CREATE INDEX users_enabled ON users (deleted_at, account_enabled, display_lower, id);
CREATE INDEX users_mail ON users (mail_lower);
CREATE INDEX users_given ON users (given_lower);
CREATE INDEX users_surname ON users (surname_lower);
CREATE INDEX users_manager ON users (manager_id);
CREATE INDEX users_deleted ON users (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE groups (
    id TEXT PRIMARY KEY NOT NULL,
    display_name TEXT NOT NULL,
    display_lower TEXT NOT NULL,
    description TEXT,
    mail_nickname TEXT,
    security_enabled BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX groups_list ON groups (display_lower, id);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    member_id TEXT NOT NULL,
    member_kind TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_member ON group_members (member_id);

-- The change log: one row per directory change, seq in commit order (see change_seq).
CREATE TABLE changes (
    seq BIGINT PRIMARY KEY NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    op TEXT NOT NULL,
    detail TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX changes_object ON changes (object_id, seq);
-- A single counter row: writers take it inside their transaction, so sequence numbers are handed out
-- in commit order even with several processes (a reader never sees seq N+1 before seq N).
CREATE TABLE change_seq (id INTEGER PRIMARY KEY NOT NULL, value BIGINT NOT NULL);
INSERT INTO change_seq (id, value) VALUES (1, 0);

CREATE TABLE extension_attributes (
    name TEXT PRIMARY KEY NOT NULL,
    description TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE admins (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL,
    username_lower TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    disabled BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    last_sign_in_at BIGINT,
    password_changed_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    role TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT,
    target_name TEXT,
    ip TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_actor ON audit_log (actor, id);
CREATE INDEX audit_action ON audit_log (action, id);
CREATE INDEX audit_target ON audit_log (target_id, id);

-- Failed sign-in counters, per account and per address (keys 'user:<name>' and 'ip:<addr>').
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    data TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
