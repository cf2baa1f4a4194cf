//! Server functions of the Mappings blades: object mappings, attribute mappings, scoping filters and
//! the target attribute list. Every change reads the app's mappings, changes one part and saves the
//! whole through `provisio::service::apps::put_mappings`, which validates everything (expressions
//! compiled, matching, scoping, the attribute lists) in one transaction.
//!
//! Forms post one field per control, so every function works as a plain form POST. Validation errors
//! are re-addressed to the form's own field names where the form has that field (see each function),
//! and keep the service's name otherwise (`user.attributes[userName].source`), so a page can show
//! each next to its field and list the rest.

use leptos::prelude::*;
use provisio::apps::AppMappings;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;
#[cfg(feature = "ssr")]
use provisio::mapping::{ObjectMapping, ObjectType, TargetSchema};
#[cfg(feature = "ssr")]
use provisio::model::FieldError;
#[cfg(feature = "ssr")]
use provisio::service::ServiceError;

/// An app's mappings, as the Mappings blades show them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MappingsView {
    /// The app's name.
    pub app_name: String,
    /// Where "Restore default mappings" takes the defaults from: the gallery entry's name, or
    /// "a generic SCIM 2.0 app".
    pub defaults_from: String,
    /// The mappings and attribute lists as saved.
    pub mappings: AppMappings,
}

/// One scoping filter of the scope form: `filters[i][title]`, `filters[i][remove]`,
/// `filters[i][clauses][j][…]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterForm {
    /// The "Scoping Filter Title".
    #[serde(default)]
    pub title: String,
    /// Present when "Remove this filter" is ticked.
    #[serde(default)]
    pub remove: Option<String>,
    /// Its clauses.
    #[serde(default)]
    pub clauses: Vec<ClauseForm>,
}

/// One clause row of the scope form. A row with neither attribute nor value is left out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClauseForm {
    /// The source attribute's name.
    #[serde(default)]
    pub attribute: String,
    /// The operator as Entra writes it (`EQUALS`, `IS TRUE`, …).
    #[serde(default)]
    pub operator: String,
    /// The value (ignored by operators that take none).
    #[serde(default)]
    pub value: String,
    /// Present when "Remove" is ticked.
    #[serde(default)]
    pub remove: Option<String>,
}

/// The object (`user` or `group`) a form edits.
#[cfg(feature = "ssr")]
fn object_of(object: &str) -> Result<ObjectType, ServerFnError> {
    match object {
        "user" => Ok(ObjectType::User),
        "group" => Ok(ObjectType::Group),
        other => Err(ssr::err(ServiceError::invalid("object", format!("'{other}' is not user or group")))),
    }
}

/// The prefix of the service's field names for an object: `user` or `group`.
#[cfg(feature = "ssr")]
fn key(o: ObjectType) -> &'static str {
    match o {
        ObjectType::User => "user",
        ObjectType::Group => "group",
    }
}

#[cfg(feature = "ssr")]
fn parts(m: &mut AppMappings, o: ObjectType) -> (&mut ObjectMapping, &mut TargetSchema) {
    match o {
        ObjectType::User => (&mut m.user, &mut m.user_schema),
        ObjectType::Group => (&mut m.group, &mut m.group_schema),
    }
}

/// Saves `m`; a validation error has its field names passed through `rename` (which returns the
/// form's name for a field it knows, or `None` to keep the service's).
#[cfg(feature = "ssr")]
async fn save(
    store: &provisio::store::Store,
    actor: &provisio::service::Actor,
    id: &str,
    m: AppMappings,
    rename: impl Fn(&str) -> Option<String>,
) -> Result<(), ServerFnError> {
    match provisio::service::apps::put_mappings(store, actor, id, m).await {
        Ok(_) => Ok(()),
        Err(ServiceError::Validation(errs)) => {
            let errs = errs.into_iter().map(|e| FieldError::new(rename(&e.field).unwrap_or(e.field), e.message)).collect();
            Err(ssr::err(ServiceError::Validation(errs)))
        }
        Err(e) => Err(ssr::err(e)),
    }
}

