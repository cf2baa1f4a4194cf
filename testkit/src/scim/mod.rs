//! The SCIM 2.0 protocol (RFC 7644) over the in-memory store: routing, resources, discovery, bulk.

pub(crate) mod filter;
pub(crate) mod json;
pub(crate) mod patch;

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::state::{Collection, Inner, Kind, Store};
use filter::{parse_attr_path, parse_filter, AttrPath, Filter};
use json::{
    get_ci, has_schema, key_ci, lower, normalize_map, now_rfc3339, query_pairs, remove_ci, BULK_REQUEST, BULK_RESPONSE, ENTERPRISE, ERROR,
    LIST, SEARCH_REQUEST,
};

/// Largest page a list answers (`filter.maxResults`).
pub(crate) const MAX_RESULTS: usize = 200;
/// `bulk.maxOperations`.
pub(crate) const MAX_OPERATIONS: usize = 1000;
/// `bulk.maxPayloadSize`.
pub(crate) const MAX_PAYLOAD: usize = 1_048_576;

/// An answer before it becomes an HTTP response.
pub(crate) struct Reply {
    pub status: u16,
    pub body: Option<Bytes>,
    pub location: Option<String>,
    pub retry_after: Option<u64>,
    pub www_authenticate: bool,
    pub content_type: &'static str,
}

impl Reply {
    pub(crate) fn bytes(status: u16, body: Vec<u8>) -> Reply {
        Reply {
            status,
            body: Some(Bytes::from(body)),
            location: None,
            retry_after: None,
            www_authenticate: false,
            content_type: "application/scim+json",
        }
    }

    pub(crate) fn json(status: u16, v: &Value) -> Reply {
        Reply::bytes(status, serde_json::to_vec(v).unwrap_or_default())
    }

    pub(crate) fn empty(status: u16) -> Reply {
        Reply { body: None, ..Reply::bytes(status, Vec::new()) }
    }

    /// A SCIM error (RFC 7644 §3.12).
    pub(crate) fn error(status: u16, scim_type: Option<&str>, detail: impl Into<String>) -> Reply {
        let mut e = json!({"schemas": [ERROR], "status": status.to_string(), "detail": detail.into()});
        if let Some(t) = scim_type {
            e["scimType"] = Value::String(t.to_string());
        }
        Reply::json(status, &e)
    }

    fn with_location(mut self, location: String) -> Reply {
        self.location = Some(location);
        self
    }

    fn is_error(&self) -> bool {
        self.status >= 400
    }
}

fn invalid_syntax(detail: impl Into<String>) -> Reply {
    Reply::error(400, Some("invalidSyntax"), detail)
}

fn invalid_value(detail: impl Into<String>) -> Reply {
    Reply::error(400, Some("invalidValue"), detail)
}

fn not_found(kind: Kind, id: &str) -> Reply {
    Reply::error(404, None, format!("{} {id} not found", kind.resource_type()))
}

fn uniqueness(kind: Kind, value: &str) -> Reply {
    Reply::error(409, Some("uniqueness"), format!("{} '{value}' is already in use", kind.unique_attr()))
}

fn method_not_allowed(method: &str, path: &str) -> Reply {
    Reply::error(405, None, format!("{method} is not supported on {path}"))
}

/// The discovery documents, serialized once.
pub(crate) struct Discovery {
    spc: Bytes,
    resource_types: Vec<Value>,
    schemas: Vec<Value>,
}

