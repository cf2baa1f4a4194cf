//! Running a job: take the lease, apply admin requests (restart, allow/reject deletes), and run or
//! resume a cycle phase by phase, committing each page of objects together with the job's position,
//! so that a crash at any point loses nothing and duplicates nothing (the next owner resumes from the
//! last committed page; objects created just before the crash are adopted by matching).
//!
//! Initial cycle phases: `managers` (users that manage someone, so that their reports' creates can
//! carry the reference), `users` and `groups` (every object, in id order), `orphans` (links whose
//! directory object was hard-deleted), `references` (managers), `members` (group memberships),
//! `deprovision` (staged disables/deletes, held back above the accidental-deletion threshold).
//! Incremental cycles replace the scans by `changes`: the objects changed since the watermark (from the
//! change log) and escrowed objects that are due.

use super::diff;
use super::job::{Counts, CycleKind, JobRow, JobState};
use super::log::{LogAction, LogEntry, LogStatus, ModifiedProperty, Step};
use super::object::{self, ObjectContext, ObjectResult, SourceObject};
use super::scope::{self, ScopeIndex};
use super::{policy, JobSetup, SyncError};
use crate::connector::{AttributeChange, Connector};
use crate::mapping::resolve::{resolve, Phase};
use crate::mapping::ObjectType;
use crate::service::expressions::SystemEnv;
use crate::store::sync::{self as st, Link};
use crate::store::{changes, groups, now_ms, users, Store};
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// How long a lease lasts without renewal. While a run goes on, a heartbeat renews it every third of
/// that (and each committed page renews it too), so a slow page (a rate-limited target, long retries)
/// never lets another process take the job over from a live one.
pub const LEASE_MS: i64 = 60_000;
/// Objects per committed page.
pub const PAGE: i64 = 1000;
/// Groups per committed page of the `members` phase (their memberships are read whole).
pub const MEMBER_PAGE: i64 = 250;

/// What a run did.
#[derive(Clone, Debug, PartialEq)]
pub enum RunOutcome {
    /// A cycle completed.
    Completed {
        /// Initial or incremental.
        kind: CycleKind,
        /// What it did.
        counts: Counts,
    },
    /// Status is Off (the cycle stopped at an object boundary, if one was running).
    Paused,
    /// The job is quarantined.
    Quarantined {
        /// The reason code.
        reason: String,
    },
    /// Accidental-deletion prevention held back this many disables/deletes.
    DeletesStaged(usize),
    /// Nothing was due.
    NotDue,
    /// Another process holds the job.
    Busy,
}

/// Runs the job of `setup.app_id` once: applies admin requests and runs (or resumes) a cycle when one
/// is due (`force`: run even if not due, e.g. "Start" or a test).
pub async fn run(
    store: &Store,
    setup: Arc<JobSetup>,
    connector: Arc<dyn Connector>,
    owner: &str,
    force: bool,
) -> Result<RunOutcome, SyncError> {
    let app = setup.app_id.clone();
    {
        let mut c = store.conn().await?;
        st::ensure_job(&mut c, &app, now_ms()).await?;
    }
    let epoch = {
        let mut c = store.conn().await?;
        match st::acquire_lease(&mut c, &app, owner, now_ms(), now_ms() + setup.lease_ms).await? {
            Some(e) => e,
            None => return Ok(RunOutcome::Busy),
        }
    };
    let job = {
        let mut c = store.conn().await?;
        st::get_job(&mut c, &app).await?.ok_or(SyncError::Fenced)?
    };
    let heartbeat = tokio::spawn(heartbeat(store.clone(), app.clone(), epoch, setup.lease_ms));
    let mut r = Runner { recent: Default::default(), store: store.clone(), setup, connector, epoch, job, counts: Counts::default(), force };
    let out = r.run(force).await;
    heartbeat.abort();
    if let Ok(mut c) = store.conn().await {
        let _ = st::release_lease(&mut c, &app, epoch).await;
    }
    out
}

/// Renews the lease held with `epoch` every third of its length until aborted, or until the lease is
/// lost (then the run's next write is fenced and it stops).
async fn heartbeat(store: Store, app: String, epoch: i64, lease_ms: i64) {
    let every = std::time::Duration::from_millis((lease_ms / 3).max(50) as u64);
    loop {
        tokio::time::sleep(every).await;
        let renewed = match store.conn().await {
            Ok(mut c) => st::renew_lease(&mut c, &app, epoch, now_ms() + lease_ms).await,
            Err(e) => Err(e),
        };
        match renewed {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(%app, epoch, "the job's lease was taken over; this run stops at its next write");
                return;
            }
            // A passing database hiccup: try again at the next beat (the lease outlives two misses).
            Err(e) => tracing::warn!(%app, error = %e, "renewing the job's lease failed"),
        }
    }
}

struct Runner {
    /// Target ids of the users the last pages linked, newest last: their writes may not be committed
    /// yet (up to [`WRITES_AHEAD`] pages behind the one being written).
    recent: std::collections::VecDeque<HashMap<String, String>>,
    store: Store,
    setup: Arc<JobSetup>,
    connector: Arc<dyn Connector>,
    epoch: i64,
    job: JobRow,
    counts: Counts,
    force: bool,
}

fn ctx<'a>(setup: &'a JobSetup, connector: &'a dyn Connector, cycle_id: &'a str, object: ObjectType) -> ObjectContext<'a> {
    let (mapping, redacted) = match object {
        ObjectType::User => (&setup.mappings.user, &setup.redacted_user),
        ObjectType::Group => (&setup.mappings.group, &setup.redacted_group),
    };
    ObjectContext {
        app_id: &setup.app_id,
        cycle_id,
        settings: &setup.settings,
        mapping,
        redacted,
        connector,
        dry_run: false,
        log_skips: false,
        known_targets: None,
    }
}

impl Runner {
    async fn save(&mut self) -> Result<(), SyncError> {
        let mut c = self.store.conn().await?;
        if st::save_job(&mut c, &self.job, self.epoch, now_ms() + self.setup.lease_ms).await? {
            Ok(())
        } else {
            Err(SyncError::Fenced)
        }
    }

    async fn run(&mut self, force: bool) -> Result<RunOutcome, SyncError> {
        let app = self.setup.app_id.clone();
        // Admin requests first.
        if let Some(reset) = self.job.reset_requested.clone() {
            let mut tx = self.store.begin().await?;
            st::clear_escrow(&mut tx, &app).await?;
            if reset == "full" {
                st::drop_links(&mut tx, &app).await?;
            }
            let j = &mut self.job;
            j.watermark = None;
            j.fingerprint = None;
            j.state = JobState::Idle;
            j.cycle_id = None;
            j.phase = None;
            j.cursor = None;
            j.quarantine_reason = None;
            j.quarantine_detail = None;
            j.quarantine_since = None;
            j.quarantine_level = 0;
            j.next_run_at = Some(now_ms());
            if !st::save_job(&mut tx, &self.job, self.epoch, now_ms() + self.setup.lease_ms).await? {
                return Err(SyncError::Fenced);
            }
            st::clear_requests(&mut tx, &app, self.epoch, true, false, false).await?;
            tx.commit().await?;
        }
        if let Some(decision) = self.job.deletes_decision.clone() {
            {
                let mut c = self.store.conn().await?;
                st::clear_requests(&mut c, &app, self.epoch, false, true, false).await?;
            }
            if self.job.state == JobState::DeletesStaged {
                if decision == "allow" {
                    self.job.state = JobState::Running;
                    self.save().await?;
                    if let Some(out) = self.deprovision(true).await? {
                        return Ok(out);
                    }
                    return self.finish().await;
                }
                let mut c = self.store.conn().await?;
                st::clear_staged(&mut c, &app).await?;
                self.job.state = JobState::Idle;
                self.job.phase = None;
                self.job.quarantine_reason = None;
                self.job.quarantine_detail = None;
                self.job.quarantine_since = None;
                drop(c);
                self.save().await?;
            }
        }
        let run_requested = self.job.run_requested;
        if run_requested {
            let mut c = self.store.conn().await?;
            st::clear_requests(&mut c, &app, self.epoch, false, false, true).await?;
        }
        if !self.job.enabled && !force {
            if self.job.state == JobState::Running {
                self.job.state = JobState::Paused;
                self.save().await?;
            }
            return Ok(RunOutcome::Paused);
        }
        if self.job.state == JobState::DeletesStaged {
            return Ok(RunOutcome::DeletesStaged(self.staged_count().await?));
        }
        let now = now_ms();
        let resuming =
            matches!(self.job.state, JobState::Running | JobState::Paused) && self.job.cycle_id.is_some() && self.job.phase.is_some();
        let head = {
            let mut c = self.store.conn().await?;
            changes::head(&mut c).await?
        };
        let needs_initial = self.job.watermark.is_none() || self.job.fingerprint.as_deref() != Some(self.setup.fingerprint.as_str());
        let due = force
            || run_requested
            || resuming
            || self.job.next_run_at.is_none_or(|t| t <= now)
            || (self.setup.settings.continuous
                && !needs_initial
                && self.job.quarantine_reason.is_none()
                && self.job.watermark.is_some_and(|w| w < head));
        if !due {
            return Ok(RunOutcome::NotDue);
        }
        if !resuming {
            let j = &mut self.job;
            j.cycle_id = Some(uuid::Uuid::new_v4().to_string());
            j.cycle_kind = Some(if needs_initial { CycleKind::Initial } else { CycleKind::Incremental });
            j.phase = Some(if needs_initial { "managers" } else { "changes" }.to_string());
            j.cursor = None;
            j.cycle_head = Some(head);
            j.cycle_started_at = Some(now);
            j.progress = Default::default();
            j.first_cycle_at.get_or_insert(now);
            if needs_initial {
                let mut c = self.store.conn().await?;
                let total: i64 = sqlx::query_scalar::<_, i64>("SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM groups)")
                    .fetch_one(&mut *c)
                    .await?;
                self.job.progress.total = total.max(0) as u64;
            }
        }
        self.counts = self.job.progress.counts;
        self.job.state = JobState::Running;
        self.save().await?;
        match self.phases().await? {
            Some(out) => Ok(out),
            None => self.finish().await,
        }
    }

