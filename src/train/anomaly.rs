//! Fitting the anomaly family ([`crate::model::anomaly`]) for tenants with few labels: a
//! Gaussian mixture with diagonal covariances fitted by expectation–maximisation on the
//! training rows *without their labels* (attacks are a few per cent of traffic, and a tenant
//! without labels cannot remove them), on standardised features, then read one-sidedly at
//! scoring. The labels are used only afterwards, by calibration on the validation split (a few
//! hundred verified outcomes suffice for Platt scaling's two parameters).
//!
//! Why not linfa-clustering's `GaussianMixtureModel`: version 0.8 fits full covariances and,
//! on these rows (many identical genuine requests, rare binary signals), its responsibilities
//! become NaN ("Undefined ordering between a tested pair of values") whatever the start (k-means
//! or random), ridge (up to 1e-2) or clipping. The model served is diagonal anyway, so the EM
//! here is the diagonal one, in the log domain (log-sum-exp), from a seeded random start —
//! deterministic for a seed (Dempster, Laird & Rubin 1977; Bishop, PRML §9.2).

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::TrainError;
use crate::features::{FeatureRow, N_FEATURES};
use crate::model::anomaly::{Anomaly, Component, MIN_SD};

/// Mixture components.
pub const COMPONENTS: usize = 4;
/// Most rows the mixture is fitted on (a seeded sample of the training split).
pub const MAX_ROWS: usize = 20_000;
/// Smallest variance of a component (standardised units).
pub const MIN_VARIANCE: f64 = 1e-2;
/// Standardised values are clipped to ±this before fitting.
pub const CLIP: f64 = 8.0;
/// EM iterations at most.
pub const MAX_ITERATIONS: usize = 200;
/// EM stops when the mean log-likelihood improves by less than this.
pub const TOLERANCE: f64 = 1e-6;

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
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pick: Vec<usize> = (0..rows.len()).collect();
    if pick.len() > MAX_ROWS {
        pick.shuffle(&mut rng);
        pick.truncate(MAX_ROWS);
        pick.sort_unstable();
    }
    let n = pick.len();
    let d = N_FEATURES;
    let mut mean = [0f64; N_FEATURES];
    let mut sd = [0f64; N_FEATURES];
    for &i in &pick {
        for (m, x) in mean.iter_mut().zip(&rows[i]) {
            *m += f64::from(*x);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    for &i in &pick {
        for j in 0..d {
            sd[j] += (f64::from(rows[i][j]) - mean[j]).powi(2);
        }
    }
    sd.iter_mut()
        .for_each(|s| *s = (*s / n as f64).sqrt().max(MIN_SD));
    let x: Vec<[f64; N_FEATURES]> = pick
        .iter()
        .map(|&i| {
            let mut z = [0f64; N_FEATURES];
            for j in 0..d {
                z[j] = ((f64::from(rows[i][j]) - mean[j]) / sd[j]).clamp(-CLIP, CLIP);
            }
            z
        })
        .collect();
    // Seeded random start: each row's responsibilities drawn at random, then an M step.
    let k = COMPONENTS;
    let mut resp: Vec<[f64; COMPONENTS]> = (0..n)
        .map(|_| {
            let mut r = [0f64; COMPONENTS];
            let mut s = 0.0;
            for v in r.iter_mut() {
                *v = rng.gen_range(0.1..1.0);
                s += *v;
            }
            r.iter_mut().for_each(|v| *v /= s);
            r
        })
        .collect();
    let mut w = [0f64; COMPONENTS];
    let mut mu = vec![[0f64; N_FEATURES]; k];
    let mut var = vec![[1f64; N_FEATURES]; k];
    let mut last = f64::NEG_INFINITY;
    let mut iterations = 0;
    for it in 0..MAX_ITERATIONS {
        iterations = it + 1;
        // M step.
        for c in 0..k {
            let nk: f64 = resp.iter().map(|r| r[c]).sum::<f64>().max(1e-9);
            w[c] = nk / n as f64;
            let mut m = [0f64; N_FEATURES];
            for (r, z) in resp.iter().zip(&x) {
                for j in 0..d {
                    m[j] += r[c] * z[j];
                }
            }
            m.iter_mut().for_each(|v| *v /= nk);
            let mut v = [0f64; N_FEATURES];
            for (r, z) in resp.iter().zip(&x) {
                for j in 0..d {
                    v[j] += r[c] * (z[j] - m[j]).powi(2);
                }
            }
            v.iter_mut().for_each(|s| *s = (*s / nk).max(MIN_VARIANCE));
            mu[c] = m;
            var[c] = v;
        }
        // E step, log domain.
        let consts: Vec<f64> = (0..k)
            .map(|c| w[c].max(1e-300).ln() - 0.5 * var[c].iter().map(|v| v.ln()).sum::<f64>())
            .collect();
        let mut total = 0.0;
        for (r, z) in resp.iter_mut().zip(&x) {
            let mut lp = [0f64; COMPONENTS];
            for c in 0..k {
                let q: f64 = (0..d).map(|j| (z[j] - mu[c][j]).powi(2) / var[c][j]).sum();
                lp[c] = consts[c] - 0.5 * q;
            }
            let m = lp.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = lp.iter().map(|l| (l - m).exp()).sum();
            let lse = m + s.ln();
            total += lse;
            for c in 0..k {
                r[c] = (lp[c] - lse).exp();
            }
        }
        let mean_ll = total / n as f64;
        if !mean_ll.is_finite() {
            return Err(TrainError::Fit(
                "anomaly: the mixture's likelihood is not finite".into(),
            ));
        }
        if mean_ll - last < TOLERANCE {
            break;
        }
        last = mean_ll;
    }
    let mut components = Vec::with_capacity(k);
    for c in 0..k {
        if w[c] < 1e-6 {
            continue;
        }
        let m: Vec<f64> = (0..d).map(|j| mu[c][j] * sd[j] + mean[j]).collect();
        let s: Vec<f64> = (0..d)
            .map(|j| (var[c][j].sqrt() * sd[j]).max(MIN_SD))
            .collect();
        components.push(Component {
            weight: w[c].min(1.0),
            mean: m,
            sd: s,
        });
    }
    let a = Anomaly { components };
    a.check()
        .map_err(|e| TrainError::Fit(format!("anomaly: {e}")))?;
    let params = serde_json::json!({
        "method": "diagonal Gaussian mixture, EM from a seeded random start, read one-sidedly at scoring",
        "components": COMPONENTS,
        "rows": n,
        "iterations": iterations,
        "mean_log_likelihood": last,
        "min_variance": MIN_VARIANCE,
        "clip": CLIP,
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
