//! The SCIM 2.0 connector: the requests Entra's SCIM client sends (RFC 7644, lower-case PATCH ops by
//! default), shaped by the app's [`CompatProfile`], through the outbound [`guard`](super::guard), with
//! bounded concurrency, an optional rate limit and retries.
//!
//! | call | request |
//! |---|---|
//! | find (user) | `GET /Users?filter=userName eq "x"` (or pages of `GET /Users?startIndex=&count=100` when filters are off) |
//! | find (group) | `GET /Groups?excludedAttributes=members&filter=displayName eq "x"` |
//! | find_many | `GET /Users?filter=userName eq "a" or userName eq "b" …&count=…` (up to the profile's `match_batch_size`, at most [`MATCH_BATCH`], values a request; single queries once the target refuses `or`) |
//! | get | `GET /Users/{id}`, `GET /Groups/{id}?excludedAttributes=members` |
//! | create | `POST /Users`; `POST /Groups` without members, then the members by PATCH |
//! | create_many | `POST /Bulk` when the profile and the target allow it, else creates side by side |
//! | update | `PATCH` with one `replace`/`remove` per change, or `PUT` of the desired resource |
//! | disable | `PATCH` replace `active` false (or GET + PUT) |
//! | delete | `DELETE` (404 counts as done) |
//! | update_members | `PATCH /Groups/{id}` `add` `members` / `remove` `members[value eq "id"]`, in batches |

// `ConnectorError` is the `Connector` trait's error type (168 bytes with its exchange); every call here
// returns it, on a path taken once per failed HTTP request, so boxing it would buy nothing.
#![allow(clippy::result_large_err)]

pub mod bulk;
pub mod error;
mod http;
pub mod patch;
mod probe;
pub mod resource;
pub mod retry;

use self::error::Endpoint;
use self::http::{encode, with_query, Auth, Call, OAuthClient, Reply, Transport};
use self::resource::{list_page, member_ids, resource_id, values_at};
use super::{
    AttributeChange, Capabilities, ConnResult, ConnectionReport, Connector, ConnectorError, ErrorKind, Exchange, MemberChange, Secret,
    Sent, TargetObject,
};
use crate::apps::CompatProfile;
use crate::mapping::ObjectType;
use async_trait::async_trait;
use futures::StreamExt;
use reqwest::Method;
use serde_json::Value as J;
use std::fmt;
use std::sync::{Arc, RwLock};

/// How a SCIM connector is set up.
#[derive(Clone, Debug)]
pub struct ScimConfig {
    /// The Tenant URL: the SCIM base URL (`https://host/scim/v2`), without a trailing `/Users`.
    pub base_url: String,
    /// How to authenticate.
    pub auth: ScimAuth,
    /// How the target deviates from RFC 7644 and how hard it may be pushed.
    pub profile: CompatProfile,
    /// Whether private, loopback and link-local targets are allowed (`PROVISIO_ALLOW_PRIVATE_TARGETS`).
    pub allow_private: bool,
}

/// How the connector authenticates to the target.
#[derive(Clone, Debug)]
pub enum ScimAuth {
    /// No credentials.
    None,
    /// A long-lived bearer token (Entra's "Secret Token").
    Bearer(Secret),
    /// OAuth 2.0 client credentials: the token is fetched from `token_url` and cached until shortly
    /// before it expires.
    OAuth {
        /// The token endpoint.
        token_url: String,
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: Secret,
        /// The scope to request, if the endpoint wants one.
        scope: Option<String>,
    },
}

/// The SCIM 2.0 connector. Cheap to clone (one shared client, limits and caches inside an `Arc`).
#[derive(Clone)]
pub struct ScimConnector {
    inner: Arc<Inner>,
}

struct Inner {
    http: Transport,
    profile: CompatProfile,
    caps: RwLock<Option<Capabilities>>,
    caps_read: tokio::sync::Mutex<bool>,
    /// The target refused a filter joined by `or`: batched matching sends single queries from then on.
    or_refused: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for ScimConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScimConnector").field("base_url", &self.inner.http.base()).field("profile", &self.inner.profile).finish()
    }
}

/// The collection path of an object type.
fn collection(object: ObjectType) -> &'static str {
    match object {
        ObjectType::User => "/Users",
        ObjectType::Group => "/Groups",
    }
}

