//! Crashes and several processes: the real `provisio` binary, killed with SIGKILL at random points of
//! an initial cycle and restarted (SQLite), and two processes sharing one PostgreSQL database where the
//! one running the job is killed and the other takes the job over. The SCIM target runs in this test
//! process and survives the kills, so it sees every request, including those whose response was lost.

use provisio::apps::{CompatProfile, CredentialsInput, NewApp, ProvisioningInput, ProvisioningMode, ProvisioningSettings, SyncScope};
use provisio::crypto::SecretBox;
use provisio::service::{apps, provisioning, Actor};
use provisio::store::Store;
use provisio_testkit::{ScimTarget, TargetConfig, TargetState};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "resilience-token-0123456789";
const KEY: [u8; 32] = [5u8; 32];

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `provisio serve` process.
struct Server(Child);

impl Server {
    fn start(database_url: &str, data_dir: &std::path::Path) -> Server {
        use base64::Engine;
        let child = Command::new(env!("CARGO_BIN_EXE_provisio"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("PROVISIO_DATA_DIR", data_dir)
            .env("PROVISIO_ADDR", format!("127.0.0.1:{}", free_port()))
            .env("PROVISIO_SECRET_KEY", base64::engine::general_purpose::STANDARD.encode(KEY))
            .env("PROVISIO_ALLOW_PRIVATE_TARGETS", "true")
            .env("PROVISIO_DEMO", "false")
            .env("PROVISIO_ADMIN_PASSWORD", "crash-test-passphrase-2026")
            .env("PROVISIO_LEASE_SECONDS", "2")
            .env("RUST_LOG", std::env::var("PROVISIO_TEST_SERVER_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(data_dir.join("server.log"))
                    .map(Stdio::from)
                    .unwrap_or(Stdio::null()),
            )
            .spawn()
            .expect("start provisio");
        Server(child)
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Whether the process is still running (it may have exited on its own, for example at start-up).
    fn alive(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }

    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Seeds `n` enabled users and an app pointed at `target`, with its job On.
async fn setup(store: &Store, n: usize, target: &str) -> String {
    let actor = Actor::cli();
    provisio::demo::seed(store, &actor, n, "contoso.example").await.unwrap();
    let mut c = store.conn().await.unwrap();
    sqlx::query("UPDATE users SET account_enabled = $1").bind(true).execute(&mut *c).await.unwrap();
    drop(c);
    let app = apps::create_app(store, &actor, NewApp { name: "Crash target".into(), template: None }).await.unwrap().id.to_string();
    let profile = CompatProfile { timeout_secs: 5, ..Default::default() };
    let settings = ProvisioningSettings { scope: SyncScope::All, escrow_retry_seconds: 0, ..Default::default() };
    apps::put_provisioning(store, &actor, &app, ProvisioningInput { mode: ProvisioningMode::Automatic, settings, profile: Some(profile) })
        .await
        .unwrap();
    let secrets = SecretBox::new(&KEY).unwrap();
    apps::put_credentials(
        store,
        &secrets,
        &actor,
        &app,
        CredentialsInput { tenant_url: target.into(), secret_token: Some(TOKEN.into()), ..Default::default() },
    )
    .await
    .unwrap();
    provisioning::start(store, &actor, &app).await.unwrap();
    app
}

async fn initial_done(store: &Store, app: &str) -> bool {
    let st = provisioning::status(store, &Actor::cli(), app).await.unwrap();
    st.initial_cycle_complete && st.state == provisio::sync::job::JobState::Idle
}

/// Exactly `n` users, unique names, each created (201) once; returns the number of creates seen.
fn check_target(state: &TargetState, n: usize) {
    let users = state.users();
    let mut names: HashMap<String, usize> = HashMap::new();
    for u in &users {
        *names.entry(u["userName"].as_str().unwrap().to_lowercase()).or_default() += 1;
    }
    assert_eq!(users.len(), n, "the target holds {} users, expected {n}", users.len());
    assert!(names.values().all(|c| *c == 1), "duplicate userNames in the target");
    let mut created: HashMap<String, usize> = HashMap::new();
    for r in state.requests().iter().filter(|r| r.method == "POST" && r.path == "/Users" && r.status == 201) {
        let name = r.body.as_ref().and_then(|b| b["userName"].as_str()).unwrap_or_default().to_lowercase();
        *created.entry(name).or_default() += 1;
    }
    assert_eq!(created.len(), n, "every user is created");
    assert!(created.values().all(|c| *c == 1), "a user was created twice");
}

#[tokio::test]
async fn killed_at_random_points_of_an_initial_cycle_loses_and_duplicates_nothing() {
    let n: usize = std::env::var("CRASH_USERS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    for seed in [11u64, 23, 37] {
        let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), ..Default::default() }).await;
        let dir = std::env::temp_dir().join(format!("provisio-crash-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("p.db").display());
        let store = Store::open(&url).await.unwrap();
        let app = setup(&store, n, &target.base_url()).await;
        // Kill the server at pseudo-random moments (seeded), three times, then let it finish.
        let mut rng = seed;
        let mut kills = 0;
        while kills < 3 {
            let mut server = Server::start(&url, &dir);
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let wait_ms = 500 + (rng >> 33) % 2500;
            tokio::time::sleep(Duration::from_millis(wait_ms)).await;
            server.kill();
            kills += 1;
            if initial_done(&store, &app).await {
                break;
            }
        }
        let server = Server::start(&url, &dir);
        let start = Instant::now();
        while !initial_done(&store, &app).await {
            assert!(start.elapsed() < Duration::from_secs(240), "the cycle did not finish after the restarts (seed {seed})");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        drop(server);
        check_target(&target.state(), n);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        println!("seed {seed}: {kills} kills, {n} users provisioned exactly once");
    }
}

#[tokio::test]
async fn two_processes_share_jobs_on_postgres_and_take_over_from_a_dead_one() {
    use sqlx::Connection;
    if std::env::var("PROVISIO_TEST_SKIP_PG").is_ok_and(|v| v == "1") {
        return;
    }
    let admin_url = std::env::var("PROVISIO_TEST_PG_ADMIN_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db = format!("provisio_mp_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.expect("PostgreSQL");
    sqlx::raw_sql(&format!("CREATE DATABASE \"{db}\"")).execute(&mut admin).await.unwrap();
    let url = match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{db}"),
        None => panic!("bad admin url"),
    };
    let n = 3_000;
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), ..Default::default() }).await;
    let store = Store::open(&url).await.unwrap();
    let app = setup(&store, n, &target.base_url()).await;
    let dir = std::env::temp_dir().join(format!("provisio-mp-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut a = Server::start(&url, &dir);
    let mut b = Server::start(&url, &dir);
    // Wait until one of them runs the job, then kill that one.
    let start = Instant::now();
    let owner = loop {
        let mut c = store.conn().await.unwrap();
        let job = provisio::store::sync::get_job(&mut c, &app).await.unwrap().unwrap();
        if job.progress.processed > 0 {
            if let Some(o) = job.lease_owner {
                break o;
            }
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no process picked the job up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let a_runs = owner.contains(&format!("-{}-", a.pid()));
    assert!(a_runs || owner.contains(&format!("-{}-", b.pid())), "owner {owner} is neither process");
    let (runner, survivor) = if a_runs { (&mut a, &mut b) } else { (&mut b, &mut a) };
    assert!(survivor.alive(), "the other process exited on its own (see {}/server.log)", dir.display());
    runner.kill();
    let start = Instant::now();
    while !initial_done(&store, &app).await {
        assert!(start.elapsed() < Duration::from_secs(120), "the surviving process did not finish the job");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut c = store.conn().await.unwrap();
    let job = provisio::store::sync::get_job(&mut c, &app).await.unwrap().unwrap();
    drop(c);
    assert_ne!(job.lease_owner.as_deref(), Some(owner.as_str()), "the dead process still holds the job");
    assert!(job.epoch >= 2, "the job was taken over with a new epoch");
    check_target(&target.state(), n);
    drop(a);
    drop(b);
    store.close().await;
    let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)")).execute(&mut admin).await;
    let _ = std::fs::remove_dir_all(&dir);
}