    async fn staged_count(&self) -> Result<usize, SyncError> {
        let mut c = self.store.conn().await?;
        Ok(st::staged(&mut c, &self.setup.app_id).await?.len())
    }

    /// Runs the remaining phases; `Some` when the run stops early (paused, quarantined, staged).
    async fn phases(&mut self) -> Result<Option<RunOutcome>, SyncError> {
        loop {
            let phase = self.job.phase.clone().unwrap_or_default();
            let started = std::time::Instant::now();
            let stop = match phase.as_str() {
                "managers" => self.scan(ObjectType::User, true).await?,
                "users" => self.scan(ObjectType::User, false).await?,
                "groups" => self.scan(ObjectType::Group, false).await?,
                "changes" => self.changes().await?,
                "orphans" => self.orphans().await?,
                "references" => self.references().await?,
                "members" => self.members().await?,
                "deprovision" => return self.deprovision(false).await,
                _ => return Ok(None),
            };
            tracing::info!(app = %self.setup.app_id, phase = %phase, ms = started.elapsed().as_millis() as u64, processed = self.job.progress.processed, "cycle phase done");
            if let Some(out) = stop {
                return Ok(Some(out));
            }
            let next = match phase.as_str() {
                "managers" => "users",
                "users" => "groups",
                "groups" => "orphans",
                "changes" | "orphans" => "references",
                "references" => "members",
                _ => "deprovision",
            };
            self.job.phase = Some(next.to_string());
            self.job.cursor = None;
            self.save().await?;
        }
    }

    /// Commits one page: results, the job position, and the fence check, in one transaction.
    async fn commit(&mut self, results: Vec<ObjectResult>, processed: u64) -> Result<Option<RunOutcome>, SyncError> {
        self.commit_at(results, processed, None).await
    }

    /// Commits one page and moves the phase's cursor to `cursor` — unless a failure stops the job, in
    /// which case the cursor stays so the page is processed again by the next run.
    async fn commit_at(
        &mut self,
        results: Vec<ObjectResult>,
        processed: u64,
        cursor: Option<String>,
    ) -> Result<Option<RunOutcome>, SyncError> {
        let w = self.prepare(results, processed, cursor);
        self.write_checked(w).await
    }

    /// Writes a page, then acts on what the write found ([`Runner::after_write`]).
    async fn write_checked(&mut self, w: PageWrite) -> Result<Option<RunOutcome>, SyncError> {
        let written = write_page(&self.store, w).await?;
        self.after_write(written).await
    }

    /// The write of the page before, as a task of its own (nothing when there is none).
    fn write_previous(&self, previous: Option<PageWrite>) -> impl std::future::Future<Output = Result<Option<Written>, SyncError>> {
        let store = self.store.clone();
        async move {
            match previous {
                Some(w) => joined(tokio::spawn(async move { write_page(&store, w).await })).await.map(Some),
                None => Ok(None),
            }
        }
    }

    /// `written` when what it found stops the run: a failure that stops the job, or status Off.
    fn stops(&self, written: Option<Written>) -> Option<Written> {
        written.filter(|w| w.fatal.is_some() || (!w.enabled && !self.force))
    }

    /// Folds a page's results into the job (counts, progress, cursor) and gathers what to write.
    fn prepare(&mut self, results: Vec<ObjectResult>, processed: u64, cursor: Option<String>) -> PageWrite {
        if cursor.is_some() && results.iter().all(|r| r.fatal.is_none()) {
            self.job.cursor = cursor;
        }
        let mut w = PageWrite {
            app: self.setup.app_id.clone(),
            epoch: self.epoch,
            lease_ms: self.setup.lease_ms,
            sync_members: self.setup.sync_members,
            job: JobRow::new("", 0),
            put: Vec::new(),
            unlink: Vec::new(),
            logs: Vec::new(),
            membership: Vec::new(),
            fatal: None,
        };
        if self.recent.len() > WRITES_AHEAD + 1 {
            self.recent.pop_front();
        }
        let mut recent = HashMap::new();
        for r in results {
            self.counts.add(&r.counts);
            if let Some(l) = r.link.as_ref().filter(|l| l.object_type == "user" && l.linked() && l.state == "active") {
                if let Some(t) = &l.target_id {
                    recent.insert(l.source_id.clone(), t.clone());
                }
            }
            if let Some(l) = r.link {
                if r.membership_changed && l.object_type == "user" {
                    w.membership.push(l.source_id.clone());
                }
                w.put.push(l);
            } else if r.membership_changed {
                w.membership.extend(r.unlink.clone());
            }
            if let Some(id) = r.unlink {
                w.unlink.push(id);
            }
            if let Some(l) = r.log {
                w.logs.push(l);
            }
            if w.fatal.is_none() {
                w.fatal = r.fatal;
            }
        }
        self.recent.push_back(recent);
        self.job.progress.processed += processed;
        self.job.progress.counts = self.counts;
        w.job = self.job.clone();
        w
    }

    /// After a page is written: quarantine on a failure that stops the job, pause when status went Off.
    async fn after_write(&mut self, written: Written) -> Result<Option<RunOutcome>, SyncError> {
        if let Some(e) = written.fatal {
            return Ok(Some(self.quarantine("EncounteredQuarantineException", &e.message).await?));
        }
        if !written.enabled && !self.force {
            self.job.state = JobState::Paused;
            self.save().await?;
            return Ok(Some(RunOutcome::Paused));
        }
        Ok(None)
    }

