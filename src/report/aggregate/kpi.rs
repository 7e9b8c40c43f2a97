//! The KPIs of authentication in chat, per scope (all, each tenant, each channel): success
//! rate, friction, false challenges, fraud caught and missed, time to authenticate and
//! escalations, from the decisions joined with the outcomes that followed them.
//!
//! Definitions (one request is one authentication attempt):
//! - **authenticated**: allowed passively, or challenged and then passed (OTP or KBA);
//! - **friction**: share stepped up (OTP, or OTP + KBA);
//! - **false challenge**: stepped up, passed, and never confirmed as fraud; the rate is over
//!   the requests stepped up;
//! - **fraud caught**: confirmed fraud that was denied, or challenged and never passed;
//! - **fraud missed**: confirmed fraud that was allowed passively;
//! - **fraud past a challenge**: confirmed fraud that passed its challenge (a SIM swap);
//! - **time to authenticate**: from the score to the first passed challenge, for requests
//!   stepped up and passed (passive allows take no time and are left out);
//! - **escalations**: stepped up to OTP + KBA, and denied.

use std::collections::HashMap;

use super::super::events::{OutcomeRow, ScoredRow};
use crate::domain::{Decision, OutcomeKind};

/// What became of one request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fate {
    /// First passed challenge, ms.
    pub passed_ms: Option<i64>,
    /// Confirmed as fraud.
    pub fraud: bool,
}

/// The fate of each (tenant, request id) from its outcomes.
pub fn fates(outcomes: &[OutcomeRow]) -> HashMap<(&str, &str), Fate> {
    let mut out: HashMap<(&str, &str), Fate> = HashMap::new();
    for o in outcomes {
        let f = out
            .entry((o.tenant.as_str(), o.request_id.as_str()))
            .or_default();
        match o.outcome {
            OutcomeKind::OtpPassed | OutcomeKind::KbaPassed => {
                f.passed_ms = Some(f.passed_ms.map_or(o.ts_ms, |p| p.min(o.ts_ms)));
            }
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
        let passed = fate.passed_ms.is_some();
        match r.decision {
            Decision::Allow => k.allowed += 1,
            Decision::Deny => k.denied += 1,
            Decision::StepUpOtp | Decision::StepUpOtpKba => {
                k.challenged += 1;
                if r.decision == Decision::StepUpOtpKba {
                    k.escalated_kba += 1;
                }
                if let Some(at) = fate.passed_ms {
                    k.challenged_passed += 1;
                    self.tta_ms.push((at - r.ts_ms).max(0));
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
    let mut tenants: std::collections::BTreeMap<&str, Acc> = Default::default();
    let mut channels: std::collections::BTreeMap<&str, Acc> = Default::default();
    for r in rows {
        let fate = fates
            .get(&(r.tenant.as_str(), r.request_id.as_str()))
            .copied()
            .unwrap_or_default();
        all.add(r, fate);
        tenants.entry(&r.tenant).or_default().add(r, fate);
        channels.entry(&r.channel).or_default().add(r, fate);
    }
    let mut out = vec![all.finish("all".into())];
    out.extend(
        tenants
            .into_iter()
            .map(|(t, a)| a.finish(format!("tenant:{t}"))),
    );
    out.extend(
        channels
            .into_iter()
            .map(|(c, a)| a.finish(format!("channel:{c}"))),
    );
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
                _ if r.challenged() && f.passed_ms.is_some() => "past_challenge",
                _ => "caught",
            };
            Some(FraudCase { row: i, fate })
        })
        .collect()
}
