//! The rules-only baseline: the same features with hand-set weights, in the spirit of classic
//! risk-based authentication scorecards (Freeman et al., "Who Are You? A Statistical Approach to
//! Measuring User Authenticity", NDSS 2016, list the same signal families). `tessera train`
//! reports it beside the fitted model on the same held-out split, and the engine can run it when
//! no trained artifact is configured.
//!
//! Also the Freeman et al. model itself ([`freeman_artifact`]): the paper's likelihood-ratio
//! score as a linear model over the `freeman.*` features, for comparison beside the others.

use crate::features::{F, FeatureSchema, N_FEATURES};

use super::artifact::{Artifact, FORMAT_VERSION, ModelKind};

/// Hand weights, log-odds of attack per unit of each feature.
pub const HAND_WEIGHTS: &[(F, f64)] = &[
    (F::TypingAbsent, 0.3),
    (F::TypingTemplateDistance, 0.6),
    (F::TypingNoTemplate, 0.2),
    (F::TypingInsufficient, 0.2),
    (F::TypingBotCadence, 3.0),
    (F::TypingReplay, 4.0),
    (F::DeviceAbsent, 0.5),
    (F::DeviceNewForUser, 1.5),
    (F::DeviceTrusted, -1.0),
    (F::DeviceAccounts24hLog, 1.0),
    (F::DeviceAutomation, 3.0),
    (F::DeviceTimezoneMismatch, 1.0),
    (F::DeviceLanguageMismatch, 0.7),
    (F::DeviceFraudLinked, 3.0),
    (F::NetworkIpAbsent, 0.3),
    (F::NetworkTor, 2.5),
    (F::NetworkVpn, 1.2),
    (F::NetworkHosting, 1.5),
    (F::NetworkProxy, 1.5),
    (F::NetworkBlocklisted, 4.0),
    (F::NetworkIpAttempts1hLog, 0.3),
    (F::NetworkIpFailures1hLog, 0.8),
    (F::NetworkIpUsers1hLog, 1.0),
    (F::NetworkFraudLinked, 2.5),
    (F::GeoImpossibleTravel, 3.0),
    (F::GeoNewCountry, 1.5),
    (F::GeoNewCity, 0.5),
    (F::GeoHomeDistanceLog, 0.1),
    (F::ContextNoHistory, 1.0),
    (F::ContextHistoryLog, -0.2),
    (F::ContextActionSensitivity, 0.4),
    (F::ContextHourUnusual, 0.8),
    (F::ContextFailedAttemptsLog, 0.8),
    (F::ContextUserFailures24hLog, 0.8),
    // The Freeman score's surprise, lightly: its country and device parts already weigh in
    // through geo.new_country and device.new_for_user, so a full weight would count them
    // twice; what it adds is the graded part the rules lack (an unusual AS or address prefix
    // within a known country). The per-attribute ratios and the trust side (familiar_log) stay
    // at 0: the rules earn trust only through the device and history signals above.
    (F::FreemanRiskLog, 0.1),
];

/// Intercept of the baseline: log-odds −4 (trust 98) for an all-zero vector.
pub const HAND_INTERCEPT: f64 = -4.0;

/// The baseline as an artifact.
pub fn artifact() -> Artifact {
    let mut weights = vec![0.0; N_FEATURES];
    for (f, w) in HAND_WEIGHTS {
        if let Some(slot) = weights.get_mut(*f as usize) {
            *slot = *w;
        }
    }
    Artifact {
        format_version: FORMAT_VERSION,
        model_version: "rules-v1".into(),
        kind: ModelKind::Rules,
        schema: FeatureSchema::current(),
        weights,
        intercept: HAND_INTERCEPT,
        metrics: serde_json::Value::Null,
        training: serde_json::Value::Null,
        card: serde_json::json!({"description": "hand-weighted baseline over the v1 features"}),
        neutral: Vec::new(),
        trees: None,
        anomaly: None,
        calibration: Default::default(),
    }
}

/// Weight of `freeman.risk_log` and (negated) `freeman.familiar_log` in [`freeman_artifact`].
pub const FREEMAN_WEIGHT: f64 = 1.0;

/// The Freeman et al. (NDSS 2016) model as an artifact: log-odds of attack =
/// `ln(attack_rate / (1 − attack_rate))` + `freeman.risk_log` − `freeman.familiar_log`, i.e. the
/// prior odds times the smoothed likelihood ratio `∏ p(x_k) / p(x_k | u)` of the login's
/// attributes (see `features::freeman`), every other weight 0. `attack_rate` is the prior share
/// of attacks among scored requests (clamped to [1e-6, 1 − 1e-6]); the paper's per-user prior
/// term `p(u | attack) / p(u | legit)` is taken as 1 (attackers pick users in proportion to
/// their activity). Neutral values are all 0 (a missing store scores as a user without
/// history: ratio 1).
pub fn freeman_artifact(attack_rate: f64) -> Artifact {
    let rate = if attack_rate.is_finite() {
        attack_rate.clamp(1e-6, 1.0 - 1e-6)
    } else {
        0.5
    };
    let mut weights = vec![0.0; N_FEATURES];
    weights[F::FreemanRiskLog as usize] = FREEMAN_WEIGHT;
    weights[F::FreemanFamiliarLog as usize] = -FREEMAN_WEIGHT;
    Artifact {
        format_version: FORMAT_VERSION,
        model_version: "freeman-v1".into(),
        kind: ModelKind::Freeman,
        schema: FeatureSchema::current(),
        weights,
        intercept: (rate / (1.0 - rate)).ln(),
        trees: None,
        anomaly: None,
        calibration: Default::default(),
        metrics: serde_json::Value::Null,
        training: serde_json::Value::Null,
        card: serde_json::json!({
            "description": "Freeman et al., Who Are You? A Statistical Approach to Measuring User Authenticity (NDSS 2016): prior odds times the smoothed per-user likelihood ratio of IP, AS, country, browser and OS",
            "attack_rate": rate,
        }),
        neutral: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;

    #[test]
    fn the_freeman_model_is_the_prior_odds_times_the_likelihood_ratio() {
        let art = freeman_artifact(0.01);
        let checked = Artifact::from_json(&serde_json::to_string(&art).expect("json"), "freeman")
            .expect("a valid artifact: directions hold");
        let m = Model::from_artifact(&checked);
        let prior = (0.01f64 / 0.99).ln();
        let mut row = [0f32; N_FEATURES];
        // No history: ratio 1, the prior alone.
        assert!((f64::from(m.logit(&row)) - prior).abs() < 1e-6);
        // A login from a country the user never used among ten verified ones (ratio 11).
        row[F::FreemanRiskLog as usize] = 11f32.ln();
        assert!((f64::from(m.logit(&row)) - (prior + 11f64.ln())).abs() < 1e-5);
        // Nine in ten from France, population 60 %: ratio 660/969, the familiar side.
        row[F::FreemanRiskLog as usize] = 0.0;
        row[F::FreemanFamiliarLog as usize] = -(660f32 / 969.0).ln();
        assert!((f64::from(m.logit(&row)) - (prior + (660f64 / 969.0).ln())).abs() < 1e-5);
        // Every other feature is ignored.
        row[F::NetworkTor as usize] = 1.0;
        assert!((f64::from(m.logit(&row)) - (prior + (660f64 / 969.0).ln())).abs() < 1e-5);
        assert!((freeman_artifact(f64::NAN).intercept).abs() < 1e-12);
    }
}
