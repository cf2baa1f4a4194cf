//! Session records for the web layer's session middleware: opaque JSON with an expiry.

use super::{now_ms, Result};
use sqlx::{AnyConnection, Row};

/// Writes (inserts or replaces) a session record.
pub async fn save(conn: &mut AnyConnection, id: &str, data: &str, expires_at_ms: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id, data, expires_at) VALUES ($1,$2,$3) \
         ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
    )
    .bind(id.to_string())
    .bind(data.to_string())
    .bind(expires_at_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts a record only if the id is free; returns false on a collision.
pub async fn create(conn: &mut AnyConnection, id: &str, data: &str, expires_at_ms: i64) -> Result<bool> {
    let r = sqlx::query("INSERT INTO sessions (id, data, expires_at) VALUES ($1,$2,$3) ON CONFLICT (id) DO NOTHING")
        .bind(id.to_string())
        .bind(data.to_string())
        .bind(expires_at_ms)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Reads a record that has not expired.
pub async fn load(conn: &mut AnyConnection, id: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT data FROM sessions WHERE id = $1 AND expires_at > $2")
        .bind(id.to_string())
        .bind(now_ms())
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.try_get("data")).transpose()?)
}

/// Deletes a record.
pub async fn delete(conn: &mut AnyConnection, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id.to_string()).execute(conn).await?;
    Ok(())
}

/// Deletes expired records; returns how many.
pub async fn delete_expired(conn: &mut AnyConnection) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now_ms()).execute(conn).await?.rows_affected())
}

/// Deletes every session whose data mentions an admin id (sign-out everywhere after a password reset).
pub async fn delete_for_admin(conn: &mut AnyConnection, admin_id: &str) -> Result<u64> {
    let pattern = format!("%{admin_id}%");
    Ok(sqlx::query("DELETE FROM sessions WHERE data LIKE $1").bind(pattern).execute(conn).await?.rows_affected())
}
