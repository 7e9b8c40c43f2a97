//! Replay: feed a dataset's events in time order through [`Engine::assess`] and
//! [`Engine::record_outcome`] — the live code path — against an empty in-memory store, so every
//! event's features see history exactly as it was at that moment and never the future.

use crate::engine::Engine;
use crate::features::{FeatureRow, Unavailable};

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

/// Replays `data` through `engine` (which should hold an empty memory store).
pub fn replay(data: &Dataset, engine: &Engine) -> Result<Replayed, TrainError> {
    let mut r = Replayer::new(engine, Keep::All);
    for (ts, ev) in &data.events {
        r.event(*ts, ev)?;
    }
    Ok(r.finish())
}

/// Which scored events a [`Replayer`] keeps the rows of (every event is replayed either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Every scored event.
    All,
    /// Only events with a label (what a fit can use): memory grows with the labelled events.
    Labelled,
}

/// Replays events one at a time, in the order given (time order), for a caller that reads the
/// log in batches ([`super::stream`]).
pub struct Replayer<'e> {
    engine: &'e Engine,
    keep: Keep,
    out: Replayed,
}

impl<'e> Replayer<'e> {
    /// A replay through `engine` (which should hold an empty memory store).
    pub fn new(engine: &'e Engine, keep: Keep) -> Self {
        Replayer {
            engine,
            keep,
            out: Replayed::default(),
        }
    }

    /// Replays one event at `ts` (ms).
    pub fn event(&mut self, ts: i64, ev: &LogEvent) -> Result<(), TrainError> {
        let out = &mut self.out;
        match ev {
            LogEvent::Score {
                request,
                is_attack,
                scenario,
            } => {
                let a = match self.engine.assess(request, ts) {
                    Ok(a) => a,
                    Err(crate::Error::Conflict(_)) => {
                        out.repeated_ids += 1;
                        return Ok(());
                    }
                    Err(e) => return Err(TrainError::Data(format!("event at {ts}: {e}"))),
                };
                if self.keep == Keep::Labelled && is_attack.is_none() {
                    return Ok(());
                }
                out.rows.push(a.row);
                out.absences.push(a.findings.unavailable);
                out.labels.push(*is_attack);
                out.ts_ms.push(ts);
                out.scenarios.push(scenario.clone());
            }
            LogEvent::Outcome(rec) => {
                if self.engine.record_outcome(rec).is_err() {
                    out.refused_outcomes += 1;
                }
            }
        }
        Ok(())
    }

    /// The rows and counts.
    pub fn finish(self) -> Replayed {
        self.out
    }
}
