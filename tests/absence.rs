//! Absence is not an attack, and not a pass (issue 10): the three kinds of missing evidence and
//! their rules, cold start, and IP-less channels — each against known answers.
//!
//! - A source the deployment does not have is absent by design: scored without, no reason.
//! - A source configured but failing, or an address not in the database: at least OTP and the
//!   source's reason code, never a deny on that alone.
//! - An absence the client can cause (no IP or device id on web widget or in-app): worst case.

mod common;

use common::*;
use tessera::config::Config;
use tessera::domain::{
    Channel, Decision, DeviceInfo, NetworkInfo, OutcomeKind, OutcomeRecord, ReasonCode,
    ScoreResponse, Source,
};

const LONDON_IP: &str = "81.2.69.142"; // London in MaxMind's GeoLite2-City test database
const LINKOPING_IP: &str = "89.160.20.112"; // Linköping, Sweden, in the same file

/// A deployment with only a free City database: no ASN, no Anonymous-IP database.
fn city_only() -> Config {
    let mut cfg = memory_config();
    cfg.geo.city = mmdb("GeoLite2-City-Test.mmdb").into();
    cfg.geo.asn = "".into();
    cfg.geo.anonymous_ip = "".into();
    cfg
}

fn london_phone(user: &str) -> DeviceInfo {
    device(&format!("{user}-phone"), "Europe/London", "en-GB")
}

/// `n` verified logins from `ip` on the user's London phone, every two days before T0.
fn enroll(engine: &tessera::Engine, user: &str, ip: &str, n: i64) {
    enroll_from(engine, user, ip, &london_phone(user), n);
}

fn reason(r: &ScoreResponse, code: ReasonCode) -> Option<&tessera::domain::Reason> {
    r.reasons.iter().find(|x| x.code == code)
}

#[test]
fn a_returning_user_at_home_is_allowed_with_only_a_free_city_database() {
    let e = engine(&city_only());
    enroll(&e, "hana", LONDON_IP, 6);
    let r = score(
        &e,
        &request(
            "hana",
            "h-home",
            T0 + HOUR,
            LONDON_IP,
            london_phone("hana"),
            Some(typing(105.0, 190.0, 77)),
        ),
    );
    assert_eq!(r.decision, Decision::Allow, "{:?}", codes(&r));
    // Reputation is absent by design: no reason code, not listed among the sources.
    assert!(
        reason(&r, ReasonCode::ReputationUnavailable).is_none(),
        "{:?}",
        codes(&r)
    );
    assert!(r.sources.contains(Source::Geo) && r.sources.contains(Source::Store));
    assert!(!r.sources.contains(Source::Reputation));
    let report = e.source_report();
    assert!(report.not_configured.contains(Source::Reputation));
    assert!(report.in_use.contains(Source::Geo) && report.failed.is_empty());
}

#[test]
fn an_address_not_in_the_database_costs_otp_and_never_a_deny() {
    let e = engine(&city_only());
    enroll(&e, "ines", LONDON_IP, 6);
    // 8.8.8.8 has no record in the test City database.
    let r = score(
        &e,
        &request(
            "ines",
            "i-1",
            T0 + HOUR,
            "8.8.8.8",
            london_phone("ines"),
            Some(typing(105.0, 190.0, 78)),
        ),
    );
    assert_eq!(r.decision, Decision::StepUpOtp, "{:?}", codes(&r));
    let geo = reason(&r, ReasonCode::GeoUnavailable).expect("geo_unavailable");
    assert_eq!(geo.detail["cause"], "not_in_database");
    assert_eq!(geo.detail["treated_as"], "neutral");
    // The same on the embedded demo database, whose coverage is only its demo networks: a
    // real address outside it is OTP, not the deny it was.
    let demo = engine(&memory_config());
    enroll_in_paris(&demo, "jade", 6);
    let mut req = request(
        "jade",
        "j-1",
        T0 + HOUR,
        "8.8.8.8",
        device("jade-phone", "Europe/Paris", "fr-FR"),
        Some(typing(105.0, 190.0, 79)),
    );
    req.channel = Channel::WebWidget;
    let r = score(&demo, &req);
    assert_eq!(r.decision, Decision::StepUpOtp, "{:?}", codes(&r));
}

