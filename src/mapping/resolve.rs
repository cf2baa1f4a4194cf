//! Resolving: one source object through a compiled mapping into the desired target resource, with
//! an explanation for every attribute mapping.
//!
//! Per attribute mapping, in order:
//! - On update, a mapping applied "Only during object creation" is skipped ([`OutcomeStatus::SkippedCreateOnly`]),
//!   without evaluating it.
//! - A None mapping sends nothing, except on creation when it has a default ("if the target attribute
//!   is ever empty, it populates with the default value"; a new object's attributes are empty). On
//!   update it is [`OutcomeStatus::Unchanged`]: the engine applies the default if the target's value is empty.
//! - Otherwise the source is evaluated. A value is converted to the target attribute's type (booleans
//!   as booleans, integers, references) and sent. No value (null, an empty string or an empty list)
//!   is never sent ("The Microsoft Entra provisioning service doesn't support provisioning null
//!   values"); on creation the default value is sent instead ("This value is only provisioned when a
//!   user is created"). `IgnoreFlowIfNullOrEmpty` leaves the attribute out ([`OutcomeStatus::IgnoredFlow`]);
//!   the default is not used then. An evaluation failure is reported, not sent.
//!
//! [`Resolved::to_scim_json`] builds the SCIM resource as Entra's `POST /Users` does: `name.givenName`
//! into `"name": {"givenName": …}`, `emails[type eq "work"].value` into `"emails": [{"type": "work",
//! "value": …, "primary": true}]` (the "work" entry of a multi-valued attribute is the primary one, as
//! in Entra's examples), enterprise attributes into the `urn:…:enterprise:2.0:User` object with its URN
//! in `schemas`, references as `{"value": id}`.

use super::target_schema::{ScimPath, TargetAttribute, TargetType};
use super::{ApplyOn, CompiledAttribute, CompiledMapping, ObjectType};
use crate::expr::{Env, Source, Stop, Value};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value as J};

/// Whether the object is being created in the target or updated there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Phase {
    /// The object doesn't exist in the target yet.
    Create,
    /// The object exists in the target (it was matched).
    Update,
}

/// What happened to one attribute mapping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutcomeStatus {
    /// The value is sent.
    Sent,
    /// The source gave no value; the default value is sent (creation only).
    DefaultUsed,
    /// The mapping applies only during object creation, and this is an update.
    SkippedCreateOnly,
    /// The source gave no value and there is no default to use: nothing is sent.
    SkippedNull,
    /// `IgnoreFlowIfNullOrEmpty` left the attribute out.
    IgnoredFlow,
    /// A None mapping on update: the target attribute is left as it is.
    Unchanged,
    /// The source couldn't be evaluated or its value doesn't fit the target attribute.
    Failed(String),
}

fn value_json<S: Serializer>(v: &Value, s: S) -> Result<S::Ok, S::Error> {
    v.to_json().serialize(s)
}

/// A source attribute an expression read, and its value.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceValue {
    /// The attribute's name.
    pub attribute: String,
    /// Its value.
    #[serde(serialize_with = "value_json")]
    pub value: Value,
}

/// The explanation of one attribute mapping's outcome.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeOutcome {
    /// The target attribute.
    pub target: String,
    /// The source as written: `[givenName]`, `"Contoso"` or the expression's text.
    pub source_description: String,
    /// The source attributes read, with their values.
    pub source_values: Vec<SourceValue>,
    /// The value sent (null when nothing is sent).
    #[serde(serialize_with = "value_json")]
    pub result: Value,
    /// What happened.
    pub status: OutcomeStatus,
    /// The matching precedence, for a matching attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matching_precedence: Option<u32>,
}

