//! `/api/v1/apps`: enterprise applications through the whole router, on a fresh SQLite file: the app
//! lifecycle, roles, the Provisioning blade, secrets at rest, mappings, assignments and Test Connection.

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
const TOKEN: &str = "scim-bearer-TOKEN-0123456789-abcdefXYZ";

struct TestApp {
    router: Router,
    store: Store,
    dir: TempDir,
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Resp {
    status: StatusCode,
    body: Value,
    text: String,
}

async fn app_with(allow_private_targets: bool) -> TestApp {
    let dir = std::env::temp_dir().join(format!("provisio-apps-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.join("t.db").display())).await.unwrap();
    for (name, role) in [("root", Role::Administrator), ("appadmin", Role::ApplicationAdministrator), ("reader", Role::Reader)] {
        admins::create_admin(&store, &Actor::cli(), name, PW, role).await.unwrap();
    }
    let config = <provisio_server::config::Cli as clap::Parser>::parse_from(["provisio"]).config;
    let config = Config { data_dir: dir.clone(), ..config };
    let leptos = provisio_server::leptos_options("target/site", config.addr);
    let secrets = provisio::crypto::SecretBox::new(&[42u8; 32]).unwrap();
    let state = AppState { store: store.clone(), config: Arc::new(config), leptos, secrets, allow_private_targets };
    TestApp { router: provisio_server::app(state), store, dir: TempDir(dir) }
}

async fn app() -> TestApp {
    app_with(false).await
}

impl TestApp {
    async fn send(&self, method: Method, uri: &str, cookie: &str, body: Option<Value>) -> Resp {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "localhost")
            .header(header::ORIGIN, "http://localhost")
            .header(header::COOKIE, cookie);
        let req = match body {
            Some(v) => b.header(header::CONTENT_TYPE, "application/json").body(Body::from(v.to_string())).unwrap(),
            None => {
                b = b.header(header::CONTENT_LENGTH, "0");
                b.body(Body::empty()).unwrap()
            }
        };
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp { status, body, text }
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
        let set = resp.headers().get(header::SET_COOKIE).expect("a session cookie").to_str().unwrap().to_string();
        set.split(';').next().unwrap().to_string()
    }

    async fn create_app(&self, c: &str, name: &str) -> String {
        let r = self.send(Method::POST, "/api/v1/apps", c, Some(json!({"name": name}))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body["id"].as_str().unwrap().to_string()
    }
}

/// The fields named by a 422's details.
fn fields(r: &Resp) -> Vec<String> {
    r.body["error"]["details"]
        .as_array()
        .map(|d| d.iter().map(|e| e["field"].as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn app_lifecycle_list_search_and_paging() {
    let t = app().await;
    let c = t.login("appadmin").await;
    let r = t.send(Method::POST, "/api/v1/apps", &c, Some(json!({"name": "  Contoso HR  "}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["name"], "Contoso HR");
    assert_eq!(r.body["template"], "generic-scim");
    assert_eq!(r.body["mode"], "manual");
    assert_eq!(r.body["settings"]["intervalMinutes"], 40);
    assert_eq!(r.body["profile"]["maxConcurrency"], 8);
    let id = r.body["id"].as_str().unwrap().to_string();
    for n in ["Salesforce", "ServiceNow", "Slack"] {
        t.create_app(&c, n).await;
    }

    let dup = t.send(Method::POST, "/api/v1/apps", &c, Some(json!({"name": "contoso hr"}))).await;
    assert_eq!(dup.status, StatusCode::CONFLICT, "{}", dup.text);
    assert_eq!(dup.body["error"]["field"], "name");
    let blank = t.send(Method::POST, "/api/v1/apps", &c, Some(json!({"name": " "}))).await;
    assert_eq!((blank.status, blank.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("name")));
    let tpl = t.send(Method::POST, "/api/v1/apps", &c, Some(json!({"name": "X", "template": "nope"}))).await;
    assert_eq!((tpl.status, tpl.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("template")));
    let unknown = t.send(Method::POST, "/api/v1/apps", &c, Some(json!({"name": "X", "colour": "red"}))).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);

    let all = t.send(Method::GET, "/api/v1/apps", &c, None).await;
    let names: Vec<&str> = all.body["value"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Contoso HR", "Salesforce", "ServiceNow", "Slack"]);
    let s = t.send(Method::GET, "/api/v1/apps?search=S", &c, None).await;
    assert_eq!(s.body["value"].as_array().unwrap().len(), 3);
    let se = t.send(Method::GET, "/api/v1/apps?search=serv", &c, None).await;
    assert_eq!(se.body["value"][0]["name"], "ServiceNow");
    assert_eq!(se.body["value"].as_array().unwrap().len(), 1);
    // Keyset paging follows @odata.nextLink to the end.
    let mut seen = Vec::new();
    let mut next = Some("/api/v1/apps?search=s&top=2".to_string());
    while let Some(u) = next {
        let p = t.send(Method::GET, &u, &c, None).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.text);
        seen.extend(p.body["value"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_string()));
        next = p.body["@odata.nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(seen, vec!["Salesforce", "ServiceNow", "Slack"]);
    let bad = t.send(Method::GET, "/api/v1/apps?after=junk", &c, None).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("after")));

    let g = t.send(Method::GET, &format!("/api/v1/apps/{id}"), &c, None).await;
    assert_eq!(g.body["name"], "Contoso HR");
    let p = t.send(Method::PATCH, &format!("/api/v1/apps/{id}"), &c, Some(json!({"name": "Contoso People"}))).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!(p.body["name"], "Contoso People");
    let taken = t.send(Method::PATCH, &format!("/api/v1/apps/{id}"), &c, Some(json!({"name": "SLACK"}))).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    let auto = t.send(Method::PATCH, &format!("/api/v1/apps/{id}"), &c, Some(json!({"mode": "automatic"}))).await;
    assert_eq!(auto.body["mode"], "automatic");
    let back = t.send(Method::PATCH, &format!("/api/v1/apps/{id}"), &c, Some(json!({"mode": "manual"}))).await;
    assert_eq!(back.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(back.body["error"]["field"], "mode");
    assert!(back.text.contains("Off"), "{}", back.text);

    let audit = t.send(Method::GET, &format!("/api/v1/audit?targetId={id}"), &c, None).await;
    let actions: Vec<&str> = audit.body["value"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["Update application", "Update application", "Create application"]);

    assert_eq!(t.send(Method::DELETE, &format!("/api/v1/apps/{id}"), &c, None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.send(Method::GET, &format!("/api/v1/apps/{id}"), &c, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(Method::DELETE, &format!("/api/v1/apps/{id}"), &c, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(Method::GET, "/api/v1/apps/not-an-id", &c, None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn readers_read_but_never_write_and_anonymous_callers_get_401() {
    let t = app().await;
    let admin = t.login("root").await;
    let id = t.create_app(&admin, "Workday").await;
    let c = t.login("reader").await;
    assert_eq!(t.send(Method::GET, "/api/v1/apps", &c, None).await.status, StatusCode::OK);
    assert_eq!(t.send(Method::GET, &format!("/api/v1/apps/{id}/provisioning"), &c, None).await.status, StatusCode::OK);
    assert_eq!(t.send(Method::GET, &format!("/api/v1/apps/{id}/provisioning/mappings"), &c, None).await.status, StatusCode::OK);
    assert_eq!(t.send(Method::GET, &format!("/api/v1/apps/{id}/assignments"), &c, None).await.status, StatusCode::OK);
    let mappings = t.send(Method::GET, &format!("/api/v1/apps/{id}/provisioning/mappings"), &c, None).await.body;
    let writes = [
        (Method::POST, "/api/v1/apps".to_string(), Some(json!({"name": "Nope"}))),
        (Method::PATCH, format!("/api/v1/apps/{id}"), Some(json!({"name": "Nope"}))),
        (Method::DELETE, format!("/api/v1/apps/{id}"), None),
        (Method::PUT, format!("/api/v1/apps/{id}/provisioning"), Some(json!({"mode": "automatic"}))),
        (
            Method::PUT,
            format!("/api/v1/apps/{id}/provisioning/credentials"),
            Some(json!({"tenantUrl": "https://x.example/scim", "secretToken": TOKEN})),
        ),
        (Method::PUT, format!("/api/v1/apps/{id}/provisioning/mappings"), Some(mappings)),
        (Method::POST, format!("/api/v1/apps/{id}/provisioning/test-connection"), None),
        (Method::POST, format!("/api/v1/apps/{id}/assignments"), Some(json!({"principalId": uuid::Uuid::new_v4().to_string()}))),
        (Method::DELETE, format!("/api/v1/apps/{id}/assignments/{}", uuid::Uuid::new_v4()), None),
    ];
    for (m, u, b) in writes {
        let r = t.send(m.clone(), &u, &c, b).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{m} {u}: {}", r.text);
        assert_eq!(r.body["error"]["code"], "forbidden");
    }
    assert_eq!(t.send(Method::GET, &format!("/api/v1/apps/{id}"), &c, None).await.body["name"], "Workday");
    assert_eq!(t.send(Method::GET, "/api/v1/apps", "", None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn provisioning_settings_are_validated_by_field() {
    let t = app().await;
    let c = t.login("appadmin").await;
    let id = t.create_app(&c, "Zendesk").await;
    let url = format!("/api/v1/apps/{id}/provisioning");
    let g = t.send(Method::GET, &url, &c, None).await;
    assert_eq!(g.status, StatusCode::OK);
    assert_eq!(g.body["mode"], "manual");
    assert_eq!(g.body["settings"]["deletionThreshold"], 500);
    assert_eq!(g.body["credentials"]["auth"], "bearer");
    assert!(g.body["credentials"]["secretToken"].is_null());

    let bad = t
        .send(
            Method::PUT,
            &url,
            &c,
            Some(
                json!({"mode": "automatic", "settings": {"intervalMinutes": 0, "notifyOnFailure": true}, "profile": {"maxConcurrency": 0}}),
            ),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert_eq!(fields(&bad), vec!["settings.notificationEmail", "settings.intervalMinutes", "profile.maxConcurrency"]);
    let typo = t.send(Method::PUT, &url, &c, Some(json!({"mode": "automatic", "settings": {"intervalMinute": 5}}))).await;
    assert_eq!(typo.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", typo.text);
    assert_eq!(typo.body["error"]["field"], "settings.intervalMinute");
    assert!(typo.text.contains("did you mean intervalMinutes"), "{}", typo.text);

    let ok = t
        .send(
            Method::PUT,
            &url,
            &c,
            Some(json!({"mode": "automatic", "settings": {"intervalMinutes": 20, "scope": "all", "notificationEmail": "ops@contoso.example", "notifyOnFailure": true},
                        "profile": {"usePut": true, "maxConcurrency": 2}})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.body["mode"], "automatic");
    assert_eq!(ok.body["settings"]["intervalMinutes"], 20);
    assert_eq!(ok.body["settings"]["scope"], "all");
    assert_eq!(ok.body["profile"]["usePut"], true);
    // Without a profile the stored one is kept.
    let keep = t.send(Method::PUT, &url, &c, Some(json!({"mode": "automatic", "settings": {"intervalMinutes": 30}}))).await;
    assert_eq!(keep.status, StatusCode::OK, "{}", keep.text);
    assert_eq!(keep.body["profile"]["maxConcurrency"], 2);
    let manual = t.send(Method::PUT, &url, &c, Some(json!({"mode": "manual"}))).await;
    assert_eq!((manual.status, manual.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("mode")));
    let audit = t.send(Method::GET, &format!("/api/v1/audit?targetId={id}&action=Update%20provisioning"), &c, None).await;
    assert_eq!(audit.body["value"].as_array().unwrap().len(), 2, "{}", audit.text);
    assert_eq!(audit.body["value"][0]["details"]["changes"]["settings.intervalMinutes"]["new"], 30, "{}", audit.text);
}

/// Every byte of the SQLite database (main file and WAL).
fn db_bytes(t: &TestApp) -> Vec<u8> {
    let mut all = Vec::new();
    for f in ["t.db", "t.db-wal"] {
        if let Ok(b) = std::fs::read(t.dir.0.join(f)) {
            all.extend(b);
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn credentials_are_sealed_at_rest_and_never_returned() {
    let t = app().await;
    let c = t.login("appadmin").await;
    let id = t.create_app(&c, "Dropbox").await;
    let url = format!("/api/v1/apps/{id}/provisioning/credentials");

    let missing = t.send(Method::PUT, &url, &c, Some(json!({"tenantUrl": "ftp://scim.example.com"}))).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", missing.text);
    assert_eq!(fields(&missing), vec!["tenantUrl", "secretToken"]);
    let oauth =
        t.send(Method::PUT, &url, &c, Some(json!({"tenantUrl": "https://scim.example.com/v2", "auth": "oAuthClientCredentials"}))).await;
    assert_eq!(fields(&oauth), vec!["tokenUrl", "clientId", "clientSecret"]);

    let mut bodies = Vec::new();
    let r = t.send(Method::PUT, &url, &c, Some(json!({"tenantUrl": "https://scim.example.com/v2", "secretToken": TOKEN}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["tenantUrl"], "https://scim.example.com/v2");
    assert_eq!(r.body["secretToken"]["set"], true);
    assert_eq!(r.body["secretToken"]["last4"], &TOKEN[TOKEN.len() - 4..]);
    assert!(r.body["clientSecret"].is_null());
    let first_update = r.body["secretToken"]["updatedAt"].clone();
    bodies.push(r.text);

    // Absent secret: the stored one is kept.
    let again = t.send(Method::PUT, &url, &c, Some(json!({"tenantUrl": "https://scim.example.com/v2?tenant=7"}))).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["secretToken"]["updatedAt"], first_update);
    bodies.push(again.text);
    let g = t.send(Method::GET, &format!("/api/v1/apps/{id}/provisioning"), &c, None).await;
    assert_eq!(g.body["credentials"]["secretToken"]["set"], true);
    assert_eq!(g.body["credentials"]["tenantUrl"], "https://scim.example.com/v2?tenant=7");
    bodies.push(g.text);
    let audit = t.send(Method::GET, &format!("/api/v1/audit?targetId={id}"), &c, None).await;
    let creds: Vec<&Value> = audit.body["value"].as_array().unwrap().iter().filter(|e| e["action"] == "Update admin credentials").collect();
    assert_eq!(creds.len(), 2, "{}", audit.text);
    assert_eq!(creds[1]["details"]["secretsChanged"], json!(["secretToken"]));
    assert_eq!(creds[0]["details"]["secretsChanged"], json!([]));
    assert_eq!(creds[0]["details"]["tenantUrl"], "https://scim.example.com/v2", "the query string is not audited");
    bodies.push(audit.text);
    bodies.push(t.send(Method::GET, "/api/v1/audit", &c, None).await.text);
    bodies.push(t.send(Method::GET, "/api/v1/changes", &c, None).await.text);
    bodies.push(t.send(Method::GET, &format!("/api/v1/apps/{id}"), &c, None).await.text);
    for b in &bodies {
        assert!(!b.contains(TOKEN), "the token leaked: {b}");
    }

    // At rest: only sealed text, bound to its row.
    let aid = provisio::apps::AppId::parse(&id).unwrap();
    let mut conn = t.store.conn().await.unwrap();
    let ct = provisio::store::apps::get_secret(&mut conn, aid, "secretToken").await.unwrap().expect("a stored token");
    assert!(ct.starts_with("v1:") && !ct.contains(TOKEN), "{ct}");
    assert!(provisio::store::apps::get_secret(&mut conn, aid, "clientSecret").await.unwrap().is_none());
    // Sealed for this row: it opens with the server key and this app's id only.
    let sb = provisio::crypto::SecretBox::new(&[42u8; 32]).unwrap();
    assert_eq!(sb.open(&ct, &format!("{id}:secretToken")).unwrap(), TOKEN);
    assert!(sb.open(&ct, &format!("{}:secretToken", uuid::Uuid::new_v4())).is_err());
    drop(conn);
    assert!(!contains(&db_bytes(&t), TOKEN), "the token is in the database file");

    // OAuth client credentials: the client secret is sealed too.
    let o = t
        .send(
            Method::PUT,
            &url,
            &c,
            Some(json!({"tenantUrl": "https://scim.example.com/v2", "auth": "oAuthClientCredentials", "tokenUrl": "https://login.example.com/token",
                        "clientId": "provisio", "clientSecret": "client-SECRET-value-987654321", "scope": "scim"})),
        )
        .await;
    assert_eq!(o.status, StatusCode::OK, "{}", o.text);
    assert_eq!(o.body["auth"], "oAuthClientCredentials");
    assert_eq!(o.body["clientSecret"]["last4"], "4321");
    assert_eq!(o.body["clientId"], "provisio");
    assert!(!o.text.contains("client-SECRET-value"));
    assert!(!contains(&db_bytes(&t), "client-SECRET-value"));

    // Deleting the app deletes its secrets.
    assert_eq!(t.send(Method::DELETE, &format!("/api/v1/apps/{id}"), &c, None).await.status, StatusCode::NO_CONTENT);
    let mut conn = t.store.conn().await.unwrap();
    for name in ["secretToken", "clientSecret"] {
        assert!(provisio::store::apps::get_secret(&mut conn, aid, name).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn mappings_are_compiled_before_they_are_saved() {
    let t = app().await;
    let c = t.login("appadmin").await;
    let id = t.create_app(&c, "GitHub").await;
    let url = format!("/api/v1/apps/{id}/provisioning/mappings");
    let g = t.send(Method::GET, &url, &c, None).await;
    assert_eq!(g.status, StatusCode::OK);
    let mut m = g.body.clone();
    assert!(m["user"]["attributes"].as_array().unwrap().len() > 5);
    assert_eq!(m["userSchema"]["object"], "User", "{}", g.text);

    // An expression with a typo: the error names the attribute mapping's source and suggests the fix.
    let attrs = m["user"]["attributes"].as_array_mut().unwrap();
    let dn = attrs.iter_mut().find(|a| a["target"] == "displayName").expect("a displayName mapping");
    dn["mappingType"] = json!("Expression");
    dn["source"] = json!("Joinn(\" \", [givenName], [surname])");
    let bad = t.send(Method::PUT, &url, &c, Some(m.clone())).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert_eq!(fields(&bad), vec!["user.attributes[displayName].source"]);
    let msg = bad.body["error"]["details"][0]["message"].as_str().unwrap();
    assert!(msg.contains("did you mean Join"), "{msg}");
    assert!(msg.contains("line 1, column 1"), "{msg}");

    // Removing a required mapping is refused.
    let mut no_user_name = g.body.clone();
    no_user_name["user"]["attributes"].as_array_mut().unwrap().retain(|a| a["target"] != "userName");
    let req = t.send(Method::PUT, &url, &c, Some(no_user_name)).await;
    assert_eq!(req.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", req.text);
    assert!(fields(&req).iter().all(|f| f.starts_with("user.")), "{:?}", fields(&req));
    assert!(fields(&req).contains(&"user.attributes[userName].target".to_string()), "{:?}", fields(&req));

    // A wrong source object; a malformed body names its field.
    let mut swapped = g.body.clone();
    swapped["group"]["sourceObject"] = json!("User");
    let sw = t.send(Method::PUT, &url, &c, Some(swapped)).await;
    assert_eq!(sw.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(fields(&sw).contains(&"group.sourceObject".to_string()), "{:?}", fields(&sw));
    let junk = t.send(Method::PUT, &url, &c, Some(json!({"user": {}}))).await;
    assert_eq!(junk.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The corrected expression saves; the audit entry records the new fingerprint.
    let attrs = m["user"]["attributes"].as_array_mut().unwrap();
    let dn = attrs.iter_mut().find(|a| a["target"] == "displayName").unwrap();
    dn["source"] = json!("Join(\" \", [givenName], [surname])");
    let ok = t.send(Method::PUT, &url, &c, Some(m.clone())).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let again = t.send(Method::GET, &url, &c, None).await;
    assert_eq!(again.body, m);
    let audit = t.send(Method::GET, &format!("/api/v1/audit?targetId={id}&action=Update%20attribute"), &c, None).await;
    let entries = audit.body["value"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{}", audit.text);
    assert_eq!(entries[0]["action"], "Update attribute mappings or scope");
    assert_eq!(entries[0]["details"]["changed"], json!(["user"]));
    assert_ne!(entries[0]["details"]["fingerprint"]["before"], entries[0]["details"]["fingerprint"]["after"]);
    // Saving the same mappings again changes nothing.
    assert_eq!(t.send(Method::PUT, &url, &c, Some(m)).await.status, StatusCode::OK);
    let audit = t.send(Method::GET, &format!("/api/v1/audit?targetId={id}&action=Update%20attribute"), &c, None).await;
    assert_eq!(audit.body["value"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn assignments_add_list_remove_and_reach_the_change_log() {
    let t = app().await;
    let c = t.login("appadmin").await;
    let id = t.create_app(&c, "Box").await;
    let u = t
        .send(Method::POST, "/api/v1/users", &c, Some(json!({"userPrincipalName": "ada@contoso.example", "displayName": "Ada Lovelace"})))
        .await;
    assert_eq!(u.status, StatusCode::CREATED, "{}", u.text);
    let uid = u.body["id"].as_str().unwrap().to_string();
    let g = t.send(Method::POST, "/api/v1/groups", &c, Some(json!({"displayName": "Engineering"}))).await;
    let gid = g.body["id"].as_str().unwrap().to_string();
    let url = format!("/api/v1/apps/{id}/assignments");

    let a = t.send(Method::POST, &url, &c, Some(json!({"principalId": uid}))).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!((a.body["principalType"].as_str(), a.body["displayName"].as_str()), (Some("user"), Some("Ada Lovelace")));
    let b = t.send(Method::POST, &url, &c, Some(json!({"principalId": gid}))).await;
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.text);
    assert_eq!(b.body["principalType"], "group");
    let dup = t.send(Method::POST, &url, &c, Some(json!({"principalId": uid.to_uppercase()}))).await;
    assert_eq!((dup.status, dup.body["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("principalId")));
    let ghost = t.send(Method::POST, &url, &c, Some(json!({"principalId": uuid::Uuid::new_v4().to_string()}))).await;
    assert_eq!(ghost.status, StatusCode::NOT_FOUND, "{}", ghost.text);
    assert_eq!(t.send(Method::POST, &url, &c, Some(json!({"principalId": "nobody"}))).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(Method::POST, &url, &c, Some(json!({"id": uid}))).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let other = uuid::Uuid::new_v4();
    assert_eq!(
        t.send(Method::POST, &format!("/api/v1/apps/{other}/assignments"), &c, Some(json!({"principalId": uid}))).await.status,
        StatusCode::NOT_FOUND
    );

    let list = t.send(Method::GET, &url, &c, None).await;
    let mut names: Vec<(String, String)> = list.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["principalType"].as_str().unwrap().to_string(), a["displayName"].as_str().unwrap().to_string()))
        .collect();
    names.sort();
    assert_eq!(names, vec![("group".into(), "Engineering".into()), ("user".into(), "Ada Lovelace".into())]);
    let paged = t.send(Method::GET, &format!("{url}?top=1"), &c, None).await;
    assert_eq!(paged.body["value"].as_array().unwrap().len(), 1);
    let next = paged.body["@odata.nextLink"].as_str().expect("a next page").to_string();
    assert_eq!(t.send(Method::GET, &next, &c, None).await.body["value"].as_array().unwrap().len(), 1);
    // Search: by display name or user principal name, any case; `%` is a literal, not a wildcard.
    let found = |q: &'static str| {
        let (t, c, url) = (&t, &c, &url);
        async move {
            let r = t.send(Method::GET, &format!("{url}?search={q}"), c, None).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.body["value"].as_array().unwrap().iter().map(|a| a["displayName"].as_str().unwrap().to_string()).collect::<Vec<_>>()
        }
    };
    assert_eq!(found("lovel").await, vec!["Ada Lovelace"]);
    assert_eq!(found("ADA%40contoso").await, vec!["Ada Lovelace"], "by user principal name");
    assert_eq!(found("engin").await, vec!["Engineering"]);
    assert!(found("%25").await.is_empty(), "a literal percent sign matches nothing here");

    // The store's view for the sync engine.
    let mut conn = t.store.conn().await.unwrap();
    let (users, groups) = provisio::store::apps::assigned_ids(&mut conn, provisio::apps::AppId::parse(&id).unwrap()).await.unwrap();
    assert_eq!((users, groups), (vec![uid.clone()], vec![gid.clone()]));
    drop(conn);

    assert_eq!(t.send(Method::DELETE, &format!("{url}/{uid}"), &c, None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.send(Method::DELETE, &format!("{url}/{uid}"), &c, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(Method::GET, &url, &c, None).await.body["value"].as_array().unwrap().len(), 1);

    let changes = t.send(Method::GET, "/api/v1/changes", &c, None).await;
    let app_changes: Vec<&Value> = changes.body["value"].as_array().unwrap().iter().filter(|e| e["objectType"] == "app").collect();
    assert_eq!(app_changes.len(), 3, "{}", changes.text);
    assert!(app_changes.iter().all(|e| e["objectId"] == id.as_str() && e["op"] == "update"));
    assert_eq!(app_changes[0]["detail"]["assignment"], json!({"principalId": uid, "principalType": "user", "op": "add"}));
    assert_eq!(app_changes[2]["detail"]["assignment"]["op"], "remove");
    let audit = t.send(Method::GET, &format!("/api/v1/audit?targetId={id}"), &c, None).await;
    let actions: Vec<&str> = audit.body["value"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        vec!["Remove user from application", "Assign group to application", "Assign user to application", "Create application"]
    );

    // Deleting the app removes its assignments.
    assert_eq!(t.send(Method::DELETE, &format!("/api/v1/apps/{id}"), &c, None).await.status, StatusCode::NO_CONTENT);
    let mut conn = t.store.conn().await.unwrap();
    let left = provisio::store::apps::assigned_ids(&mut conn, provisio::apps::AppId::parse(&id).unwrap()).await.unwrap();
    assert_eq!(left, (vec![], vec![]));
}

#[tokio::test]
async fn test_connection_reports_an_unreachable_target_without_the_secret() {
    let t = app_with(true).await;
    let c = t.login("appadmin").await;
    let id = t.create_app(&c, "Local SCIM").await;
    let test_url = format!("/api/v1/apps/{id}/provisioning/test-connection");
    let none = t.send(Method::POST, &test_url, &c, None).await;
    assert_eq!((none.status, none.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("tenantUrl")), "{}", none.text);

    let r = t
        .send(
            Method::PUT,
            &format!("/api/v1/apps/{id}/provisioning/credentials"),
            &c,
            Some(json!({"tenantUrl": "http://127.0.0.1:1/scim", "secretToken": TOKEN})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let report = t.send(Method::POST, &test_url, &c, None).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert_eq!(report.body["ok"], false, "{}", report.text);
    assert_eq!(report.body["error"]["kind"], "network", "{}", report.text);
    assert!(report.body["error"]["message"].as_str().is_some_and(|m| m.contains("refused")), "{}", report.text);
    assert!(report.body["steps"].as_array().is_some_and(|s| s.iter().any(|s| s["ok"] == false)), "{}", report.text);
    assert!(!report.text.contains(TOKEN));
    let audit = t.send(Method::GET, &format!("/api/v1/audit?targetId={id}&action=Test%20connection"), &c, None).await;
    assert_eq!(audit.body["value"][0]["details"]["result"], "failed", "{}", audit.text);
    assert!(!audit.text.contains(TOKEN));
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let t = app().await;
    let c = t.login("appadmin").await;
    let id = t.create_app(&c, "Private").await;
    t.send(
        Method::PUT,
        &format!("/api/v1/apps/{id}/provisioning/credentials"),
        &c,
        Some(json!({"tenantUrl": "http://127.0.0.1:1/scim", "secretToken": TOKEN})),
    )
    .await;
    let r = t.send(Method::POST, &format!("/api/v1/apps/{id}/provisioning/test-connection"), &c, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.body["ok"].as_bool(), r.body["error"]["kind"].as_str()), (Some(false), Some("refused")), "{}", r.text);
    assert!(r.text.contains("PROVISIO_ALLOW_PRIVATE_TARGETS"), "{}", r.text);
    assert!(!r.text.contains(TOKEN));
}

#[tokio::test]
async fn an_app_made_from_a_gallery_entry_gets_its_profile_and_mappings() {
    let t = app().await;
    let c = t.login("appadmin").await;
    let r = t.send(Method::POST, "/api/v1/apps", &c, Some(json!({"name": "Slack", "template": "slack"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["template"], "slack");
    let id = r.body["id"].as_str().unwrap().to_string();
    let entry = provisio::gallery::get("slack").unwrap();
    let expected = provisio::gallery::mappings("slack").unwrap();

    let p = t.send(Method::GET, &format!("/api/v1/apps/{id}/provisioning"), &c, None).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!(p.body["mode"], "manual");
    assert_eq!(p.body["profile"], serde_json::to_value(&entry.profile).unwrap());
    assert_eq!(p.body["profile"]["rateLimitPerSec"], 2.0);
    assert_eq!(p.body["profile"]["useBulk"], false);

    let m = t.send(Method::GET, &format!("/api/v1/apps/{id}/provisioning/mappings"), &c, None).await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.text);
    let got: provisio::apps::AppMappings = serde_json::from_value(m.body.clone()).unwrap();
    assert_eq!(got, expected);
    assert_ne!(got, provisio::apps::AppMappings::default());
    assert!(got.user_schema.get(r#"photos[type eq "photo"].value"#).is_some(), "Slack's attribute list");
    assert!(got.group.enabled);

    // A users-only entry: the group mapping is there but disabled.
    let z = t.send(Method::POST, "/api/v1/apps", &c, Some(json!({"name": "Zoom", "template": " zoom "}))).await;
    assert_eq!(z.status, StatusCode::CREATED, "{}", z.text);
    let zid = z.body["id"].as_str().unwrap();
    let zm = t.send(Method::GET, &format!("/api/v1/apps/{zid}/provisioning/mappings"), &c, None).await;
    assert_eq!(zm.body["group"]["enabled"], false);
    assert_eq!(zm.body["user"]["enabled"], true);

    // An unknown template names the field, suggests the closest id and lists the valid ones.
    let bad = t.send(Method::POST, "/api/v1/apps", &c, Some(json!({"name": "X", "template": "slak"}))).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("template")), "{}", bad.text);
    assert!(bad.text.contains("did you mean slack?"), "{}", bad.text);
    assert!(bad.text.contains("generic-scim") && bad.text.contains("github-emu"), "{}", bad.text);
    // Readers can't create apps from the gallery either.
    let rc = t.login("reader").await;
    let r = t.send(Method::POST, "/api/v1/apps", &rc, Some(json!({"name": "Y", "template": "slack"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_gallery_lists_every_entry_and_searches() {
    let t = app().await;
    let anon = t.send(Method::GET, "/api/v1/gallery", "", None).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    let c = t.login("reader").await;
    let all = t.send(Method::GET, "/api/v1/gallery", &c, None).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    let list = all.body["value"].as_array().unwrap();
    assert!(list.len() >= 13, "{} entries", list.len());
    let ids: Vec<&str> = list.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"generic-scim") && ids.contains(&"slack"));
    let slack = list.iter().find(|e| e["id"] == "slack").unwrap();
    assert_eq!(slack["logo"], "/gallery/slack.svg");
    assert_eq!((slack["users"].as_bool(), slack["groups"].as_bool()), (Some(true), Some(true)));
    assert!(slack["docsUrl"].as_str().unwrap().starts_with("https://"));
    assert!(slack["profile"]["memberBatchSize"].is_u64());

    let s = t.send(Method::GET, "/api/v1/gallery?search=SLACK", &c, None).await;
    let found: Vec<&str> = s.body["value"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(found, ["slack"]);
    let by_publisher = t.send(Method::GET, "/api/v1/gallery?search=atlassian", &c, None).await;
    assert!(by_publisher.body["value"].as_array().unwrap().iter().any(|e| e["id"] == "atlassian-cloud"));
    let none = t.send(Method::GET, "/api/v1/gallery?search=no-such-application", &c, None).await;
    assert_eq!(none.body["value"], json!([]));
}

#[tokio::test]
async fn openapi_documents_the_app_routes() {
    let t = app().await;
    let c = t.login("reader").await;
    let r = t.send(Method::GET, "/api/v1/openapi.json", &c, None).await;
    let paths = r.body["paths"].as_object().unwrap();
    for p in [
        "/gallery",
        "/apps",
        "/apps/{id}",
        "/apps/{id}/assignments",
        "/apps/{id}/assignments/{principalId}",
        "/apps/{id}/provisioning",
        "/apps/{id}/provisioning/credentials",
        "/apps/{id}/provisioning/test-connection",
        "/apps/{id}/provisioning/mappings",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    assert_eq!(r.body["components"]["schemas"]["CredentialsInput"]["properties"]["secretToken"]["writeOnly"], true);
}

#[tokio::test]
async fn test_connection_against_the_testkit_target() {
    use provisio_testkit::{ScimTarget, TargetConfig};
    let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), ..Default::default() }).await;
    let t = app_with(true).await;
    let c = t.login("appadmin").await;
    let id = t.create_app(&c, "Testkit").await;
    let creds = format!("/api/v1/apps/{id}/provisioning/credentials");
    let test_url = format!("/api/v1/apps/{id}/provisioning/test-connection");

    let r = t.send(Method::PUT, &creds, &c, Some(json!({"tenantUrl": target.base_url(), "secretToken": TOKEN}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ok = t.send(Method::POST, &test_url, &c, None).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.body["ok"], true, "{}", ok.text);
    assert!(!ok.text.contains(TOKEN));

    let wrong = "a-wrong-token-that-the-target-refuses";
    let r = t.send(Method::PUT, &creds, &c, Some(json!({"tenantUrl": target.base_url(), "secretToken": wrong}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let bad = t.send(Method::POST, &test_url, &c, None).await;
    assert_eq!(bad.status, StatusCode::OK, "{}", bad.text);
    assert_eq!(bad.body["ok"], false, "{}", bad.text);
    assert_eq!(bad.body["error"]["kind"], "unauthorized", "{}", bad.text);
    assert!(!bad.text.contains(wrong) && !bad.text.contains(TOKEN));

    let audit = t.send(Method::GET, &format!("/api/v1/audit?targetId={id}&action=Test%20connection"), &c, None).await;
    let results: Vec<&str> = audit.body["value"].as_array().unwrap().iter().map(|e| e["details"]["result"].as_str().unwrap()).collect();
    assert_eq!(results, vec!["failed", "ok"], "{}", audit.text);
    assert!(!audit.text.contains(wrong) && !audit.text.contains(TOKEN));
}
