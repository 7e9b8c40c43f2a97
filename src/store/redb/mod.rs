//! [`RedbStore`]: the embedded default backend, one [redb](https://docs.rs/redb) file and its
//! write-ahead log ([`super::wal`]).
//!
//! redb is a pure-Rust, copy-on-write B-tree store with ACID transactions and crash safety: no
//! server, no C library, no set-up. A B-tree commit with an fsync per request would cost far
//! more than scoring, so every write transaction instead
//! 1. appends its entries to the write-ahead log, in the order of 2 (under the overlay lock);
//! 2. applies them to an in-memory overlay that every read consults first;
//! 3. for [`Durability::Durable`], waits until the log is synced; a relaxed write returns at
//!    once, and [`ProfileStore::on_durable`] tells when everything written so far is synced
//!    (the server answers only then).
//!
//! A background thread checkpoints: it freezes the overlay (rotating the log to a new segment),
//! commits the batch to the file (fsynced), then deletes the log segments the batch covers. It
//! runs at least every [`FLUSH_INTERVAL_MS`] ms, when the overlay is large, and on drop.
//! [`RedbStore::open`] replays the log into the file before serving, so a crash (`kill -9`,
//! power loss) loses no write that was reported durable. After a log write or sync failure the
//! store refuses every write until restart ([`ProfileStore::health`] says why).

use std::path::Path;
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, RwLock};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};

mod checkpoint;
mod read;
#[cfg(test)]
mod tests;

use checkpoint::{Inner, Overlay, apply, flusher};
use read::Reader;

use super::wal::{Done, Wal};
use super::{
    Durability, KeyMap, KvRead, KvWrite, ProfileStore, ScanVisitor, Staging, StoreError, Table,
};

/// Longest time between checkpoints (overlay → file, then old log segments deleted), ms.
pub const FLUSH_INTERVAL_MS: u64 = 5_000;
/// Overlay size that wakes the flusher before its interval (requests never flush themselves).
const MAX_DIRTY: usize = 50_000;

type Entries = KeyMap<Option<Vec<u8>>>;

fn def(table: Table) -> TableDefinition<'static, &'static [u8], &'static [u8]> {
    TableDefinition::new(table.name())
}

/// Version of the record encodings ([`super::records`]) and of the store's files. A file written
/// with another version is refused at open with a clear error, rather than every read failing as
/// a corrupt record. Format 3 adds the write-ahead log beside the file (`PATH.wal/`), which a
/// format-2 build would ignore; format 4 adds to pending evidence its receipt, first answer and
/// applied outcomes; format 5 adds to a profile's known devices the user-scoped fraud mark;
/// format 6 adds the Freeman attribute history to profiles, the attribute keys to pending
/// evidence and the `population` table; format 7 replaces the typing profiles and pending typing
/// evidence by the free-text verifier's ([`crate::keystroke::verifier`], issue 13). A format-2
/// file (no log) is upgraded in place by dropping its pending evidence (the outcomes of requests
/// scored before the upgrade are then refused as unknown); a format-2 to -6 file has its
/// profiles and pending evidence re-encoded ([`super::upgrade`]; old typing profiles and
/// evidence become `None`), after its write-ahead log is replayed, in the transaction that
/// stamps format 7.
pub const STORE_FORMAT: u32 = 7;

/// The directory of the write-ahead log of the store at `path`: `PATH.wal`.
pub fn wal_dir(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".wal");
    std::path::PathBuf::from(name)
}

const META: TableDefinition<'static, &'static str, u32> = TableDefinition::new("meta");

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn poisoned() -> StoreError {
    backend("overlay lock poisoned")
}

