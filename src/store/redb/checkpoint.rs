//! The write-behind overlay of [`super::RedbStore`] and its checkpoint: the in-memory layers
//! every read consults first, freezing a batch (with a log rotation), committing it to the file
//! and deleting the log segments it covers. Never acknowledges anything: durability comes from
//! the write-ahead log.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use redb::{Database, ReadableDatabase};

use super::{Entries, FLUSH_INTERVAL_MS, backend, def, poisoned};
use crate::store::wal::Wal;
use crate::store::{Key, StoreError, Table};

/// Most flushed entries kept in memory as a read cache (about 1 KiB each).
const MAX_CLEAN: usize = 100_000;

/// The in-memory layers over the file, newest first: `live` (not yet flushed), `flushing` (the
/// batch being committed), `clean` (already in the file, or known absent from it, kept as a read
/// cache so a warm store answers from memory; pending evidence is not cached).
///
/// `view` is a read snapshot of the file shared by every read until the next checkpoint, so a
/// read that misses the layers (every fresh request id is looked up in `pending`) does not open
/// a transaction and five tables of its own. A checkpoint replaces it under the overlay's write
/// lock in the same critical section that drops `flushing`: while `flushing` is present, an
/// older snapshot is still complete (the batch is read from `flushing`); once it is gone, no
/// snapshot older than its commit remains.
#[derive(Default)]
pub(super) struct Overlay {
    pub(super) live: Entries,
    pub(super) flushing: Option<Arc<Entries>>,
    pub(super) clean: Entries,
    pub(super) view: Mutex<Option<Arc<FileView>>>,
}

/// A read transaction of the file with every table open.
pub(super) struct FileView {
    tables: Vec<redb::ReadOnlyTable<&'static [u8], &'static [u8]>>,
    _txn: redb::ReadTransaction,
}

impl FileView {
    fn open(db: &Database) -> Result<FileView, StoreError> {
        let txn = db.begin_read().map_err(backend)?;
        let tables = Table::ALL
            .iter()
            .map(|&t| txn.open_table(def(t)).map_err(backend))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FileView { tables, _txn: txn })
    }

    /// The open table `table`.
    pub(super) fn table(
        &self,
        table: Table,
    ) -> Result<&redb::ReadOnlyTable<&'static [u8], &'static [u8]>, StoreError> {
        self.tables
            .get(table as usize)
            .ok_or_else(|| backend("table not open"))
    }
}

impl Overlay {
    pub(super) fn get(&self, key: &Key) -> Option<&Option<Vec<u8>>> {
        self.live
            .get(key)
            .or_else(|| self.flushing.as_ref().and_then(|f| f.get(key)))
            .or_else(|| self.clean.get(key))
    }

    /// The shared snapshot of the file, opened on first use after a checkpoint.
    pub(super) fn view(&self, db: &Database) -> Result<Arc<FileView>, StoreError> {
        let mut slot = self.view.lock().map_err(|_| poisoned())?;
        if let Some(v) = slot.as_ref() {
            return Ok(Arc::clone(v));
        }
        let v = Arc::new(FileView::open(db)?);
        *slot = Some(Arc::clone(&v));
        Ok(v)
    }

    /// Forgets the snapshot (the file has changed); the old one is freed when its last reader
    /// is done.
    fn stale(&mut self) -> Option<Arc<FileView>> {
        self.view.get_mut().ok().and_then(Option::take)
    }
}

pub(super) struct Inner {
    pub(super) db: Database,
    /// Write transactions hold its write lock while they append to `wal` and apply to it, so
    /// the log's order is the overlay's order.
    pub(super) overlay: RwLock<Overlay>,
    pub(super) wal: Wal,
    /// One flush at a time, from freezing the batch to moving it into the read cache.
    pub(super) flushes: Mutex<()>,
}

/// Flushes every interval, or at once when nudged, until the store is dropped (the sender
/// disconnects).
pub(super) fn flusher(inner: &Inner, nudged: &Receiver<()>) {
    while let Ok(()) | Err(RecvTimeoutError::Timeout) =
        nudged.recv_timeout(Duration::from_millis(FLUSH_INTERVAL_MS))
    {
        if let Err(e) = inner.flush() {
            tracing::warn!(error = %e, "flushing the activity ledger failed; will retry");
        }
    }
}

