//! Offline training: read an event log ([`dataset`]), replay it in time order through the same
//! engine code that serves live requests ([`replay`]), fit a linfa logistic regression ([`fit`]),
//! measure it and the rules baseline on a time-based held-out split ([`metrics`]), and write the
//! artifact with its schema, metrics and model card ([`card`]).

pub mod card;
pub mod dataset;
pub mod fit;
pub mod metrics;
pub mod replay;

/// Why training failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Reading the dataset failed.
    #[error(transparent)]
    Dataset(#[from] dataset::DatasetError),
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

use std::path::Path;

use serde::Serialize;

use crate::config::{Backend, Config};
use crate::engine::Engine;
use crate::model::artifact::{Artifact, FORMAT_VERSION, ModelKind};
use crate::model::{LinearModel, rules};

/// Share of scored events (by time) used for training; the rest is the held-out test split.
pub const TRAIN_SHARE: f64 = 0.7;

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
}

/// Trains from the dataset at `data`, writes the artifact to `out`, and returns the report.
/// `cfg` supplies geo sources and feature tunables; the store is always a fresh memory store.
pub fn train(data: &Path, cfg: &Config, out: &Path) -> Result<TrainReport, TrainError> {
    let ds = dataset::read_dataset(data)?;
    let mut replay_cfg = cfg.clone();
    replay_cfg.store.backend = Backend::Memory;
    replay_cfg.model.path = "rules".into();
    let engine = Engine::from_config(&replay_cfg)?;
    let rep = replay::replay(&ds, &engine)?;
    let n = rep.rows.len();
    if n < 50 {
        return Err(TrainError::Data(format!(
            "{n} scored events; need at least 50"
        )));
    }
    let cut = ((n as f64) * TRAIN_SHARE) as usize;
    let cutoff_ms = rep.ts_ms[cut.min(n - 1)];
    let split = rep.ts_ms.partition_point(|t| *t < cutoff_ms);
    let (train_rows, test_rows) = rep.rows.split_at(split);
    let (train_y, test_y) = rep.labels.split_at(split);
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
    let lr = LinearModel::from_artifact(&art);
    let baseline = LinearModel::from_artifact(&rules::artifact());
    let probs = |m: &LinearModel| {
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
    });
    art.training = serde_json::to_value(&ds.description).unwrap_or_default();
    art.card = card::model_card(
        &data.display().to_string(),
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
    })
}
