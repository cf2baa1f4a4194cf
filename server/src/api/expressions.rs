//! `/api/v1/expressions`: the expression builder (check and evaluate an attribute-mapping expression
//! against a user) and the function reference.

use super::auth::ApiActor;
use super::error::ApiResult;
use super::json_body;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use provisio::model::UserId;
use provisio::service::{expressions, ServiceError};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EvaluateBody {
    expression: String,
    #[serde(default)]
    user_id: Option<String>,
}

/// `POST /api/v1/expressions/evaluate {"expression", "userId"}`: 200 with `{"ok": true, "value", …}`
/// or, for an expression that is wrong or fails for this user, `{"ok": false, "error": {…}}`.
pub async fn evaluate(State(s): State<AppState>, ApiActor(a): ApiActor, body: Bytes) -> ApiResult<Json<Value>> {
    let b: EvaluateBody = json_body(&body)?;
    let user = match b.user_id.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        None => None,
        Some(u) => Some(UserId::parse(u).map_err(|_| ServiceError::NotFound { what: "user", id: u.to_string() })?),
    };
    Ok(Json(expressions::evaluate(&s.store, &a, &b.expression, user).await?.to_json()))
}

/// `GET /api/v1/expressions/functions`: every built-in function with its signature and summary.
pub async fn functions(ApiActor(a): ApiActor) -> Json<Value> {
    Json(json!({"value": expressions::functions(&a)}))
}
