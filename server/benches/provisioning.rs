//! Provisioning benchmarks (issue: "The provisioning engine", Performance). Each figure is measured end
//! to end through the service layer, the engine and the SCIM connector, against real targets on
//! loopback in separate processes: the in-repo in-memory SCIM target (`provisio-scim-target`, built in
//! release mode by `make bench`) and the Python `scim2-server`.
//!
//! - `initial_cycle_100k_users_s`: an initial cycle of 100,000 demo users (6% of them disabled, so not
//!   created) and 10,000 groups of 10 members (100,000 memberships), "Sync all users and groups".
//! - `initial_cycle_vs_bare_ratio`: that time over the time the same machine takes to send 100,000
//!   plain `POST /Users` straight to the same target with 16 in flight.
//! - `initial_cycle_peak_rss_mib`: this process's peak resident memory after the cycle (VmHWM; it also
//!   holds the seeding of the directory).
//! - `scim2_server_throughput_ratio`: scim2-server's own capacity for what an initial cycle of a
//!   1,000-user demo directory asks of it (per user and per group a filtered GET and a POST, then the
//!   groups' members as PATCH add operations, sent directly) over the engine's time for the same cycle
//!   (≥ 1 means the engine keeps up with the server), both at 4 requests in flight.
//! - `incremental_100_changes_1m_users_s` / `incremental_scaling_ratio_1m_vs_10k`: an incremental cycle
//!   after 100 user changes in a 1,000,000-user directory, and its time over the same in 10,000 users.
//! - `on_demand_p50_ms`: median on-demand provisioning of one changed user to the in-memory target.
//! - `continuous_latency_s`: with continuous mode on and the scheduler running, median time from a
//!   directory change to the change being visible in the target.
//!
//! `BENCH_USERS` (default 100,000) and `BENCH_BIG_USERS` (default 1,000,000) scale it down for a quick run;
//! `BENCH_SAMPLE=1` prints a few of the initial cycle's log details as stored.