impl Discovery {
    pub(crate) fn new(base: &str, bulk: bool) -> Discovery {
        let spc = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": "https://www.rfc-editor.org/rfc/rfc7644",
            "patch": {"supported": true},
            "bulk": {"supported": bulk, "maxOperations": MAX_OPERATIONS, "maxPayloadSize": MAX_PAYLOAD},
            "filter": {"supported": true, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": false},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication with a bearer token (RFC 6750)",
                "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                "primary": true
            }],
            "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")}
        });
        let rt = |name: &str, endpoint: &str, schema: &str, ext: bool| {
            let mut v = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "id": name, "name": name, "endpoint": format!("/{endpoint}"),
                "description": name, "schema": schema,
                "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{name}")}
            });
            if ext {
                v["schemaExtensions"] = json!([{"schema": ENTERPRISE, "required": false}]);
            }
            v
        };
        let attr = |name: &str, ty: &str, multi: bool, required: bool, uniq: &str| {
            json!({"name": name, "type": ty, "multiValued": multi, "required": required,
                "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": uniq})
        };
        let schema = |id: &str, name: &str, attrs: Vec<Value>| {
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"], "id": id, "name": name,
                "description": name, "attributes": attrs,
                "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")}})
        };
        let user_attrs = vec![
            attr("userName", "string", false, true, "server"),
            attr("name", "complex", false, false, "none"),
            attr("displayName", "string", false, false, "none"),
            attr("nickName", "string", false, false, "none"),
            attr("title", "string", false, false, "none"),
            attr("userType", "string", false, false, "none"),
            attr("preferredLanguage", "string", false, false, "none"),
            attr("locale", "string", false, false, "none"),
            attr("timezone", "string", false, false, "none"),
            attr("active", "boolean", false, false, "none"),
            attr("emails", "complex", true, false, "none"),
            attr("phoneNumbers", "complex", true, false, "none"),
            attr("addresses", "complex", true, false, "none"),
            attr("roles", "complex", true, false, "none"),
        ];
        let group_attrs = vec![attr("displayName", "string", false, true, "server"), attr("members", "complex", true, false, "none")];
        let ent_attrs = vec![
            attr("employeeNumber", "string", false, false, "none"),
            attr("costCenter", "string", false, false, "none"),
            attr("organization", "string", false, false, "none"),
            attr("division", "string", false, false, "none"),
            attr("department", "string", false, false, "none"),
            attr("manager", "complex", false, false, "none"),
        ];
        Discovery {
            spc: Bytes::from(serde_json::to_vec(&spc).unwrap_or_default()),
            resource_types: vec![rt("User", "Users", json::CORE_USER, true), rt("Group", "Groups", json::CORE_GROUP, false)],
            schemas: vec![
                schema(json::CORE_USER, "User", user_attrs),
                schema(json::CORE_GROUP, "Group", group_attrs),
                schema(ENTERPRISE, "EnterpriseUser", ent_attrs),
            ],
        }
    }
}

fn list_of(items: &[Value]) -> Reply {
    Reply::json(
        200,
        &json!({"schemas": [LIST], "totalResults": items.len(), "startIndex": 1,
            "itemsPerPage": items.len(), "Resources": items}),
    )
}

fn find_by_id(items: &[Value], id: &str) -> Reply {
    match items.iter().find(|v| v["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id))) {
        Some(v) => Reply::json(200, v),
        None => Reply::error(404, None, format!("{id} not found")),
    }
}

/// Routes one request below the SCIM base. `path` is e.g. `/Users/abc`; `method` upper case.
/// A request's body: the bytes of an HTTP request, or a bulk operation's `data`, already parsed.
pub(crate) enum Input<'a> {
    /// Raw bytes, parsed when the route needs a body.
    Raw(&'a [u8]),
    /// A bulk operation's `data` (absent when the operation has none).
    Parsed(Option<Value>),
}

impl Input<'_> {
    fn value(self) -> Result<Value, Reply> {
        match self {
            Input::Raw(b) => parse_body(b),
            Input::Parsed(Some(v)) => Ok(v),
            Input::Parsed(None) => Err(invalid_syntax("the request needs a JSON body")),
        }
    }
}

