//! Fitting: standardise the training rows, fit an L2-regularised logistic regression (linfa-logistic's
//! fit, run by [`super::lbfgs`]),
//! and fold the standardisation back into raw-scale weights so the runtime model needs no
//! scaler. A constant column gets weight 0.

use ndarray::Array2;

use super::TrainError;
use crate::features::{FEATURES, FeatureRow, N_FEATURES};

/// L2 penalty used by `tessera train`.
pub const ALPHA: f64 = 1.0;
/// Optimiser iterations.
pub const MAX_ITERATIONS: u64 = 400;

/// Raw-scale logistic weights: log-odds of attack = `intercept + Σ weights[i] · x[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// One weight per feature.
    pub weights: Vec<f64>,
    /// Intercept.
    pub intercept: f64,
}

/// Fits on `rows` with labels `y` (true = attack).
pub fn fit_logistic(rows: &[FeatureRow], y: &[bool]) -> Result<Fitted, TrainError> {
    let n = rows.len();
    if n < 20 {
        return Err(TrainError::Data(format!(
            "{n} training rows; need at least 20"
        )));
    }
    let positives = y.iter().filter(|b| **b).count();
    if positives == 0 || positives == n {
        return Err(TrainError::Data("training rows hold only one class".into()));
    }
    let mut mean = [0f64; N_FEATURES];
    let mut sd = [0f64; N_FEATURES];
    for r in rows {
        for (m, x) in mean.iter_mut().zip(r) {
            *m += f64::from(*x);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    for r in rows {
        for i in 0..N_FEATURES {
            sd[i] += (f64::from(r[i]) - mean[i]).powi(2);
        }
    }
    sd.iter_mut().for_each(|s| *s = (*s / n as f64).sqrt());
    let mut x = Array2::<f64>::zeros((n, N_FEATURES));
    for (i, r) in rows.iter().enumerate() {
        for j in 0..N_FEATURES {
            x[[i, j]] = if sd[j] > 1e-9 {
                (f64::from(r[j]) - mean[j]) / sd[j]
            } else {
                0.0
            };
        }
    }
    // Sign-constrained fit (active set): fit, drop every feature whose weight points against
    // its declared direction, refit without them, until none does.
    let mut active: Vec<bool> = sd.iter().map(|s| *s > 1e-9).collect();
    let mut weights = vec![0.0; N_FEATURES];
    let mut intercept = 0.0;
    for _round in 0..=N_FEATURES {
        let mut xa = x.clone();
        for (j, on) in active.iter().enumerate() {
            if !on {
                xa.column_mut(j).fill(0.0);
            }
        }
        // linfa-logistic's fit, bit for bit (see `super::lbfgs`); `y` holds both classes.
        let model =
            super::lbfgs::fit(xa.view(), y, ALPHA, MAX_ITERATIONS).map_err(TrainError::Fit)?;
        let params = &model.weights;
        weights = vec![0.0; N_FEATURES];
        intercept = model.intercept;
        for j in 0..N_FEATURES {
            if active[j] {
                let w = params[j] / sd[j];
                weights[j] = w;
                intercept -= w * mean[j];
            }
        }
        let mut violated = false;
        for (j, def) in FEATURES.iter().enumerate() {
            if active[j] && !def.direction.allows(weights[j]) {
                active[j] = false;
                violated = true;
            }
        }
        if !violated {
            break;
        }
    }
    if weights.iter().any(|w| !w.is_finite()) || !intercept.is_finite() {
        return Err(TrainError::Fit(
            "optimiser returned non-finite weights".into(),
        ));
    }
    Ok(Fitted { weights, intercept })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::F;

    #[test]
    fn recovers_the_direction_of_a_known_signal() {
        // Attack iff Tor: the fitted weight on network.tor must be strongly positive and the
        // others ~0; the probabilities must separate the classes.
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for i in 0..200 {
            let mut r = [0f32; N_FEATURES];
            let attack = i % 4 == 0;
            r[F::NetworkTor as usize] = if attack { 1.0 } else { 0.0 };
            r[F::TypingKeysLog as usize] = (i % 7) as f32; // noise
            rows.push(r);
            y.push(attack);
        }
        let f = fit_logistic(&rows, &y).expect("fit");
        assert!(
            f.weights[F::NetworkTor as usize] > 2.0,
            "{:?}",
            f.weights[F::NetworkTor as usize]
        );
        assert!(f.weights[F::TypingKeysLog as usize].abs() < 0.2);
        let logit = |tor: f64| f.intercept + f.weights[F::NetworkTor as usize] * tor;
        assert!(logit(1.0) > 0.0 && logit(0.0) < 0.0);
        assert_eq!(
            f.weights[F::GeoNewCity as usize],
            0.0,
            "constant column gets weight 0"
        );
    }

    #[test]
    fn weights_respect_feature_directions() {
        // In this data a shared device (accounts_24h) goes with *genuine* users; the fit must
        // not turn that into a trust bonus, since the signal is client-controlled.
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for i in 0..300 {
            let mut r = [0f32; N_FEATURES];
            let attack = i % 3 == 0;
            r[F::NetworkTor as usize] = if attack && i % 2 == 0 { 1.0 } else { 0.0 };
            r[F::DeviceAccounts24hLog as usize] = if attack { 0.0 } else { (i % 4) as f32 };
            rows.push(r);
            y.push(attack);
        }
        let f = fit_logistic(&rows, &y).expect("fit");
        for (w, def) in f.weights.iter().zip(FEATURES) {
            assert!(def.direction.allows(*w), "{} = {w}", def.name);
        }
        assert_eq!(f.weights[F::DeviceAccounts24hLog as usize], 0.0);
        assert!(f.weights[F::NetworkTor as usize] > 0.5);
    }

    #[test]
    fn refuses_one_class_data() {
        let rows = vec![[0f32; N_FEATURES]; 30];
        assert!(matches!(
            fit_logistic(&rows, &[false; 30]),
            Err(TrainError::Data(_))
        ));
    }
}
