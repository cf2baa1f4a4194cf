//! Server-side session glue shared by the portal's server functions and the JSON API: which admin a
//! session belongs to, timeouts, sign-in and sign-out.

use chrono::Utc;
use provisio::model::{Admin, AdminId};
use provisio::service::{session as auth, Actor, ServiceError};
use provisio::store::Store;
use tower_sessions::Session;

/// Session key holding the signed-in admin's id.
pub const ADMIN_KEY: &str = "admin_id";
/// Session key holding when the admin signed in (Unix seconds).
pub const AUTH_AT_KEY: &str = "auth_at";
/// A session ends this long after sign-in, however active (ASVS 7.3.2).
pub const ABSOLUTE_TIMEOUT_SECS: i64 = 12 * 3600;
/// A session ends after this much inactivity (ASVS 7.3.1); applied by the session layer's expiry.
pub const IDLE_TIMEOUT_SECS: i64 = 30 * 60;

/// The actor a session belongs to, if it is signed in, within its absolute lifetime, and the admin is
/// still enabled. An expired session is flushed.
pub async fn actor_from_session(store: &Store, session: &Session, ip: Option<String>) -> Result<Option<Actor>, ServiceError> {
    let Ok(Some(id)) = session.get::<AdminId>(ADMIN_KEY).await else {
        return Ok(None);
    };
    let at = session.get::<i64>(AUTH_AT_KEY).await.ok().flatten().unwrap_or(0);
    if Utc::now().timestamp() - at > ABSOLUTE_TIMEOUT_SECS {
        let _ = session.flush().await;
        return Ok(None);
    }
    auth::actor_for_admin(store, id, ip).await
}

/// Marks a session signed in as `admin`, under a new session id (no fixation).
pub async fn establish(session: &Session, admin: &Admin) -> Result<(), ServiceError> {
    let fail = |e: tower_sessions::session::Error| ServiceError::Store(provisio::store::StoreError::Corrupt(format!("session: {e}")));
    session.cycle_id().await.map_err(fail)?;
    session.insert(ADMIN_KEY, admin.id).await.map_err(fail)?;
    session.insert(AUTH_AT_KEY, Utc::now().timestamp()).await.map_err(fail)?;
    Ok(())
}

/// Signs a session out: deletes it on the server.
pub async fn end(session: &Session) {
    let _ = session.flush().await;
}
