//! Enterprise applications: the app list, the gallery ("New application"), and an app's frame
//! ([`AppLayout`]: breadcrumbs, header, blade menu) with its Overview and Users and groups blades.

use crate::api::apps::{
    app_overview, gallery_entry, get_app, list_apps, list_assignments, list_gallery, AppRow, AppSummary, AssignPrincipal, CreateApp,
    DeleteApp, UnassignPrincipal,
};
use crate::api::error_text;
use crate::components::{fmt_duration, fmt_time, loaded, ActionError, ErrorBox, FieldMsg, Pager};
use leptos::prelude::*;
use leptos_router::components::{Form, Outlet, A};
use leptos_router::hooks::{use_params_map, use_query_map};
use provisio::apps::{App, ProvisioningMode};
use provisio::mapping::MappingType;
use provisio::model::Page;
use provisio::sync::job::{JobState, JobStatus};

/// The logo of an app made from gallery entry `template`.
pub fn logo_of(template: &str) -> String {
    format!("/gallery/{template}.svg")
}

/// The status badge of a provisioning job: its words and CSS class.
pub fn status_badge(s: &JobStatus) -> (&'static str, &'static str) {
    if s.quarantine.is_some() {
        ("Quarantined", "bad")
    } else {
        match s.state {
            JobState::Running => ("Running", "info"),
            JobState::DeletesStaged => ("Deletions waiting for approval", "warn"),
            JobState::Quarantined => ("Quarantined", "bad"),
            _ if s.enabled => ("On", "ok"),
            _ => ("Off", ""),
        }
    }
}

/// All applications: a searchable list with provisioning mode, status, last cycle and quarantine.
#[component]
pub fn AppsPage() -> impl IntoView {
    let q = use_query_map();
    let apps = Resource::new(move || q.get(), |q| list_apps(q.get("search"), q.get("after")));
    let param = move |k: &str| q.read().get(k).unwrap_or_default();
    view! {
        <nav class="crumbs" aria-label="Breadcrumb">
            <a href="/">"Home"</a>
            " › "
            <span aria-current="page">"Enterprise applications"</span>
        </nav>
        <div class="page-head">
            <h1>"Enterprise applications"</h1>
            <div class="actions">
                <a class="button primary" href="/apps/new" data-testid="new-app">
                    "+ New application"
                </a>
            </div>
        </div>
        <Form method="GET" action="" attr:class="filters">
            <input
                type="search"
                name="search"
                placeholder="Search by name"
                aria-label="Search applications"
                data-testid="app-search"
                value=move || param("search")
            />
            <button type="submit">"Search"</button>
        </Form>
        {loaded(apps, move |page| view! { <AppTable page /> })}
    }
}

