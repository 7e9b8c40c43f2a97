//! Models: every family (logistic regression, the rules baseline, Freeman's likelihood ratios,
//! random forest, gradient boosting, the anomaly mixture) loads from a versioned artifact that
//! records the feature schema it was trained on, and serves through one runtime type,
//! [`Model`], with its calibration.
//!
//! Fail secure: features that need a source the client left out are imputed at the value that
//! maximises risk under the active model, so hiding a signal can never lower the challenge;
//! every family keeps each feature's declared direction (checked at load).

pub mod active;
pub mod anomaly;
pub mod artifact;
pub mod calibration;
pub mod explain;
pub mod rules;
pub mod runtime;
pub mod trees;

pub use artifact::{Artifact, ArtifactError, ModelKind};
pub use runtime::{Model, Terms};