/// A validation error with one field.
#[cfg(feature = "ssr")]
fn invalid(field: &str, message: impl Into<String>) -> ServerFnError {
    ssr::err(ServiceError::invalid(field, message))
}

/// The app's mappings, attribute lists and where its defaults come from.
#[server]
pub async fn get_app_mappings(id: String) -> Result<MappingsView, ServerFnError> {
    use provisio::service::apps;
    let (store, actor) = ssr::ctx().await?;
    let app = apps::get_app(&store, &actor, &id).await.map_err(ssr::err)?;
    let mappings = apps::get_mappings(&store, &actor, &id).await.map_err(ssr::err)?;
    let defaults_from = match provisio::gallery::get(&app.template) {
        Some(e) if provisio::gallery::mappings(&app.template).is_some() => format!("the {} gallery entry", e.name),
        _ => "a generic SCIM 2.0 app".to_string(),
    };
    Ok(MappingsView { app_name: app.name, defaults_from, mappings })
}

/// Saves the Enabled toggles of both object mappings (a checkbox is present when ticked).
#[server]
pub async fn save_enabled(id: String, user_enabled: Option<String>, group_enabled: Option<String>) -> Result<(), ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    let mut m = provisio::service::apps::get_mappings(&store, &actor, &id).await.map_err(ssr::err)?;
    m.user.enabled = user_enabled.is_some();
    m.group.enabled = group_enabled.is_some();
    save(&store, &actor, &id, m, |_| None).await?;
    leptos_axum::redirect(&format!("/apps/{id}/provisioning/mappings?saved=enabled"));
    Ok(())
}

/// Replaces both object mappings, their scoping filters and both attribute lists with the app's
/// defaults (its gallery entry's, or a generic SCIM app's); needs `confirm=yes`.
#[server]
pub async fn restore_default_mappings(id: String, confirm: Option<String>) -> Result<(), ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    if confirm.as_deref() != Some("yes") {
        return Err(invalid("confirm", "confirm the restore first"));
    }
    let app = provisio::service::apps::get_app(&store, &actor, &id).await.map_err(ssr::err)?;
    let defaults = provisio::gallery::mappings(&app.template).unwrap_or_default();
    save(&store, &actor, &id, defaults, |_| None).await?;
    leptos_axum::redirect(&format!("/apps/{id}/provisioning/mappings?restored=1"));
    Ok(())
}

/// Saves the Target Object Actions of one object mapping (checkboxes present when ticked).
#[server]
pub async fn save_actions(
    id: String,
    object: String,
    create: Option<String>,
    update: Option<String>,
    delete: Option<String>,
) -> Result<(), ServerFnError> {
    let o = object_of(&object)?;
    let (store, actor) = ssr::ctx().await?;
    let mut m = provisio::service::apps::get_mappings(&store, &actor, &id).await.map_err(ssr::err)?;
    parts(&mut m, o).0.actions =
        provisio::mapping::TargetActions { create: create.is_some(), update: update.is_some(), delete: delete.is_some() };
    save(&store, &actor, &id, m, |_| None).await?;
    leptos_axum::redirect(&format!("/apps/{id}/provisioning/mappings/{object}?saved=actions"));
    Ok(())
}

/// Deletes the attribute mapping of target attribute `target`; a required one is refused.
#[server]
pub async fn delete_attribute_mapping(id: String, object: String, target: String) -> Result<(), ServerFnError> {
    let o = object_of(&object)?;
    let (store, actor) = ssr::ctx().await?;
    let mut m = provisio::service::apps::get_mappings(&store, &actor, &id).await.map_err(ssr::err)?;
    let mapping = parts(&mut m, o).0;
    let Some(i) = mapping.attributes.iter().position(|a| a.target.eq_ignore_ascii_case(&target)) else {
        return Err(invalid("target", format!("there is no mapping of {target}")));
    };
    if mapping.attributes[i].required {
        return Err(invalid("target", format!("the mapping of {target} is required and can't be deleted")));
    }
    mapping.attributes.remove(i);
    save(&store, &actor, &id, m, |_| None).await?;
    leptos_axum::redirect(&format!("/apps/{id}/provisioning/mappings/{object}"));
    Ok(())
}

