//! The Prometheus side of the tests: the metric names and labels a PromQL expression uses, the
//! queries of a Grafana dashboard, and the labels of every family `/metrics` exposes.

use std::collections::BTreeSet;

use serde_json::Value;

/// The `tessera_…` metric names in a PromQL expression, histogram suffixes stripped.
pub fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("tessera_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        out.push(base.to_string());
        rest = &tail[end..];
    }
    out
}

/// Every `expr` and templating `query` string in `v`.
pub fn queries(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                match (k.as_str(), x) {
                    ("expr" | "query" | "definition", Value::String(s)) => out.push(s.clone()),
                    _ => queries(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| queries(x, out)),
        _ => {}
    }
}

/// The labels of every family `/metrics` exposes (`le` aside; `tests/dashboard.rs` checks them
/// against a server's samples): none names a tenant.
pub const LABELS: &[(&str, &[&str])] = &[
    ("tessera_http_requests_total", &["route", "status"]),
    ("tessera_http_request_duration_seconds", &["route"]),
    (
        "tessera_decisions_total",
        &["action", "channel", "decision"],
    ),
    ("tessera_reasons_total", &["code"]),
    ("tessera_trust_score", &[]),
    ("tessera_outcomes_total", &["outcome"]),
    ("tessera_model_reloads_total", &["result"]),
    ("tessera_shadow_decisions_total", &["decision"]),
    ("tessera_shadow_agreement_total", &["result"]),
    ("tessera_model_info", &["version"]),
];

/// The labels of family `name` in [`LABELS`].
pub fn labels_of(name: &str) -> Option<BTreeSet<&'static str>> {
    LABELS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, l)| l.iter().copied().collect())
}

/// The label names a PromQL expression uses: in `{…}` matchers and in `by (…)` groupings.
pub fn label_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = |open: &str, close: char, split_at: &[char]| {
        let mut rest = expr;
        while let Some(at) = rest.find(open) {
            let tail = &rest[at + open.len()..];
            let end = tail.find(close).expect("closed");
            for part in tail[..end].split(',') {
                let name = part.split(split_at).next().unwrap_or("").trim();
                if !name.is_empty() {
                    out.push(name.to_string());
                }
            }
            rest = &tail[end..];
        }
    };
    inside("{", '}', &['=', '!', '~']);
    inside("by (", ')', &[]);
    out
}

/// The family of one sample line of the exposition (histogram suffixes stripped where the base
/// is in [`LABELS`]) and its label names, `le` aside. Label values hold no comma; a route may
/// hold braces (`/v1/users/{id}`).
pub fn sample_labels(line: &str) -> (&str, BTreeSet<&str>) {
    let (name, labels) = match line.split_once('{') {
        Some((n, rest)) => (n, rest.rsplit_once('}').expect("closed").0),
        None => (line.split_once(' ').expect("a value").0, ""),
    };
    let family = ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|s| name.strip_suffix(s).filter(|b| labels_of(b).is_some()))
        .unwrap_or(name);
    let names = labels
        .split(',')
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .filter(|k| *k != "le")
        .collect();
    (family, names)
}
