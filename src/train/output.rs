//! What a training run leaves behind: a model directory `models/NAME/` holding `model.json`
//! (the artifact: parameters, feature schema, calibration, seed and data fingerprint),
//! `metrics.json` ([`MetricsFile`]: every held-out figure, curves for plots, the calibration
//! choice, the chosen thresholds, per-tactic recall) and `card.html` (the model card,
//! [`super::card`]). Writing is atomic per file (temp file, then rename) and deterministic: the
//! same seed and data give byte-identical files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::metrics::Evaluation;
use crate::model::{Artifact, ArtifactError};

/// File names inside a model directory.
pub const MODEL_FILE: &str = "model.json";
/// See [`MODEL_FILE`].
pub const METRICS_FILE: &str = "metrics.json";
/// See [`MODEL_FILE`].
pub const CARD_FILE: &str = "card.html";

/// One split of the time-ordered labelled events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitInfo {
    /// Labelled scored events.
    pub rows: u64,
    /// Of which attacks.
    pub attacks: u64,
    /// First event time (RFC 3339).
    pub from: String,
    /// Last event time (RFC 3339).
    pub to: String,
}

/// The three splits, by time: train, then validation (calibration and thresholds), then test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Splits {
    /// Fitting.
    pub train: SplitInfo,
    /// Calibration, threshold choice.
    pub validation: SplitInfo,
    /// Every reported figure.
    pub test: SplitInfo,
}

/// The allow threshold chosen on validation for a target genuine challenge rate, and what it
/// did on test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChosenThreshold {
    /// Target share of genuine events challenged (0.05 = 5 %).
    pub target_genuine_challenge_rate: f64,
    /// Lowest trust score allowed passively (the policy ladder's `allow`).
    pub allow_trust: u8,
    /// Genuine share challenged on validation at that threshold.
    pub validation_genuine_challenged: f64,
    /// Genuine share challenged on test.
    pub test_genuine_challenged: f64,
    /// Attacks challenged on test.
    pub test_recall: f64,
}

/// A curve for plotting: `(x, y)` points, at most a few hundred.
pub type Curve = Vec<(f64, f64)>;

/// Curves of one model on test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Curves {
    /// ROC: (false positive rate, true positive rate).
    pub roc: Curve,
    /// Precision–recall: (recall, precision).
    pub pr: Curve,
}

/// Calibration choice as written (see `train::calibrate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationInfo {
    /// Method kept.
    pub chosen: String,
    /// Cross-fitted mean log loss of each candidate on validation.
    pub log_loss: Vec<(String, f64)>,
}

/// One feature's importance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Importance {
    /// Feature name.
    pub feature: String,
    /// Mean absolute log-odds term over the test events (what the reasons are built from).
    pub mean_abs_term: f64,
}

/// `metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsFile {
    /// Model version written.
    pub model_version: String,
    /// Family name (`logistic`, `forest`, `boosting`, `freeman`, `anomaly`).
    pub family: String,
    /// Random seed of the fit.
    pub seed: u64,
    /// The command that reproduces the directory.
    pub command: String,
    /// Dataset: path, format, rows, fingerprint (BLAKE3 of the file), scenarios.
    pub data: serde_json::Value,
    /// Where the labels came from and which column.
    pub labels: serde_json::Value,
    /// The splits.
    pub splits: Splits,
    /// Calibration choice.
    pub calibration: CalibrationInfo,
    /// The held-out test figures of this model.
    pub test: Evaluation,
    /// The same figures of the baselines on the same test events (`rules`, and `freeman` when
    /// the schema has its features).
    pub baselines: BTreeMap<String, Evaluation>,
    /// Thresholds chosen on validation.
    pub thresholds: Vec<ChosenThreshold>,
    /// Curves on test, this model's and the baselines'.
    pub curves: BTreeMap<String, Curves>,
    /// Features by importance, largest first.
    pub importance: Vec<Importance>,
    /// Wall-clock seconds per step (replay, fit, calibrate, evaluate) — not part of the model.
    pub seconds: BTreeMap<String, f64>,
}

/// Writes `text` to `path` atomically.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), ArtifactError> {
    let io = |source| ArtifactError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Writes a model directory: `model.json`, `metrics.json` and `card.html`.
pub fn write_model_dir(
    dir: &Path,
    art: &Artifact,
    metrics: &MetricsFile,
    card_html: &str,
) -> Result<PathBuf, ArtifactError> {
    art.save(&dir.join(MODEL_FILE))?;
    let text = serde_json::to_string_pretty(metrics).map_err(|e| ArtifactError::Malformed {
        path: dir.join(METRICS_FILE).display().to_string(),
        problem: e.to_string(),
    })?;
    write_atomic(&dir.join(METRICS_FILE), &(text + "\n"))?;
    write_atomic(&dir.join(CARD_FILE), card_html)?;
    Ok(dir.to_path_buf())
}

/// ROC and PR curves of `scores` against `labels`, thinned to at most `max_points` points each.
pub fn curves(scores: &[f64], labels: &[bool], max_points: usize) -> Curves {
    let n = scores.len().min(labels.len());
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let pos = labels[..n].iter().filter(|y| **y).count().max(1) as f64;
    let neg = (n as f64 - labels[..n].iter().filter(|y| **y).count() as f64).max(1.0);
    let (mut tp, mut fp) = (0f64, 0f64);
    let mut roc = vec![(0.0, 0.0)];
    let mut pr = Vec::new();
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        for &k in &idx[i..=j] {
            if labels[k] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
        }
        roc.push((fp / neg, tp / pos));
        pr.push((tp / pos, tp / (tp + fp)));
        i = j + 1;
    }
    let thin = |c: Curve| -> Curve {
        if c.len() <= max_points || max_points < 2 {
            return c;
        }
        let step = c.len().div_ceil(max_points - 1);
        let last = c[c.len() - 1];
        let mut out: Curve = c.into_iter().step_by(step).collect();
        if out.last() != Some(&last) {
            out.push(last);
        }
        out
    };
    Curves {
        roc: thin(roc),
        pr: thin(pr),
    }
}
