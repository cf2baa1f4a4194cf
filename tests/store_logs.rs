//! The provisioning-logs queries of `store::log_stats` (activity per cycle for the chart, every app's
//! logs in one keyset-paged list, one entry by id) against both backends, as `tests/store.rs` runs
//! its suite: `<name>_sqlite` on a fresh SQLite file, `<name>_postgres` on a fresh database on
//! `PROVISIO_TEST_PG_ADMIN_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! `PROVISIO_TEST_SKIP_PG=1` skips the PostgreSQL variants.

use chrono::{TimeZone, Utc};
use provisio::store::log_stats::{self, CycleActivity};
use provisio::store::{sync as st, Backend, Store};
use provisio::sync::log::{LogAction, LogDetail, LogEntry, LogQuery, LogStatus, Step};
use sqlx::Row;
use std::collections::HashSet;

mod common;
use common::TestDb;

dual_backend! {
    cycle_activity_counts_the_last_cycles => cycle_activity_counts_the_last_cycles_sqlite, cycle_activity_counts_the_last_cycles_postgres;
    all_apps_logs_page_and_filter => all_apps_logs_page_and_filter_sqlite, all_apps_logs_page_and_filter_postgres;
}

const APP_A: &str = "6f1c2a4e-0000-4000-8000-00000000000a";
const APP_B: &str = "6f1c2a4e-0000-4000-8000-00000000000b";

fn entry(app: &str, cycle: &str, i: usize, at_ms: i64, action: LogAction, status: LogStatus) -> LogEntry {
    LogEntry {
        id: uuid::Uuid::new_v4().to_string(),
        app_id: app.to_string(),
        cycle_id: cycle.to_string(),
        at: Utc.timestamp_millis_opt(at_ms).unwrap(),
        source_id: format!("src-{app}-{cycle}-{i}"),
        object_type: "user".into(),
        display_name: format!("User {i:04}"),
        target_id: Some(format!("t-{i}")),
        action,
        status,
        error_code: (status == LogStatus::Failure).then(|| "SystemForCrossDomainIdentityManagementBadRequest".to_string()),
        detail: LogDetail { steps: vec![Step::new("Export", status != LogStatus::Failure, "sent")], ..Default::default() },
    }
}

/// Cycle `c1` (old, 600 creates), `c2` (20 updates, 5 failed creates, 3 disables, 2 deletes, 4 skips),
/// `c3` (1 update, 1 staged delete) for app A; 30 creates in `b1` for app B.
async fn seed(store: &Store) -> Vec<LogEntry> {
    let t0 = 1_790_000_000_000i64;
    let mut all = Vec::new();
    for i in 0..600 {
        all.push(entry(APP_A, "c1", i, t0 + i as i64, LogAction::Create, LogStatus::Success));
    }
    let t1 = t0 + 3_600_000;
    let mut i = 0;
    let mut push = |all: &mut Vec<LogEntry>, app: &str, cycle: &str, t: i64, n: usize, a: LogAction, s: LogStatus| {
        for _ in 0..n {
            i += 1;
            // Several entries share a millisecond, so the id breaks ties.
            all.push(entry(app, cycle, i, t + (i as i64 / 3), a, s));
        }
    };
    push(&mut all, APP_A, "c2", t1, 20, LogAction::Update, LogStatus::Success);
    push(&mut all, APP_A, "c2", t1, 5, LogAction::Create, LogStatus::Failure);
    push(&mut all, APP_A, "c2", t1, 3, LogAction::Disable, LogStatus::Success);
    push(&mut all, APP_A, "c2", t1, 2, LogAction::Delete, LogStatus::Success);
    push(&mut all, APP_A, "c2", t1, 4, LogAction::Skip, LogStatus::Skipped);
    push(&mut all, APP_A, "c3", t1 + 3_600_000, 1, LogAction::Update, LogStatus::Warning);
    push(&mut all, APP_A, "c3", t1 + 3_600_000, 1, LogAction::StagedDelete, LogStatus::Success);
    push(&mut all, APP_B, "b1", t1 + 60_000, 30, LogAction::Create, LogStatus::Success);
    let mut tx = store.begin().await.unwrap();
    st::insert_logs(&mut tx, &all).await.unwrap();
    tx.commit().await.unwrap();
    all
}

