//! The sync engine: keeps one app's accounts in step with the directory through a [`Connector`].
//!
//! - [`cycle::run`] runs a job once (lease, admin requests, an initial or incremental cycle, resumable).
//! - [`object::process`] is the one code path for an object (scope → match → create/update or stage a
//!   disable/delete), used by cycles, [`on_demand`] and [`preview`].
//! - [`diff`], [`policy`], [`job`] and [`log`] are pure: what to send, the numbers (escrow backoff,
//!   quarantine thresholds and schedule), the job's state and the provisioning log's shape.
//!
//! Invariants: only objects with a link (created or matched by this job) are ever changed in the
//! target; every state write is fenced by the lease epoch; a page of results and the job's position are
//! committed together.

pub mod cycle;
pub mod diff;
pub mod job;
pub mod log;
pub mod object;
pub mod policy;
pub mod scope;

use crate::apps::{AppMappings, CompiledMappings, ProvisioningSettings};
use crate::connector::Connector;
use crate::mapping::{CompiledMapping, MappingError, ObjectType};
use crate::service::expressions::SystemEnv;
use crate::store::sync as st;
use crate::store::{groups, users, Store, StoreError};
use log::LogEntry;
use object::{ObjectContext, SourceObject};
use std::collections::HashSet;

/// Why a run failed (object failures are not errors: they go to escrow and the logs).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another process took the job's lease: this one must stop.
    #[error("the job's lease was taken over by another process")]
    Fenced,
    /// The object asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is not possible (too many members for on-demand, …).
    #[error("{0}")]
    Invalid(String),
}

impl From<sqlx::Error> for SyncError {
    fn from(e: sqlx::Error) -> Self {
        SyncError::Store(StoreError::Db(e))
    }
}

/// Everything a run needs to know about the app, compiled once.
#[derive(Debug)]
pub struct JobSetup {
    /// The app.
    pub app_id: String,
    /// The app's name (alerts name it).
    pub app_name: String,
    /// Its settings.
    pub settings: ProvisioningSettings,
    /// Its mappings, compiled.
    pub mappings: CompiledMappings,
    /// The mappings' fingerprint (a new one makes the next cycle initial).
    pub fingerprint: String,
    /// User target paths whose values are Redact()ed in logs.
    pub redacted_user: HashSet<String>,
    /// Group target paths whose values are Redact()ed in logs.
    pub redacted_group: HashSet<String>,
    /// Objects processed at once (the connector bounds requests in flight itself).
    pub concurrency: usize,
    /// Whether group memberships are provisioned (the group mapping maps `members`).
    pub sync_members: bool,
    /// How long the job's lease lasts without renewal (each committed page renews it); a process that
    /// dies holds the job this long at most.
    pub lease_ms: i64,
}

fn redacted(m: &CompiledMapping) -> HashSet<String> {
    m.attributes().iter().filter(|a| a.redacted()).map(|a| a.mapping().target.clone()).collect()
}

impl JobSetup {
    /// Compiles an app's configuration for the engine.
    pub fn new(
        app_id: &str,
        app_name: &str,
        settings: ProvisioningSettings,
        mappings: &AppMappings,
        concurrency: u32,
    ) -> Result<JobSetup, Vec<MappingError>> {
        let compiled = mappings.compile()?;
        let sync_members = compiled.group.attributes().iter().any(|a| a.mapping().target.eq_ignore_ascii_case("members"));
        Ok(JobSetup {
            app_id: app_id.to_string(),
            app_name: app_name.to_string(),
            settings,
            redacted_user: redacted(&compiled.user),
            redacted_group: redacted(&compiled.group),
            mappings: compiled,
            fingerprint: mappings.fingerprint(),
            concurrency: (concurrency as usize).max(1) * 2,
            sync_members,
            lease_ms: cycle::LEASE_MS,
        })
    }

    /// What the job's alerts are composed from: the app, and the notification address when
    /// "send an email when a failure occurs" is on.
    pub fn alert_facts(&self) -> crate::alerts::AlertFacts<'_> {
        let recipient = self.settings.notification_email.as_deref().filter(|_| self.settings.notify_on_failure);
        crate::alerts::AlertFacts { app_id: &self.app_id, app_name: &self.app_name, recipient }
    }
}

async fn load_object(store: &Store, setup: &JobSetup, id: &str) -> Result<(SourceObject, ObjectType, bool, Option<st::Link>), SyncError> {
    let mut c = store.conn().await?;
    let ids = [id.to_string()];
    let (obj, object) = if let Some(u) = users::get_many(&mut c, &ids).await?.pop() {
        (SourceObject::User(Box::new(u)), ObjectType::User)
    } else if let Some(g) = groups::get_many(&mut c, &ids).await?.pop() {
        (SourceObject::Group(Box::new(g)), ObjectType::Group)
    } else {
        return Err(SyncError::NotFound(format!("no user or group with id '{id}' in the directory")));
    };
    let assigned = match object {
        ObjectType::User => scope::user_assigned(&mut c, &setup.app_id, setup.settings.scope, id).await?,
        ObjectType::Group => scope::group_assigned(&mut c, &setup.app_id, setup.settings.scope, id).await?,
    };
    let link = st::links(&mut c, &setup.app_id, &ids).await?.remove(id);
    Ok((obj, object, assigned, link))
}

