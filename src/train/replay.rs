//! Replay: feed a dataset's events in time order through [`Engine::assess`] and
//! [`Engine::record_outcome`] — the live code path — against an empty in-memory store, so every
//! event's features see history exactly as it was at that moment and never the future.

use rayon::prelude::*;

use crate::engine::{Assessment, Engine, PreparedRequest, RecordedRequest};
use crate::features::{FeatureRow, Unavailable};
use crate::store::OutcomeInput;

use super::TrainError;
use super::dataset::{Dataset, LogEvent};

/// Feature rows of every scored event, in time order, with labels. Unlabelled events are here
/// too: their history counts; `train` leaves them out of the fit.
#[derive(Debug, Clone, Default)]
pub struct Replayed {
    /// Features as extracted.
    pub rows: Vec<FeatureRow>,
    /// Per row: which sources were missing, and why (training imputes as serving does).
    pub absences: Vec<Unavailable>,
    /// True for attacks, false for genuine events, `None` when unknown.
    pub labels: Vec<Option<bool>>,
    /// Event times, ms.
    pub ts_ms: Vec<i64>,
    /// Scenario names.
    pub scenarios: Vec<String>,
    /// Outcome lines the engine refused (unknown request, user mismatch).
    pub refused_outcomes: usize,
    /// Score events skipped because their request id was already used (the live service
    /// answers a repeated id with the first answer, or refuses it, and counts it once).
    pub repeated_ids: usize,
}

/// Replays `data` through `engine` (which should hold an empty memory store). Each batch is
/// prepared ([`prepare`]) while the previous one replays.
pub fn replay(data: &Dataset, engine: &Engine) -> Result<Replayed, TrainError> {
    let mut r = Replayer::new(engine, Keep::All);
    // Every score event makes a row: room for them all at once, instead of growing (and
    // copying) the row vectors a dozen times over a large log.
    let scores = data
        .events
        .iter()
        .filter(|(_, ev)| matches!(ev, LogEvent::Score { .. }))
        .count();
    r.reserve(scores);
    in_batches(&data.events, engine, |chunk, prepared| {
        r.batch_prepared(chunk, prepared)
    })?;
    Ok(r.finish())
}

/// Feeds `events` (in memory, in time order) to `f` in batches of
/// [`super::stream::BATCH_ROWS`], each read ahead by [`prepare`] while `f` replays the batch
/// before; `f`'s first error stops it.
pub fn in_batches<'e, E: Send>(
    events: &[(i64, LogEvent)],
    engine: &'e Engine,
    mut f: impl FnMut(&[(i64, LogEvent)], Vec<Prepared<'e>>) -> Result<(), E> + Send,
) -> Result<(), E> {
    let mut chunks = events.chunks(super::stream::BATCH_ROWS);
    let mut next = chunks.next().map(|c| (c, prepare(engine, c)));
    while let Some((chunk, prepared)) = next.take() {
        let (done, following) = rayon::join(
            || f(chunk, prepared),
            || chunks.next().map(|c| (c, prepare(engine, c))),
        );
        done?;
        next = following;
    }
    Ok(())
}

/// An event read ahead of the replay, on its own: a score request's checks, enrichment,
/// pseudonyms and evidence ([`Engine::prepare_assessment`]), an outcome's checks and pseudonyms
/// ([`Engine::prepare_outcome`]); or why it was refused.
// One per event, made and consumed once in a batch's vector: boxing the request's evidence
// would add an allocation per event for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Prepared<'e> {
    /// A score event's request.
    Score(Result<PreparedRequest<'e>, crate::Error>),
    /// An outcome event.
    Outcome(Result<OutcomeInput, crate::Error>),
}

/// Reads every event of `events` on its own, in parallel (rayon): what
/// [`Engine::prepare_assessment`] and [`Engine::prepare_outcome`] read, never the store, so it
/// may run ahead of the replay, e.g. while the previous batch replays. Feed the result to
/// [`Replayer::batch_prepared`] with the same events.
pub fn prepare<'e>(engine: &'e Engine, events: &[(i64, LogEvent)]) -> Vec<Prepared<'e>> {
    events
        .par_iter()
        .with_min_len(256)
        .map(|(ts, ev)| match ev {
            LogEvent::Score { request, .. } => {
                Prepared::Score(engine.prepare_assessment(request, *ts))
            }
            LogEvent::Outcome(rec) => Prepared::Outcome(engine.prepare_outcome(rec)),
        })
        .collect()
}

