//! The portal's pages, one module per area.

mod admin;
mod apps;
mod expressions;
mod groups;
mod import;
mod login;
mod logs;
mod mappings;
mod provisioning;
mod users;

pub use admin::{AdminsPage, AuditPage};
pub use apps::{status_badge, AppLayout, AppOverviewPage, AppUsersPage, AppsPage, NewAppPage};
pub use expressions::ExpressionsPage;
pub use groups::{GroupPage, GroupsPage};
pub use import::ImportPage;
pub use login::LoginPage;
pub use logs::{AppLogsPage, LogsPage};
pub use mappings::{AttributeEditorPage, MappingEditorPage, MappingsPage, TargetSchemaPage};
pub use provisioning::{EditProvisioningPage, LogEntryCard, OnDemandPage, PreviewPage, ProvisioningPage};
pub use users::{NewUserPage, RecycleBinPage, UserPage, UsersPage};

use leptos::prelude::*;

/// The landing page after sign-in.
#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <h1>"Directory"</h1>
        <p class="lead">
            "Provisio keeps accounts in your apps in step with this directory: the people and groups below are its source of truth."
        </p>
        <div class="cards">
            <a class="card" href="/apps">
                <h2>"Enterprise applications"</h2>
                <p>"Apps that Provisio provisions accounts into: add from the gallery, configure, start."</p>
            </a>
            <a class="card" href="/users">
                <h2>"Users"</h2>
                <p>"Search, create, edit, and delete people."</p>
            </a>
            <a class="card" href="/groups">
                <h2>"Groups"</h2>
                <p>"Groups and their members."</p>
            </a>
            <a class="card" href="/users/import">
                <h2>"Import"</h2>
                <p>"Bring users in from a CSV file."</p>
            </a>
            <a class="card" href="/expressions">
                <h2>"Expression builder"</h2>
                <p>"Write and test attribute-mapping expressions against real users."</p>
            </a>
            <a class="card" href="/audit">
                <h2>"Audit log"</h2>
                <p>"Every admin action: who, what, when, from where."</p>
            </a>
        </div>
    }
}

/// Shown for unknown paths.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="narrow">
            <h1>"Not found"</h1>
            <p>
                "There is no page here. " <a href="/">"Go to the directory"</a>
            </p>
        </main>
    }
}
