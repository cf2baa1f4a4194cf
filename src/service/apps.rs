//! Enterprise applications: create, list, read, rename, delete; the Provisioning blade (mode, settings,
//! target profile), admin credentials (secrets sealed at rest), attribute mappings, assignments and Test
//! Connection.
//!
//! Who may do what: every role reads (Readers included). Changing an app, its credentials, mappings or
//! assignments, and running Test Connection (which sends the stored secret to the target), needs
//! [`Actor::require_app_management`]: Administrators and Application Administrators, as [`Role`] says
//! ("Apps and provisioning"). Readers never write.
//!
//! Secrets: a new Secret Token or client secret is sealed with the server's [`SecretBox`] under the
//! associated data `"<app id>:<secret name>"` and stored with its last four characters (when it is long
//! enough to show them). Audit entries say which secret changed, never its value; errors and `Debug`
//! never carry one.

use super::{cursor_err, Actor, Result, ServiceError};
use crate::apps::{
    App, AppId, AppMappings, AppPatch, AppQuery, Assignment, AuthKind, CredentialsInput, CredentialsView, NewApp, ProvisioningConfig,
    ProvisioningInput, ProvisioningMode, GENERIC_SCIM_TEMPLATE, MAX_APP_NAME_LEN,
};
use crate::connector::scim::{ScimAuth, ScimConfig, ScimConnector};
use crate::connector::{ConnectionReport, Connector, Secret};
use crate::crypto::SecretBox;
use crate::expr::suggest::closest;
use crate::gallery::GalleryEntry;
use crate::mapping::{validate::removed_required, CompiledMapping, MappingError, ObjectMapping, ObjectType, TargetSchema};
use crate::model::{ChangeOp, FieldError, GroupId, Page, Role, UserId};
use crate::store::apps::{self as store_apps, StoredCredentials, CLIENT_SECRET, SECRET_TOKEN};
use crate::store::{audit, changes, groups, ms_to_dt, new_uuid, now_ms, users, Store};
use serde_json::json;
use sqlx::AnyConnection;

impl Actor {
    /// Refuses unless the actor may manage enterprise applications (configuration, credentials,
    /// mappings, assignments, Test Connection): Administrators and Application Administrators.
    pub fn require_app_management(&self) -> Result<()> {
        match self.role {
            Role::Administrator | Role::ApplicationAdministrator => Ok(()),
            Role::Reader => Err(ServiceError::Forbidden(format!("the {} role cannot change enterprise applications", self.role.label()))),
        }
    }
}

fn parse_app_id(id: &str) -> Result<AppId> {
    AppId::parse(id.trim()).map_err(|_| ServiceError::NotFound { what: "app", id: id.to_string() })
}

fn not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { what: "app", id: id.to_string() }
}

async fn load(conn: &mut AnyConnection, id: AppId, raw: &str) -> Result<App> {
    store_apps::get(conn, id).await?.ok_or_else(|| not_found(raw))
}

/// Checks and normalizes an app name (trimmed, 1–256 characters, no control characters).
fn check_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() {
        return Err(ServiceError::invalid("name", "is required"));
    }
    if n.chars().count() > MAX_APP_NAME_LEN {
        return Err(ServiceError::invalid("name", format!("is longer than {MAX_APP_NAME_LEN} characters")));
    }
    if n.chars().any(char::is_control) {
        return Err(ServiceError::invalid("name", "must not contain control characters"));
    }
    Ok(n.to_string())
}

async fn check_name_free(conn: &mut AnyConnection, name: &str, this: Option<AppId>) -> Result<()> {
    match store_apps::find_by_name(conn, name).await? {
        Some(other) if Some(other) != this => {
            Err(ServiceError::Conflict(FieldError::new("name", format!("an application called '{name}' already exists"))))
        }
        _ => Ok(()),
    }
}

/// Entra's rule: an app provisioned automatically never goes back to Manual; provisioning is stopped instead.
fn check_mode_change(before: ProvisioningMode, after: ProvisioningMode) -> Option<FieldError> {
    (before == ProvisioningMode::Automatic && after == ProvisioningMode::Manual).then(|| {
        FieldError::new(
            "mode",
            "an application provisioned automatically can't be switched back to Manual; stop provisioning instead (provisioning status Off)",
        )
    })
}

