//! Attack patterns an analyst drills into, each row with the ids of the events that make it up:
//! the riskiest IPs, ASNs, countries and devices; credential-stuffing bursts (many users from
//! one IP or ASN in a short window); impossible travel, typing replays and bot cadence (the
//! engine's own reason codes on the request, so the report finds what scoring found, through
//! the one feature path); and devices shared across many accounts.

use std::collections::VecDeque;

use foldhash::{HashMap, HashSet};

use super::super::events::ScoredRow;
use super::intern::Names;

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
    /// The event.
    pub row: ScoredRow,
}

/// Reason codes that make a case on their own.
pub const CASE_CODES: [&str; 3] = ["impossible_travel", "typing_replay", "bot_cadence"];

/// The lists a key can rank in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Addresses (as shown).
    Ip,
    /// AS numbers.
    Asn,
    /// Countries.
    Country,
    /// Device pseudonyms.
    Device,
}

impl KeyKind {
    /// Every list, in page order.
    pub const ALL: [KeyKind; 4] = [KeyKind::Ip, KeyKind::Asn, KeyKind::Country, KeyKind::Device];

    /// The row's key of this kind: the text's number in `names` (an AS number as it is).
    pub fn of(self, r: &ScoredRow, names: &mut Names) -> Option<u32> {
        match self {
            KeyKind::Ip => r.ip.as_deref().map(|k| names.id(k)),
            KeyKind::Asn => r.asn,
            KeyKind::Country => r.country.as_deref().map(|k| names.id(k)),
            KeyKind::Device => r.device.as_deref().map(|k| names.id(k)),
        }
    }

    /// The key `id` as shown.
    pub fn show(self, id: u32, names: &Names) -> String {
        match self {
            KeyKind::Asn => format!("AS{id}"),
            _ => names.name(id).to_string(),
        }
    }
}

/// The interned facts of one row that the patterns use.
#[derive(Debug, Clone, Copy, Default)]
pub struct RowIds {
    /// User pseudonym.
    pub user: u32,
    /// Tenant.
    pub tenant: u32,
    /// Keys by [`KeyKind::ALL`].
    pub keys: [Option<u32>; 4],
}

#[derive(Default)]
struct KeyAcc {
    events: u64,
    users: HashSet<u32>,
    tenants: Vec<u32>,
    risky: u64,
    denied: u64,
    fraud: u64,
    trust: u64,
}

/// One top list, accumulated row by row: memory grows with the distinct keys (and their
/// distinct users), not with the events.
#[derive(Default)]
pub struct TopKeys {
    keys: HashMap<u32, KeyAcc>,
}

impl TopKeys {
    /// Counts `r`, whose key (of this list) is `key`.
    pub fn add(&mut self, r: &ScoredRow, ids: &RowIds, key: u32) {
        let a = self.keys.entry(key).or_default();
        a.events += 1;
        a.users.insert(ids.user);
        if !a.tenants.contains(&ids.tenant) {
            a.tenants.push(ids.tenant);
        }
        a.risky += u64::from(r.challenged_or_denied());
        a.denied += u64::from(r.decision == crate::domain::Decision::Deny);
        a.trust += u64::from(r.trust);
    }

    /// A request from `key` was confirmed as fraud.
    pub fn fraud(&mut self, key: u32) {
        if let Some(a) = self.keys.get_mut(&key) {
            a.fraud += 1;
        }
    }

    /// The top `t.top` keys by confirmed fraud, then requests stepped up or denied, then
    /// requests (then by key), without their event ids (see [`Gather`]).
    pub fn finish(self, kind: KeyKind, names: &Names, t: &Thresholds) -> Vec<KeyRisk> {
        let mut ranked: Vec<(u32, KeyAcc)> = self.keys.into_iter().collect();
        let order = |a: &(u32, KeyAcc), b: &(u32, KeyAcc)| {
            (b.1.fraud, b.1.risky, b.1.events)
                .cmp(&(a.1.fraud, a.1.risky, a.1.events))
                .then_with(|| match kind {
                    KeyKind::Asn => a.0.cmp(&b.0),
                    _ => names.name(a.0).cmp(names.name(b.0)),
                })
        };
        if ranked.len() > t.top && t.top > 0 {
            ranked.select_nth_unstable_by(t.top - 1, order);
        }
        ranked.truncate(t.top);
        ranked.sort_by(order);
        ranked
            .into_iter()
            .map(|(key, a)| KeyRisk {
                key: kind.show(key, names),
                events: a.events,
                users: a.users.len() as u64,
                tenants: a.tenants.len() as u64,
                risky: a.risky,
                denied: a.denied,
                fraud: a.fraud,
                mean_trust: a.trust as f64 / a.events as f64,
                ids: Vec::new(),
            })
            .collect()
    }
}

/// An event in a key's burst window.
struct WindowEvent {
    seq: u64,
    ts_ms: i64,
    user: u32,
    tenant: u32,
    risky: bool,
    id: Box<str>,
}

