//! Scoping filters: attribute-based rules that decide which source objects a mapping provisions, as
//! Entra's "Source object scope" does (E:define-conditional-rules-for-provisioning-user-accounts).
//!
//! Structure, as documented: "If multiple clauses are created in a single scoping filter, they're
//! evaluated together using "AND" logic" and "If multiple scoping filters are present, they're
//! evaluated together by using "OR" logic". With no filters every object is in scope ("By default,
//! Microsoft Entra provisioning connectors don't have any attribute-based scoping filters configured").
//!
//! Values are compared as text, case-sensitively (EQUALS, NOT EQUALS, Includes, ENDS_WITH, `&`, `!&`,
//! REGEX MATCH and NOT REGEX MATCH). Null and the empty string are "no value", and "Scoping filters
//! will return "false" if the value is null / empty": every operator except IS NULL is false on no
//! value, NOT EQUALS, NOT REGEX MATCH ("It returns "false" if the attribute is null / empty") and `!&`
//! included. IS NULL is true on no value ("true if the evaluated attribute is empty") and IS NOT NULL
//! false. The comparisons (Greater_Than, …) are on integers only: "The value specified on the scoping
//! filter must be an integer and the attribute on the user must be an integer"; a value that is not
//! an integer makes the clause false, with a reason saying so.
//!
//! `&` and `!&` follow the documentation's wording: "Clause returns "true" if the evaluated attribute
//! exists in the input string value" (and "does not exist" for `!&`): the clause's value contains the
//! attribute's value (case-sensitive), so `department & "Sales,Marketing"` holds for Sales and for
//! Marketing.
//!
//! Multi-valued attributes ("Filtering is not supported for multi-valued attributes"), a group's
//! members, references (manager) and dates ("appRoleAssignments, userType, manager and date
//! attributes can't be filtered on", E:known-issues) are refused when the filter is saved.
//!
//! [`CompiledScope`] is built once per configuration (regular expressions compiled, integers parsed)
//! and evaluated per object per cycle; its [`ScopeDecision`] explains every clause in words.

use crate::expr::suggest::closest;
use crate::expr::{Source, SourceSchema, Type, Value};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A clause's operator, serialized exactly as Entra writes it (`"EQUALS"`, `"NOT REGEX MATCH"`, `"&"`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScopeOperator {
    /// `EQUALS`: the attribute matches the value exactly (case-sensitive).
    #[serde(rename = "EQUALS")]
    Equals,
    /// `NOT EQUALS`: the attribute doesn't match the value (case-sensitive); false when it has no value.
    #[serde(rename = "NOT EQUALS")]
    NotEquals,
    /// `IS TRUE`: the attribute holds the boolean true.
    #[serde(rename = "IS TRUE")]
    IsTrue,
    /// `IS FALSE`: the attribute holds the boolean false.
    #[serde(rename = "IS FALSE")]
    IsFalse,
    /// `IS NULL`: the attribute is null or empty.
    #[serde(rename = "IS NULL")]
    IsNull,
    /// `IS NOT NULL`: the attribute has a value.
    #[serde(rename = "IS NOT NULL")]
    IsNotNull,
    /// `REGEX MATCH`: the attribute matches the regular expression (anywhere in it, case-sensitive).
    #[serde(rename = "REGEX MATCH")]
    RegexMatch,
    /// `NOT REGEX MATCH`: the attribute doesn't match the regular expression; false when it has no value.
    #[serde(rename = "NOT REGEX MATCH")]
    NotRegexMatch,
    /// `Includes`: the attribute contains the value (case-sensitive, .NET `String.Contains`).
    #[serde(rename = "Includes")]
    Includes,
    /// `ENDS_WITH`: the attribute ends with the value (case-sensitive).
    #[serde(rename = "ENDS_WITH")]
    EndsWith,
    /// `Greater_Than`: the attribute, an integer, is greater than the value.
    #[serde(rename = "Greater_Than")]
    GreaterThan,
    /// `Greater_Than_OR_EQUALS`: the attribute, an integer, is at least the value.
    #[serde(rename = "Greater_Than_OR_EQUALS")]
    GreaterThanOrEquals,
    /// `Less_Than`: the attribute, an integer, is less than the value.
    #[serde(rename = "Less_Than")]
    LessThan,
    /// `Less_Than_OR_EQUALS`: the attribute, an integer, is at most the value.
    #[serde(rename = "Less_Than_OR_EQUALS")]
    LessThanOrEquals,
    /// `&`: the attribute's value exists in (is contained in) the clause's value.
    #[serde(rename = "&")]
    ExistsIn,
    /// `!&`: the attribute's value does not exist in the clause's value; false when it has no value.
    #[serde(rename = "!&")]
    NotExistsIn,
}

impl ScopeOperator {
    /// Every operator, in the order the portal lists them.
    pub const ALL: [ScopeOperator; 16] = [
        ScopeOperator::Equals,
        ScopeOperator::NotEquals,
        ScopeOperator::IsTrue,
        ScopeOperator::IsFalse,
        ScopeOperator::IsNull,
        ScopeOperator::IsNotNull,
        ScopeOperator::RegexMatch,
        ScopeOperator::NotRegexMatch,
        ScopeOperator::Includes,
        ScopeOperator::EndsWith,
        ScopeOperator::GreaterThan,
        ScopeOperator::GreaterThanOrEquals,
        ScopeOperator::LessThan,
        ScopeOperator::LessThanOrEquals,
        ScopeOperator::ExistsIn,
        ScopeOperator::NotExistsIn,
    ];

