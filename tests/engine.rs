//! End-to-end known answers through `Engine::score` on real parts: the built-in demo geo DB,
//! MaxMind's own test DBs, memory and redb stores.

mod common;

use common::*;
use tessera::domain::{Decision, OutcomeKind, OutcomeRecord, ReasonCode};

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
    cfg.geo.anonymous_ip = mmdb("GeoIP2-Anonymous-IP-Test.mmdb").into();
    cfg.geo.city = mmdb("GeoIP2-City-Test.mmdb").into();
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
fn a_failed_geo_database_costs_otp_and_its_reason_never_a_deny_on_its_own() {
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
    // A configured database that failed to open: every request carries `geo_unavailable`
    // (treated as neutral, not worst case) and at least OTP; the failure alone never denies.
    for req in &cases {
        let a = score(&with_db, req);
        let b = score(&without, req);
        assert!(codes(&b).contains(&"geo_unavailable"), "{:?}", codes(&b));
        assert!(!codes(&a).contains(&"geo_unavailable"), "{:?}", codes(&a));
        let geo = b
            .reasons
            .iter()
            .find(|r| r.code == ReasonCode::GeoUnavailable)
            .expect("geo reason");
        assert_eq!(geo.detail["treated_as"], "neutral");
        assert_eq!(geo.detail["cause"], "database_failed");
        assert!(b.decision >= Decision::StepUpOtp, "{:?}", b.decision);
        assert!(!b.sources.contains(tessera::domain::Source::Geo));
        assert!(a.sources.contains(tessera::domain::Source::Geo));
    }
    // The verified user at home on her own phone: allowed with the database, OTP without it,
    // never a deny.
    let home = request(
        "gina",
        "g9",
        T0 + DAY,
        PARIS_IP,
        device("gina-phone", "Europe/Paris", "fr-FR"),
        None,
    );
    assert_eq!(score(&with_db, &home).decision, Decision::Allow);
    assert_eq!(score(&without, &home).decision, Decision::StepUpOtp);
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
        "conflict: user_id: does not match the scored request"
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
        err.to_string().starts_with("not found: request_id:"),
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

#[test]
fn leaving_evidence_out_on_the_web_never_scores_better() {
    let e = engine(&memory_config());
    enroll_in_paris(&e, "lena", 6);
    let full = request(
        "lena",
        "l1",
        T0,
        NEW_YORK_IP,
        device("thief-laptop", "America/New_York", "en-US"),
        Some(typing(80.0, 150.0, 3)),
    );
    let mut no_ip = full.clone();
    no_ip.request_id = Some("l2".into());
    no_ip.network = None;
    let mut no_device = full.clone();
    no_device.request_id = Some("l3".into());
    no_device.device = None;
    let a = score(&e, &full);
    for stripped in [&no_ip, &no_device] {
        let b = score(&e, stripped);
        assert!(
            b.decision >= a.decision,
            "{:?} < {:?}: {:?}",
            b.decision,
            a.decision,
            codes(&b)
        );
        assert!(
            b.trust_score <= a.trust_score,
            "{:?} > {:?}",
            b.trust_score,
            a.trust_score
        );
    }
    let mut again = no_ip.clone();
    again.request_id = Some("l4".into());
    let b = score(&e, &again);
    let absent = b
        .reasons
        .iter()
        .find(|r| r.code.as_str() == "ip_absent")
        .expect("ip_absent");
    assert_eq!(absent.detail["treated_as"], "worst_case");
}

#[test]
fn a_vpn_does_not_hide_a_new_country() {
    let e = engine(&memory_config());
    enroll_in_paris(&e, "mia", 6);
    let direct = score(
        &e,
        &request(
            "mia",
            "m1",
            T0,
            NEW_YORK_IP,
            device("thief", "America/New_York", "en-US"),
            None,
        ),
    );
    // 46.1.0.0/16 is a VPN exit in New York in the demo geo data.
    let vpn = score(
        &e,
        &request(
            "mia",
            "m2",
            T0 + 60_000,
            "46.1.7.7",
            device("thief", "America/New_York", "en-US"),
            None,
        ),
    );
    assert!(codes(&vpn).contains(&"anonymous_vpn"), "{:?}", codes(&vpn));
    let geo = vpn
        .reasons
        .iter()
        .find(|r| r.code.as_str() == "geo_unavailable")
        .expect("geo hidden by the VPN");
    assert_eq!(geo.detail["cause"], "anonymised");
    assert!(
        vpn.decision >= direct.decision,
        "{:?} < {:?}",
        vpn.decision,
        direct.decision
    );
    assert!(vpn.trust_score <= direct.trust_score);
}

#[test]
fn long_key_holds_do_not_buy_trust() {
    let e = engine(&memory_config());
    enroll_in_paris(&e, "noor", 6);
    let short = score(
        &e,
        &request(
            "noor",
            "n1",
            T0,
            PARIS_IP,
            device("thief", "Europe/Paris", "fr-FR"),
            Some(typing(90.0, 160.0, 5)),
        ),
    );
    let long = score(
        &e,
        &request(
            "noor",
            "n2",
            T0 + 60_000,
            PARIS_IP,
            device("thief", "Europe/Paris", "fr-FR"),
            Some(typing(1_900.0, 2_100.0, 6)),
        ),
    );
    assert!(
        long.trust_score <= short.trust_score,
        "{:?} > {:?}",
        long.trust_score,
        short.trust_score
    );
    assert!(long.decision >= short.decision);
}

#[test]
fn factor_enrollment_needs_a_clean_allow() {
    let mut cfg = memory_config();
    cfg.lists.block = vec!["31.0.12.0/24".into()];
    let e = engine(&cfg);
    enroll_in_paris(&e, "omar", 6);
    let r = score(
        &e,
        &request(
            "omar",
            "o1",
            T0,
            PARIS_IP,
            device("omar-phone", "Europe/Paris", "fr-FR"),
            None,
        ),
    );
    assert!(codes(&r).contains(&"ip_blocklisted"), "{:?}", codes(&r));
    assert_eq!(r.decision, Decision::Deny);
    assert!(!r.allow_factor_enrollment);
    let clean = engine(&memory_config());
    enroll_in_paris(&clean, "omar", 6);
    let r = score(
        &clean,
        &request(
            "omar",
            "o2",
            T0,
            PARIS_IP,
            device("omar-phone", "Europe/Paris", "fr-FR"),
            Some(typing(105.0, 190.0, 77)),
        ),
    );
    assert_eq!(r.decision, Decision::Allow, "{:?}", codes(&r));
    assert!(r.allow_factor_enrollment);
    // The same clean session for an account with no verified history: no enrolment.
    let r = score(
        &clean,
        &request(
            "nadia",
            "n1",
            T0,
            PARIS_IP,
            device("nadia-phone", "Europe/Paris", "fr-FR"),
            Some(typing(105.0, 190.0, 77)),
        ),
    );
    assert!(codes(&r).contains(&"no_history"), "{:?}", codes(&r));
    assert!(!r.allow_factor_enrollment);
}

#[test]
fn a_planted_record_under_a_predicted_generated_id_is_not_what_the_outcome_teaches() {
    let e = engine(&memory_config());
    enroll_in_paris(&e, "rui", 4);
    let mut first = request(
        "rui",
        "unused",
        T0,
        PARIS_IP,
        device("rui-phone", "Europe/Paris", "fr-FR"),
        None,
    );
    first.request_id = None;
    let id = score(&e, &first).request_id;
    // A counter would let the next id be predicted from a response; an attacker guesses it
    // anyway and plants evidence from their own box under the guess.
    let seq = u64::from_str_radix(&id[id.len() - 8..], 16).expect("hex");
    let guess = format!("{}{:08x}", &id[..id.len() - 8], seq.wrapping_add(1));
    score(
        &e,
        &request(
            "rui",
            &guess,
            T0 + 1_000,
            PARIS_IP,
            device("attacker-box", "Europe/Paris", "fr-FR"),
            None,
        ),
    );
    // Rui's next request gets an id nobody could have guessed: 128 random bits.
    let mut genuine = request(
        "rui",
        "unused",
        T0 + 2_000,
        PARIS_IP,
        device("rui-tablet", "Europe/Paris", "fr-FR"),
        None,
    );
    genuine.request_id = None;
    let next = score(&e, &genuine).request_id;
    assert_ne!(next, guess);
    assert_eq!(next.len(), 4 + 32, "{next}");
    assert!(next.starts_with("req-") && next[4..].bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(
        &next[..20],
        &id[..20],
        "no shared prefix to learn from: {id} {next}"
    );
    e.record_outcome(&OutcomeRecord::new(
        &next,
        "rui",
        &ts(T0 + 120_000),
        OutcomeKind::OtpPassed,
    ))
    .expect("learned");
    let later = |dev: &str, id: &str| {
        codes(&score(
            &e,
            &request(
                "rui",
                id,
                T0 + HOUR,
                PARIS_IP,
                device(dev, "Europe/Paris", "fr-FR"),
                None,
            ),
        ))
    };
    assert!(!later("rui-tablet", "r1").contains(&"new_device"));
    assert!(later("attacker-box", "r2").contains(&"new_device"));
}

#[test]
fn rescoring_a_request_id_cannot_swap_the_evidence_an_outcome_teaches() {
    let e = engine(&memory_config());
    enroll_in_paris(&e, "pia", 4);
    // The genuine request, then an attacker's request reusing its id with another device:
    // refused as a conflict naming the id, and nothing of it is kept.
    score(
        &e,
        &request(
            "pia",
            "p1",
            T0,
            PARIS_IP,
            device("pia-tablet", "Europe/Paris", "fr-FR"),
            None,
        ),
    );
    let reuse = request(
        "pia",
        "p1",
        T0 + 1_000,
        PARIS_IP,
        device("attacker-box", "Europe/Paris", "fr-FR"),
        None,
    );
    match e.score_at(&reuse, T0 + 60_000) {
        Err(tessera::Error::Conflict(err)) => assert_eq!(err.field(), "request_id"),
        other => panic!("a reused id must be a conflict: {other:?}"),
    }
    e.record_outcome(&OutcomeRecord::new(
        "p1",
        "pia",
        &ts(T0 + 60_000),
        OutcomeKind::OtpPassed,
    ))
    .expect("learned");
    let attacker = score(
        &e,
        &request(
            "pia",
            "p2",
            T0 + HOUR,
            PARIS_IP,
            device("attacker-box", "Europe/Paris", "fr-FR"),
            None,
        ),
    );
    assert!(
        codes(&attacker).contains(&"new_device"),
        "{:?}",
        codes(&attacker)
    );
    let tablet = score(
        &e,
        &request(
            "pia",
            "p3",
            T0 + HOUR,
            PARIS_IP,
            device("pia-tablet", "Europe/Paris", "fr-FR"),
            None,
        ),
    );
    assert!(
        !codes(&tablet).contains(&"new_device"),
        "{:?}",
        codes(&tablet)
    );
    // Outcomes from the future or before their request are refused, naming the field.
    let err = e
        .record_outcome(&OutcomeRecord::new(
            "p3",
            "pia",
            "2999-01-01T00:00:00Z",
            OutcomeKind::OtpFailed,
        ))
        .expect_err("future");
    assert_eq!(
        err.to_string(),
        "invalid input: timestamp: is in the future"
    );
    let err = e
        .record_outcome(&OutcomeRecord::new(
            "p3",
            "pia",
            &ts(T0),
            OutcomeKind::OtpPassed,
        ))
        .expect_err("before");
    assert_eq!(
        err.to_string(),
        "invalid input: timestamp: before the scored request it verifies"
    );
}

#[test]
fn network_reasons_carry_the_autonomous_system() {
    let e = engine(&memory_config());
    let r = score(
        &e,
        &request(
            "quinn",
            "q1",
            T0,
            TOR_IP_DEMO,
            device("q", "UTC", "en-US"),
            None,
        ),
    );
    let tor = r
        .reasons
        .iter()
        .find(|x| x.code.as_str() == "tor_exit")
        .expect("tor_exit");
    assert_eq!(tor.detail["asn"], 64980);
    assert_eq!(tor.detail["organization"], "Demo Relay Host 0");
}

#[test]
fn concurrent_requests_from_one_ip_each_see_the_others() {
    // Eight threads score 25 requests each, for 200 distinct users on one IP, within a minute.
    // Counting and reading happen in one transaction, so every request sees a distinct
    // attempt count: together they are exactly 1..=200, whatever the interleaving.
    use tessera::features::F;
    let e = engine(&memory_config());
    let mut counts: Vec<u32> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let e = &e;
                s.spawn(move || {
                    (0..25)
                        .map(|i| {
                            let user = format!("u{t}-{i}");
                            let dev = device(&format!("{user}-phone"), "Europe/Paris", "fr-FR");
                            let r = request(&user, &format!("c-{user}"), T0, PARIS_IP, dev, None);
                            let a = e.assess(&r, T0).expect("assess");
                            // Stored as ln(1 + attempts), capped at 4.9 (attempts ≤ 133).
                            let v = a.row[F::NetworkIpAttempts1hLog as usize];
                            (f64::from(v).exp_m1().round()) as u32
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    counts.sort_unstable();
    // Counts above the feature cap (e^4.9 − 1 ≈ 133) all read as the cap.
    let expected: Vec<u32> = (1..=200).map(|n: u32| n.min(133)).collect();
    assert_eq!(counts, expected);
}

#[test]
fn typing_is_verified_on_shared_key_timings_per_form_factor() {
    use tessera::domain::TypingInfo;
    use tessera::gen_data::typing::Rhythm;
    let e = engine(&memory_config());
    // Twelve verified logins typed on carol's phone build her mobile typing profile.
    enroll_in_paris(&e, "carol", 12);
    let phone = || device("carol-phone", "Europe/Paris", "fr-FR");
    let at = T0 + HOUR;
    let typing_detail = |resp: &tessera::ScoreResponse, code: &str| {
        resp.reasons
            .iter()
            .find(|r| r.code.as_str() == code)
            .map(|r| r.detail["distance"].as_f64().expect("distance"))
    };
    // Carol again: her own rhythm is not a mismatch.
    let same = request(
        "carol",
        "t-same",
        at,
        PARIS_IP,
        phone(),
        Some(typing(105.0, 190.0, 777)),
    );
    let r = score(&e, &same);
    assert!(!codes(&r).contains(&"typing_mismatch"), "{:?}", codes(&r));
    assert!(
        !codes(&r).contains(&"typing_insufficient"),
        "{:?}",
        codes(&r)
    );
    // Someone else on her phone: slower, with their own per-key habits.
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(5);
    let mallory = Rhythm {
        style: 0xBAD,
        ..Rhythm::steady(160.0, 330.0)
    };
    let other = TypingInfo {
        events: mallory.type_message(&mut rng),
    };
    let r = score(
        &e,
        &request("carol", "t-other", at, PARIS_IP, phone(), Some(other)),
    );
    let d = typing_detail(&r, "typing_mismatch").expect("typing_mismatch");
    let mismatch = r
        .reasons
        .iter()
        .find(|r| r.code.as_str() == "typing_mismatch")
        .expect("reason");
    // Twelve messages of 10-60 keys: the threshold 0.4 + 90/K is well under 1.
    let threshold = mismatch.detail["threshold"].as_f64().expect("threshold");
    assert!(threshold > 0.4 && threshold < 1.0, "{threshold}");
    assert!(d > threshold + 1.0, "{d}");
    // Keys that share nothing with her profile: no judgement, and it says so.
    let odd = TypingInfo {
        events: (0..20)
            .map(|i| tessera::domain::KeyEvent {
                key: Some(format!("F{}", 13 + i % 12)),
                down_ms: 200.0 * f64::from(i) + f64::from(i % 3) * 17.0,
                up_ms: 200.0 * f64::from(i) + 95.0 + f64::from(i % 4) * 9.0,
            })
            .collect(),
    };
    let r = score(
        &e,
        &request("carol", "t-odd", at, PARIS_IP, phone(), Some(odd)),
    );
    assert!(
        codes(&r).contains(&"typing_insufficient"),
        "{:?}",
        codes(&r)
    );
    // Her rhythm on a desktop browser is not compared with her phone profile.
    let mut desk = phone();
    desk.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".into());
    desk.platform = Some("Linux x86_64".into());
    let r = score(
        &e,
        &request(
            "carol",
            "t-desk",
            at,
            PARIS_IP,
            desk,
            Some(typing(105.0, 190.0, 778)),
        ),
    );
    let c = codes(&r);
    assert!(
        !c.contains(&"typing_mismatch")
            && !c.contains(&"typing_match")
            && !c.contains(&"typing_insufficient"),
        "{c:?}"
    );
}

#[test]
fn without_the_consent_a_tenant_requires_typing_is_neither_compared_nor_kept() {
    use tessera::domain::{Clock, ConsentInfo, Tenant};
    let mut cfg = memory_config();
    cfg.typing.require_consent = true;
    // One tenant that does not require it.
    cfg.tenants.insert(
        "acme".into(),
        tessera::config::TenantConfig {
            typing_require_consent: Some(false),
            ..Default::default()
        },
    );
    let e = engine(&cfg);
    assert!(e.typing_consent_required(&Tenant::default()));
    let acme = Tenant::parse("tenant", "acme").expect("tenant");
    assert!(!e.typing_consent_required(&acme));
    let phone = || device("dora-phone", "Europe/Paris", "fr-FR");
    let consent = |given: Option<bool>| {
        Some(ConsentInfo {
            behavioral_biometrics: given,
        })
    };
    // Verified logins whose typing came without consent (unstated, then refused): the rest
    // of the profile learns, typing does not, and each says why typing was not used.
    for (i, given) in [None, Some(false), None].into_iter().enumerate() {
        let at = T0 - (3 - i as i64) * 2 * DAY;
        let id = format!("dora-{i}");
        let mut req = request(
            "dora",
            &id,
            at,
            PARIS_IP,
            phone(),
            Some(typing(105.0, 190.0, i as u64)),
        );
        req.consent = consent(given);
        let r = score(&e, &req);
        let c = codes(&r);
        assert!(c.contains(&"typing_consent_missing"), "{c:?}");
        assert!(
            !c.contains(&"typing_absent") && !c.contains(&"typing_style"),
            "{c:?}"
        );
        let reason = r
            .reasons
            .iter()
            .find(|x| x.code == ReasonCode::TypingConsentMissing)
            .expect("reason");
        assert_eq!(reason.detail["treated_as"], "typing_absent");
        e.record_outcome(&OutcomeRecord::new(
            &id,
            "dora",
            &ts(at + 90_000),
            OutcomeKind::OtpPassed,
        ))
        .expect("outcome");
    }
    let p = e.export_profile("dora").expect("export").expect("profile");
    assert_eq!(p.verified_count, 3);
    assert_eq!(
        (
            p.typing_desktop_samples,
            p.typing_mobile_samples,
            p.typing_entries
        ),
        (None, None, 0)
    );
    // With consent, typing is compared (no profile yet) and learned once verified.
    let mut req = request(
        "dora",
        "dora-yes",
        T0,
        PARIS_IP,
        phone(),
        Some(typing(105.0, 190.0, 7)),
    );
    req.consent = consent(Some(true));
    let c = codes(&score(&e, &req)).join(",");
    assert!(
        !c.contains("typing_consent_missing") && !c.contains("typing_absent"),
        "{c}"
    );
    e.record_outcome(&OutcomeRecord::new(
        "dora-yes",
        "dora",
        &ts(T0 + 90_000),
        OutcomeKind::OtpPassed,
    ))
    .expect("outcome");
    let p = e.export_profile("dora").expect("export").expect("profile");
    assert_eq!(p.typing_mobile_samples, Some(1));
    // The tenant that does not require consent uses typing without it.
    let req = request(
        "erin",
        "erin-1",
        T0,
        PARIS_IP,
        phone(),
        Some(typing(105.0, 190.0, 8)),
    );
    let scored = e
        .score_request(&acme, "", &req, Clock::Replay(T0 + 60_000))
        .expect("score");
    let c: Vec<&str> = scored
        .response
        .reasons
        .iter()
        .map(|r| r.code.as_str())
        .collect();
    assert!(!c.contains(&"typing_consent_missing"), "{c:?}");
    assert_eq!(
        scored.typing_consent,
        (tessera::domain::BiometricConsent::Unstated, false)
    );
}
