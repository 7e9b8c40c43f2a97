//! Direction repair for trees fitted without monotone constraints (the smartcore forest):
//! change a [`FlatTree`] as little as possible so that it passes
//! [`crate::model::trees::FlatTree::direction_violation`] — at every split on a risk feature,
//! every leaf on the high side is at least every leaf on the low side (reversed for a trust
//! feature).
//!
//! Two ways, both measured (README, "Tree families"):
//! - [`collapse`]: bottom-up, every split whose subtrees break the rule becomes a leaf with the
//!   node's own value. Simple, but the rule compares *every* leaf of both subtrees, so a deep
//!   tree loses nearly every split near its root.
//! - [`bound`]: top-down, as monotone gradient boosting does while growing (XGBoost's
//!   `monotone_constraints`; Chen & Guestrin, KDD 2016, and its docs): a split whose two
//!   children point the wrong way becomes a leaf; otherwise the midpoint of the children's
//!   values bounds the two subtrees (low side ≤ mid ≤ high side) and every value below is
//!   clamped into its bounds. Structure is kept; only out-of-bound values move. The boosted
//!   trees go through it too: forust-ml bounds a child's weight only when the split's own
//!   feature is constrained, so a split on an unconstrained feature (the channel) inside a
//!   bounded subtree can escape its bounds.
//!
//! Never touches features without a direction (`Direction::Either`), and never reorders nodes
//! except to drop the ones a collapse made unreachable.

use serde::Serialize;

use crate::features::FEATURES;
use crate::features::schema::Direction;
use crate::model::trees::{FlatTree, LEAF};

use super::compact;

/// How far [`bound`] lets a value stray outside its bounds before clamping it: float rounding
/// in a library's own bounds (forust-ml scales its bounded weights by the learning rate after
/// bounding) stays untouched, and two strays add up to less than the 1e-6 tolerance of
/// [`FlatTree::direction_violation`] as the runtime calls it.
pub const SLACK: f32 = 2.5e-7;

/// What a repair changed in one tree or, summed, in an ensemble.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Repaired {
    /// Splits turned into leaves.
    pub collapsed_splits: usize,
    /// Nodes whose value was clamped into its bounds ([`bound`] only).
    pub clamped_nodes: usize,
}

impl std::ops::AddAssign for Repaired {
    fn add_assign(&mut self, o: Repaired) {
        self.collapsed_splits += o.collapsed_splits;
        self.clamped_nodes += o.clamped_nodes;
    }
}

fn direction(feature: u16) -> Direction {
    FEATURES
        .get(usize::from(feature))
        .map(|d| d.direction)
        .unwrap_or(Direction::Either)
}

/// Bottom-up collapse (see the module docs). `t` must have its children after their parents
/// (as [`super::flatten`] builds it); the result is compacted.
pub fn collapse(t: &mut FlatTree) -> Repaired {
    let n = t.feature.len();
    let mut out = Repaired::default();
    // (lowest, highest) leaf value under each node, children first.
    let mut range = vec![(0f32, 0f32); n];
    for i in (0..n).rev() {
        if t.feature[i] == LEAF {
            range[i] = (t.value[i], t.value[i]);
            continue;
        }
        let (lo, hi) = (range[t.left[i] as usize], range[t.right[i] as usize]);
        let broken = match direction(t.feature[i]) {
            Direction::Risk => hi.0 < lo.1,
            Direction::Trust => lo.0 < hi.1,
            Direction::Either => false,
        };
        if broken {
            t.feature[i] = LEAF;
            range[i] = (t.value[i], t.value[i]);
            out.collapsed_splits += 1;
        } else {
            range[i] = (lo.0.min(hi.0), lo.1.max(hi.1));
        }
    }
    *t = compact(t);
    out
}

/// Top-down bounds (see the module docs). `t` must have its children after their parents;
/// the result is compacted.
pub fn bound(t: &mut FlatTree) -> Repaired {
    let n = t.feature.len();
    let mut out = Repaired::default();
    let mut bounds = vec![(f32::NEG_INFINITY, f32::INFINITY); n];
    let mut live = vec![false; n];
    if let Some(root) = live.first_mut() {
        *root = true;
    }
    for i in 0..n {
        if !live[i] {
            continue;
        }
        let (lo, hi) = bounds[i];
        let v = t.value[i];
        if v < lo - SLACK || v > hi + SLACK {
            out.clamped_nodes += 1;
            t.value[i] = v.clamp(lo, hi);
        }
        if t.feature[i] == LEAF {
            continue;
        }
        let (l, r) = (t.left[i] as usize, t.right[i] as usize);
        let (vl, vr) = (t.value[l], t.value[r]);
        let dir = direction(t.feature[i]);
        let wrong = match dir {
            Direction::Risk => vl > vr + SLACK,
            Direction::Trust => vl + SLACK < vr,
            Direction::Either => false,
        };
        if wrong {
            t.feature[i] = LEAF;
            out.collapsed_splits += 1;
            continue;
        }
        let mid = (0.5 * (vl.clamp(lo, hi) + vr.clamp(lo, hi))).clamp(lo, hi);
        let (bl, br) = match dir {
            Direction::Risk => ((lo, mid), (mid, hi)),
            Direction::Trust => ((mid, hi), (lo, mid)),
            Direction::Either => ((lo, hi), (lo, hi)),
        };
        bounds[l] = bl;
        bounds[r] = br;
        live[l] = true;
        live[r] = true;
    }
    *t = compact(t);
    out
}
