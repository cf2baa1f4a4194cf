//! Import jobs of the portal (server only): uploaded CSV files awaiting import, and the progress of
//! running imports, kept in this process for a short while.
//!
//! A job is created by the upload (with the file and its preview), started once by the admin who
//! uploaded it, and updated by the import task as rows are written. Jobs are forgotten an hour after
//! the upload (running ones only once they end); the file itself is dropped as soon as it is imported.

use crate::api::{ImportJobView, ImportProgress, ImportRow, ImportState};
use provisio::service::import::{ImportPreview, RowAction};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a job is kept after its upload.
pub const JOB_TTL: Duration = Duration::from_secs(3600);
/// The most jobs kept at once; the oldest idle ones make room for new uploads.
pub const MAX_JOBS: usize = 32;

/// One uploaded file and what became of it.
#[derive(Clone, Debug)]
pub struct ImportJob {
    /// The uploaded CSV (emptied once imported).
    pub csv: Arc<Vec<u8>>,
    /// The uploaded file's name, as the browser sent it.
    pub file_name: String,
    /// The name of the actor who uploaded it; only they may see or run it.
    pub owner: String,
    /// What importing the file would do, as checked at upload.
    pub preview: ImportPreview,
    /// Where the job stands.
    pub state: ImportState,
    /// Rows written so far.
    pub done: usize,
    /// Rows to write.
    pub total: usize,
    /// The outcome, for people ("Imported 3 users.", or why nothing was imported).
    pub message: Option<String>,
    /// When the file was uploaded.
    pub created: Instant,
}

impl ImportJob {
    /// A new job for an uploaded, previewed file.
    pub fn new(csv: Vec<u8>, file_name: String, owner: String, preview: ImportPreview) -> Self {
        let total = preview.total_rows;
        ImportJob {
            csv: Arc::new(csv),
            file_name,
            owner,
            preview,
            state: ImportState::Ready,
            done: 0,
            total,
            message: None,
            created: Instant::now(),
        }
    }

    /// The job's progress as the page shows it.
    pub fn progress(&self) -> ImportProgress {
        ImportProgress { state: self.state, done: self.done, total: self.total, message: self.message.clone() }
    }

    /// The job as the page shows it.
    pub fn view(&self) -> ImportJobView {
        let p = &self.preview;
        ImportJobView {
            file_name: self.file_name.clone(),
            total_rows: p.total_rows,
            creates: p.creates,
            updates: p.updates,
            unchanged: p.unchanged,
            errors: p.errors.clone(),
            rows: p
                .rows
                .iter()
                .map(|r| ImportRow {
                    row: r.row,
                    user_principal_name: r.user_principal_name.clone(),
                    display_name: r.display_name.clone(),
                    action: match r.action {
                        RowAction::Create => "Create",
                        RowAction::Update => "Update",
                        RowAction::Unchanged => "Unchanged",
                    }
                    .to_string(),
                })
                .collect(),
            progress: self.progress(),
        }
    }

    fn expired(&self, now: Instant) -> bool {
        self.state != ImportState::Running && now.duration_since(self.created) > JOB_TTL
    }
}

/// The registry of import jobs, shared by every request.
#[derive(Clone, Debug, Default)]
pub struct ImportJobs(pub Arc<Mutex<HashMap<String, ImportJob>>>);

impl ImportJobs {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, ImportJob>> {
        // A panic while holding the lock leaves the map usable: every update is a plain field write.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets expired jobs.
    pub fn purge_expired(&self) {
        let now = Instant::now();
        self.lock().retain(|_, j| !j.expired(now));
    }

