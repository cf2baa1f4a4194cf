//! The Mappings blades of an app, after Entra's "Provisioning > Mappings":
//! - [`MappingsPage`]: the object mappings (Provision users / Provision groups) with their Enabled
//!   toggles, and "Restore default mappings".
//! - [`MappingEditorPage`]: one object mapping: Target Object Actions, Source Object Scope (the
//!   scoping filter editor: filters OR'd, clauses AND'd) and the attribute mapping table.
//! - [`AttributeEditorPage`]: the Edit Attribute form (also "Add New Mapping"), with the expression
//!   checked as it is typed by the engine's own checker running in the browser.
//! - [`TargetSchemaPage`]: "Edit attribute list" for the target's attributes.
//!
//! Every form is an `ActionForm` that also works as a plain POST without JavaScript; validation
//! errors are shown next to their fields, and the ones no field shows are listed above the form.

use super::expressions::{escape_html, live_status};
use crate::api::mappings::{
    get_app_mappings, AddTargetAttribute, DeleteAttributeMapping, DeleteTargetAttribute, MappingsView, RestoreDefaultMappings, SaveActions,
    SaveAttributeMapping, SaveEnabled, SaveScope, SetTargetRequired,
};
use crate::api::{error_text, field_errors};
use crate::components::{encode, loaded, ActionError, ErrorBox};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::{use_params_map, use_query_map};
use provisio::expr::{compile, Type};
use provisio::mapping::{ApplyOn, AttributeMapping, MappingType, ObjectMapping, ObjectType, TargetSchema, TargetType};
use provisio::model::FieldError;
use provisio::scoping::{ScopeOperator, ScopingClause, ScopingFilter};

/// A route parameter.
fn param(name: &'static str) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let params = use_params_map();
    move || params.read().get(name).unwrap_or_default()
}

/// The object type of the `:object` route parameter (`user` or `group`).
fn object_type(object: &str) -> Option<ObjectType> {
    match object {
        "user" => Some(ObjectType::User),
        "group" => Some(ObjectType::Group),
        _ => None,
    }
}

/// The `:object` route parameter of an object type (`user` or `group`).
fn object_key(o: ObjectType) -> &'static str {
    match o {
        ObjectType::User => "user",
        ObjectType::Group => "group",
    }
}

/// The mapping and attribute list of an object type.
fn parts(v: &MappingsView, o: ObjectType) -> (&ObjectMapping, &TargetSchema) {
    match o {
        ObjectType::User => (&v.mappings.user, &v.mappings.user_schema),
        ObjectType::Group => (&v.mappings.group, &v.mappings.group_schema),
    }
}

/// The directory attributes of an object type, with their types.
fn source_attributes(o: ObjectType) -> &'static [(&'static str, Type)] {
    match o {
        ObjectType::User => provisio::source::USER_ATTRIBUTES,
        ObjectType::Group => provisio::source::GROUP_ATTRIBUTES,
    }
}

/// The directory attributes scoping filters accept (not multi-valued, references, dates or app roles).
fn scoping_attributes(o: ObjectType) -> Vec<&'static str> {
    source_attributes(o)
        .iter()
        .filter(|(_, t)| !matches!(t, Type::Multi | Type::Objects | Type::Reference | Type::DateTime))
        .map(|(n, _)| *n)
        .collect()
}

/// The field errors of an action's last submission.
fn field_errors_of<I>(action: ServerAction<I>) -> Signal<Vec<FieldError>>
where
    I: ServerFn<Output = (), Error = ServerFnError> + Clone + Send + Sync + 'static,
{
    Signal::derive(move || match action.value().get() {
        Some(Err(e)) => field_errors(&e),
        _ => Vec::new(),
    })
}

/// True once the page is hydrated: what only works with JavaScript is shown from then on, so the
/// server's HTML and the hydrated page agree and a page without JavaScript never shows it.
fn hydrated() -> ReadSignal<bool> {
    let (live, set_live) = signal(false);
    Effect::new(move |_| set_live.set(true));
    live
}

/// The error of form field `field` (exact name), next to the field.
#[component]
fn FieldErr(errors: Signal<Vec<FieldError>>, #[prop(into)] field: String) -> impl IntoView {
    move || {
        let msg = errors.with(|es| es.iter().filter(|e| e.field == field).map(|e| e.message.clone()).collect::<Vec<_>>().join("; "));
        (!msg.is_empty()).then(|| {
            view! {
                <span class="field-error" role="alert" data-field=field.clone()>
                    {msg}
                </span>
            }
        })
    }
}

/// Why the last submission failed: a general error, or the field errors that no field of the form
/// shows (`inline` tells which it shows), each with its field's name.
#[component]
fn Problems<I>(action: ServerAction<I>, inline: fn(&str) -> bool) -> impl IntoView
where
    I: ServerFn<Output = (), Error = ServerFnError> + Clone + Send + Sync + 'static,
{
    move || {
        let Some(Err(e)) = action.value().get() else { return None };
        let fields = field_errors(&e);
        if fields.is_empty() {
            return Some(view! { <ErrorBox message=error_text(&e) /> }.into_any());
        }
        let others: Vec<FieldError> = fields.iter().filter(|f| !inline(&f.field)).cloned().collect();
        let n = fields.len();
        Some(
            view! {
                <div class="error" role="alert" data-testid="problems">
                    <strong>
                        {if n == 1 { "Not saved: 1 problem".to_string() } else { format!("Not saved: {n} problems") }}
                        {(others.len() < n).then_some(", marked below")}
                        "."
                    </strong>
                    {(!others.is_empty())
                        .then(|| {
                            view! {
                                <ul>
                                    {others
                                        .into_iter()
                                        .map(|f| view! { <li><code>{f.field}</code> ": " {f.message}</li> })
                                        .collect_view()}
                                </ul>
                            }
                        })}
                </div>
            }
            .into_any(),
        )
    }
}

