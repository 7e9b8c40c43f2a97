//! Calibration fitting: from raw scores and labels of the validation split (never the training
//! rows the model was fitted on, never the test split it is judged on), fit Platt scaling and an
//! isotonic map, and keep whichever predicts held-out labels best.
//!
//! The choice is made by two-fold cross-fitting inside the validation split (fit on the even
//! rows, score the odd ones, and the reverse; compare mean log loss), and the winner is refitted
//! on the whole split. A family whose raw score is already log-odds also competes uncalibrated.
//!
//! Platt: Newton's method on the log loss with Platt's smoothed targets
//! `(N₊ + 1)/(N₊ + 2)` and `1/(N₋ + 2)` (Platt 1999; Lin, Lin & Weng 2007). Isotonic:
//! pool-adjacent-violators on the scores sorted ascending, with one pseudo-observation of the
//! overall attack rate at each end so no bin claims certainty.

use serde::Serialize;

use crate::model::calibration::{Calibration, sigmoid};

/// Mean log loss of each candidate, measured by two-fold cross-fitting on the validation split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationChoice {
    /// The method kept (`none (sigmoid)`, `platt`, `isotonic`).
    pub chosen: &'static str,
    /// Cross-fitted mean log loss per candidate, in the order tried.
    pub log_loss: Vec<(&'static str, f64)>,
    /// Validation rows used.
    pub rows: usize,
}

/// Fits Platt scaling on `(s, y)`.
pub fn fit_platt(s: &[f64], y: &[bool]) -> Calibration {
    let pos = y.iter().filter(|v| **v).count() as f64;
    let neg = y.len() as f64 - pos;
    let hi = (pos + 1.0) / (pos + 2.0);
    let lo = 1.0 / (neg + 2.0);
    let t: Vec<f64> = y.iter().map(|v| if *v { hi } else { lo }).collect();
    let (mut a, mut b) = (1.0f64, ((pos + 1.0) / (neg + 1.0)).ln());
    let loss = |a: f64, b: f64| -> f64 {
        s.iter()
            .zip(&t)
            .map(|(x, t)| {
                let z = a * x + b;
                // log(1 + e^z) − t·z, stable for large |z|.
                let softplus = if z > 0.0 {
                    z + (-z).exp().ln_1p()
                } else {
                    z.exp().ln_1p()
                };
                softplus - t * z
            })
            .sum()
    };
    let mut f = loss(a, b);
    for _ in 0..100 {
        let (mut g1, mut g2, mut h11, mut h22, mut h21) = (0.0, 0.0, 1e-12, 1e-12, 0.0);
        for (x, t) in s.iter().zip(&t) {
            let p = sigmoid(a * x + b);
            let d = p - t;
            let w = p * (1.0 - p);
            g1 += d * x;
            g2 += d;
            h11 += w * x * x;
            h22 += w;
            h21 += w * x;
        }
        let det = h11 * h22 - h21 * h21;
        if det.abs() < 1e-18 {
            break;
        }
        let da = -(h22 * g1 - h21 * g2) / det;
        let db = -(-h21 * g1 + h11 * g2) / det;
        // Backtracking line search keeps every step a descent.
        let mut step = 1.0;
        let mut improved = false;
        while step > 1e-8 {
            let (na, nb) = (a + step * da, b + step * db);
            let nf = loss(na, nb);
            if nf < f {
                (a, b, f) = (na, nb, nf);
                improved = true;
                break;
            }
            step /= 2.0;
        }
        if !improved || (da.abs() < 1e-9 && db.abs() < 1e-9) {
            break;
        }
    }
    // A non-positive slope would reverse the model's ranking: fall back to a flat-ish map
    // that keeps the order.
    if !(a.is_finite() && a > 0.0 && b.is_finite()) {
        return Calibration::Platt {
            a: 1e-6,
            b: ((pos + 1.0) / (neg + 1.0)).ln(),
        };
    }
    Calibration::Platt { a, b }
}

/// Fits an isotonic map on `(s, y)` by pool-adjacent-violators.
pub fn fit_isotonic(s: &[f64], y: &[bool]) -> Calibration {
    let n = s.len().min(y.len());
    if n == 0 {
        return Calibration::Isotonic {
            x: vec![0.0],
            y: vec![0.5],
        };
    }
    let rate = y.iter().filter(|v| **v).count() as f64 / n as f64;
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| s[a].total_cmp(&s[b]));
    // One group per distinct score: (sum of labels, weight, lowest score, highest score).
    let mut groups: Vec<(f64, f64, f64, f64)> = Vec::new();
    for &i in &idx {
        let v = f64::from(u8::from(y[i]));
        match groups.last_mut() {
            Some(g) if g.3 == s[i] => {
                g.0 += v;
                g.1 += 1.0;
            }
            _ => groups.push((v, 1.0, s[i], s[i])),
        }
    }
    // One pseudo-observation of the overall rate at each end.
    if let Some(g) = groups.first_mut() {
        g.0 += rate;
        g.1 += 1.0;
    }
    if let Some(g) = groups.last_mut() {
        g.0 += rate;
        g.1 += 1.0;
    }
    let mut blocks: Vec<(f64, f64, f64, f64)> = Vec::with_capacity(groups.len());
    for g in groups {
        blocks.push(g);
        pool(&mut blocks);
    }
    let mut xs = Vec::with_capacity(blocks.len());
    let mut ys = Vec::with_capacity(blocks.len());
    for (sum, w, lo, hi) in &blocks {
        xs.push((lo + hi) / 2.0);
        ys.push(sum / w);
    }
    // Running maximum: float noise in the pooled means never makes the map decrease.
    for i in 1..ys.len() {
        ys[i] = ys[i].max(ys[i - 1]);
    }
    thin(&mut xs, &mut ys);
    Calibration::Isotonic { x: xs, y: ys }
}