    /// The operator as Entra writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeOperator::Equals => "EQUALS",
            ScopeOperator::NotEquals => "NOT EQUALS",
            ScopeOperator::IsTrue => "IS TRUE",
            ScopeOperator::IsFalse => "IS FALSE",
            ScopeOperator::IsNull => "IS NULL",
            ScopeOperator::IsNotNull => "IS NOT NULL",
            ScopeOperator::RegexMatch => "REGEX MATCH",
            ScopeOperator::NotRegexMatch => "NOT REGEX MATCH",
            ScopeOperator::Includes => "Includes",
            ScopeOperator::EndsWith => "ENDS_WITH",
            ScopeOperator::GreaterThan => "Greater_Than",
            ScopeOperator::GreaterThanOrEquals => "Greater_Than_OR_EQUALS",
            ScopeOperator::LessThan => "Less_Than",
            ScopeOperator::LessThanOrEquals => "Less_Than_OR_EQUALS",
            ScopeOperator::ExistsIn => "&",
            ScopeOperator::NotExistsIn => "!&",
        }
    }

    /// The operator written `text` (exact spelling), if there is one.
    pub fn parse(text: &str) -> Option<ScopeOperator> {
        ScopeOperator::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// Whether the clause needs a value (false for IS TRUE, IS FALSE, IS NULL, IS NOT NULL).
    pub fn takes_value(self) -> bool {
        !matches!(self, ScopeOperator::IsTrue | ScopeOperator::IsFalse | ScopeOperator::IsNull | ScopeOperator::IsNotNull)
    }

    /// Whether the operator compares integers.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            ScopeOperator::GreaterThan | ScopeOperator::GreaterThanOrEquals | ScopeOperator::LessThan | ScopeOperator::LessThanOrEquals
        )
    }

    /// Whether the value is a regular expression.
    pub fn is_regex(self) -> bool {
        matches!(self, ScopeOperator::RegexMatch | ScopeOperator::NotRegexMatch)
    }

    /// One line for the portal's help, after Entra's description.
    pub fn help(self) -> &'static str {
        match self {
            ScopeOperator::Equals => "true if the attribute matches the value exactly (case-sensitive)",
            ScopeOperator::NotEquals => "true if the attribute doesn't match the value (case-sensitive); false when it is empty",
            ScopeOperator::IsTrue => "true if the attribute holds the boolean value true",
            ScopeOperator::IsFalse => "true if the attribute holds the boolean value false",
            ScopeOperator::IsNull => "true if the attribute is empty",
            ScopeOperator::IsNotNull => "true if the attribute isn't empty",
            ScopeOperator::RegexMatch => "true if the attribute matches the regular expression (case-sensitive)",
            ScopeOperator::NotRegexMatch => "true if the attribute doesn't match the regular expression; false when it is empty",
            ScopeOperator::Includes => "true if the attribute contains the value (case-sensitive)",
            ScopeOperator::EndsWith => "true if the attribute ends with the value (case-sensitive)",
            ScopeOperator::GreaterThan => "true if the attribute is an integer greater than the value",
            ScopeOperator::GreaterThanOrEquals => "true if the attribute is an integer greater than or equal to the value",
            ScopeOperator::LessThan => "true if the attribute is an integer less than the value",
            ScopeOperator::LessThanOrEquals => "true if the attribute is an integer less than or equal to the value",
            ScopeOperator::ExistsIn => "true if the attribute exists in the value (the value contains it, case-sensitive)",
            ScopeOperator::NotExistsIn => "true if the attribute does not exist in the value; false when it is empty",
        }
    }
}

impl fmt::Display for ScopeOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One condition on one attribute: `department EQUALS Engineering`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopingClause {
    /// The source attribute's name, as in `[name]` (case-sensitive).
    pub attribute: String,
    /// The operator.
    pub operator: ScopeOperator,
    /// The value to compare with; none for IS TRUE, IS FALSE, IS NULL and IS NOT NULL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl ScopingClause {
    /// A clause.
    pub fn new(attribute: &str, operator: ScopeOperator, value: Option<&str>) -> ScopingClause {
        ScopingClause { attribute: attribute.to_string(), operator, value: value.map(str::to_string) }
    }

    /// The value, with an empty one as none.
    fn value_text(&self) -> Option<&str> {
        self.value.as_deref().filter(|v| !v.is_empty())
    }
}

impl fmt::Display for ScopingClause {
    /// `department EQUALS Engineering`, `jobTitle IS NOT NULL`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.attribute, self.operator)?;
        match self.value_text() {
            Some(v) if self.operator.takes_value() => write!(f, " {v}"),
            _ => Ok(()),
        }
    }
}

/// A titled set of clauses, all of which must hold (AND).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopingFilter {
    /// The "Scoping Filter Title".
    pub title: String,
    /// Its clauses, AND'd.
    #[serde(default)]
    pub clauses: Vec<ScopingClause>,
}

impl ScopingFilter {
    /// A filter.
    pub fn new(title: &str, clauses: Vec<ScopingClause>) -> ScopingFilter {
        ScopingFilter { title: title.to_string(), clauses }
    }
}

/// A problem with a scoping filter found when it is saved: which filter (by title), which clause
/// (1-based; none for the filter itself) and which field (`title`, `clauses`, `attribute`, `operator`,
/// `value`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
pub struct ScopeError {
    /// The filter's title.
    pub filter: String,
    /// The clause's number, from 1; none when the problem is with the filter itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clause: Option<usize>,
    /// The field at fault.
    pub field: String,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "scoping filter '{}'", self.filter)?;
        if let Some(n) = self.clause {
            write!(f, ", clause {n}")?;
        }
        write!(f, ", {}: {}", self.field, self.message)
    }
}

/// Checks filters before they are saved, against the attributes the source object has. Returns every
/// problem (empty when the filters are fine).
pub fn validate_filters(filters: &[ScopingFilter], schema: &SourceSchema) -> Vec<ScopeError> {
    let mut errors = Vec::new();
    for filter in filters {
        check_filter(filter, schema, &mut errors);
    }
    errors
}

