//! The target's attribute list ("Edit attribute list" in Entra): what a mapping may write, with the
//! columns Entra shows (E:customize-application-attributes): Name, Type
//! (Binary/Boolean/DateTime/Integer/Reference/String), Primary Key, Required, Multi-value, Exact case,
//! API Expression and Referenced Object Attribute.
//!
//! Names are SCIM attribute paths (RFC 7644 §3.10): `userName`, `name.givenName`,
//! `emails[type eq "work"].value`, or extension paths with their schema URN in front,
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`. [`ScimPath`] parses them.

use super::ObjectType;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The SCIM core User schema URN.
pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The SCIM core Group schema URN.
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The SCIM enterprise User extension URN (RFC 7643 §4.3).
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The type of a target attribute, as Entra's attribute list names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TargetType {
    /// Binary data.
    Binary,
    /// True or False.
    Boolean,
    /// A date string.
    DateTime,
    /// An integer.
    Integer,
    /// An id that references another object in the target.
    Reference,
    /// A text string.
    String,
}

impl TargetType {
    /// The type in messages: "a boolean", "a reference", ….
    pub fn described(self) -> &'static str {
        match self {
            TargetType::Binary => "binary data",
            TargetType::Boolean => "a boolean",
            TargetType::DateTime => "a date-time",
            TargetType::Integer => "an integer",
            TargetType::Reference => "a reference",
            TargetType::String => "a string",
        }
    }
}

/// One row of the target's attribute list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetAttribute {
    /// The attribute's SCIM path.
    pub name: String,
    /// What it holds.
    #[serde(rename = "type")]
    pub attr_type: TargetType,
    /// Whether it is the target's primary key (`id`; the target assigns it, so it isn't mapped).
    #[serde(default)]
    pub primary_key: bool,
    /// Whether the target requires it; a mapping must write it.
    #[serde(default)]
    pub required: bool,
    /// Whether it holds several values.
    #[serde(default)]
    pub multi_valued: bool,
    /// Whether the target compares its values case-sensitively.
    #[serde(default)]
    pub exact_case: bool,
    /// Connector-specific expression (Entra: "Don't use, unless instructed to"); kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_expression: Option<String>,
    /// For a Reference: the kind of object it refers to (`User`, `Group`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referenced_object: Option<String>,
}

impl TargetAttribute {
    /// An optional, single-valued, case-insensitive attribute.
    pub fn new(name: &str, attr_type: TargetType) -> TargetAttribute {
        TargetAttribute {
            name: name.to_string(),
            attr_type,
            primary_key: false,
            required: false,
            multi_valued: false,
            exact_case: false,
            api_expression: None,
            referenced_object: None,
        }
    }

    /// A string attribute.
    pub fn string(name: &str) -> TargetAttribute {
        TargetAttribute::new(name, TargetType::String)
    }

    /// Marked required.
    pub fn required(mut self) -> TargetAttribute {
        self.required = true;
        self
    }

    /// Marked as the primary key.
    pub fn primary_key(mut self) -> TargetAttribute {
        self.primary_key = true;
        self
    }

    /// Marked multi-valued.
    pub fn multi(mut self) -> TargetAttribute {
        self.multi_valued = true;
        self
    }

    /// Marked case-exact.
    pub fn exact_case(mut self) -> TargetAttribute {
        self.exact_case = true;
        self
    }

    /// A Reference to objects of kind `object`.
    pub fn reference(name: &str, object: &str) -> TargetAttribute {
        TargetAttribute { referenced_object: Some(object.to_string()), ..TargetAttribute::new(name, TargetType::Reference) }
    }
}

/// The attribute list of one target object type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetSchema {
    /// The object type it describes.
    pub object: ObjectType,
    /// Its attributes, in the order the portal lists them.
    pub attributes: Vec<TargetAttribute>,
}

/// A problem with a row of an edited attribute list: the row (1-based), the attribute's name as
/// written, the field (`name`, `type`, `primaryKey`, `referencedObject`, `multiValued`) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("row {row} ({attribute}), {field}: {message}")]
pub struct SchemaError {
    /// The row, from 1.
    pub row: usize,
    /// The attribute's name as written.
    pub attribute: String,
    /// The field at fault.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl TargetSchema {
    /// The attribute called `name`; SCIM attribute names are case-insensitive.
    pub fn get(&self, name: &str) -> Option<&TargetAttribute> {
        self.attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The attribute names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.attributes.iter().map(|a| a.name.as_str())
    }

    /// The schema URN of the object's core resource type (`…:core:2.0:User` or `…:core:2.0:Group`).
    pub fn core_schema(&self) -> &'static str {
        self.object.core_schema()
    }

    /// Checks an edited attribute list: names present, valid SCIM paths and unique (ignoring case);
    /// a Reference names the object it refers to (and only a Reference does); at most one primary key;
    /// custom extension attributes are neither references nor multi-valued nor complex ("Custom
    /// attributes can't be referential attributes, multi-value, or complex-typed attributes").
    /// Returns every problem.
    pub fn validate(&self) -> Vec<SchemaError> {
        let mut errors = Vec::new();
        let mut primary: Option<usize> = None;
        for (i, a) in self.attributes.iter().enumerate() {
            let row = i + 1;
            let mut err = |field: &str, message: String| {
                errors.push(SchemaError { row, attribute: a.name.clone(), field: field.to_string(), message })
            };
            let path = match ScimPath::parse(&a.name) {
                Ok(p) => Some(p),
                Err(e) => {
                    err("name", e);
                    None
                }
            };
            if let Some(j) = self.attributes[..i].iter().position(|b| b.name.eq_ignore_ascii_case(&a.name) && !a.name.is_empty()) {
                err("name", format!("{} is already in the list (row {})", a.name, j + 1));
            }
            match (a.attr_type, a.referenced_object.as_deref().map(str::trim)) {
                (TargetType::Reference, None | Some("")) => {
                    err("referencedObject", "a Reference attribute must name the object it refers to (such as User)".to_string())
                }
                (t, Some(o)) if t != TargetType::Reference && !o.is_empty() => err(
                    "referencedObject",
                    format!("only Reference attributes refer to another object, and {} is {}", a.name, t.described()),
                ),
                _ => {}
            }
            if a.primary_key {
                match primary {
                    Some(p) => err("primaryKey", format!("row {p} is already the primary key; there can be only one")),
                    None => primary = Some(row),
                }
            }
            if let Some(p) = path.filter(ScimPath::is_custom_extension) {
                if a.attr_type == TargetType::Reference {
                    err("type", "custom extension attributes can't be references".to_string());
                }
                if a.multi_valued {
                    err("multiValued", "custom extension attributes can't be multi-valued".to_string());
                }
                if p.filter.is_some() || p.sub_attribute.is_some() {
                    err("name", "custom extension attributes can't be complex (no sub-attributes or [filters])".to_string());
                }
            }
        }
        errors
    }
}

/// A value filter in a path: the `[type eq "work"]` of `emails[type eq "work"].value`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueFilter {
    /// The sub-attribute compared (`type`, `primary`).
    pub attribute: String,
    /// The value it must equal (`work`).
    pub value: String,
}

/// A parsed SCIM attribute path: `[schema:]attribute[[filter]][.subAttribute]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimPath {
    /// The schema URN the path starts with, if any (`urn:…:enterprise:2.0:User`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The attribute (`emails`).
    pub attribute: String,
    /// The value filter (`type eq "work"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<ValueFilter>,
    /// The sub-attribute (`value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_attribute: Option<String>,
}

