//! Re-scoring an event log: every event goes through the replay training uses
//! ([`crate::train::replay`]: read ahead in parallel, recorded in time order against an empty
//! memory store, features extracted beside), and each assessment is judged by the chosen model
//! and the policy exactly as `score()` judges it ([`Engine::judge_codes`]: the decision, trust
//! and reason codes of [`Engine::judge_assessment`] without their text), on the
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

use super::events::{OutcomeRow, Reported, ScoredRow};
use super::{Feed, ReportError};

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

/// The [`Collect`] of a re-scoring: one [`ScoredRow`] per scored event, and the outcomes the
/// engine applied (a refused one — unknown request, another user — says nothing about the
/// request it names).
struct Judge<'a> {
    shown: &'a Shown,
    rows: Vec<ScoredRow>,
    outcomes: Vec<OutcomeRow>,
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
        let j = engine.judge_codes(req, prepared, &a);
        let key = &self.shown.key;
        rows.push(ScoredRow {
            ts_ms: ts,
            tenant: Tenant::default().as_str().to_string(),
            request_id: a.request_id,
            user: key.id(IdKind::User, &req.user_id).to_hex(),
            channel: req.channel.as_str().to_string(),
            action: req.action_or_default().as_str().to_string(),
            ip: prepared.ip().map(|ip| self.shown.ip(ip)),
            asn: prepared.asn(),
            country: a.country,
            device: req
                .device
                .as_ref()
                .and_then(|d| d.id.as_deref())
                .map(|id| key.id(IdKind::Device, id).to_hex()),
            decision: j.decision,
            trust: j.trust.value(),
            reasons: j.reasons.iter().map(|r| r.as_str().to_string()).collect(),
            model_version: j.model_version,
            shadow_decision: j.shadow.map(|s| s.0),
            shadow_trust: j.shadow.map(|s| s.1.value()),
            is_attack: event.is_attack,
        });
    }

    fn append(&mut self, rows: Vec<ScoredRow>) {
        self.rows.extend(rows);
    }

    fn outcome(&mut self, ts: i64, o: &crate::domain::OutcomeRecord, applied: bool) {
        if applied {
            self.outcomes.push(OutcomeRow {
                ts_ms: ts,
                tenant: Tenant::default().as_str().to_string(),
                request_id: o.request_id.clone(),
                outcome: o.outcome,
                how: Reported::Made,
            });
        }
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

/// A re-scoring fed batch by batch, in time order, handing each batch's rows and outcomes to a
/// [`Feed`] (a report's [`super::Sink`]) as soon as it is judged.
pub struct Rescorer<'e, 'a, 's> {
    replayer: Replayer<'e, Judge<'a>>,
    engine: &'e Engine,
    sink: &'s mut dyn Feed,
    events: usize,
    last_ms: i64,
    swept_ms: Option<i64>,
}

/// Replay time between two sweeps of the replay's expired pending evidence (it waits a week for
/// its outcome by default): the replay's memory stays bounded by that window.
const SWEEP_MS: i64 = 86_400_000;

impl<'e, 'a, 's> Rescorer<'e, 'a, 's> {
    /// A re-scoring through `engine` (a replay engine: empty memory store, the chosen model
    /// and shadow set), showing users, devices and addresses as `shown` says, into `sink`.
    pub fn new(engine: &'e Engine, shown: &'a Shown, sink: &'s mut dyn Feed) -> Self {
        Rescorer {
            replayer: Replayer::collecting(
                engine,
                Judge {
                    shown,
                    rows: Vec::new(),
                    outcomes: Vec::new(),
                },
            ),
            engine,
            sink,
            events: 0,
            last_ms: i64::MIN,
            swept_ms: None,
        }
    }

    /// Replays and judges one batch read ahead by [`replay::prepare`]; batches must come in
    /// time order (an error naming `what` otherwise: several files must not overlap in time).
    /// Pending evidence past its window is swept on replay time ([`Engine::expire_pending`]:
    /// nothing a decision can read), so that the replay's store grows with the users, devices
    /// and addresses of the log, not with its requests.
    pub fn batch(
        &mut self,
        events: &[(i64, LogEvent)],
        prepared: Vec<replay::Prepared<'e>>,
        what: &str,
    ) -> Result<(), ReportError> {
        if let Some((first, _)) = events.first()
            && *first < self.last_ms
        {
            return Err(ReportError::Overlap {
                file: what.to_string(),
            });
        }
        self.replayer.batch_prepared(events, prepared)?;
        self.events += events.len();
        if let Some((last, _)) = events.last() {
            self.last_ms = *last;
        }
        // The step's rows and outcomes merged back into time order (an outcome before the
        // rows that follow it), as a sink requires.
        let judge = self.replayer.collector();
        let (rows, outcomes) = (
            std::mem::take(&mut judge.rows),
            std::mem::take(&mut judge.outcomes),
        );
        let mut outcomes = outcomes.into_iter().peekable();
        for row in rows {
            while let Some(o) = outcomes.next_if(|o| o.ts_ms < row.ts_ms) {
                self.sink.outcome(o)?;
            }
            self.sink.row(row)?;
        }
        for o in outcomes {
            self.sink.outcome(o)?;
        }
        let swept = *self.swept_ms.get_or_insert(self.last_ms);
        if self.last_ms.saturating_sub(swept) >= SWEEP_MS {
            self.engine
                .expire_pending(self.last_ms)
                .map_err(crate::train::TrainError::Engine)?;
            self.swept_ms = Some(self.last_ms);
        }
        Ok(())
    }