async fn cycle_activity_counts_the_last_cycles(store: &Store) {
    seed(store).await;
    let mut c = store.conn().await.unwrap();
    let all = log_stats::cycle_activity(&mut c, APP_A, 0, 10).await.unwrap();
    assert_eq!(all.iter().map(|a| a.cycle_id.as_str()).collect::<Vec<_>>(), ["c1", "c2", "c3"], "oldest first");
    assert_eq!((all[0].creates, all[0].total, all[0].failures), (600, 600, 0));
    let c2 = &all[1];
    let want = CycleActivity {
        cycle_id: "c2".into(),
        first_at: c2.first_at,
        last_at: c2.last_at,
        creates: 0,
        updates: 20,
        disables: 3,
        deletes: 2,
        staged: 0,
        skips: 4,
        other: 0,
        failures: 5,
        total: 34,
    };
    assert_eq!(c2, &want);
    assert!(c2.first_at < c2.last_at);
    assert_eq!((all[2].updates, all[2].staged, all[2].total), (1, 1, 2));

    // The last two cycles only; and a time bound that leaves c1 out.
    let last2 = log_stats::cycle_activity(&mut c, APP_A, 0, 2).await.unwrap();
    assert_eq!(last2.iter().map(|a| a.cycle_id.as_str()).collect::<Vec<_>>(), ["c2", "c3"]);
    let since = all[1].first_at.timestamp_millis();
    let recent = log_stats::cycle_activity(&mut c, APP_A, since, 10).await.unwrap();
    assert_eq!(recent.iter().map(|a| a.cycle_id.as_str()).collect::<Vec<_>>(), ["c2", "c3"]);
    // Another app's entries never count.
    let b = log_stats::cycle_activity(&mut c, APP_B, 0, 10).await.unwrap();
    assert_eq!((b.len(), b[0].creates), (1, 30));
    assert!(log_stats::cycle_activity(&mut c, "no-such-app", 0, 10).await.unwrap().is_empty());

    // The chart's GROUP BY reads the (app_id, at, id) index, not the table from end to end.
    let sql = log_stats::cycle_activity_sql();
    let plan: Vec<String> = match store.backend() {
        Backend::Sqlite => sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
            .bind(APP_A)
            .bind(0i64)
            .bind(10i64)
            .fetch_all(&mut *c)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String, _>("detail").unwrap())
            .collect(),
        Backend::Postgres => {
            // With this few rows the planner may prefer a sequential scan; forbid it to see the index path.
            sqlx::query("SET enable_seqscan = off").execute(&mut *c).await.unwrap();
            let sql = sql.replace("$1", &format!("'{APP_A}'")).replace("$2", "0").replace("$3", "10");
            let rows = sqlx::query(&format!("EXPLAIN {sql}")).fetch_all(&mut *c).await.unwrap();
            sqlx::query("SET enable_seqscan = on").execute(&mut *c).await.unwrap();
            rows.iter().map(|r| r.try_get::<String, _>(0).unwrap()).collect()
        }
    };
    let plan = plan.join("\n");
    println!("{plan}");
    assert!(plan.contains("provisioning_logs_app"), "the chart query must use the (app_id, at, id) index:\n{plan}");
    assert!(!plan.contains("SCAN provisioning_logs\n") && !plan.ends_with("SCAN provisioning_logs"), "{plan}");
}

async fn all_apps_logs_page_and_filter(store: &Store) {
    let seeded = seed(store).await;
    let mut c = store.conn().await.unwrap();
    // Every entry of both apps, newest first, exactly once, across pages that split equal times.
    let mut q = LogQuery { top: Some(7), ..Default::default() };
    let (mut seen, mut pages, mut last) = (Vec::new(), 0, None);
    loop {
        let page = log_stats::list_all_logs(&mut c, &q).await.unwrap();
        pages += 1;
        for e in &page.items {
            if let Some((at, id)) = &last {
                assert!((e.at, &e.id) < (*at, id), "newest first, ties by id");
            }
            last = Some((e.at, e.id.clone()));
        }
        seen.extend(page.items.into_iter().map(|e| e.id));
        match page.next_cursor {
            Some(cur) => q.after = Some(cur),
            None => break,
        }
    }
    assert_eq!(seen.len(), seeded.len());
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seeded.len());
    assert_eq!(pages, seeded.len().div_ceil(7));

    // Filters as for one app: status, action, identity (name prefix, source id), time, cycle.
    let count = |q: LogQuery| {
        let q = LogQuery { top: Some(1000), ..q };
        async move { log_stats::list_all_logs(&mut store.conn().await.unwrap(), &q).await.unwrap().items }
    };
    let failed = count(LogQuery { status: Some(LogStatus::Failure), ..Default::default() }).await;
    assert_eq!(failed.len(), 5);
    assert!(failed.iter().all(|e| e.error_code.is_some() && e.detail.steps.len() == 1));
    let creates = count(LogQuery { action: Some(LogAction::Create), ..Default::default() }).await;
    assert_eq!(creates.len(), 635);
    assert_eq!(count(LogQuery { cycle_id: Some("b1".into()), ..Default::default() }).await.len(), 30);
    assert_eq!(count(LogQuery { identity: Some("User 059".into()), ..Default::default() }).await.len(), 10);
    let one = &seeded[42];
    let by_source = count(LogQuery { identity: Some(one.source_id.clone()), ..Default::default() }).await;
    assert_eq!(by_source.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), [one.id.as_str()]);
    let since = seeded[600].at;
    assert_eq!(count(LogQuery { since: Some(since), ..Default::default() }).await.len(), seeded.len() - 600);
    assert_eq!(count(LogQuery { until: Some(since), ..Default::default() }).await.len(), 600);
    assert!(log_stats::list_all_logs(&mut c, &LogQuery { after: Some("nonsense".into()), ..Default::default() }).await.is_err());

    // One entry by id, whole.
    let got = log_stats::get_log(&mut c, &one.id).await.unwrap().expect("found");
    assert_eq!(&got, one);
    assert!(log_stats::get_log(&mut c, "missing").await.unwrap().is_none());
}
