//! Groups: the searchable list with a new-group form, and a group's page with its properties and
//! members.

use crate::api::{error_text, get_group, list_groups, AddMember, DeleteGroup, RemoveMember, SaveGroup};
use crate::components::{encode, loaded, may_write, ActionError, ErrorBox, IfWriter, MeResource, Pager};
use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};
use provisio::model::{Group, Member, MemberKind, Page};

/// The list of groups: search by name prefix, keyset paging, and a form to create one.
#[component]
pub fn GroupsPage() -> impl IntoView {
    let q = use_query_map();
    let groups = Resource::new(move || q.get(), |q| list_groups(q.get("search").filter(|s| !s.is_empty()), q.get("after")));
    let param = move |k: &str| q.read().get(k).unwrap_or_default();
    view! {
        <div class="page-head">
            <h1>"Groups"</h1>
            <IfWriter>
                <div class="actions">
                    <a class="button primary" href="#new-group">
                        "New group"
                    </a>
                </div>
            </IfWriter>
        </div>
        <Form method="GET" action="" attr:class="filters">
            <input
                type="search"
                name="search"
                placeholder="Search by name"
                aria-label="Search groups"
                data-testid="group-search"
                value=move || param("search")
            />
            <button type="submit">"Search"</button>
        </Form>
        {loaded(groups, move |page| view! { <GroupTable page /> })}
        <IfWriter>
            <NewGroupForm />
        </IfWriter>
    }
}

