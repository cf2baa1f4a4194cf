//! Matching: which queries the engine sends to find an object in the target, in order.
//!
//! Entra (E:customize-application-attributes): matching attributes "are evaluated in the order
//! defined by this field. As soon as a match is found, no further matching attributes are
//! evaluated"; "Matching based on a combination of attributes isn't supported"; "All users must have
//! a value for at least one matching attribute". [`plan`] evaluates each matching attribute mapping
//! in precedence order and returns a query for each one that has a value, or an error in words when
//! none has. Default values are not used for matching (a constant default would match an unrelated
//! object), and "Apply this mapping" doesn't matter here (matching happens before it is known whether
//! the object will be created or updated).

use super::resolve::coerce;
use super::CompiledMapping;
use crate::expr::{Env, Source, Stop, Value};
use serde::{Deserialize, Serialize};

/// One query the engine will try: find the target object whose `target` equals `value`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchQuery {
    /// The matching precedence (1 is tried first).
    pub precedence: u32,
    /// The target attribute.
    pub target: String,
    /// The source as written (`[userPrincipalName]`).
    pub source_description: String,
    /// The value to look for, as text.
    pub value: String,
}

impl MatchQuery {
    /// The SCIM filter for this query: `userName eq "John.Doe@contoso.com"` (the value as a JSON string).
    pub fn scim_filter(&self) -> String {
        format!("{} eq {}", self.target, serde_json::Value::String(self.value.clone()))
    }
}

/// No matching attribute has a value for the object, so it can't be matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{message}")]
pub struct NoMatchingValue {
    /// The explanation in words.
    pub message: String,
    /// Each matching attribute tried and why it gave no query: (target, reason).
    pub tried: Vec<(String, String)>,
}

/// The matching queries for one object, in precedence order ("first match wins"); an error when
/// no matching attribute has a value.
pub fn plan(src: &dyn Source, mapping: &CompiledMapping, env: &mut dyn Env) -> Result<Vec<MatchQuery>, NoMatchingValue> {
    let mut queries = Vec::new();
    let mut tried = Vec::new();
    for a in mapping.matching_attributes() {
        let m = a.mapping();
        let source = m.source_description();
        let why = match a.expression().map(|e| e.evaluate(src, env)) {
            None => "a None mapping has no value".to_string(),
            Some(Ok(v)) if v.is_null_or_empty() => {
                let read: Vec<String> = a.expression().map(|e| e.attributes().iter().map(|n| n.to_string()).collect()).unwrap_or_default();
                if read.is_empty() {
                    format!("{source} gave no value")
                } else {
                    format!("{source} gave no value ({} has no value)", read.join(", "))
                }
            }
            Some(Ok(v)) => match coerce(v, a.target()) {
                Ok(v) => {
                    queries.push(MatchQuery {
                        precedence: m.matching_precedence.unwrap_or(u32::MAX),
                        target: a.target().name.clone(),
                        source_description: source,
                        value: text(&v),
                    });
                    continue;
                }
                Err(e) => format!("the value {e}"),
            },
            Some(Err(Stop::IgnoreFlow)) => format!("{source} was left out by IgnoreFlowIfNullOrEmpty"),
            Some(Err(e)) => format!("{source} failed: {e}"),
        };
        tried.push((a.target().name.clone(), why));
    }
    if !queries.is_empty() {
        return Ok(queries);
    }
    let object = mapping.object().to_string().to_lowercase();
    let reasons: Vec<String> = tried.iter().map(|(t, why)| format!("{t}: {why}")).collect();
    Err(NoMatchingValue {
        message: format!(
            "this {object} has no value for any matching attribute, so it can't be matched with the target \
             (every {object} needs a value for at least one): {}",
            reasons.join("; ")
        ),
        tried,
    })
}

/// A value as query text.
fn text(v: &Value) -> String {
    match v {
        Value::Date(d) => d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        other => other.text_or_empty().into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{compiled, env, user_mapping};
    use super::super::*;
    use super::*;
    use crate::source::tests::sample_user;

    fn two() -> CompiledMapping {
        compiled(&user_mapping(vec![
            AttributeMapping::direct("mailNickname", "externalId").match_with(2),
            AttributeMapping::direct("userPrincipalName", "userName").match_with(1),
            AttributeMapping::direct("mail", r#"emails[type eq "work"].value"#).match_with(3).with_default("none@example.org"),
        ]))
    }

    #[test]
    fn queries_come_in_precedence_order() {
        let q = plan(&sample_user(), &two(), &mut env()).unwrap();
        let got: Vec<(u32, &str, &str)> = q.iter().map(|q| (q.precedence, q.target.as_str(), q.value.as_str())).collect();
        assert_eq!(
            got,
            [
                (1, "userName", "John.Doe@contoso.com"),
                (2, "externalId", "jdoe"),
                (3, r#"emails[type eq "work"].value"#, "john.doe@contoso.com")
            ]
        );
        assert_eq!(q[0].scim_filter(), r#"userName eq "John.Doe@contoso.com""#);
        assert_eq!(q[2].scim_filter(), r#"emails[type eq "work"].value eq "john.doe@contoso.com""#);
        let q = MatchQuery { precedence: 1, target: "externalId".into(), source_description: String::new(), value: r#"a"b\c"#.into() };
        assert_eq!(q.scim_filter(), r#"externalId eq "a\"b\\c""#);
    }

    #[test]
    fn attributes_without_a_value_are_passed_over() {
        let mut u = sample_user();
        u.mail_nickname = None;
        let q = plan(&u, &two(), &mut env()).unwrap();
        let got: Vec<&str> = q.iter().map(|q| q.target.as_str()).collect();
        assert_eq!(got, ["userName", r#"emails[type eq "work"].value"#]);
    }

    #[test]
    fn no_matching_value_is_explained_in_words() {
        let m = compiled(&user_mapping(vec![
            AttributeMapping::direct("userPrincipalName", "userName").required(),
            AttributeMapping::direct("mailNickname", "externalId").match_with(1),
            AttributeMapping::direct("mail", r#"emails[type eq "work"].value"#).match_with(2).with_default("x@example.org"),
            AttributeMapping::expression("IgnoreFlowIfNullOrEmpty([city])", "nickName").match_with(3),
        ]));
        let mut u = sample_user();
        u.mail_nickname = None;
        u.mail = None;
        let e = plan(&u, &m, &mut env()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "this user has no value for any matching attribute, so it can't be matched with the target (every user needs a value for at least one): \
             externalId: [mailNickname] gave no value (mailNickname has no value); \
             emails[type eq \"work\"].value: [mail] gave no value (mail has no value); \
             nickName: IgnoreFlowIfNullOrEmpty([city]) was left out by IgnoreFlowIfNullOrEmpty"
        );
        assert_eq!(e.tried.len(), 3);
    }
}
