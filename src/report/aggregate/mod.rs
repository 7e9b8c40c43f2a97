//! Every aggregation of a report, computed in one pass over the period's scored events and
//! outcomes in time order ([`Builder`]: batch by batch, the independent parts on rayon's
//! threads), then a second pass over the events as written ([`Builder::finish`]) that gathers
//! the event ids and rows the tables list. Memory grows with the distinct users, keys and
//! devices of the period, the requests still inside their pending window, and what the tables
//! show; never with the events themselves. The same code runs whatever the input was.

pub mod health;
mod intern;
pub mod kpi;
pub mod patterns;
mod tables;

use foldhash::HashMap;

use super::ReportError;
use super::events::{Compliance, OutcomeRow, ScoredRow};
use intern::Names;
use kpi::{Join, KpiAcc, Pending};
use patterns::{Bursts, Devices, Gather, KeyKind, RowIds, TopKeys};

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
    /// Scored requests counted.
    pub requests: u64,
    /// Outcomes joined to them.
    pub outcomes: u64,
    /// Outcomes that matched no request of the period (another period's, another tenant's,
    /// or reported after the request's pending window).
    pub unmatched_outcomes: u64,
    /// What was read (files, formats, the model that decided), for the page's header.
    pub provenance: Vec<String>,
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
    /// Requests confirmed as fraud and their fate (the first [`PREVIEW_ROWS`] when the table
    /// was written batch by batch, see `fraud_written`).
    pub fraud_cases: Vec<kpi::FraudCase>,
    /// Rows of the fraud-cases table already written, when it was written batch by batch.
    pub fraud_written: Option<u64>,
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
    /// Events flagged by impossible travel, typing replay or bot cadence, in time order (the
    /// first [`PREVIEW_ROWS`] when the table was written batch by batch).
    pub flagged: Vec<Flagged>,
    /// Rows of the flagged-events table already written, when it was written batch by batch.
    pub flagged_written: Option<u64>,
    /// Trust drift.
    pub drift: Drift,
    /// Shadow agreement.
    pub shadow: Shadow,
    /// Reason codes by frequency.
    pub reasons: Vec<(String, u64)>,
    /// The audit log's checks, when the input was one.
    pub compliance: Option<Compliance>,
}

/// Rows of a long table the page shows (and a summary keeps of a table written batch by
/// batch).
pub const PREVIEW_ROWS: usize = 25;

/// A table listing cases row by row (fraud cases, flagged events): kept whole, or, given a
/// directory, written there batch by batch, keeping its first rows for the page.
struct Listed<T> {
    shape: fn(&[T]) -> super::table::Table,
    writer: Option<super::table::TableWriter>,
    batch: Vec<T>,
    shown: Vec<T>,
    count: u64,
    failed: Option<ReportError>,
}

impl<T: Clone> Listed<T> {
    fn new(
        dir: Option<&std::path::Path>,
        shape: fn(&[T]) -> super::table::Table,
    ) -> Result<Self, ReportError> {
        Ok(Listed {
            shape,
            writer: dir
                .map(|d| super::table::TableWriter::create(d, &shape(&[])))
                .transpose()?,
            batch: Vec::new(),
            shown: Vec::new(),
            count: 0,
            failed: None,
        })
    }

    fn push(&mut self, item: T) {
        self.count += 1;
        let Some(w) = &mut self.writer else {
            self.shown.push(item);
            return;
        };
        if self.shown.len() < PREVIEW_ROWS {
            self.shown.push(item.clone());
        }
        self.batch.push(item);
        if self.batch.len() >= crate::train::stream::BATCH_ROWS {
            if let Err(e) = w.append(&(self.shape)(&self.batch)) {
                self.failed.get_or_insert(e);
            }
            self.batch.clear();
        }
    }

    /// The rows kept, and the rows written when the table was written batch by batch.
    fn finish(self) -> Result<(Vec<T>, Option<u64>), ReportError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        match self.writer {
            None => Ok((self.shown, None)),
            Some(mut w) => {
                if !self.batch.is_empty() {
                    w.append(&(self.shape)(&self.batch))?;
                }
                w.finish()?;
                Ok((self.shown, Some(self.count)))
            }
        }
    }
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Timeline key: (hour start, tenant, channel, action, decision).
type Slot = (i64, u32, u32, u32, crate::domain::Decision);

