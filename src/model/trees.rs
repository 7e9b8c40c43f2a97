//! Tree ensembles compiled to flat arrays: the runtime form of the random forest and the
//! gradient-boosted model.
//!
//! Explanations: [`Ensemble::terms`] splits a row's raw score into exact baseline Shapley values
//! against the all-zero row, the reference a linear model's terms start from (Sundararajan &
//! Najmi, "The many Shapley values for model explanation", ICML 2020; computed per tree as the
//! interventional Tree SHAP of Lundberg et al., Nature Machine Intelligence 2020, with one
//! background row). Walking the row and the reference down a tree together, a split that sends
//! them the same way is followed; one that parts them on a feature not yet decided is followed
//! both ways, the feature taken from the row on one side and from the reference on the other.
//! A leaf reached with `a` features taken from the row and `b` from the reference gives each of
//! the first `v·(a−1)!·b!/(a+b)!` and takes `v·a!·(b−1)!/(a+b)!` from each of the second.
//! Hence the properties the reasons rely on: the terms sum to `raw(row) − raw(0)`; a feature at
//! zero — evidence the request does not carry — gets exactly nothing (path contributions à la
//! Saabas charge features at their benign values, so a request could be told both `new_device`
//! and `trusted_device`); and a feature whose direction the ensemble keeps gets a term of that
//! sign (every marginal change it makes has that sign). The walk branches only where the row and
//! the reference part on a new feature, so it visits at most every leaf once and recurses at most
//! [`N_FEATURES`] deep.
//!
//! Directions: every split on a feature that may only raise risk (or only lower it) must keep
//! the whole ensemble monotone in it. [`Ensemble::check`] verifies the sufficient condition that
//! each tree meets on its own — at every split on a constrained feature, every leaf on the
//! risk-raising side is at least every leaf on the other side — and an artifact that fails it is
//! refused at load, as a linear artifact with a weight of the wrong sign is. Fitting
//! (`train::trees`) produces trees that meet it by construction (monotone constraints) or by
//! repair.
//!
//! Never allocates when scoring.

use serde::{Deserialize, Serialize};

use crate::features::schema::Direction;
use crate::features::{FEATURES, FeatureRow, N_FEATURES};

/// Marks a leaf in [`FlatTree::feature`].
pub const LEAF: u16 = u16::MAX;
/// Most nodes one tree may hold.
pub const MAX_NODES: usize = 1 << 16;
/// Most trees one ensemble may hold.
pub const MAX_TREES: usize = 4_096;

/// One tree as parallel arrays, node 0 the root. A node is a leaf when `feature[i] == LEAF`;
/// otherwise a row goes to `left[i]` when `row[feature[i]] < threshold[i]`, else to `right[i]`.
/// `value[i]` is the node's output (for a split node: the value of the rows that reached it in
/// training), on the ensemble's scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlatTree {
    /// Split feature per node, [`LEAF`] for leaves.
    pub feature: Vec<u16>,
    /// Split threshold per node (ignored for leaves).
    pub threshold: Vec<f32>,
    /// Left child per node (ignored for leaves).
    pub left: Vec<u32>,
    /// Right child per node (ignored for leaves).
    pub right: Vec<u32>,
    /// Output per node.
    pub value: Vec<f32>,
}

/// How tree outputs combine into the raw score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// Mean of the leaves (random forest: an attack probability).
    Mean,
    /// Sum of the leaves plus the base (gradient boosting: log-odds of attack).
    Sum,
}

/// A tree ensemble: raw score = `base + combine(leaf values)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ensemble {
    /// How leaves combine.
    pub combine: Combine,
    /// Added to the combined leaves.
    pub base: f32,
    /// The trees.
    pub trees: Vec<FlatTree>,
}

impl FlatTree {
    /// A single leaf.
    pub fn leaf(value: f32) -> FlatTree {
        FlatTree {
            feature: vec![LEAF],
            threshold: vec![0.0],
            left: vec![0],
            right: vec![0],
            value: vec![value],
        }
    }

    fn is_leaf(&self, i: usize) -> bool {
        self.feature[i] == LEAF
    }

