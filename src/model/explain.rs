//! Explanations: which reason codes a scored event carries, how many trust points each removed
//! (or added), and the analyst detail behind it. Conditions are evaluated on the features as
//! extracted (before fail-secure imputation), so a missing database reports `geo_unavailable`
//! and not the worst-case travel it was scored as.

use serde_json::{Value, json};

use super::linear::{LinearModel, trust_points};
use crate::domain::{Reason, ReasonCode};
use crate::features::{F, FeatureRow, Findings};

/// Raises of log-odds caused by imputing each unavailable source.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Imputed {
    /// From the geo database being unavailable.
    pub geo: f32,
    /// From the reputation database being unavailable.
    pub reputation: f32,
    /// From the store being unavailable.
    pub store: f32,
    /// From the IP being left out on a channel that has one.
    pub ip: f32,
    /// From the device id being left out on a channel that has one.
    pub device: f32,
}

/// A reason before its text is attached.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The code.
    pub code: ReasonCode,
    /// Log-odds it added.
    pub delta: f32,
    /// Analyst detail.
    pub detail: Value,
}

fn sum(model: &LinearModel, row: &FeatureRow, feats: &[F]) -> f32 {
    feats
        .iter()
        .map(|&f| model.weight(f as usize) * row[f as usize])
        .sum()
}

fn on(row: &FeatureRow, f: F) -> bool {
    row[f as usize] >= 0.5
}

