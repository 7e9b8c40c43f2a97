//! The [`Detector`] trait (fit enrolment samples → a [`Template`]; score one sample → an anomaly
//! score, higher = more anomalous) and the distance-to-template detectors of Killourhy & Maxion
//! (DSN 2009): Euclidean, Manhattan, scaled Manhattan and the z-score outlier count, plus the
//! robust scaled Manhattan. Covariance-based detectors live in `mahalanobis`, fusion in `fusion`;
//! [`detectors`] lists them all in report order.
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
        Box::new(RobustManhattan),
        Box::new(mahalanobis::NearestNeighbourMahalanobisManhattan),
        Box::new(fusion::Fusion::default()),
    ]
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
}

impl Template for ScaledTemplate {
    fn n_features(&self) -> usize {
        self.centre.len()
    }
    fn anomaly(&self, sample: &[f64], _: &mut Scratch) -> f64 {
        sample
            .iter()
            .zip(&self.centre)
            .zip(&self.inv_scale)
            .map(|((x, c), w)| (x - c).abs() * w)
            .sum()
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
        Ok(Box::new(ScaledTemplate { centre, inv_scale }))
    }
}

/// Robust scaled Manhattan: the centre is each feature's median and the scale its median
/// absolute deviation from the median, so a few fumbled enrolment repetitions move neither.
#[derive(Debug, Clone, Copy)]
pub struct RobustManhattan;

impl Detector for RobustManhattan {
    fn name(&self) -> &'static str {
        "manhattan-robust"
    }
    fn fit(&self, enrolment: &Samples) -> Result<Box<dyn Template>, KeystrokeError> {
        need(self.name(), enrolment, 1)?;
        let p = enrolment.n_features();
        let mut col = Vec::with_capacity(enrolment.len());
        let (mut centre, mut inv_scale) = (Vec::with_capacity(p), Vec::with_capacity(p));
        for j in 0..p {
            col.clear();
            col.extend(enrolment.column(j));
            let med = linalg::median_in_place(&mut col);
            col.iter_mut().for_each(|x| *x = (*x - med).abs());
            let mad = linalg::median_in_place(&mut col);
            centre.push(med);
            inv_scale.push(1.0 / mad.max(MIN_SCALE_S));
        }
        Ok(Box::new(ScaledTemplate { centre, inv_scale }))
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
