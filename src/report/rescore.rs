//! Re-scoring an event log: every event goes through the replay training uses
//! ([`crate::train::replay`]: read ahead in parallel, recorded in time order against an empty
//! memory store, features extracted beside), and each assessment is judged by the chosen model
//! and the policy exactly as `score()` judges it ([`Engine::judge_assessment`]), on the
//! extraction side of the replay. The result is what that model would have decided, request
//! by request, with history as it was at each moment and never the future.
//!
//! Users and devices become keyed-hash pseudonyms under the key given (the deployment's key
//! makes them match its audit log); raw ids never reach a row.

use crate::domain::Tenant;
use crate::engine::{Assessment, Engine, PreparedRequest};
use crate::privacy::{IdKind, Pseudonymizer};
use crate::train::dataset::{Dataset, LogEvent};
use crate::train::replay::{self, Collect, Replayer, ScoredEvent, Skipped};

use super::ReportError;
use super::events::{OutcomeRow, Period, ScoredRow};

/// How rows show what they carry.
#[derive(Debug, Clone)]
pub struct Shown {
    /// Pseudonymises users and devices (of the default tenant: an event log has no tenants).
    pub key: Pseudonymizer,
    /// Addresses as /24 and /48 prefixes instead of in full.
    pub truncate_ips: bool,
}

impl Shown {
    /// The address as the report shows it.
    pub fn ip(&self, ip: std::net::IpAddr) -> String {
        if self.truncate_ips {
            crate::privacy::truncate_ip(ip)
        } else {
            ip.to_string()
        }
    }
}

/// The [`Collect`] of a re-scoring: one [`ScoredRow`] per scored event.
struct Judge<'a> {
    shown: &'a Shown,
    rows: Vec<ScoredRow>,
}

impl<'e> Collect<'e> for Judge<'_> {
    type Rows = Vec<ScoredRow>;

    fn add(
        &self,
        engine: &'e Engine,
        ts: i64,
        event: ScoredEvent<'_>,
        prepared: &PreparedRequest<'e>,
        a: Assessment,
        rows: &mut Vec<ScoredRow>,
    ) {
        let req = event.request;
        let (resp, shadow) = engine.judge_assessment(req, prepared, &a);
        let key = &self.shown.key;
        let ip = req
            .network
            .as_ref()
            .and_then(|n| n.ip.as_deref())
            .and_then(|ip| ip.parse().ok());
        rows.push(ScoredRow {
            ts_ms: ts,
            tenant: Tenant::default().as_str().to_string(),
            request_id: a.request_id,
            user: key.id(IdKind::User, &req.user_id).to_hex(),
            channel: req.channel.as_str().to_string(),
            action: req
                .action
                .unwrap_or(crate::domain::Action::Login)
                .as_str()
                .to_string(),
            ip: ip.map(|ip| self.shown.ip(ip)),
            asn: prepared.asn(),
            country: a.country,
            device: req
                .device
                .as_ref()
                .and_then(|d| d.id.as_deref())
                .map(|id| key.id(IdKind::Device, id).to_hex()),
            decision: resp.decision,
            trust: resp.trust_score.value(),
            reasons: resp
                .reasons
                .iter()
                .map(|r| r.code.as_str().to_string())
                .collect(),
            model_version: resp.model_version,
            shadow_decision: shadow.as_ref().map(|s| s.decision),
            shadow_trust: shadow.as_ref().map(|s| s.trust_score.value()),
            is_attack: event.is_attack,
        });
    }

    fn append(&mut self, rows: Vec<ScoredRow>) {
        self.rows.extend(rows);
    }
}

/// What a re-scoring replayed besides its rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rescored {
    /// Events replayed (scores and outcomes).
    pub events: usize,
    /// Events counted without a row.
    pub skipped: Skipped,
}

/// Re-scores `data` through `engine` (a replay engine: empty memory store, the chosen model
/// and shadow set) and returns every scored event with the decision the model made, and the
/// outcomes the log reported, in time order. `progress` is called with the events done.
pub fn rescore(
    data: &Dataset,
    engine: &Engine,
    shown: &Shown,
    mut progress: impl FnMut(usize),
) -> Result<(Period, Rescored), ReportError> {
    let scores = data
        .events
        .iter()
        .filter(|(_, e)| matches!(e, LogEvent::Score { .. }))
        .count();
    let mut r = Replayer::collecting(
        engine,
        Judge {
            shown,
            rows: Vec::with_capacity(scores),
        },
    );
    let mut done = 0;
    let mut chunks = data.events.chunks(crate::train::stream::BATCH_ROWS);
    let mut next = chunks.next().map(|c| (c, replay::prepare(engine, c)));
    while let Some((chunk, prepared)) = next.take() {
        let (replayed, following) = rayon::join(
            || r.batch_prepared(chunk, prepared),
            || chunks.next().map(|c| (c, replay::prepare(engine, c))),
        );
        replayed?;
        done += chunk.len();
        progress(done);
        next = following;
    }
    let (judge, skipped) = r.into_parts();
    let tenant = Tenant::default().as_str().to_string();
    let outcomes = data
        .events
        .iter()
        .filter_map(|(ts, e)| match e {
            LogEvent::Outcome(o) => Some(OutcomeRow {
                ts_ms: *ts,
                tenant: tenant.clone(),
                request_id: o.request_id.clone(),
                outcome: o.outcome,
            }),
            LogEvent::Score { .. } => None,
        })
        .collect();
    Ok((
        Period {
            rows: judge.rows,
            outcomes,
            compliance: None,
            provenance: Vec::new(),
        },
        Rescored {
            events: data.events.len(),
            skipped,
        },
    ))
}
