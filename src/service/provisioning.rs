//! The provisioning job of an app: Start / Stop, Restart (with or without breaking links), staged
//! deletions (allow / reject), status, on-demand provisioning, preview, provisioning logs, and one run
//! of the job for the scheduler.
//!
//! Admin actions on a job never write the engine's state directly: they set status On/Off or record a
//! request (restart, allow/reject deletes, run now) that the process holding the job's lease applies at
//! its next object boundary. That keeps one writer per job, with several processes too.
//!
//! Who may do what: reading status and logs needs any role; everything else
//! [`Actor::require_app_management`] (on-demand provisioning and preview send the stored secret).

use super::{cursor_err, Actor, Result, ServiceError};
use crate::apps::{AppId, ProvisioningMode};
use crate::crypto::SecretBox;
use crate::model::{FieldError, Page};
use crate::store::sync as st;
use crate::store::{apps as store_apps, audit, ms_to_dt, now_ms, Store};
use crate::sync::cycle::{self, RunOutcome};
use crate::sync::job::{JobState, JobStatus, Quarantine};
use crate::sync::log::{LogEntry, LogQuery};
use crate::sync::{JobSetup, SyncError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

fn app_id(id: &str) -> Result<AppId> {
    AppId::parse(id.trim()).map_err(|_| ServiceError::NotFound { what: "app", id: id.to_string() })
}

impl From<SyncError> for ServiceError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Store(s) => ServiceError::Store(s),
            SyncError::NotFound(m) => ServiceError::NotFound { what: "object", id: m },
            SyncError::Invalid(m) => ServiceError::invalid("id", m),
            SyncError::Fenced => {
                ServiceError::Conflict(FieldError::new("job", "another process is running this job; try again in a moment"))
            }
        }
    }
}

/// Loads an app's configuration and compiles it for the engine.
pub async fn setup_for(store: &Store, id: &str) -> Result<(crate::apps::App, JobSetup)> {
    let aid = app_id(id)?;
    let mut c = store.conn().await?;
    let app = store_apps::get(&mut c, aid).await?.ok_or_else(|| ServiceError::NotFound { what: "app", id: id.to_string() })?;
    let (mappings, _) =
        store_apps::get_mappings(&mut c, aid).await?.ok_or_else(|| ServiceError::NotFound { what: "app", id: id.to_string() })?;
    let setup =
        JobSetup::new(&aid.to_string(), &app.name, app.settings.clone(), &mappings, app.profile.max_concurrency).map_err(|errs| {
            ServiceError::Validation(errs.into_iter().map(|e| FieldError::new(format!("mappings.{}", e.field), e.to_string())).collect())
        })?;
    Ok((app, setup))
}

/// The app's id and its job row (created if missing); 404 for an unknown app.
async fn job_of(store: &Store, id: &str) -> Result<(AppId, String)> {
    let aid = app_id(id)?;
    let key = aid.to_string();
    let mut c = store.conn().await?;
    if store_apps::get(&mut c, aid).await?.is_none() {
        return Err(ServiceError::NotFound { what: "app", id: id.to_string() });
    }
    st::ensure_job(&mut c, &key, now_ms()).await?;
    Ok((aid, key))
}

async fn audit_job(store: &Store, actor: &Actor, aid: AppId, action: &str, details: serde_json::Value) -> Result<()> {
    let mut tx = store.begin().await?;
    let name = store_apps::get(&mut tx, aid).await?.map(|a| a.name);
    audit::append(&mut tx, &actor.audit(action, "app", Some(aid.to_string()), name, details)).await?;
    tx.commit().await?;
    Ok(())
}

/// "Start provisioning" (status On): the job runs a cycle now and then on its interval. The app must be
/// in Automatic mode.
pub async fn start(store: &Store, actor: &Actor, id: &str) -> Result<JobStatus> {
    actor.require_app_management()?;
    let (app, _setup) = setup_for(store, id).await?;
    if app.mode != ProvisioningMode::Automatic {
        return Err(ServiceError::invalid("mode", "provisioning mode is Manual: set it to Automatic before starting provisioning"));
    }
    let key = app.id.to_string();
    {
        let mut c = store.conn().await?;
        st::ensure_job(&mut c, &key, now_ms()).await?;
        st::set_enabled(&mut c, &key, true, true).await?;
    }
    audit_job(store, actor, app.id, "Enable provisioning configuration", json!({"status": "On"})).await?;
    status(store, actor, id).await
}

/// "Stop provisioning" (status Off): a running cycle stops at its next object boundary; Start resumes it.
pub async fn pause(store: &Store, actor: &Actor, id: &str) -> Result<JobStatus> {
    actor.require_app_management()?;
    let (aid, key) = job_of(store, id).await?;
    st::set_enabled(&mut *store.conn().await?, &key, false, false).await?;
    audit_job(store, actor, aid, "Disable provisioning configuration", json!({"status": "Off"})).await?;
    status(store, actor, id).await
}

