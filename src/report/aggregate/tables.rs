//! The report's tables, built from a [`Summary`]: one [`Table`] per figure, written as CSV and
//! Parquet and shown on the page; and the events table, written batch by batch as the rows
//! come.

use std::collections::BTreeMap;

use super::super::events::{Compliance, ScoredRow};
use super::super::table::{Table, Values};
use super::{KeyRisk, Kpis, Summary, utc};

fn int(v: impl Iterator<Item = u64>) -> Values {
    Values::Int(v.map(|x| i64::try_from(x).unwrap_or(i64::MAX)).collect())
}

/// Event ids separated by spaces; an id's own `%` and spaces are percent-encoded, so that a
/// caller's odd id can never read as two.
fn ids(v: &[String]) -> String {
    let mut out = String::new();
    for (i, id) in v.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if id.contains(['%', ' ']) {
            out.push_str(&id.replace('%', "%25").replace(' ', "%20"));
        } else {
            out.push_str(id);
        }
    }
    out
}

impl Summary {
    /// Every table of the report but the events table, in page order.
    pub fn tables(&self) -> Vec<Table> {
        let mut out = vec![
            self.timeline_table(),
            self.kpi_table(),
            fraud_table(&self.fraud_cases).written(self.fraud_written),
            key_table("top_ips", "ip", &self.top_ips),
            key_table("top_asns", "asn", &self.top_asns),
            key_table("top_countries", "country", &self.top_countries),
            key_table("top_devices", "device", &self.top_devices),
            self.burst_table(),
            flagged_table(&self.flagged).written(self.flagged_written),
            self.shared_device_table(),
            self.drift_table(),
            self.shadow_table(),
            Table::new("reasons")
                .with(
                    "code",
                    Values::Text(self.reasons.iter().map(|r| r.0.clone()).collect()),
                )
                .with("requests", int(self.reasons.iter().map(|r| r.1))),
        ];
        if let Some(c) = &self.compliance {
            out.push(compliance_table(c));
        }
        out
    }

    fn timeline_table(&self) -> Table {
        let t = &self.timeline;
        Table::new("timeline")
            .with(
                "bucket_start",
                Values::Text(t.iter().map(|b| utc(b.start_ms)).collect()),
            )
            .with(
                "tenant",
                Values::Text(t.iter().map(|b| b.tenant.clone()).collect()),
            )
            .with(
                "channel",
                Values::Text(t.iter().map(|b| b.channel.clone()).collect()),
            )
            .with(
                "action",
                Values::Text(t.iter().map(|b| b.action.clone()).collect()),
            )
            .with(
                "decision",
                Values::Text(t.iter().map(|b| b.decision.clone()).collect()),
            )
            .with("requests", int(t.iter().map(|b| b.requests)))
            .with(
                "mean_trust",
                Values::Real(
                    t.iter()
                        .map(|b| b.trust_sum as f64 / b.requests.max(1) as f64)
                        .collect(),
                ),
            )
    }

    fn kpi_table(&self) -> Table {
        let k = &self.kpis;
        let real = |f: fn(&Kpis) -> f64| Values::Real(k.iter().map(f).collect());
        let opt = |f: fn(&Kpis) -> Option<f64>| {
            Values::Real(k.iter().map(|x| f(x).unwrap_or(f64::NAN)).collect())
        };
        Table::new("kpis")
            .with(
                "scope",
                Values::Text(k.iter().map(|x| x.scope.clone()).collect()),
            )
            .with("requests", int(k.iter().map(|x| x.requests)))
            .with("allowed", int(k.iter().map(|x| x.allowed)))
            .with("challenged", int(k.iter().map(|x| x.challenged)))
            .with("denied", int(k.iter().map(|x| x.denied)))
            .with(
                "challenged_passed",
                int(k.iter().map(|x| x.challenged_passed)),
            )
            .with("auth_success_rate", real(Kpis::success_rate))
            .with("friction", real(Kpis::friction))
            .with("false_challenge_rate", real(Kpis::false_challenge_rate))
            .with("fraud_confirmed", int(k.iter().map(|x| x.fraud_confirmed)))
            .with("fraud_caught", int(k.iter().map(|x| x.fraud_caught)))
            .with("fraud_missed", int(k.iter().map(|x| x.fraud_missed)))
            .with(
                "fraud_past_challenge",
                int(k.iter().map(|x| x.fraud_past_challenge)),
            )
            .with("escalated_kba", int(k.iter().map(|x| x.escalated_kba)))
            .with("escalated_deny", int(k.iter().map(|x| x.denied)))
            .with("tta_median_s", opt(|x| x.tta_median_s))
            .with("tta_p90_s", opt(|x| x.tta_p90_s))
    }
}