#[test]
fn a_corrupt_database_costs_otp_and_the_service_is_not_ready() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corrupt = dir.path().join("GeoLite2-City.mmdb");
    std::fs::write(&corrupt, b"not a MaxMind database at all").expect("write");
    let mut cfg = city_only();
    cfg.geo.city = corrupt.display().to_string().into();
    let e = engine(&cfg);
    enroll(&e, "kai", LONDON_IP, 6);
    let r = score(
        &e,
        &request(
            "kai",
            "k-1",
            T0 + HOUR,
            LONDON_IP,
            london_phone("kai"),
            Some(typing(105.0, 190.0, 80)),
        ),
    );
    assert_eq!(r.decision, Decision::StepUpOtp, "{:?}", codes(&r));
    assert_eq!(
        reason(&r, ReasonCode::GeoUnavailable).expect("geo").detail["cause"],
        "database_failed"
    );
    let report = e.source_report();
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0, Source::Geo);

    let path = corrupt.display().to_string();
    let server = http::start(move |c, _| c.geo.city = path.into());
    let ready = server.get("/readyz", None);
    assert_eq!(ready.status, 503, "{}", ready.body);
    let body: serde_json::Value = serde_json::from_str(&ready.body).expect("json");
    assert!(
        body["failing"]
            .as_array()
            .expect("failing")
            .iter()
            .any(|f| f["source"] == "geo"),
        "{body}"
    );
    assert_eq!(body["sources"]["failed"][0]["source"], "geo");
}

#[test]
fn an_account_never_verified_is_at_least_otp() {
    let e = engine(&memory_config());
    let r = score(
        &e,
        &request(
            "newcomer",
            "n-1",
            T0,
            PARIS_IP,
            device("newcomer-laptop", "Europe/Paris", "fr-FR"),
            Some(typing(105.0, 190.0, 81)),
        ),
    );
    assert!(r.decision >= Decision::StepUpOtp, "{:?}", r.decision);
    assert!(codes(&r).contains(&"no_history"), "{:?}", codes(&r));
    assert!(!r.allow_factor_enrollment);
}

fn sms(user: &str, id: &str, at: i64, device_id: &str) -> tessera::domain::ScoreRequest {
    let mut r = request(
        user,
        id,
        at,
        PARIS_IP,
        device(device_id, "Europe/Paris", "fr-FR"),
        None,
    );
    r.channel = Channel::Sms;
    r.network = None;
    r
}

#[test]
fn sms_without_an_ip_from_a_new_device_is_at_least_otp() {
    let e = engine(&memory_config());
    enroll_in_paris(&e, "lena", 6);
    let r = score(&e, &sms("lena", "l-new", T0 + HOUR, "attacker-sim"));
    assert!(r.decision >= Decision::StepUpOtp, "{:?}", codes(&r));
    assert!(codes(&r).contains(&"new_device"), "{:?}", codes(&r));
    // No IP on SMS is absent by design: no worst case, no geo or reputation reason.
    assert!(
        reason(&r, ReasonCode::GeoUnavailable).is_none(),
        "{:?}",
        codes(&r)
    );
    assert!(!r.sources.contains(Source::Ip));
    assert!(r.sources.contains(Source::Device));
    let mut no_device = sms("lena", "l-none", T0 + HOUR, "x");
    no_device.device = None;
    let r = score(&e, &no_device);
    assert!(!r.sources.contains(Source::Device), "{:?}", r.sources);
    // Her own verified phone on the same channel is not challenged for the missing IP.
    let own = score(&e, &sms("lena", "l-own", T0 + 2 * HOUR, "lena-phone"));
    assert_eq!(own.decision, Decision::Allow, "{:?}", codes(&own));
}

#[test]
fn leaving_the_ip_out_never_scores_better_than_sending_any_address() {
    // On the channels that always carry the client's address, every address of the demo
    // database (home, another city, another continent, a Tor exit, a hosting range) and two
    // outside it: leaving the IP out scores no better than sending it.
    let addresses = [
        PARIS_IP,
        LYON_IP,
        NEW_YORK_IP,
        TOR_IP_DEMO,
        "8.8.8.8",
        "203.0.113.9",
        LINKOPING_IP,
    ];
    let mut n = 0;
    for channel in [Channel::WebWidget, Channel::InApp] {
        for (k, ip) in addresses.iter().enumerate() {
            for dev in ["mila-phone", "other-phone"] {
                n += 1;
                let at = T0 + i64::from(n) * HOUR;
                let mut with = request(
                    "mila",
                    &format!("m-ip-{n}"),
                    at,
                    ip,
                    device(dev, "Europe/Paris", "fr-FR"),
                    None,
                );
                with.channel = channel;
                let mut without = with.clone();
                without.request_id = Some(format!("m-none-{n}"));
                without.network = Some(NetworkInfo::default());
                // Score each on an engine of its own history, so neither sees the other.
                let a = engine(&memory_config());
                let b = engine(&memory_config());
                enroll_in_paris(&a, "mila", 6);
                enroll_in_paris(&b, "mila", 6);
                let sent = score(&a, &with);
                let left_out = score(&b, &without);
                assert!(
                    left_out.trust_score <= sent.trust_score && left_out.decision >= sent.decision,
                    "{channel:?} {ip} (#{k}) {dev}: without IP {:?}/{:?}, with it {:?}/{:?}",
                    left_out.trust_score,
                    left_out.decision,
                    sent.trust_score,
                    sent.decision
                );
            }
        }
    }
    assert_eq!(n, 28);
}

