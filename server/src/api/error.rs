//! JSON errors: a stable code, a message, and the field at fault.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use provisio::model::FieldError;
use provisio::service::ServiceError;
use serde_json::json;

/// An API error response: `{"error": {"code", "message", "field", "details"}}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
    details: Vec<FieldError>,
}

impl ApiError {
    /// An error with no field list.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>, field: Option<String>) -> Self {
        Self { status, code, message: message.into(), field, details: Vec::new() }
    }

    /// 401.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "sign in or send Authorization: Bearer <token>", None)
    }

    /// 400 for a body that is not the JSON expected, naming the field when serde does.
    pub fn bad_json(e: &serde_json::Error) -> Self {
        let msg = e.to_string();
        let field = msg.split('`').nth(1).map(str::to_string);
        let status = if e.is_syntax() || e.is_eof() { StatusCode::BAD_REQUEST } else { StatusCode::UNPROCESSABLE_ENTITY };
        let code = if status == StatusCode::BAD_REQUEST { "bad_json" } else { "invalid_input" };
        Self::new(status, code, msg, field)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        if let ServiceError::Store(inner) = &e {
            tracing::error!(error = %inner, "store error in API");
        }
        let details = match &e {
            ServiceError::Validation(v) => v.clone(),
            ServiceError::Conflict(f) => vec![f.clone()],
            _ => Vec::new(),
        };
        Self {
            status: StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: e.code(),
            message: e.public_message(),
            field: e.field().map(str::to_string),
            details,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": {"code": self.code, "message": self.message}});
        if let Some(f) = &self.field {
            body["error"]["field"] = json!(f);
        }
        if !self.details.is_empty() {
            body["error"]["details"] = json!(self.details);
        }
        (self.status, Json(body)).into_response()
    }
}

/// Result of an API handler.
pub type ApiResult<T> = Result<T, ApiError>;
