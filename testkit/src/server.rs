//! The HTTP side of the target: accept loop, per-connection control (for faults that drop the
//! connection), authentication, fault injection, the request log and the admin endpoints.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::{JoinHandle, JoinSet};

use crate::fault::FaultKind;
use crate::scim::{self, Reply};
use crate::state::{Inner, TargetState};

/// The SCIM base path.
pub(crate) const BASE_PATH: &str = "/scim/v2";
/// Largest request body accepted (larger: 413).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// How to run a [`ScimTarget`].
#[derive(Clone, Debug)]
pub struct TargetConfig {
    /// Bearer token every request must carry (`Authorization: Bearer <token>`); `None` = no auth.
    pub token: Option<String>,
    /// Advertise bulk support in `/ServiceProviderConfig` and serve `POST /Bulk`.
    pub bulk: bool,
    /// Refuse filters joined by `or` (400 `invalidFilter`), as some targets do.
    pub refuse_or: bool,
    /// Address to listen on; default `127.0.0.1:0` (a free port).
    pub bind: SocketAddr,
}

impl Default for TargetConfig {
    fn default() -> Self {
        TargetConfig { token: None, bulk: false, refuse_or: false, bind: SocketAddr::from(([127, 0, 0, 1], 0)) }
    }
}

/// A running in-memory SCIM 2.0 service provider (see the crate documentation). Stops when
/// [`ScimTarget::stop`] is awaited or when dropped.
pub struct ScimTarget {
    state: TargetState,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl ScimTarget {
    /// Binds `config.bind` and serves in a tokio task of the current runtime.
    ///
    /// # Panics
    /// When the address cannot be bound.
    pub async fn start(config: TargetConfig) -> ScimTarget {
        Self::launch(config, false).await
    }

    /// Like [`ScimTarget::start`], and also serves the admin endpoints of the
    /// `provisio-scim-target` binary outside the SCIM base path: `PUT /_admin/faults`
    /// (JSON `Vec<FaultRule>`), `GET /_admin/stats`, `GET /_admin/users`, `GET /_admin/groups`,
    /// `GET /_admin/requests`, `DELETE /_admin/requests`. They need no token, are not logged and
    /// get no faults.
    pub async fn start_with_admin(config: TargetConfig) -> ScimTarget {
        Self::launch(config, true).await
    }

    async fn launch(config: TargetConfig, admin: bool) -> ScimTarget {
        let listener = TcpListener::bind(config.bind).await.unwrap_or_else(|e| panic!("cannot bind {}: {e}", config.bind));
        let addr = listener.local_addr().expect("local address of the listener");
        let base_url = format!("http://{addr}{BASE_PATH}");
        let inner = Arc::new(Inner::new(base_url, config.token, config.bulk, config.refuse_or));
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, inner.clone(), rx, admin));
        ScimTarget { state: TargetState { inner }, addr, shutdown, task: Some(task) }
    }

    /// The SCIM base URL, `http://127.0.0.1:PORT/scim/v2`.
    pub fn base_url(&self) -> String {
        self.state.inner.base_url.clone()
    }

    /// The address the target listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle on the data, request log and faults (usable after the target stopped too).
    pub fn state(&self) -> TargetState {
        self.state.clone()
    }

    /// Stops accepting, closes every connection and waits until the server task has ended.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ScimTarget {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

async fn accept_loop(listener: TcpListener, inner: Arc<Inner>, mut shutdown: watch::Receiver<bool>, admin: bool) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    conns.spawn(serve_connection(stream, inner.clone(), admin));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    conns.shutdown().await;
}

/// Lets a request handler close its connection (faults that answer nothing).
struct ConnCtl {
    kill: Notify,
    reset: AtomicBool,
}

impl ConnCtl {
    /// Closes the connection without answering; with `reset`, by a TCP RST.
    fn kill(&self, reset: bool) {
        self.reset.store(reset, Ordering::Release);
        self.kill.notify_one();
    }
}