    /// Events replayed so far.
    pub fn events(&self) -> usize {
        self.events
    }

    /// What the re-scoring replayed.
    pub fn finish(self) -> Rescored {
        let (_, skipped) = self.replayer.into_parts();
        Rescored {
            events: self.events,
            skipped,
        }
    }
}

/// Re-scores `data` (already in memory) through `engine` into `sink`; `progress` is called
/// with the events done.
pub fn rescore(
    data: &Dataset,
    engine: &Engine,
    shown: &Shown,
    sink: &mut dyn Feed,
    mut progress: impl FnMut(usize) + Send,
) -> Result<Rescored, ReportError> {
    let mut r = Rescorer::new(engine, shown, sink);
    replay::in_batches(&data.events, engine, |chunk, prepared| {
        r.batch(chunk, prepared, &data.description.path)?;
        progress(r.events());
        Ok::<(), ReportError>(())
    })?;
    Ok(r.finish())
}

/// Re-scores the event logs at `paths`, in that order, streamed into `sink` (polars reads
/// each in bounded batches, parsed and read ahead on another thread while the previous batch
/// replays; neither the log nor its scored rows are ever in memory whole). `progress` is
/// called with the events done.
pub fn rescore_files(
    paths: &[std::path::PathBuf],
    engine: &Engine,
    shown: &Shown,
    sink: &mut dyn Feed,
    mut progress: impl FnMut(usize),
) -> Result<Rescored, ReportError> {
    let mut r = Rescorer::new(engine, shown, sink);
    for path in paths {
        let shown_path = path.display().to_string();
        crate::train::stream::for_each_batch_prepared(
            path,
            crate::train::dataset::LabelColumn::Ignore,
            crate::train::stream::BATCH_ROWS,
            |batch| replay::prepare(engine, batch),
            |batch, prepared| -> Result<(), ReportError> {
                r.batch(&batch, prepared, &shown_path)?;
                progress(r.events());
                rayon::spawn(move || drop(batch));
                Ok(())
            },
        )?;
    }
    Ok(r.finish())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::config::Config;
    use crate::engine::load_model;
    use crate::train::{dataset, replay_engine};

    /// Judges every assessment both ways and counts the ones compared (panicking on the first
    /// difference).
    struct Both {
        compared: AtomicUsize,
        reasons: AtomicUsize,
    }

    impl<'e> Collect<'e> for Both {
        type Rows = ();

        fn add(
            &self,
            engine: &'e Engine,
            ts: i64,
            event: ScoredEvent<'_>,
            prepared: &PreparedRequest<'e>,
            a: Assessment,
            _: &mut (),
        ) {
            let (resp, shadow) = engine.judge_assessment(event.request, prepared, &a);
            let j = engine.judge_codes(event.request, prepared, &a);
            let codes: Vec<_> = resp.reasons.iter().map(|r| r.code).collect();
            assert_eq!(j.reasons, codes, "reasons at {ts}");
            assert_eq!(j.decision, resp.decision, "decision at {ts}");
            assert_eq!(j.trust, resp.trust_score, "trust at {ts}");
            assert_eq!(j.model_version, resp.model_version, "model at {ts}");
            let shadow = shadow.map(|s| (s.decision, s.trust_score));
            assert_eq!(j.shadow, shadow, "shadow at {ts}");
            self.compared.fetch_add(1, Ordering::Relaxed);
            self.reasons.fetch_add(codes.len(), Ordering::Relaxed);
        }

        fn append(&mut self, _: ()) {}
    }

    /// The light judgement a re-scoring keeps is the response's, field for field: decision,
    /// trust, reason codes in the response's order, model version and the shadow's view.
    #[test]
    fn judge_codes_is_the_judgement_of_judge_assessment() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = crate::gen_data::test_log(dir.path(), 60, 20, 5);
        let ds = dataset::read_dataset(&path).expect("read");
        let engine = replay_engine(&Config::default()).expect("engine");
        engine.set_model(load_model("builtin").expect("builtin"));
        engine.set_shadow(Some(load_model("rules").expect("rules")));
        let mut r = Replayer::collecting(
            &engine,
            Both {
                compared: AtomicUsize::new(0),
                reasons: AtomicUsize::new(0),
            },
        );
        replay::in_batches(&ds.events, &engine, |chunk, prepared| {
            r.batch_prepared(chunk, prepared)
        })
        .expect("replay");
        let (both, _) = r.into_parts();
        let compared = both.compared.into_inner();
        assert!(compared > 500, "{compared} judged");
        assert!(both.reasons.into_inner() > compared, "reasons were listed");
    }
}
