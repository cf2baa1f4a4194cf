//! The connector's data: secrets, target objects, HTTP exchanges, errors and Test Connection reports.
//! Pure (no I/O), so the portal can show them in the browser.

use serde::{Deserialize, Serialize};
use serde_json::Value as J;
use std::fmt;

/// A secret string (token, client secret). Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

/// An object in the target: its id and the resource as the target returned it.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetObject {
    /// The target's id for it.
    pub id: String,
    /// The resource JSON (may be partial, e.g. members excluded).
    pub resource: J,
}

/// One attribute to change in an update: the SCIM path (`name.givenName`, `emails[type eq "work"].value`,
/// `urn:…:enterprise:2.0:User:manager`) and its new value (`None` removes it).
#[derive(Clone, Debug, PartialEq)]
pub struct AttributeChange {
    /// The SCIM attribute path.
    pub path: String,
    /// The new value; `None` removes the attribute.
    pub value: Option<J>,
}

/// One HTTP exchange, for the provisioning log: what was sent and what came back. Secrets and
/// `Authorization` headers are never recorded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exchange {
    /// `GET`, `POST`, `PATCH`, `PUT`, `DELETE`.
    pub method: String,
    /// The path and query below the base URL (`/Users?filter=…`).
    pub path: String,
    /// The request body, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<J>,
    /// The final response status (`None` when no response arrived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// How many attempts it took (retries included).
    pub attempts: u32,
}

/// A successful call's value and the exchanges it took.
#[derive(Clone, Debug, PartialEq)]
pub struct Sent<T> {
    /// What the call produced.
    pub value: T,
    /// The HTTP exchanges, in order.
    pub exchanges: Vec<Exchange>,
}

/// What kind of failure a connector call met; decides what the engine does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// The URL was refused before connecting (scheme, private address, redirect).
    Refused,
    /// DNS, connect, TLS, reset or timeout, still failing after the retries.
    Network,
    /// 429 or 5xx, still failing after the retries.
    Unavailable,
    /// 401 or 403: the credentials are wrong or lack rights. Quarantines the job.
    Unauthorized,
    /// The target does not behave as a SCIM service (404 at an endpoint, not JSON, not a ListResponse,
    /// truncated body). Quarantines the job.
    NotScim,
    /// The object is not there (404 on a resource).
    NotFound,
    /// A uniqueness conflict (409, or 400 with scimType uniqueness).
    Conflict,
    /// The target refused the request's content (400 invalidValue/invalidSyntax/mutability, …): never
    /// retried as is; the object goes to escrow.
    Rejected,
    /// More than one object matched a filter that must find at most one.
    Ambiguous,
}

/// A failed connector call, in words, with what the target said.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{message}")]
pub struct ConnectorError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// What happened and what to do, in words.
    pub message: String,
    /// The HTTP status, when a response arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The SCIM error's `scimType`, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<String>,
    /// The SCIM error's `detail`, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The exchange that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Exchange>,
}

impl ConnectorError {
    /// A new error of `kind` with `message` and nothing else.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ConnectorError {
        ConnectorError { kind, message: message.into(), status: None, scim_type: None, detail: None, exchange: None }
    }

    /// Whether this failure stops the whole job at once (bad credentials, not a SCIM service, refused URL).
    pub fn quarantines(&self) -> bool {
        matches!(self.kind, ErrorKind::Unauthorized | ErrorKind::NotScim | ErrorKind::Refused)
    }

    /// An Entra-style error code for the provisioning log (`SystemForCrossDomainIdentityManagementBadResponse`…
    /// shortened to the part admins search for).
    pub fn code(&self) -> &'static str {
        match self.kind {
            ErrorKind::Refused => "TargetRefused",
            ErrorKind::Network => "Timeout",
            ErrorKind::Unavailable if self.status == Some(429) => "TooManyRequests",
            ErrorKind::Unavailable => "InternalServerError",
            ErrorKind::Unauthorized => "Unauthorized",
            ErrorKind::NotScim => "ServiceIncompatible",
            ErrorKind::NotFound => "NotFound",
            ErrorKind::Conflict => "Conflict",
            ErrorKind::Rejected => "InvalidValue",
            ErrorKind::Ambiguous => "MultipleEntriesInResponse",
        }
    }

    /// What the admin should do about it.
    pub fn recommendation(&self) -> &'static str {
        match self.kind {
            ErrorKind::Refused => "Use an https:// Tenant URL on a public address, or allow private targets on the server (PROVISIO_ALLOW_PRIVATE_TARGETS) for a test target.",
            ErrorKind::Network => "Check that the Tenant URL is reachable from the Provisio server and answers within the timeout; the object is retried in a later cycle.",
            ErrorKind::Unavailable => "The target is overloaded or failing; the object is retried in a later cycle. Lower the app's rate limit or concurrency if this persists.",
            ErrorKind::Unauthorized => "Replace the Secret Token (or OAuth client credentials) under Admin Credentials, run Test Connection, then restart provisioning.",
            ErrorKind::NotScim => "Check the Tenant URL: it must be the SCIM base URL (the one that serves /Users and /Groups), and the app must answer with SCIM JSON.",
            ErrorKind::NotFound => "The object was removed in the target; it is recreated if still in scope.",
            ErrorKind::Conflict => "An account with the same unique value exists in the target but does not match on the matching attribute. Fix the duplicate in the target or change the matching attribute.",
            ErrorKind::Rejected => "The target refused a value. Check the attribute mappings and the value shown in the details.",
            ErrorKind::Ambiguous => "Several target accounts share the matching value. Remove the duplicates in the target or choose a unique matching attribute.",
        }
    }
}

/// Result of a connector call.
pub type ConnResult<T> = Result<Sent<T>, ConnectorError>;

/// What the target says it supports (its ServiceProviderConfig).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Capabilities {
    /// PATCH is supported.
    pub patch: bool,
    /// `filter` is supported.
    pub filter: bool,
    /// The most results a filtered list returns.
    pub filter_max_results: Option<u32>,
    /// `/Bulk` is supported.
    pub bulk: bool,
    /// Most operations per bulk request.
    pub bulk_max_operations: Option<u32>,
    /// Largest bulk payload in bytes.
    pub bulk_max_payload_size: Option<u64>,
    /// ETags are supported.
    pub etag: bool,
}

/// One step of Test Connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStep {
    /// What was tried ("Reach the Tenant URL", "Authenticate", "Read ServiceProviderConfig", "Query Users",
    /// "Query Groups").
    pub name: String,
    /// Whether it worked.
    pub ok: bool,
    /// What happened, in words.
    pub detail: String,
}

/// The result of Test Connection: success, or the first failing step with a precise reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionReport {
    /// Whether every step worked.
    pub ok: bool,
    /// The steps, in order (stops at the first failure).
    pub steps: Vec<ConnectionStep>,
    /// The failure, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ConnectorError>,
    /// What the target advertises, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
}
