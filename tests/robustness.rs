//! Bad input never panics: thousands of seeded mutations of a valid request go through parsing
//! and scoring, and every refusal names a field.

mod common;

use common::*;
use rand::{Rng, SeedableRng};
use tessera::ScoreRequest;

const BASE: &str = r#"{"schema":1,"request_id":"r","user_id":"u1","session_id":"s","timestamp":"2026-01-10T09:00:00Z","channel":"web_widget","action":"payment","network":{"ip":"31.0.1.2"},"device":{"id":"d","user_agent":"Mozilla/5.0","platform":"iOS","timezone":"Europe/Paris","languages":["fr-FR"],"screen":"390x844","webdriver":false},"typing":{"events":[{"key":"letter","down_ms":0,"up_ms":90},{"key":"digit","down_ms":150,"up_ms":240},{"key":"Backspace","down_ms":300,"up_ms":380},{"key":"space","down_ms":420,"up_ms":500},{"key":"letter","down_ms":600,"up_ms":700}]},"auth":{"failed_attempts":1,"passed_methods":["password"]}}"#;

const REPLACEMENTS: &[&str] = &[
    "-1",
    "1e308",
    "-1e308",
    "NaN",
    "null",
    "true",
    "\"\"",
    "\"x\"",
    "[]",
    "{}",
    "99999999999999999999",
    "\"9999-12-31T23:59:59Z\"",
    "\"1969-01-01T00:00:00Z\"",
    "\"::1\"",
    "\"300.1.1.1\"",
    "\"\\u0000\"",
    "\"Mars/Olympus\"",
    "0",
    "4294967296",
    "\"fax\"",
    "\"\\ud83d\\ude00\"",
    "1.5",
];

#[test]
fn seeded_mutations_never_panic_and_errors_name_a_field() {
    let e = engine(&memory_config());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let base: serde_json::Value = serde_json::from_str(BASE).expect("valid base");
    assert!(
        e.score_at(&ScoreRequest::from_json(BASE).expect("parse"), T0)
            .is_ok()
    );
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..3_000 {
        let mut v = base.clone();
        for _ in 0..rng.gen_range(1..4) {
            mutate(&mut v, &mut rng);
        }
        // A request id is bound to its first request: a mutation that kept the base's id gets
        // an id of its own (one that touched the id is kept as mutated).
        if v.is_object() && v.get("request_id") == base.get("request_id") {
            v["request_id"] = serde_json::json!(format!("mutant-{i}"));
        }
        let text = v.to_string();
        match ScoreRequest::from_json(&text)
            .map_err(tessera::Error::from)
            .and_then(|r| e.score_at(&r, T0))
        {
            Ok(resp) => {
                accepted += 1;
                assert!(resp.trust_score.value() <= 100);
                assert!((0.0..=1.0).contains(&resp.confidence));
            }
            // A mutated user, device or IP under the base's request id is a conflict.
            Err(tessera::Error::Input(err) | tessera::Error::Conflict(err)) => {
                refused += 1;
                assert!(!err.field().is_empty(), "{err}");
            }
            Err(other) => panic!("not an input error: {other}"),
        }
    }
    assert!(
        accepted > 100 && refused > 100,
        "accepted {accepted}, refused {refused}"
    );
}

fn mutate(node: &mut serde_json::Value, rng: &mut impl Rng) {
    // Descend to a random node, then replace, delete or grow it.
    match node {
        serde_json::Value::Object(m) if !m.is_empty() && rng.gen_bool(0.6) => {
            let k = m
                .keys()
                .nth(rng.gen_range(0..m.len()))
                .cloned()
                .unwrap_or_default();
            if rng.gen_bool(0.15) {
                m.remove(&k);
            } else if let Some(child) = m.get_mut(&k) {
                mutate(child, rng);
            }
            return;
        }
        serde_json::Value::Array(a) if !a.is_empty() && rng.gen_bool(0.6) => {
            let i = rng.gen_range(0..a.len());
            if rng.gen_bool(0.1) {
                let dup = a[i].clone();
                for _ in 0..rng.gen_range(1..3_000) {
                    a.push(dup.clone());
                }
            } else {
                mutate(&mut a[i], rng);
            }
            return;
        }
        _ => {}
    }
    let r = REPLACEMENTS[rng.gen_range(0..REPLACEMENTS.len())];
    *node = serde_json::from_str(r).unwrap_or(serde_json::Value::Null);
    if rng.gen_bool(0.05) {
        *node = serde_json::Value::String("x".repeat(rng.gen_range(100..5_000)));
    }
}
