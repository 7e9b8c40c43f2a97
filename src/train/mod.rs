//! Offline training: read an event log ([`dataset`]), take labels from its `is_attack` column or
//! join them from the server's label log ([`labels`]), replay every event in time order through
//! the same engine code that serves live requests ([`replay`]), fit a linfa logistic regression
//! on the labelled events only ([`fit`]), measure it and the rules baseline on a time-based
//! held-out split ([`metrics`]), and write the artifact with its schema, metrics and model card
//! ([`card`]).

pub mod backtest;
pub mod backtest_compare;
pub mod calibrate;
pub mod card;
pub mod card_page;
pub mod catalog;
pub mod dataset;
pub mod export;
pub mod fit;
pub mod labels;
pub mod metrics;
pub mod output;
pub mod plots;
pub mod progress;
pub mod replay;
pub mod trees;

/// Why training failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Reading the dataset failed.
    #[error(transparent)]
    Dataset(#[from] dataset::DatasetError),
    /// Reading a label log failed (a line names file, line and field).
    #[error(transparent)]
    Labels(#[from] labels::LabelError),
    /// The engine could not be built or failed during replay.
    #[error("replay: {0}")]
    Engine(#[from] crate::Error),
    /// The data cannot train a model (too few rows, one class only …).
    #[error("training data: {0}")]
    Data(String),
    /// The optimiser failed.
    #[error("fit: {0}")]
    Fit(String),
    /// Writing the artifact failed.
    #[error(transparent)]
    Artifact(#[from] crate::model::ArtifactError),
}

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{Backend, Config};
use crate::engine::Engine;
use crate::model::artifact::{Artifact, FORMAT_VERSION, ModelKind};
use crate::model::{Model, rules};

/// Share of labelled scored events (by time) used for training; the rest is the held-out test
/// split.
pub const TRAIN_SHARE: f64 = 0.7;

/// Where the labels come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelOptions {
    /// Label logs written by `tessera serve`, read in order; empty = the `is_attack` column.
    pub logs: Vec<PathBuf>,
    /// How failed OTP/KBA challenges count (label-log only).
    pub failed_challenge: labels::FailedChallenge,
}

/// Where a run's labels came from, with counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum LabelSource {
    /// The event log's `is_attack` column.
    Column {
        /// Score rows with `is_attack` true.
        attack_rows: usize,
        /// Score rows with `is_attack` false.
        genuine_rows: usize,
        /// Score rows with `is_attack` null (replayed, not fitted).
        unlabelled_rows: usize,
    },
    /// The label log, joined by `request_id`.
    LabelLog(labels::LabelSummary),
}

/// What a training run produced.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    /// Metrics of the fitted model on the held-out split.
    pub model: metrics::ModelMetrics,
    /// Metrics of the rules baseline on the same split.
    pub rules_baseline: metrics::ModelMetrics,
    /// Training rows.
    pub train_rows: usize,
    /// Test rows.
    pub test_rows: usize,
    /// Model version written.
    pub model_version: String,
    /// Where the labels came from.
    pub labels: LabelSource,
    /// Outcome events the engine refused during replay (unknown or expired request, outcome
    /// before its score, user mismatch).
    pub refused_outcomes: usize,
}

/// Trains from the dataset at `data` with labels from its `is_attack` column; see
/// [`train_with_labels`].
pub fn train(data: &Path, cfg: &Config, out: &Path) -> Result<TrainReport, TrainError> {
    train_with_labels(data, &LabelOptions::default(), cfg, out)
}

