//! The `provisio` binary: parses the command line and runs it.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("PROVISIO_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()))
        .init();
    provisio_server::cli::run(provisio_server::config::Cli::parse()).await
}
