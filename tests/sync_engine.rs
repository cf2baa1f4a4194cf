//! The provisioning engine end to end: a SQLite store with a directory, an app configured through the
//! service layer, and real SCIM targets on loopback (the in-repo fault-injecting target from
//! `provisio-testkit`, and the Python `scim2-server` when installed). Every test checks what the target
//! holds and which requests it received.

use provisio::apps::{CompatProfile, CredentialsInput, NewApp, ProvisioningInput, ProvisioningMode, ProvisioningSettings, SyncScope};
use provisio::crypto::SecretBox;
use provisio::model::{GroupInput, UserInput};
use provisio::service::{apps, directory, provisioning, Actor};
use provisio::store::Store;
use provisio::sync::cycle::RunOutcome;
use provisio::sync::job::{CycleKind, JobState};
use provisio::sync::log::{LogAction, LogQuery, LogStatus};
use provisio_testkit::{FaultKind, FaultRule, ScimTarget, TargetConfig};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::PathBuf;

const TOKEN: &str = "test-token-0123456789";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

struct Env {
    store: Store,
    secrets: SecretBox,
    actor: Actor,
    app: String,
    path: PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

fn user_input(v: Value) -> UserInput {
    serde_json::from_value(v).expect("valid user input")
}

impl Env {
    /// A store, and an Automatic app pointed at `base_url` with `settings`.
    async fn new(base_url: &str, token: &str, settings: ProvisioningSettings) -> Env {
        let path = std::env::temp_dir().join(format!("provisio-sync-{}.db", uuid::Uuid::new_v4().simple()));
        let store = Store::open(&format!("sqlite://{}", path.display())).await.expect("store");
        let secrets = SecretBox::new(&[7u8; 32]).expect("key");
        let actor = Actor::cli();
        let app = apps::create_app(&store, &actor, NewApp { name: "Target".into(), template: None }).await.expect("app");
        let app = app.id.to_string();
        let profile = CompatProfile { max_attempts: 4, timeout_secs: 2, ..Default::default() };
        apps::put_provisioning(
            &store,
            &actor,
            &app,
            ProvisioningInput { mode: ProvisioningMode::Automatic, settings, profile: Some(profile) },
        )
        .await
        .expect("provisioning");
        apps::put_credentials(
            &store,
            &secrets,
            &actor,
            &app,
            CredentialsInput { tenant_url: base_url.into(), secret_token: Some(token.into()), ..Default::default() },
        )
        .await
        .expect("credentials");
        Env { store, secrets, actor, app, path }
    }

    async fn user(&self, upn: &str, extra: Value) -> String {
        let mut v = json!({"userPrincipalName": upn, "displayName": upn.split('@').next().unwrap(), "accountEnabled": true, "mailNickname": upn.split('@').next().unwrap()});
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        directory::create_user(&self.store, &self.actor, user_input(v)).await.expect("user").id.to_string()
    }

    async fn group(&self, name: &str, members: &[&String]) -> String {
        let g =
            directory::create_group(&self.store, &self.actor, serde_json::from_value::<GroupInput>(json!({"displayName": name})).unwrap())
                .await
                .expect("group");
        for m in members {
            directory::add_member(&self.store, &self.actor, &g.id.to_string(), m).await.expect("member");
        }
        g.id.to_string()
    }

    async fn assign(&self, id: &str) {
        apps::assign(&self.store, &self.actor, &self.app, id).await.expect("assign");
    }

    async fn run(&self) -> RunOutcome {
        provisioning::run_job(&self.store, &self.secrets, &self.app, &provisioning::RunOptions::new("test-process", true).forced())
            .await
            .expect("run")
    }

    async fn status(&self) -> provisioning::StatusView {
        provisioning::status_view(&self.store, &self.actor, &self.app).await.expect("status")
    }

    async fn alerts(&self) -> Vec<provisio::alerts::Alert> {
        provisioning::alerts(&self.store, &self.actor, &self.app, 50).await.expect("alerts")
    }