/// The first pass of a report: fed the period's scored events and outcomes in time order
/// (rows before the outcomes that follow them), it keeps running aggregates only.
pub struct Builder {
    t: Thresholds,
    /// The period's bounds, when given.
    bounds: (Option<i64>, Option<i64>),
    /// Width of the timeline's slots: an hour until the period is known to span more than
    /// three days, then a day (the buckets the page shows).
    slot_ms: i64,
    users: Names,
    tenants: Names,
    channels: Names,
    actions: Names,
    /// IPs, countries and devices (AS numbers are their own keys).
    keys: Names,
    timeline: HashMap<Slot, (u64, u64)>,
    health: health::HealthAcc,
    top: [TopKeys; 4],
    bursts: [Bursts; 2],
    devices: Devices,
    join: Join,
    kpis: KpiAcc,
    /// Request id → (tenant, what the decision did) of the requests confirmed as fraud.
    fraud: HashMap<String, Vec<(String, &'static str)>>,
    requests: u64,
    outcomes: u64,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
}

impl Builder {
    /// A first pass over `[from, to)` (`bounds`; without, from the first request to just after
    /// the last) whose requests wait `pending_window_ms` for their outcomes (the engine's
    /// pending window: later ones are refused by the service and the replay alike); `labels`
    /// when the outcomes are a label log's lines.
    pub fn new(
        t: Thresholds,
        bounds: (Option<i64>, Option<i64>),
        pending_window_ms: i64,
        labels: bool,
    ) -> Builder {
        Builder {
            t,
            bounds,
            slot_ms: HOUR_MS,
            users: Names::default(),
            tenants: Names::default(),
            channels: Names::default(),
            actions: Names::default(),
            keys: Names::default(),
            timeline: HashMap::default(),
            health: health::HealthAcc::default(),
            top: Default::default(),
            bursts: [Bursts::new(KeyKind::Ip), Bursts::new(KeyKind::Asn)],
            devices: Devices::default(),
            join: Join::new(pending_window_ms, labels),
            kpis: KpiAcc::default(),
            fraud: HashMap::default(),
            requests: 0,
            outcomes: 0,
            first_ms: None,
            last_ms: None,
        }
    }

    /// Settles the requests whose pending window closed before `now_ms`: every outcome fed
    /// so far is all they will get, so `now_ms` must be no later than any outcome still to
    /// come.
    pub fn settle_before(&mut self, now_ms: i64) {
        let due = self.join.due(Some(now_ms));
        self.settle(due);
    }

    /// Adds scored requests (in time order, after every earlier batch).
    pub fn rows(&mut self, rows: &[ScoredRow]) {
        let Some(first) = rows.first() else { return };
        // Names become numbers, three interners on three threads.
        let slot_ms = self.slot_ms;
        let (users, keys) = (&mut self.users, &mut self.keys);
        let (tenants, channels, actions) =
            (&mut self.tenants, &mut self.channels, &mut self.actions);
        let ((user_ids, key_ids), slots) = rayon::join(
            || {
                rayon::join(
                    || rows.iter().map(|r| users.id(&r.user)).collect::<Vec<u32>>(),
                    || {
                        rows.iter()
                            .map(|r| {
                                let mut k = [None; 4];
                                for (k, kind) in k.iter_mut().zip(KeyKind::ALL) {
                                    *k = kind.of(r, keys);
                                }
                                k
                            })
                            .collect::<Vec<[Option<u32>; 4]>>()
                    },
                )
            },
            || {
                rows.iter()
                    .map(|r| {
                        (
                            r.ts_ms.div_euclid(slot_ms).saturating_mul(slot_ms),
                            tenants.id(&r.tenant),
                            channels.id(&r.channel),
                            actions.id(&r.action),
                            r.decision,
                        )
                    })
                    .collect::<Vec<Slot>>()
            },
        );
        let ids: Vec<RowIds> = user_ids
            .into_iter()
            .zip(key_ids)
            .zip(&slots)
            .map(|((user, keys), slot)| RowIds {
                user,
                tenant: slot.1,
                keys,
            })
            .collect();
        let t = self.t;
        let [ip, asn, country, device] = &mut self.top;
        let [burst_ip, burst_asn] = &mut self.bursts;
        let (timeline, health, devices) = (&mut self.timeline, &mut self.health, &mut self.devices);
        let each = |f: &mut dyn FnMut(&ScoredRow, &RowIds)| {
            for (r, i) in rows.iter().zip(&ids) {
                f(r, i);
            }
        };
        let top = |acc: &mut TopKeys, list: usize| {
            each(&mut |r, i| {
                if let Some(k) = i.keys[list] {
                    acc.add(r, i, k);
                }
            })
        };
        let burst = |acc: &mut Bursts, list: usize| {
            each(&mut |r, i| {
                if let Some(k) = i.keys[list] {
                    acc.add(r, i, k, &t);
                }
            });
            if let Some(last) = rows.last() {
                acc.idle(last.ts_ms, &t);
            }
        };
        rayon::join(
            || {
                rayon::join(
                    || rayon::join(|| top(ip, 0), || top(asn, 1)),
                    || rayon::join(|| top(country, 2), || top(device, 3)),
                )
            },
            || {
                rayon::join(
                    || rayon::join(|| burst(burst_ip, 0), || burst(burst_asn, 1)),
                    || {
                        rayon::join(
                            || {
                                each(&mut |r, i| {
                                    if let Some(d) = i.keys[3] {
                                        devices.add(r, i, d);
                                    }
                                })
                            },
                            || {
                                for (r, slot) in rows.iter().zip(&slots) {
                                    let e = timeline.entry(*slot).or_default();
                                    e.0 += 1;
                                    e.1 += u64::from(r.trust);
                                    health.add(r);
                                }
                            },
                        )
                    },
                )
            },
        );
        for ((r, i), slot) in rows.iter().zip(&ids).zip(&slots) {
            self.join.request(Pending {
                ts_ms: r.ts_ms,
                tenant: i.tenant,
                channel: slot.2,
                decision: r.decision,
                keys: i.keys,
                id: r.request_id.as_str().into(),
                hash: 0,
                reports: Vec::new(),
            });
        }
        self.requests += rows.len() as u64;
        self.first_ms.get_or_insert(first.ts_ms);
        self.last_ms = rows.last().map(|r| r.ts_ms).or(self.last_ms);
        // Once the period surely spans more than three days the page shows days: the slots
        // become days, so that they grow with the days of the period, not its hours.
        if self.slot_ms == HOUR_MS && self.period().1.saturating_sub(self.period().0) > 3 * DAY_MS {
            let hours = std::mem::take(&mut self.timeline);
            for ((hour, tenant, channel, action, decision), (n, sum)) in hours {
                let day = hour.div_euclid(DAY_MS).saturating_mul(DAY_MS);
                let e = self
                    .timeline
                    .entry((day, tenant, channel, action, decision))
                    .or_default();
                e.0 += n;
                e.1 += sum;
            }
            self.slot_ms = DAY_MS;
        }
    }

