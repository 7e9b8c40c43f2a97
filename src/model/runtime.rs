//! [`Model`]: the runtime form of every artifact, whatever its family — a linear model
//! (logistic regression, the rules baseline, Freeman's likelihood ratios), a tree ensemble
//! (random forest, gradient boosting) or the one-sided anomaly mixture — followed by its
//! calibration. Scoring, fail-secure imputation and per-feature contributions for explanations
//! go through this one type, so the engine never asks which family it holds.
//!
//! Log-odds of attack = `calibration.logit(raw(row))`. [`Model::terms`] splits that log-odds
//! into a constant baseline plus one term per feature: exactly `w_i·x_i` for a linear model;
//! for the others the family's own additive split of the raw score (trees' baseline Shapley
//! values against the all-zero row, the mixture's per-feature deviations) scaled onto the
//! calibrated log-odds.

use crate::domain::{Absence, Source, TrustScore};
use crate::features::schema::Direction;
use crate::features::{FEATURES, FeatureRow, N_FEATURES, Unavailable};

use super::anomaly::Anomaly;
use super::artifact::{Artifact, ModelKind};
use super::calibration::Calibration;
use super::trees::Ensemble;

/// How a family computes its raw score.
// The linear weights are kept inline: one `Scorer` per loaded model, and a box would add an
// indirection to every score.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
enum Scorer {
    /// `intercept + Σ weights[i]·x[i]`.
    Linear {
        weights: [f32; N_FEATURES],
        intercept: f32,
    },
    /// A tree ensemble, with the features each tree splits on ([`Ensemble::feature_sets`]).
    Trees(Ensemble, Vec<(u64, f32)>),
    /// The one-sided mixture.
    Anomaly(Anomaly),
}

/// A loaded, checked model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    version: String,
    kind: ModelKind,
    scorer: Scorer,
    calibration: Calibration,
    /// Per feature: the value that maximises risk (max for a positive weight or a risk
    /// feature of a non-linear family, else 0).
    worst: [f32; N_FEATURES],
    /// Per feature: its neutral value (the artifact's, 0 for features that lower risk).
    neutral: [f32; N_FEATURES],
    /// Raw score at which the terms start ([`Model::terms`]).
    raw_base: f64,
}

/// How much imputing each source raised the log-odds, indexed by `Source as usize`.
pub type Raised = [f32; Source::ALL.len()];

/// A row's log-odds split into a baseline and one term per feature: `logit = base + Σ terms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Terms {
    /// Log-odds of the model's reference point (the intercept of a linear model).
    pub base: f32,
    /// Per-feature terms, in schema order.
    pub terms: [f32; N_FEATURES],
}

impl Terms {
    /// The log-odds the terms add up to.
    pub fn logit(&self) -> f32 {
        self.base + self.terms.iter().sum::<f32>()
    }
}

impl Model {
    /// Builds the runtime model from a checked artifact (see [`Artifact::from_json`]).
    pub fn from_artifact(art: &Artifact) -> Model {
        let mut neutral = [0f32; N_FEATURES];
        for (i, def) in FEATURES.iter().enumerate() {
            if def.direction != Direction::Trust {
                let n = art.neutral.get(i).copied().unwrap_or(0.0) as f32;
                neutral[i] = n.clamp(0.0, def.max);
            }
        }
        let mut worst = [0f32; N_FEATURES];
        let scorer = match (&art.trees, &art.anomaly) {
            (Some(e), _) => Scorer::Trees(e.clone(), e.feature_sets()),
            (None, Some(a)) => Scorer::Anomaly(a.clone()),
            (None, None) => {
                let mut weights = [0f32; N_FEATURES];
                for (i, w) in art.weights.iter().enumerate().take(N_FEATURES) {
                    weights[i] = *w as f32;
                }
                Scorer::Linear {
                    weights,
                    intercept: art.intercept as f32,
                }
            }
        };
        for (i, def) in FEATURES.iter().enumerate() {
            worst[i] = match &scorer {
                Scorer::Linear { weights, .. } => {
                    if weights[i] > 0.0 {
                        def.max
                    } else {
                        0.0
                    }
                }
                _ => match def.direction {
                    Direction::Risk => def.max,
                    Direction::Trust | Direction::Either => 0.0,
                },
            };
        }
        let raw_base = match &scorer {
            Scorer::Linear { intercept, .. } => f64::from(*intercept),
            Scorer::Trees(e, _) => f64::from(e.reference()),
            Scorer::Anomaly(a) => a.expected(),
        };
        Model {
            version: art.model_version.clone(),
            kind: art.kind,
            scorer,
            calibration: art.calibration.clone(),
            worst,
            neutral,
            raw_base,
        }
    }

