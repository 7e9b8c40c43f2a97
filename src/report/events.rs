//! The one table every report is computed from: scored events (one row per score, with the
//! decision that was made or that a re-scoring model would have made) and the outcomes that
//! followed them. Both inputs — an event log re-scored through the replay, and the service's
//! audit and label logs — become batches of these rows first, in time order, so every
//! aggregation has one path; no input is ever held whole.
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

/// How an outcome was reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    /// Made: applied by the engine, or audited as made.
    Made,
    /// Audited as made, then reported failed (cancels one attempt of that outcome).
    Failed,
    /// A label log line (one per attempt, written before the change).
    Label,
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
    /// How it was reported.
    pub how: Reported,
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

    /// Keeps the compliance actions of the period: a tenant's own, and the service-wide
    /// ones.
    pub fn actions(&self, c: &mut Compliance) {
        c.actions.retain(|a| match &a.tenant {
            Some(t) => self.keeps(a.ts_ms, t),
            None => self.in_period(a.ts_ms),
        });
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

    #[test]
    fn the_filter_keeps_the_period_and_tenant() {
        let f = Filter {
            from_ms: Some(10),
            to_ms: Some(30),
            tenant: Some("a".into()),
        };
        assert!(f.keeps(10, "a"));
        assert!(!f.keeps(30, "a"), "the end is exclusive");
        assert!(!f.keeps(20, "b"));
        let action = |ts_ms, tenant: Option<&str>| AdminAction {
            ts_ms,
            tenant: tenant.map(str::to_string),
            kind: ActionKind::Erasure,
            deleted: Default::default(),
            pruned: Default::default(),
        };
        let mut c = Compliance {
            actions: vec![
                action(15, Some("a")),
                action(15, Some("b")),
                action(16, None),
                action(40, None),
            ],
            ..Compliance::default()
        };
        f.actions(&mut c);
        let kept: Vec<(i64, Option<&str>)> = c
            .actions
            .iter()
            .map(|a| (a.ts_ms, a.tenant.as_deref()))
            .collect();
        assert_eq!(kept, [(15, Some("a")), (16, None)]);
        assert_eq!(
            decision_named("step_up_otp_kba"),
            Some(Decision::StepUpOtpKba)
        );
        assert_eq!(decision_named("maybe"), None);
        assert_eq!(outcome_named("otp_passed"), Some(OutcomeKind::OtpPassed));
    }
}
