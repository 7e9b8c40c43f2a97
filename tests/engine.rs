//! End-to-end known answers through `Engine::score` on real parts: the built-in demo geo DB,
//! MaxMind's own test DBs, memory and redb stores.

mod common;

use common::*;
use tessera::domain::{Decision, OutcomeKind, OutcomeRecord};

#[test]
fn paris_to_new_york_in_one_hour_is_impossible_travel_with_detail() {
    let e = engine(&memory_config());
    enroll_in_paris(&e, "alice", 8);
    // Last verified fix: Paris at T0 - 2 days + … ; first a verified login at T0 from Paris.
    let home = request(
        "alice",
        "a-home",
        T0,
        PARIS_IP,
        device("alice-phone", "Europe/Paris", "fr-FR"),
        Some(typing(105.0, 190.0, 99)),
    );
    score(&e, &home);
    e.record_outcome(&OutcomeRecord::new(
        "a-home",
        "alice",
        &ts(T0 + 60_000),
        OutcomeKind::OtpPassed,
    ))
    .expect("outcome");
    let ny = request(
        "alice",
        "a-ny",
        T0 + HOUR,
        NEW_YORK_IP,
        device("alice-phone", "Europe/Paris", "fr-FR"),
        None,
    );
    let resp = score(&e, &ny);
    let travel = resp
        .reasons
        .iter()
        .find(|r| r.code.as_str() == "impossible_travel")
        .expect("impossible_travel reason");
    let d = &travel.detail;
    assert_eq!(d["from"]["city"], "Paris");
    assert_eq!(d["to"]["city"], "New York");
    let km = d["distance_km"].as_f64().expect("distance");
    assert!(
        (km - 5837.0).abs() < 5.0,
        "Paris–New York ≈ 5,837 km, got {km}"
    );
    assert_eq!(
        d["min_distance_km"].as_f64(),
        Some((km - 20.0).round()),
        "both 10 km radii removed"
    );
    assert!(d["speed_kmh"].as_f64().expect("speed") > 5_000.0);
    assert!(resp.decision >= Decision::StepUpOtp, "{:?}", resp.decision);
    assert!(travel.contribution > 0.0);
    assert!(!resp.allow_factor_enrollment);
}

#[test]
fn paris_to_lyon_in_three_hours_is_not_impossible_travel() {
    let e = engine(&memory_config());
    enroll_in_paris(&e, "bob", 6);
    let home = request(
        "bob",
        "b-home",
        T0,
        PARIS_IP,
        device("bob-phone", "Europe/Paris", "fr-FR"),
        None,
    );
    score(&e, &home);
    e.record_outcome(&OutcomeRecord::new(
        "b-home",
        "bob",
        &ts(T0 + 60_000),
        OutcomeKind::KbaPassed,
    ))
    .expect("outcome");
    let lyon = request(
        "bob",
        "b-lyon",
        T0 + 3 * HOUR,
        LYON_IP,
        device("bob-phone", "Europe/Paris", "fr-FR"),
        None,
    );
    let resp = score(&e, &lyon);
    let c = codes(&resp);
    assert!(!c.contains(&"impossible_travel"), "{c:?}");
    assert!(
        c.contains(&"new_city"),
        "Lyon is a new city in a known country: {c:?}"
    );
    assert!(!c.contains(&"new_country"), "{c:?}");
}

#[test]
fn new_device_for_a_user_with_history_and_none_without() {
    let e = engine(&memory_config());
    enroll_in_paris(&e, "carol", 5);
    let known = score(
        &e,
        &request(
            "carol",
            "c1",
            T0,
            PARIS_IP,
            device("carol-phone", "Europe/Paris", "fr-FR"),
            None,
        ),
    );
    assert!(
        !codes(&known).contains(&"new_device"),
        "{:?}",
        codes(&known)
    );
    assert!(
        codes(&known).contains(&"trusted_device"),
        "{:?}",
        codes(&known)
    );
    let new = score(
        &e,
        &request(
            "carol",
            "c2",
            T0 + HOUR,
            PARIS_IP,
            device("stranger-laptop", "Europe/Paris", "fr-FR"),
            None,
        ),
    );
    assert!(codes(&new).contains(&"new_device"), "{:?}", codes(&new));
    assert!(new.trust_score < known.trust_score);
    let fresh = score(
        &e,
        &request(
            "dave",
            "d1",
            T0,
            PARIS_IP,
            device("dave-phone", "Europe/Paris", "fr-FR"),
            None,
        ),
    );
    let c = codes(&fresh);
    assert!(
        c.contains(&"no_history") && !c.contains(&"new_device"),
        "{c:?}"
    );
}

