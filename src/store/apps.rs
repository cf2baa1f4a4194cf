//! Queries on enterprise applications: the app rows (configuration as JSON), their sealed secrets and
//! their assignments. Secrets are stored and returned as ciphertext only; sealing and opening is the
//! service layer's job ([`crate::crypto::SecretBox`]).

use super::query::{decode_cursor, encode_cursor, prefix_end, Arg, Sql};
use super::users::page_size;
use super::{ms_to_dt, now_ms, Result, StoreError};
use crate::apps::{
    App, AppId, AppMappings, AppQuery, Assignment, AuthKind, CompatProfile, ProvisioningMode, ProvisioningSettings, SecretInfo,
};
use crate::model::Page;
use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

const COLS: &str = "a.id, a.name, a.name_lower, a.template, a.mode, a.settings, a.profile, a.created_at, a.updated_at";

/// The secret names an app may hold.
pub const SECRET_NAMES: [&str; 2] = [SECRET_TOKEN, CLIENT_SECRET];
/// The bearer token ("Secret Token").
pub const SECRET_TOKEN: &str = "secretToken";
/// The OAuth client secret.
pub const CLIENT_SECRET: &str = "clientSecret";

fn json_col<T: DeserializeOwned>(r: &AnyRow, col: &str, id: &str) -> Result<T> {
    let text: String = r.try_get(col)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("app {id} {col}: {e}")))
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "{}".into())
}

fn row_to_app(r: &AnyRow) -> Result<App> {
    let id: String = r.try_get("id")?;
    let mode: String = r.try_get("mode")?;
    Ok(App {
        id: AppId::parse(&id).map_err(|e| StoreError::Corrupt(format!("app id {id}: {e}")))?,
        name: r.try_get("name")?,
        template: r.try_get("template")?,
        mode: ProvisioningMode::parse(&mode).ok_or_else(|| StoreError::Corrupt(format!("app {id} mode {mode}")))?,
        settings: json_col::<ProvisioningSettings>(r, "settings", &id)?,
        profile: json_col::<CompatProfile>(r, "profile", &id)?,
        created_at: ms_to_dt(r.try_get("created_at")?),
        updated_at: ms_to_dt(r.try_get("updated_at")?),
    })
}

