//! Integration tests of the store and the service layer, run against both backends.
//!
//! Every test body is an `async fn(&Store)` written once; the `dual_backend!` macro instantiates it as
//! `<name>_sqlite` (a fresh SQLite file in the temp directory) and `<name>_postgres` (a fresh database
//! on the server named by `PROVISIO_TEST_PG_ADMIN_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, dropped afterwards). Set `PROVISIO_TEST_SKIP_PG=1` to
//! skip the PostgreSQL variants.

use provisio::demo;
use provisio::model::{
    AuditEntry, AuditQuery, ChangeOp, FieldError, GroupInput, GroupQuery, MemberKind, ObjectRef, Role, User, UserDraft, UserInput,
    UserQuery,
};
use provisio::service::import::{self, RowAction};
use provisio::service::{admins, directory, session, Actor, ServiceError};
use provisio::store::{changes, query, users, Store};
use serde_json::json;
use std::collections::{BTreeSet, HashSet};
use std::fmt::Debug;
use std::sync::Mutex;

mod common;
use common::TestDb;

const DOMAIN: &str = "contoso.example";
dual_backend! {
    user_lifecycle => user_lifecycle_sqlite, user_lifecycle_postgres;
    purge_detaches_reports_and_memberships => purge_detaches_reports_and_memberships_sqlite, purge_detaches_reports_and_memberships_postgres;
    upn_is_unique_case_insensitively => upn_is_unique_case_insensitively_sqlite, upn_is_unique_case_insensitively_postgres;
    manager_rules => manager_rules_sqlite, manager_rules_postgres;
    report_of_deleted_manager_stays_editable => report_of_deleted_manager_stays_editable_sqlite, report_of_deleted_manager_stays_editable_postgres;
    keyset_pagination => keyset_pagination_sqlite, keyset_pagination_postgres;
    the_engine_scan_reads_users_whole => the_engine_scan_reads_users_whole_sqlite, the_engine_scan_reads_users_whole_postgres;
    the_engine_reads_link_targets => the_engine_reads_link_targets_sqlite, the_engine_reads_link_targets_postgres;
    kept_writers_are_bounded => kept_writers_are_bounded_sqlite, kept_writers_are_bounded_postgres;
    pagination_breaks_ties_by_id => pagination_breaks_ties_by_id_sqlite, pagination_breaks_ties_by_id_postgres;
    search_and_filters => search_and_filters_sqlite, search_and_filters_postgres;
    narrow_and_broad_searches_agree => narrow_and_broad_searches_agree_sqlite, narrow_and_broad_searches_agree_postgres;
    change_log => change_log_sqlite, change_log_postgres;
    failed_changes_leave_no_trace => failed_changes_leave_no_trace_sqlite, failed_changes_leave_no_trace_postgres;
    groups_and_members => groups_and_members_sqlite, groups_and_members_postgres;
    csv_import_creates_and_updates => csv_import_creates_and_updates_sqlite, csv_import_creates_and_updates_postgres;
    csv_import_is_all_or_nothing => csv_import_is_all_or_nothing_sqlite, csv_import_is_all_or_nothing_postgres;
    reader_cannot_write => reader_cannot_write_sqlite, reader_cannot_write_postgres;
    application_administrator_cannot_manage_admins => application_administrator_cannot_manage_admins_sqlite, application_administrator_cannot_manage_admins_postgres;
    sign_in_and_throttling => sign_in_and_throttling_sqlite, sign_in_and_throttling_postgres;
    api_tokens => api_tokens_sqlite, api_tokens_postgres;
    last_administrator_is_protected => last_administrator_is_protected_sqlite, last_administrator_is_protected_postgres;
    audit_log => audit_log_sqlite, audit_log_postgres;
}

// ---------------------------------------------------------------------------------------------------
// Helpers

fn actor(name: &str, role: Role) -> Actor {
    Actor { name: name.into(), role, admin_id: None, ip: Some("192.0.2.10".into()) }
}

fn admin() -> Actor {
    actor("alice", Role::Administrator)
}

fn input(v: serde_json::Value) -> UserInput {
    serde_json::from_value(v).expect("valid UserInput JSON")
}

fn group_input(v: serde_json::Value) -> GroupInput {
    serde_json::from_value(v).expect("valid GroupInput JSON")
}

#[track_caller]
fn expect_conflict<T: Debug>(r: Result<T, ServiceError>, field: &str) -> FieldError {
    match r {
        Err(ServiceError::Conflict(f)) => {
            assert_eq!(f.field, field, "conflict on the wrong field: {f}");
            f
        }
        other => panic!("expected a conflict on {field}, got {other:?}"),
    }
}

#[track_caller]
fn expect_invalid<T: Debug>(r: Result<T, ServiceError>, field: &str) -> Vec<FieldError> {
    match r {
        Err(ServiceError::Validation(errs)) => {
            assert!(errs.iter().any(|e| e.field == field), "expected a validation error on {field}, got {errs:?}");
            errs
        }
        other => panic!("expected a validation error on {field}, got {other:?}"),
    }
}

#[track_caller]
fn expect_forbidden<T: Debug>(r: Result<T, ServiceError>, what: &str) {
    match r {
        Err(ServiceError::Forbidden(msg)) => assert!(!msg.is_empty()),
        other => panic!("{what}: expected Forbidden, got {other:?}"),
    }
}

#[track_caller]
fn expect_not_found<T: Debug>(r: Result<T, ServiceError>) {
    assert!(matches!(r, Err(ServiceError::NotFound { .. })), "expected NotFound, got {r:?}");
}

async fn create(store: &Store, upn: &str, name: &str) -> User {
    directory::create_user(store, &admin(), input(json!({"userPrincipalName": upn, "displayName": name})))
        .await
        .unwrap_or_else(|e| panic!("create {upn}: {e}"))
}

async fn head(store: &Store) -> i64 {
    let mut conn = store.conn().await.unwrap();
    changes::head(&mut conn).await.unwrap()
}

async fn changes_since(store: &Store, after: i64) -> Vec<provisio::model::Change> {
    let mut conn = store.conn().await.unwrap();
    changes::since(&mut conn, after, 10_000).await.unwrap()
}

async fn user_count(store: &Store) -> i64 {
    let mut conn = store.conn().await.unwrap();
    users::count(&mut conn).await.unwrap()
}

async fn audit_count(store: &Store) -> usize {
    all_audit(store, AuditQuery::default()).await.len()
}

/// Every page of a user listing, following the cursor.
async fn all_users(store: &Store, mut q: UserQuery) -> Vec<User> {
    let mut out = Vec::new();
    for _ in 0..1000 {
        let page = directory::list_users(store, &admin(), &q).await.expect("list users");
        let top = q.top.unwrap_or(50) as usize;
        assert!(page.items.len() <= top.max(1));
        if page.next_cursor.is_some() {
            assert_eq!(page.items.len(), top.max(1), "only the last page may be short");
        }
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => return out,
        }
    }
    panic!("pagination did not end");
}

/// Every page of the audit log, following the cursor.
async fn all_audit(store: &Store, mut q: AuditQuery) -> Vec<AuditEntry> {
    let mut out = Vec::new();
    for _ in 0..1000 {
        let page = admins::list_audit(store, &admin(), &q).await.expect("list audit");
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => return out,
        }
    }
    panic!("audit pagination did not end");
}

fn upns(us: &[User]) -> BTreeSet<String> {
    us.iter().map(|u| u.user_principal_name.to_lowercase()).collect()
}

// ---------------------------------------------------------------------------------------------------
// Users

async fn user_lifecycle(store: &Store) {
    let a = admin();
    let u = directory::create_user(
        store,
        &a,
        input(json!({
            "userPrincipalName": "Ada.Lovelace@Contoso.example",
            "givenName": " Ada ", "surname": "Lovelace",
            "mail": "ada@contoso.example", "department": "Engineering", "city": "London",
            "businessPhones": ["+44 20 7946 0000", " "], "usageLocation": "GB",
            "extensionAttributes": {"costCenter": "CC-1"}
        })),
    )
    .await
    .unwrap();
    assert_eq!(u.user_principal_name, "Ada.Lovelace@Contoso.example", "the UPN keeps its case");
    assert_eq!(u.display_name, "Ada Lovelace", "displayName defaults to givenName surname");
    assert_eq!(u.given_name.as_deref(), Some("Ada"), "values are trimmed");
    assert_eq!(u.business_phones, vec!["+44 20 7946 0000".to_string()], "blank list values are dropped");
    assert!(u.account_enabled);
    assert!(u.manager.is_none());
    assert!(u.deleted_date_time.is_none());
    assert_eq!(u.extension_attributes.get("costCenter").map(String::as_str), Some("CC-1"));
    let id = u.id.to_string();

    let got = directory::get_user(store, &a, &id).await.unwrap();
    assert_eq!(got, u);
    expect_not_found(directory::get_user(store, &a, &uuid::Uuid::new_v4().to_string()).await);
    expect_not_found(directory::get_user(store, &a, "not-an-id").await);

    // Patch: absent keeps, null clears, values set; extension attributes merge.
    let p = directory::update_user(
        store,
        &a,
        &id,
        input(json!({
            "department": null, "jobTitle": "Analyst", "accountEnabled": false,
            "extensionAttributes": {"costCenter": null, "badgeNumber": "B000042"}
        })),
    )
    .await
    .unwrap();
    assert_eq!(p.department, None, "null clears");
    assert_eq!(p.job_title.as_deref(), Some("Analyst"));
    assert!(!p.account_enabled);
    assert_eq!(p.city.as_deref(), Some("London"), "absent keeps");
    assert_eq!(p.mail.as_deref(), Some("ada@contoso.example"));
    assert_eq!(p.business_phones, u.business_phones);
    assert_eq!(p.display_name, "Ada Lovelace");
    assert!(!p.extension_attributes.contains_key("costCenter"));
    assert_eq!(p.extension_attributes.get("badgeNumber").map(String::as_str), Some("B000042"));
    assert!(p.updated_date_time >= u.updated_date_time);
    assert_eq!(p.created_date_time, u.created_date_time);
    assert_eq!(directory::get_user(store, &a, &id).await.unwrap(), p, "the patch was stored");

    // An invalid patch names its fields and changes nothing.
    let errs = expect_invalid(directory::update_user(store, &a, &id, input(json!({"mail": "nope", "usageLocation": "GBR"}))).await, "mail");
    assert!(errs.iter().any(|e| e.field == "usageLocation"), "{errs:?}");
    expect_invalid(directory::update_user(store, &a, &id, input(json!({"userPrincipalName": null}))).await, "userPrincipalName");
    assert_eq!(directory::get_user(store, &a, &id).await.unwrap(), p);

    // Purge needs the recycle bin first.
    expect_conflict(directory::purge_user(store, &a, &id).await, "id");
    expect_conflict(directory::restore_user(store, &a, &id).await, "id");

    // Soft delete: still readable, out of the list, in the recycle bin.
    directory::delete_user(store, &a, &id).await.unwrap();
    let d = directory::get_user(store, &a, &id).await.unwrap();
    assert!(d.deleted_date_time.is_some());
    assert!(all_users(store, UserQuery::default()).await.is_empty());
    let bin = all_users(store, UserQuery { deleted: true, ..Default::default() }).await;
    assert_eq!(bin.iter().map(|u| u.id).collect::<Vec<_>>(), vec![u.id]);
    assert_eq!(user_count(store).await, 0);
    expect_conflict(directory::delete_user(store, &a, &id).await, "id");
    expect_conflict(directory::update_user(store, &a, &id, input(json!({"city": "Paris"}))).await, "id");

    // Restore.
    let r = directory::restore_user(store, &a, &id).await.unwrap();
    assert!(r.deleted_date_time.is_none());
    assert_eq!(r.job_title.as_deref(), Some("Analyst"), "attributes survive the recycle bin");
    assert_eq!(all_users(store, UserQuery::default()).await.len(), 1);
    assert!(all_users(store, UserQuery { deleted: true, ..Default::default() }).await.is_empty());

    // Delete again, then purge for good.
    directory::delete_user(store, &a, &id).await.unwrap();
    directory::purge_user(store, &a, &id).await.unwrap();
    expect_not_found(directory::get_user(store, &a, &id).await);
    assert!(all_users(store, UserQuery { deleted: true, ..Default::default() }).await.is_empty());
    expect_not_found(directory::restore_user(store, &a, &id).await);
    expect_not_found(directory::purge_user(store, &a, &id).await);
    // The UPN is free again.
    create(store, "ada.lovelace@contoso.example", "Ada again").await;
}