impl AttributeOutcome {
    /// The outcome in one sentence.
    pub fn explain(&self) -> String {
        let (t, src) = (&self.target, &self.source_description);
        let read: Vec<String> = self
            .source_values
            .iter()
            .map(|s| {
                if s.value.is_null() {
                    format!("{} has no value", s.attribute)
                } else {
                    format!("{} is {}", s.attribute, shown(&s.value))
                }
            })
            .collect();
        let read = if read.is_empty() { String::new() } else { format!(" ({})", read.join(", ")) };
        match &self.status {
            OutcomeStatus::Sent => format!("{t}: sent {} from {src}{read}", shown(&self.result)),
            OutcomeStatus::DefaultUsed => format!("{t}: {src} gave no value{read}, so the default {} was sent", shown(&self.result)),
            OutcomeStatus::SkippedCreateOnly => format!("{t}: not sent; the mapping applies only during object creation"),
            OutcomeStatus::SkippedNull => format!("{t}: not sent; {src} gave no value{read}, and null values are not sent"),
            OutcomeStatus::IgnoredFlow => format!("{t}: left out by IgnoreFlowIfNullOrEmpty{read}"),
            OutcomeStatus::Unchanged => format!("{t}: left as it is in the target (None mapping)"),
            OutcomeStatus::Failed(m) => format!("{t}: failed: {m}"),
        }
    }
}

/// What Entra's Redact shows in place of a value: "replaces the attribute value with the string literal
/// "[Redact]" in the provisioning logs" (functions-for-customizing-application-data, Redact).
pub const REDACTED: &str = "[Redact]";

/// Whether an expression calls Redact anywhere: its explanation then shows [`REDACTED`] for every value.
pub(crate) fn uses_redact(e: &crate::expr::Expression) -> bool {
    let mut found = false;
    e.tree().walk(&mut |n| {
        if matches!(&n.kind, crate::expr::ExprKind::Call { name, .. } if name == "Redact") {
            found = true;
        }
    });
    found
}

impl AttributeOutcome {
    /// Replaces every value in the explanation (what was read and what was sent) by [`REDACTED`]; the
    /// value sent to the target is not affected.
    pub fn redact(&mut self) {
        for s in &mut self.source_values {
            if !s.value.is_null() {
                s.value = Value::str(REDACTED);
            }
        }
        if !self.result.is_null() {
            self.result = Value::str(REDACTED);
        }
    }
}

/// A value in explanations: text quoted, others as they print.
fn shown(v: &Value) -> String {
    match v {
        Value::Null => "no value".to_string(),
        Value::Str(s) | Value::Ref(s) => format!("'{s}'"),
        Value::Objects(_) => v.to_json().to_string(),
        other => other.to_string(),
    }
}

/// Where a sent value goes in the resource.
#[derive(Clone, Debug)]
struct Shape {
    path: ScimPath,
    attr_type: TargetType,
}

/// The desired state of one object in the target, with the explanation of every attribute mapping.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The target object type.
    pub object: ObjectType,
    /// Create or update.
    pub phase: Phase,
    /// The attributes to send, in mapping order: (target path, value). Null values are never here.
    pub attributes: Vec<(String, Value)>,
    /// Every attribute mapping's outcome, in mapping order.
    pub explanation: Vec<AttributeOutcome>,
    core_schema: String,
    shapes: Vec<Shape>,
}

/// Resolves one source object through `mapping` for `phase`.
pub fn resolve(src: &dyn Source, mapping: &CompiledMapping, phase: Phase, env: &mut dyn Env) -> Resolved {
    let mut r = Resolved {
        object: mapping.object(),
        phase,
        attributes: Vec::new(),
        explanation: Vec::new(),
        core_schema: mapping.core_schema().to_string(),
        shapes: Vec::new(),
    };
    for a in mapping.attributes() {
        let outcome = resolve_one(src, a, phase, env);
        let mut outcome = outcome;
        if matches!(outcome.status, OutcomeStatus::Sent | OutcomeStatus::DefaultUsed) {
            r.attributes.push((outcome.target.clone(), outcome.result.clone()));
            r.shapes.push(Shape { path: a.path().clone(), attr_type: a.target().attr_type });
        }
        if a.redacted() {
            outcome.redact();
        }
        r.explanation.push(outcome);
    }
    r
}

