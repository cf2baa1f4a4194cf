//! Server functions of the Provisioning logs blades: filtered, paged log entries (one app's, or every
//! app's), one entry for the detail drawer, the activity per cycle that the chart draws, and the
//! export of every app's logs (one app's export is the JSON API's, which takes the session cookie).

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use provisio::sync::log::{LogAction, LogEntry, LogStatus};
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;

/// Entries per page of the logs table.
pub const PAGE_SIZE: u32 = 50;

/// Cycles the activity chart shows.
pub const CHART_CYCLES: u32 = 20;

/// The quick time ranges of the filter: query value, label, length in hours.
pub const RANGES: [(&str, &str, i64); 3] = [("24h", "Last 24 hours", 24), ("7d", "Last 7 days", 24 * 7), ("30d", "Last 30 days", 24 * 30)];

/// One row of the logs table (the entry without its steps and requests, which the drawer loads).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogRow {
    /// The entry's id.
    pub id: String,
    /// The app.
    pub app_id: String,
    /// The app's name (empty when the app is gone).
    pub app_name: String,
    /// The cycle (or on-demand run).
    pub cycle_id: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The directory object's name.
    pub display_name: String,
    /// `user` or `group`.
    pub object_type: String,
    /// What was done.
    pub action: LogAction,
    /// How it ended.
    pub status: LogStatus,
    /// The error code, on failure.
    pub error_code: Option<String>,
}

/// A page of the logs table, with the time window the filters resolved to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogsPage {
    /// The rows, newest first.
    pub rows: Vec<LogRow>,
    /// The cursor of the next page.
    pub next_cursor: Option<String>,
    /// Entries at or after this time (from the quick range or `from`).
    pub since: Option<DateTime<Utc>>,
    /// Entries before this time (`to`).
    pub until: Option<DateTime<Utc>>,
}

/// An app as the app filter offers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppChoice {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// What one cycle did, as the activity chart draws it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CycleBar {
    /// The cycle.
    pub cycle_id: String,
    /// Its first entry.
    pub first_at: DateTime<Utc>,
    /// Its last entry.
    pub last_at: DateTime<Utc>,
    /// Accounts created.
    pub creates: i64,
    /// Accounts updated.
    pub updates: i64,
    /// Accounts disabled or deleted (sent, or staged for approval).
    pub removals: i64,
    /// Entries that failed.
    pub failures: i64,
    /// Skips and other entries (not drawn; in the table).
    pub other: i64,
}

#[cfg(feature = "ssr")]
mod logs_ssr {
    use chrono::{DateTime, NaiveDateTime, Utc};
    use provisio::service::ServiceError;
    use provisio::sync::log::{LogAction, LogQuery, LogStatus};

    /// A time from the filter form: `datetime-local` (`2026-11-24T10:00`, read as UTC) or RFC 3339.
    fn time(field: &str, v: Option<&str>) -> Result<Option<DateTime<Utc>>, ServiceError> {
        let Some(s) = v.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
        if let Ok(d) = DateTime::parse_from_rfc3339(s) {
            return Ok(Some(d.with_timezone(&Utc)));
        }
        ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
            .or_else(|| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
            .map(|n| Some(n.and_utc()))
            .ok_or_else(|| ServiceError::invalid(field, format!("'{s}' is not a time like 2026-11-24T10:00 (UTC)")))
    }

    /// The service query for the filter form's values (quick range, or from/to).
    pub fn query(
        range: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        status: Option<&str>,
        action: Option<&str>,
        identity: Option<&str>,
        cycle: Option<&str>,
    ) -> Result<LogQuery, ServiceError> {
        let nonempty = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        let status = match nonempty(status) {
            None => None,
            Some(v) => {
                Some(LogStatus::parse(&v).ok_or_else(|| ServiceError::invalid("status", "must be Success, Failure, Skipped or Warning"))?)
            }
        };
        let action =
            match nonempty(action) {
                None => None,
                Some(v) => Some(LogAction::parse(&v).ok_or_else(|| {
                    ServiceError::invalid("action", "must be Create, Update, Disable, Delete, StagedDelete, Skip or Other")
                })?),
            };
        let mut since = time("from", from)?;
        if since.is_none() {
            if let Some(r) = nonempty(range) {
                let hours = super::RANGES
                    .iter()
                    .find(|(k, _, _)| *k == r)
                    .map(|(_, _, h)| *h)
                    .ok_or_else(|| ServiceError::invalid("range", "must be 24h, 7d or 30d"))?;
                since = Some(Utc::now() - chrono::Duration::hours(hours));
            }
        }
        let until = time("to", to)?;
        if let (Some(s), Some(u)) = (since, until) {
            if u <= s {
                return Err(ServiceError::invalid("to", "must be after the start of the range"));
            }
        }
        Ok(LogQuery { status, action, identity: nonempty(identity), since, until, cycle_id: nonempty(cycle), top: None, after: None })
    }

    /// Every app's id and name.
    pub async fn apps(store: &provisio::store::Store, actor: &provisio::service::Actor) -> Result<Vec<super::AppChoice>, ServiceError> {
        let mut q = provisio::apps::AppQuery { search: None, top: Some(1000), after: None };
        let mut out = Vec::new();
        loop {
            let page = provisio::service::apps::list_apps(store, actor, &q).await?;
            out.extend(page.items.into_iter().map(|a| super::AppChoice { id: a.id.to_string(), name: a.name }));
            match page.next_cursor {
                Some(c) => q.after = Some(c),
                None => return Ok(out),
            }
        }
    }
}

/// One page of provisioning log entries, newest first: one app's (`app`), or every app's. The other
/// arguments are the filter form's fields, as the query string carries them.
#[server]
pub async fn list_logs(
    app: Option<String>,
    range: Option<String>,
    from: Option<String>,
    to: Option<String>,
    status: Option<String>,
    action: Option<String>,
    identity: Option<String>,
    cycle: Option<String>,
    after: Option<String>,
) -> Result<LogsPage, ServerFnError> {
    use provisio::service::{logs as svc, provisioning as prov};
    let (store, actor) = ssr::ctx().await?;
    let mut q = logs_ssr::query(
        range.as_deref(),
        from.as_deref(),
        to.as_deref(),
        status.as_deref(),
        action.as_deref(),
        identity.as_deref(),
        cycle.as_deref(),
    )
    .map_err(ssr::err)?;
    q.top = Some(PAGE_SIZE);
    q.after = after.filter(|a| !a.is_empty());
    let app = app.filter(|a| !a.trim().is_empty());
    let page = match &app {
        Some(id) => prov::logs(&store, &actor, id, &q).await,
        None => svc::logs_all(&store, &actor, &q).await,
    }
    .map_err(ssr::err)?;
    let names: std::collections::HashMap<String, String> =
        logs_ssr::apps(&store, &actor).await.map_err(ssr::err)?.into_iter().map(|a| (a.id, a.name)).collect();
    let rows = page
        .items
        .into_iter()
        .map(|e| LogRow {
            app_name: names.get(&e.app_id).cloned().unwrap_or_default(),
            id: e.id,
            app_id: e.app_id,
            cycle_id: e.cycle_id,
            at: e.at,
            display_name: e.display_name,
            object_type: e.object_type,
            action: e.action,
            status: e.status,
            error_code: e.error_code,
        })
        .collect();
    Ok(LogsPage { rows, next_cursor: page.next_cursor, since: q.since, until: q.until })
}

/// One log entry, whole (steps, modified properties, error and recommendation, requests).
#[server]
pub async fn get_log_entry(id: String) -> Result<LogEntry, ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    provisio::service::logs::entry(&store, &actor, &id).await.map_err(ssr::err)
}

