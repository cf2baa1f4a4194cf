-- Enterprise applications (PostgreSQL): configuration, encrypted secrets, assignments.
-- Times are Unix milliseconds; ids are UUID text; JSON columns hold the camelCase serde form.
-- Keep in step with migrations/sqlite/0003_apps.sql.

CREATE TABLE apps (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    name_lower TEXT COLLATE "C" NOT NULL,
    -- The gallery entry it was made from ('generic-scim' for "Create your own application").
    template TEXT COLLATE "C" NOT NULL,
    -- 'manual' | 'automatic'.
    mode TEXT COLLATE "C" NOT NULL,
    -- ProvisioningSettings, CompatProfile and AppMappings as JSON.
    settings TEXT COLLATE "C" NOT NULL,
    profile TEXT COLLATE "C" NOT NULL,
    mappings TEXT COLLATE "C" NOT NULL,
    -- AppMappings::fingerprint(): the sync engine starts an initial cycle when it changes.
    mappings_fingerprint TEXT COLLATE "C" NOT NULL,
    -- Admin credentials other than the secrets (those are in app_secrets, encrypted).
    tenant_url TEXT COLLATE "C",
    -- 'bearer' | 'oAuthClientCredentials' (AuthKind::as_str).
    auth_kind TEXT COLLATE "C" NOT NULL DEFAULT 'bearer',
    token_url TEXT COLLATE "C",
    client_id TEXT COLLATE "C",
    oauth_scope TEXT COLLATE "C",
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX apps_name ON apps (name_lower);
CREATE INDEX apps_list ON apps (name_lower, id);

-- Secrets at rest: XChaCha20-Poly1305 ('v1:' + base64(nonce || ciphertext)), sealed with the
-- associated data '<app id>:<name>' so a ciphertext copied to another row does not open.
CREATE TABLE app_secrets (
    app_id TEXT COLLATE "C" NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL CHECK (name IN ('secretToken', 'clientSecret')),
    ciphertext TEXT COLLATE "C" NOT NULL,
    last4 TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, name)
);

-- Users and groups assigned to an app ("Users and groups").
CREATE TABLE app_assignments (
    app_id TEXT COLLATE "C" NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    principal_id TEXT COLLATE "C" NOT NULL,
    principal_type TEXT COLLATE "C" NOT NULL CHECK (principal_type IN ('user', 'group')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, principal_id)
);
CREATE INDEX app_assignments_principal ON app_assignments (principal_id);
