//! The one table every report is computed from: scored events (one row per score, with the
//! decision that was made or that a re-scoring model would have made) and the outcomes that
//! followed them. Both inputs — an event log re-scored through the replay, and the service's
//! audit and label logs — become this table first, so every aggregation has one path.
//!
//! Rows hold no raw user or device id and no keystrokes: users and devices appear as keyed-hash
//! pseudonyms (hex), as the audit log writes them. Addresses are kept as the report shows them
//! (in full, or truncated to /24 and /48 when asked).

use crate::domain::{Decision, OutcomeKind};

/// One scored request.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredRow {
    /// When it was scored, ms since the Unix epoch.
    pub ts_ms: i64,
    /// Tenant (brand) the request belongs to.
    pub tenant: String,
    /// The request id.
    pub request_id: String,
    /// Keyed-hash pseudonym of the user (hex).
    pub user: String,
    /// Channel wire name (`web_widget` …); `unknown` when the record has none.
    pub channel: String,
    /// Action wire name (`login` …); `unknown` when the record has none.
    pub action: String,
    /// The client's IP address as shown (full or truncated), when known.
    pub ip: Option<String>,
    /// The IP's AS number, when known.
    pub asn: Option<u32>,
    /// The IP's ISO country code, when located.
    pub country: Option<String>,
    /// Keyed-hash pseudonym of the device id (hex), when the request had one.
    pub device: Option<String>,
    /// The decision.
    pub decision: Decision,
    /// Trust score, 0–100.
    pub trust: u8,
    /// Reason codes, strongest first.
    pub reasons: Vec<String>,
    /// Version of the model that decided.
    pub model_version: String,
    /// The shadow model's decision, when one judged the request.
    pub shadow_decision: Option<Decision>,
    /// The shadow model's trust score, 0–100.
    pub shadow_trust: Option<u8>,
    /// Ground truth of a labelled event log (`None` for production logs).
    pub is_attack: Option<bool>,
}

impl ScoredRow {
    /// True when the request was not passively allowed.
    pub fn challenged_or_denied(&self) -> bool {
        self.decision != Decision::Allow
    }

    /// True when the request was stepped up (OTP, or OTP + KBA), not allowed and not denied.
    pub fn challenged(&self) -> bool {
        matches!(self.decision, Decision::StepUpOtp | Decision::StepUpOtpKba)
    }

    /// True when the row carries `code` among its reasons.
    pub fn has_reason(&self, code: &str) -> bool {
        self.reasons.iter().any(|r| r == code)
    }
}

/// One verified outcome of a scored request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeRow {
    /// When it was reported, ms since the Unix epoch.
    pub ts_ms: i64,
    /// Tenant of the request.
    pub tenant: String,
    /// The request the outcome is about.
    pub request_id: String,
    /// What happened.
    pub outcome: OutcomeKind,
}

/// What the audit log itself shows about compliance (absent for an event-log report).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Compliance {
    /// Records in the chain.
    pub records: u64,
    /// Blake3 hash of the last record's body (hex).
    pub head: String,
    /// `None`: the chain verified; `Some(problem)`: where and why it broke.
    pub broken: Option<String>,
    /// Where reading stopped, for a broken chain whose damaged line cannot be read at all.
    pub unread: Option<String>,
    /// The anchor checked (`RECORDS:HASH`), when one was given; verified when `broken` is
    /// `None`.
    pub anchor: Option<String>,
    /// Torn tails moved aside when the service reopened the log.
    pub recoveries: usize,
    /// Privacy and maintenance actions the log records, in log order.
    pub actions: Vec<AdminAction>,
}

/// What an audited privacy or maintenance action was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ActionKind {
    /// A data-subject erasure made (audited before it is made, and not followed by a failure).
    Erasure,
    /// An erasure audited, then failed.
    ErasureFailed,
    /// A data-subject export answered, found or not (audited before it is answered, and not
    /// followed by a failure).
    Export,
    /// An export audited, then failed.
    ExportFailed,
    /// A retention sweep (service-wide).
    Retention,
    /// A retention sweep that failed.
    RetentionFailed,
    /// A model or list reload (service-wide).
    Reload,
}

impl ActionKind {
    /// Stable name, as the compliance table shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Erasure => "erasures",
            ActionKind::ErasureFailed => "erasures_failed",
            ActionKind::Export => "exports",
            ActionKind::ExportFailed => "exports_failed",
            ActionKind::Retention => "retention_sweeps",
            ActionKind::RetentionFailed => "retention_failed",
            ActionKind::Reload => "reloads",
        }
    }
}

/// One audited privacy or maintenance action.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminAction {
    /// When, ms.
    pub ts_ms: i64,
    /// The tenant it concerned; `None` for service-wide actions (sweeps, reloads).
    pub tenant: Option<String>,
    /// What it was.
    pub kind: ActionKind,
    /// For a sweep: records deleted per store table.
    pub deleted: std::collections::BTreeMap<String, u64>,
    /// For a sweep: records pruned per store table.
    pub pruned: std::collections::BTreeMap<String, u64>,
}

