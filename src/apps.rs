//! Enterprise applications and their provisioning configuration: mode, settings, the compatibility
//! profile of the target, object mappings and attribute lists. Pure data with validation (no I/O), so
//! the portal can check a form in the browser with the same rules the server applies.
//!
//! Secrets (the bearer token, the OAuth client secret) are not here: they are written once through the
//! service layer, encrypted at rest, and shown only as [`SecretInfo`].

use crate::mapping::defaults::{default_group_mapping, default_user_mapping, scim_group_schema, scim_user_schema};
use crate::mapping::target_schema::TargetSchema;
use crate::mapping::{CompiledMapping, MappingError, ObjectMapping, ObjectType};
use crate::model::FieldError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// The id of an enterprise application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AppId(pub Uuid);

impl AppId {
    /// Parses an id from its hyphenated text form.
    pub fn parse(s: &str) -> Result<Self, uuid::Error> {
        Uuid::parse_str(s).map(Self)
    }
}

impl fmt::Display for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Whether Provisio provisions the app ("Automatic") or an admin does it by hand ("Manual").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProvisioningMode {
    /// Provisioning is managed elsewhere; no job runs.
    #[default]
    Manual,
    /// Provisio's job keeps the app in step with the directory.
    Automatic,
}

impl ProvisioningMode {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProvisioningMode::Manual => "manual",
            ProvisioningMode::Automatic => "automatic",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "manual" => Some(ProvisioningMode::Manual),
            "automatic" => Some(ProvisioningMode::Automatic),
            _ => None,
        }
    }
}

/// Which directory objects the job considers: Entra's "Sync only assigned users and groups" or
/// "Sync all users and groups".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SyncScope {
    /// Users and groups assigned to the app, and the members of assigned groups (nested groups expanded).
    #[default]
    AssignedOnly,
    /// Every user and group in the directory.
    All,
}

/// The Settings blade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProvisioningSettings {
    /// Where failure notifications go.
    pub notification_email: Option<String>,
    /// "Send an email notification when a failure occurs".
    pub notify_on_failure: bool,
    /// Which objects are in scope.
    pub scope: SyncScope,
    /// "Prevent accidental deletion".
    pub prevent_accidental_deletion: bool,
    /// "Accidental deletion threshold": more disables + deletes than this in one cycle are held back.
    pub deletion_threshold: u32,
    /// Leave objects that go out of scope alone (Entra's `SkipOutOfScopeDeletions`).
    pub skip_out_of_scope_deletions: bool,
    /// Minutes between cycles (Entra: a fixed 40).
    pub interval_minutes: u32,
    /// Send directory changes within seconds instead of at the next interval.
    pub continuous: bool,
    /// Seconds before a failed object (in escrow) is first retried; doubles per attempt, capped at a day.
    pub escrow_retry_seconds: u32,
    /// How long provisioning log entries are kept.
    pub log_retention_days: u32,
}

impl Default for ProvisioningSettings {
    fn default() -> Self {
        ProvisioningSettings {
            notification_email: None,
            notify_on_failure: false,
            scope: SyncScope::AssignedOnly,
            prevent_accidental_deletion: true,
            deletion_threshold: 500,
            skip_out_of_scope_deletions: false,
            interval_minutes: 40,
            continuous: false,
            escrow_retry_seconds: 600,
            log_retention_days: 30,
        }
    }
}

impl ProvisioningSettings {
    /// Every problem, by field.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if let Some(e) = &self.notification_email {
            if !crate::model::is_email_like(e) {
                errs.push(FieldError::new("notificationEmail", "must be an email address like name@example.com"));
            }
        }
        if self.notify_on_failure && self.notification_email.is_none() {
            errs.push(FieldError::new("notificationEmail", "is required when notifyOnFailure is on"));
        }
        if self.prevent_accidental_deletion && self.deletion_threshold == 0 {
            errs.push(FieldError::new("deletionThreshold", "must be at least 1"));
        }
        if !(1..=10_080).contains(&self.interval_minutes) {
            errs.push(FieldError::new("intervalMinutes", "must be between 1 and 10080 (a week)"));
        }
        if self.escrow_retry_seconds > 86_400 {
            errs.push(FieldError::new("escrowRetrySeconds", "must be at most 86400 (a day)"));
        }
        if !(1..=3_650).contains(&self.log_retention_days) {
            errs.push(FieldError::new("logRetentionDays", "must be between 1 and 3650"));
        }
        errs
    }
}

