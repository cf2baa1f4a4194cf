//! Configuration from flags and environment variables (`provisio --help` lists them).

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Provisio: keeps user accounts in your apps in step with one directory.
#[derive(Debug, Parser)]
#[command(name = "provisio", version, about, long_about = None)]
pub struct Cli {
    /// Settings shared by every command.
    #[command(flatten)]
    pub config: Config,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Settings shared by every command.
#[derive(Clone, Debug, Args)]
pub struct Config {
    /// Address to serve the portal and API on.
    #[arg(long, env = "PROVISIO_ADDR", default_value = "127.0.0.1:3000", global = true)]
    pub addr: SocketAddr,
    /// Database URL: sqlite://path (default: <data dir>/provisio.db) or postgres://user@host/db.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Folder for the SQLite database and the generated secret key.
    #[arg(long, env = "PROVISIO_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// Key material for encrypting secrets at rest (base64, 32 bytes). Generated into the data dir when absent.
    #[arg(long, env = "PROVISIO_SECRET_KEY", hide_env_values = true, global = true)]
    pub secret_key: Option<String>,
    /// Password for the first administrator (`admin`), used only when the database has no admin yet.
    /// Without it a password is generated and printed once.
    #[arg(long, env = "PROVISIO_ADMIN_PASSWORD", hide_env_values = true, global = true)]
    pub admin_password: Option<String>,
    /// Seed the demo directory (about 200 users, 20 groups) when the directory is empty.
    #[arg(long, env = "PROVISIO_DEMO", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub demo: bool,
    /// The public URL when served behind TLS (https://…): session cookies are then Secure and HSTS is sent.
    #[arg(long, env = "PROVISIO_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Let connectors reach private, loopback and link-local addresses and plain http:// (for test
    /// targets on this machine or network). Off in production: Tenant URLs must then be public https://.
    #[arg(long, env = "PROVISIO_ALLOW_PRIVATE_TARGETS", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub allow_private_targets: bool,
    /// Run the provisioning scheduler in this process (several processes may share one PostgreSQL
    /// database: each job runs in one of them at a time).
    #[arg(long, env = "PROVISIO_SCHEDULER", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub scheduler: bool,
    /// Seconds a provisioning job's lease lasts without renewal: how long another process waits before
    /// taking over the jobs of a process that died.
    #[arg(long, env = "PROVISIO_LEASE_SECONDS", default_value_t = 60, global = true)]
    pub lease_seconds: u64,
    /// SMTP server for alert emails (an app's "send an email when a failure occurs"): smtp://host:port,
    /// smtp://user:password@host:587?tls=required (STARTTLS) or smtps://user:password@host (TLS).
    /// Without it, alerts are shown in the portal and the API only, their emails left pending.
    #[arg(long, env = "PROVISIO_SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<Redacted>,
    /// The sender of alert emails.
    #[arg(long, env = "PROVISIO_SMTP_FROM", default_value = "Provisio <provisio@localhost>", global = true)]
    pub smtp_from: String,
    /// Folder with the built site (pkg/ with the wasm bundle, CSS and static files).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site", global = true)]
    pub site_root: String,
}

/// A setting that may hold a password (the SMTP URL): its `Debug` form hides it.
#[derive(Clone)]
pub struct Redacted(pub String);

impl std::str::FromStr for Redacted {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Redacted(s.to_string()))
    }
}

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Config {
    /// The database URL in force.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) if !u.is_empty() => u.clone(),
            _ => format!("sqlite://{}", self.data_dir.join("provisio.db").display()),
        }
    }

    /// True when served over TLS (cookies get `Secure`).
    pub fn secure(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }
}

/// Commands besides serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the portal and the API (the default).
    Serve,
    /// Manage admin accounts.
    Admin {
        /// What to do.
        #[command(subcommand)]
        action: AdminCommand,
    },
    /// Manage API tokens.
    Token {
        /// What to do.
        #[command(subcommand)]
        action: TokenCommand,
    },
}

/// Admin account commands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin account; prints a generated password unless --password is given.
    Create {
        /// Sign-in name.
        #[arg(long)]
        username: String,
        /// Administrator, ApplicationAdministrator or Reader.
        #[arg(long, default_value = "Administrator")]
        role: String,
        /// The password (default: generated and printed once).
        #[arg(long, env = "PROVISIO_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Set a new password for an admin and sign it out everywhere.
    ResetPassword {
        /// Sign-in name.
        #[arg(long)]
        username: String,
        /// The password (default: generated and printed once).
        #[arg(long, env = "PROVISIO_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

/// API token commands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token and print it once.
    Create {
        /// A name to recognise it by.
        #[arg(long)]
        name: String,
        /// Administrator, ApplicationAdministrator or Reader.
        #[arg(long, default_value = "Reader")]
        role: String,
    },
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::Parser;

    #[test]
    fn the_smtp_url_is_read_but_never_printed() {
        let cli = Cli::parse_from(["provisio", "--smtp-url", "smtps://alerts:hunter2@mail.example", "--smtp-from", "p@example.com"]);
        let url = cli.config.smtp_url.clone().expect("smtp url");
        assert_eq!(url.0, "smtps://alerts:hunter2@mail.example");
        assert_eq!(cli.config.smtp_from, "p@example.com");
        assert!(!format!("{:?}", cli.config).contains("hunter2"), "the config's debug form shows the SMTP password");
    }
}
