//! The HTTP side of the SCIM connector: one guarded client, bounded concurrency, rate spacing, retries
//! with full-jitter backoff and `Retry-After`, authentication (bearer or OAuth client credentials) and
//! the record of every exchange.

use super::error::{clean, status_error, Endpoint};
use super::retry::{backoff, parse_retry_after, Pause, Spacing, MAX_RETRY_AFTER};
use crate::apps::CompatProfile;
use crate::connector::guard::{self, find_guard_error, BodyError, GuardError, MAX_BODY_BYTES};
use crate::connector::{ConnectorError, ErrorKind, Exchange, Secret};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::Method;
use serde_json::Value as J;
use std::error::Error as StdError;
use std::time::{Duration, SystemTime};
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

/// The media type of SCIM requests.
pub const SCIM_JSON: &str = "application/scim+json";
/// What the connector accepts.
pub const ACCEPT_JSON: &str = "application/scim+json, application/json";

/// Percent-encodes a query value or path segment: everything but RFC 3986 unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds a path with a query from its parts: the encoded path for the wire and a readable one for
/// messages. `path` must already be encoded (see [`encode`] for ids).
pub fn with_query(path: &str, readable_path: &str, query: &[(&str, String)]) -> (String, String) {
    if query.is_empty() {
        return (path.to_string(), readable_path.to_string());
    }
    let wire: Vec<String> = query.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
    let readable: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    (format!("{path}?{}", wire.join("&")), format!("{readable_path}?{}", readable.join("&")))
}

/// One request to make.
#[derive(Clone, Debug)]
pub struct Call {
    /// The method.
    pub method: Method,
    /// The path and query below the base URL, encoded (`/Users?filter=userName%20eq%20%22x%22`).
    pub path: String,
    /// The same, readable, for messages (`/Users?filter=userName eq "x"`).
    pub label: String,
    /// The JSON body.
    pub body: Option<J>,
    /// What the path points at (decides what a 404 means).
    pub endpoint: Endpoint,
    /// The answer must be JSON (a 2xx without a JSON body is an error).
    pub need_json: bool,
    /// Non-2xx statuses the caller handles itself (e.g. 404 for get and delete).
    pub accept: &'static [u16],
    /// Attempts for this call, when not the profile's.
    pub attempts: Option<u32>,
    /// Record the body in the exchange (off for `/Bulk`, whose results carry their own operation).
    pub log_body: bool,
    /// A body already serialized (sent instead of `body`; `/Bulk` builds it from its operations'
    /// JSON without copying them into one value).
    pub raw_body: Option<Vec<u8>>,
}

impl Call {
    /// A call with a readable path equal to the wire path.
    pub fn new(method: Method, path: impl Into<String>, endpoint: Endpoint) -> Call {
        let path = path.into();
        Call {
            method,
            label: path.clone(),
            path,
            body: None,
            endpoint,
            need_json: true,
            accept: &[],
            attempts: None,
            log_body: true,
            raw_body: None,
        }
    }

    /// With a readable label different from the wire path.
    pub fn label(mut self, label: impl Into<String>) -> Call {
        self.label = label.into();
        self
    }

    /// With a JSON body.
    pub fn body(mut self, body: J) -> Call {
        self.body = Some(body);
        self
    }

    /// With a JSON body already serialized (never recorded in the exchange).
    pub fn raw_body(mut self, bytes: Vec<u8>) -> Call {
        self.raw_body = Some(bytes);
        self.log_body = false;
        self
    }

    /// Whether the answer must be JSON.
    pub fn need_json(mut self, need: bool) -> Call {
        self.need_json = need;
        self
    }

    /// Non-2xx statuses returned as answers rather than errors.
    pub fn accept(mut self, statuses: &'static [u16]) -> Call {
        self.accept = statuses;
        self
    }

    /// At most this many attempts.
    pub fn attempts(mut self, n: u32) -> Call {
        self.attempts = Some(n);
        self
    }

    /// "POST /Users".
    pub fn what(&self) -> String {
        format!("{} {}", self.method, self.label)
    }
}

