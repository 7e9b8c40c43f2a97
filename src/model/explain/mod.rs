//! Explanations: which reason codes a scored event carries, how many trust points each removed
//! (or added), and the analyst detail behind it. Conditions are evaluated on the features as
//! extracted (before fail-secure imputation), so a missing database reports `geo_unavailable`
//! and not the worst-case travel it was scored as.
//!
//! Two things decide the list. [`find`] names the conditions (thresholds on features and
//! findings); those codes are what the policy's floors see. [`finish`] then charges every
//! trust point between 100 and the score to a code ([`attribution`]): each found or
//! policy-added code carries its share, and any other code whose share rounds to at least 0.1
//! point is listed too (say `user_velocity` for a user's own burst of attempts below the
//! `ip_velocity` thresholds), so no contribution is hidden and the contributions sum to exactly
//! `100 − trust_score`. The intercept appears as `model_baseline`; terms that add trust (a
//! verified device, verified history) have negative contributions.

pub mod attribution;

use serde_json::{Value, json};

pub use attribution::{
    Attribution, Imputed, N_CODES, Split, attribute, attribute_imputed, code_of,
};

use crate::domain::{Absence, Reason, ReasonCode, Source};
use crate::features::{F, FeatureRow, Findings};

/// A reason before its text is attached.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The code.
    pub code: ReasonCode,
    /// Log-odds of the condition's own features (its size; the contribution reported for the
    /// code comes from [`attribution`]).
    pub delta: f32,
    /// Analyst detail.
    pub detail: Value,
}

fn sum(split: &Split, feats: &[F]) -> f32 {
    feats.iter().map(|&f| split.raw.terms[f as usize]).sum()
}

fn on(row: &FeatureRow, f: F) -> bool {
    row[f as usize] >= 0.5
}

/// Finds the reasons for an event, with their analyst detail. `raw` is the row before
/// imputation, `split` its terms.
pub fn find(split: &Split, raw: &FeatureRow, findings: &Findings, out: &mut Vec<Found>) {
    find_with(split, raw, findings, true, out)
}

/// [`find`] without the analyst detail (every `detail` is `null`): the same codes and sizes,
/// for a judgement that only needs the codes (a shadow model's, a re-scoring's).
pub fn find_codes(split: &Split, raw: &FeatureRow, findings: &Findings, out: &mut Vec<Found>) {
    find_with(split, raw, findings, false, out)
}

