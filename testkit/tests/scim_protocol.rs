//! The SCIM behaviour of `ScimTarget`, over real HTTP on loopback.

mod common;

use common::{patch_op, user, Fixture, ENTERPRISE, GROUP, TOKEN, USER};
use provisio_testkit::{ScimTarget, TargetConfig};
use reqwest::Method;
use serde_json::{json, Value};

const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

fn assert_scim_error(v: &Value, status: u16, scim_type: Option<&str>) {
    assert_eq!(v["schemas"], json!([ERROR]), "{v}");
    assert_eq!(v["status"], json!(status.to_string()), "{v}");
    assert_eq!(v.get("scimType").and_then(Value::as_str), scim_type, "{v}");
    assert!(v["detail"].is_string(), "{v}");
}

#[tokio::test]
async fn discovery_endpoints() {
    let f = Fixture::new(false).await;
    let (s, spc) = f.call(Method::GET, "/ServiceProviderConfig", None).await;
    assert_eq!(s, 200);
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["filter"], json!({"supported": true, "maxResults": 200}));
    assert_eq!(spc["bulk"], json!({"supported": false, "maxOperations": 1000, "maxPayloadSize": 1048576}));
    assert_eq!(spc["etag"]["supported"], false);
    assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");

    let (s, rt) = f.call(Method::GET, "/ResourceTypes", None).await;
    assert_eq!(s, 200);
    assert_eq!(rt["totalResults"], 2);
    assert_eq!(rt["Resources"][0]["endpoint"], "/Users");
    assert_eq!(rt["Resources"][0]["schemaExtensions"][0]["schema"], ENTERPRISE);
    let (s, _) = f.call(Method::GET, "/ResourceTypes/Group", None).await;
    assert_eq!(s, 200);

    let (s, schemas) = f.call(Method::GET, "/Schemas", None).await;
    assert_eq!(s, 200);
    let ids: Vec<&str> = schemas["Resources"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [USER, GROUP, ENTERPRISE]);
    let (s, _) = f.call(Method::GET, &format!("/Schemas/{USER}"), None).await;
    assert_eq!(s, 200);

    let bulk = Fixture::new(true).await;
    let (_, spc) = bulk.call(Method::GET, "/ServiceProviderConfig", None).await;
    assert_eq!(spc["bulk"]["supported"], true);
}

