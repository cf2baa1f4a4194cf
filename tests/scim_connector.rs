//! The SCIM connector against the in-memory fault-injecting target of `provisio-testkit`, the Python
//! reference server `scim2-server` (when installed) and a few raw TCP servers (redirect, HTML, OAuth).

use provisio::apps::CompatProfile;
use provisio::connector::scim::{ScimAuth, ScimConfig, ScimConnector};
use provisio::connector::{AttributeChange, Connector, ErrorKind, Secret};
use provisio::mapping::ObjectType;
use provisio_testkit::{FaultKind, FaultRule, RecordedRequest, Scim2Server, ScimTarget, TargetConfig};
use serde_json::{json, Value as J};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TOKEN: &str = "s3cret-token-for-tests";
const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn fast_profile() -> CompatProfile {
    CompatProfile { max_attempts: 4, timeout_secs: 5, ..Default::default() }
}

fn connector_with(base_url: &str, token: &str, profile: CompatProfile) -> ScimConnector {
    ScimConnector::new(ScimConfig {
        base_url: base_url.to_string(),
        auth: ScimAuth::Bearer(Secret::new(token)),
        profile,
        allow_private: true,
    })
    .unwrap()
}

async fn target() -> ScimTarget {
    ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), ..Default::default() }).await
}

fn user(name: &str) -> J {
    json!({
        "schemas": [CORE_USER],
        "userName": name,
        "externalId": format!("ext-{name}"),
        "active": true,
        "displayName": format!("User {name}"),
        "title": "Engineer",
        "name": {"givenName": "Given", "familyName": "Family"},
        "emails": [{"type": "work", "primary": true, "value": name}]
    })
}

fn scim_requests(reqs: &[RecordedRequest], method: &str, prefix: &str) -> usize {
    reqs.iter().filter(|r| r.method == method && r.path.starts_with(prefix)).count()
}

/// The whole object lifecycle against a SCIM service; used for the testkit target and scim2-server.
async fn lifecycle(c: &ScimConnector) {
    // find: nothing yet.
    let none = c.find(ObjectType::User, "userName", "ada@example.org").await.unwrap();
    assert_eq!(none.value, None);
    assert_eq!(none.exchanges.len(), 1);
    assert!(none.exchanges[0].path.starts_with("/Users?filter=userName%20eq%20%22ada%40example.org%22"), "{:?}", none.exchanges);

    // create, then find and get it.
    let created = c.create(ObjectType::User, &user("ada@example.org")).await.unwrap();
    let id = created.value.id.clone();
    assert!(!id.is_empty());
    assert_eq!(created.exchanges[0].status, Some(201));
    let found = c.find(ObjectType::User, "userName", "ada@example.org").await.unwrap().value.expect("found");
    assert_eq!(found.id, id);
    let got = c.get(ObjectType::User, &id).await.unwrap().value.expect("got");
    assert_eq!(got.resource["userName"], "ada@example.org");

    // update: replace one attribute, remove another.
    let changes = [
        AttributeChange { path: "displayName".into(), value: Some(json!("Ada Lovelace")) },
        AttributeChange { path: "title".into(), value: None },
    ];
    let up = c.update(ObjectType::User, &id, &changes, &json!({})).await.unwrap();
    assert_eq!(up.exchanges[0].method, "PATCH");
    let got = c.get(ObjectType::User, &id).await.unwrap().value.unwrap().resource;
    assert_eq!(got["displayName"], "Ada Lovelace");
    assert!(got.get("title").is_none() || got["title"].is_null(), "{got}");

    // disable.
    c.disable(ObjectType::User, &id).await.unwrap();
    let got = c.get(ObjectType::User, &id).await.unwrap().value.unwrap().resource;
    assert_eq!(got["active"], false);

    // a group with a member: created without members, then the members are added.
    let bob = c.create(ObjectType::User, &user("bob@example.org")).await.unwrap().value.id;
    let group = c
        .create(ObjectType::Group, &json!({"schemas": [CORE_GROUP], "displayName": "Engineering", "members": [{"value": id}]}))
        .await
        .unwrap();
    assert_eq!(group.exchanges.len(), 2, "POST then PATCH members: {:?}", group.exchanges);
    assert!(group.exchanges[0].request_body.as_ref().unwrap().get("members").is_none());
    let gid = group.value.id;
    let found = c.find(ObjectType::Group, "displayName", "Engineering").await.unwrap().value.expect("group found");
    assert_eq!(found.id, gid);
    c.update_members(&gid, std::slice::from_ref(&bob), std::slice::from_ref(&id)).await.unwrap();
    let members = members_of(c, &gid).await;
    assert_eq!(members, vec![bob.clone()]);

    // delete: gone, and a second delete (404) still counts as done.
    c.delete(ObjectType::User, &id).await.unwrap();
    assert_eq!(c.get(ObjectType::User, &id).await.unwrap().value, None);
    let again = c.delete(ObjectType::User, &id).await.unwrap();
    assert_eq!(again.exchanges[0].status, Some(404));
    c.delete(ObjectType::Group, &gid).await.unwrap();
    assert_eq!(c.get(ObjectType::Group, &gid).await.unwrap().value, None);
}