/// Trains from the dataset at `data` with labels as `opts` says, writes the artifact to `out`,
/// and returns the report. Every event is replayed; only labelled score events are fitted and
/// split. `cfg` supplies geo sources and feature tunables; the store is always a fresh memory
/// store.
pub fn train_with_labels(
    data: &Path,
    opts: &LabelOptions,
    cfg: &Config,
    out: &Path,
) -> Result<TrainReport, TrainError> {
    let (ds, source) = if opts.logs.is_empty() {
        let ds = dataset::read_dataset(data)?;
        let d = &ds.description;
        let source = LabelSource::Column {
            attack_rows: d.attack_rows,
            genuine_rows: d.score_rows - d.attack_rows - d.unlabelled_rows,
            unlabelled_rows: d.unlabelled_rows,
        };
        (ds, source)
    } else {
        let log = labels::read_label_logs(&opts.logs)?;
        let ds = dataset::read_dataset_with(data, dataset::LabelColumn::Ignore)?;
        let (ds, summary) = labels::apply(ds, &log, opts.failed_challenge);
        (ds, LabelSource::LabelLog(summary))
    };
    let mut replay_cfg = cfg.clone();
    replay_cfg.store.backend = Backend::Memory;
    replay_cfg.model.path = "rules".into();
    // A fixed key: the replay store is discarded, and a fixed key makes training reproducible.
    let key = crate::privacy::Pseudonymizer::new(*blake3::hash(b"tessera train replay").as_bytes());
    let engine = Engine::from_config_with_key(&replay_cfg, key)?;
    let rep = replay::replay(&ds, &engine)?;
    // Fit only the labelled events (still in time order); the rest shaped history in replay.
    let (mut rows, mut ys, mut ts_ms, mut absences) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let refused_outcomes = rep.refused_outcomes;
    for (((row, label), ts), u) in rep
        .rows
        .into_iter()
        .zip(rep.labels)
        .zip(rep.ts_ms)
        .zip(rep.absences)
    {
        if let Some(y) = label {
            rows.push(row);
            ys.push(y);
            ts_ms.push(ts);
            absences.push(u);
        }
    }
    let n = rows.len();
    if n < 50 {
        return Err(TrainError::Data(format!(
            "{n} labelled scored events; need at least 50"
        )));
    }
    let cut = ((n as f64) * TRAIN_SHARE) as usize;
    let cutoff_ms = ts_ms[cut.min(n - 1)];
    let split = ts_ms.partition_point(|t| *t < cutoff_ms);
    // Sources missing by design or by failure are imputed with neutral values learned from the
    // training rows only, in training and evaluation alike, exactly as serving imputes them.
    let neutral = neutral_values(&rows[..split], &absences[..split], &ys[..split]);
    for (row, u) in rows.iter_mut().zip(&absences) {
        impute_neutral(row, u, &neutral);
    }
    let (train_rows, test_rows) = rows.split_at(split);
    let (train_y, test_y) = ys.split_at(split);
    if test_rows.is_empty() || !test_y.iter().any(|y| *y) || test_y.iter().all(|y| *y) {
        return Err(TrainError::Data(
            "held-out split needs both attacks and genuine events".into(),
        ));
    }
    let fitted = fit::fit_logistic(train_rows, train_y)?;
    let mut art = Artifact {
        format_version: FORMAT_VERSION,
        model_version: String::new(),
        kind: ModelKind::LogisticRegression,
        schema: crate::features::FeatureSchema::current(),
        weights: fitted.weights,
        intercept: fitted.intercept,
        metrics: serde_json::Value::Null,
        training: serde_json::Value::Null,
        card: serde_json::Value::Null,
        neutral,
        trees: None,
        anomaly: None,
        calibration: Default::default(),
    };
    let digest = blake3::hash(
        serde_json::to_string(&(&art.weights, art.intercept))
            .unwrap_or_default()
            .as_bytes(),
    );
    art.model_version = format!(
        "tessera-lr-v{}-{}",
        art.schema.version,
        &digest.to_hex()[..8]
    );
    let lr = Model::from_artifact(&art);
    let baseline = Model::from_artifact(&rules::artifact());
    let probs = |m: &Model| {
        test_rows
            .iter()
            .map(|r| m.probability(r))
            .collect::<Vec<f64>>()
    };
    let model_metrics = metrics::evaluate(&probs(&lr), test_y);
    let rules_metrics = metrics::evaluate(&probs(&baseline), test_y);
    let cutoff = chrono::DateTime::from_timestamp_millis(cutoff_ms)
        .map(|d| d.to_rfc3339())
        .unwrap_or_default();
    art.metrics = serde_json::json!({
        "split": {"kind": "time", "train_share": TRAIN_SHARE, "cutoff": cutoff, "train_rows": train_rows.len(), "test_rows": test_rows.len(),
                  "test_attacks": test_y.iter().filter(|y| **y).count()},
        "logistic_regression": model_metrics,
        "rules_baseline": rules_metrics,
        "fit": {"library": "linfa-logistic 0.8", "alpha": fit::ALPHA, "max_iterations": fit::MAX_ITERATIONS, "standardised": true},
        "labels": &source,
        "replay": {"refused_outcomes": refused_outcomes},
    });
    art.training = serde_json::to_value(&ds.description).unwrap_or_default();
    art.card = card::model_card(
        &data.display().to_string(),
        &source,
        train_rows.len(),
        test_rows.len(),
        &cutoff,
    );
    art.save(out)?;
    Ok(TrainReport {
        model: model_metrics,
        rules_baseline: rules_metrics,
        train_rows: train_rows.len(),
        test_rows: test_rows.len(),
        model_version: art.model_version,
        labels: source,
        refused_outcomes,
    })
}

/// The neutral value of each feature: its mean over the genuine training rows in which every
/// source it needs was present; 0 for features that lower risk (a missing source never earns
/// trust) and when no such row exists.
pub fn neutral_values(
    rows: &[crate::features::FeatureRow],
    absences: &[crate::features::Unavailable],
    ys: &[bool],
) -> Vec<f64> {
    use crate::features::FEATURES;
    use crate::features::schema::Direction;
    FEATURES
        .iter()
        .enumerate()
        .map(|(i, def)| {
            if def.direction == Direction::Trust {
                return 0.0;
            }
            let (sum, n) = rows
                .iter()
                .zip(absences)
                .zip(ys)
                .filter(|((_, u), y)| !**y && u.affecting(def.needs).is_none())
                .fold((0.0f64, 0usize), |(s, n), ((r, _), _)| {
                    (s + f64::from(r[i]), n + 1)
                });
            if n == 0 {
                0.0
            } else {
                (sum / n as f64).clamp(0.0, f64::from(def.max))
            }
        })
        .collect()
}

/// Replaces, in `row`, every feature that needs a source missing by design or by failure with
/// its neutral value (client-caused absences stay as extracted: the worst case is serving's
/// fail-secure rule, applied on top of the model).
pub fn impute_neutral(
    row: &mut crate::features::FeatureRow,
    u: &crate::features::Unavailable,
    neutral: &[f64],
) {
    use crate::domain::Absence;
    if u.is_empty() {
        return;
    }
    for (i, def) in crate::features::FEATURES.iter().enumerate() {
        if let Some((_, Absence::ByDesign | Absence::Failed)) = u.affecting(def.needs) {
            row[i] = neutral.get(i).copied().unwrap_or(0.0) as f32;
        }
    }
}
