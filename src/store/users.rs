//! Queries on directory users: keyset-paged lists, lookups, writes, soft delete and purge.

use super::query::{decode_cursor, encode_cursor, in_list, positional, prefix_end, Arg, Sql};
use super::{get_bool, ms_to_dt, now_ms, Result, StoreError};
use crate::model::{ObjectRef, Page, User, UserDraft, UserId, UserQuery, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use sqlx::any::AnyArguments;
use sqlx::any::AnyRow;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};

const COLS: &str = "u.id, u.upn, u.display_name, u.given_name, u.surname, u.mail, u.other_mails, u.mail_nickname, \
    u.department, u.job_title, u.company_name, u.employee_id, u.employee_type, u.office_location, u.city, u.country, \
    u.usage_location, u.preferred_language, u.mobile_phone, u.business_phones, CAST(u.account_enabled AS INTEGER) AS account_enabled, u.manager_id, \
    m.display_name AS manager_name, m.upn AS manager_upn, u.extensions, u.created_at, u.updated_at, u.deleted_at, u.display_lower";

const FROM: &str = " FROM users u LEFT JOIN users m ON m.id = u.manager_id ";

fn json_list(s: &str) -> Result<Vec<String>> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("list column: {e}")))
}

fn row_to_user(r: &AnyRow) -> Result<User> {
    let id: String = r.try_get("id")?;
    let manager_id: Option<String> = r.try_get("manager_id")?;
    let manager_name: Option<String> = r.try_get("manager_name")?;
    let manager_upn: Option<String> = r.try_get("manager_upn")?;
    Ok(User {
        id: UserId::parse(&id).map_err(|e| StoreError::Corrupt(format!("user id {id}: {e}")))?,
        user_principal_name: r.try_get("upn")?,
        display_name: r.try_get("display_name")?,
        given_name: r.try_get("given_name")?,
        surname: r.try_get("surname")?,
        mail: r.try_get("mail")?,
        other_mails: json_list(&r.try_get::<String, _>("other_mails")?)?,
        mail_nickname: r.try_get("mail_nickname")?,
        department: r.try_get("department")?,
        job_title: r.try_get("job_title")?,
        company_name: r.try_get("company_name")?,
        employee_id: r.try_get("employee_id")?,
        employee_type: r.try_get("employee_type")?,
        office_location: r.try_get("office_location")?,
        city: r.try_get("city")?,
        country: r.try_get("country")?,
        usage_location: r.try_get("usage_location")?,
        preferred_language: r.try_get("preferred_language")?,
        mobile_phone: r.try_get("mobile_phone")?,
        business_phones: json_list(&r.try_get::<String, _>("business_phones")?)?,
        account_enabled: get_bool(r, "account_enabled")?,
        manager: manager_id.map(|id| ObjectRef { id, display_name: manager_name, user_principal_name: manager_upn }),
        extension_attributes: serde_json::from_str(&r.try_get::<String, _>("extensions")?)
            .map_err(|e| StoreError::Corrupt(format!("extensions: {e}")))?,
        created_date_time: ms_to_dt(r.try_get("created_at")?),
        updated_date_time: ms_to_dt(r.try_get("updated_at")?),
        deleted_date_time: r.try_get::<Option<i64>, _>("deleted_at")?.map(ms_to_dt),
    })
}

/// Reads one user (soft-deleted ones too), or `None`.
pub async fn get(conn: &mut AnyConnection, id: UserId) -> Result<Option<User>> {
    let sql = format!("SELECT {COLS}{FROM}WHERE u.id = $1");
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(conn).await?;
    row.as_ref().map(row_to_user).transpose()
}

/// Finds a user by principal name (case-insensitive), soft-deleted ones included.
pub async fn find_by_upn(conn: &mut AnyConnection, upn: &str) -> Result<Option<User>> {
    let sql = format!("SELECT {COLS}{FROM}WHERE u.upn_lower = $1");
    let row = sqlx::query(&sql).bind(upn.trim().to_lowercase()).fetch_optional(conn).await?;
    row.as_ref().map(row_to_user).transpose()
}

/// Clamps a requested page size.
pub fn page_size(top: Option<u32>) -> i64 {
    i64::from(top.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE))
}