/// A run of qualifying windows being merged.
struct Run {
    last_seq: u64,
    from_ms: i64,
    to_ms: i64,
    users: HashSet<u32>,
    tenants: HashSet<u32>,
    risky: u64,
    ids: Vec<String>,
}

impl Run {
    fn take(&mut self, e: &WindowEvent) {
        self.last_seq = e.seq;
        self.to_ms = e.ts_ms;
        self.users.insert(e.user);
        self.tenants.insert(e.tenant);
        self.risky += u64::from(e.risky);
        self.ids.push(e.id.to_string());
    }
}

/// One key's sliding window.
#[derive(Default)]
struct Window {
    events: VecDeque<WindowEvent>,
    users: HashMap<u32, u32>,
    risky: usize,
    next: u64,
    run: Option<Run>,
}

/// Bursts of one kind (`ip` or `asn`), found row by row in time order: windows of one key's
/// events spanning at most `burst_window_ms` (inclusive) that hold `burst_users` distinct
/// users, at least half of their requests stepped up or denied (a carrier NAT or a big ISP
/// serves many genuine people at once; a stuffing run is challenged), merged where they share
/// events. Memory holds each key's last window and the runs still open, not the period.
pub struct Bursts {
    kind: KeyKind,
    windows: HashMap<u32, Window>,
    found: Vec<(u32, Run)>,
}

impl Bursts {
    /// Bursts by IP or by ASN.
    pub fn new(kind: KeyKind) -> Bursts {
        Bursts {
            kind,
            windows: HashMap::default(),
            found: Vec::new(),
        }
    }

    /// Adds `r` (after every earlier row), whose key is `key`.
    pub fn add(&mut self, r: &ScoredRow, ids: &RowIds, key: u32, t: &Thresholds) {
        let w = self.windows.entry(key).or_default();
        let e = WindowEvent {
            seq: w.next,
            ts_ms: r.ts_ms,
            user: ids.user,
            tenant: ids.tenant,
            risky: r.challenged_or_denied(),
            id: r.request_id.as_str().into(),
        };
        w.next += 1;
        *w.users.entry(e.user).or_default() += 1;
        w.risky += usize::from(e.risky);
        w.events.push_back(e);
        let now = r.ts_ms;
        while let Some(old) = w.events.front() {
            if now.saturating_sub(old.ts_ms) <= t.burst_window_ms {
                break;
            }
            w.risky -= usize::from(old.risky);
            if let Some(n) = w.users.get_mut(&old.user) {
                *n -= 1;
                if *n == 0 {
                    w.users.remove(&old.user);
                }
            }
            w.events.pop_front();
        }
        let left = w.events.front().map_or(0, |e| e.seq);
        // A run the window has left behind can grow no more.
        if w.run.as_ref().is_some_and(|run| run.last_seq < left)
            && let Some(run) = w.run.take()
        {
            self.found.push((key, run));
        }
        // Enough users, and at least half the window's requests challenged.
        if w.users.len() >= t.burst_users && 2 * w.risky >= w.events.len() {
            let run = w.run.get_or_insert_with(|| Run {
                last_seq: 0,
                from_ms: w.events.front().map_or(now, |e| e.ts_ms),
                to_ms: now,
                users: HashSet::default(),
                tenants: HashSet::default(),
                risky: 0,
                ids: Vec::new(),
            });
            let fresh = run.ids.is_empty();
            for e in &w.events {
                if fresh || e.seq > run.last_seq {
                    run.take(e);
                }
            }
        }
    }

    /// Closes the windows of keys idle since before `now_ms` (their runs can grow no more).
    pub fn idle(&mut self, now_ms: i64, t: &Thresholds) {
        let found = &mut self.found;
        self.windows.retain(|key, w| {
            let last = w.events.back().map_or(i64::MIN, |e| e.ts_ms);
            if now_ms.saturating_sub(last) <= t.burst_window_ms {
                return true;
            }
            if let Some(run) = w.run.take() {
                found.push((*key, run));
            }
            false
        });
    }

    /// Every burst, most users first (then earliest, then by key).
    pub fn finish(mut self, names: &Names) -> Vec<Burst> {
        for (key, w) in self.windows.iter_mut() {
            if let Some(run) = w.run.take() {
                self.found.push((*key, run));
            }
        }
        let kind = self.kind;
        let mut out: Vec<Burst> = self
            .found
            .into_iter()
            .map(|(key, run)| Burst {
                kind: match kind {
                    KeyKind::Asn => "asn",
                    _ => "ip",
                },
                key: kind.show(key, names),
                from_ms: run.from_ms,
                to_ms: run.to_ms,
                users: run.users.len() as u64,
                tenants: run.tenants.len() as u64,
                risky: run.risky,
                ids: run.ids,
            })
            .collect();
        out.sort_by(|a, b| (b.users, a.from_ms, &a.key).cmp(&(a.users, b.from_ms, &b.key)));
        out
    }
}

