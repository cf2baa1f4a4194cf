//! Server functions of the Provisioning blades: status and job actions, mode, admin credentials and
//! Test Connection, settings, provision on demand and preview. Each calls the same
//! `provisio::service` function as the JSON API; secrets go in, never out.

use leptos::prelude::*;
use provisio::apps::ProvisioningConfig;
use provisio::connector::ConnectionReport;
use provisio::sync::log::LogEntry;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;
#[cfg(feature = "ssr")]
use provisio::service::ServiceError;

/// The job's status and the held-back deletions, as the overview blade shows them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusView {
    /// The status.
    pub status: provisio::sync::job::JobStatus,
    /// The staged disables/deletes (up to 1,000).
    pub staged: Vec<StagedDeletion>,
    /// The job's latest alerts (up to 5), newest first.
    pub alerts: Vec<AlertLine>,
}

/// An alert as the overview lists it: when, what, and where its email is, in words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertLine {
    /// When it was raised.
    pub at: String,
    /// Its one-line subject.
    pub subject: String,
    /// Where its email is: "Emailed to …", "Email to … not sent yet …", "Email to … failed: …", "No email …".
    pub email: String,
}

impl From<&provisio::alerts::Alert> for AlertLine {
    fn from(a: &provisio::alerts::Alert) -> AlertLine {
        use provisio::alerts::EmailStatus;
        let to = a.recipient.clone().unwrap_or_default();
        let email = match a.email_status {
            EmailStatus::None => "No email: \"send an email when a failure occurs\" is off.".to_string(),
            EmailStatus::Sent => format!("Emailed to {to} at {}.", crate::components::fmt_time(a.email_sent_at)),
            EmailStatus::Pending if a.email_attempts == 0 => {
                format!("Email to {to} not sent yet (it goes out once an SMTP server is configured: PROVISIO_SMTP_URL).")
            }
            EmailStatus::Pending => {
                format!("Email to {to} failed {} time(s), trying again: {}", a.email_attempts, a.email_error.clone().unwrap_or_default())
            }
            EmailStatus::Failed => format!("Email to {to} failed, given up: {}", a.email_error.clone().unwrap_or_default()),
        };
        AlertLine { at: crate::components::fmt_time(Some(a.created_at)), subject: a.subject.clone(), email }
    }
}

/// A held-back disable or delete.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StagedDeletion {
    /// The directory object's name.
    pub display_name: String,
    /// `user` or `group`.
    pub object_type: String,
    /// `disable` or `delete`.
    pub action: String,
    /// The target account.
    pub target_id: Option<String>,
}

#[cfg(feature = "ssr")]
impl From<provisio::service::provisioning::StatusView> for StatusView {
    fn from(v: provisio::service::provisioning::StatusView) -> Self {
        StatusView {
            status: v.status,
            staged: v
                .staged
                .into_iter()
                .map(|s| StagedDeletion {
                    display_name: s.display_name,
                    object_type: s.object_type,
                    action: s.action,
                    target_id: s.target_id,
                })
                .collect(),
            alerts: Vec::new(),
        }
    }
}

/// The job's status (polled by the overview blade while a cycle runs).
#[server]
pub async fn provisioning_status(id: String) -> Result<StatusView, ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    let mut view: StatusView = provisio::service::provisioning::status_view(&store, &actor, &id).await.map_err(ssr::err)?.into();
    let alerts = provisio::service::provisioning::alerts(&store, &actor, &id, 5).await.map_err(ssr::err)?;
    view.alerts = alerts.iter().map(AlertLine::from).collect();
    Ok(view)
}

/// The live part of the overview, computed on the server: what the status island shows, as text and
/// numbers, so the browser needs no dates, job types or formatting code.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveStatusView {
    /// What, when it changes, needs the whole overview rendered again (on/off, quarantine, staged
    /// deletions).
    pub shape: String,
    /// The status badge's label and CSS class.
    pub badge: (String, String),
    /// "Initial cycle running.", "Incremental cycle completed …", "No cycle has run yet.".
    pub line: String,
    /// Whether a cycle runs now.
    pub running: bool,
    /// Objects processed in this cycle, and in scope.
    pub processed: u64,
    /// Objects in scope (at least `processed`).
    pub total: u64,
    /// Created, updated, disabled, deleted, skipped, failed: this cycle's while it runs, else the last one's.
    pub counts: [u64; 6],
    /// "Complete" / "Not complete".
    pub initial_cycle: String,
    /// The first cycle's time, or "—".
    pub first_cycle: String,
    /// The last cycle's time, or "—".
    pub last_cycle: String,
    /// The last cycle's duration, or "—".
    pub last_duration: String,
    /// "Running now", or the next cycle's time.
    pub next_cycle: String,
    /// Users the job manages.
    pub users_managed: u64,
    /// Groups the job manages.
    pub groups_managed: u64,
    /// Objects waiting for a retry.
    pub escrowed: u64,
}