    async fn quarantine(&mut self, reason: &str, detail: &str) -> Result<RunOutcome, SyncError> {
        let now = now_ms();
        let j = &mut self.job;
        // An alert when the job enters quarantine or its reason changes, not at every slowed-down retry.
        let entering = j.quarantine_reason.as_deref() != Some(reason);
        if entering {
            j.quarantine_since = Some(now);
        }
        j.quarantine_reason = Some(reason.to_string());
        j.quarantine_detail = Some(detail.to_string());
        j.quarantine_level += 1;
        j.state = JobState::Quarantined;
        j.next_run_at = Some(now + policy::quarantine_delay(j.quarantine_level as u32).as_millis() as i64);
        // Still quarantined four weeks after it entered quarantine: the job is turned Off.
        let turn_off = j.quarantine_since.is_some_and(|since| policy::quarantine_expired(since, now));
        if turn_off {
            j.quarantine_detail = Some(format!(
                "{detail} The job was turned Off: it stayed in quarantine for more than 4 weeks. Fix the cause, then Start or Restart it."
            ));
        }
        tracing::warn!(app = %j.app_id, reason, turn_off, "provisioning job quarantined");
        let audit = |action: &str| crate::store::audit::NewAudit {
            actor: "provisioning".into(),
            action: action.into(),
            target_type: "app".into(),
            target_id: Some(j.app_id.clone()),
            target_name: None,
            ip: None,
            details: json!({"reason": reason, "detail": detail, "level": j.quarantine_level, "nextRunAt": j.next_run_at, "since": j.quarantine_since}),
        };
        let entries: Vec<_> = std::iter::once(audit("Quarantine")).chain(turn_off.then(|| audit("TurnOffAfterQuarantine"))).collect();
        let facts = self.setup.alert_facts();
        let mut alerts = Vec::new();
        if entering {
            alerts.push(facts.quarantined(reason, detail, j.next_run_at.map(crate::store::ms_to_dt)));
        }
        if turn_off {
            alerts.push(facts.turned_off(reason, detail));
        }
        let mut tx = self.store.begin().await?;
        if !st::save_job(&mut tx, &self.job, self.epoch, now_ms() + self.setup.lease_ms).await? {
            return Err(SyncError::Fenced);
        }
        if turn_off {
            st::set_enabled(&mut tx, &self.setup.app_id, false, false).await?;
        }
        for entry in &entries {
            crate::store::audit::append(&mut tx, entry).await?;
        }
        for alert in &alerts {
            crate::store::alerts::insert(&mut tx, alert).await?;
        }
        tx.commit().await?;
        Ok(RunOutcome::Quarantined { reason: reason.to_string() })
    }

    /// Processes a page of objects: matching queries batched ([`Connector::find_many`]), then each
    /// object up to its create ([`object::prepare`]; updates and adoptions are sent there), then the
    /// creates together ([`Connector::create_many`]: `/Bulk` when the target offers it), in waves so
    /// that a user whose manager is created in the same page carries the manager's reference.
    async fn process_all(&self, object: ObjectType, items: Vec<(SourceObject, Option<Link>, bool)>) -> Vec<ObjectResult> {
        let front = self.front(object, items).await;
        self.back(front).await
    }

    /// What the page stages of a scan run with, owned, so that they run as their own tasks (on
    /// other worker threads than the scan's).
    fn pages(&self) -> Pages {
        Pages {
            store: self.store.clone(),
            setup: self.setup.clone(),
            connector: self.connector.clone(),
            cycle_id: self.job.cycle_id.clone().unwrap_or_default(),
        }
    }

