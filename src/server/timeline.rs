//! The last hour of the service, for the live dashboard (`GET /dashboard`): a ring of
//! [`BUCKETS`] per-interval tallies of [`BUCKET_MS`] each, on server time. Each bucket counts,
//! per tenant, decisions by channel and decision, reason codes, trust scores (by tens), shadow
//! agreement, outcomes by kind and the latency of `POST /v1/score` on fixed bounds
//! ([`LATENCY_BOUNDS_MS`]) so percentiles over the hour can be read back; requests refused
//! before their key was known are timed apart, for the operator's view only.
//!
//! Every method takes the time as an argument (the caller passes the server clock; tests pass
//! their own), so buckets roll off exactly: a count made at `t` is in [`Timeline::hour`] until
//! the bucket holding `t` is more than [`BUCKETS`] − 1 buckets old. Counting takes one short
//! lock and allocates nothing: the tallies are fixed arrays indexed by enum and by a tenant
//! index fixed at start-up ([`TenantIndex`]). Holds counts only: no user, request, key or IP.

use std::sync::Mutex;
use std::time::Duration;

use crate::domain::{Channel, Decision, OutcomeKind, ReasonCode};

/// Length of one bucket, ms.
pub const BUCKET_MS: i64 = 10_000;
/// Buckets in the ring: one hour.
pub const BUCKETS: usize = 360;
/// Upper bounds of the latency buckets, ms (a last bucket holds everything slower).
pub const LATENCY_BOUNDS_MS: [f64; 16] = [
    0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0,
    5000.0,
];
/// Trust-score bins: 0–9, 10–19, …, 90–100.
pub const TRUST_BINS: usize = 10;

/// Channels, in [`Channel::ALL`] order.
pub const CHANNELS: usize = Channel::ALL.len();
/// Decisions, least friction first (the index of [`decision_index`]).
pub const DECISIONS: [Decision; 4] = [
    Decision::Allow,
    Decision::StepUpOtp,
    Decision::StepUpOtpKba,
    Decision::Deny,
];
/// Outcome kinds (the index of [`outcome_index`]).
pub const OUTCOMES: [OutcomeKind; 6] = [
    OutcomeKind::OtpPassed,
    OutcomeKind::OtpFailed,
    OutcomeKind::KbaPassed,
    OutcomeKind::KbaFailed,
    OutcomeKind::ConfirmedSafe,
    OutcomeKind::ConfirmedFraud,
];
/// Reason codes, in [`ReasonCode::ALL`] order.
pub const REASONS: usize = ReasonCode::ALL.len();

/// The index of `d` in [`DECISIONS`] (an exhaustive match: a new decision fails to compile here).
pub fn decision_index(d: Decision) -> usize {
    match d {
        Decision::Allow => 0,
        Decision::StepUpOtp => 1,
        Decision::StepUpOtpKba => 2,
        Decision::Deny => 3,
    }
}

/// The index of `k` in [`OUTCOMES`].
pub fn outcome_index(k: OutcomeKind) -> usize {
    match k {
        OutcomeKind::OtpPassed => 0,
        OutcomeKind::OtpFailed => 1,
        OutcomeKind::KbaPassed => 2,
        OutcomeKind::KbaFailed => 3,
        OutcomeKind::ConfirmedSafe => 4,
        OutcomeKind::ConfirmedFraud => 5,
    }
}

/// The index of `code` in [`ReasonCode::ALL`] (declaration order).
pub fn reason_index(code: ReasonCode) -> usize {
    code as usize
}

/// The trust bin of a score 0–100.
pub fn trust_bin(score: u8) -> usize {
    usize::from(score / 10).min(TRUST_BINS - 1)
}

/// The tenants counted apart, fixed at start-up (the configured ones and `default`), each with a
/// small index; any other name shares one more slot, [`TenantIndex::OTHER`]. Bounds the counts'
/// size and the metrics' label values.
#[derive(Debug, Clone)]
pub struct TenantIndex {
    names: Vec<String>,
}

impl TenantIndex {
    /// The label of the shared slot of unlisted tenants (no tenant name starts with `_`).
    pub const OTHER: &'static str = "_other";

    /// `names` and `default`, sorted, without repeats.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> TenantIndex {
        let mut names: Vec<String> = names
            .into_iter()
            .chain([crate::domain::Tenant::DEFAULT])
            .map(str::to_string)
            .collect();
        names.sort();
        names.dedup();
        TenantIndex { names }
    }

    /// Slots, the shared one included.
    pub fn slots(&self) -> usize {
        self.names.len() + 1
    }

    /// The slot of `name`, if it is listed.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.names.binary_search_by(|n| n.as_str().cmp(name)).ok()
    }

    /// The slot of `name`: its own, or the shared one.
    pub fn index(&self, name: &str) -> usize {
        self.find(name).unwrap_or(self.names.len())
    }

    /// The name of slot `i` ([`Self::OTHER`] for the shared one).
    pub fn name(&self, i: usize) -> &str {
        self.names.get(i).map_or(Self::OTHER, String::as_str)
    }
}

