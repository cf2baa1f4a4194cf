//! Connectors: how the sync engine reads and writes a target system. The engine talks to every
//! target through the one [`Connector`] trait; SCIM 2.0 ([`scim`]) is the first implementation, and
//! LDAP, SQL, REST and flat-file connectors will sit beside it.
//!
//! A connector speaks in SCIM-shaped JSON resources (what [`crate::mapping::resolve`] produces) and
//! target ids; it knows nothing of the directory, the store or the job. Its errors say what happened in
//! words an admin can act on, keep the target's own status/scimType/detail, and classify themselves so
//! the engine knows whether to retry the object later (escrow), adopt an existing account (conflict)
//! or stop the job (quarantine).

pub mod guard;
pub mod scim;
mod types;

pub use types::*;

use crate::mapping::ObjectType;
use async_trait::async_trait;
use serde_json::Value as J;

/// A target system the sync engine provisions into.
#[async_trait]
pub trait Connector: Send + Sync {
    /// Checks the target end to end (reach, authenticate, capabilities, list users and groups with a
    /// filter that matches nothing). Never fails: problems are in the report.
    async fn test_connection(&self) -> ConnectionReport;

    /// Finds the one object whose `attribute` equals `value` (a matching query), or none. More than
    /// one is an [`ErrorKind::Ambiguous`] error.
    async fn find(&self, object: ObjectType, attribute: &str, value: &str) -> ConnResult<Option<TargetObject>>;

    /// Matching queries for many values of one attribute: one result per value, in order, as
    /// [`Connector::find`] would give it. A connector may answer several values with one request (the
    /// exchanges of each result are then that request's); this default sends one `find` per value.
    async fn find_many(&self, object: ObjectType, attribute: &str, values: &[String]) -> Vec<ConnResult<Option<TargetObject>>> {
        let mut out = Vec::with_capacity(values.len());
        for v in values {
            out.push(self.find(object, attribute, v).await);
        }
        out
    }

    /// Reads one object by id (`None` when the target says 404).
    async fn get(&self, object: ObjectType, id: &str) -> ConnResult<Option<TargetObject>>;

    /// Creates an object from its SCIM resource JSON and returns it with the target's id.
    async fn create(&self, object: ObjectType, resource: &J) -> ConnResult<TargetObject>;

    /// Creates several objects; one result per resource, in order (a `/Bulk` fast path when the target
    /// supports it, else one create each). The resources are moved into the requests, not copied.
    async fn create_many(&self, object: ObjectType, resources: Vec<J>) -> Vec<ConnResult<TargetObject>>;

    /// Updates an object: the changed attributes (PATCH), or the whole desired resource where the
    /// target's profile says PUT.
    async fn update(&self, object: ObjectType, id: &str, changes: &[AttributeChange], desired: &J) -> ConnResult<()>;

    /// Disables an object (`active=false`).
    async fn disable(&self, object: ObjectType, id: &str) -> ConnResult<()>;

    /// Deletes an object. A 404 counts as done.
    async fn delete(&self, object: ObjectType, id: &str) -> ConnResult<()>;

    /// Adds and removes group members (target user ids), in batches of the profile's size.
    async fn update_members(&self, group_id: &str, add: &[String], remove: &[String]) -> ConnResult<()>;

    /// The membership changes of several groups: one result per change, in order, as
    /// [`Connector::update_members`] would give it. A connector may send several in one request (the
    /// SCIM connector's `/Bulk`); this default sends them one group at a time.
    async fn update_members_many(&self, changes: &[MemberChange]) -> Vec<ConnResult<()>> {
        let mut out = Vec::with_capacity(changes.len());
        for c in changes {
            out.push(self.update_members(&c.group_id, &c.add, &c.remove).await);
        }
        out
    }
}

/// One group's membership change (target ids), for [`Connector::update_members_many`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberChange {
    /// The group's target id.
    pub group_id: String,
    /// Members to add.
    pub add: Vec<String>,
    /// Members to remove.
    pub remove: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?} {s}"), "Secret(****) ****");
        assert_eq!(s.expose(), "hunter2-very-secret");
    }

    #[test]
    fn quarantine_kinds() {
        assert!(ConnectorError::new(ErrorKind::Unauthorized, "x").quarantines());
        assert!(ConnectorError::new(ErrorKind::NotScim, "x").quarantines());
        assert!(!ConnectorError::new(ErrorKind::Rejected, "x").quarantines());
        let mut e = ConnectorError::new(ErrorKind::Unavailable, "x");
        e.status = Some(429);
        assert_eq!(e.code(), "TooManyRequests");
    }
}