    /// The version string reported in responses.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The model family.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// The calibration applied after the raw score.
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// The family's raw score (log-odds for linear and boosting, a probability for the forest,
    /// a negative log-likelihood for the anomaly mixture).
    pub fn raw(&self, row: &FeatureRow) -> f64 {
        match &self.scorer {
            Scorer::Linear { weights, intercept } => {
                f64::from(intercept + weights.iter().zip(row).map(|(w, x)| w * x).sum::<f32>())
            }
            Scorer::Trees(e, _) => f64::from(e.raw(row)),
            Scorer::Anomaly(a) => a.raw(row),
        }
    }

    /// Raw score with the family's own additive split: `raw = raw_base + Σ out` (up to float
    /// rounding); the raw score returned is [`Model::raw`]'s, bit for bit.
    fn raw_terms(&self, row: &FeatureRow, out: &mut [f32; N_FEATURES]) -> f64 {
        match &self.scorer {
            Scorer::Linear { weights, intercept } => {
                for ((o, w), x) in out.iter_mut().zip(weights).zip(row) {
                    *o = w * x;
                }
                f64::from(*intercept + out.iter().sum::<f32>())
            }
            Scorer::Trees(e, sets) => f64::from(e.terms_with(row, sets, out)),
            Scorer::Anomaly(a) => a.terms(row, out),
        }
    }

    /// Replaces every feature that needs a missing source, by the kind of absence
    /// ([`Absence`]): the worst case when the client left the source out, the neutral value
    /// when the deployment lacks it or it failed. A feature that needs several missing sources
    /// is charged to the first in [`Source::ALL`] order. Returns how much each source moved
    /// the log-odds.
    pub fn impute(&self, row: &mut FeatureRow, unavailable: &Unavailable) -> Raised {
        if unavailable.is_empty() {
            return [0f32; Source::ALL.len()];
        }
        let logit = self.logit(row);
        self.impute_from(row, unavailable, logit).0
    }

    /// [`Model::impute`] for a row whose log-odds `logit` ([`Model::logit`]) the caller already
    /// has, also returning the log-odds of the imputed row (computed on the way).
    pub fn impute_from(
        &self,
        row: &mut FeatureRow,
        unavailable: &Unavailable,
        logit: f32,
    ) -> (Raised, f32) {
        let mut raised = [0f32; Source::ALL.len()];
        let mut before = logit;
        if unavailable.is_empty() {
            return (raised, before);
        }
        for source in Source::ALL {
            let mut changed = false;
            for (i, def) in FEATURES.iter().enumerate() {
                if let Some((s, why)) = unavailable.affecting(def.needs)
                    && s == source
                {
                    let v = match why {
                        Absence::ClientOmitted => self.worst[i],
                        Absence::ByDesign | Absence::Failed => self.neutral[i],
                    };
                    changed |= row[i] != v;
                    row[i] = v;
                }
            }
            if changed {
                let after = self.logit(row);
                raised[source as usize] = after - before;
                before = after;
            }
        }
        (raised, before)
    }

    /// Log-odds of attack for a (possibly imputed) row, after calibration.
    pub fn logit(&self, row: &FeatureRow) -> f32 {
        self.calibration.logit(self.raw(row)) as f32
    }

    /// Attack probability for a row, after calibration.
    pub fn probability(&self, row: &FeatureRow) -> f64 {
        self.calibration.probability(self.raw(row))
    }

    /// Trust score for a row.
    pub fn trust(&self, row: &FeatureRow) -> TrustScore {
        TrustScore::from_attack_probability(self.probability(row))
    }

    /// The row's calibrated log-odds split into a baseline and per-feature terms. Exact for
    /// linear models and Platt scaling; for an isotonic map the family's terms are scaled by
    /// the map's average slope between the baseline and the row, so they still add up.
    pub fn terms(&self, row: &FeatureRow) -> Terms {
        self.terms_scored(row).0
    }