/// What one tenant did in one bucket (`u32`), or over the hour (`u64`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts<N> {
    /// Decisions by channel ([`Channel::index`]) and decision ([`decision_index`]).
    pub decisions: [[N; DECISIONS.len()]; CHANNELS],
    /// Reason codes returned ([`reason_index`]).
    pub reasons: [N; REASONS],
    /// Trust scores by [`trust_bin`].
    pub trust: [N; TRUST_BINS],
    /// Shadow decisions equal to the enforced one (0) or not (1).
    pub shadow: [N; 2],
    /// Outcomes applied, by [`outcome_index`].
    pub outcomes: [N; OUTCOMES.len()],
}

impl<N: Copy + Default> Counts<N> {
    /// All zero.
    pub fn zero() -> Counts<N> {
        let z = N::default();
        Counts {
            decisions: [[z; DECISIONS.len()]; CHANNELS],
            reasons: [z; REASONS],
            trust: [z; TRUST_BINS],
            shadow: [z; 2],
            outcomes: [z; OUTCOMES.len()],
        }
    }
}

impl Counts<u64> {
    /// Adds one bucket's tally.
    pub fn add(&mut self, c: &Counts<u32>) {
        fn add<const K: usize>(to: &mut [u64; K], from: &[u32; K]) {
            for (t, f) in to.iter_mut().zip(from) {
                *t += u64::from(*f);
            }
        }
        for (to, from) in self.decisions.iter_mut().zip(&c.decisions) {
            add(to, from);
        }
        add(&mut self.reasons, &c.reasons);
        add(&mut self.trust, &c.trust);
        add(&mut self.shadow, &c.shadow);
        add(&mut self.outcomes, &c.outcomes);
    }

    /// Decisions on `channel`, all kinds.
    pub fn channel_total(&self, channel: Channel) -> u64 {
        self.decisions[channel.index()].iter().sum()
    }

    /// Decisions, all channels.
    pub fn decisions_total(&self) -> u64 {
        self.decisions.iter().flatten().sum()
    }
}

/// One interval of the ring.
struct Bucket {
    /// Which interval (ms since the epoch / [`BUCKET_MS`]); `i64::MIN` before first use.
    slot: i64,
    /// By tenant slot.
    tenants: Vec<Counts<u32>>,
    /// `POST /v1/score` latencies by tenant slot, and one last row for requests of no known
    /// tenant; each by [`LATENCY_BOUNDS_MS`], the last for slower ones.
    latency: Vec<Latency>,
}

/// Request counts by [`LATENCY_BOUNDS_MS`], the last for slower ones.
type Latency = [u32; LATENCY_BOUNDS_MS.len() + 1];

/// The last hour, as [`Timeline::hour`] reads it for the tenants asked for.
#[derive(Debug, Clone)]
pub struct Hour {
    /// Start of the oldest bucket, ms since the epoch; bucket `i` starts `i` × [`BUCKET_MS`]
    /// later.
    pub first_ms: i64,
    /// Decisions per bucket (oldest first, [`BUCKETS`] of them) by channel and decision.
    pub per_bucket: Vec<[[u64; DECISIONS.len()]; CHANNELS]>,
    /// Everything over the hour.
    pub totals: Counts<u64>,
    /// Decisions over the hour per tenant shown, by name, in name order (the shared slot of
    /// unlisted tenants last, only when it counted something).
    pub by_tenant: Vec<(String, u64)>,
    /// `POST /v1/score` latencies over the hour of the tenants shown (every status; the
    /// operator's view adds the requests refused before their key was known), by
    /// [`LATENCY_BOUNDS_MS`] and one last bucket for slower ones.
    pub latency: [u64; LATENCY_BOUNDS_MS.len() + 1],
}

impl Hour {
    /// Requests timed.
    pub fn latency_count(&self) -> u64 {
        self.latency.iter().sum()
    }

    /// The latency bound, ms, under which at least the share `q` (0–1) of the requests fell: the
    /// upper bound of the bucket holding that rank; infinite when it is the last bucket, `None`
    /// without requests.
    pub fn latency_quantile_ms(&self, q: f64) -> Option<f64> {
        let n = self.latency_count();
        if n == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in self.latency.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(LATENCY_BOUNDS_MS.get(i).copied().unwrap_or(f64::INFINITY));
            }
        }
        Some(f64::INFINITY)
    }
}

/// The ring. Cheap to update from every request.
pub struct Timeline {
    tenants: TenantIndex,
    ring: Mutex<Vec<Bucket>>,
}

impl Timeline {
    /// An empty ring counting `tenants` apart.
    pub fn new(tenants: TenantIndex) -> Timeline {
        let ring = (0..BUCKETS)
            .map(|_| Bucket {
                slot: i64::MIN,
                tenants: vec![Counts::zero(); tenants.slots()],
                latency: vec![[0; LATENCY_BOUNDS_MS.len() + 1]; tenants.slots() + 1],
            })
            .collect();
        Timeline {
            tenants,
            ring: Mutex::new(ring),
        }
    }

    /// The tenants counted apart.
    pub fn tenants(&self) -> &TenantIndex {
        &self.tenants
    }