    /// The target ids of the users linked by the pages whose writes may not be committed yet.
    fn recent_targets(&self) -> HashMap<String, String> {
        self.recent.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// [`Pages::front`] with the links of the pages not committed yet.
    async fn front(&self, object: ObjectType, items: Vec<(SourceObject, Option<Link>, bool)>) -> Front {
        self.pages().front(object, items, self.recent_targets()).await
    }

    /// [`Pages::back`].
    async fn back(&self, f: Front) -> Vec<ObjectResult> {
        self.pages().back(f).await
    }

    /// Runs `f` over links with the job's concurrency, results in order.
    async fn each_link<F, Fut>(&self, links: Vec<Link>, f: F) -> Vec<ObjectResult>
    where
        F: Fn(Link) -> Fut,
        Fut: std::future::Future<Output = ObjectResult>,
    {
        stream::iter(links).map(f).buffered(self.setup.concurrency.max(1)).collect().await
    }

    fn mapping_enabled(&self, object: ObjectType) -> bool {
        match object {
            ObjectType::User => self.setup.mappings.user.mapping().enabled,
            ObjectType::Group => self.setup.mappings.group.mapping().enabled,
        }
    }

    /// Initial cycle: every user (or group) in id order, a page at a time (`managers`: only the users
    /// that manage someone; they are counted when the `users` scan meets them again, linked).
    /// Pipelined: while a page's creates are out (and its results are folded in), the next page is read,
    /// matched and prepared, and the page before is written; a crash loses at most the uncommitted
    /// pages, which the resumed cycle matches again (adopting what they created). The `managers` scan
    /// prepares a page only once the page before is linked, so that managers of managers carry their
    /// references.
    async fn scan(&mut self, object: ObjectType, managers: bool) -> Result<Option<RunOutcome>, SyncError> {
        if !self.mapping_enabled(object) {
            return Ok(None);
        }
        let app = self.setup.app_id.clone();
        let index = {
            let mut c = self.store.conn().await?;
            if object == ObjectType::Group {
                // Every group's memberships are checked in an initial cycle (see `read_page`); marked
                // here once, so that the user scans need not mark the groups of the users they link.
                st::mark_all_groups_pending(&mut c, &app).await?;
            }
            ScopeIndex::build(&mut c, &app, self.setup.settings.scope).await?
        };
        // Results folded into the job, not queued for writing yet.
        let mut pending: Option<PageWrite> = None;
        // Page writes in flight, oldest first. A write may run on while the next page is sent (users
        // and groups scans): the write stage is the slowest, and this keeps a slow write (a WAL
        // checkpoint) from holding up the pages behind it. The managers scan waits for each write
        // within its page, so that managers of managers find their targets committed.
        let mut writes = Writes::new(&self.store).await;
        let ahead = if managers { 0 } else { WRITES_AHEAD };
        // A page matched and prepared whose creates are not sent yet, with its object count and last id.
        let mut sending: Option<(Front, u64, Option<String>)> = None;
        let mut after = self.job.cursor.clone().unwrap_or_default();
        let mut exhausted = false;
        loop {
            if exhausted && sending.is_none() {
                if let Some(w) = pending.take() {
                    writes.push(&self.store, w);
                }
                return match writes.drain().await? {
                    Some(written) => self.after_write(written).await,
                    None => Ok(None),
                };
            }
            let t0 = std::time::Instant::now();
            if let Some(w) = pending.take() {
                writes.push(&self.store, w);
            }
            let this = &*self;
            let (index, after_ref) = (&index, after.as_str());
            // The three stages run as tasks of their own, so that their CPU work (mapping and
            // preparing the next page; encoding the creates and reading their answers; encoding the
            // page write) spreads over the runtime's worker threads instead of taking turns on one.
            let pages = self.pages();
            let recent = self.recent_targets();
            let read = async move {
                if exhausted {
                    return Ok::<_, SyncError>(None);
                }
                let Some((items, n, last)) = this.read_page(object, managers, after_ref, index).await? else {
                    return Ok(None);
                };
                let front = joined(tokio::spawn(pages.front(object, items, recent))).await;
                Ok(Some((front, n, last)))
            };
            let back_pages = self.pages();
            let send = async move {
                match sending {
                    Some((f, n, last)) => Some((joined(tokio::spawn(back_pages.back(f))).await, n, last)),
                    None => None,
                }
            };
            let (next, mut done, written) = tokio::join!(read, send, writes.settle(ahead));
            let written = written?;
            sending = None;
            match next? {
                Some((f, n, last)) => {
                    after = last.clone().unwrap_or_default();
                    if managers {
                        // No page in flight across iterations: this page's creates go now.
                        done = Some((self.back(f).await, n, last));
                    } else {
                        sending = Some((f, n, last));
                    }
                }
                None => exhausted = true,
            }
            let t1 = std::time::Instant::now();
            let stop = self.stops(written);
            let Some((results, n, last)) = done else {
                if let Some(written) = stop {
                    writes.drain().await?;
                    return self.after_write(written).await;
                }
                continue;
            };
            let mut w = self.prepare(results, n, last);
            if object == ObjectType::User {
                // The `groups` scan that follows marks every linked group's memberships to be checked, so
                // the groups containing the users linked here need no marking (a query and an UPDATE per
                // page).
                w.membership.clear();
            }
            tracing::debug!(ms = (t1 - t0).as_millis() as u64, "page");
            if let Some(written) = stop {
                // Stopping (pause): the pages sent are written first, then the stop. The page prepared
                // meanwhile gets its creates too, so that it stops at an object boundary.
                writes.drain().await?;
                let fatal = w.fatal.is_some();
                write_page(&self.store, w).await?;
                if let Some((f, n, last)) = sending.take().filter(|_| !fatal) {
                    let results = self.back(f).await;
                    let w = self.prepare(results, n, last);
                    write_page(&self.store, w).await?;
                }
                return self.after_write(written).await;
            }
            if w.fatal.is_some() {
                // A failure that stops the job: the page prepared meanwhile is dropped unsent (the
                // next run processes it again, as after a crash). The pages before are written first.
                writes.drain().await?;
                return self.write_checked(w).await;
            }
            pending = Some(w);
        }
    }

    /// Reads a page of the initial scan after `after`: the objects with their links and assignment,
    /// how many count as processed, and the last id.
    async fn read_page(
        &self,
        object: ObjectType,
        managers: bool,
        after: &str,
        index: &ScopeIndex,
    ) -> Result<Option<(Vec<(SourceObject, Option<Link>, bool)>, u64, Option<String>)>, SyncError> {
        let app = &self.setup.app_id;
        let (objs, links) = {
            let mut c = self.store.conn().await?;
            let objs: Vec<SourceObject> = match object {
                ObjectType::User if managers => {
                    let ids = st::manager_ids_after(&mut c, after, PAGE).await?;
                    let mut found = users::get_many(&mut c, &ids).await?;
                    found.sort_by_key(|u| u.id.to_string());
                    found.into_iter().map(|u| SourceObject::User(Box::new(u))).collect()
                }
                ObjectType::User => {
                    users::by_id_after(&mut c, after, PAGE).await?.into_iter().map(|u| SourceObject::User(Box::new(u))).collect()
                }
                ObjectType::Group => {
                    groups::by_id_after(&mut c, after, PAGE).await?.into_iter().map(|g| SourceObject::Group(Box::new(g))).collect()
                }
            };
            let ids: Vec<String> = objs.iter().map(|o| o.id()).collect();
            let links = st::links(&mut c, app, &ids).await?;
            (objs, links)
        };
        if objs.is_empty() {
            return Ok(None);
        }
        let last = objs.last().map(|o| o.id());
        let n = if managers { 0 } else { objs.len() as u64 };
        let items: Vec<(SourceObject, Option<Link>, bool)> = objs
            .into_iter()
            .map(|o| {
                let id = o.id();
                let assigned = match object {
                    ObjectType::User => index.user(&id),
                    ObjectType::Group => index.group(&id),
                };
                let mut link = links.get(&id).cloned();
                if object == ObjectType::Group {
                    // Every group's memberships are checked in an initial cycle.
                    if let Some(l) = link.as_mut().filter(|l| l.linked()) {
                        l.refs_pending = true;
                    }
                }
                (o, link, assigned)
            })
            .collect();
        Ok(Some((items, n, last)))
    }

    /// Initial cycle: links whose directory object no longer exists.
    async fn orphans(&mut self) -> Result<Option<RunOutcome>, SyncError> {
        let app = self.setup.app_id.clone();
        loop {
            let after = self.job.cursor.clone().unwrap_or_default();
            let links = {
                let mut c = self.store.conn().await?;
                st::orphans(&mut c, &app, &after, PAGE).await?
            };
            if links.is_empty() {
                return Ok(None);
            }
            self.job.cursor = links.last().map(|l| l.source_id.clone());
            let mut results = Vec::new();
            for object in [ObjectType::User, ObjectType::Group] {
                let items: Vec<(SourceObject, Option<Link>, bool)> = links
                    .iter()
                    .filter(|l| l.object_type == object_type_name(object))
                    .map(|l| (SourceObject::Gone { id: l.source_id.clone(), object_type: l.object_type.clone() }, Some(l.clone()), false))
                    .collect();
                results.extend(self.process_all(object, items).await);
            }
            if let Some(out) = self.commit(results, 0).await? {
                return Ok(Some(out));
            }
        }
    }

    /// Incremental cycle: the objects changed since the watermark, and escrowed objects that are due.
    async fn changes(&mut self) -> Result<Option<RunOutcome>, SyncError> {
        let app = self.setup.app_id.clone();
        let from = self.job.watermark.unwrap_or(0);
        let to = self.job.cycle_head.unwrap_or(from);
        let mut user_ids: Vec<String> = Vec::new();
        let mut group_ids: Vec<String> = Vec::new();
        let mut member_groups: Vec<String> = Vec::new();
        let mut expand: Vec<String> = Vec::new();
        {
            let mut c = self.store.conn().await?;
            let mut after = from;
            while after < to {
                let batch = changes::since(&mut c, after, 5_000).await?;
                if batch.is_empty() {
                    break;
                }
                for ch in &batch {
                    if ch.seq > to {
                        break;
                    }
                    match ch.object_type.as_str() {
                        "user" => user_ids.push(ch.object_id.clone()),
                        "group" => {
                            group_ids.push(ch.object_id.clone());
                            if let Some(m) = ch.detail.get("memberId").and_then(|v| v.as_str()) {
                                member_groups.push(ch.object_id.clone());
                                match ch.detail.get("memberKind").and_then(|v| v.as_str()) {
                                    Some("group") => expand.push(m.to_string()),
                                    _ => user_ids.push(m.to_string()),
                                }
                            }
                        }
                        "app" if ch.object_id == app => {
                            if let Some(a) = ch.detail.get("assignment") {
                                let pid = a.get("principalId").and_then(|v| v.as_str()).unwrap_or_default().to_string();
                                if a.get("principalType").and_then(|v| v.as_str()) == Some("group") {
                                    group_ids.push(pid.clone());
                                    expand.push(pid);
                                } else {
                                    user_ids.push(pid);
                                }
                            }
                        }
                        _ => {}
                    }
                }
                after = batch.last().map(|c| c.seq).unwrap_or(to);
            }
            if !expand.is_empty() {
                user_ids.extend(scope::expand_groups(&mut c, &expand).await?);
            }
            for (id, kind) in st::escrow_due(&mut c, &app, now_ms(), 100_000).await? {
                if kind == "group" {
                    group_ids.push(id)
                } else {
                    user_ids.push(id)
                }
            }
            member_groups.sort();
            member_groups.dedup();
            st::mark_refs_pending(&mut c, &app, &member_groups).await?;
        }
        for ids in [&mut user_ids, &mut group_ids] {
            ids.sort();
            ids.dedup();
        }
        self.job.progress.total = (user_ids.len() + group_ids.len()) as u64;
        for (object, ids) in [(ObjectType::User, user_ids), (ObjectType::Group, group_ids)] {
            if !self.mapping_enabled(object) {
                continue;
            }
            for chunk in ids.chunks(PAGE as usize) {
                let items = self.load_items(object, chunk).await?;
                let results = self.process_all(object, items).await;
                if let Some(out) = self.commit(results, chunk.len() as u64).await? {
                    return Ok(Some(out));
                }
            }
        }
        Ok(None)
    }

    /// The source objects (or Gone), links and assignment of `ids`.
    async fn load_items(&self, object: ObjectType, ids: &[String]) -> Result<Vec<(SourceObject, Option<Link>, bool)>, SyncError> {
        let app = &self.setup.app_id;
        let scope_setting = self.setup.settings.scope;
        let mut c = self.store.conn().await?;
        let mut found: HashMap<String, SourceObject> = match object {
            ObjectType::User => {
                users::get_many(&mut c, ids).await?.into_iter().map(|u| (u.id.to_string(), SourceObject::User(Box::new(u)))).collect()
            }
            ObjectType::Group => {
                groups::get_many(&mut c, ids).await?.into_iter().map(|g| (g.id.to_string(), SourceObject::Group(Box::new(g)))).collect()
            }
        };
        let links = st::links(&mut c, app, ids).await?;
        let mut items = Vec::with_capacity(ids.len());
        for id in ids {
            let obj = found
                .remove(id)
                .unwrap_or_else(|| SourceObject::Gone { id: id.clone(), object_type: object_type_name(object).to_string() });
            if matches!(obj, SourceObject::Gone { .. }) && !links.contains_key(id) {
                continue;
            }
            let assigned = match (&obj, object) {
                (SourceObject::Gone { .. }, _) => false,
                (_, ObjectType::User) => scope::user_assigned(&mut c, app, scope_setting, id).await?,
                (_, ObjectType::Group) => scope::group_assigned(&mut c, app, scope_setting, id).await?,
            };
            items.push((obj, links.get(id).cloned(), assigned));
        }
        Ok(items)
    }

    /// Writes references (managers) of users whose references changed, once their targets exist.
    async fn references(&mut self) -> Result<Option<RunOutcome>, SyncError> {
        self.link_pages(
            |r: &Runner, after: String| Box::pin(r.references_page(after)),
            |p: Pages, (links, sources, targets): ReferencesPage| {
                Box::pin(async move {
                    let concurrency = p.setup.concurrency.max(1);
                    let (setup, connector, cycle_id) = (&*p.setup, p.connector.as_ref(), p.cycle_id.as_str());
                    let (sources, targets) = (&sources, &targets);
                    stream::iter(links)
                        .map(|l| write_references(setup, connector, cycle_id, l, sources, targets))
                        .buffered(concurrency)
                        .collect()
                        .await
                })
            },
        )
        .await
    }

    /// A page of users whose references are pending, after `after`: their links, the users, and the
    /// target ids of their managers; with the page's last id.
    async fn references_page(&self, after: String) -> Result<Option<(ReferencesPage, String)>, SyncError> {
        let app = &self.setup.app_id;
        let mut c = self.store.conn().await?;
        let Some((links, ids, last)) = pending_page(&mut c, app, "user", &after, PAGE).await? else {
            return Ok(None);
        };
        let sources: HashMap<String, crate::model::User> =
            users::get_many(&mut c, &ids).await?.into_iter().map(|u| (u.id.to_string(), u)).collect();
        let referenced: Vec<String> = sources.values().filter_map(|u| u.manager.as_ref().map(|m| m.id.clone())).collect();
        let targets = st::active_target_ids(&mut c, app, &referenced).await?;
        Ok(Some(((links, sources, targets), last)))
    }

    /// Writes group memberships of groups marked pending.
    async fn members(&mut self) -> Result<Option<RunOutcome>, SyncError> {
        if !self.setup.sync_members || !self.mapping_enabled(ObjectType::Group) {
            return Ok(None);
        }
        self.link_pages(
            |r: &Runner, after: String| Box::pin(r.members_page(after)),
            |p: Pages, page: Vec<(Link, Vec<String>)>| {
                Box::pin(async move { write_members(&p.setup, p.connector.as_ref(), &p.cycle_id, page).await })
            },
        )
        .await
    }

    /// A page of groups whose memberships are pending, after `after`, each with the target ids of the
    /// members it should have; with the page's last id.
    async fn members_page(&self, after: String) -> Result<Option<(Vec<(Link, Vec<String>)>, String)>, SyncError> {
        let app = &self.setup.app_id;
        let mut c = self.store.conn().await?;
        let Some((links, ids, last)) = pending_page(&mut c, app, "group", &after, MEMBER_PAGE).await? else {
            return Ok(None);
        };
        let mut desired: HashMap<String, Vec<String>> = HashMap::new();
        for (g, t) in st::member_targets(&mut c, app, &ids).await? {
            desired.entry(g).or_default().push(t);
        }
        let page = links
            .into_iter()
            .map(|l| {
                let want = desired.remove(&l.source_id).unwrap_or_default();
                (l, want)
            })
            .collect();
        Ok(Some((page, last)))
    }

    /// Runs a phase over pages of links from the phase's cursor on, pipelined like a scan: while a
    /// page's requests are out (`send`, a task of its own), the next page is read (`read`: the page
    /// after an id, with its last id) and the page before is written. The cursor moves with each
    /// written page, so a crash or a stop resumes after the last page written.
    async fn link_pages<T, R, S>(&mut self, read: R, send: S) -> Result<Option<RunOutcome>, SyncError>
    where
        T: Send + 'static,
        R: for<'a> Fn(&'a Runner, String) -> BoxFuture<'a, Result<Option<(T, String)>, SyncError>>,
        S: Fn(Pages, T) -> BoxFuture<'static, Vec<ObjectResult>>,
    {
        let mut page = read(self, self.job.cursor.clone().unwrap_or_default()).await?;
        // A page's results folded into the job, not written yet.
        let mut pending: Option<PageWrite> = None;
        loop {
            let Some((items, last)) = page.take() else {
                return match pending.take() {
                    Some(w) => self.write_checked(w).await,
                    None => Ok(None),
                };
            };
            let write = self.write_previous(pending.take());
            let t0 = std::time::Instant::now();
            let sending = joined(tokio::spawn(send(self.pages(), items)));
            let ((next, read_ms), (results, send_ms), (written, write_ms)) =
                tokio::join!(timed(t0, read(self, last.clone())), timed(t0, sending), timed(t0, write));
            tracing::debug!(read_ms, send_ms, write_ms, "link page");
            let written = written?;
            let w = self.prepare(results, 0, Some(last));
            if let Some(written) = self.stops(written) {
                // Stopping: the page just sent is written first, then the stop.
                write_page(&self.store, w).await?;
                return self.after_write(written).await;
            }
            if w.fatal.is_some() {
                return self.write_checked(w).await;
            }
            pending = Some(w);
            page = next?;
        }
    }

