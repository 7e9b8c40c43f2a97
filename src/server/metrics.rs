//! Prometheus metrics, hand-written text exposition: requests by route and status, a latency
//! histogram per route, decisions by channel, action and decision, reason codes, a trust-score
//! histogram, outcomes, shadow agreement and the active model version; and the same events on
//! the last hour's [`Timeline`] for the live dashboard, there apart by tenant. Counters are kept
//! under one short-held mutex per family; nothing here allocates per request once warmed up.
//! Label values are bounded: enums and route patterns.
//!
//! `/metrics` is unauthenticated (Prometheus scrapes it), so the exposition names no tenant and
//! counts no tenant apart: every family is the whole service's. Per-tenant counts stay on the
//! [`Timeline`], read only by the admin-only dashboard.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use super::timeline::{
    self, CHANNELS, DECISIONS, OUTCOMES, REASONS, TRUST_BINS, TenantIndex, Timeline,
};
use crate::domain::{Action, Channel, OutcomeKind, ReasonCode, ScoreResponse};

/// Latency bucket upper bounds, seconds.
const BUCKETS_S: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS_S.len()],
    count: u64,
    sum_s: f64,
}

#[derive(Default)]
struct Http {
    requests: BTreeMap<(&'static str, u16), u64>,
    latency: BTreeMap<&'static str, Histogram>,
}

/// Actions, in [`Action::ALL`] order.
const ACTIONS: usize = Action::ALL.len();

/// Decisions by channel, action and decision.
type Decisions = [[[u64; DECISIONS.len()]; ACTIONS]; CHANNELS];

/// What scoring returned, since start.
struct Scores {
    /// Every tenant's together.
    decisions: Decisions,
    /// By [`timeline::reason_index`].
    reasons: [u64; REASONS],
    /// Trust scores by upper bound 10, 20, …, 100 (inclusive), and their sum.
    trust: [u64; TRUST_BINS],
    trust_sum: u64,
}

/// The service's metrics.
pub struct Metrics {
    tenants: TenantIndex,
    http: Mutex<Http>,
    scores: Mutex<Scores>,
    outcomes: Mutex<[u64; OUTCOMES.len()]>,
    reloads: Mutex<BTreeMap<&'static str, u64>>,
    shadow: Mutex<BTreeMap<&'static str, u64>>,
    shadow_agreement: Mutex<BTreeMap<&'static str, u64>>,
    timeline: Timeline,
}

impl Default for Metrics {
    /// Metrics counting only the default tenant apart.
    fn default() -> Metrics {
        Metrics::new([])
    }
}

impl Metrics {
    /// Metrics whose timeline counts `tenants` (and `default`) apart; any other tenant shares one
    /// slot there. The exposition counts every tenant together.
    pub fn new<'a>(tenants: impl IntoIterator<Item = &'a str>) -> Metrics {
        let tenants = TenantIndex::new(tenants);
        Metrics {
            http: Mutex::default(),
            scores: Mutex::new(Scores {
                decisions: [[[0; DECISIONS.len()]; ACTIONS]; CHANNELS],
                reasons: [0; REASONS],
                trust: [0; TRUST_BINS],
                trust_sum: 0,
            }),
            outcomes: Mutex::default(),
            reloads: Mutex::default(),
            shadow: Mutex::default(),
            shadow_agreement: Mutex::default(),
            timeline: Timeline::new(tenants.clone()),
            tenants,
        }
    }

    /// The last hour's counts.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// The timeline's slot of `tenant` (its own, or the shared one of unlisted tenants).
    pub fn tenant_slot(&self, tenant: &str) -> usize {
        self.tenants.index(tenant)
    }

    /// Counts one finished request on `route` (the router's path pattern); `POST /v1/score` also
    /// on the timeline, for the tenant slot ([`Self::tenant_slot`]) of the key that made it
    /// (`None` when it was refused before its key was known).
    pub fn observe(
        &self,
        route: &'static str,
        status: u16,
        elapsed: Duration,
        tenant: Option<usize>,
    ) {
        let s = elapsed.as_secs_f64();
        let mut http = self.http.lock().unwrap_or_else(|p| p.into_inner());
        *http.requests.entry((route, status)).or_default() += 1;
        let h = http.latency.entry(route).or_default();
        h.count += 1;
        h.sum_s += s;
        if let Some(i) = BUCKETS_S.iter().position(|b| s <= *b) {
            h.counts[i] += 1;
        }
        drop(http);
        if route == "/v1/score" {
            self.timeline
                .latency(crate::engine::now_ms(), tenant, elapsed);
        }
    }

    /// Counts one scoring answer of `tenant` on `channel` for `action`: its decision, trust score
    /// and reason codes.
    pub fn decision(&self, tenant: &str, channel: Channel, action: Action, resp: &ScoreResponse) {
        let t = self.tenants.index(tenant);
        let a = Action::ALL.iter().position(|x| *x == action).unwrap_or(0);
        let d = timeline::decision_index(resp.decision);
        let trust = resp.trust_score.value();
        {
            let mut s = self.scores.lock().unwrap_or_else(|p| p.into_inner());
            s.decisions[channel.index()][a][d] += 1;
            for r in &resp.reasons {
                s.reasons[timeline::reason_index(r.code)] += 1;
            }
            // Upper bounds are inclusive (`le`): 10 counts in le=10, 11 in le=20.
            s.trust[usize::from(trust.saturating_sub(1) / 10).min(TRUST_BINS - 1)] += 1;
            s.trust_sum += u64::from(trust);
        }
        let codes = resp.reasons.iter().map(|r| r.code);
        let now = crate::engine::now_ms();
        self.timeline
            .decision(now, t, channel, resp.decision, trust, codes);
    }

