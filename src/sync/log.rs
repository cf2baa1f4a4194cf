//! Provisioning log entries: what the engine did to one object in one cycle, step by step, as Entra's
//! provisioning logs show it (Identity, Action, Status, Steps, Modified Properties, Troubleshooting).
//! Secrets and Redact()ed values never get here: the explanations come from `resolve`, which masks them.

use crate::connector::Exchange;
use chrono::{DateTime, Utc};

use serde::{Deserialize, Serialize};

/// A new log entry id (engine only: it reads the clock): a UUID whose first 48 bits are the time in
/// milliseconds (the UUIDv7 layout), the rest random. Entries of a cycle are written in time order, so their ids go to the end of the
/// primary-key index instead of a random page of it for each row.
#[cfg(feature = "store")]
pub fn new_entry_id() -> String {
    let mut b = *uuid::Uuid::new_v4().as_bytes();
    let ms = Utc::now().timestamp_millis().max(0) as u64;
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6] = (b[6] & 0x0f) | 0x70;
    uuid::Uuid::from_bytes(b).to_string()
}

/// What was done to the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LogAction {
    /// An account was created in the target.
    Create,
    /// An account was updated (or matched and linked).
    Update,
    /// An account was disabled (`active=false`).
    Disable,
    /// An account was deleted.
    Delete,
    /// A disable or delete was held back by accidental-deletion prevention.
    StagedDelete,
    /// Nothing was sent (out of scope, not allowed, …).
    Skip,
    /// Anything else (references, memberships).
    Other,
}

impl LogAction {
    /// The stored spelling (also the API's).
    pub fn as_str(self) -> &'static str {
        match self {
            LogAction::Create => "Create",
            LogAction::Update => "Update",
            LogAction::Disable => "Disable",
            LogAction::Delete => "Delete",
            LogAction::StagedDelete => "StagedDelete",
            LogAction::Skip => "Skip",
            LogAction::Other => "Other",
        }
    }

    /// Parses the stored spelling (case-insensitive).
    pub fn parse(s: &str) -> Option<LogAction> {
        [
            LogAction::Create,
            LogAction::Update,
            LogAction::Disable,
            LogAction::Delete,
            LogAction::StagedDelete,
            LogAction::Skip,
            LogAction::Other,
        ]
        .into_iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }
}

/// How it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LogStatus {
    /// Done.
    Success,
    /// Failed; the object is in escrow (or the job stopped).
    Failure,
    /// Deliberately not done.
    Skipped,
    /// Done, with something the admin should know.
    Warning,
}

impl LogStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LogStatus::Success => "Success",
            LogStatus::Failure => "Failure",
            LogStatus::Skipped => "Skipped",
            LogStatus::Warning => "Warning",
        }
    }

    /// Parses the stored spelling (case-insensitive).
    pub fn parse(s: &str) -> Option<LogStatus> {
        [LogStatus::Success, LogStatus::Failure, LogStatus::Skipped, LogStatus::Warning]
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }
}

/// One step of processing an object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// `Import`, `Scope`, `Match`, `Map`, `Export`.
    pub name: String,
    /// Whether the step succeeded.
    pub ok: bool,
    /// What happened, in words.
    pub summary: String,
    /// Details, one line each (clause reasons, match queries, attribute explanations).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl Step {
    /// A step with a summary and no details.
    pub fn new(name: &str, ok: bool, summary: impl Into<String>) -> Step {
        Step { name: name.to_string(), ok, summary: summary.into(), details: Vec::new() }
    }

    /// Adds details.
    pub fn with(mut self, details: Vec<String>) -> Step {
        self.details = details;
        self
    }
}

/// A changed target attribute: old and new value (both masked when secret or Redact()ed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifiedProperty {
    /// The target attribute path.
    pub name: String,
    /// The value before (`None`, left out of the JSON, when it had none or it is unknown: every
    /// property of a create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_value: Option<serde_json::Value>,
    /// The value sent.
    pub new_value: Option<serde_json::Value>,
}

/// The body of a log entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogDetail {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The attributes changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modified_properties: Vec<ModifiedProperty>,
    /// The requests sent and their response statuses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<Exchange>,
    /// The error, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<String>,
}