    async fn logs(&self) -> Vec<provisio::sync::log::LogEntry> {
        provisioning::logs(&self.store, &self.actor, &self.app, &LogQuery { top: Some(1000), ..Default::default() })
            .await
            .expect("logs")
            .items
    }
}

fn settings() -> ProvisioningSettings {
    ProvisioningSettings { escrow_retry_seconds: 0, ..Default::default() }
}

fn user_names(users: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = users.iter().map(|u| u["userName"].as_str().unwrap_or_default().to_lowercase()).collect();
    v.sort();
    v
}

fn completed(out: &RunOutcome) -> provisio::sync::job::Counts {
    match out {
        RunOutcome::Completed { counts, .. } => *counts,
        other => panic!("expected a completed cycle, got {other:?}"),
    }
}

#[tokio::test]
async fn initial_cycle_creates_matches_and_writes_references_and_members() {
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), ..Default::default() }).await;
    let state = target.state();
    // A foreign account Provisio must never touch, and one that matches a directory user.
    let foreign = state.insert_user(json!({"userName": "someone.else@contoso.example", "active": true}));
    let existing = state.insert_user(json!({"userName": "bob@contoso.example", "displayName": "Old Bob", "active": true}));
    let env = Env::new(&target.base_url(), TOKEN, settings()).await;
    let boss = env.user("boss@contoso.example", json!({"department": "Exec"})).await;
    let ann = env.user("ann@contoso.example", json!({"department": "Eng", "manager": {"id": boss}})).await;
    let bob = env.user("bob@contoso.example", json!({"manager": {"id": boss}})).await;
    let _unassigned = env.user("carl@contoso.example", json!({})).await;
    let team = env.group("Team", &[&ann, &bob]).await;
    env.assign(&team).await;
    env.assign(&boss).await;

    let out = env.run().await;
    let counts = completed(&out);
    assert_eq!(counts.created, 3, "boss, ann and the group are created: {counts:?}");
    assert!(counts.updated >= 1, "bob is matched and updated: {counts:?}");
    assert_eq!(counts.failed, 0);

    let users = state.users();
    assert_eq!(
        user_names(&users),
        vec!["ann@contoso.example", "bob@contoso.example", "boss@contoso.example", "someone.else@contoso.example"]
    );
    let by_name = |n: &str| users.iter().find(|u| u["userName"] == n).cloned().unwrap();
    let boss_t = by_name("boss@contoso.example");
    let boss_tid = boss_t["id"].as_str().unwrap().to_string();
    // Managers are written as target ids, in the second pass.
    assert_eq!(by_name("ann@contoso.example")[ENTERPRISE]["manager"]["value"], json!(boss_tid));
    assert_eq!(by_name("bob@contoso.example")[ENTERPRISE]["manager"]["value"], json!(boss_tid));
    // Bob was matched, not created again: his target id is the existing one.
    assert_eq!(by_name("bob@contoso.example")["id"], json!(existing));
    assert_eq!(by_name("bob@contoso.example")["displayName"], json!("bob"));
    // The group exists with both members (target ids).
    let groups = state.groups();
    assert_eq!(groups.len(), 1);
    let mut members: Vec<String> =
        groups[0]["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap().to_string()).collect();
    members.sort();
    let mut want = vec![by_name("ann@contoso.example")["id"].as_str().unwrap().to_string(), existing.clone()];
    want.sort();
    assert_eq!(members, want);
    // Requests: match first (GET with filter), one POST per created user, nothing ever sent to the foreign account.
    let reqs = state.requests();
    assert!(reqs.iter().all(|r| !r.path.contains(&foreign)), "the foreign account was touched");
    let posts = reqs.iter().filter(|r| r.method == "POST" && r.path == "/Users").count();
    assert_eq!(posts, 2);
    assert!(reqs.iter().any(|r| r.method == "GET" && r.query.as_deref().unwrap_or("").contains("filter")));
    // Status and logs.
    let st = env.status().await;
    assert_eq!(st.status.users_managed, 3);
    assert_eq!(st.status.groups_managed, 1);
    assert!(st.status.initial_cycle_complete);
    assert_eq!(st.status.cycle_kind, Some(CycleKind::Initial));
    let logs = env.logs().await;
    assert!(logs
        .iter()
        .any(|l| l.action == LogAction::Create && l.display_name == "ann@contoso.example" && l.status == LogStatus::Success));
    let ann_log = logs.iter().find(|l| l.action == LogAction::Create && l.display_name == "ann@contoso.example").unwrap();
    let steps: Vec<&str> = ann_log.detail.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(steps, vec!["Import", "Scope", "Match", "Map", "Export"]);
    assert!(ann_log.detail.requests.iter().any(|r| r.method == "POST" && r.status == Some(201)));
    assert!(!serde_json::to_string(&logs).unwrap().contains(TOKEN), "the token leaked into the logs");
    let _ = ann;
}

#[tokio::test]
async fn incremental_cycles_send_only_changes_disable_and_delete() {
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), ..Default::default() }).await;
    let state = target.state();
    let env = Env::new(&target.base_url(), TOKEN, ProvisioningSettings { scope: SyncScope::All, ..settings() }).await;
    let ann = env.user("ann@contoso.example", json!({"department": "Eng"})).await;
    let bob = env.user("bob@contoso.example", json!({})).await;
    let cy = env.user("cy@contoso.example", json!({})).await;
    completed(&env.run().await);
    assert_eq!(state.users().len(), 3);
    state.clear_requests();

    // Nothing changed: an incremental cycle sends nothing.
    let out = env.run().await;
    assert!(matches!(out, RunOutcome::Completed { kind: CycleKind::Incremental, .. }), "{out:?}");
    assert!(state.requests().is_empty(), "an idle incremental cycle sent {:?}", state.requests());

    // One attribute: one PATCH with only that attribute.
    directory::update_user(&env.store, &env.actor, &ann, user_input(json!({"department": "Research"}))).await.unwrap();
    completed(&env.run().await);
    let reqs = state.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].method, "PATCH");
    let ops = reqs[0].body.as_ref().unwrap()["Operations"].as_array().unwrap().clone();
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0]["op"], json!("replace"));
    assert_eq!(ops[0]["path"], json!(format!("{ENTERPRISE}:department")));
    state.clear_requests();

    // Soft delete -> disable (active=false); purge -> DELETE.
    directory::delete_user(&env.store, &env.actor, &bob).await.unwrap();
    directory::delete_user(&env.store, &env.actor, &cy).await.unwrap();
    directory::purge_user(&env.store, &env.actor, &cy).await.unwrap();
    let counts = completed(&env.run().await);
    assert_eq!((counts.disabled, counts.deleted), (1, 1), "{counts:?}");
    let users = state.users();
    assert_eq!(user_names(&users), vec!["ann@contoso.example", "bob@contoso.example"]);
    let bob_t = users.iter().find(|u| u["userName"] == "bob@contoso.example").unwrap();
    assert_eq!(bob_t["active"], json!(false));
    // Restore bob -> re-enabled.
    directory::restore_user(&env.store, &env.actor, &bob).await.unwrap();
    completed(&env.run().await);
    let bob_t = state.users().into_iter().find(|u| u["userName"] == "bob@contoso.example").unwrap();
    assert_eq!(bob_t["active"], json!(true));
}

