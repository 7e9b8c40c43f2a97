//! `tessera backtest`: replays a period through the whole engine once — sources, features,
//! reasons and policy, exactly as `score()` runs, events in time order against a fresh memory
//! store as training replays them — judging every request with the incumbent (the active or
//! built-in model) and, on the same features, with the candidate as the engine's shadow model.
//! It counts each model's decisions per level (allow · step_up_otp · step_up_otp_kba · deny)
//! for genuine requests, attacks and each attack tactic, so a promotion is decided on what the
//! policy would have done, not on AUC alone. Reads the dataset it is given; writes nothing.

use std::collections::BTreeMap;

use serde::Serialize;

use super::TrainError;
use super::dataset::{Dataset, LogEvent};
use super::progress::Progress;
use crate::config::Config;
use crate::domain::validate::Clock;
use crate::domain::{Decision, Tenant};
use crate::engine::{Engine, SourceReport};
use crate::model::Model;

/// Requests per decision level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Levels {
    /// Passed without a challenge.
    pub allow: u64,
    /// One-time password.
    pub step_up_otp: u64,
    /// One-time password and knowledge-based answers.
    pub step_up_otp_kba: u64,
    /// Refused.
    pub deny: u64,
}

impl Levels {
    /// Counts one decision.
    pub fn add(&mut self, d: Decision) {
        match d {
            Decision::Allow => self.allow += 1,
            Decision::StepUpOtp => self.step_up_otp += 1,
            Decision::StepUpOtpKba => self.step_up_otp_kba += 1,
            Decision::Deny => self.deny += 1,
        }
    }

    /// Requests counted.
    pub fn total(&self) -> u64 {
        self.allow + self.step_up_otp + self.step_up_otp_kba + self.deny
    }

    /// Requests not passively allowed (challenged or denied).
    pub fn challenged(&self) -> u64 {
        self.total() - self.allow
    }

    /// Share of requests at `d`, 0 when none were counted.
    pub fn share(&self, d: Decision) -> f64 {
        let n = match d {
            Decision::Allow => self.allow,
            Decision::StepUpOtp => self.step_up_otp,
            Decision::StepUpOtpKba => self.step_up_otp_kba,
            Decision::Deny => self.deny,
        };
        ratio(n, self.total())
    }

    /// Share of requests challenged or denied, 0 when none were counted.
    pub fn challenged_share(&self) -> f64 {
        ratio(self.challenged(), self.total())
    }
}

fn ratio(n: u64, d: u64) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

/// One model's decisions over the counted events.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Decisions {
    /// The model's version.
    pub model_version: String,
    /// Labelled genuine requests.
    pub genuine: Levels,
    /// Labelled attacks (challenged = caught).
    pub attacks: Levels,
    /// Requests without a label.
    pub unlabelled: Levels,
    /// Attacks per tactic (the event log's `scenario`).
    pub by_tactic: BTreeMap<String, Levels>,
}

impl Decisions {
    fn add(&mut self, label: Option<bool>, scenario: &str, d: Decision) {
        match label {
            Some(true) => {
                self.attacks.add(d);
                self.by_tactic
                    .entry(scenario.to_string())
                    .or_default()
                    .add(d);
            }
            Some(false) => self.genuine.add(d),
            None => self.unlabelled.add(d),
        }
    }
}

/// What to count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Count only score events at or after this time (ms); every event is still replayed, so
    /// history before it shapes the features. `None`: count every event.
    pub from_ms: Option<i64>,
}

/// The side-by-side result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// The deployment's sources, as the engine found them.
    pub sources: SourceReport,
    /// Score events replayed.
    pub replayed: u64,
    /// Score events counted (inside the window).
    pub counted: u64,
    /// First counted event time, ms (0 when none).
    pub from_ms: i64,
    /// Last counted event time, ms (0 when none).
    pub to_ms: i64,
    /// Score events skipped because their request id was already used.
    pub repeated_ids: u64,
    /// Outcome events the engine refused.
    pub refused_outcomes: u64,
    /// The incumbent's decisions (enforced during the replay).
    pub incumbent: Decisions,
    /// The candidate's decisions (scored as the shadow on the same features).
    pub candidate: Decisions,
    /// Share of counted requests on which both took the same decision.
    pub agreement: f64,
}

