//! The OpenAPI 3.1 document of `/api/v1`, served at `/api/v1/openapi.json`.

use axum::Json;
use serde_json::{json, Value};

fn op(summary: &str, tag: &str, body: Option<&str>, ok: &str) -> Value {
    let mut o = json!({
        "summary": summary,
        "tags": [tag],
        "responses": {
            ok: {"description": "Success"},
            "400": {"$ref": "#/components/responses/Error"},
            "401": {"$ref": "#/components/responses/Error"},
            "403": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"},
            "409": {"$ref": "#/components/responses/Error"},
            "422": {"$ref": "#/components/responses/Error"}
        }
    });
    if let Some(schema) = body {
        let content = if schema == "csv" {
            json!({"text/csv": {"schema": {"type": "string"}}})
        } else {
            json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}})
        };
        o["requestBody"] = json!({"required": true, "content": content});
    }
    o
}

fn paged(mut o: Value, extra: &[(&str, &str)]) -> Value {
    let mut params = vec![
        json!({"name": "top", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}, "description": "Page size (default 50)"}),
        json!({"name": "after", "in": "query", "schema": {"type": "string"}, "description": "Cursor from the previous page's nextCursor"}),
    ];
    for (name, ty) in extra {
        params.push(json!({"name": name, "in": "query", "schema": {"type": ty}}));
    }
    o["parameters"] = json!(params);
    o
}

