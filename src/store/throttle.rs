//! Failed sign-in counters, shared by every process through the database.

use super::{now_ms, Result};
use sqlx::{AnyConnection, Row};

/// Failures allowed inside one window before the key is locked.
pub const MAX_FAILURES: i64 = 5;
/// The counting window.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// The first lock lasts this long; each further failure while counting doubles it, up to [`MAX_LOCK_MS`].
pub const BASE_LOCK_MS: i64 = 30 * 1000;
/// The longest lock.
pub const MAX_LOCK_MS: i64 = 15 * 60 * 1000;

/// Until when `key` is locked (Unix ms), if it is locked now.
pub async fn locked_until(conn: &mut AnyConnection, key: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT locked_until FROM login_throttle WHERE key = $1").bind(key.to_string()).fetch_optional(conn).await?;
    let until: i64 = match row {
        Some(r) => r.try_get("locked_until")?,
        None => return Ok(None),
    };
    Ok((until > now_ms()).then_some(until))
}

/// Counts one failure for `key`, locking it when the limit is reached.
pub async fn fail(conn: &mut AnyConnection, key: &str) -> Result<()> {
    let now = now_ms();
    let row = sqlx::query("SELECT failures, window_start FROM login_throttle WHERE key = $1")
        .bind(key.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let (mut failures, mut start) = match row {
        Some(r) => (r.try_get::<i64, _>("failures")?, r.try_get::<i64, _>("window_start")?),
        None => (0, now),
    };
    if now - start > WINDOW_MS {
        failures = 0;
        start = now;
    }
    failures += 1;
    let locked = if failures >= MAX_FAILURES {
        let extra = (failures - MAX_FAILURES).min(10) as u32;
        now + (BASE_LOCK_MS.saturating_mul(1 << extra)).min(MAX_LOCK_MS)
    } else {
        0
    };
    sqlx::query(
        "INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES ($1,$2,$3,$4) \
         ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start, locked_until = excluded.locked_until",
    )
    .bind(key.to_string())
    .bind(failures)
    .bind(start)
    .bind(locked)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the failures of `key` (after a successful sign-in).
pub async fn clear(conn: &mut AnyConnection, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1").bind(key.to_string()).execute(conn).await?;
    Ok(())
}