#[tokio::test]
async fn accidental_deletion_prevention_holds_back_until_allowed() {
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), ..Default::default() }).await;
    let state = target.state();
    let env = Env::new(&target.base_url(), TOKEN, ProvisioningSettings { deletion_threshold: 2, ..settings() }).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let id = env.user(&format!("u{i}@contoso.example"), json!({})).await;
        env.assign(&id).await;
        ids.push(id);
    }
    completed(&env.run().await);
    state.clear_requests();
    for id in &ids[..3] {
        apps::unassign(&env.store, &env.actor, &env.app, id).await.unwrap();
    }
    let out = env.run().await;
    assert_eq!(out, RunOutcome::DeletesStaged(3));
    assert!(state.requests().iter().all(|r| r.method == "GET"), "a change was sent: {:?}", state.requests());
    let st = env.status().await;
    assert_eq!(st.status.state, JobState::DeletesStaged);
    assert_eq!(st.status.quarantine.as_ref().unwrap().reason, "TooManyDeletes");
    assert_eq!(st.staged.len(), 3);
    assert!(env.logs().await.iter().filter(|l| l.action == LogAction::StagedDelete).count() == 3);
    // An alert says so; notifications are off, so no email is asked for.
    let alerts = env.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].kind, provisio::alerts::AlertKind::DeletionsStaged);
    assert!(alerts[0].subject.contains("3 deletions need approval"), "{}", alerts[0].subject);
    assert_eq!((alerts[0].recipient.as_deref(), alerts[0].email_status), (None, provisio::alerts::EmailStatus::None));
    // Still held on the next run.
    assert_eq!(env.run().await, RunOutcome::DeletesStaged(3));
    // Allow: exactly the staged set is disabled.
    provisioning::decide_deletes(&env.store, &env.actor, &env.app, true).await.unwrap();
    let counts = completed(&env.run().await);
    assert_eq!(counts.disabled, 3);
    let patches: Vec<_> = state.requests().into_iter().filter(|r| r.method == "PATCH").collect();
    assert_eq!(patches.len(), 3);
    let inactive = state.users().iter().filter(|u| u["active"] == json!(false)).count();
    assert_eq!(inactive, 3);
    assert_eq!(env.status().await.status.state, JobState::Idle);
}

#[tokio::test]
async fn faults_converge_to_exactly_the_expected_accounts() {
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), ..Default::default() }).await;
    let state = target.state();
    let foreign = state.insert_user(json!({"userName": "foreign@contoso.example", "active": true}));
    let env = Env::new(&target.base_url(), TOKEN, ProvisioningSettings { scope: SyncScope::All, ..settings() }).await;
    for i in 0..60 {
        env.user(&format!("f{i:02}@contoso.example"), json!({"department": "Ops"})).await;
    }
    state.set_faults(vec![
        FaultRule::new(FaultKind::Status(503)).every(3),
        FaultRule::new(FaultKind::TooMany { retry_after_secs: 1 }).every(17).limit(3),
        FaultRule::new(FaultKind::Reset).every(11),
        FaultRule::new(FaultKind::Truncate).every(13).method("GET"),
        FaultRule::new(FaultKind::LoseResponse).every(5).method("POST"),
        FaultRule::new(FaultKind::Delay { ms: 2_500 }).every(29).limit(2),
    ]);
    let mut cycles = 0;
    loop {
        cycles += 1;
        let out = env.run().await;
        if let RunOutcome::Completed { counts, .. } = out {
            if counts.failed == 0 && state.users().len() == 61 {
                break;
            }
        }
        assert!(cycles < 12, "did not converge: {:?}", env.status().await.status);
        if cycles == 4 {
            state.set_faults(Vec::new());
        }
    }
    let users = state.users();
    let names: HashSet<String> = users.iter().map(|u| u["userName"].as_str().unwrap().to_lowercase()).collect();
    assert_eq!(names.len(), 61, "duplicates or missing accounts");
    assert_eq!(users.len(), 61);
    let reqs = state.requests();
    assert!(reqs.iter().all(|r| !r.path.contains(&foreign)), "the foreign account was written to");
    // Each user got its department, and the retried 429 never came before its Retry-After.
    assert!(users.iter().filter(|u| u["userName"] != "foreign@contoso.example").all(|u| u[ENTERPRISE]["department"] == json!("Ops")));
    for (i, r) in reqs.iter().enumerate() {
        if r.status == 429 {
            if let Some(next) =
                reqs[i + 1..].iter().find(|n| n.method == r.method && n.path == r.path && n.query == r.query && n.body == r.body)
            {
                assert!(next.at_ms + 50 >= r.at_ms + 1_000, "retried {}ms after a 429 with Retry-After: 1", next.at_ms - r.at_ms);
            }
        }
    }
}

