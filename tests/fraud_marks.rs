//! Confirmed fraud and its victims (issue 10): a fraud confirmed on a request from the victim's
//! own verified device (a remote-access trojan, a SIM swap) marks that device for the victim only
//! — never their address or their family's accounts — and a later verified outcome from it clears
//! the mark; a fraud from the attacker's own device marks device and address for the tenant, and
//! those marks decay.

mod common;

use common::*;
use tessera::Engine;
use tessera::domain::{Decision, OutcomeKind, OutcomeRecord, ScoreRequest, ScoreResponse};

fn outcome(e: &Engine, req: &ScoreRequest, kind: OutcomeKind, at: i64) {
    e.record_outcome(&OutcomeRecord::new(
        req.request_id.as_deref().expect("id"),
        &req.user_id,
        &ts(at),
        kind,
    ))
    .expect("outcome");
}

fn at_home(user: &str, id: &str, at: i64, dev: &str) -> ScoreRequest {
    request(
        user,
        id,
        at,
        PARIS_IP,
        device(dev, "Europe/Paris", "fr-FR"),
        None,
    )
}

fn has(r: &ScoreResponse, code: &str) -> bool {
    codes(r).contains(&code)
}

#[test]
fn fraud_from_the_victims_own_phone_marks_it_for_her_only_until_she_verifies_again() {
    let e = engine(&memory_config());
    enroll_in_paris(&e, "olga", 6);
    enroll_in_paris(&e, "pavel", 6); // her partner, same home address
    // A remote-access trojan drives Olga's own phone from home; the bank confirms the fraud.
    // The trojan also left a request scored before the fraud was confirmed, to clear the mark
    // with later.
    let early = at_home("olga", "o-early", T0 + HOUR / 2, "olga-phone");
    score(&e, &early);
    let fraud = at_home("olga", "o-rat", T0 + HOUR, "olga-phone");
    score(&e, &fraud);
    outcome(&e, &fraud, OutcomeKind::ConfirmedFraud, T0 + 2 * HOUR);
    // A verified outcome for that earlier request does not clear a mark set after it.
    outcome(&e, &early, OutcomeKind::OtpPassed, T0 + 2 * HOUR + 60_000);

    // Her partner at the same address is not touched.
    let partner = score(&e, &at_home("pavel", "p-1", T0 + 3 * HOUR, "pavel-phone"));
    assert!(!has(&partner, "fraud_linked"), "{:?}", codes(&partner));
    assert_eq!(partner.decision, Decision::Allow, "{:?}", codes(&partner));

    // Olga on her phone: fraud-linked for her, no device trust, OTP + KBA at least.
    let next = at_home("olga", "o-next", T0 + 4 * HOUR, "olga-phone");
    let r = score(&e, &next);
    assert!(has(&r, "fraud_linked"), "{:?}", codes(&r));
    assert!(!has(&r, "trusted_device"), "{:?}", codes(&r));
    assert!(r.decision >= Decision::StepUpOtpKba, "{:?}", r.decision);
    // She passes the challenge on it: the mark is cleared.
    outcome(&e, &next, OutcomeKind::KbaPassed, T0 + 4 * HOUR + 60_000);
    let r = score(&e, &at_home("olga", "o-after", T0 + 5 * HOUR, "olga-phone"));
    assert!(!has(&r, "fraud_linked"), "{:?}", codes(&r));
}

#[test]
fn fraud_from_the_attackers_device_marks_it_for_everyone_and_the_marks_decay() {
    let e = engine(&memory_config());
    enroll_in_paris(&e, "quinn", 6);
    enroll_in_paris(&e, "rosa", 6);
    let fraud = request(
        "quinn",
        "q-ato",
        T0 + HOUR,
        NEW_YORK_IP,
        device("burner", "America/New_York", "en-US"),
        None,
    );
    score(&e, &fraud);
    outcome(&e, &fraud, OutcomeKind::ConfirmedFraud, T0 + 2 * HOUR);
    // The burner against another account a day later: fraud-linked.
    let again = |id: &str, at: i64| {
        request(
            "rosa",
            id,
            at,
            NEW_YORK_IP,
            device("burner", "America/New_York", "en-US"),
            None,
        )
    };
    let r = score(&e, &again("r-1", T0 + DAY));
    assert!(has(&r, "fraud_linked"), "{:?}", codes(&r));
    let linked = r.reasons.iter().find(|x| x.code.as_str() == "fraud_linked");
    assert_eq!(
        linked.expect("reason").detail,
        serde_json::json!({"device": true, "ip": true})
    );
    // Forty days on, the address mark (30 days) has decayed; the device's (90 days) has not.
    let r = score(&e, &again("r-2", T0 + 40 * DAY));
    let d = &r
        .reasons
        .iter()
        .find(|x| x.code.as_str() == "fraud_linked")
        .expect("device still linked")
        .detail;
    assert_eq!(*d, serde_json::json!({"device": true, "ip": false}));
    // A hundred days on, neither counts.
    let r = score(&e, &again("r-3", T0 + 100 * DAY));
    assert!(!has(&r, "fraud_linked"), "{:?}", codes(&r));
}
