//! TODO(helper): page module groups.
use leptos::prelude::*;

/// Placeholder.
#[component]
pub fn GroupsPage() -> impl IntoView {
    view! { <h1>"GroupsPage"</h1> }
}

/// Placeholder.
#[component]
pub fn GroupPage() -> impl IntoView {
    view! { <h1>"GroupPage"</h1> }
}
