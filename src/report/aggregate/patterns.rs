//! Attack patterns an analyst drills into, each row with the ids of the events that make it up:
//! the riskiest IPs, ASNs, countries and devices; credential-stuffing bursts (many users from
//! one IP or ASN in a short window); impossible travel, typing replays and bot cadence (the
//! engine's own reason codes on the request, so the report finds what scoring found, through
//! the one feature path); and devices shared across many accounts.

use std::collections::BTreeSet;

use foldhash::{HashMap, HashSet};

use super::super::events::ScoredRow;

/// Thresholds of the patterns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Rows kept in each top list.
    pub top: usize,
    /// Event ids listed on a top-list row (the first ones in time).
    pub ids_per_row: usize,
    /// Distinct users from one key that make a burst.
    pub burst_users: usize,
    /// The window `burst_users` must fall in, ms.
    pub burst_window_ms: i64,
    /// Distinct accounts on one device that make it shared.
    pub shared_device_users: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            top: 20,
            ids_per_row: 50,
            burst_users: 10,
            burst_window_ms: 10 * 60_000,
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
    /// Distinct tenants the requests came through.
    pub tenants: u64,
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
    /// Distinct tenants the requests came through.
    pub tenants: u64,
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

/// A key a pattern groups by: text borrowed from the rows (an IP, a country, a device
/// pseudonym) or an AS number; shown as `AS64500` for the latter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key<'a> {
    /// Text from the row.
    Text(&'a str),
    /// An AS number.
    Asn(u32),
}

impl std::fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Text(s) => f.write_str(s),
            Key::Asn(n) => write!(f, "AS{n}"),
        }
    }
}

/// A row's IP as a key.
pub fn ip_key(r: &ScoredRow) -> Option<Key<'_>> {
    r.ip.as_deref().map(Key::Text)
}

/// A row's AS number as a key.
pub fn asn_key(r: &ScoredRow) -> Option<Key<'_>> {
    r.asn.map(Key::Asn)
}

/// A row's country as a key.
pub fn country_key(r: &ScoredRow) -> Option<Key<'_>> {
    r.country.as_deref().map(Key::Text)
}

/// A row's device pseudonym as a key.
pub fn device_key(r: &ScoredRow) -> Option<Key<'_>> {
    r.device.as_deref().map(Key::Text)
}

#[derive(Default)]
struct KeyAcc<'a> {
    events: u64,
    users: HashSet<&'a str>,
    tenants: HashSet<&'a str>,
    risky: u64,
    denied: u64,
    fraud: u64,
    trust: u64,
    ids: Vec<&'a str>,
}

/// The top `t.top` keys of `key` by confirmed fraud, then requests stepped up or denied, then
/// requests (then by key), skipping rows without one; `fraud[i]` says whether row `i` was
/// confirmed as fraud.
pub fn top_keys<'a>(
    rows: &'a [ScoredRow],
    fraud: &[bool],
    t: &Thresholds,
    key: impl Fn(&'a ScoredRow) -> Option<Key<'a>>,
) -> Vec<KeyRisk> {
    let mut acc: HashMap<Key<'a>, KeyAcc<'a>> = HashMap::default();
    for (r, fraud) in rows.iter().zip(fraud) {
        let Some(k) = key(r) else { continue };
        let a = acc.entry(k).or_default();
        a.events += 1;
        a.users.insert(&r.user);
        a.tenants.insert(&r.tenant);
        a.risky += u64::from(r.challenged_or_denied());
        a.denied += u64::from(r.decision == crate::domain::Decision::Deny);
        a.trust += u64::from(r.trust);
        a.fraud += u64::from(*fraud);
        if a.ids.len() < t.ids_per_row {
            a.ids.push(&r.request_id);
        }
    }
    let mut ranked: Vec<(Key<'a>, KeyAcc<'a>)> = acc.into_iter().collect();
    let order = |a: &(Key<'a>, KeyAcc<'a>), b: &(Key<'a>, KeyAcc<'a>)| {
        (b.1.fraud, b.1.risky, b.1.events)
            .cmp(&(a.1.fraud, a.1.risky, a.1.events))
            .then_with(|| a.0.cmp(&b.0))
    };
    if ranked.len() > t.top && t.top > 0 {
        ranked.select_nth_unstable_by(t.top - 1, order);
    }
    ranked.truncate(t.top);
    ranked.sort_by(order);
    ranked
        .into_iter()
        .map(|(key, a)| KeyRisk {
            key: key.to_string(),
            events: a.events,
            users: a.users.len() as u64,
            tenants: a.tenants.len() as u64,
            risky: a.risky,
            denied: a.denied,
            fraud: a.fraud,
            mean_trust: a.trust as f64 / a.events as f64,
            ids: a.ids.into_iter().map(str::to_string).collect(),
        })
        .collect()
}

