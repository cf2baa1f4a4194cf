//! The Provisioning logs pages through the whole router with a signed-in session: one app's logs
//! (table, activity chart, detail drawer, filters, next page) and every app's (app filter, export),
//! over 10,000 log entries, with the server's render time printed.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use chrono::{TimeZone, Utc};
use http_body_util::BodyExt;
use provisio::model::Role;
use provisio::service::{admins, Actor};
use provisio::store::Store;
use provisio::sync::log::{LogAction, LogDetail, LogEntry, LogStatus, ModifiedProperty, Step};
use provisio_server::config::Config;
use provisio_server::state::AppState;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;
use tower::ServiceExt;

const PW: &str = "logs-test-password-2026";

struct TestApp {
    router: Router,
    state: AppState,
    dir: std::path::PathBuf,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn app() -> TestApp {
    let dir = std::env::temp_dir().join(format!("provisio-logs-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.join("t.db").display())).await.unwrap();
    admins::create_admin(&store, &Actor::cli(), "root", PW, Role::Administrator).await.unwrap();
    let config = <provisio_server::config::Cli as clap::Parser>::parse_from(["provisio"]).config;
    let config = Config { data_dir: dir.clone(), ..config };
    let leptos = provisio_server::leptos_options("target/site", config.addr);
    let secrets = provisio::crypto::SecretBox::new(&[7u8; 32]).unwrap();
    let state = AppState { store, config: Arc::new(config), leptos, secrets, allow_private_targets: true };
    TestApp { router: provisio_server::app(state.clone()), state, dir }
}

struct Resp {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

impl TestApp {
    async fn send(&self, method: Method, uri: &str, cookie: &str, body: Option<Value>) -> Resp {
        let b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "localhost")
            .header(header::ORIGIN, "http://localhost")
            .header(header::ACCEPT, "text/html")
            .header(header::COOKIE, cookie);
        let req = match body {
            Some(v) => b.header(header::CONTENT_TYPE, "application/json").body(Body::from(v.to_string())).unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Resp { status, headers, text: String::from_utf8_lossy(&bytes).to_string() }
    }

    async fn page(&self, uri: &str, cookie: &str) -> String {
        let r = self.send(Method::GET, uri, cookie, None).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text);
        r.text
    }

    async fn login(&self) -> String {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/login")
            .header(header::HOST, "localhost")
            .header(header::ORIGIN, "http://localhost")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"username": "root", "password": PW}).to_string()))
            .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_string()
    }
}

/// 10,000 entries for `app` over 50 cycles an hour apart (creates, updates, some failures), newest
/// last; the newest is a failed update of "Zoe Newest" with a modified property and a recommendation.
fn entries(app: &str) -> Vec<LogEntry> {
    let t0 = Utc::now().timestamp_millis() - 60 * 3_600_000;
    let mut out = Vec::new();
    for i in 0..10_000usize {
        let cycle = i / 200;
        let (action, status) = match (cycle, i % 10) {
            (0, _) => (LogAction::Create, LogStatus::Success),
            (_, 0) => (LogAction::Update, LogStatus::Failure),
            (_, 1..=3) => (LogAction::Update, LogStatus::Success),
            (_, 4) => (LogAction::Disable, LogStatus::Success),
            _ => (LogAction::Skip, LogStatus::Skipped),
        };
        out.push(LogEntry {
            id: uuid::Uuid::new_v4().to_string(),
            app_id: app.to_string(),
            cycle_id: format!("cycle-{cycle:03}"),
            at: Utc.timestamp_millis_opt(t0 + cycle as i64 * 3_600_000 + i as i64).unwrap(),
            source_id: format!("user-{i}"),
            object_type: "user".into(),
            display_name: format!("Person {i:05}"),
            target_id: Some(format!("t{i}")),
            action,
            status,
            error_code: None,
            detail: LogDetail { steps: vec![Step::new("Export", status != LogStatus::Failure, "sent")], ..Default::default() },
        });
    }
    let last = out.last_mut().unwrap();
    last.display_name = "Zoe Newest".into();
    (last.action, last.status) = (LogAction::Update, LogStatus::Failure);
    last.error_code = Some("SystemForCrossDomainIdentityManagementBadRequest".into());
    last.detail = LogDetail {
        steps: vec![
            Step::new("Import", true, "Imported the user from the directory"),
            Step::new("Export", false, "The app refused the update").with(vec!["PATCH /Users/t9999 → 400".into()]),
        ],
        modified_properties: vec![ModifiedProperty {
            name: "title".into(),
            old_value: Some(json!("Engineer")),
            new_value: Some(json!("Principal Engineer")),
        }],
        requests: Vec::new(),
        error: Some("The app answered 400 invalidValue".into()),
        recommendation: Some("Fix the mapping of title so that the app accepts its value".into()),
    };
    out
}

