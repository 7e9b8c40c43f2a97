//! The random forest: smartcore's `RandomForestClassifier` (Breiman, "Random forests", 2001),
//! compiled to [`Ensemble`] with [`Combine::Mean`] (raw score = mean leaf attack share).
//!
//! - **Imbalance.** Attacks are a few percent of events. Each tree is fitted on its own seeded
//!   sample: up to [`ForestParams::rows_per_tree`] rows, with [`ForestParams::genuine_per_attack`]
//!   genuine rows per attack row (balanced random forest: Chen, Liaw & Breiman, "Using random
//!   forest to learn imbalanced data", 2004), bootstrapped again inside smartcore per class.
//!   The sample also caps the fit cost: smartcore scans all of a tree's rows at every node.
//! - **Parallel, deterministic.** smartcore grows a forest's trees one after another; here tree
//!   `k` is a one-tree forest with seed `seed + k` and sample stream `k`, fitted on rayon's pool
//!   and collected in order, so the result does not depend on thread scheduling.
//! - **Structure.** smartcore's nodes are private and keep only the majority class; the tree is
//!   read through its serde form (feature `serde`), and its "go left when x ≤ v" splits are
//!   converted exactly ([`threshold_for_le`]).
//! - **Values.** Every node's value is re-estimated as the smoothed attack share of *all* the
//!   training rows that reach it, `(attacks + m·prior) / (rows + m)` with `m` =
//!   [`ForestParams::prior_rows`]: a probability on the training prior, at split nodes too, so
//!   path contributions (Saabas) have values to differ.
//! - **Directions.** [`super::repair`] then makes every split respect its feature's direction.
//!
//! Never sees the validation or test rows.

use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;

use crate::features::{FeatureRow, N_FEATURES};
use crate::model::trees::{Combine, Ensemble, FlatTree, MAX_TREES, threshold_for_le};

use super::repair::{self, Repaired};
use super::{LibNode, TrainError, check_rows, flatten, path};

/// How direction-breaking splits are repaired (see [`super::repair`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Repair {
    /// [`repair::collapse`].
    Collapse,
    /// [`repair::bound`].
    Bound,
}

/// Forest parameters. The defaults are what `tessera train --model forest` uses; the README
/// ("Tree families") gives the measurements behind them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForestParams {
    /// Trees (1–[`MAX_TREES`]).
    pub trees: u16,
    /// Deepest level a split may sit at (root = 0), 1–14: a tree then holds at most
    /// 2^15 − 1 nodes, within the runtime's limit.
    pub max_depth: u16,
    /// Fewest bootstrap rows a leaf may hold.
    pub min_leaf_rows: usize,
    /// Features tried at each split (smartcore's `m`), 1–number of features.
    pub features_per_split: usize,
    /// Genuine rows sampled per attack row for each tree; `None` keeps the training share.
    pub genuine_per_attack: Option<f64>,
    /// Most rows one tree is fitted on, before smartcore's bootstrap.
    pub rows_per_tree: usize,
    /// Pseudo-rows at the training attack share added to every node's value (> 0).
    pub prior_rows: f64,
    /// How splits against a feature's direction are repaired.
    pub repair: Repair,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            trees: 100,
            max_depth: 10,
            min_leaf_rows: 5,
            features_per_split: 7,
            genuine_per_attack: Some(1.0),
            rows_per_tree: 16_384,
            prior_rows: 1.0,
            repair: Repair::Bound,
        }
    }
}

/// A fitted forest with what fitting did.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestFit {
    /// The compiled, direction-checked forest.
    pub ensemble: Ensemble,
    /// The parameters used.
    pub params: ForestParams,
    /// What direction repair changed, over all trees.
    pub repaired: Repaired,
    /// Rows each tree was fitted on (attacks, genuine).
    pub sample: (usize, usize),
}

impl ForestFit {
    /// Parameters and counts for the model card.
    pub fn card(&self) -> serde_json::Value {
        let nodes: usize = self.ensemble.trees.iter().map(FlatTree::len).sum();
        serde_json::json!({
            "library": "smartcore 0.7 (RandomForestClassifier, one tree per seed)",
            "params": &self.params,
            "tree_sample": {"attacks": self.sample.0, "genuine": self.sample.1},
            "direction_repair": &self.repaired,
            "trees": self.ensemble.trees.len(),
            "nodes": nodes,
        })
    }
}