#[derive(Default)]
struct DeviceAcc {
    users: HashSet<u32>,
    from_ms: i64,
    to_ms: i64,
    requests: u64,
}

/// Devices and the accounts on them, accumulated row by row.
#[derive(Default)]
pub struct Devices {
    devices: HashMap<u32, DeviceAcc>,
}

impl Devices {
    /// Counts `r` on device `device`.
    pub fn add(&mut self, r: &ScoredRow, ids: &RowIds, device: u32) {
        let d = self.devices.entry(device).or_insert_with(|| DeviceAcc {
            from_ms: r.ts_ms,
            ..DeviceAcc::default()
        });
        d.users.insert(ids.user);
        d.to_ms = r.ts_ms;
        d.requests += 1;
    }

    /// Devices used by at least `shared_device_users` distinct accounts over the period, most
    /// users first, without their event ids (see [`Gather`]).
    pub fn finish(self, names: &Names, t: &Thresholds) -> Vec<SharedDevice> {
        let mut out: Vec<SharedDevice> = self
            .devices
            .into_iter()
            .filter(|(_, d)| d.users.len() >= t.shared_device_users)
            .map(|(id, d)| SharedDevice {
                device: names.name(id).to_string(),
                users: d.users.len() as u64,
                from_ms: d.from_ms,
                to_ms: d.to_ms,
                ids: Vec::with_capacity(usize::try_from(d.requests).unwrap_or(0)),
            })
            .collect();
        out.sort_by(|a, b| (b.users, a.from_ms, &a.device).cmp(&(a.users, b.from_ms, &b.device)));
        out
    }
}

/// The second pass over the period's events (read back from the events table): the event ids
/// of the top keys and the shared devices. What it keeps is what the report shows.
pub struct Gather<'s> {
    /// Per text list (IP, country, device), the row of each key.
    text: [HashMap<&'s str, usize>; 3],
    /// The row of each AS number.
    asn: HashMap<u32, usize>,
    devices: HashMap<&'s str, usize>,
    /// Per list (by [`KeyKind::ALL`]), per row of it, the ids found.
    pub top_ids: [Vec<Vec<String>>; 4],
    /// Per shared device, every id.
    pub device_ids: Vec<Vec<String>>,
    ids_per_row: usize,
}

impl<'s> Gather<'s> {
    /// Gathers for these top lists (by [`KeyKind::ALL`]) and shared devices.
    pub fn new(top: [&'s [KeyRisk]; 4], devices: &'s [SharedDevice], t: &Thresholds) -> Self {
        let index = |list: &'s [KeyRisk]| -> HashMap<&'s str, usize> {
            list.iter()
                .enumerate()
                .map(|(i, k)| (k.key.as_str(), i))
                .collect()
        };
        Gather {
            text: [index(top[0]), index(top[2]), index(top[3])],
            asn: top[1]
                .iter()
                .enumerate()
                .filter_map(|(i, k)| Some((k.key.strip_prefix("AS")?.parse().ok()?, i)))
                .collect(),
            devices: devices
                .iter()
                .enumerate()
                .map(|(i, d)| (d.device.as_str(), i))
                .collect(),
            top_ids: top.map(|l| vec![Vec::new(); l.len()]),
            device_ids: vec![Vec::new(); devices.len()],
            ids_per_row: t.ids_per_row,
        }
    }

    /// Looks at the next row (in time order).
    pub fn see(&mut self, r: &ScoredRow) {
        let found = [
            r.ip.as_deref().and_then(|k| self.text[0].get(k)),
            r.asn.and_then(|n| self.asn.get(&n)),
            r.country.as_deref().and_then(|k| self.text[1].get(k)),
            r.device.as_deref().and_then(|k| self.text[2].get(k)),
        ];
        for (list, at) in found.into_iter().enumerate() {
            if let Some(ids) = at.and_then(|at| self.top_ids[list].get_mut(*at))
                && ids.len() < self.ids_per_row
            {
                ids.push(r.request_id.clone());
            }
        }
        if let Some(at) = r.device.as_deref().and_then(|d| self.devices.get(d))
            && let Some(ids) = self.device_ids.get_mut(*at)
        {
            ids.push(r.request_id.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Decision;

    /// The bursts the whole aggregation finds in `rows` (idle keys closed between batches).
    fn bursts(rows: &[ScoredRow], t: &Thresholds) -> Vec<Burst> {
        super::super::summarize(rows, &[], (None, None), t)
            .expect("summary")
            .bursts
    }

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
        let all = bursts(&rows, &t);
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
        assert_eq!(bursts(&nine, &t).len(), 1, "ten users still are");
        let nine: Vec<ScoredRow> = nine.into_iter().filter(|r| r.user != "v-5").collect();
        assert!(bursts(&nine, &t).is_empty());
    }
}