    /// Sends the staged disables/deletes, unless there are more than the threshold (then holds them
    /// back and waits for an admin). `allowed`: an admin allowed exactly the staged set.
    async fn deprovision(&mut self, allowed: bool) -> Result<Option<RunOutcome>, SyncError> {
        let app = self.setup.app_id.clone();
        let staged = {
            let mut c = self.store.conn().await?;
            st::staged(&mut c, &app).await?
        };
        let threshold = self.setup.settings.deletion_threshold;
        if !allowed && self.setup.settings.prevent_accidental_deletion && staged.len() > threshold as usize {
            let cycle_id = self.job.cycle_id.clone().unwrap_or_default();
            let logs: Vec<LogEntry> = staged
                .iter()
                .map(|l| {
                    let object = if l.object_type == "group" { ObjectType::Group } else { ObjectType::User };
                    object::staged_entry(&ctx(&self.setup, self.connector.as_ref(), &cycle_id, object), l, threshold, staged.len())
                })
                .collect();
            self.job.state = JobState::DeletesStaged;
            self.job.quarantine_reason = Some("TooManyDeletes".into());
            self.job.quarantine_detail = Some(format!(
                "this cycle would disable or delete {} accounts, more than the accidental-deletion threshold of {threshold}; none was sent",
                staged.len()
            ));
            self.job.quarantine_since = Some(now_ms());
            let alert = self.setup.alert_facts().deletions_staged(staged.len(), threshold);
            let mut tx = self.store.begin().await?;
            if !st::save_job(&mut tx, &self.job, self.epoch, now_ms() + self.setup.lease_ms).await? {
                return Err(SyncError::Fenced);
            }
            st::insert_logs(&mut tx, &logs).await?;
            crate::store::alerts::insert(&mut tx, &alert).await?;
            tx.commit().await?;
            return Ok(Some(RunOutcome::DeletesStaged(staged.len())));
        }
        for chunk in staged.chunks(PAGE as usize) {
            let cycle_id = self.job.cycle_id.clone().unwrap_or_default();
            let (setup, connector) = (&*self.setup, self.connector.as_ref());
            let results = self
                .each_link(chunk.to_vec(), |l| {
                    let cycle_id = cycle_id.clone();
                    async move {
                        let object = if l.object_type == "group" { ObjectType::Group } else { ObjectType::User };
                        object::run_staged(&ctx(setup, connector, &cycle_id, object), &l).await
                    }
                })
                .await;
            if let Some(out) = self.commit(results, 0).await? {
                return Ok(Some(out));
            }
        }
        if self.job.quarantine_reason.as_deref() == Some("TooManyDeletes") {
            self.job.quarantine_reason = None;
            self.job.quarantine_detail = None;
            self.job.quarantine_since = None;
        }
        Ok(None)
    }

    /// Completes the cycle: watermark, figures, quarantine by failure rate, next run.
    async fn finish(&mut self) -> Result<RunOutcome, SyncError> {
        let now = now_ms();
        let kind = self.job.cycle_kind.unwrap_or(CycleKind::Incremental);
        let failed = self.counts.failed;
        let processed = self.job.progress.processed.max(1);
        let in_scope = {
            let mut c = self.store.conn().await?;
            let (u, g, _, _) = st::counts(&mut c, &self.setup.app_id).await?;
            u + g + failed
        };
        let j = &mut self.job;
        j.watermark = j.cycle_head.or(j.watermark);
        j.fingerprint = Some(self.setup.fingerprint.clone());
        if kind == CycleKind::Initial {
            j.initial_done = true;
        }
        j.last_counts = self.counts;
        j.last_cycle_at = Some(now);
        j.last_cycle_ms = j.cycle_started_at.map(|s| now - s);
        j.phase = None;
        j.cursor = None;
        j.state = JobState::Idle;
        j.next_run_at = Some(now + i64::from(self.setup.settings.interval_minutes) * 60_000);
        if policy::failure_rate_quarantines(failed, processed, in_scope) {
            let detail =
                format!("{failed} of {processed} objects failed in this cycle (over 40%); see the provisioning logs for the errors");
            return self.quarantine("EncounteredEscrowProportionThreshold", &detail).await;
        }
        j.quarantine_reason = None;
        j.quarantine_detail = None;
        j.quarantine_since = None;
        j.quarantine_level = 0;
        self.save().await?;
        Ok(RunOutcome::Completed { kind, counts: self.counts })
    }
}

