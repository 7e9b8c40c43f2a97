//! The rules-only baseline: the same features with hand-set weights, in the spirit of classic
//! risk-based authentication scorecards (Freeman et al., "Who Are You? A Statistical Approach to
//! Measuring User Authenticity", NDSS 2016, list the same signal families). `tessera train`
//! reports it beside the fitted model on the same held-out split, and the engine can run it when
//! no trained artifact is configured.

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