#[test]
fn a_replayed_typing_vector_is_typing_replay() {
    let e = engine(&memory_config());
    enroll_in_paris(&e, "erin", 4);
    let sample = typing(110.0, 200.0, 4242);
    let first = score(
        &e,
        &request(
            "erin",
            "e1",
            T0,
            PARIS_IP,
            device("erin-phone", "Europe/Paris", "fr-FR"),
            Some(sample.clone()),
        ),
    );
    assert!(
        !codes(&first).contains(&"typing_replay"),
        "{:?}",
        codes(&first)
    );
    // The same vector again, from an attacker's device: replay.
    let again = score(
        &e,
        &request(
            "erin",
            "e2",
            T0 + HOUR,
            PARIS_IP,
            device("attacker", "Europe/Paris", "fr-FR"),
            Some(sample.clone()),
        ),
    );
    assert!(
        codes(&again).contains(&"typing_replay"),
        "{:?}",
        codes(&again)
    );
    assert!(
        again.decision >= Decision::StepUpOtpKba,
        "replay floor: {:?}",
        again.decision
    );
    // With ±1 ms jitter: still a replay. A fresh sample of the same rhythm: not.
    let mut jittered = sample.clone();
    for (i, k) in jittered.events.iter_mut().enumerate() {
        k.up_ms += (i % 2) as f64;
    }
    let j = score(
        &e,
        &request(
            "erin",
            "e3",
            T0 + 2 * HOUR,
            PARIS_IP,
            device("erin-phone", "Europe/Paris", "fr-FR"),
            Some(jittered),
        ),
    );
    assert!(codes(&j).contains(&"typing_replay"), "{:?}", codes(&j));
    let fresh = score(
        &e,
        &request(
            "erin",
            "e4",
            T0 + 3 * HOUR,
            PARIS_IP,
            device("erin-phone", "Europe/Paris", "fr-FR"),
            Some(typing(110.0, 200.0, 7)),
        ),
    );
    assert!(
        !codes(&fresh).contains(&"typing_replay"),
        "{:?}",
        codes(&fresh)
    );
}

#[test]
fn tor_exit_from_maxminds_anonymous_ip_test_database() {
    let mut cfg = memory_config();
    cfg.geo.anonymous_ip = mmdb("GeoIP2-Anonymous-IP-Test.mmdb");
    cfg.geo.city = mmdb("GeoIP2-City-Test.mmdb");
    let e = engine(&cfg);
    let resp = score(
        &e,
        &request(
            "frank",
            "f1",
            T0,
            "1.124.213.1",
            device("f-phone", "Europe/London", "en-GB"),
            None,
        ),
    );
    let c = codes(&resp);
    assert!(
        c.contains(&"tor_exit") && c.contains(&"anonymous_vpn"),
        "{c:?}"
    );
    // 81.2.69.142: London in the City DB and every anonymity flag in the Anonymous-IP DB.
    let resp = score(
        &e,
        &request(
            "frank",
            "f2",
            T0,
            "81.2.69.142",
            device("f-phone", "Europe/London", "en-GB"),
            None,
        ),
    );
    let c = codes(&resp);
    for code in [
        "tor_exit",
        "anonymous_vpn",
        "hosting_provider",
        "public_proxy",
    ] {
        assert!(c.contains(&code), "{code} missing from {c:?}");
    }
    // 8.8.8.8: empty map in the Anonymous-IP DB (no flags), not in the City DB.
    let resp = score(
        &e,
        &request(
            "frank",
            "f3",
            T0,
            "8.8.8.8",
            device("f-phone", "Europe/London", "en-GB"),
            None,
        ),
    );
    let c = codes(&resp);
    assert!(
        !c.contains(&"tor_exit") && c.contains(&"geo_unavailable"),
        "{c:?}"
    );
}

#[test]
fn a_missing_geo_database_is_a_reason_and_never_a_lower_challenge() {
    let with_db = engine(&memory_config());
    let mut cfg = memory_config();
    cfg.geo.city = "/nonexistent/GeoLite2-City.mmdb".into();
    let without = engine(&cfg);
    assert!(
        without
            .warnings()
            .iter()
            .any(|w| w.contains("GeoLite2-City")),
        "{:?}",
        without.warnings()
    );
    for e in [&with_db, &without] {
        enroll_in_paris(e, "gina", 6);
    }
    let cases = [
        request(
            "gina",
            "g1",
            T0,
            PARIS_IP,
            device("gina-phone", "Europe/Paris", "fr-FR"),
            Some(typing(105.0, 190.0, 5)),
        ),
        request(
            "gina",
            "g2",
            T0 + HOUR,
            NEW_YORK_IP,
            device("gina-phone", "Europe/Paris", "fr-FR"),
            None,
        ),
        request(
            "gina",
            "g3",
            T0 + 2 * HOUR,
            LYON_IP,
            device("new-tablet", "Europe/Paris", "fr-FR"),
            None,
        ),
        request(
            "henry",
            "h1",
            T0,
            PARIS_IP,
            device("henry-phone", "Europe/Paris", "fr-FR"),
            None,
        ),
    ];
    for req in &cases {
        let a = score(&with_db, req);
        let b = score(&without, req);
        assert!(codes(&b).contains(&"geo_unavailable"), "{:?}", codes(&b));
        assert!(!codes(&a).contains(&"geo_unavailable"), "{:?}", codes(&a));
        assert!(
            b.decision >= a.decision,
            "{}: without DB {:?} < with DB {:?}",
            req.request_id.as_deref().unwrap_or(""),
            b.decision,
            a.decision
        );
        assert!(
            b.trust_score <= a.trust_score,
            "trust must not rise when geo is missing"
        );
        assert!(b.decision >= Decision::StepUpOtp);
    }
}

