//! Checking a mapping before it is saved. Every problem is returned at once, each naming the
//! attribute mapping (by its target) and the field, so the portal can mark them all.
//!
//! The rules, with Entra's wording where it has one (E:customize-application-attributes, E:functions-
//! for-customizing-application-data):
//! - At least one attribute mapping is used for matching, and each matching mapping has its own
//!   precedence ("When there are multiple, they're evaluated in the order defined by this field").
//!   Matching needs a value (not a None mapping) and a single-valued, non-reference target.
//! - Every target attribute the target requires is mapped; targets exist in the target's attribute
//!   list (with a suggestion for near misses) and are mapped once. The primary key isn't mapped ("The
//!   primary key, typically ID, shouldn't be included as a target attribute").
//! - Sources compile: a Direct source is a known attribute, an Expression compiles (its error keeps
//!   line and column), a Constant has a value; a None mapping needs no source.
//! - Types fit: a multi-valued source goes only into a multi-valued target unless an expression
//!   reduces it (Join, Item); a Reference target (manager) is mapped directly from a reference
//!   attribute, and a reference attribute only into a Reference target; booleans, integers and dates
//!   aren't mixed up; defaults and constants fit Boolean and Integer targets.
//! - SelectUniqueValue is "creation-only, not on matching attributes".
//! - The scoping filters are valid (see [`crate::scoping::validate_filters`]).

use super::{AttributeMapping, CompiledAttribute, MappingError, MappingType, ObjectMapping, TargetAttribute, TargetSchema, TargetType};
use crate::expr::suggest::closest;
use crate::expr::value::parse_int;
use crate::expr::{compile, ExprError, Expression, SourceSchema, Span, Type};
use crate::scoping::CompiledScope;

/// The result of checking: the errors, and what compiled.
pub(crate) struct Checked {
    /// Every problem found.
    pub errors: Vec<MappingError>,
    /// The attribute mappings that compiled cleanly, in order.
    pub attributes: Vec<CompiledAttribute>,
    /// The compiled scoping filters, when they are valid.
    pub scope: Option<CompiledScope>,
}

/// Checks `mapping` against the target's attribute list and returns every problem (none when it can
/// be saved).
pub fn validate(mapping: &ObjectMapping, target: &TargetSchema) -> Vec<MappingError> {
    check(mapping, target).errors
}

/// Required mappings ("For required attributes, the Delete feature is unavailable") that an edit
/// removed: each required attribute mapping of `before` whose target `after` no longer maps.
pub fn removed_required(before: &ObjectMapping, after: &ObjectMapping) -> Vec<MappingError> {
    before
        .attributes
        .iter()
        .filter(|a| a.required && !after.attributes.iter().any(|b| b.target.eq_ignore_ascii_case(&a.target)))
        .map(|a| MappingError::new(&a.target, "target", format!("the mapping of {} is required and can't be deleted", a.target)))
        .collect()
}

