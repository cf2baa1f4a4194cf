//! Fault injection rules.

use serde::{Deserialize, Serialize};

/// What a fault does to a request. JSON form (admin endpoint): `{"Status": 503}`,
/// `{"TooMany": {"retry_after_secs": 2}}`, `{"Delay": {"ms": 100}}`, `"Reset"`, `"Truncate"`,
/// `"LoseResponse"`, `"Unauthorized"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultKind {
    /// Answer this status with a SCIM error body; the request is not processed.
    Status(u16),
    /// Answer 429 with a `Retry-After` header; the request is not processed.
    TooMany {
        /// Value of the `Retry-After` header, in seconds.
        retry_after_secs: u64,
    },
    /// Sleep, then process the request normally.
    Delay {
        /// Milliseconds to wait before processing.
        ms: u64,
    },
    /// Drop the connection (TCP reset) without any response; the request is not processed.
    Reset,
    /// Process the request normally, then send a response whose body is cut off mid-JSON: the
    /// declared `Content-Length` is the full length, half the body is sent, then the connection is
    /// closed. A response without a body (204) is sent as it is.
    Truncate,
    /// Process the request (it is committed), then close the connection without responding: the
    /// "created, but the 201 was lost" case.
    LoseResponse,
    /// Answer 401 with a SCIM error body; the request is not processed.
    Unauthorized,
}

/// When to apply a [`FaultKind`]. Each rule counts the requests it matches (method and path
/// prefix); the `every`-th, 2×`every`-th, ... matching request gets the fault, at most `limit`
/// times. When several rules fire on one request, the first in the list applies (the others still
/// count the request as matched, not as applied).
///
/// JSON: `{"kind": "Reset", "every": 3, "method": "POST", "path_prefix": "/Users", "limit": 2}`;
/// `every` defaults to 1 and the other fields to `null`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// The fault.
    pub kind: FaultKind,
    /// Apply to every Nth matching request (1 = all; 0 is read as 1).
    #[serde(default = "one")]
    pub every: u32,
    /// Only requests with this method (case-insensitive); `None` = any.
    #[serde(default)]
    pub method: Option<String>,
    /// Only requests whose path below the SCIM base starts with this (e.g. `"/Users"`); `None` = any.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Apply at most this many times, then never again; `None` = no limit.
    #[serde(default)]
    pub limit: Option<u32>,
}

fn one() -> u32 {
    1
}

impl FaultRule {
    /// A rule applying `kind` to every request.
    pub fn new(kind: FaultKind) -> FaultRule {
        FaultRule { kind, every: 1, method: None, path_prefix: None, limit: None }
    }

    /// Applies to every `n`th matching request only.
    pub fn every(mut self, n: u32) -> FaultRule {
        self.every = n;
        self
    }

    /// Applies to requests with this method only.
    pub fn method(mut self, method: &str) -> FaultRule {
        self.method = Some(method.to_string());
        self
    }

    /// Applies to requests whose path below the SCIM base starts with `prefix` only.
    pub fn path_prefix(mut self, prefix: &str) -> FaultRule {
        self.path_prefix = Some(prefix.to_string());
        self
    }

    /// Applies at most `n` times.
    pub fn limit(mut self, n: u32) -> FaultRule {
        self.limit = Some(n);
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
    }
}

/// A rule with its counters.
pub(crate) struct RuleState {
    rule: FaultRule,
    matched: u64,
    applied: u32,
}

impl RuleState {
    pub(crate) fn new(rule: FaultRule) -> RuleState {
        RuleState { rule, matched: 0, applied: 0 }
    }

    /// Counts the request; returns the fault when this rule fires and `may_apply`.
    pub(crate) fn count(&mut self, method: &str, path: &str, may_apply: bool) -> Option<FaultKind> {
        if !self.rule.matches(method, path) {
            return None;
        }
        self.matched += 1;
        let every = u64::from(self.rule.every.max(1));
        let fires = self.matched.is_multiple_of(every) && self.rule.limit.is_none_or(|l| self.applied < l);
        if fires && may_apply {
            self.applied += 1;
            Some(self.rule.kind.clone())
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_and_limit() {
        let mut r = RuleState::new(FaultRule::new(FaultKind::Reset).every(2).limit(2).method("post"));
        let fired: Vec<bool> = (0..8).map(|_| r.count("POST", "/Users", true).is_some()).collect();
        assert_eq!(fired, [false, true, false, true, false, false, false, false]);
        assert!(r.count("GET", "/Users", true).is_none());
    }

    #[test]
    fn json_form() {
        let rules: Vec<FaultRule> = serde_json::from_str(
            r#"[{"kind": {"Status": 503}}, {"kind": "Reset", "every": 3, "path_prefix": "/Users"},
                {"kind": {"TooMany": {"retry_after_secs": 2}}, "limit": 1}]"#,
        )
        .unwrap();
        assert_eq!(rules[0], FaultRule::new(FaultKind::Status(503)));
        assert_eq!(rules[1], FaultRule::new(FaultKind::Reset).every(3).path_prefix("/Users"));
        assert_eq!(rules[2].kind, FaultKind::TooMany { retry_after_secs: 2 });
    }
}
