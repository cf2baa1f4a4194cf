//! PATCH (RFC 7644 §3.5.2) applied to one resource.

use serde_json::{Map, Value};

use super::filter::{parse_filter, split_sub, split_urn, Filter, UrnSplit};
use super::json::{coerce, get_ci, key_ci, normalize, remove_ci, PATCH_OP};
use super::Reply;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// A parsed PATCH path.
struct PatchPath {
    urn: Option<String>,
    /// `None`: the path names a whole extension.
    attr: Option<String>,
    filter: Option<Filter>,
    sub: Option<String>,
}

fn invalid_path(detail: impl Into<String>) -> Reply {
    Reply::error(400, Some("invalidPath"), detail)
}

fn invalid_value(detail: impl Into<String>) -> Reply {
    Reply::error(400, Some("invalidValue"), detail)
}

fn no_target(detail: impl Into<String>) -> Reply {
    Reply::error(400, Some("noTarget"), detail)
}

/// Extension URNs the resource already uses (keys and `schemas`).
fn extensions(res: &Map<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = res.keys().filter(|k| k.starts_with("urn:")).cloned().collect();
    if let Some(Value::Array(s)) = get_ci(res, "schemas") {
        out.extend(s.iter().filter_map(|v| v.as_str()).map(str::to_string));
    }
    out
}

fn parse_path(path: &str, res: &Map<String, Value>) -> Result<PatchPath, Reply> {
    let path = path.trim();
    let (head, filter, tail) = match path.find('[') {
        Some(open) => {
            let b = path.as_bytes();
            let mut j = open + 1;
            let mut in_str = false;
            while j < b.len() {
                match b[j] {
                    b'\\' if in_str => j += 1,
                    b'"' => in_str = !in_str,
                    b']' if !in_str => break,
                    _ => {}
                }
                j += 1;
            }
            if j >= b.len() {
                return Err(invalid_path(format!("unbalanced '[' in path '{path}'")));
            }
            let f = parse_filter(&path[open + 1..j]).map_err(|e| invalid_path(format!("invalid value filter in path '{path}': {e}")))?;
            (&path[..open], Some(f), &path[j + 1..])
        }
        None => (path, None, ""),
    };
    let exts = extensions(res);
    let (urn, rest) = match split_urn(head, &exts) {
        UrnSplit::Core(rest) => (None, rest),
        UrnSplit::Ext(urn, rest) => (Some(urn), rest),
        UrnSplit::WholeExt(urn) => {
            if filter.is_some() {
                return Err(invalid_path(format!("invalid path '{path}'")));
            }
            return Ok(PatchPath { urn: Some(urn), attr: None, filter: None, sub: None });
        }
    };
    let bad = || invalid_path(format!("invalid path '{path}'"));
    if filter.is_some() {
        let (attr, sub) = split_sub(rest).ok_or_else(bad)?;
        if sub.is_some() {
            return Err(bad());
        }
        let sub = match tail {
            "" => None,
            t => match t.strip_prefix('.') {
                Some(s) => Some(split_sub(s).filter(|(_, x)| x.is_none()).ok_or_else(bad)?.0),
                None => return Err(bad()),
            },
        };
        Ok(PatchPath { urn, attr: Some(attr), filter, sub })
    } else {
        let (attr, sub) = split_sub(rest).ok_or_else(bad)?;
        Ok(PatchPath { urn, attr: Some(attr), filter: None, sub })
    }
}

/// Whether two multi-valued elements are the same value (by `value` when both have one).
fn same_element(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => match (get_ci(x, "value"), get_ci(y, "value")) {
            (Some(vx), Some(vy)) => vx == vy,
            _ => a == b,
        },
        _ => a == b,
    }
}

fn into_items(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        other => vec![other],
    }
}

fn append_unique(arr: &mut Vec<Value>, v: Value) {
    for item in into_items(v) {
        if !arr.iter().any(|e| same_element(e, &item)) {
            arr.push(item);
        }
    }
}

