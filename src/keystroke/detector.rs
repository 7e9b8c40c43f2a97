//! The [`Detector`] trait (fit enrolment samples → a [`Template`]; score one sample → an anomaly
//! score, higher = more anomalous) and the distance-to-template detectors of Killourhy & Maxion
//! (DSN 2009): Euclidean, Manhattan, scaled Manhattan and the z-score outlier count; then ours:
//! the robust scaled Manhattan (median / MAD), optionally on log timings, and the [`Recent`]
//! window that fits any detector on the latest enrolment samples only. Covariance-based
//! detectors live in `mahalanobis`, fusion in `fusion`; [`detectors`] lists them all in report
//! order.
//!
//! Fitting never sees impostor data. Scoring allocates nothing: a template reads the sample and
//! may use the caller's [`Scratch`] buffer, which grows once and is then reused.

use super::{KeystrokeError, Samples, fusion, linalg, mahalanobis};

/// Reusable working memory for [`Template::anomaly`]; keep one per thread.
#[derive(Debug, Default, Clone)]
pub struct Scratch {
    buf: Vec<f64>,
}

impl Scratch {
    /// An empty scratch buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A zeroed slice of `len` values; allocates only when `len` exceeds every earlier request.
    pub(crate) fn take(&mut self, len: usize) -> &mut [f64] {
        if self.buf.len() < len {
            self.buf.resize(len, 0.0);
        }
        let out = &mut self.buf[..len];
        out.fill(0.0);
        out
    }
}

/// A fitted template: what a detector keeps of one user's enrolment samples.
pub trait Template: Send + Sync + std::fmt::Debug {
    /// Timings per sample this template was fitted on.
    fn n_features(&self) -> usize;

    /// Anomaly score of `sample` (timings in seconds, `n_features` of them): 0 or more, higher
    /// = more anomalous. Allocation-free. Callers with outside data use [`Template::score`].
    fn anomaly(&self, sample: &[f64], scratch: &mut Scratch) -> f64;
}

impl dyn Template {
    /// [`Template::anomaly`] after checking the sample's length.
    pub fn score(&self, sample: &[f64], scratch: &mut Scratch) -> Result<f64, KeystrokeError> {
        if sample.len() != self.n_features() {
            return Err(KeystrokeError::SampleLength {
                expected: self.n_features(),
                got: sample.len(),
            });
        }
        Ok(self.anomaly(sample, scratch))
    }
}

/// An anomaly detector: fits a template from one user's enrolment samples only.
pub trait Detector: Send + Sync {
    /// Stable name used in reports and JSON (e.g. `manhattan-scaled`).
    fn name(&self) -> &'static str;

    /// Fits a template on `enrolment` (one row per repetition).
    fn fit(&self, enrolment: &Samples) -> Result<Box<dyn Template>, KeystrokeError>;
}

/// Fails unless `enrolment` has at least `needed` samples.
pub(crate) fn need(
    detector: &'static str,
    enrolment: &Samples,
    needed: usize,
) -> Result<(), KeystrokeError> {
    if enrolment.len() < needed {
        return Err(KeystrokeError::EnrolmentTooSmall {
            detector,
            needed,
            got: enrolment.len(),
        });
    }
    Ok(())
}

/// Every detector, in report order: the paper's baselines, then ours.
pub fn detectors() -> Vec<Box<dyn Detector>> {
    vec![
        Box::new(Euclidean),
        Box::new(Manhattan),
        Box::new(ScaledManhattan),
        Box::new(OutlierCount),
        Box::new(mahalanobis::Mahalanobis),
        Box::new(mahalanobis::NearestNeighbourMahalanobis),
        Box::new(RobustManhattan { log_timings: false }),
        Box::new(RobustManhattan { log_timings: true }),
        Box::new(mahalanobis::NearestNeighbourMahalanobisManhattan),
        Box::new(best()),
        Box::new(Recent::new(
            "fusion-recent",
            Box::new(fusion::Fusion::default()),
        )),
    ]
}

/// The best detector on CMU, for verifying one sample against a stored template: robust scaled
/// Manhattan on log timings over the most recent [`RECENT_WINDOW`] enrolment samples.
pub fn best() -> Recent {
    Recent::new(
        "manhattan-robust-log-recent",
        Box::new(RobustManhattan { log_timings: true }),
    )
}

/// Enrolment samples a [`Recent`] detector keeps: the latest 100 (all when fewer).
pub const RECENT_WINDOW: usize = 100;