/// Routes a request. `in_bulk`: an operation of a `/Bulk` request, whose successful answers carry
/// no resource body (the BulkResponse holds only status and location), so none is encoded.
pub(crate) fn dispatch(inner: &Inner, method: &str, path: &str, query: Option<&str>, body: Input<'_>, in_bulk: bool) -> Reply {
    let trimmed = path.trim_matches('/');
    let segs: Vec<&str> = if trimmed.is_empty() { Vec::new() } else { trimmed.split('/').collect() };
    let kind_of = |s: &str| match s {
        "Users" => Some(Kind::User),
        "Groups" => Some(Kind::Group),
        _ => None,
    };
    match segs.as_slice() {
        ["ServiceProviderConfig"] if method == "GET" => Reply { body: Some(inner.discovery.spc.clone()), ..Reply::empty(200) },
        ["ResourceTypes"] if method == "GET" => list_of(&inner.discovery.resource_types),
        ["ResourceTypes", id] if method == "GET" => find_by_id(&inner.discovery.resource_types, id),
        ["Schemas"] if method == "GET" => list_of(&inner.discovery.schemas),
        ["Schemas", id] if method == "GET" => find_by_id(&inner.discovery.schemas, id),
        ["ServiceProviderConfig"] | ["ResourceTypes", ..] | ["Schemas", ..] => method_not_allowed(method, path),
        [col] if kind_of(col).is_some() => {
            let kind = kind_of(col).unwrap_or(Kind::User);
            match method {
                "GET" => list(inner, kind, &query_pairs(query)),
                "POST" => match body.value() {
                    Ok(v) => create(inner, kind, v, in_bulk),
                    Err(r) => r,
                },
                _ => method_not_allowed(method, path),
            }
        }
        [col, ".search"] if kind_of(col).is_some() && method == "POST" => {
            let kind = kind_of(col).unwrap_or(Kind::User);
            match body.value() {
                Ok(v) => search(inner, kind, &v),
                Err(r) => r,
            }
        }
        [col, id] if kind_of(col).is_some() => {
            let kind = kind_of(col).unwrap_or(Kind::User);
            match method {
                "GET" => get(inner, kind, id, &query_pairs(query)),
                "PUT" => match body.value() {
                    Ok(v) => put(inner, kind, id, v, in_bulk),
                    Err(r) => r,
                },
                "PATCH" => match body.value() {
                    Ok(v) => patch(inner, kind, id, &v, in_bulk),
                    Err(r) => r,
                },
                "DELETE" => delete(inner, kind, id),
                _ => method_not_allowed(method, path),
            }
        }
        ["Bulk"] if in_bulk => invalid_value("a bulk operation cannot target /Bulk"),
        ["Bulk"] if !inner.bulk => Reply::error(501, None, "bulk operations are not supported"),
        ["Bulk"] if method == "POST" => match body {
            Input::Raw(b) => bulk(inner, b),
            Input::Parsed(_) => invalid_value("a bulk operation cannot target /Bulk"),
        },
        ["Bulk"] => method_not_allowed(method, path),
        _ => Reply::error(404, None, format!("no endpoint {path}")),
    }
}

fn parse_body(body: &[u8]) -> Result<Value, Reply> {
    if body.is_empty() {
        return Err(invalid_syntax("the request needs a JSON body"));
    }
    serde_json::from_slice(body).map_err(|e| invalid_syntax(format!("invalid JSON: {e}")))
}

fn location(inner: &Inner, kind: Kind, id: &str) -> String {
    format!("{}/{}/{}", inner.base_url, kind.endpoint(), id)
}

/// Checks and cleans a resource body for POST and PUT; returns it with the lower-cased unique key.
fn prepare(kind: Kind, v: Value) -> Result<(Map<String, Value>, String), Reply> {
    let Value::Object(mut m) = v else {
        return Err(invalid_syntax("the body must be a JSON object"));
    };
    normalize_map(&mut m);
    json::coerce_map(&mut m);
    if !has_schema(&m, kind.schema()) {
        return Err(invalid_syntax(format!("the schemas of a {} must hold {}", kind.resource_type(), kind.schema())));
    }
    m.remove("id");
    m.remove("meta");
    m.remove("password");
    let key = match m.get(kind.unique_attr()) {
        Some(Value::String(s)) if !s.trim().is_empty() => lower(s),
        _ => return Err(invalid_value(format!("{} is required and must be a non-empty string", kind.unique_attr()))),
    };
    if kind == Kind::Group {
        if let Some(members) = m.get("members") {
            let ok = match members {
                Value::Array(items) => items.iter().all(|i| i.get("value").is_some_and(Value::is_string)),
                Value::Null => true,
                _ => false,
            };
            if !ok {
                return Err(invalid_value("members must be an array of objects with a string 'value'"));
            }
        }
    }
    Ok((m, key))
}

