//! Metrics of the CMU protocol, computed the way the publisher's `evaluation-script.R` does.
//!
//! Scores are anomaly scores (higher = more anomalous); impostors are the positive class. A
//! threshold `t` flags every sample with score `>= t` (ROCR's convention). Walking `t` down over
//! the distinct scores, from `+inf` (nothing flagged: miss 1, false alarm 0) to the lowest score
//! (everything flagged: miss 0, false alarm 1), gives the ROC points; ties form one step.
//!
//! **EER** ([`equal_error_rate`]): miss − false-alarm strictly decreases along those points. Take
//! the last point with `miss − fa >= 0` and the next one (`< 0`), and return where the straight
//! line between them crosses `miss = fa`: exactly the script's geometric solution
//! `a = (x1 − x2) / (y2 − x2 − y1 + x1)`, `eer = x1 + a (y1 − x1)`. When a point has
//! `miss = fa` exactly, that value is returned.
//!
//! **Zero-miss false-alarm rate** ([`zero_miss_far`]): the threshold at the lowest impostor score
//! misses no impostor; the rate is the share of genuine scores `>=` it.
//!
//! NaN scores are treated as `+inf` (most anomalous): a broken score never lets a sample in.

fn clean(s: f64) -> f64 {
    if s.is_nan() { f64::INFINITY } else { s }
}

/// EER of one subject (0–1) from its genuine and impostor anomaly scores; `None` when either
/// list is empty.
pub fn equal_error_rate(genuine: &[f64], impostor: &[f64]) -> Option<f64> {
    if genuine.is_empty() || impostor.is_empty() {
        return None;
    }
    let mut all: Vec<(f64, bool)> = genuine
        .iter()
        .map(|&s| (clean(s), false))
        .chain(impostor.iter().map(|&s| (clean(s), true)))
        .collect();
    all.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    let (n_gen, n_imp) = (genuine.len() as f64, impostor.len() as f64);
    let (mut hits, mut alarms) = (0usize, 0usize);
    // Previous ROC point as (miss, fa); starts at the +inf threshold.
    let mut prev = (1.0, 0.0);
    let mut i = 0;
    while i < all.len() {
        let score = all[i].0;
        while i < all.len() && all[i].0 == score {
            if all[i].1 {
                hits += 1;
            } else {
                alarms += 1;
            }
            i += 1;
        }
        let next = (1.0 - hits as f64 / n_imp, alarms as f64 / n_gen);
        if next.0 - next.1 < 0.0 {
            let (x, y) = (prev, next);
            let a = (x.0 - x.1) / (y.1 - x.1 - y.0 + x.0);
            return Some(x.0 + a * (y.0 - x.0));
        }
        prev = next;
    }
    // Unreachable: the last point is (0, 1). Kept total for safety.
    Some(prev.0)
}

/// Share of genuine scores (0–1) at or above the lowest impostor score; `None` when either list
/// is empty.
pub fn zero_miss_far(genuine: &[f64], impostor: &[f64]) -> Option<f64> {
    let lowest = impostor.iter().map(|&s| clean(s)).reduce(f64::min)?;
    if genuine.is_empty() {
        return None;
    }
    let flagged = genuine.iter().filter(|&&s| clean(s) >= lowest).count();
    Some(flagged as f64 / genuine.len() as f64)
}

/// Mean and sample standard deviation (divisor n − 1, as R's `sd()`); SD is 0 for one value.
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
    (mean, (ss / (n - 1.0)).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn separable_scores_have_zero_eer_and_zero_far() {
        let g = [0.1, 0.2, 0.3];
        let i = [0.5, 0.9];
        assert_eq!(equal_error_rate(&g, &i), Some(0.0));
        assert_eq!(zero_miss_far(&g, &i), Some(0.0));
    }

    #[test]
    fn reversed_scores_have_eer_one() {
        assert_eq!(equal_error_rate(&[5.0, 6.0], &[1.0, 2.0]), Some(1.0));
        assert_eq!(zero_miss_far(&[5.0, 6.0], &[1.0, 2.0]), Some(1.0));
    }

    #[test]
    fn exact_crossing_is_returned() {
        // Genuine 1,2,3,8; impostor 4,5,6,7 ... plus a 0.5 impostor below everything.
        // Points (miss, fa): t=+inf (1,0); 8 (1, .25); 7 (.8,.25); 6 (.6,.25); 5 (.4,.25);
        // 4 (.2,.25) -> miss-fa < 0: interpolate between (.4,.25) and (.2,.25):
        // a = (.4-.25)/(.25-.25-.2+.4) = .75, eer = .4 + .75*(-.2) = .25.
        let g = [1.0, 2.0, 3.0, 8.0];
        let i = [4.0, 5.0, 6.0, 7.0, 0.5];
        assert!(close(equal_error_rate(&g, &i).expect("eer"), 0.25));
        // Lowest impostor 0.5: every genuine score is above it.
        assert_eq!(zero_miss_far(&g, &i), Some(1.0));
    }

    #[test]
    fn interpolates_between_a_miss_step_and_an_alarm_step() {
        // One genuine (2) and one impostor (1): points (1,0) -> t=2 (1,1) -> t=1 (0,1).
        // miss-fa: 1, 0, -1; the point with 0 is exact: eer = 1.
        assert!(close(equal_error_rate(&[2.0], &[1.0]).expect("eer"), 1.0));
        // Genuine 1, 3; impostor 2: (1,0) -> t=3 (1,.5) -> t=2 (0,.5): d = .5 then -.5;
        // a = (1-.5)/(.5-.5-0+1) = .5, eer = 1 + .5*(0-1) = .5.
        assert!(close(
            equal_error_rate(&[1.0, 3.0], &[2.0]).expect("eer"),
            0.5
        ));
        // Zero-miss: threshold 2 flags the genuine 3 only.
        assert_eq!(zero_miss_far(&[1.0, 3.0], &[2.0]), Some(0.5));
    }

    #[test]
    fn ties_form_one_roc_step_and_count_as_alarms() {
        // All equal: (1,0) -> (0,1): a = 1/2, eer = .5.
        assert!(close(
            equal_error_rate(&[1.0, 1.0], &[1.0, 1.0]).expect("eer"),
            0.5
        ));
        assert_eq!(zero_miss_far(&[1.0, 0.0], &[1.0]), Some(0.5));
    }

    #[test]
    fn nan_is_most_anomalous_and_empty_lists_give_none() {
        assert_eq!(equal_error_rate(&[f64::NAN], &[1.0]), Some(1.0));
        assert_eq!(equal_error_rate(&[], &[1.0]), None);
        assert_eq!(zero_miss_far(&[1.0], &[]), None);
    }

    #[test]
    fn sample_sd_uses_n_minus_one() {
        let (m, s) = mean_sd(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert!(close(m, 5.0));
        assert!(close(s, (32.0f64 / 7.0).sqrt()));
        assert_eq!(mean_sd(&[3.0]), (3.0, 0.0));
    }
}