/// A group's member ids, read with a plain GET that includes members (`get` leaves them out, as Entra does).
async fn members_of(c: &ScimConnector, gid: &str) -> Vec<String> {
    let url = format!("{}/Groups/{gid}", c.base_url());
    let j: J = reqwest::Client::new().get(url).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
    let mut ids: Vec<String> =
        j["members"].as_array().map(|a| a.iter().map(|m| m["value"].as_str().unwrap().to_string()).collect()).unwrap_or_default();
    ids.sort();
    ids
}

#[tokio::test]
async fn lifecycle_against_the_testkit_target() {
    let t = target().await;
    let c = connector_with(&t.base_url(), TOKEN, fast_profile());
    lifecycle(&c).await;
    let reqs = t.state().requests();
    // Entra's request shapes.
    let find = reqs.iter().find(|r| r.method == "GET" && r.path == "/Users" && r.query.is_some()).unwrap();
    assert_eq!(find.query_param("filter").as_deref(), Some(r#"userName eq "ada@example.org""#));
    let gfind = reqs.iter().find(|r| r.method == "GET" && r.path == "/Groups").unwrap();
    assert_eq!(gfind.query_param("excludedAttributes").as_deref(), Some("members"));
    assert_eq!(gfind.query_param("filter").as_deref(), Some(r#"displayName eq "Engineering""#));
    let patch = reqs.iter().find(|r| r.method == "PATCH" && r.path.starts_with("/Users/")).unwrap();
    assert_eq!(
        patch.body.as_ref().unwrap()["Operations"],
        json!([{"op":"replace","path":"displayName","value":"Ada Lovelace"},{"op":"remove","path":"title"}])
    );
    let member_patch = reqs.iter().filter(|r| r.method == "PATCH" && r.path.starts_with("/Groups/")).nth(1).unwrap();
    let ops = member_patch.body.as_ref().unwrap()["Operations"].as_array().unwrap().clone();
    assert_eq!(ops[0]["op"], "add");
    assert_eq!(ops[0]["path"], "members");
    assert!(ops[1]["path"].as_str().unwrap().starts_with("members[value eq \""), "{ops:?}");
    assert!(reqs.iter().all(|r| r.fault.is_none() && r.status < 500));
}

#[tokio::test]
async fn lifecycle_against_scim2_server() {
    if !Scim2Server::available() {
        eprintln!("scim2-server is not installed; skipped");
        return;
    }
    let s = Scim2Server::start(TOKEN).await.expect("scim2-server starts");
    let c = connector_with(&s.base_url(), TOKEN, fast_profile());
    let report = c.test_connection().await;
    assert!(report.ok, "{report:#?}");
    lifecycle(&c).await;
}

#[tokio::test]
async fn a_500_is_retried_then_succeeds() {
    let t = target().await;
    t.state().set_faults(vec![FaultRule::new(FaultKind::Status(500)).method("POST").limit(2)]);
    let c = connector_with(&t.base_url(), TOKEN, fast_profile());
    let created = c.create(ObjectType::User, &user("retry@example.org")).await.unwrap();
    assert_eq!(created.exchanges[0].attempts, 3);
    assert_eq!(created.exchanges[0].status, Some(201));
    let reqs = t.state().requests();
    assert_eq!(scim_requests(&reqs, "POST", "/Users"), 3);
    assert_eq!(t.state().users().len(), 1);
}

#[tokio::test]
async fn a_500_every_time_is_unavailable_after_the_attempts() {
    let t = target().await;
    t.state().set_faults(vec![FaultRule::new(FaultKind::Status(503))]);
    let c = connector_with(&t.base_url(), TOKEN, CompatProfile { max_attempts: 3, ..fast_profile() });
    let e = c.find(ObjectType::User, "userName", "x").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
    assert_eq!(e.status, Some(503));
    assert!(e.message.contains("answered 503") && e.message.contains("after 3 attempts"), "{}", e.message);
    assert_eq!(e.exchange.as_ref().unwrap().attempts, 3);
    assert_eq!(t.state().requests().len(), 3);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let t = target().await;
    t.state().set_faults(vec![FaultRule::new(FaultKind::TooMany { retry_after_secs: 1 }).limit(1)]);
    let c = connector_with(&t.base_url(), TOKEN, fast_profile());
    let started = Instant::now();
    c.create(ObjectType::User, &user("patient@example.org")).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    let reqs = t.state().requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].status, 429);
    assert!(reqs[1].at_ms >= reqs[0].at_ms + 1000, "retry at {} ms after a 429 at {} ms", reqs[1].at_ms, reqs[0].at_ms);
}

#[tokio::test]
async fn resets_and_truncated_bodies_are_retried() {
    let t = target().await;
    let id = t.state().insert_user(user("cut@example.org"));
    t.state().set_faults(vec![
        FaultRule::new(FaultKind::Reset).method("GET").limit(1),
        FaultRule::new(FaultKind::Truncate).method("GET").limit(1),
    ]);
    let c = connector_with(&t.base_url(), TOKEN, fast_profile());
    let got = c.get(ObjectType::User, &id).await.unwrap();
    assert_eq!(got.value.unwrap().resource["userName"], "cut@example.org");
    assert_eq!(got.exchanges[0].attempts, 3);
    let faults: Vec<Option<String>> = t.state().requests().into_iter().map(|r| r.fault).collect();
    assert_eq!(faults, [Some("Reset".to_string()), Some("Truncate".to_string()), None]);
}

#[tokio::test]
async fn truncated_json_every_time_is_never_success() {
    let t = target().await;
    let id = t.state().insert_user(user("cut@example.org"));
    t.state().set_faults(vec![FaultRule::new(FaultKind::Truncate)]);
    let c = connector_with(&t.base_url(), TOKEN, CompatProfile { max_attempts: 3, ..fast_profile() });
    let e = c.get(ObjectType::User, &id).await.unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Network | ErrorKind::NotScim), "{e:?}");
    assert!(e.message.contains("cut off"), "{}", e.message);
    assert_eq!(e.exchange.unwrap().attempts, 3);
    let e = c.find(ObjectType::User, "userName", "cut@example.org").await.unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Network | ErrorKind::NotScim), "{e:?}");
    // A create whose 201 is cut off every time is not a success either.
    let e = c.create(ObjectType::User, &user("new@example.org")).await.unwrap_err();
    assert_ne!(e.kind, ErrorKind::Rejected, "{e:?}");
}

