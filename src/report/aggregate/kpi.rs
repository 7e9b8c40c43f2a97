//! The KPIs of authentication in chat, per scope (all, each tenant, each channel): success
//! rate, friction, false challenges, fraud caught and missed, time to authenticate and
//! escalations, from the decisions joined with the outcomes that followed them.
//!
//! Definitions (one request is one authentication attempt):
//! - **authenticated**: allowed passively, or challenged and then passed (an OTP step-up by a
//!   passed OTP, an OTP + KBA step-up only once the KBA answers passed);
//! - **friction**: share stepped up (OTP, or OTP + KBA);
//! - **false challenge**: stepped up, passed, and never confirmed as fraud; the rate is over
//!   the requests stepped up;
//! - **fraud caught**: confirmed fraud that was denied, or challenged and never passed;
//! - **fraud missed**: confirmed fraud that was allowed passively;
//! - **fraud past a challenge**: confirmed fraud that passed its challenge (a SIM swap);
//! - **time to authenticate**: from the score to the passed challenge (for an OTP + KBA
//!   step-up, the KBA answer), for requests stepped up and passed (passive allows take no time
//!   and are left out);
//! - **escalations**: stepped up to OTP + KBA, and denied.

use foldhash::HashMap;

use super::super::events::{OutcomeRow, ScoredRow};
use crate::domain::{Decision, OutcomeKind};

/// What became of one request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fate {
    /// First passed one-time password, ms.
    pub otp_ms: Option<i64>,
    /// First passed knowledge-based answers, ms.
    pub kba_ms: Option<i64>,
    /// Confirmed as fraud.
    pub fraud: bool,
}

impl Fate {
    /// When the challenge `decision` asked for was passed: an OTP step-up by a passed OTP (or
    /// KBA), an OTP + KBA step-up only by passed KBA answers; `None` when it was not, or when
    /// there was no challenge.
    pub fn passed_at(&self, decision: Decision) -> Option<i64> {
        match decision {
            Decision::StepUpOtp => match (self.otp_ms, self.kba_ms) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            Decision::StepUpOtpKba => self.kba_ms,
            Decision::Allow | Decision::Deny => None,
        }
    }
}

/// The fate of each (tenant, request id) from its outcomes.
pub fn fates(outcomes: &[OutcomeRow]) -> HashMap<(&str, &str), Fate> {
    let first = |at: &mut Option<i64>, ts: i64| *at = Some(at.map_or(ts, |p| p.min(ts)));
    let mut out: HashMap<(&str, &str), Fate> = HashMap::default();
    for o in outcomes {
        let f = out
            .entry((o.tenant.as_str(), o.request_id.as_str()))
            .or_default();
        match o.outcome {
            OutcomeKind::OtpPassed => first(&mut f.otp_ms, o.ts_ms),
            OutcomeKind::KbaPassed => first(&mut f.kba_ms, o.ts_ms),
            OutcomeKind::ConfirmedFraud => f.fraud = true,
            _ => {}
        }
    }
    out
}

/// The KPIs of one scope.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kpis {
    /// `all`, `tenant:NAME` or `channel:NAME`.
    pub scope: String,
    /// Requests scored.
    pub requests: u64,
    /// Allowed passively.
    pub allowed: u64,
    /// Stepped up (OTP, or OTP + KBA).
    pub challenged: u64,
    /// Denied.
    pub denied: u64,
    /// Stepped up and then passed.
    pub challenged_passed: u64,
    /// Authenticated: allowed, or stepped up and passed.
    pub authenticated: u64,
    /// Stepped up, passed, never confirmed as fraud.
    pub false_challenges: u64,
    /// Confirmed fraud.
    pub fraud_confirmed: u64,
    /// Confirmed fraud denied, or challenged and never passed.
    pub fraud_caught: u64,
    /// Confirmed fraud allowed passively.
    pub fraud_missed: u64,
    /// Confirmed fraud that passed its challenge.
    pub fraud_past_challenge: u64,
    /// Stepped up to OTP + KBA.
    pub escalated_kba: u64,
    /// Median seconds from score to passed challenge (`None` when none passed).
    pub tta_median_s: Option<f64>,
    /// 90th percentile of the same.
    pub tta_p90_s: Option<f64>,
}

