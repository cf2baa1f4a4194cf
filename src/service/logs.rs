//! Provisioning logs beyond one app's list (`provisioning::logs`): every app's logs in one list, one
//! entry by id (the portal's detail drawer), and the activity per cycle that the logs chart draws.
//! Read-only: every role may read them, as it may read one app's logs.

use super::{cursor_err, Actor, Result, ServiceError};
use crate::apps::AppId;
use crate::model::Page;
use crate::store::log_stats::{self, CycleActivity};
use crate::store::{apps as store_apps, Store};
use crate::sync::log::{LogEntry, LogQuery};
use chrono::{DateTime, Utc};

fn app_id(id: &str) -> Result<AppId> {
    AppId::parse(id.trim()).map_err(|_| ServiceError::NotFound { what: "app", id: id.to_string() })
}

/// Log entries of every app, newest first, filtered and keyset-paged like one app's logs.
pub async fn logs_all(store: &Store, _actor: &Actor, q: &LogQuery) -> Result<Page<LogEntry>> {
    let mut c = store.conn().await?;
    log_stats::list_all_logs(&mut c, q).await.map_err(cursor_err)
}

/// One log entry by id.
pub async fn entry(store: &Store, _actor: &Actor, id: &str) -> Result<LogEntry> {
    let mut c = store.conn().await?;
    log_stats::get_log(&mut c, id.trim()).await?.ok_or_else(|| ServiceError::NotFound { what: "log entry", id: id.to_string() })
}

/// What the last `cycles` cycles of app `id` did (oldest first), counting entries at or after `since`.
pub async fn activity(store: &Store, _actor: &Actor, id: &str, since: DateTime<Utc>, cycles: u32) -> Result<Vec<CycleActivity>> {
    let aid = app_id(id)?;
    let mut c = store.conn().await?;
    if store_apps::get(&mut c, aid).await?.is_none() {
        return Err(ServiceError::NotFound { what: "app", id: id.to_string() });
    }
    Ok(log_stats::cycle_activity(&mut c, &aid.to_string(), since.timestamp_millis(), cycles).await?)
}