    /// Counts one applied outcome of `tenant`.
    pub fn outcome(&self, tenant: &str, kind: OutcomeKind) {
        self.outcomes.lock().unwrap_or_else(|p| p.into_inner())[timeline::outcome_index(kind)] += 1;
        let t = self.tenants.index(tenant);
        self.timeline.outcome(crate::engine::now_ms(), t, kind);
    }

    /// Counts one shadow-model decision of `tenant` and whether it matched the enforced one.
    pub fn shadow(&self, tenant: &str, decision: &'static str, agrees: bool) {
        *self
            .shadow
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(decision)
            .or_default() += 1;
        *self
            .shadow_agreement
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(if agrees { "agree" } else { "differ" })
            .or_default() += 1;
        let t = self.tenants.index(tenant);
        self.timeline.shadow(crate::engine::now_ms(), t, agrees);
    }

    /// Counts a model reload attempt (`ok` or `refused`).
    pub fn reload(&self, result: &'static str) {
        *self
            .reloads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(result)
            .or_default() += 1;
    }

    /// The exposition text (format 0.0.4).
    pub fn render(&self, model_version: &str) -> String {
        let mut out = String::with_capacity(4096);
        let http = self.http.lock().unwrap_or_else(|p| p.into_inner());
        out.push_str("# HELP tessera_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE tessera_http_requests_total counter\n");
        for ((route, status), n) in &http.requests {
            let _ = writeln!(
                out,
                "tessera_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP tessera_http_request_duration_seconds Request latency by route.\n");
        out.push_str("# TYPE tessera_http_request_duration_seconds histogram\n");
        for (route, h) in &http.latency {
            let mut cumulative = 0;
            for (b, c) in BUCKETS_S.iter().zip(h.counts) {
                cumulative += c;
                let _ = writeln!(
                    out,
                    "tessera_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "tessera_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "tessera_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum_s
            );
            let _ = writeln!(
                out,
                "tessera_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        drop(http);
        let family = |out: &mut String,
                      name: &str,
                      help: &str,
                      label: &str,
                      map: &Mutex<BTreeMap<&'static str, u64>>| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            for (k, n) in map.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                let _ = writeln!(out, "{name}{{{label}=\"{k}\"}} {n}");
            }
        };
        self.render_scores(&mut out);
        family(
            &mut out,
            "tessera_model_reloads_total",
            "Model reload attempts.",
            "result",
            &self.reloads,
        );
        family(
            &mut out,
            "tessera_shadow_decisions_total",
            "Decisions the shadow model would have taken (never enforced).",
            "decision",
            &self.shadow,
        );
        family(
            &mut out,
            "tessera_shadow_agreement_total",
            "Shadow decisions equal to (agree) or different from (differ) the enforced ones.",
            "result",
            &self.shadow_agreement,
        );
        out.push_str("# HELP tessera_outcomes_total Verified outcomes applied, by kind.\n");
        out.push_str("# TYPE tessera_outcomes_total counter\n");
        let outcomes = *self.outcomes.lock().unwrap_or_else(|p| p.into_inner());
        for (kind, n) in OUTCOMES.iter().zip(outcomes).filter(|(_, n)| *n > 0) {
            let _ = writeln!(
                out,
                "tessera_outcomes_total{{outcome=\"{}\"}} {n}",
                kind.as_str()
            );
        }
        out.push_str("# HELP tessera_model_info The active model version.\n");
        out.push_str("# TYPE tessera_model_info gauge\n");
        let version: String = model_version
            .chars()
            .filter(|c| !matches!(c, '"' | '\\' | '\n'))
            .collect();
        let _ = writeln!(out, "tessera_model_info{{version=\"{version}\"}} 1");
        out
    }

    /// The decision, reason and trust-score families.
    fn render_scores(&self, out: &mut String) {
        let s = self.scores.lock().unwrap_or_else(|p| p.into_inner());
        out.push_str(
            "# HELP tessera_decisions_total Scoring decisions by channel, action and decision.\n",
        );
        out.push_str("# TYPE tessera_decisions_total counter\n");
        for (channel, by) in Channel::ALL.iter().zip(&s.decisions) {
            for (action, by) in Action::ALL.iter().zip(by) {
                for (decision, n) in DECISIONS.iter().zip(by).filter(|(_, n)| **n > 0) {
                    let _ = writeln!(
                        out,
                        "tessera_decisions_total{{channel=\"{}\",action=\"{}\",decision=\"{}\"}} {n}",
                        channel.as_str(),
                        action.as_str(),
                        decision.as_str()
                    );
                }
            }
        }
        out.push_str("# HELP tessera_reasons_total Reason codes returned.\n");
        out.push_str("# TYPE tessera_reasons_total counter\n");
        for (code, n) in ReasonCode::ALL
            .iter()
            .zip(s.reasons)
            .filter(|(_, n)| *n > 0)
        {
            let _ = writeln!(
                out,
                "tessera_reasons_total{{code=\"{}\"}} {n}",
                code.as_str()
            );
        }
        out.push_str("# HELP tessera_trust_score Trust scores returned (0-100).\n");
        out.push_str("# TYPE tessera_trust_score histogram\n");
        let mut cumulative = 0;
        for (i, n) in s.trust.iter().enumerate() {
            cumulative += n;
            let le = 10 * (i + 1);
            let _ = writeln!(
                out,
                "tessera_trust_score_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "tessera_trust_score_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let _ = writeln!(out, "tessera_trust_score_sum {}", s.trust_sum);
        let _ = writeln!(out, "tessera_trust_score_count {cumulative}");
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
