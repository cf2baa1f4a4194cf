//! Typed values that expressions read and produce, and how they become text (as Entra formats them).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// A value in an expression.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// No value. Never sent to a target.
    #[default]
    Null,
    /// A single string.
    Str(String),
    /// A multi-valued attribute (`otherMails`, `businessPhones`, `Split` results).
    Multi(Vec<String>),
    /// True or False.
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A UTC date and time.
    Date(DateTime<Utc>),
    /// A reference to another object (a manager, a group member), by its source id.
    Ref(String),
    /// Complex values such as SCIM `roles` entries (from `AppRoleAssignmentsComplex`, or the source's
    /// `appRoleAssignments`: objects with `id`, `value` and `displayName`).
    Objects(Vec<serde_json::Map<String, serde_json::Value>>),
}

/// The static type of a value, as checked when an expression is saved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Type {
    /// Not known until evaluation (any of the others).
    Any,
    /// A single string.
    String,
    /// Many strings.
    Multi,
    /// True or False.
    Boolean,
    /// A whole number.
    Integer,
    /// A UTC date and time.
    DateTime,
    /// A reference to another object.
    Reference,
    /// Complex objects (app role assignments, SCIM roles).
    Objects,
}

impl Type {
    /// The type's name in messages: "a string", "a multi-valued attribute", ….
    pub fn described(self) -> &'static str {
        match self {
            Type::Any => "any value",
            Type::String => "a string",
            Type::Multi => "a multi-valued attribute",
            Type::Boolean => "a boolean",
            Type::Integer => "an integer",
            Type::DateTime => "a date-time",
            Type::Reference => "a reference",
            Type::Objects => "complex values (app role assignments)",
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Type::Any => "Any",
            Type::String => "String",
            Type::Multi => "Multi",
            Type::Boolean => "Boolean",
            Type::Integer => "Integer",
            Type::DateTime => "DateTime",
            Type::Reference => "Reference",
            Type::Objects => "Objects",
        })
    }
}

/// How Entra writes a date-time as text: `M/d/yyyy h:mm:ss tt` in UTC ("3/16/2020 7:00:00 AM"),
/// the format its CDate, DateAdd and Now results are documented in.
pub fn format_entra_date(d: &DateTime<Utc>) -> String {
    d.format("%-m/%-d/%Y %-I:%M:%S %p").to_string()
}

impl Value {
    /// This value's type.
    pub fn type_of(&self) -> Type {
        match self {
            Value::Null => Type::Any,
            Value::Str(_) => Type::String,
            Value::Multi(_) => Type::Multi,
            Value::Bool(_) => Type::Boolean,
            Value::Int(_) => Type::Integer,
            Value::Date(_) => Type::DateTime,
            Value::Ref(_) => Type::Reference,
            Value::Objects(_) => Type::Objects,
        }
    }

    /// A string value.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// A string value, or null when `s` is `None`.
    pub fn opt(s: Option<&str>) -> Value {
        s.map_or(Value::Null, |s| Value::Str(s.to_string()))
    }

