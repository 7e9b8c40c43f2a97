//! The audit trail: an append-only, hash-chained JSON-lines log of every score, outcome and
//! privacy action, and its verifier.
//!
//! Each line is `{"record":BODY,"hash":"HEX"}` where `HEX` is the blake3 hash of the exact `BODY`
//! text, and `BODY` carries `"prev"`, the hash of the previous line's body (64 zeros for the
//! first). Editing a record breaks its own hash; deleting or reordering records breaks the next
//! record's `prev`. [`verify`] names the first broken line. Truncating the tail is not detectable
//! from the file alone (keep the last hash elsewhere for that).
//!
//! **Durability (group commit).** [`AuditLog::append`] writes the line and returns only after it
//! is on stable storage (`fdatasync`). Concurrent appenders share one sync: while one thread
//! syncs, the others queue; the next sync covers every line written meanwhile. Callers
//! acknowledge a request only after `append` returned.
//!
//! Records hold no raw personal data: users appear as keyed-hash pseudonyms only. Nothing here
//! touches the store, the engine or the network.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

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
    /// Outcome kind for outcomes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// API key id that made the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
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

struct Tail {
    file: File,
    prev: String,
    seq: u64,
    written: u64,
}

struct SyncState {
    synced: u64,
    syncing: bool,
}

/// An open audit log. Share it (`Arc<AuditLog>`); `append` takes `&self`.
pub struct AuditLog {
    path: PathBuf,
    tail: Mutex<Tail>,
    sync_file: File,
    sync: Mutex<SyncState>,
    synced_cv: Condvar,
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const PREFIX: &str = "{\"record\":";
/// `,"hash":"` + 64 hex + `"}`.
const SUFFIX_LEN: usize = 9 + 64 + 2;

impl AuditLog {
    /// Opens (or creates) the log at `path` and resumes its chain. Refuses a log whose chain is
    /// already broken, so new records never extend a tampered history silently.
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
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
        let sync_file = file.try_clone().map_err(io)?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            tail: Mutex::new(Tail {
                file,
                prev,
                seq,
                written: 0,
            }),
            sync_file,
            sync: Mutex::new(SyncState {
                synced: 0,
                syncing: false,
            }),
            synced_cv: Condvar::new(),
        })
    }

    /// Appends one event stamped `time_ms` and returns once it is durable (group commit).
    pub fn append(&self, event: &AuditEvent, time_ms: i64) -> Result<(), AuditError> {
        self.append_all(std::slice::from_ref(event), time_ms)
    }

    /// Appends events in order and returns once all are durable (one sync for the lot, shared
    /// with concurrent appenders).
    pub fn append_all(&self, events: &[AuditEvent], time_ms: i64) -> Result<(), AuditError> {
        let io = |source| AuditError::Io {
            path: self.path.display().to_string(),
            source,
        };
        let ticket = {
            let mut tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
            let mut text = String::new();
            let (mut prev, mut seq) = (tail.prev.clone(), tail.seq);
            for event in events {
                seq += 1;
                let body = serde_json::to_string(&Body {
                    seq,
                    time_ms,
                    event,
                    prev: &prev,
                })
                .map_err(|e| io(std::io::Error::other(e)))?;
                let hash = blake3::hash(body.as_bytes()).to_hex().to_string();
                text.push_str(PREFIX);
                text.push_str(&body);
                text.push_str(",\"hash\":\"");
                text.push_str(&hash);
                text.push_str("\"}\n");
                prev = hash;
            }
            // One write call per batch: a crash leaves at most a torn last line.
            tail.file.write_all(text.as_bytes()).map_err(io)?;
            tail.prev = prev;
            tail.seq = seq;
            tail.written += 1;
            tail.written
        };
        let mut st = self.sync.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if st.synced >= ticket {
                return Ok(());
            }
            if !st.syncing {
                break;
            }
            st = self.synced_cv.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        // This thread syncs for everyone who wrote before now.
        st.syncing = true;
        drop(st);
        let target = self.tail.lock().unwrap_or_else(|p| p.into_inner()).written;
        let result = self.sync_file.sync_data();
        let mut st = self.sync.lock().unwrap_or_else(|p| p.into_inner());
        st.syncing = false;
        if result.is_ok() {
            st.synced = st.synced.max(target);
        }
        self.synced_cv.notify_all();
        result.map_err(io)
    }
}

/// What [`verify`] found in an intact log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Number of records.
    pub records: u64,
    /// Hash of the last record (64 zeros when empty).
    pub last_hash: String,
}

/// Checks the whole chain of the log at `path`; the error names the first broken line.
pub fn verify(path: &Path) -> Result<Verified, AuditError> {
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
            let log = AuditLog::open(&path).expect("open");
            for n in 0..3 {
                log.append(&event(n), 1_000 + i64::from(n)).expect("append");
            }
        }
        let log = AuditLog::open(&path).expect("reopen resumes the chain");
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
    fn concurrent_appends_all_land_in_one_chain() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let log = std::sync::Arc::new(AuditLog::open(&path).expect("open"));
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
