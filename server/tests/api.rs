//! The JSON API, through the whole router (sessions, guards, handlers, store), on a fresh SQLite file.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use provisio::model::Role;
use provisio::service::{admins, Actor};
use provisio::store::Store;
use provisio_server::config::Config;
use provisio_server::state::AppState;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

const PW: &str = "api-test-password-2026";

struct TestApp {
    router: Router,
    store: Store,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Resp {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
    text: String,
}

async fn app() -> TestApp {
    let dir = std::env::temp_dir().join(format!("provisio-api-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.join("t.db").display())).await.unwrap();
    for (name, role) in [("root", Role::Administrator), ("appadmin", Role::ApplicationAdministrator), ("reader", Role::Reader)] {
        admins::create_admin(&store, &Actor::cli(), name, PW, role).await.unwrap();
    }
    let config = <provisio_server::config::Cli as clap::Parser>::parse_from(["provisio"]).config;
    let config = Config { data_dir: dir.clone(), ..config };
    let leptos = provisio_server::leptos_options("target/site", config.addr);
    let secrets = provisio::crypto::SecretBox::new(&[7u8; 32]).unwrap();
    let state = AppState { store: store.clone(), config: Arc::new(config), leptos, secrets, allow_private_targets: false };
    TestApp { router: provisio_server::app(state), store, _dir: TempDir(dir) }
}

impl TestApp {
    async fn send(&self, method: Method, uri: &str, cookie: Option<&str>, body: Option<Value>) -> Resp {
        self.raw(method, uri, cookie, &[], body.map(|b| ("application/json", b.to_string().into_bytes()))).await
    }

    async fn raw(&self, method: Method, uri: &str, cookie: Option<&str>, extra: &[(&str, &str)], body: Option<(&str, Vec<u8>)>) -> Resp {
        let mut b = Request::builder().method(method).uri(uri).header(header::HOST, "localhost");
        if !extra.iter().any(|(k, _)| k.eq_ignore_ascii_case("origin")) {
            b = b.header(header::ORIGIN, "http://localhost");
        }
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        for (k, v) in extra {
            b = b.header(*k, *v);
        }
        let req = match body {
            Some((ct, bytes)) => b.header(header::CONTENT_TYPE, ct).body(Body::from(bytes)).unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp { status, headers, body, text }
    }

    /// Signs in and returns the session cookie.
    async fn login(&self, user: &str) -> String {
        let r = self.send(Method::POST, "/api/v1/login", None, Some(json!({"username": user, "password": PW}))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let set = r.headers.get(header::SET_COOKIE).expect("a session cookie").to_str().unwrap().to_string();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
        set.split(';').next().unwrap().to_string()
    }
}

fn error_code(r: &Resp) -> &str {
    r.body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn openapi_is_public_and_describes_every_route() {
    let t = app().await;
    let r = t.send(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let paths = r.body["paths"].as_object().unwrap();
    for p in [
        "/login",
        "/logout",
        "/users",
        "/users/{id}",
        "/users/{id}/restore",
        "/users/import",
        "/groups",
        "/groups/{id}",
        "/groups/{id}/members",
        "/groups/{id}/members/{memberId}",
        "/audit",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    let user = &r.body["components"]["schemas"]["UserInput"]["properties"];
    assert_eq!(user["department"]["type"], json!(["string", "null"]));
    assert_eq!(user["accountEnabled"]["type"], "boolean");
    assert!(user.get("id").is_none(), "id is not writable");
}

#[tokio::test]
async fn sign_in_failures_do_not_reveal_accounts_and_sessions_end_on_logout() {
    let t = app().await;
    let wrong = t.send(Method::POST, "/api/v1/login", None, Some(json!({"username": "root", "password": "nope-nope-nope"}))).await;
    let unknown = t.send(Method::POST, "/api/v1/login", None, Some(json!({"username": "ghost", "password": "nope-nope-nope"}))).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body["error"]["message"], unknown.body["error"]["message"]);
    let bad = t.send(Method::POST, "/api/v1/login", None, Some(json!({"user": "root"}))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["error"]["field"], "user");

    let cookie = t.login("root").await;
    let me = t.send(Method::GET, "/api/v1/me", Some(&cookie), None).await;
    assert_eq!(me.body["role"], "Administrator");
    assert_eq!(t.send(Method::POST, "/api/v1/logout", Some(&cookie), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.send(Method::GET, "/api/v1/me", Some(&cookie), None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn repeated_failures_are_throttled_with_retry_after() {
    let t = app().await;
    for _ in 0..5 {
        t.send(Method::POST, "/api/v1/login", None, Some(json!({"username": "reader", "password": "wrong-password-1"}))).await;
    }
    let r = t.send(Method::POST, "/api/v1/login", None, Some(json!({"username": "reader", "password": PW}))).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(error_code(&r), "throttled");
}

#[tokio::test]
async fn anonymous_callers_get_401_and_pages_redirect_to_sign_in() {
    let t = app().await;
    for (m, u) in
        [(Method::GET, "/api/v1/users"), (Method::POST, "/api/v1/users"), (Method::GET, "/api/v1/groups"), (Method::GET, "/api/v1/audit")]
    {
        let r = t.send(m, u, None, Some(json!({}))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{u}");
        assert_eq!(error_code(&r), "unauthorized");
    }
    let page = t.send(Method::GET, "/users?search=a", None, None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.headers[header::LOCATION], "/login?next=%2Fusers%3Fsearch%3Da");
    let bogus = t.raw(Method::GET, "/api/v1/users", None, &[("authorization", "Bearer pvo_not_a_token")], None).await;
    assert_eq!(bogus.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let t = app().await;
    let r = t.send(Method::GET, "/login", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'") && csp.contains("'nonce-"), "{csp}");
    assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(r.headers[header::REFERRER_POLICY], "same-origin");
    assert!(r.text.contains("Sign in"), "{}", r.text);
}

#[tokio::test]
async fn user_lifecycle_through_the_api() {
    let t = app().await;
    let c = t.login("appadmin").await;
    let r = t
        .send(
            Method::POST,
            "/api/v1/users",
            Some(&c),
            Some(
                json!({"userPrincipalName": "ada@contoso.example", "givenName": "Ada", "surname": "Lovelace", "department": "Engineering"}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["displayName"], "Ada Lovelace");
    assert_eq!(r.body["accountEnabled"], true);

    let dup = t
        .send(Method::POST, "/api/v1/users", Some(&c), Some(json!({"userPrincipalName": "ADA@contoso.example", "displayName": "X"})))
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.body["error"]["field"], "userPrincipalName");

    let invalid = t.send(Method::POST, "/api/v1/users", Some(&c), Some(json!({"userPrincipalName": "nope", "displayName": "X"}))).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.body["error"]["field"], "userPrincipalName");
    let unknown = t.send(Method::PATCH, &format!("/api/v1/users/{id}"), Some(&c), Some(json!({"departmnt": "x"}))).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.body["error"]["field"], "departmnt");
    let syntax = t.raw(Method::POST, "/api/v1/users", Some(&c), &[], Some(("application/json", b"{not json".to_vec()))).await;
    assert_eq!(syntax.status, StatusCode::BAD_REQUEST);

    let patched =
        t.send(Method::PATCH, &format!("/api/v1/users/{id}"), Some(&c), Some(json!({"department": null, "jobTitle": "Analyst"}))).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.body["department"], Value::Null);
    assert_eq!(patched.body["jobTitle"], "Analyst");
    assert_eq!(patched.body["givenName"], "Ada");

    assert_eq!(t.send(Method::GET, &format!("/api/v1/users/{id}"), Some(&c), None).await.body["jobTitle"], "Analyst");
    assert_eq!(
        t.send(Method::GET, "/api/v1/users/00000000-0000-0000-0000-000000000000", Some(&c), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(t.send(Method::GET, "/api/v1/users/not-an-id", Some(&c), None).await.status, StatusCode::NOT_FOUND);

    // Permanent delete needs the recycle bin first.
    let early = t.send(Method::DELETE, &format!("/api/v1/users/{id}?permanent=true"), Some(&c), None).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert_eq!(t.send(Method::DELETE, &format!("/api/v1/users/{id}"), Some(&c), None).await.status, StatusCode::NO_CONTENT);
    let bin = t.send(Method::GET, "/api/v1/users?deleted=true", Some(&c), None).await;
    assert_eq!(bin.body["value"].as_array().unwrap().len(), 1);
    assert_eq!(t.send(Method::GET, "/api/v1/users", Some(&c), None).await.body["value"].as_array().unwrap().len(), 0);
    let restored = t.send(Method::POST, &format!("/api/v1/users/{id}/restore"), Some(&c), None).await;
    assert_eq!(restored.status, StatusCode::OK);
    assert!(restored.body.get("deletedDateTime").is_none());
    assert_eq!(t.send(Method::POST, &format!("/api/v1/users/{id}/restore"), Some(&c), None).await.status, StatusCode::CONFLICT);
    t.send(Method::DELETE, &format!("/api/v1/users/{id}"), Some(&c), None).await;
    assert_eq!(t.send(Method::DELETE, &format!("/api/v1/users/{id}?permanent=true"), Some(&c), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.send(Method::GET, &format!("/api/v1/users/{id}"), Some(&c), None).await.status, StatusCode::NOT_FOUND);

    // The audit log saw all of it, by this admin.
    let audit = t.send(Method::GET, "/api/v1/audit?action=user.", Some(&c), None).await;
    let actions: Vec<&str> = audit.body["value"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["user.create", "user.update", "user.delete", "user.restore", "user.purge"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    assert!(audit.body["value"].as_array().unwrap().iter().all(|e| e["actor"] == "appadmin"));
}

#[tokio::test]
async fn lists_page_with_next_links() {
    let t = app().await;
    provisio::demo::seed(&t.store, &Actor::cli(), 120, "contoso.example").await.unwrap();
    let c = t.login("reader").await;
    let mut uri = "/api/v1/users?top=50".to_string();
    let mut seen = std::collections::HashSet::new();
    let mut pages = 0;
    loop {
        let r = t.send(Method::GET, &uri, Some(&c), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        for u in r.body["value"].as_array().unwrap() {
            assert!(seen.insert(u["id"].as_str().unwrap().to_string()));
        }
        pages += 1;
        match r.body["@odata.nextLink"].as_str() {
            Some(next) => uri = next.to_string(),
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (120, 3));
    let search = t.send(Method::GET, "/api/v1/users?search=ADA&top=500", Some(&c), None).await;
    assert!(search.body["value"].as_array().unwrap().iter().all(|u| {
        let hay = format!("{} {} {}", u["displayName"], u["userPrincipalName"], u["surname"]).to_lowercase();
        hay.contains("ada")
    }));
    let eng = t.send(Method::GET, "/api/v1/users?department=Engineering&accountEnabled=true&top=500", Some(&c), None).await;
    let eng = eng.body["value"].as_array().unwrap();
    assert!(!eng.is_empty() && eng.iter().all(|u| u["department"] == "Engineering" && u["accountEnabled"] == true));
    let bad = t.send(Method::GET, "/api/v1/users?after=garbage", Some(&c), None).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["error"]["field"], "after");
    let groups = t.send(Method::GET, "/api/v1/groups?top=5", Some(&c), None).await;
    assert_eq!(groups.body["value"].as_array().unwrap().len(), 5);
    assert!(groups.body["@odata.nextLink"].as_str().unwrap().starts_with("/api/v1/groups?top=5&after="));
}

#[tokio::test]
async fn csv_import_is_all_or_nothing() {
    let t = app().await;
    let c = t.login("root").await;
    let good = "userPrincipalName,displayName,department,manager\nboss@contoso.example,The Boss,Sales,\nwork@contoso.example,A Worker,Sales,boss@contoso.example\n";
    let preview =
        t.raw(Method::POST, "/api/v1/users/import?dryRun=true", Some(&c), &[], Some(("text/csv", good.as_bytes().to_vec()))).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert_eq!(preview.body["creates"], 2);
    assert_eq!(t.send(Method::GET, "/api/v1/users", Some(&c), None).await.body["value"].as_array().unwrap().len(), 0);

    let bad = "userPrincipalName,displayName,accountEnabled\nok@contoso.example,Fine,true\nbroken,Broken,maybe\n";
    let r = t.raw(Method::POST, "/api/v1/users/import", Some(&c), &[], Some(("text/csv", bad.as_bytes().to_vec()))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let fields: Vec<&str> = r.body["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"row 3, column accountEnabled") && fields.contains(&"row 3, column userPrincipalName"), "{fields:?}");
    assert_eq!(t.send(Method::GET, "/api/v1/users", Some(&c), None).await.body["value"].as_array().unwrap().len(), 0);

    let r = t.raw(Method::POST, "/api/v1/users/import", Some(&c), &[], Some(("text/csv", good.as_bytes().to_vec()))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let users = t.send(Method::GET, "/api/v1/users?search=a%20worker", Some(&c), None).await;
    assert_eq!(users.body["value"][0]["manager"]["displayName"], "The Boss");
}

#[tokio::test]
async fn groups_and_members() {
    let t = app().await;
    let c = t.login("appadmin").await;
    let g = t.send(Method::POST, "/api/v1/groups", Some(&c), Some(json!({"displayName": "Pilots", "description": "Pilot users"}))).await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", g.text);
    let gid = g.body["id"].as_str().unwrap().to_string();
    let u =
        t.send(Method::POST, "/api/v1/users", Some(&c), Some(json!({"userPrincipalName": "p@contoso.example", "displayName": "P"}))).await;
    let uid = u.body["id"].as_str().unwrap().to_string();

    let add = t.send(Method::POST, &format!("/api/v1/groups/{gid}/members"), Some(&c), Some(json!({"id": uid}))).await;
    assert_eq!(add.status, StatusCode::CREATED, "{}", add.text);
    assert_eq!(
        t.send(Method::POST, &format!("/api/v1/groups/{gid}/members"), Some(&c), Some(json!({"id": uid}))).await.status,
        StatusCode::CONFLICT
    );
    let none = t
        .send(Method::POST, &format!("/api/v1/groups/{gid}/members"), Some(&c), Some(json!({"id": "00000000-0000-0000-0000-000000000001"})))
        .await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(none.body["error"]["field"], "id");
    let self_nest = t.send(Method::POST, &format!("/api/v1/groups/{gid}/members"), Some(&c), Some(json!({"id": gid}))).await;
    assert_eq!(self_nest.status, StatusCode::UNPROCESSABLE_ENTITY);

    let members = t.send(Method::GET, &format!("/api/v1/groups/{gid}/members"), Some(&c), None).await;
    assert_eq!(members.body["value"][0]["id"], uid.as_str());
    assert_eq!(t.send(Method::GET, &format!("/api/v1/groups/{gid}"), Some(&c), None).await.body["memberCount"], 1);
    let renamed = t.send(Method::PATCH, &format!("/api/v1/groups/{gid}"), Some(&c), Some(json!({"displayName": "Pilot users"}))).await;
    assert_eq!(renamed.body["displayName"], "Pilot users");
    let empty = t.send(Method::PATCH, &format!("/api/v1/groups/{gid}"), Some(&c), Some(json!({"displayName": ""}))).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(t.send(Method::DELETE, &format!("/api/v1/groups/{gid}/members/{uid}"), Some(&c), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.send(Method::DELETE, &format!("/api/v1/groups/{gid}/members/{uid}"), Some(&c), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(Method::DELETE, &format!("/api/v1/groups/{gid}"), Some(&c), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.send(Method::GET, &format!("/api/v1/groups/{gid}"), Some(&c), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(Method::GET, &format!("/api/v1/groups/{gid}/members"), Some(&c), None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn readers_cannot_change_anything() {
    let t = app().await;
    let admin = t.login("root").await;
    let u = t
        .send(Method::POST, "/api/v1/users", Some(&admin), Some(json!({"userPrincipalName": "r@contoso.example", "displayName": "R"})))
        .await;
    let uid = u.body["id"].as_str().unwrap().to_string();
    let g = t.send(Method::POST, "/api/v1/groups", Some(&admin), Some(json!({"displayName": "G"}))).await;
    let gid = g.body["id"].as_str().unwrap().to_string();

    let c = t.login("reader").await;
    assert_eq!(t.send(Method::GET, "/api/v1/users", Some(&c), None).await.status, StatusCode::OK);
    assert_eq!(t.send(Method::GET, "/api/v1/audit", Some(&c), None).await.status, StatusCode::OK);
    let writes = [
        (Method::POST, "/api/v1/users".to_string(), Some(json!({"userPrincipalName": "x@contoso.example", "displayName": "X"}))),
        (Method::PATCH, format!("/api/v1/users/{uid}"), Some(json!({"jobTitle": "x"}))),
        (Method::DELETE, format!("/api/v1/users/{uid}"), None),
        (Method::POST, format!("/api/v1/users/{uid}/restore"), None),
        (Method::POST, "/api/v1/groups".to_string(), Some(json!({"displayName": "X"}))),
        (Method::PATCH, format!("/api/v1/groups/{gid}"), Some(json!({"displayName": "X"}))),
        (Method::DELETE, format!("/api/v1/groups/{gid}"), None),
        (Method::POST, format!("/api/v1/groups/{gid}/members"), Some(json!({"id": uid}))),
        (Method::DELETE, format!("/api/v1/groups/{gid}/members/{uid}"), None),
        (Method::POST, "/api/v1/tokens".to_string(), Some(json!({"name": "x", "role": "Reader"}))),
        (Method::GET, "/api/v1/admins".to_string(), None),
    ];
    for (m, u, b) in writes {
        let r = t.send(m.clone(), &u, Some(&c), b).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{m} {u}: {}", r.text);
        assert_eq!(error_code(&r), "forbidden");
    }
    let import =
        t.raw(Method::POST, "/api/v1/users/import", Some(&c), &[], Some(("text/csv", b"userPrincipalName\na@b.io\n".to_vec()))).await;
    assert_eq!(import.status, StatusCode::FORBIDDEN);
    // Nothing changed.
    assert_eq!(t.send(Method::GET, &format!("/api/v1/users/{uid}"), Some(&admin), None).await.body["deletedDateTime"], Value::Null);
}

#[tokio::test]
async fn cross_origin_changes_are_refused() {
    let t = app().await;
    let c = t.login("root").await;
    let evil = t
        .raw(
            Method::POST,
            "/api/v1/groups",
            Some(&c),
            &[("origin", "https://evil.example")],
            Some(("application/json", br#"{"displayName":"X"}"#.to_vec())),
        )
        .await;
    assert_eq!(evil.status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&evil), "cross_origin");
    let site = t.raw(Method::DELETE, "/api/v1/users/x", Some(&c), &[("sec-fetch-site", "cross-site")], None).await;
    assert_eq!(site.status, StatusCode::FORBIDDEN);
    // Server functions are guarded the same way.
    let sfn = t
        .raw(
            Method::POST,
            "/api/logout",
            Some(&c),
            &[("origin", "https://evil.example")],
            Some(("application/x-www-form-urlencoded", vec![])),
        )
        .await;
    assert_eq!(sfn.status, StatusCode::FORBIDDEN);
    assert_eq!(t.send(Method::GET, "/api/v1/groups", Some(&c), None).await.body["value"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn api_tokens_and_admin_accounts() {
    let t = app().await;
    let c = t.login("root").await;
    let tok = t.send(Method::POST, "/api/v1/tokens", Some(&c), Some(json!({"name": "ci", "role": "ApplicationAdministrator"}))).await;
    assert_eq!(tok.status, StatusCode::CREATED, "{}", tok.text);
    let secret = tok.body["token"].as_str().unwrap().to_string();
    let tid = tok.body["id"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {secret}");
    let by_token = t
        .raw(
            Method::POST,
            "/api/v1/groups",
            None,
            &[("authorization", &bearer), ("origin", "https://elsewhere.example")],
            Some(("application/json", br#"{"displayName":"From CI"}"#.to_vec())),
        )
        .await;
    assert_eq!(by_token.status, StatusCode::CREATED, "{}", by_token.text);
    let listed = t.send(Method::GET, "/api/v1/tokens", Some(&c), None).await;
    assert!(!listed.text.contains(&secret), "the token must never be listed");
    assert_eq!(listed.body["value"][0]["prefix"], &secret[..8]);
    let audit = t.send(Method::GET, "/api/v1/audit?actor=token:ci", Some(&c), None).await;
    assert_eq!(audit.body["value"][0]["action"], "group.create");
    // An application administrator cannot manage admins or tokens.
    let app_token = t.raw(Method::GET, "/api/v1/admins", None, &[("authorization", &bearer)], None).await;
    assert_eq!(app_token.status, StatusCode::FORBIDDEN);
    assert_eq!(t.send(Method::DELETE, &format!("/api/v1/tokens/{tid}"), Some(&c), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.raw(Method::GET, "/api/v1/users", None, &[("authorization", &bearer)], None).await.status, StatusCode::UNAUTHORIZED);

    let weak =
        t.send(Method::POST, "/api/v1/admins", Some(&c), Some(json!({"username": "eve", "password": "short", "role": "Reader"}))).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(weak.body["error"]["field"], "password");
    let bad_role = t
        .send(Method::POST, "/api/v1/admins", Some(&c), Some(json!({"username": "eve", "password": "long-enough-password", "role": "God"})))
        .await;
    assert_eq!(bad_role.body["error"]["field"], "role");
    let eve = t
        .send(
            Method::POST,
            "/api/v1/admins",
            Some(&c),
            Some(json!({"username": "eve", "password": "long-enough-password", "role": "Reader"})),
        )
        .await;
    assert_eq!(eve.status, StatusCode::CREATED, "{}", eve.text);
    assert!(eve.body.get("passwordHash").is_none() && !eve.text.contains("argon2"));
    let eid = eve.body["id"].as_str().unwrap().to_string();
    let promoted =
        t.send(Method::PATCH, &format!("/api/v1/admins/{eid}"), Some(&c), Some(json!({"role": "ApplicationAdministrator"}))).await;
    assert_eq!(promoted.body["role"], "ApplicationAdministrator");
    let list = t.send(Method::GET, "/api/v1/admins", Some(&c), None).await;
    assert_eq!(list.body["value"].as_array().unwrap().len(), 4);
    assert_eq!(t.send(Method::DELETE, &format!("/api/v1/admins/{eid}"), Some(&c), None).await.status, StatusCode::NO_CONTENT);
    let me = t.send(Method::GET, "/api/v1/me", Some(&c), None).await;
    let my_id = me.body["adminId"].as_str().unwrap().to_string();
    assert_eq!(t.send(Method::DELETE, &format!("/api/v1/admins/{my_id}"), Some(&c), None).await.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn unknown_api_routes_are_json_404() {
    let t = app().await;
    let c = t.login("root").await;
    let r = t.send(Method::GET, "/api/v1/nothing-here", Some(&c), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&r), "not_found");
    let changes = t.send(Method::GET, "/api/v1/changes?after=0", Some(&c), None).await;
    assert_eq!(changes.status, StatusCode::OK);
}

#[tokio::test]
async fn expressions_evaluate_for_a_user_and_report_errors_with_positions() {
    let t = app().await;
    let admin = t.login("appadmin").await;
    let u = t
        .send(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(json!({"userPrincipalName": "ada@contoso.example", "givenName": "Ada", "surname": "Lovelace", "otherMails": ["a@x.example"]})),
        )
        .await;
    assert_eq!(u.status, StatusCode::CREATED, "{}", u.text);
    let uid = u.body["id"].as_str().unwrap().to_string();
    // Readers may use it too: it changes nothing.
    let c = t.login("reader").await;
    let eval = |expression: &str, user: Option<&str>| {
        let body = match user {
            Some(u) => json!({"expression": expression, "userId": u}),
            None => json!({"expression": expression}),
        };
        t.send(Method::POST, "/api/v1/expressions/evaluate", Some(&c), Some(body))
    };

    let r = eval(r#"Join(".", ToLower([givenName]), [surname])"#, Some(&uid)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["ok"], true, "{}", r.text);
    assert_eq!(r.body["value"], "ada.Lovelace");
    assert_eq!(r.body["type"], "String");
    assert_eq!(r.body["text"], "ada.Lovelace");
    assert_eq!(r.body["ignored"], false);
    assert_eq!(r.body["attributes"], json!({"givenName": "Ada", "surname": "Lovelace"}));
    assert_eq!(r.body["pretty"], r#"Join(".", ToLower([givenName]), [surname])"#);

    let multi = eval("[otherMails]", Some(&uid)).await;
    assert_eq!((multi.body["value"].clone(), multi.body["type"].clone()), (json!(["a@x.example"]), json!("Multi")));
    let enabled = eval("[accountEnabled]", Some(&uid)).await;
    assert_eq!((enabled.body["value"].clone(), enabled.body["text"].clone()), (json!(true), json!("True")));
    let ignored = eval("IgnoreFlowIfNullOrEmpty([department])", Some(&uid)).await;
    assert_eq!((ignored.body["ok"].clone(), ignored.body["ignored"].clone()), (json!(true), json!(true)), "{}", ignored.text);

    // Without a user every attribute is null: still good for constants and syntax.
    let none = eval(r#"Coalesce([givenName], "nobody")"#, None).await;
    assert_eq!(none.body["value"], "nobody", "{}", none.text);
    assert_eq!(none.body["attributes"], json!({"givenName": null}));

    // A syntax error: 200, ok false, with where it is.
    let syntax = eval("Join(\".\",\n  [givenName] [surname])", Some(&uid)).await;
    assert_eq!(syntax.status, StatusCode::OK, "{}", syntax.text);
    assert_eq!(syntax.body["ok"], false);
    let e = &syntax.body["error"];
    assert_eq!((e["line"].clone(), e["column"].clone()), (json!(2), json!(15)), "{}", syntax.text);
    assert_eq!((e["start"].clone(), e["end"].clone()), (json!(24), json!(33)), "{}", syntax.text);
    assert!(e["message"].as_str().unwrap().len() > 5);
    assert!(syntax.body.get("value").is_none());

    let unknown = eval("[departmnt]", Some(&uid)).await;
    assert_eq!(unknown.body["ok"], false);
    assert_eq!(unknown.body["error"]["message"], "unknown attribute [departmnt], did you mean [department]?");
    assert_eq!((unknown.body["error"]["column"].clone(), unknown.body["error"]["start"].clone()), (json!(1), json!(0)));
    assert_eq!(unknown.body["pretty"], "[departmnt]");

    // Unknown users are 404, whether the id is well formed or not.
    for id in ["00000000-0000-0000-0000-000000000000", "not-an-id"] {
        let r = eval("[givenName]", Some(id)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{id}: {}", r.text);
        assert_eq!(error_code(&r), "not_found");
    }
    // Missing, unknown and oversized fields are 422 naming the field.
    let missing = t.send(Method::POST, "/api/v1/expressions/evaluate", Some(&c), Some(json!({"userId": uid}))).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.body["error"]["field"], "expression");
    let extra = t.send(Method::POST, "/api/v1/expressions/evaluate", Some(&c), Some(json!({"expression": "1", "user": "x"}))).await;
    assert_eq!(extra.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(extra.body["error"]["field"], "user");
    let long = format!("\"{}\"", "a".repeat(provisio::expr::MAX_CHARS));
    let oversized = eval(&long, None).await;
    assert_eq!(oversized.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(oversized.body["error"]["field"], "expression");

    // Anonymous callers get 401; the function reference lists what the checker knows.
    let anon = t.send(Method::POST, "/api/v1/expressions/evaluate", None, Some(json!({"expression": "1"}))).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.send(Method::GET, "/api/v1/expressions/functions", None, None).await.status, StatusCode::UNAUTHORIZED);
    let f = t.send(Method::GET, "/api/v1/expressions/functions", Some(&c), None).await;
    assert_eq!(f.status, StatusCode::OK);
    let fs = f.body["value"].as_array().unwrap();
    let join = fs.iter().find(|f| f["name"] == "Join").expect("Join is listed");
    assert!(join["signature"].as_str().unwrap().starts_with("Join(") && !join["summary"].as_str().unwrap().is_empty());
    let spec = t.send(Method::GET, "/api/v1/openapi.json", None, None).await;
    for p in ["/expressions/evaluate", "/expressions/functions"] {
        assert!(spec.body["paths"].get(p).is_some(), "{p} missing from the OpenAPI document");
    }
}

#[tokio::test]
async fn expressions_evaluate_against_demo_users() {
    let t = app().await;
    provisio::demo::seed(&t.store, &Actor::cli(), 20, "contoso.example").await.unwrap();
    let c = t.login("root").await;
    let users = t.send(Method::GET, "/api/v1/users?top=1", Some(&c), None).await;
    let u = &users.body["value"][0];
    let r = t
        .send(
            Method::POST,
            "/api/v1/expressions/evaluate",
            Some(&c),
            Some(json!({"expression": "ToUpper([userPrincipalName])", "userId": u["id"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["value"], u["userPrincipalName"].as_str().unwrap().to_uppercase());
    assert_eq!(r.body["attributes"]["userPrincipalName"], u["userPrincipalName"]);
}