    /// Whether this is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Null, an empty string, or a multi-value with no entries.
    pub fn is_null_or_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Str(s) => s.is_empty(),
            Value::Multi(v) => v.is_empty(),
            Value::Objects(v) => v.is_empty(),
            _ => false,
        }
    }

    /// The value as text, as Entra converts it: booleans "True"/"False", integers in decimal, dates as
    /// `M/d/yyyy h:mm:ss tt`, references as the referenced id, a multi-value as its first entry.
    /// Null has no text.
    pub fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Null => None,
            Value::Str(s) => Some(Cow::Borrowed(s)),
            Value::Multi(v) => v.first().map(|s| Cow::Borrowed(s.as_str())),
            Value::Bool(b) => Some(Cow::Borrowed(if *b { "True" } else { "False" })),
            Value::Int(i) => Some(Cow::Owned(i.to_string())),
            Value::Date(d) => Some(Cow::Owned(format_entra_date(d))),
            Value::Ref(id) => Some(Cow::Borrowed(id)),
            Value::Objects(v) => v.first().and_then(|o| o.get("value")).and_then(|v| v.as_str()).map(Cow::Borrowed),
        }
    }

    /// The value as text, with null as the empty string.
    pub fn text_or_empty(&self) -> Cow<'_, str> {
        self.text().unwrap_or(Cow::Borrowed(""))
    }

    /// Consumes the value into owned text (null is `None`).
    pub fn into_text(self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s),
            Value::Ref(s) => Some(s),
            Value::Multi(v) => v.into_iter().next(),
            other => other.text().map(Cow::into_owned),
        }
    }

    /// Every entry: a multi-value's entries, a single value as one entry, null as none.
    pub fn entries(&self) -> Vec<Cow<'_, str>> {
        match self {
            Value::Null => Vec::new(),
            Value::Multi(v) => v.iter().map(|s| Cow::Borrowed(s.as_str())).collect(),
            Value::Objects(v) => v.iter().filter_map(|o| o.get("value").and_then(|v| v.as_str())).map(Cow::Borrowed).collect(),
            other => other.text().into_iter().collect(),
        }
    }

    /// The value as a boolean: booleans as they are, "True"/"False" (any case), non-zero integers are
    /// true. Null and anything else are `None`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Int(i) => Some(*i != 0),
            Value::Str(s) => parse_bool(s).or_else(|| s.trim().parse::<i64>().ok().map(|i| i != 0)),
            _ => None,
        }
    }

    /// The value as an integer: integers, and strings holding one (decimal, or `&H` hexadecimal).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(if *b { -1 } else { 0 }),
            Value::Str(s) => parse_int(s.trim()),
            Value::Multi(v) if v.len() == 1 => parse_int(v[0].trim()),
            _ => None,
        }
    }

    /// A JSON rendering for APIs and logs (dates as ISO 8601, objects as they are).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Str(s) | Value::Ref(s) => J::String(s.clone()),
            Value::Multi(v) => J::Array(v.iter().cloned().map(J::String).collect()),
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Date(d) => J::String(d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            Value::Objects(v) => J::Array(v.iter().cloned().map(J::Object).collect()),
        }
    }
}

/// Parses "True" or "False" in any case, around spaces.
pub fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Parses `123`, `-4` or `&HF7`.
pub fn parse_int(s: &str) -> Option<i64> {
    if let Some(hex) = s.strip_prefix("&H").or_else(|| s.strip_prefix("&h")) {
        i64::from_str_radix(hex, 16).ok()
    } else {
        s.parse().ok()
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Multi(v) => write!(f, "[{}]", v.join(", ")),
            other => f.write_str(&other.text_or_empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn text_follows_entra_formatting() {
        assert_eq!(Value::Bool(true).text().unwrap(), "True");
        assert_eq!(Value::Bool(false).text().unwrap(), "False");
        assert_eq!(Value::Int(-7).text().unwrap(), "-7");
        let d = Utc.with_ymd_and_hms(2020, 3, 16, 7, 0, 0).unwrap();
        assert_eq!(Value::Date(d).text().unwrap(), "3/16/2020 7:00:00 AM");
        let d = Utc.with_ymd_and_hms(2021, 6, 29, 16, 5, 9).unwrap();
        assert_eq!(Value::Date(d).text().unwrap(), "6/29/2021 4:05:09 PM");
        assert_eq!(Value::Null.text(), None);
        assert_eq!(Value::Multi(vec!["a".into(), "b".into()]).text().unwrap(), "a");
    }

    #[test]
    fn conversions() {
        assert_eq!(Value::str("TRUE").as_bool(), Some(true));
        assert_eq!(Value::str("0").as_bool(), Some(false));
        assert_eq!(Value::str("x").as_bool(), None);
        assert_eq!(Value::str("&HF7").as_int(), Some(247));
        assert_eq!(Value::str(" 12 ").as_int(), Some(12));
        assert!(Value::Multi(vec![]).is_null_or_empty());
        assert!(!Value::Bool(false).is_null_or_empty());
    }
}
