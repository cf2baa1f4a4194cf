//! Users and groups: list, read, create, update, soft delete, restore, purge, membership.

use super::{cursor_err, Actor, Result, ServiceError};
use crate::model::{
    user_diff, ChangeOp, FieldError, Group, GroupDraft, GroupId, GroupInput, GroupQuery, Member, MemberKind, Page, User, UserDraft, UserId,
    UserInput, UserQuery,
};
use crate::store::{audit, changes, groups, new_uuid, users, Store};
use sqlx::AnyConnection;

/// How long a soft-deleted user stays in the recycle bin.
pub const RECYCLE_BIN_DAYS: i64 = 30;

fn parse_user_id(id: &str) -> Result<UserId> {
    UserId::parse(id.trim()).map_err(|_| ServiceError::NotFound { what: "user", id: id.to_string() })
}

fn parse_group_id(id: &str) -> Result<GroupId> {
    GroupId::parse(id.trim()).map_err(|_| ServiceError::NotFound { what: "group", id: id.to_string() })
}

/// Lists users (or the recycle bin with `deleted`).
pub async fn list_users(store: &Store, _actor: &Actor, q: &UserQuery) -> Result<Page<User>> {
    let mut conn = store.conn().await?;
    users::list(&mut conn, q).await.map_err(cursor_err)
}

/// Reads a user, soft-deleted ones included.
pub async fn get_user(store: &Store, _actor: &Actor, id: &str) -> Result<User> {
    let uid = parse_user_id(id)?;
    let mut conn = store.conn().await?;
    users::get(&mut conn, uid).await?.ok_or_else(|| ServiceError::NotFound { what: "user", id: id.to_string() })
}

/// Finds a live (not deleted) user by principal name, case-insensitive.
pub async fn find_user_by_upn(store: &Store, _actor: &Actor, upn: &str) -> Result<Option<User>> {
    let mut conn = store.conn().await?;
    Ok(users::find_by_upn(&mut conn, upn).await?.filter(|u| u.deleted_date_time.is_none()))
}

/// The departments in use, for filters.
pub async fn departments(store: &Store, _actor: &Actor) -> Result<Vec<String>> {
    let mut conn = store.conn().await?;
    Ok(users::departments(&mut conn).await?)
}

/// The groups a user or group directly belongs to, as (id, name).
pub async fn member_of(store: &Store, _actor: &Actor, id: &str) -> Result<Vec<(String, String)>> {
    let mut conn = store.conn().await?;
    Ok(groups::member_of(&mut conn, id.trim()).await?)
}

/// Checks what a draft refers to inside the transaction: unique UPN, existing manager, no cycle. The
/// manager is only checked when it changes (`previous_manager` is the current one), so that a user whose
/// manager is in the recycle bin can still be edited.
async fn check_user_refs(conn: &mut AnyConnection, id: UserId, d: &UserDraft, previous_manager: Option<UserId>) -> Result<()> {
    if let Some(other) = users::find_by_upn(conn, &d.user_principal_name).await? {
        if other.id != id {
            let where_ = if other.deleted_date_time.is_some() { " (in the recycle bin)" } else { "" };
            return Err(ServiceError::Conflict(FieldError::new(
                "userPrincipalName",
                format!("'{}' is already used by another user{where_}", d.user_principal_name),
            )));
        }
    }
    if let Some(m) = d.manager_id.filter(|m| Some(*m) != previous_manager) {
        if m == id {
            return Err(ServiceError::invalid("manager", "a user cannot be their own manager"));
        }
        match users::get(conn, m).await? {
            Some(mu) if mu.deleted_date_time.is_none() => {}
            _ => return Err(ServiceError::invalid("manager", format!("user '{m}' does not exist"))),
        }
        if users::manager_chain_contains(conn, m, id).await? {
            return Err(ServiceError::invalid("manager", "this manager would make a reporting cycle"));
        }
    }
    Ok(())
}

/// Creates a user inside an open transaction (used by create and by CSV import).
pub(crate) async fn create_user_in(conn: &mut AnyConnection, actor: &Actor, d: &UserDraft) -> Result<UserId> {
    let id = UserId(new_uuid());
    check_user_refs(conn, id, d, None).await?;
    users::insert(conn, id, d).await?;
    let snapshot = serde_json::to_value(d).unwrap_or_default();
    changes::append(conn, "user", &id.to_string(), ChangeOp::Create, snapshot.clone()).await?;
    audit::append(
        conn,
        &actor.audit(
            "user.create",
            "user",
            Some(id.to_string()),
            Some(d.user_principal_name.clone()),
            serde_json::json!({"after": snapshot}),
        ),
    )
    .await?;
    Ok(id)
}

