//! How long `service::directory::list_users` takes on a directory of 100,000 users.
//!
//! Seeds a fresh SQLite store (and, with `BENCH_PG=1`, a fresh PostgreSQL database on the server named by
//! `PROVISIO_TEST_PG_ADMIN_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`) with the demo
//! directory, then times four listings, each repeated: the first page, a page reached through the
//! cursor, a prefix search and a department + enabled filter. Prints a table, then one JSON line per
//! figure (SQLite) as the last lines of output.
//!
//! Run with `cargo bench -p provisio --bench users_page`. `BENCH_USERS` overrides the number of users
//! and `BENCH_KEEP=1` keeps the databases for inspection.

use provisio::demo;
use provisio::model::{Page, User, UserQuery};
use provisio::service::{directory, Actor};
use provisio::store::{query, Store};
use sqlx::{Connection, Row};
use std::time::{Duration, Instant};

const DEFAULT_USERS: usize = 100_000;
const REPEATS: usize = 50;
const WARMUP: usize = 5;
const PAGE: u32 = 50;
/// How many pages the "deep page" case follows before it starts timing.
const DEEP_PAGES: usize = 20;
const SEARCH: &str = "mar";
const DEPARTMENT: &str = "Engineering";
const DEFAULT_PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Timings of one listing, in milliseconds.
struct Case {
    name: String,
    rows: usize,
    samples: Vec<f64>,
}

impl Case {
    fn median(&self) -> f64 {
        percentile(&self.samples, 50.0)
    }
    fn p95(&self) -> f64 {
        percentile(&self.samples, 95.0)
    }
}

/// The `p`th percentile (nearest rank) of `xs`.
fn percentile(xs: &[f64], p: f64) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `q` a few times to warm caches, then `REPEATS` times timed.
async fn time_query(store: &Store, actor: &Actor, name: &str, q: &UserQuery) -> Case {
    let mut rows = 0;
    for _ in 0..WARMUP {
        rows = list(store, actor, q).await.items.len();
    }
    let mut samples = Vec::with_capacity(REPEATS);
    for _ in 0..REPEATS {
        let t = Instant::now();
        let page = list(store, actor, q).await;
        samples.push(ms(t.elapsed()));
        assert_eq!(page.items.len(), rows, "{name}: the same query returned a different page");
    }
    Case { name: name.to_string(), rows, samples }
}

async fn list(store: &Store, actor: &Actor, q: &UserQuery) -> Page<User> {
    directory::list_users(store, actor, q).await.expect("list_users")
}

/// The results of one backend.
struct Report {
    backend: &'static str,
    seed_secs: f64,
    users: usize,
    first: Case,
    deep: Case,
    deepest: Case,
    search: Case,
    search_one: Case,
    filter: Case,
    filter_none: Case,
}

impl Report {
    /// The median over the first-page and deep-page samples together.
    fn page_ms(&self) -> f64 {
        let all: Vec<f64> = self.first.samples.iter().chain(&self.deep.samples).copied().collect();
        percentile(&all, 50.0)
    }
}

async fn bench(backend: &'static str, store: &Store, users: usize) -> Report {
    let actor = Actor::cli();
    let t = Instant::now();
    let n = demo::seed(store, &actor, users, "contoso.example").await.expect("seed the demo directory");
    let seed_secs = t.elapsed().as_secs_f64();
    assert_eq!(n, users);
    println!("[{backend}] seeded {n} users in {seed_secs:.1} s");
    if backend == "postgres" {
        // Fresh statistics, as autovacuum would gather them in a live database.
        sqlx::query("ANALYZE").execute(store.pool()).await.expect("ANALYZE");
    }

    // (a) The first page.
    let first_q = UserQuery { top: Some(PAGE), ..Default::default() };
    let first = time_query(store, &actor, &format!("first page (top={PAGE})"), &first_q).await;
    assert_eq!(first.rows, PAGE as usize);

    // (b) A page reached by following the cursor through DEEP_PAGES pages.
    let mut q = first_q.clone();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..DEEP_PAGES {
        let page = list(store, &actor, &q).await;
        for u in &page.items {
            assert!(seen.insert(u.id), "a user appeared on two pages");
        }
        q.after = Some(page.next_cursor.expect("more pages"));
    }
    let deep = time_query(store, &actor, &format!("page {} via cursor", DEEP_PAGES + 1), &q).await;
    assert_eq!(deep.rows, PAGE as usize);

    // (b') A page half-way through the directory (cursor built from the row at that position).
    let mid = (users / 2) as i64;
    let row = sqlx::query("SELECT display_lower, id, upn FROM users WHERE deleted_at IS NULL ORDER BY display_lower, id LIMIT 1 OFFSET $1")
        .bind(mid)
        .fetch_one(store.pool())
        .await
        .expect("the middle row");
    let (key, id, upn): (String, String, String) = (row.get("display_lower"), row.get("id"), row.get("upn"));
    let mid_q = UserQuery { top: Some(PAGE), after: Some(query::encode_cursor(&[&key, &id])), ..Default::default() };
    let deepest = time_query(store, &actor, &format!("page at row {mid} via cursor"), &mid_q).await;

    // (c) A prefix search.
    let search_q = UserQuery { search: Some(SEARCH.into()), top: Some(PAGE), ..Default::default() };
    let search = time_query(store, &actor, &format!("search \"{SEARCH}\""), &search_q).await;
    assert!(search.rows > 0, "the search finds users");
    // (c') A search that matches one user (the common "find this person" case).
    let one_q = UserQuery { search: Some(upn), top: Some(PAGE), ..Default::default() };
    let search_one = time_query(store, &actor, "search one user's UPN", &one_q).await;
    assert_eq!(search_one.rows, 1);

    // (d) Department and enabled filters.
    let filter_q = UserQuery { department: Some(DEPARTMENT.into()), enabled: Some(true), top: Some(PAGE), ..Default::default() };
    let filter = time_query(store, &actor, &format!("department={DEPARTMENT} & enabled"), &filter_q).await;
    assert_eq!(filter.rows, PAGE as usize);
    // (d') A department nobody is in (the worst case for a filter that cannot use its index).
    let none_q = UserQuery { department: Some("Research".into()), enabled: Some(true), top: Some(PAGE), ..Default::default() };
    let filter_none = time_query(store, &actor, "department=Research (none) & enabled", &none_q).await;
    assert_eq!(filter_none.rows, 0);

    Report { backend, seed_secs, users, first, deep, deepest, search, search_one, filter, filter_none }
}

