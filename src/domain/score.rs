//! The outputs of a risk assessment: [`TrustScore`], [`RiskBand`] and [`Decision`].

use serde::{Deserialize, Serialize};

/// Trust in the claimed identity, 0 (certainly not the user) to 100 (certainly the user).
///
/// Like linfa's `Pr`, the only way to build one is through a check that rejects values outside
/// the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct TrustScore(u8);

impl TrustScore {
    /// Highest possible trust.
    pub const MAX: TrustScore = TrustScore(100);
    /// Lowest possible trust.
    pub const MIN: TrustScore = TrustScore(0);

    /// Returns `None` above 100.
    pub fn new(value: u8) -> Option<TrustScore> {
        (value <= 100).then_some(TrustScore(value))
    }

    /// Trust from the model's attack probability `p` in [0, 1]: `round(100 × (1 − p))`.
    /// Non-finite input gives the minimum (fail secure).
    pub fn from_attack_probability(p: f64) -> TrustScore {
        if !p.is_finite() {
            return TrustScore::MIN;
        }
        let t = (100.0 * (1.0 - p.clamp(0.0, 1.0))).round();
        TrustScore(t as u8)
    }

    /// The value, 0–100.
    pub fn value(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for TrustScore {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        TrustScore::new(v).ok_or_else(|| format!("trust score {v} is above 100"))
    }
}

impl From<TrustScore> for u8 {
    fn from(t: TrustScore) -> u8 {
        t.0
    }
}

/// Coarse risk level of a session, independent of the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskBand {
    /// Nothing notable.
    Low,
    /// Some anomaly; step-up is warranted for most actions.
    Medium,
    /// Strong anomaly.
    High,
    /// Near-certain attack.
    Critical,
}

/// What the broker should do, ordered from least to most friction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Let the customer through without a challenge.
    Allow,
    /// Ask for a one-time password.
    StepUpOtp,
    /// Ask for a one-time password and knowledge-based answers, after a delay.
    StepUpOtpKba,
    /// Refuse; hand to fraud operations.
    Deny,
}

impl Decision {
    /// Stable snake_case name, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::StepUpOtp => "step_up_otp",
            Decision::StepUpOtpKba => "step_up_otp_kba",
            Decision::Deny => "deny",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_score_rejects_values_above_100() {
        assert!(TrustScore::new(101).is_none());
        assert_eq!(TrustScore::new(100), Some(TrustScore::MAX));
        let err = serde_json::from_str::<TrustScore>("101").expect_err("101 is out of range");
        assert!(err.to_string().contains("above 100"), "{err}");
    }

    #[test]
    fn trust_from_probability_is_complement_and_fails_secure() {
        assert_eq!(TrustScore::from_attack_probability(0.0).value(), 100);
        assert_eq!(TrustScore::from_attack_probability(0.254).value(), 75);
        assert_eq!(TrustScore::from_attack_probability(1.0).value(), 0);
        assert_eq!(TrustScore::from_attack_probability(f64::NAN).value(), 0);
    }

    #[test]
    fn decisions_order_by_friction() {
        assert!(Decision::Allow < Decision::StepUpOtp);
        assert!(Decision::StepUpOtpKba < Decision::Deny);
        assert_eq!(
            serde_json::to_string(&Decision::StepUpOtpKba).expect("serialize"),
            "\"step_up_otp_kba\""
        );
    }
}
