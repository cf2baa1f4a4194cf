//! The target's shared state: resources, the request log, fault rules and the in-flight counter.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fault::{FaultKind, FaultRule, RuleState};
use crate::scim::json::{get_ci, lower, now_rfc3339, CORE_GROUP, CORE_USER};

/// The two resource types the target serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    User,
    Group,
}

impl Kind {
    pub(crate) fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }
    pub(crate) fn resource_type(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }
    pub(crate) fn schema(self) -> &'static str {
        match self {
            Kind::User => CORE_USER,
            Kind::Group => CORE_GROUP,
        }
    }
    /// The attribute that must be present and unique (case-insensitively).
    pub(crate) fn unique_attr(self) -> &'static str {
        match self {
            Kind::User => "userName",
            Kind::Group => "displayName",
        }
    }
}

struct Item {
    seq: u64,
    res: Value,
}

/// The resources of one type, with the indexes filters use.
pub(crate) struct Collection {
    pub kind: Kind,
    items: HashMap<String, Item>,
    order: BTreeMap<u64, String>,
    /// lower-cased userName / displayName → id
    unique: HashMap<String, String>,
    /// externalId (exact) → ids
    external: HashMap<String, Vec<String>>,
}

impl Collection {
    fn new(kind: Kind) -> Self {
        Collection { kind, items: HashMap::new(), order: BTreeMap::new(), unique: HashMap::new(), external: HashMap::new() }
    }

    /// The lower-cased unique key of a resource.
    pub(crate) fn unique_key(&self, res: &Value) -> Option<String> {
        let m = res.as_object()?;
        get_ci(m, self.kind.unique_attr())?.as_str().map(lower)
    }

    fn external_key(res: &Value) -> Option<String> {
        get_ci(res.as_object()?, "externalId")?.as_str().map(str::to_string)
    }

    fn index(&mut self, id: &str, res: &Value) {
        if let Some(k) = self.unique_key(res) {
            self.unique.insert(k, id.to_string());
        }
        if let Some(e) = Self::external_key(res) {
            self.external.entry(e).or_default().push(id.to_string());
        }
    }

    fn unindex(&mut self, id: &str, res: &Value) {
        if let Some(k) = self.unique_key(res) {
            if self.unique.get(&k).is_some_and(|o| o == id) {
                self.unique.remove(&k);
            }
        }
        if let Some(e) = Self::external_key(res) {
            if let Some(ids) = self.external.get_mut(&e) {
                ids.retain(|i| i != id);
                if ids.is_empty() {
                    self.external.remove(&e);
                }
            }
        }
    }

    /// Adds a resource (the caller checked uniqueness).
    pub(crate) fn insert(&mut self, seq: u64, id: String, res: Value) {
        self.index(&id, &res);
        self.order.insert(seq, id.clone());
        self.items.insert(id, Item { seq, res });
    }

    /// Replaces a resource, keeping its place in the creation order.
    pub(crate) fn replace(&mut self, id: &str, res: Value) {
        let Some(old) = self.items.get(id).map(|i| i.res.clone()) else { return };
        self.unindex(id, &old);
        self.index(id, &res);
        if let Some(item) = self.items.get_mut(id) {
            item.res = res;
        }
    }

