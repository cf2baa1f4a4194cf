//! Users: the searchable list, a user's page with its edit form, new user, and the recycle bin.

use crate::api::{error_text, get_user, list_departments, list_users, DeleteUser, PurgeUser, RestoreUser, SaveUser};
use crate::components::{loaded, ActionError, ErrorBox, IfWriter, Pager, UserSuggestions};
use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};
use provisio::model::{Page, User};

/// The list of users: search by name, UPN or mail; filter by department and status; keyset paging.
#[component]
pub fn UsersPage() -> impl IntoView {
    let q = use_query_map();
    let users =
        Resource::new(move || q.get(), |q| list_users(q.get("search"), q.get("department"), q.get("enabled"), q.get("after"), false));
    let depts = Resource::new(|| (), |_| list_departments());
    let param = move |k: &str| q.read().get(k).unwrap_or_default();
    view! {
        <div class="page-head">
            <h1>"Users"</h1>
            <IfWriter>
                <div class="actions">
                    <a class="button primary" href="/users/new" data-testid="new-user">
                        "New user"
                    </a>
                    <a class="button" href="/users/import">
                        "Import CSV"
                    </a>
                </div>
            </IfWriter>
        </div>
        <Form method="GET" action="" attr:class="filters">
            <input
                type="search"
                name="search"
                placeholder="Search by name, user principal name or mail"
                aria-label="Search"
                value=move || param("search")
            />
            <select name="department" aria-label="Department">
                <option value="">"All departments"</option>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let current = param("department");
                        depts
                            .await
                            .unwrap_or_default()
                            .into_iter()
                            .map(|d| {
                                let sel = d == current;
                                view! {
                                    <option value=d.clone() selected=sel>
                                        {d.clone()}
                                    </option>
                                }
                            })
                            .collect_view()
                    })}
                </Suspense>
            </select>
            <select name="enabled" aria-label="Status">
                <option value="">"Any status"</option>
                <option value="true" selected=move || param("enabled") == "true">
                    "Enabled"
                </option>
                <option value="false" selected=move || param("enabled") == "false">
                    "Disabled"
                </option>
            </select>
            <button type="submit">"Search"</button>
        </Form>
        {loaded(users, move |page| view! { <UserTable page path="/users" /> })}
    }
}

