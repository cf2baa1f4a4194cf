//! Test Connection: reach the Tenant URL, authenticate, read the ServiceProviderConfig, and list users
//! and groups with a filter that matches nothing. Stops at the first failing step and says why.

use super::error::Endpoint;
use super::http::{with_query, Call, Reply};
use super::resource::{self, list_page, match_filter};
use super::ScimConnector;
use crate::connector::{Capabilities, ConnectionReport, ConnectionStep, ConnectorError, ErrorKind};
use reqwest::Method;

const REACH: &str = "Reach the Tenant URL";
const AUTHENTICATE: &str = "Authenticate";
const SPC: &str = "Read ServiceProviderConfig";
const USERS: &str = "Query Users";
const GROUPS: &str = "Query Groups";

/// Attempts per Test Connection request: enough to ride out one hiccup, few enough to answer quickly.
const ATTEMPTS: u32 = 2;

struct Report {
    steps: Vec<ConnectionStep>,
    capabilities: Option<Capabilities>,
}

impl Report {
    fn ok(&mut self, name: &str, detail: impl Into<String>) {
        self.steps.push(ConnectionStep { name: name.into(), ok: true, detail: detail.into() });
    }

    fn fail(mut self, name: &str, detail: impl Into<String>, mut error: ConnectorError) -> ConnectionReport {
        let detail = detail.into();
        error.message = detail.clone();
        self.steps.push(ConnectionStep { name: name.into(), ok: false, detail });
        ConnectionReport { ok: false, steps: self.steps, error: Some(error), capabilities: self.capabilities }
    }
}

/// A list query for the probe: a filter that matches nothing, or the first page when filters are off.
fn list_call(c: &ScimConnector, collection: &str, attribute: &str, probe: &str) -> (Call, Option<String>) {
    let mut query = Vec::new();
    if collection == "/Groups" {
        query.push(("excludedAttributes", "members".to_string()));
    }
    let filter = c.profile().filter_supported.then(|| match_filter(attribute, probe));
    match &filter {
        Some(f) => query.push(("filter", f.clone())),
        None => {
            query.push(("startIndex", "1".to_string()));
            query.push(("count", "1".to_string()));
        }
    }
    let (path, label) = with_query(collection, collection, &query);
    (Call::new(Method::GET, path, Endpoint::Collection).label(label).attempts(ATTEMPTS), filter)
}

/// Judges a list query's answer: a ListResponse, with no results when filtered.
fn judge_list(
    c: &ScimConnector,
    collection: &str,
    what: &str,
    filter: Option<&str>,
    r: Result<Reply, ConnectorError>,
) -> Result<String, (String, ConnectorError)> {
    let url = c.inner.http.url_for(collection);
    let noun = if collection == "/Groups" { "groups" } else { "users" };
    let reply = match r {
        Ok(reply) => reply,
        Err(e) => {
            let detail = match (e.status, filter) {
                (Some(400), Some(f)) => {
                    let said = e.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
                    format!("the target does not support filter={f}{said}; turn off filter support in the app's compatibility profile")
                }
                (Some(404), _) => format!("{what} answered 404: there is no {noun} endpoint at {url}"),
                _ => e.message.clone(),
            };
            return Err((detail, e));
        }
    };
    let Some(page) = reply.json.as_ref().and_then(list_page) else {
        let ct = reply.content_type.clone().unwrap_or_else(|| "none".into());
        let mut e = ConnectorError::new(ErrorKind::NotScim, "");
        e.status = Some(reply.status);
        e.exchange = Some(reply.exchange);
        return Err((format!("{what} answered {}, but not with a SCIM ListResponse (Content-Type {ct})", e.status.unwrap_or(0)), e));
    };
    let total = page.total.unwrap_or(page.resources.len() as u64).max(page.resources.len() as u64);
    match filter {
        Some(f) if total > 0 => {
            let mut e = ConnectorError::new(ErrorKind::NotScim, "");
            e.status = Some(reply.status);
            e.exchange = Some(reply.exchange);
            Err((
                format!(
                    "the filter {f} matched {total} {noun} although nothing has that value: the target ignores filter; turn off filter support in the app's compatibility profile"
                ),
                e,
            ))
        }
        Some(_) => Ok(format!("the filtered list answered with a ListResponse and no {noun}, as expected")),
        None => Ok(format!("the list answered with a ListResponse ({total} {noun} in the target)")),
    }
}