    pub(crate) fn remove(&mut self, id: &str) -> Option<Value> {
        let item = self.items.remove(id)?;
        self.order.remove(&item.seq);
        self.unindex(id, &item.res);
        Some(item.res)
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Value> {
        self.items.get(id).map(|i| &i.res)
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut Value> {
        self.items.get_mut(id).map(|i| &mut i.res)
    }

    pub(crate) fn seq_of(&self, id: &str) -> Option<u64> {
        self.items.get(id).map(|i| i.seq)
    }

    /// The stored id equal to `id`, when there is such a resource.
    pub(crate) fn get_key(&self, id: &str) -> Option<&String> {
        self.items.get_key_value(id).map(|(k, _)| k)
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.items.contains_key(id)
    }

    /// The id of the resource holding this lower-cased unique key.
    pub(crate) fn owner_of(&self, lower_key: &str) -> Option<&String> {
        self.unique.get(lower_key)
    }

    pub(crate) fn by_external(&self, external_id: &str) -> &[String] {
        self.external.get(external_id).map(Vec::as_slice).unwrap_or(&[])
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Resources in creation order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Value> + '_ {
        self.order.values().filter_map(|id| self.items.get(id).map(|i| &i.res))
    }

    pub(crate) fn ids(&self) -> Vec<String> {
        self.order.values().cloned().collect()
    }
}

/// Users and groups.
pub(crate) struct Store {
    pub users: Collection,
    pub groups: Collection,
    next_seq: u64,
}

impl Store {
    pub(crate) fn col(&self, kind: Kind) -> &Collection {
        match kind {
            Kind::User => &self.users,
            Kind::Group => &self.groups,
        }
    }
    pub(crate) fn col_mut(&mut self, kind: Kind) -> &mut Collection {
        match kind {
            Kind::User => &mut self.users,
            Kind::Group => &mut self.groups,
        }
    }
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
    /// Whether a user or group has this id (group members may be either).
    pub(crate) fn exists(&self, id: &str) -> bool {
        self.users.contains(id) || self.groups.contains(id)
    }
}

/// One logged request, kept cheaply (raw body bytes).
pub(crate) struct LogEntry {
    seq: u64,
    method: String,
    path: String,
    query: Option<String>,
    body: Bytes,
    status: u16,
    at_ms: u64,
    fault: Option<String>,
}

/// A request the target received, as [`TargetState::requests`] returns it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// HTTP method, upper case (`"POST"`).
    pub method: String,
    /// Path below the SCIM base, as sent (percent-encoded), e.g. `"/Users/abc"`. Requests outside
    /// the base path are logged with their full path.
    pub path: String,
    /// The query string as sent (percent-encoded), without `?`. See [`RecordedRequest::query_param`].
    pub query: Option<String>,
    /// The request body: parsed JSON, or a JSON string holding the text when it is not JSON;
    /// `None` when empty.
    pub body: Option<Value>,
    /// The status the target answered. For `Reset` it is 0 (nothing was answered); for
    /// `LoseResponse` and `Truncate` it is the status of the processing whose response was lost.
    pub status: u16,
    /// Milliseconds from the target's start to the arrival of the request.
    pub at_ms: u64,
    /// The fault applied, in `Debug` form of [`FaultKind`] (`"Reset"`, `"Status(503)"`,
    /// `"TooMany { retry_after_secs: 1 }"`, ...), or `None`.
    pub fault: Option<String>,
}

impl RecordedRequest {
    /// The decoded value of query parameter `name` (case-insensitive), e.g. the `filter`.
    pub fn query_param(&self, name: &str) -> Option<String> {
        crate::scim::json::query_pairs(self.query.as_deref()).into_iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }
}

pub(crate) struct Inner {
    pub started: Instant,
    pub base_url: String,
    pub token: Option<String>,
    pub bulk: bool,
    pub refuse_or: bool,
    pub store: Mutex<Store>,
    log: Mutex<Vec<LogEntry>>,
    seq: AtomicU64,
    has_faults: AtomicBool,
    faults: Mutex<Vec<RuleState>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    pub discovery: crate::scim::Discovery,
}

/// Counts a request as in flight until dropped.
pub(crate) struct InFlight<'a>(&'a Inner);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Inner {
    pub(crate) fn new(base_url: String, token: Option<String>, bulk: bool, refuse_or: bool) -> Inner {
        let discovery = crate::scim::Discovery::new(&base_url, bulk);
        Inner {
            started: Instant::now(),
            base_url,
            token,
            bulk,
            refuse_or,
            store: Mutex::new(Store { users: Collection::new(Kind::User), groups: Collection::new(Kind::Group), next_seq: 0 }),
            log: Mutex::new(Vec::new()),
            seq: AtomicU64::new(0),
            has_faults: AtomicBool::new(false),
            faults: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            discovery,
        }
    }

    pub(crate) fn enter(&self) -> InFlight<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::AcqRel) + 1;
        self.max_in_flight.fetch_max(now, Ordering::AcqRel);
        InFlight(self)
    }

    /// Arrival sequence number and time.
    pub(crate) fn arrive(&self) -> (u64, u64) {
        (self.seq.fetch_add(1, Ordering::Relaxed), self.started.elapsed().as_millis() as u64)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(
        &self,
        seq: u64,
        at_ms: u64,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: Bytes,
        status: u16,
        fault: Option<&FaultKind>,
    ) {
        let entry = LogEntry {
            seq,
            method: method.to_string(),
            path: path.to_string(),
            query: query.map(str::to_string),
            body,
            status,
            at_ms,
            fault: fault.map(|f| format!("{f:?}")),
        };
        self.log.lock().push(entry);
    }

    pub(crate) fn log_len(&self) -> usize {
        self.log.lock().len()
    }

    /// The fault to apply to this request, if any (counts the request for every matching rule).
    pub(crate) fn pick_fault(&self, method: &str, path: &str) -> Option<FaultKind> {
        if !self.has_faults.load(Ordering::Acquire) {
            return None;
        }
        let mut rules = self.faults.lock();
        let mut chosen = None;
        for r in rules.iter_mut() {
            if let Some(kind) = r.count(method, path, chosen.is_none()) {
                chosen = Some(kind);
            }
        }
        chosen
    }
}

/// A handle on a running target's data, request log, fault rules and concurrency counters.
/// Cloning is cheap (an `Arc`); every clone sees the same target.
#[derive(Clone)]
pub struct TargetState {
    pub(crate) inner: Arc<Inner>,
}

