//! Decision backtest: replays a labelled event log through the whole engine — sources, model,
//! reasons and policy, exactly as `score()` runs — in time order, and measures on the held-out
//! part (the last 30 % of labelled score events by time, the split `tessera train` uses) how
//! many genuine requests were challenged and how many attacks were caught. Run it once per
//! deployment shape (every source; a free City database and lists; a City database alone) to
//! see what each source is worth.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::TrainError;
use super::dataset::{self, LogEvent};
use crate::config::Config;
use crate::domain::Decision;
use crate::engine::{Engine, SourceReport};

/// Held-out decisions of one deployment shape.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionReport {
    /// The deployment's sources, as the engine found them.
    pub sources: SourceReport,
    /// The model that scored.
    pub model_version: String,
    /// Held-out genuine requests.
    pub genuine: usize,
    /// Held-out attacks.
    pub attacks: usize,
    /// Share of genuine requests not passively allowed (friction).
    pub genuine_challenged: f64,
    /// Share of genuine requests denied.
    pub genuine_denied: f64,
    /// Share of attacks not passively allowed.
    pub attacks_caught: f64,
    /// Share of attacks denied or sent to OTP + KBA.
    pub attacks_escalated: f64,
    /// Per scenario: (requests, caught).
    pub by_scenario: BTreeMap<String, (usize, usize)>,
}

/// Share of labelled scored events (by time) before the evaluated part: decisions are counted
/// on the last 30 %.
pub const EVALUATED_AFTER: f64 = 0.7;

/// Replays `data` through an engine built from `cfg` (its store replaced by a fresh memory
/// store and a fixed pseudonymisation key, as training does) and reports the held-out
/// decisions.
pub fn backtest(data: &Path, cfg: &Config) -> Result<DecisionReport, TrainError> {
    let ds = dataset::read_dataset(data)?;
    let engine = Engine::for_replay(cfg)?;
    let labelled_ts: Vec<i64> = ds
        .events
        .iter()
        .filter_map(|(ts, ev)| match ev {
            LogEvent::Score {
                is_attack: Some(_), ..
            } => Some(*ts),
            _ => None,
        })
        .collect();
    if labelled_ts.len() < 50 {
        return Err(TrainError::Data(format!(
            "{} labelled scored events; need at least 50",
            labelled_ts.len()
        )));
    }
    let cut = ((labelled_ts.len() as f64) * EVALUATED_AFTER) as usize;
    let cutoff_ms = labelled_ts[cut.min(labelled_ts.len() - 1)];
    let (mut genuine, mut attacks) = (0usize, 0usize);
    let (mut g_challenged, mut g_denied, mut a_caught, mut a_escalated) = (0, 0, 0, 0);
    let mut by_scenario: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (ts, ev) in &ds.events {
        match ev {
            LogEvent::Score {
                request,
                is_attack,
                scenario,
            } => {
                let r = match engine.score_at(request, *ts) {
                    Ok(r) => r,
                    Err(crate::Error::Conflict(_)) => continue,
                    Err(e) => return Err(TrainError::Data(format!("event at {ts}: {e}"))),
                };
                let Some(attack) = is_attack else { continue };
                if *ts < cutoff_ms {
                    continue;
                }
                let challenged = r.decision != Decision::Allow;
                let entry = by_scenario.entry(scenario.clone()).or_default();
                entry.0 += 1;
                entry.1 += usize::from(challenged);
                if *attack {
                    attacks += 1;
                    a_caught += usize::from(challenged);
                    a_escalated += usize::from(r.decision >= Decision::StepUpOtpKba);
                } else {
                    genuine += 1;
                    g_challenged += usize::from(challenged);
                    g_denied += usize::from(r.decision == Decision::Deny);
                }
            }
            LogEvent::Outcome(rec) => {
                // Outcomes the replay cannot apply (an expired or unknown request) are skipped,
                // as training skips them.
                let _ = engine.record_outcome(rec);
            }
        }
    }
    let share = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
    Ok(DecisionReport {
        sources: engine.source_report(),
        model_version: engine.model().version().to_string(),
        genuine,
        attacks,
        genuine_challenged: share(g_challenged, genuine),
        genuine_denied: share(g_denied, genuine),
        attacks_caught: share(a_caught, attacks),
        attacks_escalated: share(a_escalated, attacks),
        by_scenario,
    })
}
