//! Fitting the tree families: a random forest with smartcore and gradient-boosted trees, both
//! compiled to [`crate::model::trees::Ensemble`] with every feature's direction kept.
//!
//! (Being built: see issue 11. Until then both fitters report that the family is unavailable.)

use crate::features::FeatureRow;
use crate::model::trees::Ensemble;

use super::TrainError;

/// Fits a random forest on `rows` (labels `y`, true = attack): raw score = mean leaf attack
/// probability ([`crate::model::trees::Combine::Mean`]). Returns the ensemble and its
/// parameters for the model card.
pub fn fit_forest(
    rows: &[FeatureRow],
    y: &[bool],
    seed: u64,
) -> Result<(Ensemble, serde_json::Value), TrainError> {
    let _ = (rows, y, seed);
    Err(TrainError::Data(
        "forest: not available in this build".into(),
    ))
}

/// Fits gradient-boosted trees on `rows` (labels `y`), with the validation split for early
/// stopping: raw score = log-odds ([`crate::model::trees::Combine::Sum`]). Returns the ensemble
/// and its parameters for the model card.
pub fn fit_boosting(
    rows: &[FeatureRow],
    y: &[bool],
    validation: (&[FeatureRow], &[bool]),
    seed: u64,
) -> Result<(Ensemble, serde_json::Value), TrainError> {
    let _ = (rows, y, validation, seed);
    Err(TrainError::Data(
        "boosting: not available in this build".into(),
    ))
}