/// The engine offline replays run on: `cfg`'s sources, feature tunables and policy, with a
/// fresh memory store, a fixed pseudonymisation key (the store is discarded; a fixed key makes
/// replays reproducible), the rules model and no shadow or tenant models (callers set theirs).
pub fn replay_engine(cfg: &Config) -> Result<Engine, TrainError> {
    let mut replay_cfg = cfg.clone();
    replay_cfg.model.path = "rules".into();
    replay_cfg.model.shadow = String::new();
    replay_cfg.tenants.clear();
    Ok(Engine::for_replay(&replay_cfg)?)
}

/// Replays `ds` through an engine built from `cfg` (sources, feature tunables, policy; its
/// store replaced by a fresh memory store and a fixed pseudonymisation key, as training does),
/// enforcing `incumbent` and shadowing `candidate`, and counts the decisions of both on the
/// score events inside `window`. `progress` advances once per event.
pub fn compare(
    ds: &Dataset,
    cfg: &Config,
    incumbent: Model,
    candidate: Model,
    window: Window,
    progress: &Progress,
) -> Result<Backtest, TrainError> {
    let engine = replay_engine(cfg)?;
    let mut out = Backtest {
        sources: engine.source_report(),
        replayed: 0,
        counted: 0,
        from_ms: 0,
        to_ms: 0,
        repeated_ids: 0,
        refused_outcomes: 0,
        incumbent: Decisions {
            model_version: incumbent.version().to_string(),
            ..Decisions::default()
        },
        candidate: Decisions {
            model_version: candidate.version().to_string(),
            ..Decisions::default()
        },
        agreement: 0.0,
    };
    engine.set_model(incumbent);
    engine.set_shadow(Some(candidate));
    let tenant = Tenant::default();
    let mut agree = 0u64;
    for (ts, ev) in &ds.events {
        progress.inc(1);
        match ev {
            LogEvent::Score {
                request,
                is_attack,
                scenario,
            } => {
                let scored = match engine.score_request(&tenant, "", request, Clock::Replay(*ts)) {
                    Ok(s) => s,
                    Err(crate::Error::Conflict(_)) => {
                        out.repeated_ids += 1;
                        continue;
                    }
                    Err(e) => return Err(TrainError::Data(format!("event at {ts}: {e}"))),
                };
                out.replayed += 1;
                if window.from_ms.is_some_and(|from| *ts < from) {
                    continue;
                }
                let Some(shadow) = scored.shadow else {
                    return Err(TrainError::Data(format!(
                        "event at {ts}: the candidate was not scored"
                    )));
                };
                let d = scored.response.decision;
                out.incumbent.add(*is_attack, scenario, d);
                out.candidate.add(*is_attack, scenario, shadow.decision);
                agree += u64::from(d == shadow.decision);
                if out.counted == 0 {
                    out.from_ms = *ts;
                }
                out.to_ms = *ts;
                out.counted += 1;
            }
            LogEvent::Outcome(rec) => {
                // Outcomes the replay cannot apply (expired or unknown request) are counted
                // and skipped, as training skips them.
                if engine.record_outcome(rec).is_err() {
                    out.refused_outcomes += 1;
                }
            }
        }
    }
    progress.finish();
    out.agreement = ratio(agree, out.counted);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_count_and_share() {
        let mut l = Levels::default();
        for d in [
            Decision::Allow,
            Decision::Allow,
            Decision::StepUpOtp,
            Decision::Deny,
        ] {
            l.add(d);
        }
        assert_eq!(l.total(), 4);
        assert_eq!(l.challenged(), 2);
        assert_eq!(l.share(Decision::Allow), 0.5);
        assert_eq!(l.share(Decision::StepUpOtpKba), 0.0);
        assert_eq!(l.challenged_share(), 0.5);
        assert_eq!(Levels::default().challenged_share(), 0.0);
        let mut d = Decisions::default();
        d.add(Some(true), "tor_bot", Decision::Deny);
        d.add(Some(true), "tor_bot", Decision::Allow);
        d.add(Some(false), "genuine", Decision::StepUpOtp);
        d.add(None, "unknown", Decision::Allow);
        assert_eq!(d.attacks.total(), 2);
        assert_eq!(d.by_tactic["tor_bot"].challenged(), 1);
        assert_eq!(d.genuine.step_up_otp, 1);
        assert_eq!(d.unlabelled.allow, 1);
        assert!(!d.by_tactic.contains_key("genuine"));
    }
}
