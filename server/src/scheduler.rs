//! The provisioning scheduler, inside the server: every half second it looks at the jobs that are On
//! (or have an admin request waiting) and runs those that are due, each in its own task. A job runs in
//! one process at a time: the engine takes the job's lease in the database (with a fencing epoch), so
//! several `provisio` processes sharing one PostgreSQL database share the jobs, and a job whose process
//! died is picked up by another once its lease expires.
//!
//! A job is due when an admin asked for a run (Start, Restart, Allow/Reject deletes), when its cycle
//! was interrupted (it resumes), when its next cycle time has come (interval, or the quarantine
//! schedule), or — in continuous mode — as soon as the directory's change log moves past its watermark.

use crate::state::AppState;
use provisio::apps::AppId;
use provisio::store::{changes, now_ms, sync as st};
use provisio::sync::job::{JobRow, JobState};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the scheduler looks for due jobs.
pub const TICK: Duration = Duration::from_millis(500);

/// This process's name in job leases: host, process id and a random suffix.
pub fn owner_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "host".into());
    format!("{host}-{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8])
}

fn due(job: &JobRow, continuous: bool, head: i64, now: i64) -> bool {
    if job.run_requested || job.reset_requested.is_some() || job.deletes_decision.is_some() {
        return true;
    }
    if !job.enabled || job.state == JobState::DeletesStaged {
        return false;
    }
    if matches!(job.state, JobState::Running | JobState::Paused) && job.phase.is_some() {
        // Interrupted (paused, or its process died): resume once no one holds the lease.
        return job.lease_expires_at.is_none_or(|t| t < now);
    }
    if job.next_run_at.is_none_or(|t| t <= now) {
        return true;
    }
    continuous && job.quarantine_reason.is_none() && job.watermark.is_some_and(|w| w < head)
}

/// Starts the scheduler loop; returns its task.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    let owner = owner_id();
    tracing::info!(%owner, "provisioning scheduler started");
    let running: Arc<Mutex<HashSet<String>>> = Arc::new(Mutex::new(HashSet::new()));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_purge = 0i64;
        loop {
            tick.tick().await;
            if let Err(e) = once(&state, &owner, &running).await {
                tracing::warn!(error = %e, "scheduler pass failed");
            }
            if now_ms() - last_purge > 3_600_000 {
                last_purge = now_ms();
                match provisio::service::provisioning::purge_logs(&state.store).await {
                    Ok(n) if n > 0 => tracing::info!(deleted = n, "purged old provisioning log entries"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "purging provisioning logs failed"),
                }
            }
        }
    })
}

/// How often pending alert emails are looked for.
pub const ALERT_TICK: Duration = Duration::from_secs(5);

/// Starts the loop that sends alert emails (see `provisio::notify::deliver_due`); returns its task.
/// Safe in every process sharing the database: each alert is claimed by one sender.
pub fn spawn_alert_delivery(
    store: provisio::store::Store,
    mailer: Arc<dyn provisio::notify::Mailer>,
    portal_url: Option<String>,
) -> tokio::task::JoinHandle<()> {
    let owner = owner_id();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(ALERT_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match provisio::notify::deliver_due(&store, mailer.as_ref(), &owner, portal_url.as_deref()).await {
                Ok(r) if r != Default::default() => tracing::info!(sent = r.sent, retrying = r.retrying, failed = r.failed, "alert emails"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sending alert emails failed"),
            }
        }
    })
}

async fn once(state: &AppState, owner: &str, running: &Arc<Mutex<HashSet<String>>>) -> anyhow::Result<()> {
    let (jobs, head) = {
        let mut c = state.store.conn().await?;
        (st::candidate_jobs(&mut c).await?, changes::head(&mut c).await?)
    };
    let now = now_ms();
    for job in jobs {
        if running.lock().expect("scheduler set").contains(&job.app_id) {
            continue;
        }
        if job.lease_owner.as_deref().is_some_and(|o| o != owner) && job.lease_expires_at.is_some_and(|t| t >= now) {
            continue;
        }
        let continuous = match AppId::parse(&job.app_id) {
            Ok(id) => {
                let mut c = state.store.conn().await?;
                provisio::store::apps::get(&mut c, id).await?.map(|a| a.settings.continuous).unwrap_or(false)
            }
            Err(_) => false,
        };
        if !due(&job, continuous, head, now) {
            continue;
        }
        running.lock().expect("scheduler set").insert(job.app_id.clone());
        let (state, owner, running) = (state.clone(), owner.to_string(), running.clone());
        tokio::spawn(async move {
            let app = job.app_id.clone();
            let opts = provisio::service::provisioning::RunOptions {
                lease: Duration::from_secs(state.config.lease_seconds.max(1)),
                ..provisio::service::provisioning::RunOptions::new(&owner, state.allow_private_targets)
            };
            let r = provisio::service::provisioning::run_job(&state.store, &state.secrets, &app, &opts).await;
            match r {
                Ok(out) => tracing::debug!(%app, ?out, "job run"),
                Err(e) => tracing::warn!(%app, error = %e, "job run failed"),
            }
            running.lock().expect("scheduler set").remove(&app);
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_rules() {
        let now = 1_000_000;
        let mut j = JobRow::new("a", now);
        assert!(!due(&j, false, 0, now), "Off and nothing requested");
        j.run_requested = true;
        assert!(due(&j, false, 0, now));
        j.run_requested = false;
        j.enabled = true;
        j.next_run_at = Some(now + 60_000);
        j.watermark = Some(5);
        assert!(!due(&j, false, 5, now));
        assert!(!due(&j, false, 9, now), "interval mode waits for the interval");
        assert!(due(&j, true, 9, now), "continuous mode runs as soon as the directory changed");
        j.state = JobState::Running;
        j.phase = Some("users".into());
        j.lease_expires_at = Some(now + 10);
        assert!(!due(&j, false, 5, now), "someone holds the lease");
        j.lease_expires_at = Some(now - 10);
        assert!(due(&j, false, 5, now), "an interrupted cycle resumes");
        j.state = JobState::DeletesStaged;
        j.phase = None;
        j.next_run_at = Some(0);
        assert!(!due(&j, false, 5, now), "staged deletions wait for an admin");
    }
}