async fn purge_detaches_reports_and_memberships(store: &Store) {
    let a = admin();
    let boss = create(store, "boss@contoso.example", "Boss").await;
    let report = directory::create_user(
        store,
        &a,
        input(json!({"userPrincipalName": "report@contoso.example", "displayName": "Report", "manager": {"id": boss.id.to_string()}})),
    )
    .await
    .unwrap();
    assert_eq!(report.manager.as_ref().map(|m| m.id.clone()), Some(boss.id.to_string()));
    let g = directory::create_group(store, &a, group_input(json!({"displayName": "Team"}))).await.unwrap();
    directory::add_member(store, &a, &g.id.to_string(), &boss.id.to_string()).await.unwrap();
    directory::add_member(store, &a, &g.id.to_string(), &report.id.to_string()).await.unwrap();

    directory::delete_user(store, &a, &boss.id.to_string()).await.unwrap();
    directory::purge_user(store, &a, &boss.id.to_string()).await.unwrap();

    let r = directory::get_user(store, &a, &report.id.to_string()).await.unwrap();
    assert_eq!(r.manager, None, "a purged manager is removed from their reports");
    let members = directory::list_members(store, &a, &g.id.to_string(), None, None).await.unwrap();
    assert_eq!(members.items.iter().map(|m| m.id.clone()).collect::<Vec<_>>(), vec![report.id.to_string()]);
    assert_eq!(directory::get_group(store, &a, &g.id.to_string()).await.unwrap().member_count, 1);
}

async fn upn_is_unique_case_insensitively(store: &Store) {
    let a = admin();
    let ada = create(store, "ada@contoso.example", "Ada").await;
    let f = expect_conflict(
        directory::create_user(store, &a, input(json!({"userPrincipalName": "ADA@Contoso.EXAMPLE", "displayName": "Other Ada"}))).await,
        "userPrincipalName",
    );
    assert!(f.message.contains("already used"), "{f}");
    let grace = create(store, "grace@contoso.example", "Grace").await;
    expect_conflict(
        directory::update_user(store, &a, &grace.id.to_string(), input(json!({"userPrincipalName": "Ada@CONTOSO.example"}))).await,
        "userPrincipalName",
    );
    assert_eq!(directory::get_user(store, &a, &grace.id.to_string()).await.unwrap().user_principal_name, "grace@contoso.example");
    // A user may change the case of their own UPN.
    let ada2 =
        directory::update_user(store, &a, &ada.id.to_string(), input(json!({"userPrincipalName": "Ada@Contoso.example"}))).await.unwrap();
    assert_eq!(ada2.user_principal_name, "Ada@Contoso.example");
    // A user in the recycle bin still holds their UPN.
    directory::delete_user(store, &a, &ada.id.to_string()).await.unwrap();
    let f = expect_conflict(
        directory::create_user(store, &a, input(json!({"userPrincipalName": "ada@contoso.example", "displayName": "New Ada"}))).await,
        "userPrincipalName",
    );
    assert!(f.message.contains("recycle bin"), "{f}");
    assert_eq!(user_count(store).await, 1);
}

async fn manager_rules(store: &Store) {
    let a = admin();
    let top = create(store, "top@contoso.example", "Top").await;
    let mid = directory::create_user(
        store,
        &a,
        input(json!({"userPrincipalName": "mid@contoso.example", "displayName": "Mid", "manager": {"id": top.id.to_string()}})),
    )
    .await
    .unwrap();
    assert_eq!(
        mid.manager,
        Some(ObjectRef {
            id: top.id.to_string(),
            display_name: Some("Top".into()),
            user_principal_name: Some("top@contoso.example".into())
        }),
        "the manager's name is joined in"
    );
    let json = serde_json::to_value(&mid).unwrap();
    assert_eq!(
        json["manager"],
        json!({"id": top.id.to_string(), "displayName": "Top", "userPrincipalName": "top@contoso.example"}),
        "Graph spelling in JSON"
    );
    let low = directory::create_user(
        store,
        &a,
        input(json!({"userPrincipalName": "low@contoso.example", "displayName": "Low", "manager": {"id": mid.id.to_string()}})),
    )
    .await
    .unwrap();

    // The manager must exist.
    let ghost = uuid::Uuid::new_v4().to_string();
    expect_invalid(
        directory::create_user(
            store,
            &a,
            input(json!({"userPrincipalName": "x@contoso.example", "displayName": "X", "manager": {"id": ghost}})),
        )
        .await,
        "manager",
    );
    expect_invalid(
        directory::create_user(
            store,
            &a,
            input(json!({"userPrincipalName": "x@contoso.example", "displayName": "X", "manager": {"id": "42"}})),
        )
        .await,
        "manager",
    );
    // Nobody manages themselves.
    let tid = top.id.to_string();
    let f = expect_invalid(directory::update_user(store, &a, &tid, input(json!({"manager": {"id": tid}}))).await, "manager");
    assert!(f[0].message.contains("own manager"), "{f:?}");
    // No reporting cycles: top -> low would close top <- mid <- low.
    let f = expect_invalid(directory::update_user(store, &a, &tid, input(json!({"manager": {"id": low.id.to_string()}}))).await, "manager");
    assert!(f[0].message.contains("cycle"), "{f:?}");
    let f = expect_invalid(directory::update_user(store, &a, &tid, input(json!({"manager": {"id": mid.id.to_string()}}))).await, "manager");
    assert!(f[0].message.contains("cycle"), "{f:?}");
    assert_eq!(directory::get_user(store, &a, &tid).await.unwrap().manager, None);
    // A user in the recycle bin cannot become a manager.
    let gone = create(store, "gone@contoso.example", "Gone").await;
    directory::delete_user(store, &a, &gone.id.to_string()).await.unwrap();
    expect_invalid(directory::update_user(store, &a, &tid, input(json!({"manager": {"id": gone.id.to_string()}}))).await, "manager");
    // Moving low under top directly is fine, and null clears.
    let l = directory::update_user(store, &a, &low.id.to_string(), input(json!({"manager": {"id": tid}}))).await.unwrap();
    assert_eq!(l.manager.map(|m| m.id), Some(top.id.to_string()));
    let l = directory::update_user(store, &a, &low.id.to_string(), input(json!({"manager": null}))).await.unwrap();
    assert_eq!(l.manager, None);
    // With low detached, low may now manage top.
    let t = directory::update_user(store, &a, &tid, input(json!({"manager": {"id": low.id.to_string()}}))).await.unwrap();
    assert_eq!(t.manager.map(|m| m.id), Some(low.id.to_string()));
}

/// Soft-deleting a manager must not make every later edit of their reports fail: only a manager that
/// the edit sets needs to be an active user.
async fn report_of_deleted_manager_stays_editable(store: &Store) {
    let a = admin();
    let boss = create(store, "boss@contoso.example", "Boss").await;
    let report = directory::create_user(
        store,
        &a,
        input(json!({"userPrincipalName": "report@contoso.example", "displayName": "Report", "manager": {"id": boss.id.to_string()}})),
    )
    .await
    .unwrap();
    directory::delete_user(store, &a, &boss.id.to_string()).await.unwrap();

    let r = directory::update_user(store, &a, &report.id.to_string(), input(json!({"jobTitle": "Engineer"}))).await.unwrap();
    assert_eq!(r.job_title.as_deref(), Some("Engineer"));
    assert_eq!(r.manager.as_ref().map(|m| m.id.clone()), Some(boss.id.to_string()), "the link survives for a restore");
    // Setting the deleted user as manager explicitly is still refused, as is any new one.
    let other = create(store, "other@contoso.example", "Other").await;
    expect_invalid(
        directory::update_user(store, &a, &other.id.to_string(), input(json!({"manager": {"id": boss.id.to_string()}}))).await,
        "manager",
    );
    // The same through a CSV import that does not touch the manager column.
    let csv = "userPrincipalName,displayName,department\nreport@contoso.example,Report,Research\n";
    let done = import::import(store, &a, csv.as_bytes(), &|_, _| {}).await.unwrap();
    assert_eq!(done.updates, 1);
    let r = directory::get_user(store, &a, &report.id.to_string()).await.unwrap();
    assert_eq!(r.department.as_deref(), Some("Research"));
    // After a restore the reporting line is intact.
    directory::restore_user(store, &a, &boss.id.to_string()).await.unwrap();
    let r = directory::get_user(store, &a, &report.id.to_string()).await.unwrap();
    assert_eq!(r.manager.and_then(|m| m.display_name).as_deref(), Some("Boss"));
}

// ---------------------------------------------------------------------------------------------------
// Listing

