//! Covariance-based detectors: Mahalanobis distance to the mean and nearest-neighbour
//! Mahalanobis (the paper's), and nearest-neighbour Mahalanobis-Manhattan (Zhong, Deng & Jain
//! 2012: whiten with Σ^−½, then the L1 distance to the nearest enrolment sample).
//!
//! Each template stores a whitening matrix `W` with `z = W (x − mean)`, so a distance in
//! whitened space is the Mahalanobis geometry; scoring fills the caller's scratch with `z` and
//! allocates nothing.

use super::detector::{Detector, Scratch, Template, need};
use super::{KeystrokeError, Samples, linalg};

/// Relative floor on covariance eigenvalues for the symmetric whitening: eigenvalues below
/// `EIGEN_FLOOR × largest` are raised to it. CMU's DD columns are exact sums H + UD up to the
/// 4-decimal rounding, so without a floor Σ^−½ would mostly measure rounding noise.
pub const EIGEN_FLOOR: f64 = 1e-4;

/// `z = W (x − mean)` for one sample.
#[derive(Debug, Clone)]
struct Whitening {
    mean: Vec<f64>,
    /// `W`, row-major p × p.
    w: Vec<f64>,
}

impl Whitening {
    /// `W = L⁻¹` from the (regularised) Cholesky factor of the sample covariance.
    fn cholesky(s: &Samples) -> Self {
        let mean = linalg::column_means(s);
        let l = linalg::regularised_cholesky(&linalg::covariance(s, &mean));
        let p = mean.len();
        let mut w = vec![0.0; p * p];
        let mut col = vec![0.0; p];
        for j in 0..p {
            col.iter_mut()
                .enumerate()
                .for_each(|(i, c)| *c = f64::from(i == j));
            linalg::forward_substitute(&l, &mut col);
            for (i, c) in col.iter().enumerate() {
                w[i * p + j] = *c;
            }
        }
        Self { mean, w }
    }

    /// `W = V Λ^−½ Vᵀ` (symmetric inverse square root) with eigenvalues floored at
    /// [`EIGEN_FLOOR`] × the largest.
    fn symmetric(s: &Samples) -> Self {
        let mean = linalg::column_means(s);
        let (vals, v) = linalg::symmetric_eigen(&linalg::covariance(s, &mean));
        let top = vals.iter().copied().fold(0.0, f64::max).max(1e-300);
        let inv_sqrt: Vec<f64> = vals
            .iter()
            .map(|&l| 1.0 / l.max(EIGEN_FLOOR * top).sqrt())
            .collect();
        let p = mean.len();
        let mut w = vec![0.0; p * p];
        for i in 0..p {
            for j in 0..p {
                w[i * p + j] = (0..p).map(|k| v[[i, k]] * inv_sqrt[k] * v[[j, k]]).sum();
            }
        }
        Self { mean, w }
    }

    /// Writes `W (x − mean)` into `out` (length p).
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        for (o, wrow) in out
            .iter_mut()
            .zip(self.w.chunks_exact(self.mean.len().max(1)))
        {
            *o = wrow
                .iter()
                .zip(x.iter().zip(&self.mean))
                .map(|(w, (x, m))| w * (x - m))
                .sum();
        }
    }
}

/// Mahalanobis distance (squared, as R's `mahalanobis()`) to the enrolment mean, with the
/// inverse of the sample covariance (ridge-regularised only if singular).
#[derive(Debug, Clone, Copy)]
pub struct Mahalanobis;

#[derive(Debug, Clone)]
struct MahalanobisTemplate {
    white: Whitening,
}

impl Template for MahalanobisTemplate {
    fn n_features(&self) -> usize {
        self.white.mean.len()
    }
    fn anomaly(&self, sample: &[f64], scratch: &mut Scratch) -> f64 {
        let z = scratch.take(self.white.mean.len());
        self.white.apply(sample, z);
        z.iter().map(|v| v * v).sum()
    }
}

impl Detector for Mahalanobis {
    fn name(&self) -> &'static str {
        "mahalanobis"
    }
    fn fit(&self, enrolment: &Samples) -> Result<Box<dyn Template>, KeystrokeError> {
        need(self.name(), enrolment, 2)?;
        Ok(Box::new(MahalanobisTemplate {
            white: Whitening::cholesky(enrolment),
        }))
    }
}

/// Nearest-neighbour distance in a whitened space: L2² (the paper's nearest-neighbour
/// Mahalanobis) or L1 (Zhong et al.'s Mahalanobis-Manhattan).
#[derive(Debug, Clone)]
struct NearestTemplate {
    white: Whitening,
    /// Whitened enrolment samples, row-major.
    refs: Vec<f64>,
    l1: bool,
}

impl NearestTemplate {
    fn new(white: Whitening, enrolment: &Samples, l1: bool) -> Self {
        let p = white.mean.len();
        let mut refs = vec![0.0; enrolment.len() * p];
        for (r, out) in enrolment.rows().zip(refs.chunks_exact_mut(p)) {
            white.apply(r, out);
        }
        Self { white, refs, l1 }
    }
}

impl Template for NearestTemplate {
    fn n_features(&self) -> usize {
        self.white.mean.len()
    }
    fn anomaly(&self, sample: &[f64], scratch: &mut Scratch) -> f64 {
        let p = self.white.mean.len();
        let z = scratch.take(p);
        self.white.apply(sample, z);
        let mut best = f64::INFINITY;
        for r in self.refs.chunks_exact(p.max(1)) {
            let d: f64 = if self.l1 {
                r.iter().zip(z.iter()).map(|(a, b)| (a - b).abs()).sum()
            } else {
                r.iter().zip(z.iter()).map(|(a, b)| (a - b) * (a - b)).sum()
            };
            best = best.min(d);
        }
        best
    }
}

/// Nearest-neighbour Mahalanobis (the paper's): squared Mahalanobis distance from the sample
/// to the closest enrolment sample.
#[derive(Debug, Clone, Copy)]
pub struct NearestNeighbourMahalanobis;

impl Detector for NearestNeighbourMahalanobis {
    fn name(&self) -> &'static str {
        "nn-mahalanobis"
    }
    fn fit(&self, enrolment: &Samples) -> Result<Box<dyn Template>, KeystrokeError> {
        need(self.name(), enrolment, 2)?;
        let white = Whitening::cholesky(enrolment);
        Ok(Box::new(NearestTemplate::new(white, enrolment, false)))
    }
}

/// Nearest-neighbour Mahalanobis-Manhattan (Zhong, Deng & Jain 2012): L1 distance after the
/// symmetric whitening `Σ^−½`, to the closest enrolment sample.
#[derive(Debug, Clone, Copy)]
pub struct NearestNeighbourMahalanobisManhattan;

impl Detector for NearestNeighbourMahalanobisManhattan {
    fn name(&self) -> &'static str {
        "nn-mahalanobis-manhattan"
    }
    fn fit(&self, enrolment: &Samples) -> Result<Box<dyn Template>, KeystrokeError> {
        need(self.name(), enrolment, 2)?;
        let white = Whitening::symmetric(enrolment);
        Ok(Box::new(NearestTemplate::new(white, enrolment, true)))
    }
}
