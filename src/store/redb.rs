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

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};

use super::{
    Durability, Key, KeyMap, KvRead, KvWrite, ProfileStore, ScanVisitor, Staging, StoreError,
    Table, Visitor,
};

/// Longest time relaxed writes stay only in memory, ms.
pub const FLUSH_INTERVAL_MS: u64 = 5_000;
/// Overlay size that wakes the flusher before its interval (requests never flush themselves).
const MAX_DIRTY: usize = 50_000;

type Entries = KeyMap<Option<Vec<u8>>>;

fn def(table: Table) -> TableDefinition<'static, &'static [u8], &'static [u8]> {
    TableDefinition::new(table.name())
}

/// Version of the record encodings ([`super::records`]; 3: pending evidence carries its receipt,
/// first answer and applied outcomes). A file written with another version is
/// refused at open with a clear error, rather than every read failing as a corrupt record.
pub const STORE_FORMAT: u32 = 3;

const META: TableDefinition<'static, &'static str, u32> = TableDefinition::new("meta");

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn poisoned() -> StoreError {
    backend("overlay lock poisoned")
}

/// Most flushed entries kept in memory as a read cache (about 1 KiB each).
const MAX_CLEAN: usize = 100_000;

/// The in-memory layers over the file, newest first: `live` (not yet flushed), `flushing` (the
/// batch being committed), `clean` (already in the file, or known absent from it, kept as a read
/// cache so a warm store answers from memory; pending evidence is not cached).
#[derive(Default)]
struct Overlay {
    live: Entries,
    flushing: Option<Arc<Entries>>,
    /// Generation of the batch in `flushing` (counts freezes).
    generation: u64,
    clean: Entries,
}

impl Overlay {
    fn get(&self, key: &Key) -> Option<&Option<Vec<u8>>> {
        self.live
            .get(key)
            .or_else(|| self.flushing.as_ref().and_then(|f| f.get(key)))
            .or_else(|| self.clean.get(key))
    }
}

struct Inner {
    db: Database,
    overlay: RwLock<Overlay>,
    /// Serialises write transactions. Lock order: `overlay` before `commit`; the flusher never
    /// holds `overlay` while it waits for or holds `commit`.
    /// Holds the newest frozen generation already in the file: a durable write commits the
    /// frozen batch itself (beneath its own entries), and the flusher must then not commit
    /// that older batch again over them.
    commit: Mutex<u64>,
    /// One flush at a time, from freezing the batch to moving it into the read cache.
    flushes: Mutex<()>,
}

/// A redb database file holding every table, with a write-behind overlay for relaxed writes.
pub struct RedbStore {
    inner: Arc<Inner>,
    /// Wakes the flusher early (a full overlay); dropping it stops the flusher.
    nudge: Option<SyncSender<()>>,
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
        // A file from before the format stamp has tables but no `meta`: that is format 1.
        let unstamped = txn
            .list_tables()
            .map_err(|e| open_err(e.to_string()))?
            .any(|t| t.name() != "meta");
        {
            let mut meta = txn.open_table(META).map_err(|e| open_err(e.to_string()))?;
            let found = meta
                .get("format")
                .map_err(|e| open_err(e.to_string()))?
                .map(|v| v.value());
            match found {
                Some(v) if v == STORE_FORMAT => {}
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
        for t in Table::ALL {
            txn.open_table(def(t))
                .map_err(|e| open_err(e.to_string()))?;
        }
        txn.commit().map_err(|e| open_err(e.to_string()))?;
        let inner = Arc::new(Inner {
            db,
            overlay: RwLock::new(Overlay::default()),
            commit: Mutex::new(0),
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
        })
    }

    /// Writes the overlay to the file now (durably).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush()
    }
}

/// Flushes every interval, or at once when nudged, until the store is dropped (the sender
/// disconnects).
fn flusher(inner: &Inner, nudged: &Receiver<()>) {
    while let Ok(()) | Err(RecvTimeoutError::Timeout) =
        nudged.recv_timeout(Duration::from_millis(FLUSH_INTERVAL_MS))
    {
        if let Err(e) = inner.flush() {
            tracing::warn!(error = %e, "flushing the activity ledger failed; will retry");
        }
    }
}

