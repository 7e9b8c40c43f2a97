//! [`Wal`]: the write-ahead log of the embedded store ([`super::redb`]), so that a write is
//! durable without a B-tree commit per request.
//!
//! Every write transaction of the store appends one **frame** holding its staged entries as
//! absolute values or removals (replaying a frame twice gives the same state), in the order the
//! store applies them. Frames go to numbered **segments** (`NNNNNNNNNNNNNNNNNNNN.wal`) in one
//! directory; the store rotates to a new segment when it freezes a batch for its checkpoint and
//! deletes the older segments once that batch is committed to the database file.
//!
//! **Group commit.** [`Wal::append`] only copies the frame into memory. One writer thread takes
//! everything queued, writes it and `fdatasync`s once, then reports to the waiters registered
//! with [`Wal::wait`]; concurrent waiters share one sync. Frames nobody waits for are written
//! within [`IDLE_WRITE_MS`]. After a failed write or sync the log refuses every later append
//! (what reached the disk is then unknown) until the process restarts.
//!
//! **Frame layout**: `len: u32 LE`, `blake3(payload)[..16]`, `payload`. Payload: entry count
//! `u32 LE`, then per entry `table: u8`, `key: [u8; 16]`, `0` (removed) or `1`, `len: u32 LE`,
//! value. A segment opens with [`MAGIC`]. At open, a bad frame at the end of the newest segment
//! is a write torn by a crash (never acknowledged) and is dropped with a warning; anywhere else
//! it is corruption and the store refuses to open.
//!
//! Nothing here knows tables' contents or the database file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

mod frame;
#[cfg(test)]
mod tests;

use frame::{MAGIC, encode_frame, read_segment, seal};

use super::{Key, StoreError};

/// Longest time an appended frame nobody waits for stays only in memory, ms.
pub const IDLE_WRITE_MS: u64 = 50;
/// Queued bytes that wake the writer before anyone waits.
const WRITE_AT_BYTES: usize = 1 << 20;
/// Capacity of a fresh chunk buffer: a request's frame is about 1–3 KiB, and an idle write
/// (every [`IDLE_WRITE_MS`]) takes a few dozen at a time.
const CHUNK_START_BYTES: usize = 64 << 10;
/// Written chunk buffers kept for reuse (cleared, capacity kept), so appends do not grow a new
/// buffer page by page after every write.
const SPARE_CHUNKS: usize = 2;

/// One staged entry: table id and key, new value or `None` for a removal.
pub(crate) type Entry = (Key, Option<Vec<u8>>);
/// Called once when everything appended before it is durable, or with the failure.
pub type Done = super::DurableDone;

struct State {
    /// Frames not yet taken by the writer: (segment, bytes), oldest first.
    chunks: Vec<(u64, Vec<u8>)>,
    /// Buffers the writer has finished with, for the next chunks.
    spare: Vec<Vec<u8>>,
    queued_bytes: usize,
    /// Segment new frames go to.
    segment: u64,
    /// Frames appended so far (a frame's sequence number is this count after it).
    appended: u64,
    /// `appended` when `segment` became the current segment: a segment with no frame is never
    /// left behind by a rotation, so the segments on disk have no gap a crash could misread.
    segment_start: u64,
    /// Frames on stable storage.
    durable: u64,
    waiters: Vec<(u64, Done)>,
    failed: Option<String>,
    stop: bool,
    /// Test hook: stop without writing what is queued (a crash).
    discard: bool,
}

struct Shared {
    dir: PathBuf,
    state: Mutex<State>,
    wake: Condvar,
}

/// An open write-ahead log and its writer thread; dropping it writes and syncs what is queued.
pub struct Wal {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.state.lock().unwrap_or_else(|p| p.into_inner())
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:020}.wal"))
}

fn failure(problem: &str) -> StoreError {
    StoreError::Backend(format!(
        "write-ahead log failed earlier ({problem}); writes are refused until restart"
    ))
}