/// Checks and compiles.
pub(crate) fn check(mapping: &ObjectMapping, target: &TargetSchema) -> Checked {
    let mut errors = Vec::new();
    let source = mapping.source_object.source_schema();
    for e in target.validate() {
        errors.push(MappingError::new("", "targetSchema", e.to_string()));
    }
    if mapping.name.trim().is_empty() {
        errors.push(MappingError::new("", "name", "the mapping needs a name"));
    }
    if target.object != mapping.source_object {
        errors.push(MappingError::new(
            "",
            "targetObject",
            format!("the target's attribute list is for {} objects, but this mapping provisions {}s", target.object, mapping.source_object),
        ));
    }
    let to = mapping.target_object.trim();
    if !(to.eq_ignore_ascii_case(&target.object.to_string()) || to.eq_ignore_ascii_case(target.core_schema())) {
        errors.push(MappingError::new(
            "",
            "targetObject",
            format!("the target object must be {} (or {})", target.core_schema(), target.object),
        ));
    }

    let mut attributes = Vec::new();
    let mut mapped: Vec<(String, String)> = Vec::new();
    let mut precedences: Vec<(u32, String)> = Vec::new();
    for (i, a) in mapping.attributes.iter().enumerate() {
        let label = if a.target.trim().is_empty() { format!("attribute mapping {}", i + 1) } else { a.target.clone() };
        let mut errs = Vec::new();
        let compiled = check_attribute(a, &label, &source, target, &mut errs);
        if let Some(t) = compiled.as_ref().map(|c| &c.target).or_else(|| target.get(&a.target)) {
            let key = t.name.to_ascii_lowercase();
            match mapped.iter().find(|(k, _)| *k == key) {
                Some((_, other)) => errs.push(MappingError::new(
                    &label,
                    "target",
                    format!("{} is already mapped (by the mapping of {other}); map each target attribute once", t.name),
                )),
                None => mapped.push((key, label.clone())),
            }
        }
        if let (true, Some(p)) = (a.matching, a.matching_precedence) {
            match precedences.iter().find(|(q, _)| *q == p) {
                Some((_, other)) if p > 0 => errs.push(MappingError::new(
                    &label,
                    "matchingPrecedence",
                    format!("matching precedence {p} is also used by {other}; each matching attribute needs its own"),
                )),
                _ => precedences.push((p, label.clone())),
            }
        }
        if errs.is_empty() {
            attributes.extend(compiled);
        }
        errors.extend(errs);
    }

    if !mapping.attributes.iter().any(|a| a.matching) {
        errors.push(MappingError::new(
            "",
            "matching",
            "no attribute mapping is used for matching: set \"Match objects using this attribute\" on at least one (such as userName)",
        ));
    }
    for t in target.attributes.iter().filter(|t| t.required && !t.primary_key) {
        if !mapping.attributes.iter().any(|a| a.target.eq_ignore_ascii_case(&t.name)) {
            errors.push(MappingError::new(
                &t.name,
                "target",
                format!("{} is required by the target; add an attribute mapping for it", t.name),
            ));
        }
    }
    let scope = match CompiledScope::compile(&mapping.scope, &source) {
        Ok(s) => Some(s),
        Err(es) => {
            for e in es {
                let field = match e.clause {
                    Some(n) => format!("clause {n} {}", e.field),
                    None => e.field.clone(),
                };
                errors.push(MappingError::new(&format!("scoping filter '{}'", e.filter), &field, e.message));
            }
            None
        }
    };
    Checked { errors, attributes, scope }
}