#[tokio::test]
async fn unauthorized_quarantines_at_once_and_restart_clears() {
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), ..Default::default() }).await;
    let state = target.state();
    let notify = ProvisioningSettings {
        notify_on_failure: true,
        notification_email: Some("ops@contoso.example".into()),
        scope: SyncScope::All,
        ..settings()
    };
    let env = Env::new(&target.base_url(), "wrong-token-xyz", notify).await;
    for i in 0..20 {
        env.user(&format!("q{i}@contoso.example"), json!({})).await;
    }
    let out = env.run().await;
    assert_eq!(out, RunOutcome::Quarantined { reason: "EncounteredQuarantineException".into() });
    assert!(state.requests().iter().all(|r| r.status == 401));
    // At most one request per object already in flight (8 requests × 2 objects per slot) when the 401 came back.
    assert!(state.requests().len() <= 16, "a quarantined job kept sending: {}", state.requests().len());
    let st = env.status().await.status;
    assert_eq!(st.state, JobState::Quarantined);
    let q = st.quarantine.unwrap();
    assert!(q.detail.contains("401"), "{}", q.detail);
    assert!(st.next_run_at.is_none() || st.next_run_at.unwrap() > chrono::Utc::now() + chrono::Duration::hours(5));
    assert_eq!(st.escrowed, 0, "no per-object escrow flood");
    // The quarantine is in the audit log, without the token.
    let audit = provisio::service::admins::list_audit(
        &env.store,
        &env.actor,
        &provisio::model::AuditQuery { action: Some("Quarantine".into()), ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(audit.items.len(), 1);
    assert!(!serde_json::to_string(&audit.items).unwrap().contains("wrong-token-xyz"));
    // One alert, raised with the quarantine, with an email pending for the notification address; the
    // token is not in it.
    let alerts = env.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(a.kind, provisio::alerts::AlertKind::Quarantined);
    assert_eq!(a.subject, "Provisioning for Target is in quarantine (EncounteredQuarantineException)");
    assert!(a.body.contains("401"), "{}", a.body);
    assert_eq!(a.recipient.as_deref(), Some("ops@contoso.example"));
    assert_eq!(a.email_status, provisio::alerts::EmailStatus::Pending);
    assert!(!serde_json::to_string(&alerts).unwrap().contains("wrong-token-xyz"));
    // The next (slowed-down) attempt fails the same way: still quarantined, no second alert.
    assert_eq!(env.run().await, RunOutcome::Quarantined { reason: "EncounteredQuarantineException".into() });
    assert_eq!(env.alerts().await.len(), 1, "an alert per quarantine, not per attempt");
    // Fix the token, restart: quarantine clears and everything is created.
    apps::put_credentials(
        &env.store,
        &env.secrets,
        &env.actor,
        &env.app,
        CredentialsInput { tenant_url: target.base_url(), secret_token: Some(TOKEN.into()), ..Default::default() },
    )
    .await
    .unwrap();
    provisioning::restart(&env.store, &env.actor, &env.app, false).await.unwrap();
    let counts = completed(&env.run().await);
    assert_eq!(counts.created, 20);
    assert!(env.status().await.status.quarantine.is_none());
}

#[tokio::test]
async fn a_slow_page_keeps_its_lease_against_another_process() {
    // Every request takes 600 ms and the lease lasts 300 ms: a page takes longer than the lease, so only
    // the heartbeat keeps another process from taking the job over mid-cycle.
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), ..Default::default() }).await;
    target.state().set_faults(vec![FaultRule::new(FaultKind::Delay { ms: 600 })]);
    let env = Env::new(&target.base_url(), TOKEN, ProvisioningSettings { scope: SyncScope::All, ..settings() }).await;
    for i in 0..6 {
        env.user(&format!("slow{i}@contoso.example"), json!({})).await;
    }
    let opts = |owner: &str| provisioning::RunOptions {
        lease: std::time::Duration::from_millis(300),
        ..provisioning::RunOptions::new(owner, true).forced()
    };
    let (first, second) = (opts("process-a"), opts("process-b"));
    let a = provisioning::run_job(&env.store, &env.secrets, &env.app, &first);
    let b = async {
        let mut outcomes = Vec::new();
        for _ in 0..10 {
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            outcomes.push(provisioning::run_job(&env.store, &env.secrets, &env.app, &second).await.expect("second run"));
        }
        outcomes
    };
    let (a, b) = tokio::join!(a, b);
    let counts = completed(&a.expect("the live process lost its job to the other one"));
    assert_eq!(counts.created, 6);
    assert!(b.iter().take_while(|o| **o == RunOutcome::Busy).count() >= 2, "the other process took a live job over: {b:?}");
    assert_eq!(target.state().users().len(), 6, "each user created once");
}

#[tokio::test]
async fn four_weeks_in_quarantine_turn_the_job_off() {
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), ..Default::default() }).await;
    let env = Env::new(&target.base_url(), "wrong-token-xyz", ProvisioningSettings { scope: SyncScope::All, ..settings() }).await;
    env.user("q4w@contoso.example", json!({})).await;
    provisioning::start(&env.store, &env.actor, &env.app).await.unwrap();
    assert_eq!(env.run().await, RunOutcome::Quarantined { reason: "EncounteredQuarantineException".into() });
    assert!(env.status().await.status.enabled, "three weeks in, the job stays On");
    // The job entered quarantine 29 days ago and its cycle fails again: it is turned Off.
    let long_ago = chrono::Utc::now().timestamp_millis() - 29 * 24 * 3600 * 1000;
    let mut c = env.store.conn().await.unwrap();
    sqlx::query("UPDATE sync_jobs SET quarantine_since = $1").bind(long_ago).execute(&mut *c).await.unwrap();
    drop(c);
    assert_eq!(env.run().await, RunOutcome::Quarantined { reason: "EncounteredQuarantineException".into() });
    let st = env.status().await.status;
    assert!(!st.enabled, "the job was turned Off after 4 weeks in quarantine");
    let q = st.quarantine.expect("still quarantined, with its reason");
    assert!(q.detail.contains("more than 4 weeks"), "{}", q.detail);
    let audit = provisio::service::admins::list_audit(
        &env.store,
        &env.actor,
        &provisio::model::AuditQuery { action: Some("TurnOffAfterQuarantine".into()), ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(audit.items.len(), 1, "the turn-off is audited");
    let kinds: Vec<_> = env.alerts().await.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, vec![provisio::alerts::AlertKind::TurnedOff, provisio::alerts::AlertKind::Quarantined], "newest first");
}

