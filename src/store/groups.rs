//! Queries on groups and their direct members.

use super::query::{decode_cursor, encode_cursor, in_list, positional, prefix_end, Arg, Sql};
use super::users::page_size;
use super::{get_bool, ms_to_dt, now_ms, Result, StoreError};
use crate::model::{Group, GroupDraft, GroupId, GroupQuery, Member, MemberKind, Page};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

const COLS: &str = "g.id, g.display_name, g.display_lower, g.description, g.mail_nickname, CAST(g.security_enabled AS INTEGER) AS security_enabled, g.created_at, \
    g.updated_at, (SELECT COUNT(*) FROM group_members gm WHERE gm.group_id = g.id) AS member_count";

fn row_to_group(r: &AnyRow) -> Result<Group> {
    let id: String = r.try_get("id")?;
    Ok(Group {
        id: GroupId::parse(&id).map_err(|e| StoreError::Corrupt(format!("group id {id}: {e}")))?,
        display_name: r.try_get("display_name")?,
        description: r.try_get("description")?,
        mail_nickname: r.try_get("mail_nickname")?,
        security_enabled: get_bool(r, "security_enabled")?,
        member_count: r.try_get("member_count")?,
        created_date_time: ms_to_dt(r.try_get("created_at")?),
        updated_date_time: ms_to_dt(r.try_get("updated_at")?),
    })
}

/// Reads one group.
pub async fn get(conn: &mut AnyConnection, id: GroupId) -> Result<Option<Group>> {
    let sql = format!("SELECT {COLS} FROM groups g WHERE g.id = $1");
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(conn).await?;
    row.as_ref().map(row_to_group).transpose()
}

/// Lists groups by display name, one keyset page at a time.
pub async fn list(conn: &mut AnyConnection, q: &GroupQuery) -> Result<Page<Group>> {
    let top = page_size(q.top);
    let mut sql = Sql::new(&format!("SELECT {COLS} FROM groups g WHERE 1=1"));
    if let Some(s) = q.search.as_deref().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()) {
        let lo = sql.arg(Arg::Text(s.clone()));
        let hi = sql.arg(Arg::Text(prefix_end(&s)));
        sql.push(&format!(" AND g.display_lower >= {lo} AND g.display_lower < {hi}"));
    }
    if let Some(after) = q.after.as_deref().filter(|s| !s.is_empty()) {
        let parts = decode_cursor(after, 2).ok_or_else(|| StoreError::Corrupt("bad cursor".into()))?;
        let a = sql.arg(Arg::Text(parts[0].clone()));
        let b = sql.arg(Arg::Text(parts[1].clone()));
        sql.push(&format!(" AND g.display_lower >= {a} AND (g.display_lower > {a} OR g.id > {b})"));
    }
    let lim = sql.arg(Arg::Int(top + 1));
    sql.push(&format!(" ORDER BY g.display_lower, g.id LIMIT {lim}"));
    let rows = sql.build().fetch_all(conn).await?;
    let mut items = Vec::new();
    let mut last_key = String::new();
    for r in rows.iter().take(top as usize) {
        items.push(row_to_group(r)?);
        last_key = r.try_get("display_lower")?;
    }
    let next_cursor = (rows.len() as i64 > top).then(|| {
        let last = items.last().map(|g| g.id.to_string()).unwrap_or_default();
        encode_cursor(&[&last_key, &last])
    });
    Ok(Page { items, next_cursor })
}

