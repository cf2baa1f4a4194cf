//! Attribute mappings: how a directory user or group becomes a SCIM resource in a target, as Entra's
//! "Attribute Mapping" screen configures it (E:customize-application-attributes).
//!
//! - [`ObjectMapping`]: one object type's mapping (enabled, target object actions, scoping filters
//!   and attribute mappings), stored as JSON and edited in the portal.
//! - [`AttributeMapping`]: Direct, Constant, Expression or None; default value if null; matching and
//!   its precedence; "Apply this mapping" Always or only during object creation.
//! - [`TargetSchema`]: the target's attribute list ("Edit attribute list"); [`scim_user_schema`] and
//!   [`scim_group_schema`] are the built-in SCIM 2.0 ones.
//! - [`validate()`] returns every problem before a mapping is saved; [`CompiledMapping::compile`] checks
//!   and compiles it once; [`resolve()`] turns one object into the desired target resource, with an
//!   explanation per attribute; [`matching::plan`] lists the matching queries the engine will try.
//! - [`default_user_mapping`] and [`default_group_mapping`]: what Entra ships for a generic SCIM app.
//!
//! "Default value if null" follows Entra: "This value is only provisioned when a user is created. The
//! "default value when null" isn't provisioned when updating an existing user." A None mapping leaves
//! the target attribute alone, except that "if the target attribute is ever empty, it populates with
//! the default value" — on creation (a new object's attributes are all empty) [`resolve()`] sends the
//! default; on update it reports the attribute as unchanged and the engine, which knows the target's
//! current value, applies [`CompiledAttribute::default_value`] when that value is empty.

pub mod defaults;
pub mod matching;
pub mod resolve;
pub mod target_schema;
pub mod validate;

pub use defaults::{default_group_mapping, default_user_mapping, scim_group_schema, scim_user_schema};
pub use matching::{plan, MatchQuery, NoMatchingValue};
pub use resolve::{resolve, AttributeOutcome, OutcomeStatus, Phase, Resolved, SourceValue};
pub use target_schema::{SchemaError, ScimPath, TargetAttribute, TargetSchema, TargetType, ValueFilter};
pub use validate::{removed_required, validate};

use crate::expr::{ExprError, Expression, SourceSchema};
use crate::scoping::{CompiledScope, ScopingFilter};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of object a mapping reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ObjectType {
    /// A user.
    User,
    /// A group.
    Group,
}

impl ObjectType {
    /// The source attributes a mapping from this object type may read.
    pub fn source_schema(self) -> SourceSchema {
        match self {
            ObjectType::User => crate::source::user_schema(),
            ObjectType::Group => crate::source::group_schema(),
        }
    }

    /// The SCIM core schema URN of this resource type.
    pub fn core_schema(self) -> &'static str {
        match self {
            ObjectType::User => target_schema::CORE_USER,
            ObjectType::Group => target_schema::CORE_GROUP,
        }
    }
}

impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectType::User => "User",
            ObjectType::Group => "Group",
        })
    }
}

/// Entra's "Target Object Actions": which operations the mapping may perform in the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetActions {
    /// Create objects that don't exist in the target ("Clearing Create doesn't affect existing users").
    pub create: bool,
    /// Update matched objects.
    pub update: bool,
    /// Delete (or disable) objects that leave scope or are deleted in the source.
    pub delete: bool,
}

impl Default for TargetActions {
    fn default() -> TargetActions {
        TargetActions { create: true, update: true, delete: true }
    }
}

/// How a target attribute gets its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MappingType {
    /// The value of a source attribute.
    Direct,
    /// A fixed string.
    Constant,
    /// The result of an expression.
    Expression,
    /// Nothing: the target attribute is left as it is (it gets the default value if it is empty).
    None,
}

/// Entra's "Apply this mapping".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ApplyOn {
    /// On creation and on every update.
    #[default]
    Always,
    /// "Only during object creation".
    CreateOnly,
}

