//! JSON helpers: case-insensitive attribute access, canonical attribute names, SCIM constants.

use serde_json::{Map, Value};

pub(crate) const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub(crate) const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub(crate) const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub(crate) const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub(crate) const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub(crate) const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub(crate) const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub(crate) const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
pub(crate) const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Attribute names (and schema URNs) of RFC 7643 in their canonical spelling. Attribute names are
/// case-insensitive in SCIM; the target stores them in this spelling whatever the client sent.
const CANON: &[&str] = &[
    "schemas",
    "id",
    "externalId",
    "meta",
    "userName",
    "name",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "active",
    "password",
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
    "members",
    "formatted",
    "familyName",
    "givenName",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
    "value",
    "display",
    "type",
    "primary",
    "$ref",
    "streetAddress",
    "locality",
    "region",
    "postalCode",
    "country",
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
    "resourceType",
    "created",
    "lastModified",
    "location",
    "version",
    CORE_USER,
    CORE_GROUP,
    ENTERPRISE,
];

/// The canonical spelling of an attribute name or schema URN, or `None` when it is already
/// canonical or unknown.
pub(crate) fn canon(name: &str) -> Option<&'static str> {
    if CANON.contains(&name) {
        return None;
    }
    CANON.iter().copied().find(|c| c.eq_ignore_ascii_case(name))
}

/// The canonical spelling of `name` (itself when unknown).
pub(crate) fn canon_name(name: &str) -> String {
    canon(name).unwrap_or(name).to_string()
}

/// Renames the keys of every object in `v` (recursively) to their canonical spelling.
pub(crate) fn normalize(v: &mut Value) {
    match v {
        Value::Object(m) => normalize_map(m),
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

pub(crate) fn normalize_map(m: &mut Map<String, Value>) {
    let renames: Vec<(String, &'static str)> = m.keys().filter_map(|k| canon(k).map(|c| (k.clone(), c))).collect();
    for (old, new) in renames {
        if let Some(v) = m.remove(&old) {
            m.insert(new.to_string(), v);
        }
    }
    for v in m.values_mut() {
        if matches!(v, Value::Object(_) | Value::Array(_)) {
            normalize(v);
        }
    }
}

/// The value of key `k`, compared case-insensitively.
pub(crate) fn get_ci<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a Value> {
    m.get(k).or_else(|| m.iter().find(|(kk, _)| kk.eq_ignore_ascii_case(k)).map(|(_, v)| v))
}

/// The key of `m` equal to `k` case-insensitively.
pub(crate) fn key_ci(m: &Map<String, Value>, k: &str) -> Option<String> {
    if m.contains_key(k) {
        return Some(k.to_string());
    }
    m.keys().find(|kk| kk.eq_ignore_ascii_case(k)).cloned()
}

/// Removes key `k` (case-insensitively).
pub(crate) fn remove_ci(m: &mut Map<String, Value>, k: &str) -> Option<Value> {
    let key = key_ci(m, k)?;
    m.remove(&key)
}

/// Case-insensitive string equality (Unicode lower case).
pub(crate) fn eq_ci(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

/// Whether the `schemas` array of `m` holds `urn` (case-insensitively).
pub(crate) fn has_schema(m: &Map<String, Value>, urn: &str) -> bool {
    match get_ci(m, "schemas") {
        Some(Value::Array(items)) => items.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn))),
        _ => false,
    }
}

/// `true`/`false` for a boolean or its text form ("True", "false", ...), as Entra sends them.
pub(crate) fn coerce_bool(v: Value) -> Value {
    match v {
        Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
        other => other,
    }
}

/// Applies the value coercions of attribute `attr`: booleans given as text for `active` and
/// `primary`, a bare id for `manager`.
pub(crate) fn coerce(attr: &str, v: Value) -> Value {
    if attr.eq_ignore_ascii_case("active") || attr.eq_ignore_ascii_case("primary") {
        coerce_bool(v)
    } else if attr.eq_ignore_ascii_case("manager") {
        match v {
            Value::String(s) => serde_json::json!({ "value": s }),
            other => other,
        }
    } else {
        coerce_nested(v)
    }
}

/// Coerces `primary` flags given as text inside (arrays of) objects.
fn coerce_nested(mut v: Value) -> Value {
    match &mut v {
        Value::Object(m) => coerce_map(m),
        Value::Array(items) => {
            for it in items {
                if let Value::Object(m) = it {
                    coerce_map(m);
                }
            }
        }
        _ => {}
    }
    v
}

/// Coerces the known attributes of an object (`active`, `primary`, `manager`), one level deep.
pub(crate) fn coerce_map(m: &mut Map<String, Value>) {
    for (k, val) in m.iter_mut() {
        if k == "active" || k == "primary" || k == "manager" {
            let taken = std::mem::take(val);
            *val = coerce(k, taken);
        } else if matches!(val, Value::Array(_)) {
            let taken = std::mem::take(val);
            *val = coerce_nested(taken);
        } else if k.starts_with("urn:") {
            if let Value::Object(inner) = val {
                coerce_map(inner);
            }
        }
    }
}

/// Lower-case form used by the uniqueness index.
pub(crate) fn lower(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

/// RFC 3339 UTC timestamp with milliseconds.
pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Decodes a percent-encoded query component (`+` is a space).
pub(crate) fn percent_decode(s: &str) -> String {
    fn hex(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (b.get(i + 1).and_then(|c| hex(*c)), b.get(i + 2).and_then(|c| hex(*c))) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The name/value pairs of a query string, decoded.
pub(crate) fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = q else { return Vec::new() };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}