/// Merges the last blocks while their means decrease.
fn pool(blocks: &mut Vec<(f64, f64, f64, f64)>) {
    while blocks.len() >= 2 {
        let k = blocks.len();
        let (a, b) = (blocks[k - 2], blocks[k - 1]);
        if a.0 / a.1 <= b.0 / b.1 {
            break;
        }
        blocks[k - 2] = (a.0 + b.0, a.1 + b.1, a.2.min(b.2), a.3.max(b.3));
        blocks.pop();
    }
}

/// Keeps at most [`crate::model::calibration::MAX_KNOTS`] knots (every k-th, the last kept).
fn thin(xs: &mut Vec<f64>, ys: &mut Vec<f64>) {
    let max = crate::model::calibration::MAX_KNOTS;
    if xs.len() <= max {
        return;
    }
    let step = xs.len().div_ceil(max - 1);
    let last = (xs[xs.len() - 1], ys[ys.len() - 1]);
    let keep: Vec<(f64, f64)> = xs
        .iter()
        .zip(ys.iter())
        .step_by(step)
        .map(|(a, b)| (*a, *b))
        .chain(std::iter::once(last))
        .collect();
    xs.clear();
    ys.clear();
    for (a, b) in keep {
        if xs.last().is_none_or(|l| a > *l) {
            xs.push(a);
            ys.push(b);
        }
    }
}

fn mean_log_loss(cal: &Calibration, s: &[f64], y: &[bool]) -> f64 {
    s.iter()
        .zip(y)
        .map(|(x, v)| {
            let p = cal.probability(*x).clamp(1e-6, 1.0 - 1e-6);
            if *v { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum::<f64>()
        / s.len().max(1) as f64
}

/// Chooses and fits the calibration on the validation split. `raw_is_log_odds` lets the
/// uncalibrated sigmoid compete.
pub fn choose(s: &[f64], y: &[bool], raw_is_log_odds: bool) -> (Calibration, CalibrationChoice) {
    let halves = |k: usize| -> (Vec<f64>, Vec<bool>) {
        s.iter()
            .zip(y)
            .enumerate()
            .filter(|(i, _)| i % 2 == k)
            .map(|(_, (a, b))| (*a, *b))
            .unzip()
    };
    let (s0, y0) = halves(0);
    let (s1, y1) = halves(1);
    let cross = |fit: &dyn Fn(&[f64], &[bool]) -> Calibration| {
        let a = fit(&s0, &y0);
        let b = fit(&s1, &y1);
        (mean_log_loss(&a, &s1, &y1) * s1.len() as f64
            + mean_log_loss(&b, &s0, &y0) * s0.len() as f64)
            / s.len().max(1) as f64
    };
    let mut tried: Vec<(&'static str, f64)> = Vec::new();
    if raw_is_log_odds {
        tried.push((
            Calibration::Sigmoid.name(),
            mean_log_loss(&Calibration::Sigmoid, s, y),
        ));
    }
    tried.push(("platt", cross(&fit_platt)));
    tried.push(("isotonic", cross(&fit_isotonic)));
    let best = tried
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|t| t.0)
        .unwrap_or("platt");
    let cal = match best {
        "isotonic" => fit_isotonic(s, y),
        "platt" => fit_platt(s, y),
        _ => Calibration::Sigmoid,
    };
    (
        cal,
        CalibrationChoice {
            chosen: best,
            log_loss: tried,
            rows: s.len(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platt_recovers_a_known_sigmoid() {
        // Labels drawn deterministically with P(attack | s) = σ(2s − 1).
        let mut s = Vec::new();
        let mut y = Vec::new();
        for i in 0..4000 {
            let x = (i % 400) as f64 / 100.0 - 2.0;
            let p = sigmoid(2.0 * x - 1.0);
            // Low-discrepancy "coin": the fraction of the 10 copies of x that are attacks.
            let k = i / 400;
            s.push(x);
            y.push((k as f64 + 0.5) / 10.0 < p);
        }
        let Calibration::Platt { a, b } = fit_platt(&s, &y) else {
            panic!("platt")
        };
        assert!((a - 2.0).abs() < 0.25, "a = {a}");
        assert!((b + 1.0).abs() < 0.2, "b = {b}");
    }

    #[test]
    fn isotonic_is_monotone_and_matches_known_rates() {
        // Scores 0..10; attack rate 0 below 5 and 1 from 5 up, with one violation pooled.
        let s: Vec<f64> = (0..10).map(f64::from).collect();
        let y = [
            false, false, true, false, false, true, true, true, true, true,
        ];
        let cal = fit_isotonic(&s, &y);
        cal.check().expect("valid map");
        let p: Vec<f64> = s.iter().map(|x| cal.probability(*x)).collect();
        assert!(p.windows(2).all(|w| w[1] >= w[0] - 1e-12), "{p:?}");
        assert!(p[0] < 0.4 && p[9] > 0.8, "{p:?}");
        // Scores 2, 3, 4 pool to one block with rate 1/3.
        assert!((cal.probability(3.0) - 1.0 / 3.0).abs() < 1e-9, "{p:?}");
    }

    #[test]
    fn chooses_a_method_and_reports_every_candidate() {
        let s: Vec<f64> = (0..1000).map(|i| f64::from(i) / 100.0 - 5.0).collect();
        let y: Vec<bool> = s.iter().map(|x| *x > 3.0).collect();
        let (cal, why) = choose(&s, &y, true);
        cal.check().expect("valid");
        assert_eq!(why.log_loss.len(), 3);
        assert!(cal.probability(4.5) > 0.9 && cal.probability(-4.0) < 0.05);
    }
}
