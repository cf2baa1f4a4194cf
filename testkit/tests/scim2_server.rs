//! The `scim2-server` launcher (skipped when the binary is not installed).

use provisio_testkit::Scim2Server;
use serde_json::{json, Value};

#[tokio::test]
async fn starts_and_answers() {
    if !Scim2Server::available() {
        eprintln!("scim2-server is not installed: skipped");
        return;
    }
    let server = Scim2Server::start("tok").await.expect("scim2-server starts");
    let base = server.base_url();
    assert_eq!(base, format!("http://127.0.0.1:{}", server.port()));
    let http = reqwest::Client::new();
    let resp = http.get(format!("{base}/ServiceProviderConfig")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let spc: Value = resp.json().await.unwrap();
    assert_eq!(spc["patch"]["supported"], true);

    let resp = http.get(format!("{base}/Users")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401, "the token is required");
    let resp = http
        .post(format!("{base}/v2/Users"))
        .bearer_auth("tok")
        .header("Content-Type", "application/scim+json")
        .body(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ref@x.org"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let list: Value = http.get(format!("{base}/Users")).bearer_auth("tok").send().await.unwrap().json().await.unwrap();
    assert_eq!(list["totalResults"], 1);

    // Two servers side by side; dropping one kills its process.
    let other = Scim2Server::start("tok2").await.expect("second server");
    assert_ne!(other.port(), server.port());
    let port = other.port();
    drop(other);
    let gone = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
    assert!(gone.is_err(), "the child was killed");
}
