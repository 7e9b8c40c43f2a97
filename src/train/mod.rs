//! Offline training: read an event log ([`dataset`]), take labels from its `is_attack` column or
//! join them from the server's label log ([`labels`]), replay every event in time order through
//! the same engine code that serves live requests ([`replay`]), fit a linfa logistic regression
//! on the labelled events only ([`fit`]), measure it and the rules baseline on a time-based
//! held-out split ([`metrics`]), and write the artifact with its schema, metrics and model card
//! ([`card`]).

pub mod anomaly;
pub mod backtest;
pub mod backtest_compare;
pub mod calibrate;
pub mod card;
pub mod card_page;
pub mod catalog;
pub mod dataset;
pub mod export;
pub mod fit;
pub mod heap;
pub mod labels;
mod lbfgs;
pub mod metrics;
pub mod output;
pub mod plots;
pub mod progress;
pub mod rba;
pub mod replay;
pub mod stream;
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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::config::Config;
use crate::engine::Engine;
use crate::features::{FEATURES, FeatureRow};
use crate::model::artifact::{Artifact, FORMAT_VERSION, ModelKind};
use crate::model::calibration::Calibration;
use crate::model::{Model, rules};

/// Share of labelled scored events (by time) used for fitting.
pub const TRAIN_SHARE: f64 = 0.6;
/// Share used for calibration and threshold choice (the validation split); the rest, the
/// latest events, is the held-out test split every figure is reported on.
pub const VALIDATION_SHARE: f64 = 0.2;
/// Genuine challenge rates the thresholds are chosen for.
pub const TARGET_CHALLENGE_RATES: [f64; 2] = [0.01, 0.05];
/// Seed used when none is given.
pub const DEFAULT_SEED: u64 = 7;

/// Where the labels come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelOptions {
    /// Label logs written by `tessera serve`, read in order; empty = the `is_attack` column.
    pub logs: Vec<PathBuf>,
    /// How failed OTP/KBA challenges count (label-log only).
    pub failed_challenge: labels::FailedChallenge,
}

/// What to train.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainOptions {
    /// The model family.
    pub family: ModelKind,
    /// Seed of every random choice of the fit.
    pub seed: u64,
    /// Where the labels come from.
    pub labels: LabelOptions,
    /// The command line to print in the card (how to reproduce the directory).
    pub command: String,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            family: ModelKind::LogisticRegression,
            seed: DEFAULT_SEED,
            labels: LabelOptions::default(),
            command: String::new(),
        }
    }
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
    /// Every figure of `metrics.json`.
    pub metrics: output::MetricsFile,
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

/// The labelled, replayed, imputed events of a dataset, split by time.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Feature rows (imputed as serving imputes), time order.
    pub rows: Vec<FeatureRow>,
    /// True = attack.
    pub ys: Vec<bool>,
    /// Event times, ms.
    pub ts_ms: Vec<i64>,
    /// Scenario (tactic) per row.
    pub scenarios: Vec<String>,
    /// End of the training split (exclusive index).
    pub train_end: usize,
    /// End of the validation split (exclusive index); the test split follows.
    pub validation_end: usize,
    /// Neutral values learned on the training split.
    pub neutral: Vec<f64>,
    /// Which sources each row lacked, and why: evaluation scores a row as serving does
    /// ([`Model::impute`]: a source the client left out at its worst case).
    pub absences: Vec<crate::features::Unavailable>,
    /// The dataset's description.
    pub description: dataset::DatasetDescription,
    /// Where the labels came from.
    pub labels: LabelSource,
    /// Outcomes refused during replay.
    pub refused_outcomes: usize,
    /// BLAKE3 of the data file.
    pub fingerprint: String,
    /// Seconds the replay took (with a streamed read: reading, parsing and replaying, which
    /// overlap).
    pub replay_seconds: f64,
    /// CPU seconds (user + system, all threads) the process spent in those seconds, where the
    /// system reports it ([`process_cpu_seconds`]).
    pub replay_cpu_seconds: Option<f64>,
}