/// The page stages of a scan ([`Pages::front`], [`Pages::back`]) with what they need, owned.
#[derive(Clone)]
struct Pages {
    store: Store,
    setup: Arc<JobSetup>,
    connector: Arc<dyn Connector>,
    cycle_id: String,
}

impl Pages {
    /// The first half of [`Runner::process_all`]: matching, then each object up to its create.
    async fn front(self, object: ObjectType, items: Vec<(SourceObject, Option<Link>, bool)>, recent: HashMap<String, String>) -> Front {
        let cycle_id = self.cycle_id.clone();
        // The managers of these users that the job already manages: their references go into the creates.
        let known = if object == ObjectType::User {
            let referenced: Vec<String> = items
                .iter()
                .filter_map(|(o, _, _)| if let SourceObject::User(u) = o { u.manager.as_ref().map(|m| m.id.clone()) } else { None })
                .collect();
            let mut known = match self.store.conn().await {
                Ok(mut c) => st::active_target_ids(&mut c, &self.setup.app_id, &referenced).await.unwrap_or_default(),
                Err(_) => HashMap::new(),
            };
            // The previous page may not be committed yet (its write overlaps this page).
            for id in referenced {
                if let Some(t) = recent.get(&id) {
                    known.entry(id).or_insert_with(|| t.clone());
                }
            }
            known
        } else {
            HashMap::new()
        };
        let t0 = std::time::Instant::now();
        let (results, pending, halted, t1) = {
            let mut ctx = ctx(&self.setup, self.connector.as_ref(), &cycle_id, object);
            ctx.known_targets = Some(&known);
            let ctx = &ctx;
            let concurrency = self.setup.concurrency.max(1);
            let prematched = self.prematch(ctx, &items).await;
            let t1 = std::time::Instant::now();
            // After a failure that stops the job (401/403, not SCIM), objects not yet started are left for
            // the next run instead of each meeting the same failure.
            let halt = std::sync::atomic::AtomicBool::new(false);
            let halt = &halt;
            let items = &items;
            // The futures are made first: a stream over a borrowing closure trips the `Send` check of the
            // scheduler's spawned task.
            let prepares: Vec<_> = items
                .iter()
                .zip(prematched)
                .map(|((o, l, assigned), pre)| async move {
                    if halt.load(std::sync::atomic::Ordering::Relaxed) {
                        return None;
                    }
                    let mut env = SystemEnv::new();
                    let p = object::prepare(ctx, o, l.as_ref(), *assigned, pre, &mut env).await;
                    if matches!(&p, object::Prepared::Done(r) if r.fatal.is_some()) {
                        halt.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    Some(p)
                })
                .collect();
            let prepared: Vec<Option<object::Prepared>> = stream::iter(prepares).buffered(concurrency).collect().await;
            let mut results: Vec<Option<ObjectResult>> = Vec::with_capacity(items.len());
            let mut pending: Vec<(usize, Box<object::PendingCreate>)> = Vec::new();
            for (i, p) in prepared.into_iter().enumerate() {
                match p {
                    Some(object::Prepared::Done(r)) => results.push(Some(r)),
                    Some(object::Prepared::Create(c)) => {
                        results.push(None);
                        pending.push((i, c));
                    }
                    None => results.push(Some(ObjectResult::default())),
                }
            }
            (results, pending, halt.load(std::sync::atomic::Ordering::Relaxed), t1)
        };
        Front {
            object,
            cycle_id,
            items,
            known,
            results,
            pending,
            halted,
            match_ms: (t1 - t0).as_millis() as u64,
            prepare_ms: t1.elapsed().as_millis() as u64,
        }
    }

    /// The second half of [`Runner::process_all`]: the creates of a page (none when the page met a
    /// failure that stops the job), then what each create's answer means.
    async fn back(self, f: Front) -> Vec<ObjectResult> {
        let Front { object, cycle_id, items, known, mut results, mut pending, halted, match_ms, prepare_ms } = f;
        let mut ctx = ctx(&self.setup, self.connector.as_ref(), &cycle_id, object);
        ctx.known_targets = Some(&known);
        let ctx = &ctx;
        let concurrency = self.setup.concurrency.max(1);
        let halt = std::sync::atomic::AtomicBool::new(halted);
        let items = &items;
        let t2 = std::time::Instant::now();
        // Creates in waves: one whose reference points at an object of this page still to be created
        // waits for the next wave (or goes without it when nothing else is left).
        let mut sent = Vec::with_capacity(pending.len());
        let mut wave_known = known.clone();
        while !pending.is_empty() && !halt.load(std::sync::atomic::Ordering::Relaxed) {
            let waiting: HashSet<String> = pending.iter().map(|(i, _)| items[*i].0.id()).collect();
            let (mut go, mut hold) = (Vec::new(), Vec::new());
            for (i, mut c) in pending {
                if !c.attach_refs(&wave_known) && c.waiting_for().iter().any(|id| waiting.contains(*id)) {
                    hold.push((i, c));
                } else {
                    go.push((i, c));
                }
            }
            if go.is_empty() {
                std::mem::swap(&mut go, &mut hold);
            }
            let bodies: Vec<serde_json::Value> = go.iter_mut().map(|(_, c)| c.take_body()).collect();
            let answers = self.connector.create_many(object, bodies).await;
            for ((i, c), a) in go.into_iter().zip(answers) {
                match &a {
                    Ok(s) => {
                        wave_known.insert(items[i].0.id(), s.value.id.clone());
                    }
                    Err(e) if e.quarantines() => halt.store(true, std::sync::atomic::Ordering::Relaxed),
                    Err(_) => {}
                }
                sent.push((i, c, a));
            }
            pending = hold;
        }
        let t3 = std::time::Instant::now();
        let finishes: Vec<_> = sent
            .into_iter()
            .map(|(i, c, a)| async move {
                let mut env = SystemEnv::new();
                let (o, l, _) = &items[i];
                (i, object::finish_create(ctx, o, l.as_ref(), *c, a, &mut env).await)
            })
            .collect();
        let finished: Vec<(usize, ObjectResult)> = stream::iter(finishes).buffered(concurrency).collect().await;
        for (i, r) in finished {
            results[i] = Some(r);
        }
        tracing::debug!(
            match_ms,
            prepare_ms,
            create_ms = (t3 - t2).as_millis() as u64,
            finish_ms = t3.elapsed().as_millis() as u64,
            "page processed"
        );
        results.into_iter().map(Option::unwrap_or_default).collect()
    }

    /// Matching queries for the objects of a page that are in scope and not linked, batched per
    /// precedence level and attribute: the second attribute is only asked for the objects the first
    /// did not find. One list of answers per object, in its queries' order (`None`: not asked).
    async fn prematch(&self, ctx: &ObjectContext<'_>, items: &[(SourceObject, Option<Link>, bool)]) -> Vec<Option<object::Prematched>> {
        let plans: Vec<Option<Vec<crate::mapping::MatchQuery>>> = items
            .iter()
            .map(|(o, l, assigned)| {
                if l.as_ref().is_some_and(|l| l.linked()) || !object::in_scope(o, *assigned, ctx.mapping) {
                    return None;
                }
                let mut env = SystemEnv::new();
                crate::mapping::matching::plan(o.as_source()?, ctx.mapping, &mut env).ok()
            })
            .collect();
        let mut out: Vec<Option<object::Prematched>> = plans.iter().map(|p| p.as_ref().map(|_| Vec::new())).collect();
        let depth = plans.iter().flatten().map(Vec::len).max().unwrap_or(0);
        for level in 0..depth {
            let mut asks: BTreeMap<String, (Vec<usize>, Vec<String>)> = BTreeMap::new();
            for (i, plan) in plans.iter().enumerate() {
                let (Some(plan), Some(answers)) = (plan, out[i].as_ref()) else { continue };
                let open = answers.len() == level && answers.iter().all(|a| matches!(a, Ok(s) if s.value.is_none()));
                if let (true, Some(q)) = (open, plan.get(level)) {
                    let e = asks.entry(q.target.clone()).or_default();
                    e.0.push(i);
                    e.1.push(q.value.clone());
                }
            }
            for (attribute, (idx, values)) in asks {
                let answers = self.connector.find_many(ctx.mapping.object(), &attribute, &values).await;
                for (i, a) in idx.into_iter().zip(answers) {
                    if let Some(v) = out[i].as_mut() {
                        v.push(a);
                    }
                }
            }
        }
        out
    }
}

/// A page of the links of one object type with pending references, after `after`: the links, their
/// source ids and the last one (`None` when there are no more).
async fn pending_page(
    c: &mut sqlx::AnyConnection,
    app: &str,
    object_type: &str,
    after: &str,
    limit: i64,
) -> Result<Option<(Vec<Link>, Vec<String>, String)>, SyncError> {
    let links = st::pending_refs(c, app, object_type, after, limit).await?;
    let ids: Vec<String> = links.iter().map(|l| l.source_id.clone()).collect();
    Ok(ids.last().cloned().map(|last| (links, ids, last)))
}

/// Awaits `f`; with the milliseconds since `t0` when it finished.
async fn timed<T>(t0: std::time::Instant, f: impl std::future::Future<Output = T>) -> (T, u64) {
    let v = f.await;
    (v, t0.elapsed().as_millis() as u64)
}

/// Awaits a stage spawned as its own task; a panic in it goes on in the caller.
async fn joined<T>(h: tokio::task::JoinHandle<T>) -> T {
    match h.await {
        Ok(v) => v,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("a page stage was cancelled: {e}"),
    }
}

/// A page of the `references` phase: the links, their users, and their managers' target ids.
type ReferencesPage = (Vec<Link>, HashMap<String, crate::model::User>, HashMap<String, String>);

/// A page matched and prepared up to its creates ([`Pages::front`]), for [`Pages::back`].
struct Front {
    object: ObjectType,
    cycle_id: String,
    items: Vec<(SourceObject, Option<Link>, bool)>,
    /// Target ids of referenced objects known when the page was prepared.
    known: HashMap<String, String>,
    /// Per item: its result, or `None` while its create is pending.
    results: Vec<Option<ObjectResult>>,
    pending: Vec<(usize, Box<object::PendingCreate>)>,
    /// A failure that stops the job was met: no creates are sent.
    halted: bool,
    match_ms: u64,
    prepare_ms: u64,
}

/// One page's writes: the job row as of that page, links, logs and memberships to mark.
struct PageWrite {
    app: String,
    epoch: i64,
    lease_ms: i64,
    sync_members: bool,
    job: JobRow,
    put: Vec<Link>,
    unlink: Vec<String>,
    logs: Vec<LogEntry>,
    membership: Vec<String>,
    fatal: Option<crate::connector::ConnectorError>,
}

/// What writing a page found out.
struct Written {
    /// Status was still On.
    enabled: bool,
    /// The page met a failure that stops the job.
    fatal: Option<crate::connector::ConnectorError>,
}

/// How many page writes a scan may leave running behind the page being sent (see [`Writes`]).
const WRITES_AHEAD: usize = 1;

/// A scan's page writes in flight, each a task of its own that commits after the one before it, so
/// that pages are written in order; oldest first. The kept connection ([`Store::writer`], when the
/// store lends one) goes from each write to the next with the word that the write committed.
struct Writes {
    queue: std::collections::VecDeque<tokio::task::JoinHandle<Result<Written, SyncError>>>,
    /// Answers when the newest write has committed, with the kept connection; closed unanswered when
    /// it failed.
    last: tokio::sync::oneshot::Receiver<Option<crate::store::Writer>>,
}

impl Writes {
    /// A scan's writes, through one connection of `store` when it lends one.
    async fn new(store: &Store) -> Writes {
        let (ready, last) = tokio::sync::oneshot::channel();
        let _ = ready.send(store.writer().await);
        Writes { queue: Default::default(), last }
    }