/// The form's name for a service field about the attribute mapping labelled `label`: `source` becomes
/// the control of the mapping type (`source_attribute`, `constant` or `expression`), the others
/// their snake_case names; `{object}.matching` (no matching attribute at all) is `matching`.
pub fn attribute_form_field(object: &str, label: &str, mapping_type: &str, field: &str) -> Option<String> {
    if field == format!("{object}.matching") {
        return Some("matching".into());
    }
    let rest = field.strip_prefix(&format!("{object}.attributes[{label}]."))?;
    let name = match rest {
        "source" => match mapping_type {
            "Direct" => "source_attribute",
            "Constant" => "constant",
            _ => "expression",
        },
        "target" => "target",
        "defaultValue" => "default_value",
        "matching" => "matching",
        "matchingPrecedence" => "matching_precedence",
        "applyOn" => "apply_on",
        "mappingType" => "mapping_type",
        _ => return None,
    };
    Some(name.into())
}

/// Adds (no `original`) or replaces (the mapping whose target is `original`) an attribute mapping
/// from the Edit Attribute form, then goes back to the mapping editor. Errors name the form's fields
/// (`source_attribute`, `constant`, `expression`, `target`, `default_value`, `matching`,
/// `matching_precedence`, `apply_on`, `mapping_type`).
#[server]
pub async fn save_attribute_mapping(
    id: String,
    object: String,
    original: String,
    mapping_type: String,
    source_attribute: String,
    constant: String,
    expression: String,
    default_value: String,
    target: String,
    matching: Option<String>,
    matching_precedence: String,
    apply_on: String,
) -> Result<(), ServerFnError> {
    use provisio::mapping::{ApplyOn, AttributeMapping, MappingType};
    let o = object_of(&object)?;
    let (store, actor) = ssr::ctx().await?;
    let mut errs = Vec::new();
    let kind = match mapping_type.as_str() {
        "Direct" => MappingType::Direct,
        "Constant" => MappingType::Constant,
        "Expression" => MappingType::Expression,
        "None" => MappingType::None,
        other => {
            errs.push(FieldError::new("mapping_type", format!("'{other}' is not Direct, Constant, Expression or None")));
            MappingType::None
        }
    };
    let apply_on = match apply_on.as_str() {
        "Always" => ApplyOn::Always,
        "CreateOnly" => ApplyOn::CreateOnly,
        other => {
            errs.push(FieldError::new("apply_on", format!("'{other}' is not Always or CreateOnly")));
            ApplyOn::Always
        }
    };
    let matching = matching.is_some();
    let precedence = match matching_precedence.trim() {
        "" => None,
        p => match p.parse::<u32>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                errs.push(FieldError::new("matching_precedence", format!("'{p}' is not a whole number from 1")));
                None
            }
        },
    };
    if matching && precedence.is_none() && errs.is_empty() {
        errs.push(FieldError::new("matching_precedence", "a matching attribute needs a matching precedence (1 is tried first)"));
    }
    if !errs.is_empty() {
        return Err(ssr::err(ServiceError::Validation(errs)));
    }
    let source = match kind {
        MappingType::Direct => source_attribute.trim().to_string(),
        MappingType::Constant => constant,
        MappingType::Expression => expression.trim().to_string(),
        MappingType::None => String::new(),
    };
    let target = target.trim().to_string();
    let original = original.trim().to_string();
    let mut m = provisio::service::apps::get_mappings(&store, &actor, &id).await.map_err(ssr::err)?;
    let mapping = parts(&mut m, o).0;
    let existing =
        (!original.is_empty()).then(|| mapping.attributes.iter().position(|a| a.target.eq_ignore_ascii_case(&original))).flatten();
    if !original.is_empty() && existing.is_none() {
        return Err(invalid("target", format!("there is no mapping of {original} any more; it may have been deleted")));
    }
    let required = existing.is_some_and(|i| mapping.attributes[i].required);
    if required && !target.eq_ignore_ascii_case(&original) {
        return Err(invalid("target", format!("the mapping of {original} is required: its target attribute can't change")));
    }
    let new = AttributeMapping {
        mapping_type: kind,
        source,
        target: target.clone(),
        default_value: Some(default_value).filter(|d| !d.is_empty()),
        matching,
        matching_precedence: if matching { precedence } else { None },
        apply_on,
        required,
    };
    let index = match existing {
        Some(i) => {
            mapping.attributes[i] = new;
            i
        }
        None => {
            mapping.attributes.push(new);
            mapping.attributes.len() - 1
        }
    };
    let label = if target.is_empty() { format!("attribute mapping {}", index + 1) } else { target };
    let prefix = key(o);
    save(&store, &actor, &id, m, |f| attribute_form_field(prefix, &label, &mapping_type, f)).await?;
    leptos_axum::redirect(&format!("/apps/{id}/provisioning/mappings/{object}?saved=attribute"));
    Ok(())
}

