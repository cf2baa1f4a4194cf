//! The expression builder: write an attribute-mapping expression, see it checked as you type (in the
//! browser, by the engine's own checker compiled to wasm), and evaluate it for a directory user.
//!
//! Without JavaScript the form is a plain GET (`/expressions?expression=…&user=…`): the server checks
//! and evaluates, and the page shows the result. With it, the same form navigates in place.

use crate::api::{error_text, evaluate_expression, ExpressionProblem, ExpressionResult};
use crate::components::{ErrorBox, UserSuggestions};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use provisio::expr::{compile, functions, ExprError, Type};
use provisio::source::{user_schema, USER_ATTRIBUTES};

/// Escapes text for use as raw HTML content (the textarea's initial text).
pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Splits the line of `text` holding byte `start` into (before, marked, after), the marked part
/// running to `end` (or the line's end). An empty mark (an error at the very end) becomes one space,
/// so there is something to underline. Offsets are clamped to the text and to character boundaries.
pub fn split_marked(text: &str, start: usize, end: usize) -> (String, String, String) {
    let floor = |i: usize| {
        let mut i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let s = floor(start);
    let line_start = text[..s].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[s..].find('\n').map_or(text.len(), |i| s + i);
    let e = floor(end.max(s)).min(line_end);
    let mid = if e == s { " ".to_string() } else { text[s..e].to_string() };
    (text[line_start..s].to_string(), mid, text[e..line_end].to_string())
}

/// The line of an expression with the offending text marked.
#[component]
fn Marked(text: String, start: u32, end: u32) -> impl IntoView {
    let (before, mid, after) = split_marked(&text, start as usize, end as usize);
    view! {
        <pre class="expr-marked" data-testid="expr-marked">
            {before}
            <mark>{mid}</mark>
            {after}
        </pre>
    }
}

/// The expression builder page.
#[component]
pub fn ExpressionsPage() -> impl IntoView {
    let q = use_query_map();
    let initial = q.read_untracked().get("expression").unwrap_or_default();
    let initial_user = q.read_untracked().get("user").unwrap_or_default();
    let result = Resource::new(
        move || (q.read().get("expression"), q.read().get("user")),
        |(expression, user)| async move {
            match expression.filter(|e| !e.trim().is_empty()) {
                Some(e) => evaluate_expression(e, user).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        <div class="page-head">
            <h1>"Expression builder"</h1>
        </div>
        <p class="lead">
            "Write an attribute-mapping expression as in Entra's provisioning (for example "
            <code>"Join(\".\", ToLower([givenName]), ToLower([surname]))"</code>
            "), check it, and see what it gives for a user."
        </p>
        <ExpressionForm initial initial_user />
        <Transition fallback=|| view! { <p class="muted">"Evaluating…"</p> }>
            {move || Suspend::new(async move {
                match result.await {
                    Ok(Some(r)) => {
                        let expression = q.read_untracked().get("expression").unwrap_or_default();
                        view! { <ResultPanel result=r expression /> }.into_any()
                    }
                    Ok(None) => ().into_any(),
                    Err(e) => view! { <ErrorBox message=error_text(&e) /> }.into_any(),
                }
            })}
        </Transition>
        <Reference />
    }
}

/// The expression and user fields, checked as the admin types (an island: the engine's checker runs
/// in the browser). The form is a plain GET, so the server evaluates what is submitted.
#[island]
fn ExpressionForm(initial: String, initial_user: String) -> impl IntoView {
    let text = RwSignal::new(initial.clone());
    // The live check runs in the browser only: `live` turns on once the island is hydrated (effects
    // do not run on the server), so a page without JavaScript never shows a check that would not
    // follow the typing. What was typed before hydration is what gets checked first.
    let live = RwSignal::new(false);
    let area = NodeRef::<leptos::html::Textarea>::new();
    Effect::new(move |_| {
        if let Some(el) = area.get() {
            text.set(el.value());
        }
        live.set(true);
    });
    let check: Memo<Option<Result<Type, ExprError>>> =
        Memo::new(move |_| text.with(|t| (!t.trim().is_empty()).then(|| compile(t, &user_schema()).map(|e| e.returns()))));
    view! {
        <form method="get" action="/expressions" class="expr-form" data-testid="expr-form">
            <label for="expression">"Expression"</label>
            <textarea
                id="expression"
                name="expression"
                rows="6"
                spellcheck="false"
                autocomplete="off"
                autocapitalize="off"
                data-testid="expr-input"
                node_ref=area
                inner_html=escape_html(&initial)
                on:input=move |ev| text.set(event_target_value(&ev))
            ></textarea>
            <div class="expr-live" aria-live="polite" data-testid="expr-live">
                {move || live.get().then(|| live_status(check.get(), &text.read()))}
            </div>
            <UserPicker value=initial_user />
            <div class="form-actions">
                <button type="submit" class="primary" data-testid="evaluate">
                    "Evaluate"
                </button>
            </div>
        </form>
    }
}

/// The live check's verdict on the text being typed.
pub(crate) fn live_status(check: Option<Result<Type, ExprError>>, text: &str) -> AnyView {
    match check {
        None => view! { <span class="muted">"Type an expression: it is checked as you type."</span> }.into_any(),
        Some(Ok(t)) => {
            let returns = if t == Type::Any { "a value that depends on the data".to_string() } else { t.described().to_string() };
            view! {
                <span class="expr-ok" data-testid="expr-valid">
                    "✓ valid"
                </span>
                <span class="muted">" · returns " {returns}</span>
            }
            .into_any()
        }
        Some(Err(e)) => view! {
            <div class="expr-live-error" data-testid="expr-live-error">
                <span class="expr-bad">"✗ line " {e.line} ", column " {e.column} ": " {e.message.clone()}</span>
                <Marked text=text.to_string() start=e.span.start end=e.span.end />
            </div>
        }
        .into_any(),
    }
}

/// The user field: a user principal name (or id), with suggestions from the directory as the admin
/// types (with JavaScript); without JavaScript it is a plain text field.
#[component]
fn UserPicker(value: String) -> impl IntoView {
    let (typed, set_typed) = signal(String::new());
    view! {
        <label class="expr-user">
            "Evaluate for user (user principal name; leave empty for a user with no attributes)"
            <input
                type="text"
                name="user"
                value=value
                list="expr-user-options"
                autocomplete="off"
                placeholder="name@contoso.com"
                data-testid="expr-user"
                on:input=move |ev| set_typed.set(event_target_value(&ev))
            />
        </label>
        <UserSuggestions list_id="expr-user-options" typed=typed />
    }
}

/// A JSON value as shown in the result: strings quoted, null spelled out.
fn json_text(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The server's answer: the value with its type and the attributes read, or the error.
#[component]
fn ResultPanel(result: ExpressionResult, expression: String) -> impl IntoView {
    let ExpressionResult { value, value_type, text, ignored, returns, attributes, pretty, error, user } = result;
    let who = match &user {
        Some(u) => view! {
            <p class="muted">
                "For " <a href=format!("/users/{}", u.id)>{u.display_name.clone()}</a> " (" {u.user_principal_name.clone()} ")"
            </p>
        }
        .into_any(),
        None => view! { <p class="muted">"For no user: every attribute is null."</p> }.into_any(),
    };
    let outcome = match error {
        Some(ExpressionProblem { message, at: Some(at) }) => view! {
            <div class="error" role="alert" data-testid="expr-error">
                <strong>"Line " {at.line} ", column " {at.column} ": "</strong>
                {message}
                <Marked text=expression.clone() start=at.start end=at.end />
            </div>
        }
        .into_any(),
        Some(ExpressionProblem { message, at: None }) => view! {
            <div class="error" role="alert" data-testid="expr-error">
                <strong>"Evaluation failed: "</strong>
                {message}
            </div>
        }
        .into_any(),
        None => {
            let shown = if ignored { "left out of the flow".to_string() } else { json_text(&value) };
            view! {
                <dl class="props expr-value">
                    <dt>"Value"</dt>
                    <dd>
                        <code data-testid="expr-value">{shown}</code>
                    </dd>
                    <dt>"Type"</dt>
                    <dd data-testid="expr-type">{value_type}</dd>
                    <dt>"As text"</dt>
                    <dd>
                        {match text {
                            Some(t) => view! { <code>{t}</code> }.into_any(),
                            None => view! { <span class="muted">"null: nothing is sent"</span> }.into_any(),
                        }}
                    </dd>
                    {returns.map(|r| view! { <dt>"Expression returns"</dt><dd>{r}</dd> })}
                </dl>
                {ignored
                    .then(|| {
                        view! {
                            <p class="notice" role="status">
                                "IgnoreFlowIfNullOrEmpty: the value is null or empty, so the attribute would be left out of the flow."
                            </p>
                        }
                    })}
            }
            .into_any()
        }
    };
    let read_some = !attributes.is_empty();
    view! {
        <section class="expr-result" data-testid="expr-result">
            <h2>"Result"</h2>
            {who}
            {outcome}
            {read_some.then(|| {
                let rows = attributes
                    .into_iter()
                    .map(|(name, v)| {
                        let shown = if v.is_null() {
                            view! { <span class="muted">"null"</span> }.into_any()
                        } else {
                            view! { <code>{json_text(&v)}</code> }.into_any()
                        };
                        view! {
                            <tr>
                                <td>
                                    <code>"[" {name} "]"</code>
                                </td>
                                <td>{shown}</td>
                            </tr>
                        }
                    })
                    .collect_view();
                view! {
                    <h3>"Attributes read"</h3>
                    <table class="list expr-attrs" data-testid="expr-attributes">
                        <thead>
                            <tr>
                                <th>"Attribute"</th>
                                <th>"This user's value"</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                }
            })}
            {pretty.map(|p| view! {
                <h3>"Formatted"</h3>
                <pre class="expr-pretty" data-testid="expr-pretty">{p}</pre>
            })}
        </section>
    }
}

/// The collapsible reference: every built-in function, and the attributes a user mapping may read.
#[component]
fn Reference() -> impl IntoView {
    let fns: Vec<_> = functions::all().collect();
    let count = fns.len();
    let rows = fns
        .into_iter()
        .map(|f| {
            view! {
                <tr>
                    <td>
                        <code>{f.signature()}</code>
                    </td>
                    <td>{f.summary}</td>
                    <td>{f.returns.to_string()}</td>
                </tr>
            }
        })
        .collect_view();
    let attrs = USER_ATTRIBUTES
        .iter()
        .map(|(name, t)| view! { <li><code>"[" {*name} "]"</code> <span class="muted">{t.to_string()}</span></li> })
        .collect_view();
    view! {
        <section class="expr-reference">
            <details data-testid="function-reference">
                <summary>"Functions (" {count} ")"</summary>
                <table class="list">
                    <thead>
                        <tr>
                            <th>"Signature"</th>
                            <th>"What it does"</th>
                            <th>"Returns"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
                <p class="muted">"Optional parameters are in brackets; … repeats. Empty arguments are allowed where Entra allows them."</p>
            </details>
            <details data-testid="attribute-reference">
                <summary>"User attributes"</summary>
                <ul class="chips columns expr-attr-list">
                    {attrs}
                    <li>
                        <code>"[extension_<name>]"</code>
                        <span class="muted">"String"</span>
                    </li>
                </ul>
            </details>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_the_offending_text_on_its_line() {
        let t = "Join(\".\",\n  [givenName] [surname])";
        let s = t.find("[surname]").unwrap();
        assert_eq!(split_marked(t, s, s + 9), ("  [givenName] ".into(), "[surname]".into(), ")".into()));
        // An error at the very end marks a space; a span past a line break stops at the line's end.
        assert_eq!(split_marked("Join(", 5, 5), ("Join(".into(), " ".into(), "".into()));
        assert_eq!(split_marked("ab\ncd", 1, 4), ("a".into(), "b".into(), "".into()));
        // Offsets inside a character or past the end are clamped.
        assert_eq!(split_marked("é", 1, 99), ("".into(), "é".into(), "".into()));
    }

    #[test]
    fn initial_text_is_escaped() {
        assert_eq!(escape_html("IIF([a]<\"&\", 1, 2)"), "IIF([a]&lt;\"&amp;\", 1, 2)");
    }
}