/// The columns a search matches by prefix; each has an index whose range scan finds the matches.
const SEARCH_COLS: [&str; 5] = ["display_lower", "upn_lower", "mail_lower", "given_lower", "surname_lower"];

/// Searches with at most this many candidate rows (counted through the column indexes, see
/// [`search_candidates`]) collect their matches through those indexes and sort them. Broader searches
/// walk the list index in display order and filter, which finds a page quickly when matches are dense
/// but reads the whole table when they are rare (at 100,000 users: ~0.2 ms instead of ~150-300 ms for a
/// search matching one user on SQLite; sorting 1,000 candidates costs about what walking to 50 sparse
/// matches does).
pub const NARROW_SEARCH_MAX: i64 = 1000;

/// The condition a search branch puts on `deleted_at`: on `display_lower` it lets the partial list
/// indexes (`users_active`, `users_bin`) serve the prefix range.
fn branch_deleted(col: &str, deleted: bool) -> &'static str {
    match (col, deleted) {
        ("display_lower", false) => "deleted_at IS NULL AND ",
        ("display_lower", true) => "deleted_at IS NOT NULL AND ",
        _ => "",
    }
}

/// An upper bound on the rows a search prefix matches, counting at most `NARROW_SEARCH_MAX + 1` per
/// column, each by a range scan of that column's index.
pub async fn search_candidates(conn: &mut AnyConnection, prefix: &str, deleted: bool) -> Result<i64> {
    let mut sql = Sql::new("SELECT ");
    let lo = sql.arg(Arg::Text(prefix.to_string()));
    let hi = sql.arg(Arg::Text(prefix_end(prefix)));
    let lim = sql.arg(Arg::Int(NARROW_SEARCH_MAX + 1));
    let counts: Vec<String> = SEARCH_COLS
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let del = branch_deleted(c, deleted);
            format!("(SELECT COUNT(*) FROM (SELECT 1 AS one FROM users WHERE {del}{c} >= {lo} AND {c} < {hi} LIMIT {lim}) s{i})")
        })
        .collect();
    sql.push(&counts.join(" + "));
    sql.push(" AS n");
    Ok(sql.build().fetch_one(conn).await?.try_get("n")?)
}

/// Lists users by display name, one keyset page at a time.
pub async fn list(conn: &mut AnyConnection, q: &UserQuery) -> Result<Page<User>> {
    let top = page_size(q.top);
    let search = q.search.as_deref().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty());
    let narrow = match &search {
        Some(s) => search_candidates(conn, s, q.deleted).await? <= NARROW_SEARCH_MAX,
        None => false,
    };
    let mut sql = Sql::new(&format!("SELECT {COLS}"));
    if let (Some(s), true) = (&search, narrow) {
        // Few matches: the union of the five index range scans, joined to the users (`CROSS JOIN` keeps
        // SQLite from starting with a scan of users), then filtered and sorted.
        let lo = sql.arg(Arg::Text(s.clone()));
        let hi = sql.arg(Arg::Text(prefix_end(s)));
        let branches: Vec<String> = SEARCH_COLS
            .iter()
            .map(|c| format!("SELECT id FROM users WHERE {}{c} >= {lo} AND {c} < {hi}", branch_deleted(c, q.deleted)))
            .collect();
        sql.push(&format!(
            " FROM ({}) c CROSS JOIN users u LEFT JOIN users m ON m.id = u.manager_id WHERE u.id = c.id AND ",
            branches.join(" UNION ")
        ));
    } else {
        sql.push(&format!("{FROM}WHERE "));
    }
    sql.push(if q.deleted { "u.deleted_at IS NOT NULL" } else { "u.deleted_at IS NULL" });
    if let Some(dept) = q.department.as_deref().filter(|s| !s.trim().is_empty()) {
        let p = sql.arg(Arg::Text(dept.trim().to_string()));
        sql.push(&format!(" AND u.department = {p}"));
    }
    if let Some(en) = q.enabled {
        let p = sql.arg(Arg::Bool(en));
        sql.push(&format!(" AND u.account_enabled = {p}"));
    }
    if let (Some(s), false) = (&search, narrow) {
        let lo = sql.arg(Arg::Text(s.clone()));
        let hi = sql.arg(Arg::Text(prefix_end(s)));
        let ors: Vec<String> = SEARCH_COLS.iter().map(|c| format!("(u.{c} >= {lo} AND u.{c} < {hi})")).collect();
        sql.push(&format!(" AND ({})", ors.join(" OR ")));
    }
    if let Some(after) = q.after.as_deref().filter(|s| !s.is_empty()) {
        let parts = decode_cursor(after, 2).ok_or_else(|| StoreError::Corrupt("bad cursor".into()))?;
        let a = sql.arg(Arg::Text(parts[0].clone()));
        let b = sql.arg(Arg::Text(parts[1].clone()));
        // `>=` on the sort key alone is a range both planners start an index scan at.
        sql.push(&format!(" AND u.display_lower >= {a} AND (u.display_lower > {a} OR u.id > {b})"));
    }
    let lim = sql.arg(Arg::Int(top + 1));
    sql.push(&format!(" ORDER BY u.display_lower, u.id LIMIT {lim}"));
    let rows = sql.build().fetch_all(conn).await?;
    let mut items = Vec::with_capacity(rows.len());
    let mut last_key = None;
    for r in rows.iter().take(top as usize) {
        items.push(row_to_user(r)?);
        last_key = Some(r.try_get::<String, _>("display_lower")?);
    }
    let next_cursor = if rows.len() as i64 > top {
        let last = items.last().map(|u| u.id.to_string()).unwrap_or_default();
        Some(encode_cursor(&[&last_key.unwrap_or_default(), &last]))
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// The distinct departments of active users, for the filter menu.
pub async fn departments(conn: &mut AnyConnection) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT DISTINCT department FROM users WHERE deleted_at IS NULL AND department IS NOT NULL ORDER BY department LIMIT 500",
    )
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| Ok(r.try_get::<String, _>("department")?)).collect()
}