/// The sync engine's scan (`users::by_id_after`, one JSON array per page on SQLite) reads every field
/// the row form does: lists, extensions, manager, disabled and soft-deleted users, in id order.
async fn the_engine_scan_reads_users_whole(store: &Store) {
    demo::seed(store, &Actor::cli(), 130, DOMAIN).await.unwrap();
    {
        let mut c = store.conn().await.unwrap();
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM users ORDER BY id LIMIT 3").fetch_all(&mut *c).await.unwrap();
        sqlx::query(
            "UPDATE users SET other_mails = $1, business_phones = $2, extensions = $3, account_enabled = $4, deleted_at = $5 WHERE id = $6",
        )
        .bind(r#"["o1@x.example","o2@x.example"]"#)
        .bind(r#"["+1 555 0100"]"#)
        .bind(r#"{"extension_costCenter":"CC \"7\"","extension_b":"é"}"#)
        .bind(false)
        .bind(1_700_000_000_123_i64)
        .bind(ids[1].clone())
        .execute(&mut *c)
        .await
        .unwrap();
    }
    let mut c = store.conn().await.unwrap();
    let (mut after, mut seen) = (String::new(), 0);
    loop {
        let fast = users::by_id_after(&mut c, &after, 40).await.unwrap();
        let rows = users::by_id_after_rows(&mut c, &after, 40).await.unwrap();
        assert_eq!(fast, rows, "page after {after:?}");
        let Some(last) = fast.last() else { break };
        assert!(fast.windows(2).all(|w| w[0].id.to_string() < w[1].id.to_string()), "in id order");
        after = last.id.to_string();
        seen += fast.len();
    }
    assert_eq!(seen, 130);
    let all = users::by_id_after(&mut c, "", 500).await.unwrap();
    let odd = &all[1];
    assert_eq!(odd.other_mails, ["o1@x.example", "o2@x.example"]);
    assert_eq!(odd.extension_attributes.get("extension_costCenter").map(String::as_str), Some("CC \"7\""));
    assert!(!odd.account_enabled && odd.deleted_date_time.is_some());
    assert!(all.iter().any(|u| u.manager.as_ref().is_some_and(|m| m.display_name.is_some())), "managers come with their names");
}

/// The engine's reads of target ids (`active_target_ids` for managers, `member_targets` for group
/// members; one JSON array per query on SQLite) return exactly the active, linked objects' targets.
async fn the_engine_reads_link_targets(store: &Store) {
    use provisio::apps::NewApp;
    use provisio::model::{GroupDraft, GroupId};
    use provisio::service::apps;
    use provisio::store::{groups, new_uuid, sync as st};
    use provisio::sync::diff::Exported;
    demo::seed(store, &Actor::cli(), 12, DOMAIN).await.unwrap();
    let app = apps::create_app(store, &admin(), NewApp { name: "Targets".into(), template: None }).await.unwrap().id.to_string();
    let mut c = store.conn().await.unwrap();
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM users ORDER BY id").fetch_all(&mut *c).await.unwrap();
    // Users 0-5 active with a target, 6 disabled, 7 unlinked (escrow only), 8-11 not managed.
    let link = |i: usize, state: &str, target: Option<String>| st::Link {
        source_id: ids[i].clone(),
        object_type: "user".into(),
        target_id: target,
        display_name: format!("user {i}"),
        state: state.into(),
        exported: Exported::default(),
        export_hash: Exported::default().hash(),
        refs_pending: false,
        attempts: 0,
        next_attempt_at: None,
        last_error: None,
        staged_action: None,
    };
    let mut links: Vec<st::Link> = (0..6).map(|i| link(i, "active", Some(format!("t-{i} \"q\" é")))).collect();
    links.push(link(6, "disabled", Some("t-6".into())));
    links.push(link(7, "unlinked", None));
    st::put_links(&mut c, &app, &links, 1).await.unwrap();

    let asked: Vec<String> = ids.iter().rev().cloned().chain(["no-such-id".to_string()]).collect();
    let got = st::active_target_ids(&mut c, &app, &asked).await.unwrap();
    let want: std::collections::HashMap<String, String> = (0..6).map(|i| (ids[i].clone(), format!("t-{i} \"q\" é"))).collect();
    assert_eq!(got, want);

    // Group a: users 0, 6, 8 (one active target); group b: users 1, 2, 7; group c: none managed.
    let (a, b, cg) = (GroupId(new_uuid()), GroupId(new_uuid()), GroupId(new_uuid()));
    for (g, members) in [(a, vec![0, 6, 8]), (b, vec![1, 2, 7]), (cg, vec![9, 10])] {
        let d = GroupDraft { display_name: format!("g {g}"), description: None, mail_nickname: None, security_enabled: true };
        groups::insert(&mut c, g, &d).await.unwrap();
        for m in members {
            groups::add_member(&mut c, g, &ids[m], MemberKind::User).await.unwrap();
        }
    }
    let mut got = st::member_targets(&mut c, &app, &[a.to_string(), b.to_string(), cg.to_string()]).await.unwrap();
    got.sort();
    let mut want = vec![
        (a.to_string(), "t-0 \"q\" é".to_string()),
        (b.to_string(), "t-1 \"q\" é".to_string()),
        (b.to_string(), "t-2 \"q\" é".to_string()),
    ];
    want.sort();
    assert_eq!(got, want);
    assert!(st::member_targets(&mut c, &app, &[]).await.unwrap().is_empty());
}

/// The store lends at most two connections to long runs of writes (a scan's page writes), so that
/// many jobs scanning at once cannot take the whole pool; a transaction on a kept connection commits,
/// and a dropped one goes back.
async fn kept_writers_are_bounded(store: &Store) {
    let mut a = store.writer().await.expect("a first writer");
    let b = store.writer().await.expect("a second writer");
    assert!(store.writer().await.is_none(), "a third is refused while two are kept");
    let mut tx = store.begin_on(&mut a.conn).await.unwrap();
    changes::append(&mut tx, "user", "kept-writer", ChangeOp::Create, json!({})).await.unwrap();
    tx.commit().await.unwrap();
    let mut c = store.conn().await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM changes WHERE object_id = 'kept-writer'").fetch_one(&mut *c).await.unwrap();
    assert_eq!(n, 1, "the kept connection's transaction committed");
    drop(b);
    assert!(store.writer().await.is_some(), "a dropped writer goes back");
}

async fn keyset_pagination(store: &Store) {
    let n = demo::seed(store, &Actor::cli(), 130, DOMAIN).await.unwrap();
    assert_eq!(n, 130);
    assert_eq!(user_count(store).await, 130);

    let mut q = UserQuery { top: Some(50), ..Default::default() };
    let mut got: Vec<User> = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let page = directory::list_users(store, &admin(), &q).await.unwrap();
        sizes.push(page.items.len());
        got.extend(page.items);
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => break,
        }
        assert!(sizes.len() < 10, "pagination does not end");
    }
    assert_eq!(sizes, vec![50, 50, 30]);
    let ids: HashSet<_> = got.iter().map(|u| u.id).collect();
    assert_eq!(ids.len(), 130, "no user appears twice");
    let expected: BTreeSet<String> = demo::users(130, DOMAIN).iter().map(|(d, _)| d.user_principal_name.to_lowercase()).collect();
    assert_eq!(upns(&got), expected, "no user is missing");
    let keys: Vec<(String, String)> = got.iter().map(|u| (u.display_name.to_lowercase(), u.id.to_string())).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "sorted by display name, then id");
    assert!(got.iter().any(|u| u.manager.as_ref().is_some_and(|m| m.display_name.is_some())), "managers are joined in");

    // The same through the helper with other page sizes.
    assert_eq!(all_users(store, UserQuery { top: Some(7), ..Default::default() }).await, got);
    assert_eq!(all_users(store, UserQuery { top: Some(500), ..Default::default() }).await, got);
    // Page sizes are clamped to 1..=500.
    let one = directory::list_users(store, &admin(), &UserQuery { top: Some(0), ..Default::default() }).await.unwrap();
    assert_eq!(one.items.len(), 1);
    assert!(one.next_cursor.is_some());
    let default = directory::list_users(store, &admin(), &UserQuery::default()).await.unwrap();
    assert_eq!(default.items.len(), 50);

    // A cursor that is not one of ours is a validation error on `after`.
    for bad in ["not a cursor", "%%%", &query::encode_cursor(&["only-one-part"]), "bm9wZQ"] {
        expect_invalid(
            directory::list_users(store, &admin(), &UserQuery { after: Some(bad.to_string()), ..Default::default() }).await,
            "after",
        );
    }
}

async fn pagination_breaks_ties_by_id(store: &Store) {
    for i in 0..12 {
        create(store, &format!("twin{i:02}@contoso.example"), "Tie Breaker").await;
    }
    create(store, "before@contoso.example", "Tie Bre").await;
    create(store, "after@contoso.example", "Tie Breakers").await;
    let got = all_users(store, UserQuery { search: Some("tie breaker".into()), top: Some(5), ..Default::default() }).await;
    assert_eq!(got.len(), 13);
    let ids: Vec<String> = got.iter().take(12).map(|u| u.id.to_string()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "equal names are ordered by id across page boundaries");
    assert_eq!(got[12].user_principal_name, "after@contoso.example");
    assert_eq!(all_users(store, UserQuery { top: Some(4), ..Default::default() }).await.len(), 14);
}

fn matches_prefix(d: &UserDraft, prefix: &str) -> bool {
    let p = prefix.trim().to_lowercase();
    [Some(&d.display_name), Some(&d.user_principal_name), d.mail.as_ref(), d.given_name.as_ref(), d.surname.as_ref()]
        .into_iter()
        .flatten()
        .any(|v| v.to_lowercase().starts_with(&p))
}

