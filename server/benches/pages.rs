//! Portal page speed and hydrate bundle size.
//!
//! `page_ttfb_p50_ms`: every portal page is requested through the whole router (sessions, guards,
//! server-side rendering, store) with 100,000 directory users and 10,000 provisioning log entries;
//! the figure is the slowest page's median time to the response head (the pages render in
//! `SsrMode::Async`, so the head comes once the page's data is loaded and rendered).
//! `wasm_raw_kib` / `wasm_brotli_kib`: the release hydrate bundle (`cargo leptos build --release`
//! writes it to target/site/pkg), raw and brotli-compressed at quality 11.
//!
//! Env: `BENCH_ONLY` (one figure), `BENCH_PAGE_USERS` (default 100000), `BENCH_PAGE_LOGS` (10000),
//! `BENCH_PAGE_RUNS` (30 per page).

use axum::body::Body;
use axum::http::{header, Method, Request};
use http_body_util::BodyExt;
use provisio::model::Role;
use provisio::service::{admins, apps, Actor};
use provisio::store::Store;
use provisio::sync::log::{LogAction, LogDetail, LogEntry, LogStatus, Step};
use serde_json::{json, Value};
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;
use tower::ServiceExt;

const PW: &str = "bench-pages-password-2026";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn line(name: &str, value: f64, unit: &str) -> String {
    json!({"bench": name, "value": (value * 100.0).round() / 100.0, "unit": unit}).to_string()
}