impl Prepared {
    /// Rows and labels of the training split.
    pub fn train(&self) -> (&[FeatureRow], &[bool]) {
        (&self.rows[..self.train_end], &self.ys[..self.train_end])
    }
    /// Rows and labels of the validation split.
    pub fn validation(&self) -> (&[FeatureRow], &[bool]) {
        (
            &self.rows[self.train_end..self.validation_end],
            &self.ys[self.train_end..self.validation_end],
        )
    }
    /// Rows and labels of the test split.
    pub fn test(&self) -> (&[FeatureRow], &[bool]) {
        (
            &self.rows[self.validation_end..],
            &self.ys[self.validation_end..],
        )
    }
    /// The absences of the validation split's rows.
    pub fn validation_absences(&self) -> &[crate::features::Unavailable] {
        &self.absences[self.train_end..self.validation_end]
    }
    /// The absences of the test split's rows.
    pub fn test_absences(&self) -> &[crate::features::Unavailable] {
        &self.absences[self.validation_end..]
    }
    fn split_info(&self, from: usize, to: usize) -> output::SplitInfo {
        let time = |i: usize| {
            self.ts_ms
                .get(i)
                .and_then(|t| chrono::DateTime::from_timestamp_millis(*t))
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default()
        };
        output::SplitInfo {
            rows: (to - from) as u64,
            attacks: self.ys[from..to].iter().filter(|y| **y).count() as u64,
            from: time(from),
            to: time(to.saturating_sub(1)),
        }
    }
}

/// Trains a logistic regression from the dataset at `data` with labels from its `is_attack`
/// column into the model directory `out`; see [`train_with`].
pub fn train(data: &Path, cfg: &Config, out: &Path) -> Result<TrainReport, TrainError> {
    train_with(data, &TrainOptions::default(), cfg, out)
}

/// [`train`] with labels as `opts` says (logistic regression).
pub fn train_with_labels(
    data: &Path,
    opts: &LabelOptions,
    cfg: &Config,
    out: &Path,
) -> Result<TrainReport, TrainError> {
    let o = TrainOptions {
        labels: opts.clone(),
        ..Default::default()
    };
    train_with(data, &o, cfg, out)
}

/// Reads and replays the dataset at `data` with labels as `opts` says, and splits the labelled
/// score events by time. Every event is replayed; only labelled score events are kept. `cfg`
/// supplies geo sources and feature tunables; the store is always a fresh memory store.
pub fn prepare(data: &Path, opts: &LabelOptions, cfg: &Config) -> Result<Prepared, TrainError> {
    if opts.logs.is_empty() {
        return prepare_streamed(data, cfg);
    }
    let log = labels::read_label_logs(&opts.logs)?;
    let ds = dataset::read_dataset_with(data, dataset::LabelColumn::Ignore)?;
    let (ds, summary) = labels::apply(ds, &log, opts.failed_challenge);
    prepare_dataset(ds, LabelSource::LabelLog(summary), fingerprint(data), cfg)
}

