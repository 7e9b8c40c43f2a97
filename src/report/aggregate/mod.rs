//! Every aggregation of a report, computed from one [`Period`] (scored events and their
//! outcomes): decisions and trust over time by tenant, channel and action; the KPIs; the
//! attack patterns; model health; compliance. The same code runs whatever the input was.

pub mod health;
pub mod kpi;
pub mod patterns;
mod tables;

use foldhash::HashMap;

use super::events::{Compliance, Period};

pub use health::{Drift, Shadow};
pub use kpi::Kpis;
pub use patterns::{Burst, Flagged, KeyRisk, SharedDevice, Thresholds};
pub use tables::events_table;

/// One bucket of the timeline: requests of one (tenant, channel, action, decision).
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// Bucket start, ms.
    pub start_ms: i64,
    /// Tenant.
    pub tenant: String,
    /// Channel.
    pub channel: String,
    /// Action.
    pub action: String,
    /// Decision.
    pub decision: String,
    /// Requests.
    pub requests: u64,
    /// Sum of their trust scores (mean = sum / requests).
    pub trust_sum: u64,
}

/// Everything a report shows.
#[derive(Debug, Clone)]
pub struct Summary {
    /// First and last instant counted, ms (`to` exclusive).
    pub from_ms: i64,
    /// End of the period, ms (exclusive).
    pub to_ms: i64,
    /// Timeline bucket width, ms (an hour, or a day for periods over three days).
    pub bucket_ms: i64,
    /// Timeline buckets, by start then key.
    pub timeline: Vec<Bucket>,
    /// KPIs of all requests, each tenant and each channel.
    pub kpis: Vec<Kpis>,
    /// Requests confirmed as fraud and their fate.
    pub fraud_cases: Vec<kpi::FraudCase>,
    /// Riskiest IPs.
    pub top_ips: Vec<KeyRisk>,
    /// Riskiest ASNs.
    pub top_asns: Vec<KeyRisk>,
    /// Riskiest countries.
    pub top_countries: Vec<KeyRisk>,
    /// Riskiest devices.
    pub top_devices: Vec<KeyRisk>,
    /// Credential-stuffing bursts (by IP, then by ASN).
    pub bursts: Vec<Burst>,
    /// Devices shared across accounts.
    pub shared_devices: Vec<SharedDevice>,
    /// Events flagged by impossible travel, typing replay or bot cadence.
    pub flagged: Vec<Flagged>,
    /// Trust drift.
    pub drift: Drift,
    /// Shadow agreement.
    pub shadow: Shadow,
    /// Reason codes by frequency.
    pub reasons: Vec<(String, u64)>,
    /// The audit log's checks, when the input was one.
    pub compliance: Option<Compliance>,
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Aggregates `p` (already filtered) over `[from_ms, to_ms)`; with no bounds given, the
/// period runs from the first row to just after the last.
pub fn summarize(p: &Period, bounds: (Option<i64>, Option<i64>), t: &Thresholds) -> Summary {
    let first = p.rows.first().map_or(0, |r| r.ts_ms);
    let last = p.rows.last().map_or(0, |r| r.ts_ms.saturating_add(1));
    let from_ms = bounds.0.unwrap_or(first);
    let to_ms = bounds.1.unwrap_or(last).max(from_ms);
    let bucket_ms = if to_ms.saturating_sub(from_ms) > 3 * DAY_MS {
        DAY_MS
    } else {
        HOUR_MS
    };
    let fates = kpi::fates(&p.outcomes);
    let rows = &p.rows;
    // One lookup per request; then the independent aggregations run on rayon's threads.
    let fraud: Vec<bool> = rows
        .iter()
        .map(|r| {
            fates
                .get(&(r.tenant.as_str(), r.request_id.as_str()))
                .is_some_and(|f| f.fraud)
        })
        .collect();
    use patterns::{asn_key, country_key, device_key, ip_key};
    let ((timeline, (kpis, fraud_cases)), ((top_ips, top_asns), (top_countries, top_devices))) =
        rayon::join(
            || {
                rayon::join(
                    || timeline(p, bucket_ms),
                    || (kpi::kpis(rows, &fates), kpi::fraud_cases(rows, &fates)),
                )
            },
            || {
                rayon::join(
                    || {
                        rayon::join(
                            || patterns::top_keys(rows, &fraud, t, ip_key),
                            || patterns::top_keys(rows, &fraud, t, asn_key),
                        )
                    },
                    || {
                        rayon::join(
                            || patterns::top_keys(rows, &fraud, t, country_key),
                            || patterns::top_keys(rows, &fraud, t, device_key),
                        )
                    },
                )
            },
        );
    let ((bursts, shared_devices), (flagged, (shadow, reasons))) = rayon::join(
        || {
            rayon::join(
                || {
                    let mut b = patterns::bursts(rows, t, "ip", ip_key);
                    b.extend(patterns::bursts(rows, t, "asn", asn_key));
                    b
                },
                || patterns::shared_devices(rows, t),
            )
        },
        || {
            rayon::join(
                || patterns::flagged(rows),
                || (health::shadow(rows), health::reasons(rows)),
            )
        },
    );
    Summary {
        from_ms,
        to_ms,
        bucket_ms,
        timeline,
        kpis,
        fraud_cases,
        top_ips,
        top_asns,
        top_countries,
        top_devices,
        bursts,
        shared_devices,
        flagged,
        // The windows come from the requests themselves: bounds wider than the data would
        // compare an empty week with a full one.
        drift: health::drift(rows, first, last.max(first)),
        shadow,
        reasons,
        compliance: p.compliance.clone(),
    }
}

fn timeline(p: &Period, bucket_ms: i64) -> Vec<Bucket> {
    type Key<'a> = (i64, &'a str, &'a str, &'a str, &'static str);
    let mut acc: HashMap<Key<'_>, (u64, u64)> = HashMap::default();
    for r in &p.rows {
        let start = r.ts_ms.div_euclid(bucket_ms).saturating_mul(bucket_ms);
        let e = acc
            .entry((start, &r.tenant, &r.channel, &r.action, r.decision.as_str()))
            .or_default();
        e.0 += 1;
        e.1 += u64::from(r.trust);
    }
    let mut acc: Vec<(Key<'_>, (u64, u64))> = acc.into_iter().collect();
    acc.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    acc.into_iter()
        .map(
            |((start_ms, tenant, channel, action, decision), (n, sum))| Bucket {
                start_ms,
                tenant: tenant.into(),
                channel: channel.into(),
                action: action.into(),
                decision: decision.into(),
                requests: n,
                trust_sum: sum,
            },
        )
        .collect()
}

/// An instant as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}