/// The OpenAPI document.
pub fn spec() -> Value {
    let id = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}]);
    let str_or_null = json!({"type": ["string", "null"]});
    // The single-valued string attributes: the import columns less the typed ones listed below.
    const TYPED: [&str; 5] = ["otherMails", "businessPhones", "accountEnabled", "manager", "id"];
    let user_props: serde_json::Map<String, Value> = provisio::model::IMPORT_COLUMNS
        .iter()
        .filter(|k| !TYPED.contains(k))
        .map(|k| (k.to_string(), str_or_null.clone()))
        .chain([
            ("otherMails".to_string(), json!({"type": ["array", "null"], "items": {"type": "string"}})),
            ("businessPhones".to_string(), json!({"type": ["array", "null"], "items": {"type": "string"}})),
            ("accountEnabled".to_string(), json!({"type": "boolean"})),
            ("manager".to_string(), json!({"type": ["object", "null"], "properties": {"id": {"type": "string"}}})),
            ("extensionAttributes".to_string(), json!({"type": "object", "additionalProperties": {"type": ["string", "null"]}})),
        ])
        .collect();
    let mut evaluate = op(
        "Check an attribute-mapping expression and evaluate it for a user (any role; changes nothing). An error in the expression, or in evaluating it, is a 200 with ok: false",
        "expressions",
        Some("EvaluateRequest"),
        "200",
    );
    evaluate["responses"]["200"] = json!({"description": "The value, or the error with its line and column",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Evaluation"}}}});
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {"title": "Provisio API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Everything the Provisio portal does. Authenticate with the session cookie from POST /api/v1/login or with Authorization: Bearer <API token>. Lists page with ?top=&after=; follow @odata.nextLink."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/login": {"post": op("Sign in (sets the session cookie)", "session", Some("Login"), "200")},
            "/logout": {"post": op("Sign out", "session", None, "204")},
            "/me": {"get": op("The caller", "session", None, "200")},
            "/users": {
                "get": paged(op("List users", "users", None, "200"), &[("search", "string"), ("department", "string"), ("accountEnabled", "boolean"), ("deleted", "boolean")]),
                "post": op("Create a user", "users", Some("UserInput"), "201")
            },
            "/users/import": {"post": {
                "parameters": [{"name": "dryRun", "in": "query", "schema": {"type": "boolean"}}],
                "summary": "Import users from CSV: every row or none", "tags": ["users"],
                "requestBody": {"required": true, "content": {"text/csv": {"schema": {"type": "string"}}}},
                "responses": {"200": {"description": "The import report"}, "422": {"$ref": "#/components/responses/Error"}}
            }},
            "/users/{id}": {
                "parameters": id,
                "get": op("Read a user", "users", None, "200"),
                "patch": op("Change some attributes (null clears)", "users", Some("UserInput"), "200"),
                "delete": {"summary": "Move to the recycle bin (?permanent=true purges a recycled user)", "tags": ["users"],
                           "parameters": [{"name": "permanent", "in": "query", "schema": {"type": "boolean"}}],
                           "responses": {"204": {"description": "Deleted"}, "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}
            },
            "/users/{id}/restore": {"parameters": id, "post": op("Restore from the recycle bin", "users", None, "200")},
            "/groups": {
                "get": paged(op("List groups", "groups", None, "200"), &[("search", "string")]),
                "post": op("Create a group", "groups", Some("GroupInput"), "201")
            },
            "/groups/{id}": {
                "parameters": id,
                "get": op("Read a group", "groups", None, "200"),
                "patch": op("Change a group", "groups", Some("GroupInput"), "200"),
                "delete": op("Delete a group", "groups", None, "204")
            },
            "/groups/{id}/members": {
                "parameters": id,
                "get": paged(op("List direct members", "groups", None, "200"), &[]),
                "post": op("Add a member", "groups", Some("MemberRef"), "201")
            },
            "/groups/{id}/members/{memberId}": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}, {"name": "memberId", "in": "path", "required": true, "schema": {"type": "string"}}],
                "delete": op("Remove a member", "groups", None, "204")
            },
            "/audit": {"get": paged(op("The audit log, newest first", "audit", None, "200"), &[("actor", "string"), ("action", "string"), ("targetId", "string")])},
            "/changes": {"get": op("The directory change log after a sequence number", "audit", None, "200")},
            "/admins": {"get": op("List admin accounts", "admins", None, "200"), "post": op("Create an admin account", "admins", Some("NewAdmin"), "201")},
            "/admins/{id}": {"parameters": id, "patch": op("Change role, disabled or password", "admins", None, "200"), "delete": op("Delete an admin account", "admins", None, "204")},
            "/tokens": {"get": op("List API tokens", "admins", None, "200"), "post": op("Create an API token (returned once)", "admins", Some("NewToken"), "201")},
            "/tokens/{id}": {"parameters": id, "delete": op("Revoke an API token", "admins", None, "204")},
            "/expressions/evaluate": {"post": evaluate},
            "/expressions/functions": {"get": op("The built-in expression functions: name, signature, summary", "expressions", None, "200")}
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "provisio_session"}
            },
            "responses": {"Error": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                    "code": {"type": "string", "enum": ["unauthorized", "forbidden", "not_found", "invalid_input", "conflict", "throttled", "bad_json", "cross_origin", "internal"]},
                    "message": {"type": "string"}, "field": {"type": "string"},
                    "details": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}}}}},
                "Login": {"type": "object", "required": ["username", "password"], "properties": {"username": {"type": "string"}, "password": {"type": "string"}}},
                "UserInput": {"type": "object", "additionalProperties": false, "properties": user_props},
                "GroupInput": {"type": "object", "additionalProperties": false, "properties": {
                    "displayName": {"type": "string"}, "description": str_or_null, "mailNickname": str_or_null, "securityEnabled": {"type": "boolean"}}},
                "MemberRef": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
                "NewAdmin": {"type": "object", "required": ["username", "password", "role"], "properties": {"username": {"type": "string"}, "password": {"type": "string"}, "role": {"type": "string", "enum": ["Administrator", "ApplicationAdministrator", "Reader"]}}},
                "EvaluateRequest": {"type": "object", "additionalProperties": false, "required": ["expression"], "properties": {
                    "expression": {"type": "string", "maxLength": provisio::expr::MAX_CHARS, "description": "The expression, as in Entra's attribute mappings"},
                    "userId": {"type": ["string", "null"], "format": "uuid", "description": "The user to evaluate for; omitted: every attribute is null"}}},
                "Evaluation": {"type": "object", "required": ["ok"], "properties": {
                    "ok": {"type": "boolean"},
                    "value": {"description": "The result as JSON (strings, arrays for multi-valued results, booleans, integers, ISO 8601 dates)"},
                    "type": {"type": "string", "enum": ["Any", "String", "Multi", "Boolean", "Integer", "DateTime", "Reference", "Objects"]},
                    "text": {"type": ["string", "null"], "description": "The value as Entra writes it as text"},
                    "ignored": {"type": "boolean", "description": "IgnoreFlowIfNullOrEmpty fired: the attribute is left out"},
                    "returns": {"type": "string", "description": "The expression's static result type"},
                    "attributes": {"type": "object", "description": "The source attributes read, with this user's values"},
                    "pretty": {"type": "string"},
                    "error": {"type": "object", "required": ["message"], "properties": {
                        "message": {"type": "string"}, "line": {"type": "integer"}, "column": {"type": "integer"},
                        "start": {"type": "integer", "description": "Byte offset"}, "end": {"type": "integer", "description": "Byte offset"}}}}},
                "NewToken": {"type": "object", "required": ["name", "role"], "properties": {"name": {"type": "string"}, "role": {"type": "string", "enum": ["Administrator", "ApplicationAdministrator", "Reader"]}}}
            }
        }
    });
    // Enterprise applications, added apart (one json! of everything would pass the macro recursion limit).
    if let (Some(p), Value::Object(more)) = (doc["paths"].as_object_mut(), app_paths(&id)) {
        p.extend(more);
    }
    if let (Some(s), Value::Object(more)) = (doc["components"]["schemas"].as_object_mut(), app_schemas(&str_or_null)) {
        s.extend(more);
    }
    doc
}