/// Which scored events a [`Replayer`] keeps the rows of (every event is replayed either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Every scored event.
    All,
    /// Only events with a label (what a fit can use): memory grows with the labelled events.
    Labelled,
}

/// Events a batch is recorded in per step: the ledger records one step, in time order, while
/// the features of the step before are extracted beside it.
pub const STEP_EVENTS: usize = 2048;

/// What a replay keeps of each scored event, made on the extraction side of the replay (beside
/// the in-order recording, in pieces on rayon's threads). Training keeps feature rows
/// ([`FeatureRows`]); `tessera report` judges each assessment with a model.
pub trait Collect<'e>: Sync {
    /// What the extraction of one step adds, in order.
    type Rows: Default + Send;

    /// Adds the scored event at `ts` (its `request`, label and scenario as logged), read ahead
    /// as `prepared` and assessed against its history as `assessed`, to `rows`.
    fn add(
        &self,
        engine: &'e Engine,
        ts: i64,
        event: ScoredEvent<'_>,
        prepared: &PreparedRequest<'e>,
        assessed: Assessment,
        rows: &mut Self::Rows,
    );

    /// False for an event whose assessment need not be extracted at all (default: all are).
    fn wants(&self, _is_attack: Option<bool>) -> bool {
        true
    }

    /// Appends one step's rows (in time order).
    fn append(&mut self, rows: Self::Rows);

    /// An outcome event at `ts`, in time order: `applied` when the engine took it, `false` when
    /// it refused it (unknown request, another user, a repeat). Default: nothing kept.
    fn outcome(&mut self, _ts: i64, _record: &crate::domain::OutcomeRecord, _applied: bool) {}
}

/// A score event of the log as a [`Collect`] sees it.
#[derive(Debug, Clone, Copy)]
pub struct ScoredEvent<'a> {
    /// The request.
    pub request: &'a crate::domain::ScoreRequest,
    /// True when an attacker sent it, `None` when unknown.
    pub is_attack: Option<bool>,
    /// The generating scenario's name (empty when unknown).
    pub scenario: &'a str,
}

/// Training's [`Collect`]: the feature rows, absences, labels, times and scenarios of the
/// events `keep` asks for.
#[derive(Debug, Clone)]
pub struct FeatureRows {
    keep: Keep,
    out: Replayed,
}

/// The rows the extraction of one step adds, in order.
#[derive(Default)]
pub struct Rows {
    rows: Vec<FeatureRow>,
    absences: Vec<Unavailable>,
    labels: Vec<Option<bool>>,
    ts_ms: Vec<i64>,
    scenarios: Vec<String>,
}

impl<'e> Collect<'e> for FeatureRows {
    type Rows = Rows;

    fn add(
        &self,
        _engine: &'e Engine,
        ts: i64,
        event: ScoredEvent<'_>,
        _prepared: &PreparedRequest<'e>,
        a: Assessment,
        out: &mut Rows,
    ) {
        out.rows.push(a.row);
        out.absences.push(a.findings.unavailable);
        out.labels.push(event.is_attack);
        out.ts_ms.push(ts);
        out.scenarios.push(event.scenario.to_string());
    }

    fn wants(&self, is_attack: Option<bool>) -> bool {
        self.keep == Keep::All || is_attack.is_some()
    }

    fn append(&mut self, r: Rows) {
        let out = &mut self.out;
        out.rows.extend(r.rows);
        out.absences.extend(r.absences);
        out.labels.extend(r.labels);
        out.ts_ms.extend(r.ts_ms);
        out.scenarios.extend(r.scenarios);
    }
}

/// Events a replay counted without a row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Outcome lines the engine refused (unknown request, user mismatch).
    pub refused_outcomes: usize,
    /// Score events skipped because their request id was already used.
    pub repeated_ids: usize,
}

