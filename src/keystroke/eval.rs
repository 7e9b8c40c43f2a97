//! The benchmark protocol of Killourhy & Maxion (DSN 2009), for any data set in the CMU layout.
//!
//! For each subject as the genuine user: train on its first `min(200, reps / 2)` repetitions in
//! file order (`train_reps` overrides), test genuine on its remaining repetitions and impostor on
//! the first 5 repetitions of every other subject; take that subject's EER and zero-miss
//! false-alarm rate ([`super::metrics`]). A detector's figure is the mean and sample SD over
//! subjects. Subjects run in parallel (rayon); this is the offline path only.

use rayon::prelude::*;
use serde::Serialize;

use super::detector::{Detector, Scratch, detectors};
use super::metrics::{equal_error_rate, mean_sd, zero_miss_far};
use super::{Dataset, KeystrokeError, Samples};

/// Default maximum enrolment repetitions per subject.
pub const MAX_TRAIN_REPS: usize = 200;
/// Impostor repetitions taken from the start of every other subject.
pub const IMPOSTOR_REPS: usize = 5;
/// Enrolment sizes of the learning curve.
pub const CURVE_SIZES: [usize; 6] = [5, 10, 20, 50, 100, 200];

/// Published mean EER on CMU (publisher's table of results) for detectors we reproduce.
pub fn paper_eer(name: &str) -> Option<f64> {
    Some(match name {
        "manhattan-scaled" => 0.0962,
        "nn-mahalanobis" => 0.0996,
        "outlier-count-z" => 0.1022,
        "mahalanobis" => 0.1101,
        "manhattan" => 0.1529,
        "euclidean" => 0.1706,
        _ => return None,
    })
}

/// Options of one evaluation.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// Enrolment repetitions per subject instead of `min(200, reps / 2)`.
    pub train_reps: Option<usize>,
    /// Also compute the enrolment-size curve for the best detector and scaled Manhattan.
    pub curve: bool,
}

/// One detector's figures over all subjects.
#[derive(Debug, Clone, Serialize)]
pub struct DetectorResult {
    /// Detector name.
    pub name: String,
    /// Mean per-subject EER (0–1).
    pub eer_mean: f64,
    /// Sample SD of the per-subject EER.
    pub eer_std: f64,
    /// Mean per-subject zero-miss false-alarm rate (0–1).
    pub zero_miss_far_mean: f64,
}

/// EER of one detector trained on `enrolment_reps` samples.
#[derive(Debug, Clone, Serialize)]
pub struct CurvePoint {
    /// Detector name.
    pub detector: String,
    /// Enrolment repetitions per subject.
    pub enrolment_reps: usize,
    /// Mean per-subject EER.
    pub eer_mean: f64,
    /// Sample SD of the per-subject EER.
    pub eer_std: f64,
}

/// The whole evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Data set label (the file name).
    pub dataset: String,
    /// Subjects evaluated.
    pub subjects: usize,
    /// Every detector, in report order.
    pub detectors: Vec<DetectorResult>,
    /// Name of the detector with the lowest mean EER.
    pub best: String,
    /// Enrolment-size curve, when requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curve: Option<Vec<CurvePoint>>,
}

/// One subject's split.
struct Split {
    train: Samples,
    genuine: Samples,
    impostor: Samples,
}

fn splits(data: &Dataset, train_reps: Option<usize>) -> Result<Vec<Split>, KeystrokeError> {
    if data.subjects.len() < 2 {
        return Err(KeystrokeError::TooFewSubjects {
            found: data.subjects.len(),
        });
    }
    if train_reps == Some(0) {
        return Err(KeystrokeError::BadOption {
            option: "--train-reps",
            problem: "must be at least 1".into(),
        });
    }
    let mut out = Vec::with_capacity(data.subjects.len());
    for (k, s) in data.subjects.iter().enumerate() {
        let reps = s.samples.len();
        let train = train_reps.unwrap_or((reps / 2).min(MAX_TRAIN_REPS));
        if train == 0 || train >= reps {
            return Err(KeystrokeError::TooFewReps {
                subject: s.id.clone(),
                reps,
                train,
            });
        }
        let mut impostor = Samples::new(s.samples.n_features());
        for (j, other) in data.subjects.iter().enumerate() {
            if j != k {
                for r in other.samples.rows().take(IMPOSTOR_REPS) {
                    impostor.push(r);
                }
            }
        }
        out.push(Split {
            train: s.samples.slice(0..train),
            genuine: s.samples.slice(train..reps),
            impostor,
        });
    }
    Ok(out)
}