impl From<&provisio::sync::job::JobStatus> for LiveStatusView {
    fn from(s: &provisio::sync::job::JobStatus) -> LiveStatusView {
        use crate::components::{fmt_duration, fmt_time};
        use provisio::sync::job::{CycleKind, JobState};
        let running = s.state == JobState::Running;
        let line = match (s.state, s.cycle_kind) {
            (JobState::Running, Some(CycleKind::Initial)) => "Initial cycle running.".to_string(),
            (JobState::Running, _) => "Incremental cycle running.".to_string(),
            (_, Some(k)) if s.last_cycle_at.is_some() => format!(
                "{} cycle completed {}.",
                if k == CycleKind::Initial { "Initial" } else { "Incremental" },
                fmt_time(s.last_cycle_at),
            ),
            _ if s.last_cycle_at.is_some() => format!("Last cycle completed {}.", fmt_time(s.last_cycle_at)),
            _ => "No cycle has run yet.".to_string(),
        };
        let c = if running { s.progress.counts } else { s.last_counts };
        let (label, class) = crate::pages::status_badge(s);
        LiveStatusView {
            shape: format!("{}|{}|{}", s.enabled, s.quarantine.as_ref().map(|q| q.reason.as_str()).unwrap_or(""), s.staged_deletions),
            badge: (label.to_string(), class.to_string()),
            line,
            running,
            processed: s.progress.processed,
            total: s.progress.total.max(s.progress.processed),
            counts: [c.created, c.updated, c.disabled, c.deleted, c.skipped, c.failed],
            initial_cycle: if s.initial_cycle_complete { "Complete" } else { "Not complete" }.to_string(),
            first_cycle: fmt_time(s.first_cycle_at),
            last_cycle: fmt_time(s.last_cycle_at),
            last_duration: s.last_cycle_ms.map(fmt_duration).unwrap_or_else(|| "—".into()),
            next_cycle: if running { "Running now".to_string() } else { fmt_time(s.next_run_at) },
            users_managed: s.users_managed,
            groups_managed: s.groups_managed,
            escrowed: s.escrowed,
        }
    }
}

/// The live part of the job's status (polled every second by the overview's status island).
#[server]
pub async fn live_status(id: String) -> Result<LiveStatusView, ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    let v = provisio::service::provisioning::status_view(&store, &actor, &id).await.map_err(ssr::err)?;
    Ok(LiveStatusView::from(&v.status))
}

/// A job action from the overview blade: `start`, `stop`, `restart`, `reset` (restart and break the
/// links), `allow` or `reject` (the staged deletions). Destructive ones need `confirm=yes`.
#[server]
pub async fn job_action(id: String, action: String, confirm: Option<String>) -> Result<(), ServerFnError> {
    use provisio::service::provisioning as prov;
    let (store, actor) = ssr::ctx().await?;
    let confirmed = confirm.as_deref() == Some("yes");
    let needs_confirm = matches!(action.as_str(), "restart" | "reset" | "allow");
    if needs_confirm && !confirmed {
        return Err(ssr::err(ServiceError::invalid("confirm", "confirm the action first")));
    }
    match action.as_str() {
        "start" => prov::start(&store, &actor, &id).await.map(drop),
        "stop" => prov::pause(&store, &actor, &id).await.map(drop),
        "restart" => prov::restart(&store, &actor, &id, false).await.map(drop),
        "reset" => prov::restart(&store, &actor, &id, true).await.map(drop),
        "allow" => prov::decide_deletes(&store, &actor, &id, true).await.map(drop),
        "reject" => prov::decide_deletes(&store, &actor, &id, false).await.map(drop),
        other => Err(ServiceError::invalid("action", format!("'{other}' is not one of start, stop, restart, reset, allow, reject"))),
    }
    .map_err(ssr::err)?;
    leptos_axum::redirect(&format!("/apps/{id}/provisioning"));
    Ok(())
}