/// Searches with few candidates collect them through the column indexes; broad ones walk the list in
/// order. Both must give the same, complete, sorted pages.
async fn narrow_and_broad_searches_agree(store: &Store) {
    let n = users::NARROW_SEARCH_MAX as usize + 100;
    let mut drafts = Vec::with_capacity(n);
    let mut tx = store.begin().await.unwrap();
    for i in 0..n {
        // Display order differs from UPN order; every third user is disabled; two departments.
        let d = UserDraft {
            user_principal_name: format!("bulk{i:04}@contoso.example"),
            display_name: format!("Bulk Person {:04}", (i * 7919) % n),
            mail: (i % 5 != 0).then(|| format!("bulk.mail{i:04}@contoso.example")),
            department: Some(if i % 2 == 0 { "Even" } else { "Odd" }.to_string()),
            account_enabled: i % 3 != 0,
            ..Default::default()
        };
        let id = provisio::model::UserId(uuid::Uuid::new_v4());
        users::insert(&mut tx, id, &d).await.unwrap();
        if i == 7 {
            users::set_deleted(&mut tx, id, true).await.unwrap();
        } else {
            drafts.push((id, d));
        }
    }
    tx.commit().await.unwrap();

    let mut conn = store.conn().await.unwrap();
    assert!(users::search_candidates(&mut conn, "bulk", false).await.unwrap() > users::NARROW_SEARCH_MAX, "'bulk' takes the broad path");
    assert!(users::search_candidates(&mut conn, "bulk person 01", false).await.unwrap() <= users::NARROW_SEARCH_MAX, "narrow path");
    drop(conn);

    let expect = |f: &dyn Fn(&UserDraft) -> bool| -> Vec<String> {
        let mut v: Vec<(String, String, String)> = drafts
            .iter()
            .filter(|(_, d)| f(d))
            .map(|(id, d)| (d.display_name.to_lowercase(), id.to_string(), d.user_principal_name.clone()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, _, upn)| upn).collect()
    };
    let got = |us: Vec<User>| -> Vec<String> { us.into_iter().map(|u| u.user_principal_name).collect() };

    for (search, top) in [("BULK", 50), ("bulk", 333), ("Bulk Person 01", 7), ("bulk.mail00", 4), ("bulk00", 500)] {
        let want = expect(&|d| matches_prefix(d, search));
        assert!(!want.is_empty());
        let have = got(all_users(store, UserQuery { search: Some(search.into()), top: Some(top), ..Default::default() }).await);
        assert_eq!(have, want, "search {search:?} top {top}");
    }
    // With filters.
    let q = UserQuery {
        search: Some("bulk".into()),
        department: Some("Odd".into()),
        enabled: Some(false),
        top: Some(40),
        ..Default::default()
    };
    let want = expect(&|d| d.department.as_deref() == Some("Odd") && !d.account_enabled);
    assert_eq!(got(all_users(store, q).await), want);
    let q = UserQuery { search: Some("bulk person 00".into()), enabled: Some(true), top: Some(3), ..Default::default() };
    let want = expect(&|d| matches_prefix(d, "bulk person 00") && d.account_enabled);
    assert_eq!(got(all_users(store, q).await), want);
    // The recycle bin, both ways.
    for s in ["bulk", "bulk0007"] {
        let bin = all_users(store, UserQuery { search: Some(s.into()), deleted: true, ..Default::default() }).await;
        assert_eq!(got(bin), vec!["bulk0007@contoso.example".to_string()], "recycle bin search {s:?}");
    }
}

async fn search_and_filters(store: &Store) {
    demo::seed(store, &Actor::cli(), 130, DOMAIN).await.unwrap();
    let people: Vec<UserDraft> = demo::users(130, DOMAIN).into_iter().map(|(d, _)| d).collect();
    let a = admin();
    let odd = directory::create_user(
        store,
        &a,
        input(json!({
            "userPrincipalName": "Q.Quinn@Contoso.example", "displayName": "Zed Quinn", "givenName": "Zed", "surname": "Quinn",
            "mail": "Unique.Mailbox@Elsewhere.example", "department": "Research", "accountEnabled": false
        })),
    )
    .await
    .unwrap();
    let gone = create(store, "zzgone@contoso.example", "Zz Gone").await;
    directory::delete_user(store, &a, &gone.id.to_string()).await.unwrap();

    let search = |s: &str| UserQuery { search: Some(s.to_string()), top: Some(500), ..Default::default() };

    // Display-name prefix, in upper case (non-ASCII names included).
    for who in [&people[3], people.iter().find(|d| !d.display_name.is_ascii()).expect("a non-ASCII name")] {
        let prefix: String = who.display_name.chars().take(4).collect::<String>().to_uppercase();
        let got = all_users(store, search(&prefix)).await;
        let expected: BTreeSet<String> =
            people.iter().filter(|d| matches_prefix(d, &prefix)).map(|d| d.user_principal_name.to_lowercase()).collect();
        assert!(expected.contains(&who.user_principal_name.to_lowercase()));
        assert_eq!(upns(&got), expected, "search {prefix:?}");
    }
    // UPN prefix (the part before the dot and two more characters), with surrounding blanks.
    let upn = &people[10].user_principal_name;
    let prefix = format!("  {}  ", &upn[..upn.find('.').unwrap() + 3].to_uppercase());
    let got = all_users(store, search(&prefix)).await;
    let expected: BTreeSet<String> =
        people.iter().filter(|d| matches_prefix(d, &prefix)).map(|d| d.user_principal_name.to_lowercase()).collect();
    assert!(expected.contains(&upn.to_lowercase()));
    assert_eq!(upns(&got), expected);
    // Mail prefix (a mail that differs from the UPN), UPN prefix and surname of the odd user.
    for s in ["unique.MAIL", "q.qu", "QUINN", "zed q"] {
        let got = all_users(store, search(s)).await;
        assert_eq!(got.iter().map(|u| u.id).collect::<Vec<_>>(), vec![odd.id], "search {s:?}");
    }
    // No match, a user in the recycle bin is not found, and search pages like the list.
    assert!(all_users(store, search("xyzzy")).await.is_empty());
    assert!(all_users(store, search("zz gone")).await.is_empty());
    assert_eq!(all_users(store, UserQuery { search: Some("zz gone".into()), deleted: true, ..Default::default() }).await.len(), 1);
    let big: String = people[0].given_name.clone().unwrap().chars().take(1).collect();
    let all = all_users(store, search(&big)).await;
    assert!(all.len() > 3);
    assert_eq!(all_users(store, UserQuery { search: Some(big), top: Some(2), ..Default::default() }).await, all);

    // Department and enabled filters.
    let count = |f: &dyn Fn(&UserDraft) -> bool| people.iter().filter(|d| f(d)).count();
    let sales = all_users(store, UserQuery { department: Some("Sales".into()), top: Some(500), ..Default::default() }).await;
    assert_eq!(sales.len(), count(&|d| d.department.as_deref() == Some("Sales")));
    assert!(!sales.is_empty() && sales.iter().all(|u| u.department.as_deref() == Some("Sales")));
    let disabled = all_users(store, UserQuery { enabled: Some(false), top: Some(500), ..Default::default() }).await;
    assert_eq!(disabled.len(), count(&|d| !d.account_enabled) + 1, "the demo's disabled users and the odd one");
    assert!(disabled.iter().all(|u| !u.account_enabled));
    let enabled = all_users(store, UserQuery { enabled: Some(true), top: Some(500), ..Default::default() }).await;
    assert_eq!(enabled.len(), count(&|d| d.account_enabled));
    let eng_on =
        all_users(store, UserQuery { department: Some("Engineering".into()), enabled: Some(true), top: Some(3), ..Default::default() })
            .await;
    assert_eq!(eng_on.len(), count(&|d| d.department.as_deref() == Some("Engineering") && d.account_enabled));
    assert!(eng_on.iter().all(|u| u.account_enabled && u.department.as_deref() == Some("Engineering")));
    let research_off =
        all_users(store, UserQuery { department: Some(" Research ".into()), enabled: Some(false), ..Default::default() }).await;
    assert_eq!(research_off.iter().map(|u| u.id).collect::<Vec<_>>(), vec![odd.id]);
    assert!(all_users(store, UserQuery { department: Some("Research".into()), enabled: Some(true), ..Default::default() })
        .await
        .is_empty());
    // Filters and search combine.
    let sales_prefix: String = sales[0].display_name.chars().take(2).collect();
    let got =
        all_users(store, UserQuery { department: Some("Sales".into()), search: Some(sales_prefix.clone()), ..Default::default() }).await;
    assert_eq!(got.len(), people.iter().filter(|d| d.department.as_deref() == Some("Sales") && matches_prefix(d, &sales_prefix)).count());

    let depts = directory::departments(store, &a).await.unwrap();
    assert_eq!(depts.len(), 10);
    assert!(depts.windows(2).all(|w| w[0] < w[1]));
    assert!(depts.contains(&"Research".to_string()) && depts.contains(&"Sales".to_string()));
}

// ---------------------------------------------------------------------------------------------------
// Change log

async fn change_log(store: &Store) {
    let a = admin();
    let start = head(store).await;
    let u = directory::create_user(store, &a, input(json!({"userPrincipalName": "c@contoso.example", "displayName": "C", "city": "Oslo"})))
        .await
        .unwrap();
    let uid = u.id.to_string();
    directory::update_user(store, &a, &uid, input(json!({"department": "Sales", "city": null}))).await.unwrap();
    // A patch that changes nothing writes nothing.
    let h = head(store).await;
    directory::update_user(store, &a, &uid, input(json!({"department": "Sales"}))).await.unwrap();
    assert_eq!(head(store).await, h, "a no-op update appends no change");
    directory::delete_user(store, &a, &uid).await.unwrap();
    directory::restore_user(store, &a, &uid).await.unwrap();
    let g = directory::create_group(store, &a, group_input(json!({"displayName": "G"}))).await.unwrap();
    let gid = g.id.to_string();
    directory::update_group(store, &a, &gid, group_input(json!({"description": "about G"}))).await.unwrap();
    directory::add_member(store, &a, &gid, &uid).await.unwrap();
    directory::remove_member(store, &a, &gid, &uid).await.unwrap();
    directory::delete_user(store, &a, &uid).await.unwrap();
    directory::purge_user(store, &a, &uid).await.unwrap();
    directory::delete_group(store, &a, &gid).await.unwrap();

    let log = changes_since(store, start).await;
    let got: Vec<(&str, &str, ChangeOp)> = log.iter().map(|c| (c.object_type.as_str(), c.object_id.as_str(), c.op)).collect();
    assert_eq!(
        got,
        vec![
            ("user", uid.as_str(), ChangeOp::Create),
            ("user", uid.as_str(), ChangeOp::Update),
            ("user", uid.as_str(), ChangeOp::SoftDelete),
            ("user", uid.as_str(), ChangeOp::Restore),
            ("group", gid.as_str(), ChangeOp::Create),
            ("group", gid.as_str(), ChangeOp::Update),
            ("group", gid.as_str(), ChangeOp::MemberAdd),
            ("group", gid.as_str(), ChangeOp::MemberRemove),
            ("user", uid.as_str(), ChangeOp::SoftDelete),
            ("user", uid.as_str(), ChangeOp::HardDelete),
            ("group", gid.as_str(), ChangeOp::HardDelete),
        ]
    );
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq), "sequence numbers strictly increase");
    assert!(log[0].seq > start);
    assert_eq!(log.last().unwrap().seq, head(store).await, "the head is the last sequence number");
    assert!(log.windows(2).all(|w| w[0].at <= w[1].at));

    // Details: the create snapshot, the changed attribute names of an update, the member of a membership change.
    assert_eq!(log[0].detail["userPrincipalName"], "c@contoso.example");
    assert_eq!(log[0].detail["city"], "Oslo");
    let changed: BTreeSet<&str> = log[1].detail.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(changed, BTreeSet::from(["department", "city"]));
    assert_eq!(log[1].detail["department"]["old"], serde_json::Value::Null);
    assert_eq!(log[1].detail["department"]["new"], "Sales");
    assert_eq!(log[1].detail["city"]["old"], "Oslo");
    let gchanged: Vec<&str> = log[5].detail.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(gchanged, vec!["description"]);
    assert_eq!(log[6].detail["memberId"], uid.as_str());
    assert_eq!(log[6].detail["memberKind"], "user");
    assert_eq!(log[7].detail["memberId"], uid.as_str());

    // Reading from the middle returns the tail, and the limit is honoured.
    let mut conn = store.conn().await.unwrap();
    let tail = changes::since(&mut conn, log[4].seq, 2).await.unwrap();
    assert_eq!(tail.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![log[5].seq, log[6].seq]);
    assert!(changes::since(&mut conn, head(store).await, 10).await.unwrap().is_empty());
}

