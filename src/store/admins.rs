//! Admin accounts and API tokens.

use super::{get_bool, ms_to_dt, now_ms, Result, StoreError};
use crate::model::{Admin, AdminId, ApiToken, Role, TokenId};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// An admin with its password hash, for sign-in only.
#[derive(Clone, Debug)]
pub struct AdminCredentials {
    /// The account.
    pub admin: Admin,
    /// The PHC string of its password.
    pub password_hash: String,
}

fn role(s: &str) -> Result<Role> {
    Role::parse(s).ok_or_else(|| StoreError::Corrupt(format!("role {s}")))
}

fn row_to_admin(r: &AnyRow) -> Result<Admin> {
    let id: String = r.try_get("id")?;
    Ok(Admin {
        id: AdminId::parse(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        username: r.try_get("username")?,
        role: role(&r.try_get::<String, _>("role")?)?,
        disabled: get_bool(r, "disabled")?,
        created_date_time: ms_to_dt(r.try_get("created_at")?),
        last_sign_in_date_time: r.try_get::<Option<i64>, _>("last_sign_in_at")?.map(ms_to_dt),
    })
}

const ADMIN_COLS: &str = "id, username, role, CAST(disabled AS INTEGER) AS disabled, created_at, last_sign_in_at, password_hash";

/// Reads an admin by id.
pub async fn get(conn: &mut AnyConnection, id: AdminId) -> Result<Option<Admin>> {
    let row = sqlx::query(&format!("SELECT {ADMIN_COLS} FROM admins WHERE id = $1")).bind(id.to_string()).fetch_optional(conn).await?;
    row.as_ref().map(row_to_admin).transpose()
}

/// Reads an admin and its hash by user name (case-insensitive).
pub async fn credentials(conn: &mut AnyConnection, username: &str) -> Result<Option<AdminCredentials>> {
    let row = sqlx::query(&format!("SELECT {ADMIN_COLS} FROM admins WHERE username_lower = $1"))
        .bind(username.trim().to_lowercase())
        .fetch_optional(conn)
        .await?;
    match row {
        Some(r) => Ok(Some(AdminCredentials { admin: row_to_admin(&r)?, password_hash: r.try_get("password_hash")? })),
        None => Ok(None),
    }
}

/// Lists every admin by user name.
pub async fn list(conn: &mut AnyConnection) -> Result<Vec<Admin>> {
    let rows = sqlx::query(&format!("SELECT {ADMIN_COLS} FROM admins ORDER BY username_lower")).fetch_all(conn).await?;
    rows.iter().map(row_to_admin).collect()
}

/// Counts enabled Administrators (the last one may not be demoted, disabled or deleted).
pub async fn count_active_administrators(conn: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM admins WHERE role = 'Administrator' AND disabled = $1")
        .bind(false)
        .fetch_one(conn)
        .await?
        .try_get("n")?)
}

/// Inserts an admin.
pub async fn insert(conn: &mut AnyConnection, id: AdminId, username: &str, hash: &str, role: Role) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO admins (id, username, username_lower, password_hash, role, disabled, created_at, password_changed_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$7)",
    )
    .bind(id.to_string())
    .bind(username.trim().to_string())
    .bind(username.trim().to_lowercase())
    .bind(hash.to_string())
    .bind(role.as_str())
    .bind(false)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces an admin's password hash.
pub async fn set_password(conn: &mut AnyConnection, id: AdminId, hash: &str) -> Result<()> {
    sqlx::query("UPDATE admins SET password_hash = $2, password_changed_at = $3 WHERE id = $1")
        .bind(id.to_string())
        .bind(hash.to_string())
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets an admin's role and disabled flag.
pub async fn set_role(conn: &mut AnyConnection, id: AdminId, role: Role, disabled: bool) -> Result<()> {
    sqlx::query("UPDATE admins SET role = $2, disabled = $3 WHERE id = $1")
        .bind(id.to_string())
        .bind(role.as_str())
        .bind(disabled)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a successful sign-in.
pub async fn touch_sign_in(conn: &mut AnyConnection, id: AdminId) -> Result<()> {
    sqlx::query("UPDATE admins SET last_sign_in_at = $2 WHERE id = $1").bind(id.to_string()).bind(now_ms()).execute(conn).await?;
    Ok(())
}

/// Deletes an admin.
pub async fn delete(conn: &mut AnyConnection, id: AdminId) -> Result<()> {
    sqlx::query("DELETE FROM admins WHERE id = $1").bind(id.to_string()).execute(conn).await?;
    Ok(())
}

/// Counts admins.
pub async fn count(conn: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM admins").fetch_one(conn).await?.try_get("n")?)
}

fn row_to_token(r: &AnyRow) -> Result<ApiToken> {
    let id: String = r.try_get("id")?;
    Ok(ApiToken {
        id: TokenId::parse(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        name: r.try_get("name")?,
        role: role(&r.try_get::<String, _>("role")?)?,
        prefix: r.try_get("prefix")?,
        created_by: r.try_get("created_by")?,
        created_date_time: ms_to_dt(r.try_get("created_at")?),
        last_used_date_time: r.try_get::<Option<i64>, _>("last_used_at")?.map(ms_to_dt),
        revoked_date_time: r.try_get::<Option<i64>, _>("revoked_at")?.map(ms_to_dt),
    })
}

const TOKEN_COLS: &str = "id, name, role, prefix, created_by, created_at, last_used_at, revoked_at";

/// Inserts an API token (its SHA-256 hash, never the token).
pub async fn insert_token(conn: &mut AnyConnection, id: TokenId, name: &str, hash: &str, prefix: &str, role: Role, by: &str) -> Result<()> {
    sqlx::query("INSERT INTO api_tokens (id, name, token_hash, prefix, role, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)")
        .bind(id.to_string())
        .bind(name.to_string())
        .bind(hash.to_string())
        .bind(prefix.to_string())
        .bind(role.as_str())
        .bind(by.to_string())
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(())
}

/// Finds a live (not revoked) token by its hash and records its use.
pub async fn token_by_hash(conn: &mut AnyConnection, hash: &str) -> Result<Option<ApiToken>> {
    let row = sqlx::query(&format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"))
        .bind(hash.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(r) = row else { return Ok(None) };
    let t = row_to_token(&r)?;
    sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1").bind(t.id.to_string()).bind(now_ms()).execute(conn).await?;
    Ok(Some(t))
}

/// Lists tokens, newest first.
pub async fn list_tokens(conn: &mut AnyConnection) -> Result<Vec<ApiToken>> {
    let rows = sqlx::query(&format!("SELECT {TOKEN_COLS} FROM api_tokens ORDER BY created_at DESC")).fetch_all(conn).await?;
    rows.iter().map(row_to_token).collect()
}

/// Reads one token.
pub async fn get_token(conn: &mut AnyConnection, id: TokenId) -> Result<Option<ApiToken>> {
    let row = sqlx::query(&format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1")).bind(id.to_string()).fetch_optional(conn).await?;
    row.as_ref().map(row_to_token).transpose()
}

/// Revokes a token.
pub async fn revoke_token(conn: &mut AnyConnection, id: TokenId) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id.to_string())
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(())
}