/// "Saved." once a form's save came back to the page with `?saved=<what>`.
fn saved_note(what: &'static str, testid: &'static str) -> impl IntoView {
    let q = use_query_map();
    move || {
        (q.read().get("saved").as_deref() == Some(what))
            .then(|| view! { <span class="ok-text" role="status" data-testid=testid>"Saved."</span> })
    }
}

// ---------------------------------------------------------------------------------------------------
// The object mappings
// ---------------------------------------------------------------------------------------------------

/// The object mappings of an app: names linking to their editors, Enabled toggles, and "Restore
/// default mappings".
#[component]
pub fn MappingsPage() -> impl IntoView {
    let id = param("id");
    let enabled = ServerAction::<SaveEnabled>::new();
    let restore = ServerAction::<RestoreDefaultMappings>::new();
    let data = Resource::new(id, get_app_mappings);
    let q = use_query_map();
    view! {
        <h2>"Mappings"</h2>
        <p class="muted">
            "Mappings decide which users and groups are provisioned to the app and how their attributes flow. Select a mapping to edit its target object actions, scoping filters and attribute mappings."
        </p>
        <Show when=move || q.read().get("restored").is_some() && restore.value().with(|v| !matches!(v, Some(Err(_))))>
            <p class="notice" role="status" data-testid="restored">
                "The default mappings were restored."
            </p>
        </Show>
        <ActionError action=restore />
        {loaded(data, move |v| view! { <MappingList id=id() view=v enabled restore /> })}
    }
}