/// Updates a user inside an open transaction; returns whether anything changed.
pub(crate) async fn update_user_in(
    conn: &mut AnyConnection,
    actor: &Actor,
    id: UserId,
    before: &UserDraft,
    after: &UserDraft,
) -> Result<bool> {
    let diff = user_diff(before, after);
    if diff.is_empty() {
        return Ok(false);
    }
    check_user_refs(conn, id, after, before.manager_id).await?;
    users::update(conn, id, after).await?;
    let detail = serde_json::Value::Object(diff);
    changes::append(conn, "user", &id.to_string(), ChangeOp::Update, detail.clone()).await?;
    audit::append(
        conn,
        &actor.audit(
            "user.update",
            "user",
            Some(id.to_string()),
            Some(after.user_principal_name.clone()),
            serde_json::json!({"changes": detail}),
        ),
    )
    .await?;
    Ok(true)
}

/// Creates a user.
pub async fn create_user(store: &Store, actor: &Actor, input: UserInput) -> Result<User> {
    actor.require_directory_write()?;
    let d = UserDraft::new_user().apply(input).map_err(ServiceError::Validation)?;
    let mut tx = store.begin().await?;
    let id = create_user_in(&mut tx, actor, &d).await?;
    let user = users::get(&mut tx, id).await?.ok_or_else(|| ServiceError::NotFound { what: "user", id: id.to_string() })?;
    tx.commit().await?;
    Ok(user)
}

/// Changes some attributes of a user (absent fields keep their value, null clears).
pub async fn update_user(store: &Store, actor: &Actor, id: &str, input: UserInput) -> Result<User> {
    actor.require_directory_write()?;
    let uid = parse_user_id(id)?;
    let mut tx = store.begin().await?;
    let current = users::get(&mut tx, uid).await?.ok_or_else(|| ServiceError::NotFound { what: "user", id: id.to_string() })?;
    if current.deleted_date_time.is_some() {
        return Err(ServiceError::Conflict(FieldError::new("id", "the user is in the recycle bin; restore it first")));
    }
    let before = UserDraft::from_user(&current);
    let after = before.apply(input).map_err(ServiceError::Validation)?;
    update_user_in(&mut tx, actor, uid, &before, &after).await?;
    let user = users::get(&mut tx, uid).await?.ok_or_else(|| ServiceError::NotFound { what: "user", id: id.to_string() })?;
    tx.commit().await?;
    Ok(user)
}