    /// [`Model::terms`] and the row's log-odds, [`Model::logit`]'s bit for bit, from one pass
    /// over the model.
    pub fn terms_scored(&self, row: &FeatureRow) -> (Terms, f32) {
        let mut t = [0f32; N_FEATURES];
        let raw = self.raw_terms(row, &mut t);
        let logit = match &self.scorer {
            // The mixture's split computes its raw score another way: score it as `raw` does.
            Scorer::Anomaly(_) => self.logit(row),
            Scorer::Linear { .. } | Scorer::Trees(..) => self.calibration.logit(raw) as f32,
        };
        (self.split_terms(raw, t), logit)
    }

    fn split_terms(&self, raw: f64, mut t: [f32; N_FEATURES]) -> Terms {
        let cal = &self.calibration;
        let base = cal.logit(self.raw_base);
        let logit = cal.logit(raw);
        let span = raw - self.raw_base;
        let k = if span.abs() > 1e-9 {
            (logit - base) / span
        } else {
            0.0
        };
        let sum: f32 = t.iter().sum();
        if k == 0.0 || sum == 0.0 {
            // Nothing to split: the whole log-odds is the baseline.
            return Terms {
                base: logit as f32,
                terms: [0.0; N_FEATURES],
            };
        }
        // Float rounding in the family's split is spread so the terms add up exactly.
        let fix = (span as f32 - sum) / sum;
        for x in t.iter_mut() {
            *x = (*x * (1.0 + fix)) * k as f32;
        }
        Terms {
            base: base as f32,
            terms: t,
        }
    }
}

