//! `/api/v1/apps/{id}/provisioning/…` through the whole router, with the scheduler running in this
//! process against the in-repo SCIM target: Start runs a cycle, status and logs show it, continuous
//! mode delivers a directory change within seconds, logs export as CSV and JSON, on-demand and preview
//! answer, pause stops the job, and a Reader cannot drive a job.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use provisio::model::Role;
use provisio::service::{admins, Actor};
use provisio::store::Store;
use provisio_server::config::Config;
use provisio_server::state::AppState;
use provisio_testkit::{ScimTarget, TargetConfig};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

const PW: &str = "api-test-password-2026";
const TOKEN: &str = "scim-bearer-TOKEN-for-provisioning-tests";

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
    let dir = std::env::temp_dir().join(format!("provisio-prov-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.join("t.db").display())).await.unwrap();
    for (name, role) in [("root", Role::Administrator), ("reader", Role::Reader)] {
        admins::create_admin(&store, &Actor::cli(), name, PW, role).await.unwrap();
    }
    let config = <provisio_server::config::Cli as clap::Parser>::parse_from(["provisio"]).config;
    let config = Config { data_dir: dir.clone(), ..config };
    let leptos = provisio_server::leptos_options("target/site", config.addr);
    let secrets = provisio::crypto::SecretBox::new(&[42u8; 32]).unwrap();
    let state = AppState { store, config: Arc::new(config), leptos, secrets, allow_private_targets: true };
    TestApp { router: provisio_server::app(state.clone()), state, dir }
}

impl TestApp {
    async fn send(&self, method: Method, uri: &str, cookie: &str, body: Option<Value>) -> (StatusCode, Value, String) {
        let b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "localhost")
            .header(header::ORIGIN, "http://localhost")
            .header(header::COOKIE, cookie);
        let req = match body {
            Some(v) => b.header(header::CONTENT_TYPE, "application/json").body(Body::from(v.to_string())).unwrap(),
            None => b.header(header::CONTENT_LENGTH, "0").body(Body::empty()).unwrap(),
        };
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), text)
    }

    async fn login(&self, user: &str) -> String {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/login")
            .header(header::HOST, "localhost")
            .header(header::ORIGIN, "http://localhost")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"username": user, "password": PW}).to_string()))
            .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_string()
    }

    async fn ok(&self, method: Method, uri: &str, cookie: &str, body: Option<Value>) -> Value {
        let (s, v, t) = self.send(method, uri, cookie, body).await;
        assert!(s.is_success(), "{uri}: {s} {t}");
        v
    }

    /// Polls the status until `pred` holds (or fails after `secs`).
    async fn wait(&self, c: &str, id: &str, secs: u64, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let st = self.ok(Method::GET, &format!("/api/v1/apps/{id}/provisioning/status"), c, None).await;
            if pred(&st) {
                return st;
            }
            assert!(start.elapsed() < Duration::from_secs(secs), "timed out waiting for {what}: {st}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test]
async fn start_status_continuous_logs_on_demand_preview_and_pause() {
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), ..Default::default() }).await;
    let t = app().await;
    let scheduler = provisio_server::scheduler::spawn(t.state.clone());
    let c = t.login("root").await;
    let reader = t.login("reader").await;
    let id = t.ok(Method::POST, "/api/v1/apps", &c, Some(json!({"name": "Contoso SCIM"}))).await["id"].as_str().unwrap().to_string();
    let base = format!("/api/v1/apps/{id}/provisioning");

    // Start needs Automatic mode.
    let (s, v, _) = t.send(Method::POST, &format!("{base}/start"), &c, None).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("mode")));

    let mut settings = t.ok(Method::GET, &base, &c, None).await["settings"].clone();
    settings["scope"] = json!("all");
    settings["continuous"] = json!(true);
    t.ok(Method::PUT, &base, &c, Some(json!({"mode": "automatic", "settings": settings}))).await;
    t.ok(Method::PUT, &format!("{base}/credentials"), &c, Some(json!({"tenantUrl": target.base_url(), "secretToken": TOKEN}))).await;
    let mut users = Vec::new();
    for i in 0..5 {
        let u = t.ok(Method::POST, "/api/v1/users", &c, Some(json!({"userPrincipalName": format!("p{i}@contoso.example"), "displayName": format!("P {i}"), "mailNickname": format!("p{i}")}))).await;
        users.push(u["id"].as_str().unwrap().to_string());
    }

    // A Reader reads the status but cannot drive the job.
    let (s, _, _) = t.send(Method::POST, &format!("{base}/start"), &reader, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    t.ok(Method::GET, &format!("{base}/status"), &reader, None).await;

    let st = t.ok(Method::POST, &format!("{base}/start"), &c, None).await;
    assert_eq!(st["enabled"], json!(true));
    let st = t.wait(&c, &id, 20, "the initial cycle", |s| s["initialCycleComplete"] == json!(true) && s["state"] == json!("idle")).await;
    assert_eq!(st["lastCounts"]["created"], json!(5));
    assert_eq!(st["usersManaged"], json!(5));
    assert_eq!(target.state().users().len(), 5);

    // Continuous mode: a directory change reaches the target within seconds.
    let started = Instant::now();
    t.ok(Method::PATCH, &format!("/api/v1/users/{}", users[0]), &c, Some(json!({"jobTitle": "Engineer"}))).await;
    loop {
        if target.state().users().iter().any(|u| u["title"] == json!("Engineer")) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "the change did not reach the target within 5 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Logs: filtered, and exported.
    let logs = t.ok(Method::GET, &format!("{base}/logs?action=Create&status=Success"), &c, None).await;
    assert_eq!(logs["value"].as_array().unwrap().len(), 5);
    let upd = t.ok(Method::GET, &format!("{base}/logs?action=Update&identity={}", users[0]), &c, None).await;
    let props = &upd["value"][0]["detail"]["modifiedProperties"];
    assert_eq!(props[0]["name"], json!("title"));
    assert_eq!(props[0]["newValue"], json!("Engineer"));
    let (s, _, csv) = t.send(Method::GET, &format!("{base}/logs?format=csv"), &c, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(csv.starts_with("time,cycleId,action,status"), "{csv}");
    assert_eq!(csv.lines().count(), 7, "header + 5 creates + 1 update:\n{csv}");
    let (s, json_export, _) = t.send(Method::GET, &format!("{base}/logs?format=json"), &c, None).await;
    assert_eq!((s, json_export["value"].as_array().map(|v| v.len())), (StatusCode::OK, Some(6)));
    let (s, v, _) = t.send(Method::GET, &format!("{base}/logs?status=Exploded"), &c, None).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("status")));
    assert!(!csv.contains(TOKEN));

    // Pause: status Off; a directory change is not sent.
    let st = t.ok(Method::POST, &format!("{base}/pause"), &c, None).await;
    assert_eq!(st["enabled"], json!(false));
    t.ok(Method::PATCH, &format!("/api/v1/users/{}", users[1]), &c, Some(json!({"jobTitle": "Paused"}))).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!target.state().users().iter().any(|u| u["title"] == json!("Paused")));

    // On demand sends it now, and returns the steps; preview then has nothing left to create.
    let od = t.ok(Method::POST, &format!("{base}/on-demand"), &c, Some(json!({"id": users[1]}))).await;
    assert_eq!(od["value"][0]["action"], json!("Update"));
    assert!(target.state().users().iter().any(|u| u["title"] == json!("Paused")));
    let (s, v, _) =
        t.send(Method::POST, &format!("{base}/on-demand"), &c, Some(json!({"id": "00000000-0000-0000-0000-000000000000"}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let pv = t.ok(Method::POST, &format!("{base}/preview"), &c, Some(json!({"limit": 100}))).await;
    assert!(pv["value"].as_array().unwrap().iter().all(|e| e["action"] != json!("Create")), "{pv}");

    // Restart and staged-deletion answers are requests the scheduler applies.
    let (s, _, _) = t.send(Method::POST, &format!("{base}/allow-deletes"), &c, None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    t.ok(Method::POST, &format!("{base}/restart"), &c, Some(json!({"full": false}))).await;
    t.ok(Method::POST, &format!("{base}/start"), &c, None).await;
    t.wait(&c, &id, 20, "the restart's initial cycle", |s| {
        s["cycleKind"] == json!("initial") && s["state"] == json!("idle") && s["lastCycleAt"] != Value::Null
    })
    .await;
    assert_eq!(target.state().users().len(), 5, "a restart keeps links and creates nothing");
    scheduler.abort();
}

#[tokio::test]
async fn a_quarantined_job_raises_one_alert_that_the_api_and_the_overview_show() {
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), ..Default::default() }).await;
    let t = app().await;
    let scheduler = provisio_server::scheduler::spawn(t.state.clone());
    let c = t.login("root").await;
    let id = t.ok(Method::POST, "/api/v1/apps", &c, Some(json!({"name": "Contoso Alerts"}))).await["id"].as_str().unwrap().to_string();
    let base = format!("/api/v1/apps/{id}/provisioning");
    let mut settings = t.ok(Method::GET, &base, &c, None).await["settings"].clone();
    settings["scope"] = json!("all");
    settings["notifyOnFailure"] = json!(true);
    settings["notificationEmail"] = json!("ops@contoso.example");
    t.ok(Method::PUT, &base, &c, Some(json!({"mode": "automatic", "settings": settings}))).await;
    t.ok(
        Method::PUT,
        &format!("{base}/credentials"),
        &c,
        Some(json!({"tenantUrl": target.base_url(), "secretToken": "not-the-token-9876"})),
    )
    .await;
    t.ok(
        Method::POST,
        "/api/v1/users",
        &c,
        Some(json!({"userPrincipalName": "al@contoso.example", "displayName": "Al", "mailNickname": "al"})),
    )
    .await;
    t.ok(Method::POST, &format!("{base}/start"), &c, None).await;
    t.wait(&c, &id, 20, "the quarantine", |s| s["state"] == json!("quarantined")).await;

    let (s, v, text) = t.send(Method::GET, &format!("{base}/alerts"), &c, None).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let alerts = v["value"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{v}");
    assert_eq!(alerts[0]["kind"], json!("quarantined"));
    assert_eq!(alerts[0]["recipient"], json!("ops@contoso.example"));
    assert_eq!(alerts[0]["emailStatus"], json!("pending"), "no SMTP server is configured here");
    assert!(alerts[0]["subject"].as_str().unwrap().contains("Contoso Alerts"), "{v}");
    assert!(!text.contains("not-the-token-9876"), "the token leaked into an alert: {text}");
    let (s, v, _) = t.send(Method::GET, &format!("{base}/alerts?top=0"), &c, None).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("top")), "{v}");
    let (s, _, _) = t.send(Method::GET, "/api/v1/apps/00000000-0000-0000-0000-000000000000/provisioning/alerts", &c, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The overview blade lists it, with where its email is.
    let (s, _, html) = t.send(Method::GET, &format!("/apps/{id}/provisioning"), &c, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("data-testid=\"alerts\""), "no alerts section");
    assert!(html.contains("Provisioning for Contoso Alerts is in quarantine"), "the alert is not listed");
    assert!(html.contains("not sent yet"), "the email's state is not said");
    scheduler.abort();
}