#[tokio::test]
async fn a_lost_201_then_409_is_a_conflict() {
    let t = target().await;
    t.state().set_faults(vec![FaultRule::new(FaultKind::LoseResponse).method("POST").limit(1)]);
    let c = connector_with(&t.base_url(), TOKEN, fast_profile());
    let e = c.create(ObjectType::User, &user("lost@example.org")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict, "{e:?}");
    assert_eq!(e.status, Some(409));
    assert_eq!(e.scim_type.as_deref(), Some("uniqueness"));
    assert!(e.message.starts_with("POST /Users answered 409 uniqueness"), "{}", e.message);
    assert_eq!(e.exchange.as_ref().unwrap().attempts, 2);
    assert_eq!(t.state().users().len(), 1);
    assert_eq!(scim_requests(&t.state().requests(), "POST", "/Users"), 2);
    // The engine then re-matches and adopts.
    assert!(c.find(ObjectType::User, "userName", "lost@example.org").await.unwrap().value.is_some());
}

#[tokio::test]
async fn a_401_is_unauthorized_without_retries() {
    let t = target().await;
    let c = connector_with(&t.base_url(), "wrong-token", fast_profile());
    let e = c.find(ObjectType::User, "userName", "x").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert_eq!(e.status, Some(401));
    assert!(!e.message.contains("wrong-token") && !format!("{e:?}").contains("wrong-token"));
    assert_eq!(t.state().requests().len(), 1);
    // The fault form too.
    let t = target().await;
    t.state().set_faults(vec![FaultRule::new(FaultKind::Unauthorized)]);
    let c = connector_with(&t.base_url(), TOKEN, fast_profile());
    let e = c.create(ObjectType::User, &user("x@example.org")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert_eq!(t.state().requests().len(), 1);
    assert!(!format!("{e:?} {c:?}").contains(TOKEN));
}

#[tokio::test]
async fn rejections_are_not_retried() {
    let t = target().await;
    let c = connector_with(&t.base_url(), TOKEN, fast_profile());
    // No userName: 400 invalidValue.
    let e = c.create(ObjectType::User, &json!({"schemas":[CORE_USER],"displayName":"x"})).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected);
    assert_eq!((e.status, e.scim_type.as_deref()), (Some(400), Some("invalidValue")));
    assert!(e.message.starts_with("POST /Users answered 400 invalidValue: "), "{}", e.message);
    assert_eq!(t.state().requests().len(), 1);
    // A PATCH of a missing user: 404 is NotFound, not retried.
    let e = c.disable(ObjectType::User, "no-such-id").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(t.state().requests().len(), 2);
}