fn noun(object: ObjectType, n: usize) -> &'static str {
    match (object, n == 1) {
        (ObjectType::User, true) => "user",
        (ObjectType::User, false) => "users",
        (ObjectType::Group, true) => "group",
        (ObjectType::Group, false) => "groups",
    }
}

/// The most values one batched matching query asks for (`a eq "x" or a eq "y" …`).
pub const MATCH_BATCH: usize = 50;

/// The most membership PATCH operations in one `/Bulk` request.
pub const MEMBER_OPS_PER_BULK: usize = 100;

/// Page size when reading whole lists (no filter support).
const PAGE: usize = 100;
/// The most pages read when matching without a filter (1,000,000 objects).
const MAX_PAGES: usize = 10_000;

fn sent<T>(value: T, exchanges: Vec<Exchange>) -> Sent<T> {
    Sent { value, exchanges }
}

impl ScimConnector {
    /// A connector for `config`. Fails ([`ErrorKind::Refused`]) when the Tenant URL or token URL is not
    /// an http(s) URL without credentials; addresses are checked when connecting.
    pub fn new(config: ScimConfig) -> Result<ScimConnector, ConnectorError> {
        let token_url = match &config.auth {
            ScimAuth::OAuth { token_url, .. } => Some(token_url.as_str()),
            _ => None,
        };
        let (base, token) = http::check_urls(&config.base_url, token_url).map_err(|g| g.to_connector_error())?;
        let auth = match (config.auth, token) {
            (ScimAuth::OAuth { client_id, client_secret, scope, .. }, Some(token_url)) => Auth::ClientCredentials(Box::new(OAuthClient {
                token_url,
                client_id,
                client_secret,
                scope,
                cached: tokio::sync::Mutex::new(None),
            })),
            (ScimAuth::Bearer(s), _) => Auth::Bearer(s),
            (ScimAuth::None | ScimAuth::OAuth { .. }, _) => Auth::None,
        };
        let http = Transport::new(base, auth, &config.profile, config.allow_private)?;
        Ok(ScimConnector {
            inner: Arc::new(Inner {
                http,
                profile: config.profile,
                caps: RwLock::new(None),
                caps_read: tokio::sync::Mutex::new(false),
                or_refused: std::sync::atomic::AtomicBool::new(false),
            }),
        })
    }