fn resolve_one(src: &dyn Source, a: &CompiledAttribute, phase: Phase, env: &mut dyn Env) -> AttributeOutcome {
    let m = a.mapping();
    let mut out = AttributeOutcome {
        target: a.target().name.clone(),
        source_description: a.description().to_string(),
        source_values: Vec::new(),
        result: Value::Null,
        status: OutcomeStatus::SkippedNull,
        matching_precedence: if m.matching { m.matching_precedence } else { None },
    };
    if phase == Phase::Update && m.apply_on == ApplyOn::CreateOnly {
        out.status = OutcomeStatus::SkippedCreateOnly;
        return out;
    }
    let with_default = |mut out: AttributeOutcome| -> AttributeOutcome {
        if let (Phase::Create, Some(d)) = (phase, a.default_value()) {
            match coerce(Value::str(d), a.target()) {
                Ok(v) => {
                    out.result = v;
                    out.status = OutcomeStatus::DefaultUsed;
                }
                Err(e) => out.status = OutcomeStatus::Failed(format!("the default value {e}")),
            }
        }
        out
    };
    let Some(expr) = a.expression() else {
        if phase == Phase::Update {
            out.status = OutcomeStatus::Unchanged;
            return out;
        }
        return with_default(out);
    };
    out.source_values = a.reads().iter().map(|n| SourceValue { attribute: n.clone(), value: src.get(n) }).collect();
    match expr.evaluate(src, env) {
        Ok(v) if v.is_null_or_empty() => with_default(out),
        Ok(v) => {
            match coerce(v, a.target()) {
                Ok(v) => {
                    out.result = v;
                    out.status = OutcomeStatus::Sent;
                }
                Err(e) => out.status = OutcomeStatus::Failed(format!("the value {e}")),
            }
            out
        }
        Err(Stop::IgnoreFlow) => {
            out.status = OutcomeStatus::IgnoredFlow;
            out
        }
        Err(e) => {
            out.status = OutcomeStatus::Failed(e.to_string());
            out
        }
    }
}

/// Converts a value to what target attribute `t` holds; the error completes "the value …".
pub(crate) fn coerce(v: Value, t: &TargetAttribute) -> Result<Value, String> {
    if t.multi_valued {
        return Ok(match v {
            Value::Multi(_) | Value::Objects(_) | Value::Null => v,
            other => Value::Multi(other.into_text().into_iter().collect()),
        });
    }
    let v = match v {
        Value::Multi(mut list) if list.len() == 1 => Value::Str(list.remove(0)),
        Value::Multi(list) => {
            return Err(format!("has {} entries ({}), but {} takes one value", list.len(), list.join(", "), t.name));
        }
        Value::Objects(_) => return Err(format!("is a list of objects, but {} takes one value", t.name)),
        v => v,
    };
    match t.attr_type {
        TargetType::Boolean => {
            v.as_bool().map(Value::Bool).ok_or_else(|| format!("'{v}' is not True or False, but {} is a boolean", t.name))
        }
        TargetType::Integer => match v {
            Value::Int(_) => Ok(v),
            Value::Str(ref s) => crate::expr::value::parse_int(s.trim())
                .map(Value::Int)
                .ok_or_else(|| format!("'{s}' is not a whole number, but {} is an integer", t.name)),
            other => Err(format!("'{other}' is not a whole number, but {} is an integer", t.name)),
        },
        TargetType::DateTime => Ok(v),
        TargetType::Reference => match v {
            Value::Ref(_) => Ok(v),
            Value::Str(s) => Ok(Value::Ref(s)),
            other => Err(format!("'{other}' is not a reference, but {} is one", t.name)),
        },
        TargetType::String | TargetType::Binary => Ok(match v {
            Value::Str(_) => v,
            other => Value::Str(other.into_text().unwrap_or_default()),
        }),
    }
}

impl Resolved {
    /// The value to send for `target` (case-insensitive), if one is sent.
    pub fn get(&self, target: &str) -> Option<&Value> {
        self.attributes.iter().find(|(t, _)| t.eq_ignore_ascii_case(target)).map(|(_, v)| v)
    }

    /// The outcomes that failed.
    pub fn failures(&self) -> Vec<&AttributeOutcome> {
        self.explanation.iter().filter(|o| matches!(o.status, OutcomeStatus::Failed(_))).collect()
    }