/// What a scope form describes: the filters to save, where each came from, and the form's own errors.
#[derive(Clone, Debug, PartialEq)]
pub struct ScopeFromForm {
    /// The scoping filters, in order.
    pub filters: Vec<provisio::scoping::ScopingFilter>,
    /// For each saved filter, its position in the form and the form positions of its saved clauses.
    pub positions: Vec<(usize, Vec<usize>)>,
    /// Unknown operators and repeated titles, named by the form's fields.
    pub errors: Vec<provisio::model::FieldError>,
}

/// The scoping filters a scope form describes, with the form position of each saved filter (and
/// of each of its saved clauses): removed rows and rows with neither attribute nor value are left
/// out, and so is a filter with no title and no clause. Unknown operators are errors named
/// `scope.{i}.{j}.operator`.
pub fn filters_from_form(form: &[FilterForm]) -> ScopeFromForm {
    use provisio::model::FieldError;
    use provisio::scoping::{ScopeOperator, ScopingClause, ScopingFilter};
    let (mut filters, mut positions, mut errs) = (Vec::new(), Vec::new(), Vec::new());
    for (i, f) in form.iter().enumerate() {
        if f.remove.is_some() {
            continue;
        }
        let mut clauses = Vec::new();
        let mut at = Vec::new();
        for (j, c) in f.clauses.iter().enumerate() {
            if c.remove.is_some() || (c.attribute.trim().is_empty() && c.value.trim().is_empty()) {
                continue;
            }
            let operator = match ScopeOperator::parse(c.operator.trim()) {
                Some(op) => op,
                None => {
                    errs.push(FieldError::new(format!("scope.{i}.{j}.operator"), format!("'{}' is not an operator", c.operator)));
                    continue;
                }
            };
            let value = Some(c.value.trim()).filter(|v| !v.is_empty());
            clauses.push(ScopingClause::new(c.attribute.trim(), operator, value));
            at.push(j);
        }
        if f.title.trim().is_empty() && clauses.is_empty() {
            continue;
        }
        if filters.iter().any(|g: &ScopingFilter| g.title == f.title.trim()) {
            errs.push(FieldError::new(format!("scope.{i}.title"), "another scoping filter has this title; give each its own"));
        }
        filters.push(ScopingFilter::new(f.title.trim(), clauses));
        positions.push((i, at));
    }
    ScopeFromForm { filters, positions, errors: errs }
}

/// The scope form's name for a service field about scoping: `user.scope[Title].clause 2 value` →
/// `scope.{i}.{j}.value` (`i`, `j` the form's filter and clause positions), `….title` →
/// `scope.{i}.title`, `….clauses` → `scope.{i}.clauses`.
pub fn scope_form_field(
    object: &str,
    filters: &[provisio::scoping::ScopingFilter],
    positions: &[(usize, Vec<usize>)],
    field: &str,
) -> Option<String> {
    let rest = field.strip_prefix(&format!("{object}.scope["))?;
    let (title, rest) = rest.split_once("].")?;
    let k = filters.iter().position(|f| f.title == title)?;
    let (i, at) = positions.get(k)?;
    if let Some(clause) = rest.strip_prefix("clause ") {
        let (n, what) = clause.split_once(' ')?;
        let j = at.get(n.parse::<usize>().ok()?.checked_sub(1)?)?;
        return Some(format!("scope.{i}.{j}.{what}"));
    }
    Some(format!("scope.{i}.{rest}"))
}