/// Member ids of a group resource.
fn member_ids(res: &Map<String, Value>) -> Vec<&str> {
    match get_ci(res, "members") {
        Some(Value::Array(items)) => {
            items.iter().filter_map(|i| i.as_object().and_then(|o| get_ci(o, "value")).and_then(Value::as_str)).collect()
        }
        _ => Vec::new(),
    }
}

/// Refuses members that are neither a user nor a group (ignoring those in `known`).
fn check_members(store: &Store, res: &Map<String, Value>, known: &[&str]) -> Result<(), Reply> {
    for id in member_ids(res) {
        if !known.contains(&id) && !store.exists(id) {
            return Err(invalid_value(format!("member '{id}' is not a user or a group of this service")));
        }
    }
    Ok(())
}

fn create(inner: &Inner, kind: Kind, v: Value, in_bulk: bool) -> Reply {
    let (mut m, key) = match prepare(kind, v) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let id = uuid::Uuid::new_v4().to_string();
    let now = now_rfc3339();
    let loc = location(inner, kind, &id);
    m.insert("id".into(), Value::String(id.clone()));
    m.insert("meta".into(), json!({"resourceType": kind.resource_type(), "created": now, "lastModified": now, "location": loc}));
    let res = Value::Object(m);
    let body = if in_bulk { None } else { Some(serde_json::to_vec(&res).unwrap_or_default()) };
    {
        let mut store = inner.store.lock();
        if store.col(kind).owner_of(&key).is_some() {
            let shown = res[kind.unique_attr()].as_str().unwrap_or_default().to_string();
            return uniqueness(kind, &shown);
        }
        if let Some(m) = res.as_object() {
            if let Err(r) = check_members(&store, m, &[]) {
                return r;
            }
        }
        let seq = store.next_seq();
        store.col_mut(kind).insert(seq, id, res);
    }
    match body {
        Some(b) => Reply::bytes(201, b),
        None => Reply::empty(201),
    }
    .with_location(loc)
}

struct ListParams {
    filter: Option<Filter>,
    start: usize,
    count: usize,
    attributes: Option<Vec<AttrPath>>,
    excluded: Option<Vec<AttrPath>>,
}

fn attr_list(s: &str) -> Vec<AttrPath> {
    s.split(',').filter(|a| !a.trim().is_empty()).filter_map(parse_attr_path).collect()
}

fn list_params(params: &[(String, String)]) -> Result<ListParams, Reply> {
    let get = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let filter = match get("filter") {
        Some(f) if !f.trim().is_empty() => Some(parse_filter(f).map_err(|e| Reply::error(400, Some("invalidFilter"), e))?),
        _ => None,
    };
    let int = |name: &str| -> Result<Option<i64>, Reply> {
        match get(name) {
            None | Some("") => Ok(None),
            Some(s) => s.trim().parse::<i64>().map(Some).map_err(|_| invalid_value(format!("{name} must be an integer"))),
        }
    };
    let start = int("startIndex")?.unwrap_or(1).max(1) as usize;
    let count = int("count")?.unwrap_or(MAX_RESULTS as i64).clamp(0, MAX_RESULTS as i64) as usize;
    Ok(ListParams {
        filter,
        start,
        count,
        attributes: get("attributes").map(attr_list).filter(|a| !a.is_empty()),
        excluded: get("excludedAttributes").map(attr_list).filter(|a| !a.is_empty()),
    })
}

/// Resources matching the filter, in creation order.
fn matching<'a>(col: &'a Collection, f: &Filter) -> Vec<&'a Value> {
    // Use an index when every `or` term has a comparison that allows it.
    let mut ids: Vec<&String> = Vec::new();
    for term in &f.terms {
        let Some(found) = term.iter().find_map(|c| indexed(col, c)) else {
            return col.iter().filter(|v| v.as_object().is_some_and(|m| f.matches(m))).collect();
        };
        ids.extend(found);
    }
    ids.sort();
    ids.dedup();
    let mut found: Vec<(u64, &Value)> = ids
        .into_iter()
        .filter_map(|id| Some((col.seq_of(id)?, col.get(id)?)))
        .filter(|(_, v)| v.as_object().is_some_and(|m| f.matches(m)))
        .collect();
    found.sort_by_key(|(s, _)| *s);
    found.into_iter().map(|(_, v)| v).collect()
}

