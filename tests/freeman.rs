//! The Freeman et al. (NDSS 2016) likelihood ratios end to end, on the demo geo database and
//! real stores: known answers for the smoothing, learning only from verified outcomes (once per
//! request, never from a scored request alone), tenants kept apart, and counts that survive a
//! restart of the embedded store.

mod common;

use common::*;
use tessera::domain::{Clock, OutcomeKind, OutcomeRecord, Tenant};
use tessera::features::{F, FeatureRow};
use tessera::{Engine, ScoreRequest};

/// Demo addresses: Paris broadband (AS 64600, FR), Berlin (AS 64601, DE), Tokyo (AS 64611, JP).
const FR_IP: &str = "31.0.12.34";
const DE_IP: &str = "31.3.0.9";
const JP_IP: &str = "31.19.0.5";

/// Every verified event of these tests happens at T (no decay between them).
const T: i64 = T0 - DAY;

fn login(user: &str, id: &str, ip: &str) -> ScoreRequest {
    request(
        user,
        id,
        T,
        ip,
        device("d-1", "Europe/Paris", "fr-FR"),
        None,
    )
}

/// Scores a login at T and verifies it. Request ids are unique per tenant, so `id` is made
/// the user's own (the same `id` for the same user is the same request).
fn verified(engine: &Engine, user: &str, id: &str, ip: &str) {
    let id = &format!("{user}/{id}");
    engine
        .score_at(&login(user, id, ip), T + HOUR)
        .expect("score");
    engine
        .record_outcome(&OutcomeRecord::new(
            id,
            user,
            &ts(T + 60_000),
            OutcomeKind::OtpPassed,
        ))
        .expect("outcome");
}

/// The features of a login of `user` from `ip` at T (recorded like any scored request).
fn row(engine: &Engine, user: &str, id: &str, ip: &str) -> FeatureRow {
    engine
        .assess(&login(user, id, ip), T + HOUR)
        .expect("assess")
        .row
}

fn f(row: &FeatureRow, f: F) -> f64 {
    f64::from(row[f as usize])
}

/// Alice: nine verified logins from Paris, one from Berlin. The tenant: 100 verified events,
/// 60 from France (51 others on AS 64600, each on its own /24), 30 from Germany, 10 from Japan.
fn world(engine: &Engine) {
    for i in 0..9 {
        verified(engine, "alice", &format!("a-fr-{i}"), FR_IP);
    }
    verified(engine, "alice", "a-de", DE_IP);
    for i in 0..51 {
        verified(
            engine,
            &format!("fr{i}"),
            "x",
            &format!("31.0.{}.1", 100 + i),
        );
    }
    for i in 0..29 {
        verified(engine, &format!("de{i}"), "x", DE_IP);
    }
    for i in 0..10 {
        verified(engine, &format!("jp{i}"), "x", JP_IP);
    }
}

#[test]
fn nine_logins_from_france_one_from_germany_give_the_documented_ratios() {
    let engine = engine(&memory_config());
    world(&engine);
    // Japan, never seen by Alice: the country ratio is (10 + 1)/1 = 11 whatever its population
    // share; AS and address are under a country she never used, so they charge nothing more.
    let jp = row(&engine, "alice", "q-jp", JP_IP);
    assert!(
        (f(&jp, F::FreemanCountryLlr) - 11f64.ln()).abs() < 1e-6,
        "{jp:?}"
    );
    assert_eq!(f(&jp, F::FreemanAsnLlr), 0.0);
    assert_eq!(f(&jp, F::FreemanIpLlr), 0.0);
    // Same device and user agent every time: familiar, so no surprise from them.
    assert_eq!(
        (f(&jp, F::FreemanBrowserLlr), f(&jp, F::FreemanOsLlr)),
        (0.0, 0.0)
    );
    assert!((f(&jp, F::FreemanRiskLog) - 11f64.ln()).abs() < 1e-6);
    assert_eq!(f(&jp, F::FreemanFamiliarLog), 0.0);
    // France from her usual address. With q = max(C_v, 1)/(C_parent + 1) and
    // p = (c_v + q)/(c_parent + 1):
    //   country FR | all:     q = 60/101,  p = (9 + q)/11 → ratio 660/969
    //   AS 64600 | FR:        q = 60/61,   p = (9 + q)/10 → ratio 600/609
    //   /24 31.0.12 | AS:     q = 9/61,    p = (9 + q)/10 → ratio 90/558
    //   31.0.12.34 | /24:     q = 9/10,    p = (9 + q)/10 → ratio 9/9.9
    let fr = row(&engine, "alice", "q-fr", FR_IP);
    let s =
        (660f64 / 969.0).ln() + (600f64 / 609.0).ln() + (90f64 / 558.0).ln() + (9f64 / 9.9).ln();
    assert!(
        (f(&fr, F::FreemanFamiliarLog) + s).abs() < 1e-5,
        "{} vs {}",
        f(&fr, F::FreemanFamiliarLog),
        -s
    );
    assert_eq!(f(&fr, F::FreemanRiskLog), 0.0);
    for feature in [F::FreemanCountryLlr, F::FreemanAsnLlr, F::FreemanIpLlr] {
        assert_eq!(f(&fr, feature), 0.0, "familiar: no surprise");
    }
    // Germany, seen once in ten (population 30 %): ratio 330/131 > 1 at the country; the AS
    // and address are the ones of her one German login.
    let de = row(&engine, "alice", "q-de", DE_IP);
    assert!((f(&de, F::FreemanCountryLlr) - (330f64 / 131.0).ln()).abs() < 1e-6);
}

