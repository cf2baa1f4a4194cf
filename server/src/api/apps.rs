//! `/api/v1/apps`: enterprise applications, their assignments, the Provisioning blade (settings,
//! admin credentials, Test Connection) and attribute mappings; `/api/v1/gallery`, the preintegrated
//! applications they are made from.

use super::auth::ApiActor;
use super::error::{ApiError, ApiResult};
use super::{json_body, list_response};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use provisio::apps::{AppMappings, AppPatch, AppQuery, CompatProfile, CredentialsInput, NewApp, ProvisioningInput, ProvisioningSettings};
use provisio::expr::suggest::closest;
use provisio::model::FieldError;
use provisio::service::{apps as svc, ServiceError};
use serde::Deserialize;
use serde_json::{json, Value};

/// Query of `GET /api/v1/apps`.
#[derive(Debug, Deserialize)]
pub struct AppsParams {
    search: Option<String>,
    top: Option<u32>,
    after: Option<String>,
}

/// `GET /api/v1/apps`
pub async fn list_apps(State(s): State<AppState>, ApiActor(a): ApiActor, Query(p): Query<AppsParams>) -> ApiResult<Response> {
    let q = AppQuery { search: p.search.clone(), top: p.top, after: p.after };
    let page = svc::list_apps(&s.store, &a, &q).await?;
    let keep: Vec<(&str, String)> = p.search.map(|v| vec![("search", v)]).unwrap_or_default();
    Ok(list_response("/api/v1/apps", page, p.top, &keep))
}

/// Query of `GET /api/v1/gallery`.
#[derive(Debug, Deserialize)]
pub struct GalleryParams {
    search: Option<String>,
}

/// `GET /api/v1/gallery?search=`: the preintegrated applications (any signed-in actor), sorted by name.
pub async fn gallery(ApiActor(_a): ApiActor, Query(p): Query<GalleryParams>) -> ApiResult<Response> {
    Ok(Json(json!({ "value": svc::gallery(p.search.as_deref()) })).into_response())
}

/// `POST /api/v1/apps {"name", "template"}`
pub async fn create_app(State(s): State<AppState>, ApiActor(a): ApiActor, body: Bytes) -> ApiResult<Response> {
    let input: NewApp = json_body(&body)?;
    let app = svc::create_app(&s.store, &a, input).await?;
    Ok((StatusCode::CREATED, [("location", format!("/api/v1/apps/{}", app.id))], Json(app)).into_response())
}

/// `GET /api/v1/apps/{id}`
pub async fn get_app(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(Json(svc::get_app(&s.store, &a, &id).await?).into_response())
}

/// `PATCH /api/v1/apps/{id} {"name"?, "mode"?}`
pub async fn update_app(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>, body: Bytes) -> ApiResult<Response> {
    let patch: AppPatch = json_body(&body)?;
    Ok(Json(svc::update_app(&s.store, &a, &id, patch).await?).into_response())
}

/// `DELETE /api/v1/apps/{id}`
pub async fn delete_app(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>) -> ApiResult<StatusCode> {
    svc::delete_app(&s.store, &a, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of `GET /api/v1/apps/{id}/assignments`.
#[derive(Debug, Deserialize)]
pub struct PageParams {
    top: Option<u32>,
    after: Option<String>,
    /// Only the users and groups whose name or user principal name contains it.
    search: Option<String>,
}

/// `GET /api/v1/apps/{id}/assignments`
pub async fn list_assignments(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    Query(p): Query<PageParams>,
) -> ApiResult<Response> {
    let page = svc::list_assignments(&s.store, &a, &id, p.top, p.after.as_deref(), p.search.as_deref()).await?;
    let keep: Vec<(&str, String)> = p.search.iter().map(|v| ("search", v.clone())).collect();
    Ok(list_response(&format!("/api/v1/apps/{id}/assignments"), page, p.top, &keep))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AssignBody {
    principal_id: String,
}

/// `POST /api/v1/apps/{id}/assignments {"principalId"}`
pub async fn assign(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>, body: Bytes) -> ApiResult<Response> {
    let b: AssignBody = json_body(&body)?;
    let assignment = svc::assign(&s.store, &a, &id, &b.principal_id).await?;
    Ok((StatusCode::CREATED, Json(assignment)).into_response())
}

/// `DELETE /api/v1/apps/{id}/assignments/{principalId}`
pub async fn unassign(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path((id, principal)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    svc::unassign(&s.store, &a, &id, &principal).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/apps/{id}/provisioning`: mode, settings, profile and the credentials (no secrets).
pub async fn get_provisioning(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(Json(svc::get_provisioning(&s.store, &a, &id).await?).into_response())
}

/// Field errors for the keys of `body[section]` that `known` (the section's default, as JSON) lacks:
/// settings and profile fields all have defaults, so a misspelt one would otherwise be ignored.
fn unknown_keys(body: &Value, section: &str, known: &Value) -> Vec<FieldError> {
    let (Some(given), Some(known)) = (body.get(section).and_then(Value::as_object), known.as_object()) else { return Vec::new() };
    given
        .keys()
        .filter(|k| !known.contains_key(*k))
        .map(|k| {
            let hint = closest(k, known.keys().map(String::as_str)).map(|c| format!("; did you mean {c}?")).unwrap_or_default();
            FieldError::new(format!("{section}.{k}"), format!("is not a known field{hint}"))
        })
        .collect()
}

/// `PUT /api/v1/apps/{id}/provisioning {"mode", "settings", "profile"?}`
pub async fn put_provisioning(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let raw: Value = json_body(&body)?;
    let mut unknown = unknown_keys(&raw, "settings", &json!(ProvisioningSettings::default()));
    unknown.extend(unknown_keys(&raw, "profile", &json!(CompatProfile::default())));
    if !unknown.is_empty() {
        return Err(ServiceError::Validation(unknown).into());
    }
    let input: ProvisioningInput = serde_json::from_value(raw).map_err(|e| ApiError::bad_json(&e))?;
    Ok(Json(svc::put_provisioning(&s.store, &a, &id, input).await?).into_response())
}

/// `PUT /api/v1/apps/{id}/provisioning/credentials`: returns the credentials view (last four
/// characters and dates of the secrets, never the secrets).
pub async fn put_credentials(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>, body: Bytes) -> ApiResult<Response> {
    let input: CredentialsInput = json_body(&body)?;
    Ok(Json(svc::put_credentials(&s.store, &s.secrets, &a, &id, input).await?).into_response())
}

/// `POST /api/v1/apps/{id}/provisioning/test-connection`: 200 with the report (`ok: false` and the
/// reason when the target fails); 422 when credentials are missing.
pub async fn test_connection(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(Json(svc::test_connection(&s.store, &s.secrets, &a, &id, s.allow_private_targets).await?).into_response())
}

/// `GET /api/v1/apps/{id}/provisioning/mappings`
pub async fn get_mappings(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(Json(svc::get_mappings(&s.store, &a, &id).await?).into_response())
}

/// `PUT /api/v1/apps/{id}/provisioning/mappings`: the whole [`AppMappings`]; 422 lists every problem.
pub async fn put_mappings(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>, body: Bytes) -> ApiResult<Response> {
    let input: AppMappings = json_body(&body)?;
    Ok(Json(svc::put_mappings(&s.store, &a, &id, input).await?).into_response())
}