/// The ids a comparison can match, from an index (`None`: no index serves it).
fn indexed<'a>(col: &'a Collection, c: &filter::Cond) -> Option<Vec<&'a String>> {
    if c.path.urn.is_some() || c.path.sub.is_some() {
        return None;
    }
    let Value::String(s) = &c.value else { return None };
    if c.path.attr.eq_ignore_ascii_case(col.kind.unique_attr()) {
        Some(col.owner_of(&lower(s)).into_iter().collect())
    } else if c.path.attr == "id" {
        Some(col.get_key(s).into_iter().collect())
    } else if c.path.attr == "externalId" {
        Some(col.by_external(s).iter().collect())
    } else {
        None
    }
}

/// Applies `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5).
fn project<'a>(res: &'a Value, attributes: Option<&[AttrPath]>, excluded: Option<&[AttrPath]>) -> Cow<'a, Value> {
    let Some(m) = res.as_object() else { return Cow::Borrowed(res) };
    if let Some(attrs) = attributes {
        let mut out = Map::new();
        for k in ["schemas", "id"] {
            if let Some(v) = m.get(k) {
                out.insert(k.to_string(), v.clone());
            }
        }
        for p in attrs {
            let (src, dst): (&Map<String, Value>, &mut Map<String, Value>) = match &p.urn {
                None => (m, &mut out),
                Some(u) => {
                    let Some(Value::Object(src)) = get_ci(m, u) else { continue };
                    let key = key_ci(m, u).unwrap_or_else(|| u.clone());
                    let dst = out.entry(key).or_insert_with(|| Value::Object(Map::new()));
                    let Value::Object(dst) = dst else { continue };
                    if p.attr.is_empty() {
                        *dst = src.clone();
                        continue;
                    }
                    (src, dst)
                }
            };
            let Some(key) = key_ci(src, &p.attr) else { continue };
            let v = &src[&key];
            match (&p.sub, v) {
                (None, v) => {
                    dst.insert(key, v.clone());
                }
                (Some(sub), Value::Object(o)) => {
                    if let Some(sk) = key_ci(o, sub) {
                        let e = dst.entry(key).or_insert_with(|| Value::Object(Map::new()));
                        if let Value::Object(e) = e {
                            e.insert(sk.clone(), o[&sk].clone());
                        }
                    }
                }
                (Some(sub), Value::Array(items)) => {
                    let picked: Vec<Value> = items
                        .iter()
                        .map(|i| match i.as_object().and_then(|o| key_ci(o, sub).map(|k| (k, o))) {
                            Some((k, o)) => json!({ k.clone(): o[&k].clone() }),
                            None => json!({}),
                        })
                        .collect();
                    match dst.get_mut(&key) {
                        Some(Value::Array(prev)) if prev.len() == picked.len() => {
                            for (p, n) in prev.iter_mut().zip(picked) {
                                if let (Value::Object(p), Value::Object(n)) = (p, n) {
                                    p.extend(n);
                                }
                            }
                        }
                        _ => {
                            dst.insert(key, Value::Array(picked));
                        }
                    }
                }
                _ => {}
            }
        }
        return Cow::Owned(Value::Object(out));
    }
    if let Some(excl) = excluded {
        let mut out = m.clone();
        for p in excl {
            if p.urn.is_none() && (p.attr == "id" || p.attr == "schemas") {
                continue;
            }
            let container = match &p.urn {
                None => Some(&mut out),
                Some(u) => {
                    if p.attr.is_empty() {
                        remove_ci(&mut out, u);
                        continue;
                    }
                    key_ci(&out, u).and_then(|k| out.get_mut(&k)).and_then(Value::as_object_mut)
                }
            };
            let Some(c) = container else { continue };
            match &p.sub {
                None => {
                    remove_ci(c, &p.attr);
                }
                Some(sub) => match key_ci(c, &p.attr).and_then(|k| c.get_mut(&k)) {
                    Some(Value::Object(o)) => {
                        remove_ci(o, sub);
                    }
                    Some(Value::Array(items)) => {
                        for i in items.iter_mut().filter_map(Value::as_object_mut) {
                            remove_ci(i, sub);
                        }
                    }
                    _ => {}
                },
            }
        }
        return Cow::Owned(Value::Object(out));
    }
    Cow::Borrowed(res)
}

