//! Who is in scope by assignment: "Sync only assigned users and groups" (users assigned directly or
//! through a group, nested groups expanded; groups assigned directly) or "Sync all users and groups".
//! Scoping filters, the recycle bin and disabled accounts are applied by the engine on top.

use crate::apps::SyncScope;
use crate::store::{Result, StoreError};
use sqlx::{AnyConnection, Row};
use std::collections::{HashSet, VecDeque};

/// The assignment scope of one app, computed once for an initial cycle.
#[derive(Clone, Debug, Default)]
pub struct ScopeIndex {
    all: bool,
    users: HashSet<String>,
    groups: HashSet<String>,
}

async fn assignments(conn: &mut AnyConnection, app_id: &str) -> Result<(Vec<String>, Vec<String>)> {
    let rows = sqlx::query("SELECT principal_id, principal_type FROM app_assignments WHERE app_id = $1")
        .bind(app_id.to_string())
        .fetch_all(conn)
        .await?;
    let (mut users, mut groups) = (Vec::new(), Vec::new());
    for r in rows {
        let id: String = r.try_get("principal_id")?;
        match r.try_get::<String, _>("principal_type")?.as_str() {
            "group" => groups.push(id),
            _ => users.push(id),
        }
    }
    Ok((users, groups))
}

/// The users in `groups` and in the groups nested in them, at any depth (cycles are safe).
pub async fn expand_groups(conn: &mut AnyConnection, groups: &[String]) -> Result<HashSet<String>> {
    let mut seen: HashSet<String> = groups.iter().cloned().collect();
    let mut queue: VecDeque<String> = groups.iter().cloned().collect();
    let mut users = HashSet::new();
    while !queue.is_empty() {
        let batch: Vec<String> = queue.drain(..).collect();
        for (_, member, kind) in crate::store::groups::members_of_many(conn, &batch).await? {
            match kind {
                crate::model::MemberKind::User => {
                    users.insert(member);
                }
                crate::model::MemberKind::Group => {
                    if seen.insert(member.clone()) {
                        queue.push_back(member);
                    }
                }
            }
        }
    }
    Ok(users)
}

impl ScopeIndex {
    /// Reads the app's assignments and expands assigned groups.
    pub async fn build(conn: &mut AnyConnection, app_id: &str, scope: SyncScope) -> Result<ScopeIndex> {
        if scope == SyncScope::All {
            return Ok(ScopeIndex { all: true, ..Default::default() });
        }
        let (users, groups) = assignments(conn, app_id).await?;
        let mut members = expand_groups(conn, &groups).await?;
        members.extend(users);
        Ok(ScopeIndex { all: false, users: members, groups: groups.into_iter().collect() })
    }

    /// Whether a user is assigned (directly or through a group).
    pub fn user(&self, id: &str) -> bool {
        self.all || self.users.contains(id)
    }

    /// Whether a group is assigned.
    pub fn group(&self, id: &str) -> bool {
        self.all || self.groups.contains(id)
    }

    /// How many users are assigned (`None` for "all").
    pub fn assigned_users(&self) -> Option<usize> {
        (!self.all).then_some(self.users.len())
    }
}

/// Whether one user is assigned to the app, directly or through any (nested) group: walks up from the
/// user's groups, in time proportional to its group ancestry (for incremental cycles).
pub async fn user_assigned(conn: &mut AnyConnection, app_id: &str, scope: SyncScope, user_id: &str) -> Result<bool> {
    if scope == SyncScope::All {
        return Ok(true);
    }
    let (users, groups) = assignments(conn, app_id).await?;
    if users.iter().any(|u| u == user_id) {
        return Ok(true);
    }
    if groups.is_empty() {
        return Ok(false);
    }
    let assigned: HashSet<String> = groups.into_iter().collect();
    let mut seen: HashSet<String> = HashSet::new();
    let mut frontier = vec![user_id.to_string()];
    while !frontier.is_empty() {
        let parents = crate::store::groups::containing(conn, &frontier).await?;
        frontier.clear();
        for (g, _) in parents {
            if assigned.contains(&g) {
                return Ok(true);
            }
            if seen.insert(g.clone()) {
                frontier.push(g);
            }
        }
    }
    Ok(false)
}

/// Whether a group is assigned to the app.
pub async fn group_assigned(conn: &mut AnyConnection, app_id: &str, scope: SyncScope, group_id: &str) -> Result<bool> {
    if scope == SyncScope::All {
        return Ok(true);
    }
    let row = sqlx::query("SELECT 1 AS one FROM app_assignments WHERE app_id = $1 AND principal_id = $2")
        .bind(app_id.to_string())
        .bind(group_id.to_string())
        .fetch_optional(conn)
        .await
        .map_err(StoreError::Db)?;
    Ok(row.is_some())
}