/// Counts active users.
pub async fn count(conn: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM users WHERE deleted_at IS NULL").fetch_one(conn).await?.try_get("n")?)
}

fn lower(s: &Option<String>) -> Option<String> {
    s.as_ref().map(|s| s.to_lowercase())
}

fn list_json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// Binds `$1` id, `$2`..`$28` the draft's columns, `$29` the time: the order shared by insert and update.
fn bind_draft<'q>(q: Query<'q, Any, AnyArguments<'q>>, id: UserId, d: &UserDraft, now: i64) -> Query<'q, Any, AnyArguments<'q>> {
    q.bind(id.to_string())
        .bind(d.user_principal_name.clone())
        .bind(d.user_principal_name.to_lowercase())
        .bind(d.display_name.clone())
        .bind(d.display_name.to_lowercase())
        .bind(d.given_name.clone())
        .bind(lower(&d.given_name))
        .bind(d.surname.clone())
        .bind(lower(&d.surname))
        .bind(d.mail.clone())
        .bind(lower(&d.mail))
        .bind(list_json(&d.other_mails))
        .bind(d.mail_nickname.clone())
        .bind(d.department.clone())
        .bind(d.job_title.clone())
        .bind(d.company_name.clone())
        .bind(d.employee_id.clone())
        .bind(d.employee_type.clone())
        .bind(d.office_location.clone())
        .bind(d.city.clone())
        .bind(d.country.clone())
        .bind(d.usage_location.clone())
        .bind(d.preferred_language.clone())
        .bind(d.mobile_phone.clone())
        .bind(list_json(&d.business_phones))
        .bind(d.account_enabled)
        .bind(d.manager_id.map(|m| m.to_string()))
        .bind(serde_json::to_string(&d.extension_attributes).unwrap_or_else(|_| "{}".into()))
        .bind(now)
}

/// Inserts a new user. The caller has validated the draft and checked uniqueness in the same
/// transaction; a unique-index violation still surfaces as a database error.
pub async fn insert(conn: &mut AnyConnection, id: UserId, d: &UserDraft) -> Result<()> {
    let now = now_ms();
    let q = sqlx::query(
        "INSERT INTO users (id, upn, upn_lower, display_name, display_lower, given_name, given_lower, surname, surname_lower, \
         mail, mail_lower, other_mails, mail_nickname, department, job_title, company_name, employee_id, employee_type, \
         office_location, city, country, usage_location, preferred_language, mobile_phone, business_phones, account_enabled, \
         manager_id, extensions, created_at, updated_at, deleted_at) VALUES \
         ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,$29,NULL)",
    );
    bind_draft(q, id, d, now).execute(conn).await?;
    Ok(())
}