    /// Walks `row` to its leaf and returns the leaf value. The tree must have passed
    /// [`FlatTree::check_shape`].
    #[inline]
    fn walk(&self, row: &FeatureRow) -> f32 {
        let mut i = 0usize;
        while self.feature[i] != LEAF {
            let f = usize::from(self.feature[i]);
            i = if row[f] < self.threshold[i] {
                self.left[i]
            } else {
                self.right[i]
            } as usize;
        }
        self.value[i]
    }

    /// Adds `scale ×` this tree's baseline Shapley values of `row` against the all-zero row to
    /// `terms` (see the module doc), starting at node `i` with the features already taken from
    /// the row (`from_row`) and from the reference (`from_ref`), as bit sets. Returns the value
    /// of the leaf `row` itself reaches when this call is on its path (`from_ref` empty), else 0.
    fn shapley(
        &self,
        mut i: usize,
        row: &FeatureRow,
        from_row: u64,
        from_ref: u64,
        scale: f32,
        terms: &mut [f32; N_FEATURES],
    ) -> f32 {
        while self.feature[i] != LEAF {
            let f = usize::from(self.feature[i]);
            let t = self.threshold[i];
            let (row_left, ref_left) = (row[f] < t, 0.0 < t);
            let bit = 1u64 << f;
            let left = if row_left == ref_left || from_row & bit != 0 {
                row_left
            } else if from_ref & bit != 0 {
                ref_left
            } else {
                let (to_row, to_ref) = if row_left {
                    (self.left[i], self.right[i])
                } else {
                    (self.right[i], self.left[i])
                };
                let own =
                    self.shapley(to_row as usize, row, from_row | bit, from_ref, scale, terms);
                self.shapley(to_ref as usize, row, from_row, from_ref | bit, scale, terms);
                return own;
            };
            i = if left { self.left[i] } else { self.right[i] } as usize;
        }
        let (a, b) = (from_row.count_ones(), from_ref.count_ones());
        let v = scale * self.value[i];
        if a > 0 {
            let w = v * shapley_weight(a, b);
            for_each_bit(from_row, |f| terms[f] += w);
        }
        if b > 0 {
            let w = v * shapley_weight(b, a);
            for_each_bit(from_ref, |f| terms[f] -= w);
            return 0.0;
        }
        self.value[i]
    }

    /// Checks array lengths, indices, features and finiteness, and that every node but the
    /// root has exactly one parent with a larger index than it (so the walk always ends).
    pub fn check_shape(&self) -> Result<(), String> {
        let n = self.feature.len();
        if n == 0 || n > MAX_NODES {
            return Err(format!("{n} nodes (1–{MAX_NODES})"));
        }
        if [
            self.threshold.len(),
            self.left.len(),
            self.right.len(),
            self.value.len(),
        ]
        .iter()
        .any(|l| *l != n)
        {
            return Err("feature, threshold, left, right and value differ in length".into());
        }
        let mut parents = vec![0u8; n];
        for i in 0..n {
            if !self.value[i].is_finite() {
                return Err(format!("value[{i}]: not a finite number"));
            }
            if self.is_leaf(i) {
                continue;
            }
            if usize::from(self.feature[i]) >= N_FEATURES {
                return Err(format!("feature[{i}]: no such feature"));
            }
            if !self.threshold[i].is_finite() {
                return Err(format!("threshold[{i}]: not a finite number"));
            }
            for c in [self.left[i], self.right[i]] {
                let c = c as usize;
                if c <= i || c >= n {
                    return Err(format!("node {i}: child {c} out of order"));
                }
                parents[c] = parents[c].saturating_add(1);
            }
        }
        if let Some(i) = (1..n).find(|&i| parents[i] != 1) {
            return Err(format!("node {i}: must have exactly one parent"));
        }
        Ok(())
    }

    /// The first split (node, feature) that breaks a feature's direction: on a risk feature,
    /// some leaf on the high side below some leaf on the low side (the reverse for a trust
    /// feature). `tolerance` absorbs float rounding. The tree must have passed
    /// [`FlatTree::check_shape`] (children after parents), so one backward pass computes every
    /// subtree's leaf range without recursion.
    pub fn direction_violation(&self, tolerance: f32) -> Option<(usize, usize)> {
        let n = self.feature.len();
        let mut range = vec![(0f32, 0f32); n];
        let mut found = None;
        for i in (0..n).rev() {
            if self.is_leaf(i) {
                range[i] = (self.value[i], self.value[i]);
                continue;
            }
            let (low, high) = (self.left[i] as usize, self.right[i] as usize);
            let (lo, hi) = (range[low], range[high]);
            range[i] = (lo.0.min(hi.0), lo.1.max(hi.1));
            let f = usize::from(self.feature[i]);
            let broken = match FEATURES.get(f).map(|d| d.direction) {
                Some(Direction::Risk) => hi.0 + tolerance < lo.1,
                Some(Direction::Trust) => lo.0 + tolerance < hi.1,
                _ => false,
            };
            if broken {
                found = Some((i, f));
            }
        }
        found
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.feature.len()
    }