#[tokio::test]
async fn logs_pages_render_entries_chart_drawer_and_exports() {
    let t = app().await;
    let c = t.login().await;
    let id = {
        let r = t.send(Method::POST, "/api/v1/apps", &c, Some(json!({"name": "Contoso SCIM"}))).await;
        assert!(r.status.is_success(), "{}", r.text);
        serde_json::from_str::<Value>(&r.text).unwrap()["id"].as_str().unwrap().to_string()
    };
    let all = entries(&id);
    let mut tx = t.state.store.begin().await.unwrap();
    provisio::store::sync::insert_logs(&mut tx, &all).await.unwrap();
    tx.commit().await.unwrap();
    let newest = all.last().unwrap().clone();

    // One app's logs: the newest entries first, the chart of the last 20 cycles, a next page link.
    let base = format!("/apps/{id}/provisioning/logs");
    t.page(&base, &c).await;
    let mut times = Vec::new();
    let mut html = String::new();
    for _ in 0..9 {
        let start = Instant::now();
        html = t.page(&base, &c).await;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("{{\"logs_page_ms_10k_p50\": {:.2}}}", times[times.len() / 2]);
    assert!(html.contains("Zoe Newest"), "the newest entry is on the first page");
    assert!(!html.contains("Person 00000"), "the oldest is not");
    assert_eq!(html.matches("data-testid=\"log-row\"").count(), 50);
    assert!(html.contains("<svg class=\"activity-chart\""), "the chart is server-rendered");
    assert!(html.contains("Activity of the last 20 cycles"));
    assert!(html.matches("<a href=\"").count() >= 20);
    assert!(html.contains("data-testid=\"next-page\""));
    assert!(html.contains(&format!("/api/v1/apps/{id}/provisioning/logs?format=csv")), "CSV download carries the app");

    // The drawer: steps, modified property old → new, the error and what to do.
    let drawer = t.page(&format!("{base}?entry={}", newest.id), &c).await;
    assert!(drawer.contains("data-testid=\"log-drawer\""));
    for want in ["The app refused the update", "Principal Engineer", "Engineer", "Fix the mapping of title", "drawer-close"] {
        assert!(drawer.contains(want), "drawer lacks {want}");
    }

    // Filters: status, identity, cycle; a bad value is an error, not a crash.
    let failed = t.page(&format!("{base}?status=Failure"), &c).await;
    assert_eq!(failed.matches("data-testid=\"log-row\"").count(), 50);
    assert_eq!(failed.matches("data-status=\"Success\"").count(), 0);
    let one = t.page(&format!("{base}?identity=Person%2000042"), &c).await;
    assert_eq!(one.matches("data-testid=\"log-row\"").count(), 1);
    let cycle = t.page(&format!("{base}?cycle=cycle-000&action=Create"), &c).await;
    assert_eq!(cycle.matches("data-testid=\"log-row\"").count(), 50);
    assert!(cycle.contains("data-testid=\"cycle-filter\""));
    let bad = t.page(&format!("{base}?status=Nope"), &c).await;
    assert!(bad.contains("role=\"alert\""));

    // Every app's logs, filtered to the app, and the all-apps export with the session.
    let everyone = t.page("/provisioning-logs?range=7d&identity=Zoe", &c).await;
    assert_eq!(everyone.matches("data-testid=\"log-row\"").count(), 1);
    assert!(everyone.contains("Contoso SCIM"));
    assert!(everyone.contains("/api/logs-export?format=json"));
    let picked = t.page(&format!("/provisioning-logs?app={id}"), &c).await;
    assert!(picked.contains("<svg class=\"activity-chart\""));
    let csv = t.send(Method::GET, "/api/logs-export?format=csv&status=Failure&identity=Zoe", &c, None).await;
    assert_eq!(csv.status, StatusCode::OK, "{:?} {}", csv.headers, csv.text);
    assert!(csv.headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains("attachment"));
    assert_eq!(csv.text.lines().count(), 2, "{}", &csv.text[..csv.text.len().min(600)]);
    assert!(csv.text.contains("Zoe Newest"));
    let json = t.send(Method::GET, &format!("/api/v1/apps/{id}/provisioning/logs?format=json&identity=Zoe"), &c, None).await;
    assert_eq!(json.status, StatusCode::OK);
    assert!(json.text.contains("Principal Engineer"));

    // Anonymous callers get neither.
    let anon = t.send(Method::GET, "/api/logs-export?format=csv", "", None).await;
    assert!(!anon.status.is_success());
}