impl Inner {
    /// Moves the live overlay into `flushing` (still read by everyone) and returns it with its
    /// generation; `None` when there is nothing to flush or a flush is under way.
    fn freeze(&self) -> Result<Option<(u64, Arc<Entries>)>, StoreError> {
        let mut o = self.overlay.write().map_err(|_| poisoned())?;
        if o.live.is_empty() || o.flushing.is_some() {
            return Ok(None);
        }
        let frozen = Arc::new(std::mem::take(&mut o.live));
        o.flushing = Some(Arc::clone(&frozen));
        o.generation += 1;
        Ok(Some((o.generation, frozen)))
    }

    /// Commits a frozen batch, unless a durable write already committed it (with newer values
    /// on top, which this older batch must not overwrite in the file).
    fn commit_frozen(&self, generation: u64, frozen: &Entries) -> Result<(), StoreError> {
        let mut in_file = self.commit.lock().map_err(|_| poisoned())?;
        if *in_file >= generation {
            return Ok(());
        }
        let txn = self.db.begin_write().map_err(backend)?;
        apply(&txn, frozen)?;
        txn.commit().map_err(backend)?;
        *in_file = generation;
        Ok(())
    }

    /// Freezes the live overlay, commits it without blocking readers or relaxed writers, then
    /// drops the frozen batch. On failure the batch goes back under newer live writes.
    fn flush(&self) -> Result<(), StoreError> {
        let _one = self.flushes.lock().map_err(|_| poisoned())?;
        let Some((generation, frozen)) = self.freeze()? else {
            return Ok(());
        };
        let result = self.commit_frozen(generation, &frozen);
        if let Err(e) = result {
            let mut o = self.overlay.write().map_err(|_| poisoned())?;
            o.flushing = None;
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
        let evicted = {
            let mut o = self.overlay.write().map_err(|_| poisoned())?;
            o.flushing = None;
            // Crude but bounded: the cache refills from the next flushes.
            let evicted = if o.clean.len() + keep.len() > MAX_CLEAN {
                std::mem::take(&mut o.clean)
            } else {
                Entries::default()
            };
            o.clean.extend(keep);
            evicted
        };
        drop((evicted, frozen));
        Ok(())
    }
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        // Stop and join the flusher first, so the database is closed when `drop` returns.
        drop(self.nudge.take());
        if let Some(handle) = self.flusher.take() {
            let _ = handle.join();
        }
        if let Err(e) = self.inner.flush() {
            tracing::warn!(error = %e, "final flush of the activity ledger failed");
        }
    }
}

fn apply(txn: &redb::WriteTransaction, entries: &Entries) -> Result<(), StoreError> {
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

/// Reads: overlay first, then the file. The read transaction and each table are opened only on
/// the first overlay miss that needs them.
struct Reader<'a> {
    overlay: &'a Overlay,
    db: &'a Database,
    txn: Option<redb::ReadTransaction>,
    tables: [Option<redb::ReadOnlyTable<&'static [u8], &'static [u8]>>; 5],
    /// Keys absent from the overlay and the file. A write remembers them in `clean` as absent,
    /// so the next request for a user without a profile (say) does not open the file again.
    misses: Vec<(u8, [u8; 16])>,
}

impl<'a> Reader<'a> {
    fn new(overlay: &'a Overlay, db: &'a Database) -> Self {
        Reader {
            overlay,
            db,
            txn: None,
            tables: [None, None, None, None, None],
            misses: Vec::new(),
        }
    }
}

