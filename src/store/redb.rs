//! [`RedbStore`]: the embedded default backend, one [redb](https://docs.rs/redb) file.
//!
//! redb is a pure-Rust, copy-on-write B-tree store with ACID transactions and crash safety: no
//! server, no C library, no set-up. Profile learning commits durably (fsync before returning);
//! activity counters commit with `Durability::None` and are made durable by the next durable
//! commit or at most every [`FLUSH_INTERVAL_MS`] ms, so a crash loses at most that much velocity
//! history and never any profile.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{Durability, KvRead, KvWrite, ProfileStore, StoreError, Table};

/// Longest time relaxed commits stay unflushed, ms.
pub const FLUSH_INTERVAL_MS: i64 = 1_000;

fn def(table: Table) -> TableDefinition<'static, &'static [u8], &'static [u8]> {
    TableDefinition::new(table.name())
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// A redb database file holding every table.
pub struct RedbStore {
    db: Database,
    last_flush_ms: AtomicI64,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedbStore")
    }
}

impl RedbStore {
    /// Opens or creates the database at `path` (its directory is created if needed).
    pub fn open(path: &Path) -> Result<RedbStore, StoreError> {
        let open_err = |problem: String| StoreError::Open {
            path: path.display().to_string(),
            problem,
        };
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
        }
        let db = Database::create(path).map_err(|e| open_err(e.to_string()))?;
        let txn = db.begin_write().map_err(|e| open_err(e.to_string()))?;
        for t in Table::ALL {
            txn.open_table(def(t))
                .map_err(|e| open_err(e.to_string()))?;
        }
        txn.commit().map_err(|e| open_err(e.to_string()))?;
        Ok(RedbStore {
            db,
            last_flush_ms: AtomicI64::new(now_ms()),
        })
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

struct Reader {
    txn: redb::ReadTransaction,
}

impl KvRead for Reader {
    fn get(&mut self, table: Table, key: &[u8; 16]) -> Result<Option<Vec<u8>>, StoreError> {
        let t = self.txn.open_table(def(table)).map_err(backend)?;
        Ok(t.get(key.as_slice())
            .map_err(backend)?
            .map(|v| v.value().to_vec()))
    }
}

struct Writer<'a> {
    txn: &'a redb::WriteTransaction,
}

impl KvRead for Writer<'_> {
    fn get(&mut self, table: Table, key: &[u8; 16]) -> Result<Option<Vec<u8>>, StoreError> {
        let t = self.txn.open_table(def(table)).map_err(backend)?;
        let v = t
            .get(key.as_slice())
            .map_err(backend)?
            .map(|v| v.value().to_vec());
        Ok(v)
    }
}

impl KvWrite for Writer<'_> {
    fn put(&mut self, table: Table, key: &[u8; 16], value: &[u8]) -> Result<(), StoreError> {
        let mut t = self.txn.open_table(def(table)).map_err(backend)?;
        t.insert(key.as_slice(), value).map_err(backend)?;
        Ok(())
    }

    fn remove(&mut self, table: Table, key: &[u8; 16]) -> Result<(), StoreError> {
        let mut t = self.txn.open_table(def(table)).map_err(backend)?;
        t.remove(key.as_slice()).map_err(backend)?;
        Ok(())
    }
}

impl ProfileStore for RedbStore {
    fn read(
        &self,
        f: &mut dyn FnMut(&mut dyn KvRead) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        f(&mut Reader { txn })
    }

    fn write(
        &self,
        durability: Durability,
        f: &mut dyn FnMut(&mut dyn KvWrite) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(backend)?;
        let now = now_ms();
        let durable = durability == Durability::Durable
            || now - self.last_flush_ms.load(Ordering::Relaxed) >= FLUSH_INTERVAL_MS;
        txn.set_durability(if durable {
            redb::Durability::Immediate
        } else {
            redb::Durability::None
        })
        .map_err(backend)?;
        match f(&mut Writer { txn: &txn }) {
            Ok(()) => {
                txn.commit().map_err(backend)?;
                if durable {
                    self.last_flush_ms.store(now, Ordering::Relaxed);
                }
                Ok(())
            }
            Err(e) => {
                txn.abort().map_err(backend)?;
                Err(e)
            }
        }
    }
}
