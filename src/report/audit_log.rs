//! Reading what `tessera serve` writes in production: the hash-chained audit log (scores with
//! their decisions, reasons and model versions, outcomes, exports, erasures, retention sweeps,
//! reloads), verified first ([`crate::audit::verify_report`], against an anchor when given),
//! joined with the label log by tenant and request id.
//!
//! The audit log holds pseudonyms only; nothing here can recover a raw id. A score record
//! answered as a retry (`replayed`) was counted by its first record and is skipped.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::events::{
    ActionKind, AdminAction, Compliance, OutcomeRow, Reported, ScoredRow, decision_named,
    outcome_named,
};
use super::{Feed, ReportError};
use crate::domain::label::LabelRecord;

/// The fields of an audit record a report reads (unknown fields are ignored, so every version
/// of the log reads).
#[derive(Debug, Deserialize)]
struct Record {
    time_ms: i64,
    method: String,
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    decision: Option<String>,
    #[serde(default)]
    trust_score: Option<u8>,
    #[serde(default)]
    reasons: Vec<String>,
    #[serde(default)]
    model_version: Option<String>,
    #[serde(default)]
    shadow_decision: Option<String>,
    #[serde(default)]
    shadow_trust_score: Option<u8>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    replayed: bool,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    asn: Option<u32>,
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    deleted: BTreeMap<String, u64>,
    #[serde(default)]
    pruned: BTreeMap<String, u64>,
}

/// Whom an erasure or export concerned: (tenant, user pseudonym).
type Who = (Option<String>, Option<String>);

/// [`Record`]'s field names (the only path segments an error may name).
const FIELDS: [&str; 22] = [
    "time_ms",
    "method",
    "request_id",
    "user",
    "decision",
    "trust_score",
    "reasons",
    "model_version",
    "shadow_decision",
    "shadow_trust_score",
    "outcome",
    "tenant",
    "replayed",
    "status",
    "channel",
    "action",
    "ip",
    "country",
    "asn",
    "device",
    "deleted",
    "pruned",
];

#[derive(Debug, Deserialize)]
struct Line {
    record: Record,
}

/// The files of a production report.
#[derive(Debug, Clone, Default)]
pub struct AuditInput {
    /// The audit log.
    pub audit: PathBuf,
    /// Label logs joined to it (outcomes); when none, the audit log's own outcome records.
    pub labels: Vec<PathBuf>,
    /// `RECORDS:HASH` the log must still contain (from `GET /v1/audit/head`).
    pub anchor: Option<crate::audit::Verified>,
    /// Addresses as /24 and /48 prefixes instead of in full.
    pub truncate_ips: bool,
}

/// Reads one line's record; the error names the field (its path in the record, never a key
/// or value taken from the line), the line and the column.
fn parse_line(path: &Path, line: usize, text: &str) -> Result<Record, ReportError> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, Line>(&mut de)
        .map(|l| l.record)
        .map_err(|e| {
            // Only this reader's own field names: any other key (an ignored unknown field, a
            // map key under `deleted`) is the line's own text. The path is cut there.
            let mut field = Vec::new();
            for seg in e.path().iter() {
                let serde_path_to_error::Segment::Map { key } = seg else {
                    break;
                };
                if !(key == "record" || FIELDS.contains(&key.as_str())) {
                    break;
                }
                field.push(key.clone());
                if key == "deleted" || key == "pruned" {
                    break;
                }
            }
            let inner = e.into_inner();
            let mut problem = crate::domain::error::redact_serde_message(&inner);
            if !field.is_empty() && !problem.starts_with("missing field") {
                problem = format!("{}: {problem}", field.join("."));
            }
            ReportError::Malformed {
                file: path.display().to_string(),
                line,
                column: inner.column(),
                problem,
            }
        })
}

fn io(path: &Path, source: std::io::Error) -> ReportError {
    ReportError::Io {
        file: path.display().to_string(),
        source,
    }
}

/// How far records may be out of time order in the log (records are chained in the order the
/// writer took them, which may differ from their times by a few milliseconds under
/// concurrency): rows and outcomes wait this long in a small queue to come out in time order.
const REORDER_MS: i64 = 60_000;

/// A row or an outcome waiting in the queue, ordered by time, rows before outcomes of the
/// same millisecond, then by reading order.
struct Queued {
    ts_ms: i64,
    seq: u64,
    item: Item,
}

enum Item {
    Row(Box<ScoredRow>),
    Outcome(OutcomeRow),
}

impl Queued {
    fn key(&self) -> (i64, u8, u64) {
        let class = match self.item {
            Item::Row(_) => 0,
            Item::Outcome(_) => 1,
        };
        (self.ts_ms, class, self.seq)
    }
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Reversed: the heap's top is the earliest.
        other.key().cmp(&self.key())
    }
}

