//! Administration: the audit log (every role may read it) and admin accounts with API tokens
//! (Administrators only; the server answers others with 403, shown as an error).

use crate::api::{error_text, list_admins_and_tokens, list_audit, CreateAdmin, CreateToken, DeleteAdmin, RevokeToken, UpdateAdmin};
use crate::components::{loaded, ActionError, ErrorBox, Pager};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use provisio::model::{Admin, ApiToken, AuditEntry, Page, Role};

/// Shown instead of the token box when JavaScript is off: a plain form post cannot return the token.
const NO_JS_TOKEN_NOTE: &str =
    r#"<p class="notice">Creating a token needs JavaScript: the token is shown once, on this page, right after it is created.</p>"#;

/// A time as the portal shows it.
fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// An optional time, or a dash.
fn when_opt(t: Option<DateTime<Utc>>) -> String {
    t.map(when).unwrap_or_else(|| "—".into())
}

/// The `<option>`s of a role select, `selected` preselected.
fn role_options(selected: Role) -> impl IntoView {
    Role::ALL
        .into_iter()
        .map(|r| {
            view! {
                <option value=r.as_str() selected=r == selected>
                    {r.label()}
                </option>
            }
        })
        .collect_view()
}

/// The audit log: filter by actor, action prefix and target id; newest first; keyset paging.
#[component]
pub fn AuditPage() -> impl IntoView {
    let q = use_query_map();
    let entries = Resource::new(
        move || q.get(),
        |q| {
            let f = |k: &str| q.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
            list_audit(f("actor"), f("action"), f("target_id"), q.get("after"))
        },
    );
    let param = move |k: &str| q.read().get(k).unwrap_or_default();
    view! {
        <div class="page-head">
            <h1>"Audit log"</h1>
        </div>
        <p class="muted">"Every change made through the portal, the API or the command line: who, what, when and from where."</p>
        <Form method="GET" action="" attr:class="filters">
            <input
                type="text"
                name="actor"
                placeholder="Actor (exact)"
                aria-label="Actor"
                data-testid="audit-actor"
                value=move || param("actor")
            />
            <input
                type="text"
                name="action"
                placeholder="Action prefix, e.g. user. or group.member"
                aria-label="Action prefix"
                data-testid="audit-action"
                value=move || param("action")
            />
            <input
                type="text"
                name="target_id"
                placeholder="Target id"
                aria-label="Target id"
                data-testid="audit-target"
                value=move || param("target_id")
            />
            <button type="submit" data-testid="audit-search">
                "Filter"
            </button>
        </Form>
        {loaded(entries, move |page| view! { <AuditTable page /> })}
    }
}