fn check_name(name: &str, what: &str) -> Result<(), String> {
    let mut chars = name.chars();
    match chars.next() {
        None => Err(format!("the {what} name is missing")),
        Some(c) if !c.is_ascii_alphabetic() && c != '$' => Err(format!("the {what} name '{name}' must start with a letter")),
        Some(_) if chars.any(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')) => {
            Err(format!("the {what} name '{name}' may contain only letters, digits, '_' and '-'"))
        }
        Some(_) => Ok(()),
    }
}

impl ScimPath {
    /// Parses a path; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<ScimPath, String> {
        let bad = |why: String| Err(format!("'{text}' is not a valid SCIM attribute path: {why}"));
        if text.trim().is_empty() {
            return Err("the attribute name is missing".to_string());
        }
        if text.trim() != text {
            return bad("it starts or ends with spaces".to_string());
        }
        let (schema, rest) = if text.len() > 4 && text[..4].eq_ignore_ascii_case("urn:") {
            let head_end = text.find('[').unwrap_or(text.len());
            let Some(colon) = text[..head_end].rfind(':') else { unreachable!("starts with urn:") };
            let urn = &text[..colon];
            let parts: Vec<&str> = urn.split(':').collect();
            if parts.len() < 3 || parts.iter().any(|p| p.is_empty()) {
                return bad(
                    "the schema URN must look like urn:ietf:params:scim:schemas:extension:Name:2.0:User, then ':' and the attribute"
                        .to_string(),
                );
            }
            if let Some(p) = parts.iter().find(|p| !p.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))) {
                return bad(format!("'{p}' in the schema URN may contain only letters, digits, '.', '-' and '_'"));
            }
            (Some(urn.to_string()), &text[colon + 1..])
        } else {
            (None, text)
        };
        let name_end = rest.find(['[', '.']).unwrap_or(rest.len());
        let attribute = &rest[..name_end];
        if let Err(e) = check_name(attribute, "attribute") {
            return bad(e);
        }
        let mut tail = &rest[name_end..];
        let mut filter = None;
        if let Some(inner) = tail.strip_prefix('[') {
            let Some(close) = inner.find(']') else { return bad("the '[' is not closed by ']'".to_string()) };
            match parse_filter(&inner[..close]) {
                Ok(f) => filter = Some(f),
                Err(e) => return bad(e),
            }
            tail = &inner[close + 1..];
        }
        let mut sub_attribute = None;
        if let Some(sub) = tail.strip_prefix('.') {
            if let Err(e) = check_name(sub, "sub-attribute") {
                return bad(e);
            }
            sub_attribute = Some(sub.to_string());
        } else if !tail.is_empty() {
            return bad(format!("unexpected '{tail}' after the attribute"));
        }
        Ok(ScimPath { schema, attribute: attribute.to_string(), filter, sub_attribute })
    }

    /// Whether the path is in an extension schema other than the enterprise User one (a custom
    /// extension): not a core schema, not the enterprise extension.
    pub fn is_custom_extension(&self) -> bool {
        self.schema.as_deref().is_some_and(|s| {
            !(s.eq_ignore_ascii_case(CORE_USER) || s.eq_ignore_ascii_case(CORE_GROUP) || s.eq_ignore_ascii_case(ENTERPRISE_USER))
        })
    }

    /// The extension schema the attribute lives in, if it is not a core attribute (the JSON object
    /// it is written into).
    pub fn extension(&self) -> Option<&str> {
        self.schema.as_deref().filter(|s| !(s.eq_ignore_ascii_case(CORE_USER) || s.eq_ignore_ascii_case(CORE_GROUP)))
    }
}