/// The Provisioning configuration: mode, settings, profile, credentials (secrets as "set" only).
#[server]
pub async fn get_provisioning(id: String) -> Result<ProvisioningConfig, ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    provisio::service::apps::get_provisioning(&store, &actor, &id).await.map_err(ssr::err)
}

/// Saves the provisioning mode (Automatic can't go back to Manual), keeping the settings.
#[server]
pub async fn save_mode(id: String, mode: String) -> Result<(), ServerFnError> {
    use provisio::apps::{ProvisioningInput, ProvisioningMode};
    let (store, actor) = ssr::ctx().await?;
    let Some(mode) = ProvisioningMode::parse(&mode) else {
        return Err(ssr::err(ServiceError::invalid("mode", "must be Manual or Automatic")));
    };
    let current = provisio::service::apps::get_provisioning(&store, &actor, &id).await.map_err(ssr::err)?;
    let input = ProvisioningInput { mode, settings: current.settings, profile: None };
    provisio::service::apps::put_provisioning(&store, &actor, &id, input).await.map_err(ssr::err)?;
    leptos_axum::redirect(&format!("/apps/{id}/provisioning/edit"));
    Ok(())
}

/// Parses a whole-number form field, naming it when it isn't one.
#[cfg(feature = "ssr")]
fn number(field: &str, value: &str, errs: &mut Vec<provisio::model::FieldError>) -> u32 {
    match value.trim().parse::<u32>() {
        Ok(n) => n,
        Err(_) => {
            errs.push(provisio::model::FieldError::new(field, format!("'{}' is not a whole number", value.trim())));
            0
        }
    }
}

/// Saves the Settings section (checkboxes are present when ticked).
#[server]
pub async fn save_settings(
    id: String,
    notification_email: String,
    notify_on_failure: Option<String>,
    scope: String,
    prevent_accidental_deletion: Option<String>,
    deletion_threshold: String,
    skip_out_of_scope_deletions: Option<String>,
    interval_minutes: String,
    continuous: Option<String>,
) -> Result<(), ServerFnError> {
    use provisio::apps::{ProvisioningInput, SyncScope};
    let (store, actor) = ssr::ctx().await?;
    let current = provisio::service::apps::get_provisioning(&store, &actor, &id).await.map_err(ssr::err)?;
    let mut errs = Vec::new();
    let scope = match scope.as_str() {
        "assignedOnly" => SyncScope::AssignedOnly,
        "all" => SyncScope::All,
        other => {
            errs.push(provisio::model::FieldError::new("scope", format!("'{other}' is not assignedOnly or all")));
            SyncScope::AssignedOnly
        }
    };
    let settings = provisio::apps::ProvisioningSettings {
        notification_email: Some(notification_email.trim().to_string()).filter(|s| !s.is_empty()),
        notify_on_failure: notify_on_failure.is_some(),
        scope,
        prevent_accidental_deletion: prevent_accidental_deletion.is_some(),
        deletion_threshold: number("deletionThreshold", &deletion_threshold, &mut errs),
        skip_out_of_scope_deletions: skip_out_of_scope_deletions.is_some(),
        interval_minutes: number("intervalMinutes", &interval_minutes, &mut errs),
        continuous: continuous.is_some(),
        ..current.settings
    };
    if !errs.is_empty() {
        return Err(ssr::err(ServiceError::Validation(errs)));
    }
    let input = ProvisioningInput { mode: current.mode, settings, profile: None };
    provisio::service::apps::put_provisioning(&store, &actor, &id, input).await.map_err(ssr::err)?;
    leptos_axum::redirect(&format!("/apps/{id}/provisioning/edit?saved=settings"));
    Ok(())
}

/// Saves the admin credentials. Blank secret fields keep the stored secrets.
#[server]
pub async fn save_credentials(
    id: String,
    auth: String,
    tenant_url: String,
    secret_token: String,
    token_url: String,
    client_id: String,
    client_secret: String,
    scope: String,
) -> Result<(), ServerFnError> {
    let (store, actor, access) = ssr::target_ctx().await?;
    let input = credentials_input(auth, tenant_url, secret_token, token_url, client_id, client_secret, scope).map_err(ssr::err)?;
    provisio::service::apps::put_credentials(&store, &access.secrets, &actor, &id, input).await.map_err(ssr::err)?;
    leptos_axum::redirect(&format!("/apps/{id}/provisioning/edit?saved=credentials"));
    Ok(())
}

