//! [`LinearModel`]: the runtime form of every artifact — log-odds of attack as a weighted sum of
//! features — with fail-secure imputation and per-feature contributions for explanations.

use crate::domain::TrustScore;
use crate::features::{FEATURES, FeatureRow, N_FEATURES, Unavailable};

use super::artifact::{Artifact, ModelKind};

/// A loaded, checked linear model.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModel {
    version: String,
    kind: ModelKind,
    weights: [f32; N_FEATURES],
    intercept: f32,
    /// Per feature: the value that maximises risk (max when the weight is positive, else 0).
    worst: [f32; N_FEATURES],
}

impl LinearModel {
    /// Builds the runtime model from a checked artifact.
    pub fn from_artifact(art: &Artifact) -> LinearModel {
        let mut weights = [0f32; N_FEATURES];
        let mut worst = [0f32; N_FEATURES];
        for (i, (w, def)) in art.weights.iter().zip(FEATURES).enumerate() {
            weights[i] = *w as f32;
            worst[i] = if *w > 0.0 { def.max } else { 0.0 };
        }
        LinearModel {
            version: art.model_version.clone(),
            kind: art.kind,
            weights,
            intercept: art.intercept as f32,
            worst,
        }
    }

    /// The version string reported in responses.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// What produced the weights.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// Log-odds of a row of zeros.
    pub fn intercept(&self) -> f32 {
        self.intercept
    }

    /// Weight of feature `i` (log-odds per unit).
    pub fn weight(&self, i: usize) -> f32 {
        self.weights.get(i).copied().unwrap_or(0.0)
    }

    /// Replaces every feature that needs an unavailable source by its worst case. Returns how
    /// much the log-odds rose because of it (≥ 0).
    pub fn impute(&self, row: &mut FeatureRow, unavailable: &Unavailable) -> f32 {
        if *unavailable == Unavailable::default() {
            return 0.0;
        }
        let mut raised = 0.0;
        for (i, def) in FEATURES.iter().enumerate() {
            if unavailable.affects(def.needs) {
                let before = self.weights[i] * row[i];
                row[i] = self.worst[i];
                raised += self.weights[i] * row[i] - before;
            }
        }
        raised.max(0.0)
    }

    /// Log-odds of attack for a (possibly imputed) row.
    pub fn logit(&self, row: &FeatureRow) -> f32 {
        self.intercept
            + self
                .weights
                .iter()
                .zip(row)
                .map(|(w, x)| w * x)
                .sum::<f32>()
    }

    /// Attack probability for a row.
    pub fn probability(&self, row: &FeatureRow) -> f64 {
        sigmoid(f64::from(self.logit(row)))
    }

    /// Trust score for a row.
    pub fn trust(&self, row: &FeatureRow) -> TrustScore {
        TrustScore::from_attack_probability(self.probability(row))
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

    fn model(weights: &[(F, f64)], intercept: f64) -> LinearModel {
        let mut w = vec![0.0; N_FEATURES];
        for (f, v) in weights {
            w[*f as usize] = *v;
        }
        LinearModel::from_artifact(&Artifact {
            format_version: 1,
            model_version: "t".into(),
            kind: ModelKind::Rules,
            schema: FeatureSchema::current(),
            weights: w,
            intercept,
            metrics: serde_json::Value::Null,
            training: serde_json::Value::Null,
            card: serde_json::Value::Null,
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
    fn imputation_takes_the_worst_case_for_the_missing_source_only() {
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
        let raised = m.impute(
            &mut row,
            &Unavailable {
                geo: true,
                ..Default::default()
            },
        );
        assert_eq!(row[F::GeoImpossibleTravel as usize], 1.0);
        assert_eq!(row[F::GeoHomeDistanceLog as usize], 10.0);
        assert_eq!(
            row[F::NetworkTor as usize],
            0.0,
            "reputation is available: untouched"
        );
        assert!((raised - 4.0).abs() < 1e-6, "{raised}");
        assert!((m.logit(&row) - before - 4.0).abs() < 1e-6);
        // Store unavailable: the trusted-device credit is removed (worst case 0 for a negative weight).
        let raised = m.impute(
            &mut row,
            &Unavailable {
                store: true,
                ..Default::default()
            },
        );
        assert_eq!(row[F::DeviceTrusted as usize], 0.0);
        assert!(raised >= 1.0 - 1e-6);
    }

    #[test]
    fn trust_points_of_known_changes() {
        // From logit 0 (trust 50), removing +2 log-odds gives σ(−2) → trust 88.08: 38.08 points.
        assert!((trust_points(0.0, 2.0) - 38.079_7).abs() < 1e-3);
        assert_eq!(trust_points(1.0, 0.0), 0.0);
        assert!(trust_points(0.0, -1.0) < 0.0);
    }
}