fn print_table(reports: &[Report]) {
    println!();
    println!("{:<9} {:<36} {:>5} {:>11} {:>9}", "backend", "query", "rows", "median ms", "p95 ms");
    println!("{}", "-".repeat(74));
    for r in reports {
        println!("{:<9} {:<36} {:>5} {:>11} {:>9}", r.backend, format!("seed {} users", r.users), "", format!("{:.1} s", r.seed_secs), "");
        for c in [&r.first, &r.deep, &r.deepest, &r.search, &r.search_one, &r.filter, &r.filter_none] {
            println!("{:<9} {:<36} {:>5} {:>11.3} {:>9.3}", r.backend, c.name, c.rows, c.median(), c.p95());
        }
        println!("{:<9} {:<36} {:>5} {:>11.3} {:>9}", r.backend, "(a)+(b) combined", "", r.page_ms(), "");
    }
    println!("({REPEATS} timed runs per query after {WARMUP} warm-up runs; times are list_users calls in process)");
    println!();
}

fn json_line(name: &str, value: f64) {
    println!("{{\"bench\": \"{name}\", \"value\": {value:.3}, \"unit\": \"ms\"}}");
}

/// The URL `url` with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => format!("{}/{db}", &base[..scheme_end + i]),
        None => format!("{base}/{db}"),
    };
    match query {
        Some(q) => format!("{base}?{q}"),
        None => base,
    }
}

async fn run() {
    let users: usize = std::env::var("BENCH_USERS").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_USERS);
    let keep = std::env::var("BENCH_KEEP").is_ok_and(|v| v == "1");
    let mut reports = Vec::new();

    // SQLite in a fresh temporary directory.
    let dir = std::env::temp_dir().join(format!("provisio-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("create the bench directory");
    let path = dir.join("provisio.db");
    let store = Store::open(&format!("sqlite://{}", path.display())).await.expect("open the SQLite store");
    reports.push(bench("sqlite", &store, users).await);
    store.close().await;
    if keep {
        println!("[sqlite] kept {}", path.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }

    // PostgreSQL in a fresh database, when asked for.
    if std::env::var("BENCH_PG").is_ok_and(|v| v == "1") {
        let admin_url = std::env::var("PROVISIO_TEST_PG_ADMIN_URL").unwrap_or_else(|_| DEFAULT_PG_ADMIN_URL.to_string());
        let db = format!("provisio_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|e| panic!("cannot connect to {admin_url}: {e}"));
        sqlx::raw_sql(&format!("CREATE DATABASE \"{db}\"")).execute(&mut admin).await.expect("CREATE DATABASE");
        let store = Store::open(&with_database(&admin_url, &db)).await.expect("open the Postgres store");
        reports.push(bench("postgres", &store, users).await);
        store.close().await;
        if keep {
            println!("[postgres] kept database {db}");
        } else if let Err(e) = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)")).execute(&mut admin).await {
            eprintln!("could not drop {db}: {e}");
        }
        let _ = admin.close().await;
    }

    print_table(&reports);
    // The machine-readable figures (SQLite, the default backend) come last.
    let sqlite = &reports[0];
    json_line("users_page_ms_100k", sqlite.page_ms());
    json_line("users_search_ms_100k", sqlite.search.median());
    json_line("users_filter_ms_100k", sqlite.filter.median());
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    rt.block_on(run());
}
