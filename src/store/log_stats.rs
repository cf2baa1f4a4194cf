//! Read-side queries over the provisioning logs beyond one app's list (which is in [`super::sync`]):
//! activity per cycle for the logs chart, the logs of every app in one keyset-paged list, and one
//! entry by id for the detail drawer.
//!
//! Indexes used (migrations `0004_sync.sql`): the chart reads `provisioning_logs_app (app_id, at, id)`
//! as a range on `app_id` and `at`; the all-apps list walks `provisioning_logs_at (at)` newest first;
//! one entry is a primary-key lookup.

use super::{ms_to_dt, Result};
use crate::model::Page;
use crate::sync::log::{LogAction, LogEntry, LogQuery};
use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};

/// What one cycle (or on-demand run) of an app did, counted from its log entries. Failures are
/// counted whatever the action; the per-action counts are the entries that did not fail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CycleActivity {
    /// The cycle.
    pub cycle_id: String,
    /// Its first log entry.
    pub first_at: DateTime<Utc>,
    /// Its last log entry.
    pub last_at: DateTime<Utc>,
    /// Accounts created.
    pub creates: i64,
    /// Accounts updated (or matched and linked).
    pub updates: i64,
    /// Accounts disabled.
    pub disables: i64,
    /// Accounts deleted.
    pub deletes: i64,
    /// Disables and deletes held back by accidental-deletion prevention.
    pub staged: i64,
    /// Objects skipped.
    pub skips: i64,
    /// Other entries (references, memberships).
    pub other: i64,
    /// Entries that failed.
    pub failures: i64,
    /// All entries of the cycle.
    pub total: i64,
}

/// The statement of [`cycle_activity`] (`$1` app id, `$2` since in ms, `$3` how many cycles); public
/// so that tests can check its plan.
pub fn cycle_activity_sql() -> String {
    let count = |cond: &str| format!("SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)");
    let ok_action = |a: LogAction| count(&format!("status <> 'Failure' AND action = '{}'", a.as_str()));
    format!(
        "SELECT cycle_id, MIN(at) AS first_at, MAX(at) AS last_at, COUNT(*) AS total, {} AS failures, {} AS creates, \
         {} AS updates, {} AS disables, {} AS deletes, {} AS staged, {} AS skips, {} AS other \
         FROM provisioning_logs WHERE app_id = $1 AND at >= $2 \
         GROUP BY cycle_id ORDER BY last_at DESC, cycle_id DESC LIMIT $3",
        count("status = 'Failure'"),
        ok_action(LogAction::Create),
        ok_action(LogAction::Update),
        ok_action(LogAction::Disable),
        ok_action(LogAction::Delete),
        ok_action(LogAction::StagedDelete),
        ok_action(LogAction::Skip),
        ok_action(LogAction::Other),
    )
}

/// Activity of the last `cycles` cycles of an app that logged something at or after `since_ms`,
/// oldest first. One `GROUP BY` over the range `app_id = ? AND at >= ?` of `provisioning_logs_app`.
pub async fn cycle_activity(conn: &mut AnyConnection, app_id: &str, since_ms: i64, cycles: u32) -> Result<Vec<CycleActivity>> {
    let sql = cycle_activity_sql();
    let rows = sqlx::query(&sql).bind(app_id.to_string()).bind(since_ms).bind(i64::from(cycles.clamp(1, 1000))).fetch_all(conn).await?;
    let mut out = rows
        .iter()
        .map(|r| {
            Ok(CycleActivity {
                cycle_id: r.try_get("cycle_id")?,
                first_at: ms_to_dt(r.try_get("first_at")?),
                last_at: ms_to_dt(r.try_get("last_at")?),
                creates: r.try_get("creates")?,
                updates: r.try_get("updates")?,
                disables: r.try_get("disables")?,
                deletes: r.try_get("deletes")?,
                staged: r.try_get("staged")?,
                skips: r.try_get("skips")?,
                other: r.try_get("other")?,
                failures: r.try_get("failures")?,
                total: r.try_get("total")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    out.reverse();
    Ok(out)
}

/// One log entry by id.
pub async fn get_log(conn: &mut AnyConnection, id: &str) -> Result<Option<LogEntry>> {
    let row = sqlx::query(&format!("SELECT {} FROM provisioning_logs WHERE id = $1", super::sync::LOG_COLS))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(super::sync::row_to_log).transpose()
}

/// Log entries of every app, newest first, with the same filters and cursor as
/// [`super::sync::list_logs`] (a cursor from one works in the other); keyset-paged on `(at, id)`.
pub async fn list_all_logs(conn: &mut AnyConnection, q: &LogQuery) -> Result<Page<LogEntry>> {
    super::sync::list_logs_of(conn, None, q).await
}