impl Kpis {
    /// Authenticated share of requests (0 when none).
    pub fn success_rate(&self) -> f64 {
        ratio(self.authenticated, self.requests)
    }

    /// Share of requests stepped up.
    pub fn friction(&self) -> f64 {
        ratio(self.challenged, self.requests)
    }

    /// Share of the stepped-up requests that passed and were never confirmed as fraud.
    pub fn false_challenge_rate(&self) -> f64 {
        ratio(self.false_challenges, self.challenged)
    }
}

/// `n / d`, 0 when `d` is 0.
pub fn ratio(n: u64, d: u64) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

/// Accumulates one scope.
#[derive(Default)]
struct Acc {
    k: Kpis,
    tta_ms: Vec<i64>,
}

impl Acc {
    fn add(&mut self, r: &ScoredRow, fate: Fate) {
        let k = &mut self.k;
        k.requests += 1;
        let passed_at = fate.passed_at(r.decision);
        let passed = passed_at.is_some();
        match r.decision {
            Decision::Allow => k.allowed += 1,
            Decision::Deny => k.denied += 1,
            Decision::StepUpOtp | Decision::StepUpOtpKba => {
                k.challenged += 1;
                if r.decision == Decision::StepUpOtpKba {
                    k.escalated_kba += 1;
                }
                if let Some(at) = passed_at {
                    k.challenged_passed += 1;
                    self.tta_ms.push(at.saturating_sub(r.ts_ms).max(0));
                    if !fate.fraud {
                        k.false_challenges += 1;
                    }
                }
            }
        }
        if r.decision == Decision::Allow || (r.challenged() && passed) {
            k.authenticated += 1;
        }
        if fate.fraud {
            k.fraud_confirmed += 1;
            match r.decision {
                Decision::Allow => k.fraud_missed += 1,
                _ if passed && r.challenged() => k.fraud_past_challenge += 1,
                _ => k.fraud_caught += 1,
            }
        }
    }

    fn finish(mut self, scope: String) -> Kpis {
        self.tta_ms.sort_unstable();
        let q = |p: f64| -> Option<f64> {
            let n = self.tta_ms.len();
            if n == 0 {
                return None;
            }
            let i = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
            self.tta_ms.get(i).map(|ms| *ms as f64 / 1000.0)
        };
        self.k.tta_median_s = q(0.5);
        self.k.tta_p90_s = q(0.9);
        self.k.scope = scope;
        self.k
    }
}

/// The KPIs of all requests, then of each tenant and each channel (by name).
pub fn kpis(rows: &[ScoredRow], fates: &HashMap<(&str, &str), Fate>) -> Vec<Kpis> {
    let mut all = Acc::default();
    let mut tenants: HashMap<&str, Acc> = HashMap::default();
    let mut channels: HashMap<&str, Acc> = HashMap::default();
    for r in rows {
        let fate = fates
            .get(&(r.tenant.as_str(), r.request_id.as_str()))
            .copied()
            .unwrap_or_default();
        all.add(r, fate);
        tenants.entry(&r.tenant).or_default().add(r, fate);
        channels.entry(&r.channel).or_default().add(r, fate);
    }
    let sorted = |m: HashMap<&str, Acc>, what: &str| {
        let mut v: Vec<(&str, Acc)> = m.into_iter().collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        v.into_iter()
            .map(|(k, a)| a.finish(format!("{what}:{k}")))
            .collect::<Vec<_>>()
    };
    let mut out = vec![all.finish("all".into())];
    out.extend(sorted(tenants, "tenant"));
    out.extend(sorted(channels, "channel"));
    out
}

