//! Attack patterns an analyst drills into, each row with the ids of the events that make it up:
//! the riskiest IPs, ASNs, countries and devices; credential-stuffing bursts (many users from
//! one IP or ASN in a short window); impossible travel, typing replays and bot cadence (the
//! engine's own reason codes on the request, so the report finds what scoring found, through
//! the one feature path); and devices shared across many accounts.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::super::events::ScoredRow;
use super::kpi::Fate;

/// Thresholds of the patterns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Rows kept in each top list.
    pub top: usize,
    /// Event ids listed on a top-list row (the first ones in time).
    pub ids_per_row: usize,
    /// Distinct users from one key that make a burst.
    pub burst_users: usize,
    /// Longest gap between consecutive events of one burst, ms.
    pub burst_gap_ms: i64,
    /// Distinct accounts on one device that make it shared.
    pub shared_device_users: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            top: 20,
            ids_per_row: 50,
            burst_users: 10,
            burst_gap_ms: 5 * 60_000,
            shared_device_users: 3,
        }
    }
}

/// One row of a top list: a key (IP, ASN, country or device) and what came from it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyRisk {
    /// The key as shown.
    pub key: String,
    /// Requests.
    pub events: u64,
    /// Distinct users.
    pub users: u64,
    /// Stepped up or denied.
    pub risky: u64,
    /// Denied.
    pub denied: u64,
    /// Confirmed fraud.
    pub fraud: u64,
    /// Mean trust score.
    pub mean_trust: f64,
    /// The first event ids (up to the threshold).
    pub ids: Vec<String>,
}

/// A burst: many users from one key in a short window.
#[derive(Debug, Clone, PartialEq)]
pub struct Burst {
    /// `ip` or `asn`.
    pub kind: &'static str,
    /// The key as shown.
    pub key: String,
    /// First and last event, ms.
    pub from_ms: i64,
    /// Last event, ms.
    pub to_ms: i64,
    /// Distinct users.
    pub users: u64,
    /// Stepped up or denied.
    pub risky: u64,
    /// Every event id, in time order.
    pub ids: Vec<String>,
}

/// A device used by several accounts.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedDevice {
    /// Device pseudonym.
    pub device: String,
    /// Distinct users.
    pub users: u64,
    /// First and last event, ms.
    pub from_ms: i64,
    /// Last event, ms.
    pub to_ms: i64,
    /// Every event id, in time order.
    pub ids: Vec<String>,
}

/// An event flagged by a reason code (impossible travel, typing replay, bot cadence).
#[derive(Debug, Clone, PartialEq)]
pub struct Flagged {
    /// The reason code.
    pub code: &'static str,
    /// Index of the row in the period.
    pub row: usize,
}

/// Reason codes that make a case on their own.
pub const CASE_CODES: [&str; 3] = ["impossible_travel", "typing_replay", "bot_cadence"];

#[derive(Default)]
struct KeyAcc<'a> {
    events: u64,
    users: HashSet<&'a str>,
    risky: u64,
    denied: u64,
    fraud: u64,
    trust: u64,
    ids: Vec<&'a str>,
}

/// The top `t.top` keys of `key` by requests stepped up or denied (then by requests, then by
/// key), skipping rows without one.
pub fn top_keys<'a>(
    rows: &'a [ScoredRow],
    fates: &HashMap<(&str, &str), Fate>,
    t: &Thresholds,
    key: impl Fn(&'a ScoredRow) -> Option<String>,
) -> Vec<KeyRisk> {
    let mut acc: HashMap<String, KeyAcc<'a>> = HashMap::new();
    for r in rows {
        let Some(k) = key(r) else { continue };
        let a = acc.entry(k).or_default();
        a.events += 1;
        a.users.insert(&r.user);
        a.risky += u64::from(r.challenged_or_denied());
        a.denied += u64::from(r.decision == crate::domain::Decision::Deny);
        a.trust += u64::from(r.trust);
        let fraud = fates
            .get(&(r.tenant.as_str(), r.request_id.as_str()))
            .is_some_and(|f| f.fraud);
        a.fraud += u64::from(fraud);
        if a.ids.len() < t.ids_per_row {
            a.ids.push(&r.request_id);
        }
    }
    let mut out: Vec<KeyRisk> = acc
        .into_iter()
        .map(|(key, a)| KeyRisk {
            key,
            events: a.events,
            users: a.users.len() as u64,
            risky: a.risky,
            denied: a.denied,
            fraud: a.fraud,
            mean_trust: a.trust as f64 / a.events as f64,
            ids: a.ids.into_iter().map(str::to_string).collect(),
        })
        .collect();
    out.sort_by(|a, b| {
        (b.fraud, b.risky, b.events)
            .cmp(&(a.fraud, a.risky, a.events))
            .then_with(|| a.key.cmp(&b.key))
    });
    out.truncate(t.top);
    out
}

