//! Reading what `tessera serve` writes in production: the hash-chained audit log (scores with
//! their decisions, reasons and model versions, outcomes, exports, erasures, retention sweeps,
//! reloads), verified first ([`crate::audit::verify_report`], against an anchor when given),
//! joined with the label log by tenant and request id.
//!
//! The audit log holds pseudonyms only; nothing here can recover a raw id. A score record
//! answered as a retry (`replayed`) was counted by its first record and is skipped.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ReportError;
use super::events::{
    ActionKind, AdminAction, Compliance, OutcomeRow, Period, ScoredRow, decision_named,
    outcome_named,
};
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

/// Reads and verifies `input`: every score, its outcomes and the compliance counts. A chain
/// that does not verify is reported in [`Compliance::broken`], not refused: the analyst needs
/// to see what the log says, and the page says loudly that it cannot be trusted.
pub fn read(input: &AuditInput) -> Result<Period, ReportError> {
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
    let mut p = Period::default();
    let mut audit_outcomes = Vec::new();
    // Changes audited before they were made, then reported failed: (tenant, request, outcome)
    // and how many times.
    let mut failed_outcomes: HashMap<(String, String, crate::domain::OutcomeKind), usize> =
        HashMap::new();
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
                if let Some(row) = score_row(rec, tenant, input.truncate_ips) {
                    p.rows.push(row);
                }
            }
            "outcome" if !rec.replayed => {
                if let (Some(id), Some(kind)) = (
                    rec.request_id,
                    rec.outcome.as_deref().and_then(outcome_named),
                ) {
                    if failed {
                        // One failure cancels one attempt: the latest of that outcome still
                        // standing (a retry that succeeded afterwards stays).
                        let key = (tenant, id, kind);
                        if let Some(at) = audit_outcomes.iter().rposition(|o: &OutcomeRow| {
                            (&o.tenant, &o.request_id, o.outcome) == (&key.0, &key.1, key.2)
                        }) {
                            audit_outcomes.remove(at);
                        }
                        *failed_outcomes.entry(key).or_insert(0usize) += 1;
                    } else {
                        audit_outcomes.push(OutcomeRow {
                            ts_ms: rec.time_ms,
                            tenant,
                            request_id: id,
                            outcome: kind,
                        });
                    }
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
    }
    // Records are chained in the order the writer took them, which may differ from their
    // times by a few milliseconds under concurrency.
    p.rows.sort_by_key(|r| r.ts_ms);
    p.outcomes = if input.labels.is_empty() {
        audit_outcomes
    } else {
        // The label log holds a line per attempt, failed ones too (it is written before the
        // change): an outcome stands when it has more lines than failures, and counts once.
        let mut lines: HashMap<(String, String, crate::domain::OutcomeKind), usize> =
            HashMap::new();
        let mut out = Vec::new();
        for o in read_labels(&input.labels)? {
            let n = lines
                .entry((o.tenant.clone(), o.request_id.clone(), o.outcome))
                .or_insert(0);
            *n += 1;
            out.push((o, *n));
        }
        out.into_iter()
            .filter_map(|(o, nth)| {
                let key = (o.tenant.clone(), o.request_id.clone(), o.outcome);
                let failures = failed_outcomes.get(&key).copied().unwrap_or(0);
                let total = lines.get(&key).copied().unwrap_or(0);
                // Keep the first line of an outcome that has a success among its attempts.
                (nth == 1 && total > failures).then_some(o)
            })
            .collect()
    };
    p.outcomes.sort_by_key(|o| o.ts_ms);
    p.compliance = Some(c);
    p.provenance.push(format!("audit log {}", path.display()));
    for l in &input.labels {
        p.provenance.push(format!("label log {}", l.display()));
    }
    Ok(p)
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

/// Every line of the label logs, in order.
fn read_labels(paths: &[PathBuf]) -> Result<Vec<OutcomeRow>, ReportError> {
    let mut out = Vec::new();
    for path in paths {
        let file = std::fs::File::open(path).map_err(|e| io(path, e))?;
        for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| io(path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            let (rec, at_ms) = LabelRecord::parse(&line).map_err(|e| ReportError::Malformed {
                file: path.display().to_string(),
                line: i + 1,
                // The domain's parser names the field; serde's own pass finds the column.
                column: serde_json::from_str::<LabelRecord>(&line)
                    .err()
                    .map_or(0, |e| e.column()),
                problem: e.to_string(),
            })?;
            out.push(OutcomeRow {
                ts_ms: at_ms,
                tenant: rec.tenant,
                request_id: rec.request_id,
                outcome: rec.outcome,
            });
        }
    }
    Ok(out)
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
        let p = read(&AuditInput {
            audit: path.clone(),
            ..AuditInput::default()
        })
        .expect("read");
        let ids: Vec<&str> = p.rows.iter().map(|r| r.request_id.as_str()).collect();
        assert_eq!(ids, ["r1", "a1"]);
        let outcomes: Vec<_> = p
            .outcomes
            .iter()
            .map(|o| (o.ts_ms, o.outcome.as_str()))
            .collect();
        assert_eq!(
            outcomes,
            [(2_002, "otp_passed"), (2_003, "confirmed_fraud")],
            "the failed confirmation cancels its own attempt, not the retry"
        );
        let c = p.compliance.clone().expect("compliance");
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
        let c = f.apply(p).compliance.expect("compliance");
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