/// Every app, for the app filter.
#[server]
pub async fn log_apps() -> Result<Vec<AppChoice>, ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    logs_ssr::apps(&store, &actor).await.map_err(ssr::err)
}

/// What the last [`CHART_CYCLES`] cycles of app `app` did, oldest first.
#[server]
pub async fn log_activity(app: String) -> Result<Vec<CycleBar>, ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    let since = DateTime::<Utc>::UNIX_EPOCH;
    let cycles = provisio::service::logs::activity(&store, &actor, &app, since, CHART_CYCLES).await.map_err(ssr::err)?;
    Ok(cycles
        .into_iter()
        .map(|c| CycleBar {
            cycle_id: c.cycle_id,
            first_at: c.first_at,
            last_at: c.last_at,
            creates: c.creates,
            updates: c.updates,
            removals: c.disables + c.deletes + c.staged,
            failures: c.failures,
            other: c.skips + c.other,
        })
        .collect())
}

/// Every app's log entries matching the filters (up to 10,000, newest first) as a file: `format=csv`
/// (one row per entry, steps and modified properties joined, like one app's export plus the app) or
/// `format=json` (`{"value": [entries]}`). A GET at `/api/logs-export?format=…&status=…` so that a
/// plain link downloads it; the JSON API's export covers one app.
#[server(endpoint = "logs-export", input = leptos::server_fn::codec::GetUrl, output = leptos::server_fn::codec::StreamingText)]
pub async fn export_logs(
    format: String,
    range: Option<String>,
    from: Option<String>,
    to: Option<String>,
    status: Option<String>,
    action: Option<String>,
    identity: Option<String>,
    cycle: Option<String>,
) -> Result<leptos::server_fn::codec::TextStream, ServerFnError> {
    use axum::http::{header, HeaderValue};
    use provisio::service::ServiceError;
    let (store, actor) = ssr::ctx().await?;
    if format != "csv" && format != "json" {
        return Err(ssr::err(ServiceError::invalid("format", format!("'{format}' is not csv or json"))));
    }
    let mut q = logs_ssr::query(
        range.as_deref(),
        from.as_deref(),
        to.as_deref(),
        status.as_deref(),
        action.as_deref(),
        identity.as_deref(),
        cycle.as_deref(),
    )
    .map_err(ssr::err)?;
    q.top = Some(1000);
    let mut all = Vec::new();
    loop {
        let page = provisio::service::logs::logs_all(&store, &actor, &q).await.map_err(ssr::err)?;
        all.extend(page.items);
        match page.next_cursor {
            Some(c) if all.len() < 10_000 => q.after = Some(c),
            _ => break,
        }
    }
    let (body, ty) = if format == "csv" {
        (provisio::sync::log::to_csv(&all, true), "text/csv; charset=utf-8")
    } else {
        (serde_json::to_string_pretty(&serde_json::json!({ "value": all })).unwrap_or_default(), "application/json")
    };
    if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
        // A link click accepts text/html, which server_fn answers with a redirect back (its plain
        // form behaviour); a download must be a 200 (the Location it adds is then ignored).
        opts.set_status(axum::http::StatusCode::OK);
        opts.insert_header(header::CONTENT_TYPE, HeaderValue::from_static(ty));
        let disposition = format!("attachment; filename=\"provisioning-logs.{format}\"");
        if let Ok(v) = HeaderValue::from_str(&disposition) {
            opts.insert_header(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(leptos::server_fn::codec::TextStream::new(futures_once(body)))
}

/// A stream of one chunk.
#[cfg(feature = "ssr")]
fn futures_once(s: String) -> impl futures::Stream<Item = Result<String, ServerFnError>> + Send + 'static {
    futures::stream::once(async move { Ok(s) })
}