#[tokio::test]
async fn bearer_auth() {
    let f = Fixture::new(false).await;
    for auth in [None, Some("Bearer wrong"), Some("Basic czNjcmV0"), Some(TOKEN)] {
        let mut req = f.http.get(format!("{}/Users", f.base));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{auth:?}");
        assert!(resp.headers().get("www-authenticate").unwrap().to_str().unwrap().starts_with("Bearer"));
        assert_scim_error(&resp.json().await.unwrap(), 401, None);
    }
    let (s, _) = f.call(Method::GET, "/Users", None).await;
    assert_eq!(s, 200);
    // The scheme is case-insensitive.
    let resp = f.http.get(format!("{}/Users", f.base)).header("Authorization", format!("bearer {TOKEN}")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // Discovery needs the token too.
    let resp = f.http.get(format!("{}/ServiceProviderConfig", f.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let statuses: Vec<u16> = f.target.state().requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 401, 401, 401, 200, 200, 401]);

    // Without a token configured, anything goes.
    let open = ScimTarget::start(TargetConfig::default()).await;
    let resp = reqwest::get(format!("{}/Users", open.base_url())).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    open.stop().await;
}

#[tokio::test]
async fn create_get_conflict_and_validation() {
    let f = Fixture::new(false).await;
    let mut body = user("Alice@Example.com");
    body["password"] = json!("hunter2");
    body["id"] = json!("client-chosen");
    let resp = f.send(Method::POST, "/Users", Some(body)).await.unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/scim+json"));
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let created: Value = resp.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    assert_ne!(id, "client-chosen");
    assert_eq!(location, format!("{}/Users/{id}", f.base));
    assert_eq!(created["meta"]["location"], location);
    assert_eq!(created["meta"]["resourceType"], "User");
    assert!(created["meta"]["created"].as_str().unwrap().ends_with('Z'));
    assert_eq!(created["meta"]["created"], created["meta"]["lastModified"]);
    assert!(created.get("password").is_none(), "password is never returned");
    assert_eq!(created[ENTERPRISE]["department"], "Engineering");

    let (s, got) = f.call(Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(got, created);

    // userName is unique case-insensitively.
    let (s, v) = f.call(Method::POST, "/Users", Some(user("alice@example.COM"))).await;
    assert_eq!(s, 409);
    assert_scim_error(&v, 409, Some("uniqueness"));

    let (s, v) = f.call(Method::POST, "/Users", Some(json!({"schemas": [USER], "displayName": "x"}))).await;
    assert_eq!(s, 400);
    assert_scim_error(&v, 400, Some("invalidValue"));
    let (s, v) = f.call(Method::POST, "/Users", Some(json!({"schemas": [USER], "userName": ""}))).await;
    assert_eq!(s, 400);
    assert_scim_error(&v, 400, Some("invalidValue"));
    let (s, v) = f.call(Method::POST, "/Users", Some(json!({"userName": "noschemas"}))).await;
    assert_eq!(s, 400);
    assert_scim_error(&v, 400, Some("invalidSyntax"));
    let resp = f.http.post(format!("{}/Users", f.base)).bearer_auth(TOKEN).body("{not json").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);

    let (s, v) = f.call(Method::GET, "/Users/nope", None).await;
    assert_eq!(s, 404);
    assert_scim_error(&v, 404, None);

    // Groups: displayName unique, required.
    f.create_group("Sales").await;
    let (s, v) = f.call(Method::POST, "/Groups", Some(json!({"schemas": [GROUP], "displayName": "SALES"}))).await;
    assert_eq!(s, 409);
    assert_scim_error(&v, 409, Some("uniqueness"));
    let (s, _) = f.call(Method::POST, "/Groups", Some(json!({"schemas": [GROUP]}))).await;
    assert_eq!(s, 400);
    // Members must exist.
    let (s, v) =
        f.call(Method::POST, "/Groups", Some(json!({"schemas": [GROUP], "displayName": "G", "members": [{"value": "ghost"}]}))).await;
    assert_eq!(s, 400, "{v}");
    let (s, g) = f.call(Method::POST, "/Groups", Some(json!({"schemas": [GROUP], "displayName": "G", "members": [{"value": id}]}))).await;
    assert_eq!(s, 201);
    assert_eq!(g["members"], json!([{"value": id}]));
    assert_eq!(f.target.state().users().len(), 1);
    assert_eq!(f.target.state().groups().len(), 2);
}

#[tokio::test]
async fn filters_and_paging() {
    let f = Fixture::new(false).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(f.create_user(&format!("user{i}@example.com")).await);
    }
    let list = |q: &str| {
        let q = q.to_string();
        let f = &f;
        async move {
            let resp = f.http.get(format!("{}/Users", f.base)).bearer_auth(TOKEN).query(&[("filter", q.as_str())]).send().await.unwrap();
            let s = resp.status().as_u16();
            (s, resp.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = list(r#"userName eq "USER3@example.com""#).await;
    assert_eq!(s, 200);
    assert_eq!(v["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]));
    assert_eq!(v["totalResults"], 1);
    assert_eq!(v["itemsPerPage"], 1);
    assert_eq!(v["startIndex"], 1);
    assert_eq!(v["Resources"][0]["id"], ids[3].as_str());

    let (_, v) = list(r#"username EQ "user3@example.com" and externalId eq "ext-user3@example.com""#).await;
    assert_eq!(v["totalResults"], 1);
    // externalId is case-exact.
    let (_, v) = list(r#"externalId eq "EXT-user3@example.com""#).await;
    assert_eq!(v["totalResults"], 0);
    assert_eq!(v["Resources"], json!([]));
    let (_, v) = list(&format!(r#"id eq "{}""#, ids[1])).await;
    assert_eq!(v["Resources"][0]["userName"], "user1@example.com");
    let (_, v) = list(r#"emails.value eq "User2@Example.com""#).await;
    assert_eq!(v["Resources"][0]["id"], ids[2].as_str());
    let (_, v) = list(r#"displayName eq "user4@example.com display""#).await;
    assert_eq!(v["Resources"][0]["id"], ids[4].as_str());
    let (_, v) = list(&format!(r#"{ENTERPRISE}:employeeNumber eq "42""#)).await;
    assert_eq!(v["totalResults"], 5);
    let (_, v) = list(r#"active eq true and userName eq "user0@example.com""#).await;
    assert_eq!(v["totalResults"], 1);

    // `or` of comparisons (batched matching), with `and` binding tighter.
    let (_, v) = list(r#"userName eq "USER1@example.com" or userName eq "nobody@example.com" or userName eq "user3@example.com""#).await;
    assert_eq!(v["totalResults"], 2);
    let names: Vec<&str> = v["Resources"].as_array().unwrap().iter().map(|r| r["userName"].as_str().unwrap()).collect();
    assert_eq!(names, ["user1@example.com", "user3@example.com"], "in creation order");
    let (_, v) = list(r#"active eq false and userName eq "user1@example.com" or userName eq "user2@example.com""#).await;
    assert_eq!(v["totalResults"], 1);

    for bad in [r#"userName co "user""#, r#"not userName eq "a""#, r#"userName eq "a" or"#, "userName eq", "garbage"] {
        let (s, v) = list(bad).await;
        assert_eq!(s, 400, "{bad}");
        assert_scim_error(&v, 400, Some("invalidFilter"));
    }

    // Paging without a filter: stable creation order.
    let (_, v) = f.call(Method::GET, "/Users?startIndex=2&count=2", None).await;
    assert_eq!(v["totalResults"], 5);
    assert_eq!(v["startIndex"], 2);
    assert_eq!(v["itemsPerPage"], 2);
    let got: Vec<&str> = v["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(got, [ids[1].as_str(), ids[2].as_str()]);
    let (_, v) = f.call(Method::GET, "/Users?count=0", None).await;
    assert_eq!(v["totalResults"], 5);
    assert_eq!(v["Resources"], json!([]));
    let (_, v) = f.call(Method::GET, "/Users?startIndex=5", None).await;
    assert_eq!(v["itemsPerPage"], 1);
    let (s, _) = f.call(Method::GET, "/Users?count=abc", None).await;
    assert_eq!(s, 400);

    // attributes / excludedAttributes
    let (_, v) = f.call(Method::GET, "/Users?attributes=userName,name.givenName&count=1", None).await;
    let r = &v["Resources"][0];
    assert_eq!(r["userName"], "user0@example.com");
    assert_eq!(r["name"], json!({"givenName": "Given"}));
    assert!(r["id"].is_string());
    assert!(r.get("emails").is_none());
    let (_, v) = f.call(Method::GET, &format!("/Users/{}?excludedAttributes=emails,{ENTERPRISE}", ids[0]), None).await;
    assert!(v.get("emails").is_none());
    assert!(v.get(ENTERPRISE).is_none());
    assert_eq!(v["userName"], "user0@example.com");

    // Groups: filter by displayName, excludedAttributes=members.
    let gid = f.create_group("Engineering").await;
    let (s, _) = f
        .call(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(patch_op(json!([{"op": "add", "path": "members", "value": [{"value": ids[0]}]}]))),
        )
        .await;
    assert_eq!(s, 204);
    let resp = f
        .http
        .get(format!("{}/Groups", f.base))
        .bearer_auth(TOKEN)
        .query(&[("filter", r#"displayName eq "engineering""#), ("excludedAttributes", "members")])
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["totalResults"], 1);
    assert_eq!(v["Resources"][0]["id"], gid.as_str());
    assert!(v["Resources"][0].get("members").is_none());
    let (_, v) = f.call(Method::GET, &format!("/Groups/{gid}"), None).await;
    assert_eq!(v["members"], json!([{"value": ids[0]}]));

    // POST /.search
    let (s, v) = f
        .call(
            Method::POST,
            "/Users/.search",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName eq \"user2@example.com\""}),
            ),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["totalResults"], 1);
}

#[tokio::test]
async fn patch_user_like_entra() {
    let f = Fixture::new(false).await;
    let manager = f.create_user("boss@example.com").await;
    let id = f.create_user("ann@example.com").await;
    let path = format!("/Users/{id}");
    let (s, v) = f
        .call(
            Method::PATCH,
            &path,
            Some(patch_op(json!([
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ann.new@example.com"},
                {"op": "Add", "path": "name.givenName", "value": "Ann"},
                {"op": "ADD", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"},
                {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Sales"},
                {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": {"value": manager}},
                {"op": "replace", "value": {"displayName": "Ann N", "name.familyName": "N", "title": "Lead"}},
            ]))),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["active"], false);
    assert_eq!(v["emails"], json!([{"primary": true, "type": "work", "value": "ann.new@example.com"}]));
    assert_eq!(v["phoneNumbers"], json!([{"type": "mobile", "value": "+1 555"}]));
    assert_eq!(v["name"]["givenName"], "Ann");
    assert_eq!(v["name"]["familyName"], "N");
    assert_eq!(v["name"]["formatted"], "Given Family");
    assert_eq!(v["displayName"], "Ann N");
    assert_eq!(v["title"], "Lead");
    assert_eq!(v[ENTERPRISE]["department"], "Sales");
    assert_eq!(v[ENTERPRISE]["manager"], json!({"value": manager}));
    assert_ne!(v["meta"]["lastModified"], Value::Null);
    let (_, got) = f.call(Method::GET, &path, None).await;
    assert_eq!(got, v);

    // Manager as a bare id, active as "True", then remove the manager.
    let (s, v) = f
        .call(
            Method::PATCH,
            &path,
            Some(patch_op(json!([
                {"op": "replace", "path": format!("{ENTERPRISE}:manager"), "value": "m-2"},
                {"op": "replace", "value": {"active": "True"}},
            ]))),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v[ENTERPRISE]["manager"], json!({"value": "m-2"}));
    assert_eq!(v["active"], true);
    let (_, v) = f.call(Method::PATCH, &path, Some(patch_op(json!([{"op": "Remove", "path": format!("{ENTERPRISE}:manager")}])))).await;
    assert!(v[ENTERPRISE].get("manager").is_none());
    assert_eq!(v[ENTERPRISE]["department"], "Sales");

    // Renaming to a taken userName: 409, nothing changed.
    let (s, e) =
        f.call(Method::PATCH, &path, Some(patch_op(json!([{"op": "replace", "path": "userName", "value": "BOSS@example.com"}])))).await;
    assert_eq!(s, 409);
    assert_scim_error(&e, 409, Some("uniqueness"));
    // Renaming to itself in another case is fine.
    let (s, v) =
        f.call(Method::PATCH, &path, Some(patch_op(json!([{"op": "replace", "path": "userName", "value": "ANN@example.com"}])))).await;
    assert_eq!(s, 200);
    assert_eq!(v["userName"], "ANN@example.com");

    // Errors: bad op, missing schemas, replace through an unmatched filter, read-only id, 404.
    for (body, scim_type) in [
        (patch_op(json!([{"op": "merge", "path": "title", "value": "x"}])), "invalidSyntax"),
        (json!({"Operations": [{"op": "replace", "path": "title", "value": "x"}]}), "invalidSyntax"),
        (patch_op(json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "x"}])), "noTarget"),
        (patch_op(json!([{"op": "remove"}])), "noTarget"),
        (patch_op(json!([{"op": "replace", "path": "id", "value": "x"}])), "mutability"),
        (patch_op(json!([{"op": "remove", "path": "userName"}])), "invalidValue"),
    ] {
        let (s, e) = f.call(Method::PATCH, &path, Some(body.clone())).await;
        assert_eq!(s, 400, "{body}");
        assert_scim_error(&e, 400, Some(scim_type));
    }
    let (s, _) = f.call(Method::PATCH, "/Users/missing", Some(patch_op(json!([{"op": "replace", "path": "title", "value": "x"}])))).await;
    assert_eq!(s, 404);
}

async fn members(f: &Fixture, path: &str) -> Vec<String> {
    let (_, g) = f.call(Method::GET, path, None).await;
    match g.get("members") {
        Some(m) => m.as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap().to_string()).collect(),
        None => Vec::new(),
    }
}

#[tokio::test]
async fn group_members() {
    let f = Fixture::new(false).await;
    let a = f.create_user("a@example.com").await;
    let b = f.create_user("b@example.com").await;
    let c = f.create_user("c@example.com").await;
    let gid = f.create_group("Team").await;
    let path = format!("/Groups/{gid}");
    let (s, body) = f
        .call(
            Method::PATCH,
            &path,
            Some(patch_op(json!([{"op": "Add", "path": "members", "value": [{"value": a}, {"value": b}, {"value": c}]}]))),
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(body, Value::Null);
    assert_eq!(members(&f, &path).await, [a.clone(), b.clone(), c.clone()]);
    // Adding again is a no-op.
    let (s, _) = f.call(Method::PATCH, &path, Some(patch_op(json!([{"op": "add", "path": "members", "value": [{"value": a}]}])))).await;
    assert_eq!(s, 204);
    assert_eq!(members(&f, &path).await.len(), 3);

    // remove by value filter
    let (s, _) =
        f.call(Method::PATCH, &path, Some(patch_op(json!([{"op": "Remove", "path": format!("members[value eq \"{a}\"]")}])))).await;
    assert_eq!(s, 204);
    assert_eq!(members(&f, &path).await, [b.clone(), c.clone()]);
    // remove with a value array (Entra's form)
    let (s, _) = f.call(Method::PATCH, &path, Some(patch_op(json!([{"op": "remove", "path": "members", "value": [{"value": b}]}])))).await;
    assert_eq!(s, 204);
    assert_eq!(members(&f, &path).await, [c.as_str()]);
    // unknown member: 400, nothing changed
    let (s, e) = f
        .call(Method::PATCH, &path, Some(patch_op(json!([{"op": "add", "path": "members", "value": [{"value": a}, {"value": "ghost"}]}]))))
        .await;
    assert_eq!(s, 400);
    assert_scim_error(&e, 400, Some("invalidValue"));
    assert_eq!(members(&f, &path).await, [c.as_str()]);
    // rename
    let (s, _) = f.call(Method::PATCH, &path, Some(patch_op(json!([{"op": "Replace", "path": "displayName", "value": "Team 2"}])))).await;
    assert_eq!(s, 204);
    let other = f.create_group("Other").await;
    let (s, _) = f
        .call(
            Method::PATCH,
            &format!("/Groups/{other}"),
            Some(patch_op(json!([{"op": "Replace", "path": "displayName", "value": "team 2"}]))),
        )
        .await;
    assert_eq!(s, 409);
    // Deleting a user removes it from the group.
    let (s, _) = f.call(Method::DELETE, &format!("/Users/{c}"), None).await;
    assert_eq!(s, 204);
    assert!(members(&f, &path).await.is_empty());
    // remove all members
    f.call(Method::PATCH, &path, Some(patch_op(json!([{"op": "add", "path": "members", "value": [{"value": a}]}])))).await;
    let (s, _) = f.call(Method::PATCH, &path, Some(patch_op(json!([{"op": "remove", "path": "members"}])))).await;
    assert_eq!(s, 204);
    assert!(members(&f, &path).await.is_empty());
}

#[tokio::test]
async fn put_and_delete() {
    let f = Fixture::new(false).await;
    let id = f.create_user("p@example.com").await;
    f.create_user("q@example.com").await;
    let path = format!("/Users/{id}");
    let (_, before) = f.call(Method::GET, &path, None).await;
    let (s, v) =
        f.call(Method::PUT, &path, Some(json!({"schemas": [USER], "userName": "p2@example.com", "active": "False", "id": "other"}))).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["userName"], "p2@example.com");
    assert_eq!(v["active"], false);
    assert!(v.get("emails").is_none(), "PUT replaces the whole resource");
    assert_eq!(v["meta"]["created"], before["meta"]["created"]);
    let (s, _) = f.call(Method::PUT, &path, Some(json!({"schemas": [USER], "userName": "Q@example.com"}))).await;
    assert_eq!(s, 409);
    let (s, _) = f.call(Method::PUT, "/Users/missing", Some(json!({"schemas": [USER], "userName": "z"}))).await;
    assert_eq!(s, 404);
    // The old userName is free again.
    f.create_user("p@example.com").await;

    let (s, body) = f.call(Method::DELETE, &path, None).await;
    assert_eq!(s, 204);
    assert_eq!(body, Value::Null);
    let (s, e) = f.call(Method::DELETE, &path, None).await;
    assert_eq!(s, 404);
    assert_scim_error(&e, 404, None);
    let (s, _) = f.call(Method::GET, &path, None).await;
    assert_eq!(s, 404);
    let (_, v) = f.call(Method::GET, "/Users?filter=userName%20eq%20%22p2%40example.com%22", None).await;
    assert_eq!(v["totalResults"], 0);
}

#[tokio::test]
async fn bulk() {
    let f = Fixture::new(true).await;
    let existing = f.create_user("dup@example.com").await;
    let (s, v) = f
        .call(
            Method::POST,
            "/Bulk",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "u1", "data": user("bulk1@example.com")},
                    {"method": "POST", "path": "/Users", "bulkId": "u2", "data": user("dup@example.com")},
                    {"method": "POST", "path": "/Groups", "bulkId": "g1",
                     "data": {"schemas": [GROUP], "displayName": "BulkGroup", "members": [{"value": "bulkId:u1"}]}},
                    {"method": "PATCH", "path": "/Users/bulkId:u1",
                     "data": patch_op(json!([{"op": "replace", "path": "title", "value": "Bulk"}]))},
                    {"method": "DELETE", "path": format!("/Users/{existing}")},
                    {"method": "PUT", "path": "/Users/missing", "data": {"schemas": [USER], "userName": "m"}},
                ]
            })),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]));
    let ops = v["Operations"].as_array().unwrap();
    assert_eq!(ops.len(), 6);
    assert_eq!(ops[0]["status"], "201");
    assert_eq!(ops[0]["bulkId"], "u1");
    let u1_loc = ops[0]["location"].as_str().unwrap();
    let u1 = u1_loc.rsplit('/').next().unwrap();
    assert_eq!(u1_loc, format!("{}/Users/{u1}", f.base));
    assert_eq!(ops[1]["status"], "409");
    assert_eq!(ops[1]["response"]["scimType"], "uniqueness");
    assert_eq!(ops[2]["status"], "201");
    assert_eq!(ops[3]["status"], "200");
    assert_eq!(ops[4]["status"], "204");
    assert_eq!(ops[5]["status"], "404");
    let groups = f.target.state().groups();
    assert_eq!(groups[0]["members"], json!([{"value": u1}]));
    let users = f.target.state().users();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["title"], "Bulk");

    // failOnErrors stops after that many errors.
    let (_, v) = f
        .call(
            Method::POST,
            "/Bulk",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "failOnErrors": 1,
                "Operations": [
                    {"method": "DELETE", "path": "/Users/missing"},
                    {"method": "POST", "path": "/Users", "bulkId": "x", "data": user("never@example.com")},
                ]
            })),
        )
        .await;
    assert_eq!(v["Operations"].as_array().unwrap().len(), 1);
    assert_eq!(f.target.state().users().len(), 1);

    let (s, _) = f.call(Method::POST, "/Bulk", Some(json!({"Operations": []}))).await;
    assert_eq!(s, 400);
    // Only the /Bulk request itself is logged.
    assert_eq!(f.target.state().requests().iter().filter(|r| r.path == "/Bulk").count(), 3);

    let off = Fixture::new(false).await;
    let (s, _) = off
        .call(Method::POST, "/Bulk", Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []})))
        .await;
    assert_eq!(s, 501);
}

#[tokio::test]
async fn seeding_and_request_log() {
    let f = Fixture::new(false).await;
    let state = f.target.state();
    let seeded = state.insert_user(json!({"userName": "Foreign@Example.com", "externalId": "f1"}));
    let fixed = state.insert_user(json!({"id": "fixed-id", "userName": "fixed@example.com"}));
    assert_eq!(fixed, "fixed-id");
    let gid = state.insert_group(json!({"displayName": "Seeded", "members": [{"value": seeded}]}));
    assert!(state.requests().is_empty(), "seeding is not logged");
    assert_eq!(state.users()[0]["schemas"], json!([USER]));
    assert_eq!(state.users()[0]["meta"]["location"], format!("{}/Users/{seeded}", f.base));

    let (s, _) = f.call(Method::POST, "/Users", Some(user("foreign@example.com"))).await;
    assert_eq!(s, 409);
    let (_, v) = f.call(Method::GET, "/Users?filter=externalId+eq+%22f1%22", None).await;
    assert_eq!(v["Resources"][0]["id"], seeded.as_str());
    let (s, g) = f.call(Method::GET, &format!("/Groups/{gid}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(g["displayName"], "Seeded");

    let reqs = state.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/Users");
    assert_eq!(reqs[0].status, 409);
    assert_eq!(reqs[0].body.as_ref().unwrap()["userName"], "foreign@example.com");
    assert_eq!(reqs[0].fault, None);
    assert_eq!(reqs[1].query.as_deref(), Some("filter=externalId+eq+%22f1%22"));
    assert_eq!(reqs[1].query_param("filter").as_deref(), Some(r#"externalId eq "f1""#));
    assert_eq!(reqs[1].body, None);
    assert_eq!(reqs[2].path, format!("/Groups/{gid}"));
    assert!(reqs[0].at_ms <= reqs[2].at_ms);
    state.clear_requests();
    assert!(state.requests().is_empty());

    // Outside the base path: 404, logged with the full path.
    let resp = f.http.get(format!("{}/nothing", f.base.trim_end_matches("/scim/v2"))).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert_eq!(state.requests()[0].path, "/nothing");
    let (s, _) = f.call(Method::GET, "/Nothing", None).await;
    assert_eq!(s, 404);
    let (s, _) = f.call(Method::DELETE, "/Users", None).await;
    assert_eq!(s, 405);
}