async fn failed_changes_leave_no_trace(store: &Store) {
    let a = admin();
    let u = create(store, "taken@contoso.example", "Taken").await;
    let g = directory::create_group(store, &a, group_input(json!({"displayName": "G"}))).await.unwrap();
    directory::add_member(store, &a, &g.id.to_string(), &u.id.to_string()).await.unwrap();
    let h = head(store).await;
    let audits = audit_count(store).await;
    let users_before = user_count(store).await;

    expect_conflict(
        directory::create_user(store, &a, input(json!({"userPrincipalName": "TAKEN@contoso.example", "displayName": "Dup"}))).await,
        "userPrincipalName",
    );
    expect_invalid(directory::create_user(store, &a, input(json!({"displayName": "No UPN"}))).await, "userPrincipalName");
    expect_conflict(directory::add_member(store, &a, &g.id.to_string(), &u.id.to_string()).await, "id");
    expect_invalid(
        directory::update_user(store, &a, &u.id.to_string(), input(json!({"manager": {"id": u.id.to_string()}}))).await,
        "manager",
    );
    expect_not_found(directory::remove_member(store, &a, &g.id.to_string(), &uuid::Uuid::new_v4().to_string()).await);
    expect_invalid(directory::update_group(store, &a, &g.id.to_string(), group_input(json!({"displayName": ""}))).await, "displayName");

    // An import that fails while writing (a reporting cycle only visible once both rows exist) rolls
    // back the users and change-log entries it had already written.
    let csv = "userPrincipalName,displayName,manager\n\
               a@contoso.example,A,b@contoso.example\n\
               b@contoso.example,B,a@contoso.example\n";
    let preview = import::preview(store, &a, csv.as_bytes()).await.unwrap();
    assert!(preview.errors.is_empty(), "{:?}", preview.errors);
    let errs = expect_invalid(import::import(store, &a, csv.as_bytes(), &|_, _| {}).await, "row 3, column manager");
    assert!(errs[0].message.contains("cycle"), "{errs:?}");

    assert_eq!(head(store).await, h, "failed changes append nothing to the change log");
    assert!(changes_since(store, h).await.is_empty());
    assert_eq!(audit_count(store).await, audits, "failed changes write no audit entry");
    assert_eq!(user_count(store).await, users_before);
    let mut conn = store.conn().await.unwrap();
    assert!(users::find_by_upn(&mut conn, "a@contoso.example").await.unwrap().is_none());
    drop(conn);

    // The store is still writable afterwards (no lock or transaction left behind).
    create(store, "after@contoso.example", "After").await;
    assert_eq!(head(store).await, h + 1);
}

// ---------------------------------------------------------------------------------------------------
// Groups

async fn groups_and_members(store: &Store) {
    let a = admin();
    expect_invalid(directory::create_group(store, &a, group_input(json!({"displayName": "  "}))).await, "displayName");
    let eng = directory::create_group(
        store,
        &a,
        group_input(json!({"displayName": "Engineering", "description": "Builders", "mailNickname": "eng"})),
    )
    .await
    .unwrap();
    assert!(eng.security_enabled, "groups are security groups by default");
    assert_eq!(eng.member_count, 0);
    let all = directory::create_group(store, &a, group_input(json!({"displayName": "All Staff"}))).await.unwrap();
    let sre = directory::create_group(store, &a, group_input(json!({"displayName": "SRE", "securityEnabled": false}))).await.unwrap();
    assert!(!sre.security_enabled);
    let (eid, aid, sid) = (eng.id.to_string(), all.id.to_string(), sre.id.to_string());

    // Update with patch semantics.
    let e2 = directory::update_group(store, &a, &eid, group_input(json!({"description": null, "displayName": "Engineering Team"})))
        .await
        .unwrap();
    assert_eq!(e2.display_name, "Engineering Team");
    assert_eq!(e2.description, None);
    assert_eq!(e2.mail_nickname.as_deref(), Some("eng"));
    assert_eq!(directory::get_group(store, &a, &eid).await.unwrap(), e2);
    expect_not_found(directory::get_group(store, &a, &uuid::Uuid::new_v4().to_string()).await);

    // Listing and search by name prefix.
    let names: Vec<String> =
        directory::list_groups(store, &a, &GroupQuery::default()).await.unwrap().items.into_iter().map(|g| g.display_name).collect();
    assert_eq!(names, vec!["All Staff", "Engineering Team", "SRE"]);
    let found = directory::list_groups(store, &a, &GroupQuery { search: Some("ENG".into()), ..Default::default() }).await.unwrap();
    assert_eq!(found.items.iter().map(|g| g.id).collect::<Vec<_>>(), vec![eng.id]);
    let p1 = directory::list_groups(store, &a, &GroupQuery { top: Some(2), ..Default::default() }).await.unwrap();
    assert_eq!(p1.items.len(), 2);
    let p2 =
        directory::list_groups(store, &a, &GroupQuery { top: Some(2), after: p1.next_cursor.clone(), ..Default::default() }).await.unwrap();
    assert_eq!(p2.items.iter().map(|g| g.id).collect::<Vec<_>>(), vec![sre.id]);
    assert!(p2.next_cursor.is_none());
    expect_invalid(directory::list_groups(store, &a, &GroupQuery { after: Some("junk".into()), ..Default::default() }).await, "after");

    // Members: users and nested groups.
    let ada = create(store, "ada@contoso.example", "Ada").await;
    let bob = create(store, "bob@contoso.example", "Bob").await;
    let m = directory::add_member(store, &a, &eid, &ada.id.to_string()).await.unwrap();
    assert_eq!(m.kind, MemberKind::User);
    assert_eq!(m.display_name, "Ada");
    assert_eq!(m.user_principal_name.as_deref(), Some("ada@contoso.example"));
    directory::add_member(store, &a, &eid, &bob.id.to_string()).await.unwrap();
    let m = directory::add_member(store, &a, &eid, &sid).await.unwrap();
    assert_eq!((m.kind, m.display_name.as_str()), (MemberKind::Group, "SRE"));
    directory::add_member(store, &a, &aid, &eid).await.unwrap();
    assert_eq!(directory::get_group(store, &a, &eid).await.unwrap().member_count, 3);

    let members = directory::list_members(store, &a, &eid, None, None).await.unwrap();
    let mut expected =
        vec![(ada.id.to_string(), MemberKind::User), (bob.id.to_string(), MemberKind::User), (sid.clone(), MemberKind::Group)];
    expected.sort_by(|x, y| x.0.cmp(&y.0));
    let got: Vec<(String, MemberKind)> = members.items.iter().map(|m| (m.id.clone(), m.kind)).collect();
    assert_eq!(got, expected);
    assert!(members.items.iter().all(|m| (m.kind == MemberKind::User) == m.user_principal_name.is_some()));
    // Member pages.
    let mp1 = directory::list_members(store, &a, &eid, Some(2), None).await.unwrap();
    let mp2 = directory::list_members(store, &a, &eid, Some(2), mp1.next_cursor.as_deref()).await.unwrap();
    assert_eq!(mp1.items.len() + mp2.items.len(), 3);
    assert!(mp2.next_cursor.is_none());
    assert_eq!([mp1.items, mp2.items].concat(), members.items);
    expect_not_found(directory::list_members(store, &a, &uuid::Uuid::new_v4().to_string(), None, None).await);

    let of = directory::member_of(store, &a, &ada.id.to_string()).await.unwrap();
    assert_eq!(of, vec![(eid.clone(), "Engineering Team".to_string())]);
    let of = directory::member_of(store, &a, &eid).await.unwrap();
    assert_eq!(of, vec![(aid.clone(), "All Staff".to_string())]);

    // Refusals: duplicate, cycles, deleted users, unknown ids.
    let f = expect_conflict(directory::add_member(store, &a, &eid, &ada.id.to_string()).await, "id");
    assert!(f.message.contains("already a member"), "{f}");
    let f = expect_invalid(directory::add_member(store, &a, &sid, &aid).await, "id");
    assert!(f[0].message.contains("cycle"), "All Staff contains Engineering contains SRE: {f:?}");
    expect_invalid(directory::add_member(store, &a, &eid, &aid).await, "id");
    expect_invalid(directory::add_member(store, &a, &eid, &eid).await, "id");
    directory::delete_user(store, &a, &bob.id.to_string()).await.unwrap();
    let f = expect_invalid(directory::add_member(store, &a, &sid, &bob.id.to_string()).await, "id");
    assert!(f[0].message.contains("recycle bin"), "{f:?}");
    expect_invalid(directory::add_member(store, &a, &sid, &uuid::Uuid::new_v4().to_string()).await, "id");
    expect_invalid(directory::add_member(store, &a, &sid, "nobody").await, "id");
    expect_invalid(directory::add_member(store, &a, &sid, " ").await, "id");
    expect_not_found(directory::add_member(store, &a, &uuid::Uuid::new_v4().to_string(), &ada.id.to_string()).await);

    // Remove.
    directory::remove_member(store, &a, &eid, &ada.id.to_string()).await.unwrap();
    expect_not_found(directory::remove_member(store, &a, &eid, &ada.id.to_string()).await);
    assert!(directory::member_of(store, &a, &ada.id.to_string()).await.unwrap().is_empty());
    assert_eq!(directory::get_group(store, &a, &eid).await.unwrap().member_count, 2);

    // Delete: the group, its members and its own memberships go.
    directory::delete_group(store, &a, &eid).await.unwrap();
    expect_not_found(directory::get_group(store, &a, &eid).await);
    expect_not_found(directory::delete_group(store, &a, &eid).await);
    assert!(directory::member_of(store, &a, &sid).await.unwrap().is_empty());
    assert_eq!(directory::get_group(store, &a, &aid).await.unwrap().member_count, 0);
    assert!(directory::list_members(store, &a, &aid, None, None).await.unwrap().items.is_empty());
    assert_eq!(directory::list_groups(store, &a, &GroupQuery::default()).await.unwrap().items.len(), 2);
}

