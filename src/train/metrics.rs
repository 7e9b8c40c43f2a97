//! Metrics a fraud team can trust: ROC AUC (Mann–Whitney, ties counted half), PR AUC (average
//! precision), recall at a fixed genuine challenge rate, Brier score and log loss, a reliability
//! table, per-tactic recall, and precision and recall of "challenged" at the policy's
//! thresholds — on attack probabilities or trust scores.

use std::collections::BTreeMap;

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

/// Average precision (the area under the precision–recall curve as a step function): the mean,
/// over attacks, of the precision among events scored at least as high. Tied scores form one
/// step. `None` without attacks.
pub fn pr_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let n = scores.len().min(labels.len());
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let positives = labels[..n].iter().filter(|y| **y).count();
    if positives == 0 {
        return None;
    }
    let (mut tp, mut seen, mut ap) = (0usize, 0usize, 0f64);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let step_tp = idx[i..=j].iter().filter(|&&k| labels[k]).count();
        tp += step_tp;
        seen += j - i + 1;
        ap += step_tp as f64 * tp as f64 / seen as f64;
        i = j + 1;
    }
    Some(ap / positives as f64)
}

/// The smallest score threshold that flags at most `rate` of the genuine events (an event is
/// flagged when its score is ≥ the threshold): the `1 − rate` quantile of genuine scores, moved
/// above ties. `None` without genuine events.
pub fn threshold_at_genuine_rate(scores: &[f64], labels: &[bool], rate: f64) -> Option<f64> {
    let mut genuine: Vec<f64> = scores
        .iter()
        .zip(labels)
        .filter(|(_, y)| !**y)
        .map(|(s, _)| *s)
        .collect();
    if genuine.is_empty() {
        return None;
    }
    genuine.sort_by(|a, b| b.total_cmp(a));
    let allowed = (rate.clamp(0.0, 1.0) * genuine.len() as f64).floor() as usize;
    // Flag the `allowed` highest genuine scores at most: the threshold sits just above the
    // next one, so a tie with it is not flagged.
    Some(match genuine.get(allowed) {
        Some(s) => s.next_up(),
        None => f64::NEG_INFINITY,
    })
}

/// Recall when the threshold is set to challenge at most a given share of genuine events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecallAt {
    /// Target genuine challenge rate (0.01 = 1 %).
    pub genuine_challenge_rate: f64,
    /// Genuine share actually challenged at the threshold (≤ the target; ties may keep it lower).
    pub genuine_challenged: f64,
    /// Attacks challenged.
    pub recall: f64,
    /// The threshold, as an attack probability.
    pub threshold_probability: f64,
}

/// One bin of the reliability table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReliabilityBin {
    /// Predicted attack probability range, `[lower, upper)`.
    pub lower: f64,
    /// Upper end of the range.
    pub upper: f64,
    /// Events in the bin.
    pub events: u64,
    /// Mean predicted probability.
    pub predicted: f64,
    /// Observed attack share.
    pub observed: f64,
}

/// Recall of one attack tactic (the event log's `scenario`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TacticRecall {
    /// Held-out events of the tactic.
    pub events: u64,
    /// Share challenged at the 1 % genuine challenge threshold.
    pub recall_at_1pct: f64,
    /// Share challenged at the 5 % genuine challenge threshold.
    pub recall_at_5pct: f64,
    /// Median trust score (0–100) the tactic got.
    pub median_trust: f64,
}

/// Everything `metrics.json` reports for one model on one split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Held-out events.
    pub events: u64,
    /// Of which attacks.
    pub attacks: u64,
    /// ROC AUC.
    pub roc_auc: f64,
    /// Average precision.
    pub pr_auc: f64,
    /// Mean squared error of the probabilities.
    pub brier: f64,
    /// Mean negative log-likelihood of the probabilities (clamped to [1e-6, 1 − 1e-6]).
    pub log_loss: f64,
    /// Recall at 1 % and 5 % genuine challenge rates.
    pub recall_at: Vec<RecallAt>,
    /// Ten equal-width probability bins.
    pub reliability: Vec<ReliabilityBin>,
    /// Per attack tactic; genuine scenarios are left out.
    pub per_tactic: BTreeMap<String, TacticRecall>,
    /// Share of genuine events with trust ≥ 99, and of attacks (saturation).
    pub trust_99_genuine: f64,
    /// Share of attacks with trust ≥ 99.
    pub trust_99_attacks: f64,
    /// At the default medium ladder.
    pub thresholds: Vec<AtThreshold>,
}

