//! The session store for tower-sessions, kept in Provisio's database (so every process shares it).

use async_trait::async_trait;
use provisio::store::{sessions, Store};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};

/// Sessions in the `sessions` table.
#[derive(Clone, Debug)]
pub struct DbSessionStore(pub Store);

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

fn expiry_ms(r: &Record) -> i64 {
    (r.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        let mut conn = self.0.conn().await.map_err(backend)?;
        loop {
            let data = serde_json::to_string(&record).map_err(|e| Error::Encode(e.to_string()))?;
            if sessions::create(&mut conn, &record.id.to_string(), &data, expiry_ms(record)).await.map_err(backend)? {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let data = serde_json::to_string(record).map_err(|e| Error::Encode(e.to_string()))?;
        let mut conn = self.0.conn().await.map_err(backend)?;
        sessions::save(&mut conn, &record.id.to_string(), &data, expiry_ms(record)).await.map_err(backend)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let mut conn = self.0.conn().await.map_err(backend)?;
        match sessions::load(&mut conn, &id.to_string()).await.map_err(backend)? {
            Some(data) => Ok(Some(serde_json::from_str(&data).map_err(|e| Error::Decode(e.to_string()))?)),
            None => Ok(None),
        }
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        let mut conn = self.0.conn().await.map_err(backend)?;
        sessions::delete(&mut conn, &id.to_string()).await.map_err(backend)
    }
}