fn find_with(
    split: &Split,
    raw: &FeatureRow,
    findings: &Findings,
    details: bool,
    out: &mut Vec<Found>,
) {
    let imputed = &split.imputed;
    let empty = || Value::Object(Default::default());
    // The detail is built only when it is wanted.
    let mut push = |code: ReasonCode, delta: f32, detail: &dyn Fn() -> Value| {
        out.push(Found {
            code,
            delta,
            detail: if details { detail() } else { Value::Null },
        })
    };
    let simple: [(F, ReasonCode); 17] = [
        (F::TypingAbsent, ReasonCode::TypingAbsent),
        (F::TypingInsufficient, ReasonCode::TypingInsufficient),
        (F::TypingReplay, ReasonCode::TypingReplay),
        (F::TypingBotCadence, ReasonCode::BotCadence),
        (F::DeviceAutomation, ReasonCode::AutomationFlag),
        (F::DeviceAbsent, ReasonCode::DeviceAbsent),
        (F::DeviceNewForUser, ReasonCode::NewDevice),
        (F::DeviceTrusted, ReasonCode::TrustedDevice),
        (F::DeviceTimezoneMismatch, ReasonCode::TimezoneMismatch),
        (F::DeviceLanguageMismatch, ReasonCode::LanguageMismatch),
        (F::NetworkIpAbsent, ReasonCode::IpAbsent),
        (F::NetworkTor, ReasonCode::TorExit),
        (F::NetworkVpn, ReasonCode::AnonymousVpn),
        (F::NetworkHosting, ReasonCode::HostingProvider),
        (F::NetworkProxy, ReasonCode::PublicProxy),
        (F::NetworkBlocklisted, ReasonCode::IpBlocklisted),
        (F::ContextNoHistory, ReasonCode::NoHistory),
    ];
    let network_detail = |f: F| {
        let mut d = match &findings.asn {
            Some((number, org)) => json!({"asn": number, "organization": org}),
            None => Value::Object(Default::default()),
        };
        let s = &findings.reputation_sources;
        let source = match f {
            F::NetworkTor => s.tor_exit.as_ref(),
            F::NetworkVpn => s.anonymous_vpn.as_ref(),
            F::NetworkHosting => s.hosting_provider.as_ref(),
            F::NetworkProxy => s.proxy.as_ref(),
            _ => None,
        };
        if let (Some(src), Value::Object(m)) = (source, &mut d) {
            m.insert("source".into(), json!(src.source()));
            if let Some(file) = src.file() {
                m.insert("file".into(), json!(file));
            }
        }
        d
    };
    for (f, code) in simple {
        if on(raw, f) {
            if f == F::TypingAbsent && findings.typing_consent_missing {
                // Scored as absent typing, under the code that says why.
                push(
                    ReasonCode::TypingConsentMissing,
                    sum(split, &[f]),
                    &|| json!({"treated_as": "typing_absent"}),
                );
                continue;
            }
            let delta = sum(split, &[f]);
            match f {
                F::NetworkTor
                | F::NetworkVpn
                | F::NetworkHosting
                | F::NetworkProxy
                | F::NetworkBlocklisted => push(code, delta, &|| network_detail(f)),
                F::NetworkIpAbsent | F::DeviceAbsent => {
                    let source = if f == F::NetworkIpAbsent {
                        Source::Ip
                    } else {
                        Source::Device
                    };
                    match findings.unavailable.get(source) {
                        Some(Absence::ClientOmitted) => push(
                            code,
                            delta + imputed[source as usize],
                            &|| json!({"treated_as": "worst_case"}),
                        ),
                        _ => push(code, delta, &empty),
                    }
                }
                _ => push(code, delta, &empty),
            }
        }
    }
    if on(raw, F::DeviceFraudLinked) || on(raw, F::NetworkFraudLinked) {
        push(
            ReasonCode::FraudLinked,
            sum(split, &[F::DeviceFraudLinked, F::NetworkFraudLinked]),
            &|| json!({"device": on(raw, F::DeviceFraudLinked), "ip": on(raw, F::NetworkFraudLinked)}),
        );
    }
    if let Some(c) = &findings.typing {
        let delta = sum(
            split,
            &[F::TypingTemplateDistance, F::TypingProfileConfidence],
        );
        if c.is_mismatch() {
            push(ReasonCode::TypingMismatch, delta, &|| {
                typing_detail(c, c.mismatch_above)
            });
        } else if c.is_match() {
            push(ReasonCode::TypingMatch, delta, &|| {
                typing_detail(c, crate::keystroke::verifier::MATCH_BELOW)
            });
        }
    }
    if raw[F::DeviceAccounts24hLog as usize] >= 3f32.ln() - 1e-6 {
        push(
            ReasonCode::DeviceSharedAccounts,
            sum(split, &[F::DeviceAccounts24hLog]),
            &|| counts(findings, ReasonCode::DeviceSharedAccounts),
        );
    }
    if findings
        .counts
        .iter()
        .any(|(c, _, _)| *c == ReasonCode::IpVelocity)
    {
        let delta = sum(
            split,
            &[
                F::NetworkIpAttempts1hLog,
                F::NetworkIpFailures1hLog,
                F::NetworkIpUsers1hLog,
            ],
        );
        push(ReasonCode::IpVelocity, delta, &|| {
            counts(findings, ReasonCode::IpVelocity)
        });
    }
    if on(raw, F::GeoImpossibleTravel) {
        let delta = sum(
            split,
            &[F::GeoImpossibleTravel, F::GeoSpeedLog, F::GeoDistanceLog],
        );
        push(ReasonCode::ImpossibleTravel, delta, &|| {
            travel_detail(findings)
        });
    }
    if on(raw, F::GeoNewCountry) {
        push(
            ReasonCode::NewCountry,
            sum(split, &[F::GeoNewCountry]),
            &|| place_detail(findings),
        );
    }
    if on(raw, F::GeoNewCity) {
        push(ReasonCode::NewCity, sum(split, &[F::GeoNewCity]), &|| {
            place_detail(findings)
        });
    }
    if raw[F::GeoHomeDistanceLog as usize] >= 501f32.ln() && !on(raw, F::GeoImpossibleTravel) {
        let km = f64::from(raw[F::GeoHomeDistanceLog as usize].exp_m1());
        push(
            ReasonCode::FarFromHome,
            sum(split, &[F::GeoHomeDistanceLog]),
            &|| json!({"distance_from_home_km": km.round()}),
        );
    }
    if raw[F::ContextHourUnusual as usize] >= 0.8 {
        push(
            ReasonCode::UnusualHour,
            sum(split, &[F::ContextHourUnusual]),
            &empty,
        );
    }
    if raw[F::ContextFailedAttemptsLog as usize] > 0.0 {
        let n = f64::from(raw[F::ContextFailedAttemptsLog as usize].exp_m1()).round();
        push(
            ReasonCode::FailedAttempts,
            sum(split, &[F::ContextFailedAttemptsLog]),
            &|| json!({"failed_attempts": n}),
        );
    }
    if raw[F::ContextUserFailures24hLog as usize] >= 4f32.ln() - 1e-6 {
        let n = f64::from(raw[F::ContextUserFailures24hLog as usize].exp_m1()).round();
        push(
            ReasonCode::UserFailureVelocity,
            sum(split, &[F::ContextUserFailures24hLog]),
            &|| json!({"failures_24h": n}),
        );
    }
    // A deployment source that failed (or has no answer for the address) or that the client
    // hid: its reason code, carrying what imputing it cost. One absent by design is not a
    // reason: the response lists the sources in use instead.
    for (source, why) in findings.unavailable.reported() {
        if !source.is_deployment() {
            continue; // ip_absent and device_absent come from their own features above
        }
        let treated_as = match why {
            Absence::ClientOmitted => "worst_case",
            Absence::Failed | Absence::ByDesign => "neutral",
        };
        let detail = || match source {
            Source::Geo => json!({
                "cause": findings.geo_cause.unwrap_or("database_failed"),
                "treated_as": treated_as
            }),
            Source::Reputation | Source::Store | Source::Ip | Source::Device => {
                json!({"treated_as": treated_as})
            }
        };
        push(source.reason(), imputed[source as usize], &detail);
    }
    if findings.allowlisted {
        push(ReasonCode::IpAllowlisted, 0.0, &empty);
    }
}