    /// What the target advertises in its ServiceProviderConfig, once read (by Test Connection or by the
    /// first call that needs it).
    pub fn capabilities(&self) -> Option<Capabilities> {
        self.inner.caps.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The base URL requests go to (without a trailing slash).
    pub fn base_url(&self) -> &str {
        self.inner.http.base()
    }

    fn profile(&self) -> &CompatProfile {
        &self.inner.profile
    }

    async fn send(&self, call: Call) -> Result<Reply, ConnectorError> {
        self.inner.http.send(&call).await
    }

    fn set_capabilities(&self, caps: Option<Capabilities>) {
        *self.inner.caps.write().unwrap_or_else(|p| p.into_inner()) = caps;
    }

    /// Reads the ServiceProviderConfig once (later calls use the cache); a failure leaves it unknown.
    async fn ensure_capabilities(&self) -> Option<Capabilities> {
        let mut read = self.inner.caps_read.lock().await;
        if !*read {
            *read = true;
            if self.capabilities().is_none() {
                let call = Call::new(Method::GET, "/ServiceProviderConfig", Endpoint::Collection).attempts(2);
                if let Ok(Reply { json: Some(j), .. }) = self.send(call).await {
                    if resource::is_service_provider_config(&j) {
                        self.set_capabilities(Some(resource::capabilities(&j)));
                    }
                }
            }
        }
        self.capabilities()
    }

    /// The path of one object.
    fn object_path(object: ObjectType, id: &str) -> String {
        format!("{}/{}", collection(object), encode(id))
    }

    /// Reads an object by id; groups with or without their members.
    async fn read(&self, object: ObjectType, id: &str, with_members: bool) -> ConnResult<Option<TargetObject>> {
        let path = Self::object_path(object, id);
        let readable = format!("{}/{id}", collection(object));
        let (path, label) = if object == ObjectType::Group && !with_members {
            with_query(&path, &readable, &[("excludedAttributes", "members".into())])
        } else {
            (path, readable)
        };
        let call = Call::new(Method::GET, path, Endpoint::Resource).label(label).accept(&[404]);
        let what = call.what();
        let reply = self.send(call).await?;
        if reply.status == 404 {
            return Ok(sent(None, vec![reply.exchange]));
        }
        match reply.json {
            Some(J::Object(o)) => {
                let resource = J::Object(o);
                let found = resource_id(&resource).unwrap_or_else(|| id.to_string());
                Ok(sent(Some(TargetObject { id: found, resource }), vec![reply.exchange]))
            }
            _ => Err(not_scim(format!("{what} answered {} without a SCIM resource", reply.status), reply)),
        }
    }

    /// The filtered matching query.
    async fn find_filtered(&self, object: ObjectType, attribute: &str, value: &str) -> ConnResult<Option<TargetObject>> {
        let filter = resource::match_filter(attribute, value);
        let mut query = Vec::new();
        if object == ObjectType::Group {
            query.push(("excludedAttributes", "members".to_string()));
        }
        query.push(("filter", filter.clone()));
        let (path, label) = with_query(collection(object), collection(object), &query);
        let call = Call::new(Method::GET, path, Endpoint::Collection).label(label);
        let what = call.what();
        let reply = match self.send(call).await {
            Ok(r) => r,
            Err(e) => return Err(unsupported_filter(e, &filter)),
        };
        let Some(page) = reply.json.as_ref().and_then(list_page) else {
            return Err(not_scim(format!("{what} answered {}, but not with a SCIM ListResponse", reply.status), reply));
        };
        let n = page.resources.len().max(page.total.unwrap_or(0).min(usize::MAX as u64) as usize);
        let exchanges = vec![reply.exchange.clone()];
        match (page.resources.len(), n) {
            (0, 0) => Ok(sent(None, exchanges)),
            (1, 1) => {
                let resource = page.resources.into_iter().next().expect("one");
                match resource_id(&resource) {
                    Some(id) => Ok(sent(Some(TargetObject { id, resource }), exchanges)),
                    None => Err(not_scim(format!("{what} answered with a resource without an id"), reply)),
                }
            }
            (0, _) => Err(not_scim(format!("{what} says {n} results but sent none"), reply)),
            _ => {
                let mut e = ConnectorError::new(
                    ErrorKind::Ambiguous,
                    format!("{what} found {n} {} with {attribute} '{value}'; the matching attribute must be unique", noun(object, n)),
                );
                e.status = Some(reply.status);
                e.exchange = Some(reply.exchange);
                Err(e)
            }
        }
    }

    /// Matching queries for many values: batches of `or` filters, or single queries when the target
    /// refused one (remembered for the connector's life).
    async fn find_batched(&self, object: ObjectType, attribute: &str, values: &[String]) -> Vec<ConnResult<Option<TargetObject>>> {
        use std::sync::atomic::Ordering;
        let concurrency = self.profile().max_concurrency.max(1) as usize;
        let batch = (self.profile().match_batch_size as usize).clamp(1, MATCH_BATCH);
        let max = self.capabilities().and_then(|c| c.filter_max_results).map_or(batch, |m| (m as usize / 2).clamp(1, batch));
        let batches: Vec<_> = values
            .chunks(max)
            .map(|chunk| async move {
                if chunk.len() > 1 && !self.inner.or_refused.load(Ordering::Relaxed) {
                    match self.find_or(object, attribute, chunk).await {
                        Some(r) => return r,
                        None => self.inner.or_refused.store(true, Ordering::Relaxed),
                    }
                }
                let mut out = Vec::with_capacity(chunk.len());
                for v in chunk {
                    out.push(self.find_filtered(object, attribute, v).await);
                }
                out
            })
            .collect();
        let answers: Vec<Vec<ConnResult<Option<TargetObject>>>> = futures::stream::iter(batches).buffered(concurrency).collect().await;
        answers.into_iter().flatten().collect()
    }

    /// One `or` query for `values`; `None` when the target refuses such a filter (400) or the answer is
    /// incomplete (more results than returned), so the values are queried one by one instead.
    async fn find_or(&self, object: ObjectType, attribute: &str, values: &[String]) -> Option<Vec<ConnResult<Option<TargetObject>>>> {
        let filter = values.iter().map(|v| resource::match_filter(attribute, v)).collect::<Vec<_>>().join(" or ");
        let mut query = Vec::new();
        if object == ObjectType::Group {
            query.push(("excludedAttributes", "members".to_string()));
        }
        query.push(("filter", filter));
        query.push(("count", (values.len() * 2).to_string()));
        let (path, label) = with_query(collection(object), collection(object), &query);
        let call = Call::new(Method::GET, path, Endpoint::Collection).label(label);
        let what = call.what();
        let reply = match self.send(call).await {
            Ok(r) => r,
            Err(e) if matches!(e.status, Some(400 | 413 | 414)) => return None,
            Err(e) => return Some(values.iter().map(|_| Err(e.clone())).collect()),
        };
        let Some(page) = reply.json.as_ref().and_then(list_page) else {
            let e = not_scim(format!("{what} answered {}, but not with a SCIM ListResponse", reply.status), reply);
            return Some(values.iter().map(|_| Err(e.clone())).collect());
        };
        if page.total.is_some_and(|t| t > page.resources.len() as u64) {
            return None;
        }
        let found: Vec<(Vec<String>, J)> = page.resources.into_iter().map(|r| (values_at(&r, attribute), r)).collect();
        let n = values.len();
        Some(
            values
                .iter()
                .map(|v| {
                    // Each value's log shows its own comparison, not the whole filter of the request.
                    let exchanges = vec![Exchange {
                        path: format!(
                            "{}?filter={} or … ({n} values in one request)",
                            collection(object),
                            resource::match_filter(attribute, v)
                        ),
                        ..reply.exchange.clone()
                    }];
                    let hits: Vec<&J> =
                        found.iter().filter(|(vals, _)| vals.iter().any(|x| x.eq_ignore_ascii_case(v))).map(|(_, r)| r).collect();
                    match hits.as_slice() {
                        [] => Ok(sent(None, exchanges.clone())),
                        [one] => match resource_id(one) {
                            Some(id) => Ok(sent(Some(TargetObject { id, resource: (*one).clone() }), exchanges.clone())),
                            None => Err(not_scim(format!("{what} answered with a resource without an id"), reply.clone())),
                        },
                        many => {
                            let n = many.len();
                            let mut e = ConnectorError::new(
                                ErrorKind::Ambiguous,
                                format!(
                                    "{what} found {n} {} with {attribute} '{v}'; the matching attribute must be unique",
                                    noun(object, n)
                                ),
                            );
                            e.status = Some(reply.status);
                            e.exchange = Some(reply.exchange.clone());
                            Err(e)
                        }
                    }
                })
                .collect(),
        )
    }

    /// Matching without a filter: read the whole list, page by page, and compare here.
    async fn find_by_scan(&self, object: ObjectType, attribute: &str, value: &str) -> ConnResult<Option<TargetObject>> {
        let mut exchanges = Vec::new();
        let mut found: Vec<J> = Vec::new();
        let mut start = 1usize;
        for _ in 0..MAX_PAGES {
            let mut query = Vec::new();
            if object == ObjectType::Group {
                query.push(("excludedAttributes", "members".to_string()));
            }
            query.push(("startIndex", start.to_string()));
            query.push(("count", PAGE.to_string()));
            let (path, label) = with_query(collection(object), collection(object), &query);
            let call = Call::new(Method::GET, path, Endpoint::Collection).label(label);
            let what = call.what();
            let reply = self.send(call).await?;
            let Some(page) = reply.json.as_ref().and_then(list_page) else {
                return Err(not_scim(format!("{what} answered {}, but not with a SCIM ListResponse", reply.status), reply));
            };
            exchanges.push(reply.exchange);
            let got = page.resources.len();
            found.extend(page.resources.into_iter().filter(|r| values_at(r, attribute).iter().any(|v| v.eq_ignore_ascii_case(value))));
            start += got;
            let done = got == 0 || page.total.is_some_and(|t| (start - 1) as u64 >= t) || (page.total.is_none() && got < PAGE);
            if done {
                break;
            }
        }
        match found.len() {
            0 => Ok(sent(None, exchanges)),
            1 => {
                let resource = found.pop().expect("one");
                let id = resource_id(&resource).ok_or_else(|| {
                    ConnectorError::new(ErrorKind::NotScim, format!("GET {} listed a resource without an id", collection(object)))
                })?;
                Ok(sent(Some(TargetObject { id, resource }), exchanges))
            }
            n => Err(ConnectorError::new(
                ErrorKind::Ambiguous,
                format!(
                    "GET {} lists {n} {} with {attribute} '{value}'; the matching attribute must be unique",
                    collection(object),
                    noun(object, n)
                ),
            )),
        }
    }

    /// POST one resource (groups without members; the members follow by PATCH).
    async fn create_one(&self, object: ObjectType, resource: &J) -> ConnResult<TargetObject> {
        let (body, members) = if object == ObjectType::Group { take_members(resource.clone()) } else { (resource.clone(), Vec::new()) };
        let call = Call::new(Method::POST, collection(object), Endpoint::Collection).body(body);
        let what = call.what();
        let reply = self.send(call).await?;
        let Some(created) = reply.json.clone().filter(J::is_object) else {
            return Err(not_scim(format!("{what} answered {} without the created resource", reply.status), reply));
        };
        let Some(id) = resource_id(&created) else {
            return Err(not_scim(format!("{what} answered {} without an id", reply.status), reply));
        };
        let mut exchanges = vec![reply.exchange];
        self.add_initial_members(&id, &members, &mut exchanges).await?;
        Ok(sent(TargetObject { id, resource: created }, exchanges))
    }

    async fn add_initial_members(&self, id: &str, members: &[String], exchanges: &mut Vec<Exchange>) -> Result<(), ConnectorError> {
        if members.is_empty() {
            return Ok(());
        }
        match self.update_members(id, members, &[]).await {
            Ok(s) => {
                exchanges.extend(s.exchanges);
                Ok(())
            }
            Err(mut e) => {
                e.message = format!("created group {id}, but adding its members failed: {}", e.message);
                Err(e)
            }
        }
    }

    /// Sends planned `/Bulk` requests, `in_flight` at once; each answer with its operations, in order.
    async fn send_bulk(
        &self,
        requests: Vec<Vec<bulk::BulkOp>>,
        in_flight: usize,
    ) -> Vec<(Vec<bulk::BulkOp>, Result<Reply, ConnectorError>)> {
        let sends: Vec<_> = requests
            .into_iter()
            .map(|ops| async move {
                let call = Call::new(Method::POST, "/Bulk", Endpoint::Collection).raw_body(bulk::request_bytes(&ops));
                let r = self.send(call).await;
                (ops, r)
            })
            .collect();
        futures::stream::iter(sends).buffered(in_flight.max(1)).collect().await
    }

    /// Creates through `/Bulk`, in requests within the target's limits.
    async fn create_bulk(&self, object: ObjectType, resources: Vec<J>, caps: &Capabilities) -> Vec<ConnResult<TargetObject>> {
        let n = resources.len();
        // Groups go without their members (added by PATCH once created); users as they are.
        let (bodies, members): (Vec<J>, Vec<Vec<String>>) =
            if object == ObjectType::Group { resources.into_iter().map(take_members).unzip() } else { (resources, Vec::new()) };
        let concurrency = self.profile().max_concurrency.max(1) as usize;
        // A page's creates go as a few requests in flight at once (up to 4, of at least 50 operations
        // each) rather than one: the target can work on them in parallel, and the first answers are
        // read while the others are still out.
        let per_request = bodies.len().div_ceil(concurrency.min(4)).max(50);
        let max_ops = caps.bulk_max_operations.map_or(bulk::MAX_OPERATIONS, |n| n as usize).min(bulk::MAX_OPERATIONS).min(per_request);
        let max_payload = caps.bulk_max_payload_size.unwrap_or(bulk::DEFAULT_MAX_PAYLOAD);
        let (requests, too_big) = bulk::plan(bodies, collection(object), max_ops, max_payload);
        let mut results: Vec<Option<ConnResult<TargetObject>>> = (0..n).map(|_| None).collect();
        let answers = self.send_bulk(requests, concurrency).await;
        for (ops, answer) in answers {
            match answer {
                Ok(reply) => {
                    let mapped = match &reply.json {
                        Some(j) => bulk::map_response(&ops, j, reply.exchange.attempts),
                        None => {
                            let e = not_scim(format!("POST /Bulk answered {} without a BulkResponse", reply.status), reply.clone());
                            ops.iter().map(|_| Err(e.clone())).collect()
                        }
                    };
                    for (op, r) in ops.into_iter().zip(mapped) {
                        results[op.index] = Some(r.map(|(t, status)| {
                            let ex = Exchange {
                                method: "POST".into(),
                                path: "/Bulk".into(),
                                request_body: Some(op.op),
                                status: Some(status),
                                attempts: reply.exchange.attempts,
                            };
                            sent(t, vec![ex])
                        }));
                    }
                }
                Err(mut e) => {
                    // Each resource's exchange carries its own operation, not the whole bulk body.
                    if let Some(x) = e.exchange.as_mut() {
                        x.request_body = None;
                    }
                    for op in ops {
                        let mut e = e.clone();
                        if let Some(x) = e.exchange.as_mut() {
                            x.request_body = Some(op.op);
                        }
                        results[op.index] = Some(Err(e));
                    }
                }
            }
        }
        // Groups created in bulk get their members now.
        let member_jobs: Vec<(usize, String)> = results
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match r {
                Some(Ok(s)) if members.get(i).is_some_and(|m| !m.is_empty()) => Some((i, s.value.id.clone())),
                _ => None,
            })
            .collect();
        let members = &members;
        let member_adds: Vec<_> = member_jobs
            .into_iter()
            .map(|(i, id)| async move {
                let mut ex = Vec::new();
                let r = self.add_initial_members(&id, &members[i], &mut ex).await;
                (i, r.map(|()| ex))
            })
            .collect();
        let member_results: Vec<(usize, Result<Vec<Exchange>, ConnectorError>)> =
            futures::stream::iter(member_adds).buffer_unordered(concurrency).collect().await;
        for (i, r) in member_results {
            match r {
                Ok(ex) => {
                    if let Some(Ok(s)) = results[i].as_mut() {
                        s.exchanges.extend(ex);
                    }
                }
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        // Resources too large for any bulk request go one by one.
        let singles: Vec<_> = too_big.iter().map(|(_, data)| self.create_one(object, data)).collect();
        let singles: Vec<ConnResult<TargetObject>> = futures::stream::iter(singles).buffered(concurrency).collect().await;
        for ((i, _), r) in too_big.iter().zip(singles) {
            results[*i] = Some(r);
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(ConnectorError::new(ErrorKind::NotScim, "the resource was not sent (internal error)"))))
            .collect()
    }

    /// Membership changes through `/Bulk`: each change's PATCH bodies (batches of the profile's size)
    /// as operations, a few requests in flight; a change succeeds when all its operations do. An
    /// operation too large for any request goes as a plain PATCH.
    async fn update_members_bulk(&self, changes: &[MemberChange], caps: &Capabilities) -> Vec<ConnResult<()>> {
        let p = self.profile();
        let concurrency = p.max_concurrency.max(1) as usize;
        let mut owner = Vec::new();
        let mut specs = Vec::new();
        for (i, c) in changes.iter().enumerate() {
            for data in patch::member_bodies(&c.add, &c.remove, p.member_batch_size, p.capitalized_ops) {
                owner.push(i);
                specs.push(bulk::OpSpec { method: "PATCH", path: Self::object_path(ObjectType::Group, &c.group_id), data });
            }
        }
        let paths: Vec<String> = specs.iter().map(|s| s.path.clone()).collect();
        let max_ops =
            caps.bulk_max_operations.map_or(bulk::MAX_OPERATIONS, |n| n as usize).min(bulk::MAX_OPERATIONS).min(MEMBER_OPS_PER_BULK);
        let max_payload = caps.bulk_max_payload_size.unwrap_or(bulk::DEFAULT_MAX_PAYLOAD);
        let (requests, too_big) = bulk::plan_ops(specs, max_ops, max_payload);
        let mut exchanges: Vec<Vec<Exchange>> = changes.iter().map(|_| Vec::new()).collect();
        let mut failures: Vec<Option<ConnectorError>> = changes.iter().map(|_| None).collect();
        let answers = self.send_bulk(requests, concurrency.min(4)).await;
        for (ops, answer) in answers {
            let mapped: Vec<Result<u16, ConnectorError>> = match &answer {
                Ok(reply) => match &reply.json {
                    Some(j) => bulk::map_statuses(&ops, j, reply.exchange.attempts),
                    None => {
                        let e = not_scim(format!("POST /Bulk answered {} without a BulkResponse", reply.status), reply.clone());
                        ops.iter().map(|_| Err(e.clone())).collect()
                    }
                },
                Err(e) => ops
                    .iter()
                    .map(|op| {
                        let mut e = e.clone();
                        if let Some(x) = e.exchange.as_mut() {
                            x.request_body = Some(op.op.clone());
                        }
                        Err(e)
                    })
                    .collect(),
            };
            let attempts = answer.as_ref().map_or(1, |r| r.exchange.attempts);
            for (op, r) in ops.into_iter().zip(mapped) {
                let i = owner[op.index];
                match r {
                    Ok(status) => exchanges[i].push(Exchange {
                        method: "PATCH".into(),
                        path: "/Bulk".into(),
                        request_body: Some(op.op),
                        status: Some(status),
                        attempts,
                    }),
                    Err(e) => {
                        if failures[i].is_none() {
                            failures[i] = Some(e);
                        }
                    }
                }
            }
        }
        for (k, body) in too_big {
            let i = owner[k];
            let call = Call::new(Method::PATCH, paths[k].clone(), Endpoint::Resource).body(body).need_json(false);
            match self.send(call).await {
                Ok(reply) => exchanges[i].push(reply.exchange),
                Err(e) => {
                    if failures[i].is_none() {
                        failures[i] = Some(e);
                    }
                }
            }
        }
        exchanges
            .into_iter()
            .zip(failures)
            .map(|(ex, f)| match f {
                Some(e) => Err(e),
                None => Ok(sent((), ex)),
            })
            .collect()
    }

    /// Creates one by one, at most `max_concurrency` at a time, results in order.
    async fn create_each(&self, object: ObjectType, resources: &[J]) -> Vec<ConnResult<TargetObject>> {
        let concurrency = self.profile().max_concurrency.max(1) as usize;
        // The futures are made first: a stream over a borrowing closure trips the `Send` check of async_trait.
        let creates: Vec<_> = resources.iter().map(|r| self.create_one(object, r)).collect();
        futures::stream::iter(creates).buffered(concurrency).collect().await
    }

    /// PUT a whole resource (with its `id`).
    async fn put(&self, object: ObjectType, id: &str, resource: &J) -> ConnResult<()> {
        let mut body = resource.clone();
        if let Some(o) = body.as_object_mut() {
            o.insert("id".into(), J::String(id.to_string()));
        }
        let call = Call::new(Method::PUT, Self::object_path(object, id), Endpoint::Resource)
            .label(format!("{}/{id}", collection(object)))
            .body(body)
            .need_json(false);
        let reply = self.send(call).await?;
        Ok(sent((), vec![reply.exchange]))
    }

    /// PATCH one object with a PatchOp body.
    async fn patch(&self, object: ObjectType, id: &str, body: J) -> Result<Exchange, ConnectorError> {
        let call = Call::new(Method::PATCH, Self::object_path(object, id), Endpoint::Resource)
            .label(format!("{}/{id}", collection(object)))
            .body(body)
            .need_json(false);
        Ok(self.send(call).await?.exchange)
    }

    /// GET the object (with members), change it, PUT it back: for targets without PATCH.
    async fn read_modify_put(&self, object: ObjectType, id: &str, change: impl FnOnce(&mut J)) -> ConnResult<()> {
        let got = self.read(object, id, true).await?;
        let mut exchanges = got.exchanges;
        let Some(mut current) = got.value else {
            let mut e = ConnectorError::new(
                ErrorKind::NotFound,
                format!("GET {}/{id} answered 404; the object is not in the target", collection(object)),
            );
            e.status = Some(404);
            e.exchange = exchanges.pop();
            return Err(e);
        };
        for k in ["meta"] {
            if let Some(o) = current.resource.as_object_mut() {
                o.remove(k);
            }
        }
        change(&mut current.resource);
        let put = self.put(object, id, &current.resource).await?;
        exchanges.extend(put.exchanges);
        Ok(sent((), exchanges))
    }
}

/// A resource without `members` (for groups) and the member ids taken out.
fn take_members(mut body: J) -> (J, Vec<String>) {
    let members = member_ids(&body);
    if let Some(o) = body.as_object_mut() {
        o.remove("members");
    }
    (body, members)
}

/// A "not a SCIM service" error with the reply's status and exchange.
fn not_scim(message: String, reply: Reply) -> ConnectorError {
    let mut e = ConnectorError::new(ErrorKind::NotScim, message);
    e.status = Some(reply.status);
    e.exchange = Some(reply.exchange);
    e
}

/// A 400 on a filtered query means the target does not support the filter: say what to do.
fn unsupported_filter(mut e: ConnectorError, filter: &str) -> ConnectorError {
    let filter_refused = e.status == Some(400)
        && e.scim_type.as_deref().is_none_or(|t| t.eq_ignore_ascii_case("invalidFilter") || t.eq_ignore_ascii_case("invalidSyntax"));
    if filter_refused {
        let said = e.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
        e.kind = ErrorKind::NotScim;
        e.message =
            format!("the target does not support filter={filter}{said}; turn off filter support in the app's compatibility profile");
    }
    e
}

#[async_trait]
impl Connector for ScimConnector {
    async fn test_connection(&self) -> ConnectionReport {
        probe::run(self).await
    }