#[test]
fn no_verified_history_is_the_population_and_earns_nothing() {
    let engine = engine(&memory_config());
    world(&engine);
    let r = row(&engine, "newcomer", "q-new", JP_IP);
    for feature in [
        F::FreemanIpLlr,
        F::FreemanAsnLlr,
        F::FreemanCountryLlr,
        F::FreemanBrowserLlr,
        F::FreemanOsLlr,
        F::FreemanRiskLog,
        F::FreemanFamiliarLog,
    ] {
        assert!(
            f(&r, feature).abs() < 1e-6,
            "{feature:?}: {}",
            f(&r, feature)
        );
    }
}

#[test]
fn only_verified_outcomes_teach_and_each_counts_once() {
    let engine = engine(&memory_config());
    world(&engine);
    let before = row(&engine, "alice", "q-1", JP_IP);
    // Twenty scored logins from Japan that nobody verified teach nothing.
    for i in 0..20 {
        engine
            .score_at(&login("alice", &format!("unverified-{i}"), JP_IP), T + HOUR)
            .expect("score");
    }
    let after = row(&engine, "alice", "q-2", JP_IP);
    assert_eq!(
        f(&after, F::FreemanCountryLlr),
        f(&before, F::FreemanCountryLlr)
    );
    // One verified login from Japan: 1 in 11 for Alice, 11 in 101 for the tenant, so
    // q = 11/102 and the ratio is q·12/(1 + q) = 132/113.
    verified(&engine, "alice", "jp-ok", JP_IP);
    let once = row(&engine, "alice", "q-3", JP_IP);
    assert!((f(&once, F::FreemanCountryLlr) - (132f64 / 113.0).ln()).abs() < 1e-6);
    // The same outcome again, and another verified kind for the same request: nothing moves.
    for kind in [OutcomeKind::OtpPassed, OutcomeKind::KbaPassed] {
        engine
            .record_outcome(&OutcomeRecord::new(
                "alice/jp-ok",
                "alice",
                &ts(T + 120_000),
                kind,
            ))
            .expect("outcome");
    }
    let again = row(&engine, "alice", "q-4", JP_IP);
    assert_eq!(
        again[F::FreemanCountryLlr as usize],
        once[F::FreemanCountryLlr as usize]
    );
    assert_eq!(
        again[F::FreemanRiskLog as usize],
        once[F::FreemanRiskLog as usize]
    );
    assert_eq!(
        again[F::FreemanFamiliarLog as usize],
        once[F::FreemanFamiliarLog as usize]
    );
    // Confirmed fraud on it takes it back: Japan is new again.
    engine
        .record_outcome(&OutcomeRecord::new(
            "alice/jp-ok",
            "alice",
            &ts(T + 180_000),
            OutcomeKind::ConfirmedFraud,
        ))
        .expect("fraud");
    let taken_back = row(&engine, "alice", "q-5", JP_IP);
    assert!(
        (f(&taken_back, F::FreemanCountryLlr) - 11f64.ln()).abs() < 1e-5,
        "{}",
        f(&taken_back, F::FreemanCountryLlr)
    );
}

#[test]
fn another_tenants_history_does_not_move_this_tenants_features() {
    let acme = Tenant::parse("tenant", "acme").expect("tenant");
    let quiet = engine(&memory_config());
    let busy = engine(&memory_config());
    for e in [&quiet, &busy] {
        for i in 0..5 {
            verified(e, "alice", &format!("a-{i}"), FR_IP);
        }
    }
    // Tenant acme (same user id, same addresses) verifies 40 logins from Japan on `busy` only.
    for i in 0..40 {
        let id = format!("acme-{i}");
        let req = login("alice", &id, JP_IP);
        busy.score_request(&acme, "", &req, Clock::Replay(T + HOUR))
            .expect("score");
        busy.apply_outcome(
            &acme,
            &OutcomeRecord::new(&id, "alice", &ts(T + 60_000), OutcomeKind::OtpPassed),
            Clock::Replay(T + HOUR),
        )
        .expect("outcome");
    }
    for ip in [FR_IP, JP_IP] {
        let a = row(&quiet, "alice", &format!("q-{ip}"), ip);
        let b = row(&busy, "alice", &format!("q-{ip}"), ip);
        for feature in [
            F::FreemanCountryLlr,
            F::FreemanRiskLog,
            F::FreemanFamiliarLog,
        ] {
            assert_eq!(
                a[feature as usize], b[feature as usize],
                "{feature:?} from {ip}"
            );
        }
    }
    // The control: the same logins in the default tenant do move them.
    for i in 0..40 {
        verified(&busy, &format!("jp{i}"), "x", JP_IP);
    }
    let a = row(&quiet, "alice", "q-c", FR_IP);
    let b = row(&busy, "alice", "q-c", FR_IP);
    assert_ne!(
        a[F::FreemanFamiliarLog as usize],
        b[F::FreemanFamiliarLog as usize]
    );
}

#[test]
fn the_embedded_store_keeps_the_counts_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = tessera::config::Config::default();
    cfg.store.path = dir.path().join("profiles.redb");
    cfg.privacy.key_file = dir.path().join("hash.key");
    let first = {
        let e = engine(&cfg);
        world(&e);
        row(&e, "alice", "q-before", JP_IP)
    };
    let e = engine(&cfg);
    let second = row(&e, "alice", "q-after", JP_IP);
    assert!((f(&second, F::FreemanCountryLlr) - 11f64.ln()).abs() < 1e-6);
    assert_eq!(
        first[F::FreemanRiskLog as usize],
        second[F::FreemanRiskLog as usize]
    );
    let fr = row(&e, "alice", "q-fr", FR_IP);
    assert!(
        f(&fr, F::FreemanFamiliarLog) > 2.0,
        "{}",
        f(&fr, F::FreemanFamiliarLog)
    );
}
