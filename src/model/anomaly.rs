//! [`Anomaly`]: the unsupervised model for tenants with few labels — a Gaussian mixture of the
//! genuine requests (fitted with linfa-clustering in `train::anomaly`), read one-sidedly so it
//! keeps every feature's direction.
//!
//! A plain mixture density calls a request odd when a risk signal is unusually *low* too (no
//! failed attempts on an account that usually has some) and would let an unusually trusted
//! device raise risk. Here each component measures only deviations towards risk: for a feature
//! that may only raise risk the deviation is `max(0, x − μ)`, for one that may only lower it
//! `max(0, μ − x)`, and for the channel one-hots (either way) `|x − μ|`, each over the
//! component's standard deviation. The raw score is the negative log of the mixture's
//! likelihood of those deviations (diagonal covariances):
//!
//! `s(x) = −log Σ_k π_k · exp(−½ Σ_i d_ki² − Σ_i ln σ_ki)`
//!
//! which never falls when a risk feature rises or a trust feature falls. Per-feature
//! contributions split `s(x) − s₀` (s₀: the score with every deviation zero) in proportion to
//! each feature's responsibility-weighted `½ d²`, so they add up exactly.
//!
//! Never allocates when scoring.

use serde::{Deserialize, Serialize};

use crate::features::schema::Direction;
use crate::features::{FEATURES, FeatureRow, N_FEATURES};

/// Most mixture components.
pub const MAX_COMPONENTS: usize = 16;
/// Smallest standard deviation used (features that never vary in the genuine data).
pub const MIN_SD: f64 = 0.05;

/// One mixture component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// Mixing weight, (0, 1].
    pub weight: f64,
    /// Mean per feature.
    pub mean: Vec<f64>,
    /// Standard deviation per feature, ≥ [`MIN_SD`].
    pub sd: Vec<f64>,
}

/// A fitted one-sided mixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anomaly {
    /// The components.
    pub components: Vec<Component>,
}

impl Anomaly {
    /// Checks sizes and ranges; the error names the field.
    pub fn check(&self) -> Result<(), String> {
        let k = self.components.len();
        if k == 0 || k > MAX_COMPONENTS {
            return Err(format!("anomaly.components: {k} (1–{MAX_COMPONENTS})"));
        }
        for (j, c) in self.components.iter().enumerate() {
            if !(c.weight.is_finite() && c.weight > 0.0 && c.weight <= 1.0) {
                return Err(format!("anomaly.components[{j}].weight: outside (0, 1]"));
            }
            if c.mean.len() != N_FEATURES || c.sd.len() != N_FEATURES {
                return Err(format!(
                    "anomaly.components[{j}]: mean and sd need {N_FEATURES} values"
                ));
            }
            if c.mean.iter().any(|m| !m.is_finite()) {
                return Err(format!("anomaly.components[{j}].mean: not finite"));
            }
            if c.sd.iter().any(|s| !(s.is_finite() && *s >= MIN_SD)) {
                return Err(format!(
                    "anomaly.components[{j}].sd: must be finite and at least {MIN_SD}"
                ));
            }
        }
        Ok(())
    }

    fn deviation(def_dir: Direction, x: f64, mean: f64) -> f64 {
        match def_dir {
            Direction::Risk => (x - mean).max(0.0),
            Direction::Trust => (mean - x).max(0.0),
            Direction::Either => (x - mean).abs(),
        }
    }