/// The fraud-cases table of `f`.
pub(super) fn fraud_table(f: &[super::kpi::FraudCase]) -> Table {
    let rows: Vec<&ScoredRow> = f.iter().map(|c| &c.row).collect();
    let t = Table::new("fraud_cases").with(
        "fate",
        Values::Text(f.iter().map(|c| c.fate.to_string()).collect()),
    );
    event_columns(t, &rows)
}

impl Summary {
    fn burst_table(&self) -> Table {
        let b = &self.bursts;
        Table::new("stuffing_bursts")
            .with(
                "by",
                Values::Text(b.iter().map(|x| x.kind.to_string()).collect()),
            )
            .with(
                "key",
                Values::Text(b.iter().map(|x| x.key.clone()).collect()),
            )
            .with(
                "from",
                Values::Text(b.iter().map(|x| utc(x.from_ms)).collect()),
            )
            .with("to", Values::Text(b.iter().map(|x| utc(x.to_ms)).collect()))
            .with("users", int(b.iter().map(|x| x.users)))
            .with("tenants", int(b.iter().map(|x| x.tenants)))
            .with("requests", int(b.iter().map(|x| x.ids.len() as u64)))
            .with("risky", int(b.iter().map(|x| x.risky)))
            .with(
                "event_ids",
                Values::Text(b.iter().map(|x| ids(&x.ids)).collect()),
            )
    }
}

/// The flagged-events table of `f`.
pub(super) fn flagged_table(f: &[super::Flagged]) -> Table {
    let rows: Vec<&ScoredRow> = f.iter().map(|x| &x.row).collect();
    let t = Table::new("flagged_events").with(
        "code",
        Values::Text(f.iter().map(|x| x.code.to_string()).collect()),
    );
    event_columns(t, &rows)
}

impl Summary {
    fn shared_device_table(&self) -> Table {
        let d = &self.shared_devices;
        Table::new("shared_devices")
            .with(
                "device",
                Values::Text(d.iter().map(|x| x.device.clone()).collect()),
            )
            .with("users", int(d.iter().map(|x| x.users)))
            .with("requests", int(d.iter().map(|x| x.ids.len() as u64)))
            .with(
                "from",
                Values::Text(d.iter().map(|x| utc(x.from_ms)).collect()),
            )
            .with("to", Values::Text(d.iter().map(|x| utc(x.to_ms)).collect()))
            .with(
                "event_ids",
                Values::Text(d.iter().map(|x| ids(&x.ids)).collect()),
            )
    }

    fn drift_table(&self) -> Table {
        let d = &self.drift;
        let bins = 0..10u64;
        Table::new("trust_drift")
            .with("trust_from", int(bins.clone().map(|b| b * 10)))
            .with(
                "trust_to",
                int(bins.map(|b| if b == 9 { 100 } else { b * 10 + 9 })),
            )
            .with("first_window", int(d.first_counts.iter().copied()))
            .with("last_window", int(d.last_counts.iter().copied()))
            .with("psi", Values::Real(vec![d.psi; 10]))
            .with("ks", Values::Real(vec![d.ks; 10]))
    }

    fn shadow_table(&self) -> Table {
        let pairs: Vec<(&(String, String), &u64)> = self.shadow.pairs.iter().collect();
        Table::new("shadow_agreement")
            .with(
                "decision",
                Values::Text(pairs.iter().map(|p| p.0.0.clone()).collect()),
            )
            .with(
                "shadow_decision",
                Values::Text(pairs.iter().map(|p| p.0.1.clone()).collect()),
            )
            .with("requests", int(pairs.iter().map(|p| *p.1)))
    }
}

fn key_table(name: &'static str, key: &'static str, k: &[KeyRisk]) -> Table {
    Table::new(name)
        .with(key, Values::Text(k.iter().map(|x| x.key.clone()).collect()))
        .with("requests", int(k.iter().map(|x| x.events)))
        .with("users", int(k.iter().map(|x| x.users)))
        .with("tenants", int(k.iter().map(|x| x.tenants)))
        .with("risky", int(k.iter().map(|x| x.risky)))
        .with("denied", int(k.iter().map(|x| x.denied)))
        .with("fraud_confirmed", int(k.iter().map(|x| x.fraud)))
        .with(
            "mean_trust",
            Values::Real(k.iter().map(|x| x.mean_trust).collect()),
        )
        .with(
            "event_ids",
            Values::Text(k.iter().map(|x| ids(&x.ids)).collect()),
        )
}