fn list_response<'a>(total: usize, start: usize, page: impl Iterator<Item = &'a Value>, p: &ListParams) -> Reply {
    let mut out = Vec::with_capacity(512);
    let mut n = 0usize;
    let mut items = Vec::with_capacity(256);
    for r in page {
        if n > 0 {
            items.push(b',');
        }
        let shown = project(r, p.attributes.as_deref(), p.excluded.as_deref());
        let _ = serde_json::to_writer(&mut items, shown.as_ref());
        n += 1;
    }
    let _ = write!(out, r#"{{"schemas":["{LIST}"],"totalResults":{total},"startIndex":{start},"itemsPerPage":{n},"Resources":["#);
    out.extend_from_slice(&items);
    out.extend_from_slice(b"]}");
    Reply::bytes(200, out)
}

fn run_list(inner: &Inner, kind: Kind, p: &ListParams) -> Reply {
    let store = inner.store.lock();
    let col = store.col(kind);
    match &p.filter {
        None => list_response(col.len(), p.start, col.iter().skip(p.start - 1).take(p.count), p),
        Some(f) => {
            let found = matching(col, f);
            list_response(found.len(), p.start, found.into_iter().skip(p.start - 1).take(p.count), p)
        }
    }
}

fn list(inner: &Inner, kind: Kind, params: &[(String, String)]) -> Reply {
    match list_params(params) {
        Ok(p) if inner.refuse_or && p.filter.as_ref().is_some_and(|f| f.terms.len() > 1) => {
            Reply::error(400, Some("invalidFilter"), "logical operator 'or' is not supported (only and)")
        }
        Ok(p) => run_list(inner, kind, &p),
        Err(r) => r,
    }
}

/// `POST /Users/.search` (RFC 7644 §3.4.3).
fn search(inner: &Inner, kind: Kind, body: &Value) -> Reply {
    let Some(b) = body.as_object() else { return invalid_syntax("the body must be a SearchRequest") };
    if !has_schema(b, SEARCH_REQUEST) {
        return invalid_syntax(format!("the schemas of a search must hold {SEARCH_REQUEST}"));
    }
    let mut params = Vec::new();
    for name in ["filter", "startIndex", "count", "attributes", "excludedAttributes"] {
        match get_ci(b, name) {
            Some(Value::String(s)) => params.push((name.to_string(), s.clone())),
            Some(Value::Number(n)) => params.push((name.to_string(), n.to_string())),
            Some(Value::Array(a)) => params.push((name.to_string(), a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","))),
            _ => {}
        }
    }
    list(inner, kind, &params)
}

fn get(inner: &Inner, kind: Kind, id: &str, params: &[(String, String)]) -> Reply {
    let get = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let attributes = get("attributes").map(attr_list).filter(|a| !a.is_empty());
    let excluded = get("excludedAttributes").map(attr_list).filter(|a| !a.is_empty());
    let store = inner.store.lock();
    match store.col(kind).get(id) {
        Some(r) => Reply::json(200, project(r, attributes.as_deref(), excluded.as_deref()).as_ref()),
        None => not_found(kind, id),
    }
}