/// A frozen batch: its entries, the log segment that holds every later write, and the sequence
/// number of the last frame before that segment.
pub(super) struct Frozen {
    entries: Arc<Entries>,
    next_segment: u64,
    last_seq: u64,
}

impl Inner {
    /// Moves the live overlay into `flushing` (still read by everyone) and rotates the log in
    /// the same critical section, so the older segments hold exactly the writes in this batch
    /// or in the file already; `None` when there is nothing to flush or a flush is under way.
    pub(super) fn freeze(&self) -> Result<Option<Frozen>, StoreError> {
        let mut o = self.overlay.write().map_err(|_| poisoned())?;
        if o.live.is_empty() || o.flushing.is_some() {
            return Ok(None);
        }
        let entries = Arc::new(std::mem::take(&mut o.live));
        o.flushing = Some(Arc::clone(&entries));
        let (next_segment, last_seq) = self.wal.rotate();
        Ok(Some(Frozen {
            entries,
            next_segment,
            last_seq,
        }))
    }

    /// Commits a frozen batch to the file (fsynced), then deletes the log segments it covers
    /// once the writer is done with them.
    pub(super) fn checkpoint(&self, frozen: &Frozen) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(backend)?;
        txn.set_durability(redb::Durability::Immediate)
            .map_err(backend)?;
        apply(&txn, &frozen.entries)?;
        txn.commit().map_err(backend)?;
        // The writer may still hold frames of the older segments: let it finish them, so that it
        // cannot recreate a segment after its deletion.
        match self.wal.sync(frozen.last_seq) {
            Ok(()) => self
                .wal
                .remove_before(frozen.next_segment)
                .map_err(|e| backend(format!("write-ahead log: {e}"))),
            // The batch is in the file; the log keeps its older segments (replaying them is
            // harmless) and the failure is reported by every later write.
            Err(_) => Ok(()),
        }
    }

    /// Freezes the live overlay, commits it without blocking readers or writers, then drops the
    /// frozen batch. On failure the batch goes back under newer live writes.
    pub(super) fn flush(&self) -> Result<(), StoreError> {
        let _one = self.flushes.lock().map_err(|_| poisoned())?;
        // After a failed log write the overlay may hold changes that were never made durable
        // (their callers got an error): none of it may reach the file. What the log did make
        // durable is replayed from it at the next start.
        self.wal
            .health()
            .map_err(|e| backend(format!("checkpoint skipped: {e}")))?;
        let Some(frozen) = self.freeze()? else {
            return Ok(());
        };
        let result = self.checkpoint(&frozen);
        let frozen = frozen.entries;
        if let Err(e) = result {
            let mut o = self.overlay.write().map_err(|_| poisoned())?;
            o.flushing = None;
            drop(o.stale());
            let frozen = Arc::try_unwrap(frozen).unwrap_or_else(|shared| (*shared).clone());
            for (k, v) in frozen {
                o.live.entry(k).or_insert(v);
            }
            return Err(e);
        }
        // Committed. Copy what later requests will read again into the read cache outside the
        // lock (pending evidence is read at most once, by its outcome, so it is left to the
        // file); under the lock only swap the layers; free the batch after.
        let keep: Vec<(Key, Option<Vec<u8>>)> = frozen
            .iter()
            .filter(|((t, _), _)| *t != Table::Pending as u8)
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        let (evicted, view) = {
            let mut o = self.overlay.write().map_err(|_| poisoned())?;
            o.flushing = None;
            let view = o.stale();
            // Crude but bounded: the cache refills from the next flushes.
            let evicted = if o.clean.len() + keep.len() > MAX_CLEAN {
                std::mem::take(&mut o.clean)
            } else {
                Entries::default()
            };
            o.clean.extend(keep);
            (evicted, view)
        };
        drop((evicted, frozen, view));
        Ok(())
    }
}

pub(super) fn apply(txn: &redb::WriteTransaction, entries: &Entries) -> Result<(), StoreError> {
    for t in Table::ALL {
        let mut table = txn.open_table(def(t)).map_err(backend)?;
        for ((_, key), value) in entries.iter().filter(|((id, _), _)| *id == t as u8) {
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