/// The queue putting rows and outcomes back in time order.
#[derive(Default)]
struct Reorder {
    heap: std::collections::BinaryHeap<Queued>,
    seq: u64,
}

impl Reorder {
    fn push(&mut self, ts_ms: i64, item: Item) {
        self.seq += 1;
        self.heap.push(Queued {
            ts_ms,
            seq: self.seq,
            item,
        });
    }

    /// Hands on what is older than `before` (everything when `None`), in time order.
    fn release(&mut self, before: Option<i64>, feed: &mut dyn Feed) -> Result<(), ReportError> {
        while let Some(top) = self.heap.peek() {
            if before.is_some_and(|b| top.ts_ms >= b) {
                break;
            }
            let Some(q) = self.heap.pop() else { break };
            match q.item {
                Item::Row(r) => feed.row(*r)?,
                Item::Outcome(o) => feed.outcome(o)?,
            }
        }
        Ok(())
    }
}

/// Reads and verifies `input`, handing every score and every outcome report to `feed` in time
/// order as it reads (the log is never held whole); returns the compliance counts and what
/// was read. A chain that does not verify is reported in [`Compliance::broken`], not refused:
/// the analyst needs to see what the log says, and the page says loudly that it cannot be
/// trusted.
///
/// Outcomes: without label logs, the audit log's own outcome records (each failure cancels
/// an attempt, see [`super::aggregate::kpi::Fate::of`]); with them, the label lines, one per
/// attempt, against the audited failures.
pub fn read(
    input: &AuditInput,
    feed: &mut dyn Feed,
) -> Result<(Compliance, Vec<String>), ReportError> {
    let path = &input.audit;
    let verified = crate::audit::verify_report(path, input.anchor.as_ref());
    let mut c = Compliance {
        anchor: input
            .anchor
            .as_ref()
            .map(|a| format!("{}:{}", a.records, a.last_hash)),
        ..Compliance::default()
    };
    match verified {
        Ok(r) => {
            c.records = r.head.records;
            c.head = r.head.last_hash.clone();
            c.recoveries = r.recoveries.len();
        }
        Err(crate::audit::AuditError::Io { source, .. }) => return Err(io(path, source)),
        Err(e) => c.broken = Some(e.to_string()),
    }
    let file = std::fs::File::open(path).map_err(|e| io(path, e))?;
    let mut labels = Labels::open(&input.labels);
    let with_labels = !input.labels.is_empty();
    let mut queue = Reorder::default();
    // Erasures and exports not yet paired with a failure: (index in the actions, who).
    let mut attempts: Vec<(usize, Who)> = Vec::new();
    let mut reader = std::io::BufReader::new(file);
    let mut bytes = Vec::new();
    for i in 0.. {
        bytes.clear();
        if reader
            .read_until(b'\n', &mut bytes)
            .map_err(|e| io(path, e))?
            == 0
        {
            break;
        }
        let parsed = match std::str::from_utf8(&bytes) {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => parse_line(path, i + 1, line),
            Err(_) => Err(ReportError::Malformed {
                file: path.display().to_string(),
                line: i + 1,
                column: 0,
                problem: "is not UTF-8".into(),
            }),
        };
        let rec = match parsed {
            Ok(rec) => rec,
            // A damaged log is still shown as far as it reads; the page says where it stopped.
            Err(e) if c.broken.is_some() => {
                c.unread = Some(format!("reading stopped at line {}: {e}", i + 1));
                break;
            }
            Err(e) => return Err(e),
        };
        let now = rec.time_ms;
        let tenant = rec.tenant.clone().unwrap_or_else(|| "default".into());
        let failed = rec.status.as_deref() == Some("failed");
        let action = |kind| AdminAction {
            ts_ms: rec.time_ms,
            tenant: Some(tenant.clone()),
            kind,
            deleted: BTreeMap::new(),
            pruned: BTreeMap::new(),
        };
        match rec.method.as_str() {
            "score" if !rec.replayed => {
                let ts = rec.time_ms;
                if let Some(row) = score_row(rec, tenant, input.truncate_ips) {
                    queue.push(ts, Item::Row(Box::new(row)));
                }
            }
            "outcome" if !rec.replayed => {
                let how = if failed {
                    Reported::Failed
                } else {
                    Reported::Made
                };
                // Beside a label log, the label lines are the outcomes made; only the
                // failures come from here.
                if let (Some(id), Some(kind)) = (
                    rec.request_id,
                    rec.outcome.as_deref().and_then(outcome_named),
                ) && !(with_labels && how == Reported::Made)
                {
                    let o = OutcomeRow {
                        ts_ms: rec.time_ms,
                        tenant,
                        request_id: id,
                        outcome: kind,
                        how,
                    };
                    queue.push(rec.time_ms, Item::Outcome(o));
                }
            }
            "erase" | "export" => {
                let (done, failure) = if rec.method == "erase" {
                    (ActionKind::Erasure, ActionKind::ErasureFailed)
                } else {
                    (ActionKind::Export, ActionKind::ExportFailed)
                };
                // An action is audited before it is made; its failure follows naming the same
                // tenant and user, and turns that attempt into a failed one (in whatever period
                // the report counts).
                let who = (Some(tenant.clone()), rec.user.clone());
                let attempt = if failed {
                    attempts
                        .iter()
                        .rposition(|(at, w): &(usize, _)| *w == who && c.actions[*at].kind == done)
                        .map(|k| attempts.remove(k).0)
                } else {
                    None
                };
                match attempt {
                    Some(at) => c.actions[at].kind = failure,
                    None if failed => c.actions.push(action(failure)),
                    None => {
                        attempts.push((c.actions.len(), who));
                        c.actions.push(action(done));
                    }
                }
            }
            "retention" | "reload" => {
                let kind = match (rec.method.as_str(), failed) {
                    ("reload", _) => ActionKind::Reload,
                    (_, true) => ActionKind::RetentionFailed,
                    _ => ActionKind::Retention,
                };
                c.actions.push(AdminAction {
                    ts_ms: rec.time_ms,
                    tenant: None,
                    kind,
                    deleted: rec.deleted,
                    pruned: rec.pruned,
                });
            }
            _ => {}
        }
        labels.until(Some(now), &mut queue)?;
        queue.release(Some(now.saturating_sub(REORDER_MS)), feed)?;
    }
    labels.until(None, &mut queue)?;
    queue.release(None, feed)?;
    let mut provenance = vec![format!("audit log {}", path.display())];
    for l in &input.labels {
        provenance.push(format!("label log {}", l.display()));
    }
    Ok((c, provenance))
}