fn prefixed(prefix: &str, errs: Vec<FieldError>) -> impl Iterator<Item = FieldError> + '_ {
    errs.into_iter().map(move |e| FieldError::new(format!("{prefix}.{}", e.field), e.message))
}

/// The application gallery (any signed-in actor): every entry sorted by name, or those whose name,
/// publisher, category or description contains `search` (case-insensitive).
pub fn gallery(search: Option<&str>) -> Vec<GalleryEntry> {
    crate::gallery::search(search.unwrap_or("")).into_iter().cloned().collect()
}

/// Creates an app from a gallery entry (`template`; absent = `generic-scim`, "Create your own
/// application"): Manual mode, the default settings, and the entry's compatibility profile, mappings
/// and attribute lists. An unknown template is refused, naming the field and listing the valid ids.
pub async fn create_app(store: &Store, actor: &Actor, input: NewApp) -> Result<App> {
    actor.require_app_management()?;
    let name = check_name(&input.name)?;
    let template = input.template.as_deref().map(str::trim).filter(|t| !t.is_empty()).unwrap_or(GENERIC_SCIM_TEMPLATE).to_string();
    let (entry, mappings) = match (crate::gallery::get(&template), crate::gallery::mappings(&template)) {
        (Some(e), Some(m)) => (e, m),
        _ => {
            let hint = closest(&template, crate::gallery::ids()).map(|c| format!(" (did you mean {c}?)")).unwrap_or_default();
            return Err(ServiceError::invalid(
                "template",
                format!("'{template}' is not a gallery application{hint}; available: {}", crate::gallery::ids().join(", ")),
            ));
        }
    };
    let now = ms_to_dt(now_ms());
    let app = App {
        id: AppId(new_uuid()),
        name,
        template,
        mode: ProvisioningMode::Manual,
        settings: Default::default(),
        profile: entry.profile.clone(),
        created_at: now,
        updated_at: now,
    };
    let mut tx = store.begin().await?;
    check_name_free(&mut tx, &app.name, None).await?;
    store_apps::insert(&mut tx, &app, &mappings).await?;
    audit::append(
        &mut tx,
        &actor.audit("Create application", "app", Some(app.id.to_string()), Some(app.name.clone()), json!({"template": app.template})),
    )
    .await?;
    let created = load(&mut tx, app.id, &app.id.to_string()).await?;
    tx.commit().await?;
    Ok(created)
}

/// Reads an app.
pub async fn get_app(store: &Store, _actor: &Actor, id: &str) -> Result<App> {
    let aid = parse_app_id(id)?;
    let mut conn = store.conn().await?;
    load(&mut conn, aid, id).await
}

/// Lists apps by name (keyset pages; `search` is a case-insensitive name prefix).
pub async fn list_apps(store: &Store, _actor: &Actor, q: &AppQuery) -> Result<Page<App>> {
    let mut conn = store.conn().await?;
    store_apps::list(&mut conn, q).await.map_err(cursor_err)
}

/// Renames an app or changes its provisioning mode (Automatic can't go back to Manual).
pub async fn update_app(store: &Store, actor: &Actor, id: &str, patch: AppPatch) -> Result<App> {
    actor.require_app_management()?;
    let aid = parse_app_id(id)?;
    let mut tx = store.begin().await?;
    let before = load(&mut tx, aid, id).await?;
    let mut after = before.clone();
    if let Some(n) = &patch.name {
        after.name = check_name(n)?;
    }
    if let Some(m) = patch.mode {
        if let Some(e) = check_mode_change(before.mode, m) {
            return Err(ServiceError::Validation(vec![e]));
        }
        after.mode = m;
    }
    let mut changed = serde_json::Map::new();
    if after.name != before.name {
        check_name_free(&mut tx, &after.name, Some(aid)).await?;
        changed.insert("name".into(), json!({"old": before.name, "new": after.name}));
    }
    if after.mode != before.mode {
        changed.insert("mode".into(), json!({"old": before.mode, "new": after.mode}));
    }
    if changed.is_empty() {
        return Ok(before);
    }
    store_apps::update(&mut tx, &after).await?;
    audit::append(
        &mut tx,
        &actor.audit("Update application", "app", Some(aid.to_string()), Some(after.name.clone()), json!({"changes": changed})),
    )
    .await?;
    let app = load(&mut tx, aid, id).await?;
    tx.commit().await?;
    Ok(app)
}

