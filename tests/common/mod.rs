//! The two-database harness of the store tests: a fresh SQLite file or a fresh PostgreSQL database per
//! test (on `PROVISIO_TEST_PG_ADMIN_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`;
//! `PROVISIO_TEST_SKIP_PG=1` skips), removed afterwards, and `dual_backend!`, which instantiates an
//! `async fn(&Store)` as `<name>_sqlite` and `<name>_postgres`.

use provisio::store::{Backend, Store};
use sqlx::Connection;
use std::path::PathBuf;

/// Where the PostgreSQL tests create their databases unless `PROVISIO_TEST_PG_ADMIN_URL` says otherwise.
pub const DEFAULT_PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Removes the database behind a test store when dropped, also when the test panics.
pub enum Cleanup {
    Sqlite(PathBuf),
    Postgres { admin_url: String, db: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::Postgres { admin_url, db } => {
                // Drop runs inside the test's runtime, which cannot be blocked on: use a thread with its own.
                let (admin_url, db) = (admin_url.clone(), db.clone());
                let dropper = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                    rt.block_on(async move {
                        match sqlx::PgConnection::connect(&admin_url).await {
                            Ok(mut c) => {
                                if let Err(e) =
                                    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)")).execute(&mut c).await
                                {
                                    eprintln!("could not drop test database {db}: {e}");
                                }
                                let _ = c.close().await;
                            }
                            Err(e) => {
                                eprintln!("could not connect to drop test database {db}: {e}")
                            }
                        }
                    })
                });
                let _ = dropper.join();
            }
        }
    }
}

/// A store on a fresh database, and what removes that database.
pub struct TestDb {
    /// The store under test.
    pub store: Store,
    _cleanup: Cleanup,
}

impl TestDb {
    /// A store on a fresh SQLite file.
    pub async fn sqlite() -> TestDb {
        let path = std::env::temp_dir().join(format!("provisio-test-{}.db", uuid::Uuid::new_v4().simple()));
        let cleanup = Cleanup::Sqlite(path.clone());
        let store = Store::open(&format!("sqlite://{}", path.display())).await.expect("open SQLite store");
        assert_eq!(store.backend(), Backend::Sqlite);
        TestDb { store, _cleanup: cleanup }
    }

    /// `None` when `PROVISIO_TEST_SKIP_PG=1`.
    pub async fn postgres(test: &str) -> Option<TestDb> {
        if std::env::var("PROVISIO_TEST_SKIP_PG").is_ok_and(|v| v == "1") {
            println!("{test}: skipped (PROVISIO_TEST_SKIP_PG=1)");
            return None;
        }
        let admin_url = std::env::var("PROVISIO_TEST_PG_ADMIN_URL").unwrap_or_else(|_| DEFAULT_PG_ADMIN_URL.to_string());
        let db = format!("provisio_t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {admin_url} ({e}); set PROVISIO_TEST_PG_ADMIN_URL, or PROVISIO_TEST_SKIP_PG=1"));
        sqlx::raw_sql(&format!("CREATE DATABASE \"{db}\"")).execute(&mut admin).await.expect("CREATE DATABASE");
        let _ = admin.close().await;
        let cleanup = Cleanup::Postgres { admin_url: admin_url.clone(), db: db.clone() };
        let store = Store::open(&with_database(&admin_url, &db)).await.expect("open Postgres store");
        assert_eq!(store.backend(), Backend::Postgres);
        Some(TestDb { store, _cleanup: cleanup })
    }

    /// Closes the store (its database is removed when `self` drops).
    pub async fn finish(self) {
        self.store.close().await;
    }
}

/// The URL `url` with its database name replaced by `db` (query string kept).
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => format!("{}/{db}", &base[..scheme_end + i]),
        None => format!("{base}/{db}"),
    };
    match query {
        Some(q) => format!("{base}?{q}"),
        None => base,
    }
}

/// Instantiates each `async fn(&Store)` as a SQLite and a PostgreSQL test.
#[macro_export]
macro_rules! dual_backend {
    ($($body:ident => $sqlite:ident, $postgres:ident;)*) => {
        $(
            #[tokio::test]
            async fn $sqlite() {
                let db = TestDb::sqlite().await;
                $body(&db.store).await;
                db.finish().await;
            }

            #[tokio::test]
            async fn $postgres() {
                let Some(db) = TestDb::postgres(stringify!($postgres)).await else { return };
                $body(&db.store).await;
                db.finish().await;
            }
        )*
    };
}
