-- The provisioning engine's state (SQLite). Keep in step with migrations/postgres/0004_sync.sql.

-- One row per app: the job's status, cycle position (so a cycle resumes after a crash), watermark,
-- quarantine, counters, and the lease that lets exactly one process run it (epoch = fencing token:
-- every state write checks it).
CREATE TABLE sync_jobs (
    app_id TEXT PRIMARY KEY NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    enabled BOOLEAN NOT NULL,
    state TEXT NOT NULL,
    cycle_id TEXT,
    cycle_kind TEXT,
    phase TEXT,
    cursor TEXT,
    cycle_head BIGINT,
    cycle_started_at BIGINT,
    watermark BIGINT,
    fingerprint TEXT,
    initial_done BOOLEAN NOT NULL,
    progress TEXT NOT NULL,
    last_counts TEXT NOT NULL,
    quarantine_reason TEXT,
    quarantine_detail TEXT,
    quarantine_since BIGINT,
    quarantine_level BIGINT NOT NULL,
    next_run_at BIGINT,
    run_requested BOOLEAN NOT NULL,
    reset_requested TEXT,
    deletes_decision TEXT,
    first_cycle_at BIGINT,
    last_cycle_at BIGINT,
    last_cycle_ms BIGINT,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    epoch BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The objects a job manages: the link from a directory object to its target account, what was last
-- exported (to send only changes and to show old values), escrow (retry with backoff) and staged
-- deprovisioning. Only objects with a row here were ever created or matched: nothing else in the
-- target is ever written to.
CREATE TABLE sync_objects (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    source_id TEXT NOT NULL,
    object_type TEXT NOT NULL,
    target_id TEXT,
    display_name TEXT NOT NULL,
    state TEXT NOT NULL,
    exported TEXT NOT NULL,
    export_hash TEXT NOT NULL,
    refs_pending BOOLEAN NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT,
    last_error TEXT,
    staged_action TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, source_id)
);
CREATE INDEX sync_objects_target ON sync_objects (app_id, target_id);
CREATE INDEX sync_objects_escrow ON sync_objects (app_id, next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX sync_objects_pending ON sync_objects (app_id, refs_pending) WHERE refs_pending;
CREATE INDEX sync_objects_staged ON sync_objects (app_id, staged_action) WHERE staged_action IS NOT NULL;

-- Provisioning logs: one immutable row per object per cycle that did something or failed.
CREATE TABLE provisioning_logs (
    id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL,
    cycle_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    source_id TEXT NOT NULL,
    object_type TEXT NOT NULL,
    display_name TEXT NOT NULL,
    target_id TEXT,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    error_code TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX provisioning_logs_app ON provisioning_logs (app_id, at, id);
CREATE INDEX provisioning_logs_source ON provisioning_logs (app_id, source_id, at);
CREATE INDEX provisioning_logs_at ON provisioning_logs (at);