// ---------------------------------------------------------------------------------------------------
// CSV import

async fn csv_import_creates_and_updates(store: &Store) {
    let a = admin();
    let old_boss = create(store, "oldboss@contoso.example", "Old Boss").await;
    let existing = directory::create_user(
        store,
        &a,
        input(json!({"userPrincipalName": "existing@contoso.example", "displayName": "Existing", "department": "Old",
            "city": "Oslo", "manager": {"id": old_boss.id.to_string()}})),
    )
    .await
    .unwrap();
    let same = create(store, "same@contoso.example", "Same Person").await;

    // The manager of row 2 is defined in row 5; row 3 updates an existing user (by UPN, any case).
    let csv = "\u{feff}userPrincipalName,displayName,department,manager,accountEnabled,otherMails,extension_costCenter\n\
               emp@contoso.example,Emp One,Sales,BOSS@contoso.example,no,a@x.example; b@x.example,CC-7\n\
               EXISTING@contoso.example,Existing Person,New,,,,\n\
               same@contoso.example,Same Person,,,,,\n\
               boss@contoso.example,The Boss,Sales,oldboss@contoso.example,yes,,\n";
    let users_before = user_count(store).await;
    let h = head(store).await;

    let preview = import::preview(store, &a, csv.as_bytes()).await.unwrap();
    assert!(preview.errors.is_empty(), "{:?}", preview.errors);
    assert_eq!((preview.total_rows, preview.creates, preview.updates, preview.unchanged), (4, 2, 1, 1));
    let rows: Vec<(usize, &str, RowAction)> = preview.rows.iter().map(|r| (r.row, r.user_principal_name.as_str(), r.action)).collect();
    assert_eq!(
        rows,
        vec![
            (2, "emp@contoso.example", RowAction::Create),
            (3, "EXISTING@contoso.example", RowAction::Update),
            (4, "same@contoso.example", RowAction::Unchanged),
            (5, "boss@contoso.example", RowAction::Create),
        ]
    );
    assert_eq!(user_count(store).await, users_before, "a preview writes nothing");
    assert_eq!(head(store).await, h);

    let progress = Mutex::new(Vec::new());
    let done = import::import(store, &a, csv.as_bytes(), &|d, t| progress.lock().unwrap().push((d, t))).await.unwrap();
    assert_eq!((done.creates, done.updates, done.unchanged), (2, 1, 1));
    assert_eq!(progress.lock().unwrap().last().copied(), Some((4, 4)));
    assert_eq!(user_count(store).await, users_before + 2);

    let mut conn = store.conn().await.unwrap();
    let emp = users::find_by_upn(&mut conn, "emp@contoso.example").await.unwrap().expect("emp created");
    let boss = users::find_by_upn(&mut conn, "boss@contoso.example").await.unwrap().expect("boss created");
    let ex = users::find_by_upn(&mut conn, "existing@contoso.example").await.unwrap().unwrap();
    drop(conn);
    assert_eq!(emp.display_name, "Emp One");
    assert_eq!(emp.department.as_deref(), Some("Sales"));
    assert!(!emp.account_enabled);
    assert_eq!(emp.other_mails, vec!["a@x.example".to_string(), "b@x.example".to_string()]);
    assert_eq!(emp.extension_attributes.get("costCenter").map(String::as_str), Some("CC-7"));
    assert_eq!(emp.manager.as_ref().map(|m| m.id.clone()), Some(boss.id.to_string()), "manager defined later in the file");
    assert_eq!(emp.manager.as_ref().and_then(|m| m.display_name.clone()).as_deref(), Some("The Boss"));
    assert!(boss.account_enabled);
    assert_eq!(boss.manager.map(|m| m.id), Some(old_boss.id.to_string()), "manager from the directory");
    assert_eq!(ex.id, existing.id, "an existing UPN updates that user");
    assert_eq!(ex.user_principal_name, "EXISTING@contoso.example");
    assert_eq!(ex.display_name, "Existing Person");
    assert_eq!(ex.department.as_deref(), Some("New"));
    assert_eq!(ex.city.as_deref(), Some("Oslo"), "columns not in the file are kept");
    assert_eq!(ex.manager.map(|m| m.id), Some(old_boss.id.to_string()), "an empty manager cell keeps the manager");
    assert_eq!(directory::get_user(store, &a, &same.id.to_string()).await.unwrap(), same, "unchanged rows are not written");

    // Change log: 2 creates, 1 update, and emp's manager set in a second step.
    let log = changes_since(store, h).await;
    let ops: Vec<(String, ChangeOp)> = log.iter().map(|c| (c.object_id.clone(), c.op)).collect();
    assert_eq!(
        ops,
        vec![
            (emp.id.to_string(), ChangeOp::Create),
            (existing.id.to_string(), ChangeOp::Update),
            (boss.id.to_string(), ChangeOp::Create),
            (emp.id.to_string(), ChangeOp::Update),
        ]
    );
    assert!(log[3].detail.get("managerId").is_some(), "{}", log[3].detail);
    let entries = all_audit(store, AuditQuery { action: Some("user.import".into()), ..Default::default() }).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].details["rows"], 4);

    // Importing the same file again changes nothing, and the preview says so.
    let again = import::preview(store, &a, csv.as_bytes()).await.unwrap();
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    assert_eq!((again.creates, again.updates, again.unchanged), (0, 0, 4), "{:?}", again.rows);
    let h2 = head(store).await;
    import::import(store, &a, csv.as_bytes(), &|_, _| {}).await.unwrap();
    assert_eq!(head(store).await, h2, "a repeated import appends no change");
}

async fn csv_import_is_all_or_nothing(store: &Store) {
    let a = admin();
    create(store, "existing@contoso.example", "Existing").await;
    let users_before = user_count(store).await;
    let h = head(store).await;
    let audits = audit_count(store).await;

    // One bad cell in the second data row (row 3).
    let csv = "userPrincipalName,displayName,mail\n\
               good1@contoso.example,Good One,good1@contoso.example\n\
               bad@contoso.example,Bad Mail,not-an-email\n\
               existing@contoso.example,Renamed,existing@contoso.example\n";
    let preview = import::preview(store, &a, csv.as_bytes()).await.unwrap();
    assert_eq!(preview.errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), vec!["row 3, column mail"]);
    let errs = expect_invalid(import::import(store, &a, csv.as_bytes(), &|_, _| {}).await, "row 3, column mail");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].message.contains("not-an-email"), "{errs:?}");

    // Several problems are all reported, each with its row and column.
    let csv2 = "userPrincipalName,displayName,accountEnabled,manager,usageLocation\n\
                one@contoso.example,One,maybe,,\n\
                two@contoso.example,Two,true,nobody@contoso.example,\n\
                not-a-upn,Three,true,,\n\
                four@contoso.example,Four,true,,NOR\n\
                one@contoso.example,One Again,true,,\n";
    let errs = match import::import(store, &a, csv2.as_bytes(), &|_, _| {}).await {
        Err(ServiceError::Validation(e)) => e,
        other => panic!("expected validation errors, got {other:?}"),
    };
    let fields: BTreeSet<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    for f in [
        "row 2, column accountEnabled",
        "row 3, column manager",
        "row 4, column userPrincipalName",
        "row 5, column usageLocation",
        "row 6, column userPrincipalName",
    ] {
        assert!(fields.contains(f), "{f} missing from {fields:?}");
    }
    // Structural problems.
    expect_invalid(
        import::import(store, &a, b"userPrincipalName,departmnt\nx@contoso.example,Sales\n", &|_, _| {}).await,
        "row 1, column 2",
    );
    expect_invalid(import::import(store, &a, b"displayName\nNo Upn\n", &|_, _| {}).await, "row 1");
    expect_invalid(import::import(store, &a, b"userPrincipalName,displayName\nx@contoso.example\n", &|_, _| {}).await, "row 2");

    assert_eq!(user_count(store).await, users_before, "nothing was written");
    assert_eq!(head(store).await, h, "the change log head is unchanged");
    assert_eq!(audit_count(store).await, audits);
    let mut conn = store.conn().await.unwrap();
    assert!(users::find_by_upn(&mut conn, "good1@contoso.example").await.unwrap().is_none());
    assert_eq!(users::find_by_upn(&mut conn, "existing@contoso.example").await.unwrap().unwrap().display_name, "Existing");
}

// ---------------------------------------------------------------------------------------------------
// Roles