/// Finds the reasons for an event. `raw` is the row before imputation.
pub fn find(
    model: &LinearModel,
    raw: &FeatureRow,
    findings: &Findings,
    imputed: &Imputed,
    out: &mut Vec<Found>,
) {
    let mut push = |code: ReasonCode, delta: f32, detail: Value| {
        out.push(Found {
            code,
            delta,
            detail,
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
    let network_detail = || match &findings.asn {
        Some((number, org)) => json!({"asn": number, "organization": org}),
        None => Value::Object(Default::default()),
    };
    for (f, code) in simple {
        if on(raw, f) {
            let (extra, detail) = match f {
                F::NetworkTor
                | F::NetworkVpn
                | F::NetworkHosting
                | F::NetworkProxy
                | F::NetworkBlocklisted => (0.0, network_detail()),
                F::NetworkIpAbsent if findings.unavailable.ip => {
                    (imputed.ip, json!({"treated_as": "worst_case"}))
                }
                F::DeviceAbsent if findings.unavailable.device => {
                    (imputed.device, json!({"treated_as": "worst_case"}))
                }
                _ => (0.0, Value::Object(Default::default())),
            };
            push(code, sum(model, raw, &[f]) + extra, detail);
        }
    }
    if on(raw, F::DeviceFraudLinked) || on(raw, F::NetworkFraudLinked) {
        let detail =
            json!({"device": on(raw, F::DeviceFraudLinked), "ip": on(raw, F::NetworkFraudLinked)});
        push(
            ReasonCode::FraudLinked,
            sum(model, raw, &[F::DeviceFraudLinked, F::NetworkFraudLinked]),
            detail,
        );
    }
    if let Some(d) = findings.typing_distance {
        let delta = sum(model, raw, &[F::TypingTemplateDistance]);
        if d >= 2.5 {
            push(
                ReasonCode::TypingMismatch,
                delta,
                json!({"distance": round2(f64::from(d)), "threshold": 2.5}),
            );
        } else if d < 1.2 {
            push(
                ReasonCode::TypingMatch,
                delta,
                json!({"distance": round2(f64::from(d))}),
            );
        }
    }
    if raw[F::DeviceAccounts24hLog as usize] >= 3f32.ln() - 1e-6 {
        push(
            ReasonCode::DeviceSharedAccounts,
            sum(model, raw, &[F::DeviceAccounts24hLog]),
            counts(findings, ReasonCode::DeviceSharedAccounts),
        );
    }
    if findings
        .counts
        .iter()
        .any(|(c, _, _)| *c == ReasonCode::IpVelocity)
    {
        let delta = sum(
            model,
            raw,
            &[
                F::NetworkIpAttempts1hLog,
                F::NetworkIpFailures1hLog,
                F::NetworkIpUsers1hLog,
            ],
        );
        push(
            ReasonCode::IpVelocity,
            delta,
            counts(findings, ReasonCode::IpVelocity),
        );
    }
    if on(raw, F::GeoImpossibleTravel) {
        let delta = sum(
            model,
            raw,
            &[F::GeoImpossibleTravel, F::GeoSpeedLog, F::GeoDistanceLog],
        );
        push(ReasonCode::ImpossibleTravel, delta, travel_detail(findings));
    }
    if on(raw, F::GeoNewCountry) {
        push(
            ReasonCode::NewCountry,
            sum(model, raw, &[F::GeoNewCountry]),
            place_detail(findings),
        );
    }
    if on(raw, F::GeoNewCity) {
        push(
            ReasonCode::NewCity,
            sum(model, raw, &[F::GeoNewCity]),
            place_detail(findings),
        );
    }
    if raw[F::GeoHomeDistanceLog as usize] >= 501f32.ln() && !on(raw, F::GeoImpossibleTravel) {
        let km = f64::from(raw[F::GeoHomeDistanceLog as usize].exp_m1());
        push(
            ReasonCode::FarFromHome,
            sum(model, raw, &[F::GeoHomeDistanceLog]),
            json!({"distance_from_home_km": km.round()}),
        );
    }
    if raw[F::ContextHourUnusual as usize] >= 0.8 {
        push(
            ReasonCode::UnusualHour,
            sum(model, raw, &[F::ContextHourUnusual]),
            Value::Object(Default::default()),
        );
    }
    if raw[F::ContextFailedAttemptsLog as usize] > 0.0 {
        let n = f64::from(raw[F::ContextFailedAttemptsLog as usize].exp_m1()).round();
        push(
            ReasonCode::FailedAttempts,
            sum(model, raw, &[F::ContextFailedAttemptsLog]),
            json!({"failed_attempts": n}),
        );
    }
    if raw[F::ContextUserFailures24hLog as usize] >= 4f32.ln() - 1e-6 {
        let n = f64::from(raw[F::ContextUserFailures24hLog as usize].exp_m1()).round();
        push(
            ReasonCode::UserFailureVelocity,
            sum(model, raw, &[F::ContextUserFailures24hLog]),
            json!({"failures_24h": n}),
        );
    }
    if findings.unavailable.geo {
        push(
            ReasonCode::GeoUnavailable,
            imputed.geo,
            json!({"cause": findings.geo_cause.unwrap_or("no_database"), "treated_as": "worst_case"}),
        );
    }
    if findings.unavailable.reputation {
        push(
            ReasonCode::ReputationUnavailable,
            imputed.reputation,
            json!({"treated_as": "worst_case"}),
        );
    }
    if findings.unavailable.store {
        push(
            ReasonCode::StoreUnavailable,
            imputed.store,
            json!({"treated_as": "worst_case"}),
        );
    }
    if findings.allowlisted {
        push(
            ReasonCode::IpAllowlisted,
            0.0,
            Value::Object(Default::default()),
        );
    }
}

/// Attaches text and trust-point contributions, strongest first.
///
/// Reasons that raised risk share the trust they removed together, `T(logit − Σδ⁺) − T(logit)`,
/// in proportion to their log-odds δ; protective reasons share the trust they added the same
/// way (negative contributions). Unlike a leave-one-out difference this does not vanish when
/// the score saturates: a Tor bot at trust 0 still shows which signals put it there.
pub fn finish(
    found: Vec<Found>,
    logit: f32,
    policy_added: &[ReasonCode],
    model: &LinearModel,
    raw: &FeatureRow,
) -> Vec<Reason> {
    let mut items: Vec<(ReasonCode, f32, Value)> = found
        .into_iter()
        .map(|f| (f.code, f.delta, f.detail))
        .collect();
    for &code in policy_added {
        let delta = if code == ReasonCode::SensitiveAction {
            sum(model, raw, &[F::ContextActionSensitivity])
        } else {
            0.0
        };
        items.push((code, delta, Value::Object(Default::default())));
    }
    let pos: f32 = items.iter().map(|i| i.1.max(0.0)).sum();
    let neg: f32 = items.iter().map(|i| i.1.min(0.0)).sum();
    let removed = trust_points(logit, pos);
    let added = trust_points(logit, neg);
    let mut reasons: Vec<Reason> = items
        .into_iter()
        .map(|(code, delta, detail)| {
            let share = if delta > 0.0 {
                removed * delta / pos
            } else if delta < 0.0 {
                added * delta / neg
            } else {
                0.0
            };
            Reason {
                code,
                contribution: round1(f64::from(share)),
                message: code.message().to_string(),
                detail,
            }
        })
        .collect();
    reasons.sort_by(|a, b| {
        b.contribution
            .total_cmp(&a.contribution)
            .then(a.code.cmp(&b.code))
    });
    reasons
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
        "elapsed_hours": round2(t.hours),
        "speed_kmh": t.speed_kmh.round(),
    })
}

fn place_detail(findings: &Findings) -> Value {
    let (country, city) = findings.place.clone().unwrap_or_default();
    json!({"country": country, "city": city})
}

fn round1(x: f64) -> f64 {
    let r = (x * 10.0).round() / 10.0;
    if r == 0.0 { 0.0 } else { r } // no "-0.0" on the wire
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contributions_share_the_removed_trust_even_when_saturated() {
        let model = LinearModel::from_artifact(&crate::model::rules::artifact());
        let raw = [0.0; crate::features::N_FEATURES];
        let found = vec![
            Found {
                code: ReasonCode::TorExit,
                delta: 6.0,
                detail: Value::Null,
            },
            Found {
                code: ReasonCode::BotCadence,
                delta: 3.0,
                detail: Value::Null,
            },
            Found {
                code: ReasonCode::TrustedDevice,
                delta: -1.0,
                detail: Value::Null,
            },
        ];
        // Logit 8: trust ≈ 0. Without the two risk reasons (−9): logit −1 → trust 73.1.
        let r = finish(found, 8.0, &[], &model, &raw);
        let get = |c: ReasonCode| {
            r.iter()
                .find(|x| x.code == c)
                .map(|x| x.contribution as f32)
                .unwrap_or(f32::NAN)
        };
        let removed = trust_points(8.0, 9.0);
        assert!((removed - 73.07).abs() < 0.05, "{removed}");
        assert!(
            (get(ReasonCode::TorExit) - (removed * 2.0 / 3.0 * 10.0).round() / 10.0).abs() < 1e-4
        );
        assert!((get(ReasonCode::BotCadence) - (removed / 3.0 * 10.0).round() / 10.0).abs() < 1e-4);
        assert!(get(ReasonCode::TrustedDevice) <= 0.0);
        assert_eq!(r[0].code, ReasonCode::TorExit, "strongest first");
    }
}