fn check_filter(filter: &ScopingFilter, schema: &SourceSchema, errors: &mut Vec<ScopeError>) {
    let mut err = |clause: Option<usize>, field: &str, message: String| {
        errors.push(ScopeError { filter: filter.title.clone(), clause, field: field.to_string(), message })
    };
    if filter.title.trim().is_empty() {
        err(None, "title", "a scoping filter needs a title".to_string());
    }
    if filter.clauses.is_empty() {
        err(None, "clauses", "a scoping filter needs at least one clause".to_string());
    }
    for (i, c) in filter.clauses.iter().enumerate() {
        let n = Some(i + 1);
        let op = c.operator;
        let name = c.attribute.as_str();
        if name.trim().is_empty() {
            err(n, "attribute", "choose an attribute".to_string());
        } else {
            match schema.get(name) {
                None => {
                    let hint = closest(name, schema.names()).map(|k| format!(", did you mean '{k}'?")).unwrap_or_default();
                    err(n, "attribute", format!("unknown attribute '{name}'{hint}"));
                }
                Some(t) => {
                    if let Some(why) = unsupported(name, t) {
                        err(n, "attribute", why);
                    } else if matches!(op, ScopeOperator::IsTrue | ScopeOperator::IsFalse) && !matches!(t, Type::Boolean | Type::Any) {
                        err(n, "operator", format!("{op} applies to boolean attributes, but {name} is {}", t.described()));
                    } else if t == Type::Boolean && op.takes_value() {
                        err(n, "operator", format!("{name} is a boolean; use IS TRUE or IS FALSE (or IS NULL, IS NOT NULL)"));
                    }
                }
            }
        }
        match (op.takes_value(), c.value_text()) {
            (true, None) => err(n, "value", format!("{op} needs a value")),
            (false, Some(_)) => err(n, "value", format!("{op} takes no value; leave it empty")),
            (true, Some(v)) => {
                if op.is_comparison() && parse_integer(v).is_none() {
                    err(n, "value", format!("{op} compares integers, and '{v}' is not an integer"));
                }
                // (The browser's check-only build has no regex engine: the server checks the pattern.)
                #[cfg(feature = "eval")]
                if op.is_regex() {
                    if let Err(e) = fancy_regex::Regex::new(v) {
                        err(n, "value", format!("'{v}' is not a valid regular expression: {e}"));
                    }
                }
            }
            (false, None) => {}
        }
    }
}

/// Why an attribute of type `t` can't be filtered on, if it can't.
fn unsupported(name: &str, t: Type) -> Option<String> {
    match t {
        Type::Multi if name == "members" => Some("a group's members attribute can't be used in scoping filters".to_string()),
        Type::Multi => Some(format!("{name} is multi-valued; scoping filters don't support multi-valued attributes")),
        Type::Objects => Some(format!("{name} holds app role assignments, which scoping filters don't support")),
        Type::Reference => Some(format!("{name} is a reference to another object; references can't be used in scoping filters")),
        Type::DateTime => Some(format!("{name} is a date; date attributes can't be used in scoping filters")),
        _ => None,
    }
}

/// An integer as scoping filters accept it: decimal digits with an optional sign.
fn parse_integer(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

/// The regular expression of a REGEX MATCH clause.
#[cfg(feature = "eval")]
type ClauseRegex = fancy_regex::Regex;
/// Builds without the `eval` feature (the browser's check-only build) evaluate no regular expression.
#[cfg(not(feature = "eval"))]
type ClauseRegex = NoRegex;

/// Stands for a regular expression where there is no regex engine: it never compiles, so a REGEX
/// MATCH clause says "the regular expression is not valid" instead of guessing.
#[cfg(not(feature = "eval"))]
#[derive(Clone, Debug)]
struct NoRegex;

#[cfg(not(feature = "eval"))]
impl NoRegex {
    fn new(_: &str) -> Result<NoRegex, &'static str> {
        Err("regular expressions are evaluated by the server")
    }

    fn is_match(&self, _: &str) -> Result<bool, &'static str> {
        Ok(false)
    }
}

/// A clause ready to evaluate: its regular expression compiled or its integer parsed.
#[derive(Clone, Debug)]
struct CompiledClause {
    clause: ScopingClause,
    regex: Option<ClauseRegex>,
    number: Option<i64>,
}

/// A filter ready to evaluate.
#[derive(Clone, Debug)]
struct CompiledFilter {
    title: String,
    clauses: Vec<CompiledClause>,
}

/// Validated, compiled scoping filters: build once per configuration, evaluate per object.
#[derive(Clone, Debug, Default)]
pub struct CompiledScope {
    filters: Vec<CompiledFilter>,
}

/// The outcome of one clause.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClauseOutcome {
    /// The clause.
    pub clause: ScopingClause,
    /// Whether it held.
    pub passed: bool,
    /// Why, in words: `filter 'Engineering only': clause department EQUALS Engineering was false:
    /// department is 'Sales'`.
    pub reason: String,
}

/// The outcome of one filter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterOutcome {
    /// The filter's title.
    pub title: String,
    /// Whether every clause held.
    pub passed: bool,
    /// Each clause's outcome, in order.
    pub clauses: Vec<ClauseOutcome>,
}

/// Whether an object is in scope, with every filter's and clause's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeDecision {
    /// Whether the object is in scope.
    pub in_scope: bool,
    /// Each filter's outcome, in order.
    pub filters: Vec<FilterOutcome>,
    /// One line: `in scope: no scoping filters`, `in scope: filter 'X' matched`, or `out of scope: `
    /// and the first reason.
    pub summary: String,
}

