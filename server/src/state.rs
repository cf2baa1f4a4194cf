//! The application state shared by every handler.

use crate::config::Config;
use leptos::config::LeptosOptions;
use provisio::crypto::SecretBox;
use provisio::store::Store;

/// Everything a request handler may need. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The configuration in force.
    pub config: std::sync::Arc<Config>,
    /// Leptos's options (site root, output name).
    pub leptos: LeptosOptions,
    /// Seals and opens app secrets at rest (built from the server's secret key).
    pub secrets: SecretBox,
    /// Whether connectors may reach private addresses (`PROVISIO_ALLOW_PRIVATE_TARGETS`).
    pub allow_private_targets: bool,
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos.clone()
    }
}