    /// The matching attributes that have a value, in precedence order: (target, value). Defaults are
    /// not used for matching.
    pub fn matching_values(&self) -> Vec<(String, Value)> {
        let mut v: Vec<(u32, String, Value)> = self
            .explanation
            .iter()
            .filter(|o| o.status == OutcomeStatus::Sent)
            .filter_map(|o| o.matching_precedence.map(|p| (p, o.target.clone(), o.result.clone())))
            .collect();
        v.sort_by_key(|(p, _, _)| *p);
        v.into_iter().map(|(_, t, v)| (t, v)).collect()
    }

    /// Takes the reference attributes (manager, members) out of the attributes to send and returns them:
    /// the engine writes references in a second pass, once the objects they point to exist in the
    /// target, translated to target ids.
    pub fn take_references(&mut self) -> Vec<(String, Value)> {
        let mut refs = Vec::new();
        let mut i = 0;
        while i < self.attributes.len() {
            if self.shapes[i].attr_type == TargetType::Reference {
                self.shapes.remove(i);
                refs.push(self.attributes.remove(i));
            } else {
                i += 1;
            }
        }
        refs
    }

    /// The reference attributes (directory ids), in mapping order.
    pub fn references(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.attributes.iter().zip(&self.shapes).filter(|(_, s)| s.attr_type == TargetType::Reference).map(|((p, v), _)| (p, v))
    }

    /// Rewrites every reference value (directory ids) with `translate` (to target ids); references
    /// it cannot translate are dropped.
    pub fn map_references(&mut self, translate: &dyn Fn(&str) -> Option<String>) {
        let mut i = 0;
        while i < self.attributes.len() {
            if self.shapes[i].attr_type != TargetType::Reference {
                i += 1;
                continue;
            }
            let mapped = match &self.attributes[i].1 {
                Value::Ref(s) | Value::Str(s) => translate(s).map(Value::Ref),
                Value::Multi(v) => {
                    let ids: Vec<String> = v.iter().filter_map(|s| translate(s)).collect();
                    (!ids.is_empty()).then_some(Value::Multi(ids))
                }
                _ => None,
            };
            match mapped {
                Some(v) => {
                    self.attributes[i].1 = v;
                    i += 1;
                }
                None => {
                    self.attributes.remove(i);
                    self.shapes.remove(i);
                }
            }
        }
    }

    /// Each attribute to send as (SCIM path, JSON value), in mapping order.
    pub fn json_attributes(&self) -> Vec<(String, J)> {
        self.attributes.iter().zip(&self.shapes).map(|((t, v), s)| (t.clone(), json_value(v, s.attr_type))).collect()
    }

    /// The SCIM resource JSON: `schemas` (the core schema, then every extension written to) and the
    /// attributes nested as their paths say.
    pub fn to_scim_json(&self) -> J {
        let mut schemas: Vec<String> = vec![self.core_schema.clone()];
        let mut body = Map::new();
        for ((_, value), shape) in self.attributes.iter().zip(&self.shapes) {
            put(&mut body, &shape.path, json_value(value, shape.attr_type), &mut schemas);
        }
        let mut root = Map::new();
        root.insert("schemas".to_string(), J::Array(schemas.into_iter().map(J::String).collect()));
        root.extend(body);
        J::Object(root)
    }
}

/// A value as JSON for an attribute of type `ty`: references as `{"value": id}`.
fn json_value(v: &Value, ty: TargetType) -> J {
    let reference = |id: &str| {
        let mut m = Map::new();
        m.insert("value".to_string(), J::String(id.to_string()));
        J::Object(m)
    };
    match (v, ty) {
        (Value::Multi(ids), TargetType::Reference) => J::Array(ids.iter().map(|id| reference(id)).collect()),
        (Value::Ref(id) | Value::Str(id), TargetType::Reference) => reference(id),
        (v, _) => v.to_json(),
    }
}

/// The object at `key` in `obj`, made one if it is missing or something else.
fn object_at<'a>(obj: &'a mut Map<String, J>, key: &str) -> &'a mut Map<String, J> {
    let slot = obj.entry(key.to_string()).or_insert_with(|| J::Object(Map::new()));
    if !slot.is_object() {
        *slot = J::Object(Map::new());
    }
    slot.as_object_mut().expect("made an object")
}

