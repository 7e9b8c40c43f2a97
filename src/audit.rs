//! The audit trail: an append-only, hash-chained JSON-lines log of every score, outcome and
//! privacy action, and its verifier.
//!
//! Each line is `{"record":BODY,"hash":"HEX"}` where `HEX` is the blake3 hash of the exact `BODY`
//! text, and `BODY` carries `"prev"`, the hash of the previous line's body (64 zeros for the
//! first). Editing a record breaks its own hash; deleting or reordering records breaks the next
//! record's `prev`. [`verify`] names the first broken line. Cutting records from the end is not
//! detectable from the file alone: keep the head ([`AuditLog::head`], `GET /v1/audit/head`)
//! elsewhere and check against it with [`verify_anchored`].
//!
//! **Durability (group commit).** One writer thread owns the file. [`AuditLog::submit`] queues
//! events and reports back once they are on stable storage (`fdatasync`); [`AuditLog::append`]
//! waits for that. The writer takes everything queued, chains and writes it with one call and
//! syncs once, so concurrent appenders share one sync and queue while it runs. Callers
//! acknowledge a request only after its events are reported durable. After a failed write or
//! sync every later append is refused (the chain's tail on disk is then unknown).
//!
//! Records hold no raw personal data: users appear as keyed-hash pseudonyms only. Nothing here
//! touches the store, the engine or the network.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};

/// Why the audit log failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Reading, writing or syncing the file failed.
    #[error("audit log {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The chain is broken at `line` (1-based).
    #[error("audit log {path}: line {line}: {problem}")]
    Broken {
        /// The file.
        path: String,
        /// First broken line, 1-based.
        line: usize,
        /// What is wrong.
        problem: String,
    },
}

/// One audited event. Optional fields are omitted when absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// What happened: `score`, `outcome`, `export`, `erase`, `reload`.
    pub method: String,
    /// Request id, when the event concerns a scored request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Keyed-hash pseudonym of the user (hex), never the raw id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Decision (`allow`, `step_up_otp` …) for scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// Trust score 0–100 for scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_score: Option<u8>,
    /// Reason codes, strongest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Model version that produced the score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_version: Option<String>,
    /// Shadow model's version, trust score and decision for scores (never enforced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow_model_version: Option<String>,
    /// Shadow model's trust score 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow_trust_score: Option<u8>,
    /// Shadow model's decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow_decision: Option<String>,
    /// Outcome kind for outcomes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// API key id that made the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Tenant of the key that made the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The call repeated an earlier one (an identical score retry, a replayed outcome): it was
    /// answered as the first was and changed nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
    /// For a change recorded before it was made (outcome, erasure) that then failed: `failed`,
    /// in a second record naming the same request or user. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    seq: u64,
    time_ms: i64,
    #[serde(flatten)]
    event: &'a AuditEvent,
    prev: &'a str,
}

#[derive(Deserialize)]
struct Link {
    prev: String,
}

/// Called once with the result of a submitted batch, after it is durable (or failed).
pub type Done = Box<dyn FnOnce(Result<(), AuditError>) + Send>;

struct Job {
    events: Vec<AuditEvent>,
    time_ms: i64,
    done: Done,
}

/// Jobs taken into one write + sync at most.
const MAX_GROUP: usize = 4096;

/// The writer thread's state: the open file and the chain's tail.
struct Writer {
    /// The head after the last successful sync, for [`AuditLog::head`].
    head: std::sync::Arc<std::sync::Mutex<Verified>>,
    path: String,
    file: File,
    prev: String,
    seq: u64,
    /// Set after a failed write or sync: what is on disk is then unknown, so every later
    /// append is refused rather than extending a possibly torn chain.
    failed: Option<String>,
    text: String,
}

