//! [`Calibration`]: the map from a model's raw score to an attack probability, so that trust 80
//! means about one attack in five among requests scored 80 (at the training data's attack rate).
//! Fitting lives in `train::calibrate`; this module only applies a fitted map and checks it.
//!
//! - `sigmoid`: the raw score is already log-odds (logistic regression, boosting): p = σ(s).
//! - `platt`: p = σ(a·s + b) (Platt, "Probabilistic outputs for support vector machines", 1999).
//! - `isotonic`: a non-decreasing step function fitted by pool-adjacent-violators (Zadrozny &
//!   Elkan, KDD 2002), interpolated linearly between its knots and clamped outside them.
//!
//! Every map is non-decreasing in the raw score, so a calibrated model keeps its feature
//! directions. An isotonic map's probabilities are clamped to [[`P_MIN`], 1 − `P_MIN`] so its log-odds stay
//! finite.

use serde::{Deserialize, Serialize};

/// Smallest probability a calibration returns (and 1 − it the largest).
pub const P_MIN: f64 = 1e-4;
/// Most knots of an isotonic map.
pub const MAX_KNOTS: usize = 4_096;

/// A fitted raw-score → probability map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Calibration {
    /// p = σ(s).
    #[default]
    Sigmoid,
    /// p = σ(a·s + b), a > 0.
    Platt {
        /// Slope (positive).
        a: f64,
        /// Offset.
        b: f64,
    },
    /// Piecewise-linear through `(x[i], y[i])`, `x` strictly increasing, `y` non-decreasing.
    Isotonic {
        /// Raw-score knots.
        x: Vec<f64>,
        /// Probability at each knot.
        y: Vec<f64>,
    },
}

impl Calibration {
    /// Attack probability for raw score `s`.
    pub fn probability(&self, s: f64) -> f64 {
        match self {
            Calibration::Sigmoid | Calibration::Platt { .. } => sigmoid(self.logit(s)),
            Calibration::Isotonic { x, y } => {
                let p = interpolate(x, y, s);
                if p.is_nan() {
                    1.0 - P_MIN
                } else {
                    p.clamp(P_MIN, 1.0 - P_MIN)
                }
            }
        }
    }

    /// Log-odds of attack for raw score `s` (finite for a finite `s`).
    pub fn logit(&self, s: f64) -> f64 {
        match self {
            Calibration::Sigmoid => s,
            Calibration::Platt { a, b } => a * s + b,
            Calibration::Isotonic { .. } => logit(self.probability(s)),
        }
    }

    /// Short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Calibration::Sigmoid => "none (sigmoid)",
            Calibration::Platt { .. } => "platt",
            Calibration::Isotonic { .. } => "isotonic",
        }
    }

    /// Checks the parameters; the error names the field.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Calibration::Sigmoid => Ok(()),
            Calibration::Platt { a, b } => {
                if !(a.is_finite() && *a > 0.0) {
                    return Err("calibration.a: must be a positive finite number".into());
                }
                if !b.is_finite() {
                    return Err("calibration.b: not a finite number".into());
                }
                Ok(())
            }
            Calibration::Isotonic { x, y } => {
                if x.is_empty() || x.len() != y.len() || x.len() > MAX_KNOTS {
                    return Err(format!(
                        "calibration.x, calibration.y: need 1–{MAX_KNOTS} knots of equal length"
                    ));
                }
                if x.iter().any(|v| !v.is_finite()) || x.windows(2).any(|w| w[1] <= w[0]) {
                    return Err("calibration.x: must be finite and strictly increasing".into());
                }
                if y.iter().any(|v| !(0.0..=1.0).contains(v)) || y.windows(2).any(|w| w[1] < w[0]) {
                    return Err("calibration.y: must lie in [0, 1] and never decrease".into());
                }
                Ok(())
            }
        }
    }
}

/// The logistic function.
pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Log-odds of `p`.
pub fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn interpolate(x: &[f64], y: &[f64], s: f64) -> f64 {
    let (Some(first), Some(last)) = (x.first(), x.last()) else {
        return 1.0;
    };
    if s <= *first {
        return y[0];
    }
    if s >= *last {
        return y[y.len() - 1];
    }
    // x is strictly increasing: the first knot above s has a predecessor.
    let hi = x.partition_point(|v| *v <= s);
    let lo = hi - 1;
    let t = (s - x[lo]) / (x[hi] - x[lo]);
    y[lo] + t * (y[hi] - y[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_known_points() {
        assert!((Calibration::Sigmoid.probability(0.0) - 0.5).abs() < 1e-12);
        let p = Calibration::Platt { a: 2.0, b: -1.0 };
        assert!((p.probability(0.5) - 0.5).abs() < 1e-12);
        assert!((p.logit(1.0) - 1.0).abs() < 1e-12);
        let iso = Calibration::Isotonic {
            x: vec![0.0, 1.0, 2.0],
            y: vec![0.1, 0.2, 0.6],
        };
        iso.check().expect("valid");
        assert!((iso.probability(1.5) - 0.4).abs() < 1e-12);
        assert!((iso.probability(-3.0) - 0.1).abs() < 1e-12);
        assert!((iso.probability(9.0) - 0.6).abs() < 1e-12);
        let flat = Calibration::Isotonic {
            x: vec![0.0],
            y: vec![1.0],
        };
        assert!((flat.probability(3.0) - (1.0 - P_MIN)).abs() < 1e-12);
        assert!(flat.logit(3.0).is_finite());
    }

    #[test]
    fn refuses_maps_that_are_not_monotone() {
        let bad = Calibration::Isotonic {
            x: vec![0.0, 1.0],
            y: vec![0.5, 0.2],
        };
        assert!(
            bad.check()
                .expect_err("decreasing")
                .contains("calibration.y")
        );
        let bad = Calibration::Platt { a: -1.0, b: 0.0 };
        assert!(
            bad.check()
                .expect_err("negative slope")
                .contains("calibration.a")
        );
        let bad = Calibration::Isotonic {
            x: vec![1.0, 1.0],
            y: vec![0.1, 0.2],
        };
        assert!(
            bad.check()
                .expect_err("repeated knot")
                .contains("calibration.x")
        );
    }
}
