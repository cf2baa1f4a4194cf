//! `/Bulk` (RFC 7644 §3.7): planning creates into requests that fit the target's limits, and mapping
//! each operation of the answer back to its resource.

use super::error::{status_error, Endpoint};
use super::resource::resource_id;
use crate::connector::{ConnectorError, ErrorKind, Exchange, TargetObject};
use serde_json::Value as J;

/// The schema URN of a bulk request.
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// The most operations Provisio puts in one bulk request, whatever the target allows.
pub const MAX_OPERATIONS: usize = 1000;
/// The payload limit assumed when the target does not state one (RFC 7644's example value).
pub const DEFAULT_MAX_PAYLOAD: u64 = 1_048_576;
/// Room for the request envelope around the operations.
const ENVELOPE: usize = 128;

/// One operation of a bulk request.
#[derive(Clone, Debug, PartialEq)]
pub struct BulkOp {
    /// The index of its resource in the caller's list.
    pub index: usize,
    /// Its `bulkId`.
    pub bulk_id: String,
    /// The operation JSON (`method`, `path`, `bulkId`, `data`).
    pub op: J,
    /// The same, serialized once: measured against the payload limit and sent as it is.
    pub json: String,
    /// Its serialized size in bytes (with the comma that separates it from the next).
    pub size: usize,
}

/// An operation to plan: its method, its path (`/Users`, `/Groups/{id}`) and its data (moved into
/// the operation, not copied).
#[derive(Clone, Debug)]
pub struct OpSpec {
    /// `POST`, `PATCH`, …
    pub method: &'static str,
    /// The path below the base URL.
    pub path: String,
    /// The operation's data.
    pub data: J,
}

/// Operations too large for any request: each one's index and data, to be sent on its own.
pub type TooBig = Vec<(usize, J)>;

/// Plans POST operations for `resources` into requests of at most `max_ops` operations and
/// `max_payload` bytes. Returns the requests and the resources too large to go in any request
/// (they are created one by one instead).
pub fn plan(resources: Vec<J>, collection: &str, max_ops: usize, max_payload: u64) -> (Vec<Vec<BulkOp>>, TooBig) {
    plan_ops(resources.into_iter().map(|data| OpSpec { method: "POST", path: collection.to_string(), data }), max_ops, max_payload)
}

/// Plans operations (each gets the `bulkId` `provisio-<its index>`) into requests of at most
/// `max_ops` operations and `max_payload` bytes; returns the requests and the operations too large
/// for any request.
pub fn plan_ops(specs: impl IntoIterator<Item = OpSpec>, max_ops: usize, max_payload: u64) -> (Vec<Vec<BulkOp>>, TooBig) {
    let max_ops = max_ops.clamp(1, MAX_OPERATIONS);
    let max_payload = usize::try_from(max_payload).unwrap_or(usize::MAX);
    let mut requests: Vec<Vec<BulkOp>> = Vec::new();
    let mut too_big = Vec::new();
    let mut current: Vec<BulkOp> = Vec::new();
    let mut size = ENVELOPE;
    for (index, spec) in specs.into_iter().enumerate() {
        let bulk_id = format!("provisio-{index}");
        let mut m = serde_json::Map::new();
        m.insert("method".into(), J::String(spec.method.into()));
        m.insert("path".into(), J::String(spec.path));
        m.insert("bulkId".into(), J::String(bulk_id.clone()));
        m.insert("data".into(), spec.data);
        let mut op = J::Object(m);
        let json = serde_json::to_string(&op).unwrap_or_default();
        let op_size = json.len() + 1;
        if ENVELOPE + op_size > max_payload {
            too_big.push((index, op.as_object_mut().and_then(|m| m.remove("data")).unwrap_or(J::Null)));
            continue;
        }
        if !current.is_empty() && (current.len() >= max_ops || size + op_size > max_payload) {
            requests.push(std::mem::take(&mut current));
            size = ENVELOPE;
        }
        size += op_size;
        current.push(BulkOp { index, bulk_id, op, json, size: op_size });
    }
    if !current.is_empty() {
        requests.push(current);
    }
    (requests, too_big)
}

/// The bulk request body for some operations, serialized: their JSON joined, not copied into a value.
pub fn request_bytes(ops: &[BulkOp]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ENVELOPE + ops.iter().map(|o| o.size).sum::<usize>());
    out.extend_from_slice(br#"{"schemas":[""#);
    out.extend_from_slice(BULK_REQUEST.as_bytes());
    out.extend_from_slice(br#""],"Operations":["#);
    for (i, o) in ops.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(o.json.as_bytes());
    }
    out.extend_from_slice(b"]}");
    out
}