    /// Starts writing `w` once the writes before it have committed.
    fn push(&mut self, store: &Store, w: PageWrite) {
        let (done, committed) = tokio::sync::oneshot::channel();
        let before = std::mem::replace(&mut self.last, committed);
        let store = store.clone();
        self.queue.push_back(tokio::spawn(async move {
            // Encoded while the write before commits.
            let e = w.encode();
            let mut kept = before.await.map_err(|_| SyncError::Invalid("not written: the page write before it failed".into()))?;
            let written = write_encoded(&store, kept.as_mut().map(|k| &mut k.conn), e).await?;
            let _ = done.send(kept);
            Ok(written)
        }));
    }

    /// Waits for the oldest writes until at most `ahead` are left: the first of them that found status
    /// Off, or else the last one waited for.
    async fn settle(&mut self, ahead: usize) -> Result<Option<Written>, SyncError> {
        let mut out: Option<Written> = None;
        while self.queue.len() > ahead {
            let h = self.queue.pop_front().expect("queue longer than ahead");
            let written = joined(h).await?;
            // Queued pages carry no failure that stops the job (those are written at once), so the
            // first one that found status Off is kept.
            if out.as_ref().is_none_or(|o| o.enabled) {
                out = Some(written);
            }
        }
        Ok(out)
    }

    /// Waits for every write; see [`Writes::settle`].
    async fn drain(&mut self) -> Result<Option<Written>, SyncError> {
        self.settle(0).await
    }
}

/// A page write with its rows encoded ([`PageWrite::encode`]).
struct EncodedWrite {
    /// The page write, its links and log entries taken out.
    w: PageWrite,
    put: st::EncodedLinks,
    logs: st::EncodedLogs,
}

impl PageWrite {
    /// Encodes the links' exports and the log details as the JSON text stored: CPU work that a
    /// queued write does while the write before it commits.
    fn encode(mut self) -> EncodedWrite {
        let put = st::encode_links(std::mem::take(&mut self.put));
        let logs = st::encode_logs(std::mem::take(&mut self.logs));
        EncodedWrite { w: self, put, logs }
    }
}

/// Writes a page in one transaction, fenced by the job's epoch.
async fn write_page(store: &Store, w: PageWrite) -> Result<Written, SyncError> {
    write_encoded(store, None, w.encode()).await
}

/// [`write_page`] once encoded, through `conn` when given (else a connection of the pool).
async fn write_encoded(
    store: &Store,
    conn: Option<&mut sqlx::pool::PoolConnection<sqlx::Any>>,
    e: EncodedWrite,
) -> Result<Written, SyncError> {
    let EncodedWrite { w, put, logs } = e;
    let (links, entries) = (put.len(), logs.len());
    let started = std::time::Instant::now();
    let enabled = {
        let mut c = store.conn().await?;
        st::get_job(&mut c, &w.app).await?.map(|j| j.enabled).unwrap_or(false)
    };
    let mut tx = match conn {
        Some(c) => store.begin_on(c).await?,
        None => store.begin().await?,
    };
    if !st::save_job(&mut tx, &w.job, w.epoch, now_ms() + w.lease_ms).await? {
        return Err(SyncError::Fenced);
    }
    let t_links = std::time::Instant::now();
    st::put_encoded_links(&mut tx, &w.app, put, now_ms()).await?;
    st::delete_links(&mut tx, &w.app, &w.unlink).await?;
    let links_ms = t_links.elapsed().as_millis() as u64;
    st::insert_encoded_logs(&mut tx, logs).await?;
    let logs_ms = t_links.elapsed().as_millis() as u64 - links_ms;
    if !w.membership.is_empty() && w.sync_members {
        let containing: Vec<String> =
            groups::containing(&mut tx, &w.membership).await?.into_iter().map(|(g, _)| g).collect::<HashSet<_>>().into_iter().collect();
        st::mark_refs_pending(&mut tx, &w.app, &containing).await?;
    }
    let t_commit = std::time::Instant::now();
    tx.commit().await?;
    tracing::debug!(
        write_ms = started.elapsed().as_millis() as u64,
        links_ms,
        logs_ms,
        commit_ms = t_commit.elapsed().as_millis() as u64,
        links,
        logs = entries,
        "page written"
    );
    Ok(Written { enabled, fatal: w.fatal })
}

fn object_type_name(o: ObjectType) -> &'static str {
    match o {
        ObjectType::User => "user",
        ObjectType::Group => "group",
    }
}

