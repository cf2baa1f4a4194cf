//! Launcher for the Python reference server `scim2-server`.

use std::io;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long [`Scim2Server::start`] waits for the server to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `scim2-server` (the Python SCIM 2.0 server of the `scim2-server` package), started
/// on a free port of 127.0.0.1. The child process is killed when this value is dropped.
///
/// It serves the same resources under `/` and `/v2/`. `/ServiceProviderConfig` answers without
/// a token; every other endpoint needs `Authorization: Bearer <token>`.
pub struct Scim2Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Scim2Server {
    /// Where the binary is: `$PROVISIO_TOOLS/venv/bin/scim2-server`, else
    /// `$HOME/.cache/provisio/venv/bin/scim2-server`, else `scim2-server` on `PATH`.
    pub fn binary() -> Option<PathBuf> {
        let candidates = [
            std::env::var_os("PROVISIO_TOOLS").map(|t| Path::new(&t).join("venv/bin/scim2-server")),
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/provisio/venv/bin/scim2-server")),
        ];
        if let Some(p) = candidates.into_iter().flatten().find(|p| p.is_file()) {
            return Some(p);
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).map(|d| d.join("scim2-server")).find(|p| p.is_file())
    }

    /// Whether the `scim2-server` binary exists (see [`Scim2Server::binary`]).
    pub fn available() -> bool {
        Self::binary().is_some()
    }

    /// Starts `scim2-server --hostname 127.0.0.1 --port N --bearer-token <token>` on a free
    /// port and waits (up to 20 s) until `GET /ServiceProviderConfig` gets an HTTP answer.
    /// Errors: `NotFound` without the binary, `TimedOut` when it does not answer in time, `Other`
    /// when it exits early (the message holds the end of its output).
    pub async fn start(token: &str) -> io::Result<Scim2Server> {
        let bin = Self::binary().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "scim2-server not found (PROVISIO_TOOLS, ~/.cache/provisio/venv, PATH)")
        })?;
        let mut last_err = None;
        // The free port may be taken between picking and binding: try a few times.
        for _ in 0..3 {
            match Self::try_start(&bin, token).await {
                Ok(s) => return Ok(s),
                Err(e) if e.kind() == io::ErrorKind::Other => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("scim2-server did not start")))
    }

    async fn try_start(bin: &Path, token: &str) -> io::Result<Scim2Server> {
        let port = StdListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = std::env::temp_dir().join(format!("provisio-scim2-server-{}-{port}.log", std::process::id()));
        let out = std::fs::File::create(&log)?;
        let child = Command::new(bin)
            .args(["--hostname", "127.0.0.1", "--port", &port.to_string(), "--bearer-token", token])
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        let mut server = Scim2Server { child, port, log };
        let deadline = Instant::now() + READY_TIMEOUT;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        loop {
            if let Some(status) = server.child.try_wait()? {
                let output = std::fs::read_to_string(&server.log).unwrap_or_default();
                let tail: String = output.lines().rev().take(10).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
                return Err(io::Error::other(format!("scim2-server exited ({status}):\n{tail}")));
            }
            if probe(addr).await {
                return Ok(server);
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("scim2-server did not answer on port {port} within {READY_TIMEOUT:?}"),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://127.0.0.1:N` (the server also answers under `http://127.0.0.1:N/v2`).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

/// Whether `GET /ServiceProviderConfig` gets an HTTP status line (any status).
async fn probe(addr: SocketAddr) -> bool {
    let attempt = async {
        let mut s = TcpStream::connect(addr).await?;
        let req =
            format!("GET /ServiceProviderConfig HTTP/1.1\r\nHost: {addr}\r\nAccept: application/scim+json\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 512];
        while buf.len() < 12 {
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        // Read to the end, so the single-threaded server is not left with a half-read socket.
        while s.read(&mut chunk).await? > 0 {}
        io::Result::Ok(buf.starts_with(b"HTTP/1."))
    };
    matches!(tokio::time::timeout(Duration::from_secs(2), attempt).await, Ok(Ok(true)))
}

impl Drop for Scim2Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