/// Fits its inner detector on the most recent [`RECENT_WINDOW`] enrolment samples only. Typing
/// drifts over days; a template of recent habits (as the engine's fading profile keeps) matches
/// tomorrow's typing better than one of the whole history. The template is the inner one.
pub struct Recent {
    name: &'static str,
    inner: Box<dyn Detector>,
}

impl Recent {
    /// Wraps `inner` under `name`.
    pub fn new(name: &'static str, inner: Box<dyn Detector>) -> Self {
        Self { name, inner }
    }
}

impl Detector for Recent {
    fn name(&self) -> &'static str {
        self.name
    }
    fn fit(&self, enrolment: &Samples) -> Result<Box<dyn Template>, KeystrokeError> {
        let n = enrolment.len();
        if n <= RECENT_WINDOW {
            return self.inner.fit(enrolment);
        }
        self.inner.fit(&enrolment.slice(n - RECENT_WINDOW..n))
    }
}

/// Time constant of the log transform, in seconds: `f(x) = sign(x) ln(1 + |x| / τ)` is nearly
/// linear below τ (negative keyup-keydown overlaps keep their sign) and logarithmic above, so a
/// uniformly slower rendition shifts every feature alike instead of inflating long intervals.
pub const LOG_TAU_S: f64 = 0.05;

/// The log transform of one timing in seconds (see [`LOG_TAU_S`]).
pub fn log_timing(x_s: f64) -> f64 {
    x_s.signum() * (x_s.abs() / LOG_TAU_S).ln_1p()
}

/// Squared Euclidean distance to the mean vector (the paper's "Euclidean").
#[derive(Debug, Clone, Copy)]
pub struct Euclidean;

/// Manhattan distance to the mean vector (the paper's "Manhattan").
#[derive(Debug, Clone, Copy)]
pub struct Manhattan;

/// Mean vector (seconds), shared by the two plain distances.
#[derive(Debug, Clone)]
struct MeanTemplate {
    mean: Vec<f64>,
    squared: bool,
}

impl Template for MeanTemplate {
    fn n_features(&self) -> usize {
        self.mean.len()
    }
    fn anomaly(&self, sample: &[f64], _: &mut Scratch) -> f64 {
        let d = sample.iter().zip(&self.mean).map(|(x, m)| x - m);
        if self.squared {
            d.map(|v| v * v).sum()
        } else {
            d.map(f64::abs).sum()
        }
    }
}

impl Detector for Euclidean {
    fn name(&self) -> &'static str {
        "euclidean"
    }
    fn fit(&self, enrolment: &Samples) -> Result<Box<dyn Template>, KeystrokeError> {
        need(self.name(), enrolment, 1)?;
        let mean = linalg::column_means(enrolment);
        Ok(Box::new(MeanTemplate {
            mean,
            squared: true,
        }))
    }
}

impl Detector for Manhattan {
    fn name(&self) -> &'static str {
        "manhattan"
    }
    fn fit(&self, enrolment: &Samples) -> Result<Box<dyn Template>, KeystrokeError> {
        need(self.name(), enrolment, 1)?;
        let mean = linalg::column_means(enrolment);
        Ok(Box::new(MeanTemplate {
            mean,
            squared: false,
        }))
    }
}

/// Scaled Manhattan (Araújo et al. 2004, the paper's best): Σ |x − mean| / a, where `a` is the
/// feature's mean absolute deviation from its mean over the enrolment samples.
#[derive(Debug, Clone, Copy)]
pub struct ScaledManhattan;

/// Centre and per-feature scale (seconds); the score is Σ |x − centre| / scale.
#[derive(Debug, Clone)]
pub(crate) struct ScaledTemplate {
    pub(crate) centre: Vec<f64>,
    pub(crate) inv_scale: Vec<f64>,
    /// Centre and scale are of [`log_timing`] values; samples are transformed on the fly.
    pub(crate) log_timings: bool,
}

impl Template for ScaledTemplate {
    fn n_features(&self) -> usize {
        self.centre.len()
    }
    fn anomaly(&self, sample: &[f64], _: &mut Scratch) -> f64 {
        let terms = sample.iter().zip(&self.centre).zip(&self.inv_scale);
        if self.log_timings {
            terms
                .map(|((x, c), w)| (log_timing(*x) - c).abs() * w)
                .sum()
        } else {
            terms.map(|((x, c), w)| (x - c).abs() * w).sum()
        }
    }
}

