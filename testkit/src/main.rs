//! `provisio-scim-target --port N [--token T] [--bulk] [--refuse-or]`: serves the in-memory SCIM target of
//! `provisio-testkit` on 127.0.0.1:N with its admin endpoints, until interrupted.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use provisio_testkit::{ScimTarget, TargetConfig};

/// mimalloc, as in the `provisio` binary: with the system allocator this process spent most of its
/// time in malloc and free under a provisioning benchmark's load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: provisio-scim-target --port N [--token T] [--bulk] [--refuse-or]

Serves an in-memory SCIM 2.0 target on http://127.0.0.1:N/scim/v2 (port 0: a free port).
Admin endpoints (no token): PUT /_admin/faults (JSON array of fault rules), GET /_admin/stats,
GET /_admin/users, GET /_admin/groups, GET /_admin/requests, DELETE /_admin/requests.";

fn parse_args() -> Result<TargetConfig, String> {
    let mut config = TargetConfig::default();
    let mut port = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |what: &str| inline.clone().or_else(|| args.next()).ok_or(format!("{what} needs a value"));
        match name.as_str() {
            "--port" | "-p" => {
                let v = value("--port")?;
                port = Some(v.parse::<u16>().map_err(|_| format!("invalid port '{v}'"))?);
            }
            "--token" => config.token = Some(value("--token")?),
            "--bulk" => config.bulk = true,
            "--refuse-or" => config.refuse_or = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    let port = port.ok_or("--port is required")?;
    config.bind = SocketAddr::from(([127, 0, 0, 1], port));
    Ok(config)
}

fn main() -> ExitCode {
    let config = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("provisio-scim-target: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("provisio-scim-target: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let target = ScimTarget::start_with_admin(config).await;
        let mut out = std::io::stdout();
        let _ = writeln!(out, "listening on {}", target.base_url());
        let _ = out.flush();
        let _ = tokio::signal::ctrl_c().await;
        target.stop().await;
    });
    ExitCode::SUCCESS
}