/// One attribute mapping: where a target attribute's value comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeMapping {
    /// Direct, Constant, Expression or None.
    pub mapping_type: MappingType,
    /// Direct: the source attribute's name; Constant: the value; Expression: its text; None: unused.
    #[serde(default)]
    pub source: String,
    /// The target attribute's SCIM path.
    pub target: String,
    /// "Default value if null": sent when the source gives no value, on creation only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    /// "Match objects using this attribute".
    #[serde(default)]
    pub matching: bool,
    /// "Matching precedence": 1 is tried first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matching_precedence: Option<u32>,
    /// "Apply this mapping".
    #[serde(default)]
    pub apply_on: ApplyOn,
    /// A required mapping: the portal offers no Delete for it.
    #[serde(default)]
    pub required: bool,
}

impl AttributeMapping {
    fn of(mapping_type: MappingType, source: &str, target: &str) -> AttributeMapping {
        AttributeMapping {
            mapping_type,
            source: source.to_string(),
            target: target.to_string(),
            default_value: None,
            matching: false,
            matching_precedence: None,
            apply_on: ApplyOn::Always,
            required: false,
        }
    }

    /// A Direct mapping from source attribute `source`.
    pub fn direct(source: &str, target: &str) -> AttributeMapping {
        AttributeMapping::of(MappingType::Direct, source, target)
    }

    /// A Constant mapping of `value`.
    pub fn constant(value: &str, target: &str) -> AttributeMapping {
        AttributeMapping::of(MappingType::Constant, value, target)
    }

    /// An Expression mapping.
    pub fn expression(text: &str, target: &str) -> AttributeMapping {
        AttributeMapping::of(MappingType::Expression, text, target)
    }

    /// A None mapping (the target attribute is left alone; it gets the default when empty).
    pub fn none(target: &str) -> AttributeMapping {
        AttributeMapping::of(MappingType::None, "", target)
    }

    /// Used for matching, with this precedence.
    pub fn match_with(mut self, precedence: u32) -> AttributeMapping {
        self.matching = true;
        self.matching_precedence = Some(precedence);
        self
    }

    /// Applied only during object creation.
    pub fn create_only(mut self) -> AttributeMapping {
        self.apply_on = ApplyOn::CreateOnly;
        self
    }

    /// With a default value if null.
    pub fn with_default(mut self, value: &str) -> AttributeMapping {
        self.default_value = Some(value.to_string());
        self
    }

    /// Marked required (it can't be deleted).
    pub fn required(mut self) -> AttributeMapping {
        self.required = true;
        self
    }

    /// The default value, with an empty one as none.
    pub fn default_text(&self) -> Option<&str> {
        self.default_value.as_deref().filter(|d| !d.is_empty())
    }

    /// How the source reads in explanations: `[givenName]`, `"Contoso"`, the expression's text, or
    /// `None`.
    pub fn source_description(&self) -> String {
        self.expression_text().unwrap_or_else(|| "None".to_string())
    }

    /// The expression text this mapping compiles to (none for a None mapping).
    pub fn expression_text(&self) -> Option<String> {
        match self.mapping_type {
            MappingType::Direct => Some(format!("[{}]", self.source)),
            MappingType::Constant => Some(crate::expr::print::quote(&self.source)),
            MappingType::Expression => Some(self.source.clone()),
            MappingType::None => None,
        }
    }
}

fn yes() -> bool {
    true
}

/// One object type's mapping: "Synchronize users to the target" and its settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMapping {
    /// Its name, shown in the portal.
    pub name: String,
    /// Whether it runs (Entra: "Enabled" yes/no; disabling the user mapping isn't supported there).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The source object type.
    pub source_object: ObjectType,
    /// The target object: a SCIM schema URN (`urn:ietf:params:scim:schemas:core:2.0:User`) or `User`.
    pub target_object: String,
    /// Which operations it may perform.
    #[serde(default)]
    pub actions: TargetActions,
    /// "Source object scope": scoping filters, OR'd (none: every object is in scope).
    #[serde(default)]
    pub scope: Vec<ScopingFilter>,
    /// The attribute mappings, in order.
    pub attributes: Vec<AttributeMapping>,
}

/// A problem with a mapping found before it is saved: which attribute mapping (by its target; empty
/// for the mapping as a whole; `scoping filter 'X'` for scoping problems), which field (the JSON field
/// name: `target`, `source`, `defaultValue`, `matching`, `matchingPrecedence`, `applyOn`, …) and
/// what is wrong. Expression errors keep their position for the editor to underline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
pub struct MappingError {
    /// The attribute mapping's target (or what else the problem is about).
    pub mapping: String,
    /// The field at fault.
    pub field: String,
    /// What is wrong, in words.
    pub message: String,
    /// The expression error, with its line and column, when the source didn't compile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expr_error: Option<ExprError>,
}