/// Saves the Source Object Scope of one object mapping from the scope form (filters OR'd, clauses
/// AND'd). Errors name the form's fields: `scope.{i}.title`, `scope.{i}.clauses`,
/// `scope.{i}.{j}.attribute|operator|value`.
#[server]
pub async fn save_scope(id: String, object: String, #[server(default)] filters: Vec<FilterForm>) -> Result<(), ServerFnError> {
    let o = object_of(&object)?;
    let (store, actor) = ssr::ctx().await?;
    let ScopeFromForm { filters: scope, positions, errors } = filters_from_form(&filters);
    if !errors.is_empty() {
        return Err(ssr::err(ServiceError::Validation(errors)));
    }
    let mut m = provisio::service::apps::get_mappings(&store, &actor, &id).await.map_err(ssr::err)?;
    parts(&mut m, o).0.scope = scope.clone();
    let prefix = key(o);
    save(&store, &actor, &id, m, |f| scope_form_field(prefix, &scope, &positions, f)).await?;
    leptos_axum::redirect(&format!("/apps/{id}/provisioning/mappings/{object}?saved=scope"));
    Ok(())
}

/// Adds an attribute to the target's attribute list ("Edit attribute list"). Errors name the form's
/// fields (`name`, `attr_type`, `referenced_object`, `primary_key`, `multi_valued`, `required`).
#[server]
pub async fn add_target_attribute(
    id: String,
    object: String,
    name: String,
    attr_type: String,
    required: Option<String>,
    multi_valued: Option<String>,
    exact_case: Option<String>,
    primary_key: Option<String>,
    referenced_object: String,
) -> Result<(), ServerFnError> {
    use provisio::mapping::{TargetAttribute, TargetType};
    let o = object_of(&object)?;
    let (store, actor) = ssr::ctx().await?;
    let t = match attr_type.as_str() {
        "Binary" => TargetType::Binary,
        "Boolean" => TargetType::Boolean,
        "DateTime" => TargetType::DateTime,
        "Integer" => TargetType::Integer,
        "Reference" => TargetType::Reference,
        "String" => TargetType::String,
        other => return Err(invalid("attr_type", format!("'{other}' is not a type"))),
    };
    let name = name.trim().to_string();
    if name.is_empty() {
        return Err(invalid("name", "enter the attribute's name (its SCIM path, such as nickName)"));
    }
    let mut m = provisio::service::apps::get_mappings(&store, &actor, &id).await.map_err(ssr::err)?;
    let (mapping, schema) = parts(&mut m, o);
    let required = required.is_some();
    if required && !mapping.attributes.iter().any(|a| a.target.eq_ignore_ascii_case(&name)) {
        return Err(invalid(
            "required",
            format!("a required attribute must be mapped: add {name} without Required, map it, then mark it Required here"),
        ));
    }
    let referenced_object = Some(referenced_object.trim().to_string()).filter(|r| !r.is_empty());
    schema.attributes.push(TargetAttribute {
        name: name.clone(),
        attr_type: t,
        primary_key: primary_key.is_some(),
        required,
        multi_valued: multi_valued.is_some(),
        exact_case: exact_case.is_some(),
        api_expression: None,
        referenced_object,
    });
    let prefix = format!("{}Schema.attributes[{name}].", key(o));
    save(&store, &actor, &id, m, |f| {
        f.strip_prefix(&prefix).map(|rest| {
            match rest {
                "type" => "attr_type",
                "referencedObject" => "referenced_object",
                "primaryKey" => "primary_key",
                "multiValued" => "multi_valued",
                _ => "name",
            }
            .to_string()
        })
    })
    .await?;
    leptos_axum::redirect(&format!("/apps/{id}/provisioning/mappings/{object}/schema?saved=attribute-added"));
    Ok(())
}

/// Marks an attribute of the target's list required or not. A required attribute must be mapped.
#[server]
pub async fn set_target_required(id: String, object: String, name: String, required: Option<String>) -> Result<(), ServerFnError> {
    let o = object_of(&object)?;
    let (store, actor) = ssr::ctx().await?;
    let mut m = provisio::service::apps::get_mappings(&store, &actor, &id).await.map_err(ssr::err)?;
    let schema = parts(&mut m, o).1;
    let Some(a) = schema.attributes.iter_mut().find(|a| a.name.eq_ignore_ascii_case(&name)) else {
        return Err(invalid("name", format!("the attribute list has no {name}")));
    };
    a.required = required.is_some();
    save(&store, &actor, &id, m, |_| None).await
}