fn score_row(rec: Record, tenant: String, truncate: bool) -> Option<ScoredRow> {
    let decision = rec.decision.as_deref().and_then(decision_named)?;
    let ip = rec.ip.map(|ip| match ip.parse::<std::net::IpAddr>() {
        Ok(addr) if truncate => crate::privacy::truncate_ip(addr),
        _ => ip,
    });
    Some(ScoredRow {
        ts_ms: rec.time_ms,
        tenant,
        request_id: rec.request_id?,
        user: rec.user.unwrap_or_default(),
        channel: rec.channel.unwrap_or_else(|| "unknown".into()),
        action: rec.action.unwrap_or_else(|| "unknown".into()),
        ip,
        asn: rec.asn,
        country: rec.country,
        device: rec.device,
        decision,
        trust: rec.trust_score.unwrap_or(0),
        reasons: rec.reasons,
        model_version: rec.model_version.unwrap_or_default(),
        shadow_decision: rec.shadow_decision.as_deref().and_then(decision_named),
        shadow_trust: rec.shadow_trust_score,
        is_attack: None,
    })
}

/// The label logs' lines, read one at a time in file order.
struct Labels<'p> {
    paths: std::slice::Iter<'p, PathBuf>,
    current: Option<(
        &'p Path,
        std::io::Lines<std::io::BufReader<std::fs::File>>,
        usize,
    )>,
    next: Option<OutcomeRow>,
}