/// The `/apps` routes.
fn app_paths(id: &Value) -> Value {
    json!({
        "/gallery": {
            "get": {
                "summary": "The application gallery: preintegrated apps with their supported objects, notes and compatibility profile, sorted by name",
                "tags": ["apps"],
                "parameters": [{"name": "search", "in": "query", "schema": {"type": "string"},
                    "description": "Case-insensitive text in the name, publisher, category or description"}],
                "responses": {"200": {"description": "{\"value\": [GalleryEntry]}; an entry's id is a valid template for POST /apps"},
                    "401": {"$ref": "#/components/responses/Error"}}
            }
        },
        "/apps": {
            "get": paged(op("List enterprise applications by name", "apps", None, "200"), &[("search", "string")]),
            "post": op("Create an application (Administrator or Application Administrator)", "apps", Some("NewApp"), "201")
        },
        "/apps/{id}": {
            "parameters": id,
            "get": op("Read an application", "apps", None, "200"),
            "patch": op("Rename an application or change its mode (Automatic can't go back to Manual)", "apps", Some("AppPatch"), "200"),
            "delete": op("Delete an application with its secrets and assignments", "apps", None, "204")
        },
        "/apps/{id}/assignments": {
            "parameters": id,
            "get": paged(op("Users and groups assigned to the application", "apps", None, "200"), &[]),
            "post": op("Assign a user or group (404 unknown id, 409 already assigned)", "apps", Some("AssignmentRef"), "201")
        },
        "/apps/{id}/assignments/{principalId}": {
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}, {"name": "principalId", "in": "path", "required": true, "schema": {"type": "string"}}],
            "delete": op("Remove an assignment", "apps", None, "204")
        },
        "/apps/{id}/provisioning": {
            "parameters": id,
            "get": op("The Provisioning blade: mode, settings, target profile, credentials (secrets as last4/updatedAt only)", "provisioning", None, "200"),
            "put": op("Save mode, settings and (optionally) the target profile; errors name settings.<field> / profile.<field>", "provisioning", Some("ProvisioningInput"), "200")
        },
        "/apps/{id}/provisioning/credentials": {
            "parameters": id,
            "put": op("Save the admin credentials; secrets are encrypted at rest and never returned (absent secrets keep the stored ones)", "provisioning", Some("CredentialsInput"), "200")
        },
        "/apps/{id}/provisioning/test-connection": {
            "parameters": id,
            "post": op("Test Connection with the stored credentials: 200 with ok and the steps (ok: false with the reason when the target fails); 422 when credentials are missing", "provisioning", None, "200")
        },
        "/apps/{id}/provisioning/mappings": {
            "parameters": id,
            "get": op("The attribute mappings and target attribute lists", "provisioning", None, "200"),
            "put": op("Save the attribute mappings (compiled and checked; every problem named like user.attributes[userName].source)", "provisioning", Some("AppMappings"), "200")
        },
        "/apps/{id}/provisioning/alerts": {
            "parameters": id,
            "get": op("The job's alerts (quarantined, turnedOff, deletionsStaged), newest first, ?top=1..500 (default 50); emailStatus none|pending|sent|failed", "provisioning", None, "200")
        }
    })
}