/// A table of groups with a pager.
#[component]
fn GroupTable(page: Page<Group>) -> impl IntoView {
    let empty = page.items.is_empty();
    let rows = page
        .items
        .into_iter()
        .map(|g| {
            view! {
                <tr>
                    <td>
                        <a href=format!("/groups/{}", g.id)>{g.display_name.clone()}</a>
                    </td>
                    <td>{g.description.clone().unwrap_or_default()}</td>
                    <td class="num">{g.member_count}</td>
                    <td>
                        {if g.security_enabled {
                            view! { <span class="badge ok">"Security"</span> }.into_any()
                        } else {
                            view! { <span class="badge">"No"</span> }.into_any()
                        }}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list" data-testid="group-table">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Description"</th>
                    <th class="num">"Members"</th>
                    <th>"Security enabled"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <Show when=move || empty>
            <p class="muted">"No groups match."</p>
        </Show>
        <Pager path="/groups" next=page.next_cursor />
    }
}

/// The form that creates a group (works without JavaScript).
#[component]
fn NewGroupForm() -> impl IntoView {
    let save = ServerAction::<SaveGroup>::new();
    view! {
        <section id="new-group">
            <h2>"New group"</h2>
            <ActionError action=save />
            <ActionForm action=save attr:class="form-grid" attr:data-testid="new-group-form">
                <label>
                    "Name"
                    <input type="text" name="display_name" required data-testid="new-group-name" />
                </label>
                <label>
                    "Description" <input type="text" name="description" data-testid="new-group-description" />
                </label>
                <label>
                    "Mail nickname" <input type="text" name="mail_nickname" data-testid="new-group-mail-nickname" />
                </label>
                <label class="check">
                    <input type="checkbox" name="security_enabled" value="on" checked=true />
                    "Security enabled"
                </label>
                <div class="form-actions">
                    <button type="submit" class="primary" data-testid="create-group">
                        "Create group"
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}

/// A group: its properties (with an edit form), delete, and its members (add, remove, paged).
#[component]
pub fn GroupPage() -> impl IntoView {
    let params = use_params_map();
    let q = use_query_map();
    let save = ServerAction::<SaveGroup>::new();
    let delete = ServerAction::<DeleteGroup>::new();
    let add = ServerAction::<AddMember>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let me = use_context::<MeResource>();
    // The actions' versions refetch the group when an action redirects to the URL already shown.
    let group = Resource::new(
        move || {
            (
                params.read().get("id").unwrap_or_default(),
                q.read().get("after"),
                (save.version().get(), add.version().get(), remove.version().get()),
            )
        },
        |(id, after, _)| get_group(id, after),
    );
    let flash = move || {
        let q = q.read();
        if q.get("saved").is_some() {
            Some("Saved.")
        } else if q.get("added").is_some() {
            Some("Member added.")
        } else if q.get("removed").is_some() {
            Some("Member removed.")
        } else {
            None
        }
    };
    view! {
        {move || flash().map(|m| view! { <div class="notice" role="status" data-testid="flash">{m}</div> })}
        <ActionError action=save />
        <ActionError action=delete />
        <ActionError action=add />
        <ActionError action=remove />
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match group.await {
                    Err(e) => view! { <ErrorBox message=error_text(&e) /> }.into_any(),
                    Ok(detail) => {
                        let writer = may_write(me).await;
                        let g = detail.group;
                        let id = g.id.to_string();
                        let id_delete = id.clone();
                        let id_add = id.clone();
                        let id_members = id.clone();
                        let props = g.clone();
                        view! {
                            <div class="page-head">
                                <h1 data-testid="group-title">{g.display_name.clone()}</h1>
                                {writer
                                    .then(move || {
                                        let id = id_delete;
                                        view! {
                                                <div class="actions">
                                                    <ActionForm action=delete attr:class="inline">
                                                        <input type="hidden" name="id" value=id />
                                                        <button type="submit" class="danger" data-testid="delete-group">
                                                            "Delete group"
                                                        </button>
                                                    </ActionForm>
                                                </div>
                                            }
                                            .into_any()
                                    })}
                            </div>
                            <p class="muted">
                                {if g.security_enabled { "Security group" } else { "Group" }} " · "
                                {g.member_count} {if g.member_count == 1 { " member" } else { " members" }} " · created "
                                {g.created_date_time.format("%Y-%m-%d %H:%M UTC").to_string()} " · updated "
                                {g.updated_date_time.format("%Y-%m-%d %H:%M UTC").to_string()}
                            </p>
                            <section>
                                <h2>"Members"</h2>
                                <MemberTable group_id=id_members members=detail.members remove writer />
                                {writer
                                    .then(move || {
                                        let id = id_add;
                                        view! {
                                                <ActionForm action=add attr:class="filters" attr:data-testid="add-member-form">
                                                    <input type="hidden" name="group_id" value=id />
                                                    <input
                                                        type="text"
                                                        name="member"
                                                        required
                                                        placeholder="User principal name or id"
                                                        aria-label="Member to add"
                                                        data-testid="add-member-input"
                                                    />
                                                    <button type="submit" class="primary" data-testid="add-member">
                                                        "Add member"
                                                    </button>
                                                </ActionForm>
                                            }
                                            .into_any()
                                    })}
                            </section>
                            <section>
                                <h2>"Properties"</h2>
                                <GroupProperties group=props save writer />
                            </section>
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// The edit form of a group for those who may change it; a read-only list for the others.
#[component]
fn GroupProperties(group: Group, save: ServerAction<SaveGroup>, writer: bool) -> impl IntoView {
    let g = group.clone();
    let read_only = move || {
        let g = g.clone();
        view! {
            <dl class="props" data-testid="group-properties">
                <dt>"Name"</dt>
                <dd>{g.display_name}</dd>
                <dt>"Description"</dt>
                <dd>{g.description.unwrap_or_default()}</dd>
                <dt>"Mail nickname"</dt>
                <dd>{g.mail_nickname.unwrap_or_default()}</dd>
                <dt>"Security enabled"</dt>
                <dd>{if g.security_enabled { "Yes" } else { "No" }}</dd>
            </dl>
        }
    };
    let form = move || {
        let group = group.clone();
        view! {
            <ActionForm action=save attr:class="form-grid" attr:data-testid="group-form">
                <input type="hidden" name="id" value=group.id.to_string() />
                <label>
                    "Name" <input type="text" name="display_name" value=group.display_name required data-testid="group-name" />
                </label>
                <label>
                    "Description" <input type="text" name="description" value=group.description.unwrap_or_default() />
                </label>
                <label>
                    "Mail nickname" <input type="text" name="mail_nickname" value=group.mail_nickname.unwrap_or_default() />
                </label>
                <label class="check">
                    <input type="checkbox" name="security_enabled" value="on" checked=group.security_enabled />
                    "Security enabled"
                </label>
                <div class="form-actions">
                    <button type="submit" class="primary" data-testid="save-group">
                        "Save"
                    </button>
                </div>
            </ActionForm>
        }
    };
    if writer {
        form().into_any()
    } else {
        read_only().into_any()
    }
}

/// A page of members, each with a Remove button, and a pager over `?after=`.
#[component]
fn MemberTable(group_id: String, members: Page<Member>, remove: ServerAction<RemoveMember>, writer: bool) -> impl IntoView {
    let empty = members.items.is_empty();
    let rows = members
        .items
        .into_iter()
        .map(|m| {
            let (href, kind) = match m.kind {
                MemberKind::User => (format!("/users/{}", m.id), "User"),
                MemberKind::Group => (format!("/groups/{}", m.id), "Group"),
            };
            let (gid, mid) = (group_id.clone(), m.id.clone());
            view! {
                <tr>
                    <td>
                        <a href=href>{m.display_name.clone()}</a>
                    </td>
                    <td>{m.user_principal_name.clone().unwrap_or_default()}</td>
                    <td>{kind}</td>
                    <td class="row-actions">
                        {writer
                            .then(move || {
                                view! {
                                    <ActionForm action=remove attr:class="inline">
                                        <input type="hidden" name="group_id" value=gid />
                                        <input type="hidden" name="member_id" value=mid />
                                        <button type="submit" class="link danger" data-testid="remove-member">
                                            "Remove"
                                        </button>
                                    </ActionForm>
                                }
                            })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list" data-testid="member-table">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"User principal name"</th>
                    <th>"Kind"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <Show when=move || empty>
            <p class="muted">"This group has no members."</p>
        </Show>
        <MemberPager group_id next=members.next_cursor />
    }
    .into_any()
}

/// "First page" and "Next page" links over a group's members (the shared [`Pager`] needs a fixed path).
#[component]
fn MemberPager(group_id: String, next: Option<String>) -> impl IntoView {
    let q = use_query_map();
    let base = format!("/groups/{group_id}");
    let has_after = move || q.read().get("after").is_some();
    let first = base.clone();
    view! {
        <div class="pager">
            <Show when=has_after>
                <a href=first.clone() data-testid="first-page">
                    "« First page"
                </a>
            </Show>
            {next.map(|n| {
                view! {
                    <a href=format!("{base}?after={}", encode(&n)) rel="next" data-testid="next-page">
                        "Next page »"
                    </a>
                }
            })}
        </div>
    }
}