/// The logistic function.
pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Trust points (0–100 scale) that a log-odds change `delta` removes, starting from `logit`:
/// `T(logit − delta) − T(logit)` with `T(l) = 100 (1 − σ(l))`. Positive when `delta` raised risk.
pub fn trust_points(logit: f32, delta: f32) -> f32 {
    let t = |l: f32| 100.0 * (1.0 - sigmoid(f64::from(l))) as f32;
    t(logit - delta) - t(logit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{F, FeatureSchema};

    fn model(weights: &[(F, f64)], intercept: f64) -> Model {
        let mut w = vec![0.0; N_FEATURES];
        for (f, v) in weights {
            w[*f as usize] = *v;
        }
        Model::from_artifact(&Artifact {
            format_version: 1,
            model_version: "t".into(),
            kind: ModelKind::Rules,
            schema: FeatureSchema::current(),
            weights: w,
            intercept,
            metrics: serde_json::Value::Null,
            training: serde_json::Value::Null,
            card: serde_json::Value::Null,
            neutral: Vec::new(),
            trees: None,
            anomaly: None,
            calibration: Default::default(),
        })
    }

    #[test]
    fn logit_and_trust_of_known_rows() {
        let m = model(&[(F::NetworkTor, 2.0), (F::DeviceTrusted, -1.0)], -3.0);
        let mut row = [0.0; N_FEATURES];
        assert_eq!(m.logit(&row), -3.0);
        row[F::NetworkTor as usize] = 1.0;
        assert_eq!(m.logit(&row), -1.0);
        // σ(−1) = 0.268941 → trust 73
        assert_eq!(m.trust(&row).value(), 73);
    }

    #[test]
    fn imputation_follows_the_kind_of_absence_for_the_missing_source_only() {
        let m = model(
            &[
                (F::GeoImpossibleTravel, 3.0),
                (F::GeoHomeDistanceLog, 0.1),
                (F::DeviceTrusted, -1.0),
                (F::NetworkTor, 2.0),
            ],
            -4.0,
        );
        let mut row = [0.0; N_FEATURES];
        row[F::DeviceTrusted as usize] = 1.0;
        let before = m.logit(&row);
        // A location hidden by the client: worst case.
        let mut omitted = Unavailable::default();
        omitted.set(Source::Geo, Absence::ClientOmitted);
        let raised = m.impute(&mut row, &omitted);
        assert_eq!(row[F::GeoImpossibleTravel as usize], 1.0);
        assert_eq!(row[F::GeoHomeDistanceLog as usize], 10.0);
        assert_eq!(
            row[F::NetworkTor as usize],
            0.0,
            "reputation is available: untouched"
        );
        assert!(
            (raised[Source::Geo as usize] - 4.0).abs() < 1e-6,
            "{raised:?}"
        );
        assert!((m.logit(&row) - before - 4.0).abs() < 1e-6);
        // A failed store: neutral (0 here: the artifact has no neutral values), and the
        // trusted-device credit is removed (a missing source never earns trust).
        let mut failed = Unavailable::default();
        failed.set(Source::Store, Absence::Failed);
        let mut row = [0.0; N_FEATURES];
        row[F::DeviceTrusted as usize] = 1.0;
        let raised = m.impute(&mut row, &failed);
        assert_eq!(row[F::DeviceTrusted as usize], 0.0);
        assert_eq!(row[F::GeoImpossibleTravel as usize], 0.0, "neutral");
        assert!(
            (raised[Source::Store as usize] - 1.0).abs() < 1e-6,
            "{raised:?}"
        );
    }

    #[test]
    fn neutral_values_come_from_the_artifact_and_never_earn_trust() {
        let mut w = vec![0.0; N_FEATURES];
        w[F::GeoHomeDistanceLog as usize] = 0.5;
        w[F::DeviceTrusted as usize] = -1.0;
        let mut neutral = vec![0.0; N_FEATURES];
        neutral[F::GeoHomeDistanceLog as usize] = 2.0;
        let m = Model::from_artifact(&Artifact {
            format_version: 1,
            model_version: "n".into(),
            kind: ModelKind::LogisticRegression,
            schema: FeatureSchema::current(),
            weights: w,
            intercept: -3.0,
            metrics: serde_json::Value::Null,
            training: serde_json::Value::Null,
            card: serde_json::Value::Null,
            neutral,
            trees: None,
            anomaly: None,
            calibration: Default::default(),
        });
        let mut by_design = Unavailable::default();
        by_design.set(Source::Geo, Absence::ByDesign);
        by_design.set(Source::Store, Absence::ByDesign);
        let mut row = [0.0; N_FEATURES];
        let raised = m.impute(&mut row, &by_design);
        assert_eq!(row[F::GeoHomeDistanceLog as usize], 2.0);
        assert_eq!(row[F::DeviceTrusted as usize], 0.0);
        assert!(
            (raised[Source::Geo as usize] - 1.0).abs() < 1e-6,
            "{raised:?}"
        );
    }

    #[test]
    fn one_pass_gives_the_logit_bit_for_bit() {
        use crate::model::trees::{Combine, FlatTree, LEAF};
        let (tor, trusted) = (F::NetworkTor as u16, F::DeviceTrusted as u16);
        let tree = FlatTree {
            feature: vec![tor, trusted, LEAF, LEAF, LEAF],
            threshold: vec![0.5, 0.5, 0.0, 0.0, 0.0],
            left: vec![1, 3, 0, 0, 0],
            right: vec![2, 4, 0, 0, 0],
            value: vec![0.3, -0.7, 2.9, -0.31, -1.05],
        };
        let mut art = crate::model::rules::artifact();
        art.kind = ModelKind::Boosting;
        art.trees = Some(Ensemble {
            combine: Combine::Sum,
            base: -2.2,
            trees: vec![tree.clone(), FlatTree::leaf(0.17), tree],
        });
        let boosted = Model::from_artifact(&art);
        let linear = model(&[(F::NetworkTor, 2.5), (F::DeviceTrusted, -1.1)], -3.3);
        for m in [&boosted, &linear] {
            for (t, d) in [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)] {
                let mut row = [0.0; N_FEATURES];
                row[F::NetworkTor as usize] = t;
                row[F::DeviceTrusted as usize] = d;
                row[F::GeoNewCity as usize] = 1.0; // split on by neither
                let (terms, logit) = m.terms_scored(&row);
                assert_eq!(logit.to_bits(), m.logit(&row).to_bits(), "{t} {d}");
                assert!((terms.logit() - logit).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn trust_points_of_known_changes() {
        // From logit 0 (trust 50), removing +2 log-odds gives σ(−2) → trust 88.08: 38.08 points.
        assert!((trust_points(0.0, 2.0) - 38.079_7).abs() < 1e-3);
        assert_eq!(trust_points(1.0, 0.0), 0.0);
        assert!(trust_points(0.0, -1.0) < 0.0);
    }
}
