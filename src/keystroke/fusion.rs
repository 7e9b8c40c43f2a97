//! Score fusion: several detectors, each score normalised by that detector's own distribution
//! of genuine scores on the enrolment samples (k-fold cross-scoring: fit on the other folds,
//! score the held-out one), then averaged. Normalising per user and per detector puts a scaled
//! Manhattan sum and a whitened nearest-neighbour distance on one scale without any impostor
//! data and without per-data-set weights. The default fuses robust Manhattan on log timings
//! with nearest-neighbour Mahalanobis-Manhattan.

use super::detector::{self, Detector, Scratch, Template, need};
use super::{KeystrokeError, Samples, mahalanobis};

/// Folds of the cross-scoring (fewer when there are fewer enrolment samples).
pub const FOLDS: usize = 10;

/// Normalised-score fusion of its parts.
pub struct Fusion {
    name: &'static str,
    parts: Vec<Box<dyn Detector>>,
}

impl Default for Fusion {
    fn default() -> Self {
        Self {
            name: "fusion",
            parts: vec![
                Box::new(detector::RobustManhattan { log_timings: true }),
                Box::new(mahalanobis::NearestNeighbourMahalanobisManhattan),
            ],
        }
    }
}

#[derive(Debug)]
struct Part {
    template: Box<dyn Template>,
    centre: f64,
    inv_scale: f64,
}

#[derive(Debug)]
struct FusionTemplate {
    n_features: usize,
    parts: Vec<Part>,
}

impl Template for FusionTemplate {
    fn n_features(&self) -> usize {
        self.n_features
    }
    fn anomaly(&self, sample: &[f64], scratch: &mut Scratch) -> f64 {
        let sum: f64 = self
            .parts
            .iter()
            .map(|p| (p.template.anomaly(sample, scratch) - p.centre) * p.inv_scale)
            .sum();
        sum / self.parts.len().max(1) as f64
    }
}

/// Scores of each enrolment sample by a template fitted without its fold.
fn cross_scores(d: &dyn Detector, enrolment: &Samples) -> Result<Vec<f64>, KeystrokeError> {
    let n = enrolment.len();
    let k = FOLDS.min(n);
    let mut scores = vec![0.0; n];
    let mut scratch = Scratch::new();
    for fold in 0..k {
        let mut train = Samples::new(enrolment.n_features());
        for (i, r) in enrolment.rows().enumerate() {
            if i % k != fold {
                train.push(r);
            }
        }
        let t = d.fit(&train)?;
        for (i, r) in enrolment.rows().enumerate() {
            if i % k == fold {
                scores[i] = t.anomaly(r, &mut scratch);
            }
        }
    }
    Ok(scores)
}

impl Detector for Fusion {
    fn name(&self) -> &'static str {
        self.name
    }
    fn fit(&self, enrolment: &Samples) -> Result<Box<dyn Template>, KeystrokeError> {
        need(self.name, enrolment, 3)?;
        let mut parts = Vec::with_capacity(self.parts.len());
        for d in &self.parts {
            let cv = cross_scores(d.as_ref(), enrolment)?;
            let (mean, sd) = super::metrics::mean_sd(&cv);
            parts.push(Part {
                template: d.fit(enrolment)?,
                centre: mean,
                inv_scale: 1.0 / sd.max(1e-12),
            });
        }
        Ok(Box::new(FusionTemplate {
            n_features: enrolment.n_features(),
            parts,
        }))
    }
}