/// Smallest scale used, in seconds: a feature that never varied during enrolment (possible with
/// a coarse timer) must not divide by zero.
pub(crate) const MIN_SCALE_S: f64 = 1e-6;

impl Detector for ScaledManhattan {
    fn name(&self) -> &'static str {
        "manhattan-scaled"
    }
    fn fit(&self, enrolment: &Samples) -> Result<Box<dyn Template>, KeystrokeError> {
        need(self.name(), enrolment, 1)?;
        let centre = linalg::column_means(enrolment);
        let inv_scale = centre
            .iter()
            .enumerate()
            .map(|(j, m)| {
                let n = enrolment.len() as f64;
                let mad = enrolment.column(j).map(|x| (x - m).abs()).sum::<f64>() / n;
                1.0 / mad.max(MIN_SCALE_S)
            })
            .collect();
        Ok(Box::new(ScaledTemplate {
            centre,
            inv_scale,
            log_timings: false,
        }))
    }
}

/// Robust scaled Manhattan: Σ |x − median| / MAD per feature, so a few fumbled enrolment
/// repetitions move neither centre nor scale. With `log_timings`, features are
/// [`log_timing`]s. A feature whose MAD is 0 (more than half the values equal, as a coarse
/// timer makes them) falls back to its mean absolute deviation from the median, then to
/// [`MIN_SCALE_S`].
#[derive(Debug, Clone, Copy)]
pub struct RobustManhattan {
    /// Work on [`log_timing`] values instead of seconds.
    pub log_timings: bool,
}

impl Detector for RobustManhattan {
    fn name(&self) -> &'static str {
        if self.log_timings {
            "manhattan-robust-log"
        } else {
            "manhattan-robust"
        }
    }
    fn fit(&self, enrolment: &Samples) -> Result<Box<dyn Template>, KeystrokeError> {
        need(self.name(), enrolment, 1)?;
        let p = enrolment.n_features();
        let mut col = Vec::with_capacity(enrolment.len());
        let (mut centre, mut inv_scale) = (Vec::with_capacity(p), Vec::with_capacity(p));
        for j in 0..p {
            col.clear();
            if self.log_timings {
                col.extend(enrolment.column(j).map(log_timing));
            } else {
                col.extend(enrolment.column(j));
            }
            let med = linalg::median_in_place(&mut col);
            col.iter_mut().for_each(|x| *x = (*x - med).abs());
            let mean_dev = col.iter().sum::<f64>() / col.len().max(1) as f64;
            let mad = linalg::median_in_place(&mut col);
            let scale = if mad > 0.0 { mad } else { mean_dev };
            centre.push(med);
            inv_scale.push(1.0 / scale.max(MIN_SCALE_S));
        }
        Ok(Box::new(ScaledTemplate {
            centre,
            inv_scale,
            log_timings: self.log_timings,
        }))
    }
}

/// Outlier count (Haider et al. 2000): the number of features whose z-score against the
/// enrolment mean and sample SD exceeds 1.96 in absolute value.
#[derive(Debug, Clone, Copy)]
pub struct OutlierCount;

/// |z| above which a feature counts as an outlier (two-sided 5 %).
pub const Z_OUTLIER: f64 = 1.96;

#[derive(Debug, Clone)]
struct OutlierTemplate {
    mean: Vec<f64>,
    sd: Vec<f64>,
}

impl Template for OutlierTemplate {
    fn n_features(&self) -> usize {
        self.mean.len()
    }
    fn anomaly(&self, sample: &[f64], _: &mut Scratch) -> f64 {
        sample
            .iter()
            .zip(&self.mean)
            .zip(&self.sd)
            .filter(|((x, m), s)| (*x - *m).abs() > Z_OUTLIER * **s)
            .count() as f64
    }
}

impl Detector for OutlierCount {
    fn name(&self) -> &'static str {
        "outlier-count-z"
    }
    fn fit(&self, enrolment: &Samples) -> Result<Box<dyn Template>, KeystrokeError> {
        need(self.name(), enrolment, 2)?;
        let mean = linalg::column_means(enrolment);
        let n = enrolment.len() as f64;
        let sd = mean
            .iter()
            .enumerate()
            .map(|(j, m)| {
                let ss: f64 = enrolment.column(j).map(|x| (x - m).powi(2)).sum();
                (ss / (n - 1.0)).sqrt()
            })
            .collect();
        Ok(Box::new(OutlierTemplate { mean, sd }))
    }
}
