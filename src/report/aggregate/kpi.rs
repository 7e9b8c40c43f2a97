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

use std::collections::VecDeque;

use foldhash::HashMap;

use super::super::events::{Reported, ScoredRow};
use super::intern::Names;
use crate::domain::{Decision, OutcomeKind};

/// What became of one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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

    /// The request's fate from what was reported about it, in log order, and how many
    /// outcomes stand. With `labels` (a label log was given) an outcome stands when it has
    /// more label lines (one per attempt, written before the change) than audited failures,
    /// and counts once, at its first line; without, each outcome made stands unless a later
    /// failure of the same kind cancels it (one failure cancels the latest attempt still
    /// standing: a retry that succeeded afterwards stays).
    pub fn of(reports: &[(OutcomeKind, Reported, i64)], labels: bool) -> (Fate, u64) {
        let mut standing: Vec<(OutcomeKind, i64)> = Vec::new();
        if labels {
            // Per kind: label lines, failures, first line's time.
            let mut kinds: Vec<(OutcomeKind, usize, usize, i64)> = Vec::new();
            for &(kind, how, ts) in reports {
                let at = match kinds.iter().position(|k| k.0 == kind) {
                    Some(at) => at,
                    None => {
                        kinds.push((kind, 0, 0, ts));
                        kinds.len() - 1
                    }
                };
                let k = &mut kinds[at];
                match how {
                    Reported::Label => {
                        if k.1 == 0 {
                            k.3 = ts;
                        }
                        k.1 += 1;
                    }
                    Reported::Failed => k.2 += 1,
                    Reported::Made => {}
                }
            }
            standing.extend(
                kinds
                    .into_iter()
                    .filter(|k| k.1 > k.2)
                    .map(|(kind, _, _, ts)| (kind, ts)),
            );
        } else {
            for &(kind, how, ts) in reports {
                match how {
                    Reported::Made => standing.push((kind, ts)),
                    Reported::Failed => {
                        if let Some(at) = standing.iter().rposition(|s| s.0 == kind) {
                            standing.remove(at);
                        }
                    }
                    Reported::Label => {}
                }
            }
        }
        let first = |at: &mut Option<i64>, ts: i64| *at = Some(at.map_or(ts, |p| p.min(ts)));
        let mut f = Fate::default();
        for &(kind, ts) in &standing {
            match kind {
                OutcomeKind::OtpPassed => first(&mut f.otp_ms, ts),
                OutcomeKind::KbaPassed => first(&mut f.kba_ms, ts),
                OutcomeKind::ConfirmedFraud => f.fraud = true,
                _ => {}
            }
        }
        (f, standing.len() as u64)
    }
}

/// A scored request waiting for its outcomes.
#[derive(Debug, Clone)]
pub struct Pending {
    /// When it was scored, ms.
    pub ts_ms: i64,
    /// Tenant (interned).
    pub tenant: u32,
    /// Channel (interned).
    pub channel: u32,
    /// The decision.
    pub decision: Decision,
    /// Its keys in the top lists (IP, ASN, country, device), for the fraud counts.
    pub keys: [Option<u32>; 4],
    /// Request id.
    pub id: Box<str>,
    /// The id's hash in the join's index (set by [`Join::request`]).
    pub hash: u64,
    /// What was reported about it, in order.
    pub reports: Vec<(OutcomeKind, Reported, i64)>,
}

/// The join of scored requests with the outcomes that follow them, in time order and in
/// bounded memory: a request waits at most `window_ms` (the engine's pending window: a later
/// outcome is refused as expired, by the service and by the replay alike), then its fate is
/// final and it leaves.
#[derive(Debug)]
pub struct Join<S = foldhash::fast::RandomState> {
    window_ms: i64,
    labels: bool,
    waiting: VecDeque<Pending>,
    /// Sequence number of `waiting[0]`.
    first: u64,
    /// Hash of a request id → (tenant, sequence number of its latest request of that tenant)
    /// for each waiting id with that hash: the id itself is the waiting request's, compared on
    /// every lookup, so ids whose hashes collide stay apart (and the hasher is seeded per run,
    /// so a log cannot be crafted to make them collide).
    index: HashMap<u64, Seqs>,
    hasher: S,
    /// Outcomes that matched no waiting request of the period (another period's, or one seen
    /// after its window).
    pub unmatched: u64,
}

/// The waiting requests of one id hash: nearly always one, held without allocating.
#[derive(Debug)]
struct Seqs {
    one: (u32, u64),
    more: Vec<(u32, u64)>,
}

