//! What to send: the desired attribute values of an object compared with what was last exported (or,
//! for an account just matched, with what the target holds), giving the PATCH changes and the log's
//! modified properties. Pure.
//!
//! Entra never provisions null values, so an attribute that lost its value in the directory is not
//! removed from the target; only changed values are sent.

use super::log::ModifiedProperty;
use crate::connector::AttributeChange;
use crate::mapping::resolve::REDACTED;
use crate::mapping::target_schema::ScimPath;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as J};
use std::collections::{BTreeMap, HashSet};

/// What was (or is to be) exported for one object: attribute values by SCIM path, references by path
/// as directory ids, and for groups the member set as target ids.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exported {
    /// Attribute values by path (references excluded).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, J>,
    /// Reference attributes by path: directory ids as exported (translated when sent).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub refs: BTreeMap<String, Vec<String>>,
    /// Group members exported, as target ids (sorted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<String>>,
}

impl Exported {
    /// A stable hash of the state (FNV-1a over its JSON), stored beside it.
    pub fn hash(&self) -> String {
        // The JSON streamed into the hash, never held whole.
        let mut h = Fnv(FNV_OFFSET);
        let _ = serde_json::to_writer(&mut h, self);
        format!("{:016x}", h.0)
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// FNV-1a as an `io::Write` sink.
struct Fnv(u64);

impl std::io::Write for Fnv {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for b in buf {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// FNV-1a, 64 bits, as hex: stable across builds and platforms.
pub fn fnv_hex(text: &str) -> String {
    let mut h = Fnv(FNV_OFFSET);
    let _ = std::io::Write::write(&mut h, text.as_bytes());
    format!("{:016x}", h.0)
}

/// The changes that bring `old` to `desired` (attributes only; never removals) and the modified
/// properties for the log, masking the paths in `redacted`.
pub fn changes(
    old: &BTreeMap<String, J>,
    desired: &BTreeMap<String, J>,
    redacted: &HashSet<String>,
) -> (Vec<AttributeChange>, Vec<ModifiedProperty>) {
    let mut out = Vec::new();
    let mut props = Vec::new();
    for (path, value) in desired {
        let before = old.get(path);
        if before == Some(value) {
            continue;
        }
        out.push(AttributeChange { path: path.clone(), value: Some(value.clone()) });
        props.push(property(path, before.cloned(), Some(value.clone()), redacted));
    }
    (out, props)
}

/// A modified property, masked when the path is redacted.
pub fn property(path: &str, old: Option<J>, new: Option<J>, redacted: &HashSet<String>) -> ModifiedProperty {
    if redacted.contains(path) {
        let mask = |v: Option<J>| v.map(|_| J::String(REDACTED.to_string()));
        ModifiedProperty { name: path.to_string(), old_value: mask(old), new_value: mask(new) }
    } else {
        ModifiedProperty { name: path.to_string(), old_value: old, new_value: new }
    }
}

/// The values a target resource holds at each of `paths` (missing paths are left out), to compare an
/// account that was just matched with what Provisio wants it to hold.
pub fn read_paths<'a>(resource: &J, paths: impl Iterator<Item = &'a String>) -> BTreeMap<String, J> {
    let mut out = BTreeMap::new();
    for p in paths {
        if let Ok(path) = ScimPath::parse(p) {
            if let Some(v) = value_at(resource, &path) {
                out.insert(p.clone(), v.clone());
            }
        }
    }
    out
}

fn key<'a>(obj: &'a Map<String, J>, name: &str) -> Option<&'a J> {
    obj.get(name).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// The value at a SCIM path in a resource: `name.givenName`, `emails[type eq "work"].value`,
/// `urn:…:enterprise:2.0:User:department`.
pub fn value_at<'a>(resource: &'a J, path: &ScimPath) -> Option<&'a J> {
    let mut obj = resource.as_object()?;
    if let Some(urn) = &path.schema {
        obj = key(obj, urn)?.as_object()?;
    }
    let v = key(obj, &path.attribute)?;
    let v = match &path.filter {
        None => v,
        Some(f) => v.as_array()?.iter().find(|e| {
            e.as_object().and_then(|o| key(o, &f.attribute)).is_some_and(|x| match x {
                J::String(s) => s.eq_ignore_ascii_case(&f.value),
                J::Bool(b) => b.to_string().eq_ignore_ascii_case(&f.value),
                other => serde_json::from_str::<J>(&f.value).ok().as_ref() == Some(other),
            })
        })?,
    };
    match &path.sub_attribute {
        None => Some(v),
        Some(sub) => key(v.as_object()?, sub),
    }
}