async fn request(
    router: &axum::Router,
    method: Method,
    uri: &str,
    cookie: Option<&str>,
    body: Option<Value>,
) -> (f64, u16, Vec<u8>, axum::http::HeaderMap) {
    let mut b = Request::builder().method(method).uri(uri).header(header::HOST, "localhost").header(header::ORIGIN, "http://localhost");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    let req = match body {
        Some(v) => b.header(header::CONTENT_TYPE, "application/json").body(Body::from(v.to_string())).unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    let t = Instant::now();
    let resp = router.clone().oneshot(req).await.unwrap();
    let head = t.elapsed().as_secs_f64() * 1000.0;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    (head, status, bytes, headers)
}

/// 10,000 log entries over 20 cycles, as a cycle writes them.
fn log_entries(app_id: &str, n: usize) -> Vec<LogEntry> {
    let now = chrono::Utc::now();
    (0..n)
        .map(|i| {
            let cycle = i / (n / 20).max(1);
            let (action, status) = match i % 10 {
                0 => (LogAction::Update, LogStatus::Success),
                1 => (LogAction::Skip, LogStatus::Skipped),
                2 => (LogAction::Create, LogStatus::Failure),
                _ => (LogAction::Create, LogStatus::Success),
            };
            LogEntry {
                id: uuid::Uuid::new_v4().to_string(),
                app_id: app_id.to_string(),
                cycle_id: format!("bench-cycle-{cycle:02}"),
                at: now - chrono::Duration::seconds((n - i) as i64),
                source_id: uuid::Uuid::new_v4().to_string(),
                object_type: "user".into(),
                display_name: format!("Bench User {i}"),
                target_id: Some(format!("t-{i}")),
                action,
                status,
                error_code: (status == LogStatus::Failure).then(|| "InvalidValue".into()),
                detail: LogDetail {
                    steps: vec![Step { name: "Scope".into(), ok: true, summary: "In scope: assigned".into(), details: vec![] }],
                    ..Default::default()
                },
            }
        })
        .collect()
}

async fn ttfb(out: &mut Vec<String>) {
    let n_users = env_usize("BENCH_PAGE_USERS", 100_000);
    let n_logs = env_usize("BENCH_PAGE_LOGS", 10_000);
    let runs = env_usize("BENCH_PAGE_RUNS", 30);
    let dir = std::env::temp_dir().join(format!("provisio-bench-pages-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.join("b.db").display())).await.unwrap();
    admins::create_admin(&store, &Actor::cli(), "root", PW, Role::Administrator).await.unwrap();
    let t = Instant::now();
    provisio::demo::seed(&store, &Actor::cli(), n_users, "bench.example").await.unwrap();
    println!("seeded {n_users} users in {:.1} s", t.elapsed().as_secs_f64());
    let actor = Actor::cli();
    let app = apps::create_app(&store, &actor, provisio::apps::NewApp { name: "Bench app".into(), template: None }).await.unwrap();
    let app_id = app.id.to_string();
    let entries = log_entries(&app_id, n_logs);
    {
        let mut conn = store.conn().await.unwrap();
        for chunk in entries.chunks(500) {
            provisio::store::sync::insert_logs(&mut conn, chunk).await.unwrap();
        }
    }
    let config = <provisio_server::config::Cli as clap::Parser>::parse_from(["provisio"]).config;
    let config = provisio_server::config::Config { data_dir: dir.clone(), ..config };
    let leptos = provisio_server::leptos_options("target/site", config.addr);
    let secrets = provisio::crypto::SecretBox::new(&[7u8; 32]).unwrap();
    let state =
        provisio_server::state::AppState { store: store.clone(), config: Arc::new(config), leptos, secrets, allow_private_targets: false };
    let router = provisio_server::app(state);
    let (_, status, _, headers) =
        request(&router, Method::POST, "/api/v1/login", None, Some(json!({"username": "root", "password": PW}))).await;
    assert_eq!(status, 200, "sign-in failed");
    let cookie = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").to_string())
        .collect::<Vec<_>>()
        .join("; ");
    let a = format!("/apps/{app_id}");
    let pages = [
        "/".to_string(),
        "/users".into(),
        "/users?search=mar".into(),
        "/groups".into(),
        "/expressions".into(),
        "/audit".into(),
        "/apps".into(),
        "/apps/new".into(),
        "/apps/new?template=slack".into(),
        a.clone(),
        format!("{a}/users"),
        format!("{a}/provisioning"),
        format!("{a}/provisioning/edit"),
        format!("{a}/provisioning/mappings"),
        format!("{a}/provisioning/mappings/user"),
        format!("{a}/provisioning/on-demand"),
        format!("{a}/provisioning/preview"),
        format!("{a}/provisioning/logs"),
        "/provisioning-logs".into(),
    ];
    println!("{:<60} {:>10} {:>10} {:>9}", "page", "p50 ms", "p90 ms", "KiB");
    let mut slowest = ("", 0.0f64);
    for p in &pages {
        let (_, status, body, _) = request(&router, Method::GET, p, Some(&cookie), None).await;
        assert_eq!(status, 200, "GET {p} answered {status}");
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            samples.push(request(&router, Method::GET, p, Some(&cookie), None).await.0);
        }
        samples.sort_by(|a, b| a.total_cmp(b));
        let p50 = median(samples.clone());
        let p90 = samples[samples.len() * 9 / 10];
        println!("{p:<60} {p50:>10.2} {p90:>10.2} {:>9.1}", body.len() as f64 / 1024.0);
        if p50 > slowest.1 {
            slowest = (p, p50);
        }
    }
    println!("slowest page: {} at {:.2} ms (median of {runs})", slowest.0, slowest.1);
    out.push(line("page_ttfb_p50_ms", slowest.1, "ms"));
    drop(router);
    let _ = std::fs::remove_dir_all(&dir);
}

fn wasm(out: &mut Vec<String>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/site/pkg/provisio.wasm");
    let Ok(raw) = std::fs::read(&path) else {
        println!("no hydrate bundle at {} (run `cargo leptos build --release` first)", path.display());
        return;
    };
    let mut compressed = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut compressed, 64 * 1024, 11, 22);
        w.write_all(&raw).unwrap();
    }
    let (raw_kib, br_kib) = (raw.len() as f64 / 1024.0, compressed.len() as f64 / 1024.0);
    println!("hydrate bundle {}: {raw_kib:.1} KiB raw, {br_kib:.1} KiB brotli", path.display());
    out.push(line("wasm_raw_kib", raw_kib, "KiB"));
    out.push(line("wasm_brotli_kib", br_kib, "KiB"));
}

#[tokio::main]
async fn main() {
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let mut out = Vec::new();
    if only.is_empty() || only == "page_ttfb_p50_ms" {
        ttfb(&mut out).await;
    }
    if only.is_empty() || only.starts_with("wasm_") {
        wasm(&mut out);
    }
    for l in out {
        println!("{l}");
    }
}
