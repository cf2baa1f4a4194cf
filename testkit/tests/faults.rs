//! Fault injection, as a client sees it.

mod common;

use std::time::{Duration, Instant};

use common::{user, Fixture};
use provisio_testkit::{FaultKind, FaultRule};
use reqwest::Method;
use serde_json::Value;

async fn post_user(f: &Fixture, name: &str) -> Result<reqwest::Response, reqwest::Error> {
    f.send(Method::POST, "/Users", Some(user(name))).await
}

#[tokio::test]
async fn status_too_many_and_unauthorized() {
    let f = Fixture::new(false).await;
    let state = f.target.state();
    state.set_faults(vec![FaultRule::new(FaultKind::Status(503))]);
    let resp = post_user(&f, "a@x.org").await.unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["status"], "503");
    assert_eq!(e["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
    assert!(state.users().is_empty(), "a Status fault does nothing");

    state.set_faults(vec![FaultRule::new(FaultKind::TooMany { retry_after_secs: 7 })]);
    let resp = post_user(&f, "a@x.org").await.unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    assert!(state.users().is_empty());

    state.set_faults(vec![FaultRule::new(FaultKind::Unauthorized)]);
    let resp = post_user(&f, "a@x.org").await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(state.users().is_empty());

    state.set_faults(Vec::new());
    assert_eq!(post_user(&f, "a@x.org").await.unwrap().status().as_u16(), 201);

    let faults: Vec<Option<String>> = state.requests().into_iter().map(|r| r.fault).collect();
    assert_eq!(
        faults,
        [Some("Status(503)".to_string()), Some("TooMany { retry_after_secs: 7 }".into()), Some("Unauthorized".into()), None]
    );
}

#[tokio::test]
async fn delay() {
    let f = Fixture::new(false).await;
    f.target.state().set_faults(vec![FaultRule::new(FaultKind::Delay { ms: 300 })]);
    let t = Instant::now();
    let resp = post_user(&f, "slow@x.org").await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(resp.status().as_u16(), 201);
    assert_eq!(f.target.state().users().len(), 1);
}

#[tokio::test]
async fn reset_answers_nothing_and_does_nothing() {
    let f = Fixture::new(false).await;
    let state = f.target.state();
    state.set_faults(vec![FaultRule::new(FaultKind::Reset)]);
    let err = post_user(&f, "r@x.org").await.expect_err("the connection is reset");
    assert!(err.is_request() || err.is_connect() || err.is_body(), "{err:?}");
    assert!(state.users().is_empty());
    let reqs = state.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].status, 0);
    assert_eq!(reqs[0].fault.as_deref(), Some("Reset"));
    // The client recovers on a new connection.
    state.set_faults(Vec::new());
    assert_eq!(post_user(&f, "r@x.org").await.unwrap().status().as_u16(), 201);
}

#[tokio::test]
async fn lose_response_commits_but_answers_nothing() {
    let f = Fixture::new(false).await;
    let state = f.target.state();
    state.set_faults(vec![FaultRule::new(FaultKind::LoseResponse).method("POST")]);
    let err = post_user(&f, "lost@x.org").await.expect_err("no response");
    assert!(!err.is_status(), "{err:?}");
    let users = state.users();
    assert_eq!(users.len(), 1, "the user was created");
    assert_eq!(users[0]["userName"], "lost@x.org");
    let reqs = state.requests();
    assert_eq!(reqs.len(), 1, "the client did not retry by itself");
    assert_eq!(reqs[0].status, 201);
    assert_eq!(reqs[0].fault.as_deref(), Some("LoseResponse"));
    // A retry now conflicts, as with a real service.
    state.set_faults(Vec::new());
    assert_eq!(post_user(&f, "lost@x.org").await.unwrap().status().as_u16(), 409);
}

#[tokio::test]
async fn truncate_gives_an_incomplete_body() {
    let f = Fixture::new(false).await;
    let state = f.target.state();
    state.set_faults(vec![FaultRule::new(FaultKind::Truncate).method("POST")]);
    let resp = post_user(&f, "t@x.org").await.expect("the head arrives");
    assert_eq!(resp.status().as_u16(), 201);
    let declared = resp.content_length().expect("declared length");
    let err = resp.bytes().await.expect_err("the body is cut off");
    assert!(err.is_body() || err.is_decode() || err.is_request(), "{err:?}");
    assert!(declared > 10);
    assert_eq!(state.users().len(), 1, "the request was processed");

    // Same for a GET; JSON decoding fails.
    let id = state.users()[0]["id"].as_str().unwrap().to_string();
    state.set_faults(vec![FaultRule::new(FaultKind::Truncate)]);
    let resp = f.send(Method::GET, &format!("/Users/{id}"), None).await.unwrap();
    assert!(resp.json::<Value>().await.is_err());
}

#[tokio::test]
async fn every_limit_method_and_path() {
    let f = Fixture::new(false).await;
    let state = f.target.state();
    state.set_faults(vec![
        FaultRule::new(FaultKind::Status(500)).every(3).limit(2).method("post").path_prefix("/Users"),
        FaultRule::new(FaultKind::Status(502)).path_prefix("/Groups"),
    ]);
    let mut statuses = Vec::new();
    for i in 0..10 {
        statuses.push(post_user(&f, &format!("u{i}@x.org")).await.unwrap().status().as_u16());
        // GETs do not count for the POST rule.
        assert_eq!(f.call(Method::GET, "/Users?count=1", None).await.0, 200);
    }
    assert_eq!(statuses, [201, 201, 500, 201, 201, 500, 201, 201, 201, 201]);
    assert_eq!(state.users().len(), 8);
    assert_eq!(f.call(Method::GET, "/Groups", None).await.0, 502);

    // Replacing the rules resets the counters.
    state.set_faults(vec![FaultRule::new(FaultKind::Status(503)).every(2)]);
    let s: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(f.call(Method::GET, "/ServiceProviderConfig", None).await.0);
        }
        v
    };
    assert_eq!(s, [200, 503, 200, 503]);

    // The first rule that fires applies.
    state.set_faults(vec![FaultRule::new(FaultKind::Status(500)), FaultRule::new(FaultKind::Status(501))]);
    assert_eq!(f.call(Method::GET, "/Users", None).await.0, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_in_flight() {
    let f = Fixture::new(false).await;
    let state = f.target.state();
    assert_eq!(state.max_in_flight(), 0);
    state.set_faults(vec![FaultRule::new(FaultKind::Delay { ms: 300 })]);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let http = f.http.clone();
        let url = format!("{}/Users", f.base);
        tasks.push(tokio::spawn(async move {
            http.post(url).bearer_auth(common::TOKEN).json(&user(&format!("c{i}@x.org"))).send().await.unwrap().status().as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    assert_eq!(state.max_in_flight(), 8);
    assert_eq!(state.users().len(), 8);
}