fn object_ctx<'a>(
    setup: &'a JobSetup,
    connector: &'a dyn Connector,
    run_id: &'a str,
    object: ObjectType,
    dry_run: bool,
) -> ObjectContext<'a> {
    let (mapping, redacted) = match object {
        ObjectType::User => (&setup.mappings.user, &setup.redacted_user),
        ObjectType::Group => (&setup.mappings.group, &setup.redacted_group),
    };
    ObjectContext {
        app_id: &setup.app_id,
        cycle_id: run_id,
        settings: &setup.settings,
        mapping,
        redacted,
        connector,
        dry_run,
        log_skips: true,
        known_targets: None,
    }
}

/// Provisions one user (or a group and up to 5 of its members) now, through the same code path as a
/// cycle, and returns every step. Disables/deletes it decides are sent at once (no threshold applies to
/// a single object). The entries are also written to the provisioning logs.
pub async fn on_demand(store: &Store, setup: &JobSetup, connector: &dyn Connector, id: &str) -> Result<Vec<LogEntry>, SyncError> {
    let run_id = format!("on-demand-{}", uuid::Uuid::new_v4());
    let (obj, object, assigned, link) = load_object(store, setup, id).await?;
    let mut ids = vec![(obj, object, assigned, link)];
    if object == ObjectType::Group {
        let mut c = store.conn().await?;
        let members: Vec<String> = groups::members_of_many(&mut c, &[id.to_string()])
            .await?
            .into_iter()
            .filter(|(_, _, k)| *k == crate::model::MemberKind::User)
            .map(|(_, m, _)| m)
            .collect();
        if members.len() > 5 {
            return Err(SyncError::Invalid(format!(
                "on-demand provisioning takes a group with at most 5 members; this one has {}",
                members.len()
            )));
        }
        drop(c);
        let mut first = Vec::new();
        for m in members {
            first.push(load_object(store, setup, &m).await?);
        }
        first.append(&mut ids);
        ids = first;
    }
    let mut entries = Vec::new();
    for (obj, object, assigned, link) in ids {
        let ctx = object_ctx(setup, connector, &run_id, object, false);
        let mut env = SystemEnv::new();
        let mut r = object::process(&ctx, &obj, link.as_ref(), assigned, &mut env).await;
        if let Some(staged) = r.link.as_ref().filter(|l| l.staged_action.is_some()).cloned() {
            r = object::run_staged(&ctx, &staged).await;
        }
        let mut tx = store.begin().await?;
        if let Some(l) = &r.link {
            st::put_links(&mut tx, &setup.app_id, std::slice::from_ref(l), crate::store::now_ms()).await?;
        }
        if let Some(u) = &r.unlink {
            st::delete_links(&mut tx, &setup.app_id, std::slice::from_ref(u)).await?;
        }
        if let Some(l) = &r.log {
            st::insert_logs(&mut tx, std::slice::from_ref(l)).await?;
        }
        if object == ObjectType::Group && setup.sync_members {
            st::mark_refs_pending(&mut tx, &setup.app_id, &[obj.id()]).await?;
        }
        tx.commit().await?;
        entries.extend(r.log);
    }
    Ok(entries)
}

/// What the next cycle would do, without sending anything that changes the target (matching queries
/// are sent; they only read): one entry per object that would be created, updated, disabled, deleted
/// or skipped, up to `limit` objects.
pub async fn preview(store: &Store, setup: &JobSetup, connector: &dyn Connector, limit: usize) -> Result<Vec<LogEntry>, SyncError> {
    let run_id = format!("preview-{}", uuid::Uuid::new_v4());
    let mut out = Vec::new();
    let index = {
        let mut c = store.conn().await?;
        scope::ScopeIndex::build(&mut c, &setup.app_id, setup.settings.scope).await?
    };
    for object in [ObjectType::User, ObjectType::Group] {
        let mut after = String::new();
        while out.len() < limit {
            let mut c = store.conn().await?;
            let objs: Vec<SourceObject> = match object {
                ObjectType::User => {
                    users::by_id_after(&mut c, &after, 200).await?.into_iter().map(|u| SourceObject::User(Box::new(u))).collect()
                }
                ObjectType::Group => {
                    groups::by_id_after(&mut c, &after, 200).await?.into_iter().map(|g| SourceObject::Group(Box::new(g))).collect()
                }
            };
            if objs.is_empty() {
                break;
            }
            let ids: Vec<String> = objs.iter().map(|o| o.id()).collect();
            let links = st::links(&mut c, &setup.app_id, &ids).await?;
            drop(c);
            after = ids.last().cloned().unwrap_or_default();
            let ctx = object_ctx(setup, connector, &run_id, object, true);
            for o in objs {
                if out.len() >= limit {
                    break;
                }
                let id = o.id();
                let assigned = if object == ObjectType::User { index.user(&id) } else { index.group(&id) };
                let link = links.get(&id);
                let mut env = SystemEnv::new();
                let r = object::process(&ctx, &o, link, assigned, &mut env).await;
                if let Some(staged) = r.staged {
                    let l = r.link.clone().expect("staged on a link");
                    let mut e = object::staged_entry(&ctx, &l, setup.settings.deletion_threshold, 1);
                    e.action = if staged == "delete" { log::LogAction::Delete } else { log::LogAction::Disable };
                    e.status = log::LogStatus::Success;
                    e.detail.steps = vec![log::Step::new(
                        "Export",
                        true,
                        format!("preview: would {staged} target account {}", l.target_id.clone().unwrap_or_default()),
                    )];
                    out.push(e);
                    continue;
                }
                // Unchanged objects are not listed; skips are, with their reasons.
                if let Some(mut e) = r.log {
                    e.detail.requests.retain(|x| x.method == "GET");
                    out.push(e);
                }
            }
        }
    }
    Ok(out)
}
