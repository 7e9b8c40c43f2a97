//! Model health over the period: how far the trust-score distribution of the last week drifted
//! from the first week's (population stability index and Kolmogorov–Smirnov distance on ten
//! bins of trust), how often the shadow model agreed with the decision that was enforced, and
//! which reason codes were given how often.

use std::collections::BTreeMap;

use super::super::events::ScoredRow;
use crate::domain::Decision;

/// Width of a trust bin (ten bins over 0–100; 100 falls in the last).
pub const BIN: u8 = 10;

/// One week's window.
const WEEK_MS: i64 = 7 * 86_400_000;

/// The drift of trust scores between two windows of the period.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    /// What the windows are (`first and last week`, or `first and second half` for a period
    /// shorter than two weeks).
    pub windows: &'static str,
    /// First window, ms (inclusive, exclusive).
    pub first: (i64, i64),
    /// Last window, ms (inclusive, exclusive).
    pub last: (i64, i64),
    /// Requests per trust bin in the first window.
    pub first_counts: [u64; 10],
    /// Requests per trust bin in the last window.
    pub last_counts: [u64; 10],
    /// Population stability index (shares floored at 1e-4); under 0.1 is commonly read as
    /// stable, over 0.25 as a shift to act on.
    pub psi: f64,
    /// Largest gap between the two cumulative shares (0–1).
    pub ks: f64,
}

fn bin(trust: u8) -> usize {
    usize::from((trust / BIN).min(9))
}

fn shares(c: &[u64; 10]) -> [f64; 10] {
    let n: u64 = c.iter().sum();
    let mut out = [0.0; 10];
    if n > 0 {
        for (o, x) in out.iter_mut().zip(c) {
            *o = *x as f64 / n as f64;
        }
    }
    out
}

/// PSI and KS distance between two binned distributions (NaN, not computable, when either is
/// empty: an empty window is no evidence of stability).
pub fn psi_ks(a: &[u64; 10], b: &[u64; 10]) -> (f64, f64) {
    if a.iter().sum::<u64>() == 0 || b.iter().sum::<u64>() == 0 {
        return (f64::NAN, f64::NAN);
    }
    let (pa, pb) = (shares(a), shares(b));
    let (mut psi, mut ks, mut ca, mut cb) = (0.0, 0.0f64, 0.0, 0.0);
    for (x, y) in pa.iter().zip(&pb) {
        let (x1, y1) = (x.max(1e-4), y.max(1e-4));
        psi += (y1 - x1) * (y1 / x1).ln();
        ca += x;
        cb += y;
        ks = ks.max((ca - cb).abs());
    }
    (psi, ks)
}

/// The drift between the first and last week of `[from_ms, to_ms)` (halves when shorter than
/// two weeks), counted over the rows shown to [`DriftCount::see`].
#[derive(Debug, Clone)]
pub struct DriftCount {
    d: Drift,
}

impl DriftCount {
    /// The windows of `[from_ms, to_ms)`, nothing counted yet.
    pub fn new(from_ms: i64, to_ms: i64) -> DriftCount {
        let (windows, first, last) = if to_ms.saturating_sub(from_ms) >= 2 * WEEK_MS {
            (
                "first and last week",
                (from_ms, from_ms.saturating_add(WEEK_MS)),
                (to_ms.saturating_sub(WEEK_MS), to_ms),
            )
        } else {
            let mid = from_ms.saturating_add(to_ms.saturating_sub(from_ms) / 2);
            ("first and second half", (from_ms, mid), (mid, to_ms))
        };
        DriftCount {
            d: Drift {
                windows,
                first,
                last,
                first_counts: [0; 10],
                last_counts: [0; 10],
                psi: f64::NAN,
                ks: f64::NAN,
            },
        }
    }

    /// Counts a request scored at `ts_ms` with `trust`.
    pub fn see(&mut self, ts_ms: i64, trust: u8) {
        let d = &mut self.d;
        if ts_ms >= d.first.0 && ts_ms < d.first.1 {
            d.first_counts[bin(trust)] += 1;
        }
        if ts_ms >= d.last.0 && ts_ms < d.last.1 {
            d.last_counts[bin(trust)] += 1;
        }
    }

    /// The counts and the distances between them.
    pub fn finish(mut self) -> Drift {
        (self.d.psi, self.d.ks) = psi_ks(&self.d.first_counts, &self.d.last_counts);
        self.d
    }
}

/// How the shadow model's decisions compare with the enforced ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shadow {
    /// Requests the shadow judged.
    pub judged: u64,
    /// Of those, the same decision.
    pub agreed: u64,
    /// (enforced, shadow) decision pairs and their counts.
    pub pairs: BTreeMap<(String, String), u64>,
}

/// Shadow agreement and reason codes, accumulated row by row.
#[derive(Debug, Default)]
pub struct HealthAcc {
    pairs: foldhash::HashMap<(Decision, Decision), u64>,
    reasons: foldhash::HashMap<String, u64>,
}

impl HealthAcc {
    /// Counts `r`.
    pub fn add(&mut self, r: &ScoredRow) {
        if let Some(d) = r.shadow_decision {
            *self.pairs.entry((r.decision, d)).or_default() += 1;
        }
        for c in &r.reasons {
            match self.reasons.get_mut(c.as_str()) {
                Some(n) => *n += 1,
                None => {
                    self.reasons.insert(c.clone(), 1);
                }
            }
        }
    }

    /// Shadow agreement, and requests per reason code (most frequent first, ties by code).
    pub fn finish(self) -> (Shadow, Vec<(String, u64)>) {
        let mut s = Shadow::default();
        for ((enforced, shadow), n) in self.pairs {
            s.judged += n;
            if enforced == shadow {
                s.agreed += n;
            }
            *s.pairs
                .entry((enforced.as_str().into(), shadow.as_str().into()))
                .or_default() += n;
        }
        let mut reasons: Vec<(String, u64)> = self.reasons.into_iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        (s, reasons)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_distributions_do_not_drift_and_a_shift_does() {
        let a = [0, 0, 0, 0, 0, 10, 20, 30, 20, 20];
        assert_eq!(psi_ks(&a, &a), (0.0, 0.0));
        let shifted = [20, 20, 30, 20, 10, 0, 0, 0, 0, 0];
        let (psi, ks) = psi_ks(&a, &shifted);
        assert!(psi > 0.25, "{psi}");
        assert!((ks - 1.0).abs() < 1e-12, "{ks}");
        // Half the mass moved one bin: KS is exactly that half.
        let b = [0, 0, 0, 0, 0, 0, 20, 30, 20, 30];
        let (_, ks) = psi_ks(&a, &b);
        assert!((ks - 0.1).abs() < 1e-12, "{ks}");
        let (psi, ks) = psi_ks(&a, &[0; 10]);
        assert!(psi.is_nan() && ks.is_nan());
        assert_eq!(bin(100), 9);
        assert_eq!(bin(9), 0);
    }
}
