//! Fitting the anomaly family ([`crate::model::anomaly`]) for tenants with few labels: a
//! Gaussian mixture fitted with linfa-clustering on the training rows *without their labels*
//! (attacks are a few per cent of traffic, and a tenant without labels cannot remove them), on
//! standardised features, then read one-sidedly at scoring. The labels are used only afterwards,
//! by calibration on the validation split (a few hundred verified outcomes suffice for Platt
//! scaling's two parameters).

use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_clustering::GaussianMixtureModel;
use ndarray::Array2;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256Plus;

use super::TrainError;
use crate::features::{FeatureRow, N_FEATURES};
use crate::model::anomaly::{Anomaly, Component, MIN_SD};

/// Mixture components.
pub const COMPONENTS: usize = 4;
/// Most rows the mixture is fitted on (a seeded sample of the training split).
pub const MAX_ROWS: usize = 20_000;
/// Ridge added to every covariance diagonal (standardised units).
pub const REG_COVARIANCE: f64 = 1e-3;
/// EM iterations at most.
pub const MAX_ITERATIONS: u64 = 200;

/// Fits the mixture on `rows` (labels are not used). Returns it and its parameters.
pub fn fit_anomaly(
    rows: &[FeatureRow],
    _labels: &[bool],
    seed: u64,
) -> Result<(Anomaly, serde_json::Value), TrainError> {
    if rows.len() < 10 * COMPONENTS {
        return Err(TrainError::Data(format!(
            "anomaly: {} training rows; need at least {}",
            rows.len(),
            10 * COMPONENTS
        )));
    }
    let mut rng = Xoshiro256Plus::seed_from_u64(seed);
    let mut pick: Vec<usize> = (0..rows.len()).collect();
    if pick.len() > MAX_ROWS {
        pick.shuffle(&mut rng);
        pick.truncate(MAX_ROWS);
        pick.sort_unstable();
    }
    let n = pick.len();
    let mut mean = [0f64; N_FEATURES];
    let mut sd = [0f64; N_FEATURES];
    for &i in &pick {
        for (m, x) in mean.iter_mut().zip(&rows[i]) {
            *m += f64::from(*x);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    for &i in &pick {
        for j in 0..N_FEATURES {
            sd[j] += (f64::from(rows[i][j]) - mean[j]).powi(2);
        }
    }
    sd.iter_mut()
        .for_each(|s| *s = (*s / n as f64).sqrt().max(MIN_SD));
    let mut x = Array2::<f64>::zeros((n, N_FEATURES));
    for (k, &i) in pick.iter().enumerate() {
        for j in 0..N_FEATURES {
            x[[k, j]] = (f64::from(rows[i][j]) - mean[j]) / sd[j];
        }
    }
    let data = DatasetBase::from(x);
    let gmm = GaussianMixtureModel::params(COMPONENTS)
        .with_rng(Xoshiro256Plus::seed_from_u64(seed))
        .reg_covariance(REG_COVARIANCE)
        .max_n_iterations(MAX_ITERATIONS)
        .n_runs(1)
        .fit(&data)
        .map_err(|e| TrainError::Fit(format!("anomaly: {e}")))?;
    let (w, mu, cov) = (gmm.weights(), gmm.means(), gmm.covariances());
    let mut components = Vec::with_capacity(COMPONENTS);
    for k in 0..w.len() {
        let weight = w[k];
        if !(weight.is_finite() && weight > 0.0) {
            continue;
        }
        let m: Vec<f64> = (0..N_FEATURES)
            .map(|j| mu[[k, j]] * sd[j] + mean[j])
            .collect();
        let s: Vec<f64> = (0..N_FEATURES)
            .map(|j| (cov[[k, j, j]].max(0.0).sqrt() * sd[j]).max(MIN_SD))
            .collect();
        if m.iter().chain(&s).any(|v| !v.is_finite()) {
            return Err(TrainError::Fit(
                "anomaly: the mixture has non-finite parameters".into(),
            ));
        }
        components.push(Component {
            weight: weight.min(1.0),
            mean: m,
            sd: s,
        });
    }
    let a = Anomaly { components };
    a.check().map_err(|e| TrainError::Fit(format!("anomaly: {e}")))?;
    let params = serde_json::json!({
        "library": "linfa-clustering 0.8 (GaussianMixtureModel, full covariance; diagonal read one-sidedly at scoring)",
        "components": COMPONENTS,
        "rows": n,
        "reg_covariance": REG_COVARIANCE,
        "max_iterations": MAX_ITERATIONS,
        "labels_used_for_fit": false,
    });
    Ok((a, params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::F;

    #[test]
    fn an_unusual_risk_signal_scores_higher_than_usual_traffic() {
        // Usual traffic: a few attempts per IP, trusted device half the time; never Tor.
        let mut rows = Vec::new();
        for i in 0..400 {
            let mut r = [0f32; N_FEATURES];
            r[F::NetworkIpAttempts1hLog as usize] = (i % 5) as f32 * 0.3;
            r[F::DeviceTrusted as usize] = (i % 2) as f32;
            rows.push(r);
        }
        let (a, _) = fit_anomaly(&rows, &[], 3).expect("fit");
        let mut usual = [0f32; N_FEATURES];
        usual[F::DeviceTrusted as usize] = 1.0;
        let mut tor = usual;
        tor[F::NetworkTor as usize] = 1.0;
        assert!(a.raw(&tor) > a.raw(&usual) + 10.0);
        let (b, _) = fit_anomaly(&rows, &[], 3).expect("fit");
        assert_eq!(a, b, "same seed, same mixture");
    }
}