impl CompiledScope {
    /// Validates `filters` against `schema` and compiles them; every problem when they are not valid.
    pub fn compile(filters: &[ScopingFilter], schema: &SourceSchema) -> Result<CompiledScope, Vec<ScopeError>> {
        let errors = validate_filters(filters, schema);
        if !errors.is_empty() {
            return Err(errors);
        }
        let filters = filters
            .iter()
            .map(|f| CompiledFilter {
                title: f.title.clone(),
                clauses: f
                    .clauses
                    .iter()
                    .map(|c| {
                        let value = c.value_text();
                        CompiledClause {
                            clause: c.clone(),
                            regex: value.filter(|_| c.operator.is_regex()).and_then(|v| ClauseRegex::new(v).ok()),
                            number: value.filter(|_| c.operator.is_comparison()).and_then(parse_integer),
                        }
                    })
                    .collect(),
            })
            .collect();
        Ok(CompiledScope { filters })
    }

    /// Whether there are no filters (everyone is in scope).
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// Evaluates every filter against one object.
    pub fn evaluate(&self, src: &dyn Source) -> ScopeDecision {
        if self.filters.is_empty() {
            return ScopeDecision { in_scope: true, filters: Vec::new(), summary: "in scope: no scoping filters".to_string() };
        }
        let filters: Vec<FilterOutcome> = self
            .filters
            .iter()
            .map(|f| {
                let clauses: Vec<ClauseOutcome> = f.clauses.iter().map(|c| c.evaluate(&f.title, src)).collect();
                FilterOutcome { title: f.title.clone(), passed: clauses.iter().all(|c| c.passed), clauses }
            })
            .collect();
        let summary = match filters.iter().find(|f| f.passed) {
            Some(f) => format!("in scope: filter '{}' matched", f.title),
            None => {
                let first = filters.iter().flat_map(|f| &f.clauses).find(|c| !c.passed).map_or("", |c| c.reason.as_str());
                if filters.len() == 1 {
                    format!("out of scope: {first}")
                } else {
                    format!("out of scope: none of the {} scoping filters matched; {first}", filters.len())
                }
            }
        };
        ScopeDecision { in_scope: filters.iter().any(|f| f.passed), filters, summary }
    }
}

/// How a value reads in a reason: `department is 'Sales'`, `department has no value`.
fn observed(name: &str, v: &Value) -> String {
    match v {
        Value::Null => format!("{name} has no value"),
        Value::Str(s) if s.is_empty() => format!("{name} is empty"),
        Value::Str(s) | Value::Ref(s) => format!("{name} is '{s}'"),
        Value::Bool(_) | Value::Int(_) => format!("{name} is {v}"),
        Value::Multi(_) | Value::Objects(_) => format!("{name} is multi-valued; scoping filters don't support multi-valued attributes"),
        Value::Date(_) => format!("{name} is '{v}'"),
    }
}