#[cfg(feature = "ssr")]
fn credentials_input(
    auth: String,
    tenant_url: String,
    secret_token: String,
    token_url: String,
    client_id: String,
    client_secret: String,
    scope: String,
) -> Result<provisio::apps::CredentialsInput, ServiceError> {
    use provisio::apps::AuthKind;
    let auth = AuthKind::parse(&auth).ok_or_else(|| ServiceError::invalid("auth", "must be bearer or oAuthClientCredentials"))?;
    let opt = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    Ok(provisio::apps::CredentialsInput {
        tenant_url: tenant_url.trim().to_string(),
        auth,
        secret_token: opt(secret_token),
        token_url: opt(token_url),
        client_id: opt(client_id),
        client_secret: opt(client_secret),
        scope: opt(scope),
    })
}

/// Test Connection with the credentials as entered (blank secrets: the stored ones), without saving
/// them; the report names the failing step and the reason.
#[server]
pub async fn test_connection(
    id: String,
    auth: String,
    tenant_url: String,
    secret_token: String,
    token_url: String,
    client_id: String,
    client_secret: String,
    scope: String,
) -> Result<ConnectionReport, ServerFnError> {
    let (store, actor, access) = ssr::target_ctx().await?;
    let input = credentials_input(auth, tenant_url, secret_token, token_url, client_id, client_secret, scope).map_err(ssr::err)?;
    provisio::service::apps::test_credentials(&store, &access.secrets, &actor, &id, &input, access.allow_private).await.map_err(ssr::err)
}

/// Provisions one user (user principal name or id) or a small group (name or id) now; every step.
#[server]
pub async fn provision_on_demand(id: String, object: String) -> Result<Vec<LogEntry>, ServerFnError> {
    let (store, actor, access) = ssr::target_ctx().await?;
    let object_id = resolve_object(&store, &actor, "object", &object).await.map_err(ssr::err)?;
    let entries = provisio::service::provisioning::on_demand(&store, &access.secrets, &actor, &id, &object_id, access.allow_private)
        .await
        .map_err(ssr::err)?;
    // The blade shows the run's steps from the provisioning logs, where they were written.
    if let Some(run) = entries.first().map(|e| e.cycle_id.clone()) {
        leptos_axum::redirect(&format!(
            "/apps/{id}/provisioning/on-demand?object={}&run={}",
            crate::components::encode(&object),
            crate::components::encode(&run)
        ));
    }
    Ok(entries)
}

/// The entries of one on-demand run (its `cycleId`) of an app, whole, in the order they were written.
#[server]
pub async fn on_demand_run(id: String, run: String) -> Result<Vec<LogEntry>, ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    if !run.starts_with("on-demand-") {
        return Err(ssr::err(ServiceError::invalid("run", "is not an on-demand run")));
    }
    let q = provisio::sync::log::LogQuery { cycle_id: Some(run), top: Some(50), ..Default::default() };
    let mut page = provisio::service::provisioning::logs(&store, &actor, &id, &q).await.map_err(ssr::err)?;
    page.items.reverse();
    Ok(page.items)
}

/// What the next cycle would do (up to 500 objects), sending nothing that changes the target.
#[server]
pub async fn preview_cycle(id: String) -> Result<Vec<LogEntry>, ServerFnError> {
    let (store, actor, access) = ssr::target_ctx().await?;
    provisio::service::provisioning::preview(&store, &access.secrets, &actor, &id, 500, access.allow_private).await.map_err(ssr::err)
}

/// The id of a directory user (by user principal name or id) or group (by exact name or id); `field`
/// names the form field in errors.
#[cfg(feature = "ssr")]
pub(crate) async fn resolve_object(
    store: &provisio::store::Store,
    actor: &provisio::service::Actor,
    field: &str,
    text: &str,
) -> Result<String, ServiceError> {
    use provisio::model::{GroupQuery, UserId};
    use provisio::service::directory;
    let p = text.trim();
    if p.is_empty() {
        return Err(ServiceError::invalid(field, "is required: a user principal name or a group name"));
    }
    if UserId::parse(p).is_ok() {
        return Ok(p.to_string());
    }
    if p.contains('@') {
        return match directory::find_user_by_upn(store, actor, p).await? {
            Some(u) => Ok(u.id.to_string()),
            None => Err(ServiceError::invalid(field, format!("no user has the user principal name '{p}'"))),
        };
    }
    let q = GroupQuery { search: Some(p.to_string()), top: Some(50), after: None };
    let groups = directory::list_groups(store, actor, &q).await?;
    match groups.items.into_iter().find(|g| g.display_name.eq_ignore_ascii_case(p)) {
        Some(g) => Ok(g.id.to_string()),
        None => Err(ServiceError::invalid(field, format!("no user or group is named '{p}'"))),
    }
}

