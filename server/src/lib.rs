//! The `provisio` server: configuration, state, sessions, the JSON API, the portal, and the CLI.
//!
//! [`app`] builds the whole axum router from an [`AppState`]; `main.rs` only parses the command line.
//! Integration tests drive the router directly (see `tests/`).

// The portal's view types (islands nest whole blades) are deep; without type erasure (tests) the
// server needs more than the default 128.
#![recursion_limit = "256"]

pub mod api;
pub mod cli;
pub mod config;
pub mod scheduler;
pub mod security;
pub mod sessions;
pub mod state;

use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, handle_server_fns_with_context, LeptosRoutes};
use provisio_app::{shell, App};
use security::CspNonce;
use state::AppState;
use time::Duration;
use tower_sessions::{Expiry, SessionManagerLayer};

/// Leptos options for a site root (the folder with `pkg/` and static files).
pub fn leptos_options(site_root: &str, addr: std::net::SocketAddr) -> LeptosOptions {
    LeptosOptions::builder().output_name("provisio").site_root(site_root).site_pkg_dir("pkg").site_addr(addr).build()
}

/// Provides the per-request context for server functions and page renders: the store, the import
/// jobs, and the CSP nonce for Leptos's inline scripts.
fn context(app_ctx: impl Fn() + Clone + Send + Sync + 'static) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        app_ctx();
        if let Some(parts) = use_context::<Parts>() {
            if let Some(n) = parts.extensions.get::<CspNonce>() {
                provide_context(leptos::nonce::Nonce::from_value(n.0.as_str()));
            }
        }
    }
}

/// The whole application: portal pages, server functions, `/api/v1`, static files, and every guard.
pub fn app(state: AppState) -> Router {
    let targets = provisio_app::api::ssr::TargetAccess { secrets: state.secrets.clone(), allow_private: state.allow_private_targets };
    let app_ctx = context(provisio_app::context_provider(state.store.clone(), targets));
    let fn_ctx = app_ctx.clone();
    let server_fns = move |req: Request<Body>| {
        let ctx = fn_ctx.clone();
        async move {
            if req.uri().path().starts_with("/api/v1/") {
                return api::error::ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", "no such API route", None)
                    .into_response();
            }
            handle_server_fns_with_context(ctx, req).await.into_response()
        }
    };
    let routes = generate_route_list(App);
    let leptos_options = state.leptos.clone();
    let cookie_name = if state.config.secure() { "__Host-provisio" } else { "provisio_session" };
    let sessions = SessionManagerLayer::new(sessions::DbSessionStore(state.store.clone()))
        .with_name(cookie_name)
        .with_secure(state.config.secure())
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Strict)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(Duration::seconds(provisio_app::session::IDLE_TIMEOUT_SECS)));

    Router::new()
        .nest("/api/v1", api::router())
        .route("/api/{*fn_name}", get(server_fns.clone()).post(server_fns))
        .route("/healthz", get(|| async { "ok" }))
        .leptos_routes_with_context(&state, routes, app_ctx, {
            let o = leptos_options.clone();
            move || shell(o.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(state.clone(), security::require_sign_in))
        .layer(middleware::from_fn(security::refuse_cross_origin))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(state.clone(), security::security_headers))
        .with_state(state)
}
