//! The sign-in page: a plain form that works without JavaScript.

use crate::api::Login;
use crate::components::ActionError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Sign in with a user name and password.
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let q = use_query_map();
    let next = move || q.read().get("next").unwrap_or_else(|| "/".into());
    view! {
        <main class="login">
            <div class="login-box">
                <h1>
                    <img src="/logo.svg" alt="" width="32" height="32" />
                    "Provisio"
                </h1>
                <p class="muted">"Sign in to manage the directory and app provisioning."</p>
                <ActionError action=login />
                <ActionForm action=login>
                    <input type="hidden" name="next" value=next />
                    <label>
                        "User name" <input type="text" name="username" autocomplete="username" required autofocus />
                    </label>
                    <label>
                        "Password"
                        <input type="password" name="password" autocomplete="current-password" required />
                    </label>
                    <button type="submit" class="primary">
                        "Sign in"
                    </button>
                </ActionForm>
            </div>
        </main>
    }
}
