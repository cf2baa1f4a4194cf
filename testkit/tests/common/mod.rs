//! Helpers shared by the integration tests.
#![allow(dead_code)]

use provisio_testkit::{ScimTarget, TargetConfig};
use reqwest::{Method, Response};
use serde_json::{json, Value};

pub const TOKEN: &str = "s3cret";
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A target with a token (and bulk when asked) plus a client that sends the token.
pub struct Fixture {
    pub target: ScimTarget,
    pub http: reqwest::Client,
    pub base: String,
}

impl Fixture {
    pub async fn new(bulk: bool) -> Fixture {
        let target = ScimTarget::start(TargetConfig { token: Some(TOKEN.into()), bulk, ..Default::default() }).await;
        let base = target.base_url();
        Fixture { target, http: reqwest::Client::new(), base }
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Result<Response, reqwest::Error> {
        let mut req =
            self.http.request(method, format!("{}{}", self.base, path)).bearer_auth(TOKEN).header("Accept", "application/scim+json");
        if let Some(b) = body {
            req = req.header("Content-Type", "application/scim+json").body(b.to_string());
        }
        req.send().await
    }

    /// Sends and returns (status, JSON body or Null).
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let resp = self.send(method, path, body).await.expect("request failed");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let v = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON body") };
        (status, v)
    }

    pub async fn create_user(&self, user_name: &str) -> String {
        let (s, v) = self.call(Method::POST, "/Users", Some(user(user_name))).await;
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_string()
    }

    pub async fn create_group(&self, name: &str) -> String {
        let (s, v) = self.call(Method::POST, "/Groups", Some(json!({"schemas": [GROUP], "displayName": name}))).await;
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_string()
    }
}

/// A user as Entra creates it.
pub fn user(user_name: &str) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": format!("ext-{user_name}"),
        "userName": user_name,
        "active": true,
        "displayName": format!("{user_name} display"),
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "name": {"givenName": "Given", "familyName": "Family", "formatted": "Given Family"},
        ENTERPRISE: {"department": "Engineering", "employeeNumber": "42"},
    })
}

pub fn patch_op(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}