/// Deletes an attribute from the target's attribute list; a required or mapped one is refused.
#[server]
pub async fn delete_target_attribute(id: String, object: String, name: String) -> Result<(), ServerFnError> {
    let o = object_of(&object)?;
    let (store, actor) = ssr::ctx().await?;
    let mut m = provisio::service::apps::get_mappings(&store, &actor, &id).await.map_err(ssr::err)?;
    let (mapping, schema) = parts(&mut m, o);
    let Some(i) = schema.attributes.iter().position(|a| a.name.eq_ignore_ascii_case(&name)) else {
        return Err(invalid("name", format!("the attribute list has no {name}")));
    };
    if schema.attributes[i].required {
        return Err(invalid("name", format!("{name} is required by the target and can't be deleted")));
    }
    if let Some(a) = mapping.attributes.iter().find(|a| a.target.eq_ignore_ascii_case(&name)) {
        return Err(invalid("name", format!("{name} is mapped (from {}); delete that attribute mapping first", a.source_description())));
    }
    schema.attributes.remove(i);
    save(&store, &actor, &id, m, |_| None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(attribute: &str, operator: &str, value: &str) -> ClauseForm {
        ClauseForm { attribute: attribute.into(), operator: operator.into(), value: value.into(), remove: None }
    }

    #[test]
    fn blank_and_removed_rows_are_left_out_and_errors_find_their_row() {
        let form = vec![
            FilterForm {
                title: "Sales only".into(),
                remove: None,
                clauses: vec![
                    clause("department", "EQUALS", "Sales"),
                    ClauseForm { remove: Some("on".into()), ..clause("city", "EQUALS", "Oslo") },
                    clause("jobTitle", "IS NOT NULL", "x"),
                    clause("", "EQUALS", ""),
                ],
            },
            FilterForm { title: "".into(), remove: None, clauses: vec![clause("", "EQUALS", "")] },
        ];
        let ScopeFromForm { filters, positions, errors } = filters_from_form(&form);
        assert!(errors.is_empty());
        assert_eq!(filters.len(), 1);
        assert_eq!(filters[0].clauses.len(), 2);
        assert_eq!(positions, vec![(0, vec![0, 2])]);
        assert_eq!(
            scope_form_field("user", &filters, &positions, "user.scope[Sales only].clause 2 value").as_deref(),
            Some("scope.0.2.value")
        );
        assert_eq!(scope_form_field("user", &filters, &positions, "user.scope[Sales only].title").as_deref(), Some("scope.0.title"));
        assert_eq!(scope_form_field("user", &filters, &positions, "user.attributes[x].source"), None);
        assert_eq!(scope_form_field("user", &filters, &positions, "user.scope[Other].title"), None);
    }

    #[test]
    fn bad_operators_and_duplicate_titles_are_named() {
        let form = vec![
            FilterForm { title: "A".into(), remove: None, clauses: vec![clause("department", "LIKE", "x")] },
            FilterForm { title: "A".into(), remove: None, clauses: vec![clause("department", "EQUALS", "x")] },
        ];
        let errs = filters_from_form(&form).errors;
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["scope.0.0.operator", "scope.1.title"]);
    }

    #[test]
    fn attribute_errors_are_named_by_the_form() {
        let f = |field| attribute_form_field("user", "displayName", "Expression", field);
        assert_eq!(f("user.attributes[displayName].source").as_deref(), Some("expression"));
        assert_eq!(f("user.attributes[displayName].matchingPrecedence").as_deref(), Some("matching_precedence"));
        assert_eq!(f("user.matching").as_deref(), Some("matching"));
        assert_eq!(f("user.attributes[userName].source"), None);
        assert_eq!(attribute_form_field("group", "x", "Direct", "group.attributes[x].source").as_deref(), Some("source_attribute"));
    }
}