impl KvRead for Reader<'_> {
    fn visit(
        &mut self,
        table: Table,
        key: &[u8; 16],
        f: &mut Visitor<'_>,
    ) -> Result<(), StoreError> {
        if let Some(v) = self.overlay.get(&(table as u8, *key)) {
            return f(v.as_deref());
        }
        let slot = &mut self.tables[table as usize];
        if slot.is_none() {
            if self.txn.is_none() {
                self.txn = Some(self.db.begin_read().map_err(backend)?);
            }
            if let Some(txn) = &self.txn {
                *slot = Some(txn.open_table(def(table)).map_err(backend)?);
            }
        }
        match slot {
            Some(t) => {
                let guard = t.get(key.as_slice()).map_err(backend)?;
                if guard.is_none() && table != Table::Pending {
                    self.misses.push((table as u8, *key));
                }
                f(guard.as_ref().map(|g| g.value()))
            }
            None => Err(backend("table not open")),
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
        if durability == Durability::Durable {
            // Commit the whole overlay plus this write, fsynced, while still holding the overlay
            // lock, so no relaxed write can interleave with it. A frozen batch still waiting
            // for the flusher goes in first and is marked as in the file, so the flusher does
            // not write its older values over this commit later.
            let mut in_file = self.inner.commit.lock().map_err(|_| poisoned())?;
            let mut txn = self.inner.db.begin_write().map_err(backend)?;
            txn.set_durability(redb::Durability::Immediate)
                .map_err(backend)?;
            if let Some(frozen) = &overlay.flushing {
                apply(&txn, frozen)?;
            }
            apply(&txn, &overlay.live)?;
            let mine: Entries = staged.iter().cloned().collect();
            apply(&txn, &mine)?;
            txn.commit().map_err(backend)?;
            if overlay.flushing.is_some() {
                *in_file = (*in_file).max(overlay.generation);
            }
        }
        overlay.live.extend(staged);
        overlay.clean.extend(misses.into_iter().map(|k| (k, None)));
        let full = overlay.live.len() >= MAX_DIRTY;
        drop(overlay);
        if full && let Some(nudge) = &self.nudge {
            // The flusher commits; a request never waits for a flush (a full channel means a
            // nudge is already pending).
            let _ = nudge.try_send(());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the file itself holds under `key` (the overlay ignored).
    fn in_file(store: &RedbStore, key: &[u8; 16]) -> Option<Vec<u8>> {
        let txn = store.inner.db.begin_read().expect("read");
        let table = txn.open_table(def(Table::Profile)).expect("table");
        table
            .get(key.as_slice())
            .expect("get")
            .map(|v| v.value().to_vec())
    }

    #[test]
    fn a_durable_write_is_not_undone_by_a_flush_frozen_before_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RedbStore::open(&dir.path().join("s.redb")).expect("open");
        let key = [7u8; 16];
        let put = |durability, value: &'static [u8]| {
            store
                .write(durability, &mut |kv| {
                    kv.put(Table::Profile, &key, value.to_vec())
                })
                .expect("write");
        };
        put(Durability::Relaxed, b"old");
        // The flusher freezes the batch holding "old" and is preempted before committing it;
        // meanwhile a durable write of "new" is acknowledged.
        let (generation, frozen) = store.inner.freeze().expect("freeze").expect("batch");
        put(Durability::Durable, b"new");
        assert_eq!(in_file(&store, &key).as_deref(), Some(&b"new"[..]));
        // The flusher resumes: the file must still hold the acknowledged value.
        store
            .inner
            .commit_frozen(generation, &frozen)
            .expect("commit");
        assert_eq!(in_file(&store, &key).as_deref(), Some(&b"new"[..]));
    }

    #[test]
    fn a_file_of_another_store_format_is_refused_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.redb");
        {
            let db = Database::create(&path).expect("create");
            let txn = db.begin_write().expect("txn");
            txn.open_table(def(Table::Profile)).expect("table");
            txn.commit().expect("commit");
        }
        let err = RedbStore::open(&path).expect_err("unstamped file");
        assert!(err.to_string().contains("store format 1"), "{err}");
        let fresh = dir.path().join("new.redb");
        drop(RedbStore::open(&fresh).expect("new file"));
        drop(RedbStore::open(&fresh).expect("reopen, same format"));
        {
            let db = Database::create(&fresh).expect("open");
            let txn = db.begin_write().expect("txn");
            txn.open_table(META)
                .expect("meta")
                .insert("format", 99)
                .expect("stamp");
            txn.commit().expect("commit");
        }
        let err = RedbStore::open(&fresh).expect_err("future format");
        assert!(err.to_string().contains("store format 99"), "{err}");
    }

    #[test]
    fn relaxed_writes_are_read_back_at_once_and_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.redb");
        {
            let s = RedbStore::open(&path).expect("open");
            s.write(Durability::Relaxed, &mut |kv| {
                kv.put(Table::Ip, &[1; 16], b"relaxed".to_vec())
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
                kv.put(Table::Ip, &[2; 16], b"x".to_vec())?;
                Err(StoreError::Backend("abort".into()))
            });
            assert!(r.is_err());
            s.write(Durability::Durable, &mut |kv| {
                kv.put(Table::Profile, &[3; 16], b"durable".to_vec())
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

    #[test]
    fn scan_merges_unflushed_writes_over_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.redb");
        let scan = |s: &RedbStore| {
            let mut seen = std::collections::BTreeMap::new();
            s.scan(Table::Ip, &mut |k, v| {
                seen.insert(k[0], v.to_vec());
                Ok(())
            })
            .expect("scan");
            seen
        };
        let want = std::collections::BTreeMap::from([
            (1, b"a".to_vec()),
            (2, b"B".to_vec()),
            (4, b"d".to_vec()),
        ]);
        {
            let s = RedbStore::open(&path).expect("open");
            s.write(Durability::Durable, &mut |kv| {
                for (k, v) in [(1u8, b"a"), (2, b"b"), (3, b"c")] {
                    kv.put(Table::Ip, &[k; 16], v.to_vec())?;
                }
                kv.put(Table::Device, &[1; 16], b"device".to_vec())
            })
            .expect("durable");
            s.flush().expect("flush"); // the file holds 1, 2, 3; the overlay only a clean cache
            s.write(Durability::Relaxed, &mut |kv| {
                kv.put(Table::Ip, &[2; 16], b"B".to_vec())?;
                kv.remove(Table::Ip, &[3; 16])?;
                kv.put(Table::Ip, &[4; 16], b"d".to_vec())
            })
            .expect("relaxed");
            // Newest wins, the tombstone hides 3, the unflushed 4 is seen, other tables are not.
            assert_eq!(scan(&s), want);
        }
        assert_eq!(scan(&RedbStore::open(&path).expect("reopen")), want);
    }

    #[test]
    fn scans_see_each_record_once_while_relaxed_writes_and_flushes_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RedbStore::open(&dir.path().join("w.redb")).expect("open");
        let key = |i: u16| {
            let mut k = [0u8; 16];
            k[..2].copy_from_slice(&i.to_le_bytes());
            k
        };
        let put = |s: &RedbStore, i: u16, round: u16| {
            s.write(Durability::Relaxed, &mut |kv| {
                kv.put(Table::Ip, &key(i), round.to_le_bytes().to_vec())
            })
            .expect("write");
        };
        for i in 0..100 {
            put(&store, i, 0);
            if i == 50 {
                store.flush().expect("flush"); // half in the file, half only in the overlay
            }
        }
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for round in 1..=20u16 {
                    for i in 0..100 {
                        put(&store, i, round); // rewrites
                    }
                    put(&store, 1_000 + round, round); // new records
                    store.flush().expect("flush");
                }
            });
            for _ in 0..20 {
                let mut seen = std::collections::HashMap::new();
                store
                    .scan(Table::Ip, &mut |k, _| {
                        *seen.entry(u16::from_le_bytes([k[0], k[1]])).or_insert(0) += 1;
                        Ok(())
                    })
                    .expect("scan");
                for i in 0..100 {
                    assert_eq!(seen.get(&i), Some(&1), "record {i} seen once");
                }
                assert!(seen.values().all(|&n| n == 1), "{seen:?}");
            }
        });
    }

    #[test]
    fn concurrent_increments_survive_flushes_and_durable_commits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(RedbStore::open(&dir.path().join("c.redb")).expect("open"));
        let bump = |s: &RedbStore, d: Durability| {
            s.write(d, &mut |kv| {
                let n = kv
                    .get(Table::Ip, &[9; 16])?
                    .map_or(0u32, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                kv.put(Table::Ip, &[9; 16], (n + 1).to_le_bytes().to_vec())
            })
            .expect("write");
        };
        std::thread::scope(|scope| {
            for t in 0..2 {
                let s = Arc::clone(&store);
                scope.spawn(move || {
                    for i in 0..400 {
                        let d = if t == 0 && i % 50 == 0 {
                            Durability::Durable
                        } else {
                            Durability::Relaxed
                        };
                        bump(&s, d);
                    }
                });
            }
            let s = Arc::clone(&store);
            scope.spawn(move || {
                for _ in 0..20 {
                    s.flush().expect("flush");
                }
            });
        });
        let read = |s: &RedbStore| {
            let mut n = 0u32;
            s.read(&mut |kv| {
                n = kv
                    .get(Table::Ip, &[9; 16])?
                    .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                Ok(())
            })
            .expect("read");
            n
        };
        assert_eq!(read(&store), 800);
        let path = dir.path().join("c.redb");
        drop(Arc::try_unwrap(store).expect("sole owner"));
        assert_eq!(
            read(&RedbStore::open(&path).expect("reopen")),
            800,
            "flushed on drop"
        );
    }
}
