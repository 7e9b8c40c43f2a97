//! The free-text typing file (the layout of the Aalto "136M Keystrokes" development split): one
//! JSON object a line, one line a sentence, `{"u": user, "i": sentence index, "ev": [[code,
//! down_ms, up_ms], ...]}` (other fields ignored). Read by `tessera eval keystroke-free` and
//! `tessera train typing-background`.
//!
//! Malformed input is a [`KeystrokeError::BadLine`] naming the line and the field (`ev[3][1]`)
//! and what is wrong with it, never the value: the file holds what people typed.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::KeystrokeError;
use crate::domain::KeyEvent;

/// One typist's sentences, in the order typed.
#[derive(Debug, Clone, PartialEq)]
pub struct FreeUser {
    /// Participant id as in the file.
    pub id: u64,
    /// Key events of each sentence, in press order; the sentence index is the position.
    pub sentences: Vec<Vec<KeyEvent>>,
}

/// A loaded free-text file: users in ascending id.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FreeText {
    /// Users, ascending id.
    pub users: Vec<FreeUser>,
}

impl FreeText {
    /// Total sentences.
    pub fn n_sentences(&self) -> usize {
        self.users.iter().map(|u| u.sentences.len()).sum()
    }
}

#[derive(Deserialize)]
struct Line {
    u: u64,
    i: u32,
    ev: Vec<(Option<String>, f64, f64)>,
}

/// Reads and parses the file at `path`.
pub fn load(path: &Path) -> Result<FreeText, KeystrokeError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeystrokeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text)
}

fn bad(line: usize, field: impl Into<String>, problem: &'static str) -> KeystrokeError {
    KeystrokeError::BadLine {
        line,
        field: field.into(),
        problem,
    }
}

/// Parses the text of a free-text file (blank lines are skipped).
pub fn parse(text: &str) -> Result<FreeText, KeystrokeError> {
    let mut users: BTreeMap<u64, BTreeMap<u32, Vec<KeyEvent>>> = BTreeMap::new();
    for (k, raw) in text.lines().enumerate() {
        let line = k + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let mut de = serde_json::Deserializer::from_str(raw);
        let parsed: Line = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.inner();
            // serde's own message may quote the value; keep only its kind.
            let problem = if inner.is_syntax() || inner.is_eof() {
                "not valid JSON"
            } else if inner.to_string().starts_with("missing field") {
                "missing field"
            } else {
                "wrong type or value"
            };
            let field = match (field.as_str(), problem) {
                (_, "missing field") => missing_field(&inner.to_string()),
                (".", _) => "(line)".to_string(),
                _ => field,
            };
            bad(line, field, problem)
        })?;
        let mut prev_down = f64::NEG_INFINITY;
        let mut events = Vec::with_capacity(parsed.ev.len());
        for (j, (key, down_ms, up_ms)) in parsed.ev.into_iter().enumerate() {
            if !down_ms.is_finite() {
                return Err(bad(line, format!("ev[{j}][1]"), "not a finite time"));
            }
            if !up_ms.is_finite() || up_ms < down_ms {
                return Err(bad(line, format!("ev[{j}][2]"), "key-up before key-down"));
            }
            if down_ms < prev_down {
                return Err(bad(line, format!("ev[{j}][1]"), "not in press order"));
            }
            prev_down = down_ms;
            events.push(KeyEvent {
                key,
                down_ms,
                up_ms,
            });
        }
        if users
            .entry(parsed.u)
            .or_default()
            .insert(parsed.i, events)
            .is_some()
        {
            return Err(bad(line, "i", "sentence index repeated for this user"));
        }
    }
    Ok(FreeText {
        users: users
            .into_iter()
            .map(|(id, s)| FreeUser {
                id,
                sentences: s.into_values().collect(),
            })
            .collect(),
    })
}

/// The field name of serde's "missing field `x`" message (a name from our own struct).
fn missing_field(message: &str) -> String {
    message
        .split('`')
        .nth(1)
        .filter(|f| ["u", "i", "ev"].contains(f))
        .unwrap_or("(line)")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_users_in_order_and_sentences_by_index() {
        let text = concat!(
            r#"{"u": 9, "i": 1, "s": 3, "ev": [["KeyA", 0, 90], [null, 120, 200]]}"#,
            "\n\n",
            r#"{"u": 2, "i": 0, "ev": [["KeyB", 5, 70]]}"#,
            "\n",
            r#"{"u": 9, "i": 0, "ev": []}"#,
            "\n"
        );
        let d = parse(text).expect("parse");
        assert_eq!(d.users.len(), 2);
        assert_eq!(d.users[0].id, 2);
        assert_eq!(d.users[1].id, 9);
        assert_eq!(d.users[1].sentences[0].len(), 0);
        let s = &d.users[1].sentences[1];
        assert_eq!(s[0].key.as_deref(), Some("KeyA"));
        assert_eq!(s[1].key, None);
        assert_eq!((s[1].down_ms, s[1].up_ms), (120.0, 200.0));
        assert_eq!(d.n_sentences(), 3);
    }

    fn err(text: &str) -> String {
        parse(text).expect_err("malformed").to_string()
    }

    #[test]
    fn malformed_lines_name_line_and_field_never_the_value() {
        let good = r#"{"u": 1, "i": 0, "ev": [["KeyA", 0, 90]]}"#;
        let e = err(&format!(
            "{good}\n{}",
            r#"{"u": 1, "i": 1, "ev": [["KeyA", 0, 90], ["KeyS", "secret", 90]]}"#
        ));
        assert!(e.starts_with("line 2, field `ev[1][1]`"), "{e}");
        assert!(!e.contains("secret"), "{e}");
        let e = err(r#"{"u": 1, "i": 0, "ev": [["KeyA", 100, 40]]}"#);
        assert_eq!(e, "line 1, field `ev[0][2]`: key-up before key-down");
        let e = err(r#"{"u": 1, "i": 0, "ev": [["KeyA", 100, 140], ["KeyB", 50, 90]]}"#);
        assert_eq!(e, "line 1, field `ev[1][1]`: not in press order");
        let e = err(r#"{"u": 1, "ev": []}"#);
        assert_eq!(e, "line 1, field `i`: missing field");
        let e = err(r#"{"u": 1, "i": 0, "ev": [["mypassword"#);
        assert!(e.starts_with("line 1, field"), "{e}");
        assert!(e.ends_with("not valid JSON"), "{e}");
        assert!(!e.contains("mypassword"), "{e}");
        let e = err(&format!("{good}\n{good}"));
        assert_eq!(
            e,
            "line 2, field `i`: sentence index repeated for this user"
        );
    }
}