    /// True for a tree without nodes (never valid).
    pub fn is_empty(&self) -> bool {
        self.feature.is_empty()
    }
}

impl Ensemble {
    fn scale(&self) -> f32 {
        match self.combine {
            Combine::Mean => 1.0 / self.trees.len().max(1) as f32,
            Combine::Sum => 1.0,
        }
    }

    /// Raw score of a row.
    pub fn raw(&self, row: &FeatureRow) -> f32 {
        // Summed as [`Ensemble::terms_with`] sums, so both give the same bits.
        let mut leaves = -0.0f32;
        for t in &self.trees {
            leaves += t.walk(row);
        }
        self.base + self.scale() * leaves
    }

    /// Expected raw score over the training rows: `base + combine(root values)`.
    pub fn expected(&self) -> f32 {
        let s: f32 = self.trees.iter().map(|t| t.value[0]).sum();
        self.base + self.scale() * s
    }

    /// Raw score of the all-zero row: what [`Ensemble::terms`] start from.
    pub fn reference(&self) -> f32 {
        self.raw(&[0.0; N_FEATURES])
    }

    /// Fills `terms` with the baseline Shapley values of `row` (module doc): `raw(row) =
    /// reference() + Σ terms` up to float rounding, and `terms[f] == 0` wherever `row[f] == 0`.
    pub fn terms(&self, row: &FeatureRow, terms: &mut [f32; N_FEATURES]) {
        self.terms_with(row, &[], terms);
    }

    /// Per tree, the features it splits on (a bit set) and the value of the leaf the all-zero
    /// row reaches: what [`Ensemble::terms_with`] uses to skip trees the row cannot take off
    /// the reference's path.
    pub fn feature_sets(&self) -> Vec<(u64, f32)> {
        let zero = [0.0; N_FEATURES];
        self.trees
            .iter()
            .map(|t| {
                let set = t
                    .feature
                    .iter()
                    .filter(|&&f| f != LEAF)
                    .fold(0u64, |m, &f| m | 1u64 << f);
                (set, t.walk(&zero))
            })
            .collect()
    }

    /// [`Ensemble::terms`] with [`Ensemble::feature_sets`] (empty: none known), also returning
    /// the raw score, bit for bit [`Ensemble::raw`]'s (the same leaves summed in the same order),
    /// so scoring needs no second walk. A tree that splits only on features at zero in `row`
    /// sends it down the reference's path: it contributes no terms and is not walked.
    pub fn terms_with(
        &self,
        row: &FeatureRow,
        sets: &[(u64, f32)],
        terms: &mut [f32; N_FEATURES],
    ) -> f32 {
        *terms = [0.0; N_FEATURES];
        let scale = self.scale();
        let carried = row
            .iter()
            .enumerate()
            .filter(|(_, x)| **x != 0.0)
            .fold(0u64, |m, (f, _)| m | 1u64 << f);
        let mut leaves = -0.0f32;
        for (k, t) in self.trees.iter().enumerate() {
            leaves += match sets.get(k) {
                Some(&(set, at_zero)) if set & carried == 0 => at_zero,
                _ => t.shapley(0, row, 0, 0, scale, terms),
            };
        }
        self.base + scale * leaves
    }

    /// Checks every tree's shape and directions; the error names the tree and node.
    pub fn check(&self) -> Result<(), String> {
        if self.trees.is_empty() || self.trees.len() > MAX_TREES {
            return Err(format!("{} trees (1–{MAX_TREES})", self.trees.len()));
        }
        if !self.base.is_finite() {
            return Err("base: not a finite number".into());
        }
        for (k, t) in self.trees.iter().enumerate() {
            t.check_shape().map_err(|e| format!("trees[{k}]: {e}"))?;
            if let Some((node, f)) = t.direction_violation(1e-6) {
                return Err(format!(
                    "trees[{k}] node {node} ({}): splits against the feature's direction; a model may not let this signal move risk that way",
                    FEATURES.get(f).map(|d| d.name).unwrap_or("?")
                ));
            }
        }
        Ok(())
    }