/// [`prepare`] with labels from the `is_attack` column, in bounded memory: the log is read,
/// parsed and replayed batch by batch ([`stream`]), and only the labelled events' rows are
/// kept. The file's fingerprint is hashed on another thread meanwhile.
fn prepare_streamed(data: &Path, cfg: &Config) -> Result<Prepared, TrainError> {
    let started = Instant::now();
    let cpu_before = process_cpu_seconds();
    let engine = replay_engine(cfg)?;
    let mut r = replay::Replayer::new(&engine, replay::Keep::Labelled);
    let (read, fingerprint) = std::thread::scope(|s| {
        let hashing = s.spawn(|| fingerprint(data));
        // Each batch's score requests are read on their own (checks, enrichment, evidence) on
        // the parsing thread while the previous batch replays; the replay then only records
        // and extracts, in time order.
        let read = stream::for_each_batch_prepared(
            data,
            dataset::LabelColumn::Read,
            stream::BATCH_ROWS,
            |batch| replay::prepare(&engine, batch),
            |batch, prepared| {
                let replayed = r.batch_prepared(&batch, prepared);
                // Freed on a rayon thread, off the time-ordered path.
                rayon::spawn(move || drop(batch));
                replayed
            },
        );
        (read, hashing.join().unwrap_or_default())
    });
    let description = read?;
    let d = &description;
    let source = LabelSource::Column {
        attack_rows: d.attack_rows,
        genuine_rows: d.score_rows - d.attack_rows - d.unlabelled_rows,
        unlabelled_rows: d.unlabelled_rows,
    };
    let replay_seconds = started.elapsed().as_secs_f64();
    let mut p = split_replayed(r.finish(), description, source, fingerprint, replay_seconds)?;
    p.replay_cpu_seconds = cpu_before.zip(process_cpu_seconds()).map(|(a, b)| b - a);
    Ok(p)
}

