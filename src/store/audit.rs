//! The audit log: who did what, when, from where.

use super::query::{decode_cursor, encode_cursor, prefix_end, Arg, Sql};
use super::users::page_size;
use super::{ms_to_dt, now_ms, Result, StoreError};
use crate::model::{AuditEntry, AuditQuery, Page};
use sqlx::{AnyConnection, Row};

/// An audit record to append.
#[derive(Clone, Debug, Default)]
pub struct NewAudit {
    /// Who (admin user name, `token:<name>`, `cli`).
    pub actor: String,
    /// What, e.g. `user.update`.
    pub action: String,
    /// The kind of object acted on.
    pub target_type: String,
    /// The object's id.
    pub target_id: Option<String>,
    /// The object's readable name.
    pub target_name: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// Before/after and other details (never secrets).
    pub details: serde_json::Value,
}

/// Appends an entry (inside the transaction of the change it records).
pub async fn append(conn: &mut AnyConnection, a: &NewAudit) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, target_type, target_id, target_name, ip, details) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
    )
    .bind(now_ms())
    .bind(a.actor.clone())
    .bind(a.action.clone())
    .bind(a.target_type.clone())
    .bind(a.target_id.clone())
    .bind(a.target_name.clone())
    .bind(a.ip.clone())
    .bind(if a.details.is_null() { "{}".to_string() } else { a.details.to_string() })
    .execute(conn)
    .await?;
    Ok(())
}

/// Lists entries, newest first, filtered by actor, action prefix and target.
pub async fn list(conn: &mut AnyConnection, q: &AuditQuery) -> Result<Page<AuditEntry>> {
    let top = page_size(q.top);
    let mut sql = Sql::new("SELECT id, at, actor, action, target_type, target_id, target_name, ip, details FROM audit_log WHERE 1=1");
    if let Some(a) = q.actor.as_deref().filter(|s| !s.is_empty()) {
        let p = sql.arg(Arg::Text(a.to_string()));
        sql.push(&format!(" AND actor = {p}"));
    }
    if let Some(a) = q.action.as_deref().filter(|s| !s.is_empty()) {
        let lo = sql.arg(Arg::Text(a.to_string()));
        let hi = sql.arg(Arg::Text(prefix_end(a)));
        sql.push(&format!(" AND action >= {lo} AND action < {hi}"));
    }
    if let Some(t) = q.target_id.as_deref().filter(|s| !s.is_empty()) {
        let p = sql.arg(Arg::Text(t.to_string()));
        sql.push(&format!(" AND target_id = {p}"));
    }
    if let Some(after) = q.after.as_deref().filter(|s| !s.is_empty()) {
        let parts = decode_cursor(after, 1).ok_or_else(|| StoreError::Corrupt("bad cursor".into()))?;
        let id: i64 = parts[0].parse().map_err(|_| StoreError::Corrupt("bad cursor".into()))?;
        let p = sql.arg(Arg::Int(id));
        sql.push(&format!(" AND id < {p}"));
    }
    let lim = sql.arg(Arg::Int(top + 1));
    sql.push(&format!(" ORDER BY id DESC LIMIT {lim}"));
    let rows = sql.build().fetch_all(conn).await?;
    let mut items = Vec::new();
    for r in rows.iter().take(top as usize) {
        let details: String = r.try_get("details")?;
        items.push(AuditEntry {
            id: r.try_get("id")?,
            at: ms_to_dt(r.try_get("at")?),
            actor: r.try_get("actor")?,
            action: r.try_get("action")?,
            target_type: r.try_get("target_type")?,
            target_id: r.try_get("target_id")?,
            target_name: r.try_get("target_name")?,
            ip: r.try_get("ip")?,
            details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
        });
    }
    let next_cursor = (rows.len() as i64 > top).then(|| encode_cursor(&[&items.last().map(|e| e.id.to_string()).unwrap_or_default()]));
    Ok(Page { items, next_cursor })
}