/// A final answer.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The body as JSON, when it was JSON.
    pub json: Option<J>,
    /// The `Content-Type`, when sent.
    pub content_type: Option<String>,
    /// The exchange, for the log.
    pub exchange: Exchange,
}

/// How the connector authenticates.
pub enum Auth {
    /// No `Authorization` header.
    None,
    /// A fixed bearer token.
    Bearer(Secret),
    /// OAuth 2.0 client credentials; the token is cached until shortly before it expires.
    ClientCredentials(Box<OAuthClient>),
}

/// The OAuth client-credentials flow and its cached token.
pub struct OAuthClient {
    /// The token endpoint.
    pub token_url: reqwest::Url,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: Secret,
    /// The scope to ask for.
    pub scope: Option<String>,
    /// The cached token and when to stop using it.
    pub cached: Mutex<Option<(Secret, Instant)>>,
}

/// What one attempt came to.
enum Attempt {
    /// A final answer (any status the retry rules do not retry).
    Answer(Reply),
    /// A retryable failure; `after` is the target's `Retry-After`.
    Retry { failure: Failure, after: Option<Duration> },
    /// A failure that retrying will not cure.
    Fail(ConnectorError),
}

/// A retryable failure, kept to describe the last one when attempts run out.
enum Failure {
    /// 429 or 5xx.
    Status(Reply),
    /// Connection failure, timeout, reset, body cut off.
    Network(String),
    /// A 2xx whose body is not complete JSON.
    BadJson { reply: Reply, why: String, cut_off: bool },
}

/// The HTTP machinery of one connector.
pub struct Transport {
    client: reqwest::Client,
    base: String,
    base_query: Option<String>,
    base_url: reqwest::Url,
    allow_private: bool,
    auth: Auth,
    in_flight: Semaphore,
    spacing: Option<Spacing>,
    pause: Pause,
    max_attempts: u32,
    timeout_secs: u32,
}

impl Transport {
    /// A transport for `base_url` (already checked by the guard).
    pub fn new(base_url: reqwest::Url, auth: Auth, profile: &CompatProfile, allow_private: bool) -> Result<Transport, ConnectorError> {
        let timeout = Duration::from_secs(u64::from(profile.timeout_secs.max(1)));
        let client = guard::build_client(timeout, allow_private, profile.max_concurrency as usize)?;
        let mut plain = base_url.clone();
        plain.set_query(None);
        let base = plain.as_str().trim_end_matches('/').to_string();
        Ok(Transport {
            client,
            base,
            base_query: base_url.query().filter(|q| !q.is_empty()).map(str::to_string),
            base_url,
            allow_private,
            auth,
            in_flight: Semaphore::new(profile.max_concurrency.max(1) as usize),
            spacing: profile.rate_limit_per_sec.filter(|r| *r > 0.0).map(Spacing::new),
            pause: Pause::default(),
            max_attempts: profile.max_attempts.max(1),
            timeout_secs: profile.timeout_secs.max(1),
        })
    }

    /// The base URL without a trailing slash (and without its query).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The full URL of a path below the base.
    pub fn url_for(&self, path: &str) -> String {
        match (&self.base_query, path.contains('?')) {
            (None, _) => format!("{}{path}", self.base),
            (Some(q), true) => format!("{}{path}&{q}", self.base),
            (Some(q), false) => format!("{}{path}?{q}", self.base),
        }
    }