/// "Restart provisioning": clears the watermark, escrow and quarantine and runs an initial cycle;
/// `full` also breaks the links to target accounts (they are matched again).
pub async fn restart(store: &Store, actor: &Actor, id: &str, full: bool) -> Result<JobStatus> {
    actor.require_app_management()?;
    let (aid, key) = job_of(store, id).await?;
    st::request(&mut *store.conn().await?, &key, Some(if full { "full" } else { "restart" }), None).await?;
    audit_job(store, actor, aid, "Restart provisioning configuration", json!({"full": full})).await?;
    status(store, actor, id).await
}

/// "Allow deletes" / reject: answers the staged deletions of a job held by accidental-deletion
/// prevention. Allow sends exactly the staged set; reject drops it (fix the cause, then restart).
pub async fn decide_deletes(store: &Store, actor: &Actor, id: &str, allow: bool) -> Result<JobStatus> {
    actor.require_app_management()?;
    let aid = app_id(id)?;
    let key = aid.to_string();
    {
        let mut c = store.conn().await?;
        let job = st::get_job(&mut c, &key).await?;
        if job.map(|j| j.state) != Some(JobState::DeletesStaged) {
            return Err(ServiceError::Conflict(FieldError::new("state", "no deletions are waiting for approval")));
        }
        st::request(&mut c, &key, None, Some(if allow { "allow" } else { "reject" })).await?;
    }
    audit_job(store, actor, aid, if allow { "Allow staged deletions" } else { "Reject staged deletions" }, json!({})).await?;
    status(store, actor, id).await
}

/// A held-back disable or delete, as the status lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StagedDeletion {
    /// The directory object.
    pub source_id: String,
    /// `user` or `group`.
    pub object_type: String,
    /// Its name.
    pub display_name: String,
    /// The target account.
    pub target_id: Option<String>,
    /// `disable` or `delete`.
    pub action: String,
}

/// The job's status, with the staged deletions (up to 1,000).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    /// The status.
    #[serde(flatten)]
    pub status: JobStatus,
    /// The held-back disables/deletes.
    pub staged: Vec<StagedDeletion>,
}

fn recommendation(reason: &str) -> &'static str {
    match reason {
        "TooManyDeletes" => "Review the staged deletions: allow them if they are expected, or reject them, fix the cause (scope, assignments, scoping filters) and restart.",
        "EncounteredEscrowProportionThreshold" => "Most objects failed: open the provisioning logs filtered on Failure, fix the mapping or the target, then restart provisioning.",
        _ => "Fix the admin credentials or the Tenant URL, run Test Connection, then restart provisioning; the job retries on its own at 6 h, 12 h, 24 h and then daily.",
    }
}

/// The job's status.
pub async fn status(store: &Store, _actor: &Actor, id: &str) -> Result<JobStatus> {
    Ok(status_view(store, _actor, id).await?.status)
}

/// The job's status and its staged deletions.
pub async fn status_view(store: &Store, _actor: &Actor, id: &str) -> Result<StatusView> {
    let aid = app_id(id)?;
    let key = aid.to_string();
    let mut c = store.conn().await?;
    if store_apps::get(&mut c, aid).await?.is_none() {
        return Err(ServiceError::NotFound { what: "app", id: id.to_string() });
    }
    let job = st::get_job(&mut c, &key).await?.unwrap_or_else(|| crate::sync::job::JobRow::new(&key, now_ms()));
    let (users, groups, escrowed, staged_n) = st::counts(&mut c, &key).await?;
    let staged = if staged_n > 0 { st::staged(&mut c, &key).await? } else { Vec::new() };
    let status = JobStatus {
        enabled: job.enabled,
        state: job.state,
        cycle_kind: job.cycle_kind,
        cycle_id: job.cycle_id.clone(),
        progress: job.progress,
        last_counts: job.last_counts,
        initial_cycle_complete: job.initial_done,
        quarantine: job.quarantine_reason.as_ref().map(|r| Quarantine {
            reason: r.clone(),
            detail: job.quarantine_detail.clone().unwrap_or_default(),
            recommendation: recommendation(r).to_string(),
            since: job.quarantine_since.map(ms_to_dt),
        }),
        staged_deletions: staged_n,
        first_cycle_at: job.first_cycle_at.map(ms_to_dt),
        last_cycle_at: job.last_cycle_at.map(ms_to_dt),
        last_cycle_ms: job.last_cycle_ms,
        next_run_at: job.next_run_at.filter(|_| job.enabled).map(ms_to_dt),
        users_managed: users,
        groups_managed: groups,
        escrowed,
    };
    let staged = staged
        .into_iter()
        .take(1000)
        .map(|l| StagedDeletion {
            source_id: l.source_id,
            object_type: l.object_type,
            display_name: l.display_name,
            target_id: l.target_id,
            action: l.staged_action.unwrap_or_default(),
        })
        .collect();
    Ok(StatusView { status, staged })
}