    /// Log-likelihood terms per component: `ln π_k − Σ ln σ_ki` (the part that does not depend
    /// on the row).
    fn offsets(&self) -> impl Iterator<Item = f64> + Clone + '_ {
        self.components
            .iter()
            .map(|c| c.weight.ln() - c.sd.iter().map(|s| s.ln()).sum::<f64>())
    }

    /// Raw score with every deviation zero.
    pub fn expected(&self) -> f64 {
        -log_sum_exp(self.offsets())
    }

    /// Raw score of a row.
    pub fn raw(&self, row: &FeatureRow) -> f64 {
        let mut quad = [0f64; MAX_COMPONENTS];
        self.quadratics(row, &mut quad);
        -log_sum_exp(self.offsets().zip(quad.iter()).map(|(o, q)| o - q))
    }

    fn quadratics(&self, row: &FeatureRow, quad: &mut [f64; MAX_COMPONENTS]) {
        for (q, c) in quad.iter_mut().zip(&self.components) {
            *q = 0.0;
            for (i, def) in FEATURES.iter().enumerate() {
                let d = Self::deviation(def.direction, f64::from(row[i]), c.mean[i]) / c.sd[i];
                *q += 0.5 * d * d;
            }
        }
    }

    /// Raw score of `row` with per-feature contributions summing to `raw − expected()`.
    pub fn terms(&self, row: &FeatureRow, terms: &mut [f32; N_FEATURES]) -> f64 {
        let mut quad = [0f64; MAX_COMPONENTS];
        self.quadratics(row, &mut quad);
        let mut ll = [f64::NEG_INFINITY; MAX_COMPONENTS];
        for ((l, o), q) in ll.iter_mut().zip(self.offsets()).zip(quad) {
            *l = o - q;
        }
        let k = self.components.len();
        let total = log_sum_exp(ll[..k].iter().copied());
        let raw = -total;
        let mut share = [0f64; N_FEATURES];
        for (j, c) in self.components.iter().enumerate() {
            let r = (ll[j] - total).exp();
            for (i, def) in FEATURES.iter().enumerate() {
                let d = Self::deviation(def.direction, f64::from(row[i]), c.mean[i]) / c.sd[i];
                share[i] += r * 0.5 * d * d;
            }
        }
        let sum: f64 = share.iter().sum();
        let gap = raw - self.expected();
        for (t, s) in terms.iter_mut().zip(share) {
            *t = if sum > 1e-12 {
                (gap * s / sum) as f32
            } else {
                0.0
            };
        }
        raw
    }
}

fn log_sum_exp(xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = xs.clone().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + xs.map(|x| (x - m).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::F;

    fn model() -> Anomaly {
        let mut a = Component {
            weight: 0.5,
            mean: vec![0.0; N_FEATURES],
            sd: vec![1.0; N_FEATURES],
        };
        let mut b = a.clone();
        a.mean[F::DeviceTrusted as usize] = 1.0;
        b.mean[F::NetworkIpAttempts1hLog as usize] = 1.0;
        Anomaly {
            components: vec![a, b],
        }
    }

    #[test]
    fn rises_only_towards_risk() {
        let m = model();
        m.check().expect("valid");
        let base = [0f32; N_FEATURES];
        let s0 = m.raw(&base);
        let mut more = base;
        more[F::NetworkTor as usize] = 1.0;
        assert!(m.raw(&more) > s0);
        // A risk feature below its mean, a trust feature at or above it: no deviation in any
        // component, the lowest score there is.
        let mut calm = base;
        calm[F::DeviceTrusted as usize] = 1.0;
        assert!((m.raw(&calm) - m.expected()).abs() < 1e-12);
        assert!(m.raw(&calm) < s0, "a trusted device lowers the score");
        let mut terms = [0f32; N_FEATURES];
        let raw = m.terms(&more, &mut terms);
        let sum: f64 = terms.iter().map(|t| f64::from(*t)).sum();
        assert!((m.expected() + sum - raw).abs() < 1e-5, "{sum} {raw}");
        assert!(terms[F::NetworkTor as usize] > 0.0);
    }

    #[test]
    fn refuses_bad_parameters() {
        let mut m = model();
        m.components[0].sd[3] = 0.0;
        assert!(m.check().expect_err("sd").contains("sd"));
        let mut m = model();
        m.components[1].mean.pop();
        assert!(m.check().is_err());
    }
}