/// A boolean as IS TRUE / IS FALSE read it: a boolean, or the text True/False (any case).
fn boolean_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Str(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::Str(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// An integer as the comparisons read it: an integer, or text holding one.
fn integer_of(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Str(s) => parse_integer(s),
        _ => None,
    }
}

impl CompiledClause {
    fn evaluate(&self, title: &str, src: &dyn Source) -> ClauseOutcome {
        let c = &self.clause;
        let name = c.attribute.as_str();
        let v = src.get(name);
        let (passed, detail) = self.test(name, &v);
        let reason = format!("filter '{title}': clause {c} was {passed}: {detail}");
        ClauseOutcome { clause: c.clone(), passed, reason }
    }

    /// Whether the clause holds for value `v` of attribute `name`, and what was seen.
    fn test(&self, name: &str, v: &Value) -> (bool, String) {
        let op = self.clause.operator;
        let seen = observed(name, v);
        let empty = v.is_null_or_empty();
        match op {
            ScopeOperator::IsNull => return (empty, seen),
            ScopeOperator::IsNotNull => return (!empty, seen),
            _ if empty || matches!(v, Value::Multi(_) | Value::Objects(_)) => return (false, seen),
            _ => {}
        }
        let want = self.clause.value_text().unwrap_or("");
        let text = v.text_or_empty();
        let text = text.as_ref();
        match op {
            ScopeOperator::IsTrue | ScopeOperator::IsFalse => match boolean_of(v) {
                Some(b) => (b == (op == ScopeOperator::IsTrue), seen),
                None => (false, format!("{seen}, not a boolean")),
            },
            ScopeOperator::Equals => (text == want, seen),
            ScopeOperator::NotEquals => (text != want, seen),
            ScopeOperator::Includes => (text.contains(want), seen),
            ScopeOperator::EndsWith => (text.ends_with(want), seen),
            ScopeOperator::ExistsIn => (want.contains(text), seen),
            ScopeOperator::NotExistsIn => (!want.contains(text), seen),
            ScopeOperator::RegexMatch | ScopeOperator::NotRegexMatch => match self.regex.as_ref().map(|r| r.is_match(text)) {
                Some(Ok(m)) => (m == (op == ScopeOperator::RegexMatch), seen),
                Some(Err(e)) => (false, format!("{seen}, and the regular expression could not be evaluated: {e}")),
                None => (false, "the regular expression is not valid".to_string()),
            },
            ScopeOperator::GreaterThan | ScopeOperator::GreaterThanOrEquals | ScopeOperator::LessThan | ScopeOperator::LessThanOrEquals => {
                let (Some(have), Some(limit)) = (integer_of(v), self.number) else {
                    return (false, format!("{seen}, not an integer"));
                };
                let passed = match op {
                    ScopeOperator::GreaterThan => have > limit,
                    ScopeOperator::GreaterThanOrEquals => have >= limit,
                    ScopeOperator::LessThan => have < limit,
                    _ => have <= limit,
                };
                (passed, seen)
            }
            ScopeOperator::IsNull | ScopeOperator::IsNotNull => unreachable!("handled above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::tests::sample_user;
    use crate::source::{group_schema, user_schema};
    use std::collections::HashMap;

    /// A source object from `(name, value)` pairs.
    struct Obj(HashMap<String, Value>);

    impl Source for Obj {
        fn get(&self, name: &str) -> Value {
            self.0.get(name).cloned().unwrap_or(Value::Null)
        }
    }

    fn obj(pairs: &[(&str, Value)]) -> Obj {
        Obj(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    fn s(v: &str) -> Value {
        Value::str(v)
    }

    fn schema() -> SourceSchema {
        SourceSchema::new([
            ("department", Type::String),
            ("userPrincipalName", Type::String),
            ("employeeId", Type::String),
            ("jobTitle", Type::String),
            ("city", Type::String),
            ("level", Type::Integer),
            ("accountEnabled", Type::Boolean),
            ("otherMails", Type::Multi),
            ("manager", Type::Reference),
            ("createdDateTime", Type::DateTime),
            ("appRoleAssignments", Type::Objects),
        ])
        .with_extensions()
    }

    fn scope(filters: &[ScopingFilter]) -> CompiledScope {
        CompiledScope::compile(filters, &schema()).unwrap_or_else(|e| panic!("{e:?}"))
    }

    /// Whether a single clause holds for `value` of `attr`.
    fn holds(attr: &str, op: ScopeOperator, value: Option<&str>, v: Value) -> bool {
        let f = ScopingFilter::new("t", vec![ScopingClause::new(attr, op, value)]);
        scope(&[f]).evaluate(&obj(&[(attr, v)])).in_scope
    }

    use ScopeOperator as Op;

    #[test]
    fn serde_names_are_entras() {
        let names: Vec<String> = ScopeOperator::ALL.iter().map(|o| serde_json::to_string(o).unwrap()).collect();
        assert_eq!(
            names.join(","),
            r#""EQUALS","NOT EQUALS","IS TRUE","IS FALSE","IS NULL","IS NOT NULL","REGEX MATCH","NOT REGEX MATCH","Includes","ENDS_WITH","Greater_Than","Greater_Than_OR_EQUALS","Less_Than","Less_Than_OR_EQUALS","&","!&""#
        );
        for o in ScopeOperator::ALL {
            assert_eq!(ScopeOperator::parse(o.as_str()), Some(o));
            assert_eq!(serde_json::from_str::<ScopeOperator>(&serde_json::to_string(&o).unwrap()).unwrap(), o);
        }
        let f: ScopingFilter = serde_json::from_str(
            r#"{"title":"Sales","clauses":[{"attribute":"department","operator":"EQUALS","value":"Sales"},
                {"attribute":"jobTitle","operator":"IS NOT NULL"}]}"#,
        )
        .unwrap();
        assert_eq!(f.clauses[0], ScopingClause::new("department", Op::Equals, Some("Sales")));
        assert_eq!(f.clauses[1].value, None);
        assert_eq!(f.clauses[1].to_string(), "jobTitle IS NOT NULL");
        assert_eq!(serde_json::to_value(&f.clauses[1]).unwrap(), serde_json::json!({"attribute":"jobTitle","operator":"IS NOT NULL"}));
    }

    #[test]
    fn equals_and_not_equals_are_case_sensitive_and_false_on_null() {
        assert!(holds("department", Op::Equals, Some("Sales"), s("Sales")));
        assert!(!holds("department", Op::Equals, Some("sales"), s("Sales")));
        assert!(!holds("department", Op::Equals, Some("Sales"), Value::Null));
        assert!(holds("department", Op::NotEquals, Some("sales"), s("Sales")));
        assert!(!holds("department", Op::NotEquals, Some("Sales"), s("Sales")));
        // "Scoping filters will return "false" if the value is null / empty."
        assert!(!holds("department", Op::NotEquals, Some("Sales"), Value::Null));
        assert!(!holds("department", Op::NotEquals, Some("Sales"), s("")));
        // Integers and booleans compare as their text.
        assert!(holds("level", Op::Equals, Some("7"), Value::Int(7)));
    }

    #[test]
    fn booleans() {
        assert!(holds("accountEnabled", Op::IsTrue, None, Value::Bool(true)));
        assert!(!holds("accountEnabled", Op::IsTrue, None, Value::Bool(false)));
        assert!(holds("accountEnabled", Op::IsFalse, None, Value::Bool(false)));
        assert!(!holds("accountEnabled", Op::IsFalse, None, Value::Null));
        assert!(!holds("accountEnabled", Op::IsTrue, None, Value::Null));
        // Text True/False (an extension attribute) reads as a boolean, any case; other text is neither.
        assert!(holds("extension_flag", Op::IsTrue, None, s("TRUE")));
        assert!(holds("extension_flag", Op::IsFalse, None, s("false")));
        assert!(!holds("extension_flag", Op::IsTrue, None, s("yes")));
        assert!(!holds("extension_flag", Op::IsFalse, None, s("yes")));
    }

    #[test]
    fn null_checks() {
        assert!(holds("jobTitle", Op::IsNull, None, Value::Null));
        assert!(holds("jobTitle", Op::IsNull, None, s("")));
        assert!(!holds("jobTitle", Op::IsNull, None, s("Engineer")));
        assert!(holds("jobTitle", Op::IsNotNull, None, s("Engineer")));
        assert!(!holds("jobTitle", Op::IsNotNull, None, Value::Null));
        assert!(!holds("jobTitle", Op::IsNotNull, None, s("")));
    }

    #[test]
    fn regexes_search_case_sensitively_and_not_regex_is_false_on_null() {
        // Entra's examples: userPrincipalName REGEX MATCH .*\@domain.com, and ([1-9][0-9]).
        assert!(holds("userPrincipalName", Op::RegexMatch, Some(r".*\@domain.com"), s("ann@domain.com")));
        assert!(!holds("userPrincipalName", Op::RegexMatch, Some(r".*\@domain.com"), s("ann@other.com")));
        assert!(!holds("userPrincipalName", Op::RegexMatch, Some(r".*\@domain.com"), s("ANN@DOMAIN.COM")));
        assert!(holds("userPrincipalName", Op::NotRegexMatch, Some(r".*\@domain.com"), s("ann@other.com")));
        assert!(!holds("userPrincipalName", Op::NotRegexMatch, Some(r".*\@domain.com"), s("ann@domain.com")));
        assert!(!holds("userPrincipalName", Op::NotRegexMatch, Some(r".*\@domain.com"), Value::Null));
        assert!(!holds("userPrincipalName", Op::RegexMatch, Some(r".*"), Value::Null));
        assert!(holds("employeeId", Op::RegexMatch, Some("([1-9][0-9])"), s("42")));
        assert!(!holds("employeeId", Op::RegexMatch, Some("([1-9][0-9])"), s("7")));
        // workerID between 1000000 and 2000000: (1[0-9][0-9][0-9][0-9][0-9][0-9]).
        assert!(holds("employeeId", Op::RegexMatch, Some("(1[0-9][0-9][0-9][0-9][0-9][0-9])"), s("1500000")));
        assert!(!holds("employeeId", Op::RegexMatch, Some("(1[0-9][0-9][0-9][0-9][0-9][0-9])"), s("2500000")));
        // .NET features: look-around and backreferences work.
        assert!(holds("city", Op::RegexMatch, Some(r"^(?!Paris$)"), s("Berlin")));
        assert!(!holds("city", Op::RegexMatch, Some(r"^(?!Paris$)"), s("Paris")));
        assert!(holds("city", Op::RegexMatch, Some(r"(.)\1"), s("Tallinn")));
        // (?i) asks for case-insensitivity explicitly.
        assert!(holds("department", Op::RegexMatch, Some("(?i)^sales$"), s("SALES")));
    }

    #[test]
    fn includes_ends_with_and_exists_in() {
        assert!(holds("userPrincipalName", Op::Includes, Some("@contoso"), s("ann@contoso.com")));
        assert!(!holds("userPrincipalName", Op::Includes, Some("@Contoso"), s("ann@contoso.com")));
        assert!(!holds("userPrincipalName", Op::Includes, Some("@contoso"), Value::Null));
        assert!(holds("userPrincipalName", Op::EndsWith, Some("@contoso.com"), s("ann@contoso.com")));
        assert!(!holds("userPrincipalName", Op::EndsWith, Some("@CONTOSO.COM"), s("ann@contoso.com")));
        assert!(!holds("userPrincipalName", Op::EndsWith, Some(".com"), Value::Null));
        // & : the attribute exists in the input string value.
        assert!(holds("department", Op::ExistsIn, Some("Sales,Marketing"), s("Marketing")));
        assert!(!holds("department", Op::ExistsIn, Some("Sales,Marketing"), s("Engineering")));
        assert!(!holds("department", Op::ExistsIn, Some("Sales,Marketing"), s("sales")));
        assert!(!holds("department", Op::ExistsIn, Some("Sales,Marketing"), Value::Null));
        assert!(!holds("department", Op::ExistsIn, Some("Sales,Marketing"), s("")));
        assert!(holds("department", Op::NotExistsIn, Some("Sales,Marketing"), s("Engineering")));
        assert!(!holds("department", Op::NotExistsIn, Some("Sales,Marketing"), s("Sales")));
        assert!(!holds("department", Op::NotExistsIn, Some("Sales,Marketing"), Value::Null));
    }

    #[test]
    fn comparisons_are_on_integers_only() {
        let gt = |v: Value| holds("employeeId", Op::GreaterThan, Some("1000000"), v);
        assert!(gt(s("1000001")));
        assert!(!gt(s("1000000")));
        assert!(gt(s(" 2000000 ")));
        assert!(gt(Value::Int(1_500_000)));
        assert!(!gt(s("E1000001")));
        assert!(!gt(s("1.5e7")));
        assert!(!gt(Value::Null));
        assert!(holds("level", Op::GreaterThanOrEquals, Some("3"), Value::Int(3)));
        assert!(!holds("level", Op::GreaterThanOrEquals, Some("3"), Value::Int(2)));
        assert!(holds("level", Op::LessThan, Some("3"), Value::Int(2)));
        assert!(!holds("level", Op::LessThan, Some("3"), Value::Int(3)));
        assert!(holds("level", Op::LessThanOrEquals, Some("-1"), Value::Int(-1)));
        assert!(!holds("level", Op::LessThanOrEquals, Some("-1"), Value::Int(0)));
        // Numeric, not textual: 10 > 9.
        assert!(holds("level", Op::GreaterThan, Some("9"), s("10")));
    }

    #[test]
    fn entras_example_filter_is_anded() {
        // "They must be in New York. They must work in the Engineering department. Their company
        // employee ID must be between 1,000,000 and 2,000,000. Their job title must not be null."
        let f = ScopingFilter::new(
            "New York engineers",
            vec![
                ScopingClause::new("city", Op::Equals, Some("New York")),
                ScopingClause::new("department", Op::Equals, Some("Engineering")),
                ScopingClause::new("employeeId", Op::GreaterThanOrEquals, Some("1000000")),
                ScopingClause::new("employeeId", Op::LessThanOrEquals, Some("2000000")),
                ScopingClause::new("jobTitle", Op::IsNotNull, None),
            ],
        );
        let sc = scope(&[f]);
        let ok = obj(&[("city", s("New York")), ("department", s("Engineering")), ("employeeId", s("1500000")), ("jobTitle", s("Dev"))]);
        let d = sc.evaluate(&ok);
        assert!(d.in_scope);
        assert_eq!(d.summary, "in scope: filter 'New York engineers' matched");
        assert!(d.filters[0].clauses.iter().all(|c| c.passed));
        let d = sc.evaluate(&obj(&[("city", s("New York")), ("department", s("Engineering")), ("employeeId", s("2500000"))]));
        assert!(!d.in_scope);
        let failed: Vec<&str> = d.filters[0].clauses.iter().filter(|c| !c.passed).map(|c| c.reason.as_str()).collect();
        assert_eq!(
            failed,
            [
                "filter 'New York engineers': clause employeeId Less_Than_OR_EQUALS 2000000 was false: employeeId is '2500000'",
                "filter 'New York engineers': clause jobTitle IS NOT NULL was false: jobTitle has no value",
            ]
        );
        assert_eq!(d.summary, format!("out of scope: {}", failed[0]));
    }

    #[test]
    fn filters_are_ored_and_no_filters_means_everyone() {
        let none = CompiledScope::compile(&[], &schema()).unwrap();
        assert!(none.is_empty());
        let d = none.evaluate(&obj(&[]));
        assert!(d.in_scope);
        assert_eq!(d.summary, "in scope: no scoping filters");
        assert!(d.filters.is_empty());

        let sc = scope(&[
            ScopingFilter::new("Engineering only", vec![ScopingClause::new("department", Op::Equals, Some("Engineering"))]),
            ScopingFilter::new("Paris office", vec![ScopingClause::new("city", Op::Equals, Some("Paris"))]),
        ]);
        let d = sc.evaluate(&obj(&[("department", s("Sales")), ("city", s("Paris"))]));
        assert!(d.in_scope);
        assert_eq!(d.summary, "in scope: filter 'Paris office' matched");
        assert_eq!((d.filters[0].passed, d.filters[1].passed), (false, true));

        let d = sc.evaluate(&obj(&[("department", s("Sales"))]));
        assert!(!d.in_scope);
        assert_eq!(
            d.summary,
            "out of scope: none of the 2 scoping filters matched; filter 'Engineering only': clause department EQUALS Engineering was false: department is 'Sales'"
        );
        assert_eq!(d.filters[1].clauses[0].reason, "filter 'Paris office': clause city EQUALS Paris was false: city has no value");
    }

    #[test]
    fn reasons_read_as_sentences() {
        let one = |c: ScopingClause, v: Value| {
            let attr = c.attribute.clone();
            scope(&[ScopingFilter::new("Engineering only", vec![c])]).evaluate(&obj(&[(&attr, v)]))
        };
        let d = one(ScopingClause::new("department", Op::Equals, Some("Engineering")), s("Sales"));
        assert_eq!(
            d.summary,
            "out of scope: filter 'Engineering only': clause department EQUALS Engineering was false: department is 'Sales'"
        );
        let d = one(ScopingClause::new("department", Op::Equals, Some("Engineering")), Value::Null);
        assert_eq!(
            d.summary,
            "out of scope: filter 'Engineering only': clause department EQUALS Engineering was false: department has no value"
        );
        let d = one(ScopingClause::new("department", Op::Equals, Some("Engineering")), s(""));
        assert_eq!(
            d.filters[0].clauses[0].reason,
            "filter 'Engineering only': clause department EQUALS Engineering was false: department is empty"
        );
        let d = one(ScopingClause::new("department", Op::Equals, Some("Engineering")), s("Engineering"));
        assert_eq!(
            d.filters[0].clauses[0].reason,
            "filter 'Engineering only': clause department EQUALS Engineering was true: department is 'Engineering'"
        );
        let d = one(ScopingClause::new("employeeId", Op::GreaterThan, Some("10")), s("E100"));
        assert_eq!(
            d.filters[0].clauses[0].reason,
            "filter 'Engineering only': clause employeeId Greater_Than 10 was false: employeeId is 'E100', not an integer"
        );
        let d = one(ScopingClause::new("accountEnabled", Op::IsTrue, None), Value::Bool(false));
        assert_eq!(
            d.filters[0].clauses[0].reason,
            "filter 'Engineering only': clause accountEnabled IS TRUE was false: accountEnabled is False"
        );
        let d = one(ScopingClause::new("extension_x", Op::IsTrue, None), s("maybe"));
        assert_eq!(
            d.filters[0].clauses[0].reason,
            "filter 'Engineering only': clause extension_x IS TRUE was false: extension_x is 'maybe', not a boolean"
        );
        let d = one(ScopingClause::new("extension_x", Op::Equals, Some("a")), Value::Multi(vec!["a".into()]));
        assert_eq!(
            d.filters[0].clauses[0].reason,
            "filter 'Engineering only': clause extension_x EQUALS a was false: extension_x is multi-valued; scoping filters don't support multi-valued attributes"
        );
    }

    fn errors(filters: &[ScopingFilter]) -> Vec<String> {
        validate_filters(filters, &schema()).iter().map(|e| e.to_string()).collect()
    }

    fn clause_errors(c: ScopingClause) -> Vec<String> {
        errors(&[ScopingFilter::new("F", vec![c])])
    }

    #[test]
    fn validation_names_filter_clause_and_field() {
        assert_eq!(
            clause_errors(ScopingClause::new("departmnt", Op::Equals, Some("x"))),
            ["scoping filter 'F', clause 1, attribute: unknown attribute 'departmnt', did you mean 'department'?"]
        );
        assert_eq!(
            clause_errors(ScopingClause::new("zzz", Op::Equals, Some("x"))),
            ["scoping filter 'F', clause 1, attribute: unknown attribute 'zzz'"]
        );
        assert_eq!(
            clause_errors(ScopingClause::new("", Op::Equals, Some("x"))),
            ["scoping filter 'F', clause 1, attribute: choose an attribute"]
        );
        assert_eq!(
            clause_errors(ScopingClause::new("department", Op::Equals, None)),
            ["scoping filter 'F', clause 1, value: EQUALS needs a value"]
        );
        assert_eq!(
            clause_errors(ScopingClause::new("department", Op::Includes, Some(""))),
            ["scoping filter 'F', clause 1, value: Includes needs a value"]
        );
        assert_eq!(
            clause_errors(ScopingClause::new("department", Op::IsNull, Some("x"))),
            ["scoping filter 'F', clause 1, value: IS NULL takes no value; leave it empty"]
        );
        assert!(clause_errors(ScopingClause::new("department", Op::IsNull, Some(""))).is_empty());
        assert_eq!(
            clause_errors(ScopingClause::new("employeeId", Op::GreaterThan, Some("1e6"))),
            ["scoping filter 'F', clause 1, value: Greater_Than compares integers, and '1e6' is not an integer"]
        );
        assert!(clause_errors(ScopingClause::new("employeeId", Op::LessThan, Some("-5"))).is_empty());
        let e = clause_errors(ScopingClause::new("department", Op::RegexMatch, Some("([a-z]")));
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("scoping filter 'F', clause 1, value: '([a-z]' is not a valid regular expression: "), "{}", e[0]);
        assert_eq!(
            clause_errors(ScopingClause::new("department", Op::IsTrue, None)),
            ["scoping filter 'F', clause 1, operator: IS TRUE applies to boolean attributes, but department is a string"]
        );
        assert_eq!(
            clause_errors(ScopingClause::new("accountEnabled", Op::Equals, Some("True"))),
            ["scoping filter 'F', clause 1, operator: accountEnabled is a boolean; use IS TRUE or IS FALSE (or IS NULL, IS NOT NULL)"]
        );
        assert!(clause_errors(ScopingClause::new("accountEnabled", Op::IsNull, None)).is_empty());
        assert!(clause_errors(ScopingClause::new("extension_flag", Op::IsTrue, None)).is_empty());
    }

    #[test]
    fn unsupported_attributes_are_refused() {
        let one = |a: &str| clause_errors(ScopingClause::new(a, Op::IsNotNull, None));
        assert_eq!(
            one("otherMails"),
            ["scoping filter 'F', clause 1, attribute: otherMails is multi-valued; scoping filters don't support multi-valued attributes"]
        );
        assert_eq!(
            one("manager"),
            ["scoping filter 'F', clause 1, attribute: manager is a reference to another object; references can't be used in scoping filters"]
        );
        assert_eq!(
            one("createdDateTime"),
            ["scoping filter 'F', clause 1, attribute: createdDateTime is a date; date attributes can't be used in scoping filters"]
        );
        assert_eq!(
            one("appRoleAssignments"),
            ["scoping filter 'F', clause 1, attribute: appRoleAssignments holds app role assignments, which scoping filters don't support"]
        );
        let e = validate_filters(&[ScopingFilter::new("G", vec![ScopingClause::new("members", Op::IsNotNull, None)])], &group_schema());
        assert_eq!(e[0].message, "a group's members attribute can't be used in scoping filters");
    }

    #[test]
    fn every_problem_is_reported_with_its_place() {
        let e = validate_filters(
            &[
                ScopingFilter::new("", vec![]),
                ScopingFilter::new(
                    "Two",
                    vec![ScopingClause::new("department", Op::Equals, Some("x")), ScopingClause::new("otherMails", Op::Equals, None)],
                ),
            ],
            &schema(),
        );
        let got: Vec<(&str, Option<usize>, &str)> = e.iter().map(|e| (e.filter.as_str(), e.clause, e.field.as_str())).collect();
        assert_eq!(got, [("", None, "title"), ("", None, "clauses"), ("Two", Some(2), "attribute"), ("Two", Some(2), "value")]);
        assert_eq!(e[0].to_string(), "scoping filter '', title: a scoping filter needs a title");
        assert_eq!(
            serde_json::to_value(&e[2]).unwrap(),
            serde_json::json!({"filter":"Two","clause":2,"field":"attribute",
                "message":"otherMails is multi-valued; scoping filters don't support multi-valued attributes"})
        );
        assert!(CompiledScope::compile(&[ScopingFilter::new("", vec![])], &schema()).is_err());
    }

    #[test]
    fn directory_users_are_scoped() {
        let sc = CompiledScope::compile(
            &[ScopingFilter::new(
                "Engineering only",
                vec![
                    ScopingClause::new("department", Op::Equals, Some("Engineering")),
                    ScopingClause::new("accountEnabled", Op::IsTrue, None),
                    ScopingClause::new("extension_costCenter", Op::GreaterThan, Some("40")),
                ],
            )],
            &user_schema(),
        )
        .unwrap();
        let mut u = sample_user();
        assert_eq!(sc.evaluate(&u).summary, "in scope: filter 'Engineering only' matched");
        u.department = Some("Sales".into());
        assert_eq!(
            sc.evaluate(&u).summary,
            "out of scope: filter 'Engineering only': clause department EQUALS Engineering was false: department is 'Sales'"
        );
        u.department = None;
        assert_eq!(
            sc.evaluate(&u).summary,
            "out of scope: filter 'Engineering only': clause department EQUALS Engineering was false: department has no value"
        );
    }
}