/// Provisions one user, or a group with up to 5 members, now, and returns every step.
pub async fn on_demand(
    store: &Store,
    secrets: &SecretBox,
    actor: &Actor,
    id: &str,
    object_id: &str,
    allow_private: bool,
) -> Result<Vec<LogEntry>> {
    actor.require_app_management()?;
    if object_id.trim().is_empty() {
        return Err(ServiceError::invalid("id", "is required: the id of a directory user or group"));
    }
    let (app, setup) = setup_for(store, id).await?;
    let connector = super::apps::connector_for(store, secrets, id, allow_private).await?;
    let entries = crate::sync::on_demand(store, &setup, &connector, object_id.trim()).await?;
    audit_job(store, actor, app.id, "Provision on demand", json!({"objectId": object_id.trim(), "entries": entries.len()})).await?;
    Ok(entries)
}

/// What the next cycle would do (up to `limit` objects), sending nothing that changes the target.
pub async fn preview(
    store: &Store,
    secrets: &SecretBox,
    actor: &Actor,
    id: &str,
    limit: usize,
    allow_private: bool,
) -> Result<Vec<LogEntry>> {
    actor.require_app_management()?;
    let (_app, setup) = setup_for(store, id).await?;
    let connector = super::apps::connector_for(store, secrets, id, allow_private).await?;
    Ok(crate::sync::preview(store, &setup, &connector, limit.clamp(1, 10_000)).await?)
}

/// The provisioning logs of an app, newest first, filtered.
pub async fn logs(store: &Store, _actor: &Actor, id: &str, q: &LogQuery) -> Result<Page<LogEntry>> {
    let aid = app_id(id)?;
    let mut c = store.conn().await?;
    if store_apps::get(&mut c, aid).await?.is_none() {
        return Err(ServiceError::NotFound { what: "app", id: id.to_string() });
    }
    st::list_logs(&mut c, &aid.to_string(), q).await.map_err(cursor_err)
}

/// The alerts of an app's job (quarantine, turned Off, staged deletions), newest first, at most
/// `limit` (1–500), each with where its email is.
pub async fn alerts(store: &Store, _actor: &Actor, id: &str, limit: i64) -> Result<Vec<crate::alerts::Alert>> {
    let aid = app_id(id)?;
    let mut c = store.conn().await?;
    if store_apps::get(&mut c, aid).await?.is_none() {
        return Err(ServiceError::NotFound { what: "app", id: id.to_string() });
    }
    Ok(crate::store::alerts::list(&mut c, &aid.to_string(), limit).await?)
}

/// How the scheduler (or a test) runs a job.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// This process's name in the job's lease.
    pub owner: String,
    /// Let the connector reach private addresses (`PROVISIO_ALLOW_PRIVATE_TARGETS`).
    pub allow_private: bool,
    /// Run a cycle even if none is due and status is Off (tests, benchmarks).
    pub force: bool,
    /// The lease's length (`PROVISIO_LEASE_SECONDS`).
    pub lease: std::time::Duration,
}

impl RunOptions {
    /// Options for `owner` with the default lease, private targets allowed or not.
    pub fn new(owner: &str, allow_private: bool) -> RunOptions {
        RunOptions {
            owner: owner.to_string(),
            allow_private,
            force: false,
            lease: std::time::Duration::from_millis(cycle::LEASE_MS as u64),
        }
    }

    /// The same, forcing a cycle.
    pub fn forced(mut self) -> RunOptions {
        self.force = true;
        self
    }
}

/// Runs an app's job once for the scheduler (or a test): builds the connector from the stored
/// credentials and runs or resumes a cycle when one is due. Missing credentials are an error naming the
/// field; nothing is sent.
pub async fn run_job(store: &Store, secrets: &SecretBox, id: &str, opts: &RunOptions) -> Result<RunOutcome> {
    let (app, mut setup) = setup_for(store, id).await?;
    if app.mode != ProvisioningMode::Automatic && !opts.force {
        return Ok(RunOutcome::NotDue);
    }
    setup.lease_ms = opts.lease.as_millis().max(1_000) as i64;
    let connector = super::apps::connector_for(store, secrets, id, opts.allow_private).await?;
    Ok(cycle::run(store, Arc::new(setup), Arc::new(connector), &opts.owner, opts.force).await?)
}

/// Deletes provisioning log entries older than each app's retention; returns how many.
pub async fn purge_logs(store: &Store) -> Result<u64> {
    let mut c = store.conn().await?;
    let apps = store_apps::list(&mut c, &crate::apps::AppQuery { top: Some(1000), ..Default::default() }).await?;
    let mut n = 0;
    for a in apps.items {
        let cutoff = now_ms() - i64::from(a.settings.log_retention_days) * 86_400_000;
        n += st::purge_logs(&mut c, &a.id.to_string(), cutoff).await?;
    }
    Ok(n)
}