    async fn find(&self, object: ObjectType, attribute: &str, value: &str) -> ConnResult<Option<TargetObject>> {
        if self.profile().filter_supported {
            self.find_filtered(object, attribute, value).await
        } else {
            self.find_by_scan(object, attribute, value).await
        }
    }

    async fn find_many(&self, object: ObjectType, attribute: &str, values: &[String]) -> Vec<ConnResult<Option<TargetObject>>> {
        if self.profile().filter_supported {
            return self.find_batched(object, attribute, values).await;
        }
        let mut out = Vec::with_capacity(values.len());
        for v in values {
            out.push(self.find_by_scan(object, attribute, v).await);
        }
        out
    }

    async fn get(&self, object: ObjectType, id: &str) -> ConnResult<Option<TargetObject>> {
        self.read(object, id, false).await
    }

    async fn create(&self, object: ObjectType, resource: &J) -> ConnResult<TargetObject> {
        self.create_one(object, resource).await
    }

    async fn create_many(&self, object: ObjectType, resources: Vec<J>) -> Vec<ConnResult<TargetObject>> {
        if resources.is_empty() {
            return Vec::new();
        }
        if self.profile().use_bulk {
            if let Some(caps) = self.ensure_capabilities().await.filter(|c| c.bulk) {
                return self.create_bulk(object, resources, &caps).await;
            }
        }
        self.create_each(object, &resources).await
    }