/// Bursts of `kind` by `key`: runs of one key's events, in time order, each within
/// `burst_gap_ms` of the one before, reaching `burst_users` distinct users. An ASN burst also
/// needs at least half its requests stepped up or denied (a large ISP serves many users at
/// once).
pub fn bursts<'a>(
    rows: &'a [ScoredRow],
    t: &Thresholds,
    kind: &'static str,
    key: impl Fn(&'a ScoredRow) -> Option<String>,
) -> Vec<Burst> {
    let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        if let Some(k) = key(r) {
            by_key.entry(k).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for (k, idx) in by_key {
        let mut start = 0;
        for end in 1..=idx.len() {
            let split = end == idx.len()
                || rows[idx[end]].ts_ms - rows[idx[end - 1]].ts_ms > t.burst_gap_ms;
            if !split {
                continue;
            }
            let run = &idx[start..end];
            start = end;
            let users: BTreeSet<&str> = run.iter().map(|i| rows[*i].user.as_str()).collect();
            if users.len() < t.burst_users {
                continue;
            }
            let risky = run
                .iter()
                .filter(|i| rows[**i].challenged_or_denied())
                .count();
            if kind == "asn" && 2 * risky < run.len() {
                continue;
            }
            out.push(Burst {
                kind,
                key: k.clone(),
                from_ms: rows[run[0]].ts_ms,
                to_ms: rows[run[run.len() - 1]].ts_ms,
                users: users.len() as u64,
                risky: risky as u64,
                ids: run.iter().map(|i| rows[*i].request_id.clone()).collect(),
            });
        }
    }
    out.sort_by(|a, b| b.users.cmp(&a.users).then(a.from_ms.cmp(&b.from_ms)));
    out
}

/// Devices used by at least `shared_device_users` distinct accounts over the period.
pub fn shared_devices(rows: &[ScoredRow], t: &Thresholds) -> Vec<SharedDevice> {
    let mut by_device: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        if let Some(d) = r.device.as_deref() {
            by_device.entry(d).or_default().push(i);
        }
    }
    let mut out: Vec<SharedDevice> = by_device
        .into_iter()
        .filter_map(|(d, idx)| {
            let users: BTreeSet<&str> = idx.iter().map(|i| rows[*i].user.as_str()).collect();
            (users.len() >= t.shared_device_users).then(|| SharedDevice {
                device: d.to_string(),
                users: users.len() as u64,
                from_ms: rows[idx[0]].ts_ms,
                to_ms: rows[idx[idx.len() - 1]].ts_ms,
                ids: idx.iter().map(|i| rows[*i].request_id.clone()).collect(),
            })
        })
        .collect();
    out.sort_by(|a, b| b.users.cmp(&a.users).then(a.from_ms.cmp(&b.from_ms)));
    out
}

/// Every event carrying one of [`CASE_CODES`], once per code, in time order.
pub fn flagged(rows: &[ScoredRow]) -> Vec<Flagged> {
    let mut out = Vec::new();
    for code in CASE_CODES {
        out.extend(
            rows.iter()
                .enumerate()
                .filter(|(_, r)| r.has_reason(code))
                .map(|(row, _)| Flagged { code, row }),
        );
    }
    out
}