/// Replays events in the order given (time order), for a caller that reads the log in batches
/// ([`super::stream`]), keeping what `C` collects.
pub struct Replayer<'e, C = FeatureRows> {
    engine: &'e Engine,
    step: usize,
    collect: C,
    skipped: Skipped,
}

/// What the in-order half of the replay made of one event.
enum Step {
    /// A score event recorded in the ledger: its features are still to extract.
    Recorded(RecordedRequest),
    /// A score event whose request id was used before: counted, no row.
    Repeated,
    /// An outcome event, applied (`false`) or refused (`true`).
    Outcome { refused: bool },
}

impl<'e> Replayer<'e, FeatureRows> {
    /// A replay through `engine` (which should hold an empty memory store) keeping the feature
    /// rows `keep` asks for.
    pub fn new(engine: &'e Engine, keep: Keep) -> Self {
        Replayer::collecting(
            engine,
            FeatureRows {
                keep,
                out: Replayed::default(),
            },
        )
    }

    /// Makes room for `rows` more rows (an estimate: rows may still be more or fewer).
    pub fn reserve(&mut self, rows: usize) {
        let out = &mut self.collect.out;
        out.rows.reserve(rows);
        out.absences.reserve(rows);
        out.labels.reserve(rows);
        out.ts_ms.reserve(rows);
        out.scenarios.reserve(rows);
    }

    /// The rows and counts.
    pub fn finish(self) -> Replayed {
        let mut out = self.collect.out;
        out.refused_outcomes = self.skipped.refused_outcomes;
        out.repeated_ids = self.skipped.repeated_ids;
        out
    }
}

impl<'e, C: Collect<'e>> Replayer<'e, C> {
    /// A replay through `engine` (which should hold an empty memory store) keeping what
    /// `collect` makes of each scored event.
    pub fn collecting(engine: &'e Engine, collect: C) -> Self {
        Replayer {
            engine,
            step: STEP_EVENTS,
            collect,
            skipped: Skipped::default(),
        }
    }

    /// The same replay recording `events` per step instead of [`STEP_EVENTS`] (at least 1):
    /// the rows do not depend on it.
    pub fn with_step(mut self, events: usize) -> Self {
        self.step = events.max(1);
        self
    }

    /// Replays a batch prepared by [`prepare`], in order: each step of the batch is recorded in
    /// the ledger in time order ([`Engine::record_assessment`], [`Engine::finish_outcome`])
    /// while the features of the step before are extracted ([`Engine::extract_assessment`],
    /// against the history each request was recorded with) and collected beside it, in pieces
    /// on rayon's threads ([`extract_step`]).
    pub fn batch_prepared(
        &mut self,
        events: &[(i64, LogEvent)],
        prepared: Vec<Prepared<'e>>,
    ) -> Result<(), TrainError> {
        if prepared.len() != events.len() {
            return Err(TrainError::Data(format!(
                "{} events but {} prepared",
                events.len(),
                prepared.len()
            )));
        }
        let (engine, step) = (self.engine, self.step);
        let mut waiting: Option<(usize, Vec<Step>)> = None;
        let mut at = 0;
        while at < events.len() || waiting.is_some() {
            let end = (at + step).min(events.len());
            let collect = &self.collect;
            let (recorded, extracted) = rayon::join(
                || record_step(engine, &events[at..end], &prepared[at..end]),
                || {
                    waiting.take().map(|(from, steps)| {
                        extract_step(engine, collect, &events[from..], &prepared[from..], steps)
                    })
                },
            );
            for rows in extracted.into_iter().flatten() {
                self.collect.append(rows);
            }
            let steps = recorded?;
            for (s, (ts, ev)) in steps.iter().zip(&events[at..end]) {
                match s {
                    Step::Repeated => self.skipped.repeated_ids += 1,
                    Step::Outcome { refused } => {
                        if *refused {
                            self.skipped.refused_outcomes += 1;
                        }
                        if let LogEvent::Outcome(rec) = ev {
                            self.collect.outcome(*ts, rec, !refused);
                        }
                    }
                    Step::Recorded(_) => {}
                }
            }
            if at < end {
                waiting = Some((at, steps));
            }
            at = end;
        }
        // Freeing the batch's evidence is not part of the time-ordered work: spread it out.
        prepared.into_par_iter().for_each(drop);
        Ok(())
    }

    /// What has been collected so far (a caller that streams takes it between batches).
    pub fn collector(&mut self) -> &mut C {
        &mut self.collect
    }

    /// What was collected, and the events counted without a row.
    pub fn into_parts(self) -> (C, Skipped) {
        (self.collect, self.skipped)
    }
}