/// The request bodies of the `/apps` routes.
fn app_schemas(str_or_null: &Value) -> Value {
    json!({
            "NewApp": {"type": "object", "additionalProperties": false, "required": ["name"], "properties": {
                "name": {"type": "string", "maxLength": provisio::apps::MAX_APP_NAME_LEN},
                "template": {"type": ["string", "null"], "description": "A gallery entry's id (GET /gallery); default generic-scim. The app gets the entry's profile and mappings"}}},
            "AppPatch": {"type": "object", "additionalProperties": false, "properties": {
                "name": {"type": "string"}, "mode": {"type": "string", "enum": ["manual", "automatic"]}}},
            "AssignmentRef": {"type": "object", "additionalProperties": false, "required": ["principalId"], "properties": {
                "principalId": {"type": "string", "format": "uuid", "description": "A user's or group's id"}}},
            "ProvisioningInput": {"type": "object", "additionalProperties": false, "required": ["mode"], "properties": {
                "mode": {"type": "string", "enum": ["manual", "automatic"]},
                "settings": {"type": "object", "properties": {
                    "notificationEmail": str_or_null, "notifyOnFailure": {"type": "boolean"},
                    "scope": {"type": "string", "enum": ["assignedOnly", "all"]},
                    "preventAccidentalDeletion": {"type": "boolean"}, "deletionThreshold": {"type": "integer", "minimum": 0},
                    "skipOutOfScopeDeletions": {"type": "boolean"}, "intervalMinutes": {"type": "integer", "minimum": 1, "maximum": 10080},
                    "continuous": {"type": "boolean"}, "escrowRetrySeconds": {"type": "integer", "minimum": 0, "maximum": 86400},
                    "logRetentionDays": {"type": "integer", "minimum": 1, "maximum": 3650}}},
                "profile": {"type": ["object", "null"], "description": "The target's deviations and limits; absent keeps the stored profile", "properties": {
                    "usePut": {"type": "boolean"}, "stringBooleans": {"type": "boolean"}, "capitalizedOps": {"type": "boolean"},
                    "filterSupported": {"type": "boolean"}, "memberBatchSize": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "matchBatchSize": {"type": "integer", "minimum": 1, "maximum": 50, "description": "Values per matching query (an `or` filter); 1 = one query per value"},
                    "maxConcurrency": {"type": "integer", "minimum": 1, "maximum": 64}, "rateLimitPerSec": {"type": ["number", "null"]},
                    "timeoutSecs": {"type": "integer", "minimum": 1, "maximum": 300}, "maxAttempts": {"type": "integer", "minimum": 1, "maximum": 10},
                    "useBulk": {"type": "boolean"}}}}},
            "CredentialsInput": {"type": "object", "additionalProperties": false, "required": ["tenantUrl"], "properties": {
                "tenantUrl": {"type": "string", "description": "The SCIM base URL"},
                "auth": {"type": "string", "enum": ["bearer", "oAuthClientCredentials"]},
                "secretToken": {"type": ["string", "null"], "writeOnly": true, "description": "A new bearer token; absent keeps the stored one"},
                "tokenUrl": str_or_null, "clientId": str_or_null,
                "clientSecret": {"type": ["string", "null"], "writeOnly": true, "description": "A new OAuth client secret; absent keeps the stored one"},
                "scope": str_or_null}},
            "AppMappings": {"type": "object", "required": ["user", "userSchema", "group", "groupSchema"], "description": "As returned by GET …/provisioning/mappings", "properties": {
                "user": {"type": "object"}, "userSchema": {"type": "object"}, "group": {"type": "object"}, "groupSchema": {"type": "object"}}}
    })
}

/// `GET /api/v1/openapi.json`
pub async fn document() -> Json<Value> {
    Json(spec())
}