/// Parses `type eq "work"`.
fn parse_filter(inner: &str) -> Result<ValueFilter, String> {
    let example = "write the filter as [type eq \"work\"]";
    let inner = inner.trim();
    let word = |s: &'_ str| -> Option<(String, String)> {
        let s = s.trim_start();
        let end = s.find(char::is_whitespace)?;
        Some((s[..end].to_string(), s[end..].trim_start().to_string()))
    };
    let Some((attr, rest)) = word(inner) else { return Err(format!("the filter [{inner}] is incomplete; {example}")) };
    let Some((op, value)) = word(&rest).filter(|(_, v)| !v.is_empty()) else {
        return Err(format!("the filter [{inner}] is incomplete; {example}"));
    };
    let (attr, op, value) = (attr.as_str(), op.as_str(), value.as_str());
    check_name(attr, "filter attribute")?;
    if !op.eq_ignore_ascii_case("eq") {
        return Err(format!("the filter [{inner}] uses '{op}', but only 'eq' is supported; {example}"));
    }
    let value = value.trim();
    let Some(quoted) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).filter(|_| value.len() >= 2) else {
        return Err(format!("the value in [{inner}] must be in double quotes; {example}"));
    };
    if quoted.contains('"') {
        return Err(format!("the value in [{inner}] may not contain '\"'"));
    }
    Ok(ValueFilter { attribute: attr.to_string(), value: quoted.to_string() })
}

