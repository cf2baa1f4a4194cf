//! The provisioning engine's tables: the job row (with its lease and fencing epoch), the objects each
//! job manages (links, last export, escrow, staged deprovisioning) and the provisioning logs.
//!
//! Fencing: a process runs a job only while it holds the lease, and every state write it makes checks
//! the epoch it got with the lease (`WHERE epoch = $n`); a process that lost its lease (paused past the
//! expiry, partitioned) finds its writes refused and stops.

use super::query::{in_list, positional, text_pairs};
use super::{get_bool, ms_to_dt, Result, StoreError};
use crate::model::Page;
use crate::sync::diff::Exported;
use crate::sync::job::{CycleKind, JobRow, JobState};
use crate::sync::log::{LogAction, LogEntry, LogQuery, LogStatus};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

fn json<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

const JOB_COLS: &str = "app_id, CAST(enabled AS INTEGER) AS enabled, state, cycle_id, cycle_kind, phase, cursor, cycle_head, \
    cycle_started_at, watermark, fingerprint, CAST(initial_done AS INTEGER) AS initial_done, progress, last_counts, quarantine_reason, \
    quarantine_detail, quarantine_since, quarantine_level, next_run_at, CAST(run_requested AS INTEGER) AS run_requested, reset_requested, \
    deletes_decision, first_cycle_at, last_cycle_at, last_cycle_ms, lease_owner, lease_expires_at, epoch, updated_at";

fn row_to_job(r: &AnyRow) -> Result<JobRow> {
    let state: String = r.try_get("state")?;
    Ok(JobRow {
        app_id: r.try_get("app_id")?,
        enabled: get_bool(r, "enabled")?,
        state: JobState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("job state {state}")))?,
        cycle_id: r.try_get("cycle_id")?,
        cycle_kind: r.try_get::<Option<String>, _>("cycle_kind")?.as_deref().and_then(CycleKind::parse),
        phase: r.try_get("phase")?,
        cursor: r.try_get("cursor")?,
        cycle_head: r.try_get("cycle_head")?,
        cycle_started_at: r.try_get("cycle_started_at")?,
        watermark: r.try_get("watermark")?,
        fingerprint: r.try_get("fingerprint")?,
        initial_done: get_bool(r, "initial_done")?,
        progress: json(&r.try_get::<String, _>("progress")?, "progress")?,
        last_counts: json(&r.try_get::<String, _>("last_counts")?, "last_counts")?,
        quarantine_reason: r.try_get("quarantine_reason")?,
        quarantine_detail: r.try_get("quarantine_detail")?,
        quarantine_since: r.try_get("quarantine_since")?,
        quarantine_level: r.try_get("quarantine_level")?,
        next_run_at: r.try_get("next_run_at")?,
        run_requested: get_bool(r, "run_requested")?,
        reset_requested: r.try_get("reset_requested")?,
        deletes_decision: r.try_get("deletes_decision")?,
        first_cycle_at: r.try_get("first_cycle_at")?,
        last_cycle_at: r.try_get("last_cycle_at")?,
        last_cycle_ms: r.try_get("last_cycle_ms")?,
        lease_owner: r.try_get("lease_owner")?,
        lease_expires_at: r.try_get("lease_expires_at")?,
        epoch: r.try_get("epoch")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Creates the job row of an app if it has none.
pub async fn ensure_job(conn: &mut AnyConnection, app_id: &str, now: i64) -> Result<()> {
    let j = JobRow::new(app_id, now);
    sqlx::query(
        "INSERT INTO sync_jobs (app_id, enabled, state, initial_done, progress, last_counts, quarantine_level, run_requested, epoch, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, 0, $8) ON CONFLICT (app_id) DO NOTHING",
    )
    .bind(app_id.to_string())
    .bind(false)
    .bind(j.state.as_str())
    .bind(false)
    .bind(serde_json::to_string(&j.progress).unwrap_or_default())
    .bind(serde_json::to_string(&j.last_counts).unwrap_or_default())
    .bind(false)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Reads a job row.
pub async fn get_job(conn: &mut AnyConnection, app_id: &str) -> Result<Option<JobRow>> {
    let sql = format!("SELECT {JOB_COLS} FROM sync_jobs WHERE app_id = $1");
    sqlx::query(&sql).bind(app_id.to_string()).fetch_optional(conn).await?.as_ref().map(row_to_job).transpose()
}

/// The jobs a scheduler should look at: On, or with an admin request pending.
pub async fn candidate_jobs(conn: &mut AnyConnection) -> Result<Vec<JobRow>> {
    let sql = format!(
        "SELECT {JOB_COLS} FROM sync_jobs WHERE enabled = $1 OR run_requested = $1 OR reset_requested IS NOT NULL OR deletes_decision IS NOT NULL"
    );
    sqlx::query(&sql).bind(true).fetch_all(conn).await?.iter().map(row_to_job).collect()
}

/// Takes (or renews) the lease of a job for `owner` until `until`, when it is free, expired or already
/// `owner`'s. Returns the new epoch (the fencing token), or `None` when another process holds it.
pub async fn acquire_lease(conn: &mut AnyConnection, app_id: &str, owner: &str, now: i64, until: i64) -> Result<Option<i64>> {
    let row = sqlx::query(
        "UPDATE sync_jobs SET lease_owner = $1, lease_expires_at = $2, epoch = epoch + 1, updated_at = $3 \
         WHERE app_id = $4 AND (lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at < $3 OR lease_owner = $1) RETURNING epoch",
    )
    .bind(owner.to_string())
    .bind(until)
    .bind(now)
    .bind(app_id.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("epoch")?),
        None => None,
    })
}