/// A redb database file holding every table, with a write-behind overlay for relaxed writes.
pub struct RedbStore {
    inner: Arc<Inner>,
    /// Wakes the flusher early (a full overlay); dropping it stops the flusher.
    nudge: Option<SyncSender<()>>,
    flusher: Option<std::thread::JoinHandle<()>>,
    /// Test hook ([`RedbStore::crash`]): drop without the final checkpoint.
    crashed: bool,
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
        // A file from before the format stamp has tables but no `meta`: that is format 1.
        let unstamped = txn
            .list_tables()
            .map_err(|e| open_err(e.to_string()))?
            .any(|t| t.name() != "meta");
        let mut drop_pending = false;
        // The format whose records are re-encoded once the log is replayed.
        let mut upgrade_from = None;
        {
            let mut meta = txn.open_table(META).map_err(|e| open_err(e.to_string()))?;
            let found = meta
                .get("format")
                .map_err(|e| open_err(e.to_string()))?
                .map(|v| v.value());
            match found {
                Some(v) if v == STORE_FORMAT => {}
                Some(2) => {
                    // Stamped 4 now (pending dropped); current once the profiles are re-encoded.
                    meta.insert("format", 4)
                        .map_err(|e| open_err(e.to_string()))?;
                    drop_pending = true;
                    upgrade_from = Some(4);
                }
                Some(v @ (4..=6)) => upgrade_from = Some(v),
                Some(v) => {
                    return Err(open_err(format!(
                        "written with store format {v}; this build reads format {STORE_FORMAT} \
                         (move the file aside to start a new store)"
                    )));
                }
                None if unstamped => {
                    return Err(open_err(format!(
                        "written with store format 1; this build reads format {STORE_FORMAT} \
                         (move the file aside to start a new store)"
                    )));
                }
                None => {
                    meta.insert("format", STORE_FORMAT)
                        .map_err(|e| open_err(e.to_string()))?;
                }
            }
        }
        if drop_pending {
            // Format-2 pending records lack the receipt, answer and applied outcomes.
            txn.delete_table(def(Table::Pending))
                .map_err(|e| open_err(e.to_string()))?;
            tracing::warn!("store upgraded to format {STORE_FORMAT}: pending evidence dropped");
        }
        for t in Table::ALL {
            txn.open_table(def(t))
                .map_err(|e| open_err(e.to_string()))?;
        }
        txn.commit().map_err(|e| open_err(e.to_string()))?;
        let (wal, recovered) = Wal::open(&wal_dir(path)).map_err(open_err)?;
        if !recovered.is_empty() {
            let mut txn = db.begin_write().map_err(|e| open_err(e.to_string()))?;
            txn.set_durability(redb::Durability::Immediate)
                .map_err(|e| open_err(e.to_string()))?;
            for entries in &recovered {
                let batch: Entries = entries.iter().cloned().collect();
                apply(&txn, &batch).map_err(|e| open_err(e.to_string()))?;
            }
            txn.commit().map_err(|e| open_err(e.to_string()))?;
            tracing::info!(
                transactions = recovered.len(),
                "replayed the store's write-ahead log"
            );
        }
        wal.remove_before(wal.segment())
            .map_err(|e| open_err(format!("write-ahead log: {e}")))?;
        if let Some(from) = upgrade_from {
            let (profiles, pending) = upgrade_records(&db, from).map_err(open_err)?;
            tracing::warn!(
                profiles,
                pending,
                "store upgraded from format {from} to format {STORE_FORMAT}"
            );
        }
        let inner = Arc::new(Inner {
            db,
            overlay: RwLock::new(Overlay::default()),
            wal,
            flushes: Mutex::new(()),
        });
        let (nudge, nudged) = std::sync::mpsc::sync_channel(1);
        let shared = Arc::clone(&inner);
        let flusher = std::thread::Builder::new()
            .name("tessera-redb-flush".into())
            .spawn(move || flusher(&shared, &nudged))
            .map_err(|e| open_err(e.to_string()))?;
        Ok(RedbStore {
            inner,
            nudge: Some(nudge),
            flusher: Some(flusher),
            crashed: false,
        })
    }

    /// Checkpoints now: writes the overlay to the file (durably) and deletes the write-ahead
    /// log segments it covers.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush()
    }

    /// Test hook: closes the store as a crash would, without the final checkpoint, and with
    /// log frames nobody waited for lost.
    #[cfg(test)]
    pub(crate) fn crash(mut self) {
        drop(self.nudge.take());
        if let Some(handle) = self.flusher.take() {
            let _ = handle.join();
        }
        self.inner.wal.crash();
        self.crashed = true;
    }
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        // Stop and join the flusher first, so the database is closed when `drop` returns.
        drop(self.nudge.take());
        if let Some(handle) = self.flusher.take() {
            let _ = handle.join();
        }
        if self.crashed {
            return;
        }
        if let Err(e) = self.inner.flush() {
            tracing::warn!(error = %e, "final checkpoint failed; the write-ahead log keeps the writes");
        }
    }
}

