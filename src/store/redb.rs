//! [`RedbStore`]: the embedded default backend, one [redb](https://docs.rs/redb) file.
//!
//! redb is a pure-Rust, copy-on-write B-tree store with ACID transactions and crash safety: no
//! server, no C library, no set-up. Writes come in two durabilities:
//! - **Durable** (profile learning): committed and fsynced before `write` returns.
//! - **Relaxed** (the activity ledger written by every `score`): applied atomically to an
//!   in-memory overlay that every read consults first, and flushed to the file in one
//!   transaction at least every [`FLUSH_INTERVAL_MS`] ms (by a background thread), at every
//!   durable commit, and on drop. A crash loses at most that much velocity history, never a
//!   profile. This keeps `score` at memory speed instead of one commit per request.

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{Durability, KvRead, KvWrite, ProfileStore, StoreError, Table, Visitor};

/// Longest time relaxed writes stay only in memory, ms.
pub const FLUSH_INTERVAL_MS: u64 = 1_000;
/// Overlay size that triggers a flush from the writer itself.
const MAX_DIRTY: usize = 50_000;

type Key = (u8, [u8; 16]);

const TABLES: [Table; 5] = Table::ALL;

fn def(table: Table) -> TableDefinition<'static, &'static [u8], &'static [u8]> {
    TableDefinition::new(table.name())
}

fn table_of(id: u8) -> Table {
    TABLES
        .into_iter()
        .find(|t| *t as u8 == id)
        .unwrap_or(Table::Pending)
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

struct Inner {
    db: Database,
    /// Relaxed writes not yet in the file: `None` marks a removal.
    dirty: RwLock<HashMap<Key, Option<Vec<u8>>>>,
}

/// A redb database file holding every table, with a write-behind overlay for relaxed writes.
pub struct RedbStore {
    inner: Arc<Inner>,
    stop: Option<Sender<()>>,
    flusher: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedbStore")
    }
}

impl RedbStore {
    /// Opens or creates the database at `path` (its directory is created if needed) and starts
    /// the flusher thread.
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
        let inner = Arc::new(Inner {
            db,
            dirty: RwLock::new(HashMap::new()),
        });
        let (stop, stopped) = std::sync::mpsc::channel();
        let shared = Arc::clone(&inner);
        let flusher = std::thread::Builder::new()
            .name("tessera-redb-flush".into())
            .spawn(move || flusher(&shared, &stopped))
            .map_err(|e| open_err(e.to_string()))?;
        Ok(RedbStore {
            inner,
            stop: Some(stop),
            flusher: Some(flusher),
        })
    }

    /// Writes the overlay to the file now (durably).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush()
    }
}

/// Flushes every interval until the store is dropped (the sender disconnects).
fn flusher(inner: &Inner, stopped: &Receiver<()>) {
    while let Err(RecvTimeoutError::Timeout) =
        stopped.recv_timeout(Duration::from_millis(FLUSH_INTERVAL_MS))
    {
        if let Err(e) = inner.flush() {
            tracing::warn!(error = %e, "flushing the activity ledger failed; will retry");
        }
    }
}

impl Inner {
    fn flush(&self) -> Result<(), StoreError> {
        let mut dirty = self
            .dirty
            .write()
            .map_err(|_| backend("overlay lock poisoned"))?;
        if dirty.is_empty() {
            return Ok(());
        }
        let txn = self.db.begin_write().map_err(backend)?;
        apply(&txn, &dirty)?;
        txn.commit().map_err(backend)?;
        dirty.clear();
        Ok(())
    }
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        // Stop and join the flusher first, so the database is closed when `drop` returns.
        drop(self.stop.take());
        if let Some(handle) = self.flusher.take() {
            let _ = handle.join();
        }
        if let Err(e) = self.inner.flush() {
            tracing::warn!(error = %e, "final flush of the activity ledger failed");
        }
    }
}

fn apply(
    txn: &redb::WriteTransaction,
    entries: &HashMap<Key, Option<Vec<u8>>>,
) -> Result<(), StoreError> {
    for t in TABLES {
        let mut table = txn.open_table(def(t)).map_err(backend)?;
        for ((id, key), value) in entries.iter().filter(|((id, _), _)| *id == t as u8) {
            debug_assert_eq!(table_of(*id), t);
            match value {
                Some(v) => {
                    table
                        .insert(key.as_slice(), v.as_slice())
                        .map_err(backend)?;
                }
                None => {
                    table.remove(key.as_slice()).map_err(backend)?;
                }
            }
        }
    }
    Ok(())
}

/// Reads: overlay first, then a read transaction on the file.
struct Reader<'a> {
    dirty: &'a HashMap<Key, Option<Vec<u8>>>,
    txn: redb::ReadTransaction,
}

impl KvRead for Reader<'_> {
    fn visit(
        &mut self,
        table: Table,
        key: &[u8; 16],
        f: &mut Visitor<'_>,
    ) -> Result<(), StoreError> {
        if let Some(v) = self.dirty.get(&(table as u8, *key)) {
            return f(v.as_deref());
        }
        let t = self.txn.open_table(def(table)).map_err(backend)?;
        let guard = t.get(key.as_slice()).map_err(backend)?;
        f(guard.as_ref().map(|g| g.value()))
    }
}

