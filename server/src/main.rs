//! The `provisio` binary: parses the command line and runs it.

use clap::Parser;

/// mimalloc instead of the system allocator: the sync engine allocates and frees many small JSON values
/// per object, and glibc's malloc spent about half of the engine thread's time in an initial cycle.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("PROVISIO_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()))
        .init();
    provisio_server::cli::run(provisio_server::config::Cli::parse()).await
}
