//! Reading what `tessera serve` writes in production: the hash-chained audit log (scores with
//! their decisions, reasons and model versions, outcomes, exports, erasures, retention sweeps,
//! reloads), verified first ([`crate::audit::verify_report`], against an anchor when given),
//! joined with the label log by tenant and request id.
//!
//! The audit log holds pseudonyms only; nothing here can recover a raw id. A score record
//! answered as a retry (`replayed`) was counted by its first record and is skipped.

use std::collections::{BTreeMap, HashSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ReportError;
use super::events::{Compliance, OutcomeRow, Period, ScoredRow, decision_named, outcome_named};
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

fn malformed(path: &Path, line: usize, e: &serde_json::Error) -> ReportError {
    ReportError::Malformed {
        file: path.display().to_string(),
        line,
        column: e.column(),
        problem: super::error_without_value(e),
    }
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
    let mut erased = 0u64;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let rec = serde_json::from_str::<Line>(&line)
            .map_err(|e| malformed(path, i + 1, &e))?
            .record;
        let tenant = rec.tenant.clone().unwrap_or_else(|| "default".into());
        match rec.method.as_str() {
            "score" if !rec.replayed => {
                if let Some(row) = score_row(rec, tenant, input.truncate_ips) {
                    p.rows.push(row);
                }
            }
            "outcome" if !rec.replayed && rec.status.is_none() => {
                if let (Some(id), Some(kind)) = (
                    rec.request_id,
                    rec.outcome.as_deref().and_then(outcome_named),
                ) {
                    audit_outcomes.push(OutcomeRow {
                        ts_ms: rec.time_ms,
                        tenant,
                        request_id: id,
                        outcome: kind,
                    });
                }
            }
            "erase" if rec.status.as_deref() == Some("failed") => c.erasures_failed += 1,
            "erase" => erased += 1,
            "export" if rec.status.is_none() => c.exports += 1,
            "retention" if rec.status.as_deref() == Some("failed") => c.retention_failed += 1,
            "retention" => {
                c.retention_sweeps += 1;
                for (k, n) in rec.deleted {
                    *c.retention_deleted.entry(k).or_default() += n;
                }
                for (k, n) in rec.pruned {
                    *c.retention_pruned.entry(k).or_default() += n;
                }
            }
            "reload" => c.reloads += 1,
            _ => {}
        }
    }
    c.erasures = erased.saturating_sub(c.erasures_failed);
    p.outcomes = if input.labels.is_empty() {
        audit_outcomes
    } else {
        read_labels(&input.labels)?
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

/// The outcomes of the label logs, each (tenant, request, outcome) once.
fn read_labels(paths: &[PathBuf]) -> Result<Vec<OutcomeRow>, ReportError> {
    let mut seen = HashSet::new();
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
                column: 0,
                problem: e.to_string(),
            })?;
            if seen.insert((rec.tenant.clone(), rec.request_id.clone(), rec.outcome)) {
                out.push(OutcomeRow {
                    ts_ms: at_ms,
                    tenant: rec.tenant,
                    request_id: rec.request_id,
                    outcome: rec.outcome,
                });
            }
        }
    }
    Ok(out)
}