/// How the target deviates from RFC 7644, and how hard Provisio may push it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CompatProfile {
    /// Send updates as PUT of the whole resource instead of PATCH.
    pub use_put: bool,
    /// Send booleans as the strings "True"/"False" (Entra's pre-2020 behaviour).
    pub string_booleans: bool,
    /// Send PATCH ops capitalised (`Replace`) instead of lower case.
    pub capitalized_ops: bool,
    /// The target supports `filter`; when false, matching reads pages of the list instead.
    pub filter_supported: bool,
    /// Members per group PATCH request.
    pub member_batch_size: u32,
    /// Values per matching query (`userName eq "a" or userName eq "b" …`); 1 sends one query per
    /// value, as Entra does. Lower it for a target that scans its resources once per `or` clause
    /// (scim2-server answers an `or` of 50 values in 2.5 times the time of 50 single queries).
    pub match_batch_size: u32,
    /// Requests in flight at once.
    pub max_concurrency: u32,
    /// Requests per second, when the target documents a rate limit.
    pub rate_limit_per_sec: Option<f64>,
    /// Seconds before a request times out.
    pub timeout_secs: u32,
    /// Attempts per request for retryable failures (429, 5xx, timeouts, resets).
    pub max_attempts: u32,
    /// Use `/Bulk` for creates when the target advertises it.
    pub use_bulk: bool,
}

impl Default for CompatProfile {
    fn default() -> Self {
        CompatProfile {
            use_put: false,
            string_booleans: false,
            capitalized_ops: false,
            filter_supported: true,
            member_batch_size: 100,
            match_batch_size: 50,
            max_concurrency: 8,
            rate_limit_per_sec: None,
            timeout_secs: 30,
            max_attempts: 5,
            use_bulk: true,
        }
    }
}

impl CompatProfile {
    /// Every problem, by field.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if !(1..=1000).contains(&self.member_batch_size) {
            errs.push(FieldError::new("memberBatchSize", "must be between 1 and 1000"));
        }
        if !(1..=50).contains(&self.match_batch_size) {
            errs.push(FieldError::new("matchBatchSize", "must be between 1 and 50"));
        }
        if !(1..=64).contains(&self.max_concurrency) {
            errs.push(FieldError::new("maxConcurrency", "must be between 1 and 64"));
        }
        if let Some(r) = self.rate_limit_per_sec {
            if !(r > 0.0 && r <= 100_000.0) {
                errs.push(FieldError::new("rateLimitPerSec", "must be above 0 and at most 100000"));
            }
        }
        if !(1..=300).contains(&self.timeout_secs) {
            errs.push(FieldError::new("timeoutSecs", "must be between 1 and 300"));
        }
        if !(1..=10).contains(&self.max_attempts) {
            errs.push(FieldError::new("maxAttempts", "must be between 1 and 10"));
        }
        errs
    }
}

/// The object mappings of an app and the attribute lists they write to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppMappings {
    /// The user mapping ("Provision users").
    pub user: ObjectMapping,
    /// The target's user attribute list.
    pub user_schema: TargetSchema,
    /// The group mapping ("Provision groups").
    pub group: ObjectMapping,
    /// The target's group attribute list.
    pub group_schema: TargetSchema,
}

impl Default for AppMappings {
    fn default() -> Self {
        AppMappings {
            user: default_user_mapping(),
            user_schema: scim_user_schema(),
            group: default_group_mapping(),
            group_schema: scim_group_schema(),
        }
    }
}

/// Both object mappings, compiled.
#[derive(Clone, Debug)]
pub struct CompiledMappings {
    /// The user mapping.
    pub user: CompiledMapping,
    /// The group mapping.
    pub group: CompiledMapping,
}

impl AppMappings {
    /// Validates and compiles both mappings; every problem of either is returned.
    pub fn compile(&self) -> Result<CompiledMappings, Vec<MappingError>> {
        let mut errs = Vec::new();
        if self.user.source_object != ObjectType::User {
            errs.push(MappingError::new(&self.user.name, "sourceObject", "the user mapping must read users"));
        }
        if self.group.source_object != ObjectType::Group {
            errs.push(MappingError::new(&self.group.name, "sourceObject", "the group mapping must read groups"));
        }
        let user = CompiledMapping::compile(&self.user, &self.user_schema).map_err(|e| errs.extend(e)).ok();
        let group = CompiledMapping::compile(&self.group, &self.group_schema).map_err(|e| errs.extend(e)).ok();
        match (user, group) {
            (Some(user), Some(group)) if errs.is_empty() => Ok(CompiledMappings { user, group }),
            _ => Err(errs),
        }
    }