async fn reader_cannot_write(store: &Store) {
    let a = admin();
    let u = create(store, "u@contoso.example", "U").await;
    let g = directory::create_group(store, &a, group_input(json!({"displayName": "G"}))).await.unwrap();
    let (uid, gid) = (u.id.to_string(), g.id.to_string());
    let other_admin = admins::create_admin(store, &Actor::cli(), "bob", "tidy-otter-47-lamps", Role::Reader).await.unwrap();
    let (tok, _) = admins::create_token(store, &Actor::cli(), "ci", Role::Reader).await.unwrap();
    let h = head(store).await;
    let audits = audit_count(store).await;

    let r = actor("rita", Role::Reader);
    let new_user = || input(json!({"userPrincipalName": "n@contoso.example", "displayName": "N"}));
    expect_forbidden(directory::create_user(store, &r, new_user()).await, "create_user");
    expect_forbidden(directory::update_user(store, &r, &uid, input(json!({"city": "Oslo"}))).await, "update_user");
    expect_forbidden(directory::delete_user(store, &r, &uid).await, "delete_user");
    expect_forbidden(directory::restore_user(store, &r, &uid).await, "restore_user");
    expect_forbidden(directory::purge_user(store, &r, &uid).await, "purge_user");
    expect_forbidden(directory::purge_expired(store, &r).await, "purge_expired");
    expect_forbidden(directory::create_group(store, &r, group_input(json!({"displayName": "H"}))).await, "create_group");
    expect_forbidden(directory::update_group(store, &r, &gid, group_input(json!({"displayName": "H"}))).await, "update_group");
    expect_forbidden(directory::delete_group(store, &r, &gid).await, "delete_group");
    expect_forbidden(directory::add_member(store, &r, &gid, &uid).await, "add_member");
    expect_forbidden(directory::remove_member(store, &r, &gid, &uid).await, "remove_member");
    let csv = b"userPrincipalName,displayName\nn@contoso.example,N\n";
    expect_forbidden(import::preview(store, &r, csv).await, "import preview");
    expect_forbidden(import::import(store, &r, csv, &|_, _| {}).await, "import");
    expect_forbidden(admins::list_admins(store, &r).await, "list_admins");
    expect_forbidden(admins::create_admin(store, &r, "eve", "tidy-otter-47-lamps", Role::Administrator).await, "create_admin");
    expect_forbidden(admins::update_admin(store, &r, &other_admin.id.to_string(), Some(Role::Administrator), None).await, "update_admin");
    expect_forbidden(admins::reset_password(store, &r, "bob", "another-long-pass-99").await, "reset_password");
    expect_forbidden(admins::delete_admin(store, &r, &other_admin.id.to_string()).await, "delete_admin");
    expect_forbidden(admins::list_tokens(store, &r).await, "list_tokens");
    expect_forbidden(admins::create_token(store, &r, "x", Role::Administrator).await, "create_token");
    expect_forbidden(admins::revoke_token(store, &r, &tok.id.to_string()).await, "revoke_token");
    // Even a request that would fail validation is refused for its role first.
    expect_forbidden(directory::create_user(store, &r, UserInput::default()).await, "invalid create_user");

    // Reads are allowed.
    assert_eq!(directory::get_user(store, &r, &uid).await.unwrap().id, u.id);
    assert_eq!(directory::list_users(store, &r, &UserQuery::default()).await.unwrap().items.len(), 1);
    assert_eq!(directory::list_groups(store, &r, &GroupQuery::default()).await.unwrap().items.len(), 1);
    assert!(!admins::list_audit(store, &r, &AuditQuery::default()).await.unwrap().items.is_empty());

    // Nothing changed.
    assert_eq!(head(store).await, h);
    assert_eq!(audit_count(store).await, audits);
    assert_eq!(directory::get_user(store, &a, &uid).await.unwrap(), u);
    let mut conn = store.conn().await.unwrap();
    assert!(provisio::store::admins::credentials(&mut conn, "eve").await.unwrap().is_none());
}

async fn application_administrator_cannot_manage_admins(store: &Store) {
    let boss = admins::create_admin(store, &Actor::cli(), "boss", "tidy-otter-47-lamps", Role::Administrator).await.unwrap();
    let (tok, _) = admins::create_token(store, &Actor::cli(), "ci", Role::Reader).await.unwrap();
    let audits = audit_count(store).await;
    let app = actor("appy", Role::ApplicationAdministrator);
    let bid = boss.id.to_string();
    expect_forbidden(admins::list_admins(store, &app).await, "list_admins");
    expect_forbidden(admins::create_admin(store, &app, "eve", "tidy-otter-47-lamps", Role::Administrator).await, "create_admin");
    expect_forbidden(admins::update_admin(store, &app, &bid, Some(Role::Reader), None).await, "update_admin");
    expect_forbidden(admins::update_admin(store, &app, &bid, None, Some(true)).await, "disable admin");
    expect_forbidden(admins::reset_password(store, &app, "boss", "another-long-pass-99").await, "reset_password");
    expect_forbidden(admins::delete_admin(store, &app, &bid).await, "delete_admin");
    expect_forbidden(admins::list_tokens(store, &app).await, "list_tokens");
    expect_forbidden(admins::create_token(store, &app, "mine", Role::ApplicationAdministrator).await, "create_token");
    expect_forbidden(admins::revoke_token(store, &app, &tok.id.to_string()).await, "revoke_token");
    assert_eq!(audit_count(store).await, audits);
    let mut conn = store.conn().await.unwrap();
    let b = provisio::store::admins::get(&mut conn, boss.id).await.unwrap().unwrap();
    assert_eq!((b.role, b.disabled), (Role::Administrator, false));
    drop(conn);

    // But the directory is theirs to change.
    let u =
        directory::create_user(store, &app, input(json!({"userPrincipalName": "n@contoso.example", "displayName": "N"}))).await.unwrap();
    let g = directory::create_group(store, &app, group_input(json!({"displayName": "G"}))).await.unwrap();
    directory::add_member(store, &app, &g.id.to_string(), &u.id.to_string()).await.unwrap();
    let preview = import::preview(store, &app, b"userPrincipalName,displayName\nm@contoso.example,M\n").await.unwrap();
    assert_eq!(preview.creates, 1);
    directory::delete_user(store, &app, &u.id.to_string()).await.unwrap();
    directory::purge_user(store, &app, &u.id.to_string()).await.unwrap();
    let mine = all_audit(store, AuditQuery { actor: Some("appy".into()), ..Default::default() }).await;
    let actions: Vec<&str> = mine.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["user.purge", "user.delete", "group.addMember", "group.create", "user.create"]);
}

// ---------------------------------------------------------------------------------------------------
// Sign-in, tokens, admins

async fn sign_in_and_throttling(store: &Store) {
    let pw = "tidy-otter-47-lamps";
    let alice = admins::create_admin(store, &Actor::cli(), "Alice", pw, Role::Administrator).await.unwrap();
    admins::create_admin(store, &Actor::cli(), "bob", pw, Role::ApplicationAdministrator).await.unwrap();
    assert!(alice.last_sign_in_date_time.is_none());

    // Success (the user name is case-insensitive).
    let a = session::login(store, " alice ", pw, Some("198.51.100.1")).await.unwrap();
    assert_eq!((a.id, a.username.as_str(), a.role), (alice.id, "Alice", Role::Administrator));
    let actor = session::actor_for_admin(store, alice.id, None).await.unwrap().expect("an enabled admin has an actor");
    assert_eq!((actor.name.as_str(), actor.role, actor.admin_id), ("Alice", Role::Administrator, Some(alice.id)));
    let mut conn = store.conn().await.unwrap();
    assert!(provisio::store::admins::get(&mut conn, alice.id).await.unwrap().unwrap().last_sign_in_date_time.is_some());
    drop(conn);

    // Wrong password and unknown user: the same answer.
    let wrong = session::login(store, "alice", "not-the-password", None).await.unwrap_err();
    let unknown = session::login(store, "mallory", pw, None).await.unwrap_err();
    match (&wrong, &unknown) {
        (ServiceError::Unauthorized(m1), ServiceError::Unauthorized(m2)) => {
            assert_eq!(m1, m2);
            assert_eq!(m1, session::BAD_CREDENTIALS);
        }
        other => panic!("expected two Unauthorized errors, got {other:?}"),
    }
    assert_eq!(wrong.public_message(), unknown.public_message());
    assert_eq!(wrong.status(), 401);

    // Five failures lock the account, even for the right password; other accounts are unaffected.
    for i in 0..5 {
        let e = session::login(store, "bob", &format!("wrong-password-{i}"), None).await.unwrap_err();
        assert!(matches!(e, ServiceError::Unauthorized(_)), "attempt {i}: {e:?}");
    }
    match session::login(store, "BOB", pw, None).await {
        Err(ServiceError::Throttled { retry_after_secs }) => {
            assert!(retry_after_secs > 0 && retry_after_secs <= 15 * 60)
        }
        other => panic!("expected Throttled, got {other:?}"),
    }
    session::login(store, "alice", pw, None).await.expect("alice is not locked by bob's failures");

    // Failures are also counted per address.
    for i in 0..5 {
        let _ = session::login(store, &format!("nobody{i}"), "whatever-password", Some("203.0.113.9")).await;
    }
    assert!(matches!(session::login(store, "alice", pw, Some("203.0.113.9")).await, Err(ServiceError::Throttled { .. })));
    session::login(store, "alice", pw, Some("203.0.113.10")).await.expect("another address is not locked");

    // A disabled admin cannot sign in and has no actor.
    let bob = admins::list_admins(store, &Actor::cli()).await.unwrap().into_iter().find(|a| a.username == "bob").unwrap();
    admins::update_admin(store, &Actor::cli(), &bob.id.to_string(), None, Some(true)).await.unwrap();
    assert!(session::actor_for_admin(store, bob.id, None).await.unwrap().is_none());

    // Sign-ins are audited.
    let ok = all_audit(store, AuditQuery { action: Some("admin.signIn".into()), ..Default::default() }).await;
    assert!(ok.iter().any(|e| e.action == "admin.signIn" && e.actor == "Alice" && e.ip.as_deref() == Some("198.51.100.1")));
    let failed = all_audit(store, AuditQuery { action: Some("admin.signInFailed".into()), ..Default::default() }).await;
    assert!(failed.iter().any(|e| e.actor == "mallory"));
    assert_eq!(failed.iter().filter(|e| e.actor == "bob").count(), 5, "the throttled attempt is refused before it is counted");
}

async fn api_tokens(store: &Store) {
    let cli = Actor::cli();
    let (t, secret) = admins::create_token(store, &cli, " deploy bot ", Role::ApplicationAdministrator).await.unwrap();
    assert_eq!(t.name, "deploy bot");
    assert!(secret.starts_with("pvo_") && secret.len() >= 40);
    assert_eq!(t.prefix, secret[..8]);
    assert_eq!(t.created_by, "cli");
    assert!(t.revoked_date_time.is_none() && t.last_used_date_time.is_none());
    expect_invalid(admins::create_token(store, &cli, "  ", Role::Reader).await, "name");
    let (reader_tok, reader_secret) = admins::create_token(store, &cli, "viewer", Role::Reader).await.unwrap();

    let actor = session::actor_for_token(store, &secret, Some("192.0.2.7".into())).await.unwrap().expect("a live token has an actor");
    assert_eq!((actor.name.as_str(), actor.role, actor.admin_id), ("token:deploy bot", Role::ApplicationAdministrator, None));
    let u =
        directory::create_user(store, &actor, input(json!({"userPrincipalName": "t@contoso.example", "displayName": "T"}))).await.unwrap();
    let entries = all_audit(store, AuditQuery { actor: Some("token:deploy bot".into()), ..Default::default() }).await;
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].action.as_str(), entries[0].ip.as_deref()), ("user.create", Some("192.0.2.7")));
    assert_eq!(entries[0].target_id.as_deref(), Some(u.id.to_string().as_str()));
    let viewer = session::actor_for_token(store, &reader_secret, None).await.unwrap().unwrap();
    expect_forbidden(directory::delete_user(store, &viewer, &u.id.to_string()).await, "reader token");

    let listed = admins::list_tokens(store, &cli).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().find(|x| x.id == t.id).unwrap().last_used_date_time.is_some(), "use is recorded");
    assert!(listed.iter().all(|x| x.id == t.id || x.id == reader_tok.id));

    // Wrong, malformed and revoked tokens give no actor.
    assert!(session::actor_for_token(store, &format!("{secret}x"), None).await.unwrap().is_none());
    assert!(session::actor_for_token(store, "pvo_", None).await.unwrap().is_none());
    assert!(session::actor_for_token(store, &secret.replacen("pvo_", "xyz_", 1), None).await.unwrap().is_none());
    admins::revoke_token(store, &cli, &t.id.to_string()).await.unwrap();
    assert!(session::actor_for_token(store, &secret, None).await.unwrap().is_none());
    assert!(session::actor_for_token(store, &reader_secret, None).await.unwrap().is_some(), "other tokens live on");
    let revoked = admins::list_tokens(store, &cli).await.unwrap().into_iter().find(|x| x.id == t.id).unwrap();
    assert!(revoked.revoked_date_time.is_some());
    expect_not_found(admins::revoke_token(store, &cli, &uuid::Uuid::new_v4().to_string()).await);
    let actions: Vec<String> =
        all_audit(store, AuditQuery { action: Some("token.".into()), ..Default::default() }).await.into_iter().map(|e| e.action).collect();
    assert_eq!(actions, vec!["token.revoke", "token.create", "token.create"]);
}