    /// The host (and port) of the base URL, for messages.
    pub fn host(&self) -> String {
        let host = self.base_url.host_str().unwrap_or("");
        match self.base_url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        }
    }

    /// How the transport authenticates: "none", "bearer" or "oauth".
    pub fn auth_kind(&self) -> &'static str {
        match self.auth {
            Auth::None => "none",
            Auth::Bearer(_) => "bearer",
            Auth::ClientCredentials(_) => "oauth",
        }
    }

    /// Sends a call with the retry rules; a 2xx (or an accepted status) is `Ok`, anything else is the
    /// classified error with its exchange.
    pub async fn send(&self, call: &Call) -> Result<Reply, ConnectorError> {
        let max = call.attempts.unwrap_or(self.max_attempts).max(1);
        // `tries` counts against the retry budget; `sent` also counts the one resend after an OAuth
        // token refresh, and is what the exchange records.
        let mut tries = 0u32;
        let mut sent = 0u32;
        let mut refreshed = false;
        let exchange = |status: Option<u16>, sent: u32| Exchange {
            method: call.method.to_string(),
            path: call.path.clone(),
            request_body: if call.log_body { call.body.clone() } else { None },
            status,
            attempts: sent,
        };
        loop {
            tries += 1;
            sent += 1;
            let (failure, after) = match self.attempt(call).await {
                Attempt::Fail(mut e) => {
                    e.exchange = Some(exchange(e.status, sent));
                    return Err(e);
                }
                Attempt::Answer(reply) if reply.status == 401 && matches!(self.auth, Auth::ClientCredentials(_)) && !refreshed => {
                    // The token may have been revoked or have expired early: get a new one, once.
                    refreshed = true;
                    if let Auth::ClientCredentials(o) = &self.auth {
                        *o.cached.lock().await = None;
                    }
                    tries -= 1;
                    continue;
                }
                Attempt::Answer(mut reply) => {
                    reply.exchange = exchange(Some(reply.status), sent);
                    if (200..300).contains(&reply.status) || call.accept.contains(&reply.status) {
                        return Ok(reply);
                    }
                    return Err(self.final_error(call, reply, sent));
                }
                Attempt::Retry { failure, after } => (failure, after),
            };
            if let Some(wait) = after {
                if wait > MAX_RETRY_AFTER {
                    let mut e = self.exhausted(call, failure, sent);
                    e.message = format!("{}; the target asks to wait {} seconds before trying again", e.message, wait.as_secs());
                    e.exchange = Some(exchange(e.status, sent));
                    return Err(e);
                }
                self.pause.extend(Instant::now() + wait);
            }
            if tries >= max {
                let mut e = self.exhausted(call, failure, sent);
                e.exchange = Some(exchange(e.status, sent));
                return Err(e);
            }
            let jitter = backoff(tries, &mut rand::thread_rng());
            let wait = after.map_or(jitter, |a| a.max(jitter));
            tracing::debug!(method = %call.method, path = %call.label, attempt = sent, wait_ms = wait.as_millis() as u64, "SCIM request will be retried");
            tokio::time::sleep(wait).await;
        }
    }

    /// The error for a final non-2xx answer.
    fn final_error(&self, call: &Call, reply: Reply, sent: u32) -> ConnectorError {
        let mut e = status_error(&call.what(), call.endpoint, reply.status, reply.json.as_ref(), None);
        if reply.status == 409 && sent > 1 && call.method == Method::POST {
            e.message.push_str(" (an earlier attempt's answer was lost, so that attempt probably created it)");
        }
        e.exchange = Some(reply.exchange);
        e
    }

    /// The error when attempts run out (or the target asks for too long a wait).
    fn exhausted(&self, call: &Call, failure: Failure, attempts: u32) -> ConnectorError {
        let tries = if attempts == 1 { "1 attempt".to_string() } else { format!("{attempts} attempts") };
        match failure {
            Failure::Status(reply) => {
                let mut e = status_error(&call.what(), call.endpoint, reply.status, reply.json.as_ref(), None);
                e.kind = ErrorKind::Unavailable;
                let what = if reply.status == 429 { " (too many requests)" } else { "" };
                let said = e.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
                let st = e.scim_type.as_deref().map(|t| format!(" {t}")).unwrap_or_default();
                e.message = format!("{} answered {}{st}{what} after {tries}{said}", call.what(), reply.status);
                e
            }
            Failure::Network(why) => ConnectorError::new(ErrorKind::Network, format!("{}: {why} (after {tries})", call.what())),
            Failure::BadJson { reply, why, cut_off } => {
                let (kind, what) = if cut_off {
                    (ErrorKind::Network, "the answer's body was cut off")
                } else {
                    (ErrorKind::NotScim, "the answer's body is not valid JSON")
                };
                let mut e =
                    ConnectorError::new(kind, format!("{} answered {} but {what} ({why}) after {tries}", call.what(), reply.status));
                e.status = Some(reply.status);
                e
            }
        }
    }

    /// One attempt: wait for a slot, authenticate, send, read the body, judge the answer.
    async fn attempt(&self, call: &Call) -> Attempt {
        let url_text = self.url_for(&call.path);
        let url = match reqwest::Url::parse(&url_text) {
            Ok(u) => u,
            Err(e) => return Attempt::Fail(ConnectorError::new(ErrorKind::Refused, format!("{}: not a valid URL ({e})", call.what()))),
        };
        if let Err(g) = guard::check_literal_host(&url, self.allow_private) {
            return Attempt::Fail(g.to_connector_error());
        }
        let token = match self.authorization().await {
            Ok(t) => t,
            Err(e) if matches!(e.kind, ErrorKind::Network | ErrorKind::Unavailable) => {
                return Attempt::Retry { failure: Failure::Network(e.message), after: None }
            }
            Err(e) => return Attempt::Fail(e),
        };
        let _permit = match self.in_flight.acquire().await {
            Ok(p) => p,
            Err(_) => return Attempt::Fail(ConnectorError::new(ErrorKind::Network, "the connector was shut down")),
        };
        let pause = self.pause.remaining();
        if pause > MAX_RETRY_AFTER {
            return Attempt::Fail(ConnectorError::new(
                ErrorKind::Unavailable,
                format!("{}: not sent; the target asked to wait {} more seconds (Retry-After)", call.what(), pause.as_secs()),
            ));
        }
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        if let Some(s) = &self.spacing {
            s.wait().await;
        }
        let mut req = self.client.request(call.method.clone(), url).header(ACCEPT, ACCEPT_JSON);
        if let Some(t) = &token {
            match HeaderValue::from_str(&format!("Bearer {}", t.expose())) {
                Ok(mut v) => {
                    v.set_sensitive(true);
                    req = req.header(AUTHORIZATION, v);
                }
                Err(_) => {
                    return Attempt::Fail(ConnectorError::new(
                        ErrorKind::Unauthorized,
                        "the token contains characters that cannot be sent in an HTTP header",
                    ))
                }
            }
        }
        if let Some(b) = &call.raw_body {
            req = req.header(CONTENT_TYPE, SCIM_JSON).body(b.clone());
        } else if let Some(b) = &call.body {
            req = req.header(CONTENT_TYPE, SCIM_JSON).body(serde_json::to_vec(b).unwrap_or_default());
        }
        tracing::debug!(method = %call.method, path = %call.label, "SCIM request");
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return self.network_failure(&e),
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let content_type = header_text(&headers, CONTENT_TYPE);
        let declared_empty = resp.content_length() == Some(0);
        if (300..400).contains(&status) {
            let location = header_text(&headers, LOCATION).unwrap_or_else(|| "an unnamed location".to_string());
            let mut e = ConnectorError::new(
                ErrorKind::Refused,
                format!(
                    "{} answered {status}: the URL redirects to {location}, and redirects are not followed; use the final URL as the Tenant URL",
                    call.what()
                ),
            );
            e.status = Some(status);
            return Attempt::Fail(e);
        }
        let bytes = match guard::read_capped(resp, MAX_BODY_BYTES).await {
            Ok(b) => b,
            Err(BodyError::TooLarge(limit)) => {
                let mut e = ConnectorError::new(
                    ErrorKind::NotScim,
                    format!("{} answered {status} with a body larger than {} MiB", call.what(), limit / (1024 * 1024)),
                );
                e.status = Some(status);
                return Attempt::Fail(e);
            }
            Err(BodyError::Read(e)) => {
                let why = if e.is_timeout() {
                    format!("the answer's body did not finish within {} seconds", self.timeout_secs)
                } else {
                    format!("the answer's body was cut off: the connection closed before it was complete ({})", root_cause(&e))
                };
                return Attempt::Retry { failure: Failure::Network(why), after: None };
            }
        };
        drop(_permit);
        let json_like = looks_json(content_type.as_deref(), &bytes);
        let parsed: Option<Result<J, serde_json::Error>> = (!bytes.is_empty() && json_like).then(|| serde_json::from_slice::<J>(&bytes));
        let mk = |json: Option<J>| Reply { status, json, content_type: content_type.clone(), exchange: Exchange::default() };
        if (200..300).contains(&status) {
            let must = call.need_json && status != 204;
            match parsed {
                Some(Ok(j)) => return Attempt::Answer(mk(Some(j))),
                Some(Err(err)) => {
                    let cut_off = err.is_eof();
                    return Attempt::Retry { failure: Failure::BadJson { reply: mk(None), why: err.to_string(), cut_off }, after: None };
                }
                None if !must => return Attempt::Answer(mk(None)),
                None if bytes.is_empty() && declared_empty => {
                    let mut e = ConnectorError::new(
                        ErrorKind::NotScim,
                        format!("{} answered {status} with an empty body where a SCIM resource was expected", call.what()),
                    );
                    e.status = Some(status);
                    return Attempt::Fail(e);
                }
                None if bytes.is_empty() => {
                    return Attempt::Retry {
                        failure: Failure::BadJson { reply: mk(None), why: "the body is empty".into(), cut_off: true },
                        after: None,
                    }
                }
                None => {
                    let ct = content_type.as_deref().unwrap_or("none");
                    let mut e = ConnectorError::new(
                        ErrorKind::NotScim,
                        format!("{} answered {status}, but the answer is not SCIM JSON (Content-Type {ct})", call.what()),
                    );
                    e.status = Some(status);
                    return Attempt::Fail(e);
                }
            }
        }
        let json = parsed.and_then(Result::ok);
        let reply = mk(json);
        if matches!(status, 429 | 500 | 502 | 503 | 504) {
            let after = header_text(&headers, RETRY_AFTER).and_then(|v| parse_retry_after(&v, SystemTime::now()));
            return Attempt::Retry { failure: Failure::Status(reply), after };
        }
        if reply.json.is_none() && !bytes.is_empty() && is_text(content_type.as_deref()) {
            // Keep a plain-text explanation as the detail.
            let text = String::from_utf8_lossy(&bytes).to_string();
            let mut reply = reply;
            reply.json = Some(serde_json::json!({"detail": clean(&text)}));
            return Attempt::Answer(reply);
        }
        Attempt::Answer(reply)
    }

    /// A send error: guard refusals and TLS failures are final, the rest is retried.
    fn network_failure(&self, e: &reqwest::Error) -> Attempt {
        if let Some(g) = find_guard_error(e) {
            return Attempt::Fail(g.to_connector_error());
        }
        let host = self.host();
        if e.is_timeout() {
            return Attempt::Retry {
                failure: Failure::Network(format!("no answer from {host} within {} seconds", self.timeout_secs)),
                after: None,
            };
        }
        let cause = root_cause(e);
        if is_tls(e, self.base_url.scheme() == "https") {
            return Attempt::Fail(ConnectorError::new(ErrorKind::Network, format!("the TLS handshake with {host} failed: {cause}")));
        }
        if is_refused(e) {
            return Attempt::Retry { failure: Failure::Network(format!("{host} refused the connection ({cause})")), after: None };
        }
        Attempt::Retry { failure: Failure::Network(format!("the connection to {host} failed ({cause})")), after: None }
    }

    /// The `Authorization` token to send, fetching an OAuth token when needed.
    async fn authorization(&self) -> Result<Option<Secret>, ConnectorError> {
        match &self.auth {
            Auth::None => Ok(None),
            Auth::Bearer(s) => Ok(Some(s.clone())),
            Auth::ClientCredentials(o) => {
                let mut cached = o.cached.lock().await;
                if let Some((tok, until)) = cached.as_ref() {
                    if Instant::now() < *until {
                        return Ok(Some(tok.clone()));
                    }
                }
                let (tok, lifetime) = self.fetch_token(o).await?;
                let margin = (lifetime / 10).min(Duration::from_secs(60));
                *cached = Some((tok.clone(), Instant::now() + lifetime.saturating_sub(margin)));
                Ok(Some(tok))
            }
        }
    }

    /// The client-credentials grant: POST the token endpoint, read `access_token` and `expires_in`.
    async fn fetch_token(&self, o: &OAuthClient) -> Result<(Secret, Duration), ConnectorError> {
        let url = o.token_url.clone();
        if let Err(g) = guard::check_literal_host(&url, self.allow_private) {
            return Err(g.to_connector_error());
        }
        let mut form: Vec<(&str, &str)> =
            vec![("grant_type", "client_credentials"), ("client_id", &o.client_id), ("client_secret", o.client_secret.expose())];
        if let Some(s) = o.scope.as_deref().filter(|s| !s.trim().is_empty()) {
            form.push(("scope", s));
        }
        let endpoint = format!("the token endpoint {}", redact_query(&url));
        let resp = match self.client.post(url).header(ACCEPT, "application/json").form(&form).send().await {
            Ok(r) => r,
            Err(e) => {
                if let Some(g) = find_guard_error(&e) {
                    return Err(g.to_connector_error());
                }
                let why = if e.is_timeout() { format!("no answer within {} seconds", self.timeout_secs) } else { root_cause(&e) };
                return Err(ConnectorError::new(ErrorKind::Network, format!("could not reach {endpoint}: {why}")));
            }
        };
        let status = resp.status().as_u16();
        let bytes = match guard::read_capped(resp, 1024 * 1024).await {
            Ok(b) => b,
            Err(_) => {
                return Err(ConnectorError::new(ErrorKind::Network, format!("{endpoint} answered {status} but the body could not be read")))
            }
        };
        let json: Option<J> = serde_json::from_slice(&bytes).ok();
        if !(200..300).contains(&status) {
            let err = json.as_ref().and_then(|j| j.get("error")).and_then(J::as_str).unwrap_or("");
            let desc = json.as_ref().and_then(|j| j.get("error_description")).and_then(J::as_str).map(clean);
            let said = match (err.is_empty(), desc) {
                (true, None) => String::new(),
                (false, None) => format!(" {err}"),
                (true, Some(d)) => format!(": {d}"),
                (false, Some(d)) => format!(" {err}: {d}"),
            };
            let kind = if status == 429 || status >= 500 { ErrorKind::Unavailable } else { ErrorKind::Unauthorized };
            // No `status` on the error: it would read as the SCIM request's, which was never sent.
            return Err(ConnectorError::new(
                kind,
                format!("{endpoint} refused the client credentials ({status}{said}); check the client id, secret and scope"),
            ));
        }
        let token = json.as_ref().and_then(|j| j.get("access_token")).and_then(J::as_str).filter(|t| !t.is_empty());
        let Some(token) = token else {
            return Err(ConnectorError::new(ErrorKind::Unauthorized, format!("{endpoint} answered {status} without an access_token")));
        };
        let expires = json
            .as_ref()
            .and_then(|j| j.get("expires_in"))
            .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())))
            .unwrap_or(3600);
        Ok((Secret::new(token), Duration::from_secs(expires.clamp(1, 86_400 * 30))))
    }
}