/// Sets sub-attributes of `o` from `v` (the complex-attribute rule: unspecified sub-attributes are
/// left unchanged; `null` unassigns).
fn merge(o: &mut Map<String, Value>, v: Map<String, Value>) {
    for (k, val) in v {
        let key = key_ci(o, &k).unwrap_or(k);
        if val.is_null() {
            o.remove(&key);
        } else {
            let val = coerce(&key, val);
            o.insert(key, val);
        }
    }
}

fn set_sub(el: &mut Map<String, Value>, sub: &str, v: Value) {
    let key = key_ci(el, sub).unwrap_or_else(|| sub.to_string());
    let v = coerce(&key, v);
    match (el.get_mut(&key), v) {
        (_, Value::Null) => {
            el.remove(&key);
        }
        (Some(Value::Object(o)), Value::Object(m)) => merge(o, m),
        (_, v) => {
            el.insert(key, v);
        }
    }
}

fn apply_attr(
    container: &mut Map<String, Value>,
    op: Op,
    attr: &str,
    filter: Option<&Filter>,
    sub: Option<&str>,
    value: Option<Value>,
) -> Result<(), Reply> {
    let key = key_ci(container, attr).unwrap_or_else(|| attr.to_string());
    let value = value.map(|v| if sub.is_none() { coerce(&key, v) } else { v });
    let need_value = |v: Option<Value>| v.ok_or_else(|| invalid_value(format!("{op:?} of '{attr}' needs a value")));
    match (filter, sub) {
        (None, None) => match op {
            Op::Add => {
                let v = need_value(value)?;
                match (container.get_mut(&key), v) {
                    (Some(Value::Array(arr)), v) => append_unique(arr, v),
                    (Some(Value::Object(o)), Value::Object(m)) => merge(o, m),
                    (_, Value::Null) => {}
                    (_, Value::Array(items)) => {
                        let mut arr = Vec::new();
                        append_unique(&mut arr, Value::Array(items));
                        container.insert(key, Value::Array(arr));
                    }
                    (_, v) => {
                        container.insert(key, v);
                    }
                }
            }
            Op::Replace => {
                let v = need_value(value)?;
                match (container.get_mut(&key), v) {
                    (_, Value::Null) => {
                        container.remove(&key);
                    }
                    (Some(Value::Object(o)), Value::Object(m)) => merge(o, m),
                    (_, v) => {
                        container.insert(key, v);
                    }
                }
            }
            Op::Remove => match (container.get_mut(&key), value) {
                (Some(Value::Array(arr)), Some(v)) if !v.is_null() => {
                    let items = into_items(v);
                    arr.retain(|e| !items.iter().any(|i| same_element(e, i)));
                    if arr.is_empty() {
                        container.remove(&key);
                    }
                }
                _ => {
                    container.remove(&key);
                }
            },
        },
        (None, Some(sub)) => match container.get_mut(&key) {
            Some(Value::Array(arr)) => match op {
                Op::Remove => {
                    for el in arr.iter_mut() {
                        if let Value::Object(o) = el {
                            remove_ci(o, sub);
                        }
                    }
                }
                Op::Add | Op::Replace => {
                    let v = need_value(value)?;
                    if arr.is_empty() {
                        if op == Op::Replace {
                            return Err(no_target(format!("'{attr}' has no values")));
                        }
                        let mut el = Map::new();
                        set_sub(&mut el, sub, v);
                        arr.push(Value::Object(el));
                    } else {
                        for el in arr.iter_mut() {
                            if let Value::Object(o) = el {
                                set_sub(o, sub, v.clone());
                            }
                        }
                    }
                }
            },
            Some(Value::Object(o)) => {
                match op {
                    Op::Remove => {
                        remove_ci(o, sub);
                    }
                    Op::Add | Op::Replace => set_sub(o, sub, need_value(value)?),
                }
                if o.is_empty() {
                    container.remove(&key);
                }
            }
            None => {
                if op != Op::Remove {
                    let v = need_value(value)?;
                    if !v.is_null() {
                        let mut el = Map::new();
                        set_sub(&mut el, sub, v);
                        container.insert(key, Value::Object(el));
                    }
                }
            }
            Some(_) => return Err(invalid_path(format!("'{attr}' is not a complex attribute"))),
        },
        (Some(f), sub) => {
            if !container.contains_key(&key) {
                match op {
                    Op::Remove => return Ok(()),
                    Op::Replace => return Err(no_target(format!("no value of '{attr}' matches the filter"))),
                    Op::Add => {
                        container.insert(key.clone(), Value::Array(Vec::new()));
                    }
                }
            }
            let Some(Value::Array(arr)) = container.get_mut(&key) else {
                return Err(invalid_path(format!("'{attr}' is not multi-valued")));
            };
            let matched: Vec<usize> =
                arr.iter().enumerate().filter(|(_, e)| matches!(e, Value::Object(m) if f.matches(m))).map(|(i, _)| i).collect();
            match op {
                Op::Remove => {
                    match sub {
                        Some(sub) => {
                            for &i in &matched {
                                if let Value::Object(o) = &mut arr[i] {
                                    remove_ci(o, sub);
                                }
                            }
                        }
                        None => {
                            for &i in matched.iter().rev() {
                                arr.remove(i);
                            }
                        }
                    }
                    if arr.is_empty() {
                        container.remove(&key);
                    }
                }
                Op::Add | Op::Replace => {
                    let v = need_value(value)?;
                    if matched.is_empty() {
                        if op == Op::Replace {
                            return Err(no_target(format!("no value of '{attr}' matches the filter")));
                        }
                        // Add: a new element carrying the filter's values.
                        let mut el = Map::new();
                        for c in f.terms.iter().take(1).flatten() {
                            if c.path.urn.is_none() && c.path.sub.is_none() {
                                el.insert(c.path.attr.clone(), c.value.clone());
                            }
                        }
                        match (sub, v) {
                            (Some(sub), v) => set_sub(&mut el, sub, v),
                            (None, Value::Object(m)) => merge(&mut el, m),
                            (None, _) => return Err(invalid_value(format!("the value for '{attr}[...]' must be an object"))),
                        }
                        arr.push(Value::Object(el));
                    } else {
                        for &i in &matched {
                            let Value::Object(el) = &mut arr[i] else { continue };
                            match (sub, v.clone()) {
                                (Some(sub), v) => set_sub(el, sub, v),
                                (None, Value::Object(m)) => merge(el, m),
                                (None, _) => return Err(invalid_value(format!("the value for '{attr}[...]' must be an object"))),
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn add_schema(res: &mut Map<String, Value>, urn: &str) {
    let key = key_ci(res, "schemas").unwrap_or_else(|| "schemas".into());
    let entry = res.entry(key).or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(s) = entry {
        if !s.iter().any(|v| v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(urn))) {
            s.push(Value::String(urn.to_string()));
        }
    }
}

fn drop_schema(res: &mut Map<String, Value>, urn: &str) {
    if let Some(Value::Array(s)) = key_ci(res, "schemas").and_then(|k| res.get_mut(&k)) {
        s.retain(|v| !v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(urn)));
    }
}

fn apply_op(res: &mut Map<String, Value>, op: Op, path: Option<&str>, value: Option<Value>) -> Result<(), Reply> {
    let Some(path) = path else {
        if op == Op::Remove {
            return Err(no_target("remove needs a path"));
        }
        let Some(Value::Object(m)) = value else {
            return Err(invalid_value("without a path, the value must be an object"));
        };
        for (k, v) in m {
            if k.eq_ignore_ascii_case("schemas") {
                continue;
            }
            apply_op(res, op, Some(&k), Some(v))?;
        }
        return Ok(());
    };
    let pp = parse_path(path, res)?;
    if pp.urn.is_none() && pp.filter.is_none() && pp.sub.is_none() {
        if let Some(a) = &pp.attr {
            // Setting a read-only attribute to the value it has is harmless (Entra may echo `id`).
            let unchanged = op != Op::Remove && value.is_some() && value.as_ref() == res.get(a.as_str());
            if unchanged {
                return Ok(());
            }
        }
    }
    if pp.urn.is_none() {
        if let Some(a) = &pp.attr {
            if a == "id" || a == "meta" || a == "schemas" {
                return Err(Reply::error(400, Some("mutability"), format!("'{a}' cannot be modified")));
            }
        }
    }
    let value = value.map(|mut v| {
        normalize(&mut v);
        v
    });
    let Some(urn) = pp.urn.clone() else {
        let attr = pp.attr.as_deref().unwrap_or_default();
        return apply_attr(res, op, attr, pp.filter.as_ref(), pp.sub.as_deref(), value);
    };
    let ext_key = match key_ci(res, &urn) {
        Some(k) => k,
        None => {
            if op == Op::Remove {
                return Ok(());
            }
            res.insert(urn.clone(), Value::Object(Map::new()));
            urn.clone()
        }
    };
    {
        let Some(Value::Object(container)) = res.get_mut(&ext_key) else {
            return Err(invalid_value(format!("'{urn}' is not an object")));
        };
        match &pp.attr {
            None => match op {
                Op::Remove => container.clear(),
                Op::Add | Op::Replace => match value {
                    Some(Value::Object(m)) => {
                        let mut m = m;
                        super::json::coerce_map(&mut m);
                        merge(container, m)
                    }
                    _ => return Err(invalid_value(format!("the value for '{urn}' must be an object"))),
                },
            },
            Some(attr) => apply_attr(container, op, attr, pp.filter.as_ref(), pp.sub.as_deref(), value)?,
        }
    }
    let empty = matches!(res.get(&ext_key), Some(Value::Object(m)) if m.is_empty());
    if empty {
        res.remove(&ext_key);
        drop_schema(res, &urn);
    } else {
        add_schema(res, &urn);
    }
    Ok(())
}

/// Applies a PatchOp request body to `res` (all operations or none: the caller works on a copy).
pub(crate) fn apply_patch(res: &mut Map<String, Value>, body: &Value) -> Result<(), Reply> {
    let Some(b) = body.as_object() else {
        return Err(Reply::error(400, Some("invalidSyntax"), "the body must be a PatchOp object"));
    };
    if !super::json::has_schema(b, PATCH_OP) {
        return Err(Reply::error(400, Some("invalidSyntax"), format!("the schemas of a PATCH body must hold {PATCH_OP}")));
    }
    let ops = match get_ci(b, "Operations") {
        Some(Value::Array(ops)) if !ops.is_empty() => ops,
        _ => return Err(Reply::error(400, Some("invalidSyntax"), "a PATCH body needs a non-empty Operations array")),
    };
    for o in ops {
        let Some(o) = o.as_object() else {
            return Err(Reply::error(400, Some("invalidSyntax"), "each operation must be an object"));
        };
        let op = match get_ci(o, "op").and_then(Value::as_str) {
            Some(s) if s.eq_ignore_ascii_case("add") => Op::Add,
            Some(s) if s.eq_ignore_ascii_case("replace") => Op::Replace,
            Some(s) if s.eq_ignore_ascii_case("remove") => Op::Remove,
            Some(s) => return Err(Reply::error(400, Some("invalidSyntax"), format!("unknown operation '{s}' (add, replace, remove)"))),
            None => return Err(Reply::error(400, Some("invalidSyntax"), "an operation needs 'op'")),
        };
        let path = match get_ci(o, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if p.trim().is_empty() => None,
            Some(Value::String(p)) => Some(p.as_str()),
            Some(_) => return Err(invalid_path("'path' must be a string")),
        };
        let value = get_ci(o, "value").cloned();
        if op != Op::Remove && value.is_none() {
            return Err(invalid_value(format!("{op:?} needs a value")));
        }
        apply_op(res, op, path, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::json::ENTERPRISE;
    use serde_json::json;

    fn patch(res: Value, ops: Value) -> Result<Value, u16> {
        let mut m = res.as_object().unwrap().clone();
        apply_patch(&mut m, &json!({"schemas": [PATCH_OP], "Operations": ops})).map_err(|r| r.status)?;
        Ok(Value::Object(m))
    }

    #[test]
    fn entra_user_updates() {
        let user = json!({"schemas": [crate::scim::json::CORE_USER], "userName": "a",
            "active": true, "emails": [{"type": "work", "value": "a@x.org", "primary": true}]});
        let out = patch(
            user.clone(),
            json!([
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@x.org"},
                {"op": "Add", "path": "name.givenName", "value": "Ann"},
                {"op": "Add", "path": format!("{ENTERPRISE}:department"), "value": "Sales"},
                {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": "m1"},
                {"op": "replace", "value": {"displayName": "Ann A", "name.familyName": "A"}},
            ]),
        )
        .unwrap();
        assert_eq!(out["active"], json!(false));
        assert_eq!(out["emails"][0]["value"], "b@x.org");
        assert_eq!(out["emails"][0]["primary"], json!(true));
        assert_eq!(out["name"], json!({"givenName": "Ann", "familyName": "A"}));
        assert_eq!(out[ENTERPRISE]["department"], "Sales");
        assert_eq!(out[ENTERPRISE]["manager"], json!({"value": "m1"}));
        assert_eq!(out["displayName"], "Ann A");
        assert!(out["schemas"].as_array().unwrap().contains(&json!(ENTERPRISE)));
        let out = patch(
            out,
            json!([{"op": "remove", "path": format!("{ENTERPRISE}:manager")},
            {"op": "remove", "path": format!("{ENTERPRISE}:department")}]),
        )
        .unwrap();
        assert!(out.get(ENTERPRISE).is_none());
        assert!(!out["schemas"].as_array().unwrap().contains(&json!(ENTERPRISE)));
        // Replace through a filter that matches nothing: noTarget.
        assert_eq!(patch(user, json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "x"}])), Err(400));
    }

    #[test]
    fn members() {
        let g = json!({"displayName": "g", "members": [{"value": "1"}]});
        let out = patch(g, json!([{"op": "add", "path": "members", "value": [{"value": "2"}, {"value": "1"}]}])).unwrap();
        assert_eq!(out["members"], json!([{"value": "1"}, {"value": "2"}]));
        let out = patch(out, json!([{"op": "remove", "path": "members[value eq \"1\"]"}])).unwrap();
        assert_eq!(out["members"], json!([{"value": "2"}]));
        let out = patch(out, json!([{"op": "Remove", "path": "members", "value": [{"value": "2"}]}])).unwrap();
        assert!(out.get("members").is_none());
    }

    #[test]
    fn refuses_bad_requests() {
        let u = json!({"userName": "a"});
        assert_eq!(patch(u.clone(), json!([{"op": "move", "path": "userName", "value": "b"}])), Err(400));
        assert_eq!(patch(u.clone(), json!([{"op": "remove"}])), Err(400));
        assert_eq!(patch(u.clone(), json!([{"op": "replace", "path": "id", "value": "b"}])), Err(400));
        let with_id = json!({"id": "1", "userName": "a"});
        assert!(patch(with_id, json!([{"op": "replace", "value": {"id": "1", "userName": "b"}}])).is_ok());
        assert_eq!(patch(u, json!([])), Err(400));
    }
}
