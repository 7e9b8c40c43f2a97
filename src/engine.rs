//! (skeleton)
/// The scoring engine (skeleton).
pub struct Engine;
