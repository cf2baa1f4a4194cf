//! Start-up and the command line: open the store, first-run set-up, serve, admin and token commands.

use crate::config::{AdminCommand, Cli, Command, Config, TokenCommand};
use crate::state::AppState;
use anyhow::{bail, Context};
use base64::Engine;
use provisio::model::Role;
use provisio::service::{admins, Actor};
use provisio::store::Store;
use std::net::SocketAddr;
use std::sync::Arc;

/// The user name of the first administrator created on an empty database.
pub const INITIAL_ADMIN: &str = "admin";

/// Loads the key for encrypting secrets at rest: `PROVISIO_SECRET_KEY`, else `<data dir>/secret.key`,
/// generated (32 random bytes, base64, mode 0600) on first run.
pub fn secret_key(config: &Config) -> anyhow::Result<Vec<u8>> {
    let decode = |s: &str| -> anyhow::Result<Vec<u8>> {
        let k = base64::engine::general_purpose::STANDARD.decode(s.trim()).context("PROVISIO_SECRET_KEY is not base64")?;
        if k.len() < 32 {
            bail!("PROVISIO_SECRET_KEY must hold at least 32 bytes of key material (base64), it holds {}", k.len());
        }
        Ok(k)
    };
    if let Some(k) = config.secret_key.as_deref().filter(|k| !k.is_empty()) {
        return decode(k);
    }
    let path = config.data_dir.join("secret.key");
    if path.exists() {
        return decode(&std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?);
    }
    std::fs::create_dir_all(&config.data_dir).with_context(|| format!("creating {}", config.data_dir.display()))?;
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    let text = base64::engine::general_purpose::STANDARD.encode(key);
    write_private(&path, &text)?;
    tracing::info!(path = %path.display(), "generated a new secret key");
    Ok(key.to_vec())
}

fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// Opens the store named by the configuration (creating the data dir for SQLite).
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir).with_context(|| format!("creating {}", config.data_dir.display()))?;
    }
    Store::open(&url).await.context("opening the database")
}

/// First-run set-up: the first administrator (password printed once) and the demo directory.
pub async fn first_run(store: &Store, config: &Config) -> anyhow::Result<()> {
    if let Some((admin, password)) = admins::ensure_initial_admin(store, INITIAL_ADMIN, config.admin_password.as_deref()).await? {
        if config.admin_password.is_some() {
            println!("Created administrator '{}' with the password from PROVISIO_ADMIN_PASSWORD.", admin.username);
        } else {
            println!("Created administrator '{}' with password: {password}", admin.username);
            println!("This password is shown once. Change it in the portal under Admins & tokens.");
        }
    }
    if config.demo {
        let mut conn = store.conn().await?;
        let empty = provisio::store::users::count(&mut conn).await? == 0 && provisio::store::changes::head(&mut conn).await? == 0;
        drop(conn);
        if empty {
            let n = provisio::demo::seed(store, &Actor::cli(), 200, "contoso.example").await?;
            println!("Seeded the demo directory: {n} users, 20 groups.");
        }
    }
    Ok(())
}

fn role(s: &str) -> anyhow::Result<Role> {
    Role::parse(s).with_context(|| format!("role '{s}' is not Administrator, ApplicationAdministrator or Reader"))
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    let store = open_store(&config).await?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(store, config).await,
        Command::Admin { action: AdminCommand::Create { username, role: r, password } } => {
            let generated = password.is_none();
            let pw = password.unwrap_or_else(provisio::auth::generate_password);
            let a = admins::create_admin(&store, &Actor::cli(), &username, &pw, role(&r)?).await?;
            println!("Created {} '{}'.", a.role.label(), a.username);
            if generated {
                println!("Password (shown once): {pw}");
            }
            Ok(())
        }
        Command::Admin { action: AdminCommand::ResetPassword { username, password } } => {
            let generated = password.is_none();
            let pw = password.unwrap_or_else(provisio::auth::generate_password);
            let a = admins::reset_password(&store, &Actor::cli(), &username, &pw).await?;
            println!("Reset the password of '{}' and signed it out everywhere.", a.username);
            if generated {
                println!("New password (shown once): {pw}");
            }
            Ok(())
        }
        Command::Token { action: TokenCommand::Create { name, role: r } } => {
            let (t, secret) = admins::create_token(&store, &Actor::cli(), &name, role(&r)?).await?;
            println!("Created API token '{}' ({}). Copy it now, it is not shown again:", t.name, t.role.label());
            println!("{secret}");
            Ok(())
        }
    }
}

async fn serve(store: Store, config: Config) -> anyhow::Result<()> {
    let secrets = provisio::crypto::SecretBox::from_key_material(&secret_key(&config)?).context("loading the secret key")?;
    first_run(&store, &config).await?;
    let addr: SocketAddr = config.addr;
    let leptos = crate::leptos_options(&config.site_root, addr);
    let allow_private_targets = config.allow_private_targets;
    let scheduler = config.scheduler;
    let mailer = match &config.smtp_url {
        Some(url) if !url.0.is_empty() => {
            Some(Arc::new(provisio::notify::SmtpMailer::new(&url.0, &config.smtp_from).map_err(|e| anyhow::anyhow!("{e}"))?))
        }
        _ => None,
    };
    let public_url = config.public_url.clone();
    let state = AppState { store: store.clone(), config: Arc::new(config), leptos, secrets, allow_private_targets };
    spawn_housekeeping(store.clone());
    if scheduler {
        crate::scheduler::spawn(state.clone());
        match mailer {
            Some(m) => {
                crate::scheduler::spawn_alert_delivery(store.clone(), m, public_url);
            }
            None => tracing::info!("no SMTP server configured (PROVISIO_SMTP_URL): alert emails stay pending"),
        }
    }
    let app = crate::app(state);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    println!("Provisio is serving on http://{addr}");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    store.close().await;
    Ok(())
}

/// Hourly: delete expired sessions and purge users past their 30 days in the recycle bin.
fn spawn_housekeeping(store: Store) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if let Ok(mut c) = store.conn().await {
                let _ = provisio::store::sessions::delete_expired(&mut c).await;
            }
            let housekeeping = Actor { name: "housekeeping".into(), ..Actor::cli() };
            if let Err(e) = provisio::service::directory::purge_expired(&store, &housekeeping).await {
                tracing::warn!(error = %e, "purging the recycle bin failed");
            }
        }
    });
}