/// Inserts an app with its mappings (and their fingerprint); no credentials yet.
pub async fn insert(conn: &mut AnyConnection, app: &App, mappings: &AppMappings) -> Result<()> {
    sqlx::query(
        "INSERT INTO apps (id, name, name_lower, template, mode, settings, profile, mappings, mappings_fingerprint, auth_kind, created_at, updated_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
    )
    .bind(app.id.to_string())
    .bind(app.name.clone())
    .bind(app.name.to_lowercase())
    .bind(app.template.clone())
    .bind(app.mode.as_str())
    .bind(to_json(&app.settings))
    .bind(to_json(&app.profile))
    .bind(to_json(mappings))
    .bind(mappings.fingerprint())
    .bind(AuthKind::Bearer.as_str())
    .bind(app.created_at.timestamp_millis())
    .bind(app.updated_at.timestamp_millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Reads one app.
pub async fn get(conn: &mut AnyConnection, id: AppId) -> Result<Option<App>> {
    let sql = format!("SELECT {COLS} FROM apps a WHERE a.id = $1");
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(conn).await?;
    row.as_ref().map(row_to_app).transpose()
}

/// The id of the app called `name` (case-insensitive), if any.
pub async fn find_by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<AppId>> {
    let row = sqlx::query("SELECT id FROM apps WHERE name_lower = $1").bind(name.to_lowercase()).fetch_optional(conn).await?;
    match row {
        None => Ok(None),
        Some(r) => {
            let id: String = r.try_get("id")?;
            Ok(Some(AppId::parse(&id).map_err(|e| StoreError::Corrupt(format!("app id {id}: {e}")))?))
        }
    }
}

/// Lists apps by name, one keyset page at a time; `search` is a case-insensitive name prefix.
pub async fn list(conn: &mut AnyConnection, q: &AppQuery) -> Result<Page<App>> {
    let top = page_size(q.top);
    let mut sql = Sql::new(&format!("SELECT {COLS} FROM apps a WHERE 1=1"));
    if let Some(s) = q.search.as_deref().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()) {
        let lo = sql.arg(Arg::Text(s.clone()));
        let hi = sql.arg(Arg::Text(prefix_end(&s)));
        sql.push(&format!(" AND a.name_lower >= {lo} AND a.name_lower < {hi}"));
    }
    if let Some(after) = q.after.as_deref().filter(|s| !s.is_empty()) {
        let parts = decode_cursor(after, 2).ok_or_else(|| StoreError::Corrupt("bad cursor".into()))?;
        let a = sql.arg(Arg::Text(parts[0].clone()));
        let b = sql.arg(Arg::Text(parts[1].clone()));
        sql.push(&format!(" AND a.name_lower >= {a} AND (a.name_lower > {a} OR a.id > {b})"));
    }
    let lim = sql.arg(Arg::Int(top + 1));
    sql.push(&format!(" ORDER BY a.name_lower, a.id LIMIT {lim}"));
    let rows = sql.build().fetch_all(conn).await?;
    let mut items = Vec::new();
    let mut last_key = String::new();
    for r in rows.iter().take(top as usize) {
        items.push(row_to_app(r)?);
        last_key = r.try_get("name_lower")?;
    }
    let next_cursor = (rows.len() as i64 > top).then(|| {
        let last = items.last().map(|a| a.id.to_string()).unwrap_or_default();
        encode_cursor(&[&last_key, &last])
    });
    Ok(Page { items, next_cursor })
}

/// Overwrites an app's name, mode, settings and profile, and stamps `updated_at`.
pub async fn update(conn: &mut AnyConnection, app: &App) -> Result<()> {
    sqlx::query("UPDATE apps SET name=$2, name_lower=$3, mode=$4, settings=$5, profile=$6, updated_at=$7 WHERE id=$1")
        .bind(app.id.to_string())
        .bind(app.name.clone())
        .bind(app.name.to_lowercase())
        .bind(app.mode.as_str())
        .bind(to_json(&app.settings))
        .bind(to_json(&app.profile))
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes an app; its secrets and assignments go with it (ON DELETE CASCADE). Returns whether it existed.
pub async fn delete(conn: &mut AnyConnection, id: AppId) -> Result<bool> {
    let id = id.to_string();
    // Explicit deletes as well, so the cascade does not depend on SQLite's foreign_keys pragma.
    sqlx::query("DELETE FROM app_secrets WHERE app_id = $1").bind(id.clone()).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM app_assignments WHERE app_id = $1").bind(id.clone()).execute(&mut *conn).await?;
    let r = sqlx::query("DELETE FROM apps WHERE id = $1").bind(id).execute(conn).await?;
    Ok(r.rows_affected() > 0)
}

/// An app's mappings and their fingerprint.
pub async fn get_mappings(conn: &mut AnyConnection, id: AppId) -> Result<Option<(AppMappings, String)>> {
    let row =
        sqlx::query("SELECT mappings, mappings_fingerprint FROM apps WHERE id = $1").bind(id.to_string()).fetch_optional(conn).await?;
    match row {
        None => Ok(None),
        Some(r) => Ok(Some((json_col(&r, "mappings", &id.to_string())?, r.try_get("mappings_fingerprint")?))),
    }
}

/// Stores new mappings and their fingerprint ([`AppMappings::fingerprint`]), and stamps `updated_at`.
pub async fn set_mappings(conn: &mut AnyConnection, id: AppId, mappings: &AppMappings) -> Result<()> {
    sqlx::query("UPDATE apps SET mappings=$2, mappings_fingerprint=$3, updated_at=$4 WHERE id=$1")
        .bind(id.to_string())
        .bind(to_json(mappings))
        .bind(mappings.fingerprint())
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(())
}

/// The non-secret part of an app's admin credentials, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredCredentials {
    /// The SCIM base URL.
    pub tenant_url: Option<String>,
    /// Bearer or OAuth client credentials.
    pub auth: AuthKind,
    /// OAuth token endpoint.
    pub token_url: Option<String>,
    /// OAuth client id.
    pub client_id: Option<String>,
    /// OAuth scope.
    pub scope: Option<String>,
}

/// Reads an app's Tenant URL and OAuth fields.
pub async fn get_credentials(conn: &mut AnyConnection, id: AppId) -> Result<Option<StoredCredentials>> {
    let row = sqlx::query("SELECT tenant_url, auth_kind, token_url, client_id, oauth_scope FROM apps WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    let Some(r) = row else { return Ok(None) };
    let kind: String = r.try_get("auth_kind")?;
    Ok(Some(StoredCredentials {
        tenant_url: r.try_get("tenant_url")?,
        auth: AuthKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("app {id} auth_kind {kind}")))?,
        token_url: r.try_get("token_url")?,
        client_id: r.try_get("client_id")?,
        scope: r.try_get("oauth_scope")?,
    }))
}