/// Fits a random forest on `rows` (labels `y`, true = attack) with [`ForestParams::default`]:
/// raw score = mean leaf attack probability ([`Combine::Mean`]). Returns the ensemble and its
/// parameters for the model card.
pub fn fit_forest(
    rows: &[FeatureRow],
    y: &[bool],
    seed: u64,
) -> Result<(Ensemble, serde_json::Value), TrainError> {
    let fit = fit_forest_with(rows, y, seed, &ForestParams::default())?;
    let card = fit.card();
    Ok((fit.ensemble, card))
}

/// Fits a random forest with explicit parameters; see the module docs.
pub fn fit_forest_with(
    rows: &[FeatureRow],
    y: &[bool],
    seed: u64,
    p: &ForestParams,
) -> Result<ForestFit, TrainError> {
    let attacks = check_rows(rows, y, "forest training rows")?;
    check_params(p)?;
    let (trees, repaired, sample) = grow(rows, y, attacks, seed, p, Some(p.repair))?;
    let ensemble = Ensemble {
        combine: Combine::Mean,
        base: 0.0,
        trees,
    };
    ensemble
        .check()
        .map_err(|e| TrainError::Fit(format!("forest after repair: {e}")))?;
    Ok(ForestFit {
        ensemble,
        params: p.clone(),
        repaired,
        sample,
    })
}

/// What [`grow`] returns: the trees, what repair changed, and the rows per tree (attacks,
/// genuine).
pub(crate) type Grown = (Vec<FlatTree>, Repaired, (usize, usize));

/// Fits, flattens and values the trees, repairing directions with `repair` (`None` only to
/// measure what repair costs: the trees then fail [`Ensemble::check`]). Returns the trees,
/// what repair changed, and the rows per tree (attacks, genuine).
pub(crate) fn grow(
    rows: &[FeatureRow],
    y: &[bool],
    attacks: usize,
    seed: u64,
    p: &ForestParams,
    repair: Option<Repair>,
) -> Result<Grown, TrainError> {
    let attack_idx: Vec<usize> = (0..y.len()).filter(|&i| y[i]).collect();
    let genuine_idx: Vec<usize> = (0..y.len()).filter(|&i| !y[i]).collect();
    let (n_att, n_gen) = sample_sizes(attacks, y.len() - attacks, p);
    let prior = attacks as f64 / y.len() as f64;
    let fitted: Vec<(FlatTree, Repaired)> = (0..p.trees)
        .into_par_iter()
        .map(|k| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(u64::from(k));
            let mut idx: Vec<usize> = sample(&mut rng, attack_idx.len(), n_att)
                .into_iter()
                .map(|i| attack_idx[i])
                .chain(
                    sample(&mut rng, genuine_idx.len(), n_gen)
                        .into_iter()
                        .map(|i| genuine_idx[i]),
                )
                .collect();
            idx.sort_unstable();
            let mut t = fit_tree(rows, y, &idx, seed.wrapping_add(u64::from(k)), p)
                .map_err(|e| TrainError::Fit(format!("forest tree {k}: {e}")))?;
            estimate_values(&mut t, rows, y, prior, p.prior_rows);
            let r = match repair {
                Some(Repair::Collapse) => repair::collapse(&mut t),
                Some(Repair::Bound) => repair::bound(&mut t),
                None => Repaired::default(),
            };
            Ok((t, r))
        })
        .collect::<Result<_, TrainError>>()?;
    let mut repaired = Repaired::default();
    let mut trees = Vec::with_capacity(fitted.len());
    for (t, r) in fitted {
        repaired += r;
        trees.push(t);
    }
    Ok((trees, repaired, (n_att, n_gen)))
}

fn check_params(p: &ForestParams) -> Result<(), TrainError> {
    let bad = |field: &str, why: &str| Err(TrainError::Data(format!("forest.{field}: {why}")));
    if p.trees == 0 || usize::from(p.trees) > MAX_TREES {
        return bad("trees", "must be 1–4096");
    }
    if !(1..=14).contains(&p.max_depth) {
        return bad("max_depth", "must be 1–14");
    }
    if p.min_leaf_rows == 0 {
        return bad("min_leaf_rows", "must be at least 1");
    }
    if !(1..=N_FEATURES).contains(&p.features_per_split) {
        return bad("features_per_split", "must be 1–number of features");
    }
    if p.rows_per_tree < 2 {
        return bad("rows_per_tree", "must be at least 2");
    }
    if p.genuine_per_attack
        .is_some_and(|r| !(r.is_finite() && r > 0.0))
    {
        return bad("genuine_per_attack", "must be a positive number");
    }
    if !(p.prior_rows.is_finite() && p.prior_rows > 0.0) {
        return bad("prior_rows", "must be a positive number");
    }
    Ok(())
}

