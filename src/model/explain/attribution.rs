//! Attribution: how the trust points between 100 and the score are shared among reason codes,
//! so that the reasons account for the whole score.
//!
//! Every feature belongs to exactly one reason code ([`code_of`], an exhaustive match: a feature
//! added to the schema does not compile until it has one) and carries its term of the row as
//! extracted ([`Model::terms`]). What imputing a missing source then adds to the log-odds (its
//! features moved to the worst case or to neutral, measured on the calibrated log-odds by
//! [`Model::impute`]) is one more term, the source's: its code (`geo_unavailable`,
//! `reputation_unavailable`, `store_unavailable`, `ip_absent`, `device_absent`), or
//! `model_baseline` when the deployment lacks the source by design. With the
//! baseline `b`, the positive log-odds terms summing to `P` and the negative ones to `N`, the
//! logit is `L = b + P + N` and `T(l) = 100 (1 − σ(l))`:
//!
//! - `model_baseline` takes `100 − T(b)`: the trust a request with every feature at zero lacks.
//! - The rest, `T(b) − T(L)`, is shared between the risk terms and the trust terms by the
//!   Shapley value of that two-player game: `φP = ½[(T(b) − T(b+P)) + (T(b+N) − T(L))]`,
//!   `φN = ½[(T(b) − T(b+N)) + (T(b+P) − T(L))]`. `φP ≥ 0` and `φN ≤ 0`, whatever the order.
//! - Inside each group a term gets its share in proportion to its log-odds (along the straight
//!   path every term of one sign moves the logit the same way, so this is also its integrated
//!   gradient). Saturation cannot hide a term: at trust 0 the risk terms still share what they
//!   removed together.
//! - The shares sum to `100 − T(L)`; the score is rounded to an integer, so the difference (at
//!   most half a point) is spread over the codes in proportion to their size, and the codes are
//!   rounded to tenths by largest remainder. The tenths then sum to exactly `10 · (100 − score)`.
//!
//! Works on fixed arrays: no allocation.

use crate::domain::{Absence, ReasonCode, Source, TrustScore};
use crate::features::{F, FeatureRow, Findings, Unavailable};
use crate::model::runtime::{Model, Terms, sigmoid};

/// Number of reason codes.
pub const N_CODES: usize = ReasonCode::ALL.len();

/// Raises of log-odds caused by imputing each missing source, indexed by `Source as usize`.
pub type Imputed = crate::model::runtime::Raised;

/// What the reasons and their attribution read instead of the model, computed once per
/// judgement: the terms of the row as extracted ([`Model::terms`]), what imputing each missing
/// source then added to the log-odds, and the log-odds of the row the model scored. The terms,
/// their baseline and the raises add up to that log-odds (up to float rounding): a source's
/// raise is measured on the calibrated log-odds, so with a non-linear calibration or model it
/// stays the source's instead of leaking into the terms of features it does not touch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    /// Terms of the row as extracted.
    pub raw: Terms,
    /// Log-odds each missing source added when imputed, indexed by `Source as usize`.
    pub imputed: Imputed,
    /// Log-odds of attack of the scored (imputed) row.
    logit: f32,
}

impl Split {
    /// Imputes `raw` for the missing sources `u` and splits it.
    pub fn new(model: &Model, raw: &FeatureRow, u: &Unavailable) -> Split {
        let (terms, raw_logit) = model.terms_scored(raw);
        let mut row = *raw;
        let (imputed, logit) = model.impute_from(&mut row, u, raw_logit);
        Split {
            raw: terms,
            imputed,
            logit,
        }
    }

    /// Log-odds of attack the model gave the scored row.
    pub fn logit(&self) -> f32 {
        self.logit
    }
}

/// The code charged for imputing a missing source: its reason code when its absence is
/// reported, `model_baseline` when the source is absent by design (the neutral value is part of
/// what every request of this deployment starts from).
fn imputed_code(source: Source, why: Absence) -> ReasonCode {
    if why.is_reported() {
        source.reason()
    } else {
        ReasonCode::ModelBaseline
    }
}