/// The TCP stream, closed by RST when the connection is killed with `reset`.
struct Conn {
    stream: TcpStream,
    ctl: Arc<ConnCtl>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.ctl.reset.load(Ordering::Acquire) {
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }
    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

async fn serve_connection(stream: TcpStream, inner: Arc<Inner>, admin: bool) {
    let _ = stream.set_nodelay(true);
    let ctl = Arc::new(ConnCtl { kill: Notify::new(), reset: AtomicBool::new(false) });
    let io = TokioIo::new(Conn { stream, ctl: ctl.clone() });
    let c = ctl.clone();
    let svc = service_fn(move |req| {
        let inner = inner.clone();
        let ctl = c.clone();
        async move { Ok::<_, Infallible>(handle(inner, ctl, admin, req).await) }
    });
    let conn = http1::Builder::new().keep_alive(true).serve_connection(io, svc);
    tokio::select! {
        _ = conn => {}
        _ = ctl.kill.notified() => {}
    }
}

/// A response body: complete, or cut off (the `Truncate` fault).
enum RespBody {
    Full(Option<Bytes>),
    Truncated { part: Option<Bytes>, declared: u64, ctl: Arc<ConnCtl>, sleep: Option<Pin<Box<tokio::time::Sleep>>>, killed: bool },
}

impl http_body::Body for RespBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            RespBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            RespBody::Truncated { part, ctl, sleep, killed, .. } => {
                if let Some(p) = part.take() {
                    return Poll::Ready(Some(Ok(Frame::data(p))));
                }
                if !*killed {
                    // Let the partial body reach the client, then close the connection.
                    let s = sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(20))));
                    if s.as_mut().poll(cx).is_ready() {
                        *killed = true;
                        ctl.kill(false);
                    }
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, RespBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RespBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            RespBody::Full(None) => SizeHint::with_exact(0),
            RespBody::Truncated { declared, .. } => SizeHint::with_exact(*declared),
        }
    }
}

fn to_response(reply: Reply) -> Response<RespBody> {
    let has_body = reply.body.is_some();
    let mut resp = Response::new(RespBody::Full(reply.body));
    *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    if has_body {
        h.insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    }
    if let Some(l) = reply.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.insert(LOCATION, l);
    }
    if let Some(s) = reply.retry_after {
        h.insert(RETRY_AFTER, HeaderValue::from(s));
    }
    if reply.www_authenticate {
        h.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"provisio-testkit\""));
    }
    resp
}

fn unauthorized(detail: &str) -> Reply {
    let mut r = Reply::error(401, None, detail);
    r.www_authenticate = true;
    r
}

fn authorized(inner: &Inner, req: &Request<Incoming>) -> bool {
    let Some(token) = &inner.token else { return true };
    let Some(h) = req.headers().get(hyper::header::AUTHORIZATION).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    match h.trim().split_once(' ') {
        Some((scheme, t)) => scheme.eq_ignore_ascii_case("bearer") && t.trim() == token,
        None => false,
    }
}