/// Computes an [`Evaluation`]: `scores` rank (higher = riskier; ties matter for AUC), and
/// `probabilities` are the calibrated attack probabilities the engine would report.
/// `scenarios` names each event's tactic.
pub fn evaluate_full(
    scores: &[f64],
    probabilities: &[f64],
    labels: &[bool],
    scenarios: &[&str],
) -> Evaluation {
    let n = labels.len();
    let attacks = labels.iter().filter(|y| **y).count();
    let brier = probabilities
        .iter()
        .zip(labels)
        .map(|(p, y)| (p - f64::from(u8::from(*y))).powi(2))
        .sum::<f64>()
        / n.max(1) as f64;
    let log_loss = probabilities
        .iter()
        .zip(labels)
        .map(|(p, y)| {
            let p = p.clamp(1e-6, 1.0 - 1e-6);
            if *y { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum::<f64>()
        / n.max(1) as f64;
    let mut recall_at = Vec::new();
    let mut cut = BTreeMap::new();
    for rate in [0.01, 0.05] {
        let t = threshold_at_genuine_rate(scores, labels, rate).unwrap_or(f64::INFINITY);
        cut.insert((rate * 100.0) as u32, t);
        let m = at_threshold("", scores, labels, |s| s >= t);
        // The probability at the threshold: the smallest probability among flagged events.
        let tp = scores
            .iter()
            .zip(probabilities)
            .filter(|(s, _)| **s >= t)
            .map(|(_, p)| *p)
            .fold(f64::INFINITY, f64::min);
        recall_at.push(RecallAt {
            genuine_challenge_rate: rate,
            genuine_challenged: m.false_positive_rate,
            recall: m.recall,
            threshold_probability: if tp.is_finite() { tp } else { 1.0 },
        });
    }
    let mut bins = vec![(0u64, 0f64, 0u64); 10];
    for (p, y) in probabilities.iter().zip(labels) {
        let b = ((p * 10.0).floor() as usize).min(9);
        bins[b].0 += 1;
        bins[b].1 += p;
        bins[b].2 += u64::from(*y);
    }
    let reliability = bins
        .iter()
        .enumerate()
        .map(|(i, (c, sp, pos))| ReliabilityBin {
            lower: i as f64 / 10.0,
            upper: (i + 1) as f64 / 10.0,
            events: *c,
            predicted: if *c > 0 { sp / *c as f64 } else { 0.0 },
            observed: if *c > 0 { *pos as f64 / *c as f64 } else { 0.0 },
        })
        .collect();
    let (t1, t5) = (cut[&1], cut[&5]);
    let mut groups: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for ((s, p), (y, sc)) in scores
        .iter()
        .zip(probabilities)
        .zip(labels.iter().zip(scenarios))
    {
        if *y {
            groups.entry(sc).or_default().push((*s, *p));
        }
    }
    let per_tactic = groups
        .into_iter()
        .map(|(name, v)| {
            let k = v.len() as f64;
            let mut trust: Vec<f64> = v.iter().map(|(_, p)| trust_of(*p)).collect();
            trust.sort_by(f64::total_cmp);
            let median = trust.get(trust.len() / 2).copied().unwrap_or(f64::NAN);
            (
                name.to_string(),
                TacticRecall {
                    events: v.len() as u64,
                    recall_at_1pct: v.iter().filter(|(s, _)| *s >= t1).count() as f64 / k,
                    recall_at_5pct: v.iter().filter(|(s, _)| *s >= t5).count() as f64 / k,
                    median_trust: median,
                },
            )
        })
        .collect();
    let share_99 = |want: bool| {
        let (hit, all) = probabilities
            .iter()
            .zip(labels)
            .filter(|(_, y)| **y == want)
            .fold((0u64, 0u64), |(h, a), (p, _)| {
                (h + u64::from(trust_of(*p) >= 99.0), a + 1)
            });
        if all == 0 {
            0.0
        } else {
            hit as f64 / all as f64
        }
    };
    Evaluation {
        events: n as u64,
        attacks: attacks as u64,
        roc_auc: roc_auc(scores, labels).unwrap_or(f64::NAN),
        pr_auc: pr_auc(scores, labels).unwrap_or(f64::NAN),
        brier,
        log_loss,
        recall_at,
        reliability,
        per_tactic,
        trust_99_genuine: share_99(false),
        trust_99_attacks: share_99(true),
        thresholds: evaluate(probabilities, labels).thresholds,
    }
}

fn trust_of(p: f64) -> f64 {
    f64::from(crate::domain::TrustScore::from_attack_probability(p).value())
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
    fn pr_auc_and_genuine_rate_thresholds_of_known_lists() {
        // Ranked: A(0.9) G(0.8) A(0.7) G(0.1): AP = (1/1 + 2/3) / 2.
        let s = [0.9, 0.8, 0.7, 0.1];
        let y = [true, false, true, false];
        assert!((pr_auc(&s, &y).expect("attacks") - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(pr_auc(&s, &[false; 4]), None);
        // 50 % of 2 genuine = 1 may be flagged: threshold just above the second-highest
        // genuine score (0.1), so 0.8 is flagged and 0.1 is not.
        let t = threshold_at_genuine_rate(&s, &y, 0.5).expect("genuine");
        assert!(t > 0.1 && t <= 0.7, "{t}");
        // 0 %: above the highest genuine score.
        let t = threshold_at_genuine_rate(&s, &y, 0.0).expect("genuine");
        assert!(t > 0.8 && t <= 0.9, "{t}");
        let e = evaluate_full(&s, &s, &y, &["a", "genuine", "b", "genuine"]);
        assert_eq!(e.per_tactic.len(), 2);
        assert_eq!(e.per_tactic["a"].recall_at_1pct, 1.0);
        assert_eq!(e.per_tactic["b"].recall_at_1pct, 0.0);
        assert!((e.brier - (0.01 + 0.64 + 0.09 + 0.01) / 4.0).abs() < 1e-12);
        assert_eq!(e.reliability.iter().map(|b| b.events).sum::<u64>(), 4);
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
