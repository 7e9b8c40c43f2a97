//! Verified outcomes reported by the broker after a step-up or an investigation. These, and only
//! these, teach Tessera what is normal for a user.

use serde::{Deserialize, Serialize};

/// What was verified about an earlier scored request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// The customer passed a one-time-password challenge.
    OtpPassed,
    /// The customer failed a one-time-password challenge.
    OtpFailed,
    /// The customer passed knowledge-based questions.
    KbaPassed,
    /// The customer failed knowledge-based questions.
    KbaFailed,
    /// An analyst or a later signal confirmed the session was genuine.
    ConfirmedSafe,
    /// An analyst confirmed the session was fraud.
    ConfirmedFraud,
}

impl OutcomeKind {
    /// True when the outcome proves the genuine customer was present, so the profile may learn.
    pub fn is_verified_genuine(self) -> bool {
        matches!(
            self,
            OutcomeKind::OtpPassed | OutcomeKind::KbaPassed | OutcomeKind::ConfirmedSafe
        )
    }

    /// True for a failed challenge (counts towards failure velocity).
    pub fn is_failure(self) -> bool {
        matches!(self, OutcomeKind::OtpFailed | OutcomeKind::KbaFailed)
    }

    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::OtpPassed => "otp_passed",
            OutcomeKind::OtpFailed => "otp_failed",
            OutcomeKind::KbaPassed => "kba_passed",
            OutcomeKind::KbaFailed => "kba_failed",
            OutcomeKind::ConfirmedSafe => "confirmed_safe",
            OutcomeKind::ConfirmedFraud => "confirmed_fraud",
        }
    }
}

/// An outcome line: `{"kind": "outcome", "request_id", "user_id", "timestamp", "outcome"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRecord {
    /// Always `"outcome"` on the wire.
    pub kind: OutcomeTag,
    /// The scored request this outcome verifies.
    pub request_id: String,
    /// The user the request claimed; must match the scored request.
    pub user_id: String,
    /// When the outcome was verified, RFC 3339.
    pub timestamp: String,
    /// What was verified.
    pub outcome: OutcomeKind,
    /// The `receipt` of the score answer this outcome verifies. Required over HTTP (only the
    /// caller that received the answer can teach with its evidence); optional for trusted
    /// offline replay (`tessera score` over a file, training), checked whenever present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
}

/// The literal tag `"outcome"` that marks an outcome line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeTag {
    /// `"outcome"`.
    Outcome,
}

impl OutcomeRecord {
    /// Builds an outcome record.
    pub fn new(request_id: &str, user_id: &str, timestamp: &str, outcome: OutcomeKind) -> Self {
        OutcomeRecord {
            kind: OutcomeTag::Outcome,
            request_id: request_id.to_string(),
            user_id: user_id.to_string(),
            timestamp: timestamp.to_string(),
            outcome,
            receipt: None,
        }
    }

    /// The same outcome, echoing `receipt` (from the score answer it verifies).
    pub fn with_receipt(mut self, receipt: &str) -> Self {
        self.receipt = Some(receipt.to_string());
        self
    }

    /// A bit per kind, for the set of outcomes already applied to a request.
    pub fn bit(kind: OutcomeKind) -> u8 {
        1 << (kind as u8)
    }

    /// Parses one JSON document; a failure names the offending field.
    pub fn from_json(text: &str) -> Result<OutcomeRecord, super::InputError> {
        super::error::parse_json(text)
    }
}