/// Attaches text and trust-point contributions, strongest first: the found reasons, the
/// policy's, then every other code with a share of at least 0.1 point (see [`attribution`]).
/// The contributions sum to exactly `100 − trust` (in tenths). `raw` is the row before
/// imputation and `split` its terms and imputation raises ([`Split`]). Allocates only the
/// reasons it returns.
pub fn finish(
    found: Vec<Found>,
    policy_added: &[ReasonCode],
    split: &Split,
    raw: &FeatureRow,
    findings: &Findings,
) -> Vec<Reason> {
    let tenths = shares(&found, split, raw, findings);
    let codes: Vec<ReasonCode> = found.iter().map(|f| f.code).collect();
    let mut found: Vec<Option<Found>> = found.into_iter().map(Some).collect();
    listing(&codes, policy_added, &tenths)
        .into_iter()
        .map(|code| {
            // The detail of the code's first finding; a policy's code carries none; any other
            // is listed for its share alone.
            let detail = match found
                .iter_mut()
                .find(|f| f.as_ref().is_some_and(|f| f.code == code))
                .and_then(Option::take)
            {
                Some(f) => f.detail,
                None if policy_added.contains(&code) => Value::Object(Default::default()),
                None => attributed_detail(code, raw, findings),
            };
            Reason {
                code,
                contribution: f64::from(tenths[code as usize]) / 10.0,
                message: code.message().into(),
                detail,
            }
        })
        .collect()
}