/// Segment numbers in `dir`, ascending.
fn segments(dir: &Path) -> std::io::Result<Vec<u64>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if let Some(n) = name
            .strip_suffix(".wal")
            .and_then(|s| s.parse::<u64>().ok())
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Wal {
    /// Opens the log in `dir` (created if needed), reads back every frame not yet covered by a
    /// checkpoint, oldest first, and starts the writer on a new segment. Call
    /// [`Wal::remove_before`] with [`Wal::segment`] once the returned transactions are in the
    /// database file.
    pub fn open(dir: &Path) -> Result<(Wal, Vec<Vec<Entry>>), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let found = segments(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        // Segments are deleted oldest first, and only once a checkpoint covers them: a gap means
        // everything before it is already in the database file.
        let start = found
            .windows(2)
            .rposition(|w| w[1] != w[0] + 1)
            .map_or(0, |i| i + 1);
        let mut recovered = Vec::new();
        let live = found.get(start..).unwrap_or_default();
        for (i, &n) in live.iter().enumerate() {
            let path = segment_path(dir, n);
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let newest = i + 1 == live.len();
            read_segment(&bytes, &mut recovered).or_else(|(offset, problem)| {
                if newest {
                    tracing::warn!(
                        segment = %path.display(), offset, problem,
                        "dropping a torn write-ahead log tail (never acknowledged)"
                    );
                    Ok(())
                } else {
                    Err(format!("{}: byte {offset}: {problem}", path.display()))
                }
            })?;
        }
        let segment = found.last().map_or(1, |n| n + 1);
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            state: Mutex::new(State {
                chunks: Vec::new(),
                spare: Vec::new(),
                queued_bytes: 0,
                segment,
                appended: 0,
                segment_start: 0,
                durable: 0,
                waiters: Vec::new(),
                failed: None,
                stop: false,
                discard: false,
            }),
            wake: Condvar::new(),
        });
        let s = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("tessera-wal".into())
            .spawn(move || writer(&s))
            .map_err(|e| e.to_string())?;
        let wal = Wal {
            shared,
            writer: Some(writer),
        };
        Ok((wal, recovered))
    }

    /// The segment new frames go to.
    pub fn segment(&self) -> u64 {
        lock(&self.shared).segment
    }

    /// Queues one transaction's entries as a frame and returns its sequence number; refused
    /// after an earlier failure. The caller appends in the order it applies transactions.
    pub fn append(&self, entries: &[Entry]) -> Result<u64, StoreError> {
        let mut s = lock(&self.shared);
        if let Some(problem) = &s.failed {
            return Err(failure(problem));
        }
        let segment = s.segment;
        if s.chunks.last().is_none_or(|(n, _)| *n != segment) {
            let buf = s
                .spare
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(CHUNK_START_BYTES));
            s.chunks.push((segment, buf));
        }
        let Some((_, buf)) = s.chunks.last_mut() else {
            unreachable!("a chunk was pushed above");
        };
        let before = buf.len();
        encode_frame(entries, buf)?;
        let added = buf.len() - before;
        s.queued_bytes += added;
        s.appended += 1;
        if s.queued_bytes >= WRITE_AT_BYTES {
            self.shared.wake.notify_one();
        }
        Ok(s.appended)
    }

    /// Frames appended so far.
    pub fn appended(&self) -> u64 {
        lock(&self.shared).appended
    }

    /// Calls `done` once frame `seq` and all before it are durable (at once if they are), or
    /// with the failure.
    pub fn wait(&self, seq: u64, done: Done) {
        let mut s = lock(&self.shared);
        if let Some(problem) = &s.failed {
            let e = failure(problem);
            drop(s);
            return done(Err(e));
        }
        if s.durable >= seq {
            drop(s);
            return done(Ok(()));
        }
        if s.stop {
            drop(s);
            return done(Err(StoreError::Backend(
                "write-ahead log writer stopped".into(),
            )));
        }
        s.waiters.push((seq, done));
        self.shared.wake.notify_one();
    }

    /// Blocks until frame `seq` and all before it are durable.
    pub fn sync(&self, seq: u64) -> Result<(), StoreError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.wait(
            seq,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        rx.recv()
            .unwrap_or_else(|_| Err(StoreError::Backend("write-ahead log writer stopped".into())))
    }

    /// Starts a new segment for frames appended from now on (unless the current one holds no
    /// frame yet, which then stays current: rotating it would leave a numbering gap, and a
    /// batch put back after a failed checkpoint would then sit before the gap, which replay
    /// takes as checkpointed); returns the current segment's number and the sequence number of
    /// the last frame in the older ones.
    pub fn rotate(&self) -> (u64, u64) {
        let mut s = lock(&self.shared);
        if s.appended > s.segment_start {
            s.segment += 1;
            s.segment_start = s.appended;
        }
        (s.segment, s.appended)
    }

    /// Deletes every segment numbered below `segment` (all their frames must be in the database
    /// file), oldest first, and syncs the directory.
    pub fn remove_before(&self, segment: u64) -> std::io::Result<()> {
        let dir = &self.shared.dir;
        let mut removed = false;
        for n in segments(dir)?.into_iter().filter(|&n| n < segment) {
            std::fs::remove_file(segment_path(dir, n))?;
            removed = true;
        }
        if removed {
            sync_dir(dir)?;
        }
        Ok(())
    }

    /// `Err` with the problem once a write or sync has failed.
    pub fn health(&self) -> Result<(), String> {
        match &lock(&self.shared).failed {
            Some(problem) => Err(format!("write-ahead log: {problem}")),
            None => Ok(()),
        }
    }

    /// Test hook: marks the log failed, as a failed `fdatasync` would.
    #[cfg(test)]
    pub(crate) fn fail(&self, problem: &str) {
        lock(&self.shared).failed = Some(problem.to_string());
    }

    /// Test hook: the writer stops without writing what is still queued, as in a crash.
    #[cfg(test)]
    pub(crate) fn crash(&self) {
        let mut s = lock(&self.shared);
        s.discard = true;
        s.stop = true;
        self.shared.wake.notify_one();
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        lock(&self.shared).stop = true;
        self.shared.wake.notify_one();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// The open segment file the writer appends to.
struct Current {
    segment: u64,
    file: File,
}

/// Writes `chunks` in order (a segment change syncs the older file first), then syncs.
fn write_chunks(
    dir: &Path,
    current: &mut Option<Current>,
    chunks: &[(u64, Vec<u8>)],
) -> std::io::Result<()> {
    let mut new_file = false;
    for (segment, bytes) in chunks {
        if current.as_ref().is_none_or(|c| c.segment != *segment) {
            if let Some(c) = current.take() {
                c.file.sync_data()?;
            }
            let path = segment_path(dir, *segment);
            let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
            if file.metadata()?.len() == 0 {
                file.write_all(MAGIC)?;
                new_file = true;
            }
            *current = Some(Current {
                segment: *segment,
                file,
            });
        }
        if let Some(c) = current.as_mut() {
            c.file.write_all(bytes)?;
        }
    }
    if let Some(c) = current.as_ref() {
        c.file.sync_data()?;
    }
    if new_file {
        sync_dir(dir)?;
    }
    Ok(())
}

/// The writer thread: waits for a waiter, a full queue, the idle timeout with frames queued, or
/// the stop; then writes and syncs everything queued at once and reports to the waiters.
fn writer(shared: &Shared) {
    let mut current: Option<Current> = None;
    loop {
        let mut s = lock(shared);
        while !s.stop && s.waiters.is_empty() && s.queued_bytes < WRITE_AT_BYTES {
            let (next, timeout) = shared
                .wake
                .wait_timeout(s, Duration::from_millis(IDLE_WRITE_MS))
                .unwrap_or_else(|p| p.into_inner());
            s = next;
            if timeout.timed_out() && !s.chunks.is_empty() {
                break;
            }
        }
        if s.discard {
            return;
        }
        let mut chunks = std::mem::take(&mut s.chunks);
        s.queued_bytes = 0;
        let target = s.appended;
        let stop = s.stop;
        let failed = s.failed.clone();
        drop(s);
        for (_, bytes) in &mut chunks {
            seal(bytes);
        }
        let result = match failed {
            Some(problem) => Err(problem),
            None if chunks.is_empty() => Ok(()),
            None => write_chunks(&shared.dir, &mut current, &chunks).map_err(|e| e.to_string()),
        };
        let mut s = lock(shared);
        let ready: Vec<(u64, Done)> = match &result {
            Ok(()) => {
                s.durable = target;
                let (ready, waiting) = std::mem::take(&mut s.waiters)
                    .into_iter()
                    .partition(|(seq, _)| *seq <= target);
                s.waiters = waiting;
                ready
            }
            Err(problem) => {
                if s.failed.is_none() {
                    tracing::error!(error = %problem, "write-ahead log write failed; the store refuses writes until restart");
                    s.failed = Some(problem.clone());
                }
                std::mem::take(&mut s.waiters)
            }
        };
        let done = stop && s.chunks.is_empty() && s.waiters.is_empty();
        for (_, mut bytes) in chunks {
            if s.spare.len() < SPARE_CHUNKS && bytes.capacity() <= 2 * WRITE_AT_BYTES {
                bytes.clear();
                s.spare.push(bytes);
            }
        }
        drop(s);
        for (_, d) in ready {
            d(result.clone().map_err(|p| failure(&p)));
        }
        if done {
            return;
        }
    }
}