fn header_text(h: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(|s| s.trim().to_string())
}

/// A URL for messages, without its query (which could carry a key).
fn redact_query(u: &reqwest::Url) -> String {
    let mut u = u.clone();
    u.set_query(None);
    u.to_string()
}

/// Whether a body is to be read as JSON: its `Content-Type` says JSON, or there is none and the body
/// starts like JSON.
fn looks_json(content_type: Option<&str>, body: &[u8]) -> bool {
    match content_type {
        Some(ct) => ct.to_ascii_lowercase().contains("json"),
        None => body.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|b| *b == b'{' || *b == b'['),
    }
}

fn is_text(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| ct.to_ascii_lowercase().starts_with("text/plain"))
}

/// The innermost cause of an error, which is the part that says what happened.
pub fn root_cause(e: &(dyn StdError + 'static)) -> String {
    let mut cur: &(dyn StdError + 'static) = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// The text of an error's causes (not the error itself, whose text holds the URL).
fn chain_text(e: &(dyn StdError + 'static)) -> String {
    let mut out = String::new();
    let mut cur: Option<&(dyn StdError + 'static)> = e.source();
    while let Some(x) = cur {
        out.push_str(&x.to_string().to_ascii_lowercase());
        out.push(' ');
        cur = x.source();
    }
    out
}

/// Whether a connect error is a TLS failure: rustls errors reach us as `io::Error`s of kind
/// `InvalidData` (tokio-rustls), and their texts name certificates or the handshake.
fn is_tls(e: &reqwest::Error, https: bool) -> bool {
    if !https || !e.is_connect() {
        return false;
    }
    if io_kinds(e).contains(&std::io::ErrorKind::InvalidData) {
        return true;
    }
    let t = chain_text(e);
    t.contains("certificate") || t.contains("tls") || t.contains("handshake") || t.contains("invalid peer")
}

fn is_refused(e: &(dyn StdError + 'static)) -> bool {
    io_kinds(e).contains(&std::io::ErrorKind::ConnectionRefused)
}

/// The kinds of every `io::Error` in an error's chain. `io::Error::source` skips the error it wraps,
/// so wrapped io errors are reached through `get_ref` as well.
fn io_kinds(e: &(dyn StdError + 'static)) -> Vec<std::io::ErrorKind> {
    let mut kinds = Vec::new();
    let mut stack: Vec<&(dyn StdError + 'static)> = vec![e];
    while let Some(x) = stack.pop() {
        if kinds.len() > 32 {
            break;
        }
        if let Some(io) = x.downcast_ref::<std::io::Error>() {
            kinds.push(io.kind());
            if let Some(inner) = io.get_ref() {
                stack.push(inner);
            }
        }
        if let Some(next) = x.source() {
            stack.push(next);
        }
    }
    kinds
}

/// Guard errors for a base URL and an optional token URL, checked at construction.
pub fn check_urls(base: &str, token_url: Option<&str>) -> Result<(reqwest::Url, Option<reqwest::Url>), GuardError> {
    let b = guard::check_url("the Tenant URL", base)?;
    let t = token_url.map(|t| guard::check_url("the token URL", t)).transpose()?;
    Ok((b, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding() {
        assert_eq!(encode(r#"userName eq "a b@x.org""#), "userName%20eq%20%22a%20b%40x.org%22");
        assert_eq!(encode("Ünï/?&="), "%C3%9Cn%C3%AF%2F%3F%26%3D");
        assert_eq!(encode("AZaz09-._~"), "AZaz09-._~");
        let (wire, readable) =
            with_query("/Groups", "/Groups", &[("excludedAttributes", "members".into()), ("filter", "displayName eq \"a&b\"".into())]);
        assert_eq!(wire, "/Groups?excludedAttributes=members&filter=displayName%20eq%20%22a%26b%22");
        assert_eq!(readable, "/Groups?excludedAttributes=members&filter=displayName eq \"a&b\"");
    }

    #[test]
    fn json_detection() {
        assert!(looks_json(Some("application/scim+json; charset=utf-8"), b"{"));
        assert!(looks_json(Some("application/json"), b""));
        assert!(!looks_json(Some("text/html"), b"{"));
        assert!(looks_json(None, b"  {\"a\":1}"));
        assert!(!looks_json(None, b"<html>"));
    }

    #[test]
    fn base_urls_keep_their_query_apart() {
        let t = Transport::new(
            reqwest::Url::parse("https://scim.example.com/v2/?aadOptscim062020").unwrap(),
            Auth::None,
            &CompatProfile::default(),
            false,
        )
        .unwrap();
        assert_eq!(t.base(), "https://scim.example.com/v2");
        assert_eq!(t.url_for("/Users"), "https://scim.example.com/v2/Users?aadOptscim062020");
        assert_eq!(t.url_for("/Users?count=1"), "https://scim.example.com/v2/Users?count=1&aadOptscim062020");
        assert_eq!(t.host(), "scim.example.com");
    }
}