/// The codes [`finish`] lists, in its order, without their text, detail or contribution: what
/// a judgement that keeps only the codes needs (a re-scoring's rows).
pub fn finish_codes(
    found: &[Found],
    policy_added: &[ReasonCode],
    split: &Split,
    raw: &FeatureRow,
    findings: &Findings,
) -> Vec<ReasonCode> {
    let codes: Vec<ReasonCode> = found.iter().map(|f| f.code).collect();
    listing(&codes, policy_added, &shares(found, split, raw, findings))
}

/// Each code's share of `100 − trust`, in tenths.
fn shares(found: &[Found], split: &Split, raw: &FeatureRow, findings: &Findings) -> [i32; N_CODES] {
    let ip_velocity_found = found.iter().any(|f| f.code == ReasonCode::IpVelocity);
    attribute_imputed(split, raw, findings, ip_velocity_found).tenths
}

/// The codes listed, each once: the found ones, the policy's, then every other code with a
/// share; strongest share first, then by code.
fn listing(
    found: &[ReasonCode],
    policy_added: &[ReasonCode],
    tenths: &[i32; N_CODES],
) -> Vec<ReasonCode> {
    let mut listed = [false; N_CODES];
    let mut codes = Vec::with_capacity(found.len() + policy_added.len() + 4);
    let attributed = ReasonCode::ALL
        .iter()
        .zip(tenths)
        .filter(|(_, t)| **t != 0)
        .map(|(c, _)| c);
    for &code in found.iter().chain(policy_added).chain(attributed) {
        if !std::mem::replace(&mut listed[code as usize], true) {
            codes.push(code);
        }
    }
    codes.sort_by(|a, b| tenths[*b as usize].cmp(&tenths[*a as usize]).then(a.cmp(b)));
    codes
}

/// Detail for a code listed for its share alone (its condition in [`find`] did not fire).
fn attributed_detail(code: ReasonCode, raw: &FeatureRow, findings: &Findings) -> Value {
    let count = |f: F| f64::from(raw[f as usize].exp_m1()).round();
    match code {
        ReasonCode::UserVelocity | ReasonCode::IpVelocity => json!({
            "distinct_users_1h": f64::from(raw[F::NetworkIpUsers1hLog as usize].exp()).round(),
            "failures_1h": count(F::NetworkIpFailures1hLog),
            "attempts_1h": count(F::NetworkIpAttempts1hLog),
        }),
        ReasonCode::UserFailureVelocity => {
            json!({"failures_24h": count(F::ContextUserFailures24hLog)})
        }
        ReasonCode::DeviceSharedAccounts => json!({
            "accounts_24h": f64::from(raw[F::DeviceAccounts24hLog as usize].exp()).round()
        }),
        ReasonCode::FarFromHome => {
            json!({"distance_from_home_km": count(F::GeoHomeDistanceLog)})
        }
        ReasonCode::TypingMatch => match &findings.typing {
            Some(c) => typing_detail(c, crate::keystroke::verifier::MATCH_BELOW),
            None => Value::Object(Default::default()),
        },
        ReasonCode::TypingPartialMatch | ReasonCode::TypingMismatch => match &findings.typing {
            Some(c) => typing_detail(c, c.mismatch_above),
            None => Value::Object(Default::default()),
        },
        ReasonCode::VerifiedHistory => {
            json!({"verified_events": count(F::ContextHistoryLog)})
        }
        _ => Value::Object(Default::default()),
    }
}

/// Detail of a typing comparison: the verifier's distance `D`, the threshold the code is about
/// (below `typing_match`'s, above `typing_mismatch`'s) and the profile's confidence.
fn typing_detail(c: &crate::features::typing::Comparison, threshold: f32) -> Value {
    json!({
        "distance": round2(f64::from(c.distance)),
        "threshold": round2(f64::from(threshold)),
        "confidence": round2(f64::from(c.confidence)),
    })
}