/// The table of apps.
#[component]
fn AppTable(page: Page<AppRow>) -> impl IntoView {
    let empty = page.items.is_empty();
    let rows = page
        .items
        .into_iter()
        .map(|r| {
            let (label, class) = status_badge(&r.status);
            let href = format!("/apps/{}", r.app.id);
            let quarantined = r.status.quarantine.is_some();
            view! {
                <tr>
                    <td>
                        <a class="app-name" href=href>
                            <img src=logo_of(&r.app.template) alt="" width="24" height="24" />
                            {r.app.name.clone()}
                        </a>
                    </td>
                    <td>{mode_label(r.app.mode)}</td>
                    <td>
                        <span class=format!("badge {class}")>{label}</span>
                        <Show when=move || quarantined>
                            " "
                            <span class="badge bad" title="The job is quarantined: open it to see why">
                                "⚠ quarantine"
                            </span>
                        </Show>
                    </td>
                    <td>{fmt_time(r.status.last_cycle_at)}</td>
                    <td class="num">{r.status.users_managed}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list" data-testid="app-table">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Provisioning mode"</th>
                    <th>"Status"</th>
                    <th>"Last cycle"</th>
                    <th class="num">"Users managed"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <Show when=move || empty>
            <p class="muted">"No applications yet. Add one from the gallery with “New application”."</p>
        </Show>
        <Pager path="/apps" next=page.next_cursor />
    }
}

fn mode_label(m: ProvisioningMode) -> &'static str {
    match m {
        ProvisioningMode::Manual => "Manual",
        ProvisioningMode::Automatic => "Automatic",
    }
}

/// The gallery: search, a grid of preintegrated apps and "Create your own application"; picking one
/// opens its panel (description, what it provisions, its mappings and profile) with the create form.
#[component]
pub fn NewAppPage() -> impl IntoView {
    let q = use_query_map();
    let entries = Resource::new(move || q.read().get("search"), list_gallery);
    let selected = Resource::new(
        move || q.read().get("template"),
        |t| async move {
            match t {
                Some(t) if !t.is_empty() => gallery_entry(t).await.map(Some),
                _ => Ok(None),
            }
        },
    );
    let param = move |k: &str| q.read().get(k).unwrap_or_default();
    view! {
        <nav class="crumbs" aria-label="Breadcrumb">
            <a href="/">"Home"</a>
            " › "
            <a href="/apps">"Enterprise applications"</a>
            " › "
            <span aria-current="page">"Browse the gallery"</span>
        </nav>
        <h1>"Browse the Provisio gallery"</h1>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match selected.await {
                    Ok(Some(detail)) => view! { <CreatePanel detail /> }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(e) => view! { <ErrorBox message=error_text(&e) /> }.into_any(),
                }
            })}
        </Transition>
        <Form method="GET" action="" attr:class="filters">
            <input
                type="search"
                name="search"
                placeholder="Search the gallery"
                aria-label="Search the gallery"
                data-testid="gallery-search"
                value=move || param("search")
            />
            <button type="submit">"Search"</button>
        </Form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(list) => {
                        let empty = list.is_empty();
                        let cards = list
                            .into_iter()
                            .map(|e| {
                                let href = format!("/apps/new?template={}#create", e.id);
                                view! {
                                    <a class="gallery-card" href=href data-testid=format!("gallery-{}", e.id)>
                                        <img src=e.logo.clone() alt="" width="48" height="48" />
                                        <span class="gallery-text">
                                            <strong>{e.name.clone()}</strong>
                                            <span class="muted">{e.publisher.clone()} " · " {e.category.clone()}</span>
                                            <span class="gallery-desc">{e.description.clone()}</span>
                                            <span class="chips">
                                                <Show when=move || e.users>
                                                    <span class="badge">"Users"</span>
                                                </Show>
                                                <Show when=move || e.groups>
                                                    <span class="badge">"Groups"</span>
                                                </Show>
                                            </span>
                                        </span>
                                    </a>
                                }
                            })
                            .collect_view();
                        view! {
                            <div class="gallery" data-testid="gallery">
                                {cards}
                            </div>
                            <Show when=move || empty>
                                <p class="muted">"Nothing in the gallery matches. “Create your own application” connects any SCIM 2.0 app."</p>
                            </Show>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorBox message=error_text(&e) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The panel of the picked gallery entry: what it is, its mappings and profile, and the create form.
#[component]
fn CreatePanel(detail: crate::api::apps::GalleryDetail) -> impl IntoView {
    let create = ServerAction::<CreateApp>::new();
    let e = detail.entry;
    let user_rows = detail
        .mappings
        .user
        .attributes
        .iter()
        .map(|m| {
            let source = match m.mapping_type {
                MappingType::Direct => format!("[{}]", m.source),
                MappingType::Constant => format!("\"{}\"", m.source),
                MappingType::Expression => m.source.clone(),
                MappingType::None => "—".into(),
            };
            view! {
                <tr>
                    <td>
                        <code>{source}</code>
                    </td>
                    <td>
                        <code>{m.target.clone()}</code>
                    </td>
                    <td>{m.matching_precedence.map(|p| format!("Matching {p}")).unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    let p = e.profile.clone();
    let profile = format!(
        "{} · members per request {} · matching values per query {} · {} in flight{}{}",
        if p.use_put { "PUT updates" } else { "PATCH updates" },
        p.member_batch_size,
        p.match_batch_size,
        p.max_concurrency,
        p.rate_limit_per_sec.map(|r| format!(" · at most {r} requests/s")).unwrap_or_default(),
        if p.filter_supported { "" } else { " · no filter support" },
    );
    let notes = e.notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view();
    let objects = match (e.users, e.groups) {
        (true, true) => "Users and groups",
        (true, false) => "Users",
        (false, true) => "Groups",
        (false, false) => "Nothing",
    };
    view! {
        <section class="panel create-panel" id="create" data-testid="create-panel">
            <div class="panel-head">
                <img src=e.logo.clone() alt="" width="48" height="48" />
                <div>
                    <h2>{e.name.clone()}</h2>
                    <p class="muted">{e.publisher.clone()} " · " {e.category.clone()}</p>
                </div>
            </div>
            <p>{e.description.clone()}</p>
            <dl class="props">
                <dt>"Provisions"</dt>
                <dd>{objects}</dd>
                <dt>"Target profile"</dt>
                <dd>{profile}</dd>
                <dt>"Documentation"</dt>
                <dd>
                    <a href=e.docs_url.clone() rel="noopener noreferrer" target="_blank">
                        {e.docs_url.clone()}
                    </a>
                </dd>
            </dl>
            <ul class="notes">{notes}</ul>
            <details>
                <summary>{format!("Preconfigured user mappings ({})", detail.mappings.user.attributes.len())}</summary>
                <table class="list compact">
                    <thead>
                        <tr>
                            <th>"Source"</th>
                            <th>"Target attribute"</th>
                            <th>"Matching"</th>
                        </tr>
                    </thead>
                    <tbody>{user_rows}</tbody>
                </table>
            </details>
            <ActionError action=create />
            <ActionForm action=create attr:class="form-row" attr:data-testid="create-app-form">
                <input type="hidden" name="template" value=e.id.clone() />
                <label>
                    "Name"
                    <input type="text" name="name" required value=e.name.clone() maxlength="256" data-testid="create-app-name" />
                    <FieldMsg action=create field="name" />
                </label>
                <button type="submit" class="primary" data-testid="create-app">
                    "Create"
                </button>
            </ActionForm>
        </section>
    }
}

/// The frame of an app's blades: breadcrumbs, the app's name and logo, and the blade menu.
#[component]
pub fn AppLayout() -> impl IntoView {
    let params = use_params_map();
    let app = Resource::new(move || params.read().get("id").unwrap_or_default(), get_app);
    view! {
        {loaded(app, move |app| view! { <AppHeader app /> })}
        <div class="blade">
            <nav class="blade-menu" aria-label="Application">
                {move || {
                    let id = params.read().get("id").unwrap_or_default();
                    let base = format!("/apps/{id}");
                    view! {
                        <A href=base.clone() exact=true>
                            "Overview"
                        </A>
                        <A href=format!("{base}/users")>"Users and groups"</A>
                        <span class="menu-head">"Provisioning"</span>
                        <A href=format!("{base}/provisioning") exact=true>
                            "Overview"
                        </A>
                        <A href=format!("{base}/provisioning/edit")>"Edit provisioning"</A>
                        <A href=format!("{base}/provisioning/mappings")>"Mappings"</A>
                        <A href=format!("{base}/provisioning/on-demand")>"Provision on demand"</A>
                        <A href=format!("{base}/provisioning/preview")>"Preview"</A>
                        <A href=format!("{base}/provisioning/logs")>"Provisioning logs"</A>
                    }
                }}
            </nav>
            <div class="blade-body">
                <Outlet />
            </div>
        </div>
    }
}

/// Breadcrumbs and the title row of an app.
#[component]
fn AppHeader(app: App) -> impl IntoView {
    view! {
        <nav class="crumbs" aria-label="Breadcrumb">
            <a href="/">"Home"</a>
            " › "
            <a href="/apps">"Enterprise applications"</a>
            " › "
            <span aria-current="page">{app.name.clone()}</span>
        </nav>
        <div class="app-title">
            <img src=logo_of(&app.template) alt="" width="40" height="40" />
            <div>
                <h1 data-testid="app-title">{app.name.clone()}</h1>
                <p class="muted">"Enterprise application · " {mode_label(app.mode)} " provisioning"</p>
            </div>
        </div>
    }
}

/// An app's Overview blade: properties, the provisioning summary, links to the blades, and delete.
#[component]
pub fn AppOverviewPage() -> impl IntoView {
    let params = use_params_map();
    let delete = ServerAction::<DeleteApp>::new();
    let overview = Resource::new(move || params.read().get("id").unwrap_or_default(), app_overview);
    view! {
        {loaded(overview, move |o| view! { <Overview o delete /> })}
    }
}

#[component]
fn Overview(o: AppSummary, delete: ServerAction<DeleteApp>) -> impl IntoView {
    let AppSummary { app, status, credentials } = o;
    let id = app.id.to_string();
    let (label, class) = status_badge(&status);
    let base = format!("/apps/{id}");
    let configured = credentials.tenant_url.is_some();
    let name = app.name.clone();
    view! {
        <h2>"Properties"</h2>
        <dl class="props" data-testid="app-properties">
            <dt>"Name"</dt>
            <dd>{app.name.clone()}</dd>
            <dt>"Application id"</dt>
            <dd>
                <code>{id.clone()}</code>
            </dd>
            <dt>"Gallery entry"</dt>
            <dd>{app.template.clone()}</dd>
            <dt>"Created"</dt>
            <dd>{fmt_time(Some(app.created_at))}</dd>
        </dl>
        <h2>"Provisioning"</h2>
        <div class="stats" data-testid="app-provisioning-summary">
            <div class="stat">
                <strong>{mode_label(app.mode)}</strong>
                <span>"Mode"</span>
            </div>
            <div class="stat">
                <strong>
                    <span class=format!("badge {class}")>{label}</span>
                </strong>
                <span>"Status"</span>
            </div>
            <div class="stat">
                <strong>{status.users_managed}</strong>
                <span>"Users managed"</span>
            </div>
            <div class="stat">
                <strong>{status.groups_managed}</strong>
                <span>"Groups managed"</span>
            </div>
            <div class="stat">
                <strong>{fmt_time(status.last_cycle_at)}</strong>
                <span>"Last cycle" {status.last_cycle_ms.map(|ms| format!(" ({})", fmt_duration(ms)))}</span>
            </div>
        </div>
        <Show when=move || !configured>
            <p class="hint">
                "Provisioning is not configured yet: set the mode to Automatic and enter the admin credentials under "
                <a href=format!("/apps/{}/provisioning/edit", app.id)>"Edit provisioning"</a> "."
            </p>
        </Show>
        <div class="cards">
            <a class="card" href=format!("{base}/users")>
                <h2>"1. Assign users and groups"</h2>
                <p>"Who gets an account in this app."</p>
            </a>
            <a class="card" href=format!("{base}/provisioning/edit")>
                <h2>"2. Configure provisioning"</h2>
                <p>"Mode, admin credentials, settings."</p>
            </a>
            <a class="card" href=format!("{base}/provisioning/mappings")>
                <h2>"3. Review mappings"</h2>
                <p>"Which attributes flow, and who is in scope."</p>
            </a>
            <a class="card" href=format!("{base}/provisioning")>
                <h2>"4. Start provisioning"</h2>
                <p>"Status, progress, quarantine and staged deletions."</p>
            </a>
        </div>
        <h2>"Delete application"</h2>
        <details class="danger-zone">
            <summary data-testid="delete-app-open">"Delete this application…"</summary>
            <p>
                "Deleting " <strong>{name.clone()}</strong>
                " removes its configuration, credentials, assignments, provisioning state and logs. Accounts already in the app are left as they are. Type the name to confirm."
            </p>
            <ActionError action=delete />
            <ActionForm action=delete attr:class="form-row">
                <input type="hidden" name="id" value=id />
                <label>
                    "Application name"
                    <input type="text" name="confirm" required autocomplete="off" data-testid="delete-app-confirm" />
                </label>
                <button type="submit" class="danger" data-testid="delete-app">
                    "Delete " {name}
                </button>
            </ActionForm>
        </details>
    }
}

/// An app's Users and groups blade: the assigned principals (paged), assign and remove.
#[component]
pub fn AppUsersPage() -> impl IntoView {
    let params = use_params_map();
    let q = use_query_map();
    let assign = ServerAction::<AssignPrincipal>::new();
    let remove = ServerAction::<UnassignPrincipal>::new();
    let id = move || params.read().get("id").unwrap_or_default();
    let list = Resource::new(
        move || (id(), q.read().get("after"), q.read().get("search"), assign.version().get(), remove.version().get()),
        |(id, after, search, _, _)| list_assignments(id, after, search),
    );
    let search = move || q.read().get("search").unwrap_or_default();
    let added = move || {
        q.read().get("assigned").map(|who| {
            view! {
                <div class="notice" role="status" data-testid="flash">
                    {format!("Assigned {who}.")}
                </div>
            }
        })
    };
    view! {
        <h2>"Users and groups"</h2>
        <p class="muted">
            "With “Sync only assigned users and groups” (the default), only these users, and the members of these groups (nested groups included), are provisioned."
        </p>
        {added}
        <ActionError action=remove />
        <ActionForm action=assign attr:class="form-row" attr:data-testid="assign-form">
            <input type="hidden" name="id" value=id />
            <label>
                "User or group"
                <input
                    type="text"
                    name="principal"
                    required
                    placeholder="User principal name, group name, or id"
                    data-testid="assign-input"
                />
                <FieldMsg action=assign field="principal" />
            </label>
            <button type="submit" class="primary" data-testid="assign">
                "Assign"
            </button>
        </ActionForm>
        <Form method="GET" action="" attr:class="filters">
            <input
                type="search"
                name="search"
                placeholder="Search assigned users and groups"
                aria-label="Search assigned users and groups"
                data-testid="assignment-search"
                value=search
            />
            <button type="submit">"Search"</button>
        </Form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <ErrorBox message=error_text(&e) /> }.into_any(),
                    Ok(page) => {
                        let empty = page.items.is_empty();
                        let searching = !search().is_empty();
                        let app_id = id();
                        let rows = page
                            .items
                            .into_iter()
                            .map(|a| {
                                let href = if a.principal_type == "group" {
                                    format!("/groups/{}", a.principal_id)
                                } else {
                                    format!("/users/{}", a.principal_id)
                                };
                                let app_id = app_id.clone();
                                view! {
                                    <tr>
                                        <td>
                                            <a href=href>{a.display_name.clone()}</a>
                                        </td>
                                        <td>{if a.principal_type == "group" { "Group" } else { "User" }}</td>
                                        <td>{fmt_time(Some(a.assigned_at))}</td>
                                        <td class="row-actions">
                                            <ActionForm action=remove attr:class="inline">
                                                <input type="hidden" name="id" value=app_id />
                                                <input type="hidden" name="principal_id" value=a.principal_id.clone() />
                                                <button
                                                    type="submit"
                                                    class="link danger"
                                                    aria-label=format!("Remove {}", a.display_name)
                                                >
                                                    "Remove"
                                                </button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view();
                        view! {
                            <table class="list" data-testid="assignment-table">
                                <thead>
                                    <tr>
                                        <th>"Name"</th>
                                        <th>"Type"</th>
                                        <th>"Assigned"</th>
                                        <th></th>
                                    </tr>
                                </thead>
                                <tbody>{rows}</tbody>
                            </table>
                            <Show when=move || empty>
                                <p class="muted">
                                    {if searching { "No assigned user or group matches." } else { "Nobody is assigned yet." }}
                                </p>
                            </Show>
                            <Pager path=format!("/apps/{app_id}/users") next=page.next_cursor />
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}
