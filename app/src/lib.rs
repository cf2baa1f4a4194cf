//! The Provisio portal: Leptos components, pages and server functions.
//!
//! Rendered on the server (feature `ssr`) and hydrated in the browser (feature `hydrate`). Server
//! functions live in [`api`]; they authorize through the session ([`session`], server only) and call the
//! engine's service layer, exactly like the JSON API does.

// Leptos view types nest deeply; the release build of the larger blades needs more than 128.
#![recursion_limit = "256"]

pub mod api;
pub mod components;
#[cfg(feature = "ssr")]
pub mod imports;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod session;

use components::Layout;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};
use pages::*;

/// What every server function and page render needs in its context: the store, the import jobs and
/// the target access (secret key, private targets).
/// Call once at start-up; the returned closure provides the same instances to each request.
#[cfg(feature = "ssr")]
pub fn context_provider(store: provisio::store::Store, targets: api::ssr::TargetAccess) -> impl Fn() + Clone + Send + Sync + 'static {
    let imports = imports::ImportJobs::default();
    move || {
        provide_context(store.clone());
        provide_context(imports.clone());
        provide_context(targets.clone());
    }
}

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HydrationScripts options islands=true />
                <script src="/nav.js" defer></script>
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The portal: routes and the signed-in layout.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/provisio.css" />
        <Title text="Provisio" />
        <Router>
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=Layout>
                    <Route path=path!("") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/users") view=UsersPage ssr=SsrMode::Async />
                    <Route path=path!("/users/new") view=NewUserPage ssr=SsrMode::Async />
                    <Route path=path!("/users/import") view=ImportPage ssr=SsrMode::Async />
                    <Route path=path!("/users/:id") view=UserPage ssr=SsrMode::Async />
                    <Route path=path!("/groups") view=GroupsPage ssr=SsrMode::Async />
                    <Route path=path!("/groups/:id") view=GroupPage ssr=SsrMode::Async />
                    <Route path=path!("/recycle-bin") view=RecycleBinPage ssr=SsrMode::Async />
                    <Route path=path!("/expressions") view=ExpressionsPage ssr=SsrMode::Async />
                    <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async />
                    <Route path=path!("/admins") view=AdminsPage ssr=SsrMode::Async />
                    <Route path=path!("/apps") view=AppsPage ssr=SsrMode::Async />
                    <Route path=path!("/provisioning-logs") view=LogsPage ssr=SsrMode::Async />
                    <Route path=path!("/apps/new") view=NewAppPage ssr=SsrMode::Async />
                    <ParentRoute path=path!("/apps/:id") view=AppLayout ssr=SsrMode::Async>
                        <Route path=path!("") view=AppOverviewPage ssr=SsrMode::Async />
                        <Route path=path!("/users") view=AppUsersPage ssr=SsrMode::Async />
                        <Route path=path!("/provisioning") view=ProvisioningPage ssr=SsrMode::Async />
                        <Route path=path!("/provisioning/edit") view=EditProvisioningPage ssr=SsrMode::Async />
                        <Route path=path!("/provisioning/on-demand") view=OnDemandPage ssr=SsrMode::Async />
                        <Route path=path!("/provisioning/preview") view=PreviewPage ssr=SsrMode::Async />
                        <Route path=path!("/provisioning/mappings") view=MappingsPage ssr=SsrMode::Async />
                        <Route path=path!("/provisioning/mappings/:object") view=MappingEditorPage ssr=SsrMode::Async />
                        <Route path=path!("/provisioning/mappings/:object/attribute") view=AttributeEditorPage ssr=SsrMode::Async />
                        <Route path=path!("/provisioning/mappings/:object/schema") view=TargetSchemaPage ssr=SsrMode::Async />
                        <Route path=path!("/provisioning/logs") view=AppLogsPage ssr=SsrMode::Async />
                    </ParentRoute>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The browser entry point. The page is server HTML; only its islands (`#[island]` components) are
/// hydrated, by Leptos's island loader right after this returns.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // A server function called from an island may answer with a redirect (saving an attribute
    // mapping goes back to its mapping): follow it the way links are followed (`public/nav.js`).
    let _ = leptos::server_fn::redirect::set_redirect_hook(components::navigate_to);
    // Says that the page is interactive: the end-to-end tests wait for it before typing. The loader
    // hydrates the islands in microtasks after this returns, so a task queued now runs after them.
    set_timeout(
        || {
            if let Some(root) = leptos::prelude::document().document_element() {
                let _ = root.set_attribute("data-hydrated", "true");
            }
        },
        std::time::Duration::ZERO,
    );
}
