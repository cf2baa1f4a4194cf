//! The job's state as the store keeps it and the status API shows it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where the job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum JobState {
    /// Waiting for its next cycle.
    Idle,
    /// A cycle is running (or was, when its process died: the next owner resumes it).
    Running,
    /// Turned Off (the cycle stopped at an object boundary; On resumes it).
    Paused,
    /// Stopped because of persistent failures; retried on the quarantine schedule.
    Quarantined,
    /// Accidental-deletion prevention held back disables/deletes; waiting for an admin.
    DeletesStaged,
}

impl JobState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Idle => "idle",
            JobState::Running => "running",
            JobState::Paused => "paused",
            JobState::Quarantined => "quarantined",
            JobState::DeletesStaged => "deletesStaged",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<JobState> {
        [JobState::Idle, JobState::Running, JobState::Paused, JobState::Quarantined, JobState::DeletesStaged]
            .into_iter()
            .find(|j| j.as_str() == s)
    }
}

/// Initial (everything in scope) or incremental (changes since the watermark).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CycleKind {
    /// Every object in scope is evaluated.
    Initial,
    /// Only directory changes since the watermark, and escrowed objects that are due.
    Incremental,
}

impl CycleKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CycleKind::Initial => "initial",
            CycleKind::Incremental => "incremental",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<CycleKind> {
        match s {
            "initial" => Some(CycleKind::Initial),
            "incremental" => Some(CycleKind::Incremental),
            _ => None,
        }
    }
}

/// Per-action counts of a cycle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Counts {
    /// Accounts created.
    pub created: u64,
    /// Accounts updated (or matched and linked).
    pub updated: u64,
    /// Accounts disabled.
    pub disabled: u64,
    /// Accounts deleted.
    pub deleted: u64,
    /// Objects skipped (out of scope, not allowed, unchanged are not counted).
    pub skipped: u64,
    /// Objects that failed (now in escrow).
    pub failed: u64,
}

impl Counts {
    /// Adds another count.
    pub fn add(&mut self, o: &Counts) {
        self.created += o.created;
        self.updated += o.updated;
        self.disabled += o.disabled;
        self.deleted += o.deleted;
        self.skipped += o.skipped;
        self.failed += o.failed;
    }
}

/// A running cycle's progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Progress {
    /// Objects evaluated so far.
    pub processed: u64,
    /// Objects to evaluate in this cycle (in scope, or changed).
    pub total: u64,
    /// What was done so far.
    pub counts: Counts,
}

/// The stored job row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRow {
    /// The app.
    pub app_id: String,
    /// Status On (true) or Off.
    pub enabled: bool,
    /// Where the job is.
    pub state: JobState,
    /// The current (or last) cycle's id.
    pub cycle_id: Option<String>,
    /// The current (or last) cycle's kind.
    pub cycle_kind: Option<CycleKind>,
    /// The phase a running cycle is in (`users`, `groups`, `references`, `members`, `deprovision`).
    pub phase: Option<String>,
    /// The last source id finished in that phase (resume point).
    pub cursor: Option<String>,
    /// The change-log position the running cycle reads up to.
    pub cycle_head: Option<i64>,
    /// When the running cycle started (Unix ms).
    pub cycle_started_at: Option<i64>,
    /// The change-log position every change up to which has been provisioned (None: initial cycle needed).
    pub watermark: Option<i64>,
    /// The mappings fingerprint of the last initial cycle (a different one makes the next cycle initial).
    pub fingerprint: Option<String>,
    /// Whether an initial cycle has completed.
    pub initial_done: bool,
    /// The running cycle's progress.
    pub progress: Progress,
    /// The last completed cycle's counts.
    pub last_counts: Counts,
    /// Why the job is quarantined.
    pub quarantine_reason: Option<String>,
    /// The failure that quarantined it, in words.
    pub quarantine_detail: Option<String>,
    /// Since when (Unix ms).
    pub quarantine_since: Option<i64>,
    /// How many cycles failed in quarantine (drives the schedule).
    pub quarantine_level: i64,
    /// When the next cycle is due (Unix ms).
    pub next_run_at: Option<i64>,
    /// An admin asked for a cycle now.
    pub run_requested: bool,
    /// An admin asked for a restart (`restart`) or a full reset (`full`), applied by the job's owner.
    pub reset_requested: Option<String>,
    /// An admin's answer to staged deletions (`allow` or `reject`), applied by the job's owner.
    pub deletes_decision: Option<String>,
    /// When the first cycle ran (Unix ms).
    pub first_cycle_at: Option<i64>,
    /// When the last cycle completed (Unix ms).
    pub last_cycle_at: Option<i64>,
    /// How long it took (ms).
    pub last_cycle_ms: Option<i64>,
    /// The process holding the lease.
    pub lease_owner: Option<String>,
    /// Until when (Unix ms).
    pub lease_expires_at: Option<i64>,
    /// The fencing token: incremented on every lease acquisition; every state write checks it.
    pub epoch: i64,
    /// Set on every write (Unix ms).
    pub updated_at: i64,
}