    /// Runs `f` on the bucket of `now_ms`, emptied first if it last held an older interval.
    fn at<T>(&self, now_ms: i64, f: impl FnOnce(&mut Bucket) -> T) -> T {
        let slot = now_ms.div_euclid(BUCKET_MS);
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let i = slot.rem_euclid(BUCKETS as i64) as usize;
        let b = &mut ring[i];
        if b.slot != slot {
            b.slot = slot;
            b.tenants.fill(Counts::zero());
            b.latency.fill([0; LATENCY_BOUNDS_MS.len() + 1]);
        }
        f(b)
    }

    /// Counts one decision of tenant slot `tenant` at `now_ms`, with its trust score (0–100) and
    /// reason codes.
    pub fn decision(
        &self,
        now_ms: i64,
        tenant: usize,
        channel: Channel,
        decision: Decision,
        trust: u8,
        reasons: impl Iterator<Item = ReasonCode>,
    ) {
        self.at(now_ms, |b| {
            if let Some(t) = b.tenants.get_mut(tenant) {
                t.decisions[channel.index()][decision_index(decision)] += 1;
                t.trust[trust_bin(trust)] += 1;
                for code in reasons {
                    t.reasons[reason_index(code)] += 1;
                }
            }
        });
    }

    /// Counts one shadow decision of tenant slot `tenant`: equal to the enforced one or not.
    pub fn shadow(&self, now_ms: i64, tenant: usize, agrees: bool) {
        self.at(now_ms, |b| {
            if let Some(t) = b.tenants.get_mut(tenant) {
                t.shadow[usize::from(!agrees)] += 1;
            }
        });
    }

    /// Counts one applied outcome of tenant slot `tenant`.
    pub fn outcome(&self, now_ms: i64, tenant: usize, kind: OutcomeKind) {
        self.at(now_ms, |b| {
            if let Some(t) = b.tenants.get_mut(tenant) {
                t.outcomes[outcome_index(kind)] += 1;
            }
        });
    }

    /// Counts one `POST /v1/score` of tenant slot `tenant` (`None`: refused before its key was
    /// known) that took `elapsed`.
    pub fn latency(&self, now_ms: i64, tenant: Option<usize>, elapsed: Duration) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        let i = LATENCY_BOUNDS_MS
            .iter()
            .position(|b| ms <= *b)
            .unwrap_or(LATENCY_BOUNDS_MS.len());
        let row = tenant.unwrap_or(self.tenants.slots());
        self.at(now_ms, |b| {
            if let Some(r) = b.latency.get_mut(row) {
                r[i] += 1;
            }
        });
    }

    /// The hour up to `now_ms` (the bucket holding it and the [`BUCKETS`] − 1 before it) for
    /// the tenant named `tenant`, or every tenant (and the requests of no known tenant) when
    /// `None`. A tenant not counted apart sees no counts.
    pub fn hour(&self, now_ms: i64, tenant: Option<&str>) -> Hour {
        let last = now_ms.div_euclid(BUCKET_MS);
        let first = last - (BUCKETS as i64 - 1);
        let shown: Vec<usize> = match tenant {
            None => (0..self.tenants.slots()).collect(),
            Some(name) => self.tenants.find(name).into_iter().collect(),
        };
        let mut hour = Hour {
            first_ms: first * BUCKET_MS,
            per_bucket: vec![[[0; DECISIONS.len()]; CHANNELS]; BUCKETS],
            totals: Counts::zero(),
            by_tenant: Vec::new(),
            latency: [0; LATENCY_BOUNDS_MS.len() + 1],
        };
        let mut by_tenant = vec![0u64; self.tenants.slots()];
        // The latency row of requests refused before their key was known.
        let unknown = self.tenants.slots();
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        for (k, slot) in (first..=last).enumerate() {
            let b = &ring[slot.rem_euclid(BUCKETS as i64) as usize];
            if b.slot != slot {
                continue;
            }
            let timed = shown.iter().chain(tenant.is_none().then_some(&unknown));
            for r in timed.filter_map(|&t| b.latency.get(t)) {
                for (to, from) in hour.latency.iter_mut().zip(r) {
                    *to += u64::from(*from);
                }
            }
            for &t in &shown {
                let Some(c) = b.tenants.get(t) else { continue };
                hour.totals.add(c);
                for (to, from) in hour.per_bucket[k].iter_mut().zip(&c.decisions) {
                    for (t, f) in to.iter_mut().zip(from) {
                        *t += u64::from(*f);
                    }
                }
                by_tenant[t] += c
                    .decisions
                    .iter()
                    .flatten()
                    .map(|n| u64::from(*n))
                    .sum::<u64>();
            }
        }
        drop(ring);
        // The shared slot only when something landed there.
        hour.by_tenant = shown
            .iter()
            .filter(|&&t| t < self.tenants.slots() - 1 || by_tenant[t] > 0)
            .map(|&t| (self.tenants.name(t).to_string(), by_tenant[t]))
            .collect();
        hour
    }
}

#[cfg(test)]
#[path = "timeline_tests.rs"]
mod tests;
