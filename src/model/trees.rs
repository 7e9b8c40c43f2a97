//! Tree ensembles compiled to flat arrays: the runtime form of the random forest and the
//! gradient-boosted model. One walk per tree gives both the raw score and its per-feature path
//! contributions (Saabas, "Interpreting random forests", 2014: along the path from the root to
//! the leaf, each split's change of node value is charged to the split's feature), so the
//! explanation costs no second pass.
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

    /// Walks `row` to its leaf, adding each split's value change to `terms[feature]` times
    /// `scale`. Returns the leaf value. The tree must have passed [`FlatTree::check_shape`].
    #[inline]
    fn walk(&self, row: &FeatureRow, terms: Option<&mut [f32; N_FEATURES]>, scale: f32) -> f32 {
        let mut i = 0usize;
        match terms {
            None => {
                while self.feature[i] != LEAF {
                    let f = usize::from(self.feature[i]);
                    i = if row[f] < self.threshold[i] {
                        self.left[i]
                    } else {
                        self.right[i]
                    } as usize;
                }
            }
            Some(terms) => {
                while self.feature[i] != LEAF {
                    let f = usize::from(self.feature[i]);
                    let next = if row[f] < self.threshold[i] {
                        self.left[i]
                    } else {
                        self.right[i]
                    } as usize;
                    terms[f] += scale * (self.value[next] - self.value[i]);
                    i = next;
                }
            }
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
        let s: f32 = self.trees.iter().map(|t| t.walk(row, None, 1.0)).sum();
        self.base + self.scale() * s
    }

    /// Raw score of a row of the expected value: `base + combine(root values)` — what
    /// [`Ensemble::terms`]' contributions start from.
    pub fn expected(&self) -> f32 {
        let s: f32 = self.trees.iter().map(|t| t.value[0]).sum();
        self.base + self.scale() * s
    }

    /// Raw score of `row` with its path contributions: `raw = expected() + Σ terms`.
    pub fn terms(&self, row: &FeatureRow, terms: &mut [f32; N_FEATURES]) -> f32 {
        *terms = [0.0; N_FEATURES];
        let scale = self.scale();
        let s: f32 = self
            .trees
            .iter()
            .map(|t| t.walk(row, Some(terms), scale))
            .sum();
        self.base + scale * s
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
    fn walks_and_attributes_along_the_path() {
        let e = Ensemble {
            combine: Combine::Mean,
            base: 0.0,
            trees: vec![tree(), FlatTree::leaf(0.5)],
        };
        e.check().expect("valid");
        let mut row = [0f32; N_FEATURES];
        row[F::NetworkTor as usize] = 1.0;
        let mut terms = [0f32; N_FEATURES];
        let raw = e.terms(&row, &mut terms);
        assert!((raw - (0.9 + 0.5) / 2.0).abs() < 1e-6);
        assert!((e.raw(&row) - raw).abs() < 1e-6);
        assert!((e.expected() - 0.4).abs() < 1e-6);
        assert!(
            (terms[F::NetworkTor as usize] - 0.3).abs() < 1e-6,
            "{terms:?}"
        );
        let sum: f32 = terms.iter().sum();
        assert!((e.expected() + sum - raw).abs() < 1e-6);

        row[F::NetworkTor as usize] = 0.0;
        row[F::DeviceTrusted as usize] = 1.0;
        let raw = e.terms(&row, &mut terms);
        assert!((raw - (0.05 + 0.5) / 2.0).abs() < 1e-6);
        assert!((terms[F::NetworkTor as usize] - (0.1 - 0.3) / 2.0).abs() < 1e-6);
        assert!((terms[F::DeviceTrusted as usize] - (0.05 - 0.1) / 2.0).abs() < 1e-6);
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