    /// Total split gain proxy per feature: the sum over splits of |value change| weighted by
    /// nothing (each split counts its larger child change once). Used by model cards.
    pub fn split_counts(&self) -> [u32; N_FEATURES] {
        let mut c = [0u32; N_FEATURES];
        for t in &self.trees {
            for &f in &t.feature {
                if f != LEAF
                    && let Some(x) = c.get_mut(usize::from(f))
                {
                    *x += 1;
                }
            }
        }
        c
    }
}

// Feature sets are `u64` bit sets in [`FlatTree::shapley`].
const _: () = assert!(N_FEATURES <= 64);

/// The Shapley weight of a player on the winning side of a leaf reached with `a` features from
/// one side and `b` from the other: `(a−1)!·b!/(a+b)! = 1 / (a·C(a+b, b))`; from a table for
/// the small counts every shallow tree has.
fn shapley_weight(a: u32, b: u32) -> f32 {
    match WEIGHTS.get(a as usize).and_then(|r| r.get(b as usize)) {
        Some(w) => *w,
        None => weight(a, b),
    }
}

const fn weight(a: u32, b: u32) -> f32 {
    let mut c = 1f64;
    let mut k = 1;
    while k <= b {
        c = c * (a + k) as f64 / k as f64;
        k += 1;
    }
    (1.0 / (a as f64 * c)) as f32
}

/// [`weight`] for `a, b < 16` (row `a`, column `b`; row 0 unused).
const WEIGHTS: [[f32; 16]; 16] = {
    let mut t = [[0f32; 16]; 16];
    let mut a = 1;
    while a < 16 {
        let mut b = 0;
        while b < 16 {
            t[a][b] = weight(a as u32, b as u32);
            b += 1;
        }
        a += 1;
    }
    t
};

/// Calls `f` with the index of every set bit.
#[inline]
fn for_each_bit(mut bits: u64, mut f: impl FnMut(usize)) {
    while bits != 0 {
        f(bits.trailing_zeros() as usize);
        bits &= bits - 1;
    }
}

