//! The wire response: trust score, decision and explained reasons.

use serde::{Deserialize, Serialize};

use super::reason::Reason;
use super::score::{Decision, RiskBand, TrustScore};
use super::source::Sources;

/// What a shadow model decided for a request: logged and audited beside the active model's
/// answer, never returned to the caller and never enforced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShadowScore {
    /// Version of the shadow model.
    pub model_version: String,
    /// Its trust score.
    pub trust_score: TrustScore,
    /// The decision the policy would have taken on it.
    pub decision: Decision,
}

/// Tessera's answer to one [`super::ScoreRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreResponse {
    /// The caller's request id, or the one Tessera generated.
    pub request_id: String,
    /// 0–100; 100 = certainly the genuine user.
    pub trust_score: TrustScore,
    /// 0–1: how much evidence the score rests on (signals present, depth of verified history).
    pub confidence: f64,
    /// The evidence sources the score rests on (`geo`, `reputation`, `store`, `ip`,
    /// `device`): those the deployment has and the request carried. A source absent by design
    /// (not configured) or missing for this request is not listed; a missing one that costs
    /// friction also has its reason code.
    #[serde(default)]
    pub sources: Sources,
    /// Coarse risk band of the session.
    pub risk: RiskBand,
    /// What the broker should do.
    pub decision: Decision,
    /// Delay before the challenge, ms (non-zero only for `step_up_otp_kba`).
    pub delay_ms: u32,
    /// Reasons, strongest first.
    pub reasons: Vec<Reason>,
    /// Whether the session may enrol new factors: only a clean low-risk allow (no floor or policy
    /// rule stepped in) of an account with verified history.
    pub allow_factor_enrollment: bool,
    /// Version of the model that produced the score.
    pub model_version: String,
    /// Unguessable proof of having received this answer, 32 lowercase hex digits. An outcome
    /// that verifies this request echoes it (`receipt` in the outcome): only the caller that
    /// received the answer can teach the profile with this request's evidence. An identical
    /// retry of the request gets the same answer, receipt included.
    #[serde(default)]
    pub receipt: String,
}
