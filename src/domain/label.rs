//! [`LabelRecord`]: one line of the label log, the JSON-lines file `tessera serve` appends to for
//! every verified outcome (`POST /v1/outcomes`) and `tessera train --labels` reads back.
//!
//! The line format is defined here and only here, so the writer (the server) and the reader
//! (`train::labels`) cannot drift apart. The line carries the user's keyed-hash pseudonym, never
//! the raw user id. This module does no I/O.

use serde::{Deserialize, Serialize};

use super::{InputError, OutcomeKind};

/// One label-log line:
/// `{"tenant","request_id","user","outcome","timestamp","recorded_ms"}` followed by `\n`
/// (`tenant` is absent in lines written before tenants existed: read as `default`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelRecord {
    /// The tenant of the key that reported the outcome.
    #[serde(default = "default_tenant")]
    pub tenant: String,
    /// The scored request the outcome verifies (the join key for training).
    pub request_id: String,
    /// Keyed-hash pseudonym of the user, 32 hex digits (never the raw user id).
    pub user: String,
    /// What was verified.
    pub outcome: OutcomeKind,
    /// When the outcome took effect, RFC 3339: the server's receive time (the broker's claimed
    /// time is not trusted for ordering labels); lines written before that carry the claim.
    pub timestamp: String,
    /// When the server recorded it, ms since the Unix epoch (server clock).
    pub recorded_ms: i64,
}

fn default_tenant() -> String {
    super::Tenant::DEFAULT.to_string()
}

impl LabelRecord {
    /// The label line for an outcome the server has applied: `user` is the pseudonym's hex.
    pub fn new(
        request_id: &str,
        user: &str,
        outcome: OutcomeKind,
        timestamp: &str,
        recorded_ms: i64,
    ) -> LabelRecord {
        LabelRecord {
            tenant: default_tenant(),
            request_id: request_id.to_string(),
            user: user.to_string(),
            outcome,
            timestamp: timestamp.to_string(),
            recorded_ms,
        }
    }

    /// The same record for `tenant`.
    pub fn in_tenant(mut self, tenant: &super::Tenant) -> LabelRecord {
        self.tenant = tenant.as_str().to_string();
        self
    }

    /// The record as one JSON line, terminated by `\n`.
    pub fn to_line(&self) -> String {
        // Strings, an enum of unit variants and an integer: serialising cannot fail.
        let mut line = serde_json::to_string(self).expect("a label record always serialises");
        line.push('\n');
        line
    }

    /// Parses one line (without its `\n`) and checks `request_id` (non-empty) and `timestamp`
    /// (RFC 3339, not before 2000); returns the record and the timestamp in ms since the epoch.
    /// A failure names the field and never echoes the value.
    pub fn parse(line: &str) -> Result<(LabelRecord, i64), InputError> {
        let rec: LabelRecord = super::error::parse_json(line)?;
        if rec.request_id.is_empty() {
            return Err(InputError::invalid("request_id", "is empty"));
        }
        let at_ms = super::validate::parse_timestamp("timestamp", &rec.timestamp)?;
        Ok((rec, at_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_round_trips_with_its_documented_fields() {
        let rec = LabelRecord::new(
            "r-1",
            "ab12",
            OutcomeKind::ConfirmedFraud,
            "2025-12-01T10:00:00.250Z",
            1_764_583_200_999,
        );
        let line = rec.to_line();
        assert_eq!(
            line,
            "{\"tenant\":\"default\",\"request_id\":\"r-1\",\"user\":\"ab12\",\"outcome\":\"confirmed_fraud\",\
             \"timestamp\":\"2025-12-01T10:00:00.250Z\",\"recorded_ms\":1764583200999}\n"
        );
        let (back, at_ms) = LabelRecord::parse(line.trim_end()).expect("parses back");
        assert_eq!(back, rec);
        assert_eq!(at_ms, 1_764_583_200_250);
    }

    #[test]
    fn bad_lines_name_the_field() {
        let err = |line: &str| LabelRecord::parse(line).expect_err("bad line").to_string();
        let ok =
            r#""request_id":"r","user":"u","timestamp":"2025-12-01T10:00:00Z","recorded_ms":1"#;
        assert_eq!(
            err(&format!(r#"{{{ok},"outcome":"otp_maybe"}}"#)),
            "outcome: unknown variant, expected one of `otp_passed`, `otp_failed`, \
             `kba_passed`, `kba_failed`, `confirmed_safe`, `confirmed_fraud`"
        );
        assert_eq!(
            err(r#"{"request_id":"r","user":"u","outcome":"otp_passed","recorded_ms":1}"#),
            ".: missing field `timestamp`"
        );
        assert_eq!(
            err(
                r#"{"request_id":"r","user":"u","outcome":"otp_passed","timestamp":"yesterday","recorded_ms":1}"#
            ),
            "timestamp: not an RFC 3339 timestamp (premature end of input)"
        );
        assert_eq!(
            err(
                r#"{"request_id":"","user":"u","outcome":"otp_passed","timestamp":"2025-12-01T10:00:00Z","recorded_ms":1}"#
            ),
            "request_id: is empty"
        );
        assert_eq!(
            err(
                r#"{"request_id":"r","user":"u","outcome":"otp_passed","timestamp":"2025-12-01T10:00:00Z","recorded_ms":"x"}"#
            ),
            "recorded_ms: wrong type (string), expected i64"
        );
    }
}