fn describe(caps: &Capabilities) -> String {
    let yes = |b: bool| if b { "supported" } else { "not supported" };
    let mut parts = vec![format!("PATCH {}", yes(caps.patch))];
    parts.push(match caps.filter_max_results {
        Some(n) if caps.filter => format!("filter supported (up to {n} results)"),
        _ => format!("filter {}", yes(caps.filter)),
    });
    parts.push(match (caps.bulk, caps.bulk_max_operations) {
        (true, Some(n)) => format!("bulk supported (up to {n} operations)"),
        (b, _) => format!("bulk {}", yes(b)),
    });
    parts.push(format!("ETag {}", yes(caps.etag)));
    parts.join(", ")
}

/// Runs Test Connection.
pub(super) async fn run(c: &ScimConnector) -> ConnectionReport {
    let mut report = Report { steps: Vec::new(), capabilities: None };
    let host = c.inner.http.host();
    let marker = format!("provisio-test-{}", uuid::Uuid::new_v4());

    // 1 and 2: the users query reaches the target and shows whether it takes the credentials.
    let (users_call, users_filter) = list_call(c, "/Users", "userName", &marker);
    let users_what = users_call.what();
    let users = c.send(users_call).await;
    if let Err(e) = &users {
        if matches!(e.kind, ErrorKind::Refused | ErrorKind::Network) && e.status.is_none() {
            return report.fail(REACH, e.message.clone(), e.clone());
        }
    }
    report.ok(REACH, format!("{host} answered over {}", if c.base_url().starts_with("https:") { "HTTPS" } else { "HTTP" }));
    match &users {
        Err(e) if e.kind == ErrorKind::Unauthorized => {
            let detail = match e.status {
                Some(s @ (401 | 403)) if !e.message.contains("token endpoint") => {
                    let check = match c.inner.http.auth_kind() {
                        "oauth" => "check the OAuth client id, secret and scope",
                        "none" => "the target requires credentials: set the Secret Token",
                        _ => "check the Secret Token",
                    };
                    // The target's own words stay in the error's `detail`.
                    format!("the target refused the credentials ({s}): {check}")
                }
                _ => e.message.clone(),
            };
            return report.fail(AUTHENTICATE, detail, e.clone());
        }
        _ => report.ok(
            AUTHENTICATE,
            match c.inner.http.auth_kind() {
                "none" => "no credentials are sent, and the target did not ask for any",
                "oauth" => "an OAuth token was obtained and the target did not refuse it",
                _ => "the target did not refuse the Secret Token",
            },
        ),
    }

    // 3: the ServiceProviderConfig.
    let spc_url = c.inner.http.url_for("/ServiceProviderConfig");
    let spc = c.send(Call::new(Method::GET, "/ServiceProviderConfig", Endpoint::Collection).attempts(ATTEMPTS)).await;
    match spc {
        Ok(reply) => match reply.json.as_ref().filter(|j| resource::is_service_provider_config(j)) {
            Some(j) => {
                let caps = resource::capabilities(j);
                c.set_capabilities(Some(caps.clone()));
                report.ok(SPC, describe(&caps));
                report.capabilities = Some(caps);
            }
            None => {
                let mut e = ConnectorError::new(ErrorKind::NotScim, "");
                e.status = Some(reply.status);
                e.exchange = Some(reply.exchange);
                return report.fail(SPC, format!("the answer at {spc_url} is JSON but not a ServiceProviderConfig"), e);
            }
        },
        Err(e) => {
            let detail = match e.status {
                Some(404) => format!("no ServiceProviderConfig at {spc_url}: is the Tenant URL the SCIM base URL?"),
                Some(401 | 403) => format!("the target refused the credentials ({}) at {spc_url}", e.status.unwrap_or(401)),
                _ if e.message.contains("not SCIM JSON") => {
                    let ct = e.message.rsplit_once("(Content-Type ").map_or("unknown)", |(_, ct)| ct);
                    format!("the answer is not SCIM JSON (Content-Type {ct}")
                }
                _ => e.message.clone(),
            };
            return report.fail(SPC, detail, e);
        }
    }

    // 4: users.
    match judge_list(c, "/Users", &users_what, users_filter.as_deref(), users) {
        Ok(d) => report.ok(USERS, d),
        Err((d, e)) => return report.fail(USERS, d, e),
    }

    // 5: groups.
    let (groups_call, groups_filter) = list_call(c, "/Groups", "displayName", &marker);
    let groups_what = groups_call.what();
    let groups = c.send(groups_call).await;
    match judge_list(c, "/Groups", &groups_what, groups_filter.as_deref(), groups) {
        Ok(d) => report.ok(GROUPS, d),
        Err((d, e)) => return report.fail(GROUPS, d, e),
    }
    ConnectionReport { ok: true, steps: report.steps, error: None, capabilities: report.capabilities }
}