/// One provisioning log entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    /// Its id.
    pub id: String,
    /// The app.
    pub app_id: String,
    /// The cycle (or on-demand run) it belongs to.
    pub cycle_id: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The directory object's id.
    pub source_id: String,
    /// `user` or `group`.
    pub object_type: String,
    /// Its display name.
    pub display_name: String,
    /// The target account's id, when known.
    pub target_id: Option<String>,
    /// What was done.
    pub action: LogAction,
    /// How it ended.
    pub status: LogStatus,
    /// The error code, on failure.
    pub error_code: Option<String>,
    /// Steps, modified properties, requests, error and recommendation.
    pub detail: LogDetail,
}

/// Filters for reading logs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LogQuery {
    /// Only this status.
    pub status: Option<LogStatus>,
    /// Only this action.
    pub action: Option<LogAction>,
    /// Only this directory object (source id) or display name prefix.
    pub identity: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only entries before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only this cycle.
    pub cycle_id: Option<String>,
    /// Page size.
    pub top: Option<u32>,
    /// Cursor from the previous page.
    pub after: Option<String>,
}

/// Quotes one CSV field when it needs it (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Log entries as CSV, one row per entry (steps and modified properties joined in one column each),
/// as the log export downloads them; `with_app` adds an `appId` column first (every app's export).
pub fn to_csv(entries: &[LogEntry], with_app: bool) -> String {
    let mut out = String::from(if with_app { "appId," } else { "" });
    out.push_str("time,cycleId,action,status,objectType,sourceId,displayName,targetId,errorCode,error,steps,modifiedProperties\n");
    for e in entries {
        let steps: Vec<String> = e.detail.steps.iter().map(|s| format!("{}: {}", s.name, s.summary)).collect();
        let props: Vec<String> = e
            .detail
            .modified_properties
            .iter()
            .map(|p| format!("{}={}", p.name, p.new_value.clone().unwrap_or(serde_json::Value::Null)))
            .collect();
        let mut row = Vec::with_capacity(13);
        if with_app {
            row.push(e.app_id.clone());
        }
        row.extend([
            e.at.to_rfc3339(),
            e.cycle_id.clone(),
            e.action.as_str().to_string(),
            e.status.as_str().to_string(),
            e.object_type.clone(),
            e.source_id.clone(),
            e.display_name.clone(),
            e.target_id.clone().unwrap_or_default(),
            e.error_code.clone().unwrap_or_default(),
            e.detail.error.clone().unwrap_or_default(),
            steps.join(" | "),
            props.join(" | "),
        ]);
        out.push_str(&row.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_fields_and_joins_steps() {
        let e = LogEntry {
            id: "1".into(),
            app_id: "app".into(),
            cycle_id: "c1".into(),
            at: DateTime::<Utc>::from_timestamp(0, 0).unwrap(),
            source_id: "s".into(),
            object_type: "user".into(),
            display_name: "Doe, \"Jane\"".into(),
            target_id: None,
            action: LogAction::Create,
            status: LogStatus::Success,
            error_code: None,
            detail: LogDetail {
                steps: vec![
                    Step { name: "Scope".into(), ok: true, summary: "in".into(), details: vec![] },
                    Step { name: "Export".into(), ok: true, summary: "created".into(), details: vec![] },
                ],
                ..Default::default()
            },
        };
        let one = to_csv(std::slice::from_ref(&e), false);
        let mut lines = one.lines();
        assert!(lines.next().unwrap().starts_with("time,cycleId,action"));
        assert_eq!(
            lines.next().unwrap(),
            "1970-01-01T00:00:00+00:00,c1,Create,Success,user,s,\"Doe, \"\"Jane\"\"\",,,,Scope: in | Export: created,"
        );
        assert!(to_csv(&[e], true).starts_with("appId,time,"));
    }

    #[test]
    fn spellings_round_trip() {
        for a in ["create", "StagedDelete", "skip"] {
            assert!(LogAction::parse(a).is_some());
        }
        assert_eq!(LogAction::parse("staGeddelete"), Some(LogAction::StagedDelete));
        assert_eq!(LogStatus::parse("failure"), Some(LogStatus::Failure));
        assert_eq!(LogStatus::parse("nope"), None);
    }
}

#[cfg(all(test, feature = "store"))]
mod id_tests {
    #[test]
    fn entry_ids_are_time_ordered_uuids() {
        let a = super::new_entry_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = super::new_entry_id();
        assert!(a < b, "{a} then {b}");
        let u = uuid::Uuid::parse_str(&b).unwrap();
        assert_eq!(u.get_version_num(), 7);
        assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
    }
}
