//! [`InputError`]: why a request, outcome or other outside input was refused. Each message names
//! the field (`typing.events[3].up_ms`) and the problem, and never echoes raw values that could be
//! personal data.

use serde::de::DeserializeOwned;

/// Bad input from outside: the caller can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The document is not valid JSON or a field has the wrong type or an unknown value.
    #[error("{field}: {problem}")]
    Malformed {
        /// Path of the field (`.` when the document as a whole is wrong).
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// A field has a value outside what Tessera accepts.
    #[error("{field}: {problem}")]
    Invalid {
        /// Path of the field.
        field: String,
        /// What is wrong.
        problem: String,
    },
}

impl InputError {
    /// An invalid-value error for `field`.
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> InputError {
        InputError::Invalid {
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// The field path the error names.
    pub fn field(&self) -> &str {
        match self {
            InputError::Malformed { field, .. } | InputError::Invalid { field, .. } => field,
        }
    }
}

/// Parses JSON into `T`, turning serde's error into one that names the field path.
///
/// Valid input takes the plain serde_json path; only a failure is parsed again with path
/// tracking (which costs about as much as the parse itself) to name the field.
pub(crate) fn parse_json<T: DeserializeOwned>(text: &str) -> Result<T, InputError> {
    if let Ok(value) = serde_json::from_str(text) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        InputError::Malformed {
            field: if path.is_empty() || path == "?" {
                ".".to_string()
            } else {
                path
            },
            problem: redact_serde_message(&inner),
        }
    })?;
    de.end().map_err(|e| InputError::Malformed {
        field: ".".to_string(),
        problem: redact_serde_message(&e),
    })?;
    Ok(value)
}

/// serde_json messages quote the offending value (`invalid type: string "alice"`); keep only the
/// kind of problem so that no personal data travels into logs or error bodies.
fn redact_serde_message(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let msg = match msg.find(" at line ") {
        Some(i) => &msg[..i],
        None => msg.as_str(),
    };
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        // "string \"x\", expected u32" -> "wrong type (string), expected u32"
        let kind = rest.split([' ', ',']).next().unwrap_or("value");
        let expected = rest
            .rsplit_once("expected ")
            .map(|(_, e)| e)
            .unwrap_or("another type");
        return format!("wrong type ({kind}), expected {expected}");
    }
    if let Some(rest) = msg.strip_prefix("invalid value: ") {
        let expected = rest
            .rsplit_once("expected ")
            .map(|(_, e)| e)
            .unwrap_or("another value");
        return format!("invalid value, expected {expected}");
    }
    msg.to_string()
}