/// Everything one report is computed from, in time order.
#[derive(Debug, Clone, Default)]
pub struct Period {
    /// Scored requests, in time order.
    pub rows: Vec<ScoredRow>,
    /// Outcomes, in time order.
    pub outcomes: Vec<OutcomeRow>,
    /// The audit log's own checks, for an audit-log report.
    pub compliance: Option<Compliance>,
    /// What was read (files, formats, the model that decided), for the page's header.
    pub provenance: Vec<String>,
}

/// Which rows a report counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// First instant counted, ms (inclusive).
    pub from_ms: Option<i64>,
    /// Instant counting stops, ms (exclusive).
    pub to_ms: Option<i64>,
    /// Only this tenant.
    pub tenant: Option<String>,
}

impl Filter {
    /// True when the row is counted.
    pub fn keeps(&self, ts_ms: i64, tenant: &str) -> bool {
        self.in_period(ts_ms) && self.tenant.as_deref().is_none_or(|t| t == tenant)
    }

    /// True when `ts_ms` falls in the period.
    fn in_period(&self, ts_ms: i64) -> bool {
        self.from_ms.is_none_or(|f| ts_ms >= f) && self.to_ms.is_none_or(|t| ts_ms < t)
    }

    /// Keeps the counted rows of `p`, and the outcomes of those rows' requests (an outcome
    /// after the period still tells what became of a request inside it).
    pub fn apply(&self, mut p: Period) -> Period {
        p.rows.retain(|r| self.keeps(r.ts_ms, &r.tenant));
        let kept: foldhash::HashSet<(&str, &str)> = p
            .rows
            .iter()
            .map(|r| (r.tenant.as_str(), r.request_id.as_str()))
            .collect();
        let outcomes = p
            .outcomes
            .iter()
            .filter(|o| kept.contains(&(o.tenant.as_str(), o.request_id.as_str())))
            .cloned()
            .collect();
        p.outcomes = outcomes;
        if let Some(c) = &mut p.compliance {
            // Actions of the period: a tenant's own, and the service-wide ones.
            c.actions.retain(|a| match &a.tenant {
                Some(t) => self.keeps(a.ts_ms, t),
                None => self.in_period(a.ts_ms),
            });
        }
        p
    }
}

/// A decision from its wire name.
pub fn decision_named(name: &str) -> Option<Decision> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}

/// An outcome kind from its wire name.
pub fn outcome_named(name: &str) -> Option<OutcomeKind> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}

/// A scored request for tests: trust 50 on the web widget's login, nothing else known.
#[cfg(test)]
pub(crate) fn test_row(
    ts_ms: i64,
    tenant: &str,
    id: &str,
    user: &str,
    decision: Decision,
) -> ScoredRow {
    ScoredRow {
        ts_ms,
        tenant: tenant.into(),
        request_id: id.into(),
        user: user.into(),
        channel: "web_widget".into(),
        action: "login".into(),
        ip: None,
        asn: None,
        country: None,
        device: None,
        decision,
        trust: 50,
        reasons: vec![],
        model_version: "m".into(),
        shadow_decision: None,
        shadow_trust: None,
        is_attack: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ts_ms: i64, tenant: &str, id: &str) -> ScoredRow {
        test_row(ts_ms, tenant, id, "u", Decision::Allow)
    }

    #[test]
    fn the_filter_keeps_the_period_and_tenant_and_the_later_outcomes_of_kept_requests() {
        let p = Period {
            rows: vec![row(10, "a", "r1"), row(20, "b", "r2"), row(30, "a", "r3")],
            outcomes: vec![
                OutcomeRow {
                    ts_ms: 99,
                    tenant: "a".into(),
                    request_id: "r1".into(),
                    outcome: OutcomeKind::ConfirmedFraud,
                },
                OutcomeRow {
                    ts_ms: 25,
                    tenant: "b".into(),
                    request_id: "r1".into(),
                    outcome: OutcomeKind::OtpPassed,
                },
            ],
            ..Period::default()
        };
        let f = Filter {
            from_ms: Some(10),
            to_ms: Some(30),
            tenant: Some("a".into()),
        };
        let kept = f.apply(p);
        let ids: Vec<&str> = kept.rows.iter().map(|r| r.request_id.as_str()).collect();
        assert_eq!(ids, ["r1"]);
        assert_eq!(kept.outcomes.len(), 1);
        assert_eq!(kept.outcomes[0].outcome, OutcomeKind::ConfirmedFraud);
        assert_eq!(
            decision_named("step_up_otp_kba"),
            Some(Decision::StepUpOtpKba)
        );
        assert_eq!(decision_named("maybe"), None);
        assert_eq!(outcome_named("otp_passed"), Some(OutcomeKind::OtpPassed));
    }
}