/// The reason code a feature's own term (before imputation) belongs to. `raw` is the row before
/// imputation; `ip_velocity_found` is whether the per-IP velocity thresholds were crossed.
pub fn code_of(f: F, raw: &FeatureRow, findings: &Findings, ip_velocity_found: bool) -> ReasonCode {
    use ReasonCode as R;
    let impossible = raw[F::GeoImpossibleTravel as usize] >= 0.5;
    match f {
        F::TypingAbsent if findings.typing_consent_missing => R::TypingConsentMissing,
        F::TypingAbsent => R::TypingAbsent,
        F::TypingKeysLog | F::TypingDwellMeanS | F::TypingFlightMeanS => R::TypingStyle,
        F::TypingTemplateDistance | F::TypingProfileConfidence => match &findings.typing {
            Some(c) if c.is_match() => R::TypingMatch,
            Some(c) if !c.is_mismatch() => R::TypingPartialMatch,
            _ => R::TypingMismatch,
        },
        F::TypingNoTemplate => R::TypingNotEnrolled,
        F::TypingInsufficient => R::TypingInsufficient,
        F::TypingBotCadence => R::BotCadence,
        F::TypingReplay => R::TypingReplay,
        F::DeviceAbsent => R::DeviceAbsent,
        F::DeviceNewForUser => R::NewDevice,
        F::DeviceAgeDaysLog => R::KnownDevice,
        F::DeviceTrusted => R::TrustedDevice,
        F::DeviceAccounts24hLog => R::DeviceSharedAccounts,
        F::DeviceMobile
        | F::DeviceBrowserChrome
        | F::DeviceBrowserSafari
        | F::DeviceBrowserFirefox
        | F::DeviceBrowserEdge
        | F::DeviceBrowserOther => R::ClientType,
        F::DeviceAutomation => R::AutomationFlag,
        F::DeviceTimezoneMismatch => R::TimezoneMismatch,
        F::DeviceLanguageMismatch => R::LanguageMismatch,
        F::DeviceFraudLinked | F::NetworkFraudLinked => R::FraudLinked,
        F::NetworkIpAbsent => R::IpAbsent,
        F::NetworkTor => R::TorExit,
        F::NetworkVpn => R::AnonymousVpn,
        F::NetworkHosting => R::HostingProvider,
        F::NetworkProxy => R::PublicProxy,
        F::NetworkBlocklisted => R::IpBlocklisted,
        F::NetworkIpAttempts1hLog | F::NetworkIpFailures1hLog | F::NetworkIpUsers1hLog => {
            // ln(distinct users) is 0 when this user is the only one seen on the address.
            if ip_velocity_found || raw[F::NetworkIpUsers1hLog as usize] > 1e-6 {
                R::IpVelocity
            } else {
                R::UserVelocity
            }
        }
        F::GeoImpossibleTravel => R::ImpossibleTravel,
        F::GeoSpeedLog | F::GeoDistanceLog | F::GeoHomeDistanceLog => {
            if impossible {
                R::ImpossibleTravel
            } else {
                R::FarFromHome
            }
        }
        F::GeoNewCountry => R::NewCountry,
        F::GeoNewCity => R::NewCity,
        F::ContextNoHistory => R::NoHistory,
        F::ContextHistoryLog => R::VerifiedHistory,
        F::ContextActionSensitivity => R::SensitiveAction,
        F::ContextHourUnusual => R::UnusualHour,
        F::ContextFailedAttemptsLog => R::FailedAttempts,
        F::ContextUserFailures24hLog => R::UserFailureVelocity,
        F::ContextChannelWebWidget
        | F::ContextChannelInApp
        | F::ContextChannelWhatsapp
        | F::ContextChannelSms
        | F::ContextChannelSocial => R::ChannelRisk,
        F::FreemanIpLlr
        | F::FreemanAsnLlr
        | F::FreemanCountryLlr
        | F::FreemanBrowserLlr
        | F::FreemanOsLlr
        | F::FreemanRiskLog => R::UnfamiliarContext,
        F::FreemanFamiliarLog => R::KnownLocation,
    }
}

/// What each reason code contributed to one score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attribution {
    /// Trust points each code removed (negative: added), in tenths, indexed by `code as usize`.
    /// They sum to exactly `10 · (100 − trust)`.
    pub tenths: [i32; N_CODES],
    /// The score, as the engine reports it.
    pub trust: TrustScore,
}

