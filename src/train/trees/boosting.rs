//! Gradient-boosted trees (Friedman, "Greedy function approximation: a gradient boosting
//! machine", 2001) compiled to [`Ensemble`] with [`Combine::Sum`]: raw score = the library's
//! base score + Σ leaf values = log-odds of attack.
//!
//! - **Directions** are monotone constraints: +1 for a risk feature, −1 for a trust feature,
//!   none for context the broker supplies. The library bounds each constrained split's
//!   subtrees by the midpoint of its children (the XGBoost scheme), which is the condition
//!   [`Ensemble::check`] verifies — except that forust-ml 0.8 clamps a child's weight into the
//!   inherited bounds only when the split's own feature is constrained, so a split on the
//!   channel inside a bounded subtree can escape them. [`repair::bound`] completes the
//!   bounding after flattening (it moves only those escaped values; counted in the card), and
//!   the check runs on every fit.
//! - **Split rule.** The library sends a row left when `x < split_value` (f64); thresholds are
//!   converted exactly to the runtime's f32 rule ([`super::threshold_for_lt`]). Missing-value
//!   branches are switched off, and the rows are checked finite, so none is ever needed;
//!   [`super::flatten`] drops any that a library creates anyway.
//! - **Stopping.** Early stopping on the validation split's log-loss.
//! - **Determinism.** Fixed seed, a fixed thread count; histograms are summed per column, so
//!   the same rows give the same trees (tested: two fits → identical ensembles).
//!
//! Never sees the test rows.

use std::collections::HashMap;

use serde::Serialize;

use crate::features::schema::Direction;
use crate::features::{FEATURES, FeatureRow, N_FEATURES};
use crate::model::trees::{Combine, Ensemble, FlatTree};

use super::repair::{self, Repaired};
use super::{LibNode, TrainError, check_rows, flatten, threshold_for_lt};

/// Boosting parameters. The defaults are what `tessera train --model boosting` uses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoostingParams {
    /// Most boosting rounds (trees), 1–4096.
    pub max_rounds: usize,
    /// Rounds without a better validation log-loss before stopping.
    pub early_stopping_rounds: usize,
    /// Shrinkage per tree.
    pub learning_rate: f32,
    /// Deepest tree.
    pub max_depth: usize,
    /// Smallest hessian sum in a leaf.
    pub min_leaf_weight: f32,
    /// L2 penalty on leaf values.
    pub l2: f32,
    /// Histogram bins per feature.
    pub bins: u16,
    /// Threads the library uses (fixed, for reproducibility).
    pub threads: usize,
}

impl Default for BoostingParams {
    fn default() -> Self {
        BoostingParams {
            max_rounds: 500,
            early_stopping_rounds: 20,
            learning_rate: 0.1,
            max_depth: 5,
            min_leaf_weight: 1.0,
            l2: 1.0,
            bins: 256,
            threads: 2,
        }
    }
}

/// A fitted booster with what fitting did.
#[derive(Debug, Clone, PartialEq)]
pub struct BoostingFit {
    /// The compiled, direction-checked ensemble.
    pub ensemble: Ensemble,
    /// The parameters used.
    pub params: BoostingParams,
    /// Rounds fitted before early stopping kept the best prefix.
    pub rounds_fitted: usize,
    /// Values [`repair::bound`] moved back into their bounds (see the module docs).
    pub repaired: Repaired,
}

impl BoostingFit {
    /// Parameters and counts for the model card.
    pub fn card(&self) -> serde_json::Value {
        let nodes: usize = self.ensemble.trees.iter().map(FlatTree::len).sum();
        serde_json::json!({
            "library": "forust-ml 0.8",
            "params": &self.params,
            "rounds_fitted": self.rounds_fitted,
            "direction_repair": &self.repaired,
            "trees": self.ensemble.trees.len(),
            "nodes": nodes,
            "base_log_odds": self.ensemble.base,
            "monotone_constraints": "risk features +1, trust features −1, channel context none",
        })
    }
}

/// Fits gradient-boosted trees on `rows` (labels `y`) with [`BoostingParams::default`], with
/// the validation split for early stopping: raw score = log-odds ([`Combine::Sum`]). Returns
/// the ensemble and its parameters for the model card.
pub fn fit_boosting(
    rows: &[FeatureRow],
    y: &[bool],
    validation: (&[FeatureRow], &[bool]),
    seed: u64,
) -> Result<(Ensemble, serde_json::Value), TrainError> {
    let fit = fit_boosting_with(rows, y, validation, seed, &BoostingParams::default())?;
    let card = fit.card();
    Ok((fit.ensemble, card))
}

/// Fits gradient-boosted trees with explicit parameters; see the module docs.
pub fn fit_boosting_with(
    rows: &[FeatureRow],
    y: &[bool],
    validation: (&[FeatureRow], &[bool]),
    seed: u64,
    p: &BoostingParams,
) -> Result<BoostingFit, TrainError> {
    check_rows(rows, y, "boosting training rows")?;
    check_rows(validation.0, validation.1, "boosting validation rows")?;
    if !(1..=crate::model::trees::MAX_TREES).contains(&p.max_rounds) {
        return Err(TrainError::Data(
            "boosting.max_rounds: must be 1–4096".into(),
        ));
    }
    if p.threads == 0 {
        return Err(TrainError::Data(
            "boosting.threads: must be at least 1".into(),
        ));
    }
    let (base, mut trees, rounds_fitted) = forust::fit(rows, y, validation, seed, p)?;
    let mut repaired = Repaired::default();
    for t in &mut trees {
        repaired += repair::bound(t);
    }
    let ensemble = Ensemble {
        combine: Combine::Sum,
        base: base as f32,
        trees,
    };
    ensemble
        .check()
        .map_err(|e| TrainError::Fit(format!("boosting: {e}")))?;
    Ok(BoostingFit {
        ensemble,
        params: p.clone(),
        rounds_fitted,
        repaired,
    })
}