#[tokio::test]
async fn ambiguous_matches_are_reported() {
    let t = target().await;
    t.state().insert_user(json!({"userName":"a@example.org","externalId":"dup"}));
    t.state().insert_user(json!({"userName":"b@example.org","externalId":"dup"}));
    let c = connector_with(&t.base_url(), TOKEN, fast_profile());
    let e = c.find(ObjectType::User, "externalId", "dup").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Ambiguous);
    assert!(e.message.contains("found 2 users with externalId 'dup'"), "{}", e.message);
}

#[tokio::test]
async fn concurrency_stays_within_the_profile() {
    let t = target().await;
    t.state().set_faults(vec![FaultRule::new(FaultKind::Delay { ms: 60 })]);
    let profile = CompatProfile { max_concurrency: 3, use_bulk: false, ..fast_profile() };
    let c = connector_with(&t.base_url(), TOKEN, profile);
    let users: Vec<J> = (0..24).map(|i| user(&format!("c{i}@example.org"))).collect();
    let results = c.create_many(ObjectType::User, users.clone()).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(t.state().users().len(), 24);
    let max = t.state().max_in_flight();
    assert!((2..=3).contains(&max), "max in flight {max}");
    // Results are in order.
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.as_ref().unwrap().value.resource["userName"], format!("c{i}@example.org"));
    }
}

#[tokio::test]
async fn the_rate_limit_spaces_requests() {
    let t = target().await;
    let profile = CompatProfile { rate_limit_per_sec: Some(10.0), use_bulk: false, ..fast_profile() };
    let c = connector_with(&t.base_url(), TOKEN, profile);
    let users: Vec<J> = (0..6).map(|i| user(&format!("r{i}@example.org"))).collect();
    assert!(c.create_many(ObjectType::User, users.clone()).await.iter().all(Result::is_ok));
    let at: Vec<u64> = t.state().requests().iter().map(|r| r.at_ms).collect();
    assert!(at[5] - at[0] >= 450, "{at:?}");
}

#[tokio::test]
async fn the_guard_refuses_loopback_before_any_request() {
    let t = target().await;
    for base in [t.base_url(), t.base_url().replace("127.0.0.1", "localhost")] {
        let c = ScimConnector::new(ScimConfig {
            base_url: base.clone(),
            auth: ScimAuth::Bearer(Secret::new(TOKEN)),
            profile: fast_profile(),
            allow_private: false,
        })
        .unwrap();
        let e = c.find(ObjectType::User, "userName", "x").await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Refused, "{base}: {e:?}");
        assert!(e.message.contains("is a loopback address") || e.message.contains(", a loopback address"), "{}", e.message);
        assert!(e.message.contains("PROVISIO_ALLOW_PRIVATE_TARGETS"), "{}", e.message);
        let report = c.test_connection().await;
        assert!(!report.ok);
        assert_eq!(report.steps.len(), 1);
        assert_eq!(report.steps[0].name, "Reach the Tenant URL");
        assert_eq!(report.error.unwrap().kind, ErrorKind::Refused);
        assert!(c.create_many(ObjectType::User, vec![user("x@example.org")]).await[0].is_err());
    }
    assert_eq!(t.state().requests().len(), 0, "the target saw no request");
    // URL forms refused at construction.
    for bad in ["ftp://example.org/scim", "https://user:pw@example.org/scim", "file:///etc/passwd"] {
        let e =
            ScimConnector::new(ScimConfig { base_url: bad.into(), auth: ScimAuth::None, profile: fast_profile(), allow_private: false })
                .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Refused, "{bad}");
    }
}

/// A raw HTTP server answering every request with `response`, recording the requests.
async fn raw_server(response: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let response = response.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = sock.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len = head
                            .lines()
                            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                            .unwrap_or(0usize);
                        if body.len() >= len {
                            log.lock().unwrap().push(text);
                            let _ = sock.write_all(response.as_bytes()).await;
                            let _ = sock.shutdown().await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), seen)
}

fn http_response(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut r = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r
}

#[tokio::test]
async fn redirects_are_refused() {
    let (base, seen) = raw_server(http_response("302 Found", &[("Location", "http://169.254.169.254/latest/meta-data/")], "")).await;
    let c = connector_with(&format!("{base}/scim"), TOKEN, fast_profile());
    let e = c.find(ObjectType::User, "userName", "x").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Refused);
    assert!(e.message.contains("redirects to http://169.254.169.254/latest/meta-data/"), "{}", e.message);
    assert!(e.message.contains("redirects are not followed"), "{}", e.message);
    assert_eq!(seen.lock().unwrap().len(), 1, "not retried, not followed");
}

