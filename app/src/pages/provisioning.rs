//! The Provisioning blades of an app: the overview (status with a live progress bar, job actions,
//! quarantine, staged deletions, sync details), Edit provisioning (mode, admin credentials with Test
//! Connection, settings), Provision on demand and Preview. Log entries render with [`LogEntryCard`],
//! which the provisioning logs reuse.

use crate::api::error_text;
use crate::api::provisioning::{
    get_provisioning, live_status, on_demand_run, preview_cycle, provisioning_status, JobAction, LiveStatusView, ProvisionOnDemand,
    SaveCredentials, SaveMode, SaveSettings, StatusView, TestConnection,
};
use crate::components::{fmt_time, loaded, ActionError, ErrorBox, FieldMsg};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use provisio::apps::{AuthKind, ProvisioningConfig, ProvisioningMode, SyncScope};
use provisio::connector::ConnectionReport;
use provisio::sync::log::{LogAction, LogEntry, LogStatus};
use std::time::Duration;

/// The app id from the route.
fn app_id() -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let params = use_params_map();
    move || params.read().get("id").unwrap_or_default()
}

/// The Provisioning overview blade. The first paint is complete HTML; the status is an island that
/// polls every second, so the progress bar moves without a reload.
#[component]
pub fn ProvisioningPage() -> impl IntoView {
    let id = app_id();
    let initial = Resource::new(id, provisioning_status);
    view! {
        {loaded(initial, move |v| view! { <StatusBlade id=id() view=v /> })}
    }
}

/// A job action button (a plain form: works without JavaScript).
#[component]
fn ActionButton(
    act: ServerAction<JobAction>,
    id: String,
    action: &'static str,
    label: &'static str,
    #[prop(optional)] class: &'static str,
    #[prop(optional)] confirm: bool,
) -> impl IntoView {
    view! {
        <ActionForm action=act attr:class="inline">
            <input type="hidden" name="id" value=id />
            <input type="hidden" name="action" value=action />
            {confirm.then(|| view! { <input type="hidden" name="confirm" value="yes" /> })}
            <button type="submit" class=class data-testid=format!("job-{action}")>
                {label}
            </button>
        </ActionForm>
    }
}