    /// A stable fingerprint: a change to the mappings or scoping filters changes it, which makes the
    /// next cycle an initial one.
    pub fn fingerprint(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        // FNV-1a, 64 bits: stable across builds and platforms.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

/// How the job authenticates to the target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AuthKind {
    /// `Authorization: Bearer <Secret Token>`.
    #[default]
    Bearer,
    /// OAuth 2.0 client credentials: a token is fetched from the token URL.
    OAuthClientCredentials,
}

impl AuthKind {
    /// The stored spelling (the same as the JSON one).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::Bearer => "bearer",
            AuthKind::OAuthClientCredentials => "oAuthClientCredentials",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "bearer" => Some(AuthKind::Bearer),
            "oAuthClientCredentials" => Some(AuthKind::OAuthClientCredentials),
            _ => None,
        }
    }
}

/// What the API shows about a stored secret: never the secret itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretInfo {
    /// Always true (the field is absent when no secret is set).
    pub set: bool,
    /// The last four characters.
    pub last4: String,
    /// When it was last written.
    pub updated_at: DateTime<Utc>,
}

/// The admin credentials as shown: the Tenant URL and the OAuth fields, and which secrets are set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsView {
    /// The SCIM base URL ("Tenant URL").
    pub tenant_url: Option<String>,
    /// Bearer token or OAuth client credentials.
    pub auth: AuthKind,
    /// The Secret Token, when one is set.
    pub secret_token: Option<SecretInfo>,
    /// OAuth token endpoint.
    pub token_url: Option<String>,
    /// OAuth client id.
    pub client_id: Option<String>,
    /// The OAuth client secret, when one is set.
    pub client_secret: Option<SecretInfo>,
    /// OAuth scope.
    pub scope: Option<String>,
}

/// What an admin writes to the credentials. Absent secrets keep the stored ones.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialsInput {
    /// The SCIM base URL ("Tenant URL"), `https://…` (or `http://` for private targets when allowed).
    pub tenant_url: String,
    /// Bearer token or OAuth client credentials.
    #[serde(default)]
    pub auth: AuthKind,
    /// A new Secret Token (bearer); absent keeps the stored one.
    #[serde(default)]
    pub secret_token: Option<String>,
    /// OAuth token endpoint.
    #[serde(default)]
    pub token_url: Option<String>,
    /// OAuth client id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// A new OAuth client secret; absent keeps the stored one.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// OAuth scope.
    #[serde(default)]
    pub scope: Option<String>,
}

/// Checks that `url` is an absolute http(s) URL without credentials or a fragment; `field` names it.
pub fn check_url(field: &str, url: &str) -> Option<FieldError> {
    let u = url.trim();
    let rest = if let Some(r) = u.strip_prefix("https://") {
        r
    } else if let Some(r) = u.strip_prefix("http://") {
        r
    } else {
        return Some(FieldError::new(field, "must start with https:// (or http:// for a private test target)"));
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    if host.is_empty() {
        return Some(FieldError::new(field, "has no host name"));
    }
    if host.contains('@') {
        return Some(FieldError::new(field, "must not contain a user name or password; use the secret token"));
    }
    if u.contains('#') {
        return Some(FieldError::new(field, "must not contain a fragment (#…)"));
    }
    if u.chars().any(char::is_whitespace) {
        return Some(FieldError::new(field, "must not contain spaces"));
    }
    None
}

impl CredentialsInput {
    /// Every problem, by field. `has_token` / `has_client_secret` say whether one is already stored.
    pub fn validate(&self, has_token: bool, has_client_secret: bool) -> Vec<FieldError> {
        let mut errs = Vec::new();
        errs.extend(check_url("tenantUrl", &self.tenant_url));
        let blank = |s: &Option<String>| s.as_deref().map(str::trim).unwrap_or("").is_empty();
        match self.auth {
            AuthKind::Bearer => {
                if blank(&self.secret_token) && !has_token {
                    errs.push(FieldError::new("secretToken", "is required for bearer authentication"));
                }
            }
            AuthKind::OAuthClientCredentials => {
                match self.token_url.as_deref() {
                    Some(t) if !t.trim().is_empty() => errs.extend(check_url("tokenUrl", t)),
                    _ => errs.push(FieldError::new("tokenUrl", "is required for OAuth client credentials")),
                }
                if blank(&self.client_id) {
                    errs.push(FieldError::new("clientId", "is required for OAuth client credentials"));
                }
                if blank(&self.client_secret) && !has_client_secret {
                    errs.push(FieldError::new("clientSecret", "is required for OAuth client credentials"));
                }
            }
        }
        for (f, v) in [("secretToken", &self.secret_token), ("clientSecret", &self.client_secret)] {
            if v.as_deref().is_some_and(|s| s.len() > 8192) {
                errs.push(FieldError::new(f, "is longer than 8192 characters"));
            }
        }
        errs
    }
}

/// A principal assigned to an app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    /// The user's or group's id.
    pub principal_id: String,
    /// `user` or `group`.
    pub principal_type: String,
    /// The principal's display name (at read time).
    pub display_name: String,
    /// When it was assigned.
    pub assigned_at: DateTime<Utc>,
}