/// Stores `new` as resource `id` after the uniqueness and member checks (PUT and PATCH).
/// Stores `new` as resource `id` after the uniqueness and member checks.
fn commit(store: &mut Store, kind: Kind, id: &str, new: Map<String, Value>, old_members: &[&str]) -> Result<(), Reply> {
    let key = match new.get(kind.unique_attr()).or_else(|| get_ci(&new, kind.unique_attr())) {
        Some(Value::String(s)) if !s.trim().is_empty() => lower(s),
        _ => return Err(invalid_value(format!("{} is required and must be a non-empty string", kind.unique_attr()))),
    };
    if let Some(owner) = store.col(kind).owner_of(&key) {
        if owner != id {
            let shown = get_ci(&new, kind.unique_attr()).and_then(Value::as_str).unwrap_or_default();
            return Err(uniqueness(kind, shown));
        }
    }
    check_members(store, &new, old_members)?;
    store.col_mut(kind).replace(id, Value::Object(new));
    Ok(())
}

/// The answer to a successful PUT or PATCH that returns the resource (none in a bulk operation).
fn stored(inner: &Inner, store: &Store, kind: Kind, id: &str, in_bulk: bool) -> Reply {
    let reply = match store.col(kind).get(id) {
        Some(v) if !in_bulk => Reply::json(200, v),
        _ => Reply::empty(200),
    };
    reply.with_location(location(inner, kind, id))
}

fn put(inner: &Inner, kind: Kind, id: &str, v: Value, in_bulk: bool) -> Reply {
    let (mut m, _) = match prepare(kind, v) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut store = inner.store.lock();
    let Some(old) = store.col(kind).get(id) else { return not_found(kind, id) };
    let mut meta = old.get("meta").cloned().unwrap_or_else(|| json!({}));
    meta["lastModified"] = Value::String(now_rfc3339());
    let old_obj = old.as_object().cloned().unwrap_or_default();
    let known = member_ids(&old_obj);
    m.insert("id".into(), Value::String(id.to_string()));
    m.insert("meta".into(), meta);
    match commit(&mut store, kind, id, m, &known) {
        Ok(()) => stored(inner, &store, kind, id, in_bulk),
        Err(r) => r,
    }
}

fn patch(inner: &Inner, kind: Kind, id: &str, body: &Value, in_bulk: bool) -> Reply {
    let mut store = inner.store.lock();
    let Some(old) = store.col(kind).get(id) else { return not_found(kind, id) };
    let Some(old_obj) = old.as_object() else { return not_found(kind, id) };
    let mut new = old_obj.clone();
    if let Err(r) = patch::apply_patch(&mut new, body) {
        return r;
    }
    if let Some(Value::Object(meta)) = new.get_mut("meta") {
        meta.insert("lastModified".into(), Value::String(now_rfc3339()));
    }
    let known: Vec<String> = member_ids(old_obj).into_iter().map(str::to_string).collect();
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    match commit(&mut store, kind, id, new, &known) {
        Ok(()) => match kind {
            Kind::User => stored(inner, &store, kind, id, in_bulk),
            Kind::Group => Reply::empty(204),
        },
        Err(r) => r,
    }
}

fn delete(inner: &Inner, kind: Kind, id: &str) -> Reply {
    let mut store = inner.store.lock();
    if store.col_mut(kind).remove(id).is_none() {
        return not_found(kind, id);
    }
    // Drop the memberships of the deleted resource.
    let groups = store.groups.ids();
    for gid in groups {
        let Some(Value::Object(g)) = store.groups.get_mut(&gid) else { continue };
        if let Some(Value::Array(members)) = g.get_mut("members") {
            let before = members.len();
            members.retain(|m| m.get("value").and_then(Value::as_str) != Some(id));
            if members.len() != before && members.is_empty() {
                g.remove("members");
            }
        }
    }
    Reply::empty(204)
}