impl Seqs {
    fn iter(&self) -> impl Iterator<Item = &(u32, u64)> {
        std::iter::once(&self.one).chain(&self.more)
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut (u32, u64)> {
        std::iter::once(&mut self.one).chain(&mut self.more)
    }

    /// Removes `entry`; true when none is left.
    fn remove(&mut self, entry: (u32, u64)) -> bool {
        if self.one == entry {
            match self.more.pop() {
                Some(last) => self.one = last,
                None => return true,
            }
        } else {
            self.more.retain(|e| *e != entry);
        }
        false
    }
}

impl Join {
    /// A join whose requests wait `window_ms`; `labels` when the outcomes are a label log's
    /// lines (see [`Fate::of`]).
    pub fn new(window_ms: i64, labels: bool) -> Join {
        Join::with_hasher(window_ms, labels, foldhash::fast::RandomState::default())
    }
}

impl<S: std::hash::BuildHasher> Join<S> {
    /// [`Join::new`] hashing ids with `hasher`.
    pub fn with_hasher(window_ms: i64, labels: bool, hasher: S) -> Join<S> {
        Join {
            window_ms: window_ms.max(0),
            labels,
            waiting: VecDeque::new(),
            first: 0,
            index: HashMap::default(),
            hasher,
            unmatched: 0,
        }
    }

    /// True when the outcomes are label lines.
    pub fn labels(&self) -> bool {
        self.labels
    }

    /// Makes room for `requests` more waiting requests (a caller that knows how many will
    /// wait at once saves the growth of the queue and the index).
    pub fn reserve(&mut self, requests: usize) {
        self.waiting.reserve(requests);
        self.index.reserve(requests);
    }

