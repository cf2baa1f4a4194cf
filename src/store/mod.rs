//! The store: one sqlx `Any` pool over SQLite (default, WAL) or PostgreSQL, chosen by URL.
//!
//! The SQL is written once in the dialect both backends accept (`$n` placeholders, `RETURNING`,
//! `ON CONFLICT`); times are Unix milliseconds and ids UUID text so that the `Any` driver's small type
//! set suffices. Each submodule holds the queries for one table family; every function that writes takes
//! a connection (normally a transaction that the service layer opened), so a multi-row change is one
//! transaction.

pub mod admins;
pub mod alerts;
pub mod apps;
pub mod audit;
pub mod changes;
pub mod groups;
pub mod log_stats;
pub mod query;
pub mod sessions;
pub mod sync;
pub mod throttle;
pub mod users;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Connection, Executor, Transaction};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// A store error. Conflicts and missing rows are separate so the service layer can map them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A row holds data the code cannot read (a bug or a hand edit).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The URL names a database this build does not support.
    #[error("unsupported DATABASE_URL scheme in '{0}': use sqlite:// or postgres://")]
    UnsupportedUrl(String),
}

impl StoreError {
    /// Whether the database refused a write because it would break a unique constraint (for example,
    /// two processes sharing the database inserting the same row at once).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Db(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

/// Result of a store call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database the store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (embedded, WAL mode).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The connection pool and its backend.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Leave to keep a connection of the pool for a long run of writes ([`Store::writer`]).
    writers: Arc<tokio::sync::Semaphore>,
}

/// How many connections long runs of writes may keep out of the pool at once: the rest stay free for
/// the reads those runs make and for everything else.
const KEPT_WRITERS: usize = 2;

/// A pool connection kept by one long run of writes ([`Store::writer`]); back to the pool when
/// dropped.
#[derive(Debug)]
pub struct Writer {
    /// The connection, for [`Store::begin_on`].
    pub conn: sqlx::pool::PoolConnection<sqlx::Any>,
    _leave: tokio::sync::OwnedSemaphorePermit,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://…`), creating a SQLite file if missing, and
    /// applies the migrations.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.split('@').next_back().unwrap_or("").to_string()));
        };
        let mut url = url.to_string();
        if backend == Backend::Sqlite && !url.contains("mode=") && !url.contains(":memory:") {
            url.push_str(if url.contains('?') { "&mode=rwc" } else { "?mode=rwc" });
        }
        let opts = AnyConnectOptions::from_str(&url)?;
        let max = if backend == Backend::Sqlite { 8 } else { 10 };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // A 32 MiB page cache per connection (SQLite's default is 2 MiB): the sync engine's
                        // tables are keyed by random UUIDs, and once they outgrow the cache every insert
                        // reads pages from disk, which made a 100,000-user cycle superlinear.
                        // Checkpoints at 8,192 WAL pages (32 MiB) instead of 1,000: a page of a sync cycle
                        // writes about that much, and each checkpoint copied the same index pages again.
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 8192;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        let store = Store { pool, backend, writers: Arc::new(tokio::sync::Semaphore::new(KEPT_WRITERS)) };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&mut *conn).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&mut *conn).await?,
        }
        Ok(())
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for reads outside a transaction.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A pooled connection, for a series of reads.
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// Starts a transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`) so that two
    /// writers never deadlock upgrading a read lock.
    pub async fn begin(&self) -> Result<Transaction<'static, sqlx::Any>> {
        let conn = self.pool.acquire().await?;
        let tx = match self.backend {
            Backend::Sqlite => Transaction::begin(conn, Some("BEGIN IMMEDIATE".into())).await?,
            Backend::Postgres => Transaction::begin(conn, None).await?,
        };
        Ok(tx)
    }

    /// A connection to keep for a long run of writes, unless [`KEPT_WRITERS`] are kept already (then
    /// the caller writes through the pool as usual).
    pub async fn writer(&self) -> Option<Writer> {
        let leave = self.writers.clone().try_acquire_owned().ok()?;
        let conn = self.pool.acquire().await.ok()?;
        Some(Writer { conn, _leave: leave })
    }

    /// Starts a transaction as [`Store::begin`] does, on a connection the caller keeps between
    /// transactions. On SQLite a connection that committed last keeps its page cache (another
    /// connection's commit empties it), so a long run of writes through one connection does not read
    /// its B-tree pages back for every transaction.
    pub async fn begin_on<'c>(&self, conn: &'c mut sqlx::pool::PoolConnection<sqlx::Any>) -> Result<Transaction<'c, sqlx::Any>> {
        let tx = match self.backend {
            Backend::Sqlite => Transaction::begin(&mut **conn, Some("BEGIN IMMEDIATE".into())).await?,
            Backend::Postgres => Transaction::begin(&mut **conn, None).await?,
        };
        Ok(tx)
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Runs `f` in a transaction and commits if it succeeds; rolls back (drops) otherwise.
pub async fn with_tx<T, E, F>(store: &Store, f: F) -> std::result::Result<T, E>
where
    E: From<StoreError>,
    F: for<'c> FnOnce(&'c mut AnyConnection) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::result::Result<T, E>> + Send + 'c>>,
{
    let mut tx = store.begin().await.map_err(E::from)?;
    let out = f(&mut tx).await?;
    tx.commit().await.map_err(|e| E::from(StoreError::Db(e)))?;
    Ok(out)
}

/// Reads a boolean column. The `Any` driver cannot read SQLite columns declared `BOOLEAN` (it refuses
/// the declared type, and SQLite hands back integers that `bool` will not decode from), so queries
/// select booleans as `CAST(col AS INTEGER) AS col`; this accepts that, or a native boolean.
pub(crate) fn get_bool(r: &sqlx::any::AnyRow, col: &str) -> Result<bool> {
    use sqlx::Row;
    match r.try_get::<i64, _>(col) {
        Ok(i) => Ok(i != 0),
        Err(_) => Ok(r.try_get::<bool, _>(col)?),
    }
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Unix milliseconds to a UTC time.
pub fn ms_to_dt(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// A new random id.
pub fn new_uuid() -> uuid::Uuid {
    uuid::Uuid::new_v4()
}

/// Unused-connection helper so `Connection` stays imported for `Transaction::begin`.
#[allow(dead_code)]
fn _assert_conn<C: Connection>() {}