/// An enterprise application.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    /// Stable id.
    pub id: AppId,
    /// Its name.
    pub name: String,
    /// The gallery entry it was made from (`generic-scim` for "Create your own application").
    pub template: String,
    /// Manual or Automatic.
    pub mode: ProvisioningMode,
    /// The Settings blade.
    pub settings: ProvisioningSettings,
    /// The target's deviations and limits.
    pub profile: CompatProfile,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its configuration last changed.
    pub updated_at: DateTime<Utc>,
}

/// The template of "Create your own application": a generic SCIM 2.0 target.
pub const GENERIC_SCIM_TEMPLATE: &str = "generic-scim";

/// The longest app name.
pub const MAX_APP_NAME_LEN: usize = 256;

/// A new app ("Create your own application", or a gallery entry later).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewApp {
    /// Its name (unique, case-insensitive).
    pub name: String,
    /// The gallery entry; absent means [`GENERIC_SCIM_TEMPLATE`].
    #[serde(default)]
    pub template: Option<String>,
}

/// A change to an app's name or mode; absent fields keep their value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppPatch {
    /// A new name.
    #[serde(default)]
    pub name: Option<String>,
    /// A new provisioning mode (Automatic can't go back to Manual).
    #[serde(default)]
    pub mode: Option<ProvisioningMode>,
}

/// A page of the app list: name prefix search, page size, cursor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppQuery {
    /// Case-insensitive name prefix.
    pub search: Option<String>,
    /// Page size.
    pub top: Option<u32>,
    /// The cursor of the previous page.
    pub after: Option<String>,
}

/// The Provisioning blade as shown: mode, settings, target profile and the credentials (secrets as
/// [`SecretInfo`] only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningConfig {
    /// Manual or Automatic.
    pub mode: ProvisioningMode,
    /// The Settings blade.
    pub settings: ProvisioningSettings,
    /// The target's deviations and limits.
    pub profile: CompatProfile,
    /// The admin credentials, without secrets.
    pub credentials: CredentialsView,
}

/// What an admin saves on the Provisioning blade; an absent profile keeps the stored one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProvisioningInput {
    /// Manual or Automatic.
    pub mode: ProvisioningMode,
    /// The Settings blade (absent fields take their defaults).
    #[serde(default)]
    pub settings: ProvisioningSettings,
    /// The target profile; absent keeps the stored one.
    #[serde(default)]
    pub profile: Option<CompatProfile>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_settings_are_entra_defaults_and_valid() {
        let s = ProvisioningSettings::default();
        assert_eq!(s.deletion_threshold, 500);
        assert_eq!(s.interval_minutes, 40);
        assert!(s.validate().is_empty());
        assert!(CompatProfile::default().validate().is_empty());
    }

    #[test]
    fn settings_errors_name_fields() {
        let s = ProvisioningSettings { interval_minutes: 0, notify_on_failure: true, ..Default::default() };
        let fields: Vec<String> = s.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["notificationEmail", "intervalMinutes"]);
    }

    #[test]
    fn default_mappings_compile_and_fingerprint_changes_with_scope() {
        let m = AppMappings::default();
        assert!(m.compile().is_ok());
        let mut m2 = m.clone();
        m2.user.attributes.pop();
        assert_ne!(m.fingerprint(), m2.fingerprint());
        assert_eq!(m.fingerprint(), AppMappings::default().fingerprint());
    }

    #[test]
    fn credentials_validation() {
        let c = CredentialsInput { tenant_url: "ftp://x".into(), ..Default::default() };
        let fields: Vec<String> = c.validate(false, false).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["tenantUrl", "secretToken"]);
        let ok =
            CredentialsInput { tenant_url: "https://scim.example.com/v2".into(), secret_token: Some("t".into()), ..Default::default() };
        assert!(ok.validate(false, false).is_empty());
        let keep = CredentialsInput { tenant_url: "https://scim.example.com/v2".into(), ..Default::default() };
        assert!(keep.validate(true, false).is_empty());
        assert!(check_url("u", "https://user:pw@host/").is_some());
    }
}
