-- Provisio schema (PostgreSQL). Times are Unix milliseconds; ids are UUID text.
-- Keep in step with migrations/sqlite/0001_init.sql.

CREATE TABLE users (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    upn TEXT COLLATE "C" NOT NULL,
    upn_lower TEXT COLLATE "C" NOT NULL,
    display_name TEXT COLLATE "C" NOT NULL,
    display_lower TEXT COLLATE "C" NOT NULL,
    given_name TEXT COLLATE "C",
    given_lower TEXT COLLATE "C",
    surname TEXT COLLATE "C",
    surname_lower TEXT COLLATE "C",
    mail TEXT COLLATE "C",
    mail_lower TEXT COLLATE "C",
    other_mails TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    mail_nickname TEXT COLLATE "C",
    department TEXT COLLATE "C",
    job_title TEXT COLLATE "C",
    company_name TEXT COLLATE "C",
    employee_id TEXT COLLATE "C",
    employee_type TEXT COLLATE "C",
    office_location TEXT COLLATE "C",
    city TEXT COLLATE "C",
    country TEXT COLLATE "C",
    usage_location TEXT COLLATE "C",
    preferred_language TEXT COLLATE "C",
    mobile_phone TEXT COLLATE "C",
    business_phones TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    account_enabled BOOLEAN NOT NULL,
    manager_id TEXT COLLATE "C" REFERENCES users(id) ON DELETE SET NULL,
    extensions TEXT COLLATE "C" NOT NULL DEFAULT '{}',
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
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    display_name TEXT COLLATE "C" NOT NULL,
    display_lower TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C",
    mail_nickname TEXT COLLATE "C",
    security_enabled BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX groups_list ON groups (display_lower, id);

CREATE TABLE group_members (
    group_id TEXT COLLATE "C" NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    member_id TEXT COLLATE "C" NOT NULL,
    member_kind TEXT COLLATE "C" NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_member ON group_members (member_id);

-- The change log: one row per directory change, seq in commit order (see change_seq).
CREATE TABLE changes (
    seq BIGINT PRIMARY KEY NOT NULL,
    object_type TEXT COLLATE "C" NOT NULL,
    object_id TEXT COLLATE "C" NOT NULL,
    op TEXT COLLATE "C" NOT NULL,
    detail TEXT COLLATE "C" NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX changes_object ON changes (object_id, seq);
-- A single counter row: writers take it inside their transaction, so sequence numbers are handed out
-- in commit order even with several processes (a reader never sees seq N+1 before seq N).
CREATE TABLE change_seq (id BIGINT PRIMARY KEY NOT NULL, value BIGINT NOT NULL);
INSERT INTO change_seq (id, value) VALUES (1, 0);

CREATE TABLE extension_attributes (
    name TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    description TEXT COLLATE "C",
    created_at BIGINT NOT NULL
);

CREATE TABLE admins (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    username TEXT COLLATE "C" NOT NULL,
    username_lower TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash TEXT COLLATE "C" NOT NULL,
    role TEXT COLLATE "C" NOT NULL,
    disabled BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    last_sign_in_at BIGINT,
    password_changed_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    prefix TEXT COLLATE "C" NOT NULL,
    role TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT COLLATE "C" NOT NULL,
    action TEXT COLLATE "C" NOT NULL,
    target_type TEXT COLLATE "C" NOT NULL,
    target_id TEXT COLLATE "C",
    target_name TEXT COLLATE "C",
    ip TEXT COLLATE "C",
    details TEXT COLLATE "C" NOT NULL
);
CREATE INDEX audit_actor ON audit_log (actor, id);
CREATE INDEX audit_action ON audit_log (action, id);
CREATE INDEX audit_target ON audit_log (target_id, id);

-- Failed sign-in counters, per account and per address (keys 'user:<name>' and 'ip:<addr>').
CREATE TABLE login_throttle (
    key TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);

CREATE TABLE sessions (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    data TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