/// Inserts a group.
pub async fn insert(conn: &mut AnyConnection, id: GroupId, d: &GroupDraft) -> Result<()> {
    sqlx::query(
        "INSERT INTO groups (id, display_name, display_lower, description, mail_nickname, security_enabled, created_at, updated_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$7)",
    )
    .bind(id.to_string())
    .bind(d.display_name.clone())
    .bind(d.display_name.to_lowercase())
    .bind(d.description.clone())
    .bind(d.mail_nickname.clone())
    .bind(d.security_enabled)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Overwrites a group's attributes.
pub async fn update(conn: &mut AnyConnection, id: GroupId, d: &GroupDraft) -> Result<()> {
    sqlx::query(
        "UPDATE groups SET display_name=$2, display_lower=$3, description=$4, mail_nickname=$5, security_enabled=$6, updated_at=$7 WHERE id=$1",
    )
    .bind(id.to_string())
    .bind(d.display_name.clone())
    .bind(d.display_name.to_lowercase())
    .bind(d.description.clone())
    .bind(d.mail_nickname.clone())
    .bind(d.security_enabled)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a group, its memberships, and its membership in other groups.
pub async fn delete(conn: &mut AnyConnection, id: GroupId) -> Result<()> {
    let id = id.to_string();
    sqlx::query("DELETE FROM group_members WHERE group_id = $1 OR member_id = $1").bind(id.clone()).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM groups WHERE id = $1").bind(id).execute(conn).await?;
    Ok(())
}

/// Lists a group's direct members, users and groups, by display name (keyset on member id).
pub async fn members(conn: &mut AnyConnection, id: GroupId, top: Option<u32>, after: Option<&str>) -> Result<Page<Member>> {
    let top = page_size(top);
    let mut sql = Sql::new(
        "SELECT gm.member_id, gm.member_kind, COALESCE(u.display_name, g.display_name, '') AS display_name, u.upn \
         FROM group_members gm LEFT JOIN users u ON u.id = gm.member_id LEFT JOIN groups g ON g.id = gm.member_id \
         WHERE gm.group_id = ",
    );
    let p = sql.arg(Arg::Text(id.to_string()));
    sql.push(&p);
    if let Some(a) = after.filter(|s| !s.is_empty()) {
        let parts = decode_cursor(a, 1).ok_or_else(|| StoreError::Corrupt("bad cursor".into()))?;
        let p = sql.arg(Arg::Text(parts[0].clone()));
        sql.push(&format!(" AND gm.member_id > {p}"));
    }
    let lim = sql.arg(Arg::Int(top + 1));
    sql.push(&format!(" ORDER BY gm.member_id LIMIT {lim}"));
    let rows = sql.build().fetch_all(conn).await?;
    let mut items = Vec::new();
    for r in rows.iter().take(top as usize) {
        let kind: String = r.try_get("member_kind")?;
        items.push(Member {
            id: r.try_get("member_id")?,
            kind: if kind == "group" { MemberKind::Group } else { MemberKind::User },
            display_name: r.try_get("display_name")?,
            user_principal_name: r.try_get("upn")?,
        });
    }
    let next_cursor = (rows.len() as i64 > top).then(|| encode_cursor(&[&items.last().map(|m| m.id.clone()).unwrap_or_default()]));
    Ok(Page { items, next_cursor })
}

/// True when `member` is a direct member of `group`.
pub async fn is_member(conn: &mut AnyConnection, group: GroupId, member: &str) -> Result<bool> {
    let row = sqlx::query("SELECT 1 AS one FROM group_members WHERE group_id = $1 AND member_id = $2")
        .bind(group.to_string())
        .bind(member.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// Adds a direct member.
pub async fn add_member(conn: &mut AnyConnection, group: GroupId, member: &str, kind: MemberKind) -> Result<()> {
    sqlx::query("INSERT INTO group_members (group_id, member_id, member_kind, added_at) VALUES ($1,$2,$3,$4)")
        .bind(group.to_string())
        .bind(member.to_string())
        .bind(kind.as_str())
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes a direct member; returns whether it was one.
pub async fn remove_member(conn: &mut AnyConnection, group: GroupId, member: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND member_id = $2")
        .bind(group.to_string())
        .bind(member.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// The groups that directly contain `group` (for nested-group cycle checks).
pub async fn parents(conn: &mut AnyConnection, group: &str) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT group_id FROM group_members WHERE member_id = $1 AND member_kind = 'group'")
        .bind(group.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| Ok(r.try_get::<String, _>("group_id")?)).collect()
}

/// The groups a user or group is a direct member of (id and name).
pub async fn member_of(conn: &mut AnyConnection, member: &str) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT g.id, g.display_name FROM group_members gm JOIN groups g ON g.id = gm.group_id WHERE gm.member_id = $1 ORDER BY g.display_lower",
    )
    .bind(member.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("display_name")?))).collect()
}

/// Groups with an id above `after`, in id order: the sync engine's full scan.
pub async fn by_id_after(conn: &mut AnyConnection, after: &str, limit: i64) -> Result<Vec<Group>> {
    let sql = format!("SELECT {COLS} FROM groups g WHERE g.id > $1 ORDER BY g.id LIMIT $2");
    sqlx::query(&sql).bind(after.to_string()).bind(limit).fetch_all(conn).await?.iter().map(row_to_group).collect()
}

/// The groups among `ids` that exist.
pub async fn get_many(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<Group>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let sql = format!("SELECT {COLS} FROM groups g WHERE g.id IN ({})", in_list(chunk.len(), 1));
        let sql = positional(conn, sql);
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.clone());
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.push(row_to_group(&r)?);
        }
    }
    Ok(out)
}

/// Direct members of the groups among `group_ids`: (group id, member id, member kind).
pub async fn members_of_many(conn: &mut AnyConnection, group_ids: &[String]) -> Result<Vec<(String, String, MemberKind)>> {
    let mut out = Vec::new();
    for chunk in group_ids.chunks(500) {
        let sql = format!("SELECT group_id, member_id, member_kind FROM group_members WHERE group_id IN ({})", in_list(chunk.len(), 1));
        let sql = positional(conn, sql);
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.clone());
        }
        for r in q.fetch_all(&mut *conn).await? {
            let kind: String = r.try_get("member_kind")?;
            out.push((r.try_get("group_id")?, r.try_get("member_id")?, if kind == "group" { MemberKind::Group } else { MemberKind::User }));
        }
    }
    Ok(out)
}

/// The groups that directly contain any of `member_ids`: (group id, member id).
pub async fn containing(conn: &mut AnyConnection, member_ids: &[String]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for chunk in member_ids.chunks(500) {
        let sql = format!("SELECT group_id, member_id FROM group_members WHERE member_id IN ({})", in_list(chunk.len(), 1));
        let sql = positional(conn, sql);
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.clone());
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.push((r.try_get("group_id")?, r.try_get("member_id")?));
        }
    }
    Ok(out)
}