impl JobRow {
    /// A new job: Off, idle, no initial cycle yet.
    pub fn new(app_id: &str, now: i64) -> JobRow {
        JobRow {
            app_id: app_id.to_string(),
            enabled: false,
            state: JobState::Idle,
            cycle_id: None,
            cycle_kind: None,
            phase: None,
            cursor: None,
            cycle_head: None,
            cycle_started_at: None,
            watermark: None,
            fingerprint: None,
            initial_done: false,
            progress: Progress::default(),
            last_counts: Counts::default(),
            quarantine_reason: None,
            quarantine_detail: None,
            quarantine_since: None,
            quarantine_level: 0,
            next_run_at: None,
            run_requested: false,
            reset_requested: None,
            deletes_decision: None,
            first_cycle_at: None,
            last_cycle_at: None,
            last_cycle_ms: None,
            lease_owner: None,
            lease_expires_at: None,
            epoch: 0,
            updated_at: now,
        }
    }
}

/// The job's status as the API and the portal show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    /// Status On or Off.
    pub enabled: bool,
    /// Where the job is.
    pub state: JobState,
    /// The current or last cycle's kind.
    pub cycle_kind: Option<CycleKind>,
    /// The current or last cycle's id.
    pub cycle_id: Option<String>,
    /// The running cycle's progress (or the last one's final figures).
    pub progress: Progress,
    /// The last completed cycle's counts.
    pub last_counts: Counts,
    /// Whether an initial cycle has completed.
    pub initial_cycle_complete: bool,
    /// Quarantine, when the job is in it.
    pub quarantine: Option<Quarantine>,
    /// Disables/deletes held back, waiting for an admin.
    pub staged_deletions: u64,
    /// When the first cycle ran.
    pub first_cycle_at: Option<DateTime<Utc>>,
    /// When the last cycle completed.
    pub last_cycle_at: Option<DateTime<Utc>>,
    /// How long it took, in milliseconds.
    pub last_cycle_ms: Option<i64>,
    /// When the next cycle is due.
    pub next_run_at: Option<DateTime<Utc>>,
    /// Users the job manages (linked accounts).
    pub users_managed: u64,
    /// Groups the job manages.
    pub groups_managed: u64,
    /// Objects waiting in escrow for a retry.
    pub escrowed: u64,
}

/// Why and since when a job is quarantined, and what to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quarantine {
    /// Entra's reason code: `EncounteredQuarantineException`, `EncounteredEscrowProportionThreshold`, `TooManyDeletes`.
    pub reason: String,
    /// What happened.
    pub detail: String,
    /// What to do.
    pub recommendation: String,
    /// Since when.
    pub since: Option<DateTime<Utc>>,
}