#[tokio::test]
async fn bulk_create_many_maps_results_back() {
    let t = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), bulk: true, ..Default::default() }).await;
    t.state().insert_user(user("taken@example.org"));
    let c = connector_with(&t.base_url(), TOKEN, fast_profile());
    let users: Vec<J> = ["b0@example.org", "b1@example.org", "taken@example.org", "b3@example.org"].iter().map(|n| user(n)).collect();
    let results = c.create_many(ObjectType::User, users.clone()).await;
    assert_eq!(results.len(), 4);
    for i in [0, 1, 3] {
        let ok = results[i].as_ref().unwrap();
        assert!(!ok.value.id.is_empty());
        assert_eq!(ok.exchanges[0].path, "/Bulk");
        assert_eq!(ok.exchanges[0].status, Some(201));
        assert_eq!(ok.exchanges[0].request_body.as_ref().unwrap()["bulkId"], format!("provisio-{i}"));
    }
    let e = results[2].as_ref().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict, "{e:?}");
    assert!(c.capabilities().unwrap().bulk);
    let reqs = t.state().requests();
    assert_eq!(scim_requests(&reqs, "POST", "/Bulk"), 1);
    assert_eq!(scim_requests(&reqs, "POST", "/Users"), 0);
    assert_eq!(scim_requests(&reqs, "GET", "/ServiceProviderConfig"), 1);
    assert_eq!(t.state().users().len(), 4);
    // Capabilities are read once.
    let more: Vec<J> = (0..3).map(|i| user(&format!("m{i}@example.org"))).collect();
    assert!(c.create_many(ObjectType::User, more.clone()).await.iter().all(Result::is_ok));
    assert_eq!(scim_requests(&t.state().requests(), "GET", "/ServiceProviderConfig"), 1);
    // Groups in bulk get their members afterwards.
    let uid = results[0].as_ref().unwrap().value.id.clone();
    let groups =
        [json!({"schemas":[CORE_GROUP],"displayName":"G1","members":[{"value": uid}]}), json!({"schemas":[CORE_GROUP],"displayName":"G2"})];
    let out = c.create_many(ObjectType::Group, groups.to_vec()).await;
    assert!(out.iter().all(Result::is_ok), "{out:?}");
    let g1 = t.state().groups().into_iter().find(|g| g["displayName"] == "G1").unwrap();
    assert_eq!(g1["members"][0]["value"], json!(uid));
}

#[tokio::test]
async fn without_bulk_support_create_many_creates_one_by_one() {
    let t = target().await; // bulk: false
    let c = connector_with(&t.base_url(), TOKEN, fast_profile());
    let users: Vec<J> = (0..3).map(|i| user(&format!("s{i}@example.org"))).collect();
    assert!(c.create_many(ObjectType::User, users.clone()).await.iter().all(Result::is_ok));
    let reqs = t.state().requests();
    assert_eq!(scim_requests(&reqs, "POST", "/Users"), 3);
    assert_eq!(scim_requests(&reqs, "POST", "/Bulk"), 0);
    assert!(!c.capabilities().unwrap().bulk);
}

#[tokio::test]
async fn profiles_shape_the_requests() {
    let t = target().await;
    // String booleans and capitalised ops.
    let p = CompatProfile { string_booleans: true, capitalized_ops: true, ..fast_profile() };
    let c = connector_with(&t.base_url(), TOKEN, p);
    let id = c.create(ObjectType::User, &user("p@example.org")).await.unwrap().value.id;
    c.disable(ObjectType::User, &id).await.unwrap();
    let reqs = t.state().requests();
    assert_eq!(reqs.last().unwrap().body.as_ref().unwrap()["Operations"], json!([{"op":"Replace","path":"active","value":"False"}]));
    assert_eq!(t.state().users()[0]["active"], false);

    // PUT instead of PATCH.
    let p = CompatProfile { use_put: true, ..fast_profile() };
    let c = connector_with(&t.base_url(), TOKEN, p);
    let mut desired = user("p@example.org");
    desired["displayName"] = json!("Put Name");
    c.update(ObjectType::User, &id, &[], &desired).await.unwrap();
    let last = t.state().requests().pop().unwrap();
    assert_eq!(last.method, "PUT");
    assert_eq!(last.body.as_ref().unwrap()["id"], json!(id));
    c.disable(ObjectType::User, &id).await.unwrap();
    let reqs = t.state().requests();
    let tail: Vec<&str> = reqs.iter().rev().take(2).map(|r| r.method.as_str()).collect();
    assert_eq!(tail, ["PUT", "GET"]);
    let u = &t.state().users()[0];
    assert_eq!((u["active"].clone(), u["displayName"].clone()), (json!(false), json!("Put Name")));

    // Member batches.
    let c = connector_with(&t.base_url(), TOKEN, CompatProfile { member_batch_size: 2, ..fast_profile() });
    let ids: Vec<String> = (0..5).map(|i| t.state().insert_user(json!({"userName": format!("m{i}@example.org")}))).collect();
    let gid = c.create(ObjectType::Group, &json!({"schemas":[CORE_GROUP],"displayName":"Batch"})).await.unwrap().value.id;
    t.state().clear_requests();
    let s = c.update_members(&gid, &ids, &[]).await.unwrap();
    assert_eq!(s.exchanges.len(), 3);
    let sizes: Vec<usize> =
        t.state().requests().iter().map(|r| r.body.as_ref().unwrap()["Operations"][0]["value"].as_array().unwrap().len()).collect();
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(members_of(&c, &gid).await.len(), 5);
}

