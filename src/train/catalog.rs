//! The models directory as a data scientist sees it: every model directory with its family,
//! version and headline test figures (`tessera models list`), and two models side by side with
//! their differences, per-tactic recall included (`tessera models compare`). Reads
//! `model.json` and `metrics.json` and never writes (promotion is [`crate::model::active`]).
//!
//! `metrics.json` is read through [`MetricsSummary`], a tolerant view of the fields shown
//! (missing ones are `None`; NaN, written by serde as `null`, too), so files written by older
//! or newer builds still list.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::output::METRICS_FILE;
use crate::model::active::{self, MODEL_FILE};
use crate::model::{Artifact, ArtifactError};

/// Recall at one genuine challenge rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecallAtSummary {
    /// Target share of genuine events challenged (0.05 = 5 %).
    pub genuine_challenge_rate: f64,
    /// Share of attacks challenged.
    #[serde(default)]
    pub recall: Option<f64>,
}

/// One tactic's recall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TacticSummary {
    /// Test events of the tactic.
    #[serde(default)]
    pub events: u64,
    /// Share challenged at 1 % genuine challenged.
    #[serde(default)]
    pub recall_at_1pct: Option<f64>,
    /// Share challenged at 5 % genuine challenged.
    #[serde(default)]
    pub recall_at_5pct: Option<f64>,
}

/// The test figures shown for one model (a view of `train::metrics::Evaluation`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalSummary {
    /// Test events.
    #[serde(default)]
    pub events: u64,
    /// Of which attacks.
    #[serde(default)]
    pub attacks: u64,
    /// ROC AUC.
    #[serde(default)]
    pub roc_auc: Option<f64>,
    /// Average precision.
    #[serde(default)]
    pub pr_auc: Option<f64>,
    /// Brier score.
    #[serde(default)]
    pub brier: Option<f64>,
    /// Log loss.
    #[serde(default)]
    pub log_loss: Option<f64>,
    /// Recall at fixed genuine challenge rates.
    #[serde(default)]
    pub recall_at: Vec<RecallAtSummary>,
    /// Per attack tactic.
    #[serde(default)]
    pub per_tactic: BTreeMap<String, TacticSummary>,
}

impl EvalSummary {
    /// Recall at the `rate` genuine challenge rate, if reported.
    pub fn recall_at(&self, rate: f64) -> Option<f64> {
        self.recall_at
            .iter()
            .find(|r| (r.genuine_challenge_rate - rate).abs() < 1e-9)
            .and_then(|r| r.recall)
    }
}

/// The part of `metrics.json` the catalog reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsSummary {
    /// Model version.
    #[serde(default)]
    pub model_version: String,
    /// Family name.
    #[serde(default)]
    pub family: String,
    /// The command that reproduces the model.
    #[serde(default)]
    pub command: String,
    /// Dataset description (its `fingerprint_blake3` tells whether two models were measured on
    /// the same data).
    #[serde(default)]
    pub data: Value,
    /// The time splits (`splits.test.from` starts the held-out period), as written.
    #[serde(default)]
    pub splits: Value,
    /// Test figures.
    #[serde(default)]
    pub test: EvalSummary,
    /// Baselines on the same test events.
    #[serde(default)]
    pub baselines: BTreeMap<String, EvalSummary>,
}

/// One model directory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listed {
    /// Directory name (what `promote`, `compare` and `backtest --model` take).
    pub name: String,
    /// Named by `ACTIVE`.
    pub active: bool,
    /// Family, from the artifact (or `metrics.json` when the artifact cannot load).
    pub family: Option<String>,
    /// Model version.
    pub model_version: Option<String>,
    /// Test figures, when `metrics.json` is there and readable.
    pub test: Option<EvalSummary>,
    /// Why the model cannot serve or be listed fully (schema mismatch, unreadable metrics …).
    pub problem: Option<String>,
}

/// Reads `dir/NAME/metrics.json`; `None` when there is none.
pub fn read_metrics(dir: &Path, name: &str) -> Result<Option<MetricsSummary>, ArtifactError> {
    read_metrics_at(&dir.join(name).join(METRICS_FILE))
}

/// Reads a `metrics.json` file; `None` when there is none.
pub fn read_metrics_at(path: &Path) -> Result<Option<MetricsSummary>, ArtifactError> {
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ArtifactError::Io {
                path: shown,
                source,
            });
        }
    };
    crate::domain::error::parse_json(&text)
        .map(Some)
        .map_err(|e| ArtifactError::Malformed {
            path: shown,
            problem: e.to_string(),
        })
}