/// Writes an app's Tenant URL and OAuth fields, and stamps `updated_at`.
pub async fn set_credentials(conn: &mut AnyConnection, id: AppId, c: &StoredCredentials) -> Result<()> {
    sqlx::query("UPDATE apps SET tenant_url=$2, auth_kind=$3, token_url=$4, client_id=$5, oauth_scope=$6, updated_at=$7 WHERE id=$1")
        .bind(id.to_string())
        .bind(c.tenant_url.clone())
        .bind(c.auth.as_str())
        .bind(c.token_url.clone())
        .bind(c.client_id.clone())
        .bind(c.scope.clone())
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes (or replaces) a sealed secret with its last four characters.
pub async fn put_secret(conn: &mut AnyConnection, id: AppId, name: &str, ciphertext: &str, last4: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO app_secrets (app_id, name, ciphertext, last4, updated_at) VALUES ($1,$2,$3,$4,$5) \
         ON CONFLICT (app_id, name) DO UPDATE SET ciphertext = excluded.ciphertext, last4 = excluded.last4, updated_at = excluded.updated_at",
    )
    .bind(id.to_string())
    .bind(name.to_string())
    .bind(ciphertext.to_string())
    .bind(last4.to_string())
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// The sealed text of a secret, if set.
pub async fn get_secret(conn: &mut AnyConnection, id: AppId, name: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT ciphertext FROM app_secrets WHERE app_id = $1 AND name = $2")
        .bind(id.to_string())
        .bind(name.to_string())
        .fetch_optional(conn)
        .await?;
    row.map(|r| r.try_get("ciphertext")).transpose().map_err(StoreError::Db)
}

/// What may be shown about a secret (last four characters, when written), if set.
pub async fn secret_info(conn: &mut AnyConnection, id: AppId, name: &str) -> Result<Option<SecretInfo>> {
    let row = sqlx::query("SELECT last4, updated_at FROM app_secrets WHERE app_id = $1 AND name = $2")
        .bind(id.to_string())
        .bind(name.to_string())
        .fetch_optional(conn)
        .await?;
    match row {
        None => Ok(None),
        Some(r) => Ok(Some(SecretInfo { set: true, last4: r.try_get("last4")?, updated_at: ms_to_dt(r.try_get("updated_at")?) })),
    }
}

/// Whether `principal` is assigned to the app.
pub async fn is_assigned(conn: &mut AnyConnection, id: AppId, principal: &str) -> Result<bool> {
    let row = sqlx::query("SELECT 1 AS one FROM app_assignments WHERE app_id = $1 AND principal_id = $2")
        .bind(id.to_string())
        .bind(principal.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// Assigns a user (`principal_type` "user") or group ("group") to the app.
pub async fn add_assignment(conn: &mut AnyConnection, id: AppId, principal: &str, principal_type: &str) -> Result<()> {
    sqlx::query("INSERT INTO app_assignments (app_id, principal_id, principal_type, created_at) VALUES ($1,$2,$3,$4)")
        .bind(id.to_string())
        .bind(principal.to_string())
        .bind(principal_type.to_string())
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes an assignment; returns its principal type when there was one.
pub async fn remove_assignment(conn: &mut AnyConnection, id: AppId, principal: &str) -> Result<Option<String>> {
    let row = sqlx::query("DELETE FROM app_assignments WHERE app_id = $1 AND principal_id = $2 RETURNING principal_type")
        .bind(id.to_string())
        .bind(principal.to_string())
        .fetch_optional(conn)
        .await?;
    row.map(|r| r.try_get("principal_type")).transpose().map_err(StoreError::Db)
}

/// Lists an app's assignments with the principals' display names (keyset on principal id). A principal
/// that no longer exists shows an empty display name.
///
/// `search` keeps the users and groups whose display name (or user principal name) contains it, any case.
pub async fn list_assignments(
    conn: &mut AnyConnection,
    id: AppId,
    top: Option<u32>,
    after: Option<&str>,
    search: Option<&str>,
) -> Result<Page<Assignment>> {
    let top = page_size(top);
    let mut sql = Sql::new(
        "SELECT aa.principal_id, aa.principal_type, aa.created_at, \
         COALESCE(CASE WHEN aa.principal_type = 'user' THEN u.display_name ELSE g.display_name END, '') AS display_name \
         FROM app_assignments aa LEFT JOIN users u ON u.id = aa.principal_id LEFT JOIN groups g ON g.id = aa.principal_id \
         WHERE aa.app_id = ",
    );
    let p = sql.arg(Arg::Text(id.to_string()));
    sql.push(&p);
    if let Some(a) = after.filter(|s| !s.is_empty()) {
        let parts = decode_cursor(a, 1).ok_or_else(|| StoreError::Corrupt("bad cursor".into()))?;
        let p = sql.arg(Arg::Text(parts[0].clone()));
        sql.push(&format!(" AND aa.principal_id > {p}"));
    }
    if let Some(term) = search.map(str::trim).filter(|s| !s.is_empty()) {
        let escaped: String =
            term.to_lowercase().chars().flat_map(|c| if matches!(c, '%' | '_' | '\\') { vec!['\\', c] } else { vec![c] }).collect();
        let p = sql.arg(Arg::Text(format!("%{escaped}%")));
        sql.push(&format!(
            " AND (LOWER(COALESCE(u.display_name, g.display_name, '')) LIKE {p} ESCAPE '\\' OR COALESCE(u.upn_lower, '') LIKE {p} ESCAPE '\\')"
        ));
    }
    let lim = sql.arg(Arg::Int(top + 1));
    sql.push(&format!(" ORDER BY aa.principal_id LIMIT {lim}"));
    let rows = sql.build().fetch_all(conn).await?;
    let mut items = Vec::new();
    for r in rows.iter().take(top as usize) {
        items.push(Assignment {
            principal_id: r.try_get("principal_id")?,
            principal_type: r.try_get("principal_type")?,
            display_name: r.try_get("display_name")?,
            assigned_at: ms_to_dt(r.try_get("created_at")?),
        });
    }
    let next_cursor =
        (rows.len() as i64 > top).then(|| encode_cursor(&[&items.last().map(|a| a.principal_id.clone()).unwrap_or_default()]));
    Ok(Page { items, next_cursor })
}

/// The ids assigned to the app: (users, groups), each sorted.
pub async fn assigned_ids(conn: &mut AnyConnection, id: AppId) -> Result<(Vec<String>, Vec<String>)> {
    let rows = sqlx::query("SELECT principal_id, principal_type FROM app_assignments WHERE app_id = $1 ORDER BY principal_id")
        .bind(id.to_string())
        .fetch_all(conn)
        .await?;
    let (mut users, mut groups) = (Vec::new(), Vec::new());
    for r in &rows {
        let pid: String = r.try_get("principal_id")?;
        let kind: String = r.try_get("principal_type")?;
        if kind == "group" {
            groups.push(pid);
        } else {
            users.push(pid);
        }
    }
    Ok((users, groups))
}

/// The apps a user or group is assigned to, as ids (for "Applications" on a user or group).
pub async fn apps_of_principal(conn: &mut AnyConnection, principal: &str) -> Result<Vec<AppId>> {
    let rows = sqlx::query("SELECT app_id FROM app_assignments WHERE principal_id = $1 ORDER BY app_id")
        .bind(principal.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("app_id")?;
            AppId::parse(&id).map_err(|e| StoreError::Corrupt(format!("app id {id}: {e}")))
        })
        .collect()
}