    /// The period so far: the bounds given, else from the first request to just after the
    /// last (the end only grows as rows come).
    fn period(&self) -> (i64, i64) {
        let first = self.first_ms.unwrap_or(0);
        let last = self.last_ms.map_or(0, |l| l.saturating_add(1));
        let from_ms = self.bounds.0.unwrap_or(first);
        (from_ms, self.bounds.1.unwrap_or(last).max(from_ms))
    }

    /// Adds outcomes (in time order, after the rows of their requests).
    pub fn outcomes(&mut self, outcomes: &[OutcomeRow]) {
        for o in outcomes {
            let tenant = self.tenants.get(&o.tenant);
            self.join
                .report(tenant, &o.request_id, (o.outcome, o.how, o.ts_ms));
        }
    }

    /// Counts requests whose fate is final.
    fn settle(&mut self, due: Vec<Pending>) {
        let labels = self.join.labels();
        for p in due {
            let (fate, standing) = kpi::Fate::of(&p.reports, labels);
            self.outcomes += standing;
            self.kpis.add(&p, fate);
            if fate.fraud {
                for (list, key) in p.keys.iter().enumerate() {
                    if let Some(k) = key {
                        self.top[list].fraud(*k);
                    }
                }
                self.fraud.entry(p.id.to_string()).or_default().push((
                    self.tenants.name(p.tenant).to_string(),
                    kpi::fraud_fate(p.decision, &fate),
                ));
            }
        }
    }