impl MappingError {
    /// An error without a position.
    pub fn new(mapping: &str, field: &str, message: impl Into<String>) -> MappingError {
        MappingError { mapping: mapping.to_string(), field: field.to_string(), message: message.into(), expr_error: None }
    }
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.mapping.is_empty() {
            write!(f, "{}, ", self.mapping)?;
        }
        write!(f, "{}: {}", self.field, self.message)?;
        if let Some(e) = &self.expr_error {
            write!(f, " (line {}, column {})", e.line, e.column)?;
        }
        Ok(())
    }
}

/// One attribute mapping, checked and compiled.
#[derive(Clone, Debug)]
pub struct CompiledAttribute {
    mapping: AttributeMapping,
    target: TargetAttribute,
    path: ScimPath,
    expression: Option<Expression>,
    /// `mapping.source_description()`, computed once.
    description: String,
    /// The source attributes the expression reads, computed once.
    reads: Vec<String>,
    /// Whether the expression calls Redact (its explanation hides values).
    redacted: bool,
}

impl CompiledAttribute {
    /// The mapping as written.
    pub fn mapping(&self) -> &AttributeMapping {
        &self.mapping
    }

    /// The target attribute (as the target schema spells it).
    pub fn target(&self) -> &TargetAttribute {
        &self.target
    }

    /// The target attribute's parsed path.
    pub fn path(&self) -> &ScimPath {
        &self.path
    }

    /// The compiled source (none for a None mapping).
    pub fn expression(&self) -> Option<&Expression> {
        self.expression.as_ref()
    }

    /// The source as written (`[givenName]`, `"Contoso"`, the expression's text).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The source attributes the mapping reads.
    pub fn reads(&self) -> &[String] {
        &self.reads
    }

    /// Whether the expression calls Redact, so explanations show `[Redact]` instead of values.
    pub fn redacted(&self) -> bool {
        self.redacted
    }

    /// The default value if null (an empty one is none).
    pub fn default_value(&self) -> Option<&str> {
        self.mapping.default_text()
    }
}

/// An [`ObjectMapping`] checked against its target schema and compiled: expressions parsed once,
/// scoping filters compiled. Build it when the configuration is saved or loaded; use it per object.
#[derive(Clone, Debug)]
pub struct CompiledMapping {
    mapping: ObjectMapping,
    object: ObjectType,
    attributes: Vec<CompiledAttribute>,
    scope: CompiledScope,
}

impl CompiledMapping {
    /// Validates `mapping` against `target` (see [`validate()`]) and compiles it; every problem when it
    /// is not valid.
    pub fn compile(mapping: &ObjectMapping, target: &TargetSchema) -> Result<CompiledMapping, Vec<MappingError>> {
        let checked = validate::check(mapping, target);
        if !checked.errors.is_empty() {
            return Err(checked.errors);
        }
        Ok(CompiledMapping {
            mapping: mapping.clone(),
            object: target.object,
            attributes: checked.attributes,
            scope: checked.scope.unwrap_or_default(),
        })
    }

    /// The mapping as written.
    pub fn mapping(&self) -> &ObjectMapping {
        &self.mapping
    }

    /// The target object type.
    pub fn object(&self) -> ObjectType {
        self.object
    }

    /// The compiled attribute mappings, in order.
    pub fn attributes(&self) -> &[CompiledAttribute] {
        &self.attributes
    }

    /// The compiled scoping filters.
    pub fn scope(&self) -> &CompiledScope {
        &self.scope
    }

    /// The matching attribute mappings, in precedence order.
    pub fn matching_attributes(&self) -> Vec<&CompiledAttribute> {
        let mut v: Vec<&CompiledAttribute> = self.attributes.iter().filter(|a| a.mapping.matching).collect();
        v.sort_by_key(|a| a.mapping.matching_precedence.unwrap_or(u32::MAX));
        v
    }

    /// The SCIM core schema URN of the resources it produces.
    pub fn core_schema(&self) -> &str {
        let t = self.mapping.target_object.as_str();
        if t.len() > 4 && t[..4].eq_ignore_ascii_case("urn:") {
            t
        } else {
            self.object.core_schema()
        }
    }
}

