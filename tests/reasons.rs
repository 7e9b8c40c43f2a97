//! Reasons account for the score, through `Engine::score` on real parts (the MaxMind test DBs,
//! the memory store): every share of 5 trust points or more is named, and the contributions sum
//! to `100 − trust_score`.
//!
//! The property test checks each response against an oracle written from the documented rule
//! (README, `contribution`): a twin engine with the same key assesses the same requests, the test
//! splits the log-odds into per-feature terms (imputed raises apart), shares `T(b) − T(L)` between
//! the risk and the trust terms by the two-player Shapley value and inside each group by log-odds,
//! and requires a reason of an acceptable code for every term whose share is 5 points or more.

mod common;

use common::*;
use rand::{Rng, SeedableRng};
use tessera::config::Config;
use tessera::domain::{
    Absence, Action, AuthInfo, Channel, Decision, KeyEvent, NetworkInfo, OutcomeKind,
    OutcomeRecord, ScoreRequest, Source, TypingInfo,
};
use tessera::engine::Assessment;
use tessera::features::FEATURES;
use tessera::model::Model;
use tessera::privacy::Pseudonymizer;
use tessera::{Engine, ScoreResponse};

fn keyed(cfg: &Config) -> Engine {
    Engine::from_config_with_key(cfg, Pseudonymizer::new([7; 32])).expect("engine")
}

fn sum_of(resp: &ScoreResponse) -> f64 {
    resp.reasons.iter().map(|r| r.contribution).sum()
}

fn drop_of(resp: &ScoreResponse) -> f64 {
    f64::from(100 - resp.trust_score.value())
}

#[test]
fn eight_scores_in_a_second_name_the_users_own_velocity() {
    let e = engine(&memory_config());
    let mut last = None;
    for i in 0..8 {
        let r = request(
            "victim",
            &format!("burst-{i}"),
            T0 + i * 120,
            PARIS_IP,
            device("victim-phone", "Europe/Paris", "fr-FR"),
            None,
        );
        last = Some(score(&e, &r));
    }
    let last = last.expect("scored");
    // How far trust falls is the model's call; that the burst is challenged and named as the
    // user's own velocity, first, is not.
    assert_ne!(last.decision, Decision::Allow, "{:?}", last.reasons);
    assert_eq!(
        last.reasons[0].code.as_str(),
        "user_velocity",
        "{:?}",
        last.reasons
    );
    let v = last
        .reasons
        .iter()
        .find(|r| r.code.as_str() == "user_velocity")
        .unwrap_or_else(|| panic!("no user_velocity in {:?}", codes(&last)));
    assert!(v.contribution >= 5.0, "{v:?}");
    assert_eq!(v.detail["attempts_1h"], 8.0);
    assert_eq!(v.detail["distinct_users_1h"], 1.0);
    assert!(
        (sum_of(&last) - drop_of(&last)).abs() <= 0.05,
        "Σ {} vs 100 − {}: {:?}",
        sum_of(&last),
        last.trust_score.value(),
        last.reasons
    );
}

/// Codes that may name the own term of a feature (the raw part, before imputation).
fn acceptable(feature: &str) -> &'static [&'static str] {
    match feature {
        "typing.absent" => &["typing_absent", "typing_consent_missing"],
        "typing.keys_log" | "typing.dwell_mean_s" | "typing.flight_mean_s" => &["typing_style"],
        "typing.template_distance" | "typing.profile_confidence" => {
            &["typing_mismatch", "typing_partial_match", "typing_match"]
        }
        "typing.no_template" => &["typing_not_enrolled"],
        "typing.insufficient" => &["typing_insufficient"],
        "typing.bot_cadence" => &["bot_cadence"],
        "typing.replay" => &["typing_replay"],
        "device.absent" => &["device_absent"],
        "device.new_for_user" => &["new_device"],
        "device.age_days_log" => &["known_device"],
        "device.trusted" => &["trusted_device"],
        "device.accounts_24h_log" => &["device_shared_accounts"],
        "device.automation" => &["automation_flag"],
        "device.timezone_mismatch" => &["timezone_mismatch"],
        "device.language_mismatch" => &["language_mismatch"],
        "device.fraud_linked" | "network.fraud_linked" => &["fraud_linked"],
        "network.ip_absent" => &["ip_absent"],
        "network.tor" => &["tor_exit"],
        "network.vpn" => &["anonymous_vpn"],
        "network.hosting" => &["hosting_provider"],
        "network.proxy" => &["public_proxy"],
        "network.blocklisted" => &["ip_blocklisted"],
        "network.ip_attempts_1h_log" | "network.ip_failures_1h_log" | "network.ip_users_1h_log" => {
            &["ip_velocity", "user_velocity"]
        }
        "geo.impossible_travel" => &["impossible_travel"],
        "geo.speed_log" | "geo.distance_log" | "geo.home_distance_log" => {
            &["impossible_travel", "far_from_home"]
        }
        "geo.new_country" => &["new_country"],
        "geo.new_city" => &["new_city"],
        "context.no_history" => &["no_history"],
        "context.history_log" => &["verified_history"],
        "context.action_sensitivity" => &["sensitive_action"],
        "context.hour_unusual" => &["unusual_hour"],
        "context.failed_attempts_log" => &["failed_attempts"],
        "context.user_failures_24h_log" => &["user_failure_velocity"],
        f if f.starts_with("device.browser_") || f == "device.mobile" => &["client_type"],
        f if f.starts_with("context.channel_") => &["channel_risk"],
        "freeman.familiar_log" => &["known_location"],
        f if f.starts_with("freeman.") => &["unfamiliar_context"],
        other => panic!("feature {other} has no reason code in this test"),
    }
}