impl TargetState {
    /// Replaces the fault rules (and their counters); an empty list turns faults off.
    pub fn set_faults(&self, faults: Vec<FaultRule>) {
        let mut rules = self.inner.faults.lock();
        *rules = faults.into_iter().map(RuleState::new).collect();
        self.inner.has_faults.store(!rules.is_empty(), Ordering::Release);
    }

    /// Every request received so far (SCIM and outside the SCIM base; not the admin endpoints),
    /// in order of arrival. Requests still being processed are not included yet.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        #[allow(clippy::type_complexity)]
        let raw: Vec<(u64, RecordedRequest, Bytes)> = {
            let log = self.inner.log.lock();
            log.iter()
                .map(|e| {
                    let r = RecordedRequest {
                        method: e.method.clone(),
                        path: e.path.clone(),
                        query: e.query.clone(),
                        body: None,
                        status: e.status,
                        at_ms: e.at_ms,
                        fault: e.fault.clone(),
                    };
                    (e.seq, r, e.body.clone())
                })
                .collect()
        };
        let mut entries: Vec<(u64, RecordedRequest)> = raw
            .into_iter()
            .map(|(seq, mut r, body)| {
                r.body = body_value(&body);
                (seq, r)
            })
            .collect();
        entries.sort_by_key(|(seq, _)| *seq);
        entries.into_iter().map(|(_, r)| r).collect()
    }

    /// Forgets the logged requests.
    pub fn clear_requests(&self) {
        self.inner.log.lock().clear();
    }

    /// The users, in creation order, as `GET /Users/{id}` returns them.
    pub fn users(&self) -> Vec<Value> {
        self.inner.store.lock().users.iter().cloned().collect()
    }

    /// The groups, in creation order, as `GET /Groups/{id}` returns them.
    pub fn groups(&self) -> Vec<Value> {
        self.inner.store.lock().groups.iter().cloned().collect()
    }

    /// Seeds a user directly (not logged, no faults): a "foreign" account that already exists in
    /// the target. Keeps `resource["id"]` when it is a string not in use, else assigns one; adds
    /// `schemas` and `meta`. Returns the id.
    ///
    /// # Panics
    /// When `userName` is missing or already taken (case-insensitively).
    pub fn insert_user(&self, resource: Value) -> String {
        self.insert(Kind::User, resource)
    }

    /// Seeds a group directly, like [`TargetState::insert_user`] (`displayName` must be present
    /// and unique). Members are not checked.
    ///
    /// # Panics
    /// When `displayName` is missing or already taken (case-insensitively).
    pub fn insert_group(&self, resource: Value) -> String {
        self.insert(Kind::Group, resource)
    }

    fn insert(&self, kind: Kind, resource: Value) -> String {
        let Value::Object(mut m) = resource else {
            panic!("insert_{}: the resource must be a JSON object", kind.resource_type().to_lowercase())
        };
        crate::scim::json::normalize_map(&mut m);
        crate::scim::json::coerce_map(&mut m);
        let mut store = self.inner.store.lock();
        let wanted = m.remove("id").and_then(|v| v.as_str().map(str::to_string));
        let id = match wanted {
            Some(id) if !id.is_empty() && !store.exists(&id) => id,
            _ => uuid::Uuid::new_v4().to_string(),
        };
        if !crate::scim::json::has_schema(&m, kind.schema()) {
            let schemas = m.entry("schemas").or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(s) = schemas {
                s.insert(0, Value::String(kind.schema().to_string()));
            }
        }
        let now = now_rfc3339();
        m.insert("id".into(), Value::String(id.clone()));
        m.insert(
            "meta".into(),
            serde_json::json!({
                "resourceType": kind.resource_type(),
                "created": now,
                "lastModified": now,
                "location": format!("{}/{}/{}", self.inner.base_url, kind.endpoint(), id),
            }),
        );
        let res = Value::Object(m);
        let col = store.col(kind);
        let key = col
            .unique_key(&res)
            .unwrap_or_else(|| panic!("insert_{}: {} is required", kind.resource_type().to_lowercase(), kind.unique_attr()));
        if col.owner_of(&key).is_some() {
            panic!("insert_{}: {} '{key}' already exists", kind.resource_type().to_lowercase(), kind.unique_attr());
        }
        let seq = store.next_seq();
        store.col_mut(kind).insert(seq, id.clone(), res);
        id
    }

    /// The highest number of requests processed at the same time so far.
    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::Acquire)
    }

    /// Numbers of users, groups and logged requests.
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        let (u, g) = {
            let s = self.inner.store.lock();
            (s.users.len(), s.groups.len())
        };
        (u, g, self.inner.log_len())
    }
}

fn body_value(body: &Bytes) -> Option<Value> {
    if body.is_empty() {
        return None;
    }
    Some(serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned())))
}