/// An open audit log. Share it (`Arc<AuditLog>`); appends take `&self`.
pub struct AuditLog {
    path: PathBuf,
    head: std::sync::Arc<std::sync::Mutex<Verified>>,
    jobs: Option<Sender<Job>>,
    writer: Option<JoinHandle<()>>,
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const PREFIX: &str = "{\"record\":";
/// `,"hash":"` + 64 hex + `"}`.
const SUFFIX_LEN: usize = 9 + 64 + 2;

impl AuditLog {
    /// Opens (or creates) the log at `path`, resumes its chain and starts its writer thread.
    /// Refuses a log whose chain is already broken, so new records never extend a tampered
    /// history silently.
    ///
    /// `group_wait`: when the previous group held more than one job (concurrent traffic), the
    /// writer waits this long after the first job of the next group before syncing, so one
    /// sync covers more requests (PostgreSQL's `commit_delay`). Alone, a job is synced at once.
    pub fn open(path: &Path, group_wait: std::time::Duration) -> Result<AuditLog, AuditError> {
        let name = path.display().to_string();
        let io = |source| AuditError::Io {
            path: name.clone(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let (prev, seq) = if path.exists() {
            let v = verify(path)?;
            (v.last_hash, v.records)
        } else {
            (GENESIS.to_string(), 0)
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        let head = std::sync::Arc::new(std::sync::Mutex::new(Verified {
            records: seq,
            last_hash: prev.clone(),
        }));
        let mut writer = Writer {
            head: std::sync::Arc::clone(&head),
            path: name.clone(),
            file,
            prev,
            seq,
            failed: None,
            text: String::new(),
        };
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let handle = std::thread::Builder::new()
            .name("tessera-audit".into())
            .spawn(move || {
                // Group commit: block for one job, take whatever else is queued, write it all
                // with one call and sync once. Jobs queue while the sync runs.
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
                    let result = writer.commit(&group);
                    for job in group {
                        let r = match &result {
                            Ok(()) => Ok(()),
                            Err(problem) => Err(AuditError::Io {
                                path: writer.path.clone(),
                                source: std::io::Error::other(problem.clone()),
                            }),
                        };
                        (job.done)(r);
                    }
                }
            })
            .map_err(io)?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            head,
            jobs: Some(jobs),
            writer: Some(handle),
        })
    }

    /// Queues `events` (in order, stamped `time_ms`) for the writer thread and returns at once;
    /// `done` is called from that thread once they are durable, or with the error. Concurrent
    /// submissions share one write and one `fdatasync`.
    pub fn submit(&self, events: Vec<AuditEvent>, time_ms: i64, done: Done) {
        let job = Job {
            events,
            time_ms,
            done,
        };
        let Some(jobs) = &self.jobs else {
            return; // only during drop
        };
        if let Err(std::sync::mpsc::SendError(job)) = jobs.send(job) {
            (job.done)(Err(AuditError::Io {
                path: self.path.display().to_string(),
                source: std::io::Error::other("audit writer stopped"),
            }));
        }
    }

