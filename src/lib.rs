//! The Provisio engine: the directory model, the store and the service layer.
//!
//! This crate knows nothing of axum or Leptos. With default features off it is pure (the `model`
//! and `expr` modules) and builds for `wasm32-unknown-unknown`, so the portal can run the same validation in
//! the browser. The `store` feature adds everything that does I/O.

pub mod alerts;
pub mod apps;
pub mod expr;
pub mod gallery;
pub mod mapping;
pub mod model;
pub mod scoping;
pub mod source;

#[cfg(feature = "store")]
pub mod auth;
#[cfg(feature = "store")]
pub mod connector;
/// The connector's data types (errors, exchanges, Test Connection reports), without the I/O.
#[cfg(not(feature = "store"))]
pub mod connector {
    #[path = "types.rs"]
    mod types;
    pub use types::*;
}
#[cfg(feature = "store")]
pub mod crypto;
#[cfg(feature = "store")]
pub mod demo;
#[cfg(feature = "store")]
pub mod notify;
#[cfg(feature = "store")]
pub mod service;
#[cfg(feature = "store")]
pub mod store;
#[cfg(feature = "store")]
pub mod sync;
/// The sync engine's data types (job status, provisioning log entries), without the engine.
#[cfg(not(feature = "store"))]
pub mod sync {
    #[path = "job.rs"]
    pub mod job;
    #[path = "log.rs"]
    pub mod log;
}