#[tokio::test]
async fn matching_without_filter_support_reads_pages() {
    let t = target().await;
    for i in 0..150 {
        t.state().insert_user(json!({"userName": format!("u{i:03}@example.org")}));
    }
    let c = connector_with(&t.base_url(), TOKEN, CompatProfile { filter_supported: false, ..fast_profile() });
    let found = c.find(ObjectType::User, "userName", "U142@example.org").await.unwrap();
    assert_eq!(found.value.unwrap().resource["userName"], "u142@example.org");
    assert_eq!(found.exchanges.len(), 2);
    let reqs = t.state().requests();
    assert!(reqs.iter().all(|r| r.query_param("filter").is_none()));
    assert_eq!(reqs[1].query_param("startIndex").as_deref(), Some("101"));
    assert_eq!(c.find(ObjectType::User, "userName", "nobody").await.unwrap().value, None);
}

#[tokio::test]
async fn timeouts_say_after_how_long() {
    let t = target().await;
    t.state().set_faults(vec![FaultRule::new(FaultKind::Delay { ms: 1500 })]);
    let c = connector_with(&t.base_url(), TOKEN, CompatProfile { timeout_secs: 1, max_attempts: 2, ..Default::default() });
    let e = c.find(ObjectType::User, "userName", "x").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Network);
    assert!(e.message.contains("within 1 seconds"), "{}", e.message);
    assert_eq!(e.exchange.unwrap().attempts, 2);
}

#[tokio::test]
async fn test_connection_succeeds_and_reads_capabilities() {
    let t = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), bulk: true, ..Default::default() }).await;
    let c = connector_with(&t.base_url(), TOKEN, fast_profile());
    assert_eq!(c.capabilities(), None);
    let r = c.test_connection().await;
    assert!(r.ok, "{r:#?}");
    let names: Vec<&str> = r.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Reach the Tenant URL", "Authenticate", "Read ServiceProviderConfig", "Query Users", "Query Groups"]);
    assert!(r.capabilities.as_ref().unwrap().bulk);
    assert_eq!(c.capabilities(), r.capabilities);
    let reqs = t.state().requests();
    let f = reqs[0].query_param("filter").unwrap();
    assert!(f.starts_with("userName eq \"provisio-test-"), "{f}");
    assert!(!serde_json::to_string(&r).unwrap().contains(TOKEN));
}