async fn handle(inner: Arc<Inner>, ctl: Arc<ConnCtl>, admin: bool, req: Request<Incoming>) -> Response<RespBody> {
    let path = req.uri().path().to_string();
    if admin && path.starts_with("/_admin") {
        return handle_admin(&inner, req).await;
    }
    let _in_flight = inner.enter();
    let (seq, at_ms) = inner.arrive();
    let method = req.method().as_str().to_string();
    let query = req.uri().query().map(str::to_string);
    let rel = match path.strip_prefix(BASE_PATH) {
        Some(r) if r.is_empty() || r.starts_with('/') => Some(r.to_string()),
        _ => None,
    };
    let logged_path = rel.clone().unwrap_or_else(|| path.clone());
    let auth_ok = authorized(&inner, &req);
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        // A copy: the collected bytes may share (and pin) hyper's whole read buffer.
        Ok(c) => Bytes::copy_from_slice(&c.to_bytes()),
        Err(e) => {
            let reply = if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                Reply::error(413, Some("tooLarge"), format!("the request body exceeds {MAX_BODY} bytes"))
            } else {
                Reply::error(400, None, format!("cannot read the request body: {e}"))
            };
            inner.record(seq, at_ms, &method, &logged_path, query.as_deref(), Bytes::new(), reply.status, None);
            return to_response(reply);
        }
    };
    let fault = inner.pick_fault(&method, &logged_path);
    let record = |status: u16| inner.record(seq, at_ms, &method, &logged_path, query.as_deref(), body.clone(), status, fault.as_ref());
    let early = match &fault {
        Some(FaultKind::Status(s)) => Some(Reply::error(*s, None, format!("injected fault: status {s}"))),
        Some(FaultKind::TooMany { retry_after_secs }) => {
            let mut r = Reply::error(429, None, "injected fault: too many requests");
            r.retry_after = Some(*retry_after_secs);
            Some(r)
        }
        Some(FaultKind::Unauthorized) => Some(unauthorized("injected fault: unauthorized")),
        Some(FaultKind::Reset) => {
            record(0);
            ctl.kill(true);
            return std::future::pending().await;
        }
        Some(FaultKind::Delay { ms }) => {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
            None
        }
        _ => None,
    };
    let reply = match early {
        Some(r) => r,
        None if !auth_ok => unauthorized("missing or invalid bearer token"),
        None => match &rel {
            Some(rel) => scim::dispatch(&inner, &method, rel, query.as_deref(), scim::Input::Raw(&body), false),
            None => Reply::error(404, None, format!("not found: {path} (the SCIM base is {BASE_PATH})")),
        },
    };
    record(reply.status);
    match fault {
        Some(FaultKind::LoseResponse) => {
            ctl.kill(false);
            std::future::pending().await
        }
        Some(FaultKind::Truncate) if reply.body.as_ref().is_some_and(|b| b.len() >= 2) => {
            let full = reply.body.clone().unwrap_or_default();
            let declared = full.len() as u64;
            let part = full.slice(..full.len() / 2);
            let mut resp = to_response(reply);
            resp.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(declared));
            *resp.body_mut() = RespBody::Truncated { part: Some(part), declared, ctl, sleep: None, killed: false };
            resp
        }
        _ => to_response(reply),
    }
}

async fn handle_admin(inner: &Arc<Inner>, req: Request<Incoming>) -> Response<RespBody> {
    let state = TargetState { inner: inner.clone() };
    let method = req.method().clone();
    let path = req.uri().path().trim_end_matches('/').to_string();
    let json = |status: u16, v: &serde_json::Value| {
        let mut r = Reply::json(status, v);
        r.content_type = "application/json";
        to_response(r)
    };
    let error = |status: u16, detail: String| json(status, &serde_json::json!({"error": detail}));
    match (method.as_str(), path.as_str()) {
        ("PUT", "/_admin/faults") => {
            let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) => return error(400, format!("cannot read the body: {e}")),
            };
            match serde_json::from_slice::<Vec<crate::FaultRule>>(&body) {
                Ok(rules) => {
                    let n = rules.len();
                    state.set_faults(rules);
                    json(200, &serde_json::json!({"rules": n}))
                }
                Err(e) => error(400, format!("expected a JSON array of fault rules: {e}")),
            }
        }
        ("GET", "/_admin/stats") => {
            let (users, groups, requests) = state.counts();
            json(
                200,
                &serde_json::json!({"users": users, "groups": groups, "requests": requests,
                    "maxInFlight": state.max_in_flight()}),
            )
        }
        ("GET", "/_admin/users") => json(200, &serde_json::Value::Array(state.users())),
        ("GET", "/_admin/groups") => json(200, &serde_json::Value::Array(state.groups())),
        ("GET", "/_admin/requests") => json(200, &serde_json::to_value(state.requests()).unwrap_or_default()),
        ("DELETE", "/_admin/requests") => {
            state.clear_requests();
            to_response(Reply::empty(204))
        }
        _ => error(404, format!("no admin endpoint {method} {path}")),
    }
}