fn counts(findings: &Findings, code: ReasonCode) -> Value {
    let mut m = serde_json::Map::new();
    for (c, name, v) in &findings.counts {
        if *c == code {
            m.insert((*name).to_string(), json!(v));
        }
    }
    Value::Object(m)
}

fn travel_detail(findings: &Findings) -> Value {
    let Some(t) = &findings.travel else {
        return Value::Object(Default::default());
    };
    let (to_country, to_city) = findings.place.clone().unwrap_or_default();
    let from_time = chrono::DateTime::from_timestamp_millis(t.from_ms)
        .map(|d| d.to_rfc3339())
        .unwrap_or_default();
    json!({
        "from": {"country": t.from_country, "city": t.from_city, "time": from_time},
        "to": {"country": to_country, "city": to_city},
        "distance_km": t.distance_km.round(),
        "min_distance_km": t.min_distance_km.round(),
        "accuracy_radii_km": [t.radii_km.0.round(), t.radii_km.1.round()],
        "elapsed_hours": round2(t.hours),
        "speed_kmh": t.speed_kmh.round(),
        "judged": t.judged,
        "carrier_gateway": t.carrier,
    })
}

/// The new place, and the jump from the last verified one when there is one: a jump that was
/// *not* judged impossible says why (`within_accuracy_radii`, `nearby`, `plausible_speed`).
fn place_detail(findings: &Findings) -> Value {
    let (country, city) = findings.place.clone().unwrap_or_default();
    let mut detail = json!({"country": country, "city": city});
    if findings.travel.is_some() {
        detail["travel"] = travel_detail(findings);
    }
    detail
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::N_FEATURES;
    use crate::model::Model;

    #[test]
    fn finish_lists_found_policy_and_attributed_codes_summing_to_the_drop() {
        let model = Model::from_artifact(&crate::model::rules::artifact());
        let mut raw = [0.0; N_FEATURES];
        raw[F::NetworkTor as usize] = 1.0; // +2.5, found
        raw[F::ContextActionSensitivity as usize] = 2.0; // +0.8, policy-added
        raw[F::NetworkIpAttempts1hLog as usize] = 30f32.ln_1p(); // +1.03, no finding
        raw[F::DeviceTrusted as usize] = 1.0; // −1.0, no finding
        let found = vec![
            Found {
                code: ReasonCode::TorExit,
                delta: 2.5,
                detail: Value::Null,
            },
            Found {
                code: ReasonCode::IpAllowlisted,
                delta: 0.0,
                detail: Value::Null,
            },
        ];
        let split = Split::new(&model, &raw, &Findings::default().unavailable);
        let r = finish(
            found,
            &[ReasonCode::SensitiveAction],
            &split,
            &raw,
            &Findings::default(),
        );
        let get = |c: ReasonCode| r.iter().find(|x| x.code == c).map(|x| x.contribution);
        let trust = model.trust(&raw).value();
        let sum: f64 = r.iter().map(|x| x.contribution).sum();
        assert!(
            (sum - f64::from(100 - trust)).abs() < 1e-9,
            "{sum} vs {trust}"
        );
        assert_eq!(r[0].code, ReasonCode::TorExit, "strongest first");
        assert_eq!(
            get(ReasonCode::IpAllowlisted),
            Some(0.0),
            "found: listed at 0"
        );
        assert!(get(ReasonCode::SensitiveAction).is_some_and(|c| c > 5.0));
        let velocity = r
            .iter()
            .find(|x| x.code == ReasonCode::UserVelocity)
            .expect("user_velocity");
        assert!(velocity.contribution > 5.0, "{velocity:?}");
        assert_eq!(velocity.detail["attempts_1h"], 30.0);
        assert!(get(ReasonCode::TrustedDevice).is_some_and(|c| c < -1.0));
        assert!(get(ReasonCode::ModelBaseline).is_some_and(|c| c > 0.0));
    }
}