/// Extends the lease while holding `epoch`; false when the lease was lost.
pub async fn renew_lease(conn: &mut AnyConnection, app_id: &str, epoch: i64, until: i64) -> Result<bool> {
    let r = sqlx::query("UPDATE sync_jobs SET lease_expires_at = $1 WHERE app_id = $2 AND epoch = $3")
        .bind(until)
        .bind(app_id.to_string())
        .bind(epoch)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Gives the lease up (only if still held with `epoch`).
pub async fn release_lease(conn: &mut AnyConnection, app_id: &str, epoch: i64) -> Result<()> {
    sqlx::query("UPDATE sync_jobs SET lease_owner = NULL, lease_expires_at = NULL WHERE app_id = $1 AND epoch = $2")
        .bind(app_id.to_string())
        .bind(epoch)
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes the engine-owned columns of a job, if `epoch` still holds the lease. Returns false when it
/// does not (the caller must stop: another process owns the job now). Admin-owned columns (`enabled`,
/// requests) are not written here.
pub async fn save_job(conn: &mut AnyConnection, j: &JobRow, epoch: i64, lease_until: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE sync_jobs SET state = $1, cycle_id = $2, cycle_kind = $3, phase = $4, cursor = $5, cycle_head = $6, cycle_started_at = $7, \
         watermark = $8, fingerprint = $9, initial_done = $10, progress = $11, last_counts = $12, quarantine_reason = $13, quarantine_detail = $14, \
         quarantine_since = $15, quarantine_level = $16, next_run_at = $17, first_cycle_at = $18, last_cycle_at = $19, last_cycle_ms = $20, \
         lease_expires_at = $21, updated_at = $22 WHERE app_id = $23 AND epoch = $24",
    )
    .bind(j.state.as_str())
    .bind(j.cycle_id.clone())
    .bind(j.cycle_kind.map(|k| k.as_str().to_string()))
    .bind(j.phase.clone())
    .bind(j.cursor.clone())
    .bind(j.cycle_head)
    .bind(j.cycle_started_at)
    .bind(j.watermark)
    .bind(j.fingerprint.clone())
    .bind(j.initial_done)
    .bind(serde_json::to_string(&j.progress).unwrap_or_default())
    .bind(serde_json::to_string(&j.last_counts).unwrap_or_default())
    .bind(j.quarantine_reason.clone())
    .bind(j.quarantine_detail.clone())
    .bind(j.quarantine_since)
    .bind(j.quarantine_level)
    .bind(j.next_run_at)
    .bind(j.first_cycle_at)
    .bind(j.last_cycle_at)
    .bind(j.last_cycle_ms)
    .bind(lease_until)
    .bind(crate::store::now_ms())
    .bind(j.app_id.clone())
    .bind(epoch)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Sets admin-owned columns: status On/Off and a request for a cycle now.
pub async fn set_enabled(conn: &mut AnyConnection, app_id: &str, enabled: bool, run_now: bool) -> Result<bool> {
    let r = sqlx::query("UPDATE sync_jobs SET enabled = $1, run_requested = $2, updated_at = $3 WHERE app_id = $4")
        .bind(enabled)
        .bind(run_now)
        .bind(crate::store::now_ms())
        .bind(app_id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Records an admin request: a reset (`restart`/`full`) or a staged-deletions decision (`allow`/`reject`).
pub async fn request(conn: &mut AnyConnection, app_id: &str, reset: Option<&str>, decision: Option<&str>) -> Result<()> {
    sqlx::query(
        "UPDATE sync_jobs SET reset_requested = COALESCE($1, reset_requested), deletes_decision = COALESCE($2, deletes_decision), \
         run_requested = $3, updated_at = $4 WHERE app_id = $5",
    )
    .bind(reset.map(str::to_string))
    .bind(decision.map(str::to_string))
    .bind(true)
    .bind(crate::store::now_ms())
    .bind(app_id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Clears the admin requests the owner has applied (only while holding `epoch`).
pub async fn clear_requests(conn: &mut AnyConnection, app_id: &str, epoch: i64, reset: bool, decision: bool, run: bool) -> Result<()> {
    let mut sets = Vec::new();
    if reset {
        sets.push("reset_requested = NULL");
    }
    if decision {
        sets.push("deletes_decision = NULL");
    }
    if run {
        sets.push("run_requested = $3");
    }
    if sets.is_empty() {
        return Ok(());
    }
    let sql = format!("UPDATE sync_jobs SET {} WHERE app_id = $1 AND epoch = $2", sets.join(", "));
    let mut q = sqlx::query(&sql).bind(app_id.to_string()).bind(epoch);
    if run {
        q = q.bind(false);
    }
    q.execute(conn).await?;
    Ok(())
}

/// The stored state of one managed object.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    /// The directory object's id.
    pub source_id: String,
    /// `user` or `group`.
    pub object_type: String,
    /// The target account's id (`None`: not created or matched yet; the row only holds escrow).
    pub target_id: Option<String>,
    /// Display name, for logs and lists.
    pub display_name: String,
    /// `active`, `disabled` or `unlinked`.
    pub state: String,
    /// What was last exported.
    pub exported: Exported,
    /// Its hash.
    pub export_hash: String,
    /// References (manager, members) still to be written.
    pub refs_pending: bool,
    /// Failed attempts in a row.
    pub attempts: i64,
    /// When escrow retries it (Unix ms).
    pub next_attempt_at: Option<i64>,
    /// The last failure, in words.
    pub last_error: Option<String>,
    /// A held-back deprovisioning: `disable` or `delete`.
    pub staged_action: Option<String>,
}

impl Link {
    /// Whether the object is linked to a target account the job manages.
    pub fn linked(&self) -> bool {
        self.target_id.is_some() && self.state != "unlinked"
    }
}

const LINK_COLS: &str = "source_id, object_type, target_id, display_name, state, exported, export_hash, \
    CAST(refs_pending AS INTEGER) AS refs_pending, attempts, next_attempt_at, last_error, staged_action";

fn row_to_link(r: &AnyRow) -> Result<Link> {
    Ok(Link {
        source_id: r.try_get("source_id")?,
        object_type: r.try_get("object_type")?,
        target_id: r.try_get("target_id")?,
        display_name: r.try_get("display_name")?,
        state: r.try_get("state")?,
        exported: json(&r.try_get::<String, _>("exported")?, "exported")?,
        export_hash: r.try_get("export_hash")?,
        refs_pending: get_bool(r, "refs_pending")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_error: r.try_get("last_error")?,
        staged_action: r.try_get("staged_action")?,
    })
}

/// The links of `source_ids` (those that exist), by source id.
pub async fn links(conn: &mut AnyConnection, app_id: &str, source_ids: &[String]) -> Result<HashMap<String, Link>> {
    let mut out = HashMap::with_capacity(source_ids.len());
    for chunk in source_ids.chunks(500) {
        let sql = format!("SELECT {LINK_COLS} FROM sync_objects WHERE app_id = $1 AND source_id IN ({})", in_list(chunk.len(), 2));
        let sql = positional(conn, sql);
        let mut q = sqlx::query(&sql).bind(app_id.to_string());
        for id in chunk {
            q = q.bind(id.clone());
        }
        for r in q.fetch_all(&mut *conn).await? {
            let l = row_to_link(&r)?;
            out.insert(l.source_id.clone(), l);
        }
    }
    Ok(out)
}

/// Directory ids of users that manage someone, after `after` in id order (through the
/// `users_manager` index): the initial cycle creates them first, so their reports' creates can carry
/// the manager reference.
pub async fn manager_ids_after(conn: &mut AnyConnection, after: &str, limit: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar::<_, String>("SELECT DISTINCT manager_id FROM users WHERE manager_id > $1 ORDER BY manager_id LIMIT $2")
        .bind(after.to_string())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?)
}

/// Rows per multi-row statement: well below SQLite's 32,766 and PostgreSQL's 65,535 bound parameters,
/// and small enough that SQLite's per-parameter name lookups stay cheap.
const BATCH: usize = 25;

/// Rows per multi-row INSERT of links and log entries (the page writes). On SQLite their parameters
/// are anonymous (`?`), so the statement size does not cost per-parameter name lookups.
const ROWS_BATCH: usize = 100;

/// `($1,$2,…),($n+1,…)` for `rows` rows of `cols` columns, numbering from 1 — or `(?,?,…),…` on
/// SQLite: sqlx resolves every numbered parameter of a statement by name (SQLite looks the name up in
/// a list, so a statement of n numbered parameters costs O(n²)), anonymous ones by position.
fn values(conn: &AnyConnection, rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 5);
    let anonymous = conn.backend_name().eq_ignore_ascii_case("sqlite");
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ",(" });
        for c in 0..cols {
            if c > 0 {
                out.push(',');
            }
            if anonymous {
                out.push('?');
            } else {
                out.push_str(&format!("${}", 1 + r * cols + c));
            }
        }
        out.push(')');
    }
    out
}

