//! Fitting the tree families and compiling them to the runtime's flat arrays
//! ([`crate::model::trees::Ensemble`]) with every feature's direction kept:
//!
//! - [`forest`]: a random forest fitted with smartcore's `RandomForestClassifier` (one
//!   single-tree forest per seed, in parallel), read back through smartcore's serde form, its
//!   node values re-estimated as smoothed attack shares of the training rows, and its
//!   directions repaired ([`repair`]).
//! - [`boosting`]: gradient-boosted trees (forust-ml) under monotone constraints taken from the
//!   feature directions, early-stopped on the validation split, flattened tree by tree.
//!
//! This module owns sampling, fitting, flattening and repair. It must not read datasets,
//! replay events, calibrate or write artifacts (that is `train`'s orchestration), and it never
//! changes the runtime's split rule: a row goes left iff `x < threshold`.

pub mod boosting;
pub mod forest;
pub mod repair;

#[cfg(test)]
mod tests;

pub use boosting::{BoostingFit, BoostingParams, fit_boosting, fit_boosting_with};
pub use forest::{ForestFit, ForestParams, fit_forest, fit_forest_with};

use std::collections::VecDeque;

use crate::features::{FEATURES, FeatureRow, N_FEATURES};
use crate::model::trees::{FlatTree, LEAF, MAX_NODES};

use super::TrainError;

/// Fewest training rows a tree family accepts.
pub const MIN_ROWS: usize = 20;

/// Checks the rows a fitter is given: as many labels as rows, at least [`MIN_ROWS`], both
/// classes, every value finite (the trees have no missing-value branches, so a NaN would be
/// routed arbitrarily). `what` names the split in errors. Returns the number of attacks.
pub(crate) fn check_rows(rows: &[FeatureRow], y: &[bool], what: &str) -> Result<usize, TrainError> {
    if rows.len() != y.len() {
        return Err(TrainError::Data(format!(
            "{what}: {} rows but {} labels",
            rows.len(),
            y.len()
        )));
    }
    if rows.len() < MIN_ROWS {
        return Err(TrainError::Data(format!(
            "{what}: {} rows; need at least {MIN_ROWS}",
            rows.len()
        )));
    }
    let attacks = y.iter().filter(|a| **a).count();
    if attacks == 0 || attacks == y.len() {
        return Err(TrainError::Data(format!(
            "{what}: rows hold only one class"
        )));
    }
    for (i, row) in rows.iter().enumerate() {
        if let Some(j) = row.iter().position(|x| !x.is_finite()) {
            let name = FEATURES.get(j).map(|d| d.name).unwrap_or("?");
            return Err(TrainError::Data(format!(
                "{what}: rows[{i}].{name}: not a finite number"
            )));
        }
    }
    Ok(attacks)
}

/// The smallest `f32` threshold `t` such that, for every `f32` x, `x < t` exactly when
/// `f64::from(x) < v`: converts a "go left when x < v" split learned in f64 (forust-ml)
/// into the runtime's rule. Its companion for "x ≤ v" splits (smartcore) is
/// [`crate::model::trees::threshold_for_le`].
pub fn threshold_for_lt(v: f64) -> f32 {
    let f = v as f32;
    if f64::from(f) >= v { f } else { f.next_up() }
}

/// One node of a library's tree, as [`flatten`] reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum LibNode {
    /// A leaf with its output.
    Leaf(f32),
    /// A split: rows with `x[feature] < threshold` go to `left`; `value` is the node's own
    /// output (what the rows reaching it were given before the split).
    Split {
        /// Feature index in schema order.
        feature: usize,
        /// Threshold in the runtime's rule.
        threshold: f32,
        /// Library id of the left child.
        left: usize,
        /// Library id of the right child.
        right: usize,
        /// The node's own output.
        value: f32,
    },
}

/// Builds a [`FlatTree`] from a library tree whose root has id 0, numbering the nodes
/// breadth-first (so every child comes after its parent, as the runtime requires). Nodes no
/// path from the root reaches — such as missing-value branches, which finite rows never take —
/// are left out. Errors name the library node.
pub(crate) fn flatten(node: impl Fn(usize) -> Result<LibNode, String>) -> Result<FlatTree, String> {
    let mut t = FlatTree {
        feature: Vec::new(),
        threshold: Vec::new(),
        left: Vec::new(),
        right: Vec::new(),
        value: Vec::new(),
    };
    // Library ids in flat order; a node's flat index is its position here.
    let mut order: VecDeque<usize> = VecDeque::from([0]);
    let mut next = 1usize;
    while let Some(id) = order.pop_front() {
        if t.feature.len() >= MAX_NODES {
            return Err(format!("more than {MAX_NODES} nodes reachable"));
        }
        match node(id)? {
            LibNode::Leaf(v) => {
                t.feature.push(LEAF);
                t.threshold.push(0.0);
                t.left.push(0);
                t.right.push(0);
                t.value.push(v);
            }
            LibNode::Split {
                feature,
                threshold,
                left,
                right,
                value,
            } => {
                if feature >= N_FEATURES {
                    return Err(format!("node {id}: feature {feature} outside the schema"));
                }
                if left == right {
                    return Err(format!("node {id}: both children are node {left}"));
                }
                t.feature.push(feature as u16);
                t.threshold.push(threshold);
                t.left.push(next as u32);
                t.right.push((next + 1) as u32);
                t.value.push(value);
                order.push_back(left);
                order.push_back(right);
                next += 2;
            }
        }
    }
    Ok(t)
}

/// A copy of `t` without the nodes no longer reachable from its root (after splits were
/// turned into leaves), renumbered breadth-first.
pub(crate) fn compact(t: &FlatTree) -> FlatTree {
    let n = t.feature.len();
    flatten(|i| {
        if i >= n {
            return Err(format!("node {i} out of range"));
        }
        Ok(if t.feature[i] == LEAF {
            LibNode::Leaf(t.value[i])
        } else {
            LibNode::Split {
                feature: usize::from(t.feature[i]),
                threshold: t.threshold[i],
                left: t.left[i] as usize,
                right: t.right[i] as usize,
                value: t.value[i],
            }
        })
    })
    .expect("a checked tree flattens: its children are in range and it is no larger")
}

/// Walks `row` through `t`, calling `visit` with every node index on the path, root first.
pub(crate) fn path(t: &FlatTree, row: &FeatureRow, mut visit: impl FnMut(usize)) {
    let mut i = 0usize;
    loop {
        visit(i);
        let f = t.feature[i];
        if f == LEAF {
            return;
        }
        i = if row[usize::from(f)] < t.threshold[i] {
            t.left[i]
        } else {
            t.right[i]
        } as usize;
    }
}