/// Bursts of `kind` by `key`: windows of one key's events in time order spanning at most
/// `burst_window_ms` (inclusive) that hold `burst_users` distinct users, at least half of their
/// requests stepped up or denied (a carrier NAT or a big ISP serves many genuine people at
/// once; a stuffing run is challenged), merged where they share events.
pub fn bursts<'a>(
    rows: &'a [ScoredRow],
    t: &Thresholds,
    kind: &'static str,
    key: impl Fn(&'a ScoredRow) -> Option<Key<'a>>,
) -> Vec<Burst> {
    let mut by_key: HashMap<Key<'a>, Vec<usize>> = HashMap::default();
    for (i, r) in rows.iter().enumerate() {
        if let Some(k) = key(r) {
            by_key.entry(k).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for (k, idx) in by_key {
        if idx.len() < t.burst_users {
            continue;
        }
        // Qualifying windows [left, right] (indices into the key's events), merged only where
        // they share events.
        let mut runs: Vec<(usize, usize)> = Vec::new();
        let mut users: HashMap<&str, usize> = HashMap::default();
        let (mut left, mut risky) = (0, 0usize);
        for right in 0..idx.len() {
            let new = &rows[idx[right]];
            *users.entry(new.user.as_str()).or_default() += 1;
            risky += usize::from(new.challenged_or_denied());
            while new.ts_ms.saturating_sub(rows[idx[left]].ts_ms) > t.burst_window_ms {
                let old = &rows[idx[left]];
                risky -= usize::from(old.challenged_or_denied());
                if let Some(n) = users.get_mut(old.user.as_str()) {
                    *n -= 1;
                    if *n == 0 {
                        users.remove(old.user.as_str());
                    }
                }
                left += 1;
            }
            // Enough users, and at least half the window's requests challenged.
            if users.len() >= t.burst_users && 2 * risky >= right + 1 - left {
                match runs.last_mut() {
                    Some(run) if run.1 >= left => run.1 = right,
                    _ => runs.push((left, right)),
                }
            }
        }
        for (a, b) in runs {
            let run = &idx[a..=b];
            let users: BTreeSet<&str> = run.iter().map(|i| rows[*i].user.as_str()).collect();
            let tenants: BTreeSet<&str> = run.iter().map(|i| rows[*i].tenant.as_str()).collect();
            let risky = run
                .iter()
                .filter(|i| rows[**i].challenged_or_denied())
                .count();
            out.push(Burst {
                kind,
                key: k.to_string(),
                from_ms: rows[run[0]].ts_ms,
                to_ms: rows[run[run.len() - 1]].ts_ms,
                users: users.len() as u64,
                tenants: tenants.len() as u64,
                risky: risky as u64,
                ids: run.iter().map(|i| rows[*i].request_id.clone()).collect(),
            });
        }
    }
    out.sort_by(|a, b| (b.users, a.from_ms, &a.key).cmp(&(a.users, b.from_ms, &b.key)));
    out
}

/// Devices used by at least `shared_device_users` distinct accounts over the period.
pub fn shared_devices(rows: &[ScoredRow], t: &Thresholds) -> Vec<SharedDevice> {
    let mut by_device: HashMap<&str, Vec<usize>> = HashMap::default();
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
    out.sort_by(|a, b| (b.users, a.from_ms, &a.device).cmp(&(a.users, b.from_ms, &b.device)));
    out
}

/// Every event carrying one of [`CASE_CODES`], once per code, by code then time.
pub fn flagged(rows: &[ScoredRow]) -> Vec<Flagged> {
    let mut out = Vec::new();
    for (row, r) in rows.iter().enumerate() {
        for code in CASE_CODES {
            if r.has_reason(code) {
                out.push(Flagged { code, row });
            }
        }
    }
    out.sort_by_key(|f| (CASE_CODES.iter().position(|c| *c == f.code), f.row));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Decision;

    fn row(ts_ms: i64, user: &str, ip: &str, decision: Decision) -> ScoredRow {
        let id = format!("r-{ts_ms}-{user}");
        ScoredRow {
            ip: Some(ip.into()),
            ..crate::report::events::test_row(ts_ms, "default", &id, user, decision)
        }
    }

    #[test]
    fn a_burst_is_ten_users_in_ten_minutes_challenged_and_nothing_slower_or_allowed() {
        let t = Thresholds::default();
        let min = 60_000;
        let mut rows = Vec::new();
        // Steady genuine traffic on a carrier NAT: a user every 2 minutes all day, allowed.
        for i in 0..720 {
            rows.push(row(
                i * 2 * min,
                &format!("nat-{i}"),
                "10.0.0.1",
                Decision::Allow,
            ));
        }
        // Slow probing: a new user every 2 minutes for 24 minutes (at most 6 in any 10), denied.
        for i in 0..12 {
            rows.push(row(
                i * 2 * min,
                &format!("slow-{i}"),
                "10.0.0.2",
                Decision::Deny,
            ));
        }
        // Stuffing: 12 users 30 s apart, challenged, then one more an hour later (not part of
        // it), then the same user again and again (one user is no burst).
        for i in 0..12 {
            rows.push(row(
                1000 * min + i * 30_000,
                &format!("v-{i}"),
                "10.0.0.3",
                Decision::StepUpOtp,
            ));
        }
        rows.push(row(1060 * min, "late", "10.0.0.3", Decision::StepUpOtp));
        for i in 0..30 {
            rows.push(row(
                2000 * min + i * 1000,
                "same",
                "10.0.0.4",
                Decision::Deny,
            ));
        }
        // A busy gateway (a user every 2 minutes, allowed, all day) with two challenged waves
        // of 12 users an hour and a half apart: two bursts, each holding its own wave.
        for i in 0..720 {
            rows.push(row(
                i * 2 * min + 7,
                &format!("gw-{i}"),
                "10.0.0.5",
                Decision::Allow,
            ));
        }
        for (w, at) in [(0, 700 * min), (1, 790 * min)] {
            for i in 0..12 {
                rows.push(row(
                    at + i * 6_000 + 3,
                    &format!("w{w}-{i}"),
                    "10.0.0.5",
                    Decision::Deny,
                ));
            }
        }
        rows.sort_by_key(|r| r.ts_ms);
        let all = bursts(&rows, &t, "ip", ip_key);
        let gateway: Vec<&Burst> = all.iter().filter(|b| b.key == "10.0.0.5").collect();
        assert_eq!(gateway.len(), 2, "{gateway:?}");
        for (w, b) in gateway.iter().enumerate() {
            let own = (0..12)
                .filter(|i| b.ids.iter().any(|id| id.ends_with(&format!("-w{w}-{i}"))))
                .count();
            let other = b
                .ids
                .iter()
                .filter(|id| id.contains(&format!("-w{}-", 1 - w)))
                .count();
            assert_eq!((own, other), (12, 0), "{b:?}");
            assert!(b.users >= 12 && b.risky == 12, "{b:?}");
        }
        let b: Vec<Burst> = all.into_iter().filter(|b| b.key != "10.0.0.5").collect();
        assert_eq!(b.len(), 1, "{b:?}");
        assert_eq!(
            (b[0].key.as_str(), b[0].users, b[0].risky),
            ("10.0.0.3", 12, 12)
        );
        assert_eq!(b[0].ids.len(), 12);
        assert_eq!(
            (b[0].from_ms, b[0].to_ms),
            (1000 * min, 1000 * min + 11 * 30_000)
        );
        // The threshold is exact: nine users are no burst.
        let nine: Vec<ScoredRow> = rows
            .iter()
            .filter(|r| r.ip.as_deref() == Some("10.0.0.3") && r.user != "v-0" && r.user != "v-11")
            .cloned()
            .collect();
        assert_eq!(
            bursts(&nine, &t, "ip", ip_key).len(),
            1,
            "ten users still are"
        );
        let nine: Vec<ScoredRow> = nine.into_iter().filter(|r| r.user != "v-5").collect();
        assert!(bursts(&nine, &t, "ip", ip_key).is_empty());
    }
}