/// Every subdirectory of `dir` holding a `model.json`, by name. A model that cannot load is
/// listed with its problem, not skipped.
pub fn list(dir: &Path) -> Result<Vec<Listed>, ArtifactError> {
    let io = |source| ArtifactError::Io {
        path: dir.display().to_string(),
        source,
    };
    let active = active::active_name(dir)?;
    let mut names: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if active::check_name(&name).is_ok() && entry.path().join(MODEL_FILE).is_file() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names
        .into_iter()
        .map(|name| {
            let (mut family, mut version, mut problem) = (None, None, None);
            match Artifact::load(&active::artifact_path(dir, &name)) {
                Ok(art) => {
                    family = Some(art.kind.name().to_string());
                    version = Some(art.model_version);
                }
                Err(e) => problem = Some(e.to_string()),
            }
            let test = match read_metrics(dir, &name) {
                Ok(Some(m)) => {
                    family = family.or(Some(m.family).filter(|f| !f.is_empty()));
                    version = version.or(Some(m.model_version).filter(|v| !v.is_empty()));
                    Some(m.test)
                }
                Ok(None) => None,
                Err(e) => {
                    problem = problem.or(Some(e.to_string()));
                    None
                }
            };
            Listed {
                active: active.as_deref() == Some(name.as_str()),
                name,
                family,
                model_version: version,
                test,
                problem,
            }
        })
        .collect())
}

/// One figure of both models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// What is compared.
    pub metric: String,
    /// Model A's value.
    pub a: Option<f64>,
    /// Model B's value.
    pub b: Option<f64>,
    /// `b − a`.
    pub diff: Option<f64>,
}

/// Both models side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// A's name, family and version.
    pub a: Listed,
    /// B's.
    pub b: Listed,
    /// Headline test figures.
    pub rows: Vec<Row>,
    /// Recall at 5 % genuine challenged per tactic (every tactic either model saw), then at 1 %.
    pub tactics: Vec<Row>,
    /// Whether both were measured on the same data (`data.fingerprint_blake3` equal); `None`
    /// when a fingerprint is missing.
    pub same_data: Option<bool>,
}

fn row(metric: impl Into<String>, a: Option<f64>, b: Option<f64>) -> Row {
    let finite = |x: Option<f64>| x.filter(|v| v.is_finite());
    let (a, b) = (finite(a), finite(b));
    Row {
        metric: metric.into(),
        a,
        b,
        diff: a.zip(b).map(|(a, b)| b - a),
    }
}

/// Compares models `a` and `b` of `dir` on their test figures. Both need a `metrics.json`.
pub fn compare(dir: &Path, a: &str, b: &str) -> Result<Comparison, ArtifactError> {
    let listed = list(dir)?;
    let find = |name: &str| -> Result<(Listed, MetricsSummary), ArtifactError> {
        let missing = |problem: &str| ArtifactError::Malformed {
            path: dir.join(name).display().to_string(),
            problem: problem.to_string(),
        };
        active::check_name(name).map_err(|p| missing(&format!("model name: {p}")))?;
        let l = listed
            .iter()
            .find(|l| l.name == name)
            .cloned()
            .ok_or_else(|| missing("model.json: no such model directory"))?;
        let m = read_metrics(dir, name)?.ok_or_else(|| missing("metrics.json: missing"))?;
        Ok((l, m))
    };
    let (la, ma) = find(a)?;
    let (lb, mb) = find(b)?;
    let (ta, tb) = (&ma.test, &mb.test);
    let rows = vec![
        row(
            "test events",
            Some(ta.events as f64),
            Some(tb.events as f64),
        ),
        row(
            "test attacks",
            Some(ta.attacks as f64),
            Some(tb.attacks as f64),
        ),
        row("ROC AUC", ta.roc_auc, tb.roc_auc),
        row("PR AUC", ta.pr_auc, tb.pr_auc),
        row(
            "recall at 1 % genuine",
            ta.recall_at(0.01),
            tb.recall_at(0.01),
        ),
        row(
            "recall at 5 % genuine",
            ta.recall_at(0.05),
            tb.recall_at(0.05),
        ),
        row("Brier score", ta.brier, tb.brier),
        row("log loss", ta.log_loss, tb.log_loss),
    ];
    let mut names: Vec<&String> = ta.per_tactic.keys().chain(tb.per_tactic.keys()).collect();
    names.sort();
    names.dedup();
    let mut tactics = Vec::new();
    for (suffix, pick) in [
        (
            "5 %",
            (|t: &TacticSummary| t.recall_at_5pct) as fn(&TacticSummary) -> Option<f64>,
        ),
        ("1 %", |t: &TacticSummary| t.recall_at_1pct),
    ] {
        for n in &names {
            tactics.push(row(
                format!("{n} at {suffix}"),
                ta.per_tactic.get(*n).and_then(pick),
                tb.per_tactic.get(*n).and_then(pick),
            ));
        }
    }
    let fp = |m: &MetricsSummary| {
        ["fingerprint_blake3", "fingerprint"]
            .iter()
            .find_map(|k| m.data.get(*k).and_then(Value::as_str))
            .map(String::from)
    };
    let same_data = fp(&ma).zip(fp(&mb)).map(|(x, y)| x == y);
    Ok(Comparison {
        a: la,
        b: lb,
        rows,
        tactics,
        same_data,
    })
}

#[cfg(test)]
#[path = "catalog_tests.rs"]
mod tests;