    /// The chain's head: records durably written so far and the last one's hash. Keep it
    /// elsewhere (another system, a ticket, a notary) to detect a log cut back later
    /// ([`verify_anchored`]).
    pub fn head(&self) -> Verified {
        self.head.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Appends one event stamped `time_ms` and returns once it is durable.
    pub fn append(&self, event: &AuditEvent, time_ms: i64) -> Result<(), AuditError> {
        self.append_all(std::slice::from_ref(event), time_ms)
    }

    /// Appends events in order and returns once all are durable (blocking the caller; async
    /// callers use [`AuditLog::submit`]).
    pub fn append_all(&self, events: &[AuditEvent], time_ms: i64) -> Result<(), AuditError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.submit(
            events.to_vec(),
            time_ms,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        rx.recv().unwrap_or_else(|_| {
            Err(AuditError::Io {
                path: self.path.display().to_string(),
                source: std::io::Error::other("audit writer stopped"),
            })
        })
    }
}

impl Writer {
    /// Chains, writes (one call: a crash leaves at most a torn last line) and syncs a group.
    fn commit(&mut self, group: &[Job]) -> Result<(), String> {
        if let Some(problem) = &self.failed {
            return Err(format!(
                "refusing to append after an earlier failure: {problem}"
            ));
        }
        self.text.clear();
        let (mut prev, mut seq) = (std::mem::take(&mut self.prev), self.seq);
        for job in group {
            for event in &job.events {
                seq += 1;
                let body = serde_json::to_string(&Body {
                    seq,
                    time_ms: job.time_ms,
                    event,
                    prev: &prev,
                })
                .map_err(|e| e.to_string());
                let body = match body {
                    Ok(b) => b,
                    Err(e) => {
                        self.prev = prev; // nothing written: the chain is intact
                        return Err(e);
                    }
                };
                let hash = blake3::hash(body.as_bytes()).to_hex();
                self.text.push_str(PREFIX);
                self.text.push_str(&body);
                self.text.push_str(",\"hash\":\"");
                self.text.push_str(&hash);
                self.text.push_str("\"}\n");
                prev.clear();
                prev.push_str(&hash);
            }
        }
        self.prev = prev;
        self.seq = seq;
        let result = self
            .file
            .write_all(self.text.as_bytes())
            .and_then(|()| self.file.sync_data());
        match result {
            Ok(()) => {
                let mut head = self.head.lock().unwrap_or_else(|p| p.into_inner());
                head.records = self.seq;
                head.last_hash.clone_from(&self.prev);
                Ok(())
            }
            Err(e) => {
                let problem = e.to_string();
                self.failed = Some(problem.clone());
                Err(problem)
            }
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        // Closing the queue ends the writer after it has committed everything queued.
        drop(self.jobs.take());
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
    }
}

/// What [`verify`] found in an intact log; also the chain's head ([`AuditLog::head`]), which,
/// kept elsewhere, anchors the log against having its tail cut ([`verify_anchored`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// Number of records.
    pub records: u64,
    /// Hash of the last record (64 zeros when empty).
    pub last_hash: String,
}

/// Checks the whole chain of the log at `path`; the error names the first broken line.
pub fn verify(path: &Path) -> Result<Verified, AuditError> {
    verify_anchored(path, None)
}

/// Like [`verify`], and when `anchor` (a head taken earlier, `records` and `last_hash`) is given,
/// also checks that record number `anchor.records` is still there with that hash: a log cut
/// back, or rebuilt as a fresh chain, fails although its own chain is intact.
pub fn verify_anchored(path: &Path, anchor: Option<&Verified>) -> Result<Verified, AuditError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|source| AuditError::Io {
        path: name.clone(),
        source,
    })?;
    let mut prev = GENESIS.to_string();
    let mut records = 0u64;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let number = i + 1;
        let broken = |problem: &str| AuditError::Broken {
            path: name.clone(),
            line: number,
            problem: problem.to_string(),
        };
        let line = line.map_err(|source| AuditError::Io {
            path: name.clone(),
            source,
        })?;
        let hash = check_line(&line, &prev).map_err(|p| broken(&p))?;
        prev = hash;
        records += 1;
        if let Some(a) = anchor
            && a.records == records
            && a.last_hash != prev
        {
            return Err(broken(
                "record differs from the anchor's hash (history rewritten)",
            ));
        }
    }
    if let Some(a) = anchor
        && a.records > records
    {
        return Err(AuditError::Broken {
            path: name,
            line: usize::try_from(records + 1).unwrap_or(usize::MAX),
            problem: format!(
                "the log ends after {records} records but the anchor names record {}: records were cut from its end",
                a.records
            ),
        });
    }
    Ok(Verified {
        records,
        last_hash: prev,
    })
}