/// Values compare as the target would: strings exactly, booleans also against "True"/"False".
pub fn same_value(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Bool(x), J::String(s)) | (J::String(s), J::Bool(x)) => s.eq_ignore_ascii_case(if *x { "true" } else { "false" }),
        _ => a == b,
    }
}

/// The member changes that bring `old` to `desired` (both target ids): (add, remove), sorted.
pub fn member_changes(old: &[String], desired: &[String]) -> (Vec<String>, Vec<String>) {
    let o: HashSet<&String> = old.iter().collect();
    let d: HashSet<&String> = desired.iter().collect();
    let mut add: Vec<String> = desired.iter().filter(|m| !o.contains(m)).cloned().collect();
    let mut remove: Vec<String> = old.iter().filter(|m| !d.contains(m)).cloned().collect();
    add.sort();
    add.dedup();
    remove.sort();
    remove.dedup();
    (add, remove)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(pairs: &[(&str, J)]) -> BTreeMap<String, J> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn the_streamed_hash_is_the_hash_of_the_json_text() {
        // Stored hashes must not change with how they are computed.
        let e = Exported {
            attrs: m(&[
                ("userName", json!("ann@contoso.example")),
                ("active", json!(true)),
                ("emails[type eq \"work\"].value", json!("a\u{e9}")),
            ]),
            refs: BTreeMap::from([("manager".to_string(), vec!["u1".to_string()])]),
            members: Some(vec!["t1".into(), "t2".into()]),
        };
        assert_eq!(e.hash(), fnv_hex(&serde_json::to_string(&e).unwrap()));
        assert_eq!(Exported::default().hash(), fnv_hex(&serde_json::to_string(&Exported::default()).unwrap()));
        assert_eq!(fnv_hex(""), "cbf29ce484222325");
        assert_ne!(e.hash(), Exported::default().hash());
    }

    #[test]
    fn only_changed_values_are_sent_and_nothing_is_removed() {
        let old = m(&[("displayName", json!("Ann")), ("title", json!("Dev")), ("active", json!(true))]);
        let new = m(&[("displayName", json!("Ann B")), ("active", json!(true))]);
        let (ch, props) = changes(&old, &new, &HashSet::new());
        assert_eq!(ch, vec![AttributeChange { path: "displayName".into(), value: Some(json!("Ann B")) }]);
        assert_eq!(props[0].old_value, Some(json!("Ann")));
    }

    #[test]
    fn redacted_paths_are_masked() {
        let red: HashSet<String> = ["password".to_string()].into();
        let (ch, props) = changes(&BTreeMap::new(), &m(&[("password", json!("s3cret"))]), &red);
        assert_eq!(ch[0].value, Some(json!("s3cret")));
        assert_eq!(props[0].new_value, Some(json!(REDACTED)));
        assert!(!serde_json::to_string(&props).unwrap().contains("s3cret"));
    }

    #[test]
    fn reads_paths_from_a_resource() {
        let r = json!({
            "userName": "ann@x.com",
            "name": {"givenName": "Ann"},
            "emails": [{"type": "home", "value": "h@x"}, {"type": "work", "value": "w@x", "primary": true}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng"}
        });
        let paths: Vec<String> = [
            "userName",
            "name.givenName",
            r#"emails[type eq "work"].value"#,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "title",
        ]
        .map(String::from)
        .to_vec();
        let got = read_paths(&r, paths.iter());
        assert_eq!(got.len(), 4);
        assert_eq!(got[r#"emails[type eq "work"].value"#], json!("w@x"));
        assert_eq!(got["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"], json!("Eng"));
    }

    #[test]
    fn members_and_values() {
        let (a, r) = member_changes(&["1".into(), "2".into()], &["2".into(), "3".into()]);
        assert_eq!((a, r), (vec!["3".to_string()], vec!["1".to_string()]));
        assert!(same_value(&json!(true), &json!("True")));
        assert!(!same_value(&json!("a"), &json!("A")));
        let e = Exported { attrs: m(&[("a", json!(1))]), ..Default::default() };
        assert_eq!(e.hash(), e.clone().hash());
        assert_ne!(e.hash(), Exported::default().hash());
    }
}
