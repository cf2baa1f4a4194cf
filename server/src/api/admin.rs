//! `/api/v1/admins`, `/api/v1/tokens` and `/api/v1/audit`.

use super::auth::ApiActor;
use super::error::{ApiError, ApiResult};
use super::{json_body, list_response};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use provisio::model::{AuditQuery, Role};
use provisio::service::admins;
use serde::Deserialize;
use serde_json::json;

fn role(s: &str) -> ApiResult<Role> {
    Role::parse(s).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            format!("role: '{s}' is not Administrator, ApplicationAdministrator or Reader"),
            Some("role".into()),
        )
    })
}

/// Query of `GET /api/v1/audit`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditParams {
    actor: Option<String>,
    action: Option<String>,
    target_id: Option<String>,
    top: Option<u32>,
    after: Option<String>,
}

/// `GET /api/v1/audit`
pub async fn list_audit(State(s): State<AppState>, ApiActor(a): ApiActor, Query(p): Query<AuditParams>) -> ApiResult<Response> {
    let q = AuditQuery { actor: p.actor.clone(), action: p.action.clone(), target_id: p.target_id.clone(), top: p.top, after: p.after };
    let page = admins::list_audit(&s.store, &a, &q).await?;
    let keep: Vec<(&str, String)> =
        [("actor", p.actor), ("action", p.action), ("targetId", p.target_id)].into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
    Ok(list_response("/api/v1/audit", page, p.top, &keep))
}

/// `GET /api/v1/admins`
pub async fn list_admins(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Response> {
    Ok(Json(json!({"value": admins::list_admins(&s.store, &a).await?})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAdmin {
    username: String,
    password: String,
    role: String,
}

/// `POST /api/v1/admins {"username","password","role"}`
pub async fn create_admin(State(s): State<AppState>, ApiActor(a): ApiActor, body: Bytes) -> ApiResult<Response> {
    let b: NewAdmin = json_body(&body)?;
    let created = admins::create_admin(&s.store, &a, &b.username, &b.password, role(&b.role)?).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminPatch {
    role: Option<String>,
    disabled: Option<bool>,
    password: Option<String>,
}

/// `PATCH /api/v1/admins/{id} {"role"?, "disabled"?, "password"?}`
pub async fn update_admin(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>, body: Bytes) -> ApiResult<Response> {
    let b: AdminPatch = json_body(&body)?;
    let r = b.role.as_deref().map(role).transpose()?;
    let mut updated = admins::update_admin(&s.store, &a, &id, r, b.disabled).await?;
    if let Some(pw) = b.password {
        updated = admins::reset_password(&s.store, &a, &updated.username, &pw).await?;
    }
    Ok(Json(updated).into_response())
}

/// `DELETE /api/v1/admins/{id}`
pub async fn delete_admin(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>) -> ApiResult<StatusCode> {
    admins::delete_admin(&s.store, &a, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/tokens`
pub async fn list_tokens(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Response> {
    Ok(Json(json!({"value": admins::list_tokens(&s.store, &a).await?})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    role: String,
}

/// `POST /api/v1/tokens {"name","role"}`: the token is in the response once and never again.
pub async fn create_token(State(s): State<AppState>, ApiActor(a): ApiActor, body: Bytes) -> ApiResult<Response> {
    let b: NewToken = json_body(&body)?;
    let (t, secret) = admins::create_token(&s.store, &a, &b.name, role(&b.role)?).await?;
    let mut v = json!(t);
    v["token"] = json!(secret);
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// `DELETE /api/v1/tokens/{id}`: revokes.
pub async fn revoke_token(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>) -> ApiResult<StatusCode> {
    admins::revoke_token(&s.store, &a, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of `GET /api/v1/changes`.
#[derive(Debug, Deserialize)]
pub struct ChangesParams {
    #[serde(default)]
    after: i64,
    top: Option<u32>,
}

/// `GET /api/v1/changes?after=<seq>`: the directory change log (what incremental cycles read).
pub async fn list_changes(State(s): State<AppState>, ApiActor(_a): ApiActor, Query(p): Query<ChangesParams>) -> ApiResult<Response> {
    let top = provisio::store::users::page_size(p.top);
    let mut conn = s.store.conn().await.map_err(provisio::service::ServiceError::from)?;
    let items = provisio::store::changes::since(&mut conn, p.after, top).await.map_err(provisio::service::ServiceError::from)?;
    let next = (items.len() as i64 == top).then(|| items.last().map(|c| format!("/api/v1/changes?after={}&top={top}", c.seq))).flatten();
    Ok(Json(json!({"value": items, "@odata.nextLink": next})).into_response())
}