/// Records `events` in the ledger, in order (the in-order half of the replay).
fn record_step(
    engine: &Engine,
    events: &[(i64, LogEvent)],
    prepared: &[Prepared<'_>],
) -> Result<Vec<Step>, TrainError> {
    let mut steps = Vec::with_capacity(events.len());
    for ((ts, ev), p) in events.iter().zip(prepared) {
        steps.push(match (ev, p) {
            (LogEvent::Score { request, .. }, Prepared::Score(p)) => {
                let recorded = match p {
                    Ok(p) => engine.record_assessment(request, p),
                    Err(e) => return Err(TrainError::Data(format!("event at {ts}: {e}"))),
                };
                match recorded {
                    Ok(r) => Step::Recorded(r),
                    Err(crate::Error::Conflict(_)) => Step::Repeated,
                    Err(e) => return Err(TrainError::Data(format!("event at {ts}: {e}"))),
                }
            }
            (LogEvent::Outcome(_), Prepared::Outcome(input)) => Step::Outcome {
                refused: match input {
                    Ok(input) => engine.finish_outcome(input).is_err(),
                    Err(_) => true,
                },
            },
            _ => {
                return Err(TrainError::Data(format!(
                    "event at {ts}: prepared as another kind of event"
                )));
            }
        });
    }
    Ok(steps)
}

/// Extracts the features of the recorded score events among `events` (the first
/// `steps.len()`) and collects those `collect` wants, in order: in pieces of at least
/// [`EXTRACT_PIECE`] events on rayon's threads (each assessment reads only the history recorded
/// with it, so the pieces are independent), the rows of each piece in order, the pieces in
/// order. A thread that has finished recording its step takes pieces too.
fn extract_step<'e, C: Collect<'e>>(
    engine: &'e Engine,
    collect: &C,
    events: &[(i64, LogEvent)],
    prepared: &[Prepared<'e>],
    steps: Vec<Step>,
) -> Vec<C::Rows> {
    let n = steps.len();
    steps
        .into_par_iter()
        .zip(&events[..n])
        .zip(&prepared[..n])
        .with_min_len(EXTRACT_PIECE)
        .fold(C::Rows::default, |mut out, ((s, (ts, ev)), p)| {
            let (
                LogEvent::Score {
                    request,
                    is_attack,
                    scenario,
                },
                Prepared::Score(Ok(p)),
                Step::Recorded(recorded),
            ) = (ev, p, s)
            else {
                return out;
            };
            if !collect.wants(*is_attack) {
                return out;
            }
            let a = engine.extract_assessment(request, p, &recorded);
            let event = ScoredEvent {
                request,
                is_attack: *is_attack,
                scenario,
            };
            collect.add(engine, *ts, event, p, a, &mut out);
            out
        })
        .collect()
}

/// Fewest events one piece of a step's extraction takes (see [`extract_step`]).
const EXTRACT_PIECE: usize = 128;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::train::dataset::{self, LabelColumn};
    use crate::train::{replay_engine, stream};

    /// Every event through [`Engine::assess`] and [`Engine::record_outcome`], one at a time in
    /// time order: the reference the prepared replay must reproduce.
    fn one_by_one(ds: &Dataset, engine: &Engine) -> Replayed {
        let mut out = Replayed::default();
        for (ts, ev) in &ds.events {
            match ev {
                LogEvent::Score {
                    request,
                    is_attack,
                    scenario,
                } => match engine.assess(request, *ts) {
                    Ok(a) => {
                        out.rows.push(a.row);
                        out.absences.push(a.findings.unavailable);
                        out.labels.push(*is_attack);
                        out.ts_ms.push(*ts);
                        out.scenarios.push(scenario.clone());
                    }
                    Err(crate::Error::Conflict(_)) => out.repeated_ids += 1,
                    Err(e) => panic!("event at {ts}: {e}"),
                },
                LogEvent::Outcome(rec) => {
                    if engine.record_outcome(rec).is_err() {
                        out.refused_outcomes += 1;
                    }
                }
            }
        }
        out
    }

    fn assert_same(a: &Replayed, b: &Replayed, what: &str) {
        assert_eq!(a.rows.len(), b.rows.len(), "{what}: rows");
        for (i, (x, y)) in a.rows.iter().zip(&b.rows).enumerate() {
            let (xb, yb): (Vec<u32>, Vec<u32>) = (
                x.iter().map(|v| v.to_bits()).collect(),
                y.iter().map(|v| v.to_bits()).collect(),
            );
            assert_eq!(xb, yb, "{what}: row {i} differs");
        }
        assert_eq!(a.absences, b.absences, "{what}: absences");
        assert_eq!(a.labels, b.labels, "{what}: labels");
        assert_eq!(a.ts_ms, b.ts_ms, "{what}: times");
        assert_eq!(a.scenarios, b.scenarios, "{what}: scenarios");
        assert_eq!(a.refused_outcomes, b.refused_outcomes, "{what}: refused");
        assert_eq!(a.repeated_ids, b.repeated_ids, "{what}: repeated ids");
    }

    #[test]
    fn prepared_replay_extracts_exactly_the_rows_of_one_by_one_assessment() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = crate::gen_data::test_log(dir.path(), 60, 20, 11);
        let ds = dataset::read_dataset(&path).expect("read");
        let cfg = Config::default();

        // The reference runs on the atomic memory store (records staged, copied and written
        // back), the replays on the in-place one `replay_engine` gives.
        let mut memory = cfg.clone();
        memory.store.backend = crate::config::Backend::Memory;
        memory.model.path = "rules".into();
        let atomic = Engine::from_config_with_key(&memory, Engine::replay_key()).expect("engine");
        let reference = one_by_one(&ds, &atomic);
        let score_events = ds
            .events
            .iter()
            .filter(|(_, e)| matches!(e, LogEvent::Score { .. }))
            .count();
        assert_eq!(reference.rows.len() + reference.repeated_ids, score_events);
        assert!(reference.rows.len() > 500, "{}", reference.rows.len());
        assert!(
            reference.rows.iter().any(|r| r.iter().any(|v| *v != 0.0)),
            "features were extracted"
        );

        // In memory: batches prepared in parallel, then finished in order.
        let batched = replay(&ds, &replay_engine(&cfg).expect("engine")).expect("replay");
        assert_same(&reference, &batched, "replay");

        // Streamed as `tessera train` reads it: small batches, each prepared on the parsing
        // thread while the previous one replays, recorded in steps of 50 events while the step
        // before is extracted.
        let engine = replay_engine(&cfg).expect("engine");
        let mut r = Replayer::new(&engine, Keep::All).with_step(50);
        stream::for_each_batch_prepared(
            &path,
            LabelColumn::Read,
            257,
            |batch| prepare(&engine, batch),
            |batch, prepared| r.batch_prepared(&batch, prepared),
        )
        .expect("stream");
        assert_same(&reference, &r.finish(), "streamed");
    }

    #[test]
    fn a_prepared_request_finishes_only_for_its_own_request() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = crate::gen_data::test_log(dir.path(), 5, 3, 3);
        let ds = dataset::read_dataset(&path).expect("read");
        let mut scores = ds.events.iter().filter_map(|(ts, e)| match e {
            LogEvent::Score { request, .. } => Some((*ts, request)),
            LogEvent::Outcome(_) => None,
        });
        let (ts, first) = scores.next().expect("a score event");
        let (_, second) = scores.next().expect("two score events");
        let engine = replay_engine(&Config::default()).expect("engine");
        let p = engine.prepare_assessment(first, ts).expect("prepare");
        let err = engine
            .finish_assessment(second, &p)
            .expect_err("another request");
        assert!(err.to_string().contains("request_id"), "{err}");
        assert!(engine.finish_assessment(first, &p).is_ok());
    }
}
