//! Sign-in with throttling, and API-token authentication.

use super::{Actor, Result, ServiceError};
use crate::auth;
use crate::model::{Admin, AdminId};
use crate::store::{admins, now_ms, throttle, Store};

/// The one message for every failed sign-in, so it never tells whether the account exists.
pub const BAD_CREDENTIALS: &str = "the user name or password is incorrect";

/// Checks a user name and password. Failures are counted per account and per address; while either
/// is locked the attempt is refused before the password is checked. Audited either way.
pub async fn login(store: &Store, username: &str, password: &str, ip: Option<&str>) -> Result<Admin> {
    let user_key = format!("user:{}", username.trim().to_lowercase());
    let ip_key = ip.map(|ip| format!("ip:{ip}"));
    let mut conn = store.conn().await?;
    for key in std::iter::once(&user_key).chain(ip_key.as_ref()) {
        if let Some(until) = throttle::locked_until(&mut conn, key).await? {
            return Err(ServiceError::Throttled { retry_after_secs: ((until - now_ms()) / 1000).max(1) });
        }
    }
    let creds = admins::credentials(&mut conn, username).await?;
    drop(conn);
    let (hash, admin) = match &creds {
        Some(c) => (c.password_hash.clone(), Some(c.admin.clone())),
        None => (auth::dummy_hash().to_string(), None),
    };
    let pw = password.to_string();
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&pw, &hash)).await.unwrap_or(false);
    let mut tx = store.begin().await?;
    match admin {
        Some(a) if ok && !a.disabled => {
            throttle::clear(&mut tx, &user_key).await?;
            admins::touch_sign_in(&mut tx, a.id).await?;
            let actor = Actor { name: a.username.clone(), role: a.role, admin_id: Some(a.id), ip: ip.map(str::to_string) };
            crate::store::audit::append(
                &mut tx,
                &actor.audit("admin.signIn", "admin", Some(a.id.to_string()), Some(a.username.clone()), serde_json::json!({})),
            )
            .await?;
            tx.commit().await?;
            Ok(a)
        }
        _ => {
            throttle::fail(&mut tx, &user_key).await?;
            if let Some(k) = &ip_key {
                throttle::fail(&mut tx, k).await?;
            }
            let audit = crate::store::audit::NewAudit {
                actor: username.trim().chars().take(64).collect(),
                action: "admin.signInFailed".into(),
                target_type: "admin".into(),
                ip: ip.map(str::to_string),
                details: serde_json::json!({}),
                ..Default::default()
            };
            crate::store::audit::append(&mut tx, &audit).await?;
            tx.commit().await?;
            Err(ServiceError::Unauthorized(BAD_CREDENTIALS.into()))
        }
    }
}

/// Records a sign-out in the audit log.
pub async fn logout(store: &Store, actor: &Actor) -> Result<()> {
    let mut tx = store.begin().await?;
    crate::store::audit::append(
        &mut tx,
        &actor.audit("admin.signOut", "admin", actor.admin_id.map(|i| i.to_string()), Some(actor.name.clone()), serde_json::json!({})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The actor for a signed-in admin id (from a session), if the account still exists and is enabled.
pub async fn actor_for_admin(store: &Store, id: AdminId, ip: Option<String>) -> Result<Option<Actor>> {
    let mut conn = store.conn().await?;
    Ok(admins::get(&mut conn, id).await?.filter(|a| !a.disabled).map(|a| Actor {
        name: a.username,
        role: a.role,
        admin_id: Some(a.id),
        ip,
    }))
}

/// The actor for an API token, if it is live.
pub async fn actor_for_token(store: &Store, token: &str, ip: Option<String>) -> Result<Option<Actor>> {
    if !token.starts_with("pvo_") || token.len() > 200 {
        return Ok(None);
    }
    let mut conn = store.conn().await?;
    Ok(admins::token_by_hash(&mut conn, &auth::token_hash(token)).await?.map(|t| Actor {
        name: format!("token:{}", t.name),
        role: t.role,
        admin_id: None,
        ip,
    }))
}