#[tokio::test]
async fn test_connection_reports_each_failure() {
    let t = target().await;
    let step = |r: &provisio::connector::ConnectionReport| {
        let last = r.steps.last().unwrap();
        assert!(!r.ok && !last.ok);
        (last.name.clone(), last.detail.clone())
    };

    // Wrong token.
    let r = connector_with(&t.base_url(), "nope", fast_profile()).test_connection().await;
    let (name, detail) = step(&r);
    assert_eq!(name, "Authenticate");
    assert_eq!(detail, "the target refused the credentials (401): check the Secret Token");
    assert_eq!(r.error.as_ref().unwrap().kind, ErrorKind::Unauthorized);

    // Wrong path.
    let wrong = format!("{}/nope", t.base_url());
    let r = connector_with(&wrong, TOKEN, fast_profile()).test_connection().await;
    let (name, detail) = step(&r);
    assert_eq!(name, "Read ServiceProviderConfig");
    assert_eq!(detail, format!("no ServiceProviderConfig at {wrong}/ServiceProviderConfig: is the Tenant URL the SCIM base URL?"));

    // Filter not supported.
    t.state().set_faults(vec![FaultRule::new(FaultKind::Status(400)).method("GET").path_prefix("/Users")]);
    let r = connector_with(&t.base_url(), TOKEN, fast_profile()).test_connection().await;
    let (name, detail) = step(&r);
    assert_eq!(name, "Query Users");
    assert!(detail.starts_with("the target does not support filter=userName eq \"provisio-test-"), "{detail}");
    assert!(detail.ends_with("turn off filter support in the app's compatibility profile"), "{detail}");
    // ... and with filters turned off, the same target passes.
    t.state().set_faults(vec![]);
    let r = connector_with(&t.base_url(), TOKEN, CompatProfile { filter_supported: false, ..fast_profile() }).test_connection().await;
    assert!(r.ok, "{r:#?}");

    // An HTML page.
    let (base, _) = raw_server(http_response("200 OK", &[("Content-Type", "text/html")], "<html>hello</html>")).await;
    let r = connector_with(&base, TOKEN, fast_profile()).test_connection().await;
    let (name, detail) = step(&r);
    assert_eq!(name, "Read ServiceProviderConfig");
    assert_eq!(detail, "the answer is not SCIM JSON (Content-Type text/html)");

    // Nothing listening.
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let r =
        connector_with(&format!("http://{dead}/scim"), TOKEN, CompatProfile { max_attempts: 1, ..fast_profile() }).test_connection().await;
    let (name, detail) = step(&r);
    assert_eq!(name, "Reach the Tenant URL");
    assert!(detail.contains("refused the connection"), "{detail}");

    // TLS to a server that does not speak it.
    let plain = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plain_addr = plain.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = plain.accept().await {
            let _ = sock.write_all(http_response("400 Bad Request", &[], "plain HTTP here").as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    let r = connector_with(&format!("https://{plain_addr}/scim"), TOKEN, fast_profile()).test_connection().await;
    let (name, detail) = step(&r);
    assert_eq!(name, "Reach the Tenant URL");
    assert!(detail.starts_with("the TLS handshake with 127.0.0.1:"), "{detail}");

    // A name that does not resolve.
    let r = connector_with("http://no-such-host.invalid/scim", TOKEN, fast_profile()).test_connection().await;
    let (name, detail) = step(&r);
    assert_eq!(name, "Reach the Tenant URL");
    assert!(detail.starts_with("could not resolve host no-such-host.invalid"), "{detail}");
}

#[tokio::test]
async fn oauth_client_credentials_are_fetched_and_cached() {
    let t = target().await;
    let body = format!(r#"{{"access_token":"{TOKEN}","token_type":"Bearer","expires_in":3600}}"#);
    let (token_base, seen) = raw_server(http_response("200 OK", &[("Content-Type", "application/json")], &body)).await;
    let c = ScimConnector::new(ScimConfig {
        base_url: t.base_url(),
        auth: ScimAuth::OAuth {
            token_url: format!("{token_base}/oauth2/token"),
            client_id: "provisio".into(),
            client_secret: Secret::new("client-secret-xyz"),
            scope: Some("scim.write".into()),
        },
        profile: fast_profile(),
        allow_private: true,
    })
    .unwrap();
    assert!(!format!("{c:?}").contains("client-secret-xyz"));
    let r = c.test_connection().await;
    assert!(r.ok, "{r:#?}");
    c.create(ObjectType::User, &user("o@example.org")).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "one token request, then the cached token");
    assert!(seen[0].starts_with("POST /oauth2/token "));
    assert!(seen[0].contains("grant_type=client_credentials"));
    assert!(seen[0].contains("client_id=provisio"));
    assert!(seen[0].contains("scope=scim.write"));

    // A token endpoint that refuses: Unauthorized, saying so.
    let (bad, _) =
        raw_server(http_response("401 Unauthorized", &[("Content-Type", "application/json")], r#"{"error":"invalid_client"}"#)).await;
    let c = ScimConnector::new(ScimConfig {
        base_url: t.base_url(),
        auth: ScimAuth::OAuth {
            token_url: format!("{bad}/token"),
            client_id: "provisio".into(),
            client_secret: Secret::new("client-secret-xyz"),
            scope: None,
        },
        profile: fast_profile(),
        allow_private: true,
    })
    .unwrap();
    let e = c.find(ObjectType::User, "userName", "x").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(e.message.contains("refused the client credentials (401 invalid_client)"), "{}", e.message);
    assert!(!e.message.contains("client-secret-xyz"));
}

/// Batched matching: one `or` query answers several values, mapped back case-insensitively; values
/// several accounts share are ambiguous; without `or` support, single queries.
async fn find_many_checks(c: &ScimConnector, reqs: Option<&dyn Fn() -> usize>) {
    for n in ["fm-a@example.org", "FM-B@Example.org"] {
        c.create(ObjectType::User, &user(n)).await.unwrap();
    }
    let values: Vec<String> = ["FM-A@example.org", "fm-b@example.org", "fm-none@example.org"].iter().map(|s| s.to_string()).collect();
    let before = reqs.map(|f| f());
    let out = c.find_many(ObjectType::User, "userName", &values).await;
    assert_eq!(out.len(), 3);
    let a = out[0].as_ref().unwrap().value.as_ref().expect("a found");
    assert_eq!(a.resource["userName"], "fm-a@example.org");
    let b = out[1].as_ref().unwrap().value.as_ref().expect("b found");
    assert_eq!(b.resource["userName"], "FM-B@Example.org");
    assert!(out[2].as_ref().unwrap().value.is_none());
    assert!(out[0].as_ref().unwrap().exchanges[0].path.contains("3 values in one request"), "{:?}", out[0]);
    if let (Some(f), Some(before)) = (reqs, before) {
        assert_eq!(f() - before, 1, "one request for the three values");
    }
}

#[tokio::test]
async fn find_many_batches_matching_queries() {
    let t = target().await;
    let c = connector_with(&t.base_url(), TOKEN, fast_profile());
    let state = t.state();
    find_many_checks(&c, Some(&|| state.requests().len())).await;
    // Ambiguity is per value.
    state.insert_user(json!({"userName": "dup1@example.org", "externalId": "same"}));
    state.insert_user(json!({"userName": "dup2@example.org", "externalId": "same"}));
    let out = c.find_many(ObjectType::User, "externalId", &["same".to_string(), "other".to_string()]).await;
    assert_eq!(out[0].as_ref().unwrap_err().kind, ErrorKind::Ambiguous);
    assert!(out[1].as_ref().unwrap().value.is_none());

    // A target that refuses `or`: single queries, and no further `or` query from this connector.
    let t = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), refuse_or: true, ..Default::default() }).await;
    t.state().insert_user(user("solo@example.org"));
    let c = connector_with(&t.base_url(), TOKEN, fast_profile());
    let values: Vec<String> = ["x@example.org", "SOLO@example.org"].iter().map(|s| s.to_string()).collect();
    for _ in 0..2 {
        let out = c.find_many(ObjectType::User, "userName", &values).await;
        assert!(out[0].as_ref().unwrap().value.is_none());
        assert_eq!(out[1].as_ref().unwrap().value.as_ref().unwrap().resource["userName"], "solo@example.org");
    }
    let statuses: Vec<u16> = t.state().requests().iter().filter(|r| r.method == "GET").map(|r| r.status).collect();
    assert_eq!(statuses, [400, 200, 200, 200, 200]);
}

/// The profile's `match_batch_size` bounds the values of one `or` query; 1 sends one query per value.
#[tokio::test]
async fn find_many_honours_the_match_batch_size() {
    let t = target().await;
    let state = t.state();
    for n in ["mb-a@example.org", "mb-c@example.org"] {
        state.insert_user(user(n));
    }
    let values: Vec<String> = ["mb-a@example.org", "mb-b@example.org", "MB-C@example.org"].iter().map(|s| s.to_string()).collect();
    for (batch, expected) in [(2u32, vec![2usize, 1]), (1, vec![1, 1, 1])] {
        let c = connector_with(&t.base_url(), TOKEN, CompatProfile { match_batch_size: batch, ..fast_profile() });
        let before = state.requests().len();
        let out = c.find_many(ObjectType::User, "userName", &values).await;
        let found: Vec<bool> = out.iter().map(|r| r.as_ref().unwrap().value.is_some()).collect();
        assert_eq!(found, [true, false, true], "batch {batch}");
        let clauses: Vec<usize> = state.requests()[before..]
            .iter()
            .filter(|r| r.method == "GET" && r.path == "/Users")
            .map(|r| r.query_param("filter").unwrap_or_default().matches(" eq ").count())
            .collect();
        assert_eq!(clauses, expected, "values per query with batch {batch}");
    }
    let bad = CompatProfile { match_batch_size: 0, ..Default::default() }.validate();
    assert_eq!(bad.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["matchBatchSize"]);
}

#[tokio::test]
async fn find_many_against_scim2_server() {
    if !Scim2Server::available() {
        eprintln!("scim2-server is not installed; skipped");
        return;
    }
    let s = Scim2Server::start(TOKEN).await.expect("scim2-server starts");
    let c = connector_with(&s.base_url(), TOKEN, fast_profile());
    // scim2-server keeps no request log: the exchanges show that one `or` query answered.
    find_many_checks(&c, None).await;
}
