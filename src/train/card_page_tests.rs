//! Tests of `card.html`, and the hand-built [`example`] metrics other unit tests share.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::train::metrics::evaluate_full;
use crate::train::output::{
    CalibrationInfo, ChosenThreshold, Importance, SplitInfo, Splits, curves,
};

/// A seeded synthetic test split: `n` events, one in five an attack of tactic `a`, `b` or
/// `c`, scored by a model that separates them imperfectly; `shift` moves attack scores up.
pub(crate) fn evaluation(
    seed: u64,
    n: usize,
    shift: f64,
) -> (Evaluation, crate::train::output::Curves) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut scores, mut labels, mut scenarios) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let attack = i % 5 == 0;
        let tactic = ["a", "b", "c"][(i / 5) % 3];
        let s: f64 = rng.gen_range(0.0..1.0) * 0.7 + if attack { shift } else { 0.0 };
        scores.push(s.min(1.0));
        labels.push(attack);
        scenarios.push(if attack { tactic } else { "genuine" });
    }
    let e = evaluate_full(&scores, &scores, &labels, &scenarios);
    (e, curves(&scores, &labels, 200))
}

/// A complete `metrics.json` and its artifact (the rules weights under another version).
pub(crate) fn example(version: &str, fingerprint: &str, shift: f64) -> (MetricsFile, Artifact) {
    let (test, model_curves) = evaluation(7, 1000, shift);
    let (rules, rules_curves) = evaluation(8, 1000, 0.15);
    let split = |rows, attacks, from: &str, to: &str| SplitInfo {
        rows,
        attacks,
        from: from.into(),
        to: to.into(),
    };
    let mut art = crate::model::rules::artifact();
    art.model_version = version.into();
    art.card = serde_json::json!({
        "intended_use": "Risk of account takeover <for tests>",
        "limitations": ["trained on the synthetic generator's data"],
    });
    let importance = art
        .schema
        .names
        .iter()
        .enumerate()
        .map(|(i, f)| Importance {
            feature: f.clone(),
            mean_abs_term: 1.0 / (i as f64 + 1.0),
        })
        .collect();
    let m = MetricsFile {
        model_version: version.into(),
        family: "logistic".into(),
        seed: 7,
        command: "tessera train --data data.parquet --out models/lr <&>".into(),
        data: serde_json::json!({"path": "data.parquet", "format": "events", "rows": 5000,
                                 "fingerprint_blake3": fingerprint, "scenarios": {"genuine": 4000, "a": 333}}),
        labels: serde_json::json!({"source": "is_attack column of the event log"}),
        splits: Splits {
            train: split(3000, 600, "2026-01-01T00:00:00Z", "2026-01-20T00:00:00Z"),
            validation: split(1000, 200, "2026-01-20T00:00:00Z", "2026-01-25T00:00:00Z"),
            test: split(1000, 200, "2026-01-25T00:00:00Z", "2026-01-31T00:00:00Z"),
        },
        calibration: CalibrationInfo {
            chosen: "isotonic".into(),
            log_loss: vec![("platt".into(), 0.31), ("isotonic".into(), 0.29)],
        },
        test,
        baselines: BTreeMap::from([("rules".to_string(), rules)]),
        thresholds: vec![ChosenThreshold {
            target_genuine_challenge_rate: 0.05,
            allow_trust: 72,
            validation_genuine_challenged: 0.049,
            test_genuine_challenged: 0.052,
            test_recall: 0.81,
        }],
        curves: BTreeMap::from([
            ("logistic".to_string(), model_curves),
            ("rules".to_string(), rules_curves),
        ]),
        importance,
        seconds: BTreeMap::from([("fit".to_string(), 1.25)]),
    };
    (m, art)
}

#[test]
fn the_card_is_one_self_contained_page_with_every_section() {
    let (m, art) = example("tessera-lr-v3-abc", "f00", 0.4);
    let page = render(&m, &art);
    assert!(page.starts_with("<!doctype html>"));
    assert!(page.ends_with("</html>\n"));
    for id in [
        "summary",
        "curves",
        "calibration",
        "importance",
        "tactics",
        "thresholds",
        "data",
        "limits",
        "reproduce",
    ] {
        assert!(page.contains(&format!("<section id=\"{id}\">")), "{id}");
    }
    // Five plots: ROC, low-FPR ROC, PR, reliability, importance.
    assert_eq!(page.matches("<svg ").count(), 5);
    // Nothing is loaded from anywhere: no script, no link, no src, no url().
    for banned in ["<script", "<link", " src=", "url(", "@import"] {
        assert!(!page.contains(banned), "{banned}");
    }
    assert!(page.contains("Content-Security-Policy"));
    // Text is escaped, wherever it came from.
    assert!(page.contains("models/lr &lt;&amp;&gt;"));
    assert!(page.contains("Risk of account takeover &lt;for tests&gt;"));
    assert!(!page.contains("<for tests>"));
    // The calibration choice, the threshold and a per-tactic row are shown.
    assert!(page.contains("<td>isotonic (kept)</td><td>0.2900</td>"));
    assert!(page.contains("<td>5.0 %</td><td>72</td><td>4.9 %</td><td>5.2 %</td><td>81.0 %</td>"));
    assert!(
        page.contains("<tr><td>a</td><td>67</td>"),
        "tactic a: 67 of 200 attacks"
    );
    // Wall-clock timings are not part of the card.
    assert!(!page.contains("1.25"));
}

#[test]
fn the_card_is_deterministic_and_changes_with_the_figures() {
    let (m, art) = example("v1", "f00", 0.4);
    assert_eq!(render(&m, &art), render(&m, &art));
    let (m2, _) = example("v1", "f00", 0.5);
    assert_ne!(render(&m, &art), render(&m2, &art));
}

#[test]
fn known_answers_of_the_summary() {
    // Recall 0.8 of 200 attacks: Wilson 95 % interval 0.7391–0.8496 (by hand: centre
    // (0.8 + z²/400) / (1 + z²/200) = 0.7943, half-width 0.0552).
    let (lo, hi) = wilson_95(0.8, 200).expect("interval");
    assert!(
        (lo - 0.7391).abs() < 5e-4 && (hi - 0.8496).abs() < 5e-4,
        "{lo} {hi}"
    );
    assert_eq!(wilson_95(0.5, 0), None);
    assert_eq!(
        esc("<a href=\"x\">'&'</a>"),
        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
    );
    assert_eq!(num(f64::NAN), "–");
    assert_eq!(pct(0.0525), "5.2 %");
}

#[test]
fn limits_name_thin_tactics_and_saturation() {
    let (mut m, art) = example("v1", "f00", 0.4);
    m.test.trust_99_attacks = 0.25;
    if let Some(t) = m.test.per_tactic.get_mut("b") {
        t.events = 12;
    }
    let l = known_limits(&m, &art);
    assert_eq!(l[0], "trained on the synthetic generator's data");
    assert!(l.iter().any(|x| x.contains("tactic(s) b:")), "{l:?}");
    assert!(
        l.iter().any(|x| x.starts_with("25.0 % of test attacks")),
        "{l:?}"
    );
}