    fn hash(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    /// The waiting request numbered `seq`.
    fn at(waiting: &VecDeque<Pending>, first: u64, seq: u64) -> Option<&Pending> {
        waiting.get(usize::try_from(seq.checked_sub(first)?).ok()?)
    }

    /// A scored request (in time order). A request id seen again for the same tenant replaces
    /// the earlier one as the request its outcomes name.
    pub fn request(&mut self, p: Pending) {
        let seq = self.first + self.waiting.len() as u64;
        let mut p = p;
        p.hash = self.hash(&p.id);
        let (waiting, first) = (&self.waiting, self.first);
        match self.index.entry(p.hash) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let same = e.get_mut().iter_mut().find(|(t, s)| {
                    *t == p.tenant && Self::at(waiting, first, *s).is_some_and(|w| w.id == p.id)
                });
                match same {
                    Some(at) => at.1 = seq,
                    None => e.get_mut().more.push((p.tenant, seq)),
                }
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Seqs {
                    one: (p.tenant, seq),
                    more: Vec::new(),
                });
            }
        }
        self.waiting.push_back(p);
    }

    /// Something reported about request `id` of `tenant` (when the tenant was ever seen).
    pub fn report(&mut self, tenant: Option<u32>, id: &str, r: (OutcomeKind, Reported, i64)) {
        let window = self.window_ms;
        let (waiting, first) = (&self.waiting, self.first);
        let found = tenant
            .and_then(|t| {
                self.index
                    .get(&self.hash(id))?
                    .iter()
                    .find_map(|(at, seq)| {
                        let w = Self::at(waiting, first, *seq)?;
                        (*at == t && &*w.id == id).then_some(*seq)
                    })
            })
            .and_then(|seq| seq.checked_sub(self.first))
            .and_then(|at| self.waiting.get_mut(usize::try_from(at).ok()?))
            // Past the window the engine refuses an outcome as expired, whenever it is read.
            .filter(|p| r.2.saturating_sub(p.ts_ms) <= window);
        match found {
            Some(p) => p.reports.push(r),
            // A failure is no outcome; only outcomes made are counted as unmatched.
            None if r.1 != Reported::Failed => self.unmatched += 1,
            None => {}
        }
    }

    /// The requests whose window has passed by `now_ms` (every one when `None`), oldest first.
    pub fn due(&mut self, now_ms: Option<i64>) -> Vec<Pending> {
        let mut out = Vec::new();
        while let Some(front) = self.waiting.front() {
            if now_ms.is_some_and(|now| now.saturating_sub(front.ts_ms) <= self.window_ms) {
                break;
            }
            let Some(p) = self.waiting.pop_front() else {
                break;
            };
            if let Some(seqs) = self.index.get_mut(&p.hash)
                && seqs.remove((p.tenant, self.first))
            {
                self.index.remove(&p.hash);
            }
            self.first += 1;
            out.push(p);
        }
        out
    }
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
    fn add(&mut self, decision: Decision, ts_ms: i64, fate: Fate) {
        let k = &mut self.k;
        k.requests += 1;
        let passed_at = fate.passed_at(decision);
        let passed = passed_at.is_some();
        let challenged = matches!(decision, Decision::StepUpOtp | Decision::StepUpOtpKba);
        match decision {
            Decision::Allow => k.allowed += 1,
            Decision::Deny => k.denied += 1,
            Decision::StepUpOtp | Decision::StepUpOtpKba => {
                k.challenged += 1;
                if decision == Decision::StepUpOtpKba {
                    k.escalated_kba += 1;
                }
                if let Some(at) = passed_at {
                    k.challenged_passed += 1;
                    self.tta_ms.push(at.saturating_sub(ts_ms).max(0));
                    if !fate.fraud {
                        k.false_challenges += 1;
                    }
                }
            }
        }
        if decision == Decision::Allow || (challenged && passed) {
            k.authenticated += 1;
        }
        if fate.fraud {
            k.fraud_confirmed += 1;
            match decision {
                Decision::Allow => k.fraud_missed += 1,
                _ if passed && challenged => k.fraud_past_challenge += 1,
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

/// The KPIs of all requests, each tenant and each channel, accumulated request by request as
/// each fate becomes final.
#[derive(Default)]
pub struct KpiAcc {
    all: Acc,
    tenants: HashMap<u32, Acc>,
    channels: HashMap<u32, Acc>,
}

impl KpiAcc {
    /// Counts request `p` with its final fate.
    pub fn add(&mut self, p: &Pending, fate: Fate) {
        self.all.add(p.decision, p.ts_ms, fate);
        let tenant = self.tenants.entry(p.tenant).or_default();
        tenant.add(p.decision, p.ts_ms, fate);
        let channel = self.channels.entry(p.channel).or_default();
        channel.add(p.decision, p.ts_ms, fate);
    }

    /// The KPIs of all requests, then of each tenant and each channel (by name).
    pub fn finish(self, tenants: &Names, channels: &Names) -> Vec<Kpis> {
        let sorted = |m: HashMap<u32, Acc>, names: &Names, what: &str| {
            let mut v: Vec<(&str, Acc)> = m.into_iter().map(|(k, a)| (names.name(k), a)).collect();
            v.sort_unstable_by(|a, b| a.0.cmp(b.0));
            v.into_iter()
                .map(|(k, a)| a.finish(format!("{what}:{k}")))
                .collect::<Vec<_>>()
        };
        let mut out = vec![self.all.finish("all".into())];
        out.extend(sorted(self.tenants, tenants, "tenant"));
        out.extend(sorted(self.channels, channels, "channel"));
        out
    }
}

/// A request later confirmed as fraud, and what the decision did about it.
#[derive(Debug, Clone, PartialEq)]
pub struct FraudCase {
    /// The request.
    pub row: ScoredRow,
    /// `missed` (allowed passively), `past_challenge` (challenged and passed) or `caught`.
    pub fate: &'static str,
}

/// What a decision did about a request confirmed as fraud.
pub fn fraud_fate(decision: Decision, fate: &Fate) -> &'static str {
    match decision {
        Decision::Allow => "missed",
        _ if fate.passed_at(decision).is_some() => "past_challenge",
        _ => "caught",
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::events::OutcomeRow;
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
            how: Reported::Made,
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
        let mut outcomes = vec![
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
        outcomes.sort_by_key(|o| o.ts_ms);
        let s = super::super::summarize(&rows, &outcomes, (None, None), &Default::default())
            .expect("summary");
        let k = &s.kpis[0];
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
        let fates: Vec<(&str, &str)> = s
            .fraud_cases
            .iter()
            .map(|c| (c.row.request_id.as_str(), c.fate))
            .collect();
        assert_eq!(
            fates,
            [
                ("allow-fraud", "missed"),
                ("kba-half", "caught"),
                ("deny-fraud", "caught"),
                ("otp-fraud", "past_challenge")
            ]
        );
        assert_eq!(s.outcomes, 10);
    }

    #[test]
    fn a_failure_cancels_its_own_attempt_and_label_lines_count_once() {
        use OutcomeKind::{ConfirmedFraud as Fraud, OtpPassed as Otp};
        use Reported::{Failed, Label, Made};
        // Made, failed, made again: the retry stands.
        let (f, n) = Fate::of(&[(Otp, Made, 5), (Otp, Failed, 6), (Otp, Made, 9)], false);
        assert_eq!((f.otp_ms, n), (Some(9), 1));
        // A failure before any attempt cancels nothing later.
        let (f, n) = Fate::of(&[(Fraud, Failed, 1), (Fraud, Made, 2)], false);
        assert_eq!((f.fraud, n), (true, 1));
        // Labels: two lines, one failure: stands once, at the first line; the audit's own
        // outcome records are not counted beside the label log.
        let r = [
            (Otp, Label, 3),
            (Otp, Failed, 4),
            (Otp, Label, 7),
            (Otp, Made, 8),
        ];
        let want = Fate {
            otp_ms: Some(3),
            ..Fate::default()
        };
        assert_eq!(Fate::of(&r, true), (want, 1));
        let r = [(Otp, Label, 3), (Otp, Failed, 4)];
        assert_eq!(Fate::of(&r, true), (Fate::default(), 0));
    }

    /// Every id hashes alike: the index must still tell them apart by the ids themselves.
    struct Colliding;

    impl std::hash::BuildHasher for Colliding {
        type Hasher = Constant;
        fn build_hasher(&self) -> Constant {
            Constant
        }
    }

    struct Constant;

    impl std::hash::Hasher for Constant {
        fn finish(&self) -> u64 {
            7
        }
        fn write(&mut self, _: &[u8]) {}
    }

    #[test]
    fn ids_whose_hashes_collide_stay_apart() {
        let mut j = Join::with_hasher(100, false, Colliding);
        let p = |ts, tenant, id: &str| Pending {
            ts_ms: ts,
            tenant,
            channel: 0,
            decision: Decision::StepUpOtp,
            keys: [None; 4],
            id: id.into(),
            hash: 0,
            reports: vec![],
        };
        j.request(p(0, 0, "a"));
        j.request(p(1, 0, "b"));
        j.request(p(2, 1, "a"));
        // "a" of tenant 0 again: its outcomes now name the later request.
        j.request(p(3, 0, "a"));
        let made = |ts| (OutcomeKind::OtpPassed, Reported::Made, ts);
        j.report(Some(0), "b", made(10));
        j.report(Some(0), "a", made(11));
        j.report(Some(1), "a", made(12));
        j.report(Some(1), "b", made(13));
        j.report(Some(0), "c", made(14));
        assert_eq!(j.unmatched, 2, "b of tenant 1 and c were never requested");
        let settled: Vec<(i64, u32, Vec<i64>)> = j
            .due(Some(103))
            .into_iter()
            .map(|p| (p.ts_ms, p.tenant, p.reports.iter().map(|r| r.2).collect()))
            .collect();
        assert_eq!(
            settled,
            vec![(0, 0, vec![]), (1, 0, vec![10]), (2, 1, vec![12])]
        );
        // The first "a" left without taking the later one's place in the index.
        j.report(Some(0), "a", made(20));
        let rest = j.due(None);
        assert_eq!(rest.len(), 1);
        assert_eq!(
            rest[0].reports.iter().map(|r| r.2).collect::<Vec<_>>(),
            vec![11, 20]
        );
        assert_eq!(j.unmatched, 2);
    }

    #[test]
    fn the_join_waits_the_window_and_no_longer() {
        let mut j = Join::new(100, false);
        let p = |ts, id: &str| Pending {
            ts_ms: ts,
            tenant: 0,
            channel: 0,
            decision: Decision::Allow,
            keys: [None; 4],
            id: id.into(),
            hash: 0,
            reports: vec![],
        };
        j.request(p(0, "a"));
        j.request(p(50, "b"));
        j.report(Some(0), "a", (OutcomeKind::OtpPassed, Reported::Made, 100));
        j.report(Some(1), "a", (OutcomeKind::OtpPassed, Reported::Made, 100));
        j.report(
            Some(1),
            "a",
            (OutcomeKind::OtpPassed, Reported::Failed, 100),
        );
        assert!(
            j.due(Some(100)).is_empty(),
            "exactly the window still waits"
        );
        let due = j.due(Some(101));
        assert_eq!(due.len(), 1);
        assert_eq!((&*due[0].id, due[0].reports.len()), ("a", 1));
        j.report(
            Some(0),
            "a",
            (OutcomeKind::ConfirmedFraud, Reported::Made, 102),
        );
        assert_eq!(
            j.unmatched, 2,
            "another tenant's, and one after the window (a failure is no outcome)"
        );
        let rest = j.due(None);
        assert_eq!(rest.len(), 1);
        assert_eq!(&*rest[0].id, "b");
    }
}