/// Checks one line against the previous hash; returns its own hash.
fn check_line(line: &str, prev: &str) -> Result<String, String> {
    let inner = line
        .strip_prefix(PREFIX)
        .filter(|rest| rest.len() > SUFFIX_LEN)
        .ok_or("not an audit record")?;
    let split = inner.len() - SUFFIX_LEN;
    let (body, suffix) = (inner.get(..split), inner.get(split..));
    let (Some(body), Some(suffix)) = (body, suffix) else {
        return Err("not an audit record".into());
    };
    let stated = suffix
        .strip_prefix(",\"hash\":\"")
        .and_then(|s| s.strip_suffix("\"}"))
        .ok_or("not an audit record (hash field)")?;
    let actual = blake3::hash(body.as_bytes()).to_hex().to_string();
    if actual != stated {
        return Err("record edited: its hash does not match its content".into());
    }
    let link: Link =
        serde_json::from_str(body).map_err(|_| "record is not valid JSON with a prev field")?;
    if link.prev != prev {
        return Err(
            "chain broken: prev does not match the previous record (deleted or reordered records)"
                .into(),
        );
    }
    Ok(actual)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn event(n: u32) -> AuditEvent {
        AuditEvent {
            method: "score".into(),
            request_id: Some(format!("r{n}")),
            decision: Some("allow".into()),
            ..AuditEvent::default()
        }
    }

    #[test]
    fn chain_verifies_resumes_and_names_the_tampered_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/audit.jsonl");
        {
            let log = AuditLog::open(&path, Duration::ZERO).expect("open");
            for n in 0..3 {
                log.append(&event(n), 1_000 + i64::from(n)).expect("append");
            }
        }
        let log =
            AuditLog::open(&path, Duration::from_micros(200)).expect("reopen resumes the chain");
        log.append(&event(3), 2_000).expect("append");
        let v = verify(&path).expect("intact");
        assert_eq!(v.records, 4);

        let text = std::fs::read_to_string(&path).expect("read");
        let edited = text.replacen("\"r1\"", "\"r9\"", 1);
        std::fs::write(&path, &edited).expect("write");
        match verify(&path) {
            Err(AuditError::Broken { line, problem, .. }) => {
                assert_eq!(line, 2, "{problem}");
                assert!(problem.contains("edited"), "{problem}");
            }
            other => panic!("expected a broken chain, got {other:?}"),
        }
        let lines: Vec<&str> = text.lines().collect();
        let dropped = [lines[0], lines[2], lines[3]].join("\n") + "\n";
        std::fs::write(&path, dropped).expect("write");
        match verify(&path) {
            Err(AuditError::Broken { line, problem, .. }) => {
                assert_eq!(line, 2, "{problem}");
                assert!(problem.contains("prev"), "{problem}");
            }
            other => panic!("expected a broken chain, got {other:?}"),
        }
    }

    #[test]
    fn an_anchor_catches_a_log_cut_from_its_end_or_rebuilt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, Duration::ZERO).expect("open");
        for n in 0..4 {
            log.append(&event(n), 10).expect("append");
        }
        let head = log.head();
        assert_eq!(head, verify(&path).expect("intact"));
        assert_eq!(head.records, 4);
        drop(log);
        assert_eq!(verify_anchored(&path, Some(&head)).expect("ok"), head);
        // Cut the last record: the chain alone still verifies, the anchor does not.
        let text = std::fs::read_to_string(&path).expect("read");
        let cut: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, &cut).expect("write");
        assert_eq!(verify(&path).expect("chain intact").records, 3);
        match verify_anchored(&path, Some(&head)) {
            Err(AuditError::Broken { line, problem, .. }) => {
                assert_eq!(line, 4, "{problem}");
                assert!(problem.contains("cut from its end"), "{problem}");
            }
            other => panic!("expected a cut log, got {other:?}"),
        }
        // A fresh chain of four records in place of the old one: the anchor's hash differs.
        std::fs::remove_file(&path).expect("rm");
        let log = AuditLog::open(&path, Duration::ZERO).expect("open");
        for n in 10..14 {
            log.append(&event(n), 10).expect("append");
        }
        drop(log);
        match verify_anchored(&path, Some(&head)) {
            Err(AuditError::Broken { line, problem, .. }) => {
                assert_eq!(line, 4, "{problem}");
                assert!(problem.contains("anchor"), "{problem}");
            }
            other => panic!("expected a rewritten log, got {other:?}"),
        }
    }

    #[test]
    fn concurrent_appends_all_land_in_one_chain() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let log =
            std::sync::Arc::new(AuditLog::open(&path, Duration::from_micros(500)).expect("open"));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let log = std::sync::Arc::clone(&log);
                std::thread::spawn(move || {
                    for n in 0..25 {
                        log.append(&event(t * 100 + n), 5).expect("append");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(verify(&path).expect("intact").records, 100);
    }
}
