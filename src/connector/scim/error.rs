//! SCIM error bodies (RFC 7644 §3.12) and how an HTTP status becomes a [`ConnectorError`].

use crate::connector::{ConnectorError, ErrorKind};
use serde_json::Value as J;

/// The schema URN of a SCIM error response.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// What a SCIM error body says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScimErrorBody {
    /// `status`, sent as a string ("400") or a number.
    pub status: Option<u16>,
    /// `scimType` (`uniqueness`, `invalidValue`, `invalidFilter`, …).
    pub scim_type: Option<String>,
    /// `detail`, the target's explanation.
    pub detail: Option<String>,
}

/// Reads a SCIM error body. Accepts the RFC form (`schemas` with the Error URN, `status` as string or
/// number, `scimType`, `detail`), bodies that leave out `schemas`, and the SCIM 1.1 form
/// (`{"Errors":[{"code":…,"description":…}]}`). `None` when the JSON says none of these things.
pub fn parse_error_body(body: &J) -> Option<ScimErrorBody> {
    let o = body.as_object()?;
    if let Some(first) = o.get("Errors").and_then(J::as_array).and_then(|a| a.first()).and_then(J::as_object) {
        return Some(ScimErrorBody {
            status: first.get("code").and_then(status_of),
            scim_type: None,
            detail: first.get("description").and_then(J::as_str).map(clean),
        });
    }
    let has_schema = o.get("schemas").and_then(J::as_array).is_some_and(|s| s.iter().any(|v| v.as_str() == Some(ERROR_SCHEMA)));
    let detail = o
        .get("detail")
        .and_then(J::as_str)
        .or_else(|| o.get("message").and_then(J::as_str))
        .or_else(|| o.get("error_description").and_then(J::as_str))
        .map(clean);
    let scim_type = o.get("scimType").and_then(J::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    let status = o.get("status").and_then(status_of);
    if !has_schema && detail.is_none() && scim_type.is_none() {
        return None;
    }
    Some(ScimErrorBody { status, scim_type, detail })
}

fn status_of(v: &J) -> Option<u16> {
    match v {
        J::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        J::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A target's text, trimmed and cut to a length that fits a log line.
pub(crate) fn clean(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() <= 500 {
        s.to_string()
    } else {
        let cut: String = s.chars().take(500).collect();
        format!("{cut}…")
    }
}

/// What a request path points at; decides what a 404 means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `/Users`, `/Groups`, `/Bulk`, `/ServiceProviderConfig`: a 404 means the URL is not a SCIM service.
    Collection,
    /// `/Users/{id}`: a 404 means the object is gone.
    Resource,
}

/// The error for a final (not retried) HTTP answer: `what` is "POST /Users", `status` the HTTP status,
/// `body` the JSON body when there was one, `text` a plain-text body when there was one.
pub fn status_error(what: &str, endpoint: Endpoint, status: u16, body: Option<&J>, text: Option<&str>) -> ConnectorError {
    let parsed = body.and_then(parse_error_body).unwrap_or_default();
    let scim_type = parsed.scim_type.clone();
    let detail = parsed.detail.clone().or_else(|| text.map(clean).filter(|t| !t.is_empty()));
    let mut head = format!("{what} answered {status}");
    if let Some(t) = &scim_type {
        head.push(' ');
        head.push_str(t);
    }
    let said = detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
    let uniqueness = scim_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("uniqueness"));
    let (kind, message) = match status {
        401 | 403 => (
            ErrorKind::Unauthorized,
            format!("{head}{said}; the target refused the credentials: check the Secret Token (or the OAuth client credentials)"),
        ),
        404 if endpoint == Endpoint::Collection => {
            (ErrorKind::NotScim, format!("{head}{said}; there is no SCIM endpoint there: is the Tenant URL the SCIM base URL?"))
        }
        404 => (ErrorKind::NotFound, format!("{head}{said}; the object is not in the target")),
        409 => (ErrorKind::Conflict, format!("{head}{said}")),
        400 if uniqueness => (ErrorKind::Conflict, format!("{head}{said}")),
        400 | 412 | 413 | 422 => (ErrorKind::Rejected, format!("{head}{said}")),
        405 | 501 => (ErrorKind::NotScim, format!("{head}{said}; the target does not support this operation")),
        429 | 500..=599 => (ErrorKind::Unavailable, format!("{head}{said}")),
        _ => (ErrorKind::Rejected, format!("{head}{said}")),
    };
    ConnectorError { kind, message, status: Some(status), scim_type, detail, exchange: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_rfc_error_bodies() {
        let b = json!({"schemas":[ERROR_SCHEMA],"status":"409","scimType":"uniqueness","detail":"userName taken"});
        assert_eq!(
            parse_error_body(&b),
            Some(ScimErrorBody { status: Some(409), scim_type: Some("uniqueness".into()), detail: Some("userName taken".into()) })
        );
        let b = json!({"schemas":[ERROR_SCHEMA],"status":400,"detail":"bad"});
        assert_eq!(parse_error_body(&b), Some(ScimErrorBody { status: Some(400), scim_type: None, detail: Some("bad".into()) }));
        let b = json!({"schemas":[ERROR_SCHEMA],"status":"404"});
        assert_eq!(parse_error_body(&b), Some(ScimErrorBody { status: Some(404), ..Default::default() }));
        // No schemas, but the fields are there.
        let b = json!({"status":"400","scimType":"invalidFilter"});
        assert_eq!(parse_error_body(&b).unwrap().scim_type.as_deref(), Some("invalidFilter"));
        // SCIM 1.1.
        let b = json!({"Errors":[{"code":"400","description":"Invalid attribute"}]});
        assert_eq!(
            parse_error_body(&b),
            Some(ScimErrorBody { status: Some(400), scim_type: None, detail: Some("Invalid attribute".into()) })
        );
        // Not an error.
        assert_eq!(parse_error_body(&json!({"id":"1"})), None);
        assert_eq!(parse_error_body(&json!([1, 2])), None);
        assert_eq!(parse_error_body(&json!({"status":"x","scimType":""})), None);
    }

    #[test]
    fn long_details_are_cut() {
        let b = json!({"detail": "x".repeat(2000)});
        assert_eq!(parse_error_body(&b).unwrap().detail.unwrap().chars().count(), 501);
    }

    #[test]
    fn statuses_are_classified() {
        let err = |status: u16, scim_type: Option<&str>, endpoint| {
            let body = json!({"schemas":[ERROR_SCHEMA],"status":status.to_string(),"scimType":scim_type,"detail":"because"});
            status_error("POST /Users", endpoint, status, Some(&body), None)
        };
        let e = err(400, Some("invalidValue"), Endpoint::Collection);
        assert_eq!(e.kind, ErrorKind::Rejected);
        assert_eq!(e.message, "POST /Users answered 400 invalidValue: because");
        assert_eq!((e.status, e.scim_type.as_deref(), e.detail.as_deref()), (Some(400), Some("invalidValue"), Some("because")));
        assert_eq!(err(400, Some("uniqueness"), Endpoint::Collection).kind, ErrorKind::Conflict);
        assert_eq!(err(409, None, Endpoint::Collection).kind, ErrorKind::Conflict);
        assert_eq!(err(401, None, Endpoint::Collection).kind, ErrorKind::Unauthorized);
        assert_eq!(err(403, None, Endpoint::Resource).kind, ErrorKind::Unauthorized);
        assert_eq!(err(404, None, Endpoint::Collection).kind, ErrorKind::NotScim);
        assert_eq!(err(404, None, Endpoint::Resource).kind, ErrorKind::NotFound);
        assert_eq!(err(412, None, Endpoint::Resource).kind, ErrorKind::Rejected);
        assert_eq!(err(413, None, Endpoint::Collection).kind, ErrorKind::Rejected);
        assert_eq!(err(503, None, Endpoint::Collection).kind, ErrorKind::Unavailable);
        assert_eq!(err(501, None, Endpoint::Collection).kind, ErrorKind::NotScim);
        let e = status_error("GET /Users/1", Endpoint::Resource, 500, None, Some("  oops  "));
        assert_eq!(e.message, "GET /Users/1 answered 500: oops");
        let e = status_error("GET /Users", Endpoint::Collection, 404, None, None);
        assert_eq!(e.message, "GET /Users answered 404; there is no SCIM endpoint there: is the Tenant URL the SCIM base URL?");
    }
}
