//! Shared components: the signed-in layout, error boxes, pagers and query-string helpers.

use crate::api::{current_admin, error_text, suggest_users, Logout, Me};
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};
use leptos_router::params::ParamsMap;

/// The signed-in admin, provided by [`Layout`] to the pages below it.
pub type MeResource = Resource<Result<Option<Me>, ServerFnError>>;

/// The frame of every signed-in page: top bar, navigation, content. Sends anonymous visitors to sign-in.
#[component]
pub fn Layout() -> impl IntoView {
    let me: MeResource = Resource::new(|| (), |_| current_admin());
    provide_context(me);
    let logout = ServerAction::<Logout>::new();
    view! {
        <div class="layout">
            <header class="topbar">
                <a class="brand" href="/">
                    <img src="/logo.svg" alt="" width="24" height="24" />
                    "Provisio"
                </a>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match me.await {
                            Ok(Some(me)) => view! {
                                <span class="me" data-testid="me">
                                    {me.username.clone()} " · " {me.role.label()}
                                </span>
                                <ActionForm action=logout attr:class="inline">
                                    <button type="submit" class="link" data-testid="sign-out">"Sign out"</button>
                                </ActionForm>
                            }
                            .into_any(),
                            _ => view! { <Redirect path="/login" /> }.into_any(),
                        }
                    })}
                </Suspense>
            </header>
            <nav class="sidebar" aria-label="Main">
                <A href="/apps">"Enterprise applications"</A>
                <A href="/provisioning-logs">"Provisioning logs"</A>
                <A href="/users">"Users"</A>
                <A href="/groups">"Groups"</A>
                <A href="/recycle-bin">"Recycle bin"</A>
                <A href="/users/import">"Import users"</A>
                <A href="/expressions">"Expression builder"</A>
                <A href="/audit">"Audit log"</A>
                <A href="/admins">"Admins & tokens"</A>
            </nav>
            <main class="content">
                <Outlet />
            </main>
        </div>
    }
}

/// Whether the signed-in admin may change the directory, once known. Awaited inside a Suspense /
/// Transition, so the server's HTML and the hydrated page agree (reading the resource synchronously
/// would differ between the two and break hydration).
pub async fn may_write(me: Option<MeResource>) -> bool {
    match me {
        Some(me) => me.await.ok().flatten().is_some_and(|m| m.role.can_write_directory()),
        None => false,
    }
}

/// Shows `children` (else `fallback`) only to admins who may change the directory (the server
/// refuses the others' writes regardless).
#[component]
pub fn IfWriter(children: ChildrenFn, #[prop(optional, into)] fallback: ViewFn) -> impl IntoView {
    let me = use_context::<MeResource>();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let (children, fallback) = (children.clone(), fallback.clone());
                Suspend::new(async move {
                    if may_write(me).await { children().into_any() } else { fallback.run().into_any() }
                })
            }}
        </Suspense>
    }
}

/// An error message box.
#[component]
pub fn ErrorBox(#[prop(into)] message: String) -> impl IntoView {
    view! {
        <div class="error" role="alert">
            {message}
        </div>
    }
}