/// Deletes an app with its secrets and assignments.
pub async fn delete_app(store: &Store, actor: &Actor, id: &str) -> Result<()> {
    actor.require_app_management()?;
    let aid = parse_app_id(id)?;
    let mut tx = store.begin().await?;
    let app = load(&mut tx, aid, id).await?;
    store_apps::delete(&mut tx, aid).await?;
    audit::append(&mut tx, &actor.audit("Delete application", "app", Some(aid.to_string()), Some(app.name), json!({}))).await?;
    tx.commit().await?;
    Ok(())
}

/// The credentials as shown: URL and OAuth fields, and which secrets are set (never their values).
async fn credentials_view(conn: &mut AnyConnection, id: AppId, raw: &str) -> Result<CredentialsView> {
    let c = store_apps::get_credentials(conn, id).await?.ok_or_else(|| not_found(raw))?;
    Ok(CredentialsView {
        tenant_url: c.tenant_url,
        auth: c.auth,
        secret_token: store_apps::secret_info(conn, id, SECRET_TOKEN).await?,
        token_url: c.token_url,
        client_id: c.client_id,
        client_secret: store_apps::secret_info(conn, id, CLIENT_SECRET).await?,
        scope: c.scope,
    })
}

/// The Provisioning blade: mode, settings, target profile and the credentials view.
pub async fn get_provisioning(store: &Store, _actor: &Actor, id: &str) -> Result<ProvisioningConfig> {
    let aid = parse_app_id(id)?;
    let mut conn = store.conn().await?;
    let app = load(&mut conn, aid, id).await?;
    let credentials = credentials_view(&mut conn, aid, id).await?;
    Ok(ProvisioningConfig { mode: app.mode, settings: app.settings, profile: app.profile, credentials })
}

/// Saves the Provisioning blade: mode, settings and (when given) the target profile. Every problem is
/// returned, named `settings.<field>`, `profile.<field>` or `mode`.
pub async fn put_provisioning(store: &Store, actor: &Actor, id: &str, input: ProvisioningInput) -> Result<ProvisioningConfig> {
    actor.require_app_management()?;
    let aid = parse_app_id(id)?;
    let mut tx = store.begin().await?;
    let before = load(&mut tx, aid, id).await?;
    let mut errs: Vec<FieldError> = check_mode_change(before.mode, input.mode).into_iter().collect();
    errs.extend(prefixed("settings", input.settings.validate()));
    if let Some(p) = &input.profile {
        errs.extend(prefixed("profile", p.validate()));
    }
    if !errs.is_empty() {
        return Err(ServiceError::Validation(errs));
    }
    let after = App {
        mode: input.mode,
        settings: input.settings,
        profile: input.profile.unwrap_or_else(|| before.profile.clone()),
        ..before.clone()
    };
    let mut diff = serde_json::Map::new();
    if before.mode != after.mode {
        diff.insert("mode".into(), json!({"old": before.mode, "new": after.mode}));
    }
    for (section, b, a) in
        [("settings", json!(before.settings), json!(after.settings)), ("profile", json!(before.profile), json!(after.profile))]
    {
        diff.extend(crate::model::diff_objects(&b, &a).into_iter().map(|(k, v)| (format!("{section}.{k}"), v)));
    }
    if !diff.is_empty() {
        store_apps::update(&mut tx, &after).await?;
        audit::append(
            &mut tx,
            &actor.audit("Update provisioning settings", "app", Some(aid.to_string()), Some(after.name.clone()), json!({"changes": diff})),
        )
        .await?;
    }
    let app = load(&mut tx, aid, id).await?;
    let credentials = credentials_view(&mut tx, aid, id).await?;
    tx.commit().await?;
    Ok(ProvisioningConfig { mode: app.mode, settings: app.settings, profile: app.profile, credentials })
}

/// The last four characters of a secret, shown to recognise it; empty for secrets shorter than 12
/// characters, where four would give away too much.
fn last4(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        return String::new();
    }
    chars[chars.len() - 4..].iter().collect()
}

