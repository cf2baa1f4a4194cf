//! The directory change log: append (inside the writer's transaction) and read since a sequence number.

use super::{ms_to_dt, now_ms, Result, StoreError};
use crate::model::{Change, ChangeOp};
use sqlx::{AnyConnection, Row};

/// Appends one change and returns its sequence number. Taking the counter row serializes writers, so
/// sequence numbers become visible in order: a reader that has seen N has seen everything below N.
pub async fn append(conn: &mut AnyConnection, object_type: &str, object_id: &str, op: ChangeOp, detail: serde_json::Value) -> Result<i64> {
    let seq: i64 = sqlx::query("UPDATE change_seq SET value = value + 1 WHERE id = 1 RETURNING value")
        .fetch_one(&mut *conn)
        .await?
        .try_get("value")?;
    sqlx::query("INSERT INTO changes (seq, object_type, object_id, op, detail, at) VALUES ($1,$2,$3,$4,$5,$6)")
        .bind(seq)
        .bind(object_type.to_string())
        .bind(object_id.to_string())
        .bind(op.as_str())
        .bind(detail.to_string())
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(seq)
}

/// Up to `limit` changes with a sequence number above `after`, oldest first.
pub async fn since(conn: &mut AnyConnection, after: i64, limit: i64) -> Result<Vec<Change>> {
    let rows = sqlx::query("SELECT seq, object_type, object_id, op, detail, at FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2")
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            let op: String = r.try_get("op")?;
            let detail: String = r.try_get("detail")?;
            Ok(Change {
                seq: r.try_get("seq")?,
                object_type: r.try_get("object_type")?,
                object_id: r.try_get("object_id")?,
                op: ChangeOp::parse(&op).ok_or_else(|| StoreError::Corrupt(format!("change op {op}")))?,
                detail: serde_json::from_str(&detail).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                at: ms_to_dt(r.try_get("at")?),
            })
        })
        .collect()
}

/// The highest sequence number handed out so far.
pub async fn head(conn: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query("SELECT value FROM change_seq WHERE id = 1").fetch_one(conn).await?.try_get("value")?)
}