/// CPU seconds (user + system, all threads) this process has used so far, from
/// `/proc/self/stat` (Linux, which counts in USER_HZ ticks: 100 a second); `None` where that
/// file is missing or unreadable. Reported next to wall times, which a shared machine inflates.
pub fn process_cpu_seconds() -> Option<f64> {
    cpu_seconds_of_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// User + system seconds of one `/proc/PID/stat` line.
fn cpu_seconds_of_stat(stat: &str) -> Option<f64> {
    // Field 2, the command name, is in parentheses and may hold spaces: count after it. The
    // rest starts at field 3; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The engine a replay runs through: `cfg`'s geo sources and feature tunables, a fresh memory
/// store, the rules model and a fixed pseudonymisation key.
pub fn replay_engine(cfg: &Config) -> Result<Engine, TrainError> {
    let mut replay_cfg = cfg.clone();
    replay_cfg.model.path = "rules".into();
    Ok(Engine::for_replay(&replay_cfg)?)
}

/// [`prepare`] for a dataset already read (e.g. from another layout).
pub fn prepare_dataset(
    ds: dataset::Dataset,
    source: LabelSource,
    fingerprint: String,
    cfg: &Config,
) -> Result<Prepared, TrainError> {
    let started = Instant::now();
    let engine = replay_engine(cfg)?;
    let rep = replay::replay(&ds, &engine)?;
    let replay_seconds = started.elapsed().as_secs_f64();
    split_replayed(rep, ds.description, source, fingerprint, replay_seconds)
}

/// Keeps the labelled rows of a replay, splits them by time and imputes them.
fn split_replayed(
    rep: replay::Replayed,
    description: dataset::DatasetDescription,
    source: LabelSource,
    fingerprint: String,
    replay_seconds: f64,
) -> Result<Prepared, TrainError> {
    // Keep only the labelled events (still in time order); the rest shaped history in replay.
    let (mut rows, mut ys, mut ts_ms, mut absences, mut scenarios) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let refused_outcomes = rep.refused_outcomes;
    for ((((row, label), ts), u), sc) in rep
        .rows
        .into_iter()
        .zip(rep.labels)
        .zip(rep.ts_ms)
        .zip(rep.absences)
        .zip(rep.scenarios)
    {
        if let Some(y) = label {
            rows.push(row);
            ys.push(y);
            ts_ms.push(ts);
            absences.push(u);
            scenarios.push(sc);
        }
    }
    let n = rows.len();
    if n < 50 {
        return Err(TrainError::Data(format!(
            "{n} labelled scored events; need at least 50"
        )));
    }
    // Cuts at time boundaries: no two splits share a timestamp.
    let cut_at = |share: f64| {
        let i = ((n as f64) * share) as usize;
        let t = ts_ms[i.min(n - 1)];
        ts_ms.partition_point(|x| *x < t)
    };
    let train_end = cut_at(TRAIN_SHARE);
    let validation_end = cut_at(TRAIN_SHARE + VALIDATION_SHARE).max(train_end);
    // Sources missing by design or by failure are imputed with neutral values learned from the
    // training rows only, as serving imputes them. A source the client left out keeps its raw
    // value for fitting; calibration, thresholds and every reported figure score the rows as
    // serving does, with that source at its worst case (`score_rows`).
    let neutral = neutral_values(&rows[..train_end], &absences[..train_end], &ys[..train_end]);
    for (row, u) in rows.iter_mut().zip(&absences) {
        impute_neutral(row, u, &neutral);
    }
    let both = |ys: &[bool]| ys.iter().any(|y| *y) && ys.iter().any(|y| !*y);
    if !both(&ys[..train_end])
        || !both(&ys[train_end..validation_end])
        || !both(&ys[validation_end..])
    {
        return Err(TrainError::Data(
            "every time split (train, validation, test) needs both attacks and genuine events"
                .into(),
        ));
    }
    Ok(Prepared {
        rows,
        ys,
        ts_ms,
        scenarios,
        train_end,
        validation_end,
        neutral,
        absences,
        description,
        labels: source,
        refused_outcomes,
        fingerprint,
        replay_seconds,
        replay_cpu_seconds: None,
    })
}

/// BLAKE3 of a file, hex (empty when unreadable: reading it again fails with a clear error).
pub fn fingerprint(path: &Path) -> String {
    let mut h = blake3::Hasher::new();
    match std::fs::File::open(path) {
        Ok(mut f) => match std::io::copy(&mut f, &mut h) {
            Ok(_) => h.finalize().to_hex().to_string(),
            Err(_) => String::new(),
        },
        Err(_) => String::new(),
    }
}

/// An artifact of `kind` before its version, calibration and metrics are set.
fn bare_artifact(kind: ModelKind, neutral: Vec<f64>) -> Artifact {
    Artifact {
        format_version: FORMAT_VERSION,
        model_version: String::new(),
        kind,
        schema: crate::features::FeatureSchema::current(),
        weights: Vec::new(),
        intercept: 0.0,
        trees: None,
        anomaly: None,
        calibration: Calibration::Sigmoid,
        metrics: serde_json::Value::Null,
        training: serde_json::Value::Null,
        card: serde_json::Value::Null,
        neutral,
    }
}

/// Fits the family on the training split; returns the uncalibrated artifact and the fit's
/// parameters for the card.
pub fn fit_family(
    p: &Prepared,
    kind: ModelKind,
    seed: u64,
) -> Result<(Artifact, serde_json::Value), TrainError> {
    let (rows, ys) = p.train();
    let mut art = bare_artifact(kind, p.neutral.clone());
    let params = match kind {
        ModelKind::LogisticRegression => {
            let f = fit::fit_logistic(rows, ys)?;
            art.weights = f.weights;
            art.intercept = f.intercept;
            serde_json::json!({"library": "linfa-logistic 0.8", "alpha": fit::ALPHA, "max_iterations": fit::MAX_ITERATIONS, "standardised": true, "sign_constrained": true})
        }
        ModelKind::Rules => {
            let r = rules::artifact();
            art.weights = r.weights;
            art.intercept = r.intercept;
            serde_json::json!({"hand_set": true})
        }
        ModelKind::Freeman => {
            let rate = ys.iter().filter(|y| **y).count() as f64 / ys.len().max(1) as f64;
            let f = rules::freeman_artifact(rate);
            art.weights = f.weights;
            art.intercept = f.intercept;
            serde_json::json!({"fixed": "log-odds = prior odds + freeman.risk_log − freeman.familiar_log (Freeman et al., NDSS 2016); the prior is the training split's attack rate; calibrated on validation", "attack_rate": rate})
        }
        ModelKind::Forest => {
            let (e, params) = trees::fit_forest(rows, ys, seed)?;
            art.trees = Some(e);
            params
        }
        ModelKind::Boosting => {
            let (e, params) = trees::fit_boosting(rows, ys, p.validation(), seed)?;
            art.trees = Some(e);
            params
        }
        ModelKind::Anomaly => {
            let (a, params) = anomaly::fit_anomaly(rows, ys, seed)?;
            art.anomaly = Some(a);
            params
        }
    };
    Ok((art, params))
}

/// True when the family's raw score is log-odds (so "no calibration" is a candidate).
fn raw_is_log_odds(kind: ModelKind) -> bool {
    matches!(
        kind,
        ModelKind::LogisticRegression | ModelKind::Rules | ModelKind::Boosting
    )
}

fn version_of(art: &Artifact) -> String {
    let payload = serde_json::to_string(&(
        &art.weights,
        art.intercept,
        &art.trees,
        &art.anomaly,
        &art.calibration,
    ))
    .unwrap_or_default();
    let digest = blake3::hash(payload.as_bytes());
    format!(
        "tessera-{}-v{}-{}",
        art.kind.name(),
        art.schema.version,
        &digest.to_hex()[..8]
    )
}

/// Raw scores and calibrated probabilities of `model` on `rows`, each imputed as serving
/// imputes it (`absences`); training's evaluation and `tessera eval models` share it.
pub(crate) fn score_rows(
    model: &Model,
    rows: &[FeatureRow],
    absences: &[crate::features::Unavailable],
) -> (Vec<f64>, Vec<f64>) {
    use rayon::prelude::*;
    rows.par_iter()
        .zip(absences)
        .map(|(r, u)| {
            // As serving scores it: the model's own imputation (neutral values for a source
            // missing by design or failed, the worst case for one the client left out).
            let mut r = *r;
            model.impute(&mut r, u);
            let raw = model.raw(&r);
            (raw, model.calibration().probability(raw))
        })
        .unzip()
}

/// The allow threshold (trust) that challenges at most `rate` of the genuine validation events.
fn choose_threshold(
    val_p: &[f64],
    val_y: &[bool],
    test_p: &[f64],
    test_y: &[bool],
    rate: f64,
) -> output::ChosenThreshold {
    let trust = |p: f64| crate::domain::TrustScore::from_attack_probability(p).value();
    let share = |ps: &[f64], ys: &[bool], allow: u8, want: bool| {
        let (hit, all) = ps
            .iter()
            .zip(ys)
            .filter(|(_, y)| **y == want)
            .fold((0u64, 0u64), |(h, a), (p, _)| {
                (h + u64::from(trust(*p) < allow), a + 1)
            });
        if all == 0 {
            0.0
        } else {
            hit as f64 / all as f64
        }
    };
    // The highest allow threshold (most attacks challenged) within the genuine budget.
    let allow = (0..=100u8)
        .rev()
        .find(|a| share(val_p, val_y, *a, false) <= rate)
        .unwrap_or(0);
    output::ChosenThreshold {
        target_genuine_challenge_rate: rate,
        allow_trust: allow,
        validation_genuine_challenged: share(val_p, val_y, allow, false),
        test_genuine_challenged: share(test_p, test_y, allow, false),
        test_recall: share(test_p, test_y, allow, true),
    }
}

/// Calibrates `art` on the validation split and evaluates it and the baselines on test.
/// Returns the finished artifact and `metrics.json`.
pub fn finish(
    p: &Prepared,
    mut art: Artifact,
    params: serde_json::Value,
    opts: &TrainOptions,
    fit_seconds: f64,
) -> Result<(Artifact, output::MetricsFile), TrainError> {
    let started = Instant::now();
    let (val_rows, val_y) = p.validation();
    let (test_rows, test_y) = p.test();
    let uncalibrated = Model::from_artifact(&art);
    let (val_abs, test_abs) = (p.validation_absences(), p.test_absences());
    let (val_raw, _) = score_rows(&uncalibrated, val_rows, val_abs);
    let (cal, choice) = calibrate::choose(&val_raw, val_y, raw_is_log_odds(art.kind));
    art.calibration = cal;
    art.model_version = version_of(&art);
    let model = Model::from_artifact(&art);
    let calibrate_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let scenarios: Vec<&str> = p.scenarios[p.validation_end..]
        .iter()
        .map(String::as_str)
        .collect();
    let (test_raw, test_p) = score_rows(&model, test_rows, test_abs);
    let (_, val_p) = score_rows(&model, val_rows, val_abs);
    let test = metrics::evaluate_full(&test_raw, &test_p, test_y, &scenarios);
    let mut baselines = BTreeMap::new();
    let mut curves = BTreeMap::new();
    curves.insert(
        art.kind.name().to_string(),
        output::curves(&test_raw, test_y, 200),
    );
    let rules_model = Model::from_artifact(&rules::artifact());
    let (r_raw, r_p) = score_rows(&rules_model, test_rows, test_abs);
    baselines.insert(
        "rules".to_string(),
        metrics::evaluate_full(&r_raw, &r_p, test_y, &scenarios),
    );
    curves.insert("rules".to_string(), output::curves(&r_raw, test_y, 200));
    if art.kind != ModelKind::Freeman
        && let Ok((fa, _)) = fit_family(p, ModelKind::Freeman, opts.seed)
    {
        // Freeman's score calibrated on validation like any family, for a fair comparison.
        let mut fa = fa;
        let (fv, _) = score_rows(&Model::from_artifact(&fa), val_rows, val_abs);
        fa.calibration = calibrate::choose(&fv, val_y, true).0;
        let fm = Model::from_artifact(&fa);
        let (f_raw, f_p) = score_rows(&fm, test_rows, test_abs);
        baselines.insert(
            "freeman".to_string(),
            metrics::evaluate_full(&f_raw, &f_p, test_y, &scenarios),
        );
        curves.insert("freeman".to_string(), output::curves(&f_raw, test_y, 200));
    }
    let thresholds = TARGET_CHALLENGE_RATES
        .iter()
        .map(|r| choose_threshold(&val_p, val_y, &test_p, test_y, *r))
        .collect();
    let mut importance: Vec<output::Importance> = {
        let mut sum = vec![0f64; FEATURES.len()];
        for r in test_rows {
            let t = model.terms(r);
            for (s, x) in sum.iter_mut().zip(t.terms) {
                *s += f64::from(x).abs();
            }
        }
        FEATURES
            .iter()
            .zip(sum)
            .map(|(d, s)| output::Importance {
                feature: d.name.to_string(),
                mean_abs_term: s / test_rows.len().max(1) as f64,
            })
            .collect()
    };
    importance.sort_by(|a, b| {
        b.mean_abs_term
            .total_cmp(&a.mean_abs_term)
            .then(a.feature.cmp(&b.feature))
    });
    let mut seconds = BTreeMap::new();
    seconds.insert("replay".to_string(), p.replay_seconds);
    if let Some(cpu) = p.replay_cpu_seconds {
        seconds.insert("replay_cpu".to_string(), cpu);
    }
    seconds.insert("fit".to_string(), fit_seconds);
    seconds.insert("calibrate".to_string(), calibrate_seconds);
    seconds.insert("evaluate".to_string(), started.elapsed().as_secs_f64());
    let data = serde_json::json!({
        "description": &p.description,
        "fingerprint_blake3": &p.fingerprint,
        "labelled_rows": p.rows.len(),
        "refused_outcomes": p.refused_outcomes,
    });
    let metrics = output::MetricsFile {
        model_version: art.model_version.clone(),
        family: art.kind.name().to_string(),
        seed: opts.seed,
        command: opts.command.clone(),
        data: data.clone(),
        labels: serde_json::to_value(&p.labels).unwrap_or_default(),
        splits: output::Splits {
            train: p.split_info(0, p.train_end),
            validation: p.split_info(p.train_end, p.validation_end),
            test: p.split_info(p.validation_end, p.rows.len()),
        },
        calibration: output::CalibrationInfo {
            chosen: choice.chosen.to_string(),
            log_loss: choice
                .log_loss
                .iter()
                .map(|(n, l)| (n.to_string(), *l))
                .collect(),
        },
        test,
        baselines,
        thresholds,
        curves,
        importance,
        seconds,
    };
    // The artifact carries what it needs to stand alone: the headline figures, the data
    // fingerprint and seed, the fit's parameters and the card's text (the full metrics are in
    // metrics.json beside it; wall-clock times are left out so the file is reproducible).
    art.metrics = serde_json::json!({
        "test_roc_auc": metrics.test.roc_auc,
        "test_pr_auc": metrics.test.pr_auc,
        "test_brier": metrics.test.brier,
        "calibration": &metrics.calibration,
        "thresholds": &metrics.thresholds,
        "splits": &metrics.splits,
    });
    art.training = serde_json::json!({
        "seed": opts.seed,
        "data": data,
        "labels": &metrics.labels,
        "fit": params,
    });
    art.card = card::model_card(
        art.kind.name(),
        &opts.command,
        &p.description.path,
        &p.labels,
        [
            p.train_end,
            p.validation_end - p.train_end,
            p.rows.len() - p.validation_end,
        ],
        &metrics.splits.test.from,
    );
    Ok((art, metrics))
}

/// Trains the family `opts.family` from the dataset at `data` and writes the model directory
/// `out` (`model.json`, `metrics.json`, `card.html`).
pub fn train_with(
    data: &Path,
    opts: &TrainOptions,
    cfg: &Config,
    out: &Path,
) -> Result<TrainReport, TrainError> {
    let p = prepare(data, &opts.labels, cfg)?;
    train_prepared(&p, opts, out)
}

/// [`train_with`] on prepared data.
pub fn train_prepared(
    p: &Prepared,
    opts: &TrainOptions,
    out: &Path,
) -> Result<TrainReport, TrainError> {
    let started = Instant::now();
    let (art, params) = fit_family(p, opts.family, opts.seed)?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let (art, metrics) = finish(p, art, params, opts, fit_seconds)?;
    let html = card::card_html(&metrics, &art);
    output::write_model_dir(out, &art, &metrics, &html)?;
    // The legacy three-threshold summary, for the command line.
    let (test_rows, test_y) = p.test();
    let model = Model::from_artifact(&art);
    let probs = |m: &Model| score_rows(m, test_rows, p.test_absences()).1;
    let model_metrics = metrics::evaluate(&probs(&model), test_y);
    let rules_metrics =
        metrics::evaluate(&probs(&Model::from_artifact(&rules::artifact())), test_y);
    Ok(TrainReport {
        model: model_metrics,
        rules_baseline: rules_metrics,
        train_rows: p.train_end,
        test_rows: p.rows.len() - p.validation_end,
        model_version: art.model_version.clone(),
        labels: p.labels.clone(),
        refused_outcomes: p.refused_outcomes,
        metrics,
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

#[cfg(test)]
mod cpu_tests {
    use super::cpu_seconds_of_stat;

    #[test]
    fn cpu_seconds_are_utime_plus_stime_in_ticks() {
        // A command name with a space and a parenthesis; utime 250 and stime 75 ticks.
        let line = "4242 (tess (x) y) R 1 4242 4242 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 \
                    3 0 1000 0 0";
        assert_eq!(cpu_seconds_of_stat(line), Some(3.25));
        assert_eq!(cpu_seconds_of_stat("4242 (tessera) R 1"), None);
        assert_eq!(cpu_seconds_of_stat("no parenthesis"), None);
    }
}