/// Overwrites a user's attributes with a validated draft.
pub async fn update(conn: &mut AnyConnection, id: UserId, d: &UserDraft) -> Result<()> {
    let q = sqlx::query(
        "UPDATE users SET upn=$2, upn_lower=$3, display_name=$4, display_lower=$5, given_name=$6, given_lower=$7, surname=$8, \
         surname_lower=$9, mail=$10, mail_lower=$11, other_mails=$12, mail_nickname=$13, department=$14, job_title=$15, \
         company_name=$16, employee_id=$17, employee_type=$18, office_location=$19, city=$20, country=$21, usage_location=$22, \
         preferred_language=$23, mobile_phone=$24, business_phones=$25, account_enabled=$26, manager_id=$27, extensions=$28, \
         updated_at=$29 WHERE id=$1",
    );
    bind_draft(q, id, d, now_ms()).execute(conn).await?;
    Ok(())
}

/// Marks a user deleted (recycle bin) or brings it back (`deleted = false`).
pub async fn set_deleted(conn: &mut AnyConnection, id: UserId, deleted: bool) -> Result<()> {
    let now = now_ms();
    sqlx::query("UPDATE users SET deleted_at = $2, updated_at = $3 WHERE id = $1")
        .bind(id.to_string())
        .bind(if deleted { Some(now) } else { None })
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a user for good, with its group memberships; users it managed lose their manager.
pub async fn purge(conn: &mut AnyConnection, id: UserId) -> Result<()> {
    let id = id.to_string();
    sqlx::query("DELETE FROM group_members WHERE member_id = $1").bind(id.clone()).execute(&mut *conn).await?;
    sqlx::query("UPDATE users SET manager_id = NULL WHERE manager_id = $1").bind(id.clone()).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(conn).await?;
    Ok(())
}

/// The ids of users soft-deleted before `cutoff_ms` (for the 30-day purge).
pub async fn expired_deleted(conn: &mut AnyConnection, cutoff_ms: i64, limit: i64) -> Result<Vec<UserId>> {
    let rows = sqlx::query("SELECT id FROM users WHERE deleted_at IS NOT NULL AND deleted_at < $1 ORDER BY deleted_at LIMIT $2")
        .bind(cutoff_ms)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            let s: String = r.try_get("id")?;
            UserId::parse(&s).map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .collect()
}

/// True when following `manager` links from `start` reaches `target` (used to refuse manager cycles).
pub async fn manager_chain_contains(conn: &mut AnyConnection, start: UserId, target: UserId) -> Result<bool> {
    let mut cur = Some(start);
    let mut hops = 0;
    while let Some(id) = cur {
        if id == target {
            return Ok(true);
        }
        hops += 1;
        if hops > 256 {
            return Ok(true);
        }
        let row = sqlx::query("SELECT manager_id FROM users WHERE id = $1").bind(id.to_string()).fetch_optional(&mut *conn).await?;
        cur = match row {
            Some(r) => r.try_get::<Option<String>, _>("manager_id")?.and_then(|s| UserId::parse(&s).ok()),
            None => None,
        };
    }
    Ok(false)
}

/// A user as SQLite's `json_array` of [`JSON_COLS`] gives it: the columns of [`COLS`], in order,
/// the list columns as JSON values. Read by [`by_id_after`] on SQLite: a page of users comes back as
/// one row holding a JSON array, instead of a row (a message between sqlx's SQLite thread and the
/// caller, and a copy of every value) per user.
#[derive(serde::Deserialize)]
struct JsonUser {
    id: String,
    upn: String,
    display_name: String,
    given_name: Option<String>,
    surname: Option<String>,
    mail: Option<String>,
    other_mails: Vec<String>,
    mail_nickname: Option<String>,
    department: Option<String>,
    job_title: Option<String>,
    company_name: Option<String>,
    employee_id: Option<String>,
    employee_type: Option<String>,
    office_location: Option<String>,
    city: Option<String>,
    country: Option<String>,
    usage_location: Option<String>,
    preferred_language: Option<String>,
    mobile_phone: Option<String>,
    business_phones: Vec<String>,
    account_enabled: i64,
    manager_id: Option<String>,
    manager_name: Option<String>,
    manager_upn: Option<String>,
    extensions: std::collections::BTreeMap<String, String>,
    created_at: i64,
    updated_at: i64,
    deleted_at: Option<i64>,
}

/// [`COLS`] as one SQLite JSON array per user (see [`JsonUser`]).
const JSON_COLS: &str = "json_array(u.id, u.upn, u.display_name, u.given_name, u.surname, u.mail, json(u.other_mails), \
    u.mail_nickname, u.department, u.job_title, u.company_name, u.employee_id, u.employee_type, u.office_location, u.city, \
    u.country, u.usage_location, u.preferred_language, u.mobile_phone, json(u.business_phones), \
    CAST(u.account_enabled AS INTEGER), u.manager_id, m.display_name, m.upn, json(u.extensions), u.created_at, u.updated_at, \
    u.deleted_at)";

impl JsonUser {
    fn into_user(self) -> Result<User> {
        let id = UserId::parse(&self.id).map_err(|e| StoreError::Corrupt(format!("user id {}: {e}", self.id)))?;
        Ok(User {
            id,
            user_principal_name: self.upn,
            display_name: self.display_name,
            given_name: self.given_name,
            surname: self.surname,
            mail: self.mail,
            other_mails: self.other_mails,
            mail_nickname: self.mail_nickname,
            department: self.department,
            job_title: self.job_title,
            company_name: self.company_name,
            employee_id: self.employee_id,
            employee_type: self.employee_type,
            office_location: self.office_location,
            city: self.city,
            country: self.country,
            usage_location: self.usage_location,
            preferred_language: self.preferred_language,
            mobile_phone: self.mobile_phone,
            business_phones: self.business_phones,
            account_enabled: self.account_enabled != 0,
            manager: self.manager_id.map(|id| ObjectRef { id, display_name: self.manager_name, user_principal_name: self.manager_upn }),
            extension_attributes: self.extensions,
            created_date_time: ms_to_dt(self.created_at),
            updated_date_time: ms_to_dt(self.updated_at),
            deleted_date_time: self.deleted_at.map(ms_to_dt),
        })
    }
}

/// Users (soft-deleted ones too) with an id above `after`, in id order: the sync engine's full scan.
/// On SQLite the page comes back as one JSON array (see [`JsonUser`]).
pub async fn by_id_after(conn: &mut AnyConnection, after: &str, limit: i64) -> Result<Vec<User>> {
    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        let sql = format!("SELECT json_group_array(json(j)) FROM (SELECT {JSON_COLS} AS j{FROM}WHERE u.id > $1 ORDER BY u.id LIMIT $2)");
        let text: Option<String> = sqlx::query_scalar(&sql).bind(after.to_string()).bind(limit).fetch_one(&mut *conn).await?;
        let mut rows: Vec<JsonUser> = super::query::json_rows(text.as_deref(), "users page")?;
        // The aggregate's order is the subquery's in practice, not by contract.
        rows.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        return rows.into_iter().map(JsonUser::into_user).collect();
    }
    by_id_after_rows(conn, after, limit).await
}

/// [`by_id_after`] a row per user (PostgreSQL, and the reference the SQLite form is tested against).
pub async fn by_id_after_rows(conn: &mut AnyConnection, after: &str, limit: i64) -> Result<Vec<User>> {
    let sql = format!("SELECT {COLS}{FROM}WHERE u.id > $1 ORDER BY u.id LIMIT $2");
    sqlx::query(&sql).bind(after.to_string()).bind(limit).fetch_all(conn).await?.iter().map(row_to_user).collect()
}

/// The users among `ids` that exist (soft-deleted ones too), in no particular order.
pub async fn get_many(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<User>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let sql = format!("SELECT {COLS}{FROM}WHERE u.id IN ({})", in_list(chunk.len(), 1));
        let sql = positional(conn, sql);
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.clone());
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.push(row_to_user(&r)?);
        }
    }
    Ok(out)
}