/// Links ready to write: each with what it exported as the JSON text stored ([`encode_links`]).
#[derive(Debug, Default)]
pub struct EncodedLinks(Vec<(Link, String)>);

/// Encodes links for [`put_encoded_links`], so that a caller can do it ahead of, and beside, the
/// transaction that writes them.
pub fn encode_links(links: Vec<Link>) -> EncodedLinks {
    EncodedLinks(
        links
            .into_iter()
            .map(|l| {
                let exported = serde_json::to_string(&l.exported).unwrap_or_default();
                (l, exported)
            })
            .collect(),
    )
}

impl EncodedLinks {
    /// How many links.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Writes links (insert or replace), [`ROWS_BATCH`] rows per statement.
pub async fn put_links(conn: &mut AnyConnection, app_id: &str, links: &[Link], now: i64) -> Result<()> {
    put_encoded_links(conn, app_id, encode_links(links.to_vec()), now).await
}

/// Writes encoded links (insert or replace), [`ROWS_BATCH`] rows per statement; their values move
/// into the statements.
pub async fn put_encoded_links(conn: &mut AnyConnection, app_id: &str, links: EncodedLinks, now: i64) -> Result<()> {
    let mut rows = links.0.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<(Link, String)> = rows.by_ref().take(ROWS_BATCH).collect();
        let sql = format!(
            "INSERT INTO sync_objects (app_id, source_id, object_type, target_id, display_name, state, exported, export_hash, refs_pending, \
             attempts, next_attempt_at, last_error, staged_action, updated_at) VALUES {} \
             ON CONFLICT (app_id, source_id) DO UPDATE SET object_type = excluded.object_type, target_id = excluded.target_id, \
             display_name = excluded.display_name, state = excluded.state, exported = excluded.exported, export_hash = excluded.export_hash, \
             refs_pending = excluded.refs_pending, attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at, \
             last_error = excluded.last_error, staged_action = excluded.staged_action, updated_at = excluded.updated_at",
            values(conn, chunk.len(), 14)
        );
        let mut q = sqlx::query(&sql);
        for (l, exported) in chunk {
            q = q
                .bind(app_id.to_string())
                .bind(l.source_id)
                .bind(l.object_type)
                .bind(l.target_id)
                .bind(l.display_name)
                .bind(l.state)
                .bind(exported)
                .bind(l.export_hash)
                .bind(l.refs_pending)
                .bind(l.attempts)
                .bind(l.next_attempt_at)
                .bind(l.last_error)
                .bind(l.staged_action)
                .bind(now);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Removes links.
pub async fn delete_links(conn: &mut AnyConnection, app_id: &str, source_ids: &[String]) -> Result<()> {
    for chunk in source_ids.chunks(BATCH) {
        let sql = format!("DELETE FROM sync_objects WHERE app_id = $1 AND source_id IN ({})", in_list(chunk.len(), 2));
        let sql = positional(conn, sql);
        let mut q = sqlx::query(&sql).bind(app_id.to_string());
        for id in chunk {
            q = q.bind(id.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Source ids (with their type) whose escrow retry is due, up to `limit`.
pub async fn escrow_due(conn: &mut AnyConnection, app_id: &str, now: i64, limit: i64) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT source_id, object_type FROM sync_objects WHERE app_id = $1 AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT $3",
    )
    .bind(app_id.to_string())
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("source_id")?, r.try_get("object_type")?))).collect()
}

/// Links of `object_type` with references still to write, after `after` in source-id order.
pub async fn pending_refs(conn: &mut AnyConnection, app_id: &str, object_type: &str, after: &str, limit: i64) -> Result<Vec<Link>> {
    let sql = format!(
        // `refs_pending` as the partial index says it (SQLite uses the index only for that very term).
        "SELECT {LINK_COLS} FROM sync_objects WHERE app_id = $1 AND object_type = $2 AND source_id > $3 AND refs_pending ORDER BY source_id LIMIT $4"
    );
    sqlx::query(&sql)
        .bind(app_id.to_string())
        .bind(object_type.to_string())
        .bind(after.to_string())
        .bind(limit)
        .fetch_all(conn)
        .await?
        .iter()
        .map(row_to_link)
        .collect()
}

/// Links whose directory object no longer exists (hard-deleted), after `after`.
pub async fn orphans(conn: &mut AnyConnection, app_id: &str, after: &str, limit: i64) -> Result<Vec<Link>> {
    let cols = LINK_COLS
        .split(", ")
        .map(|c| if c.starts_with("CAST(") { c.replace("CAST(", "CAST(o.") } else { format!("o.{c}") })
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {cols} FROM sync_objects o LEFT JOIN users u ON u.id = o.source_id LEFT JOIN groups g ON g.id = o.source_id \
         WHERE o.app_id = $1 AND u.id IS NULL AND g.id IS NULL AND o.source_id > $2 ORDER BY o.source_id LIMIT $3"
    );
    sqlx::query(&sql).bind(app_id.to_string()).bind(after.to_string()).bind(limit).fetch_all(conn).await?.iter().map(row_to_link).collect()
}

/// Links with a staged deprovisioning.
pub async fn staged(conn: &mut AnyConnection, app_id: &str) -> Result<Vec<Link>> {
    let sql = format!("SELECT {LINK_COLS} FROM sync_objects WHERE app_id = $1 AND staged_action IS NOT NULL ORDER BY source_id");
    sqlx::query(&sql).bind(app_id.to_string()).fetch_all(conn).await?.iter().map(row_to_link).collect()
}

/// Clears every staged deprovisioning of an app.
pub async fn clear_staged(conn: &mut AnyConnection, app_id: &str) -> Result<()> {
    sqlx::query("UPDATE sync_objects SET staged_action = NULL WHERE app_id = $1 AND staged_action IS NOT NULL")
        .bind(app_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Restart: clears escrow (and forgets objects that were never linked); keeps links.
pub async fn clear_escrow(conn: &mut AnyConnection, app_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM sync_objects WHERE app_id = $1 AND (target_id IS NULL OR state = 'unlinked')")
        .bind(app_id.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE sync_objects SET attempts = 0, next_attempt_at = NULL, last_error = NULL, staged_action = NULL WHERE app_id = $1")
        .bind(app_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Full reset: drops every link of an app.
pub async fn drop_links(conn: &mut AnyConnection, app_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM sync_objects WHERE app_id = $1").bind(app_id.to_string()).execute(conn).await?;
    Ok(())
}

/// (users managed, groups managed, escrowed, staged) for the status.
pub async fn counts(conn: &mut AnyConnection, app_id: &str) -> Result<(u64, u64, u64, u64)> {
    let r = sqlx::query(
        "SELECT \
         COALESCE(SUM(CASE WHEN object_type = 'user' AND target_id IS NOT NULL AND state <> 'unlinked' THEN 1 ELSE 0 END), 0) AS users, \
         COALESCE(SUM(CASE WHEN object_type = 'group' AND target_id IS NOT NULL AND state <> 'unlinked' THEN 1 ELSE 0 END), 0) AS groups, \
         COALESCE(SUM(CASE WHEN next_attempt_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS escrowed, \
         COALESCE(SUM(CASE WHEN staged_action IS NOT NULL THEN 1 ELSE 0 END), 0) AS staged \
         FROM sync_objects WHERE app_id = $1",
    )
    .bind(app_id.to_string())
    .fetch_one(conn)
    .await?;
    let g = |c: &str| -> Result<u64> { Ok(r.try_get::<i64, _>(c)?.max(0) as u64) };
    Ok((g("users")?, g("groups")?, g("escrowed")?, g("staged")?))
}

/// The target ids of linked, active users among `source_ids`, by source id.
/// Reads only the two columns (not whole links with their last export).
pub async fn active_target_ids(conn: &mut AnyConnection, app_id: &str, source_ids: &[String]) -> Result<HashMap<String, String>> {
    let mut out = HashMap::with_capacity(source_ids.len());
    let mut ids: Vec<&String> = source_ids.iter().collect();
    ids.sort();
    ids.dedup();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT source_id AS k, target_id AS v FROM sync_objects WHERE app_id = $1 AND source_id IN ({}) AND state = 'active'",
            in_list(chunk.len(), 2)
        );
        let args: Vec<&str> = std::iter::once(app_id).chain(chunk.iter().map(|id| id.as_str())).collect();
        for (source, target) in text_pairs(conn, &sql, &args).await? {
            if let Some(t) = target {
                out.insert(source, t);
            }
        }
    }
    Ok(out)
}

/// The target ids of the user members of `group_ids` that the job manages and that are active:
/// (group id, member's target id), in one query.
pub async fn member_targets(conn: &mut AnyConnection, app_id: &str, group_ids: &[String]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for chunk in group_ids.chunks(500) {
        let sql = format!(
            // A lookup per membership by the links' primary key (a join let SQLite's planner walk the
            // job's links instead).
            "SELECT gm.group_id AS k, (SELECT so.target_id FROM sync_objects so WHERE so.app_id = $1 AND so.source_id = gm.member_id \
             AND so.state = 'active') AS v FROM group_members gm WHERE gm.group_id IN ({}) AND gm.member_kind = 'user'",
            in_list(chunk.len(), 2)
        );
        let args: Vec<&str> = std::iter::once(app_id).chain(chunk.iter().map(String::as_str)).collect();
        out.extend(text_pairs(conn, &sql, &args).await?.into_iter().filter_map(|(g, t)| Some((g, t?))));
    }
    Ok(out)
}

/// Marks the group links among `group_ids` as having memberships to write.
pub async fn mark_refs_pending(conn: &mut AnyConnection, app_id: &str, group_ids: &[String]) -> Result<()> {
    for chunk in group_ids.chunks(BATCH) {
        // No condition on target_id here: with one, SQLite walks the (app_id, target_id) index over every
        // linked object instead of the primary key (a scan per page, which made cycles superlinear). The
        // passes that read the flag skip objects that are not linked.
        let sql = format!("UPDATE sync_objects SET refs_pending = $1 WHERE app_id = $2 AND source_id IN ({})", in_list(chunk.len(), 3));
        let sql = positional(conn, sql);
        let mut q = sqlx::query(&sql).bind(true).bind(app_id.to_string());
        for id in chunk {
            q = q.bind(id.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Marks every linked group of an app as having memberships to check: an initial cycle checks them
/// all (so its user phases need not mark the groups of each user they link).
pub async fn mark_all_groups_pending(conn: &mut AnyConnection, app_id: &str) -> Result<()> {
    sqlx::query(
        "UPDATE sync_objects SET refs_pending = $1 WHERE app_id = $2 AND object_type = 'group' AND target_id IS NOT NULL AND refs_pending = $3",
    )
    .bind(true)
    .bind(app_id.to_string())
    .bind(false)
    .execute(conn)
    .await?;
    Ok(())
}

/// Log entries ready to write: each with its detail as the JSON text stored ([`encode_logs`]).
#[derive(Debug, Default)]
pub struct EncodedLogs(Vec<(LogEntry, String)>);

/// Encodes log entries for [`insert_encoded_logs`], so that a caller can do it ahead of, and beside,
/// the transaction that writes them.
pub fn encode_logs(entries: Vec<LogEntry>) -> EncodedLogs {
    EncodedLogs(
        entries
            .into_iter()
            .map(|e| {
                let detail = serde_json::to_string(&e.detail).unwrap_or_default();
                (e, detail)
            })
            .collect(),
    )
}

impl EncodedLogs {
    /// How many entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Appends provisioning log entries, [`ROWS_BATCH`] rows per statement.
pub async fn insert_logs(conn: &mut AnyConnection, entries: &[LogEntry]) -> Result<()> {
    insert_encoded_logs(conn, encode_logs(entries.to_vec())).await
}

/// Appends encoded log entries, [`ROWS_BATCH`] rows per statement; their values move into the
/// statements.
pub async fn insert_encoded_logs(conn: &mut AnyConnection, entries: EncodedLogs) -> Result<()> {
    let mut rows = entries.0.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<(LogEntry, String)> = rows.by_ref().take(ROWS_BATCH).collect();
        let sql = format!(
            "INSERT INTO provisioning_logs (id, app_id, cycle_id, at, source_id, object_type, display_name, target_id, action, status, error_code, detail) VALUES {}",
            values(conn, chunk.len(), 12)
        );
        let mut q = sqlx::query(&sql);
        for (e, detail) in chunk {
            q = q
                .bind(e.id)
                .bind(e.app_id)
                .bind(e.cycle_id)
                .bind(e.at.timestamp_millis())
                .bind(e.source_id)
                .bind(e.object_type)
                .bind(e.display_name)
                .bind(e.target_id)
                .bind(e.action.as_str())
                .bind(e.status.as_str())
                .bind(e.error_code)
                .bind(detail);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub(crate) fn row_to_log(r: &AnyRow) -> Result<LogEntry> {
    let action: String = r.try_get("action")?;
    let status: String = r.try_get("status")?;
    Ok(LogEntry {
        id: r.try_get("id")?,
        app_id: r.try_get("app_id")?,
        cycle_id: r.try_get("cycle_id")?,
        at: ms_to_dt(r.try_get("at")?),
        source_id: r.try_get("source_id")?,
        object_type: r.try_get("object_type")?,
        display_name: r.try_get("display_name")?,
        target_id: r.try_get("target_id")?,
        action: LogAction::parse(&action).ok_or_else(|| StoreError::Corrupt(format!("log action {action}")))?,
        status: LogStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("log status {status}")))?,
        error_code: r.try_get("error_code")?,
        detail: json(&r.try_get::<String, _>("detail")?, "log detail")?,
    })
}

/// The columns of a log entry, as [`row_to_log`] reads them.
pub(crate) const LOG_COLS: &str =
    "id, app_id, cycle_id, at, source_id, object_type, display_name, target_id, action, status, error_code, detail";

/// Lists log entries of an app, newest first, filtered; keyset-paged on (at, id).
pub async fn list_logs(conn: &mut AnyConnection, app_id: &str, q: &LogQuery) -> Result<Page<LogEntry>> {
    list_logs_of(conn, Some(app_id), q).await
}

/// Lists log entries of one app (or of every app, with `None`), newest first, filtered; keyset-paged
/// on (at, id): a cursor from one list works in the other.
pub(crate) async fn list_logs_of(conn: &mut AnyConnection, app_id: Option<&str>, q: &LogQuery) -> Result<Page<LogEntry>> {
    use super::query::{decode_cursor, encode_cursor, Arg, Sql};
    let top = i64::from(q.top.unwrap_or(50).clamp(1, 1000));
    let mut sql = Sql::new(&format!("SELECT {LOG_COLS} FROM provisioning_logs WHERE 1 = 1"));
    if let Some(app) = app_id {
        let p = sql.arg(Arg::Text(app.to_string()));
        sql.push(&format!(" AND app_id = {p}"));
    }
    if let Some(s) = q.status {
        let p = sql.arg(Arg::Text(s.as_str().to_string()));
        sql.push(&format!(" AND status = {p}"));
    }
    if let Some(a) = q.action {
        let p = sql.arg(Arg::Text(a.as_str().to_string()));
        sql.push(&format!(" AND action = {p}"));
    }
    if let Some(c) = q.cycle_id.as_deref().filter(|c| !c.is_empty()) {
        let p = sql.arg(Arg::Text(c.to_string()));
        sql.push(&format!(" AND cycle_id = {p}"));
    }
    if let Some(i) = q.identity.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        let p1 = sql.arg(Arg::Text(i.to_string()));
        let p2 = sql.arg(Arg::Text(i.to_string()));
        let p3 = sql.arg(Arg::Text(format!("{}%", i.replace('%', ""))));
        sql.push(&format!(" AND (source_id = {p1} OR target_id = {p2} OR display_name LIKE {p3})"));
    }
    if let Some(t) = q.since {
        let p = sql.arg(Arg::Int(t.timestamp_millis()));
        sql.push(&format!(" AND at >= {p}"));
    }
    if let Some(t) = q.until {
        let p = sql.arg(Arg::Int(t.timestamp_millis()));
        sql.push(&format!(" AND at < {p}"));
    }
    if let Some(a) = q.after.as_deref().filter(|s| !s.is_empty()) {
        let parts = decode_cursor(a, 2).ok_or_else(|| StoreError::Corrupt("bad cursor".into()))?;
        let at: i64 = parts[0].parse().map_err(|_| StoreError::Corrupt("bad cursor".into()))?;
        // `at <= ?` first so that the index on `at` gives a range, not a scan from the newest entry.
        let p1 = sql.arg(Arg::Int(at));
        let p2 = sql.arg(Arg::Int(at));
        let p3 = sql.arg(Arg::Text(parts[1].clone()));
        sql.push(&format!(" AND at <= {p1} AND (at < {p2} OR id < {p3})"));
    }
    let lim = sql.arg(Arg::Int(top + 1));
    sql.push(&format!(" ORDER BY at DESC, id DESC LIMIT {lim}"));
    let rows = sql.build().fetch_all(conn).await?;
    let items: Vec<LogEntry> = rows.iter().take(top as usize).map(row_to_log).collect::<Result<_>>()?;
    let next_cursor = (rows.len() as i64 > top).then(|| {
        let last = items.last().expect("more rows than top");
        encode_cursor(&[&last.at.timestamp_millis().to_string(), &last.id])
    });
    Ok(Page { items, next_cursor })
}

/// Deletes log entries older than `cutoff_ms` for an app; returns how many.
pub async fn purge_logs(conn: &mut AnyConnection, app_id: &str, cutoff_ms: i64) -> Result<u64> {
    let r = sqlx::query("DELETE FROM provisioning_logs WHERE app_id = $1 AND at < $2")
        .bind(app_id.to_string())
        .bind(cutoff_ms)
        .execute(conn)
        .await?;
    Ok(r.rows_affected())
}