    /// Every figure over the period, after a second pass over the period's rows in time order:
    /// `again` calls its argument with each batch of them (the events table read back). With
    /// `spill`, the tables that list cases row by row (fraud cases, flagged events) are written
    /// there batch by batch during that pass, and the summary keeps their first rows.
    pub fn finish<E: From<ReportError>>(
        mut self,
        compliance: Option<Compliance>,
        provenance: Vec<String>,
        spill: Option<&std::path::Path>,
        again: impl FnOnce(&mut dyn FnMut(&[ScoredRow])) -> Result<(), E>,
    ) -> Result<Summary, E> {
        let due = self.join.due(None);
        self.settle(due);
        let first = self.first_ms.unwrap_or(0);
        let last = self.last_ms.map_or(0, |l| l.saturating_add(1));
        let (from_ms, to_ms) = self.period();
        let bucket_ms = if to_ms.saturating_sub(from_ms) > 3 * DAY_MS {
            DAY_MS
        } else {
            HOUR_MS
        };
        let t = self.t;
        let [ip, asn, country, device] = self.top;
        let keys = &self.keys;
        let mut top_lists = [
            ip.finish(KeyKind::Ip, keys, &t),
            asn.finish(KeyKind::Asn, keys, &t),
            country.finish(KeyKind::Country, keys, &t),
            device.finish(KeyKind::Device, keys, &t),
        ];
        let mut shared_devices = self.devices.finish(keys, &t);
        let [burst_ip, burst_asn] = self.bursts;
        let mut bursts = burst_ip.finish(keys);
        bursts.extend(burst_asn.finish(keys));
        // The second pass: ids, the rows of the cases, and the drift (whose windows come from
        // the requests themselves: bounds wider than the data would compare an empty week
        // with a full one).
        let mut drift = health::DriftCount::new(first, last.max(first));
        let mut fraud_cases = Listed::new(spill, tables::fraud_table)?;
        let mut flagged = Listed::new(spill, tables::flagged_table)?;
        let (top_ids, device_ids) = {
            let [a, b, c, d] = &top_lists;
            let mut g = Gather::new([a, b, c, d], &shared_devices, &t);
            let fraud = &self.fraud;
            again(&mut |rows: &[ScoredRow]| {
                for r in rows {
                    g.see(r);
                    drift.see(r.ts_ms, r.trust);
                    if let Some(cases) = fraud.get(r.request_id.as_str())
                        && let Some((_, fate)) = cases.iter().find(|(t, _)| *t == r.tenant)
                    {
                        fraud_cases.push(kpi::FraudCase {
                            row: r.clone(),
                            fate,
                        });
                    }
                    for code in patterns::CASE_CODES {
                        if r.has_reason(code) {
                            flagged.push(Flagged {
                                code,
                                row: r.clone(),
                            });
                        }
                    }
                }
            })?;
            (g.top_ids, g.device_ids)
        };
        let (fraud_cases, fraud_written) = fraud_cases.finish()?;
        let (flagged, flagged_written) = flagged.finish()?;
        for (list, ids) in top_lists.iter_mut().zip(top_ids) {
            for (row, ids) in list.iter_mut().zip(ids) {
                row.ids = ids;
            }
        }
        for (d, ids) in shared_devices.iter_mut().zip(device_ids) {
            d.ids = ids;
        }
        let [top_ips, top_asns, top_countries, top_devices] = top_lists;
        let (shadow, reasons) = self.health.finish();
        Ok(Summary {
            requests: self.requests,
            outcomes: self.outcomes,
            unmatched_outcomes: self.join.unmatched,
            provenance,
            from_ms,
            to_ms,
            bucket_ms,
            timeline: timeline(
                self.timeline,
                bucket_ms,
                [&self.tenants, &self.channels, &self.actions],
            ),
            kpis: self.kpis.finish(&self.tenants, &self.channels),
            fraud_cases,
            fraud_written,
            top_ips,
            top_asns,
            top_countries,
            top_devices,
            bursts,
            shared_devices,
            flagged,
            flagged_written,
            drift: drift.finish(),
            shadow,
            reasons,
            compliance,
        })
    }
}

/// Aggregates rows and outcomes held in memory (time order, the rows already filtered), with
/// no pending window: every outcome given joins its request. Writes nothing.
pub fn summarize(
    rows: &[ScoredRow],
    outcomes: &[OutcomeRow],
    bounds: (Option<i64>, Option<i64>),
    t: &Thresholds,
) -> Result<Summary, ReportError> {
    let mut b = Builder::new(*t, bounds, i64::MAX, false);
    // Every request waits to the end here: room for all of them at once.
    b.join.reserve(rows.len());
    for chunk in rows.chunks(crate::train::stream::BATCH_ROWS) {
        b.rows(chunk);
    }
    b.outcomes(outcomes);
    let again = |f: &mut dyn FnMut(&[ScoredRow])| -> Result<(), ReportError> {
        f(rows);
        Ok(())
    };
    b.finish(None, Vec::new(), None, again)
}

/// The timeline's buckets from hourly slots: by start, then tenant, channel, action and
/// decision (names); hours merged into days for `bucket_ms` of a day.
fn timeline(slots: HashMap<Slot, (u64, u64)>, bucket_ms: i64, names: [&Names; 3]) -> Vec<Bucket> {
    type Key<'a> = (i64, &'a str, &'a str, &'a str, &'static str);
    let [tenants, channels, actions] = names;
    let mut acc: HashMap<Key<'_>, (u64, u64)> = HashMap::default();
    for ((hour, tenant, channel, action, decision), (n, sum)) in slots {
        let start = hour.div_euclid(bucket_ms).saturating_mul(bucket_ms);
        let e = acc
            .entry((
                start,
                tenants.name(tenant),
                channels.name(channel),
                actions.name(action),
                decision.as_str(),
            ))
            .or_default();
        e.0 += n;
        e.1 += sum;
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
