//! The audit log's writer: the one owner of the open file, and of its lock ([`lock`]). Chains
//! events, writes each group with one call and syncs it once (group commit).
//!
//! After a failed write or sync the file is cut back to its last whole, synced length (when the
//! file system allows), the failure is published in [`Shared::failed`] and every later group is
//! refused: what is on disk past that point is unknown, so the chain is never extended over it.

use std::fs::File;
use std::io::Write;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use super::chain::Verified;
use super::{AuditError, AuditEvent, Done};

/// Takes the exclusive advisory lock on an open log file (a regular one), held as long as the
/// writer holds the file: a second [`super::AuditLog`] on the same file, in this process or another
/// (`tessera store expire` beside a running `tessera serve`), is refused rather than let two
/// writers interleave one chain. A file system without locks is warned about once, at open.
pub(super) fn lock(file: &std::fs::File, name: &str) -> Result<(), AuditError> {
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Ok(());
    }
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(AuditError::InUse {
            path: name.to_string(),
        }),
        Err(std::fs::TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => {
            tracing::warn!(
                path = %name,
                "audit log: this file system cannot lock files; make sure only one process writes it"
            );
            Ok(())
        }
        Err(std::fs::TryLockError::Error(source)) => Err(AuditError::Io {
            path: name.to_string(),
            source,
        }),
    }
}

/// One submission: events stamped `time_ms`, and whom to tell once durable.
pub(super) struct Job {
    pub events: Vec<AuditEvent>,
    pub time_ms: i64,
    pub done: Done,
}

/// Jobs taken into one write + sync at most.
const MAX_GROUP: usize = 4096;

/// What the writer publishes to [`super::AuditLog`].
#[derive(Debug)]
pub(super) struct Shared {
    /// The head after the last successful sync.
    pub head: Verified,
    /// Why appends are refused, after a failed write or sync.
    pub failed: Option<String>,
}

/// The writer thread's state: the open file and the chain's tail.
pub(super) struct Writer {
    pub shared: Arc<Mutex<Shared>>,
    pub path: String,
    pub file: File,
    pub prev: String,
    pub seq: u64,
    /// Bytes of whole, synced records: where to cut back to after a failed write.
    pub len: u64,
    pub text: String,
}

#[derive(serde::Serialize)]
struct Body<'a> {
    seq: u64,
    time_ms: i64,
    #[serde(flatten)]
    event: &'a AuditEvent,
    prev: &'a str,
}

impl Writer {
    /// Group commit until the queue closes: block for one job, take whatever else is queued,
    /// write it all with one call and sync once. Jobs queue while the sync runs.
    pub fn run(mut self, queue: &Receiver<Job>, group_wait: std::time::Duration) {
        let mut busy = false;
        while let Ok(first) = queue.recv() {
            if busy && !group_wait.is_zero() {
                std::thread::sleep(group_wait);
            }
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match queue.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            busy = group.len() > 1;
            let result = self.commit(group.iter().map(|j| (j.time_ms, j.events.as_slice())));
            for job in group {
                let r = match &result {
                    Ok(()) => Ok(()),
                    Err(problem) => Err(AuditError::Io {
                        path: self.path.clone(),
                        source: std::io::Error::other(problem.clone()),
                    }),
                };
                (job.done)(r);
            }
        }
    }

    fn failed(&self) -> Option<String> {
        self.shared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .failed
            .clone()
    }

    /// Chains, writes (one call: a crash leaves at most a torn last line) and syncs a group of
    /// `(time_ms, events)` batches.
    pub fn commit<'a>(
        &mut self,
        group: impl Iterator<Item = (i64, &'a [AuditEvent])>,
    ) -> Result<(), String> {
        if let Some(problem) = self.failed() {
            return Err(format!(
                "refusing to append after an earlier failure: {problem}"
            ));
        }
        self.text.clear();
        let (mut prev, mut seq) = (self.prev.clone(), self.seq);
        for (time_ms, events) in group {
            for event in events {
                seq += 1;
                let body = serde_json::to_string(&Body {
                    seq,
                    time_ms,
                    event,
                    prev: &prev,
                })
                .map_err(|e| e.to_string())?; // nothing written: the chain is intact
                let hash = blake3::hash(body.as_bytes()).to_hex();
                self.text.push_str(super::chain::PREFIX);
                self.text.push_str(&body);
                self.text.push_str(",\"hash\":\"");
                self.text.push_str(&hash);
                self.text.push_str("\"}\n");
                prev.clear();
                prev.push_str(&hash);
            }
        }
        let result = self
            .file
            .write_all(self.text.as_bytes())
            .and_then(|()| self.file.sync_data());
        match result {
            Ok(()) => {
                self.prev = prev;
                self.seq = seq;
                self.len += self.text.len() as u64;
                let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
                shared.head.records = self.seq;
                shared.head.last_hash.clone_from(&self.prev);
                Ok(())
            }
            Err(e) => {
                let mut problem = format!("write or sync failed: {e}");
                // Cut a partial write back, so no torn line is left for a later reader.
                if self.file.metadata().is_ok_and(|m| m.is_file())
                    && let Err(t) = self
                        .file
                        .set_len(self.len)
                        .and_then(|()| self.file.sync_all())
                {
                    problem.push_str(&format!(" (and cutting it back failed: {t})"));
                }
                tracing::error!(path = %self.path, problem = %problem, "audit log refuses appends");
                self.shared.lock().unwrap_or_else(|p| p.into_inner()).failed =
                    Some(problem.clone());
                Err(problem)
            }
        }
    }
}
