//! [`InputError`]: why a request, outcome or other outside input was refused. Each message names
//! the field (`typing.events[3].up_ms`) and the problem, and never echoes raw values that could be
//! personal data.

use serde::de::DeserializeOwned;

use super::strict::Strict;

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

/// Parses JSON into `T`, turning serde's error into one that names the field path. No struct is
/// read from a JSON array (serde would otherwise take `[a, b]` for `{"x": a, "y": b}`).
///
/// Valid input takes the plain serde_json path; only a failure is parsed again with path
/// tracking (which costs about as much as the parse itself) to name the field.
pub(crate) fn parse_json<T: DeserializeOwned>(text: &str) -> Result<T, InputError> {
    let mut de = serde_json::Deserializer::from_str(text);
    if let Ok(value) = T::deserialize(Strict(&mut de))
        && de.end().is_ok()
    {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(Strict(&mut de)).map_err(|e| {
        let mut path = e.path().to_string();
        // After an unknown field the path ends with that key: outside text, not one of our names.
        if e.inner().to_string().starts_with("unknown field ")
            && let Some(serde_path_to_error::Segment::Map { key }) = e.path().iter().next_back()
        {
            let parent = path.strip_suffix(key.as_str()).unwrap_or("");
            path = parent.strip_suffix('.').unwrap_or(parent).to_string();
        }
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

/// serde_json messages quote the offending value (`invalid type: string "alice"`, ``unknown
/// variant `alice@example.com` ``); keep the kind of problem and the list of *expected* names (which
/// come from our own types), and drop the value, so that no personal data travels into logs or
/// error bodies. A message of an unknown shape that quotes anything becomes a generic one.
pub fn redact_serde_message(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let msg = match msg.find(" at line ") {
        Some(i) => &msg[..i],
        None => msg.as_str(),
    };
    redact_message(msg)
}

/// [`redact_serde_message`] on the text of a message (without its position).
fn redact_message(msg: &str) -> String {
    let expected = |rest: &str, default: &str| {
        rest.rsplit_once("expected ")
            .map_or(default.to_string(), |(_, e)| format!("expected {e}"))
    };
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        // "string \"x\", expected u32" -> "wrong type (string), expected u32"
        let kind = rest.split([' ', ',']).next().unwrap_or("value");
        let kind = match kind {
            "string" | "integer" | "floating" | "boolean" | "null" | "sequence" | "map"
            | "unit" | "character" | "newtype" | "enum" | "option" | "byte" => kind,
            _ => "value",
        };
        return format!(
            "wrong type ({kind}), {}",
            expected(rest, "expected another type")
        );
    }
    if let Some(rest) = msg.strip_prefix("invalid value: ") {
        return format!(
            "invalid value, {}",
            expected(rest, "expected another value")
        );
    }
    if let Some(rest) = msg.strip_prefix("invalid length ") {
        return format!(
            "invalid length, {}",
            expected(rest, "expected another length")
        );
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        return match rest.split_once(", expected ") {
            Some((_, names)) => format!("unknown variant, expected {names}"),
            None => "unknown variant, there are no variants".into(),
        };
    }
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        return match rest.split_once(", expected ") {
            Some((_, names)) => format!("unknown field, expected {names}"),
            None => "unknown field, there are no fields".into(),
        };
    }
    // `missing field `x`` and `duplicate field `x`` name one of our own fields.
    if msg.starts_with("missing field `") || msg.starts_with("duplicate field `") {
        return msg.to_string();
    }
    if msg.contains(['`', '"', '\'']) {
        return "invalid value".into();
    }
    msg.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Probe {
        n: u32,
        kind: Kind,
        #[serde(default)]
        pair: Option<(u8, u8)>,
        #[serde(default)]
        list: Option<[u8; 2]>,
        #[serde(default)]
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        #[serde(default)]
        m: u8,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Web,
        Sms,
    }

    const EMAIL: &str = "alice@example.com";

    fn problem(json: &str) -> InputError {
        parse_json::<Probe>(json).expect_err("refused")
    }

    #[test]
    fn no_serde_message_kind_echoes_the_value() {
        let cases = [
            (
                r#"{"n": 1, "kind": "alice@example.com"}"#,
                "kind: unknown variant, expected `web` or `sms`",
            ),
            (
                r#"{"n": 1, "kind": "web", "alice@example.com": 1}"#,
                ".: unknown field, expected one of `n`, `kind`, `pair`, `list`, `inner`",
            ),
            (
                r#"{"n": "alice@example.com", "kind": "web"}"#,
                "n: wrong type (string), expected u32",
            ),
            (
                r#"{"n": -7, "kind": "web"}"#,
                "n: invalid value, expected u32",
            ),
            (
                r#"{"n": 1, "kind": "web", "pair": [1, 2, 3]}"#,
                "pair: trailing characters",
            ),
            (
                r#"{"n": 1, "kind": "web", "list": [1]}"#,
                "list: invalid length, expected an array of length 2",
            ),
            (
                r#"{"n": 1, "kind": "web", "kind": "sms"}"#,
                ".: duplicate field `kind`",
            ),
            (r#"{"kind": "web"}"#, ".: missing field `n`"),
        ];
        for (json, want) in cases {
            let e = problem(json);
            let text = e.to_string();
            assert!(!text.contains(EMAIL) && !text.contains("-7"), "{text}");
            assert_eq!(text, want, "{json}");
        }
    }

    #[test]
    fn no_struct_is_read_from_an_array() {
        let e = problem(r#"[1, "web"]"#);
        assert_eq!(
            e.to_string(),
            ".: wrong type (sequence), expected struct Probe"
        );
        let e = problem(r#"{"n": 1, "kind": "web", "inner": []}"#);
        assert_eq!(
            e.to_string(),
            "inner: wrong type (sequence), expected struct Inner"
        );
        let ok = parse_json::<Probe>(r#"{"n": 1, "kind": "sms", "pair": [1, 2], "inner": {}}"#)
            .expect("objects, tuples and arrays where they belong");
        assert_eq!((ok.n, ok.pair), (1, Some((1, 2))));
    }

    #[test]
    fn unknown_shapes_that_quote_become_generic() {
        assert_eq!(
            redact_message("bad thing `alice@example.com`"),
            "invalid value"
        );
        assert_eq!(
            redact_message("EOF while parsing a value"),
            "EOF while parsing a value"
        );
    }
}
