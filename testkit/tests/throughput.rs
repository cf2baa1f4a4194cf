//! Throughput of `POST /Users` (ignored by default; run it in release:
//! `cargo test -p provisio-testkit --release --test throughput -- --ignored --nocapture`).
//! `THROUGHPUT_N` sets the number of users of the concurrent run (default 100000);
//! `THROUGHPUT_URL` (e.g. `http://127.0.0.1:8999/scim/v2` of a `provisio-scim-target --port 8999
//! --token t`) measures a target in another process instead of one in this process.

use std::sync::Arc;
use std::time::Instant;

use provisio_testkit::{ScimTarget, TargetConfig};
use serde_json::json;

fn body(i: usize) -> String {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": format!("ext-{i}"),
        "userName": format!("user{i}@example.com"),
        "active": true,
        "displayName": format!("User {i}"),
        "emails": [{"primary": true, "type": "work", "value": format!("user{i}@example.com")}],
        "name": {"givenName": "Given", "familyName": format!("Family{i}")},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Engineering"}
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn post_users_throughput() {
    let n: usize = std::env::var("THROUGHPUT_N").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let external = std::env::var("THROUGHPUT_URL").ok();
    let target = match &external {
        Some(_) => None,
        None => Some(ScimTarget::start(TargetConfig { token: Some("t".into()), ..Default::default() }).await),
    };
    let base = external.clone().unwrap_or_else(|| target.as_ref().map(|t| t.base_url()).unwrap_or_default());
    let url = format!("{base}/Users");
    let http = reqwest::Client::new();

    let seq_n = 5_000;
    let t = Instant::now();
    for i in 0..seq_n {
        let r = http.post(&url).bearer_auth("t").header("Content-Type", "application/scim+json").body(body(i)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 201);
        r.bytes().await.unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    println!("sequential: {seq_n} POST /Users in {secs:.2}s = {:.0} req/s", seq_n as f64 / secs);

    let next = Arc::new(std::sync::atomic::AtomicUsize::new(seq_n));
    let end = seq_n + n;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (http, url, next) = (http.clone(), url.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= end {
                    break;
                }
                let r =
                    http.post(&url).bearer_auth("t").header("Content-Type", "application/scim+json").body(body(i)).send().await.unwrap();
                assert_eq!(r.status().as_u16(), 201);
                r.bytes().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    println!("16 in flight: {n} POST /Users in {secs:.2}s = {:.0} req/s", n as f64 / secs);
    let Some(target) = target else { return };
    let state = target.state();
    println!("max in flight {}", state.max_in_flight());
    assert_eq!(state.users().len(), seq_n + n);
    let t = Instant::now();
    let reqs = state.requests();
    println!("requests(): {} entries in {:.2}s", reqs.len(), t.elapsed().as_secs_f64());
    target.stop().await;
}
