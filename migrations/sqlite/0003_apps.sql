-- Enterprise applications (SQLite): configuration, encrypted secrets, assignments.
-- Times are Unix milliseconds; ids are UUID text; JSON columns hold the camelCase serde form.
-- Keep in step with migrations/postgres/0003_apps.sql.

CREATE TABLE apps (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    -- The gallery entry it was made from ('generic-scim' for "Create your own application").
    template TEXT NOT NULL,
    -- 'manual' | 'automatic'.
    mode TEXT NOT NULL,
    -- ProvisioningSettings, CompatProfile and AppMappings as JSON.
    settings TEXT NOT NULL,
    profile TEXT NOT NULL,
    mappings TEXT NOT NULL,
    -- AppMappings::fingerprint(): the sync engine starts an initial cycle when it changes.
    mappings_fingerprint TEXT NOT NULL,
    -- Admin credentials other than the secrets (those are in app_secrets, encrypted).
    tenant_url TEXT,
    -- 'bearer' | 'oAuthClientCredentials' (AuthKind::as_str).
    auth_kind TEXT NOT NULL DEFAULT 'bearer',
    token_url TEXT,
    client_id TEXT,
    oauth_scope TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX apps_name ON apps (name_lower);
CREATE INDEX apps_list ON apps (name_lower, id);

-- Secrets at rest: XChaCha20-Poly1305 ('v1:' + base64(nonce || ciphertext)), sealed with the
-- associated data '<app id>:<name>' so a ciphertext copied to another row does not open.
CREATE TABLE app_secrets (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (name IN ('secretToken', 'clientSecret')),
    ciphertext TEXT NOT NULL,
    last4 TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, name)
);

-- Users and groups assigned to an app ("Users and groups").
CREATE TABLE app_assignments (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    principal_id TEXT NOT NULL,
    principal_type TEXT NOT NULL CHECK (principal_type IN ('user', 'group')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, principal_id)
);
CREATE INDEX app_assignments_principal ON app_assignments (principal_id);