/// The smallest `f32` threshold `t` such that, for every `f32` x, `x < t` exactly when
/// `x ≤ v`: converts a "go left when x ≤ v" split learned in f64 into this module's rule.
pub fn threshold_for_le(v: f64) -> f32 {
    let f = v as f32;
    if f64::from(f) > v { f } else { f.next_up() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::F;

    /// Splits on Tor (risk): low side 0.1, high side 0.9; then on device.trusted (trust).
    fn tree() -> FlatTree {
        let tor = F::NetworkTor as u16;
        let trusted = F::DeviceTrusted as u16;
        FlatTree {
            feature: vec![tor, trusted, LEAF, LEAF, LEAF],
            threshold: vec![0.5, 0.5, 0.0, 0.0, 0.0],
            left: vec![1, 3, 0, 0, 0],
            right: vec![2, 4, 0, 0, 0],
            value: vec![0.3, 0.1, 0.9, 0.2, 0.05],
        }
    }

    #[test]
    fn walks_and_splits_into_baseline_shapley_values() {
        let e = Ensemble {
            combine: Combine::Mean,
            base: 0.0,
            trees: vec![tree(), FlatTree::leaf(0.5)],
        };
        e.check().expect("valid");
        // The all-zero row reaches the 0.2 leaf.
        assert!((e.reference() - (0.2 + 0.5) / 2.0).abs() < 1e-6);
        assert!((e.expected() - 0.4).abs() < 1e-6);
        let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
        let mut terms = [0f32; N_FEATURES];
        let (tor, trusted) = (F::NetworkTor as usize, F::DeviceTrusted as usize);

        // Tor alone: all of raw − reference = (0.9 − 0.2)/2 is Tor's.
        let mut row = [0f32; N_FEATURES];
        row[tor] = 1.0;
        e.terms(&row, &mut terms);
        assert!(close(e.raw(&row), (0.9 + 0.5) / 2.0));
        assert!(close(terms[tor], 0.35), "{terms:?}");
        assert_eq!(terms.iter().filter(|t| **t != 0.0).count(), 1);

        // A trusted device alone: Tor (at zero) gets exactly nothing (a path contribution
        // would have charged it the root's change, 0.2 − 0.3).
        row[tor] = 0.0;
        row[trusted] = 1.0;
        e.terms(&row, &mut terms);
        assert_eq!(terms[tor], 0.0);
        assert!(close(terms[trusted], (0.05 - 0.2) / 2.0), "{terms:?}");

        // Both: per tree f(∅) = 0.2, f(Tor) = 0.9, f(trusted) = 0.05, f(both) = 0.9, so
        // φ_Tor = ½[(0.9 − 0.2) + (0.9 − 0.05)] = 0.775 and φ_trusted = ½[(0.05 − 0.2) + 0] =
        // −0.075, halved by the mean of two trees.
        row[tor] = 1.0;
        e.terms(&row, &mut terms);
        let raw = e.raw(&row);
        assert!(close(terms[tor], 0.3875), "{terms:?}");
        assert!(close(terms[trusted], -0.0375), "{terms:?}");
        assert!(close(e.reference() + terms.iter().sum::<f32>(), raw));
    }

    #[test]
    fn skipping_trees_off_the_rows_features_changes_nothing() {
        let mut far = tree();
        far.feature[0] = F::GeoNewCity as u16;
        far.feature[1] = F::NetworkVpn as u16;
        let e = Ensemble {
            combine: Combine::Sum,
            base: -1.0,
            trees: vec![tree(), far, FlatTree::leaf(0.5)],
        };
        let sets = e.feature_sets();
        assert_eq!(sets[2], (0, 0.5));
        // The zero row reaches the 0.2 leaf.
        assert_eq!(
            sets[0],
            (
                1u64 << F::NetworkTor as u64 | 1u64 << F::DeviceTrusted as u64,
                0.2
            )
        );
        for (tor, trusted, city) in [
            (0.0, 0.0, 0.0),
            (1.0, 0.0, 0.0),
            (0.0, 1.0, 1.0),
            (1.0, 1.0, 1.0),
        ] {
            let mut row = [0f32; N_FEATURES];
            row[F::NetworkTor as usize] = tor;
            row[F::DeviceTrusted as usize] = trusted;
            row[F::GeoNewCity as usize] = city;
            let (mut all, mut skipped) = ([0f32; N_FEATURES], [0f32; N_FEATURES]);
            e.terms(&row, &mut all);
            let raw = e.terms_with(&row, &sets, &mut skipped);
            assert_eq!(all, skipped, "{tor} {trusted} {city}");
            assert_eq!(raw.to_bits(), e.raw(&row).to_bits());
        }
    }

    #[test]
    fn refuses_a_split_against_a_direction() {
        let mut t = tree();
        t.value[2] = 0.05; // Tor lowers risk below the non-Tor side's leaves
        let e = Ensemble {
            combine: Combine::Sum,
            base: 0.0,
            trees: vec![t],
        };
        let err = e.check().expect_err("Tor may not lower risk");
        assert!(err.contains("network.tor"), "{err}");

        let mut t = tree();
        t.value[4] = 0.5; // a trusted device raises risk
        let e = Ensemble {
            combine: Combine::Sum,
            base: 0.0,
            trees: vec![t],
        };
        let err = e.check().expect_err("trust may not raise risk");
        assert!(err.contains("device.trusted"), "{err}");
    }

    #[test]
    fn refuses_malformed_shapes() {
        let mut t = tree();
        t.left[0] = 0; // a cycle
        assert!(t.check_shape().is_err());
        let mut t = tree();
        t.right[1] = 2; // node 2 gets two parents
        assert!(t.check_shape().expect_err("two parents").contains("parent"));
        let mut t = tree();
        t.value.pop();
        assert!(t.check_shape().is_err());
        let mut t = tree();
        t.feature[0] = N_FEATURES as u16;
        assert!(t.check_shape().expect_err("feature").contains("feature[0]"));
    }

    #[test]
    fn le_thresholds_convert_exactly() {
        for v in [0.5f64, 0.1, 1.0 / 3.0, 2.0, -0.0, 7.25] {
            let t = threshold_for_le(v);
            for x in [v as f32, (v as f32).next_up(), (v as f32).next_down()] {
                assert_eq!(x < t, f64::from(x) <= v, "v {v} x {x}");
            }
        }
    }
}