/// The overview: the job's actions, quarantine and staged deletions (server HTML: a change in them
/// reloads the page), and the live status (an island).
#[component]
fn StatusBlade(id: String, view: StatusView) -> impl IntoView {
    let act = ServerAction::<JobAction>::new();
    let base = format!("/apps/{id}/provisioning");
    let staged_n = view.status.staged_deletions;
    view! {
        <noscript>
            <meta http-equiv="refresh" content="5" />
        </noscript>
        <ActionError action=act />
        <div class="toolbar" role="toolbar" aria-label="Provisioning">
            {if view.status.enabled {
                view! { <ActionButton act id=id.clone() action="stop" label="■ Stop provisioning" /> }.into_any()
            } else {
                view! { <ActionButton act id=id.clone() action="start" label="▶ Start provisioning" class="primary" /> }.into_any()
            }}
            <details class="confirm">
                <summary class="button" data-testid="restart-open">
                    "↻ Restart provisioning…"
                </summary>
                <div class="confirm-body">
                    <p>
                        "Restart clears the watermark, the retry queue (escrow) and any quarantine, keeps the links to accounts already in the app, and runs an initial cycle over everyone in scope."
                    </p>
                    <ActionButton act id=id.clone() action="restart" label="Restart provisioning" class="primary" confirm=true />
                    <p>
                        "Restart and break links also forgets which account in the app belongs to whom: the next cycle matches every object again (by the matching attributes) and may create duplicates where matching finds nothing."
                    </p>
                    <ActionButton act id=id.clone() action="reset" label="Restart and break links" class="danger" confirm=true />
                </div>
            </details>
            <a class="button" href=format!("{base}/edit")>
                "✎ Edit provisioning"
            </a>
            <a class="button" href=format!("{base}/on-demand")>
                "Provision on demand"
            </a>
            <a class="button" href=format!("{base}/preview")>
                "Preview"
            </a>
        </div>
        {view.status.quarantine.clone().map(|q| {
                    view! {
                        <section class="panel alert" data-testid="quarantine" role="alert">
                            <h2>"⚠ Quarantined"</h2>
                            <p>
                                <strong>{q.reason.clone()}</strong>
                                {q.since.map(|t| format!(" since {}", fmt_time(Some(t))))}
                            </p>
                            <p>{q.detail.clone()}</p>
                            <p>
                                <strong>"What to do: "</strong>
                                {q.recommendation.clone()}
                            </p>
                        </section>
                    }
            })}
        {(view.status.staged_deletions > 0).then(|| view! {
            <section class="panel alert" data-testid="staged-deletions">
                <h2>"Deletions waiting for approval"</h2>
                <p>
                    {format!(
                        "Accidental-deletion prevention held back {} disables and deletes: more than the threshold. Nothing was sent. Allow sends exactly these; Reject drops them.",
                        staged_n,
                    )}
                </p>
                <table class="list compact">
                    <thead>
                        <tr>
                            <th>"Name"</th>
                            <th>"Type"</th>
                            <th>"Action"</th>
                            <th>"Account in the app"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {view.staged.clone()
                                .into_iter()
                                .map(|s| {
                                    view! {
                                        <tr>
                                            <td>{s.display_name}</td>
                                            <td>{s.object_type}</td>
                                            <td>{s.action}</td>
                                            <td>
                                                <code>{s.target_id.unwrap_or_default()}</code>
                                            </td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                    </tbody>
                </table>
                <div class="actions">
                    <details class="confirm">
                        <summary class="button danger" data-testid="allow-open">
                            "Allow deletions…"
                        </summary>
                        <div class="confirm-body">
                            <p>
                                {format!(
                                    "This sends {} disables and deletes to the app now. Deleted accounts can't be brought back by Provisio.",
                                    staged_n,
                                )}
                            </p>
                            <ActionButton act id=id.clone() action="allow" label="Allow and send them" class="danger" confirm=true />
                        </div>
                    </details>
                    <ActionButton act id=id.clone() action="reject" label="Reject" />
                </div>
            </section>
        })}
        <LiveStatus id=id.clone() view=LiveStatusView::from(&view.status) />
        {(!view.alerts.is_empty()).then(|| view! {
            <section class="panel" data-testid="alerts">
                <h2>"Alerts"</h2>
                <ul class="alerts">
                    {view.alerts.clone()
                        .into_iter()
                        .map(|a| view! {
                            <li>
                                <span class="muted">{a.at}</span>
                                " "
                                <strong>{a.subject}</strong>
                                <br />
                                <span class="muted" data-testid="alert-email">{a.email}</span>
                            </li>
                        })
                        .collect_view()}
                </ul>
            </section>
        })}
    }
}

/// The current cycle's status, progress bar and counts, and the statistics to date: an island that
/// asks for them every second until the page is left. When the job is turned on or off, enters or
/// leaves quarantine, or stages deletions, it reloads the page (in place) for the parts around it.
/// The server computes what it shows ([`LiveStatusView`]), so the browser formats nothing.
#[island]
fn LiveStatus(id: String, view: LiveStatusView) -> impl IntoView {
    let live = RwSignal::new(view);
    let anchor = NodeRef::<leptos::html::Section>::new();
    let timer = StoredValue::new(None::<IntervalHandle>);
    Effect::new(move |_| {
        let id = id.clone();
        let tick = move || {
            // The portal swaps whole pages in place: once this island has left the page, stop.
            if anchor.get_untracked().is_some_and(|el| !el.is_connected()) {
                if let Some(h) = timer.get_value() {
                    h.clear();
                }
                return;
            }
            let id = id.clone();
            leptos::task::spawn_local(async move {
                let Ok(s) = live_status(id).await else { return };
                match live.try_with_untracked(|v| (v.shape != s.shape, *v != s)) {
                    Some((true, _)) => crate::components::reload_page(),
                    Some((false, true)) => live.set(s),
                    _ => {}
                }
            });
        };
        if let Ok(h) = set_interval_with_handle(tick, Duration::from_millis(1000)) {
            timer.set_value(Some(h));
        }
    });
    let text = move |f: fn(&LiveStatusView) -> String| move || live.with(f);
    view! {
        <section class="panel" data-testid="cycle-status">
            <h2>"Current cycle status"</h2>
            <p data-testid="job-state">
                {move || live.with(|v| view! { <span class=format!("badge {}", v.badge.1)>{v.badge.0.clone()}</span> })} " "
                {text(|v| v.line.clone())}
            </p>
            {move || {
                let (done, total, running) = live.with(|v| (v.processed, v.total, v.running));
                let pct = (done * 100).checked_div(total).unwrap_or(if running { 0 } else { 100 });
                view! {
                    <div class="progress-row">
                        <progress
                            max="100"
                            value=pct
                            data-testid="progress"
                            data-processed=done
                            data-total=total
                            aria-label="Progress of the cycle"
                        ></progress>
                        <span class="progress-text" data-testid="progress-text">
                            {format!("{pct}% · {done} of {total} objects")}
                        </span>
                    </div>
                }
            }}
            <div class="stats" data-testid="counts">
                {move || {
                    let c = live.with(|v| v.counts);
                    ["Created", "Updated", "Disabled", "Deleted", "Skipped", "Failed"]
                        .into_iter()
                        .zip(c)
                        .map(|(label, n)| {
                            let key = label.to_ascii_lowercase();
                            view! {
                                <div class=format!("stat {key}") data-testid=format!("count-{key}")>
                                    <strong>{n}</strong>
                                    <span>{label}</span>
                                </div>
                            }
                        })
                        .collect_view()
                }}
            </div>
        </section>
        <section class="panel" node_ref=anchor>
            <h2>"Statistics to date"</h2>
            <dl class="props" data-testid="sync-details">
                <dt>"Initial cycle"</dt>
                <dd>{text(|v| v.initial_cycle.clone())}</dd>
                <dt>"First cycle"</dt>
                <dd>{text(|v| v.first_cycle.clone())}</dd>
                <dt>"Last cycle"</dt>
                <dd>{text(|v| v.last_cycle.clone())}</dd>
                <dt>"Last cycle's duration"</dt>
                <dd>{text(|v| v.last_duration.clone())}</dd>
                <dt>"Next cycle"</dt>
                <dd>{text(|v| v.next_cycle.clone())}</dd>
                <dt>"Users managed"</dt>
                <dd data-testid="users-managed">{move || live.with(|v| v.users_managed)}</dd>
                <dt>"Groups managed"</dt>
                <dd>{move || live.with(|v| v.groups_managed)}</dd>
                <dt>"Waiting for a retry (escrow)"</dt>
                <dd>{move || live.with(|v| v.escrowed)}</dd>
            </dl>
        </section>
    }
}

/// Edit provisioning: the mode (Automatic reveals the rest), admin credentials with Test Connection,
/// and the settings.
#[component]
pub fn EditProvisioningPage() -> impl IntoView {
    let id = app_id();
    let mode = ServerAction::<SaveMode>::new();
    let config = Resource::new(move || (id(), mode.version().get()), |(id, _)| get_provisioning(id));
    view! {
        <h2>"Edit provisioning"</h2>
        <ActionError action=mode />
        {loaded(config, move |c| view! { <EditForms id=id() config=c mode /> })}
    }
}

#[component]
fn EditForms(id: String, config: ProvisioningConfig, mode: ServerAction<SaveMode>) -> impl IntoView {
    let automatic = config.mode == ProvisioningMode::Automatic;
    let id_mode = id.clone();
    view! {
        <section class="panel">
            <h3>"Provisioning mode"</h3>
            <ActionForm action=mode attr:class="form-row" attr:data-testid="mode-form">
                <input type="hidden" name="id" value=id_mode />
                <label>
                    "Provisioning Mode"
                    <select name="mode" data-testid="mode-select">
                        <option value="manual" selected=!automatic disabled=automatic>
                            "Manual"
                        </option>
                        <option value="automatic" selected=automatic>
                            "Automatic"
                        </option>
                    </select>
                    <FieldMsg action=mode field="mode" />
                </label>
                <button type="submit" data-testid="save-mode">
                    "Save mode"
                </button>
            </ActionForm>
            <p class="muted">
                {if automatic {
                    "Automatic: Provisio creates, updates and disables accounts in the app. (An app can't go back to Manual.)"
                } else {
                    "Manual: nothing is sent to the app. Choose Automatic to enter the admin credentials and settings."
                }}
            </p>
        </section>
        {automatic
            .then(|| {
                view! {
                    <CredentialsForm id=id.clone() config=config.clone() />
                    <SettingsForm id=id.clone() config=config.clone() />
                    <section class="panel">
                        <h3>"Mappings"</h3>
                        <p>
                            <a href=format!("/apps/{id}/provisioning/mappings")>"Edit attribute mappings and scoping filters"</a>
                        </p>
                    </section>
                }
            })}
    }
}

/// "Saved." once a form of this blade came back with `?saved=<what>`.
fn saved_note(what: &'static str, testid: &'static str) -> impl IntoView {
    let q = use_query_map();
    move || {
        (q.read().get("saved").as_deref() == Some(what))
            .then(|| view! { <span class="ok-text" role="status" data-testid=testid>"Saved."</span> })
    }
}

/// Admin credentials: Tenant URL and Secret Token (write-only: the field says a secret is set), or
/// OAuth client credentials (the form shows the fields of the chosen method, by CSS); Test Connection
/// (an island) tests what is entered, before it is saved.
#[component]
fn CredentialsForm(id: String, config: ProvisioningConfig) -> impl IntoView {
    let save = ServerAction::<SaveCredentials>::new();
    let c = config.credentials;
    let oauth = c.auth == AuthKind::OAuthClientCredentials;
    let token_hint = c
        .secret_token
        .as_ref()
        .map(|s| {
            format!(
                "A secret token is set{}; leave blank to keep it.",
                if s.last4.is_empty() { String::new() } else { format!(" (ends in {})", s.last4) }
            )
        })
        .unwrap_or_else(|| "No secret token is set.".into());
    let client_hint = c
        .client_secret
        .as_ref()
        .map(|s| {
            format!(
                "A client secret is set{}; leave blank to keep it.",
                if s.last4.is_empty() { String::new() } else { format!(" (ends in {})", s.last4) }
            )
        })
        .unwrap_or_else(|| "No client secret is set.".into());
    view! {
        <section class="panel">
            <h3>"Admin Credentials"</h3>
            <p class="muted">"Provisio connects to the app's SCIM 2.0 endpoint with these. Secrets are encrypted at rest and never shown again."</p>
            <ActionForm action=save attr:class="form-grid credentials-form" attr:data-testid="credentials-form">
                <input type="hidden" name="id" value=id.clone() />
                <label>
                    "Authentication Method"
                    <select name="auth" data-testid="auth-select">
                        <option value="bearer" selected=!oauth>
                            "Bearer authentication (Secret Token)"
                        </option>
                        <option value="oAuthClientCredentials" selected=oauth>
                            "OAuth 2.0 client credentials grant"
                        </option>
                    </select>
                    <FieldMsg action=save field="auth" />
                </label>
                <label>
                    "Tenant URL"
                    <input
                        type="url"
                        name="tenant_url"
                        value=c.tenant_url.clone().unwrap_or_default()
                        placeholder="https://app.example.com/scim/v2"
                        data-testid="tenant-url"
                    />
                    <FieldMsg action=save field="tenantUrl" />
                </label>
                <label class="bearer-only">
                    "Secret Token"
                    <input type="password" name="secret_token" autocomplete="new-password" data-testid="secret-token" />
                    <span class="muted small" data-testid="secret-token-hint">{token_hint}</span>
                    <FieldMsg action=save field="secretToken" />
                </label>
                <label class="oauth-only">
                    "Token URL"
                    <input type="url" name="token_url" value=c.token_url.clone().unwrap_or_default() data-testid="token-url" />
                    <FieldMsg action=save field="tokenUrl" />
                </label>
                <label class="oauth-only">
                    "Client ID"
                    <input type="text" name="client_id" value=c.client_id.clone().unwrap_or_default() data-testid="client-id" />
                    <FieldMsg action=save field="clientId" />
                </label>
                <label class="oauth-only">
                    "Client Secret"
                    <input type="password" name="client_secret" autocomplete="new-password" data-testid="client-secret" />
                    <span class="muted small">{client_hint}</span>
                    <FieldMsg action=save field="clientSecret" />
                </label>
                <label class="oauth-only">
                    "Scope" <input type="text" name="scope" value=c.scope.clone().unwrap_or_default() data-testid="scope" />
                </label>
                <div class="form-actions">
                    <button type="submit" class="primary" data-testid="save-credentials">
                        "Save"
                    </button>
                    " "
                    {saved_note("credentials", "credentials-saved")}
                </div>
                <TestConnectionPanel id=id.clone() />
            </ActionForm>
        </section>
    }
}

/// Test Connection (an island inside the credentials form): tests what the form holds now, saved or
/// not, and shows the answer below it. Without JavaScript the button is not offered.
#[island]
fn TestConnectionPanel(id: String) -> impl IntoView {
    let test = ServerAction::<TestConnection>::new();
    let anchor = NodeRef::<leptos::html::Div>::new();
    let live = RwSignal::new(false);
    Effect::new(move |_| live.set(true));
    let run_test = move |_| {
        use leptos::wasm_bindgen::JsCast;
        let Some(form) = anchor.get_untracked().and_then(|el| el.closest("form").ok().flatten()) else { return };
        let Ok(data) = leptos::web_sys::FormData::new_with_form(form.unchecked_ref()) else { return };
        let field = |name: &str| data.get(name).as_string().unwrap_or_default();
        test.dispatch(TestConnection {
            id: id.clone(),
            auth: field("auth"),
            tenant_url: field("tenant_url"),
            secret_token: field("secret_token"),
            token_url: field("token_url"),
            client_id: field("client_id"),
            client_secret: field("client_secret"),
            scope: field("scope"),
        });
    };
    view! {
        <div class="test-connection wide" node_ref=anchor>
            <button type="button" hidden=move || !live.get() on:click=run_test data-testid="test-connection">
                "Test Connection"
            </button>
            <div aria-live="polite">
                {move || test.pending().get().then(|| view! { <p class="muted">"Testing the connection…"</p> })}
                {move || match test.value().get() {
                    Some(Ok(r)) => Some(view! { <ConnectionResult report=r /> }.into_any()),
                    Some(Err(e)) => {
                        let fields = crate::api::field_errors(&e);
                        let message = if fields.is_empty() {
                            error_text(&e)
                        } else {
                            fields.into_iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
                        };
                        Some(view! { <ErrorBox message /> }.into_any())
                    }
                    None => None,
                }}
            </div>
        </div>
    }
}

/// Test Connection's answer: success, or the failing step and what to do.
#[component]
fn ConnectionResult(report: ConnectionReport) -> impl IntoView {
    let steps = report
        .steps
        .iter()
        .map(|s| {
            view! {
                <li class=if s.ok { "ok" } else { "bad" }>
                    {if s.ok { "✓ " } else { "✗ " }}
                    <strong>{s.name.clone()}</strong>
                    " — "
                    {s.detail.clone()}
                </li>
            }
        })
        .collect_view();
    let (class, title) = if report.ok {
        ("connection-result ok", "The supplied credentials are authorized to enable provisioning.".to_string())
    } else {
        ("connection-result bad", report.error.as_ref().map(|e| e.message.clone()).unwrap_or_else(|| "The connection failed.".into()))
    };
    let advice = report.error.as_ref().map(|e| e.recommendation().to_string());
    view! {
        <div class=class data-testid="connection-result" data-ok=report.ok.to_string()>
            <p>
                <strong>{title}</strong>
            </p>
            {advice.map(|a| view! { <p>{a}</p> })}
            <ul class="steps">{steps}</ul>
        </div>
    }
}

/// The Settings section.
#[component]
fn SettingsForm(id: String, config: ProvisioningConfig) -> impl IntoView {
    let save = ServerAction::<SaveSettings>::new();
    let s = config.settings;
    let saved = saved_note("settings", "settings-saved");
    view! {
        <section class="panel">
            <h3>"Settings"</h3>
            <ActionForm action=save attr:class="form-grid" attr:data-testid="settings-form">
                <input type="hidden" name="id" value=id />
                <label>
                    "Notification Email"
                    <input type="email" name="notification_email" value=s.notification_email.clone().unwrap_or_default() data-testid="notification-email" />
                    <FieldMsg action=save field="notificationEmail" />
                </label>
                <label class="check">
                    <input type="checkbox" name="notify_on_failure" value="on" checked=s.notify_on_failure />
                    "Send an email notification when a failure occurs"
                </label>
                <label>
                    "Scope"
                    <select name="scope" data-testid="scope-select">
                        <option value="assignedOnly" selected=s.scope == SyncScope::AssignedOnly>
                            "Sync only assigned users and groups"
                        </option>
                        <option value="all" selected=s.scope == SyncScope::All>
                            "Sync all users and groups"
                        </option>
                    </select>
                    <FieldMsg action=save field="scope" />
                </label>
                <label class="check">
                    <input type="checkbox" name="prevent_accidental_deletion" value="on" checked=s.prevent_accidental_deletion />
                    "Prevent accidental deletion"
                </label>
                <label>
                    "Accidental deletion threshold"
                    <input type="number" name="deletion_threshold" min="1" value=s.deletion_threshold.to_string() data-testid="deletion-threshold" />
                    <FieldMsg action=save field="deletionThreshold" />
                </label>
                <label class="check">
                    <input type="checkbox" name="skip_out_of_scope_deletions" value="on" checked=s.skip_out_of_scope_deletions />
                    "Skip out-of-scope deletions (leave accounts that leave scope as they are)"
                </label>
                <label>
                    "Cycle interval (minutes)"
                    <input type="number" name="interval_minutes" min="1" value=s.interval_minutes.to_string() data-testid="interval-minutes" />
                    <FieldMsg action=save field="intervalMinutes" />
                </label>
                <label class="check">
                    <input type="checkbox" name="continuous" value="on" checked=s.continuous data-testid="continuous" />
                    "Continuous mode: send directory changes within seconds"
                </label>
                <div class="form-actions">
                    <button type="submit" class="primary" data-testid="save-settings">
                        "Save settings"
                    </button>
                    " "
                    {saved}
                </div>
            </ActionForm>
        </section>
    }
}

/// Provision on demand: pick a user (or a group of at most 5 members), run, see every step. The form
/// is a plain POST; the server function comes back here with `?run=<its id>`, and the page shows that
/// run's entries from the provisioning logs (with or without JavaScript).
#[component]
pub fn OnDemandPage() -> impl IntoView {
    let id = app_id();
    let q = use_query_map();
    let run = ServerAction::<ProvisionOnDemand>::new();
    let result = Resource::new(
        move || (id(), q.read().get("run")),
        |(id, run)| async move {
            match run {
                Some(run) => on_demand_run(id, run).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let typed = q.read_untracked().get("object").unwrap_or_default();
    view! {
        <h2>"Provision on demand"</h2>
        <p class="muted">
            "Provisions one user, or a group with up to 5 members, now, with the app's mappings and scoping filters, and shows each step: scope, match, attribute mapping and the app's answer."
        </p>
        <ActionForm action=run attr:class="form-row" attr:data-testid="on-demand-form">
            <input type="hidden" name="id" value=id />
            <label>
                "User or group" <ObjectInput value=typed /> <FieldMsg action=run field="object" />
            </label>
            <button type="submit" class="primary" data-testid="on-demand-run">
                "Provision"
            </button>
        </ActionForm>
        {move || match run.value().get() {
            Some(Err(e)) if crate::api::field_errors(&e).is_empty() => Some(view! { <ErrorBox message=error_text(&e) /> }),
            _ => None,
        }}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match result.await {
                    Ok(Some(entries)) => view! {
                        <div class="log-entries" data-testid="on-demand-result">
                            {entries.into_iter().map(|entry| view! { <LogEntryCard entry open=true /> }).collect_view()}
                        </div>
                    }
                    .into_any(),
                    Ok(None) => ().into_any(),
                    Err(e) => view! { <ErrorBox message=error_text(&e) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The on-demand object field, with directory users suggested as the admin types (an island);
/// without JavaScript a plain text field.
#[island]
fn ObjectInput(value: String) -> impl IntoView {
    let (typed, set_typed) = signal(String::new());
    view! {
        <input
            type="text"
            name="object"
            required
            value=value
            list="on-demand-users"
            autocomplete="off"
            placeholder="User principal name, group name, or id"
            on:input=move |ev| set_typed.set(event_target_value(&ev))
            data-testid="on-demand-input"
        />
        <crate::components::UserSuggestions list_id="on-demand-users" typed />
    }
}

/// Preview: what the next cycle would do (counts and a filterable list), sending nothing that changes
/// the app. A GET form (`?run=1`, and `&show=<action>` to filter), rendered by the server.
#[component]
pub fn PreviewPage() -> impl IntoView {
    let id = app_id();
    let q = use_query_map();
    let result = Resource::new(
        move || (id(), q.read().get("run").is_some()),
        |(id, run)| async move {
            if run {
                preview_cycle(id).await.map(Some)
            } else {
                Ok(None)
            }
        },
    );
    view! {
        <h2>"Preview the next cycle"</h2>
        <p class="muted">
            "Evaluates up to 500 objects as the next cycle would (scope, match, mapping) and lists what it would send. Only reads are sent to the app."
        </p>
        <form method="get" class="form-row" data-testid="preview-form">
            <input type="hidden" name="run" value="1" />
            <button type="submit" class="primary" data-testid="preview-run">
                "Run preview"
            </button>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Evaluating…"</p> }>
            {move || Suspend::new(async move {
                match result.await {
                    Ok(Some(entries)) => {
                        let show = q.read_untracked().get("show").unwrap_or_else(|| "all".into());
                        view! { <PreviewResult entries show /> }.into_any()
                    }
                    Ok(None) => ().into_any(),
                    Err(e) => view! { <ErrorBox message=error_text(&e) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The preview's counts (each a link that filters the list to it) and its entries.
#[component]
fn PreviewResult(entries: Vec<LogEntry>, show: String) -> impl IntoView {
    let count = |a: LogAction| entries.iter().filter(|e| e.action == a).count();
    let failed = entries.iter().filter(|e| e.status == LogStatus::Failure).count();
    let tiles = [
        ("all", "Objects", entries.len()),
        ("Create", "Creates", count(LogAction::Create)),
        ("Update", "Updates", count(LogAction::Update)),
        ("Disable", "Disables", count(LogAction::Disable)),
        ("Delete", "Deletes", count(LogAction::Delete)),
        ("Skip", "Skips", count(LogAction::Skip)),
        ("Failure", "Failures", failed),
    ]
    .into_iter()
    .map(|(key, label, n)| {
        let selected = show == key;
        view! {
            <a
                href=format!("?run=1&show={key}")
                class=if selected { "stat selected" } else { "stat" }
                aria-current=selected.then_some("true")
                data-testid=format!("preview-{key}")
            >
                <strong>{n}</strong>
                <span>{label}</span>
            </a>
        }
    })
    .collect_view();
    let list = entries
        .into_iter()
        .filter(|e| show == "all" || e.action.as_str() == show || (show == "Failure" && e.status == LogStatus::Failure))
        .map(|entry| view! { <LogEntryCard entry open=false /> })
        .collect_view();
    view! {
        <div class="stats" data-testid="preview-counts">
            {tiles}
        </div>
        <div class="log-entries" data-testid="preview-result">
            {list}
        </div>
    }
}

/// One provisioning log entry: the object, the action and its outcome, each step with expandable
/// details, the modified properties (old → new), the error with what to do, and the requests sent.
#[component]
pub fn LogEntryCard(entry: LogEntry, #[prop(optional)] open: bool) -> impl IntoView {
    let status_class = match entry.status {
        LogStatus::Success => "ok",
        LogStatus::Failure => "bad",
        LogStatus::Warning => "warn",
        LogStatus::Skipped => "",
    };
    let steps = entry
        .detail
        .steps
        .iter()
        .map(|s| {
            let details = s.details.iter().map(|d| view! { <li>{d.clone()}</li> }).collect_view();
            let has_details = !s.details.is_empty();
            view! {
                <li class=if s.ok { "ok" } else { "bad" }>
                    <details>
                        <summary>
                            {if s.ok { "✓ " } else { "✗ " }}
                            <strong>{s.name.clone()}</strong>
                            " — "
                            {s.summary.clone()}
                        </summary>
                        {has_details.then(|| view! { <ul>{details}</ul> })}
                    </details>
                </li>
            }
        })
        .collect_view();
    let props = (!entry.detail.modified_properties.is_empty()).then(|| {
        let rows = entry
            .detail
            .modified_properties
            .iter()
            .map(|p| {
                let show = |v: &Option<serde_json::Value>| match v {
                    None | Some(serde_json::Value::Null) => "—".to_string(),
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                };
                view! {
                    <tr>
                        <td>
                            <code>{p.name.clone()}</code>
                        </td>
                        <td>{show(&p.old_value)}</td>
                        <td>{show(&p.new_value)}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="list compact" data-testid="modified-properties">
                <thead>
                    <tr>
                        <th>"Attribute"</th>
                        <th>"Old value"</th>
                        <th>"New value"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        }
    });
    let error = entry.detail.error.clone().map(|e| {
        view! {
            <div class="error">
                <strong>{entry.error_code.clone().unwrap_or_default()}</strong>
                " "
                {e}
                {entry.detail.recommendation.clone().map(|r| view! { <p><strong>"What to do: "</strong>{r}</p> })}
            </div>
        }
    });
    // Why, in one line: the first step that failed, else the last one (the action's outcome).
    let reason = entry.detail.steps.iter().find(|s| !s.ok).or(entry.detail.steps.last()).map(|s| format!("{}: {}", s.name, s.summary));
    let requests = (!entry.detail.requests.is_empty()).then(|| {
        let rows = entry
            .detail
            .requests
            .iter()
            .map(|x| {
                view! {
                    <li>
                        <code>{format!("{} {}", x.method, x.path)}</code>
                        {format!(" → {}", x.status.map(|s| s.to_string()).unwrap_or_else(|| "no response".into()))}
                        {(x.attempts > 1).then(|| format!(" after {} attempts", x.attempts))}
                    </li>
                }
            })
            .collect_view();
        view! {
            <details>
                <summary>{format!("Requests sent ({})", entry.detail.requests.len())}</summary>
                <ul class="requests">{rows}</ul>
            </details>
        }
    });
    view! {
        <article class="log-entry" data-testid="log-entry" data-action=entry.action.as_str() data-status=entry.status.as_str()>
            <header>
                <span class=format!("badge {status_class}")>{entry.status.as_str()}</span>
                " "
                <span class="badge">{entry.action.as_str()}</span>
                " "
                <strong>{entry.display_name.clone()}</strong>
                <span class="muted">
                    {format!(" · {} · {}", entry.object_type, fmt_time(Some(entry.at)))}
                    {entry.target_id.clone().map(|t| format!(" · account {t}"))}
                </span>
            </header>
            {reason.map(|r| view! { <p class="reason" data-testid="log-reason">{r}</p> })}
            <details open=open>
                <summary>"Steps"</summary>
                <ol class="steps">{steps}</ol>
            </details>
            {props}
            {error}
            {requests}
        </article>
    }
}
