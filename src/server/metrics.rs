//! Prometheus metrics, hand-written text exposition: requests by route and status, a latency
//! histogram per route, decisions, reason codes and the active model version. Counters are kept
//! under one short-held mutex per family; nothing here allocates per request once warmed up.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

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

/// The service's metrics.
#[derive(Default)]
pub struct Metrics {
    http: Mutex<Http>,
    decisions: Mutex<BTreeMap<&'static str, u64>>,
    reasons: Mutex<BTreeMap<&'static str, u64>>,
    reloads: Mutex<BTreeMap<&'static str, u64>>,
    shadow: Mutex<BTreeMap<&'static str, u64>>,
    shadow_agreement: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Counts one finished request on `route` (the router's path pattern).
    pub fn observe(&self, route: &'static str, status: u16, elapsed: Duration) {
        let s = elapsed.as_secs_f64();
        let mut http = self.http.lock().unwrap_or_else(|p| p.into_inner());
        *http.requests.entry((route, status)).or_default() += 1;
        let h = http.latency.entry(route).or_default();
        h.count += 1;
        h.sum_s += s;
        if let Some(i) = BUCKETS_S.iter().position(|b| s <= *b) {
            h.counts[i] += 1;
        }
    }

    /// Counts one scoring decision and its reason codes.
    pub fn decision(&self, decision: &'static str, reasons: impl Iterator<Item = &'static str>) {
        *self
            .decisions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(decision)
            .or_default() += 1;
        let mut r = self.reasons.lock().unwrap_or_else(|p| p.into_inner());
        for code in reasons {
            *r.entry(code).or_default() += 1;
        }
    }

    /// Counts one shadow-model decision and whether it matched the enforced one.
    pub fn shadow(&self, decision: &'static str, agrees: bool) {
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
        family(
            &mut out,
            "tessera_decisions_total",
            "Scoring decisions.",
            "decision",
            &self.decisions,
        );
        family(
            &mut out,
            "tessera_reasons_total",
            "Reason codes returned.",
            "code",
            &self.reasons,
        );
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
        out.push_str("# HELP tessera_model_info The active model version.\n");
        out.push_str("# TYPE tessera_model_info gauge\n");
        let version: String = model_version
            .chars()
            .filter(|c| !matches!(c, '"' | '\\' | '\n'))
            .collect();
        let _ = writeln!(out, "tessera_model_info{{version=\"{version}\"}} 1");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_counts_requests_buckets_and_decisions() {
        let m = Metrics::default();
        m.observe("/v1/score", 200, Duration::from_micros(800));
        m.observe("/v1/score", 200, Duration::from_millis(3));
        m.observe("/v1/score", 401, Duration::from_micros(100));
        m.decision("allow", ["new_device", "new_device"].into_iter());
        let text = m.render("lr-1");
        assert!(
            text.contains("tessera_http_requests_total{route=\"/v1/score\",status=\"200\"} 2\n")
        );
        assert!(
            text.contains("tessera_http_requests_total{route=\"/v1/score\",status=\"401\"} 1\n")
        );
        assert!(text.contains(
            "tessera_http_request_duration_seconds_bucket{route=\"/v1/score\",le=\"0.001\"} 2\n"
        ));
        assert!(text.contains(
            "tessera_http_request_duration_seconds_bucket{route=\"/v1/score\",le=\"0.005\"} 3\n"
        ));
        assert!(text.contains("tessera_decisions_total{decision=\"allow\"} 1\n"));
        assert!(text.contains("tessera_reasons_total{code=\"new_device\"} 2\n"));
        assert!(text.contains("tessera_model_info{version=\"lr-1\"} 1\n"));
    }
}