#[cfg(test)]
mod tests {
    use super::{AlertLine, LiveStatusView};
    use provisio::alerts::{Alert, AlertId, AlertKind, EmailStatus};

    #[test]
    fn an_alert_line_says_where_its_email_is() {
        let mut a = Alert {
            id: AlertId(1),
            app_id: "a".into(),
            kind: AlertKind::Quarantined,
            subject: "Provisioning for HR is in quarantine (EncounteredQuarantineException)".into(),
            body: String::new(),
            recipient: Some("ops@contoso.example".into()),
            created_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            email_status: EmailStatus::Pending,
            email_attempts: 0,
            email_error: None,
            email_sent_at: None,
        };
        let line = AlertLine::from(&a);
        assert_eq!(line.at, "2027-01-15 08:00:00 UTC");
        assert!(line.email.contains("not sent yet") && line.email.contains("PROVISIO_SMTP_URL"), "{}", line.email);
        a.email_attempts = 2;
        a.email_error = Some("connection refused".into());
        assert_eq!(AlertLine::from(&a).email, "Email to ops@contoso.example failed 2 time(s), trying again: connection refused");
        a.email_status = EmailStatus::Sent;
        a.email_sent_at = Some(a.created_at);
        assert_eq!(AlertLine::from(&a).email, "Emailed to ops@contoso.example at 2027-01-15 08:00:00 UTC.");
        a.email_status = EmailStatus::None;
        assert!(AlertLine::from(&a).email.starts_with("No email"));
    }
    use provisio::sync::job::{Counts, CycleKind, JobState, JobStatus, Progress, Quarantine};

    fn status() -> JobStatus {
        JobStatus {
            enabled: true,
            state: JobState::Running,
            cycle_kind: Some(CycleKind::Initial),
            cycle_id: Some("c1".into()),
            progress: Progress { processed: 40, total: 100, counts: Counts { created: 30, failed: 2, ..Default::default() } },
            last_counts: Counts { updated: 7, ..Default::default() },
            initial_cycle_complete: false,
            quarantine: None,
            staged_deletions: 0,
            first_cycle_at: None,
            last_cycle_at: None,
            last_cycle_ms: Some(12_400),
            next_run_at: None,
            users_managed: 25,
            groups_managed: 3,
            escrowed: 1,
        }
    }

    #[test]
    fn the_live_view_shows_the_running_cycle_and_its_counts() {
        let v = LiveStatusView::from(&status());
        assert_eq!(v.line, "Initial cycle running.");
        assert_eq!(v.badge, ("Running".to_string(), "info".to_string()));
        assert!(v.running);
        assert_eq!((v.processed, v.total), (40, 100));
        assert_eq!(v.counts, [30, 0, 0, 0, 0, 2], "this cycle's counts while it runs");
        assert_eq!(v.next_cycle, "Running now");
        assert_eq!(v.last_duration, "12.4 s");
        assert_eq!(v.initial_cycle, "Not complete");
    }

    #[test]
    fn the_live_view_changes_shape_when_the_page_around_it_must_change() {
        let running = LiveStatusView::from(&status());
        let mut idle = status();
        idle.state = JobState::Idle;
        let idle = LiveStatusView::from(&idle);
        assert_eq!(idle.counts, [0, 7, 0, 0, 0, 0], "the last cycle's counts once it ended");
        assert_eq!(idle.shape, running.shape, "a cycle ending needs no reload");
        let mut off = status();
        off.enabled = false;
        assert_ne!(LiveStatusView::from(&off).shape, running.shape);
        let mut quarantined = status();
        quarantined.quarantine =
            Some(Quarantine { reason: "401".into(), detail: String::new(), recommendation: String::new(), since: None });
        assert_ne!(LiveStatusView::from(&quarantined).shape, running.shape);
        let mut staged = status();
        staged.staged_deletions = 600;
        assert_ne!(LiveStatusView::from(&staged).shape, running.shape);
    }
}