/// A table of users with a pager.
#[component]
fn UserTable(page: Page<User>, path: &'static str) -> impl IntoView {
    let empty = page.items.is_empty();
    let rows = page
        .items
        .into_iter()
        .map(|u| {
            let href = format!("/users/{}", u.id);
            view! {
                <tr>
                    <td>
                        <a href=href>{u.display_name.clone()}</a>
                    </td>
                    <td>{u.user_principal_name.clone()}</td>
                    <td>{u.department.clone().unwrap_or_default()}</td>
                    <td>{u.job_title.clone().unwrap_or_default()}</td>
                    <td>
                        {if u.deleted_date_time.is_some() {
                            view! { <span class="badge warn">"Deleted"</span> }.into_any()
                        } else if u.account_enabled {
                            view! { <span class="badge ok">"Enabled"</span> }.into_any()
                        } else {
                            view! { <span class="badge">"Disabled"</span> }.into_any()
                        }}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list" data-testid="user-table">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"User principal name"</th>
                    <th>"Department"</th>
                    <th>"Job title"</th>
                    <th>"Status"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <Show when=move || empty>
            <p class="muted">"No users match."</p>
        </Show>
        <Pager path next=page.next_cursor />
    }
}

/// One labelled text input of the user form.
#[component]
fn Field(label: &'static str, name: &'static str, value: Option<String>, #[prop(optional)] required: bool) -> impl IntoView {
    view! {
        <label>
            {label}
            <input type="text" name=name value=value.unwrap_or_default() required=required />
        </label>
    }
}

/// The user form, empty for a new user or filled for an edit. Works without JavaScript.
#[component]
fn UserForm(user: Option<User>) -> impl IntoView {
    let save = ServerAction::<SaveUser>::new();
    let u = user.clone();
    let g = move |f: fn(&User) -> Option<String>| u.as_ref().and_then(f);
    let enabled = user.as_ref().map(|u| u.account_enabled).unwrap_or(true);
    let id = user.as_ref().map(|u| u.id.to_string()).unwrap_or_default();
    let manager = user.as_ref().and_then(|u| u.manager.as_ref().map(|m| m.user_principal_name.clone().unwrap_or_else(|| m.id.clone())));
    let manager_name = user.as_ref().and_then(|u| u.manager.as_ref().and_then(|m| m.display_name.clone()));
    view! {
        <ActionError action=save />
        <ActionForm action=save attr:class="form-grid" attr:data-testid="user-form">
            <input type="hidden" name="id" value=id />
            <Field label="User principal name" name="user_principal_name" value=g(|u| Some(u.user_principal_name.clone())) required=true />
            <Field label="Display name" name="display_name" value=g(|u| Some(u.display_name.clone())) />
            <Field label="First name" name="given_name" value=g(|u| u.given_name.clone()) />
            <Field label="Last name" name="surname" value=g(|u| u.surname.clone()) />
            <Field label="Mail" name="mail" value=g(|u| u.mail.clone()) />
            <Field label="Department" name="department" value=g(|u| u.department.clone()) />
            <Field label="Job title" name="job_title" value=g(|u| u.job_title.clone()) />
            <Field label="Company" name="company_name" value=g(|u| u.company_name.clone()) />
            <Field label="Employee ID" name="employee_id" value=g(|u| u.employee_id.clone()) />
            <Field label="Employee type" name="employee_type" value=g(|u| u.employee_type.clone()) />
            <Field label="Office" name="office_location" value=g(|u| u.office_location.clone()) />
            <Field label="City" name="city" value=g(|u| u.city.clone()) />
            <Field label="Country" name="country" value=g(|u| u.country.clone()) />
            <Field label="Usage location (2 letters)" name="usage_location" value=g(|u| u.usage_location.clone()) />
            <Field label="Preferred language" name="preferred_language" value=g(|u| u.preferred_language.clone()) />
            <Field label="Mobile phone" name="mobile_phone" value=g(|u| u.mobile_phone.clone()) />
            <ManagerPicker value=manager.unwrap_or_default() current=manager_name />
            <label class="check">
                <input type="checkbox" name="account_enabled" value="on" checked=enabled />
                "Account enabled"
            </label>
            <div class="form-actions">
                <button type="submit" class="primary" data-testid="save-user">
                    "Save"
                </button>
            </div>
        </ActionForm>
    }
}

/// The manager field: a user principal name (or id), with suggestions from the directory as the admin
/// types (an island); without JavaScript it is a plain text field.
#[island]
fn ManagerPicker(value: String, current: Option<String>) -> impl IntoView {
    let (typed, set_typed) = signal(String::new());
    view! {
        <label>
            "Manager (type a name or user principal name)"
            <input
                type="text"
                name="manager"
                value=value
                list="manager-options"
                autocomplete="off"
                data-testid="manager-input"
                on:input=move |ev| set_typed.set(event_target_value(&ev))
            />
            {current.map(|n| view! { <small class="muted">"Now: " {n}</small> })}
        </label>
        <UserSuggestions list_id="manager-options" typed=typed />
    }
}

/// Create a user.
#[component]
pub fn NewUserPage() -> impl IntoView {
    view! {
        <h1>"New user"</h1>
        <UserForm user=None />
    }
}

/// A user: attributes, edit form, groups, delete / restore.
#[component]
pub fn UserPage() -> impl IntoView {
    let params = use_params_map();
    let q = use_query_map();
    // Keyed on the query too, so a redirect to `?saved=…` after a save shows the stored values.
    let user = Resource::new(move || (params.read().get("id").unwrap_or_default(), q.get()), |(id, _)| get_user(id));
    let delete = ServerAction::<DeleteUser>::new();
    let restore = ServerAction::<RestoreUser>::new();
    let purge = ServerAction::<PurgeUser>::new();
    let flash = move || {
        let q = q.read();
        if q.get("saved").is_some() {
            Some("Saved.")
        } else if q.get("restored").is_some() {
            Some("Restored from the recycle bin.")
        } else {
            None
        }
    };
    view! {
        {move || flash().map(|m| view! { <div class="notice" role="status">{m}</div> })}
        <ActionError action=delete />
        <ActionError action=restore />
        <ActionError action=purge />
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Err(e) => view! { <ErrorBox message=error_text(&e) /> }.into_any(),
                    Ok(detail) => {
                        let u = detail.user.clone();
                        let id = u.id.to_string();
                        let deleted = u.deleted_date_time.is_some();
                        let groups = detail
                            .member_of
                            .into_iter()
                            .map(|(gid, name)| view! { <li><a href=format!("/groups/{gid}")>{name}</a></li> })
                            .collect_view();
                        view! {
                            <div class="page-head">
                                <h1 data-testid="user-title">{u.display_name.clone()}</h1>
                                <div class="actions">
                                    {if deleted {
                                        let id2 = id.clone();
                                        view! {
                                            <span class="badge warn">"In the recycle bin"</span>
                                            <ActionForm action=restore attr:class="inline">
                                                <input type="hidden" name="id" value=id.clone() />
                                                <button type="submit" data-testid="restore-user">"Restore"</button>
                                            </ActionForm>
                                            <ActionForm action=purge attr:class="inline">
                                                <input type="hidden" name="id" value=id2 />
                                                <button type="submit" class="danger">"Delete permanently"</button>
                                            </ActionForm>
                                        }
                                            .into_any()
                                    } else {
                                        view! {
                                            <ActionForm action=delete attr:class="inline">
                                                <input type="hidden" name="id" value=id.clone() />
                                                <button type="submit" class="danger" data-testid="delete-user">
                                                    "Delete"
                                                </button>
                                            </ActionForm>
                                        }
                                            .into_any()
                                    }}
                                </div>
                            </div>
                            <p class="muted">
                                {u.user_principal_name.clone()} " · created "
                                {u.created_date_time.format("%Y-%m-%d %H:%M UTC").to_string()} " · updated "
                                {u.updated_date_time.format("%Y-%m-%d %H:%M UTC").to_string()}
                            </p>
                            <section>
                                <h2>"Groups"</h2>
                                <ul class="chips" data-testid="member-of">
                                    {groups}
                                </ul>
                            </section>
                            <section>
                                <h2>"Properties"</h2>
                                <UserForm user=Some(detail.user) />
                            </section>
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// Users in the recycle bin, restorable for 30 days.
#[component]
pub fn RecycleBinPage() -> impl IntoView {
    let q = use_query_map();
    let users = Resource::new(move || q.get(), |q| list_users(q.get("search"), None, None, q.get("after"), true));
    let restore = ServerAction::<RestoreUser>::new();
    let param = move |k: &str| q.read().get(k).unwrap_or_default();
    view! {
        <h1>"Recycle bin"</h1>
        <p class="muted">
            "Deleted users stay here for 30 days and can be restored; after that they are deleted permanently."
        </p>
        <ActionError action=restore />
        <Form method="GET" action="" attr:class="filters">
            <input type="search" name="search" placeholder="Search deleted users" aria-label="Search" value=move || param("search") />
            <button type="submit">"Search"</button>
        </Form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Err(e) => view! { <ErrorBox message=error_text(&e) /> }.into_any(),
                    Ok(page) => {
                        let empty = page.items.is_empty();
                        let rows = page
                            .items
                            .into_iter()
                            .map(|u| {
                                let deleted = u.deleted_date_time.map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default();
                                view! {
                                    <tr>
                                        <td><a href=format!("/users/{}", u.id)>{u.display_name.clone()}</a></td>
                                        <td>{u.user_principal_name.clone()}</td>
                                        <td>{deleted}</td>
                                        <td>
                                            <ActionForm action=restore attr:class="inline">
                                                <input type="hidden" name="id" value=u.id.to_string() />
                                                <button type="submit">"Restore"</button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view();
                        view! {
                            <table class="list" data-testid="recycle-table">
                                <thead>
                                    <tr>
                                        <th>"Name"</th>
                                        <th>"User principal name"</th>
                                        <th>"Deleted"</th>
                                        <th></th>
                                    </tr>
                                </thead>
                                <tbody>{rows}</tbody>
                            </table>
                            <Show when=move || empty>
                                <p class="muted">"The recycle bin is empty."</p>
                            </Show>
                            <Pager path="/recycle-bin" next=page.next_cursor />
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}