    /// Stores a new job under a fresh random id and returns the id. Makes room by forgetting expired
    /// jobs, then the oldest jobs that are not running.
    pub fn insert(&self, job: ImportJob) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let now = Instant::now();
        let mut jobs = self.lock();
        jobs.retain(|_, j| !j.expired(now));
        while jobs.len() >= MAX_JOBS {
            let oldest =
                jobs.iter().filter(|(_, j)| j.state != ImportState::Running).min_by_key(|(_, j)| j.created).map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    jobs.remove(&k);
                }
                None => break,
            }
        }
        jobs.insert(id.clone(), job);
        id
    }

    /// A copy of the job `id` if `owner` may see it.
    pub fn get(&self, id: &str, owner: &str) -> Option<ImportJob> {
        self.purge_expired();
        self.lock().get(id).filter(|j| j.owner == owner).cloned()
    }

    /// Changes the job `id` (if it still exists).
    pub fn update(&self, id: &str, f: impl FnOnce(&mut ImportJob)) {
        if let Some(j) = self.lock().get_mut(id) {
            f(j);
        }
    }

    /// Marks the job `id` of `owner` running and returns its file, unless it is unknown, has errors,
    /// or was started already (then the reason).
    pub fn start(&self, id: &str, owner: &str) -> Result<Arc<Vec<u8>>, &'static str> {
        self.purge_expired();
        let mut jobs = self.lock();
        let job = jobs.get_mut(id).filter(|j| j.owner == owner).ok_or("This upload has expired: upload the file again.")?;
        if !job.preview.errors.is_empty() {
            return Err("The file has errors: fix the rows and upload it again.");
        }
        if job.state != ImportState::Ready {
            return Err("This file has been imported already: upload it again to import it again.");
        }
        job.state = ImportState::Running;
        job.done = 0;
        job.total = job.preview.total_rows;
        job.message = None;
        Ok(job.csv.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provisio::service::{import, Actor};
    use provisio::store::Store;

    const SAMPLE: &[u8] = include_bytes!("../../public/sample-users.csv");

    async fn temp_store() -> (Store, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!("provisio-app-import-{}.db", uuid::Uuid::new_v4()));
        let store = Store::open(&format!("sqlite://{}", path.display())).await.expect("open store");
        (store, path)
    }

    fn remove(path: &std::path::Path) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[tokio::test]
    async fn the_sample_file_previews_and_imports_cleanly() {
        let (store, path) = temp_store().await;
        let actor = Actor::cli();
        let preview = import::preview(&store, &actor, SAMPLE).await.expect("preview");
        assert!(preview.errors.is_empty(), "{:?}", preview.errors);
        assert_eq!((preview.total_rows, preview.creates), (3, 3));
        let calls = Mutex::new(Vec::new());
        let done = import::import(&store, &actor, SAMPLE, &|d, t| calls.lock().unwrap().push((d, t))).await.expect("import");
        assert_eq!(done.creates, 3);
        assert_eq!(calls.lock().unwrap().last(), Some(&(3, 3)));
        store.close().await;
        remove(&path);
    }

    fn job(owner: &str, errors: usize) -> ImportJob {
        let mut p = ImportPreview { total_rows: 2, creates: 2, ..Default::default() };
        p.errors = (0..errors).map(|i| provisio::model::FieldError::new(format!("row {}", i + 2), "bad")).collect();
        ImportJob::new(b"userPrincipalName\na@b.io\nb@b.io\n".to_vec(), "f.csv".into(), owner.into(), p)
    }

    #[test]
    fn jobs_start_once_for_their_owner_only() {
        let jobs = ImportJobs::default();
        let id = jobs.insert(job("alice", 0));
        assert_eq!(id.len(), 36);
        assert!(jobs.get(&id, "bob").is_none());
        assert!(jobs.start(&id, "bob").is_err());
        assert!(jobs.start(&id, "alice").is_ok());
        assert_eq!(jobs.get(&id, "alice").unwrap().state, ImportState::Running);
        assert!(jobs.start(&id, "alice").is_err(), "a job runs once");
        let bad = jobs.insert(job("alice", 1));
        assert!(jobs.start(&bad, "alice").is_err(), "a file with errors is not imported");
    }

    #[test]
    fn old_jobs_expire_and_the_registry_is_bounded() {
        let jobs = ImportJobs::default();
        let id = jobs.insert(job("alice", 0));
        // (Instant cannot go back further than the machine's boot.)
        if let Some(old) = Instant::now().checked_sub(JOB_TTL + Duration::from_secs(1)) {
            jobs.update(&id, |j| j.created = old);
            assert!(jobs.get(&id, "alice").is_none());
        }
        for _ in 0..MAX_JOBS + 5 {
            jobs.insert(job("alice", 0));
        }
        assert_eq!(jobs.0.lock().unwrap().len(), MAX_JOBS);
    }
}