impl fmt::Display for ScimPath {
    /// The path's canonical text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.schema {
            write!(f, "{s}:")?;
        }
        f.write_str(&self.attribute)?;
        if let Some(v) = &self.filter {
            write!(f, "[{} eq \"{}\"]", v.attribute, v.value)?;
        }
        if let Some(s) = &self.sub_attribute {
            write!(f, ".{s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::defaults::{scim_group_schema, scim_user_schema};

    fn path(t: &str) -> ScimPath {
        ScimPath::parse(t).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn paths_of_every_shape_parse() {
        let p = path("userName");
        assert_eq!((p.schema, p.attribute.as_str(), p.filter, p.sub_attribute), (None, "userName", None, None));
        let p = path("name.givenName");
        assert_eq!((p.attribute.as_str(), p.sub_attribute.as_deref()), ("name", Some("givenName")));
        let p = path(r#"emails[type eq "work"].value"#);
        assert_eq!(p.filter, Some(ValueFilter { attribute: "type".into(), value: "work".into() }));
        assert_eq!(p.sub_attribute.as_deref(), Some("value"));
        let p = path(r#"roles[primary eq "True"].display"#);
        assert_eq!(p.filter.unwrap().value, "True");
        let p = path(r#"emails[type eq "work"]"#);
        assert_eq!(p.sub_attribute, None);
        let p = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department");
        assert_eq!(p.schema.as_deref(), Some(ENTERPRISE_USER));
        assert_eq!(p.attribute, "department");
        assert!(!p.is_custom_extension());
        assert_eq!(p.extension(), Some(ENTERPRISE_USER));
        let p = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
        assert_eq!((p.attribute.as_str(), p.sub_attribute.as_deref()), ("manager", Some("value")));
        let p = path("urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:CustomAttribute");
        assert!(p.is_custom_extension());
        let p = path("urn:ietf:params:scim:schemas:core:2.0:User:userName");
        assert_eq!(p.extension(), None);
        let p = path(r#"urn:ietf:params:scim:schemas:extension:x:2.0:User:tags[type eq "a:b"].value"#);
        assert_eq!((p.attribute.as_str(), p.filter.as_ref().unwrap().value.as_str()), ("tags", "a:b"));
        for t in [
            "userName",
            "name.givenName",
            r#"emails[type eq "work"].value"#,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        ] {
            assert_eq!(path(t).to_string(), t);
        }
        assert_eq!(path(r#"emails[type  EQ  "work"].value"#).to_string(), r#"emails[type eq "work"].value"#);
    }

    #[test]
    fn bad_paths_say_why() {
        let err = |t: &str| ScimPath::parse(t).unwrap_err();
        assert_eq!(err(""), "the attribute name is missing");
        assert_eq!(err(" userName"), "' userName' is not a valid SCIM attribute path: it starts or ends with spaces");
        assert_eq!(
            err("user name"),
            "'user name' is not a valid SCIM attribute path: the attribute name 'user name' may contain only letters, digits, '_' and '-'"
        );
        assert_eq!(err("1st"), "'1st' is not a valid SCIM attribute path: the attribute name '1st' must start with a letter");
        assert_eq!(err("name."), "'name.' is not a valid SCIM attribute path: the sub-attribute name is missing");
        assert_eq!(
            err("name.a.b"),
            "'name.a.b' is not a valid SCIM attribute path: the sub-attribute name 'a.b' may contain only letters, digits, '_' and '-'"
        );
        assert_eq!(
            err(r#"emails[type eq "work".value"#),
            r#"'emails[type eq "work".value' is not a valid SCIM attribute path: the '[' is not closed by ']'"#
        );
        assert_eq!(
            err("emails[type eq work].value"),
            r#"'emails[type eq work].value' is not a valid SCIM attribute path: the value in [type eq work] must be in double quotes; write the filter as [type eq "work"]"#
        );
        assert_eq!(
            err(r#"emails[type ne "work"].value"#),
            r#"'emails[type ne "work"].value' is not a valid SCIM attribute path: the filter [type ne "work"] uses 'ne', but only 'eq' is supported; write the filter as [type eq "work"]"#
        );
        assert_eq!(
            err("emails[type]"),
            r#"'emails[type]' is not a valid SCIM attribute path: the filter [type] is incomplete; write the filter as [type eq "work"]"#
        );
        assert_eq!(
            err(r#"emails[type eq "work"]x"#),
            r#"'emails[type eq "work"]x' is not a valid SCIM attribute path: unexpected 'x' after the attribute"#
        );
        assert!(err("urn:a::b:x").contains("the schema URN must look like"));
        assert!(err("urn:a:b c:x").contains("'b c' in the schema URN"));
        assert!(err("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:").contains("the attribute name is missing"));
    }

    #[test]
    fn edited_lists_are_validated_row_by_row() {
        let mut s = scim_user_schema();
        assert_eq!(s.validate(), []);
        s.attributes.push(TargetAttribute::string("USERNAME"));
        s.attributes.push(TargetAttribute::string("emails[type eq work].value"));
        s.attributes.push(TargetAttribute { referenced_object: None, ..TargetAttribute::reference("sponsor", "User") });
        s.attributes.push(TargetAttribute { referenced_object: Some("User".into()), ..TargetAttribute::string("nick") });
        s.attributes.push(TargetAttribute::string("badge").primary_key());
        let mut custom = TargetAttribute::reference("urn:ietf:params:scim:schemas:extension:Acme:2.0:User:buddy", "User").multi();
        custom.name = r#"urn:ietf:params:scim:schemas:extension:Acme:2.0:User:tags[type eq "x"].value"#.into();
        s.attributes.push(custom);
        s.attributes.push(TargetAttribute::string("urn:ietf:params:scim:schemas:extension:Acme:2.0:User:tag"));
        let n = scim_user_schema().attributes.len();
        let got: Vec<String> = s.validate().iter().map(|e| e.to_string()).collect();
        let id_row = scim_user_schema().attributes.iter().position(|a| a.primary_key).unwrap() + 1;
        assert_eq!(
            got,
            [
                format!("row {} (USERNAME), name: USERNAME is already in the list (row 2)", n + 1),
                format!(
                    "row {} (emails[type eq work].value), name: 'emails[type eq work].value' is not a valid SCIM attribute path: the value in [type eq work] must be in double quotes; write the filter as [type eq \"work\"]",
                    n + 2
                ),
                format!("row {} (sponsor), referencedObject: a Reference attribute must name the object it refers to (such as User)", n + 3),
                format!("row {} (nick), referencedObject: only Reference attributes refer to another object, and nick is a string", n + 4),
                format!("row {} (badge), primaryKey: row {id_row} is already the primary key; there can be only one", n + 5),
                format!(
                    "row {} (urn:ietf:params:scim:schemas:extension:Acme:2.0:User:tags[type eq \"x\"].value), type: custom extension attributes can't be references",
                    n + 6
                ),
                format!(
                    "row {} (urn:ietf:params:scim:schemas:extension:Acme:2.0:User:tags[type eq \"x\"].value), multiValued: custom extension attributes can't be multi-valued",
                    n + 6
                ),
                format!(
                    "row {} (urn:ietf:params:scim:schemas:extension:Acme:2.0:User:tags[type eq \"x\"].value), name: custom extension attributes can't be complex (no sub-attributes or [filters])",
                    n + 6
                ),
            ]
        );
        assert_eq!(scim_group_schema().validate(), []);
    }

    #[test]
    fn lookups_ignore_case_and_serde_is_camel_case() {
        let s = scim_user_schema();
        assert_eq!(s.get("USERNAME").unwrap().name, "userName");
        assert_eq!(s.get(r#"EMAILS[type eq "work"].VALUE"#).unwrap().name, r#"emails[type eq "work"].value"#);
        assert!(s.get("nope").is_none());
        let m = s.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager").unwrap();
        assert_eq!(
            serde_json::to_value(m).unwrap(),
            serde_json::json!({"name":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","type":"Reference",
                "primaryKey":false,"required":false,"multiValued":false,"exactCase":false,"referencedObject":"User"})
        );
        let a: TargetAttribute = serde_json::from_str(r#"{"name":"nickName","type":"String"}"#).unwrap();
        assert_eq!(a, TargetAttribute::string("nickName"));
        let back: TargetSchema = serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert_eq!(s.core_schema(), CORE_USER);
    }
}