impl ProfileStore for RedbStore {
    /// Merges the unflushed layers (`live` over `flushing`; tombstones hide file records) over
    /// a snapshot of the file. Both are taken under one overlay read lock, so they show the same
    /// moment; the file is then walked without blocking writers. `clean` need not be merged: an
    /// entry reaches it only after its batch is committed, so where `live` and `flushing` do not
    /// shadow it, the file snapshot holds the same value.
    fn scan(&self, table: Table, f: &mut ScanVisitor<'_>) -> Result<(), StoreError> {
        let id = table as u8;
        let (layers, txn) = {
            let o = self.inner.overlay.read().map_err(|_| poisoned())?;
            let mut layers = Entries::default();
            let older = o.flushing.iter().flat_map(|batch| batch.iter());
            for (key, value) in older.chain(o.live.iter()).filter(|(k, _)| k.0 == id) {
                layers.insert(*key, value.clone());
            }
            (layers, self.inner.db.begin_read().map_err(backend)?)
        };
        let file = txn.open_table(def(table)).map_err(backend)?;
        for item in file.iter().map_err(backend)? {
            let (k, v) = item.map_err(backend)?;
            let key: [u8; 16] = k.value().try_into().map_err(|_| StoreError::Corrupt {
                table: table.name(),
                problem: format!("key of {} bytes, expected 16", k.value().len()),
            })?;
            if !layers.contains_key(&(id, key)) {
                f(&key, v.value())?;
            }
        }
        for ((_, key), value) in &layers {
            if let Some(v) = value {
                f(key, v)?;
            }
        }
        Ok(())
    }

    fn read(
        &self,
        f: &mut dyn FnMut(&mut dyn KvRead) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let overlay = self.inner.overlay.read().map_err(|_| poisoned())?;
        f(&mut Reader::new(&overlay, &self.inner.db))
    }

    fn write(
        &self,
        durability: Durability,
        f: &mut dyn FnMut(&mut dyn KvWrite) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut overlay = self.inner.overlay.write().map_err(|_| poisoned())?;
        let (staged, misses) = {
            let mut w = Staging {
                under: Reader::new(&overlay, &self.inner.db),
                staged: Vec::new(),
            };
            f(&mut w)?;
            (w.staged, w.under.misses)
        };
        // Logged in the order applied: the overlay's write lock is held across both.
        let seq = self.inner.wal.append(&staged)?;
        overlay.live.extend(staged);
        overlay.clean.extend(misses.into_iter().map(|k| (k, None)));
        let full = overlay.live.len() >= MAX_DIRTY;
        drop(overlay);
        if full && let Some(nudge) = &self.nudge {
            // The flusher commits; a request never waits for a flush (a full channel means a
            // nudge is already pending).
            let _ = nudge.try_send(());
        }
        match durability {
            Durability::Durable => self.inner.wal.sync(seq),
            Durability::Relaxed => Ok(()),
        }
    }

    fn on_durable(&self, done: Done) {
        self.inner.wal.wait(self.inner.wal.appended(), done);
    }

    fn health(&self) -> Result<(), String> {
        self.inner.wal.health()
    }
}

/// Re-encodes every profile and pending record written by format `from` (4–6; a format-2
/// file arrives here as 4 with its pending evidence dropped) and stamps the current format, in
/// one transaction (a crash before its commit leaves the file at its old format, and the next
/// open does it again). Returns the numbers of profiles and pending records re-encoded.
fn upgrade_records(db: &Database, from: u32) -> Result<(usize, usize), String> {
    let mut txn = db.begin_write().map_err(|e| e.to_string())?;
    txn.set_durability(redb::Durability::Immediate)
        .map_err(|e| e.to_string())?;
    let profiles = reencode(&txn, Table::Profile, |b| {
        super::upgrade::upgrade_profile(b, from)
    })?;
    let pending = reencode(&txn, Table::Pending, |b| {
        super::upgrade::upgrade_pending(b, from)
    })?;
    {
        let mut meta = txn.open_table(META).map_err(|e| e.to_string())?;
        meta.insert("format", STORE_FORMAT)
            .map_err(|e| e.to_string())?;
    }
    txn.commit().map_err(|e| e.to_string())?;
    Ok((profiles, pending))
}

/// Replaces every record of `table` by `upgrade` of it; returns how many.
fn reencode(
    txn: &redb::WriteTransaction,
    table: Table,
    upgrade: impl Fn(&[u8]) -> Result<Vec<u8>, postcard::Error>,
) -> Result<usize, String> {
    let mut t = txn.open_table(def(table)).map_err(|e| e.to_string())?;
    let mut upgraded = Vec::new();
    for item in t.iter().map_err(|e| e.to_string())? {
        let (k, v) = item.map_err(|e| e.to_string())?;
        let bytes = upgrade(v.value()).map_err(|e| {
            format!(
                "upgrading a {} record to format {STORE_FORMAT}: {e}",
                table.name()
            )
        })?;
        upgraded.push((k.value().to_vec(), bytes));
    }
    for (k, v) in &upgraded {
        t.insert(k.as_slice(), v.as_slice())
            .map_err(|e| e.to_string())?;
    }
    Ok(upgraded.len())
}
