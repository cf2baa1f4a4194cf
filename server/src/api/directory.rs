//! `/api/v1/users` and `/api/v1/groups`: the directory.

use super::auth::ApiActor;
use super::error::ApiResult;
use super::{json_body, list_response};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use provisio::model::{GroupInput, GroupQuery, UserInput, UserQuery};
use provisio::service::{directory as dir, import};
use serde::Deserialize;
use serde_json::json;

/// Query of `GET /api/v1/users`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsersParams {
    search: Option<String>,
    department: Option<String>,
    account_enabled: Option<bool>,
    #[serde(default)]
    deleted: bool,
    top: Option<u32>,
    after: Option<String>,
}

/// `GET /api/v1/users`
pub async fn list_users(State(s): State<AppState>, ApiActor(a): ApiActor, Query(p): Query<UsersParams>) -> ApiResult<Response> {
    let q = UserQuery {
        search: p.search.clone(),
        department: p.department.clone(),
        enabled: p.account_enabled,
        deleted: p.deleted,
        top: p.top,
        after: p.after,
    };
    let page = dir::list_users(&s.store, &a, &q).await?;
    let mut keep = vec![];
    for (k, v) in [("search", p.search), ("department", p.department), ("accountEnabled", p.account_enabled.map(|b| b.to_string()))] {
        if let Some(v) = v {
            keep.push((k, v));
        }
    }
    if p.deleted {
        keep.push(("deleted", "true".into()));
    }
    Ok(list_response("/api/v1/users", page, p.top, &keep))
}

/// `POST /api/v1/users`
pub async fn create_user(State(s): State<AppState>, ApiActor(a): ApiActor, body: Bytes) -> ApiResult<Response> {
    let input: UserInput = json_body(&body)?;
    let u = dir::create_user(&s.store, &a, input).await?;
    Ok((StatusCode::CREATED, [("location", format!("/api/v1/users/{}", u.id))], Json(u)).into_response())
}

/// `GET /api/v1/users/{id}`
pub async fn get_user(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(Json(dir::get_user(&s.store, &a, &id).await?).into_response())
}

/// `PATCH /api/v1/users/{id}`
pub async fn update_user(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>, body: Bytes) -> ApiResult<Response> {
    let input: UserInput = json_body(&body)?;
    Ok(Json(dir::update_user(&s.store, &a, &id, input).await?).into_response())
}

/// Query of `DELETE /api/v1/users/{id}`.
#[derive(Debug, Deserialize)]
pub struct DeleteParams {
    #[serde(default)]
    permanent: bool,
}

/// `DELETE /api/v1/users/{id}`: to the recycle bin; `?permanent=true` deletes a recycled user for good.
pub async fn delete_user(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    Query(p): Query<DeleteParams>,
) -> ApiResult<StatusCode> {
    if p.permanent {
        dir::purge_user(&s.store, &a, &id).await?;
    } else {
        dir::delete_user(&s.store, &a, &id).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/users/{id}/restore`
pub async fn restore_user(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(Json(dir::restore_user(&s.store, &a, &id).await?).into_response())
}

/// Query of `POST /api/v1/users/import`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportParams {
    #[serde(default)]
    dry_run: bool,
}

/// `POST /api/v1/users/import` with a CSV body: imports every row or none; `?dryRun=true` only previews.
pub async fn import_users(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Query(p): Query<ImportParams>,
    body: Bytes,
) -> ApiResult<Response> {
    if p.dry_run {
        return Ok(Json(import::preview(&s.store, &a, &body).await?).into_response());
    }
    let report = import::import(&s.store, &a, &body, &|_, _| {}).await?;
    Ok(Json(report).into_response())
}

/// Query of `GET /api/v1/groups`.
#[derive(Debug, Deserialize)]
pub struct GroupsParams {
    search: Option<String>,
    top: Option<u32>,
    after: Option<String>,
}

/// `GET /api/v1/groups`
pub async fn list_groups(State(s): State<AppState>, ApiActor(a): ApiActor, Query(p): Query<GroupsParams>) -> ApiResult<Response> {
    let q = GroupQuery { search: p.search.clone(), top: p.top, after: p.after };
    let page = dir::list_groups(&s.store, &a, &q).await?;
    let keep: Vec<(&str, String)> = p.search.map(|v| vec![("search", v)]).unwrap_or_default();
    Ok(list_response("/api/v1/groups", page, p.top, &keep))
}

/// `POST /api/v1/groups`
pub async fn create_group(State(s): State<AppState>, ApiActor(a): ApiActor, body: Bytes) -> ApiResult<Response> {
    let input: GroupInput = json_body(&body)?;
    let g = dir::create_group(&s.store, &a, input).await?;
    Ok((StatusCode::CREATED, [("location", format!("/api/v1/groups/{}", g.id))], Json(g)).into_response())
}

/// `GET /api/v1/groups/{id}`
pub async fn get_group(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(Json(dir::get_group(&s.store, &a, &id).await?).into_response())
}

/// `PATCH /api/v1/groups/{id}`
pub async fn update_group(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>, body: Bytes) -> ApiResult<Response> {
    let input: GroupInput = json_body(&body)?;
    Ok(Json(dir::update_group(&s.store, &a, &id, input).await?).into_response())
}

/// `DELETE /api/v1/groups/{id}`
pub async fn delete_group(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>) -> ApiResult<StatusCode> {
    dir::delete_group(&s.store, &a, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of `GET /api/v1/groups/{id}/members`.
#[derive(Debug, Deserialize)]
pub struct PageParams {
    top: Option<u32>,
    after: Option<String>,
}

/// `GET /api/v1/groups/{id}/members`
pub async fn list_members(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    Query(p): Query<PageParams>,
) -> ApiResult<Response> {
    let page = dir::list_members(&s.store, &a, &id, p.top, p.after.as_deref()).await?;
    Ok(list_response(&format!("/api/v1/groups/{id}/members"), page, p.top, &[]))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberBody {
    id: String,
}

/// `POST /api/v1/groups/{id}/members {"id"}`
pub async fn add_member(State(s): State<AppState>, ApiActor(a): ApiActor, Path(id): Path<String>, body: Bytes) -> ApiResult<Response> {
    let b: MemberBody = json_body(&body)?;
    let m = dir::add_member(&s.store, &a, &id, &b.id).await?;
    Ok((StatusCode::CREATED, Json(json!(m))).into_response())
}

/// `DELETE /api/v1/groups/{id}/members/{memberId}`
pub async fn remove_member(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path((id, member)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    dir::remove_member(&s.store, &a, &id, &member).await?;
    Ok(StatusCode::NO_CONTENT)
}
