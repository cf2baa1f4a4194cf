//! Admin accounts, API tokens and the audit log.

use super::{Actor, Result, ServiceError};
use crate::auth;
use crate::model::{Admin, AdminId, ApiToken, AuditEntry, AuditQuery, FieldError, Page, Role, TokenId};
use crate::store::{admins, audit, new_uuid, sessions, Store};

fn check_username(username: &str) -> Result<String> {
    let u = username.trim();
    if u.is_empty() {
        return Err(ServiceError::invalid("username", "is required"));
    }
    if u.len() > 64 || !u.chars().all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c)) {
        return Err(ServiceError::invalid("username", "use 1 to 64 letters, digits and . _ - @"));
    }
    Ok(u.to_string())
}

fn check_password(password: &str, username: &str) -> Result<()> {
    match auth::password_problem(password, username) {
        Some(p) => Err(ServiceError::invalid("password", p)),
        None => Ok(()),
    }
}

async fn hash(password: &str) -> String {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || auth::hash_password(&pw)).await.expect("hashing task")
}

/// Lists admin accounts.
pub async fn list_admins(store: &Store, actor: &Actor) -> Result<Vec<Admin>> {
    actor.require_admin_management()?;
    let mut conn = store.conn().await?;
    Ok(admins::list(&mut conn).await?)
}

/// Creates an admin account.
pub async fn create_admin(store: &Store, actor: &Actor, username: &str, password: &str, role: Role) -> Result<Admin> {
    actor.require_admin_management()?;
    let username = check_username(username)?;
    check_password(password, &username)?;
    let h = hash(password).await;
    let id = AdminId(new_uuid());
    let mut tx = store.begin().await?;
    if admins::credentials(&mut tx, &username).await?.is_some() {
        return Err(ServiceError::Conflict(FieldError::new("username", format!("'{username}' is taken"))));
    }
    admins::insert(&mut tx, id, &username, &h, role).await.map_err(|e| {
        if e.is_unique_violation() {
            // Created at the same moment by another request or process sharing the database.
            ServiceError::Conflict(FieldError::new("username", format!("'{username}' is taken")))
        } else {
            ServiceError::Store(e)
        }
    })?;
    audit::append(
        &mut tx,
        &actor.audit("admin.create", "admin", Some(id.to_string()), Some(username.clone()), serde_json::json!({"after": {"role": role}})),
    )
    .await?;
    let a = admins::get(&mut tx, id).await?.ok_or_else(|| ServiceError::NotFound { what: "admin", id: id.to_string() })?;
    tx.commit().await?;
    Ok(a)
}

/// Changes an admin's role or disabled flag. The last enabled Administrator cannot lose that.
pub async fn update_admin(store: &Store, actor: &Actor, id: &str, role: Option<Role>, disabled: Option<bool>) -> Result<Admin> {
    actor.require_admin_management()?;
    let aid = AdminId::parse(id).map_err(|_| ServiceError::NotFound { what: "admin", id: id.to_string() })?;
    let mut tx = store.begin().await?;
    let a = admins::get(&mut tx, aid).await?.ok_or_else(|| ServiceError::NotFound { what: "admin", id: id.to_string() })?;
    let new_role = role.unwrap_or(a.role);
    let new_disabled = disabled.unwrap_or(a.disabled);
    let loses_admin = a.role == Role::Administrator && !a.disabled && (new_role != Role::Administrator || new_disabled);
    if loses_admin && admins::count_active_administrators(&mut tx).await? <= 1 {
        return Err(ServiceError::Conflict(FieldError::new("role", "this is the last enabled Administrator")));
    }
    admins::set_role(&mut tx, aid, new_role, new_disabled).await?;
    if new_disabled {
        sessions::delete_for_admin(&mut tx, &aid.to_string()).await?;
    }
    audit::append(
        &mut tx,
        &actor.audit(
            "admin.update",
            "admin",
            Some(aid.to_string()),
            Some(a.username.clone()),
            serde_json::json!({"before": {"role": a.role, "disabled": a.disabled}, "after": {"role": new_role, "disabled": new_disabled}}),
        ),
    )
    .await?;
    let a = admins::get(&mut tx, aid).await?.ok_or_else(|| ServiceError::NotFound { what: "admin", id: id.to_string() })?;
    tx.commit().await?;
    Ok(a)
}