/// The rows as one column-major f64 matrix (what forust-ml takes).
pub(crate) fn column_major(rows: &[FeatureRow]) -> Vec<f64> {
    let mut x = Vec::with_capacity(rows.len() * N_FEATURES);
    for j in 0..N_FEATURES {
        x.extend(rows.iter().map(|r| f64::from(r[j])));
    }
    x
}

fn labels(y: &[bool]) -> Vec<f64> {
    y.iter().map(|a| if *a { 1.0 } else { 0.0 }).collect()
}

/// +1 / −1 / 0 per feature from its direction, as a library constraint.
fn constraint<C>(positive: C, negative: C, none: C) -> impl Fn(Direction) -> C
where
    C: Copy,
{
    move |d| match d {
        Direction::Risk => positive,
        Direction::Trust => negative,
        Direction::Either => none,
    }
}

pub(crate) mod forust {
    //! forust-ml: fit and flatten.
    use super::*;
    use forust_ml::Matrix;
    use forust_ml::constraints::Constraint;
    use forust_ml::gradientbooster::GradientBooster;
    use forust_ml::metric::Metric;
    use forust_ml::objective::ObjectiveType;

    /// Fits; returns (base score, flattened trees as the library has them, rounds fitted).
    pub(crate) fn fit(
        rows: &[FeatureRow],
        y: &[bool],
        validation: (&[FeatureRow], &[bool]),
        seed: u64,
        p: &BoostingParams,
    ) -> Result<(f64, Vec<FlatTree>, usize), TrainError> {
        let b = booster(rows, y, validation, seed, p)?;
        let n = b
            .prediction_iteration
            .unwrap_or(b.trees.len())
            .min(b.trees.len());
        let trees = b.trees[..n]
            .iter()
            .enumerate()
            .map(|(k, t)| {
                flatten_tree(t).map_err(|e| TrainError::Fit(format!("boosting tree {k}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((b.base_score, trees, b.trees.len()))
    }

    /// The library's fitted booster (tests compare its predictions with the flat form).
    pub(crate) fn booster(
        rows: &[FeatureRow],
        y: &[bool],
        validation: (&[FeatureRow], &[bool]),
        seed: u64,
        p: &BoostingParams,
    ) -> Result<GradientBooster, TrainError> {
        let c = constraint(
            Constraint::Positive,
            Constraint::Negative,
            Constraint::Unconstrained,
        );
        let constraints: HashMap<usize, Constraint> = FEATURES
            .iter()
            .enumerate()
            .map(|(i, d)| (i, c(d.direction)))
            .collect();
        let mut b = GradientBooster::default()
            .set_objective_type(ObjectiveType::LogLoss)
            .set_iterations(p.max_rounds)
            .set_learning_rate(p.learning_rate)
            .set_max_depth(p.max_depth)
            .set_min_leaf_weight(p.min_leaf_weight)
            .set_l2(p.l2)
            .set_nbins(p.bins)
            .set_monotone_constraints(Some(constraints))
            .set_seed(seed)
            .set_parallel(true)
            .set_num_threads(Some(p.threads))
            .set_allow_missing_splits(false)
            .set_create_missing_branch(false)
            .set_initialize_base_score(true)
            .set_evaluation_metric(Some(Metric::LogLoss))
            .set_early_stopping_rounds(Some(p.early_stopping_rounds));
        let x = column_major(rows);
        let xv = column_major(validation.0);
        let (yt, yv) = (labels(y), labels(validation.1));
        let (wt, wv) = (vec![1.0; yt.len()], vec![1.0; yv.len()]);
        let eval = vec![(
            Matrix::new(&xv, yv.len(), N_FEATURES),
            yv.as_slice(),
            wv.as_slice(),
        )];
        b.fit(&Matrix::new(&x, yt.len(), N_FEATURES), &yt, &wt, Some(eval))
            .map_err(|e| TrainError::Fit(format!("forust-ml: {e}")))?;
        Ok(b)
    }

    fn flatten_tree(t: &forust_ml::tree::Tree) -> Result<FlatTree, String> {
        let at: HashMap<usize, usize> = t
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.num, i))
            .collect();
        flatten(|id| {
            let n = at
                .get(&id)
                .and_then(|&i| t.nodes.get(i))
                .ok_or_else(|| format!("node {id} missing"))?;
            Ok(if n.is_leaf {
                LibNode::Leaf(n.weight_value)
            } else {
                LibNode::Split {
                    feature: n.split_feature,
                    threshold: threshold_for_lt(n.split_value),
                    left: n.left_child,
                    right: n.right_child,
                    value: n.weight_value,
                }
            })
        })
    }
}
