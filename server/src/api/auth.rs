//! Who is calling: the session cookie or an API bearer token; sign-in and sign-out routes.

use super::error::{ApiError, ApiResult};
use super::json_body;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use provisio::service::{session as auth, Actor};
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;
use tower_sessions::Session;

/// The client address, when the connection info is known (never a rejection).
pub struct ClientIp(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts)))
    }
}

/// The authenticated caller of an API route.
pub struct ApiActor(pub Actor);

/// The client address from the connection, when known.
pub fn client_ip(parts: &Parts) -> Option<String> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string())
}

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ip = client_ip(parts);
        if let Some(v) = parts.headers.get(header::AUTHORIZATION) {
            let token = v.to_str().ok().and_then(|s| s.strip_prefix("Bearer ")).map(str::trim).unwrap_or("");
            return match auth::actor_for_token(&state.store, token, ip).await? {
                Some(a) => Ok(ApiActor(a)),
                None => Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "the API token is not valid or was revoked", None)),
            };
        }
        let session = Session::from_request_parts(parts, state).await.map_err(|_| ApiError::unauthorized())?;
        match provisio_app::session::actor_from_session(&state.store, &session, ip).await? {
            Some(a) => Ok(ApiActor(a)),
            None => Err(ApiError::unauthorized()),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
}

/// `POST /api/v1/login {"username","password"}`: starts a session (cookie).
pub async fn login(State(state): State<AppState>, session: Session, ClientIp(ip): ClientIp, body: Bytes) -> ApiResult<Response> {
    let b: LoginBody = json_body(&body)?;
    let admin = auth::login(&state.store, &b.username, &b.password, ip.as_deref()).await.map_err(|e| {
        let retry = match &e {
            provisio::service::ServiceError::Throttled { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        (ApiError::from(e), retry)
    });
    let admin = match admin {
        Ok(a) => a,
        Err((err, Some(retry))) => {
            let mut r = err.into_response();
            r.headers_mut().insert(header::RETRY_AFTER, retry.into());
            return Ok(r);
        }
        Err((err, None)) => return Err(err),
    };
    provisio_app::session::establish(&session, &admin).await?;
    Ok(Json(json!({"username": admin.username, "role": admin.role})).into_response())
}

/// `POST /api/v1/logout`: ends the session on the server.
pub async fn logout(State(state): State<AppState>, session: Session, ApiActor(actor): ApiActor) -> ApiResult<StatusCode> {
    auth::logout(&state.store, &actor).await?;
    provisio_app::session::end(&session).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/me`: the caller.
pub async fn me(ApiActor(actor): ApiActor) -> Json<serde_json::Value> {
    Json(json!({"name": actor.name, "role": actor.role, "adminId": actor.admin_id}))
}
