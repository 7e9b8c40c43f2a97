//! The wire request a broker sends for one chat authentication event (schema 1).
//!
//! These are plain serde types: they say what may arrive, not whether it makes sense. Use
//! [`crate::domain::validate`] before trusting any field. Raw typed text never appears here: a key
//! event carries a key *code or class* and its timing, never the character's meaning in context.

use serde::{Deserialize, Serialize};

use super::context::{Action, Channel};

/// One authentication-relevant chat event, as sent by an identity broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreRequest {
    /// Wire schema version; only `1` is accepted.
    pub schema: u32,
    /// Caller's id for this request; generated when absent. At most 128 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The identity the customer claims (opaque to Tessera). 1–128 characters.
    pub user_id: String,
    /// The chat conversation this event belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// When the event happened, RFC 3339 (e.g. `2026-03-01T09:30:00Z`).
    pub timestamp: String,
    /// Chat surface.
    pub channel: Channel,
    /// What the customer attempts; `login` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// Network evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkInfo>,
    /// Device evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceInfo>,
    /// Keystroke timing evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typing: Option<TypingInfo>,
    /// Authentication context of this session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthInfo>,
    /// What the customer consented to, as the broker recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentInfo>,
}

/// The customer's consents, as the broker recorded them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentInfo {
    /// Consent to behavioural biometrics: the rhythm of `typing.events` compared with, and
    /// learned into, the customer's typing profile. Where the tenant requires it
    /// (`[typing] require_consent`), typing without `true` here is neither compared nor
    /// stored and is scored as absent (`typing_consent_missing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavioral_biometrics: Option<bool>,
}

/// The state of a request's consent to behavioural biometrics, as the audit log records it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BiometricConsent {
    /// `consent.behavioral_biometrics` is `true`.
    Given,
    /// It is `false`.
    Refused,
    /// The request does not say.
    #[default]
    Unstated,
}

impl BiometricConsent {
    /// The request's consent state.
    pub fn of(req: &ScoreRequest) -> BiometricConsent {
        match req.consent.and_then(|c| c.behavioral_biometrics) {
            Some(true) => BiometricConsent::Given,
            Some(false) => BiometricConsent::Refused,
            None => BiometricConsent::Unstated,
        }
    }

    /// `given`, `refused` or `unstated`.
    pub fn as_str(self) -> &'static str {
        match self {
            BiometricConsent::Given => "given",
            BiometricConsent::Refused => "refused",
            BiometricConsent::Unstated => "unstated",
        }
    }
}

/// Network evidence for the event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkInfo {
    /// The client's public IP address (v4 or v6), as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// When the SIM of the customer's phone number last changed, RFC 3339, as the broker's
    /// carrier check reports it (the CAMARA SIM Swap API's `latestSimChange`, or an operator's
    /// equivalent). A recent change before an action of medium or high sensitivity is at least
    /// `step_up_otp_kba` (reason `recent_sim_swap`): a one-time code sent by SMS alone goes to
    /// whoever holds the new SIM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_changed_at: Option<String>,
}

/// Device evidence for the event; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceInfo {
    /// Client-side device identifier (cookie, app install id). At most 128 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// HTTP User-Agent. At most 512 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Platform string (`iOS`, `Android`, `Win32`, `MacIntel`, `Linux x86_64` …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// IANA time zone the device reports (`Europe/Paris`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Preferred languages, BCP 47 (`fr-FR`), most preferred first. At most 16.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// Screen size as `WIDTHxHEIGHT` in CSS pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen: Option<String>,
    /// `navigator.webdriver` or an equivalent automation flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webdriver: Option<bool>,
}

/// Keystroke timing captured while the customer typed in the chat.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypingInfo {
    /// Key events in press order.
    #[serde(default)]
    pub events: Vec<KeyEvent>,
}

/// One key press: when it went down and up, in milliseconds from any fixed origin in the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEvent {
    /// DOM key code (`KeyA`, `Digit1`, `Backspace` …; the typing background is keyed by them) or
    /// a key class (`letter`, `digit`, `space` …). Used only as a keyed hash naming the key's
    /// hold and its up-down flight to the next key; never kept in clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Key-down time, ms, finite and ≥ 0.
    pub down_ms: f64,
    /// Key-up time, ms, ≥ `down_ms`.
    pub up_ms: f64,
}

/// Authentication context the broker already holds for this session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthInfo {
    /// Failed authentication attempts so far in this session.
    #[serde(default)]
    pub failed_attempts: u32,
    /// Methods already passed in this session (`password`, `otp`, `passkey`, `oidc` …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passed_methods: Vec<String>,
}

impl ScoreRequest {
    /// The action attempted: [`Self::action`], `login` when absent.
    pub fn action_or_default(&self) -> Action {
        self.action.unwrap_or(Action::Login)
    }

    /// A minimal valid request: schema 1, no optional evidence.
    pub fn minimal(user_id: &str, timestamp: &str, channel: Channel) -> ScoreRequest {
        ScoreRequest {
            schema: 1,
            request_id: None,
            user_id: user_id.to_string(),
            session_id: None,
            timestamp: timestamp.to_string(),
            channel,
            action: None,
            network: None,
            device: None,
            typing: None,
            auth: None,
            consent: None,
        }
    }

    /// Parses one JSON document; a failure names the offending field path (`typing.events[3].down_ms`).
    pub fn from_json(text: &str) -> Result<ScoreRequest, super::InputError> {
        super::error::parse_json(text)
    }
}