/// Relaxed writes: staged, then merged into the overlay if the closure succeeds.
struct OverlayWriter<'a> {
    reader: Reader<'a>,
    staged: Vec<(Key, Option<Vec<u8>>)>,
}

impl KvRead for OverlayWriter<'_> {
    fn visit(
        &mut self,
        table: Table,
        key: &[u8; 16],
        f: &mut Visitor<'_>,
    ) -> Result<(), StoreError> {
        let k = (table as u8, *key);
        if let Some((_, v)) = self.staged.iter().rev().find(|(sk, _)| *sk == k) {
            return f(v.as_deref());
        }
        self.reader.visit(table, key, f)
    }
}

impl KvWrite for OverlayWriter<'_> {
    fn put(&mut self, table: Table, key: &[u8; 16], value: &[u8]) -> Result<(), StoreError> {
        self.staged
            .push(((table as u8, *key), Some(value.to_vec())));
        Ok(())
    }

    fn remove(&mut self, table: Table, key: &[u8; 16]) -> Result<(), StoreError> {
        self.staged.push(((table as u8, *key), None));
        Ok(())
    }
}

/// Durable writes: straight into a write transaction (the overlay was applied to it first).
struct TxnWriter<'a> {
    txn: &'a redb::WriteTransaction,
}

impl KvRead for TxnWriter<'_> {
    fn visit(
        &mut self,
        table: Table,
        key: &[u8; 16],
        f: &mut Visitor<'_>,
    ) -> Result<(), StoreError> {
        let t = self.txn.open_table(def(table)).map_err(backend)?;
        let guard = t.get(key.as_slice()).map_err(backend)?;
        f(guard.as_ref().map(|g| g.value()))
    }
}

impl KvWrite for TxnWriter<'_> {
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
        let dirty = self
            .inner
            .dirty
            .read()
            .map_err(|_| backend("overlay lock poisoned"))?;
        let txn = self.inner.db.begin_read().map_err(backend)?;
        f(&mut Reader { dirty: &dirty, txn })
    }

    fn write(
        &self,
        durability: Durability,
        f: &mut dyn FnMut(&mut dyn KvWrite) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut dirty = self
            .inner
            .dirty
            .write()
            .map_err(|_| backend("overlay lock poisoned"))?;
        match durability {
            Durability::Relaxed => {
                let staged = {
                    let txn = self.inner.db.begin_read().map_err(backend)?;
                    let mut w = OverlayWriter {
                        reader: Reader { dirty: &dirty, txn },
                        staged: Vec::new(),
                    };
                    f(&mut w)?;
                    w.staged
                };
                dirty.extend(staged);
                let full = dirty.len() >= MAX_DIRTY;
                drop(dirty);
                if full {
                    self.inner.flush()?;
                }
                Ok(())
            }
            Durability::Durable => {
                let mut txn = self.inner.db.begin_write().map_err(backend)?;
                txn.set_durability(redb::Durability::Immediate)
                    .map_err(backend)?;
                apply(&txn, &dirty)?;
                match f(&mut TxnWriter { txn: &txn }) {
                    Ok(()) => {
                        txn.commit().map_err(backend)?;
                        dirty.clear();
                        Ok(())
                    }
                    Err(e) => {
                        txn.abort().map_err(backend)?;
                        Err(e)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relaxed_writes_are_read_back_at_once_and_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.redb");
        {
            let s = RedbStore::open(&path).expect("open");
            s.write(Durability::Relaxed, &mut |kv| {
                kv.put(Table::Ip, &[1; 16], b"relaxed")
            })
            .expect("relaxed");
            let mut seen = None;
            s.read(&mut |kv| {
                seen = kv.get(Table::Ip, &[1; 16])?;
                Ok(())
            })
            .expect("read");
            assert_eq!(
                seen.as_deref(),
                Some(&b"relaxed"[..]),
                "overlay is read first"
            );
            // A failed relaxed write leaves nothing behind.
            let r = s.write(Durability::Relaxed, &mut |kv| {
                kv.put(Table::Ip, &[2; 16], b"x")?;
                Err(StoreError::Backend("abort".into()))
            });
            assert!(r.is_err());
            s.write(Durability::Durable, &mut |kv| {
                kv.put(Table::Profile, &[3; 16], b"durable")
            })
            .expect("durable");
            s.write(Durability::Relaxed, &mut |kv| {
                kv.remove(Table::Ip, &[1; 16])
            })
            .expect("remove");
        } // drop flushes
        let s = RedbStore::open(&path).expect("reopen");
        let mut got = Vec::new();
        s.read(&mut |kv| {
            got.push(kv.get(Table::Ip, &[1; 16])?);
            got.push(kv.get(Table::Ip, &[2; 16])?);
            got.push(kv.get(Table::Profile, &[3; 16])?);
            Ok(())
        })
        .expect("read");
        assert_eq!(got, vec![None, None, Some(b"durable".to_vec())]);
    }
}