use provisio::apps::{CompatProfile, CredentialsInput, NewApp, ProvisioningInput, ProvisioningMode, ProvisioningSettings, SyncScope};
use provisio::crypto::SecretBox;
use provisio::model::{GroupDraft, GroupId, MemberKind, UserInput};
use provisio::service::{apps, directory, provisioning, Actor};
use provisio::store::{changes, groups, new_uuid, Store};
use provisio::sync::cycle::RunOutcome;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The allocator the `provisio` binary uses (see `server/src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOKEN: &str = "bench-token-0123456789";
/// scim2-server (one Python process) serves best at a few requests in flight: at 16 its time per
/// request grows fivefold. Both the direct run and the engine's app profile use this.
const SCIM2_IN_FLIGHT: usize = 4;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The default app profile with `n` requests in flight.
fn in_flight(n: u32) -> CompatProfile {
    CompatProfile { max_concurrency: n, ..Default::default() }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The in-memory target in its own process, advertising `/Bulk` (the app profile's `useBulk` is on by
/// default, so creates go through it; the bare run sends plain POSTs).
struct Target {
    child: Child,
    port: u16,
}

impl Target {
    async fn start() -> Target {
        let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/provisio-scim-target");
        assert!(bin.exists(), "{} is missing: run `cargo build --release -p provisio-testkit` (make bench does)", bin.display());
        let port = free_port();
        let child = Command::new(bin)
            .args(["--port", &port.to_string(), "--token", TOKEN, "--bulk"])
            .stdout(Stdio::null())
            .spawn()
            .expect("start the target");
        let t = Target { child, port };
        let start = Instant::now();
        while reqwest::get(format!("http://127.0.0.1:{port}/_admin/stats")).await.is_err() {
            assert!(start.elapsed() < Duration::from_secs(10), "the target did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        t
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}/scim/v2", self.port)
    }

    async fn stats(&self) -> Value {
        reqwest::get(format!("http://127.0.0.1:{}/_admin/stats", self.port)).await.unwrap().json().await.unwrap()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU seconds (user + system) a process has used so far, from `/proc/<pid>/stat` (`self` for this one).
fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces) start after its closing parenthesis.
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn peak_rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse::<f64>().ok()).unwrap_or(0.0)
        / 1024.0
}

struct Bench {
    store: Store,
    secrets: SecretBox,
    actor: Actor,
    path: std::path::PathBuf,
}

impl Drop for Bench {
    fn drop(&mut self) {
        for s in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(s);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Bench {
    async fn new(users: usize) -> Bench {
        let path = std::env::temp_dir().join(format!("provisio-bench-{}.db", uuid::Uuid::new_v4().simple()));
        let store = Store::open(&format!("sqlite://{}", path.display())).await.unwrap();
        let actor = Actor::cli();
        let t = Instant::now();
        provisio::demo::seed(&store, &actor, users, "contoso.example").await.unwrap();
        eprintln!("seeded {users} users in {:.1} s", t.elapsed().as_secs_f64());
        Bench { store, secrets: SecretBox::new(&[9u8; 32]).unwrap(), actor, path }
    }

    /// Adds `n` groups of `size` members each (members taken round-robin from the users).
    async fn add_groups(&self, n: usize, size: usize) {
        let mut c = self.store.conn().await.unwrap();
        let ids: Vec<String> = sqlx::query_scalar::<_, String>("SELECT id FROM users ORDER BY id").fetch_all(&mut *c).await.unwrap();
        drop(c);
        let mut tx = self.store.begin().await.unwrap();
        for g in 0..n {
            let id = GroupId(new_uuid());
            let d = GroupDraft {
                display_name: format!("Bench group {g:05}"),
                description: None,
                mail_nickname: Some(format!("bg{g}")),
                security_enabled: true,
            };
            groups::insert(&mut tx, id, &d).await.unwrap();
            for k in 0..size {
                let m = &ids[(g * size + k) % ids.len()];
                groups::add_member(&mut tx, id, m, MemberKind::User).await.unwrap();
            }
            changes::append(&mut tx, "group", &id.to_string(), provisio::model::ChangeOp::Create, json!({})).await.unwrap();
        }
        tx.commit().await.unwrap();
    }

    async fn app(&self, base: &str, settings: ProvisioningSettings, profile: CompatProfile) -> String {
        let app =
            apps::create_app(&self.store, &self.actor, NewApp { name: format!("Bench {}", uuid::Uuid::new_v4().simple()), template: None })
                .await
                .unwrap();
        let id = app.id.to_string();
        apps::put_provisioning(
            &self.store,
            &self.actor,
            &id,
            ProvisioningInput { mode: ProvisioningMode::Automatic, settings, profile: Some(profile) },
        )
        .await
        .unwrap();
        apps::put_credentials(
            &self.store,
            &self.secrets,
            &self.actor,
            &id,
            CredentialsInput { tenant_url: base.into(), secret_token: Some(TOKEN.into()), ..Default::default() },
        )
        .await
        .unwrap();
        id
    }

    async fn run(&self, app: &str) -> RunOutcome {
        provisioning::run_job(&self.store, &self.secrets, app, &provisioning::RunOptions::new("bench", true).forced()).await.unwrap()
    }

    /// Prints the size of the provisioning log details the cycle wrote (JSON text as stored).
    async fn log_sizes(&self) {
        let mut c = self.store.conn().await.unwrap();
        let (n, bytes): (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), COALESCE(SUM(LENGTH(detail)), 0) FROM provisioning_logs").fetch_one(&mut *c).await.unwrap();
        println!("log details: {n} entries, {} bytes each", bytes / n.max(1));
        if std::env::var("BENCH_SAMPLE").is_ok() {
            // A few entries of each object type, as stored.
            for (object_type, n) in [("user", 3_i64), ("group", 2)] {
                let rows: Vec<(String, String)> =
                    sqlx::query_as("SELECT action, detail FROM provisioning_logs WHERE object_type = $1 LIMIT $2")
                        .bind(object_type)
                        .bind(n)
                        .fetch_all(&mut *c)
                        .await
                        .unwrap();
                for (action, detail) in rows {
                    println!("{object_type} {action}: {detail}");
                }
            }
        }
    }

    /// Marks the app's initial cycle as done at the current change-log head (for incremental benches
    /// on directories too big to provision first).
    async fn mark_initial_done(&self, app: &str) {
        let (_, setup) = provisioning::setup_for(&self.store, app).await.unwrap();
        let mut c = self.store.conn().await.unwrap();
        provisio::store::sync::ensure_job(&mut c, app, provisio::store::now_ms()).await.unwrap();
        let head = changes::head(&mut c).await.unwrap();
        sqlx::query("UPDATE sync_jobs SET watermark = $1, fingerprint = $2, initial_done = $3 WHERE app_id = $4")
            .bind(head)
            .bind(setup.fingerprint.clone())
            .bind(true)
            .bind(app.to_string())
            .execute(&mut *c)
            .await
            .unwrap();
    }

    async fn change_users(&self, n: usize, tag: &str) {
        let page =
            directory::list_users(&self.store, &self.actor, &provisio::model::UserQuery { top: Some(n as u32), ..Default::default() })
                .await
                .unwrap();
        for u in page.items.iter().filter(|u| u.account_enabled).take(n) {
            let input: UserInput = serde_json::from_value(json!({"jobTitle": format!("{tag} {}", u.id)})).unwrap();
            directory::update_user(&self.store, &self.actor, &u.id.to_string(), input).await.unwrap();
        }
    }
}

/// Sends `n` plain POST /Users straight to `base` with
/// `in_flight` requests at once; returns seconds.
async fn bare_posts(base: &str, n: usize, in_flight: usize) -> f64 {
    use futures::stream::{self, StreamExt};
    let client = reqwest::Client::builder().pool_max_idle_per_host(32).build().unwrap();
    let t = Instant::now();
    stream::iter(0..n)
        .map(|i| {
            let client = client.clone();
            let base = base.to_string();
            async move {
                let name = format!("bare{i}@contoso.example");
                let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "active": true, "displayName": format!("Bare {i}"),
                    "name": {"givenName": "Bare", "familyName": format!("{i}")}, "emails": [{"type": "work", "value": name, "primary": true}]});
                let r = client.post(format!("{base}/Users")).bearer_auth(TOKEN).header("content-type", "application/scim+json").body(body.to_string()).send().await.unwrap();
                assert!(r.status().is_success(), "{}", r.status());
                let _ = r.bytes().await;
            }
        })
        .buffer_unordered(in_flight)
        .collect::<Vec<_>>()
        .await;
    t.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn line(name: &str, value: f64, unit: &str) -> String {
    format!("{{\"bench\": \"{name}\", \"value\": {value:.4}, \"unit\": \"{unit}\"}}")
}

async fn initial_cycle(n_users: usize, out: &mut Vec<String>) {
    // Bare: plain creates straight to a fresh target.
    // The median of three runs, each against a fresh target: one run varies by ±0.7 s on this VM.
    let mut bares = Vec::new();
    for _ in 0..3 {
        let target = Target::start().await;
        bares.push(bare_posts(&target.base(), n_users, 16).await);
    }
    let runs = bares.iter().map(|s| format!("{s:.2}")).collect::<Vec<_>>().join(", ");
    let bare = median(bares);
    println!(
        "bare: {n_users} POST /Users straight to the target, 16 in flight: {bare:.2} s ({:.0}/s; median of {runs} s)",
        n_users as f64 / bare
    );
    let b = Bench::new(n_users).await;
    b.add_groups(n_users / 10, 10).await;
    let target = Target::start().await;
    let app = b.app(&target.base(), ProvisioningSettings { scope: SyncScope::All, ..Default::default() }, in_flight(16)).await;
    let target_pid = target.child.id().to_string();
    let (cpu0, target_cpu0) = (cpu_secs("self"), cpu_secs(&target_pid));
    let t = Instant::now();
    let outcome = b.run(&app).await;
    let secs = t.elapsed().as_secs_f64();
    let (cpu, target_cpu) = (cpu_secs("self") - cpu0, cpu_secs(&target_pid) - target_cpu0);
    let stats = target.stats().await;
    let rss = peak_rss_mib();
    println!("initial cycle: {secs:.2} s, {outcome:?}; target now holds {stats}; peak RSS {rss:.0} MiB");
    println!("initial cycle CPU: engine {cpu:.2} s, target {target_cpu:.2} s (of {:.2} s on 2 cores)", 2.0 * secs);
    b.log_sizes().await;
    assert!(matches!(outcome, RunOutcome::Completed { .. }), "{outcome:?}");
    out.push(line("initial_cycle_100k_users_s", secs, "s"));
    out.push(line("initial_cycle_vs_bare_ratio", secs / bare, "ratio"));
    out.push(line("initial_cycle_peak_rss_mib", rss, "MiB"));
}

async fn scim2_server(out: &mut Vec<String>) {
    if !provisio_testkit::Scim2Server::available() {
        println!("scim2-server not installed; scim2_server_throughput_ratio skipped");
        return;
    }
    let n = env_usize("BENCH_SCIM2_USERS", 1_000);
    let b = Bench::new(n).await;
    let work = Scim2Workload::read(&b.store).await;
    let direct = {
        let s = provisio_testkit::Scim2Server::start(TOKEN).await.unwrap();
        work.send_directly(&s.base_url()).await
    };
    let s = provisio_testkit::Scim2Server::start(TOKEN).await.unwrap();
    // scim2-server answers an `or` filter by scanning its resources once per clause: one query per
    // value is cheaper for it, so its app profile asks one value a query (as the direct run does).
    let profile = CompatProfile { max_concurrency: SCIM2_IN_FLIGHT as u32, match_batch_size: 1, ..Default::default() };
    let app = b.app(&s.base_url(), ProvisioningSettings { scope: SyncScope::All, ..Default::default() }, profile).await;
    let t = Instant::now();
    let outcome = b.run(&app).await;
    let secs = t.elapsed().as_secs_f64();
    let created = match &outcome {
        RunOutcome::Completed { counts, .. } => counts.created as usize,
        other => panic!("{other:?}"),
    };
    assert_eq!(created, work.users.len() + work.groups.len(), "the engine created what the direct run created");
    println!(
        "scim2-server: direct (GET + POST for {} users and {} groups, {} membership PATCHes) {direct:.2} s; engine {secs:.2} s",
        work.users.len(),
        work.groups.len(),
        work.patches()
    );
    out.push(line("scim2_server_throughput_ratio", direct / secs, "ratio"));
}

/// Sends a SCIM JSON body with the bench's token; the target must answer with a success.
async fn send_json(request: reqwest::RequestBuilder, body: &Value) -> reqwest::Response {
    let r = request.bearer_auth(TOKEN).header("content-type", "application/scim+json").body(body.to_string()).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r
}

/// What an initial cycle of the bench directory asks of scim2-server, read from the directory: the
/// enabled users, the groups and their enabled members.
struct Scim2Workload {
    /// (id, userName, display name) of each user to create.
    users: Vec<(String, String, String)>,
    /// (display name, member user ids) of each group.
    groups: Vec<(String, Vec<String>)>,
}

impl Scim2Workload {
    async fn read(store: &Store) -> Scim2Workload {
        let mut c = store.conn().await.unwrap();
        let users: Vec<(String, String, String)> =
            sqlx::query_as("SELECT id, upn, display_name FROM users WHERE deleted_at IS NULL AND account_enabled ORDER BY id")
                .fetch_all(&mut *c)
                .await
                .unwrap();
        let enabled: std::collections::HashSet<&str> = users.iter().map(|u| u.0.as_str()).collect();
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT g.id, g.display_name, m.member_id FROM groups g LEFT JOIN group_members m ON m.group_id = g.id ORDER BY g.id",
        )
        .fetch_all(&mut *c)
        .await
        .unwrap();
        let mut groups: Vec<(String, String, Vec<String>)> = Vec::new();
        for (id, name, member) in rows {
            if groups.last().is_none_or(|g| g.0 != id) {
                groups.push((id, name, Vec::new()));
            }
            if let Some(m) = member.filter(|m| enabled.contains(m.as_str())) {
                groups.last_mut().unwrap().2.push(m);
            }
        }
        let groups = groups.into_iter().map(|(_, name, members)| (name, members)).collect();
        Scim2Workload { users, groups }
    }

    /// Membership PATCH requests (100 members each, the profile's default).
    fn patches(&self) -> usize {
        self.groups.iter().map(|(_, m)| m.len().div_ceil(100)).sum()
    }

    /// Sends the workload straight to `base` at [`SCIM2_IN_FLIGHT`]: per user a filtered GET and a
    /// POST, per group the same, then the members as PATCH add operations. Seconds taken.
    async fn send_directly(&self, base: &str) -> f64 {
        use futures::stream::{self, StreamExt};
        let client = reqwest::Client::builder().pool_max_idle_per_host(32).build().unwrap();
        let t = Instant::now();
        let created = |collection: &'static str, attribute: &'static str, value: String, body: Value| {
            let (client, base) = (client.clone(), base.to_string());
            async move {
                let r = client
                    .get(format!("{base}/{collection}"))
                    .query(&[("filter", format!("{attribute} eq \"{value}\""))])
                    .bearer_auth(TOKEN)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "{}", r.status());
                let _ = r.bytes().await;
                let r = send_json(client.post(format!("{base}/{collection}")), &body).await;
                r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
            }
        };
        let user_ids: std::collections::HashMap<String, String> = stream::iter(self.users.iter())
            .map(|(id, upn, name)| {
                let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": upn, "active": true,
                    "displayName": name, "emails": [{"type": "work", "value": upn, "primary": true}]});
                let fut = created("Users", "userName", upn.clone(), body);
                async move { (id.clone(), fut.await) }
            })
            .buffer_unordered(SCIM2_IN_FLIGHT)
            .collect()
            .await;
        let group_ids: Vec<(String, &Vec<String>)> = stream::iter(self.groups.iter())
            .map(|(name, members)| {
                let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name});
                let fut = created("Groups", "displayName", name.clone(), body);
                async move { (fut.await, members) }
            })
            .buffer_unordered(SCIM2_IN_FLIGHT)
            .collect()
            .await;
        let patches: Vec<(String, Vec<String>)> = group_ids
            .into_iter()
            .flat_map(|(gid, members)| {
                let targets: Vec<String> = members.iter().map(|m| user_ids[m].clone()).collect();
                targets.chunks(100).map(|c| (gid.clone(), c.to_vec())).collect::<Vec<_>>()
            })
            .collect();
        stream::iter(patches)
            .map(|(gid, members)| {
                let (client, base) = (client.clone(), base.to_string());
                async move {
                    let value: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
                    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "add", "path": "members", "value": value}]});
                    let _ = send_json(client.patch(format!("{base}/Groups/{gid}")), &body).await.bytes().await;
                }
            })
            .buffer_unordered(SCIM2_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
        t.elapsed().as_secs_f64()
    }
}

async fn incremental(out: &mut Vec<String>) {
    let big = env_usize("BENCH_BIG_USERS", 1_000_000);
    let mut times = Vec::new();
    for n in [10_000, big] {
        let target = Target::start().await;
        let b = Bench::new(n).await;
        let app = b.app(&target.base(), ProvisioningSettings { scope: SyncScope::All, ..Default::default() }, in_flight(16)).await;
        b.mark_initial_done(&app).await;
        let mut samples = Vec::new();
        for round in 0..3 {
            b.change_users(100, &format!("round{round}")).await;
            let t = Instant::now();
            let outcome = b.run(&app).await;
            samples.push(t.elapsed().as_secs_f64());
            assert!(matches!(outcome, RunOutcome::Completed { .. }), "{outcome:?}");
        }
        let m = median(samples.clone());
        println!("incremental cycle, 100 changes in {n} users: median {m:.3} s ({samples:?})");
        times.push(m);
    }
    out.push(line("incremental_100_changes_1m_users_s", times[1], "s"));
    out.push(line("incremental_scaling_ratio_1m_vs_10k", times[1] / times[0], "ratio"));
}

async fn on_demand_and_continuous(out: &mut Vec<String>) {
    let target = Target::start().await;
    let b = Bench::new(10_000).await;
    let app =
        b.app(&target.base(), ProvisioningSettings { scope: SyncScope::All, continuous: true, ..Default::default() }, in_flight(16)).await;
    b.run(&app).await;
    let users = directory::list_users(&b.store, &b.actor, &provisio::model::UserQuery { top: Some(200), ..Default::default() })
        .await
        .unwrap()
        .items;
    let users: Vec<_> = users.into_iter().filter(|u| u.account_enabled).collect();
    let mut samples = Vec::new();
    for (i, u) in users.iter().cycle().take(200).enumerate() {
        let input: UserInput = serde_json::from_value(json!({"jobTitle": format!("OD {i}")})).unwrap();
        directory::update_user(&b.store, &b.actor, &u.id.to_string(), input).await.unwrap();
        let t = Instant::now();
        let e = provisioning::on_demand(&b.store, &b.secrets, &b.actor, &app, &u.id.to_string(), true).await.unwrap();
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(e[0].status, provisio::sync::log::LogStatus::Success);
    }
    let p50 = median(samples);
    println!("on-demand provisioning of one changed user: median {p50:.2} ms");
    out.push(line("on_demand_p50_ms", p50, "ms"));

    // Continuous mode with the server's scheduler.
    b.run(&app).await;
    provisioning::start(&b.store, &b.actor, &app).await.unwrap();
    let dir = std::env::temp_dir().join(format!("provisio-bench-site-{}", uuid::Uuid::new_v4().simple()));
    let config = <provisio_server::config::Cli as clap::Parser>::parse_from(["provisio"]).config;
    let config = provisio_server::config::Config { data_dir: dir, ..config };
    let leptos = provisio_server::leptos_options("target/site", config.addr);
    let state = provisio_server::state::AppState {
        store: b.store.clone(),
        config: Arc::new(config),
        leptos,
        secrets: b.secrets.clone(),
        allow_private_targets: true,
    };
    let scheduler = provisio_server::scheduler::spawn(state);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let client = reqwest::Client::new();
    let mut lat = Vec::new();
    for (i, u) in users.iter().take(10).enumerate() {
        let title = format!("Continuous {i}");
        let input: UserInput = serde_json::from_value(json!({"jobTitle": title})).unwrap();
        let t = Instant::now();
        directory::update_user(&b.store, &b.actor, &u.id.to_string(), input).await.unwrap();
        loop {
            let r: Value = client
                .get(format!("{}/Users", target.base()))
                .query(&[("filter", format!("userName eq \"{}\"", u.user_principal_name))])
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if r["Resources"][0]["title"] == json!(title) {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(30), "the change never arrived");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        lat.push(t.elapsed().as_secs_f64());
    }
    scheduler.abort();
    let m = median(lat.clone());
    println!("continuous mode: change visible in the target after median {m:.2} s ({lat:?})");
    out.push(line("continuous_latency_s", m, "s"));
}

#[tokio::main]
async fn main() {
    if std::env::var("BENCH_TRACE").is_ok() {
        tracing_subscriber::fmt()
            .with_env_filter(std::env::var("BENCH_TRACE").ok().filter(|v| v.contains('=')).unwrap_or_else(|| "provisio=info".into()))
            .with_writer(std::io::stderr)
            .init();
    }
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let want = |names: &[&str]| only.is_empty() || names.iter().any(|n| *n == only);
    let mut out = Vec::new();
    if want(&["initial_cycle_100k_users_s", "initial_cycle_vs_bare_ratio", "initial_cycle_peak_rss_mib"]) {
        initial_cycle(env_usize("BENCH_USERS", 100_000), &mut out).await;
    }
    if want(&["scim2_server_throughput_ratio"]) {
        scim2_server(&mut out).await;
    }
    if want(&["on_demand_p50_ms", "continuous_latency_s"]) {
        on_demand_and_continuous(&mut out).await;
    }
    if want(&["incremental_100_changes_1m_users_s", "incremental_scaling_ratio_1m_vs_10k"]) {
        incremental(&mut out).await;
    }
    for l in out {
        println!("{l}");
    }
}
