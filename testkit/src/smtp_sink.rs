//! Launcher for a real SMTP server, Python's `aiosmtpd` (PyPI), that stores every message it
//! accepts in a Maildir, for the alert email tests.

use std::io;
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// How long [`SmtpSink::start`] waits for the server's greeting.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `aiosmtpd` on a free port of 127.0.0.1 with the `Mailbox` handler: each accepted
/// message becomes a file in `<dir>/new`, with the envelope in `X-MailFrom` / `X-RcptTo` headers.
/// The process is killed and the Maildir removed when this value is dropped.
pub struct SmtpSink {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl SmtpSink {
    /// The Python with `aiosmtpd`: `$PROVISIO_TOOLS/venv/bin/python`, else
    /// `$HOME/.cache/provisio/venv/bin/python`, when it can import `aiosmtpd`.
    pub fn python() -> Option<PathBuf> {
        [
            std::env::var_os("PROVISIO_TOOLS").map(|t| Path::new(&t).join("venv/bin/python")),
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/provisio/venv/bin/python")),
        ]
        .into_iter()
        .flatten()
        .filter(|p| p.is_file())
        .find(|p| {
            Command::new(p).args(["-c", "import aiosmtpd"]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
        })
    }

    /// Starts the server and waits (up to 20 s) for its `220` greeting. `NotFound` without the
    /// venv's `aiosmtpd` (`make test` installs it).
    pub async fn start() -> io::Result<SmtpSink> {
        let python = Self::python()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "aiosmtpd not found in the tool venv (make test installs it)"))?;
        let port = StdListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = std::env::temp_dir().join(format!("provisio-smtp-{}-{port}", std::process::id()));
        // Maildir creates its folder with `cur`, `new` and `tmp` only when the folder does not exist yet.
        let _ = std::fs::remove_dir_all(&dir);
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut sink = SmtpSink { child, port, dir };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = sink.child.try_wait()? {
                return Err(io::Error::other(format!("aiosmtpd exited ({status})")));
            }
            if greets(port).await {
                return Ok(sink);
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(io::ErrorKind::TimedOut, format!("aiosmtpd did not greet on port {port}")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `smtp://127.0.0.1:N` (plain SMTP, no authentication).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far, as raw text, oldest first.
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(self.dir.join("new"))
            .map(|d| d.flatten().map(|e| (e.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH), e.path())).collect())
            .unwrap_or_default();
        files.sort();
        files.into_iter().filter_map(|(_, p)| std::fs::read_to_string(p).ok()).collect()
    }

    /// Stops the server (messages already received stay readable).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a connection gets the `220` greeting.
async fn greets(port: u16) -> bool {
    let attempt = async {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
        let mut buf = [0u8; 3];
        s.read_exact(&mut buf).await?;
        io::Result::Ok(&buf == b"220")
    };
    matches!(tokio::time::timeout(Duration::from_secs(2), attempt).await, Ok(Ok(true)))
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
