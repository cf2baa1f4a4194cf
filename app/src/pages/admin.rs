//! TODO(helper): page module admin.
use leptos::prelude::*;

/// Placeholder.
#[component]
pub fn AdminsPage() -> impl IntoView {
    view! { <h1>"AdminsPage"</h1> }
}

/// Placeholder.
#[component]
pub fn AuditPage() -> impl IntoView {
    view! { <h1>"AuditPage"</h1> }
}