#[tokio::test]
async fn escrow_gives_up_after_28_days_of_retries() {
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), ..Default::default() }).await;
    let state = target.state();
    let env = Env::new(
        &target.base_url(),
        TOKEN,
        ProvisioningSettings { scope: SyncScope::All, escrow_retry_seconds: 600, ..Default::default() },
    )
    .await;
    env.user("stuck@contoso.example", json!({})).await;
    state.set_faults(vec![FaultRule::new(FaultKind::Status(400)).method("POST").path_prefix("/Users")]);
    assert_eq!(completed(&env.run().await).failed, 1);
    assert_eq!(env.status().await.status.escrowed, 1, "the failure is in escrow, retried later");
    // Its retries have waited 27+ days in all (60 attempts); the next failure ends its escrow.
    let mut c = env.store.conn().await.unwrap();
    sqlx::query("UPDATE sync_objects SET attempts = 60, next_attempt_at = 0").execute(&mut *c).await.unwrap();
    drop(c);
    assert_eq!(completed(&env.run().await).failed, 1, "the due retry ran and failed again");
    assert_eq!(env.status().await.status.escrowed, 0, "escrow gave up on it");
    let last = env.logs().await.into_iter().find(|l| l.status == LogStatus::Failure).expect("a failure entry");
    let rec = last.detail.recommendation.unwrap_or_default();
    assert!(rec.contains("gave up after 28 days"), "{rec}");
    // No more retries by itself: the next cycle sends nothing for it.
    let before = state.requests().len();
    env.run().await;
    assert!(state.requests()[before..].iter().all(|r| r.method != "POST"), "escrow retried an object it gave up on");
}

#[tokio::test]
async fn restart_keeps_links_full_reset_rematches_and_mapping_change_runs_initial() {
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), ..Default::default() }).await;
    let state = target.state();
    let env = Env::new(&target.base_url(), TOKEN, ProvisioningSettings { scope: SyncScope::All, ..settings() }).await;
    for i in 0..10 {
        env.user(&format!("r{i}@contoso.example"), json!({"jobTitle": "Dev"})).await;
    }
    completed(&env.run().await);
    state.clear_requests();
    provisioning::restart(&env.store, &env.actor, &env.app, false).await.unwrap();
    let out = env.run().await;
    assert!(matches!(out, RunOutcome::Completed { kind: CycleKind::Initial, .. }));
    assert!(state.requests().is_empty(), "restart with links kept sent {:?}", state.requests().first());
    provisioning::restart(&env.store, &env.actor, &env.app, true).await.unwrap();
    let counts = completed(&env.run().await);
    assert_eq!(counts.created, 0, "a full reset must re-match, not re-create");
    assert_eq!(state.users().len(), 10);
    assert!(state.requests().iter().all(|r| r.method != "POST"));
    // A mapping change makes the next cycle initial and sends the new attribute.
    let mut m = apps::get_mappings(&env.store, &env.actor, &env.app).await.unwrap();
    let title = m.user.attributes.iter_mut().find(|a| a.target == "title").unwrap();
    *title = provisio::mapping::AttributeMapping::expression("ToUpper([jobTitle])", "title");
    apps::put_mappings(&env.store, &env.actor, &env.app, m).await.unwrap();
    state.clear_requests();
    let out = env.run().await;
    assert!(matches!(out, RunOutcome::Completed { kind: CycleKind::Initial, .. }), "{out:?}");
    assert!(state.users().iter().all(|u| u["title"] == json!("DEV")));
    assert_eq!(state.requests().iter().filter(|r| r.method == "PATCH").count(), 10);
}

#[tokio::test]
async fn on_demand_and_preview_use_the_same_path() {
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), ..Default::default() }).await;
    let state = target.state();
    let env = Env::new(&target.base_url(), TOKEN, settings()).await;
    let ann = env.user("ann@contoso.example", json!({})).await;
    let bob = env.user("bob@contoso.example", json!({})).await;
    env.assign(&ann).await;
    // Preview: says what would happen, sends no change.
    let p = provisioning::preview(&env.store, &env.secrets, &env.actor, &env.app, 100, true).await.unwrap();
    assert!(p.iter().any(|e| e.display_name == "ann@contoso.example" && e.action == LogAction::Create));
    let bob_p = p.iter().find(|e| e.display_name == "bob@contoso.example").expect("bob is listed as skipped");
    assert_eq!(bob_p.action, LogAction::Skip);
    assert!(bob_p.detail.steps.iter().any(|s| s.summary.contains("not assigned")));
    assert!(state.requests().iter().all(|r| r.method == "GET"));
    assert!(state.users().is_empty());
    // On demand: creates ann now, with every step.
    let entries = provisioning::on_demand(&env.store, &env.secrets, &env.actor, &env.app, &ann, true).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, LogAction::Create);
    assert_eq!(entries[0].status, LogStatus::Success);
    assert_eq!(state.users().len(), 1);
    // On demand for an unassigned user: skipped with the reason; nothing sent.
    let e = provisioning::on_demand(&env.store, &env.secrets, &env.actor, &env.app, &bob, true).await.unwrap();
    assert_eq!(e[0].action, LogAction::Skip);
    // The cycle then finds ann already linked: nothing is created twice.
    let counts = completed(&env.run().await);
    assert_eq!(counts.created, 0);
    assert_eq!(state.users().len(), 1);
}