/// A request later confirmed as fraud, and what the decision did about it.
#[derive(Debug, Clone, PartialEq)]
pub struct FraudCase {
    /// Index of the row in the period.
    pub row: usize,
    /// `missed` (allowed passively), `past_challenge` (challenged and passed) or `caught`.
    pub fate: &'static str,
}

/// Every request confirmed as fraud, in time order.
pub fn fraud_cases(rows: &[ScoredRow], fates: &HashMap<(&str, &str), Fate>) -> Vec<FraudCase> {
    rows.iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let f = fates.get(&(r.tenant.as_str(), r.request_id.as_str()))?;
            if !f.fraud {
                return None;
            }
            let fate = match r.decision {
                Decision::Allow => "missed",
                _ if f.passed_at(r.decision).is_some() => "past_challenge",
                _ => "caught",
            };
            Some(FraudCase { row: i, fate })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, decision: Decision) -> ScoredRow {
        crate::report::events::test_row(1_000, "default", id, "u", decision)
    }

    fn out(id: &str, at: i64, outcome: OutcomeKind) -> OutcomeRow {
        OutcomeRow {
            ts_ms: at,
            tenant: "default".into(),
            request_id: id.into(),
            outcome,
        }
    }

    #[test]
    fn kpis_count_each_request_by_the_challenge_it_was_given() {
        let rows = vec![
            row("allow", Decision::Allow),
            row("allow-fraud", Decision::Allow),
            row("otp", Decision::StepUpOtp),
            // OTP + KBA: passing the OTP alone is not passing the step-up.
            row("kba-half", Decision::StepUpOtpKba),
            row("kba", Decision::StepUpOtpKba),
            row("deny-fraud", Decision::Deny),
            row("otp-fraud", Decision::StepUpOtp),
        ];
        let outcomes = vec![
            out("allow-fraud", 9_000, OutcomeKind::ConfirmedFraud),
            out("otp", 31_000, OutcomeKind::OtpPassed),
            out("kba-half", 5_000, OutcomeKind::OtpPassed),
            out("kba-half", 6_000, OutcomeKind::KbaFailed),
            out("kba-half", 7_000, OutcomeKind::ConfirmedFraud),
            out("kba", 11_000, OutcomeKind::OtpPassed),
            out("kba", 61_000, OutcomeKind::KbaPassed),
            out("deny-fraud", 2_000, OutcomeKind::ConfirmedFraud),
            out("otp-fraud", 4_000, OutcomeKind::OtpPassed),
            out("otp-fraud", 8_000, OutcomeKind::ConfirmedFraud),
        ];
        let f = fates(&outcomes);
        let k = &kpis(&rows, &f)[0];
        assert_eq!(
            (k.requests, k.allowed, k.challenged, k.denied),
            (7, 2, 4, 1)
        );
        // otp, kba and otp-fraud passed; kba-half did not.
        assert_eq!(k.challenged_passed, 3);
        assert_eq!(k.authenticated, 5);
        assert_eq!(k.false_challenges, 2);
        assert_eq!(k.escalated_kba, 2);
        assert_eq!(
            (
                k.fraud_confirmed,
                k.fraud_missed,
                k.fraud_caught,
                k.fraud_past_challenge
            ),
            (4, 1, 2, 1)
        );
        // Seconds to pass: otp 30, kba 60 (at the KBA answer), otp-fraud 3.
        assert_eq!((k.tta_median_s, k.tta_p90_s), (Some(30.0), Some(60.0)));
        assert!((k.success_rate() - 5.0 / 7.0).abs() < 1e-12);
        assert!((k.false_challenge_rate() - 0.5).abs() < 1e-12);
        let fates: Vec<&str> = fraud_cases(&rows, &f).iter().map(|c| c.fate).collect();
        assert_eq!(fates, ["missed", "caught", "caught", "past_challenge"]);
    }
}