/// Mapping JSON and compilation round trips, shared by the submodules' tests.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use chrono::{TimeZone, Utc};

    /// The fixed environment used in tests.
    pub fn env() -> crate::expr::FixedEnv {
        crate::expr::FixedEnv::at(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap())
    }

    /// A user mapping with these attribute mappings.
    pub fn user_mapping(attributes: Vec<AttributeMapping>) -> ObjectMapping {
        ObjectMapping {
            name: "Provision users".into(),
            enabled: true,
            source_object: ObjectType::User,
            target_object: target_schema::CORE_USER.into(),
            actions: TargetActions::default(),
            scope: Vec::new(),
            attributes,
        }
    }

    /// Compiles against the built-in SCIM user schema or panics with the errors.
    pub fn compiled(m: &ObjectMapping) -> CompiledMapping {
        let schema = if m.source_object == ObjectType::User { scim_user_schema() } else { scim_group_schema() };
        CompiledMapping::compile(m, &schema).unwrap_or_else(|e| panic!("{e:#?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn mappings_round_trip_as_camel_case_json() {
        let m = user_mapping(vec![
            AttributeMapping::direct("userPrincipalName", "userName").match_with(1).required(),
            AttributeMapping::constant("Contoso", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization"),
            AttributeMapping::direct("jobTitle", "title").with_default("Staff").create_only(),
            AttributeMapping::none("nickName"),
        ]);
        let j = serde_json::to_value(&m).unwrap();
        assert_eq!(
            j["attributes"][0],
            serde_json::json!({"mappingType":"Direct","source":"userPrincipalName","target":"userName",
                "matching":true,"matchingPrecedence":1,"applyOn":"Always","required":true})
        );
        assert_eq!(j["attributes"][2]["defaultValue"], "Staff");
        assert_eq!(j["attributes"][2]["applyOn"], "CreateOnly");
        assert_eq!(j["actions"], serde_json::json!({"create":true,"update":true,"delete":true}));
        assert_eq!(j["sourceObject"], "User");
        let back: ObjectMapping = serde_json::from_value(j).unwrap();
        assert_eq!(back, m);
        // Minimal JSON from the portal gets the defaults.
        let m: ObjectMapping = serde_json::from_str(
            r#"{"name":"n","sourceObject":"Group","targetObject":"Group","attributes":[
                {"mappingType":"Direct","source":"displayName","target":"displayName","matching":true,"matchingPrecedence":1}]}"#,
        )
        .unwrap();
        assert!(m.enabled);
        assert_eq!(m.actions, TargetActions::default());
        assert_eq!(m.attributes[0].apply_on, ApplyOn::Always);
        assert_eq!(compiled(&m).core_schema(), target_schema::CORE_GROUP);
    }

    #[test]
    fn sources_are_described_as_written() {
        assert_eq!(AttributeMapping::direct("givenName", "x").source_description(), "[givenName]");
        assert_eq!(AttributeMapping::constant(r#"say "hi""#, "x").source_description(), r#""say \"hi\"""#);
        assert_eq!(AttributeMapping::expression("ToLower([mail])", "x").source_description(), "ToLower([mail])");
        assert_eq!(AttributeMapping::none("x").source_description(), "None");
        assert_eq!(AttributeMapping::none("x").expression_text(), None);
    }

    #[test]
    fn errors_display_their_place() {
        let e = MappingError::new("title", "source", "bad");
        assert_eq!(e.to_string(), "title, source: bad");
        let e = MappingError::new("", "matching", "none");
        assert_eq!(e.to_string(), "matching: none");
    }

    #[test]
    fn matching_attributes_come_in_precedence_order() {
        let m = compiled(&user_mapping(vec![
            AttributeMapping::direct("mailNickname", "externalId").match_with(2),
            AttributeMapping::direct("displayName", "displayName"),
            AttributeMapping::direct("userPrincipalName", "userName").match_with(1),
        ]));
        let names: Vec<&str> = m.matching_attributes().iter().map(|a| a.target().name.as_str()).collect();
        assert_eq!(names, ["userName", "externalId"]);
        assert_eq!(m.core_schema(), target_schema::CORE_USER);
        assert_eq!(m.object(), ObjectType::User);
        assert!(m.scope().is_empty());
    }
}
