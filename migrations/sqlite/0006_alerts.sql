-- Alerts: what an admin must hear about a provisioning job (it entered quarantine, it was turned Off
-- after 4 weeks in quarantine, a cycle staged more deletions than the threshold allows). Raised in the
-- same transaction as the job state that caused them, shown in the portal and the API, and sent by
-- email to the app's notification address when "send an email when a failure occurs" is on.
-- email_status: none (no email asked), pending (to send; email_next_at says when), sent, failed (gave
-- up; email_error says why). claimed_by/claimed_until: the process sending it (a claim that expires,
-- so that several processes sharing the database never send one alert twice at once).
-- Keep in step with migrations/postgres/0006_alerts.sql.
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    recipient TEXT,
    created_at BIGINT NOT NULL,
    email_status TEXT NOT NULL,
    email_attempts BIGINT NOT NULL DEFAULT 0,
    email_next_at BIGINT,
    email_error TEXT,
    email_sent_at BIGINT,
    claimed_by TEXT,
    claimed_until BIGINT
);
CREATE INDEX alerts_app ON alerts (app_id, id);
CREATE INDEX alerts_due ON alerts (email_status, email_next_at);