fn log_for(
    setup: &JobSetup,
    cycle_id: &str,
    l: &Link,
    action: LogAction,
    status: LogStatus,
    steps: Vec<Step>,
    props: Vec<ModifiedProperty>,
) -> LogEntry {
    LogEntry {
        id: super::log::new_entry_id(),
        app_id: setup.app_id.clone(),
        cycle_id: cycle_id.to_string(),
        at: chrono::Utc::now(),
        source_id: l.source_id.clone(),
        object_type: l.object_type.clone(),
        display_name: l.display_name.clone(),
        target_id: l.target_id.clone(),
        action,
        status,
        error_code: None,
        detail: super::log::LogDetail { steps, modified_properties: props, ..Default::default() },
    }
}

fn reference_failure(setup: &JobSetup, cycle_id: &str, l: &Link, e: crate::connector::ConnectorError) -> ObjectResult {
    let mut log =
        log_for(setup, cycle_id, l, LogAction::Update, LogStatus::Failure, vec![Step::new("Export", false, e.message.clone())], Vec::new());
    log.error_code = Some(e.code().to_string());
    log.detail.error = Some(e.message.clone());
    log.detail.recommendation = Some(e.recommendation().to_string());
    log.detail.requests.extend(e.exchange.clone());
    let fatal = e.quarantines().then(|| e.clone());
    let mut next = l.clone();
    next.last_error = Some(e.message);
    ObjectResult { link: Some(next), log: Some(log), counts: Counts { failed: 1, ..Default::default() }, fatal, ..Default::default() }
}

async fn write_references(
    setup: &JobSetup,
    connector: &dyn Connector,
    cycle_id: &str,
    l: Link,
    sources: &HashMap<String, crate::model::User>,
    targets: &HashMap<String, String>,
) -> ObjectResult {
    let mut next = l.clone();
    next.refs_pending = false;
    let Some(user) = sources.get(&l.source_id) else {
        return ObjectResult { link: Some(next), ..Default::default() };
    };
    let (Some(tid), true) = (l.target_id.clone(), l.linked() && l.state == "active") else {
        return ObjectResult { link: Some(next), ..Default::default() };
    };
    let mut env = SystemEnv::new();
    let mut r = resolve(user, &setup.mappings.user, Phase::Update, &mut env);
    let raw = {
        let mut c = r.clone();
        c.take_references()
    };
    let mut want_refs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (p, v) in &raw {
        want_refs.insert(p.clone(), object::ref_ids(v));
    }
    let mut changes = Vec::new();
    let mut props = Vec::new();
    let mut exported_refs = l.exported.refs.clone();
    for (path, ids) in &want_refs {
        let translated: Vec<String> = ids.iter().filter_map(|i| targets.get(i).cloned()).collect();
        if translated.is_empty() {
            continue;
        }
        if l.exported.refs.get(path) == Some(ids) {
            continue;
        }
        let value = if translated.len() == 1 {
            json!({"value": translated[0]})
        } else {
            json!(translated.iter().map(|t| json!({"value": t})).collect::<Vec<_>>())
        };
        props.push(diff::property(path, None, Some(value.clone()), &setup.redacted_user));
        changes.push(AttributeChange { path: path.clone(), value: Some(value) });
        exported_refs.insert(path.clone(), ids.clone());
    }
    if changes.is_empty() {
        return ObjectResult { link: Some(next), ..Default::default() };
    }
    if !setup.mappings.user.mapping().actions.update {
        return ObjectResult { link: Some(next), ..Default::default() };
    }
    r.map_references(&|id| targets.get(id).cloned());
    let mut body = r.to_scim_json();
    if let Some(m) = body.as_object_mut() {
        m.insert("id".into(), json!(tid));
    }
    match connector.update(ObjectType::User, &tid, &changes, &body).await {
        Ok(sent) => {
            next.exported.refs = exported_refs;
            next.export_hash = next.exported.hash();
            let mut log = log_for(
                setup,
                cycle_id,
                &l,
                LogAction::Update,
                LogStatus::Success,
                vec![Step::new("Export", true, "references written (second pass, once their targets exist)")],
                props,
            );
            log.detail.requests = sent.exchanges;
            ObjectResult { link: Some(next), log: Some(log), ..Default::default() }
        }
        Err(e) => reference_failure(setup, cycle_id, &l, e),
    }
}

/// A group's membership change to send, or its result when there is nothing to send (not linked
/// or not active, no change, or Update not allowed).
#[allow(clippy::large_enum_variant)]
enum MembersPlan {
    /// Nothing to send.
    Done(ObjectResult),
    /// Send this change; `old` is how many members the target had.
    Send { link: Link, want: Vec<String>, change: crate::connector::MemberChange, old: usize },
}

fn plan_members(setup: &JobSetup, l: Link, mut want: Vec<String>) -> MembersPlan {
    let mut next = l.clone();
    next.refs_pending = false;
    let Some(tid) = l.target_id.clone().filter(|_| l.linked() && l.state == "active") else {
        return MembersPlan::Done(ObjectResult { link: Some(next), ..Default::default() });
    };
    want.sort();
    want.dedup();
    let old = l.exported.members.clone().unwrap_or_default();
    let (add, remove) = diff::member_changes(&old, &want);
    if add.is_empty() && remove.is_empty() {
        if l.exported.members.is_none() {
            next.exported.members = Some(want);
            next.export_hash = next.exported.hash();
        }
        return MembersPlan::Done(ObjectResult { link: Some(next), ..Default::default() });
    }
    if !setup.mappings.group.mapping().actions.update {
        return MembersPlan::Done(ObjectResult { link: Some(next), ..Default::default() });
    }
    MembersPlan::Send { link: l, want, change: crate::connector::MemberChange { group_id: tid, add, remove }, old: old.len() }
}

/// What sending a group's membership change did: the link with the new members, and its log entry.
fn members_result(
    setup: &JobSetup,
    cycle_id: &str,
    l: Link,
    want: Vec<String>,
    change: crate::connector::MemberChange,
    old: usize,
    outcome: crate::connector::ConnResult<()>,
) -> ObjectResult {
    let mut next = l.clone();
    next.refs_pending = false;
    match outcome {
        Ok(sent) => {
            next.exported.members = Some(want);
            next.export_hash = next.exported.hash();
            let (add, remove) = (change.add, change.remove);
            let step = Step::new("Export", true, format!("{} member(s) added, {} removed", add.len(), remove.len()));
            let prop = ModifiedProperty {
                name: "members".into(),
                old_value: Some(json!({"count": old})),
                new_value: Some(json!({"added": add, "removed": remove})),
            };
            let mut log = log_for(setup, cycle_id, &l, LogAction::Update, LogStatus::Success, vec![step], vec![prop]);
            log.detail.requests = sent.exchanges;
            ObjectResult { link: Some(next), log: Some(log), counts: Counts { updated: 1, ..Default::default() }, ..Default::default() }
        }
        Err(e) => {
            let mut r = reference_failure(setup, cycle_id, &l, e);
            if let Some(x) = r.link.as_mut() {
                x.refs_pending = true;
            }
            r
        }
    }
}

/// Writes the memberships of a page of groups: the changes go together
/// ([`Connector::update_members_many`]: `/Bulk` when the target offers it); results in order.
#[allow(clippy::result_large_err)]
async fn write_members(setup: &JobSetup, connector: &dyn Connector, cycle_id: &str, page: Vec<(Link, Vec<String>)>) -> Vec<ObjectResult> {
    let plans: Vec<MembersPlan> = page.into_iter().map(|(l, want)| plan_members(setup, l, want)).collect();
    let changes: Vec<crate::connector::MemberChange> =
        plans.iter().filter_map(|p| if let MembersPlan::Send { change, .. } = p { Some(change.clone()) } else { None }).collect();
    let mut outcomes = connector.update_members_many(&changes).await.into_iter();
    plans
        .into_iter()
        .map(|p| match p {
            MembersPlan::Done(r) => r,
            MembersPlan::Send { link, want, change, old } => {
                let outcome = outcomes.next().unwrap_or_else(|| {
                    Err(crate::connector::ConnectorError::new(
                        crate::connector::ErrorKind::NotScim,
                        "the change was not sent (internal error)",
                    ))
                });
                members_result(setup, cycle_id, link, want, change, old, outcome)
            }
        })
        .collect()
}