    async fn update(&self, object: ObjectType, id: &str, changes: &[AttributeChange], desired: &J) -> ConnResult<()> {
        if self.profile().use_put {
            return self.put(object, id, desired).await;
        }
        if changes.is_empty() {
            return Ok(sent((), Vec::new()));
        }
        let ex = self.patch(object, id, patch::update_body(changes, self.profile())).await?;
        Ok(sent((), vec![ex]))
    }

    async fn disable(&self, object: ObjectType, id: &str) -> ConnResult<()> {
        if self.profile().use_put {
            return self
                .read_modify_put(object, id, |r| {
                    if let Some(o) = r.as_object_mut() {
                        o.insert("active".into(), J::Bool(false));
                    }
                })
                .await;
        }
        let ex = self.patch(object, id, patch::disable_body(self.profile())).await?;
        Ok(sent((), vec![ex]))
    }

    async fn delete(&self, object: ObjectType, id: &str) -> ConnResult<()> {
        let call = Call::new(Method::DELETE, Self::object_path(object, id), Endpoint::Resource)
            .label(format!("{}/{id}", collection(object)))
            .need_json(false)
            .accept(&[404]);
        let reply = self.send(call).await?;
        Ok(sent((), vec![reply.exchange]))
    }

    async fn update_members_many(&self, changes: &[MemberChange]) -> Vec<ConnResult<()>> {
        let concurrency = self.profile().max_concurrency.max(1) as usize;
        if !self.profile().use_put && self.profile().use_bulk {
            if let Some(caps) = self.ensure_capabilities().await.filter(|c| c.bulk) {
                return self.update_members_bulk(changes, &caps).await;
            }
        }
        // The futures are made first: a stream over a borrowing closure trips the `Send` check.
        let each: Vec<_> = changes.iter().map(|c| self.update_members(&c.group_id, &c.add, &c.remove)).collect();
        futures::stream::iter(each).buffered(concurrency).collect().await
    }

    async fn update_members(&self, group_id: &str, add: &[String], remove: &[String]) -> ConnResult<()> {
        if add.is_empty() && remove.is_empty() {
            return Ok(sent((), Vec::new()));
        }
        if self.profile().use_put {
            return self
                .read_modify_put(ObjectType::Group, group_id, |r| {
                    let mut ids = member_ids(r);
                    ids.retain(|m| !remove.contains(m));
                    for a in add {
                        if !ids.contains(a) {
                            ids.push(a.clone());
                        }
                    }
                    let members: Vec<J> = ids.into_iter().map(|v| serde_json::json!({"value": v})).collect();
                    if let Some(o) = r.as_object_mut() {
                        o.insert("members".into(), J::Array(members));
                    }
                })
                .await;
        }
        let p = self.profile();
        let mut exchanges = Vec::new();
        for body in patch::member_bodies(add, remove, p.member_batch_size, p.capitalized_ops) {
            exchanges.push(self.patch(ObjectType::Group, group_id, body).await?);
        }
        Ok(sent((), exchanges))
    }
}
