//! `tessera features`: the replayed feature rows of an event log as a Parquet file for
//! notebooks. The rows come from the replay training uses ([`super::replay`]: every event in
//! time order through the live feature code against a fresh memory store), so a notebook never
//! re-implements a feature. Columns: `ts_ms` (i64, event time), `scenario` (str), `is_attack`
//! (bool, null when unlabelled), one f32 column per feature under its schema name
//! (`network.tor_exit` …), and for each model given `score.NAME.p_attack` (f64, calibrated
//! attack probability) and `score.NAME.trust` (f64, trust 0–100), computed as serving computes
//! them (the model's own imputation of missing sources, then its calibration; the policy's
//! floors are not applied). Writes only the file it is given.

use std::path::Path;

use polars::prelude::*;

use super::TrainError;
use super::dataset::Dataset;
use super::replay::Replayed;
use crate::features::FeatureSchema;
use crate::model::Model;

/// What was written.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Exported {
    /// Rows (scored events).
    pub rows: usize,
    /// Of which labelled attacks.
    pub attacks: usize,
    /// Of which labelled genuine.
    pub genuine: usize,
    /// Column names, in file order.
    pub columns: Vec<String>,
}

/// Writes the replayed rows with the scores of `models` (`(name, model)`; names must be
/// unique) to `out` (Parquet, zstd).
pub fn export(
    replayed: &Replayed,
    models: &[(String, Model)],
    out: &Path,
) -> Result<Exported, TrainError> {
    let shown = out.display().to_string();
    let parquet = |e: PolarsError| TrainError::Data(format!("{shown}: {e}"));
    let schema = FeatureSchema::current();
    for (i, (name, _)) in models.iter().enumerate() {
        if models[..i].iter().any(|(n, _)| n == name) {
            return Err(TrainError::Data(format!(
                "--model: a model name is given twice (model {})",
                i + 1
            )));
        }
    }
    let r = replayed;
    let n = r.rows.len();
    let mut columns = vec![
        Column::new("ts_ms".into(), &r.ts_ms),
        Column::new(
            "scenario".into(),
            r.scenarios
                .iter()
                .map(String::as_str)
                .collect::<Vec<&str>>(),
        ),
        Column::new("is_attack".into(), &r.labels),
    ];
    for (i, name) in schema.names.iter().enumerate() {
        let values: Vec<f32> = r
            .rows
            .iter()
            .map(|row| row.get(i).copied().unwrap_or(f32::NAN))
            .collect();
        columns.push(Column::new(name.as_str().into(), values));
    }
    for (name, model) in models {
        let (mut p, mut trust) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for (raw, u) in r.rows.iter().zip(&r.absences) {
            let mut row = *raw;
            model.impute(&mut row, u);
            p.push(model.probability(&row));
            trust.push(f64::from(model.trust(&row).value()));
        }
        columns.push(Column::new(format!("score.{name}.p_attack").into(), p));
        columns.push(Column::new(format!("score.{name}.trust").into(), trust));
    }
    let names: Vec<String> = columns.iter().map(|c| c.name().to_string()).collect();
    let mut df = DataFrame::new(n, columns).map_err(parquet)?;
    if let Some(dir) = out.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| TrainError::Data(format!("{}: {e}", dir.display())))?;
    }
    let file = std::fs::File::create(out).map_err(|e| TrainError::Data(format!("{shown}: {e}")))?;
    ParquetWriter::new(file)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(&mut df)
        .map_err(parquet)?;
    Ok(Exported {
        rows: n,
        attacks: r.labels.iter().filter(|y| **y == Some(true)).count(),
        genuine: r.labels.iter().filter(|y| **y == Some(false)).count(),
        columns: names,
    })
}

/// Replays `ds` through a fresh replay engine ([`super::backtest_compare::replay_engine`])
/// and returns the rows.
pub fn replay_rows(ds: &Dataset, cfg: &crate::config::Config) -> Result<Replayed, TrainError> {
    let engine = super::backtest_compare::replay_engine(cfg)?;
    super::replay::replay(ds, &engine)
}

/// Evaluates each of `models` (`(name, model)`) on every labelled event of `replayed`, as
/// serving scores them (the model's own imputation, then its calibration): for a dataset none
/// of them was trained on — another world, another period — where there is no split to keep.
/// Rows are ranked by the model's raw score, as `tessera train` ranks its test split.
pub fn evaluate_models(
    replayed: &Replayed,
    models: &[(String, Model)],
) -> Vec<(String, super::metrics::Evaluation)> {
    let (mut rows, mut ys, mut scenarios) = (Vec::new(), Vec::new(), Vec::new());
    for ((raw, u), (y, s)) in replayed
        .rows
        .iter()
        .zip(&replayed.absences)
        .zip(replayed.labels.iter().zip(&replayed.scenarios))
    {
        if let Some(y) = y {
            rows.push((raw, u));
            ys.push(*y);
            scenarios.push(s.as_str());
        }
    }
    models
        .iter()
        .map(|(name, model)| {
            let (raw, p): (Vec<f64>, Vec<f64>) = rows
                .iter()
                .map(|(row, u)| {
                    let mut row = **row;
                    model.impute(&mut row, u);
                    let raw = model.raw(&row);
                    (raw, model.calibration().probability(raw))
                })
                .unzip();
            (
                name.clone(),
                super::metrics::evaluate_full(&raw, &p, &ys, &scenarios),
            )
        })
        .collect()
}