async fn last_administrator_is_protected(store: &Store) {
    let cli = Actor::cli();
    // Several processes sharing the database start at once: exactly one creates the first admin, and
    // none of them fails.
    let (a, b, c, d) = tokio::join!(
        admins::ensure_initial_admin(store, "root", None),
        admins::ensure_initial_admin(store, "root", None),
        admins::ensure_initial_admin(store, "root", None),
        admins::ensure_initial_admin(store, "root", None),
    );
    let mut created: Vec<_> = [a, b, c, d].into_iter().flat_map(|r| r.expect("a racing start-up fails")).collect();
    assert_eq!(created.len(), 1, "exactly one first administrator");
    let (root, pw) = created.pop().expect("no admins yet");
    assert_eq!(root.role, Role::Administrator);
    assert!(admins::ensure_initial_admin(store, "other", None).await.unwrap().is_none(), "only when there is no admin");
    session::login(store, "root", &pw, None).await.expect("the generated password works");
    let rid = root.id.to_string();

    expect_conflict(admins::update_admin(store, &cli, &rid, Some(Role::Reader), None).await, "role");
    expect_conflict(admins::update_admin(store, &cli, &rid, Some(Role::ApplicationAdministrator), None).await, "role");
    expect_conflict(admins::update_admin(store, &cli, &rid, None, Some(true)).await, "role");
    expect_conflict(admins::delete_admin(store, &cli, &rid).await, "id");
    // Other changes to the last Administrator are fine.
    admins::update_admin(store, &cli, &rid, Some(Role::Administrator), Some(false)).await.unwrap();

    // A second Administrator makes the first one demotable; then the second is the last one.
    let second = admins::create_admin(store, &cli, "second", "tidy-otter-47-lamps", Role::Administrator).await.unwrap();
    expect_conflict(admins::create_admin(store, &cli, "SECOND", "tidy-otter-47-lamps", Role::Reader).await, "username");
    expect_invalid(admins::create_admin(store, &cli, "weak", "short", Role::Reader).await, "password");
    expect_invalid(admins::create_admin(store, &cli, "bad name!", "tidy-otter-47-lamps", Role::Reader).await, "username");
    let sid = second.id.to_string();
    let r = admins::update_admin(store, &cli, &rid, Some(Role::Reader), None).await.unwrap();
    assert_eq!(r.role, Role::Reader);
    expect_conflict(admins::update_admin(store, &cli, &sid, None, Some(true)).await, "role");
    expect_conflict(admins::delete_admin(store, &cli, &sid).await, "id");
    // A disabled Administrator does not count.
    admins::update_admin(store, &cli, &rid, Some(Role::Administrator), Some(true)).await.unwrap();
    expect_conflict(admins::update_admin(store, &cli, &sid, Some(Role::Reader), None).await, "role");
    // Nobody deletes their own account.
    let me = Actor { name: "second".into(), role: Role::Administrator, admin_id: Some(second.id), ip: None };
    expect_conflict(admins::delete_admin(store, &me, &sid).await, "id");
    // Deleting the disabled one is fine.
    admins::delete_admin(store, &me, &rid).await.unwrap();
    let left = admins::list_admins(store, &cli).await.unwrap();
    assert_eq!(left.iter().map(|a| a.username.as_str()).collect::<Vec<_>>(), vec!["second"]);
    assert_eq!((left[0].role, left[0].disabled), (Role::Administrator, false));

    // Password reset works and the old password stops working.
    admins::reset_password(store, &cli, "second", "fresh-walrus-88-kites").await.unwrap();
    assert!(matches!(session::login(store, "second", "tidy-otter-47-lamps", None).await, Err(ServiceError::Unauthorized(_))));
    session::login(store, "second", "fresh-walrus-88-kites", None).await.unwrap();
}

// ---------------------------------------------------------------------------------------------------
// Audit

async fn audit_log(store: &Store) {
    let carol = Actor { name: "carol".into(), role: Role::Administrator, admin_id: None, ip: Some("198.51.100.23".into()) };
    let dave = actor("dave", Role::ApplicationAdministrator);
    let u = directory::create_user(store, &carol, input(json!({"userPrincipalName": "au@contoso.example", "displayName": "Au"})))
        .await
        .unwrap();
    let uid = u.id.to_string();
    directory::update_user(store, &carol, &uid, input(json!({"department": "Legal"}))).await.unwrap();
    directory::delete_user(store, &carol, &uid).await.unwrap();
    directory::restore_user(store, &dave, &uid).await.unwrap();
    let g = directory::create_group(store, &dave, group_input(json!({"displayName": "Audited"}))).await.unwrap();
    let gid = g.id.to_string();
    directory::update_group(store, &carol, &gid, group_input(json!({"description": "x"}))).await.unwrap();
    directory::add_member(store, &carol, &gid, &uid).await.unwrap();
    directory::remove_member(store, &dave, &gid, &uid).await.unwrap();
    directory::delete_group(store, &carol, &gid).await.unwrap();
    directory::delete_user(store, &dave, &uid).await.unwrap();
    directory::purge_user(store, &carol, &uid).await.unwrap();
    // Failed writes are not audited.
    let _ = directory::create_user(store, &carol, input(json!({"userPrincipalName": "bad", "displayName": "Bad"}))).await.unwrap_err();

    let all = all_audit(store, AuditQuery::default()).await;
    let got: Vec<(&str, &str)> = all.iter().map(|e| (e.actor.as_str(), e.action.as_str())).collect();
    assert_eq!(
        got,
        vec![
            ("carol", "user.purge"),
            ("dave", "user.delete"),
            ("carol", "group.delete"),
            ("dave", "group.removeMember"),
            ("carol", "group.addMember"),
            ("carol", "group.update"),
            ("dave", "group.create"),
            ("dave", "user.restore"),
            ("carol", "user.delete"),
            ("carol", "user.update"),
            ("carol", "user.create"),
        ],
        "newest first"
    );
    assert!(all.windows(2).all(|w| w[0].id > w[1].id && w[0].at >= w[1].at));
    for e in &all {
        let (id, ty) = if e.action.starts_with("user.") { (&uid, "user") } else { (&gid, "group") };
        assert_eq!(e.target_id.as_deref(), Some(id.as_str()), "{e:?}");
        assert_eq!(e.target_type, ty);
        let ip = if e.actor == "carol" { "198.51.100.23" } else { "192.0.2.10" };
        assert_eq!(e.ip.as_deref(), Some(ip));
    }
    let create = all.last().unwrap();
    assert_eq!(create.target_name.as_deref(), Some("au@contoso.example"));
    assert_eq!(create.details["after"]["displayName"], "Au");
    assert_eq!(all[9].details["changes"]["department"]["new"], "Legal");
    assert_eq!(all[4].details["memberId"], uid.as_str());

    // Filters: action prefix, exact action, actor, target.
    let actions = |q: AuditQuery| async move { all_audit(store, q).await.into_iter().map(|e| e.action).collect::<Vec<_>>() };
    assert_eq!(
        actions(AuditQuery { action: Some("user.".into()), ..Default::default() }).await,
        vec!["user.purge", "user.delete", "user.restore", "user.delete", "user.update", "user.create"]
    );
    assert_eq!(actions(AuditQuery { action: Some("group.".into()), ..Default::default() }).await.len(), 5);
    assert_eq!(actions(AuditQuery { action: Some("user.delete".into()), ..Default::default() }).await, vec!["user.delete", "user.delete"]);
    assert_eq!(actions(AuditQuery { action: Some("group.add".into()), ..Default::default() }).await, vec!["group.addMember"]);
    assert!(actions(AuditQuery { action: Some("admin.".into()), ..Default::default() }).await.is_empty());
    assert_eq!(
        actions(AuditQuery { actor: Some("dave".into()), ..Default::default() }).await,
        vec!["user.delete", "group.removeMember", "group.create", "user.restore"]
    );
    assert_eq!(
        actions(AuditQuery { actor: Some("dave".into()), action: Some("group.".into()), ..Default::default() }).await,
        vec!["group.removeMember", "group.create"]
    );
    assert_eq!(actions(AuditQuery { target_id: Some(gid.clone()), ..Default::default() }).await.len(), 5);

    // Paging: small pages give the same entries, with no overlap.
    for top in [1, 2, 4] {
        let mut q = AuditQuery { top: Some(top), ..Default::default() };
        let first = admins::list_audit(store, &carol, &q).await.unwrap();
        assert_eq!(first.items.len(), top as usize);
        assert!(first.next_cursor.is_some());
        q.after = first.next_cursor;
        let rest = all_audit(store, q).await;
        assert_eq!([first.items, rest].concat(), all, "top={top}");
    }
    let user_pages = all_audit(store, AuditQuery { action: Some("user.".into()), top: Some(4), ..Default::default() }).await;
    assert_eq!(user_pages.len(), 6);
    expect_invalid(admins::list_audit(store, &carol, &AuditQuery { after: Some("junk".into()), ..Default::default() }).await, "after");
    expect_invalid(
        admins::list_audit(store, &carol, &AuditQuery { after: Some(query::encode_cursor(&["not-a-number"])), ..Default::default() }).await,
        "after",
    );
}