/// Writes `value` at `path` into `root`.
fn put(root: &mut Map<String, J>, path: &ScimPath, value: J, schemas: &mut Vec<String>) {
    let obj = match path.extension() {
        Some(urn) => {
            if !schemas.iter().any(|s| s.eq_ignore_ascii_case(urn)) {
                schemas.push(urn.to_string());
            }
            object_at(root, urn)
        }
        None => root,
    };
    let attr = path.attribute.as_str();
    match (&path.filter, &path.sub_attribute) {
        (None, None) => {
            obj.insert(attr.to_string(), value);
        }
        (None, Some(sub)) => {
            object_at(obj, attr).insert(sub.clone(), value);
        }
        (Some(f), sub) => {
            let slot = obj.entry(attr.to_string()).or_insert_with(|| J::Array(Vec::new()));
            if !slot.is_array() {
                *slot = J::Array(Vec::new());
            }
            let list = slot.as_array_mut().expect("made an array");
            let key = if f.attribute.eq_ignore_ascii_case("primary") {
                match f.value.to_ascii_lowercase().as_str() {
                    "true" => J::Bool(true),
                    "false" => J::Bool(false),
                    _ => J::String(f.value.clone()),
                }
            } else {
                J::String(f.value.clone())
            };
            let at = list.iter().position(|e| e.get(&f.attribute) == Some(&key));
            let entry = match at {
                Some(i) => &mut list[i],
                None => {
                    let mut m = Map::new();
                    m.insert(f.attribute.clone(), key);
                    if f.attribute == "type" && f.value == "work" {
                        m.insert("primary".to_string(), J::Bool(true));
                    }
                    list.push(J::Object(m));
                    list.last_mut().expect("just pushed")
                }
            };
            if let Some(m) = entry.as_object_mut() {
                m.insert(sub.clone().unwrap_or_else(|| "value".to_string()), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{compiled, env, user_mapping};
    use super::super::*;
    use super::*;
    use crate::source::tests::sample_user;
    use serde_json::json;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn run(attrs: Vec<AttributeMapping>, phase: Phase) -> Resolved {
        let mut all = vec![AttributeMapping::direct("userPrincipalName", "userName").match_with(1)];
        all.extend(attrs);
        resolve(&sample_user(), &compiled(&user_mapping(all)), phase, &mut env())
    }

    const ACME: &str = "urn:ietf:params:scim:schemas:extension:Acme:2.0:User";

    /// The built-in user schema plus a custom extension attribute.
    fn acme_schema() -> TargetSchema {
        let mut s = scim_user_schema();
        s.attributes.push(TargetAttribute::string(&format!("{ACME}:costCenter")));
        s
    }

    /// The outcome of the one extra mapping.
    fn outcome(a: AttributeMapping, phase: Phase) -> AttributeOutcome {
        run(vec![a], phase).explanation.remove(1)
    }

    #[test]
    fn redact_hides_values_in_the_explanation_only() {
        let r = run(vec![AttributeMapping::expression("Redact([employeeId])", "nickName")], Phase::Create);
        assert_eq!(r.get("nickName"), Some(&Value::str("E100")), "the target still gets the value");
        let o = &r.explanation[1];
        assert_eq!(o.result, Value::str(REDACTED));
        assert_eq!(o.source_values, [SourceValue { attribute: "employeeId".into(), value: Value::str(REDACTED) }]);
        assert!(!o.explain().contains("E100"), "{}", o.explain());
    }

    #[test]
    fn sent_values_carry_what_was_read() {
        let o = outcome(AttributeMapping::expression(r#"Join(".", [givenName], [surname])"#, "nickName"), Phase::Create);
        assert_eq!(o.status, OutcomeStatus::Sent);
        assert_eq!(o.result, Value::str("John.Doe"));
        assert_eq!(o.source_description, r#"Join(".", [givenName], [surname])"#);
        assert_eq!(
            o.source_values,
            [
                SourceValue { attribute: "givenName".into(), value: Value::str("John") },
                SourceValue { attribute: "surname".into(), value: Value::str("Doe") }
            ]
        );
        assert_eq!(
            o.explain(),
            r#"nickName: sent 'John.Doe' from Join(".", [givenName], [surname]) (givenName is 'John', surname is 'Doe')"#
        );
        assert_eq!(
            serde_json::to_value(&o).unwrap(),
            json!({"target":"nickName","sourceDescription":"Join(\".\", [givenName], [surname])",
                "sourceValues":[{"attribute":"givenName","value":"John"},{"attribute":"surname","value":"Doe"}],
                "result":"John.Doe","status":"Sent"})
        );
        let o = outcome(AttributeMapping::constant("Contoso", &format!("{ENT}:organization")), Phase::Update);
        assert_eq!((o.status, o.result, o.source_values.len()), (OutcomeStatus::Sent, Value::str("Contoso"), 0));
    }

    #[test]
    fn defaults_are_used_on_create_only() {
        let a = AttributeMapping::direct("city", "locale").with_default("en-US");
        let o = outcome(a.clone(), Phase::Create);
        assert_eq!((o.status.clone(), o.result.clone()), (OutcomeStatus::DefaultUsed, Value::str("en-US")));
        assert_eq!(o.explain(), "locale: [city] gave no value (city has no value), so the default 'en-US' was sent");
        let o = outcome(a, Phase::Update);
        assert_eq!((o.status.clone(), o.result.clone()), (OutcomeStatus::SkippedNull, Value::Null));
        assert_eq!(o.explain(), "locale: not sent; [city] gave no value (city has no value), and null values are not sent");
        // A value present: the default is not used.
        let o = outcome(AttributeMapping::direct("jobTitle", "title").with_default("Staff"), Phase::Create);
        assert_eq!(o.result, Value::str("Engineer"));
        // A None mapping: the default on creation, left alone on update.
        let o = outcome(AttributeMapping::none("timezone").with_default("UTC"), Phase::Create);
        assert_eq!(
            (o.status.clone(), o.result.clone(), o.source_description.as_str()),
            (OutcomeStatus::DefaultUsed, Value::str("UTC"), "None")
        );
        let o = outcome(AttributeMapping::none("timezone").with_default("UTC"), Phase::Update);
        assert_eq!(o.status, OutcomeStatus::Unchanged);
        assert_eq!(o.explain(), "timezone: left as it is in the target (None mapping)");
        let o = outcome(AttributeMapping::none("timezone"), Phase::Create);
        assert_eq!(o.status, OutcomeStatus::SkippedNull);
        // Defaults are converted to the target's type.
        let o = outcome(AttributeMapping::direct("city", "active").with_default("False"), Phase::Create);
        assert_eq!(o.result, Value::Bool(false));
    }

    #[test]
    fn create_only_mappings_are_skipped_on_update() {
        let a = AttributeMapping::direct("jobTitle", "title").create_only();
        assert_eq!(outcome(a.clone(), Phase::Create).status, OutcomeStatus::Sent);
        let o = outcome(a, Phase::Update);
        assert_eq!((o.status.clone(), o.result.clone(), o.source_values.len()), (OutcomeStatus::SkippedCreateOnly, Value::Null, 0));
        assert_eq!(o.explain(), "title: not sent; the mapping applies only during object creation");
    }

    #[test]
    fn null_and_empty_are_not_sent() {
        let r = run(
            vec![AttributeMapping::direct("city", "locale"), AttributeMapping::expression(r#"Append([city], "")"#, "timezone")],
            Phase::Create,
        );
        assert_eq!(r.explanation[1].status, OutcomeStatus::SkippedNull);
        assert_eq!(r.explanation[2].status, OutcomeStatus::SkippedNull);
        assert_eq!(r.get("locale"), None);
        assert_eq!(r.attributes.len(), 1);
    }

    #[test]
    fn ignore_flow_leaves_the_attribute_out() {
        let o = outcome(AttributeMapping::expression("IgnoreFlowIfNullOrEmpty([city])", "locale").with_default("x"), Phase::Create);
        assert_eq!((o.status.clone(), o.result.clone()), (OutcomeStatus::IgnoredFlow, Value::Null));
        assert_eq!(o.explain(), "locale: left out by IgnoreFlowIfNullOrEmpty (city has no value)");
    }

    #[test]
    fn failures_are_reported_not_sent() {
        let r = run(vec![AttributeMapping::direct("department", "active")], Phase::Create);
        let o = &r.explanation[1];
        assert_eq!(o.status, OutcomeStatus::Failed("the value 'Engineering' is not True or False, but active is a boolean".into()));
        assert_eq!(o.explain(), "active: failed: the value 'Engineering' is not True or False, but active is a boolean");
        assert_eq!(r.failures().len(), 1);
        assert_eq!(r.get("active"), None);
        let o = outcome(AttributeMapping::expression("Coalesce([proxyAddresses])", "displayName"), Phase::Create);
        assert_eq!(
            o.status,
            OutcomeStatus::Failed(
                "the value has 2 entries (SMTP:john.doe@contoso.com, smtp:jd@example.org), but displayName takes one value".into()
            )
        );
        // An evaluation failure (Stop::Failed) names the function.
        let mut r = sample_user();
        r.extension_attributes.insert("n".into(), "x".into());
        let m = compiled(&user_mapping(vec![
            AttributeMapping::direct("userPrincipalName", "userName").match_with(1),
            AttributeMapping::expression(r#"BitAnd([extension_n], 1)"#, "title"),
        ]));
        let o = resolve(&r, &m, Phase::Create, &mut env()).explanation.remove(1);
        assert!(matches!(&o.status, OutcomeStatus::Failed(m) if m.starts_with("BitAnd: ")), "{:?}", o.status);
    }

    #[test]
    fn values_are_converted_to_the_target_type() {
        let t = |name: &str, ty: TargetType| TargetAttribute::new(name, ty);
        assert_eq!(coerce(Value::str("TRUE"), &t("a", TargetType::Boolean)), Ok(Value::Bool(true)));
        assert_eq!(coerce(Value::str("12"), &t("a", TargetType::Integer)), Ok(Value::Int(12)));
        assert_eq!(coerce(Value::str("x"), &t("a", TargetType::Integer)), Err("'x' is not a whole number, but a is an integer".into()));
        assert_eq!(coerce(Value::Bool(true), &t("a", TargetType::String)), Ok(Value::str("True")));
        assert_eq!(coerce(Value::Int(5), &t("a", TargetType::String)), Ok(Value::str("5")));
        assert_eq!(coerce(Value::str("m-1"), &t("a", TargetType::Reference)), Ok(Value::Ref("m-1".into())));
        assert_eq!(coerce(Value::Multi(vec!["x".into()]), &t("a", TargetType::String)), Ok(Value::str("x")));
        assert_eq!(coerce(Value::str("x"), &t("a", TargetType::String).multi()), Ok(Value::Multi(vec!["x".into()])));
        assert_eq!(coerce(Value::Int(7), &t("a", TargetType::Integer)), Ok(Value::Int(7)));
    }

    #[test]
    fn scim_json_follows_every_path_shape() {
        let m = CompiledMapping::compile(
            &user_mapping(vec![
                AttributeMapping::direct("userPrincipalName", "userName").match_with(1),
                AttributeMapping::constant("True", "active"),
                AttributeMapping::direct("givenName", "name.givenName"),
                AttributeMapping::direct("surname", "name.familyName"),
                AttributeMapping::direct("mail", r#"emails[type eq "work"].value"#),
                AttributeMapping::constant("home@example.org", r#"emails[type eq "home"].value"#),
                AttributeMapping::direct("officeLocation", r#"addresses[type eq "work"].formatted"#),
                AttributeMapping::direct("country", r#"addresses[type eq "work"].country"#),
                AttributeMapping::constant("Admin", r#"roles[primary eq "True"].value"#),
                AttributeMapping::constant("WindowsAzureActiveDirectoryRole", r#"roles[primary eq "True"].type"#),
                AttributeMapping::direct("department", &format!("{ENT}:department")),
                AttributeMapping::direct("manager", &format!("{ENT}:manager")),
                AttributeMapping::direct("extension_costCenter", &format!("{ACME}:costCenter")),
            ]),
            &acme_schema(),
        )
        .unwrap();
        let r = resolve(&sample_user(), &m, Phase::Create, &mut env());
        assert_eq!(
            r.to_scim_json(),
            json!({
                "schemas": [
                    "urn:ietf:params:scim:schemas:core:2.0:User",
                    ENT,
                    "urn:ietf:params:scim:schemas:extension:Acme:2.0:User"
                ],
                "userName": "John.Doe@contoso.com",
                "active": true,
                "name": {"givenName": "John", "familyName": "Doe"},
                "emails": [
                    {"type": "work", "primary": true, "value": "john.doe@contoso.com"},
                    {"type": "home", "value": "home@example.org"}
                ],
                "addresses": [{"type": "work", "primary": true, "formatted": "B1", "country": "US"}],
                "roles": [{"primary": true, "value": "Admin", "type": "WindowsAzureActiveDirectoryRole"}],
                ENT: {"department": "Engineering", "manager": {"value": "m-1"}},
                "urn:ietf:params:scim:schemas:extension:Acme:2.0:User": {"costCenter": "42"}
            })
        );
    }

    #[test]
    fn scim_json_for_filters_without_sub_attribute_and_core_urns() {
        let mut schema = scim_user_schema();
        schema.attributes.push(TargetAttribute::string(r#"emails[type eq "other"]"#));
        schema.attributes.push(TargetAttribute::string("urn:ietf:params:scim:schemas:core:2.0:User:nickName"));
        let m = CompiledMapping::compile(
            &user_mapping(vec![
                AttributeMapping::direct("userPrincipalName", "userName").match_with(1),
                AttributeMapping::constant("o@example.org", r#"emails[type eq "other"]"#),
                AttributeMapping::constant("jd", "urn:ietf:params:scim:schemas:core:2.0:User:nickName"),
            ]),
            &schema,
        )
        .unwrap();
        let r = resolve(&sample_user(), &m, Phase::Create, &mut env());
        assert_eq!(
            r.to_scim_json(),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "John.Doe@contoso.com",
                "emails": [{"type": "other", "value": "o@example.org"}], "nickName": "jd"})
        );
    }

    #[test]
    fn groups_resolve_with_reference_members() {
        let mut g = default_group_mapping();
        g.attributes.push(AttributeMapping::constant("x", "urn:ietf:params:scim:schemas:core:2.0:Group:displayName"));
        assert!(CompiledMapping::compile(&g, &scim_group_schema()).is_err()); // displayName twice
        let m = compiled(&default_group_mapping());
        struct G;
        impl Source for G {
            fn get(&self, name: &str) -> Value {
                match name {
                    "displayName" => Value::str("Engineering"),
                    "objectId" => Value::str("g-1"),
                    "members" => Value::Multi(vec!["u-1".into(), "u-2".into()]),
                    _ => Value::Null,
                }
            }
        }
        let r = resolve(&G, &m, Phase::Create, &mut env());
        assert_eq!(
            r.to_scim_json(),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "externalId": "g-1",
                "members": [{"value": "u-1"}, {"value": "u-2"}]})
        );
        assert_eq!(r.matching_values(), [("displayName".to_string(), Value::str("Engineering"))]);
    }

    #[test]
    fn matching_values_are_in_precedence_order_without_defaults() {
        let r = run(
            vec![
                AttributeMapping::direct("city", "externalId").match_with(3).with_default("nowhere"),
                AttributeMapping::direct("mail", r#"emails[type eq "work"].value"#).match_with(2),
            ],
            Phase::Create,
        );
        assert_eq!(r.explanation[1].status, OutcomeStatus::DefaultUsed);
        assert_eq!(
            r.matching_values(),
            [
                ("userName".to_string(), Value::str("John.Doe@contoso.com")),
                (r#"emails[type eq "work"].value"#.to_string(), Value::str("john.doe@contoso.com"))
            ]
        );
    }
}
