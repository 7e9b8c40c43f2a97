//! Models: a linear scorer over the feature vector, loaded from a versioned artifact that records
//! the feature schema it was trained on. Logistic regression (trained with linfa) and the
//! hand-weighted rules baseline share the same runtime form.
//!
//! Fail secure: features that need an unavailable source are imputed at the value that maximises
//! risk under the active model, so a missing database or a failed store read can never lower the
//! challenge.

pub mod artifact;
pub mod explain;
pub mod linear;
pub mod rules;

pub use artifact::{Artifact, ArtifactError, ModelKind};
pub use linear::LinearModel;
