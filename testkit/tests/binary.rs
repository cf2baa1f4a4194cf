//! The `provisio-scim-target` binary and its admin endpoints.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_serves_scim_and_admin() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_provisio-scim-target"))
        .args(["--port", "0", "--token", "tok", "--bulk"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn provisio-scim-target");
    let stdout = child.stdout.take().unwrap();
    let _running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line.trim().strip_prefix("listening on ").expect("listening line").to_string();
    assert!(base.starts_with("http://127.0.0.1:") && base.ends_with("/scim/v2"), "{base}");
    let root = base.trim_end_matches("/scim/v2").to_string();
    let http = reqwest::Client::new();

    let spc: Value = http.get(format!("{base}/ServiceProviderConfig")).bearer_auth("tok").send().await.unwrap().json().await.unwrap();
    assert_eq!(spc["bulk"]["supported"], true);
    let resp = http
        .post(format!("{base}/Users"))
        .bearer_auth("tok")
        .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bin@x.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);

    // Admin endpoints need no token.
    let resp = http
        .put(format!("{root}/_admin/faults"))
        .json(&json!([{"kind": {"Status": 503}, "method": "GET", "limit": 1}]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let resp = http.get(format!("{base}/Users")).bearer_auth("tok").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    let resp = http.put(format!("{root}/_admin/faults")).body("not json").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);

    let stats: Value = http.get(format!("{root}/_admin/stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats, json!({"users": 1, "groups": 0, "requests": 3, "maxInFlight": 1}));
    let users: Value = http.get(format!("{root}/_admin/users")).send().await.unwrap().json().await.unwrap();
    assert_eq!(users[0]["userName"], "bin@x.org");
    let reqs: Value = http.get(format!("{root}/_admin/requests")).send().await.unwrap().json().await.unwrap();
    assert_eq!(reqs.as_array().unwrap().len(), 3);
    assert_eq!(reqs[2]["fault"], "Status(503)");
    assert_eq!(reqs[1]["method"], "POST");
    assert_eq!(reqs[1]["path"], "/Users");
    let resp = http.delete(format!("{root}/_admin/requests")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let stats: Value = http.get(format!("{root}/_admin/stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["requests"], 0);
}

#[test]
fn binary_refuses_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_provisio-scim-target")).arg("--nope").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_provisio-scim-target")).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--port is required");
}