/// (EER, zero-miss FAR) of one detector on one split, trained on the first `enrol` samples.
fn run_one(
    d: &dyn Detector,
    split: &Split,
    enrol: usize,
    scratch: &mut Scratch,
) -> Result<(f64, f64), KeystrokeError> {
    let template = if enrol >= split.train.len() {
        d.fit(&split.train)?
    } else {
        d.fit(&split.train.slice(0..enrol))?
    };
    let mut score =
        |s: &Samples| -> Vec<f64> { s.rows().map(|r| template.anomaly(r, scratch)).collect() };
    let g = score(&split.genuine);
    let i = score(&split.impostor);
    let eer = equal_error_rate(&g, &i).unwrap_or(f64::NAN);
    let far = zero_miss_far(&g, &i).unwrap_or(f64::NAN);
    Ok((eer, far))
}

/// Per-subject (EER, FAR) for each detector, `[detector][subject]`.
fn run_all(
    dets: &[&dyn Detector],
    splits: &[Split],
    enrol: usize,
) -> Result<Vec<Vec<(f64, f64)>>, KeystrokeError> {
    let per_subject: Vec<Vec<(f64, f64)>> = splits
        .par_iter()
        .map(|split| {
            let mut scratch = Scratch::new();
            dets.iter()
                .map(|d| run_one(*d, split, enrol, &mut scratch))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<_, _>>()?;
    Ok((0..dets.len())
        .map(|d| per_subject.iter().map(|s| s[d]).collect())
        .collect())
}

/// Runs every detector of [`detectors`] on `data` under the protocol; `dataset` labels the
/// report.
pub fn evaluate(
    data: &Dataset,
    dataset: &str,
    opts: &EvalOptions,
) -> Result<EvalReport, KeystrokeError> {
    let splits = splits(data, opts.train_reps)?;
    let all = detectors();
    let dets: Vec<&dyn Detector> = all.iter().map(|d| d.as_ref()).collect();
    let per = run_all(&dets, &splits, usize::MAX)?;
    let results: Vec<DetectorResult> = dets
        .iter()
        .zip(&per)
        .map(|(d, v)| {
            let eers: Vec<f64> = v.iter().map(|x| x.0).collect();
            let fars: Vec<f64> = v.iter().map(|x| x.1).collect();
            let (eer_mean, eer_std) = mean_sd(&eers);
            DetectorResult {
                name: d.name().to_string(),
                eer_mean,
                eer_std,
                zero_miss_far_mean: mean_sd(&fars).0,
            }
        })
        .collect();
    let best_idx = results
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.eer_mean.total_cmp(&b.1.eer_mean))
        .map(|(i, _)| i)
        .unwrap_or(0);
    let best = results
        .get(best_idx)
        .map(|r| r.name.clone())
        .unwrap_or_default();
    let curve = if opts.curve {
        let mut chosen: Vec<&dyn Detector> = dets.get(best_idx).copied().into_iter().collect();
        if let Some(sm) = dets.iter().find(|d| d.name() == "manhattan-scaled")
            && sm.name() != best
        {
            chosen.push(*sm);
        }
        let max_train = splits.iter().map(|s| s.train.len()).min().unwrap_or(0);
        let mut points = Vec::new();
        for &n in CURVE_SIZES.iter().filter(|&&n| n <= max_train) {
            let per = run_all(&chosen, &splits, n)?;
            for (d, v) in chosen.iter().zip(per) {
                let eers: Vec<f64> = v.iter().map(|x| x.0).collect();
                let (eer_mean, eer_std) = mean_sd(&eers);
                points.push(CurvePoint {
                    detector: d.name().to_string(),
                    enrolment_reps: n,
                    eer_mean,
                    eer_std,
                });
            }
        }
        Some(points)
    } else {
        None
    };
    Ok(EvalReport {
        dataset: dataset.to_string(),
        subjects: splits.len(),
        detectors: results,
        best,
        curve,
    })
}
