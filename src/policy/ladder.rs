//! [`Ladder`]: three trust thresholds that cut 0–100 into the four decisions, and the fixed risk
//! bands.

use serde::{Deserialize, Serialize};

use crate::domain::{Decision, RiskBand, TrustScore};

/// Trust thresholds: at or above `allow` → allow; at or above `step_up_otp` → OTP; at or above
/// `step_up_otp_kba` → OTP + KBA; below → deny. Must satisfy allow ≥ step_up_otp ≥ step_up_otp_kba.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ladder {
    /// Lowest trust allowed passively.
    pub allow: u8,
    /// Lowest trust that gets an OTP step-up.
    pub step_up_otp: u8,
    /// Lowest trust that gets OTP + KBA; below it, deny.
    pub step_up_otp_kba: u8,
}

impl Ladder {
    /// Checks ordering and range; `key` names the ladder in the error.
    pub fn check(&self, key: &str) -> Result<(), String> {
        if self.allow > 100 {
            return Err(format!("{key}.allow: above 100"));
        }
        if !(self.allow >= self.step_up_otp && self.step_up_otp >= self.step_up_otp_kba) {
            return Err(format!(
                "{key}: thresholds must satisfy allow ≥ step_up_otp ≥ step_up_otp_kba"
            ));
        }
        Ok(())
    }

    /// Raises every threshold by `points` (capped at 100) — for weaker channels.
    pub fn raised(&self, points: u8) -> Ladder {
        Ladder {
            allow: self.allow.saturating_add(points).min(100),
            step_up_otp: self.step_up_otp.saturating_add(points).min(100),
            step_up_otp_kba: self.step_up_otp_kba.saturating_add(points).min(100),
        }
    }

    /// The decision for a trust score.
    pub fn decide(&self, trust: TrustScore) -> Decision {
        let t = trust.value();
        if t >= self.allow {
            Decision::Allow
        } else if t >= self.step_up_otp {
            Decision::StepUpOtp
        } else if t >= self.step_up_otp_kba {
            Decision::StepUpOtpKba
        } else {
            Decision::Deny
        }
    }
}

/// Fixed risk bands (action-independent): low ≥ 70, medium ≥ 40, high ≥ 15, else critical.
pub fn risk_band(trust: TrustScore) -> RiskBand {
    match trust.value() {
        70..=100 => RiskBand::Low,
        40..=69 => RiskBand::Medium,
        15..=39 => RiskBand::High,
        _ => RiskBand::Critical,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: u8) -> TrustScore {
        TrustScore::new(v).expect("in range")
    }

    #[test]
    fn ladder_cuts_at_its_thresholds() {
        let l = Ladder {
            allow: 70,
            step_up_otp: 40,
            step_up_otp_kba: 15,
        };
        assert_eq!(l.decide(t(70)), Decision::Allow);
        assert_eq!(l.decide(t(69)), Decision::StepUpOtp);
        assert_eq!(l.decide(t(40)), Decision::StepUpOtp);
        assert_eq!(l.decide(t(39)), Decision::StepUpOtpKba);
        assert_eq!(l.decide(t(15)), Decision::StepUpOtpKba);
        assert_eq!(l.decide(t(14)), Decision::Deny);
        assert_eq!(l.raised(40).allow, 100);
        assert!(
            Ladder {
                allow: 30,
                step_up_otp: 40,
                step_up_otp_kba: 15
            }
            .check("x")
            .is_err()
        );
    }

    #[test]
    fn bands() {
        assert_eq!(risk_band(t(100)), RiskBand::Low);
        assert_eq!(risk_band(t(69)), RiskBand::Medium);
        assert_eq!(risk_band(t(39)), RiskBand::High);
        assert_eq!(risk_band(t(14)), RiskBand::Critical);
    }
}