fn compliance_table(c: &Compliance) -> Table {
    let mut items: Vec<(String, String)> = vec![
        (
            "chain".into(),
            match &c.broken {
                None => "verified".into(),
                Some(p) => format!("BROKEN: {p}"),
            },
        ),
        ("records".into(), c.records.to_string()),
        ("head".into(), c.head.clone()),
        (
            "anchor".into(),
            match (&c.anchor, &c.broken) {
                (None, _) => "none given".into(),
                (Some(a), None) => format!("{a} verified"),
                (Some(a), Some(_)) => format!("{a} NOT verified"),
            },
        ),
        ("recoveries".into(), c.recoveries.to_string()),
    ];
    if let Some(u) = &c.unread {
        items.push(("unread".into(), u.clone()));
    }
    let mut counts: BTreeMap<super::super::events::ActionKind, u64> = BTreeMap::new();
    let (mut deleted, mut pruned) = (BTreeMap::new(), BTreeMap::new());
    for a in &c.actions {
        *counts.entry(a.kind).or_default() += 1;
        for (k, n) in &a.deleted {
            *deleted.entry(k.as_str()).or_insert(0u64) += n;
        }
        for (k, n) in &a.pruned {
            *pruned.entry(k.as_str()).or_insert(0u64) += n;
        }
    }
    use super::super::events::ActionKind as K;
    for kind in [
        K::Erasure,
        K::ErasureFailed,
        K::Export,
        K::ExportFailed,
        K::Retention,
        K::RetentionFailed,
        K::Reload,
    ] {
        // The reader has paired each failure with its attempt: the counts are disjoint.
        let n = counts.get(&kind).copied().unwrap_or(0);
        items.push((kind.as_str().into(), n.to_string()));
    }
    for (k, n) in deleted {
        items.push((format!("retention_deleted.{k}"), n.to_string()));
    }
    for (k, n) in pruned {
        items.push((format!("retention_pruned.{k}"), n.to_string()));
    }
    Table::new("compliance")
        .with(
            "item",
            Values::Text(items.iter().map(|i| i.0.clone()).collect()),
        )
        .with(
            "value",
            Values::Text(items.into_iter().map(|i| i.1).collect()),
        )
}

/// Scored requests of the period (a batch of them: the table is written batch by batch), for
/// drill-down by event id and for engines that span machines (the other tables are
/// aggregations of this one).
pub fn events_table(r: &[ScoredRow]) -> Table {
    let text = |f: fn(&ScoredRow) -> String| Values::Text(r.iter().map(f).collect());
    let maybe = |f: fn(&ScoredRow) -> Option<String>| Values::MaybeText(r.iter().map(f).collect());
    Table::new("events")
        .with("event_id", text(|x| x.request_id.clone()))
        .with("time", text(|x| utc(x.ts_ms)))
        .with("ts_ms", Values::Int(r.iter().map(|x| x.ts_ms).collect()))
        .with("tenant", text(|x| x.tenant.clone()))
        .with("user", text(|x| x.user.clone()))
        .with("channel", text(|x| x.channel.clone()))
        .with("action", text(|x| x.action.clone()))
        .with("ip", maybe(|x| x.ip.clone()))
        .with(
            "asn",
            Values::MaybeInt(r.iter().map(|x| x.asn.map(i64::from)).collect()),
        )
        .with("country", maybe(|x| x.country.clone()))
        .with("device", maybe(|x| x.device.clone()))
        .with("decision", text(|x| x.decision.as_str().to_string()))
        .with(
            "trust",
            Values::Int(r.iter().map(|x| i64::from(x.trust)).collect()),
        )
        .with("reasons", text(|x| x.reasons.join(" ")))
        .with("model_version", text(|x| x.model_version.clone()))
        .with(
            "shadow_decision",
            maybe(|x| x.shadow_decision.map(|d| d.as_str().to_string())),
        )
        .with(
            "shadow_trust",
            Values::MaybeInt(r.iter().map(|x| x.shadow_trust.map(i64::from)).collect()),
        )
}

/// The columns that show single requests (time, tenant, user pseudonym, address, country,
/// decision, trust, event id), added to `t`.
fn event_columns(t: Table, rows: &[&ScoredRow]) -> Table {
    let text = |f: fn(&ScoredRow) -> String| Values::Text(rows.iter().map(|r| f(r)).collect());
    t.with("time", text(|r| utc(r.ts_ms)))
        .with("tenant", text(|r| r.tenant.clone()))
        .with("user", text(|r| r.user.clone()))
        .with(
            "ip",
            Values::MaybeText(rows.iter().map(|r| r.ip.clone()).collect()),
        )
        .with(
            "country",
            Values::MaybeText(rows.iter().map(|r| r.country.clone()).collect()),
        )
        .with("decision", text(|r| r.decision.as_str().to_string()))
        .with("trust", int(rows.iter().map(|r| u64::from(r.trust))))
        .with("event_id", text(|r| r.request_id.clone()))
}