/// Shares `100 − trust` among the reason codes (see the module doc). `raw` is the row before
/// imputation.
pub fn attribute(
    model: &Model,
    raw: &FeatureRow,
    findings: &Findings,
    ip_velocity_found: bool,
) -> Attribution {
    attribute_imputed(
        &Split::new(model, raw, &findings.unavailable),
        raw,
        findings,
        ip_velocity_found,
    )
}

/// [`attribute`] for a caller that has already imputed the row and split it (scoring has).
pub fn attribute_imputed(
    split: &Split,
    raw: &FeatureRow,
    findings: &Findings,
    ip_velocity_found: bool,
) -> Attribution {
    let u = &findings.unavailable;
    let trust = TrustScore::from_attack_probability(sigmoid(f64::from(split.logit())));
    let mut pos = [0f64; N_CODES];
    let mut neg = [0f64; N_CODES];
    let mut add = |code: ReasonCode, d: f64| {
        if d > 0.0 {
            pos[code as usize] += d;
        } else if d < 0.0 {
            neg[code as usize] += d;
        }
    };
    for (i, &f) in F::ALL.iter().enumerate() {
        add(
            code_of(f, raw, findings, ip_velocity_found),
            f64::from(split.raw.terms[i]),
        );
    }
    for source in Source::ALL {
        if let Some(why) = u.get(source) {
            add(
                imputed_code(source, why),
                f64::from(split.imputed[source as usize]),
            );
        }
    }
    let b = f64::from(split.raw.base);
    let p: f64 = pos.iter().sum();
    let n: f64 = neg.iter().sum();
    let t = |l: f64| 100.0 * (1.0 - sigmoid(l));
    let (v_p, v_n, v_pn) = (t(b) - t(b + p), t(b) - t(b + n), t(b) - t(b + p + n));
    let phi_p = 0.5 * (v_p + v_pn - v_n);
    let phi_n = 0.5 * (v_n + v_pn - v_p);
    let mut share = [0f64; N_CODES];
    for (k, s) in share.iter_mut().enumerate() {
        if p > 0.0 {
            *s += phi_p * pos[k] / p;
        }
        if n < 0.0 {
            *s += phi_n * neg[k] / n;
        }
    }
    share[ReasonCode::ModelBaseline as usize] += 100.0 - t(b);
    Attribution {
        tenths: settle(&mut share, 1000 - 10 * i32::from(trust.value())),
        trust,
    }
}

