//! Reading SCIM JSON: list responses, ids, the ServiceProviderConfig, attribute values by path, and the
//! matching filter.

use super::patch::filter_literal;
use crate::connector::Capabilities;
use serde_json::{Map, Value as J};

/// The schema URN of a list response.
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// A list response: its resources and `totalResults`.
#[derive(Clone, Debug, PartialEq)]
pub struct ListPage {
    /// `Resources` (empty when absent).
    pub resources: Vec<J>,
    /// `totalResults`, when sent.
    pub total: Option<u64>,
}

fn get_ci<'a>(o: &'a Map<String, J>, key: &str) -> Option<&'a J> {
    o.get(key).or_else(|| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

fn as_u64(v: &J) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Reads a ListResponse: a JSON object with the ListResponse schema, `totalResults` or `Resources`.
/// `None` when the JSON is not one.
pub fn list_page(j: &J) -> Option<ListPage> {
    let o = j.as_object()?;
    let schema = get_ci(o, "schemas").and_then(J::as_array).is_some_and(|s| s.iter().any(|v| v.as_str() == Some(LIST_SCHEMA)));
    let total = get_ci(o, "totalResults").and_then(as_u64);
    let resources = match get_ci(o, "Resources") {
        Some(J::Array(a)) => Some(a.clone()),
        Some(J::Null) | None => None,
        Some(_) => return None,
    };
    if !schema && total.is_none() && resources.is_none() {
        return None;
    }
    Some(ListPage { resources: resources.unwrap_or_default(), total })
}

/// The resource's `id` (a number is accepted and turned into text).
pub fn resource_id(j: &J) -> Option<String> {
    match j.get("id")? {
        J::String(s) if !s.is_empty() => Some(s.clone()),
        J::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn flag(v: Option<&J>) -> bool {
    match v {
        Some(J::Bool(b)) => *b,
        Some(J::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// What a ServiceProviderConfig says (booleans and numbers are also accepted as strings).
pub fn capabilities(spc: &J) -> Capabilities {
    let section = |name: &str| spc.as_object().and_then(|o| get_ci(o, name)).and_then(J::as_object);
    let supported = |name: &str| flag(section(name).and_then(|s| get_ci(s, "supported")));
    let num = |name: &str, field: &str| section(name).and_then(|s| get_ci(s, field)).and_then(as_u64);
    Capabilities {
        patch: supported("patch"),
        filter: supported("filter"),
        filter_max_results: num("filter", "maxResults").map(|n| n.min(u64::from(u32::MAX)) as u32),
        bulk: supported("bulk"),
        bulk_max_operations: num("bulk", "maxOperations").map(|n| n.min(u64::from(u32::MAX)) as u32),
        bulk_max_payload_size: num("bulk", "maxPayloadSize"),
        etag: supported("etag"),
    }
}

/// Whether JSON looks like a ServiceProviderConfig.
pub fn is_service_provider_config(j: &J) -> bool {
    let Some(o) = j.as_object() else { return false };
    let schema = get_ci(o, "schemas")
        .and_then(J::as_array)
        .is_some_and(|s| s.iter().any(|v| v.as_str().is_some_and(|s| s.ends_with(":ServiceProviderConfig"))));
    schema || ["patch", "filter", "bulk", "authenticationSchemes"].iter().any(|k| get_ci(o, k).is_some())
}

/// Splits `emails[type eq "work"].value` into (`emails`, `type eq "work"`, `Some("value")`).
fn value_path(path: &str) -> Option<(&str, &str, Option<&str>)> {
    let open = path.find('[')?;
    let close = path.rfind(']')?;
    if close < open {
        return None;
    }
    let sub = path[close + 1..].strip_prefix('.').filter(|s| !s.is_empty());
    Some((&path[..open], &path[open + 1..close], sub))
}

/// The SCIM filter that matches `attribute` equal to `value`: `userName eq "x"`, and for a value path
/// `emails[type eq "work"].value` the valid form `emails[type eq "work" and value eq "x"]`.
pub fn match_filter(attribute: &str, value: &str) -> String {
    let lit = filter_literal(value);
    match value_path(attribute) {
        Some((attr, filter, sub)) => format!("{attr}[{filter} and {} eq {lit}]", sub.unwrap_or("value")),
        None => format!("{attribute} eq {lit}"),
    }
}

/// Splits an attribute path into the extension object (for `urn:…:User:employeeNumber`) and the rest.
fn split_urn(path: &str) -> (Option<&str>, &str) {
    if !path.starts_with("urn:") {
        return (None, path);
    }
    // The attribute is after the last ':' (sub-attributes use '.', which never holds ':').
    match path.rfind(':') {
        Some(i) => (Some(&path[..i]), &path[i + 1..]),
        None => (None, path),
    }
}

fn scalar_text(v: &J) -> Option<String> {
    match v {
        J::String(s) => Some(s.clone()),
        J::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        J::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether one element of a multi-valued attribute passes a simple `sub eq "x"` filter (`and` allowed).
fn element_matches(el: &J, filter: &str) -> bool {
    filter.split(" and ").all(|clause| {
        let mut parts = clause.trim().splitn(3, ' ');
        let (Some(attr), Some(op), Some(lit)) = (parts.next(), parts.next(), parts.next()) else { return false };
        if !op.eq_ignore_ascii_case("eq") {
            return false;
        }
        let want = serde_json::from_str::<J>(lit).ok().and_then(|v| scalar_text(&v)).unwrap_or_else(|| lit.to_string());
        el.get(attr).and_then(scalar_text).is_some_and(|have| have.eq_ignore_ascii_case(&want))
    })
}

/// The text values at an attribute path in a resource: `userName`, `name.givenName`,
/// `emails[type eq "work"].value`, `urn:…:enterprise:2.0:User:employeeNumber`.
pub fn values_at(resource: &J, path: &str) -> Vec<String> {
    let (urn, rest) = split_urn(path);
    let mut base = resource;
    if let Some(u) = urn {
        if let Some(ext) = resource.get(u) {
            base = ext;
        } else if !u.starts_with("urn:ietf:params:scim:schemas:core:") {
            return Vec::new();
        }
    }
    let get_ci_val = |v: &J, k: &str| v.as_object().and_then(|o| get_ci(o, k)).cloned();
    match value_path(rest) {
        Some((attr, filter, sub)) => {
            let Some(J::Array(items)) = get_ci_val(base, attr) else { return Vec::new() };
            items.iter().filter(|el| element_matches(el, filter)).filter_map(|el| scalar_text(el.get(sub.unwrap_or("value"))?)).collect()
        }
        None => {
            let mut cur = Some(base.clone());
            for part in rest.split('.') {
                cur = cur.and_then(|c| get_ci_val(&c, part));
            }
            match cur {
                Some(J::Array(a)) => a.iter().filter_map(|x| scalar_text(x).or_else(|| x.get("value").and_then(scalar_text))).collect(),
                Some(v) => scalar_text(&v).into_iter().collect(),
                None => Vec::new(),
            }
        }
    }
}

/// The member ids in a group resource's `members` (`[{"value": id}]`, or plain strings).
pub fn member_ids(resource: &J) -> Vec<String> {
    resource
        .get("members")
        .and_then(J::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| match m {
                    J::String(s) => Some(s.clone()),
                    other => other.get("value").and_then(scalar_text),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_pages() {
        let p = list_page(&json!({"schemas":[LIST_SCHEMA],"totalResults":0,"Resources":[]})).unwrap();
        assert_eq!((p.resources.len(), p.total), (0, Some(0)));
        let p = list_page(&json!({"schemas":[LIST_SCHEMA],"totalResults":"1","Resources":[{"id":"a"}]})).unwrap();
        assert_eq!((p.resources.len(), p.total), (1, Some(1)));
        assert_eq!(list_page(&json!({"totalResults":0})).unwrap().resources, Vec::<J>::new());
        assert!(list_page(&json!({"resources":[{"id":"a"}]})).is_some());
        assert!(list_page(&json!({"id":"a","userName":"x"})).is_none());
        assert!(list_page(&json!([{"id":"a"}])).is_none());
        assert!(list_page(&json!({"totalResults":1,"Resources":{"id":"a"}})).is_none());
    }

    #[test]
    fn ids() {
        assert_eq!(resource_id(&json!({"id":"x1"})), Some("x1".into()));
        assert_eq!(resource_id(&json!({"id":42})), Some("42".into()));
        assert_eq!(resource_id(&json!({"id":""})), None);
        assert_eq!(resource_id(&json!({})), None);
    }

    #[test]
    fn service_provider_config() {
        let spc = json!({
            "schemas":["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch":{"supported":true},
            "bulk":{"supported":"true","maxOperations":"1000","maxPayloadSize":1048576},
            "filter":{"supported":true,"maxResults":200},
            "etag":{"supported":false}
        });
        assert!(is_service_provider_config(&spc));
        assert_eq!(
            capabilities(&spc),
            Capabilities {
                patch: true,
                filter: true,
                filter_max_results: Some(200),
                bulk: true,
                bulk_max_operations: Some(1000),
                bulk_max_payload_size: Some(1_048_576),
                etag: false
            }
        );
        assert_eq!(capabilities(&json!({})), Capabilities::default());
        assert!(!is_service_provider_config(&json!({"id":"x"})));
    }

    #[test]
    fn filters() {
        assert_eq!(match_filter("userName", "jo@x.org"), r#"userName eq "jo@x.org""#);
        assert_eq!(match_filter("userName", r#"a"b"#), r#"userName eq "a\"b""#);
        assert_eq!(match_filter(r#"emails[type eq "work"].value"#, "jo@x.org"), r#"emails[type eq "work" and value eq "jo@x.org"]"#);
        assert_eq!(match_filter(r#"emails[type eq "other"]"#, "o"), r#"emails[type eq "other" and value eq "o"]"#);
    }

    #[test]
    fn values_by_path() {
        let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let r = json!({
            "userName":"Jo@x.org","externalId":"e1","active":true,"name":{"givenName":"Jo"},
            "emails":[{"type":"home","value":"h@x.org"},{"type":"work","value":"w@x.org"}],
            ent: {"employeeNumber":"701"}
        });
        assert_eq!(values_at(&r, "userName"), ["Jo@x.org"]);
        assert_eq!(values_at(&r, "username"), ["Jo@x.org"]);
        assert_eq!(values_at(&r, "name.givenName"), ["Jo"]);
        assert_eq!(values_at(&r, "active"), ["True"]);
        assert_eq!(values_at(&r, r#"emails[type eq "work"].value"#), ["w@x.org"]);
        assert_eq!(values_at(&r, "emails"), ["h@x.org", "w@x.org"]);
        assert_eq!(values_at(&r, &format!("{ent}:employeeNumber")), ["701"]);
        assert_eq!(values_at(&r, "urn:ietf:params:scim:schemas:core:2.0:User:externalId"), ["e1"]);
        assert!(values_at(&r, "title").is_empty());
    }

    #[test]
    fn members() {
        assert_eq!(member_ids(&json!({"members":[{"value":"a"},"b",{"display":"x"}]})), ["a", "b"]);
        assert!(member_ids(&json!({})).is_empty());
    }
}