#[component]
fn MappingList(
    id: String,
    view: MappingsView,
    enabled: ServerAction<SaveEnabled>,
    restore: ServerAction<RestoreDefaultMappings>,
) -> impl IntoView {
    let base = format!("/apps/{id}/provisioning/mappings");
    let rows = [("user", &view.mappings.user), ("group", &view.mappings.group)]
        .into_iter()
        .map(|(key, m)| {
            let scope = match m.scope.len() {
                0 => "All objects".to_string(),
                1 => "1 scoping filter".to_string(),
                n => format!("{n} scoping filters"),
            };
            view! {
                <tr data-testid=format!("mapping-row-{key}")>
                    <td>
                        <a href=format!("{base}/{key}") data-testid=format!("open-{key}")>
                            {m.name.clone()}
                        </a>
                    </td>
                    <td>{m.source_object.to_string()}</td>
                    <td>
                        <code>{m.target_object.clone()}</code>
                    </td>
                    <td class="num">{m.attributes.len()}</td>
                    <td>{scope}</td>
                    <td>
                        <label class="check">
                            <input type="checkbox" name=format!("{key}_enabled") value="on" checked=m.enabled data-testid=format!("enabled-{key}") />
                            "Enabled"
                        </label>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let enabled_id = id.clone();
    let defaults = format!(
        "This replaces both mappings of {} — every attribute mapping, the target object actions, the scoping filters, the Enabled toggles and both target attribute lists — with the defaults of {}. Mappings, filters and attributes you added are removed. If anything differs from what is saved now, the next provisioning cycle is an initial cycle over everyone in scope.",
        view.app_name, view.defaults_from,
    );
    view! {
        <ActionForm action=enabled attr:data-testid="enabled-form">
            <input type="hidden" name="id" value=enabled_id />
            <table class="list" data-testid="object-mappings">
                <thead>
                    <tr>
                        <th>"Name"</th>
                        <th>"Source object"</th>
                        <th>"Target object"</th>
                        <th class="num">"Attribute mappings"</th>
                        <th>"Source object scope"</th>
                        <th>"Enabled"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <div class="form-actions mapping-actions">
                <button type="submit" class="primary" data-testid="save-enabled">
                    "Save"
                </button>
                " "
                {saved_note("enabled", "enabled-saved")}
            </div>
            <Problems action=enabled inline=|_| false />
        </ActionForm>
        <section class="panel">
            <h3>"Restore default mappings"</h3>
            <details class="confirm">
                <summary class="button" data-testid="restore-open">
                    "↺ Restore default mappings…"
                </summary>
                <div class="confirm-body">
                    <p data-testid="restore-explained">{defaults}</p>
                    <ActionForm action=restore attr:class="inline">
                        <input type="hidden" name="id" value=id.clone() />
                        <input type="hidden" name="confirm" value="yes" />
                        <button type="submit" class="danger" data-testid="restore-confirm">
                            "Replace my mappings with the defaults"
                        </button>
                    </ActionForm>
                </div>
            </details>
        </section>
    }
}

// ---------------------------------------------------------------------------------------------------
// One object mapping
// ---------------------------------------------------------------------------------------------------

/// The editor of one object mapping (`user` or `group`): target object actions, source object scope
/// and the attribute mappings.
#[component]
pub fn MappingEditorPage() -> impl IntoView {
    let (id, object) = (param("id"), param("object"));
    let actions = ServerAction::<SaveActions>::new();
    let delete = ServerAction::<DeleteAttributeMapping>::new();
    let data = Resource::new(id, get_app_mappings);
    let q = use_query_map();
    view! {
        {move || match object_type(&object()) {
            None => view! { <ErrorBox message="There is no such mapping: choose user or group." /> }.into_any(),
            Some(o) => {
                loaded(
                        data,
                        move |v| view! { <Editor id=id() key=object_key(o) object=o view=v actions delete /> },
                    )
                    .into_any()
            }
        }}
        <Show when=move || q.read().get("saved").as_deref() == Some("attribute")>
            <p class="notice" role="status" data-testid="attribute-saved">
                "The attribute mapping was saved."
            </p>
        </Show>
    }
}

#[component]
fn Editor(
    id: String,
    key: &'static str,
    object: ObjectType,
    view: MappingsView,
    actions: ServerAction<SaveActions>,
    delete: ServerAction<DeleteAttributeMapping>,
) -> impl IntoView {
    let (m, schema) = parts(&view, object);
    let (m, schema) = (m.clone(), schema.clone());
    let base = format!("/apps/{id}/provisioning/mappings");
    let here = format!("{base}/{key}");
    let act = m.actions;
    let scope_saved = use_query_map().read_untracked().get("saved").as_deref() == Some("scope");
    let actions_id = id.clone();
    let rows = m
        .attributes
        .iter()
        .map(|a| view! { <AttributeRow id=id.clone() key here=here.clone() a=a.clone() schema=schema.clone() delete /> })
        .collect_view();
    view! {
        <nav class="crumbs" aria-label="Mappings">
            <a href=base.clone()>"Mappings"</a>
            " › "
            <span aria-current="page">{m.name.clone()}</span>
        </nav>
        <h2 data-testid="mapping-title">{m.name.clone()}</h2>
        <dl class="props">
            <dt>"Enabled"</dt>
            <dd>{if m.enabled { "Yes" } else { "No (change it on the Mappings list)" }}</dd>
            <dt>"Source object"</dt>
            <dd>{m.source_object.to_string()}</dd>
            <dt>"Target object"</dt>
            <dd>
                <code>{m.target_object.clone()}</code>
            </dd>
        </dl>
        <section class="panel">
            <h3>"Target Object Actions"</h3>
            <p class="muted">
                "What Provisio may do in the app. Clearing Create doesn't affect accounts that already exist; clearing Delete leaves accounts that leave scope as they are."
            </p>
            <ActionForm action=actions attr:class="form-row" attr:data-testid="actions-form">
                <input type="hidden" name="id" value=actions_id />
                <input type="hidden" name="object" value=key />
                <label class="check">
                    <input type="checkbox" name="create" value="on" checked=act.create data-testid="action-create" />
                    "Create"
                </label>
                <label class="check">
                    <input type="checkbox" name="update" value="on" checked=act.update data-testid="action-update" />
                    "Update"
                </label>
                <label class="check">
                    <input type="checkbox" name="delete" value="on" checked=act.delete data-testid="action-delete" />
                    "Delete"
                </label>
                <button type="submit" data-testid="save-actions">
                    "Save actions"
                </button>
                " "
                {saved_note("actions", "actions-saved")}
            </ActionForm>
            <Problems action=actions inline=|_| false />
        </section>
        <ScopeEditor id=id.clone() object filters=m.scope.clone() just_saved=scope_saved />
        <section class="panel">
            <h3>"Attribute Mappings"</h3>
            <p class="muted">
                "Each row sets one attribute of the app's " {key}
                "s. Matching attributes find the account that already exists in the app, in order of precedence (1 first). Required mappings can't be deleted."
            </p>
            <Problems action=delete inline=|_| false />
            <table class="list compact" data-testid="attribute-mappings">
                <thead>
                    <tr>
                        <th>"Target attribute"</th>
                        <th>"Source"</th>
                        <th>"Type"</th>
                        <th>"Default if null"</th>
                        <th class="num">"Matching precedence"</th>
                        <th>"Apply"</th>
                        <th>
                            <span class="visually-hidden">"Actions"</span>
                        </th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <div class="actions mapping-actions">
                <a class="button primary" href=format!("{here}/attribute") data-testid="add-mapping">
                    "+ Add New Mapping"
                </a>
                <a class="button" href=format!("{here}/schema") data-testid="edit-attribute-list">
                    "Edit attribute list"
                </a>
                <a class="button" href=base>
                    "Back to Mappings"
                </a>
            </div>
        </section>
    }
}

/// The label of a mapping type.
fn type_label(t: MappingType) -> &'static str {
    match t {
        MappingType::Direct => "Direct",
        MappingType::Constant => "Constant",
        MappingType::Expression => "Expression",
        MappingType::None => "None",
    }
}

#[component]
fn AttributeRow(
    id: String,
    key: &'static str,
    here: String,
    a: AttributeMapping,
    schema: TargetSchema,
    delete: ServerAction<DeleteAttributeMapping>,
) -> impl IntoView {
    let required_by_target = schema.get(&a.target).is_some_and(|t| t.required);
    let edit = format!("{here}/attribute?target={}", encode(&a.target));
    let slug: String = a.target.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let source = match a.mapping_type {
        MappingType::None => view! { <span class="muted">"None"</span> }.into_any(),
        _ => view! { <code class="mapping-source">{a.source_description()}</code> }.into_any(),
    };
    let precedence = if a.matching { a.matching_precedence.map(|p| p.to_string()).unwrap_or_else(|| "?".into()) } else { "—".into() };
    let target = a.target.clone();
    let (row_id, edit_id, delete_id) = (format!("mapping-{slug}"), format!("edit-{slug}"), format!("delete-{slug}"));
    view! {
        <tr data-testid=row_id>
            <td>
                <code>{a.target.clone()}</code>
                {(a.required || required_by_target).then(|| view! { " " <span class="badge">"Required"</span> })}
            </td>
            <td>{source}</td>
            <td>{type_label(a.mapping_type)}</td>
            <td>{a.default_text().map(str::to_string).unwrap_or_else(|| "—".into())}</td>
            <td class="num">{precedence}</td>
            <td>
                {match a.apply_on {
                    ApplyOn::Always => "Always",
                    ApplyOn::CreateOnly => "On create only",
                }}
            </td>
            <td class="row-actions">
                <a href=edit data-testid=edit_id aria-label=format!("Edit the mapping of {}", a.target)>
                    "Edit"
                </a>
                {(!a.required)
                    .then(|| {
                        let confirm_id = format!("{delete_id}-confirm");
                        view! {
                            " "
                            <details class="confirm inline">
                                <summary
                                    class="link danger"
                                    data-testid=delete_id
                                    aria-label=format!("Delete the mapping of {target}")
                                >
                                    "Delete"
                                </summary>
                                <div class="confirm-body">
                                    <p>
                                        "Delete the mapping of " <code>{target.clone()}</code>
                                        "? Provisio stops writing this attribute (accounts keep the value they have), and the next cycle is an initial cycle."
                                    </p>
                                    <ActionForm action=delete attr:class="inline">
                                        <input type="hidden" name="id" value=id />
                                        <input type="hidden" name="object" value=key />
                                        <input type="hidden" name="target" value=target.clone() />
                                        <button type="submit" class="danger" data-testid=confirm_id>
                                            "Delete the mapping"
                                        </button>
                                    </ActionForm>
                                </div>
                            </details>
                        }
                    })}
            </td>
        </tr>
    }
}

// ---------------------------------------------------------------------------------------------------
// Source object scope
// ---------------------------------------------------------------------------------------------------

/// The scoping filter editor: each saved filter with its clauses and one empty clause row, then one
/// empty filter; with JavaScript, "Add clause" and "Add scoping filter" add more empty rows. Empty
/// rows are left out when saving, and ticked "Remove" boxes remove their row, so the form works
/// without JavaScript too. An island: it saves in place and keeps what was typed when a save fails.
#[island]
fn ScopeEditor(id: String, object: ObjectType, filters: Vec<ScopingFilter>, just_saved: bool) -> impl IntoView {
    let save = ServerAction::<SaveScope>::new();
    let key = object_key(object);
    let errors = field_errors_of(save);
    let live = hydrated();
    let count = RwSignal::new(filters.len() + 1);
    let saved = StoredValue::new(filters);
    let attrs = StoredValue::new(scoping_attributes(object));
    view! {
        <section class="panel" data-testid="scope">
            <h3>"Source Object Scope"</h3>
            <p class="muted">
                "Only " {key}
                "s that pass a scoping filter are provisioned. Clauses in a filter must all hold (AND); an object passes if any filter holds (OR). With no filter, every assigned "
                {key} " is in scope. Values are compared case-sensitively. Saving new filters makes the next cycle an initial one: objects that no longer pass are deprovisioned."
            </p>
            <Problems action=save inline=|f| f.starts_with("scope.") />
            <ActionForm action=save attr:class="scope-form" attr:data-testid="scope-form">
                <input type="hidden" name="id" value=id />
                <input type="hidden" name="object" value=key />
                <For each=move || 0..count.get() key=|i| *i let:i>
                    <FilterGroup i filter=saved.with_value(|f| f.get(i).cloned()) errors attrs live />
                </For>
                <div class="form-actions">
                    <button type="button" hidden=move || !live.get() on:click=move |_| count.update(|n| *n += 1) data-testid="add-filter">
                        "+ Add scoping filter (OR)"
                    </button>
                    " "
                    <button type="submit" class="primary" data-testid="save-scope">
                        "Save scope"
                    </button>
                    " "
                    {move || {
                        (just_saved || matches!(save.value().get(), Some(Ok(()))))
                            .then(|| view! { <span class="ok-text" role="status" data-testid="scope-saved">"Saved."</span> })
                    }}
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
fn FilterGroup(
    i: usize,
    filter: Option<ScopingFilter>,
    errors: Signal<Vec<FieldError>>,
    attrs: StoredValue<Vec<&'static str>>,
    live: ReadSignal<bool>,
) -> impl IntoView {
    let is_saved = filter.is_some();
    let filter = filter.unwrap_or_else(|| ScopingFilter::new("", Vec::new()));
    let legend = if is_saved { format!("Scoping filter {}: {}", i + 1, filter.title) } else { "New scoping filter".to_string() };
    let count = RwSignal::new(filter.clauses.len() + 1);
    let clauses = StoredValue::new(filter.clauses.clone());
    view! {
        <fieldset class="scope-filter" data-testid=format!("filter-{i}")>
            <legend>{legend}</legend>
            <div class="form-row">
                <label>
                    "Scoping filter title"
                    <input type="text" name=format!("filters[{i}][title]") value=filter.title.clone() data-testid=format!("filter-{i}-title") />
                    <FieldErr errors field=format!("scope.{i}.title") />
                </label>
                {is_saved
                    .then(|| {
                        view! {
                            <label class="check">
                                <input type="checkbox" name=format!("filters[{i}][remove]") value="on" data-testid=format!("filter-{i}-remove") />
                                "Remove this filter"
                            </label>
                        }
                    })}
            </div>
            <FieldErr errors field=format!("scope.{i}.clauses") />
            <table class="list compact scope-clauses">
                <thead>
                    <tr>
                        <th>"Attribute"</th>
                        <th>"Operator"</th>
                        <th>"Value"</th>
                        <th>"Remove"</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || 0..count.get() key=|j| *j let:j>
                        <ClauseRow i j clause=clauses.with_value(|c| c.get(j).cloned()) errors attrs live />
                    </For>
                </tbody>
            </table>
            <button type="button" hidden=move || !live.get() on:click=move |_| count.update(|n| *n += 1) data-testid=format!("filter-{i}-add-clause")>
                "+ Add clause (AND)"
            </button>
        </fieldset>
    }
}

#[component]
fn ClauseRow(
    i: usize,
    j: usize,
    clause: Option<ScopingClause>,
    errors: Signal<Vec<FieldError>>,
    attrs: StoredValue<Vec<&'static str>>,
    live: ReadSignal<bool>,
) -> impl IntoView {
    let is_saved = clause.is_some();
    let (attribute, op, value) = match clause {
        Some(c) => (c.attribute, c.operator, c.value.unwrap_or_default()),
        None => (String::new(), ScopeOperator::Equals, String::new()),
    };
    let operator = RwSignal::new(op);
    let name = move |f: &str| format!("filters[{i}][clauses][{j}][{f}]");
    let what = format!("filter {}, clause {}", i + 1, j + 1);
    let mut options: Vec<&'static str> = attrs.get_value();
    let unknown = (!attribute.is_empty() && !options.contains(&attribute.as_str())).then(|| attribute.clone());
    options.sort_unstable_by_key(|a| a.to_ascii_lowercase());
    let attribute_options = options.into_iter().map(|a| view! { <option value=a selected=a == attribute>{a}</option> }).collect_view();
    let operator_options = ScopeOperator::ALL
        .into_iter()
        .map(|o| view! { <option value=o.as_str() selected=o == op title=o.help()>{o.as_str()}</option> })
        .collect_view();
    view! {
        <tr data-testid=format!("clause-{i}-{j}")>
            <td>
                <select name=name("attribute") aria-label=format!("Attribute of {what}") data-testid=format!("clause-{i}-{j}-attribute")>
                    <option value="" selected=attribute.is_empty()>
                        "Choose an attribute"
                    </option>
                    {unknown.map(|u| view! { <option value=u.clone() selected=true>{u.clone()}</option> })}
                    {attribute_options}
                </select>
                <FieldErr errors field=format!("scope.{i}.{j}.attribute") />
            </td>
            <td>
                <select
                    name=name("operator")
                    aria-label=format!("Operator of {what}")
                    data-testid=format!("clause-{i}-{j}-operator")
                    on:change=move |ev| {
                        if let Some(o) = ScopeOperator::parse(&event_target_value(&ev)) {
                            operator.set(o);
                        }
                    }
                >
                    {operator_options}
                </select>
                <FieldErr errors field=format!("scope.{i}.{j}.operator") />
                <span class="muted small">{move || operator.get().help()}</span>
            </td>
            <td>
                <input
                    type="text"
                    name=name("value")
                    value=value
                    aria-label=format!("Value of {what}")
                    disabled=move || live.get() && !operator.get().takes_value()
                    placeholder=move || if operator.get().takes_value() { "" } else { "no value" }
                    data-testid=format!("clause-{i}-{j}-value")
                />
                <FieldErr errors field=format!("scope.{i}.{j}.value") />
            </td>
            <td>
                {is_saved
                    .then(|| {
                        view! {
                            <input type="checkbox" name=name("remove") value="on" aria-label=format!("Remove {what}") data-testid=format!("clause-{i}-{j}-remove") />
                        }
                    })}
            </td>
        </tr>
    }
}

// ---------------------------------------------------------------------------------------------------
// Edit Attribute
// ---------------------------------------------------------------------------------------------------

/// The form fields the Edit Attribute form shows errors next to.
fn attribute_form_field(f: &str) -> bool {
    matches!(
        f,
        "mapping_type"
            | "source_attribute"
            | "constant"
            | "expression"
            | "default_value"
            | "target"
            | "matching"
            | "matching_precedence"
            | "apply_on"
    )
}

/// The Edit Attribute form: `?target=<name>` edits that attribute mapping; without it, "Add New
/// Mapping".
#[component]
pub fn AttributeEditorPage() -> impl IntoView {
    let (id, object) = (param("id"), param("object"));
    let q = use_query_map();
    let data = Resource::new(id, get_app_mappings);
    view! {
        {move || match object_type(&object()) {
            None => view! { <ErrorBox message="There is no such mapping: choose user or group." /> }.into_any(),
            Some(o) => {
                loaded(
                        data,
                        move |v| {
                            let target = q.read_untracked().get("target").unwrap_or_default();
                            let (m, schema) = parts(&v, o);
                            let existing = (!target.is_empty()).then(|| m.attributes.iter().find(|a| a.target.eq_ignore_ascii_case(&target)).cloned());
                            let targets: Vec<TargetChoice> = schema
                                .attributes
                                .iter()
                                .map(|t| TargetChoice { name: t.name.clone(), required: t.required, primary_key: t.primary_key })
                                .collect();
                            match existing {
                                Some(None) => view! {
                                    <ErrorBox message=format!("{} has no mapping of {target}; it may have been deleted.", m.name) />
                                    <a href=format!("/apps/{}/provisioning/mappings/{}", id(), object_key(o))>"Back to the mapping"</a>
                                }
                                .into_any(),
                                existing => view! { <AttributeForm id=id() object=o mapping_name=m.name.clone() existing=existing.flatten() targets /> }.into_any(),
                            }
                        },
                    )
                    .into_any()
            }
        }}
    }
}

/// A target attribute as the Edit Attribute form offers it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TargetChoice {
    /// The attribute's SCIM path.
    pub name: String,
    /// Whether the target requires it.
    pub required: bool,
    /// Whether it is the target's key (never mapped).
    pub primary_key: bool,
}

/// The form itself: an island, for the mapping type's fields and the expression checked as it is typed.
#[island]
fn AttributeForm(
    id: String,
    object: ObjectType,
    mapping_name: String,
    existing: Option<AttributeMapping>,
    targets: Vec<TargetChoice>,
) -> impl IntoView {
    let save = ServerAction::<SaveAttributeMapping>::new();
    let key = object_key(object);
    let base = format!("/apps/{id}/provisioning/mappings/{key}");
    let adding = existing.is_none();
    let a = existing.unwrap_or_else(|| AttributeMapping::direct("", ""));
    let errors = field_errors_of(save);
    let live = hydrated();
    let kind = RwSignal::new(type_label(a.mapping_type).to_string());
    let is = move |k: &'static str| move || live.get() && kind.get() != k;
    let text = RwSignal::new(if a.mapping_type == MappingType::Expression { a.source.clone() } else { String::new() });
    let area = NodeRef::<leptos::html::Textarea>::new();
    Effect::new(move |_| {
        // What was typed before the page hydrated is what gets checked.
        if let Some(el) = area.get() {
            text.set(el.value());
        }
    });
    let check = Memo::new(move |_| text.with(|t| (!t.trim().is_empty()).then(|| compile(t, &object.source_schema()).map(|e| e.returns()))));
    let initial_expression = text.get_untracked();
    let source_options = {
        let mut names: Vec<(&'static str, Type)> = source_attributes(object).to_vec();
        names.sort_unstable_by_key(|(n, _)| n.to_ascii_lowercase());
        let current = if a.mapping_type == MappingType::Direct { a.source.clone() } else { String::new() };
        let unknown = (!current.is_empty() && !names.iter().any(|(n, _)| *n == current)).then(|| current.clone());
        view! {
            <option value="" selected=current.is_empty()>
                "Choose an attribute"
            </option>
            {unknown.map(|u| view! { <option value=u.clone() selected=true>{u.clone()}</option> })}
            {names
                .into_iter()
                .map(|(n, t)| view! { <option value=n selected=n == current>{format!("{n} ({t})")}</option> })
                .collect_view()}
        }
    };
    let target_options = {
        let locked = a.required;
        let current = a.target.clone();
        let rows: Vec<_> = targets.into_iter().filter(|t| !t.primary_key && (!locked || t.name.eq_ignore_ascii_case(&current))).collect();
        let unknown = (!current.is_empty() && !rows.iter().any(|t| t.name.eq_ignore_ascii_case(&current))).then(|| current.clone());
        view! {
            {(!locked).then(|| view! { <option value="" selected=current.is_empty()>"Choose a target attribute"</option> })}
            {unknown.map(|u| view! { <option value=u.clone() selected=true>{u.clone()}</option> })}
            {rows
                .into_iter()
                .map(|t| {
                    let label = format!("{}{}", t.name, if t.required { " (required)" } else { "" });
                    view! { <option value=t.name.clone() selected=t.name.eq_ignore_ascii_case(&current)>{label}</option> }
                })
                .collect_view()}
        }
    };
    let title = if adding { "Add New Mapping".to_string() } else { format!("Edit Attribute: {}", a.target) };
    let kind_options = ["Direct", "Constant", "Expression", "None"]
        .into_iter()
        .map(|k| view! { <option value=k selected=k == type_label(a.mapping_type)>{k}</option> })
        .collect_view();
    let builder = move || format!("/expressions?expression={}", encode(&text.get()));
    view! {
        <nav class="crumbs" aria-label="Mappings">
            <a href=format!("/apps/{id}/provisioning/mappings")>"Mappings"</a>
            " › "
            <a href=base.clone()>{mapping_name}</a>
            " › "
            <span aria-current="page">{if adding { "Add New Mapping".to_string() } else { a.target.clone() }}</span>
        </nav>
        <h2 data-testid="attribute-title">{title}</h2>
        <Problems action=save inline=attribute_form_field />
        <ActionForm action=save attr:class="form-grid attribute-form" attr:data-testid="attribute-form">
            <input type="hidden" name="id" value=id.clone() />
            <input type="hidden" name="object" value=key />
            <input type="hidden" name="original" value=if adding { String::new() } else { a.target.clone() } />
            <label>
                "Mapping type"
                <select name="mapping_type" data-testid="mapping-type" on:change=move |ev| kind.set(event_target_value(&ev))>
                    {kind_options}
                </select>
                <span class="muted small">
                    "Direct copies a directory attribute; Constant sends a fixed value; Expression computes it; None leaves the app's value alone."
                </span>
                <FieldErr errors field="mapping_type" />
            </label>
            <label class:hidden=is("Direct")>
                "Source attribute"
                <select name="source_attribute" data-testid="source-attribute">
                    {source_options}
                </select>
                <FieldErr errors field="source_attribute" />
            </label>
            <label class:hidden=is("Constant")>
                "Constant value"
                <input
                    type="text"
                    name="constant"
                    value=if a.mapping_type == MappingType::Constant { a.source.clone() } else { String::new() }
                    data-testid="constant"
                />
                <FieldErr errors field="constant" />
            </label>
            <div class="wide expression-field" class:hidden=is("Expression")>
                <label for="mapping-expression">"Expression"</label>
                <textarea
                    id="mapping-expression"
                    name="expression"
                    rows="4"
                    spellcheck="false"
                    autocomplete="off"
                    autocapitalize="off"
                    data-testid="expression"
                    node_ref=area
                    inner_html=escape_html(&initial_expression)
                    on:input=move |ev| text.set(event_target_value(&ev))
                ></textarea>
                <div class="expr-live" aria-live="polite" data-testid="expr-live">
                    {move || live.get().then(|| live_status(check.get(), &text.read()))}
                </div>
                <FieldErr errors field="expression" />
                <a href=builder class="small" target="_blank" rel="noopener">
                    "Try it in the expression builder ↗"
                </a>
            </div>
            <label>
                "Default value if null (optional)"
                <input type="text" name="default_value" value=a.default_value.clone().unwrap_or_default() data-testid="default-value" />
                <span class="muted small">"Sent only when an account is created and the source has no value."</span>
                <FieldErr errors field="default_value" />
            </label>
            <label>
                "Target attribute"
                <select name="target" data-testid="target-attribute">
                    {target_options}
                </select>
                {a.required.then(|| view! { <span class="muted small">"This mapping is required: its target can't change."</span> })}
                <FieldErr errors field="target" />
            </label>
            <label class="check">
                <input type="checkbox" name="matching" value="on" checked=a.matching data-testid="matching" />
                "Match objects using this attribute"
            </label>
            <FieldErr errors field="matching" />
            <label>
                "Matching precedence"
                <input
                    type="number"
                    name="matching_precedence"
                    min="1"
                    value=a.matching_precedence.map(|p| p.to_string()).unwrap_or_default()
                    data-testid="matching-precedence"
                />
                <span class="muted small">"Matching attributes are tried in this order, 1 first."</span>
                <FieldErr errors field="matching_precedence" />
            </label>
            <label>
                "Apply this mapping"
                <select name="apply_on" data-testid="apply-on">
                    <option value="Always" selected=a.apply_on == ApplyOn::Always>
                        "Always"
                    </option>
                    <option value="CreateOnly" selected=a.apply_on == ApplyOn::CreateOnly>
                        "Only during object creation"
                    </option>
                </select>
                <FieldErr errors field="apply_on" />
            </label>
            <div class="form-actions">
                <button type="submit" class="primary" data-testid="save-attribute">
                    "Ok"
                </button>
                " "
                <a class="button" href=base>
                    "Cancel"
                </a>
            </div>
        </ActionForm>
    }
    .into_any()
}

// ---------------------------------------------------------------------------------------------------
// Edit attribute list
// ---------------------------------------------------------------------------------------------------

/// The fields of the add-attribute form.
fn schema_form_field(f: &str) -> bool {
    matches!(f, "name" | "attr_type" | "required" | "multi_valued" | "exact_case" | "primary_key" | "referenced_object")
}

/// "Edit attribute list": the target's attributes for one object type; add one, mark one required or
/// optional, delete one that is neither required nor mapped.
#[component]
pub fn TargetSchemaPage() -> impl IntoView {
    let (id, object) = (param("id"), param("object"));
    let add = ServerAction::<AddTargetAttribute>::new();
    let remove = ServerAction::<DeleteTargetAttribute>::new();
    let required = ServerAction::<SetTargetRequired>::new();
    let data = Resource::new(id, get_app_mappings);
    view! {
        {move || match object_type(&object()) {
            None => view! { <ErrorBox message="There is no such mapping: choose user or group." /> }.into_any(),
            Some(o) => {
                loaded(
                        data,
                        move |v| view! { <SchemaEditor id=id() key=object_key(o) object=o view=v add remove required /> },
                    )
                    .into_any()
            }
        }}
    }
}

#[component]
fn SchemaEditor(
    id: String,
    key: &'static str,
    object: ObjectType,
    view: MappingsView,
    add: ServerAction<AddTargetAttribute>,
    remove: ServerAction<DeleteTargetAttribute>,
    required: ServerAction<SetTargetRequired>,
) -> impl IntoView {
    let (m, schema) = parts(&view, object);
    let base = format!("/apps/{id}/provisioning/mappings/{key}");
    let errors = field_errors_of(add);
    let yes = |b: bool| if b { "Yes" } else { "—" };
    let rows = schema
        .attributes
        .iter()
        .map(|t| {
            let mapped = m.attributes.iter().any(|a| a.target.eq_ignore_ascii_case(&t.name));
            let slug: String = t.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
            let (id1, id2, name1, name2) = (id.clone(), id.clone(), t.name.clone(), t.name.clone());
            let (row_id, required_id, delete_id) = (format!("attr-{slug}"), format!("required-{slug}"), format!("delete-attr-{slug}"));
            let toggle = (!t.primary_key).then(|| {
                let now = t.required;
                view! {
                    <ActionForm action=required attr:class="inline">
                        <input type="hidden" name="id" value=id1 />
                        <input type="hidden" name="object" value=key />
                        <input type="hidden" name="name" value=name1.clone() />
                        {(!now).then(|| view! { <input type="hidden" name="required" value="on" /> })}
                        <button type="submit" class="link" data-testid=required_id aria-label=format!("Mark {name1} {}", if now { "optional" } else { "required" })>
                            {if now { "Mark optional" } else { "Mark required" }}
                        </button>
                    </ActionForm>
                }
            });
            let delete = (!t.required && !t.primary_key && !mapped).then(|| {
                view! {
                    " "
                    <ActionForm action=remove attr:class="inline">
                        <input type="hidden" name="id" value=id2 />
                        <input type="hidden" name="object" value=key />
                        <input type="hidden" name="name" value=name2.clone() />
                        <button type="submit" class="link danger" data-testid=delete_id aria-label=format!("Delete {name2}")>
                            "Delete"
                        </button>
                    </ActionForm>
                }
            });
            view! {
                <tr data-testid=row_id>
                    <td>
                        <code>{t.name.clone()}</code>
                        {mapped.then(|| view! { " " <span class="badge ok">"mapped"</span> })}
                    </td>
                    <td>{format!("{:?}", t.attr_type)}</td>
                    <td>{yes(t.primary_key)}</td>
                    <td>{yes(t.required)}</td>
                    <td>{yes(t.multi_valued)}</td>
                    <td>{yes(t.exact_case)}</td>
                    <td>{t.referenced_object.clone().unwrap_or_else(|| "—".into())}</td>
                    <td class="row-actions">{toggle} {delete}</td>
                </tr>
            }
        })
        .collect_view();
    let types =
        [TargetType::String, TargetType::Boolean, TargetType::Integer, TargetType::DateTime, TargetType::Reference, TargetType::Binary]
            .into_iter()
            .map(|t| {
                let v = format!("{t:?}");
                view! { <option value=v.clone()>{v.clone()}</option> }
            })
            .collect_view();
    view! {
        <nav class="crumbs" aria-label="Mappings">
            <a href=format!("/apps/{id}/provisioning/mappings")>"Mappings"</a>
            " › "
            <a href=base.clone()>{m.name.clone()}</a>
            " › "
            <span aria-current="page">"Edit attribute list"</span>
        </nav>
        <h2>"Edit attribute list: " {m.target_object.clone()}</h2>
        <p class="muted">
            "The attributes the app's " {key}
            "s have: what attribute mappings may write. Required attributes must be mapped; the primary key is assigned by the app and isn't mapped. Only attributes that are neither required nor mapped can be deleted."
        </p>
        <Problems action=remove inline=|_| false />
        <Problems action=required inline=|_| false />
        <table class="list compact" data-testid="target-attributes">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Type"</th>
                    <th>"Primary key"</th>
                    <th>"Required"</th>
                    <th>"Multi-value"</th>
                    <th>"Exact case"</th>
                    <th>"Referenced object"</th>
                    <th>
                        <span class="visually-hidden">"Actions"</span>
                    </th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <section class="panel">
            <h3>"Add attribute"</h3>
            <Problems action=add inline=schema_form_field />
            <ActionForm action=add attr:class="form-grid" attr:data-testid="add-attribute-form">
                <input type="hidden" name="id" value=id.clone() />
                <input type="hidden" name="object" value=key />
                <label>
                    "Name (SCIM path)"
                    <input type="text" name="name" required placeholder="nickName, or urn:…:User:costCenter" data-testid="new-attr-name" />
                    <FieldErr errors field="name" />
                </label>
                <label>
                    "Type"
                    <select name="attr_type" data-testid="new-attr-type">
                        {types}
                    </select>
                    <FieldErr errors field="attr_type" />
                </label>
                <label>
                    "Referenced object (Reference only)"
                    <input type="text" name="referenced_object" placeholder="User" data-testid="new-attr-ref" />
                    <FieldErr errors field="referenced_object" />
                </label>
                <label class="check">
                    <input type="checkbox" name="required" value="on" data-testid="new-attr-required" />
                    "Required"
                    <FieldErr errors field="required" />
                </label>
                <label class="check">
                    <input type="checkbox" name="multi_valued" value="on" data-testid="new-attr-multi" />
                    "Multi-valued"
                    <FieldErr errors field="multi_valued" />
                </label>
                <label class="check">
                    <input type="checkbox" name="exact_case" value="on" />
                    "Exact case"
                </label>
                <label class="check">
                    <input type="checkbox" name="primary_key" value="on" />
                    "Primary key"
                    <FieldErr errors field="primary_key" />
                </label>
                <div class="form-actions">
                    <button type="submit" class="primary" data-testid="add-attribute">
                        "Add attribute"
                    </button>
                    " "
                    {saved_note("attribute-added", "attribute-added")}
                    " "
                    <a class="button" href=base>
                        "Back to the mapping"
                    </a>
                </div>
            </ActionForm>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoping_offers_only_attributes_filters_accept() {
        let users = scoping_attributes(ObjectType::User);
        assert!(users.contains(&"department") && users.contains(&"accountEnabled"));
        assert!(!users.contains(&"manager") && !users.contains(&"otherMails") && !users.contains(&"createdDateTime"));
        assert!(!scoping_attributes(ObjectType::Group).contains(&"members"));
    }

    #[test]
    fn every_operator_is_offered_and_parses_back() {
        for o in ScopeOperator::ALL {
            assert_eq!(ScopeOperator::parse(o.as_str()), Some(o));
        }
        assert_eq!(object_type("user"), Some(ObjectType::User));
        assert_eq!(object_type("devices"), None);
    }
}
