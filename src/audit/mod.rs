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
//! sync the file is cut back to its last whole record and every later append is refused
//! ([`AuditLog::health`] says why) until the process restarts.
//!
//! **One writer.** [`AuditLog::open`] takes an exclusive advisory lock on the file (released
//! when the log is dropped or the process ends), so two processes, or two opens in one, never
//! interleave one chain: the second open fails with [`AuditError::InUse`].
//!
//! **Torn tails.** A crash or a full disk can leave the last line half-written. [`AuditLog::open`]
//! moves such a torn last line aside, byte for byte, into `NAME.torn-<unix_ms>` beside the log
//! (logging a warning), cuts the log back to its last whole record and continues the chain from
//! there with a `recovery` record naming the side file, its size and its blake3 hash
//! ([`verify_report`] lists them). Only the last line may be torn: a bad line before it, or a
//! whole record-shaped last line with a wrong hash, is tampering and `open` refuses the log.
//!
//! [`labels::LabelLog`] is the label log: plain JSON lines, no chain, the same fail-closed rule.
//!
//! **What records hold.** Users and devices appear as keyed-hash pseudonyms only (per tenant),
//! never their raw ids; no keystroke timings, no typed text. A `score` record also carries what
//! a fraud report groups by: the channel and action, the IP's country and AS number, and the
//! client's IP address as `server.audit_ip` says (the whole address by default, so an analyst
//! can block it; its /24 or /48, or nothing). With the default, the log is personal data under
//! most privacy laws: keep it where the store is kept. Nothing here touches the store, the
//! engine or the network.

mod chain;
pub mod labels;
mod torn;
mod writer;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};

pub use chain::{AnchorError, Recovery, Report, Verified, verify, verify_anchored, verify_report};
pub use labels::LabelLog;
use writer::{Job, Shared, Writer};

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
    /// Another open [`AuditLog`] (this process or another, e.g. a running `tessera serve`)
    /// holds the file's lock: one writer at a time.
    #[error("audit log {path}: in use by another writer (a running `tessera serve`?)")]
    InUse {
        /// The file.
        path: String,
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
    /// What happened: `score`, `outcome`, `export`, `erase`, `reload`, `retention` (a
    /// retention sweep, by `tessera serve` or `tessera store expire`), `recovery` (a torn tail
    /// moved aside when the log was opened).
    pub method: String,
    /// Request id, when the event concerns a scored request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Keyed-hash pseudonym of the user (hex), never the raw id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// For scores: keyed-hash pseudonym (hex, per tenant, as the store keys it) of the
    /// request's device id, when it has one; never the raw id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// For scores: the client's IP address as `server.audit_ip` says: whole (`203.0.113.7`),
    /// its network (`203.0.113.0/24`, `2001:db8:1::/48`), or absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// For scores: the IP's country (ISO 3166-1 alpha-2), when the City database located it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// For scores: the IP's AS number, when the ASN database knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// For scores: the chat surface, as on the wire (`web_widget`, `sms` …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// For scores: what the customer attempted, as on the wire (`login` when the request
    /// named none, `payment` …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
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
    /// For scores: the request's consent to behavioural biometrics (typing rhythm): `given`,
    /// `refused` or `unstated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biometric_consent: Option<String>,
    /// For scores: the tenant requires that consent before typing is compared or kept (without
    /// it, typing was not used).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub biometric_consent_required: bool,
    /// For a change recorded before it was made (outcome, erasure) that then failed: `failed`,
    /// in a second record naming the same request or user. For `retention`: `failed` when the
    /// sweep stopped with an error (it may have deleted part of what was due). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// For `recovery`: the side file (name only, beside the log) holding the torn bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_aside_file: Option<String>,
    /// For `recovery`: how many bytes were moved aside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_aside_bytes: Option<u64>,
    /// For `recovery`: blake3 hash (hex) of the bytes moved aside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_aside_blake3: Option<String>,
    /// For `reload`: entries read per `[reputation]` list key (`tor_exit`, `vpn` …), summed
    /// over its files, when the lists were reloaded.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub list_entries: std::collections::BTreeMap<String, u64>,
    /// For `retention`: records deleted per store table (`profile`, `user_activity`,
    /// `device`, `ip`, `pending`, `population`), every table listed, zeros included. Absent
    /// for a sweep that failed (`status: failed`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub deleted: std::collections::BTreeMap<String, u64>,
    /// For `retention`: records kept with their older entries (sightings) pruned, per table
    /// as in `deleted`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub pruned: std::collections::BTreeMap<String, u64>,
}