/// Moves a user to the recycle bin (restorable for [`RECYCLE_BIN_DAYS`] days).
pub async fn delete_user(store: &Store, actor: &Actor, id: &str) -> Result<()> {
    actor.require_directory_write()?;
    let uid = parse_user_id(id)?;
    let mut tx = store.begin().await?;
    let u = users::get(&mut tx, uid).await?.ok_or_else(|| ServiceError::NotFound { what: "user", id: id.to_string() })?;
    if u.deleted_date_time.is_some() {
        return Err(ServiceError::Conflict(FieldError::new("id", "the user is already in the recycle bin")));
    }
    users::set_deleted(&mut tx, uid, true).await?;
    changes::append(&mut tx, "user", &uid.to_string(), ChangeOp::SoftDelete, serde_json::json!({})).await?;
    audit::append(&mut tx, &actor.audit("user.delete", "user", Some(uid.to_string()), Some(u.user_principal_name), serde_json::json!({})))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Brings a user back from the recycle bin.
pub async fn restore_user(store: &Store, actor: &Actor, id: &str) -> Result<User> {
    actor.require_directory_write()?;
    let uid = parse_user_id(id)?;
    let mut tx = store.begin().await?;
    let u = users::get(&mut tx, uid).await?.ok_or_else(|| ServiceError::NotFound { what: "user", id: id.to_string() })?;
    if u.deleted_date_time.is_none() {
        return Err(ServiceError::Conflict(FieldError::new("id", "the user is not in the recycle bin")));
    }
    users::set_deleted(&mut tx, uid, false).await?;
    changes::append(&mut tx, "user", &uid.to_string(), ChangeOp::Restore, serde_json::json!({})).await?;
    audit::append(&mut tx, &actor.audit("user.restore", "user", Some(uid.to_string()), Some(u.user_principal_name), serde_json::json!({})))
        .await?;
    let user = users::get(&mut tx, uid).await?.ok_or_else(|| ServiceError::NotFound { what: "user", id: id.to_string() })?;
    tx.commit().await?;
    Ok(user)
}

/// Deletes a user for good. Only users already in the recycle bin can be purged.
pub async fn purge_user(store: &Store, actor: &Actor, id: &str) -> Result<()> {
    actor.require_directory_write()?;
    let uid = parse_user_id(id)?;
    let mut tx = store.begin().await?;
    let u = users::get(&mut tx, uid).await?.ok_or_else(|| ServiceError::NotFound { what: "user", id: id.to_string() })?;
    if u.deleted_date_time.is_none() {
        return Err(ServiceError::Conflict(FieldError::new("id", "delete the user (recycle bin) before deleting it permanently")));
    }
    purge_in(&mut tx, actor, uid, &u.user_principal_name).await?;
    tx.commit().await?;
    Ok(())
}

async fn purge_in(conn: &mut AnyConnection, actor: &Actor, uid: UserId, upn: &str) -> Result<()> {
    users::purge(conn, uid).await?;
    changes::append(conn, "user", &uid.to_string(), ChangeOp::HardDelete, serde_json::json!({})).await?;
    audit::append(conn, &actor.audit("user.purge", "user", Some(uid.to_string()), Some(upn.to_string()), serde_json::json!({}))).await?;
    Ok(())
}

/// Purges users that have been in the recycle bin longer than [`RECYCLE_BIN_DAYS`]; returns how many.
pub async fn purge_expired(store: &Store, actor: &Actor) -> Result<usize> {
    actor.require_directory_write()?;
    let cutoff = crate::store::now_ms() - RECYCLE_BIN_DAYS * 24 * 3600 * 1000;
    let mut n = 0;
    loop {
        let mut tx = store.begin().await?;
        let ids = users::expired_deleted(&mut tx, cutoff, 200).await?;
        if ids.is_empty() {
            return Ok(n);
        }
        for id in &ids {
            let upn = users::get(&mut tx, *id).await?.map(|u| u.user_principal_name).unwrap_or_default();
            purge_in(&mut tx, actor, *id, &upn).await?;
        }
        tx.commit().await?;
        n += ids.len();
    }
}

/// Lists groups.
pub async fn list_groups(store: &Store, _actor: &Actor, q: &GroupQuery) -> Result<Page<Group>> {
    let mut conn = store.conn().await?;
    groups::list(&mut conn, q).await.map_err(cursor_err)
}

/// Reads a group.
pub async fn get_group(store: &Store, _actor: &Actor, id: &str) -> Result<Group> {
    let gid = parse_group_id(id)?;
    let mut conn = store.conn().await?;
    groups::get(&mut conn, gid).await?.ok_or_else(|| ServiceError::NotFound { what: "group", id: id.to_string() })
}

/// Creates a group.
pub async fn create_group(store: &Store, actor: &Actor, input: GroupInput) -> Result<Group> {
    actor.require_directory_write()?;
    let d = GroupDraft { security_enabled: true, ..Default::default() }.apply(input).map_err(ServiceError::Validation)?;
    let id = GroupId(new_uuid());
    let mut tx = store.begin().await?;
    groups::insert(&mut tx, id, &d).await?;
    let snapshot = serde_json::to_value(&d).unwrap_or_default();
    changes::append(&mut tx, "group", &id.to_string(), ChangeOp::Create, snapshot.clone()).await?;
    audit::append(
        &mut tx,
        &actor.audit("group.create", "group", Some(id.to_string()), Some(d.display_name.clone()), serde_json::json!({"after": snapshot})),
    )
    .await?;
    let g = groups::get(&mut tx, id).await?.ok_or_else(|| ServiceError::NotFound { what: "group", id: id.to_string() })?;
    tx.commit().await?;
    Ok(g)
}

/// Changes a group's attributes.
pub async fn update_group(store: &Store, actor: &Actor, id: &str, input: GroupInput) -> Result<Group> {
    actor.require_directory_write()?;
    let gid = parse_group_id(id)?;
    let mut tx = store.begin().await?;
    let g = groups::get(&mut tx, gid).await?.ok_or_else(|| ServiceError::NotFound { what: "group", id: id.to_string() })?;
    let before = GroupDraft::from_group(&g);
    let after = before.apply(input).map_err(ServiceError::Validation)?;
    let diff =
        crate::model::diff_objects(&serde_json::to_value(&before).unwrap_or_default(), &serde_json::to_value(&after).unwrap_or_default());
    if !diff.is_empty() {
        groups::update(&mut tx, gid, &after).await?;
        let detail = serde_json::Value::Object(diff);
        changes::append(&mut tx, "group", &gid.to_string(), ChangeOp::Update, detail.clone()).await?;
        audit::append(
            &mut tx,
            &actor.audit(
                "group.update",
                "group",
                Some(gid.to_string()),
                Some(after.display_name.clone()),
                serde_json::json!({"changes": detail}),
            ),
        )
        .await?;
    }
    let g = groups::get(&mut tx, gid).await?.ok_or_else(|| ServiceError::NotFound { what: "group", id: id.to_string() })?;
    tx.commit().await?;
    Ok(g)
}

/// Deletes a group (and its memberships).
pub async fn delete_group(store: &Store, actor: &Actor, id: &str) -> Result<()> {
    actor.require_directory_write()?;
    let gid = parse_group_id(id)?;
    let mut tx = store.begin().await?;
    let g = groups::get(&mut tx, gid).await?.ok_or_else(|| ServiceError::NotFound { what: "group", id: id.to_string() })?;
    groups::delete(&mut tx, gid).await?;
    changes::append(&mut tx, "group", &gid.to_string(), ChangeOp::HardDelete, serde_json::json!({})).await?;
    audit::append(&mut tx, &actor.audit("group.delete", "group", Some(gid.to_string()), Some(g.display_name), serde_json::json!({})))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Lists a group's direct members.
pub async fn list_members(store: &Store, _actor: &Actor, id: &str, top: Option<u32>, after: Option<&str>) -> Result<Page<Member>> {
    let gid = parse_group_id(id)?;
    let mut conn = store.conn().await?;
    if groups::get(&mut conn, gid).await?.is_none() {
        return Err(ServiceError::NotFound { what: "group", id: id.to_string() });
    }
    groups::members(&mut conn, gid, top, after).await.map_err(cursor_err)
}

/// Adds a user or a group to a group. Refuses unknown ids, deleted users, duplicates and cycles.
pub async fn add_member(store: &Store, actor: &Actor, group_id: &str, member_id: &str) -> Result<Member> {
    actor.require_directory_write()?;
    let gid = parse_group_id(group_id)?;
    let member_id = member_id.trim();
    if member_id.is_empty() {
        return Err(ServiceError::invalid("id", "is required: the id of a user or group"));
    }
    let mut tx = store.begin().await?;
    let g = groups::get(&mut tx, gid).await?.ok_or_else(|| ServiceError::NotFound { what: "group", id: group_id.to_string() })?;
    let (kind, name, upn) = if let Ok(uid) = UserId::parse(member_id) {
        match users::get(&mut tx, uid).await? {
            Some(u) if u.deleted_date_time.is_none() => (MemberKind::User, u.display_name, Some(u.user_principal_name)),
            Some(_) => return Err(ServiceError::invalid("id", "the user is in the recycle bin")),
            None => match groups::get(&mut tx, GroupId(uid.0)).await? {
                Some(sub) => (MemberKind::Group, sub.display_name, None),
                None => return Err(ServiceError::invalid("id", format!("no user or group has the id '{member_id}'"))),
            },
        }
    } else {
        return Err(ServiceError::invalid("id", format!("'{member_id}' is not a user or group id")));
    };
    if kind == MemberKind::Group {
        // Refuse a cycle: the new member must not contain (directly or through nesting) this group.
        let mut stack = vec![gid.to_string()];
        let mut seen = std::collections::HashSet::new();
        while let Some(cur) = stack.pop() {
            if cur == member_id {
                return Err(ServiceError::invalid("id", "adding this group would make a nesting cycle"));
            }
            if seen.insert(cur.clone()) {
                stack.extend(groups::parents(&mut tx, &cur).await?);
            }
        }
    }
    if groups::is_member(&mut tx, gid, member_id).await? {
        return Err(ServiceError::Conflict(FieldError::new("id", format!("'{name}' is already a member of '{}'", g.display_name))));
    }
    groups::add_member(&mut tx, gid, member_id, kind).await?;
    let detail = serde_json::json!({"memberId": member_id, "memberKind": kind.as_str()});
    changes::append(&mut tx, "group", &gid.to_string(), ChangeOp::MemberAdd, detail.clone()).await?;
    audit::append(
        &mut tx,
        &actor.audit(
            "group.addMember",
            "group",
            Some(gid.to_string()),
            Some(g.display_name),
            serde_json::json!({"member": name, "memberId": member_id}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Member { id: member_id.to_string(), kind, display_name: name, user_principal_name: upn })
}

/// Removes a direct member from a group.
pub async fn remove_member(store: &Store, actor: &Actor, group_id: &str, member_id: &str) -> Result<()> {
    actor.require_directory_write()?;
    let gid = parse_group_id(group_id)?;
    let mut tx = store.begin().await?;
    let g = groups::get(&mut tx, gid).await?.ok_or_else(|| ServiceError::NotFound { what: "group", id: group_id.to_string() })?;
    if !groups::remove_member(&mut tx, gid, member_id.trim()).await? {
        return Err(ServiceError::NotFound { what: "member", id: member_id.to_string() });
    }
    changes::append(&mut tx, "group", &gid.to_string(), ChangeOp::MemberRemove, serde_json::json!({"memberId": member_id.trim()})).await?;
    audit::append(
        &mut tx,
        &actor.audit(
            "group.removeMember",
            "group",
            Some(gid.to_string()),
            Some(g.display_name),
            serde_json::json!({"memberId": member_id.trim()}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