/// A resource read straight from a SCIM server, members included.
async fn scim_get(url: &str) -> Value {
    reqwest::Client::new().get(url).bearer_auth(TOKEN).send().await.expect("GET").json().await.expect("JSON")
}

#[tokio::test]
async fn real_scim2_server_end_to_end() {
    if !provisio_testkit::Scim2Server::available() {
        eprintln!("scim2-server is not installed (make test installs it); skipped");
        return;
    }
    let server = provisio_testkit::Scim2Server::start(TOKEN).await.expect("scim2-server starts");
    let env = Env::new(&server.base_url(), TOKEN, ProvisioningSettings { scope: SyncScope::All, ..settings() }).await;
    let boss = env.user("boss@contoso.example", json!({"department": "Exec", "givenName": "Bo", "surname": "Ss"})).await;
    let ann = env.user("ann@contoso.example", json!({"manager": {"id": boss}, "givenName": "Ann", "surname": "A"})).await;
    let bob = env.user("bob@contoso.example", json!({})).await;
    let _team = env.group("Team", &[&ann, &bob]).await;
    let counts = completed(&env.run().await);
    assert_eq!(counts.created, 4, "{counts:?}");
    assert_eq!(
        counts.failed,
        0,
        "{:?}",
        env.logs().await.iter().filter(|l| l.status == LogStatus::Failure).map(|l| l.detail.error.clone()).collect::<Vec<_>>()
    );
    // Read back through the engine's own connector.
    let connector = apps::connector_for(&env.store, &env.secrets, &env.app, true).await.unwrap();
    use provisio::connector::Connector;
    use provisio::mapping::ObjectType;
    let ann_t = connector.find(ObjectType::User, "userName", "ann@contoso.example").await.unwrap().value.expect("ann exists");
    let boss_t = connector.find(ObjectType::User, "userName", "boss@contoso.example").await.unwrap().value.expect("boss exists");
    assert_eq!(ann_t.resource[ENTERPRISE]["manager"]["value"], json!(boss_t.id));
    let team_t = connector.find(ObjectType::Group, "displayName", "Team").await.unwrap().value.expect("team exists");
    let full = scim_get(&format!("{}/Groups/{}", server.base_url(), team_t.id)).await;
    assert_eq!(full["members"].as_array().map(|m| m.len()), Some(2), "{full}");
    // Update, disable, delete.
    directory::update_user(&env.store, &env.actor, &ann, user_input(json!({"jobTitle": "Lead"}))).await.unwrap();
    directory::delete_user(&env.store, &env.actor, &bob).await.unwrap();
    directory::remove_member(&env.store, &env.actor, &_team, &bob).await.unwrap();
    let counts = completed(&env.run().await);
    assert_eq!(counts.disabled, 1, "{counts:?}");
    let ann_t = connector.get(ObjectType::User, &ann_t.id).await.unwrap().value.unwrap();
    assert_eq!(ann_t.resource["title"], json!("Lead"));
    let bob_t = connector.find(ObjectType::User, "userName", "bob@contoso.example").await.unwrap().value.unwrap();
    assert_eq!(bob_t.resource["active"], json!(false));
    let full = scim_get(&format!("{}/Groups/{}", server.base_url(), team_t.id)).await;
    assert_eq!(full["members"].as_array().map(|m| m.len()), Some(1), "{full}");
    directory::purge_user(&env.store, &env.actor, &bob).await.unwrap();
    let counts = completed(&env.run().await);
    assert_eq!(counts.deleted, 1, "{counts:?}");
    assert!(connector.find(ObjectType::User, "userName", "bob@contoso.example").await.unwrap().value.is_none());
}

/// The filters of the `GET /Users?filter=…` requests received, in order.
fn user_filters(state: &provisio_testkit::TargetState) -> Vec<(String, u16)> {
    state
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/Users")
        .filter_map(|r| Some((r.query_param("filter")?, r.status)))
        .collect()
}

#[tokio::test]
async fn bulk_creates_in_a_cycle_escrow_a_failed_operation() {
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), bulk: true, ..Default::default() }).await;
    let state = target.state();
    // The third create operation is refused (400) inside the bulk request; the others succeed.
    state.set_faults(vec![FaultRule::new(FaultKind::Status(400)).method("POST").path_prefix("/Users").every(3).limit(1)]);
    let env = Env::new(&target.base_url(), TOKEN, ProvisioningSettings { scope: SyncScope::All, ..settings() }).await;
    for i in 0..5 {
        env.user(&format!("u{i}@contoso.example"), json!({})).await;
    }
    let counts = completed(&env.run().await);
    assert_eq!((counts.created, counts.failed), (4, 1), "{counts:?}");
    let reqs = state.requests();
    assert_eq!(reqs.iter().filter(|r| r.method == "POST" && r.path == "/Bulk").count(), 1, "one bulk request for the page");
    assert_eq!(reqs.iter().filter(|r| r.method == "POST" && r.path == "/Users").count(), 0, "no single POST");
    // Matching was one batched query for the five users.
    let filters = user_filters(&state);
    assert_eq!(filters.len(), 1, "{filters:?}");
    assert_eq!(filters[0].0.matches(" or ").count(), 4, "{filters:?}");
    assert_eq!(state.users().len(), 4);
    // One log per object: four creates that show their bulk operation, one failure with the target's answer.
    let logs = env.logs().await;
    let creates: Vec<_> = logs.iter().filter(|l| l.action == LogAction::Create).collect();
    assert_eq!(creates.len(), 5);
    let ok: Vec<_> = creates.iter().filter(|l| l.status == LogStatus::Success).collect();
    assert_eq!(ok.len(), 4);
    for l in &ok {
        let bulk = l.detail.requests.iter().find(|r| r.path == "/Bulk").expect("the bulk operation is logged");
        assert_eq!(bulk.request_body.as_ref().unwrap()["data"]["userName"], json!(l.display_name));
        assert_eq!(bulk.status, Some(201));
    }
    let failed = creates.iter().find(|l| l.status == LogStatus::Failure).unwrap();
    assert_eq!(failed.error_code.as_deref(), Some("InvalidValue"));
    assert!(failed.detail.error.as_deref().unwrap().contains("400"), "{:?}", failed.detail.error);
    assert!(failed.detail.recommendation.as_deref().unwrap().contains("retried"));
    // The failed one is in escrow and is created by the next cycle; nothing is created twice.
    state.set_faults(Vec::new());
    let counts = completed(&env.run().await);
    assert_eq!((counts.created, counts.failed), (1, 0), "{counts:?}");
    assert_eq!(user_names(&state.users()), (0..5).map(|i| format!("u{i}@contoso.example")).collect::<Vec<_>>());
}