/// Rows per tree (attacks, genuine): the requested mix, within the rows available and the
/// per-tree cap, never fewer than one of each class.
fn sample_sizes(attacks: usize, genuine: usize, p: &ForestParams) -> (usize, usize) {
    let cap = p.rows_per_tree as f64;
    let (a, g) = match p.genuine_per_attack {
        Some(r) => {
            let a = (attacks as f64)
                .min(cap / (1.0 + r))
                .min(genuine as f64 / r);
            (a, a * r)
        }
        None => {
            let k = (cap / (attacks + genuine) as f64).min(1.0);
            (attacks as f64 * k, genuine as f64 * k)
        }
    };
    let a = (a.round() as usize).clamp(1, attacks);
    let g = (g.round() as usize).clamp(1, genuine);
    (a, g)
}

/// smartcore's tree, as far as its serde form shows it.
#[derive(Deserialize)]
struct SmartForest {
    trees: Option<Vec<SmartTree>>,
}

#[derive(Deserialize)]
struct SmartTree {
    nodes: Vec<SmartNode>,
}

#[derive(Deserialize)]
struct SmartNode {
    split_feature: usize,
    split_value: Option<f64>,
    true_child: Option<usize>,
    false_child: Option<usize>,
}

/// Fits one tree on the rows `idx` and flattens it (values still to be estimated).
fn fit_tree(
    rows: &[FeatureRow],
    y: &[bool],
    idx: &[usize],
    tree_seed: u64,
    p: &ForestParams,
) -> Result<FlatTree, String> {
    let n = idx.len();
    let mut values = Vec::with_capacity(n * N_FEATURES);
    // Column-major: every row's feature 0, then feature 1, …
    values.extend((0..N_FEATURES).flat_map(|j| idx.iter().map(move |&i| rows[i][j])));
    let x = DenseMatrix::new(n, N_FEATURES, values, true).map_err(|e| e.to_string())?;
    let labels: Vec<u32> = idx.iter().map(|&i| u32::from(y[i])).collect();
    let params = RandomForestClassifierParameters::default()
        .with_n_trees(1)
        .with_max_depth(p.max_depth)
        .with_min_samples_leaf(p.min_leaf_rows)
        .with_min_samples_split(2 * p.min_leaf_rows)
        .with_m(p.features_per_split)
        .with_seed(tree_seed);
    let forest = RandomForestClassifier::fit(&x, &labels, params).map_err(|e| e.to_string())?;
    let json = serde_json::to_value(&forest).map_err(|e| format!("serialising: {e}"))?;
    let forest: SmartForest =
        serde_json::from_value(json).map_err(|e| format!("reading smartcore's form: {e}"))?;
    let tree = forest
        .trees
        .and_then(|t| t.into_iter().next())
        .ok_or("smartcore returned no tree")?;
    flatten(|i| {
        let node = tree
            .nodes
            .get(i)
            .ok_or_else(|| format!("node {i} missing"))?;
        Ok(
            match (node.true_child, node.false_child, node.split_value) {
                (Some(left), Some(right), Some(v)) => LibNode::Split {
                    feature: node.split_feature,
                    threshold: threshold_for_le(v),
                    left,
                    right,
                    value: 0.0,
                },
                (None, None, _) => LibNode::Leaf(0.0),
                _ => {
                    return Err(format!(
                        "node {i}: a split without both children and a value"
                    ));
                }
            },
        )
    })
}

/// Sets every node's value to the smoothed attack share of the training rows reaching it.
fn estimate_values(t: &mut FlatTree, rows: &[FeatureRow], y: &[bool], prior: f64, m: f64) {
    let mut reach = vec![(0u32, 0u32); t.len()];
    for (row, attack) in rows.iter().zip(y) {
        path(t, row, |i| {
            reach[i].0 += 1;
            reach[i].1 += u32::from(*attack);
        });
    }
    for (v, (n, a)) in t.value.iter_mut().zip(reach) {
        *v = ((f64::from(a) + m * prior) / (f64::from(n) + m)) as f32;
    }
}
