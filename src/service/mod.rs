//! The service layer: every admin action, authorized, validated, written in one transaction together
//! with its change-log and audit entries. The portal's server functions and the `/api/v1` routes both
//! call these functions and nothing below them, so the two can never disagree.

pub mod admins;
pub mod apps;
pub mod directory;
pub mod expressions;
pub mod import;
pub mod logs;
pub mod provisioning;
pub mod session;

use crate::model::{AdminId, FieldError, Role};
use crate::store::audit::NewAudit;
use crate::store::StoreError;

/// Who is acting, with what role, from where.
#[derive(Clone, Debug, PartialEq)]
pub struct Actor {
    /// The name written to the audit log (admin user name, `token:<name>`, `cli`).
    pub name: String,
    /// What the actor may do.
    pub role: Role,
    /// The admin account, when the actor is a signed-in admin.
    pub admin_id: Option<AdminId>,
    /// The client address.
    pub ip: Option<String>,
}

impl Actor {
    /// The command-line actor: an Administrator on the local machine.
    pub fn cli() -> Actor {
        Actor { name: "cli".into(), role: Role::Administrator, admin_id: None, ip: None }
    }

    /// Refuses unless the actor may change the directory.
    pub fn require_directory_write(&self) -> Result<()> {
        if self.role.can_write_directory() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!("the {} role cannot change the directory", self.role.label())))
        }
    }

    /// Refuses unless the actor may manage admins and tokens.
    pub fn require_admin_management(&self) -> Result<()> {
        if self.role.can_manage_admins() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!("the {} role cannot manage admin accounts or API tokens", self.role.label())))
        }
    }

    /// An audit record by this actor.
    pub fn audit(
        &self,
        action: &str,
        target_type: &str,
        target_id: Option<String>,
        target_name: Option<String>,
        details: serde_json::Value,
    ) -> NewAudit {
        NewAudit {
            actor: self.name.clone(),
            action: action.into(),
            target_type: target_type.into(),
            target_id,
            target_name,
            ip: self.ip.clone(),
            details,
        }
    }
}

/// Why an action was refused or failed. Each variant has a stable code and an HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Not signed in, or the credentials are wrong.
    #[error("{0}")]
    Unauthorized(String),
    /// Signed in, but the role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// The object does not exist.
    #[error("{what} '{id}' was not found")]
    NotFound {
        /// The kind of object.
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The input is invalid; every problem names its field.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Validation(Vec<FieldError>),
    /// The input clashes with existing data (a taken name, an existing member).
    #[error("{0}")]
    Conflict(FieldError),
    /// Too many failed sign-ins: try again later.
    #[error("too many failed sign-ins; try again in {retry_after_secs} seconds")]
    Throttled {
        /// Seconds until the next attempt is accepted.
        retry_after_secs: i64,
    },
    /// The store failed.
    #[error("internal error: {0}")]
    Store(#[from] StoreError),
}

impl ServiceError {
    /// The stable error code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Unauthorized(_) => "unauthorized",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::NotFound { .. } => "not_found",
            ServiceError::Validation(_) => "invalid_input",
            ServiceError::Conflict(_) => "conflict",
            ServiceError::Throttled { .. } => "throttled",
            ServiceError::Store(_) => "internal",
        }
    }

    /// The HTTP status that means this error.
    pub fn status(&self) -> u16 {
        match self {
            ServiceError::Unauthorized(_) => 401,
            ServiceError::Forbidden(_) => 403,
            ServiceError::NotFound { .. } => 404,
            ServiceError::Validation(_) => 422,
            ServiceError::Conflict(_) => 409,
            ServiceError::Throttled { .. } => 429,
            ServiceError::Store(_) => 500,
        }
    }

    /// The field at fault, when there is one (the first, for several).
    pub fn field(&self) -> Option<&str> {
        match self {
            ServiceError::Validation(v) => v.first().map(|e| e.field.as_str()),
            ServiceError::Conflict(e) => Some(e.field.as_str()),
            _ => None,
        }
    }

    /// A one-field validation error.
    pub fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
        ServiceError::Validation(vec![FieldError::new(field, message)])
    }

    /// The message safe to show a client: internal errors are not detailed.
    pub fn public_message(&self) -> String {
        match self {
            ServiceError::Store(_) => "an internal error occurred; it has been logged".into(),
            other => other.to_string(),
        }
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        ServiceError::Store(StoreError::Db(e))
    }
}

/// Result of a service call.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Maps a store error for a cursor the client sent to a validation error on `after`.
pub(crate) fn cursor_err(e: StoreError) -> ServiceError {
    match e {
        StoreError::Corrupt(m) if m == "bad cursor" => ServiceError::invalid("after", "is not a cursor from a previous page"),
        other => ServiceError::Store(other),
    }
}
