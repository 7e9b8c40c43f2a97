//! [`Error`]: the library's one error type, wrapping each layer's own thiserror enum.

/// Any error the library returns. Each variant wraps a layer's error, whose message names the
/// field, key or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad request or outcome from a caller.
    #[error("invalid input: {0}")]
    Input(#[from] crate::domain::InputError),
    /// The input is well-formed but conflicts with what the request id is already bound to
    /// (another user, device or network; an outcome's receipt that is not the answer's).
    #[error("conflict: {0}")]
    Conflict(crate::domain::InputError),
    /// The input names something that does not exist (an outcome's request id that was never
    /// scored in this tenant, or whose evidence expired).
    #[error("not found: {0}")]
    NotFound(crate::domain::InputError),
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// IP enrichment set-up failed (bad list file).
    #[error(transparent)]
    Enrich(#[from] crate::enrich::EnrichError),
    /// The profile store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A model artifact could not be used.
    #[error(transparent)]
    Artifact(#[from] crate::model::ArtifactError),
    /// Bad policy file.
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
    /// A keystroke benchmark file, template or evaluation failed.
    #[error(transparent)]
    Keystroke(#[from] crate::keystroke::KeystrokeError),
    /// The pseudonymisation key could not be loaded.
    #[error(transparent)]
    Key(#[from] crate::privacy::KeyError),
    /// The audit log could not be opened, written or verified.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
}

impl Error {
    /// True when the caller sent bad input (4xx in HTTP terms); false for server-side faults.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            Error::Input(_) | Error::Conflict(_) | Error::NotFound(_)
        )
    }
}
