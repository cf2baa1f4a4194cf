//! Request guards: security headers with a per-response CSP nonce, the cross-origin refusal of state
//! changes, and the sign-in requirement for portal pages.

use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

/// The CSP nonce of the current response, handed to Leptos for its inline hydration script.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Adds CSP (with a fresh nonce), frame-ancestors, nosniff, Referrer-Policy and friends to every response.
pub async fn security_headers(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let nonce = provisio::auth::random_secret(18);
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // same-origin keeps the Referer that no-JS form posts need to return to their page.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if state.config.secure() {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    resp
}

fn is_unsafe(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Why a state-changing request is refused as cross-origin, if it is.
pub fn cross_origin_problem(req: &Request<Body>) -> Option<&'static str> {
    if !is_unsafe(req.method()) {
        return None;
    }
    let headers = req.headers();
    // Bearer tokens are not ambient credentials: a page on another site cannot attach them.
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("Bearer "));
    if bearer && !headers.contains_key(header::COOKIE) {
        return None;
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site != "same-origin" && site != "none" {
            return Some("cross-site request refused (Sec-Fetch-Site)");
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        let origin = origin.to_str().unwrap_or("");
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
        if origin == "null" || origin_host.is_empty() || !origin_host.eq_ignore_ascii_case(host) {
            return Some("cross-origin request refused (Origin does not match Host)");
        }
    }
    None
}

/// Refuses state-changing requests from another origin with 403.
pub async fn refuse_cross_origin(req: Request, next: Next) -> Response {
    if let Some(why) = cross_origin_problem(&req) {
        tracing::warn!(path = %req.uri().path(), why, "refused cross-origin request");
        return crate::api::error::ApiError::new(StatusCode::FORBIDDEN, "cross_origin", why, None).into_response();
    }
    next.run(req).await
}

/// Paths that anyone may GET without signing in.
fn is_public(path: &str) -> bool {
    path == "/login"
        || path.starts_with("/pkg/")
        || path.starts_with("/api/")
        || path == "/favicon.svg"
        || path == "/favicon.ico"
        || path == "/logo.svg"
        || path == "/nav.js"
        || path == "/healthz"
        || path.ends_with(".css")
        || path.ends_with(".csv")
}

/// Sends anonymous visitors of portal pages to the sign-in page (pages are also guarded in the app,
/// and every server function authorizes itself).
pub async fn require_sign_in(State(state): State<AppState>, session: Session, req: Request, next: Next) -> Response {
    if req.method() != Method::GET || is_public(req.uri().path()) {
        return next.run(req).await;
    }
    match provisio_app::session::actor_from_session(&state.store, &session, None).await {
        Ok(Some(_)) => next.run(req).await,
        Ok(None) => {
            let pq = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let next_param = provisio_app::components::encode(pq);
            Redirect::to(&format!("/login?next={next_param}")).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "session check failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, headers: &[(&str, &str)]) -> Request<Body> {
        let mut b = Request::builder().method(method).uri("/api/v1/users");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn same_origin_and_safe_requests_pass() {
        assert!(cross_origin_problem(&req(Method::GET, &[("origin", "https://evil.example")])).is_none());
        assert!(cross_origin_problem(&req(Method::POST, &[("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3000")])).is_none());
        assert!(cross_origin_problem(&req(Method::POST, &[("sec-fetch-site", "same-origin")])).is_none());
        assert!(
            cross_origin_problem(&req(Method::DELETE, &[("authorization", "Bearer pvo_x"), ("origin", "https://evil.example")])).is_none()
        );
    }

    #[test]
    fn cross_origin_changes_are_refused() {
        assert!(cross_origin_problem(&req(Method::POST, &[("host", "127.0.0.1:3000"), ("origin", "https://evil.example")])).is_some());
        assert!(cross_origin_problem(&req(Method::POST, &[("sec-fetch-site", "cross-site")])).is_some());
        assert!(cross_origin_problem(&req(Method::PATCH, &[("host", "a"), ("origin", "null")])).is_some());
        // A cookie next to a bearer token does not excuse a foreign origin.
        assert!(cross_origin_problem(&req(
            Method::POST,
            &[("host", "a"), ("authorization", "Bearer x"), ("cookie", "id=1"), ("origin", "http://b")]
        ))
        .is_some());
    }
}