/// Sets a new password for an admin and signs that admin out everywhere.
pub async fn reset_password(store: &Store, actor: &Actor, username: &str, password: &str) -> Result<Admin> {
    actor.require_admin_management()?;
    let mut conn = store.conn().await?;
    let a = admins::credentials(&mut conn, username)
        .await?
        .ok_or_else(|| ServiceError::NotFound { what: "admin", id: username.to_string() })?
        .admin;
    drop(conn);
    check_password(password, &a.username)?;
    let h = hash(password).await;
    let mut tx = store.begin().await?;
    admins::set_password(&mut tx, a.id, &h).await?;
    sessions::delete_for_admin(&mut tx, &a.id.to_string()).await?;
    audit::append(
        &mut tx,
        &actor.audit("admin.resetPassword", "admin", Some(a.id.to_string()), Some(a.username.clone()), serde_json::json!({})),
    )
    .await?;
    tx.commit().await?;
    Ok(a)
}

/// Deletes an admin account (not one's own, not the last Administrator).
pub async fn delete_admin(store: &Store, actor: &Actor, id: &str) -> Result<()> {
    actor.require_admin_management()?;
    let aid = AdminId::parse(id).map_err(|_| ServiceError::NotFound { what: "admin", id: id.to_string() })?;
    if actor.admin_id == Some(aid) {
        return Err(ServiceError::Conflict(FieldError::new("id", "you cannot delete your own account")));
    }
    let mut tx = store.begin().await?;
    let a = admins::get(&mut tx, aid).await?.ok_or_else(|| ServiceError::NotFound { what: "admin", id: id.to_string() })?;
    if a.role == Role::Administrator && !a.disabled && admins::count_active_administrators(&mut tx).await? <= 1 {
        return Err(ServiceError::Conflict(FieldError::new("id", "this is the last enabled Administrator")));
    }
    admins::delete(&mut tx, aid).await?;
    sessions::delete_for_admin(&mut tx, &aid.to_string()).await?;
    audit::append(
        &mut tx,
        &actor.audit("admin.delete", "admin", Some(aid.to_string()), Some(a.username), serde_json::json!({"before": {"role": a.role}})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Creates the first Administrator when there is no admin at all; returns it and its password
/// (`password` if given, else a generated one), or `None` when admins exist already.
pub async fn ensure_initial_admin(store: &Store, username: &str, password: Option<&str>) -> Result<Option<(Admin, String)>> {
    let mut conn = store.conn().await?;
    if admins::count(&mut conn).await? > 0 {
        return Ok(None);
    }
    drop(conn);
    let pw = password.map(str::to_string).unwrap_or_else(auth::generate_password);
    match create_admin(store, &Actor::cli(), username, &pw, Role::Administrator).await {
        Ok(a) => Ok(Some((a, pw))),
        // Another process sharing the database created it first (several servers starting at once).
        Err(ServiceError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Lists API tokens.
pub async fn list_tokens(store: &Store, actor: &Actor) -> Result<Vec<ApiToken>> {
    actor.require_admin_management()?;
    let mut conn = store.conn().await?;
    Ok(admins::list_tokens(&mut conn).await?)
}

/// Creates an API token; returns its description and the token itself, which is never shown again.
pub async fn create_token(store: &Store, actor: &Actor, name: &str, role: Role) -> Result<(ApiToken, String)> {
    actor.require_admin_management()?;
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ServiceError::invalid("name", "is required (1 to 100 characters)"));
    }
    let token = auth::new_api_token();
    let id = TokenId(new_uuid());
    let mut tx = store.begin().await?;
    admins::insert_token(&mut tx, id, name, &auth::token_hash(&token), &token[..8], role, &actor.name).await?;
    audit::append(
        &mut tx,
        &actor.audit("token.create", "token", Some(id.to_string()), Some(name.to_string()), serde_json::json!({"after": {"role": role}})),
    )
    .await?;
    let t = admins::get_token(&mut tx, id).await?.ok_or_else(|| ServiceError::NotFound { what: "token", id: id.to_string() })?;
    tx.commit().await?;
    Ok((t, token))
}

/// Revokes an API token.
pub async fn revoke_token(store: &Store, actor: &Actor, id: &str) -> Result<()> {
    actor.require_admin_management()?;
    let tid = TokenId::parse(id).map_err(|_| ServiceError::NotFound { what: "token", id: id.to_string() })?;
    let mut tx = store.begin().await?;
    let t = admins::get_token(&mut tx, tid).await?.ok_or_else(|| ServiceError::NotFound { what: "token", id: id.to_string() })?;
    admins::revoke_token(&mut tx, tid).await?;
    audit::append(&mut tx, &actor.audit("token.revoke", "token", Some(id.to_string()), Some(t.name), serde_json::json!({}))).await?;
    tx.commit().await?;
    Ok(())
}

/// Lists the audit log (every role may read it).
pub async fn list_audit(store: &Store, _actor: &Actor, q: &AuditQuery) -> Result<Page<AuditEntry>> {
    let mut conn = store.conn().await?;
    audit::list(&mut conn, q).await.map_err(super::cursor_err)
}