/// Checks one attribute mapping; the compiled form when its source and target are sound.
fn check_attribute(
    a: &AttributeMapping,
    label: &str,
    source: &SourceSchema,
    target: &TargetSchema,
    errors: &mut Vec<MappingError>,
) -> Option<CompiledAttribute> {
    let mut err = |field: &str, message: String| errors.push(MappingError::new(label, field, message));

    let t = if a.target.trim().is_empty() {
        err("target", "choose a target attribute".to_string());
        None
    } else {
        match target.get(&a.target) {
            Some(t) => Some(t),
            None => {
                let hint = closest(&a.target, target.names()).map(|k| format!(", did you mean {k}?")).unwrap_or_default();
                err("target", format!("the target has no attribute {}{hint}", a.target));
                None
            }
        }
    };
    if let Some(t) = t.filter(|t| t.primary_key) {
        err("target", format!("{} is the target's primary key, which the target assigns; it shouldn't be mapped", t.name));
    }

    // The source, compiled; its static type.
    let mut expr_error: Option<MappingError> = None;
    let compiled: Option<(Expression, Type)> = match a.mapping_type {
        MappingType::None => None,
        MappingType::Direct => {
            let name = a.source.as_str();
            if name.trim().is_empty() {
                err("source", "choose a source attribute".to_string());
                None
            } else if name.contains(['[', ']']) {
                err("source", format!("write the attribute's name without brackets ({})", name.trim_matches(['[', ']'])));
                None
            } else {
                match compile(&format!("[{name}]"), source) {
                    Ok(e) => Some((e, source.get(name).unwrap_or(Type::Any))),
                    Err(e) => {
                        let at = ExprError { message: e.message.clone(), span: Span::new(0, name.len()), line: 1, column: 1 };
                        expr_error = Some(MappingError { expr_error: Some(at), ..MappingError::new(label, "source", e.message) });
                        None
                    }
                }
            }
        }
        MappingType::Constant => {
            if a.source.is_empty() {
                err("source", "a Constant mapping needs a value".to_string());
            }
            let text = a.expression_text().unwrap_or_default();
            compile(&text, source).ok().map(|e| (e, Type::String))
        }
        MappingType::Expression => {
            if a.source.trim().is_empty() {
                err("source", "write an expression".to_string());
                None
            } else {
                match compile(&a.source, source) {
                    Ok(e) => {
                        let ty = e.returns();
                        Some((e, ty))
                    }
                    Err(e) => {
                        expr_error = Some(MappingError { expr_error: Some(e.clone()), ..MappingError::new(label, "source", e.message) });
                        None
                    }
                }
            }
        }
    };
    let had_expr_error = expr_error.is_some();
    errors.extend(expr_error);
    let mut err = |field: &str, message: String| errors.push(MappingError::new(label, field, message));

    if let (Some(t), Some((e, ty))) = (t, &compiled) {
        if let Some(problem) = type_problem(a, t, *ty) {
            err("source", problem);
        }
        if e.top_function() == Some("SelectUniqueValue") {
            if a.matching {
                err("matching", "SelectUniqueValue can't be used on a matching attribute".to_string());
            }
            if a.apply_on != super::ApplyOn::CreateOnly {
                err("applyOn", "SelectUniqueValue works only when the mapping is applied \"Only during object creation\"".to_string());
            }
        }
    }
    if let (Some(t), Some(d)) = (t, a.default_text()) {
        match t.attr_type {
            TargetType::Boolean if as_bool(d).is_none() => {
                err("defaultValue", format!("{} is a boolean, so the default must be True or False, not '{d}'", t.name))
            }
            TargetType::Integer if parse_int(d.trim()).is_none() => {
                err("defaultValue", format!("{} is an integer, so the default must be a whole number, not '{d}'", t.name))
            }
            TargetType::Reference => err("defaultValue", format!("{} is a reference; it can't have a default value", t.name)),
            _ => {}
        }
    }
    if a.matching {
        if a.mapping_type == MappingType::None {
            err("mappingType", "a None mapping has no value to match objects with".to_string());
        }
        if let Some(t) = t {
            if t.multi_valued {
                err("matching", format!("{} is multi-valued; objects can't be matched on it", t.name));
            } else if t.attr_type == TargetType::Reference {
                err("matching", format!("{} is a reference; objects can't be matched on it", t.name));
            }
        }
        match a.matching_precedence {
            None => err("matchingPrecedence", "set a matching precedence (1 is tried first)".to_string()),
            Some(0) => err("matchingPrecedence", "matching precedence starts at 1".to_string()),
            Some(_) => {}
        }
    } else if a.matching_precedence.is_some() {
        err("matchingPrecedence", "a matching precedence is set, but this mapping isn't used for matching".to_string());
    }

    let t = t?;
    if had_expr_error || (a.mapping_type != MappingType::None && compiled.is_none()) {
        return None;
    }
    let expression = compiled.map(|(e, _)| e);
    Some(CompiledAttribute {
        description: a.source_description(),
        reads: expression.as_ref().map(|e| e.attributes().into_iter().map(str::to_string).collect()).unwrap_or_default(),
        redacted: expression.as_ref().is_some_and(super::resolve::uses_redact),
        mapping: a.clone(),
        target: t.clone(),
        path: super::ScimPath::parse(&t.name).ok()?,
        expression,
    })
}