/// Called once with the result of a submitted batch, after it is durable (or failed).
pub type Done = Box<dyn FnOnce(Result<(), AuditError>) + Send>;

/// An open audit log. Share it (`Arc<AuditLog>`); appends take `&self`.
pub struct AuditLog {
    path: PathBuf,
    shared: Arc<Mutex<Shared>>,
    jobs: Option<Sender<Job>>,
    writer: Option<JoinHandle<()>>,
}

impl AuditLog {
    /// Opens (or creates) the log at `path`, resumes its chain and starts its writer thread.
    /// Refuses a log whose chain is broken before its last line, or whose last whole record is
    /// edited, so new records never extend a tampered history silently. Refuses a log another
    /// open `AuditLog` holds ([`AuditError::InUse`]: an advisory lock on the file, kept until
    /// this one is dropped). A torn last line is moved aside and recorded first (see the module
    /// docs); failing that, `open` fails.
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
        // Only a regular file has a chain to read (a character device such as `/dev/full`
        // would be read forever).
        let existed = std::fs::metadata(path).is_ok_and(|m| m.is_file());
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        // Before anything is read or moved aside: one writer per chain.
        writer::lock(&file, &name)?;
        let (head, len, recoveries) = if existed {
            recover(path)?
        } else {
            (
                Verified {
                    records: 0,
                    last_hash: chain::GENESIS.to_string(),
                },
                0,
                Vec::new(),
            )
        };
        let shared = Arc::new(Mutex::new(Shared {
            head: head.clone(),
            failed: None,
        }));
        let mut writer = Writer {
            shared: Arc::clone(&shared),
            path: name.clone(),
            file,
            prev: head.last_hash,
            seq: head.records,
            len,
            text: String::new(),
        };
        if !recoveries.is_empty() {
            // Durable before anything else is appended; if this fails the side files stay
            // unrecorded and the next open records them.
            writer
                .commit(std::iter::once((unix_ms(), recoveries.as_slice())))
                .map_err(|problem| AuditError::Io {
                    path: name.clone(),
                    source: std::io::Error::other(format!("recording a recovery: {problem}")),
                })?;
        }
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let handle = std::thread::Builder::new()
            .name("tessera-audit".into())
            .spawn(move || writer.run(&queue, group_wait))
            .map_err(io)?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            shared,
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
        self.shared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .head
            .clone()
    }

    /// `Ok(())` while appends are accepted; otherwise why they are refused (an I/O error's
    /// text: no record contents, no ids). Refusal lasts until the process restarts.
    pub fn health(&self) -> Result<(), String> {
        if let Some(problem) = &self.shared.lock().unwrap_or_else(|p| p.into_inner()).failed {
            return Err(format!("appends refused: {problem}"));
        }
        if self.writer.as_ref().is_none_or(JoinHandle::is_finished) {
            return Err("appends refused: the writer thread stopped".into());
        }
        Ok(())
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

impl Drop for AuditLog {
    fn drop(&mut self) {
        // Closing the queue ends the writer after it has committed everything queued.
        drop(self.jobs.take());
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Scans the log at `path`, moves a torn last line aside, and returns the head of the whole
/// records, their length in bytes, and one `recovery` event per side file beside the log that
/// no `recovery` record names yet (the one just made, or one left by an interrupted recovery).
fn recover(path: &Path) -> Result<(Verified, u64, Vec<AuditEvent>), AuditError> {
    let scan = chain::scan(path, None)?;
    if let Some(t) = &scan.torn {
        let side = torn::move_aside(path, scan.whole_len, unix_ms())?;
        tracing::warn!(
            path = %path.display(),
            line = t.line,
            bytes = side.bytes,
            problem = t.problem,
            side_file = %side.name,
            "audit log: torn last line moved aside; the chain continues from the last whole record"
        );
    }
    let known: Vec<&str> = scan
        .report
        .recoveries
        .iter()
        .map(|r| r.file.as_str())
        .collect();
    let events = torn::unrecorded(path, &known)?
        .into_iter()
        .map(|side| AuditEvent {
            method: "recovery".into(),
            moved_aside_file: Some(side.name),
            moved_aside_bytes: Some(side.bytes),
            moved_aside_blake3: Some(side.blake3),
            ..AuditEvent::default()
        })
        .collect();
    Ok((scan.report.head, scan.whole_len, events))
}

#[cfg(test)]
mod tests;