#[tokio::test]
async fn group_memberships_go_through_bulk_patch_and_a_refused_one_is_retried() {
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), bulk: true, ..Default::default() }).await;
    let state = target.state();
    let env = Env::new(&target.base_url(), TOKEN, ProvisioningSettings { scope: SyncScope::All, ..settings() }).await;
    let mut users = Vec::new();
    for i in 0..6 {
        users.push(env.user(&format!("m{i}@contoso.example"), json!({})).await);
    }
    for g in 0..3 {
        env.group(&format!("Team {g}"), &[&users[2 * g], &users[2 * g + 1]]).await;
    }
    // One membership PATCH is refused (400) inside its bulk request; the others go through.
    state.set_faults(vec![FaultRule::new(FaultKind::Status(400)).method("PATCH").path_prefix("/Groups").limit(1)]);
    let counts = completed(&env.run().await);
    assert_eq!(counts.failed, 1, "{counts:?}");
    let reqs = state.requests();
    assert_eq!(reqs.iter().filter(|r| r.method == "PATCH").count(), 0, "memberships went as bulk operations, not single PATCHes");
    let sizes = |state: &provisio_testkit::TargetState| {
        let mut v: Vec<usize> = state.groups().iter().map(|g| g["members"].as_array().map_or(0, Vec::len)).collect();
        v.sort();
        v
    };
    assert_eq!(sizes(&state), vec![0, 2, 2]);
    let updates: Vec<_> = env.logs().await.into_iter().filter(|l| l.action == LogAction::Update).collect();
    let ok: Vec<_> = updates.iter().filter(|l| l.status == LogStatus::Success).collect();
    assert_eq!(ok.len(), 2, "{updates:?}");
    for l in &ok {
        let op = l.detail.requests.iter().find(|r| r.path == "/Bulk").expect("the bulk operation is logged");
        assert_eq!(op.method, "PATCH");
        assert!(op.request_body.as_ref().unwrap()["path"].as_str().unwrap().starts_with("/Groups/"), "{op:?}");
        assert_eq!(op.status, Some(204));
    }
    let failed = updates.iter().find(|l| l.status == LogStatus::Failure).expect("the refused membership change is logged");
    assert!(failed.detail.error.as_deref().unwrap_or_default().contains("400"), "{:?}", failed.detail.error);
    // The refused change is sent again by the next cycle; the others are not.
    state.set_faults(Vec::new());
    state.clear_requests();
    completed(&env.run().await);
    assert_eq!(sizes(&state), vec![2, 2, 2]);
}