impl<'p> Labels<'p> {
    fn open(paths: &'p [PathBuf]) -> Labels<'p> {
        Labels {
            paths: paths.iter(),
            current: None,
            next: None,
        }
    }

    /// The next line, if any.
    fn peek(&mut self) -> Result<Option<&OutcomeRow>, ReportError> {
        while self.next.is_none() {
            let Some((path, lines, n)) = &mut self.current else {
                let Some(path) = self.paths.next() else {
                    return Ok(None);
                };
                let file = std::fs::File::open(path).map_err(|e| io(path, e))?;
                self.current = Some((path, std::io::BufReader::new(file).lines(), 0));
                continue;
            };
            let Some(line) = lines.next() else {
                self.current = None;
                continue;
            };
            *n += 1;
            let line = line.map_err(|e| io(path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            let (rec, at_ms) = LabelRecord::parse(&line).map_err(|e| ReportError::Malformed {
                file: path.display().to_string(),
                line: *n,
                // The domain's parser names the field; serde's own pass finds the column.
                column: serde_json::from_str::<LabelRecord>(&line)
                    .err()
                    .map_or(0, |e| e.column()),
                problem: e.to_string(),
            })?;
            self.next = Some(OutcomeRow {
                ts_ms: at_ms,
                tenant: rec.tenant,
                request_id: rec.request_id,
                outcome: rec.outcome,
                how: Reported::Label,
            });
        }
        Ok(self.next.as_ref())
    }

    /// Queues the lines up to `now_ms` (all when `None`).
    fn until(&mut self, now_ms: Option<i64>, queue: &mut Reorder) -> Result<(), ReportError> {
        while let Some(o) = self.peek()? {
            if now_ms.is_some_and(|now| o.ts_ms > now) {
                break;
            }
            if let Some(o) = self.next.take() {
                queue.push(o.ts_ms, Item::Outcome(o));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEvent, AuditLog};
    use crate::report::events::Filter;

    fn ev(method: &str, tenant: &str) -> AuditEvent {
        AuditEvent {
            method: method.into(),
            tenant: Some(tenant.into()),
            ..AuditEvent::default()
        }
    }

    #[test]
    fn failed_changes_cancel_their_audited_attempt_and_actions_follow_the_filter() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, std::time::Duration::ZERO).expect("open");
        let score = |id: &str, tenant: &str| AuditEvent {
            request_id: Some(id.into()),
            user: Some("ab".repeat(16)),
            decision: Some("allow".into()),
            trust_score: Some(90),
            channel: Some("web_widget".into()),
            action: Some("login".into()),
            ..ev("score", tenant)
        };
        let outcome = |id: &str, kind: &str, failed: bool| AuditEvent {
            request_id: Some(id.into()),
            outcome: Some(kind.into()),
            status: failed.then(|| "failed".to_string()),
            ..ev("outcome", "default")
        };
        let failed = |mut e: AuditEvent| {
            e.status = Some("failed".into());
            e
        };
        let sweep = AuditEvent {
            tenant: None,
            deleted: [("profile".to_string(), 3u64)].into_iter().collect(),
            ..ev("retention", "default")
        };
        let events = [
            (1_000, score("r1", "default")),
            (
                1_001,
                AuditEvent {
                    replayed: true,
                    ..score("r1", "default")
                },
            ),
            (1_002, score("a1", "acme")),
            (2_000, outcome("r1", "confirmed_fraud", false)),
            (2_001, outcome("r1", "confirmed_fraud", true)),
            (2_002, outcome("r1", "otp_passed", false)),
            // The client retries the confirmation, and this time it holds.
            (2_003, outcome("r1", "confirmed_fraud", false)),
            (3_000, ev("export", "default")),
            (3_001, ev("export", "acme")),
            (3_002, failed(ev("export", "acme"))),
            (4_000, ev("erase", "default")),
            (4_001, ev("erase", "acme")),
            (4_002, failed(ev("erase", "acme"))),
            (5_000, sweep),
            (9_000, ev("erase", "default")),
        ];
        for (at, e) in &events {
            log.append(e, *at).expect("append");
        }
        drop(log);
        // A retry's record (`replayed`) is counted by its first.
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), events.len());
        let mut got = crate::report::Collected::default();
        let (c, _) = read(
            &AuditInput {
                audit: path.clone(),
                ..AuditInput::default()
            },
            &mut got,
        )
        .expect("read");
        let ids: Vec<&str> = got.rows.iter().map(|r| r.request_id.as_str()).collect();
        assert_eq!(ids, ["r1", "a1"]);
        let reports: Vec<_> = got
            .outcomes
            .iter()
            .map(|o| (o.outcome, o.how, o.ts_ms))
            .collect();
        let (fate, standing) = crate::report::aggregate::kpi::Fate::of(&reports, false);
        assert_eq!(
            (fate.fraud, fate.otp_ms, standing),
            (true, Some(2_002), 2),
            "the failed confirmation cancels its own attempt, not the retry"
        );
        assert_eq!(c.broken, None);
        assert_eq!(c.records, events.len() as u64);
        let count =
            |c: &Compliance, k: ActionKind| c.actions.iter().filter(|a| a.kind == k).count();
        assert_eq!(count(&c, ActionKind::Export), 1);
        assert_eq!(count(&c, ActionKind::ExportFailed), 1);
        assert_eq!(count(&c, ActionKind::Erasure), 2);
        assert_eq!(count(&c, ActionKind::ErasureFailed), 1);
        assert_eq!(count(&c, ActionKind::Retention), 1);
        // acme's own actions and the service-wide sweep, before 9 s.
        let f = Filter {
            from_ms: None,
            to_ms: Some(9_000),
            tenant: Some("acme".into()),
        };
        let mut c = c;
        f.actions(&mut c);
        let kinds: Vec<ActionKind> = c.actions.iter().map(|a| a.kind).collect();
        assert_eq!(
            kinds,
            [
                ActionKind::ExportFailed,
                ActionKind::ErasureFailed,
                ActionKind::Retention
            ]
        );
    }
}