#[test]
fn a_recent_sim_swap_before_a_payment_is_otp_and_kba_and_a_phone_number_earns_no_trust() {
    let e = engine(&memory_config());
    enroll_in_paris(&e, "nora", 6);
    // Her phone number, on SMS, is known: not a new device, but no trusted_device credit.
    let mut known = sms("nora", "n-known", T0 + HOUR, "nora-phone");
    known.action = Some(tessera::domain::Action::Payment);
    let r = score(&e, &known);
    assert!(!codes(&r).contains(&"trusted_device"), "{:?}", codes(&r));
    assert!(!codes(&r).contains(&"new_device"), "{:?}", codes(&r));
    // The broker's carrier check reports a SIM change two days ago.
    let mut swapped = sms("nora", "n-swap", T0 + 2 * HOUR, "nora-phone");
    swapped.action = Some(tessera::domain::Action::Payment);
    swapped.network = Some(NetworkInfo {
        sim_changed_at: Some(ts(T0 - 2 * DAY)),
        ..NetworkInfo::default()
    });
    let r = score(&e, &swapped);
    assert_eq!(r.decision, Decision::StepUpOtpKba, "{:?}", codes(&r));
    assert!(codes(&r).contains(&"recent_sim_swap"), "{:?}", codes(&r));
    // A change long ago is no reason.
    let mut old = swapped.clone();
    old.request_id = Some("n-old".into());
    old.network = Some(NetworkInfo {
        sim_changed_at: Some(ts(T0 - 90 * DAY)),
        ..NetworkInfo::default()
    });
    let r = score(&e, &old);
    assert!(!codes(&r).contains(&"recent_sim_swap"), "{:?}", codes(&r));
    // A malformed date is refused, naming the field and not the value.
    let mut bad = swapped.clone();
    bad.request_id = Some("n-bad".into());
    bad.network = Some(NetworkInfo {
        sim_changed_at: Some("last tuesday".into()),
        ..NetworkInfo::default()
    });
    let err = e.score_at(&bad, T0 + 3 * HOUR).expect_err("bad date");
    let text = err.to_string();
    assert!(text.contains("network.sim_changed_at"), "{text}");
    assert!(!text.contains("tuesday"), "{text}");
}

#[test]
fn a_traveller_switching_to_her_home_carrier_is_not_impossible_travel() {
    // Verified in Paris, then on hotel Wi-Fi in Madrid two days later (verified), then ten
    // minutes on via her French carrier, whose gateway the database places in Lyon (demo
    // network 37.1.0.0/16, AS64700 "Demo Mobile FR"): home-routed roaming, not a jump.
    const MADRID_HOTEL: &str = "31.8.0.20";
    const FR_CARRIER_GATEWAY: &str = "37.1.0.9";
    let dir = tempfile::tempdir().expect("tempdir");
    let carriers = dir.path().join("carriers.csv");
    std::fs::write(&carriers, "asn,name\nAS64700,Demo Mobile FR\n").expect("write");
    let run = |with_list: bool| {
        let mut cfg = memory_config();
        if with_list {
            cfg.geo.carrier_asns = vec![carriers.display().to_string()];
        }
        let e = engine(&cfg);
        enroll_in_paris(&e, "rita", 6);
        let hotel = request(
            "rita",
            "r-hotel",
            T0 + 2 * DAY,
            MADRID_HOTEL,
            device("rita-phone", "Europe/Paris", "fr-FR"),
            None,
        );
        score(&e, &hotel);
        e.record_outcome(&OutcomeRecord::new(
            "r-hotel",
            "rita",
            &ts(T0 + 2 * DAY + 60_000),
            OutcomeKind::OtpPassed,
        ))
        .expect("outcome");
        score(
            &e,
            &request(
                "rita",
                "r-4g",
                T0 + 2 * DAY + 10 * 60_000,
                FR_CARRIER_GATEWAY,
                device("rita-phone", "Europe/Paris", "fr-FR"),
                None,
            ),
        )
    };
    let without = run(false);
    assert!(
        codes(&without).contains(&"impossible_travel"),
        "without a carrier list the jump reads as impossible: {:?}",
        codes(&without)
    );
    let with = run(true);
    assert!(
        !codes(&with).contains(&"impossible_travel"),
        "{:?}",
        codes(&with)
    );
    // Say why, where the new city is reported.
    if let Some(r) = with.reasons.iter().find(|r| r.code == ReasonCode::NewCity) {
        assert_eq!(r.detail["travel"]["carrier_gateway"], true);
        assert_eq!(r.detail["travel"]["judged"], "within_accuracy_radii");
    }
}
