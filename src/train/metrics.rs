//! Metrics a fraud team can trust: ROC AUC (Mann–Whitney, ties counted half), and precision and
//! recall of "challenged" at the policy's thresholds, on attack probabilities or trust scores.

use serde::Serialize;

/// ROC AUC of `scores` (higher = more likely attack) against `labels` (true = attack): the
/// probability that a random attack outscores a random genuine event, ties counting one half.
/// `None` when either class is empty.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let mut idx: Vec<usize> = (0..scores.len().min(labels.len())).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum_pos, mut n_pos, mut n_neg) = (0.0f64, 0u64, 0u64);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if labels[k] {
                rank_sum_pos += avg_rank;
                n_pos += 1;
            } else {
                n_neg += 1;
            }
        }
        i = j + 1;
    }
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum_pos - p * (p + 1.0) / 2.0) / (p * n))
}

/// Confusion counts and rates of "flagged" (score ≥ threshold) against attacks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AtThreshold {
    /// What the threshold means (e.g. `challenge: trust < 70`).
    pub name: &'static str,
    /// Attacks flagged.
    pub true_positives: u64,
    /// Genuine events flagged.
    pub false_positives: u64,
    /// Attacks missed.
    pub false_negatives: u64,
    /// Genuine events passed.
    pub true_negatives: u64,
    /// TP / (TP + FP); 0 when nothing is flagged.
    pub precision: f64,
    /// TP / (TP + FN); 0 when there are no attacks.
    pub recall: f64,
    /// FP / (FP + TN): friction imposed on genuine customers.
    pub false_positive_rate: f64,
}

/// Counts at one threshold: an event is flagged when `flagged(score)`.
pub fn at_threshold(
    name: &'static str,
    scores: &[f64],
    labels: &[bool],
    flagged: impl Fn(f64) -> bool,
) -> AtThreshold {
    let (mut tp, mut fp, mut fnn, mut tn) = (0u64, 0u64, 0u64, 0u64);
    for (s, &y) in scores.iter().zip(labels) {
        match (flagged(*s), y) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fnn += 1,
            (false, false) => tn += 1,
        }
    }
    let ratio = |a: u64, b: u64| {
        if a + b == 0 {
            0.0
        } else {
            a as f64 / (a + b) as f64
        }
    };
    AtThreshold {
        name,
        true_positives: tp,
        false_positives: fp,
        false_negatives: fnn,
        true_negatives: tn,
        precision: ratio(tp, fp),
        recall: ratio(tp, fnn),
        false_positive_rate: ratio(fp, tn),
    }
}

/// Metrics of one model on one split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelMetrics {
    /// ROC AUC of the attack probability.
    pub roc_auc: f64,
    /// At the medium-sensitivity ladder: challenged (trust < allow), OTP+KBA or worse, denied.
    pub thresholds: Vec<AtThreshold>,
}

/// Computes [`ModelMetrics`] from attack probabilities, using the default medium ladder
/// (allow ≥ 70, OTP ≥ 40, OTP+KBA ≥ 15).
pub fn evaluate(probabilities: &[f64], labels: &[bool]) -> ModelMetrics {
    let trust = |p: f64| crate::domain::TrustScore::from_attack_probability(p).value();
    let thresholds = vec![
        at_threshold("challenged: trust < 70", probabilities, labels, |p| {
            trust(p) < 70
        }),
        at_threshold("otp_kba_or_deny: trust < 40", probabilities, labels, |p| {
            trust(p) < 40
        }),
        at_threshold("deny: trust < 15", probabilities, labels, |p| trust(p) < 15),
    ];
    ModelMetrics {
        roc_auc: roc_auc(probabilities, labels).unwrap_or(f64::NAN),
        thresholds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_known_lists() {
        // The textbook example: 3 of 4 attack/genuine pairs ordered right.
        assert_eq!(
            roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            Some(0.75)
        );
        assert_eq!(roc_auc(&[0.1, 0.2, 0.9], &[false, false, true]), Some(1.0));
        assert_eq!(roc_auc(&[0.9, 0.2, 0.1], &[false, false, true]), Some(0.0));
        // All tied: 0.5.
        assert_eq!(
            roc_auc(&[0.5, 0.5, 0.5, 0.5], &[true, false, true, false]),
            Some(0.5)
        );
        assert_eq!(roc_auc(&[0.5, 0.6], &[true, true]), None);
    }

    #[test]
    fn precision_and_recall_at_a_threshold() {
        let s = [0.9, 0.8, 0.2, 0.7, 0.1];
        let y = [true, false, true, true, false];
        let m = at_threshold("t", &s, &y, |p| p >= 0.5);
        assert_eq!(
            (
                m.true_positives,
                m.false_positives,
                m.false_negatives,
                m.true_negatives
            ),
            (2, 1, 1, 1)
        );
        assert!((m.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.false_positive_rate - 0.5).abs() < 1e-12);
    }
}
