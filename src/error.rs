//! [`Error`]: the library's one error type, wrapping each layer's own thiserror enum.

/// Any error the library returns. Each variant wraps a layer's error, whose message names the
/// field, key or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad request or outcome from a caller.
    #[error("invalid input: {0}")]
    Input(#[from] crate::domain::InputError),
}