/// Rounds `share` (trust points) to tenths summing to exactly `target` tenths: the difference
/// is first spread in proportion to each share's size, then rounded by largest remainder.
fn settle(share: &mut [f64; N_CODES], target: i32) -> [i32; N_CODES] {
    let sum: f64 = share.iter().sum();
    let size: f64 = share.iter().map(|s| s.abs()).sum();
    if size > 0.0 {
        let diff = f64::from(target) / 10.0 - sum;
        for s in share.iter_mut() {
            *s += diff * s.abs() / size;
        }
    } else {
        share[ReasonCode::ModelBaseline as usize] = f64::from(target) / 10.0;
    }
    let mut tenths = [0i32; N_CODES];
    let mut rest = [0f64; N_CODES];
    for k in 0..N_CODES {
        let x = share[k] * 10.0;
        let fl = x.floor();
        tenths[k] = fl as i32;
        rest[k] = x - fl;
    }
    let mut missing = target - tenths.iter().sum::<i32>();
    // Only codes with a share can take a rounding tenth (a zero share is exact): typically a
    // handful, so they are sorted on the stack rather than all N_CODES.
    let mut order = [0usize; N_CODES];
    let mut len = 0;
    for (k, s) in share.iter().enumerate() {
        if *s != 0.0 {
            order[len] = k;
            len += 1;
        }
    }
    let order = &mut order[..len];
    order.sort_unstable_by(|&a, &b| rest[b].total_cmp(&rest[a]).then(a.cmp(&b)));
    // Short: the largest remainders round up. Over (float noise only): the smallest round down.
    if missing < 0 {
        order.reverse();
    }
    for &k in order.iter().cycle().take(2 * len) {
        if missing == 0 {
            break;
        }
        let step = missing.signum();
        tenths[k] += step;
        missing -= step;
    }
    tenths
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::N_FEATURES;

    fn rules() -> Model {
        Model::from_artifact(&crate::model::rules::artifact())
    }

    #[test]
    fn known_shares_of_risk_and_trust_terms_sum_to_the_drop() {
        // Rules model: b = −4; Tor +2.5, bot cadence +3.0, trusted device −1.0 → L = 0.5,
        // T(L) = 37.75 → trust 38. φP = 70.77, φN = −10.32, baseline 100 − T(−4) = 1.80; the
        // −0.25 rounding difference is spread by size, then tenths by largest remainder.
        let mut raw = [0.0; N_FEATURES];
        raw[F::NetworkTor as usize] = 1.0;
        raw[F::TypingBotCadence as usize] = 1.0;
        raw[F::DeviceTrusted as usize] = 1.0;
        let a = attribute(&rules(), &raw, &Findings::default(), false);
        assert_eq!(a.trust.value(), 38);
        let get = |c: ReasonCode| a.tenths[c as usize];
        assert_eq!(get(ReasonCode::TorExit), 321);
        assert_eq!(get(ReasonCode::BotCadence), 385);
        assert_eq!(get(ReasonCode::TrustedDevice), -104);
        assert_eq!(get(ReasonCode::ModelBaseline), 18);
        assert_eq!(a.tenths.iter().sum::<i32>(), 620);
        assert_eq!(a.tenths.iter().filter(|t| **t != 0).count(), 4);
    }

    #[test]
    fn saturated_scores_still_share_the_removed_trust() {
        // Logit far past saturation: trust 0, and the risk terms share 100 − baseline by size.
        let mut raw = [0.0; N_FEATURES];
        raw[F::TypingReplay as usize] = 1.0; // +4
        raw[F::NetworkBlocklisted as usize] = 1.0; // +4
        raw[F::DeviceAutomation as usize] = 1.0; // +3
        raw[F::TypingBotCadence as usize] = 1.0; // +3
        let a = attribute(&rules(), &raw, &Findings::default(), false);
        assert_eq!(a.trust.value(), 0);
        assert_eq!(a.tenths.iter().sum::<i32>(), 1000);
        let replay = a.tenths[ReasonCode::TypingReplay as usize];
        let bot = a.tenths[ReasonCode::BotCadence as usize];
        assert!((replay - 4 * bot / 3).abs() <= 1, "{replay} vs {bot}");
        assert!(bot >= 200, "{bot}");
    }

    #[test]
    fn imputed_raises_belong_to_the_unavailable_source() {
        let mut f = Findings::default();
        f.unavailable.set(
            crate::domain::Source::Geo,
            crate::domain::Absence::ClientOmitted,
        );
        let a = attribute(&rules(), &[0.0; N_FEATURES], &f, false);
        let geo = a.tenths[ReasonCode::GeoUnavailable as usize];
        assert!(geo > 0, "{geo}");
        assert_eq!(a.tenths[ReasonCode::ImpossibleTravel as usize], 0);
        assert_eq!(
            a.tenths.iter().sum::<i32>(),
            1000 - 10 * i32::from(a.trust.value())
        );
    }

    #[test]
    fn own_attempts_are_user_velocity_and_shared_ones_ip_velocity() {
        let mut raw = [0.0; N_FEATURES];
        raw[F::NetworkIpAttempts1hLog as usize] = 9f32.ln();
        let f = Findings::default();
        assert_eq!(
            code_of(F::NetworkIpAttempts1hLog, &raw, &f, false),
            ReasonCode::UserVelocity
        );
        assert_eq!(
            code_of(F::NetworkIpAttempts1hLog, &raw, &f, true),
            ReasonCode::IpVelocity
        );
        raw[F::NetworkIpUsers1hLog as usize] = 2f32.ln();
        assert_eq!(
            code_of(F::NetworkIpAttempts1hLog, &raw, &f, false),
            ReasonCode::IpVelocity
        );
    }

    #[test]
    fn settle_hits_the_target_exactly() {
        let mut s = [0.0; N_CODES];
        s[0] = 33.33;
        s[1] = 33.33;
        s[2] = 33.33;
        let t = settle(&mut s, 1000);
        assert_eq!(t.iter().sum::<i32>(), 1000);
        assert!(
            t[..3].iter().all(|x| (333..=334).contains(x)),
            "{:?}",
            &t[..3]
        );
        let mut zero = [0.0; N_CODES];
        assert_eq!(settle(&mut zero, 0).iter().sum::<i32>(), 0);
    }
}