/// The code that names what imputing a missing source raised: a reported absence's reason
/// code, or `model_baseline` for a source absent by design.
fn imputed_code(source: Source, why: Absence) -> &'static str {
    if why == Absence::ByDesign {
        "model_baseline"
    } else {
        source.reason().as_str()
    }
}

/// The documented shares: (codes that may name it, trust points), per term.
fn oracle(model: &Model, a: &Assessment) -> Vec<(Vec<&'static str>, f64)> {
    let mut row = a.row;
    let raised = model.impute(&mut row, &a.findings.unavailable);
    let raw_terms = model.terms(&a.row);
    let b = f64::from(raw_terms.base);
    let mut terms: Vec<(Vec<&'static str>, f64)> = Vec::new();
    for (i, def) in FEATURES.iter().enumerate() {
        terms.push((acceptable(def.name).to_vec(), f64::from(raw_terms.terms[i])));
    }
    for source in Source::ALL {
        if let Some(why) = a.findings.unavailable.get(source) {
            terms.push((
                vec![imputed_code(source, why)],
                f64::from(raised[source as usize]),
            ));
        }
    }
    let p: f64 = terms.iter().map(|t| t.1.max(0.0)).sum();
    let n: f64 = terms.iter().map(|t| t.1.min(0.0)).sum();
    let t = |l: f64| 100.0 / (1.0 + l.exp());
    let phi_p = 0.5 * ((t(b) - t(b + p)) + (t(b + n) - t(b + p + n)));
    let phi_n = 0.5 * ((t(b) - t(b + n)) + (t(b + p) - t(b + p + n)));
    let mut out: Vec<(Vec<&'static str>, f64)> = terms
        .into_iter()
        .map(|(codes, d)| {
            let share = if d > 0.0 {
                phi_p * d / p
            } else if d < 0.0 {
                phi_n * d / n
            } else {
                0.0
            };
            (codes, share)
        })
        .collect();
    out.push((vec!["model_baseline"], 100.0 - t(b)));
    // A reason's share is the sum of its terms' shares: terms that only the same codes may
    // name are one share (a source's absence can move its features both ways, e.g. the geo
    // features and Freeman's country ratio).
    let mut merged: Vec<(Vec<&'static str>, f64)> = Vec::new();
    for (codes, share) in out {
        match merged.iter_mut().find(|(c, _)| *c == codes) {
            Some(m) => m.1 += share,
            None => merged.push((codes, share)),
        }
    }
    merged
}

const CITY_IPS: &[&str] = &[
    "81.2.69.142",   // London; every anonymity flag
    "1.124.213.1",   // Tor exit and VPN in the Anonymous-IP DB
    "2.125.160.216", // Boxford, UK
    "89.160.20.112", // Linköping, Sweden
    "216.160.83.56", // Milton, US
    "175.16.199.1",  // Changchun, China
    "202.196.224.1", // Philippines
    "8.8.8.8",       // not in the City DB
    "67.43.156.1",   // Bhutan; hosting in the Anonymous-IP DB
    "81.2.69.160",   // London
];

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/124.0",
    "curl/8.5",
];

fn varied_request(rng: &mut rand_chacha::ChaCha8Rng, n: usize, at: i64) -> ScoreRequest {
    let user = format!("user-{}", rng.gen_range(0..6));
    let channel = Channel::ALL[rng.gen_range(0..Channel::ALL.len())];
    let mut r = ScoreRequest::minimal(&user, &ts(at), channel);
    r.request_id = Some(format!("prop-{n}"));
    r.action = Some(Action::ALL[rng.gen_range(0..Action::ALL.len())]);
    if rng.gen_bool(0.9) {
        let ip = CITY_IPS[rng.gen_range(0..CITY_IPS.len())];
        r.network = Some(NetworkInfo {
            ip: Some(ip.into()),
            ..NetworkInfo::default()
        });
    }
    if rng.gen_bool(0.85) {
        let tz = [
            "Europe/London",
            "Europe/Paris",
            "America/New_York",
            "Asia/Tokyo",
        ];
        let mut d = device(
            &format!("{user}-dev-{}", rng.gen_range(0..3)),
            tz[rng.gen_range(0..tz.len())],
            ["en-GB", "fr-FR", "sv-SE"][rng.gen_range(0..3)],
        );
        d.user_agent = Some(USER_AGENTS[rng.gen_range(0..USER_AGENTS.len())].into());
        d.webdriver = Some(rng.gen_bool(0.1));
        if rng.gen_bool(0.1) {
            d.id = None;
        }
        r.device = Some(d);
    }
    r.typing = match rng.gen_range(0..4) {
        0 => None,
        1 => Some(TypingInfo {
            // Machine-regular: every hold 50 ms, every flight 100 ms.
            events: (0..20)
                .map(|i| KeyEvent {
                    key: Some("letter".into()),
                    down_ms: 100.0 * f64::from(i),
                    up_ms: 100.0 * f64::from(i) + 50.0,
                })
                .collect(),
        }),
        _ => Some(typing(
            rng.gen_range(80.0..170.0),
            rng.gen_range(150.0..350.0),
            rng.r#gen(),
        )),
    };
    r.auth = Some(AuthInfo {
        failed_attempts: [0, 0, 0, 1, 3][rng.gen_range(0..5)],
        passed_methods: vec![],
    });
    r
}

fn check_property(model_path: &str, seed: u64, n: usize) -> usize {
    let mut cfg = memory_config();
    cfg.geo.city = mmdb("GeoIP2-City-Test.mmdb").into();
    cfg.geo.anonymous_ip = mmdb("GeoIP2-Anonymous-IP-Test.mmdb").into();
    cfg.geo.asn = mmdb("GeoLite2-ASN-Test.mmdb").into();
    cfg.model.path = model_path.into();
    let (live, twin) = (keyed(&cfg), keyed(&cfg));
    let model = live.model();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut at = T0;
    let mut named_big = 0;
    for i in 0..n {
        at += [150, 20_000, 600_000, 7_200_000, DAY][rng.gen_range(0..5)];
        let req = varied_request(&mut rng, i, at);
        let resp = live.score_at(&req, at + 1_000).expect("score");
        let a = twin.assess(&req, at + 1_000).expect("assess");
        let sum = sum_of(&resp);
        assert!(
            (sum - drop_of(&resp)).abs() <= 0.05,
            "request {i}: Σ {sum} vs 100 − {}: {:?}",
            resp.trust_score.value(),
            resp.reasons
        );
        // A code that only features name (not a missing source's, not the baseline) carries a
        // share only when one of its features is non-zero: evidence the request carries.
        for r in resp.reasons.iter().filter(|r| r.contribution != 0.0) {
            let code = r.code.as_str();
            let feature_code = FEATURES.iter().any(|d| acceptable(d.name).contains(&code));
            let by_source = Source::ALL
                .into_iter()
                .any(|s| a.findings.unavailable.get(s).is_some() && s.reason() == r.code);
            if !feature_code || by_source {
                continue;
            }
            let carried = FEATURES
                .iter()
                .enumerate()
                .any(|(i, d)| acceptable(d.name).contains(&code) && a.row[i] != 0.0);
            assert!(
                carried,
                "request {i}: {code} carries {} points with every feature of it at zero: {:?}",
                r.contribution, resp.reasons
            );
        }
        for (codes, share) in oracle(&model, &a) {
            if share.abs() < 5.0 {
                continue;
            }
            named_big += 1;
            let named = resp.reasons.iter().any(|r| {
                codes.contains(&r.code.as_str())
                    && (r.contribution - share) * share.signum() >= -0.6
            });
            assert!(
                named,
                "request {i}: a share of {share:.1} points (codes {codes:?}) is not named: {:?}",
                resp.reasons
            );
        }
        if rng.gen_bool(0.4) {
            let kinds = [
                OutcomeKind::OtpPassed,
                OutcomeKind::OtpPassed,
                OutcomeKind::OtpPassed,
                OutcomeKind::KbaPassed,
                OutcomeKind::OtpFailed,
                OutcomeKind::ConfirmedFraud,
            ];
            let o = OutcomeRecord::new(
                &format!("prop-{i}"),
                &req.user_id,
                &ts(at + 30_000),
                kinds[rng.gen_range(0..kinds.len())],
            );
            let (x, y) = (live.record_outcome(&o), twin.record_outcome(&o));
            assert_eq!(x.is_ok(), y.is_ok(), "request {i}: twins disagree");
        }
    }
    named_big
}

#[test]
fn every_share_of_five_points_is_named_and_the_shares_sum_to_the_drop() {
    let builtin = check_property("builtin", 11, 300);
    let rules = check_property("rules", 12, 300);
    // The loop must reach large shares, or it proves nothing.
    assert!(builtin >= 100 && rules >= 100, "{builtin} {rules}");
}