/// Replaces every string `bulkId:X` (and the `bulkId:X` segment of paths) by the id created for X.
fn resolve_bulk_ids(v: &mut Value, ids: &HashMap<String, String>) -> Result<(), String> {
    match v {
        Value::String(s) => {
            if let Some(r) = s.strip_prefix("bulkId:") {
                match ids.get(r) {
                    Some(id) => *s = id.clone(),
                    None => return Err(r.to_string()),
                }
            }
        }
        Value::Array(items) => {
            for i in items {
                resolve_bulk_ids(i, ids)?;
            }
        }
        Value::Object(m) => {
            for i in m.values_mut() {
                resolve_bulk_ids(i, ids)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `POST /Bulk` (RFC 7644 §3.7).
fn bulk(inner: &Inner, body: &[u8]) -> Reply {
    if body.len() > MAX_PAYLOAD {
        return Reply::error(413, Some("tooLarge"), format!("the bulk request is larger than maxPayloadSize {MAX_PAYLOAD}"));
    }
    let mut v = match parse_body(body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(b) = v.as_object_mut() else { return invalid_syntax("the body must be a BulkRequest") };
    if !has_schema(b, BULK_REQUEST) {
        return invalid_syntax(format!("the schemas of a bulk request must hold {BULK_REQUEST}"));
    }
    // The operations are taken out of the request, so that each one's `data` moves into its dispatch.
    let Some(Value::Array(ops)) = remove_ci(b, "Operations") else {
        return invalid_syntax("a bulk request needs an Operations array");
    };
    if ops.len() > MAX_OPERATIONS {
        return Reply::error(413, Some("tooLarge"), format!("the bulk request has more than maxOperations {MAX_OPERATIONS} operations"));
    }
    let fail_on_errors = get_ci(b, "failOnErrors").and_then(Value::as_u64).filter(|n| *n > 0);
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut results = Vec::with_capacity(ops.len());
    let mut errors = 0u64;
    for mut op in ops {
        if fail_on_errors.is_some_and(|n| errors >= n) {
            break;
        }
        let data = op.as_object_mut().and_then(|o| remove_ci(o, "data"));
        let o = op.as_object();
        let field = |name: &str| o.and_then(|o| get_ci(o, name));
        let method = field("method").and_then(Value::as_str).unwrap_or_default().to_ascii_uppercase();
        let bulk_id = field("bulkId").and_then(Value::as_str).map(str::to_string);
        let path = field("path").and_then(Value::as_str).unwrap_or_default().to_string();
        let reply = (|| {
            if !["POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                return invalid_syntax(format!("invalid bulk method '{method}'"));
            }
            if method == "POST" && bulk_id.is_none() {
                return invalid_syntax("a bulk POST needs a bulkId");
            }
            if path.is_empty() {
                return invalid_syntax("a bulk operation needs a path");
            }
            let mut segs: Vec<String> = path.split('/').map(str::to_string).collect();
            for s in segs.iter_mut() {
                if let Some(r) = s.strip_prefix("bulkId:") {
                    match ids.get(r) {
                        Some(id) => *s = id.clone(),
                        None => return Reply::error(409, Some("invalidValue"), format!("bulkId '{r}' is not resolved")),
                    }
                }
            }
            let path = segs.join("/");
            // Fault rules apply to each operation too (a `Status` fault answers just that operation).
            if let Some(crate::fault::FaultKind::Status(s)) = inner.pick_fault(&method, &path) {
                return Reply::error(s, None, format!("injected fault: status {s}"));
            }
            let mut data = data;
            if let Some(d) = data.as_mut() {
                if let Err(r) = resolve_bulk_ids(d, &ids) {
                    return Reply::error(409, Some("invalidValue"), format!("bulkId '{r}' is not resolved"));
                }
            }
            dispatch(inner, &method, &path, None, Input::Parsed(data), true)
        })();
        if reply.is_error() {
            errors += 1;
        }
        let mut r = json!({"method": method, "status": reply.status.to_string()});
        if let Some(b) = &bulk_id {
            r["bulkId"] = Value::String(b.clone());
        }
        let loc = reply.location.clone().or_else(|| (method != "POST" && !reply.is_error()).then(|| format!("{}{}", inner.base_url, path)));
        if let Some(l) = &loc {
            r["location"] = Value::String(l.clone());
            if method == "POST" && !reply.is_error() {
                if let (Some(b), Some(id)) = (&bulk_id, l.rsplit('/').next()) {
                    ids.insert(b.clone(), id.to_string());
                }
            }
        }
        if reply.is_error() {
            if let Some(body) = &reply.body {
                r["response"] = serde_json::from_slice(body).unwrap_or(Value::Null);
            }
        }
        results.push(r);
    }
    Reply::json(200, &json!({"schemas": [BULK_RESPONSE], "Operations": results}))
}
