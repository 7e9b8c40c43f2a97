//! [`LinearModel`]: the runtime form of every artifact — log-odds of attack as a weighted sum of
//! features — with fail-secure imputation and per-feature contributions for explanations.

use crate::domain::{Absence, Source, TrustScore};
use crate::features::schema::Direction;
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
    /// Per feature: its neutral value (the artifact's, 0 for features that lower risk).
    neutral: [f32; N_FEATURES],
}

/// How much imputing each source raised the log-odds, indexed by `Source as usize`.
pub type Raised = [f32; Source::ALL.len()];

impl LinearModel {
    /// Builds the runtime model from a checked artifact.
    pub fn from_artifact(art: &Artifact) -> LinearModel {
        let mut weights = [0f32; N_FEATURES];
        let mut worst = [0f32; N_FEATURES];
        let mut neutral = [0f32; N_FEATURES];
        for (i, (w, def)) in art.weights.iter().zip(FEATURES).enumerate() {
            weights[i] = *w as f32;
            worst[i] = if *w > 0.0 { def.max } else { 0.0 };
            if def.direction != Direction::Trust {
                let n = art.neutral.get(i).copied().unwrap_or(0.0) as f32;
                neutral[i] = n.clamp(0.0, def.max);
            }
        }
        LinearModel {
            version: art.model_version.clone(),
            kind: art.kind,
            weights,
            intercept: art.intercept as f32,
            worst,
            neutral,
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

    /// Replaces every feature that needs a missing source, by the kind of absence
    /// ([`Absence`]): the worst case when the client left the source out, the neutral value
    /// when the deployment lacks it or it failed. A feature that needs several missing sources
    /// is charged to the first in [`Source::ALL`] order. Returns how much each source moved
    /// the log-odds.
    pub fn impute(&self, row: &mut FeatureRow, unavailable: &Unavailable) -> Raised {
        let mut raised = [0f32; Source::ALL.len()];
        if unavailable.is_empty() {
            return raised;
        }
        for (i, def) in FEATURES.iter().enumerate() {
            if let Some((source, why)) = unavailable.affecting(def.needs) {
                let before = self.weights[i] * row[i];
                row[i] = match why {
                    Absence::ClientOmitted => self.worst[i],
                    Absence::ByDesign | Absence::Failed => self.neutral[i],
                };
                raised[source as usize] += self.weights[i] * row[i] - before;
            }
        }
        raised
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
            neutral: Vec::new(),
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
        let m = LinearModel::from_artifact(&Artifact {
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
    fn trust_points_of_known_changes() {
        // From logit 0 (trust 50), removing +2 log-odds gives σ(−2) → trust 88.08: 38.08 points.
        assert!((trust_points(0.0, 2.0) - 38.079_7).abs() < 1e-3);
        assert_eq!(trust_points(1.0, 0.0), 0.0);
        assert!(trust_points(0.0, -1.0) < 0.0);
    }
}