#[tokio::test]
async fn batched_matching_adopts_existing_accounts_in_precedence_order() {
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), ..Default::default() }).await;
    let state = target.state();
    // Ann exists with her userName in another case; Dan exists under another userName but with his
    // externalId (the second matching attribute).
    let ann_t = state.insert_user(json!({"userName": "ANN@Contoso.Example", "active": true}));
    let dan_t = state.insert_user(json!({"userName": "daniel.old@contoso.example", "externalId": "dan", "active": true}));
    let env = Env::new(&target.base_url(), TOKEN, ProvisioningSettings { scope: SyncScope::All, ..settings() }).await;
    let mut m = apps::get_mappings(&env.store, &env.actor, &env.app).await.unwrap();
    let ext = m.user.attributes.iter_mut().find(|a| a.target == "externalId").unwrap();
    ext.matching = true;
    ext.matching_precedence = Some(2);
    apps::put_mappings(&env.store, &env.actor, &env.app, m).await.unwrap();
    for n in ["ann", "cy", "dan"] {
        env.user(&format!("{n}@contoso.example"), json!({})).await;
    }
    let counts = completed(&env.run().await);
    assert_eq!((counts.created, counts.updated, counts.failed), (1, 2, 0), "{counts:?}");
    let users = state.users();
    assert_eq!(users.len(), 3, "nothing duplicated: {users:?}");
    let id_of = |n: &str| users.iter().find(|u| u["userName"].as_str().unwrap().eq_ignore_ascii_case(n)).unwrap()["id"].clone();
    assert_eq!(id_of("ann@contoso.example"), json!(ann_t));
    assert_eq!(id_of("dan@contoso.example"), json!(dan_t), "adopted on externalId, then its userName updated");
    // One query per precedence level; the second only for the users the first did not find.
    let filters = user_filters(&state);
    assert_eq!(filters.len(), 2, "{filters:?}");
    assert_eq!(filters[0].0.matches("userName eq").count(), 3, "{filters:?}");
    let mut second: Vec<&str> = filters[1].0.split(" or ").collect();
    second.sort();
    assert_eq!(second, [r#"externalId eq "cy""#, r#"externalId eq "dan""#], "ann was found by the first query");
    let logs = env.logs().await;
    let ann_log = logs.iter().find(|l| l.display_name == "ann@contoso.example").unwrap();
    let matched = ann_log.detail.steps.iter().find(|s| s.name == "Match").unwrap();
    assert!(matched.summary.contains(&format!("matched target account {ann_t} on userName")), "{matched:?}");
}

#[tokio::test]
async fn batched_matching_falls_back_to_single_queries_on_invalid_filter() {
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), refuse_or: true, ..Default::default() }).await;
    let state = target.state();
    let bob_t = state.insert_user(json!({"userName": "Bob@contoso.example", "active": true}));
    let env = Env::new(&target.base_url(), TOKEN, ProvisioningSettings { scope: SyncScope::All, ..settings() }).await;
    for n in ["ann", "bob", "cy"] {
        env.user(&format!("{n}@contoso.example"), json!({})).await;
    }
    let counts = completed(&env.run().await);
    assert_eq!((counts.created, counts.updated, counts.failed), (2, 1, 0), "{counts:?}");
    assert_eq!(state.users().len(), 3);
    assert!(state.users().iter().any(|u| u["id"] == json!(bob_t) && u["userName"] == "bob@contoso.example"));
    let filters = user_filters(&state);
    assert_eq!(filters[0].1, 400, "the or-filter was refused: {filters:?}");
    let mut singles: Vec<_> = filters[1..].iter().map(|(f, s)| (f.as_str(), *s)).collect();
    singles.sort();
    assert_eq!(
        singles,
        [
            (r#"userName eq "ann@contoso.example""#, 200),
            (r#"userName eq "bob@contoso.example""#, 200),
            (r#"userName eq "cy@contoso.example""#, 200)
        ]
    );
}

#[tokio::test]
async fn managers_are_created_before_their_reports() {
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), bulk: true, ..Default::default() }).await;
    let state = target.state();
    let env = Env::new(&target.base_url(), TOKEN, ProvisioningSettings { scope: SyncScope::All, ..settings() }).await;
    // A chain boss <- lead <- reports, with ids in whatever order.
    let boss = env.user("boss@contoso.example", json!({})).await;
    let lead = env.user("lead@contoso.example", json!({"manager": {"id": boss}})).await;
    for i in 0..6 {
        env.user(&format!("r{i}@contoso.example"), json!({"manager": {"id": lead}})).await;
    }
    let counts = completed(&env.run().await);
    assert_eq!((counts.created, counts.failed), (8, 0), "{counts:?}");
    let users = state.users();
    let id_of = |n: &str| users.iter().find(|u| u["userName"] == n).unwrap()["id"].clone();
    for u in &users {
        let want = match u["userName"].as_str().unwrap() {
            "boss@contoso.example" => None,
            "lead@contoso.example" => Some(id_of("boss@contoso.example")),
            _ => Some(id_of("lead@contoso.example")),
        };
        assert_eq!(u[ENTERPRISE]["manager"].get("value").cloned(), want, "{u}");
    }
    // Every manager reference went into a create: no PATCH afterwards.
    let reqs = state.requests();
    assert_eq!(
        reqs.iter().filter(|r| r.method == "PATCH").count(),
        0,
        "{:?}",
        reqs.iter().map(|r| (&r.method, &r.path)).collect::<Vec<_>>()
    );
    let _ = (boss, lead);
}

#[tokio::test]
async fn memberships_of_several_pages_of_groups_all_land() {
    // More groups than one page of the members phase (250): the phase's pages are pipelined (the next
    // page read while one is sent and the one before written), and every page must land once.
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), bulk: true, ..Default::default() }).await;
    let state = target.state();
    let env = Env::new(&target.base_url(), TOKEN, ProvisioningSettings { scope: SyncScope::All, ..settings() }).await;
    let mut users = Vec::new();
    for i in 0..40 {
        users.push(env.user(&format!("p{i}@contoso.example"), json!({})).await);
    }
    let groups = 620;
    for g in 0..groups {
        env.group(&format!("Page group {g:03}"), &[&users[g % users.len()], &users[(g + 1) % users.len()]]).await;
    }
    let counts = completed(&env.run().await);
    assert_eq!(counts.failed, 0, "{counts:?}");
    assert_eq!(counts.updated as usize, groups, "one membership update per group: {counts:?}");
    let held = state.groups();
    assert_eq!(held.len(), groups);
    let user_ids: HashSet<String> = state.users().iter().map(|u| u["id"].as_str().unwrap().to_string()).collect();
    for g in &held {
        let members: Vec<&str> = g["members"].as_array().expect("members").iter().map(|m| m["value"].as_str().unwrap()).collect();
        assert_eq!(members.len(), 2, "{g}");
        assert!(members.iter().all(|m| user_ids.contains(*m)), "{g}");
    }
    let updates = env.logs().await.into_iter().filter(|l| l.action == LogAction::Update && l.status == LogStatus::Success).count();
    assert_eq!(updates, groups);
    // The phase ran to its end: nothing is left pending, and a second cycle sends no membership change.
    state.clear_requests();
    let again = completed(&env.run().await);
    assert_eq!(again.updated, 0, "{again:?}");
    assert!(state.requests().iter().all(|r| r.method == "GET"), "{:?}", state.requests());
}