/// The associated data a secret is sealed under: the row it belongs to.
fn secret_aad(id: AppId, name: &str) -> String {
    format!("{id}:{name}")
}

fn trimmed(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// A URL for the audit log: without its query string (which some targets use for keys).
fn url_for_audit(u: &str) -> String {
    u.split(['?', '#']).next().unwrap_or("").to_string()
}

/// Saves the admin credentials: Tenant URL, authentication kind, OAuth fields, and new secrets (sealed;
/// an absent secret keeps the stored one). Returns what may be shown.
pub async fn put_credentials(
    store: &Store,
    secrets: &SecretBox,
    actor: &Actor,
    id: &str,
    input: CredentialsInput,
) -> Result<CredentialsView> {
    actor.require_app_management()?;
    let aid = parse_app_id(id)?;
    let mut tx = store.begin().await?;
    let app = load(&mut tx, aid, id).await?;
    let has_token = store_apps::secret_info(&mut tx, aid, SECRET_TOKEN).await?.is_some();
    let has_client_secret = store_apps::secret_info(&mut tx, aid, CLIENT_SECRET).await?.is_some();
    let errs = input.validate(has_token, has_client_secret);
    if !errs.is_empty() {
        return Err(ServiceError::Validation(errs));
    }
    let oauth = input.auth == AuthKind::OAuthClientCredentials;
    let creds = StoredCredentials {
        tenant_url: Some(input.tenant_url.trim().to_string()),
        auth: input.auth,
        token_url: trimmed(&input.token_url).filter(|_| oauth),
        client_id: trimmed(&input.client_id).filter(|_| oauth),
        scope: trimmed(&input.scope).filter(|_| oauth),
    };
    store_apps::set_credentials(&mut tx, aid, &creds).await?;
    let mut changed = Vec::new();
    for (name, value) in [(SECRET_TOKEN, &input.secret_token), (CLIENT_SECRET, &input.client_secret)] {
        if let Some(v) = trimmed(value) {
            let sealed = secrets.seal(&v, &secret_aad(aid, name));
            store_apps::put_secret(&mut tx, aid, name, &sealed, &last4(&v)).await?;
            changed.push(name);
        }
    }
    let details = json!({
        "tenantUrl": creds.tenant_url.as_deref().map(url_for_audit),
        "auth": creds.auth,
        "tokenUrl": creds.token_url.as_deref().map(url_for_audit),
        "clientId": creds.client_id,
        "scope": creds.scope,
        "secretsChanged": changed,
    });
    audit::append(&mut tx, &actor.audit("Update admin credentials", "app", Some(aid.to_string()), Some(app.name), details)).await?;
    let view = credentials_view(&mut tx, aid, id).await?;
    tx.commit().await?;
    Ok(view)
}

/// The app's object mappings and target attribute lists.
pub async fn get_mappings(store: &Store, _actor: &Actor, id: &str) -> Result<AppMappings> {
    let aid = parse_app_id(id)?;
    let mut conn = store.conn().await?;
    Ok(store_apps::get_mappings(&mut conn, aid).await?.ok_or_else(|| not_found(id))?.0)
}

/// The field a mapping problem is reported on: `user.attributes[userName].source`,
/// `group.scope[Sales only].clause 1 value`, `user.matching`, …
fn mapping_field(object: &str, e: &MappingError) -> String {
    if e.mapping.is_empty() {
        format!("{object}.{}", e.field)
    } else if let Some(name) = e.mapping.strip_prefix("scoping filter '").and_then(|r| r.strip_suffix('\'')) {
        format!("{object}.scope[{name}].{}", e.field)
    } else {
        format!("{object}.attributes[{}].{}", e.mapping, e.field)
    }
}

fn mapping_message(e: &MappingError) -> String {
    match &e.expr_error {
        Some(x) => format!("{} (line {}, column {})", e.message, x.line, x.column),
        None => e.message.clone(),
    }
}

/// Every problem with one object mapping and its attribute list, as field errors.
fn check_object(
    object: &str,
    want: ObjectType,
    m: &ObjectMapping,
    schema: &TargetSchema,
    before: Option<&ObjectMapping>,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for e in schema.validate() {
        errs.push(FieldError::new(format!("{object}Schema.attributes[{}].{}", e.attribute, e.field), e.message));
    }
    if m.source_object != want {
        errs.push(FieldError::new(format!("{object}.sourceObject"), format!("the {object} mapping must read {want}s")));
    }
    let mut problems = CompiledMapping::compile(m, schema).err().unwrap_or_default();
    // The attribute list's own problems are reported above, by attribute.
    problems.retain(|e| !(e.mapping.is_empty() && e.field == "targetSchema"));
    if let Some(b) = before {
        problems.extend(removed_required(b, m));
    }
    errs.extend(problems.iter().map(|e| FieldError::new(mapping_field(object, e), mapping_message(e))));
    errs
}

/// Saves the object mappings after compiling them (expressions, types, matching, scoping) and checking
/// the attribute lists; every problem is a field error (`user.attributes[userName].source`, …). A new
/// fingerprint makes the next provisioning cycle an initial one.
pub async fn put_mappings(store: &Store, actor: &Actor, id: &str, mappings: AppMappings) -> Result<AppMappings> {
    actor.require_app_management()?;
    let aid = parse_app_id(id)?;
    let mut tx = store.begin().await?;
    let app = load(&mut tx, aid, id).await?;
    let (before, before_fp) = store_apps::get_mappings(&mut tx, aid).await?.ok_or_else(|| not_found(id))?;
    let mut errs = check_object("user", ObjectType::User, &mappings.user, &mappings.user_schema, Some(&before.user));
    errs.extend(check_object("group", ObjectType::Group, &mappings.group, &mappings.group_schema, Some(&before.group)));
    if !errs.is_empty() {
        return Err(ServiceError::Validation(errs));
    }
    let fp = mappings.fingerprint();
    if fp == before_fp {
        return Ok(before);
    }
    let changed: Vec<&str> = [
        ("user", before.user != mappings.user),
        ("userSchema", before.user_schema != mappings.user_schema),
        ("group", before.group != mappings.group),
        ("groupSchema", before.group_schema != mappings.group_schema),
    ]
    .into_iter()
    .filter_map(|(k, c)| c.then_some(k))
    .collect();
    store_apps::set_mappings(&mut tx, aid, &mappings).await?;
    audit::append(
        &mut tx,
        &actor.audit(
            "Update attribute mappings or scope",
            "app",
            Some(aid.to_string()),
            Some(app.name),
            json!({"changed": changed, "fingerprint": {"before": before_fp, "after": fp}}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(mappings)
}

/// Lists the users and groups assigned to an app (keyset pages by principal id), optionally only those
/// whose name or user principal name contains `search`.
pub async fn list_assignments(
    store: &Store,
    _actor: &Actor,
    id: &str,
    top: Option<u32>,
    after: Option<&str>,
    search: Option<&str>,
) -> Result<Page<Assignment>> {
    let aid = parse_app_id(id)?;
    let mut conn = store.conn().await?;
    load(&mut conn, aid, id).await?;
    store_apps::list_assignments(&mut conn, aid, top, after, search).await.map_err(cursor_err)
}

/// Assigns a user or group (found by id) to an app. 404 when no live user or group has the id, 409 when
/// it is already assigned. The change log gets an `app` update so incremental cycles see it.
pub async fn assign(store: &Store, actor: &Actor, id: &str, principal_id: &str) -> Result<Assignment> {
    actor.require_app_management()?;
    let aid = parse_app_id(id)?;
    let pid = principal_id.trim();
    if pid.is_empty() {
        return Err(ServiceError::invalid("principalId", "is required: the id of a user or group"));
    }
    let missing = || ServiceError::NotFound { what: "user or group", id: pid.to_string() };
    let mut tx = store.begin().await?;
    let app = load(&mut tx, aid, id).await?;
    let uid = UserId::parse(pid).map_err(|_| missing())?;
    let (kind, name) = match users::get(&mut tx, uid).await? {
        Some(u) if u.deleted_date_time.is_none() => ("user", u.display_name),
        Some(_) => return Err(ServiceError::invalid("principalId", "the user is in the recycle bin; restore it first")),
        None => match groups::get(&mut tx, GroupId(uid.0)).await? {
            Some(g) => ("group", g.display_name),
            None => return Err(missing()),
        },
    };
    let pid = uid.to_string();
    if store_apps::is_assigned(&mut tx, aid, &pid).await? {
        return Err(ServiceError::Conflict(FieldError::new("principalId", format!("'{name}' is already assigned to '{}'", app.name))));
    }
    store_apps::add_assignment(&mut tx, aid, &pid, kind).await?;
    changes::append(
        &mut tx,
        "app",
        &aid.to_string(),
        ChangeOp::Update,
        json!({"assignment": {"principalId": pid, "principalType": kind, "op": "add"}}),
    )
    .await?;
    let action = if kind == "user" { "Assign user to application" } else { "Assign group to application" };
    audit::append(
        &mut tx,
        &actor.audit(
            action,
            "app",
            Some(aid.to_string()),
            Some(app.name),
            json!({"principalId": pid, "principalType": kind, "principal": name}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Assignment { principal_id: pid, principal_type: kind.into(), display_name: name, assigned_at: ms_to_dt(now_ms()) })
}

/// Removes an assignment (404 when the principal is not assigned).
pub async fn unassign(store: &Store, actor: &Actor, id: &str, principal_id: &str) -> Result<()> {
    actor.require_app_management()?;
    let aid = parse_app_id(id)?;
    let raw = principal_id.trim();
    let pid = UserId::parse(raw).map(|u| u.to_string()).unwrap_or_else(|_| raw.to_string());
    let mut tx = store.begin().await?;
    let app = load(&mut tx, aid, id).await?;
    let Some(kind) = store_apps::remove_assignment(&mut tx, aid, &pid).await? else {
        return Err(ServiceError::NotFound { what: "assignment", id: raw.to_string() });
    };
    changes::append(
        &mut tx,
        "app",
        &aid.to_string(),
        ChangeOp::Update,
        json!({"assignment": {"principalId": pid, "principalType": kind, "op": "remove"}}),
    )
    .await?;
    let action = if kind == "group" { "Remove group from application" } else { "Remove user from application" };
    audit::append(
        &mut tx,
        &actor.audit(action, "app", Some(aid.to_string()), Some(app.name), json!({"principalId": pid, "principalType": kind})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Opens a stored secret; `None` when it is not set. A secret that does not open (another server key,
/// a copied row) is a validation error on its field: the admin enters it again.
async fn open_secret(conn: &mut AnyConnection, secrets: &SecretBox, id: AppId, name: &str) -> Result<Option<Secret>> {
    let Some(sealed) = store_apps::get_secret(conn, id, name).await? else { return Ok(None) };
    match secrets.open(&sealed, &secret_aad(id, name)) {
        Ok(plain) => Ok(Some(Secret::new(plain))),
        Err(_) => Err(ServiceError::invalid(
            name,
            "the stored secret can't be decrypted with this server's secret key (was PROVISIO_SECRET_KEY changed?); enter it again",
        )),
    }
}

/// The SCIM connector for an app, from its Tenant URL, decrypted secrets and profile. Missing
/// credentials are a validation error naming `tenantUrl`, `secretToken`, `tokenUrl`, `clientId` or
/// `clientSecret`. `allow_private` lets the connector reach private addresses (test targets).
pub async fn connector_for(store: &Store, secrets: &SecretBox, app_id: &str, allow_private: bool) -> Result<ScimConnector> {
    let aid = parse_app_id(app_id)?;
    let mut conn = store.conn().await?;
    let app = load(&mut conn, aid, app_id).await?;
    let c = store_apps::get_credentials(&mut conn, aid).await?.ok_or_else(|| not_found(app_id))?;
    let needed = |field: &str| ServiceError::invalid(field, "is not set: enter it under Admin Credentials");
    let base_url = c.tenant_url.filter(|u| !u.trim().is_empty()).ok_or_else(|| needed("tenantUrl"))?;
    let auth = match c.auth {
        AuthKind::Bearer => {
            ScimAuth::Bearer(open_secret(&mut conn, secrets, aid, SECRET_TOKEN).await?.ok_or_else(|| needed("secretToken"))?)
        }
        AuthKind::OAuthClientCredentials => ScimAuth::OAuth {
            token_url: c.token_url.ok_or_else(|| needed("tokenUrl"))?,
            client_id: c.client_id.ok_or_else(|| needed("clientId"))?,
            client_secret: open_secret(&mut conn, secrets, aid, CLIENT_SECRET).await?.ok_or_else(|| needed("clientSecret"))?,
            scope: c.scope,
        },
    };
    drop(conn);
    ScimConnector::new(ScimConfig { base_url, auth, profile: app.profile, allow_private })
        .map_err(|e| ServiceError::invalid("tenantUrl", e.message))
}

/// Test Connection: reaches the target with the stored credentials and reports each step. A failing
/// target is a normal result (`ok: false` with the reason); missing credentials are a validation error.
/// Audited as "Test connection" with the outcome, never the secret.
pub async fn test_connection(store: &Store, secrets: &SecretBox, actor: &Actor, id: &str, allow_private: bool) -> Result<ConnectionReport> {
    actor.require_app_management()?;
    let aid = parse_app_id(id)?;
    let connector = connector_for(store, secrets, id, allow_private).await?;
    let report = connector.test_connection().await;
    audit_test(store, actor, aid, id, &report).await?;
    Ok(report)
}

/// Test Connection with credentials as an admin entered them, before saving: blank secrets stand for
/// the stored ones. The input is validated as [`put_credentials`] does; nothing is stored but the
/// audit entry.
pub async fn test_credentials(
    store: &Store,
    secrets: &SecretBox,
    actor: &Actor,
    id: &str,
    input: &CredentialsInput,
    allow_private: bool,
) -> Result<ConnectionReport> {
    actor.require_app_management()?;
    let aid = parse_app_id(id)?;
    let mut conn = store.conn().await?;
    let app = load(&mut conn, aid, id).await?;
    let has_token = store_apps::secret_info(&mut conn, aid, SECRET_TOKEN).await?.is_some();
    let has_client_secret = store_apps::secret_info(&mut conn, aid, CLIENT_SECRET).await?.is_some();
    let errs = input.validate(has_token, has_client_secret);
    if !errs.is_empty() {
        return Err(ServiceError::Validation(errs));
    }
    let needed = |field: &str| ServiceError::invalid(field, "is not set: enter it under Admin Credentials");
    let auth = match input.auth {
        AuthKind::Bearer => ScimAuth::Bearer(match trimmed(&input.secret_token) {
            Some(t) => Secret::new(t),
            None => open_secret(&mut conn, secrets, aid, SECRET_TOKEN).await?.ok_or_else(|| needed("secretToken"))?,
        }),
        AuthKind::OAuthClientCredentials => ScimAuth::OAuth {
            token_url: trimmed(&input.token_url).ok_or_else(|| needed("tokenUrl"))?,
            client_id: trimmed(&input.client_id).ok_or_else(|| needed("clientId"))?,
            client_secret: match trimmed(&input.client_secret) {
                Some(t) => Secret::new(t),
                None => open_secret(&mut conn, secrets, aid, CLIENT_SECRET).await?.ok_or_else(|| needed("clientSecret"))?,
            },
            scope: trimmed(&input.scope),
        },
    };
    drop(conn);
    let config = ScimConfig { base_url: input.tenant_url.trim().to_string(), auth, profile: app.profile, allow_private };
    let connector = ScimConnector::new(config).map_err(|e| ServiceError::invalid("tenantUrl", e.message))?;
    let report = connector.test_connection().await;
    audit_test(store, actor, aid, id, &report).await?;
    Ok(report)
}

/// Audits a Test Connection run: its outcome and failing step, never a secret.
async fn audit_test(store: &Store, actor: &Actor, aid: AppId, id: &str, report: &ConnectionReport) -> Result<()> {
    let failed_step = report.steps.iter().find(|s| !s.ok).map(|s| s.name.clone());
    let details = json!({
        "result": if report.ok { "ok" } else { "failed" },
        "failedStep": failed_step,
        "errorCode": report.error.as_ref().map(|e| e.code()),
    });
    let mut tx = store.begin().await?;
    let app = load(&mut tx, aid, id).await?;
    audit::append(&mut tx, &actor.audit("Test connection", "app", Some(aid.to_string()), Some(app.name), details)).await?;
    tx.commit().await?;
    Ok(())
}
