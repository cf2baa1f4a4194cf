//! The JSON API under `/api/v1`: the same service functions the portal calls, as Graph-style JSON.

pub mod admin;
pub mod apps;
pub mod auth;
pub mod directory;
pub mod error;
pub mod expressions;
pub mod openapi;
pub mod provisioning;

use crate::state::AppState;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use error::{ApiError, ApiResult};
use provisio::model::Page;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

/// Parses a JSON request body, turning serde's complaint into a 400/422 that names the field.
pub fn json_body<T: DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    if body.is_empty() {
        return Err(ApiError::new(axum::http::StatusCode::BAD_REQUEST, "bad_json", "the request needs a JSON body", None));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_json(&e))
}

/// A list page as `{"value": [...], "@odata.nextLink": "...", "nextCursor": "..."}`.
pub fn list_response<T: Serialize>(path: &str, page: Page<T>, top: Option<u32>, keep: &[(&str, String)]) -> Response {
    let next_link = page.next_cursor.as_ref().map(|c| {
        let mut q: Vec<String> = keep.iter().map(|(k, v)| format!("{k}={}", provisio_app::components::encode(v))).collect();
        if let Some(t) = top {
            q.push(format!("top={t}"));
        }
        q.push(format!("after={c}"));
        format!("{path}?{}", q.join("&"))
    });
    Json(json!({"value": page.items, "@odata.nextLink": next_link, "nextCursor": page.next_cursor})).into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", "no such API route", None)
}

/// The `/api/v1` router.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/login", post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route("/users", get(directory::list_users).post(directory::create_user))
        .route("/users/import", post(directory::import_users))
        .route("/users/{id}", get(directory::get_user).patch(directory::update_user).delete(directory::delete_user))
        .route("/users/{id}/restore", post(directory::restore_user))
        .route("/groups", get(directory::list_groups).post(directory::create_group))
        .route("/groups/{id}", get(directory::get_group).patch(directory::update_group).delete(directory::delete_group))
        .route("/groups/{id}/members", get(directory::list_members).post(directory::add_member))
        .route("/groups/{id}/members/{member_id}", delete(directory::remove_member))
        .route("/audit", get(admin::list_audit))
        .route("/changes", get(admin::list_changes))
        .route("/admins", get(admin::list_admins).post(admin::create_admin))
        .route("/admins/{id}", axum::routing::patch(admin::update_admin).delete(admin::delete_admin))
        .route("/tokens", get(admin::list_tokens).post(admin::create_token))
        .route("/tokens/{id}", delete(admin::revoke_token))
        .route("/gallery", get(apps::gallery))
        .route("/apps", get(apps::list_apps).post(apps::create_app))
        .route("/apps/{id}", get(apps::get_app).patch(apps::update_app).delete(apps::delete_app))
        .route("/apps/{id}/assignments", get(apps::list_assignments).post(apps::assign))
        .route("/apps/{id}/assignments/{principal_id}", delete(apps::unassign))
        .route("/apps/{id}/provisioning", get(apps::get_provisioning).put(apps::put_provisioning))
        .route("/apps/{id}/provisioning/credentials", axum::routing::put(apps::put_credentials))
        .route("/apps/{id}/provisioning/test-connection", post(apps::test_connection))
        .route("/apps/{id}/provisioning/mappings", get(apps::get_mappings).put(apps::put_mappings))
        .route("/apps/{id}/provisioning/start", post(provisioning::start))
        .route("/apps/{id}/provisioning/pause", post(provisioning::pause))
        .route("/apps/{id}/provisioning/restart", post(provisioning::restart))
        .route("/apps/{id}/provisioning/allow-deletes", post(provisioning::allow_deletes))
        .route("/apps/{id}/provisioning/reject-deletes", post(provisioning::reject_deletes))
        .route("/apps/{id}/provisioning/status", get(provisioning::status))
        .route("/apps/{id}/provisioning/on-demand", post(provisioning::on_demand))
        .route("/apps/{id}/provisioning/preview", post(provisioning::preview))
        .route("/apps/{id}/provisioning/logs", get(provisioning::logs))
        .route("/apps/{id}/provisioning/alerts", get(provisioning::alerts))
        .route("/expressions/evaluate", post(expressions::evaluate))
        .route("/expressions/functions", get(expressions::functions))
        .fallback(not_found)
}
