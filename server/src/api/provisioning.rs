//! `/api/v1/apps/{id}/provisioning/…`: the job (start, pause, restart, staged deletions, status),
//! on-demand provisioning, preview and the provisioning logs (JSON, or exported as CSV or JSON).

use super::auth::ApiActor;
use super::error::ApiResult;
use super::{json_body, list_response};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use provisio::service::provisioning::{self as prov, StatusView};
use provisio::service::ServiceError;
use provisio::sync::log::{LogAction, LogQuery, LogStatus};
use serde::Deserialize;
use serde_json::{json, Value};

/// `POST …/start`: status On, and a cycle now.
pub async fn start(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>) -> ApiResult<Json<StatusView>> {
    prov::start(&s.store, &a, &id).await?;
    Ok(Json(prov::status_view(&s.store, &a, &id).await?))
}

/// `POST …/pause`: status Off.
pub async fn pause(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>) -> ApiResult<Json<StatusView>> {
    prov::pause(&s.store, &a, &id).await?;
    Ok(Json(prov::status_view(&s.store, &a, &id).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RestartBody {
    #[serde(default)]
    full: bool,
}

/// `POST …/restart {"full": bool}`: clear state and run an initial cycle (`full` also breaks links).
pub async fn restart(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>, body: Bytes) -> ApiResult<Json<StatusView>> {
    let b: RestartBody = if body.is_empty() { RestartBody::default() } else { json_body(&body)? };
    prov::restart(&s.store, &a, &id, b.full).await?;
    Ok(Json(prov::status_view(&s.store, &a, &id).await?))
}

/// `POST …/allow-deletes`: send exactly the staged disables/deletes.
pub async fn allow_deletes(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>) -> ApiResult<Json<StatusView>> {
    prov::decide_deletes(&s.store, &a, &id, true).await?;
    Ok(Json(prov::status_view(&s.store, &a, &id).await?))
}

/// `POST …/reject-deletes`: drop the staged disables/deletes.
pub async fn reject_deletes(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>) -> ApiResult<Json<StatusView>> {
    prov::decide_deletes(&s.store, &a, &id, false).await?;
    Ok(Json(prov::status_view(&s.store, &a, &id).await?))
}

/// `GET …/status`.
pub async fn status(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>) -> ApiResult<Json<StatusView>> {
    Ok(Json(prov::status_view(&s.store, &a, &id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OnDemandBody {
    id: String,
}

/// `POST …/on-demand {"id"}`: provision one user (or a group with up to 5 members) now.
pub async fn on_demand(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>, body: Bytes) -> ApiResult<Json<Value>> {
    let b: OnDemandBody = json_body(&body)?;
    let entries = prov::on_demand(&s.store, &s.secrets, &a, &id, &b.id, s.allow_private_targets).await?;
    Ok(Json(json!({"value": entries})))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PreviewBody {
    #[serde(default)]
    limit: Option<usize>,
}

/// `POST …/preview {"limit"}`: what the next cycle would do; nothing that changes the target is sent.
pub async fn preview(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>, body: Bytes) -> ApiResult<Json<Value>> {
    let b: PreviewBody = if body.is_empty() { PreviewBody::default() } else { json_body(&body)? };
    let entries = prov::preview(&s.store, &s.secrets, &a, &id, b.limit.unwrap_or(1000), s.allow_private_targets).await?;
    Ok(Json(json!({"value": entries})))
}

/// The query of `GET …/alerts`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    /// How many (1–500; default 50).
    #[serde(default)]
    top: Option<i64>,
}

/// `GET …/alerts?top=`: the job's alerts (quarantine, turned Off, staged deletions), newest first,
/// each with where its email is (`emailStatus`: none, pending, sent, failed).
pub async fn alerts(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    q: Result<Query<AlertsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q.map_err(|e| ServiceError::Validation(vec![provisio::model::FieldError::new("top", e.body_text())]))?;
    if let Some(t) = q.top.filter(|t| !(1..=500).contains(t)) {
        return Err(
            ServiceError::Validation(vec![provisio::model::FieldError::new("top", format!("must be between 1 and 500, not {t}"))]).into()
        );
    }
    let alerts = prov::alerts(&s.store, &a, &id, q.top.unwrap_or(50)).await?;
    Ok(Json(json!({"value": alerts})))
}

/// The query of `GET …/logs`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogsParams {
    status: Option<String>,
    action: Option<String>,
    identity: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cycle_id: Option<String>,
    top: Option<u32>,
    after: Option<String>,
    format: Option<String>,
}

fn time(field: &str, v: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>, ServiceError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| Some(d.with_timezone(&chrono::Utc)))
            .map_err(|_| ServiceError::invalid(field, "must be an RFC 3339 time like 2026-11-24T10:00:00Z")),
    }
}

/// `GET …/logs?status=&action=&identity=&since=&until=&cycleId=&top=&after=&format=csv|json`: newest
/// first. `format=csv` or `format=json` downloads the filtered entries (up to 10,000) as a file.
pub async fn logs(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    Query(p): Query<LogsParams>,
) -> ApiResult<Response> {
    let status = match p.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(v) => {
            Some(LogStatus::parse(v).ok_or_else(|| ServiceError::invalid("status", "must be Success, Failure, Skipped or Warning"))?)
        }
    };
    let action = match p.action.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(v) => Some(
            LogAction::parse(v)
                .ok_or_else(|| ServiceError::invalid("action", "must be Create, Update, Disable, Delete, StagedDelete, Skip or Other"))?,
        ),
    };
    let mut q = LogQuery {
        status,
        action,
        identity: p.identity.clone(),
        since: time("since", p.since.as_deref())?,
        until: time("until", p.until.as_deref())?,
        cycle_id: p.cycle_id.clone(),
        top: p.top,
        after: p.after.clone(),
    };
    match p.format.as_deref() {
        Some(f @ ("csv" | "json")) => {
            let mut all = Vec::new();
            q.top = Some(1000);
            loop {
                let page = prov::logs(&s.store, &a, &id, &q).await?;
                all.extend(page.items);
                match page.next_cursor {
                    Some(c) if all.len() < 10_000 => q.after = Some(c),
                    _ => break,
                }
            }
            let (body, ty, ext) = if f == "csv" {
                (provisio::sync::log::to_csv(&all, false), "text/csv; charset=utf-8", "csv")
            } else {
                (serde_json::to_string_pretty(&json!({"value": all})).unwrap_or_default(), "application/json", "json")
            };
            let disposition = format!("attachment; filename=\"provisioning-logs-{id}.{ext}\"");
            Ok(([(header::CONTENT_TYPE, ty.to_string()), (header::CONTENT_DISPOSITION, disposition)], body).into_response())
        }
        Some(other) => Err(ServiceError::invalid("format", format!("'{other}' is not csv or json")).into()),
        None => {
            let page = prov::logs(&s.store, &a, &id, &q).await?;
            let keep: Vec<(&str, String)> = [
                ("status", p.status),
                ("action", p.action),
                ("identity", p.identity),
                ("since", p.since),
                ("until", p.until),
                ("cycleId", p.cycle_id),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)))
            .collect();
            Ok(list_response(&format!("/api/v1/apps/{id}/provisioning/logs"), page, p.top, &keep))
        }
    }
}
