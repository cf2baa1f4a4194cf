//! PATCH request bodies (RFC 7644 §3.5.2) as Entra sends them, shaped by the compatibility profile.

use crate::apps::CompatProfile;
use crate::connector::AttributeChange;
use serde_json::{json, Value as J};

/// The schema URN of a PATCH request.
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A PATCH operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `add`.
    Add,
    /// `replace`.
    Replace,
    /// `remove`.
    Remove,
}

impl Op {
    /// The op's name: RFC 7644 lower case, or capitalised (`Replace`) for targets that want Entra's old form.
    pub fn name(self, capitalized: bool) -> &'static str {
        match (self, capitalized) {
            (Op::Add, false) => "add",
            (Op::Replace, false) => "replace",
            (Op::Remove, false) => "remove",
            (Op::Add, true) => "Add",
            (Op::Replace, true) => "Replace",
            (Op::Remove, true) => "Remove",
        }
    }
}

/// A value as the profile wants it sent: booleans (also inside objects and arrays) become the strings
/// "True"/"False" when `string_booleans` is set.
pub fn profile_value(v: &J, string_booleans: bool) -> J {
    if !string_booleans {
        return v.clone();
    }
    match v {
        J::Bool(b) => J::String(if *b { "True" } else { "False" }.to_string()),
        J::Array(a) => J::Array(a.iter().map(|x| profile_value(x, true)).collect()),
        J::Object(o) => J::Object(o.iter().map(|(k, x)| (k.clone(), profile_value(x, true))).collect()),
        other => other.clone(),
    }
}

/// Wraps operations in a PatchOp message.
pub fn patch_message(ops: Vec<J>) -> J {
    json!({"schemas": [PATCH_SCHEMA], "Operations": ops})
}

/// The PATCH body for an update: one `replace` per change with a value, one `remove` per change without.
pub fn update_body(changes: &[AttributeChange], profile: &CompatProfile) -> J {
    let caps = profile.capitalized_ops;
    let ops = changes
        .iter()
        .map(|c| match &c.value {
            Some(v) => json!({"op": Op::Replace.name(caps), "path": c.path, "value": profile_value(v, profile.string_booleans)}),
            None => json!({"op": Op::Remove.name(caps), "path": c.path}),
        })
        .collect();
    patch_message(ops)
}

/// The PATCH body that disables an object (`active` false).
pub fn disable_body(profile: &CompatProfile) -> J {
    let value = profile_value(&J::Bool(false), profile.string_booleans);
    patch_message(vec![json!({"op": Op::Replace.name(profile.capitalized_ops), "path": "active", "value": value})])
}

/// A SCIM filter string literal: the value JSON-escaped in double quotes.
pub fn filter_literal(value: &str) -> String {
    J::String(value.to_string()).to_string()
}

/// The PATCH bodies for group membership changes, at most `batch` members per body (adds first, then
/// removes): one `add` op with `path: members` and the added ids as `[{"value": id}]`, and one `remove`
/// op per removed id with `path: members[value eq "id"]`.
pub fn member_bodies(add: &[String], remove: &[String], batch: u32, capitalized: bool) -> Vec<J> {
    let batch = batch.max(1) as usize;
    let all: Vec<(bool, &String)> = add.iter().map(|a| (true, a)).chain(remove.iter().map(|r| (false, r))).collect();
    all.chunks(batch)
        .map(|chunk| {
            let mut ops = Vec::new();
            let adds: Vec<J> = chunk.iter().filter(|(is_add, _)| *is_add).map(|(_, id)| json!({"value": id})).collect();
            if !adds.is_empty() {
                ops.push(json!({"op": Op::Add.name(capitalized), "path": "members", "value": adds}));
            }
            for (_, id) in chunk.iter().filter(|(is_add, _)| !*is_add) {
                ops.push(json!({"op": Op::Remove.name(capitalized), "path": format!("members[value eq {}]", filter_literal(id))}));
            }
            patch_message(ops)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, value: Option<J>) -> AttributeChange {
        AttributeChange { path: path.into(), value }
    }

    #[test]
    fn update_bodies_follow_the_profile() {
        let changes = [
            change("displayName", Some(json!("Jo"))),
            change("active", Some(json!(true))),
            change(r#"emails[type eq "work"].value"#, Some(json!("jo@x.org"))),
            change("title", None),
        ];
        let p = CompatProfile::default();
        assert_eq!(
            update_body(&changes, &p),
            json!({"schemas":[PATCH_SCHEMA],"Operations":[
                {"op":"replace","path":"displayName","value":"Jo"},
                {"op":"replace","path":"active","value":true},
                {"op":"replace","path":"emails[type eq \"work\"].value","value":"jo@x.org"},
                {"op":"remove","path":"title"}
            ]})
        );
        let p = CompatProfile { string_booleans: true, capitalized_ops: true, ..Default::default() };
        let b = update_body(&changes, &p);
        assert_eq!(b["Operations"][1], json!({"op":"Replace","path":"active","value":"True"}));
        assert_eq!(b["Operations"][3], json!({"op":"Remove","path":"title"}));
        assert_eq!(profile_value(&json!({"a":[false,{"b":true}],"n":1}), true), json!({"a":["False",{"b":"True"}],"n":1}));
    }

    #[test]
    fn disable_bodies() {
        assert_eq!(disable_body(&CompatProfile::default())["Operations"], json!([{"op":"replace","path":"active","value":false}]));
        let p = CompatProfile { string_booleans: true, capitalized_ops: true, ..Default::default() };
        assert_eq!(disable_body(&p)["Operations"], json!([{"op":"Replace","path":"active","value":"False"}]));
    }

    #[test]
    fn member_bodies_are_batched() {
        let ids = |n: usize, p: &str| (0..n).map(|i| format!("{p}{i}")).collect::<Vec<_>>();
        let bodies = member_bodies(&ids(3, "a"), &ids(2, "r"), 2, false);
        assert_eq!(bodies.len(), 3);
        assert_eq!(bodies[0]["Operations"], json!([{"op":"add","path":"members","value":[{"value":"a0"},{"value":"a1"}]}]));
        assert_eq!(
            bodies[1]["Operations"],
            json!([{"op":"add","path":"members","value":[{"value":"a2"}]},{"op":"remove","path":"members[value eq \"r0\"]"}])
        );
        assert_eq!(bodies[2]["Operations"], json!([{"op":"remove","path":"members[value eq \"r1\"]"}]));
        assert_eq!(bodies[2]["schemas"], json!([PATCH_SCHEMA]));
        assert!(member_bodies(&[], &[], 100, false).is_empty());
        let b = member_bodies(&ids(250, "u"), &[], 100, true);
        assert_eq!(b.iter().map(|b| b["Operations"][0]["value"].as_array().unwrap().len()).collect::<Vec<_>>(), [100, 100, 50]);
        assert_eq!(b[0]["Operations"][0]["op"], "Add");
        // Ids are escaped inside the filter.
        let b = member_bodies(&[], &[r#"we"ird\id"#.to_string()], 10, false);
        assert_eq!(b[0]["Operations"][0]["path"], r#"members[value eq "we\"ird\\id"]"#);
    }

    #[test]
    fn filter_literals_are_json_escaped() {
        assert_eq!(filter_literal("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(filter_literal("jo@x.org"), r#""jo@x.org""#);
    }
}