#[test]
fn profiles_learn_only_from_verified_outcomes() {
    let e = engine(&memory_config());
    enroll_in_paris(&e, "ivan", 5);
    // An attacker scores many times from their device: no outcome, so it stays a new device.
    for i in 0..10 {
        let r = score(
            &e,
            &request(
                "ivan",
                &format!("x{i}"),
                T0 + i * 60_000,
                PARIS_IP,
                device("attacker-box", "Europe/Paris", "fr-FR"),
                None,
            ),
        );
        assert!(
            codes(&r).contains(&"new_device"),
            "attempt {i}: {:?}",
            codes(&r)
        );
    }
    // A failed OTP teaches nothing but counts as a failure.
    e.record_outcome(&OutcomeRecord::new(
        "x9",
        "ivan",
        &ts(T0 + 11 * 60_000),
        OutcomeKind::OtpFailed,
    ))
    .expect("failure recorded");
    let r = score(
        &e,
        &request(
            "ivan",
            "x10",
            T0 + 12 * 60_000,
            PARIS_IP,
            device("attacker-box", "Europe/Paris", "fr-FR"),
            None,
        ),
    );
    assert!(codes(&r).contains(&"new_device"));
    // A verified OTP on a genuine new phone: the device is learned.
    score(
        &e,
        &request(
            "ivan",
            "new-phone-1",
            T0 + DAY,
            PARIS_IP,
            device("ivan-new-phone", "Europe/Paris", "fr-FR"),
            None,
        ),
    );
    e.record_outcome(&OutcomeRecord::new(
        "new-phone-1",
        "ivan",
        &ts(T0 + DAY + 60_000),
        OutcomeKind::OtpPassed,
    ))
    .expect("learned");
    let r = score(
        &e,
        &request(
            "ivan",
            "new-phone-2",
            T0 + DAY + HOUR,
            PARIS_IP,
            device("ivan-new-phone", "Europe/Paris", "fr-FR"),
            None,
        ),
    );
    assert!(!codes(&r).contains(&"new_device"), "{:?}", codes(&r));
}

#[test]
fn outcomes_are_checked_against_the_scored_request() {
    let e = engine(&memory_config());
    score(
        &e,
        &request(
            "judy",
            "j1",
            T0,
            PARIS_IP,
            device("judy-phone", "Europe/Paris", "fr-FR"),
            None,
        ),
    );
    let err = e
        .record_outcome(&OutcomeRecord::new(
            "j1",
            "mallory",
            &ts(T0 + 60_000),
            OutcomeKind::OtpPassed,
        ))
        .expect_err("other user");
    assert_eq!(
        err.to_string(),
        "invalid input: user_id: does not match the scored request"
    );
    let err = e
        .record_outcome(&OutcomeRecord::new(
            "nope",
            "judy",
            &ts(T0 + 60_000),
            OutcomeKind::OtpPassed,
        ))
        .expect_err("unknown");
    assert!(
        err.to_string().starts_with("invalid input: request_id:"),
        "{err}"
    );
}

#[test]
fn credential_stuffing_from_one_ip_raises_ip_velocity() {
    let e = engine(&memory_config());
    let mut last = None;
    for i in 0..12 {
        let mut r = request(
            &format!("victim{i}"),
            &format!("s{i}"),
            T0 + i * 20_000,
            "45.0.3.3",
            device(&format!("bot{i}"), "UTC", "en-US"),
            None,
        );
        r.auth = Some(tessera::domain::AuthInfo {
            failed_attempts: 2,
            passed_methods: vec![],
        });
        last = Some(score(&e, &r));
    }
    let last = last.expect("scored");
    let c = codes(&last);
    assert!(
        c.contains(&"ip_velocity") && c.contains(&"hosting_provider"),
        "{c:?}"
    );
    let v = last
        .reasons
        .iter()
        .find(|r| r.code.as_str() == "ip_velocity")
        .expect("velocity");
    assert_eq!(v.detail["distinct_users_1h"], 12.0);
    assert!(
        last.decision >= Decision::StepUpOtpKba,
        "{:?}",
        last.decision
    );
}

#[test]
fn redb_store_keeps_profiles_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = tessera::config::Config::default();
    cfg.store.path = dir.path().join("profiles.redb");
    cfg.privacy.key_file = dir.path().join("hash.key");
    {
        let e = engine(&cfg);
        enroll_in_paris(&e, "kim", 3);
    }
    let e = engine(&cfg);
    let r = score(
        &e,
        &request(
            "kim",
            "k1",
            T0,
            PARIS_IP,
            device("kim-phone", "Europe/Paris", "fr-FR"),
            None,
        ),
    );
    assert!(codes(&r).contains(&"trusted_device"), "{:?}", codes(&r));
    assert!(!codes(&r).contains(&"no_history"));
}