use crate::expr::value::parse_bool as as_bool;

/// Why a source of static type `st` can't feed target `t`, if it can't.
fn type_problem(a: &AttributeMapping, t: &TargetAttribute, st: Type) -> Option<String> {
    let src = a.source_description();
    let name = &t.name;
    if t.attr_type == TargetType::Reference {
        let direct = a.mapping_type == MappingType::Direct;
        let fits = st == Type::Reference || (t.multi_valued && st == Type::Multi);
        if direct && fits {
            return None;
        }
        let object = t.referenced_object.as_deref().unwrap_or("object");
        let got = if direct { format!("{src} is {}", st.described()) } else { format!("{src} is not a Direct mapping") };
        return Some(format!(
            "{name} refers to a {object} in the target, so it must be mapped directly from a reference attribute (such as [manager]); {got}"
        ));
    }
    if st == Type::Reference && a.mapping_type == MappingType::Direct {
        return Some(format!(
            "{src} refers to another object, so it can only be mapped to a Reference attribute, and {name} is {}",
            t.attr_type.described()
        ));
    }
    if !t.multi_valued {
        if st == Type::Objects {
            return Some(format!(
                "{src} holds app role assignments, but {name} takes a single value; use SingleAppRoleAssignment, \
                 or map AppRoleAssignmentsComplex to a multi-valued attribute such as roles"
            ));
        }
        if st == Type::Multi {
            return Some(format!(
                "{src} is multi-valued, but {name} takes a single value; use an expression such as Join or Item to reduce it to one"
            ));
        }
    }
    let clash = match t.attr_type {
        TargetType::Boolean | TargetType::Integer => st == Type::DateTime,
        TargetType::DateTime => matches!(st, Type::Boolean | Type::Integer),
        _ => false,
    };
    if clash {
        return Some(format!("{name} is {}, but {src} is {}", t.attr_type.described(), st.described()));
    }
    if a.mapping_type == MappingType::Constant {
        match t.attr_type {
            TargetType::Boolean if as_bool(&a.source).is_none() => {
                return Some(format!("{name} is a boolean, so the constant must be True or False, not '{}'", a.source));
            }
            TargetType::Integer if parse_int(a.source.trim()).is_none() => {
                return Some(format!("{name} is an integer, so the constant must be a whole number, not '{}'", a.source));
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::test_support::user_mapping;
    use super::super::*;
    use crate::scoping::{ScopeOperator, ScopingClause, ScopingFilter};

    const MANAGER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

    fn base() -> Vec<AttributeMapping> {
        vec![AttributeMapping::direct("userPrincipalName", "userName").match_with(1)]
    }

    /// The errors for the base mapping plus `extra`, as text.
    fn errors_with(extra: Vec<AttributeMapping>) -> Vec<String> {
        let mut attrs = base();
        attrs.extend(extra);
        validate(&user_mapping(attrs), &scim_user_schema()).iter().map(|e| e.to_string()).collect()
    }

    fn one(a: AttributeMapping) -> Vec<String> {
        errors_with(vec![a])
    }

    #[test]
    fn a_sound_mapping_has_no_errors() {
        assert_eq!(one(AttributeMapping::expression(r#"Join(" ", [givenName], [surname])"#, "name.formatted")), Vec::<String>::new());
        assert_eq!(one(AttributeMapping::direct("manager", MANAGER)), Vec::<String>::new());
        assert_eq!(one(AttributeMapping::none("nickName").with_default("nick")), Vec::<String>::new());
        assert_eq!(
            one(AttributeMapping::direct("extension_costCenter", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter")),
            Vec::<String>::new()
        );
    }

    #[test]
    fn matching_is_required_with_unique_precedences() {
        let e = validate(&user_mapping(vec![AttributeMapping::direct("userPrincipalName", "userName")]), &scim_user_schema());
        assert_eq!(e.len(), 1);
        assert_eq!(
            e[0].to_string(),
            "matching: no attribute mapping is used for matching: set \"Match objects using this attribute\" on at least one (such as userName)"
        );
        assert_eq!((e[0].mapping.as_str(), e[0].field.as_str()), ("", "matching"));
        assert_eq!(
            one(AttributeMapping::direct("mailNickname", "externalId").match_with(1)),
            ["externalId, matchingPrecedence: matching precedence 1 is also used by userName; each matching attribute needs its own"]
        );
        let mut a = AttributeMapping::direct("mailNickname", "externalId");
        a.matching = true;
        assert_eq!(one(a.clone()), ["externalId, matchingPrecedence: set a matching precedence (1 is tried first)"]);
        a.matching_precedence = Some(0);
        assert_eq!(one(a), ["externalId, matchingPrecedence: matching precedence starts at 1"]);
        let mut a = AttributeMapping::direct("mailNickname", "externalId");
        a.matching_precedence = Some(2);
        assert_eq!(one(a), ["externalId, matchingPrecedence: a matching precedence is set, but this mapping isn't used for matching"]);
        assert_eq!(
            one(AttributeMapping::none("externalId").match_with(2)),
            ["externalId, mappingType: a None mapping has no value to match objects with"]
        );
        assert_eq!(
            one(AttributeMapping::direct("manager", MANAGER).match_with(2)),
            [format!("{MANAGER}, matching: {MANAGER} is a reference; objects can't be matched on it")]
        );
        assert_eq!(
            one(AttributeMapping::direct("otherMails", "roles").match_with(2)),
            ["roles, matching: roles is multi-valued; objects can't be matched on it"]
        );
        assert_eq!(one(AttributeMapping::direct("mailNickname", "externalId").match_with(2)), Vec::<String>::new());
    }

    #[test]
    fn required_targets_must_be_mapped() {
        let e = validate(&user_mapping(vec![AttributeMapping::direct("mail", "externalId").match_with(1)]), &scim_user_schema());
        let got: Vec<String> = e.iter().map(|e| e.to_string()).collect();
        assert_eq!(got, ["userName, target: userName is required by the target; add an attribute mapping for it"]);
    }

    #[test]
    fn targets_exist_once_and_are_not_the_primary_key() {
        assert_eq!(
            one(AttributeMapping::direct("jobTitle", "titlee")),
            ["titlee, target: the target has no attribute titlee, did you mean title?"]
        );
        assert_eq!(one(AttributeMapping::direct("jobTitle", "zzzzzz")), ["zzzzzz, target: the target has no attribute zzzzzz"]);
        assert_eq!(one(AttributeMapping::direct("jobTitle", " ")), ["attribute mapping 2, target: choose a target attribute"]);
        assert_eq!(
            errors_with(vec![AttributeMapping::direct("jobTitle", "title"), AttributeMapping::direct("displayName", "TITLE")]),
            ["TITLE, target: title is already mapped (by the mapping of title); map each target attribute once"]
        );
        assert_eq!(
            one(AttributeMapping::direct("objectId", "id")),
            ["id, target: id is the target's primary key, which the target assigns; it shouldn't be mapped"]
        );
    }

    #[test]
    fn sources_must_compile_and_keep_their_position() {
        let e = validate(
            &user_mapping(vec![
                AttributeMapping::direct("userPrincipalName", "userName").match_with(1),
                AttributeMapping::expression("Join(\" \",\n  [givenNam])", "name.formatted"),
            ]),
            &scim_user_schema(),
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].to_string(), "name.formatted, source: unknown attribute [givenNam], did you mean [givenName]? (line 2, column 3)");
        let x = e[0].expr_error.as_ref().unwrap();
        assert_eq!((x.line, x.column), (2, 3));
        assert_eq!(
            serde_json::to_value(&e[0]).unwrap()["exprError"],
            serde_json::json!({"message":"unknown attribute [givenNam], did you mean [givenName]?","span":{"start":12,"end":22},"line":2,"column":3})
        );
        let e = validate(&user_mapping(vec![AttributeMapping::direct("userPrincipalNam", "userName").match_with(1)]), &scim_user_schema());
        assert_eq!(
            e[0].to_string(),
            "userName, source: unknown attribute [userPrincipalNam], did you mean [userPrincipalName]? (line 1, column 1)"
        );
        assert_eq!(e[0].expr_error.as_ref().unwrap().span, crate::expr::Span::new(0, 16));
        assert_eq!(one(AttributeMapping::direct("", "title")), ["title, source: choose a source attribute"]);
        assert_eq!(
            one(AttributeMapping::direct("[jobTitle]", "title")),
            ["title, source: write the attribute's name without brackets (jobTitle)"]
        );
        assert_eq!(one(AttributeMapping::expression("  ", "title")), ["title, source: write an expression"]);
        assert_eq!(one(AttributeMapping::constant("", "title")), ["title, source: a Constant mapping needs a value"]);
        let e = one(AttributeMapping::expression("ToLower([mail]", "title"));
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("title, source: "), "{e:?}");
        // A None mapping needs no source.
        assert_eq!(one(AttributeMapping::none("title")), Vec::<String>::new());
    }

    #[test]
    fn types_must_fit() {
        assert_eq!(
            one(AttributeMapping::direct("otherMails", "title")),
            ["title, source: [otherMails] is multi-valued, but title takes a single value; use an expression such as Join or Item to reduce it to one"]
        );
        assert_eq!(one(AttributeMapping::expression(r#"Join(",", [otherMails])"#, "title")), Vec::<String>::new());
        assert_eq!(one(AttributeMapping::expression("Item([otherMails], 1)", "title")), Vec::<String>::new());
        assert_eq!(
            one(AttributeMapping::expression(r#"Split([mail], "@")"#, "title")),
            ["title, source: Split([mail], \"@\") is multi-valued, but title takes a single value; use an expression such as Join or Item to reduce it to one"]
        );
        assert_eq!(one(AttributeMapping::direct("otherMails", "roles")), Vec::<String>::new());
        assert_eq!(
            one(AttributeMapping::direct("department", MANAGER)),
            [format!("{MANAGER}, source: {MANAGER} refers to a User in the target, so it must be mapped directly from a reference attribute (such as [manager]); [department] is a string")]
        );
        assert_eq!(
            one(AttributeMapping::expression("[manager]", MANAGER)),
            [format!("{MANAGER}, source: {MANAGER} refers to a User in the target, so it must be mapped directly from a reference attribute (such as [manager]); [manager] is not a Direct mapping")]
        );
        assert_eq!(
            one(AttributeMapping::direct("manager", "title")),
            ["title, source: [manager] refers to another object, so it can only be mapped to a Reference attribute, and title is a string"]
        );
        assert_eq!(
            one(AttributeMapping::direct("appRoleAssignments", "title")),
            ["title, source: [appRoleAssignments] holds app role assignments, but title takes a single value; use SingleAppRoleAssignment, or map AppRoleAssignmentsComplex to a multi-valued attribute such as roles"]
        );
        assert_eq!(
            one(AttributeMapping::direct("createdDateTime", "active")),
            ["active, source: active is a boolean, but [createdDateTime] is a date-time"]
        );
        assert_eq!(one(AttributeMapping::direct("accountEnabled", "active")), Vec::<String>::new());
        assert_eq!(one(AttributeMapping::constant("True", "active")), Vec::<String>::new());
        assert_eq!(
            one(AttributeMapping::constant("yes", "active")),
            ["active, source: active is a boolean, so the constant must be True or False, not 'yes'"]
        );
    }

    #[test]
    fn defaults_must_fit_their_target() {
        assert_eq!(
            one(AttributeMapping::direct("accountEnabled", "active").with_default("maybe")),
            ["active, defaultValue: active is a boolean, so the default must be True or False, not 'maybe'"]
        );
        assert_eq!(one(AttributeMapping::direct("accountEnabled", "active").with_default("False")), Vec::<String>::new());
        assert_eq!(
            one(AttributeMapping::direct("manager", MANAGER).with_default("x")),
            [format!("{MANAGER}, defaultValue: {MANAGER} is a reference; it can't have a default value")]
        );
        // An empty default is no default.
        assert_eq!(one(AttributeMapping::direct("accountEnabled", "active").with_default("")), Vec::<String>::new());
    }

    #[test]
    fn select_unique_value_is_create_only_and_never_matching() {
        let text = r#"SelectUniqueValue(Join("", [givenName], [surname]), Join("", [givenName], "1"))"#;
        assert_eq!(one(AttributeMapping::expression(text, "nickName").create_only()), Vec::<String>::new());
        assert_eq!(
            one(AttributeMapping::expression(text, "nickName")),
            ["nickName, applyOn: SelectUniqueValue works only when the mapping is applied \"Only during object creation\""]
        );
        assert_eq!(
            one(AttributeMapping::expression(text, "externalId").create_only().match_with(2)),
            ["externalId, matching: SelectUniqueValue can't be used on a matching attribute"]
        );
    }

    #[test]
    fn mapping_level_problems_and_scope_are_reported() {
        let mut m = user_mapping(base());
        m.name = String::new();
        m.target_object = "Widget".into();
        m.scope = vec![ScopingFilter::new("Sales", vec![ScopingClause::new("departmnt", ScopeOperator::Equals, Some("Sales"))])];
        let got: Vec<String> = validate(&m, &scim_user_schema()).iter().map(|e| e.to_string()).collect();
        assert_eq!(
            got,
            [
                "name: the mapping needs a name",
                "targetObject: the target object must be urn:ietf:params:scim:schemas:core:2.0:User (or User)",
                "scoping filter 'Sales', clause 1 attribute: unknown attribute 'departmnt', did you mean 'department'?",
            ]
        );
        let mut m = user_mapping(base());
        m.source_object = ObjectType::Group;
        let got: Vec<String> = validate(&m, &scim_user_schema()).iter().map(|e| e.to_string()).collect();
        assert_eq!(got[0], "targetObject: the target's attribute list is for User objects, but this mapping provisions Groups");
        let mut broken = scim_user_schema();
        broken.attributes.push(TargetAttribute::string("bad name"));
        let got: Vec<String> = validate(&user_mapping(base()), &broken).iter().map(|e| e.to_string()).collect();
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("targetSchema: row "), "{got:?}");
    }

    #[test]
    fn required_mappings_cant_be_deleted() {
        let before = default_user_mapping();
        let mut after = before.clone();
        assert_eq!(removed_required(&before, &after), []);
        after.attributes.retain(|a| a.target != "userName" && a.target != "title");
        let got: Vec<String> = removed_required(&before, &after).iter().map(|e| e.to_string()).collect();
        assert_eq!(got, ["userName, target: the mapping of userName is required and can't be deleted"]);
    }

    #[test]
    fn every_problem_is_returned_at_once() {
        let e = validate(
            &user_mapping(vec![
                AttributeMapping::direct("userPrincipalNam", "userName"),
                AttributeMapping::direct("otherMails", "title"),
                AttributeMapping::direct("jobTitle", "titlee"),
            ]),
            &scim_user_schema(),
        );
        let fields: Vec<(&str, &str)> = e.iter().map(|e| (e.mapping.as_str(), e.field.as_str())).collect();
        assert_eq!(fields, [("userName", "source"), ("title", "source"), ("titlee", "target"), ("", "matching")]);
        assert!(CompiledMapping::compile(&user_mapping(base()), &scim_user_schema()).is_ok());
    }
}