/// A resource's value shown through `body` once it is loaded ("Loading…" until then; while it loads
/// again the old content stays), or its error in an [`ErrorBox`]. Rendered on the server: pages
/// await their data before the first byte.
pub fn loaded<T, F, V>(data: Resource<Result<T, ServerFnError>>, body: F) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let body = body.clone();
                Suspend::new(async move {
                    match data.await {
                        Ok(v) => body(v).into_any(),
                        Err(e) => view! { <ErrorBox message=error_text(&e) /> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// Shows the error of the last submission of a server action, if it failed.
#[component]
pub fn ActionError<I, O>(action: ServerAction<I>) -> impl IntoView
where
    I: leptos::server_fn::ServerFn<Output = O, Error = ServerFnError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    move || match action.value().get() {
        Some(Err(e)) => Some(view! { <ErrorBox message=error_text(&e) /> }),
        _ => None,
    }
}

/// Percent-encodes a query-string value.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `path?…` with the current query, `key` set to `value` (or removed when `None`), and `after` dropped
/// unless it is the key being set (a new filter starts at the first page).
pub fn with_param(path: &str, q: &ParamsMap, key: &str, value: Option<&str>) -> String {
    let mut parts = Vec::new();
    for (k, v) in q.clone().into_iter() {
        if k == key || k == "after" || v.is_empty() {
            continue;
        }
        parts.push(format!("{}={}", encode(&k), encode(&v)));
    }
    if let Some(v) = value {
        parts.push(format!("{}={}", encode(key), encode(v)));
    }
    if parts.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", parts.join("&"))
    }
}

/// "First page" and "Next page" links for a keyset-paged list at `path`.
#[component]
pub fn Pager(#[prop(into)] path: String, next: Option<String>) -> impl IntoView {
    let q = leptos_router::hooks::use_query_map();
    let path = std::sync::Arc::<str>::from(path);
    let first_path = path.clone();
    let first = Memo::new(move |_| with_param(&first_path, &q.get(), "after", None));
    let has_after = move || q.read().get("after").is_some();
    view! {
        <div class="pager">
            <Show when=has_after>
                <a href=first data-testid="first-page">
                    "« First page"
                </a>
            </Show>
            {next.map(|n| {
                let href = move || with_param(&path, &q.get(), "after", Some(&n));
                view! {
                    <a href=href rel="next" data-testid="next-page">
                        "Next page »"
                    </a>
                }
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_escapes_reserved_characters() {
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(encode("Plain-1.2_~"), "Plain-1.2_~");
    }
}

/// A `<datalist id=list_id>` of directory users whose name or user principal name starts with what
/// was `typed` (two characters or more), for text inputs that take a user (`list=list_id`). Without
/// JavaScript it stays empty and the input is a plain text field.
#[component]
pub fn UserSuggestions(list_id: &'static str, typed: ReadSignal<String>) -> impl IntoView {
    let suggestions = Resource::new(
        move || typed.get(),
        |q| async move {
            if q.trim().chars().count() < 2 {
                return Vec::new();
            }
            suggest_users(q).await.unwrap_or_default()
        },
    );
    view! {
        <datalist id=list_id>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    suggestions
                        .await
                        .into_iter()
                        .map(|u| view! { <option value=u.upn>{u.name}</option> })
                        .collect_view()
                })}
            </Transition>
        </datalist>
    }
}

/// Shows the error a server action's last submission reported for form field `field` (matched on
/// the field's name or its last dotted part: `settings.intervalMinutes` matches `intervalMinutes`).
#[component]
pub fn FieldMsg<I, O>(action: ServerAction<I>, field: &'static str) -> impl IntoView
where
    I: leptos::server_fn::ServerFn<Output = O, Error = ServerFnError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    move || {
        let Some(Err(e)) = action.value().get() else { return None };
        let msg = crate::api::field_errors(&e)
            .into_iter()
            .filter(|f| f.field == field || f.field.rsplit('.').next() == Some(field) || f.field.ends_with(&format!(".{field}")))
            .map(|f| f.message)
            .collect::<Vec<_>>()
            .join("; ");
        (!msg.is_empty()).then(|| {
            view! {
                <span class="field-error" role="alert" data-field=field>
                    {msg}
                </span>
            }
        })
    }
}

/// A time as the portal shows it (`2026-11-24 09:30 UTC`), or "—".
pub fn fmt_time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_else(|| "—".into())
}

/// A duration in milliseconds as a person reads it: `850 ms`, `12.4 s`, `3 min 5 s`.
pub fn fmt_duration(ms: i64) -> String {
    match ms {
        ..=999 => format!("{ms} ms"),
        1_000..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// Goes to `path` the way links go (`public/nav.js` swaps the page in place; without it, a normal
/// page load). Browser only: on the server it does nothing.
pub fn navigate_to(path: &str) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::{JsCast, JsValue};
        let window = window();
        let nav = leptos::web_sys::js_sys::Reflect::get(&window, &JsValue::from_str("provisioNavigate"))
            .ok()
            .and_then(|f| f.dyn_into::<leptos::web_sys::js_sys::Function>().ok());
        match nav {
            Some(f) => {
                let _ = f.call1(&JsValue::NULL, &JsValue::from_str(path));
            }
            None => {
                let _ = window.location().set_href(path);
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

/// Loads the current page again, in place (see [`navigate_to`]).
pub fn reload_page() {
    #[cfg(feature = "hydrate")]
    if let Ok(href) = window().location().href() {
        navigate_to(&href);
    }
}
