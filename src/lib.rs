//! The Provisio engine: the directory model, the store and the service layer.
//!
//! This crate knows nothing of axum or Leptos. With default features off it is pure (the `model`
//! and `expr` modules) and builds for `wasm32-unknown-unknown`, so the portal can run the same validation in
//! the browser. The `store` feature adds everything that does I/O.

pub mod apps;
pub mod expr;
pub mod mapping;
pub mod model;
pub mod scoping;
pub mod source;

#[cfg(feature = "store")]
pub mod auth;
#[cfg(feature = "store")]
pub mod connector;
#[cfg(feature = "store")]
pub mod crypto;
#[cfg(feature = "store")]
pub mod demo;
#[cfg(feature = "store")]
pub mod service;
#[cfg(feature = "store")]
pub mod store;
#[cfg(feature = "store")]
pub mod sync;