fn op_status(v: Option<&J>) -> Option<u16> {
    match v? {
        J::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        // "201", or the older "201 Created".
        J::String(s) => s.split_whitespace().next()?.parse().ok(),
        J::Object(o) => op_status(o.get("code")),
        _ => None,
    }
}

/// What a success of one operation needs to say what it was: its label for messages, and the
/// exchange to record (the operation sent, the status it got).
struct OpAnswer<'a> {
    op: &'a BulkOp,
    what: String,
    method: String,
    attempts: u32,
}

impl OpAnswer<'_> {
    fn exchange(&self, status: Option<u16>) -> Exchange {
        Exchange {
            method: self.method.clone(),
            path: "/Bulk".into(),
            request_body: Some(self.op.op.clone()),
            status,
            attempts: self.attempts,
        }
    }

    fn error(&self, kind: ErrorKind, message: String, status: Option<u16>) -> ConnectorError {
        let mut e = ConnectorError::new(kind, message);
        e.status = status;
        e.exchange = Some(self.exchange(status));
        e
    }
}

/// Maps a bulk response back to the operations sent, one result per operation in the order of
/// `ops`: an operation the response lacks, or answered without a status, is `NotScim`; a non-2xx
/// answer is the target's error (429/5xx `Unavailable`, retried later); a 2xx answer goes to `ok`
/// with its status and its answer.
fn map_answers<T>(
    ops: &[BulkOp],
    response: &J,
    attempts: u32,
    endpoint: Endpoint,
    ok: impl Fn(&OpAnswer<'_>, u16, &J) -> Result<T, ConnectorError>,
) -> Vec<Result<T, ConnectorError>> {
    let answered: std::collections::HashMap<&str, &J> = response
        .get("Operations")
        .and_then(J::as_array)
        .map(|a| a.iter().filter_map(|o| Some((o.get("bulkId")?.as_str()?, o))).collect())
        .unwrap_or_default();
    ops.iter()
        .map(|op| {
            let method = op.op.get("method").and_then(J::as_str).unwrap_or("").to_string();
            let path = op.op.get("path").and_then(J::as_str).unwrap_or("");
            let what = format!("{method} {path} (bulk operation {})", op.bulk_id);
            let a = OpAnswer { op, what, method, attempts };
            let Some(answer) = answered.get(op.bulk_id.as_str()) else {
                return Err(a.error(ErrorKind::NotScim, format!("{}: the bulk response has no result for it", a.what), None));
            };
            match op_status(answer.get("status")) {
                Some(s @ 200..=299) => ok(&a, s, answer),
                Some(s) => {
                    let mut e = status_error(&a.what, endpoint, s, answer.get("response"), None);
                    if matches!(s, 429 | 500..=599) {
                        e.kind = ErrorKind::Unavailable;
                    }
                    e.exchange = Some(a.exchange(Some(s)));
                    Err(e)
                }
                None => Err(a.error(ErrorKind::NotScim, format!("{}: the bulk response gives no status for it", a.what), None)),
            }
        })
        .collect()
}

/// Maps a bulk response back to the POST operations sent: one result per operation, in the order of
/// `ops`, a success with the created resource and its status. The resource is the answer's; when the
/// answer carries none it is only the id (from the location): the data sent is in the operation,
/// and copying it for every create cost more than anything reads from it. `attempts` is how many
/// attempts the bulk request took.
pub fn map_response(ops: &[BulkOp], response: &J, attempts: u32) -> Vec<Result<(TargetObject, u16), ConnectorError>> {
    map_answers(ops, response, attempts, Endpoint::Collection, |a, s, answer| {
        let from_body = answer.get("response").filter(|b| resource_id(b).is_some());
        let location_id = answer
            .get("location")
            .and_then(J::as_str)
            .and_then(|l| l.trim_end_matches('/').rsplit('/').next())
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let Some(id) = from_body.and_then(resource_id).or(location_id) else {
            return Err(a.error(ErrorKind::NotScim, format!("{} answered {s} without an id or a location", a.what), Some(s)));
        };
        let resource = from_body.cloned().unwrap_or_else(|| serde_json::json!({ "id": id }));
        Ok((TargetObject { id, resource }, s))
    })
}

/// Maps a bulk response back to operations whose answer carries no resource (PATCH, DELETE): one
/// result per operation, in the order of `ops`, a success with its status.
pub fn map_statuses(ops: &[BulkOp], response: &J, attempts: u32) -> Vec<Result<u16, ConnectorError>> {
    map_answers(ops, response, attempts, Endpoint::Resource, |_, s, _| Ok(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn users(n: usize) -> Vec<J> {
        (0..n).map(|i| json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":format!("u{i}@x.org")})).collect()
    }

    #[test]
    fn plans_by_count_and_size() {
        let (reqs, big) = plan(users(5), "/Users", 2, 1_000_000);
        assert_eq!(reqs.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
        assert!(big.is_empty());
        assert_eq!(reqs[1][0].bulk_id, "provisio-2");
        assert_eq!(reqs[1][0].op["path"], "/Users");
        // The cap of 1000 applies whatever the target says.
        let (reqs, _) = plan(users(2500), "/Users", 5000, u64::MAX);
        assert_eq!(reqs.iter().map(Vec::len).collect::<Vec<_>>(), [1000, 1000, 500]);
        // Payload: each op is ~140 bytes, so about 3 fit in 600.
        let (reqs, _) = plan(users(10), "/Users", 1000, 600);
        for r in &reqs {
            let body = request_bytes(r);
            assert!(body.len() <= 600, "{}", body.len());
            let parsed: J = serde_json::from_slice(&body).expect("the joined body is JSON");
            assert_eq!(parsed["schemas"][0], BULK_REQUEST);
            assert_eq!(parsed["Operations"].as_array().map(Vec::len), Some(r.len()));
            assert_eq!(parsed["Operations"][0], r[0].op);
        }
        assert_eq!(reqs.iter().map(Vec::len).sum::<usize>(), 10);
        // A resource too large for any request.
        let mut rs = users(3);
        rs[1]["displayName"] = J::String("x".repeat(1000));
        let (reqs, big) = plan(rs.clone(), "/Users", 1000, 600);
        assert_eq!(big, [(1, rs[1].clone())], "its index and its data back");
        assert_eq!(reqs.iter().flatten().map(|o| o.index).collect::<Vec<_>>(), [0, 2]);
    }

    #[test]
    fn maps_answers_back_by_bulk_id() {
        let (reqs, _) = plan(users(4), "/Users", 10, 1_000_000);
        let ops = &reqs[0];
        let response = json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],"Operations":[
            {"method":"POST","bulkId":"provisio-1","status":"409","response":{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"exists"}},
            {"method":"POST","bulkId":"provisio-0","status":"201","location":"https://t/v2/Users/id-0","response":{"id":"id-0","userName":"u0@x.org"}},
            {"method":"POST","bulkId":"provisio-2","status":201,"location":"https://t/v2/Users/id-2"}
        ]});
        let out = map_response(ops, &response, 1);
        assert_eq!(out.len(), 4);
        let (ok0, status0) = out[0].as_ref().unwrap();
        assert_eq!(*status0, 201);
        assert_eq!((ok0.id.as_str(), &ok0.resource["userName"]), ("id-0", &json!("u0@x.org")));
        let e1 = out[1].as_ref().unwrap_err();
        assert_eq!(e1.kind, ErrorKind::Conflict);
        assert_eq!(e1.message, "POST /Users (bulk operation provisio-1) answered 409 uniqueness: exists");
        assert_eq!(e1.exchange.as_ref().unwrap().request_body.as_ref().unwrap()["bulkId"], "provisio-1");
        let (ok2, _) = out[2].as_ref().unwrap();
        // Answered without the resource: the id only.
        assert_eq!((ok2.id.as_str(), &ok2.resource), ("id-2", &json!({"id": "id-2"})));
        let e3 = out[3].as_ref().unwrap_err();
        assert_eq!(e3.kind, ErrorKind::NotScim);
        assert!(e3.message.contains("no result"), "{}", e3.message);
    }

    #[test]
    fn maps_patch_statuses_by_bulk_id() {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": "u1"}]}]});
        let specs = ["g1", "g2", "g3"].map(|g| OpSpec { method: "PATCH", path: format!("/Groups/{g}"), data: body.clone() });
        let (reqs, big) = plan_ops(specs, 10, 1_000_000);
        assert!(big.is_empty());
        let ops = &reqs[0];
        assert_eq!((ops[1].op["method"].as_str(), ops[1].op["path"].as_str()), (Some("PATCH"), Some("/Groups/g2")));
        let response = json!({"Operations": [
            {"method": "PATCH", "bulkId": "provisio-2", "status": "404", "response": {"status": "404", "detail": "no such group"}},
            {"method": "PATCH", "bulkId": "provisio-0", "status": "204"}
        ]});
        let out = map_statuses(ops, &response, 1);
        assert_eq!(out[0].as_ref().ok(), Some(&204));
        let e1 = out[1].as_ref().unwrap_err();
        assert_eq!(e1.kind, ErrorKind::NotScim, "{}", e1.message);
        let e2 = out[2].as_ref().unwrap_err();
        assert_eq!(e2.status, Some(404));
        assert!(e2.message.starts_with("PATCH /Groups/g3 (bulk operation provisio-2)"), "{}", e2.message);
        assert_eq!(e2.exchange.as_ref().unwrap().request_body.as_ref().unwrap()["path"], "/Groups/g3");
    }
}