/// A page of audit entries with a pager.
#[component]
fn AuditTable(page: Page<AuditEntry>) -> impl IntoView {
    let empty = page.items.is_empty();
    let rows = page
        .items
        .into_iter()
        .map(|e| {
            let target_href = match (e.target_type.as_str(), &e.target_id) {
                ("user", Some(id)) => Some(format!("/users/{id}")),
                ("group", Some(id)) => Some(format!("/groups/{id}")),
                _ => None,
            };
            let target_label = e.target_name.clone().or_else(|| e.target_id.clone()).unwrap_or_default();
            let target = match target_href {
                Some(href) => view! { <a href=href>{target_label}</a> }.into_any(),
                None => view! { <span>{target_label}</span> }.into_any(),
            };
            let has_details = !(e.details.is_null() || e.details.as_object().is_some_and(|o| o.is_empty()));
            let details = serde_json::to_string_pretty(&e.details).unwrap_or_default();
            view! {
                <tr>
                    <td class="nowrap">{when(e.at)}</td>
                    <td>{e.actor.clone()}</td>
                    <td>
                        <code>{e.action.clone()}</code>
                    </td>
                    <td>
                        <span class="muted">{e.target_type.clone()} " "</span>
                        {target}
                    </td>
                    <td>{e.ip.clone().unwrap_or_default()}</td>
                    <td>
                        {has_details
                            .then(|| {
                                view! {
                                    <details>
                                        <summary>"Details"</summary>
                                        <pre>{details}</pre>
                                    </details>
                                }
                            })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list" data-testid="audit-table">
            <thead>
                <tr>
                    <th>"Time"</th>
                    <th>"Actor"</th>
                    <th>"Action"</th>
                    <th>"Target"</th>
                    <th>"IP address"</th>
                    <th>"Details"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <Show when=move || empty>
            <p class="muted">"No entries match."</p>
        </Show>
        <Pager path="/audit" next=page.next_cursor />
    }
}

/// "New API token" (an island): the token is created in place and shown once, right here; it is in
/// the list above from the next visit of the page on.
#[island]
fn NewToken() -> impl IntoView {
    let create_token = ServerAction::<CreateToken>::new();
    let new_token = move || {
        create_token.value().get().and_then(|r| r.ok()).map(|token| {
            view! {
                <div class="notice token-box" role="status">
                    <p>
                        <strong>"New API token:"</strong>
                    </p>
                    <code data-testid="new-token">{token}</code>
                    <p class="muted">"Copy it now, it is not shown again. " <a href="/admins">"Show it in the list"</a></p>
                </div>
            }
        })
    };
    view! {
        <ActionError action=create_token />
        {new_token}
        <h3>"New API token"</h3>
        // (noscript content is set as HTML: with JavaScript it is plain text, which hydration must not walk)
        <noscript inner_html=NO_JS_TOKEN_NOTE />
        <ActionForm action=create_token attr:class="form-grid" attr:data-testid="create-token-form">
            <label>
                "Name"
                <input type="text" name="name" required placeholder="e.g. HR sync" data-testid="new-token-name" />
            </label>
            <label>
                "Role" <select name="role" data-testid="new-token-role">{role_options(Role::Reader)}</select>
            </label>
            <div class="form-actions">
                <button type="submit" class="primary" data-testid="create-token">
                    "Create token"
                </button>
            </div>
        </ActionForm>
    }
}

/// Admin accounts and API tokens: list, change, create, delete, revoke.
#[component]
pub fn AdminsPage() -> impl IntoView {
    let q = use_query_map();
    let create_admin = ServerAction::<CreateAdmin>::new();
    let update_admin = ServerAction::<UpdateAdmin>::new();
    let delete_admin = ServerAction::<DeleteAdmin>::new();
    let revoke_token = ServerAction::<RevokeToken>::new();
    // The actions' versions refetch the lists when an action returns to the URL already shown.
    let data = Resource::new(
        move || {
            (
                q.get(),
                create_admin.version().get(),
                update_admin.version().get(),
                delete_admin.version().get(),
                revoke_token.version().get(),
            )
        },
        |_| list_admins_and_tokens(),
    );
    let flash = move || {
        let q = q.read();
        [("created", "Admin created."), ("saved", "Admin saved."), ("deleted", "Admin deleted."), ("revoked", "Token revoked.")]
            .into_iter()
            .find(|(k, _)| q.get(k).is_some())
            .map(|(_, m)| m)
    };
    view! {
        <div class="page-head">
            <h1>"Admins & tokens"</h1>
        </div>
        {move || flash().map(|m| view! { <div class="notice" role="status" data-testid="flash">{m}</div> })}
        <ActionError action=create_admin />
        <ActionError action=update_admin />
        <ActionError action=delete_admin />
        <ActionError action=revoke_token />
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorBox message=error_text(&e) /> }.into_any(),
                    Ok((admins, tokens)) => view! {
                        <section>
                            <h2>"Admin accounts"</h2>
                            <AdminTable admins update=update_admin delete=delete_admin />
                            <h3>"New admin"</h3>
                            <ActionForm action=create_admin attr:class="form-grid" attr:data-testid="create-admin-form">
                                <label>
                                    "User name"
                                    <input type="text" name="username" required autocomplete="off" data-testid="new-admin-username" />
                                </label>
                                <label>
                                    "Password"
                                    <input
                                        type="password"
                                        name="password"
                                        required
                                        autocomplete="new-password"
                                        data-testid="new-admin-password"
                                    />
                                </label>
                                <label>
                                    "Role" <select name="role" data-testid="new-admin-role">{role_options(Role::Reader)}</select>
                                </label>
                                <div class="form-actions">
                                    <button type="submit" class="primary" data-testid="create-admin">
                                        "Create admin"
                                    </button>
                                </div>
                            </ActionForm>
                        </section>
                        <section>
                            <h2>"API tokens"</h2>
                            <p class="muted">
                                "Programs call the API with " <code>"Authorization: Bearer <token>"</code>
                                ". A token acts with its role; revoke it when it is no longer needed."
                            </p>
                            <TokenTable tokens revoke=revoke_token />
                            <NewToken />
                        </section>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

/// Admin accounts, each with a role / disabled form and a delete button.
#[component]
fn AdminTable(admins: Vec<Admin>, update: ServerAction<UpdateAdmin>, delete: ServerAction<DeleteAdmin>) -> impl IntoView {
    let rows = admins
        .into_iter()
        .map(|a| {
            let id = a.id.to_string();
            let id_delete = id.clone();
            view! {
                <tr data-testid="admin-row">
                    <td>{a.username.clone()}</td>
                    <td>
                        <ActionForm action=update attr:class="inline">
                            <input type="hidden" name="id" value=id />
                            <select name="role" aria-label="Role" data-testid="admin-role">
                                {role_options(a.role)}
                            </select>
                            <label class="check">
                                <input type="checkbox" name="disabled" value="on" checked=a.disabled data-testid="admin-disabled" />
                                "Disabled"
                            </label>
                            <button type="submit" data-testid="save-admin">
                                "Save"
                            </button>
                        </ActionForm>
                    </td>
                    <td class="nowrap">{when_opt(a.last_sign_in_date_time)}</td>
                    <td class="nowrap">{when(a.created_date_time)}</td>
                    <td class="row-actions">
                        <ActionForm action=delete attr:class="inline">
                            <input type="hidden" name="id" value=id_delete />
                            <button type="submit" class="link danger" data-testid="delete-admin">
                                "Delete"
                            </button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list" data-testid="admin-table">
            <thead>
                <tr>
                    <th>"User name"</th>
                    <th>"Role and status"</th>
                    <th>"Last sign-in"</th>
                    <th>"Created"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// API tokens (never their secrets), each with a Revoke button until revoked.
#[component]
fn TokenTable(tokens: Vec<ApiToken>, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    let empty = tokens.is_empty();
    let rows = tokens
        .into_iter()
        .map(|t| {
            let revoked = t.revoked_date_time;
            let id = t.id.to_string();
            view! {
                <tr data-testid="token-row">
                    <td>{t.name.clone()}</td>
                    <td>{t.role.label()}</td>
                    <td>
                        <code>{t.prefix.clone()} "…"</code>
                    </td>
                    <td>{t.created_by.clone()}</td>
                    <td class="nowrap">{when(t.created_date_time)}</td>
                    <td class="nowrap">{when_opt(t.last_used_date_time)}</td>
                    <td class="nowrap">
                        {match revoked {
                            Some(at) => view! { <span class="badge warn">"Revoked " {when(at)}</span> }.into_any(),
                            None => view! {
                                <ActionForm action=revoke attr:class="inline">
                                    <input type="hidden" name="id" value=id />
                                    <button type="submit" class="link danger" data-testid="revoke-token">
                                        "Revoke"
                                    </button>
                                </ActionForm>
                            }
                            .into_any(),
                        }}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list" data-testid="token-table">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Role"</th>
                    <th>"Prefix"</th>
                    <th>"Created by"</th>
                    <th>"Created"</th>
                    <th>"Last used"</th>
                    <th>"Revoked"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <Show when=move || empty>
            <p class="muted">"No API tokens yet."</p>
        </Show>
    }
}
