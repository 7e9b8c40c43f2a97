//! Pages in a real browser (headless Chromium, `common::browser`): the helper itself catches
//! console errors and blocked loads, and the model card (`card.html`) opens with no console
//! message and every plot laid out with visible lines. Fails when Chromium is missing.

mod common;

use std::collections::BTreeMap;

use common::browser;
use tessera::train::metrics::evaluate_full;
use tessera::train::output::{
    CalibrationInfo, ChosenThreshold, Importance, MetricsFile, SplitInfo, Splits, curves,
};

#[test]
fn the_helper_reports_console_errors_and_blocked_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.html");
    std::fs::write(
        &bad,
        "<!doctype html><html><head><meta charset=\"utf-8\"></head><body>\
         <script>console.error('broken plot')</script></body></html>",
    )
    .expect("write");
    let l = browser::load(&bad);
    assert_eq!(l.console.len(), 1, "{:?}", l.console);
    assert!(l.console[0].contains("broken plot"), "{:?}", l.console);
    let blocked = dir.path().join("blocked.html");
    std::fs::write(
        &blocked,
        "<!doctype html><html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\"></head>\
         <body><img src=\"http://127.0.0.1:9/x.png\"></body></html>",
    )
    .expect("write");
    let l = browser::load(&blocked);
    assert!(
        l.console
            .iter()
            .any(|c| c.contains("Content Security Policy")),
        "{:?}",
        l.console
    );
    // A probe reads the laid-out page.
    let v = browser::probe(
        "<!doctype html><html><body><div style=\"width:123px;height:7px\"></div></body></html>",
        "document.querySelector('div').getBoundingClientRect().width",
    );
    assert_eq!(v, serde_json::json!(123));
}

/// A hand-built `metrics.json` of a seeded synthetic test split (1,000 events, one in five an
/// attack of three tactics).
fn metrics() -> (MetricsFile, tessera::model::Artifact) {
    let (mut scores, mut labels, mut scenarios) = (Vec::new(), Vec::new(), Vec::new());
    // A fixed linear-congruential sequence: seeded, no extra dependency.
    let mut x: u64 = 7;
    for i in 0..1000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = (x >> 11) as f64 / (1u64 << 53) as f64;
        let attack = i % 5 == 0;
        scores.push((u * 0.7 + if attack { 0.35 } else { 0.0 }).min(1.0));
        labels.push(attack);
        scenarios.push(if attack {
            ["tor_bot", "sim_swap", "credential_stuffing"][i % 3]
        } else {
            "genuine"
        });
    }
    let test = evaluate_full(&scores, &scores, &labels, &scenarios);
    let rules_scores: Vec<f64> = scores.iter().map(|s| (s * 0.8 + 0.1).min(1.0)).collect();
    let rules = evaluate_full(&rules_scores, &rules_scores, &labels, &scenarios);
    let art = tessera::engine::load_artifact("rules").expect("rules");
    let split = |rows, attacks| SplitInfo {
        rows,
        attacks,
        from: "2026-01-01T00:00:00Z".into(),
        to: "2026-01-31T00:00:00Z".into(),
    };
    let m = MetricsFile {
        model_version: "tessera-lr-browser-test".into(),
        family: "logistic".into(),
        seed: 7,
        command: "tessera train --data data.parquet --out models/lr".into(),
        data: serde_json::json!({"path": "data.parquet", "rows": 5000, "fingerprint": "00ff"}),
        labels: serde_json::json!({"source": "is_attack column of the event log"}),
        splits: Splits {
            train: split(3000, 600),
            validation: split(1000, 200),
            test: split(1000, 200),
        },
        calibration: CalibrationInfo {
            chosen: "platt".into(),
            log_loss: vec![("platt".into(), 0.3), ("isotonic".into(), 0.31)],
        },
        test,
        baselines: BTreeMap::from([("rules".to_string(), rules)]),
        thresholds: vec![ChosenThreshold {
            target_genuine_challenge_rate: 0.05,
            allow_trust: 70,
            validation_genuine_challenged: 0.05,
            test_genuine_challenged: 0.05,
            test_recall: 0.8,
        }],
        curves: BTreeMap::from([
            ("logistic".to_string(), curves(&scores, &labels, 200)),
            ("rules".to_string(), curves(&rules_scores, &labels, 200)),
        ]),
        importance: art
            .schema
            .names
            .iter()
            .take(25)
            .enumerate()
            .map(|(i, f)| Importance {
                feature: f.clone(),
                mean_abs_term: 1.0 / (1.0 + i as f64),
            })
            .collect(),
        seconds: BTreeMap::new(),
    };
    (m, art)
}

/// Opens `page` (whose text is `html`) and checks it: no console message, five inline plots,
/// each laid out at a visible size with lines of positive length, and the importance bars.
fn assert_card_renders(page: &std::path::Path, html: &str) {
    let loaded = browser::load(page);
    assert_eq!(loaded.console, Vec::<String>::new(), "console messages");
    assert_eq!(loaded.dom.matches("<svg").count(), 5, "five inline plots");
    let plots = browser::probe(
        html,
        "Array.from(document.querySelectorAll('svg')).map(s => { const r = s.getBoundingClientRect(); \
         return {w: r.width, h: r.height, \
                 line: Array.from(s.querySelectorAll('polyline, line')).reduce((a, p) => a + p.getTotalLength(), 0), \
                 bars: s.querySelectorAll('rect').length}; })",
    );
    let plots = plots.as_array().expect("array");
    assert_eq!(plots.len(), 5);
    for (i, p) in plots.iter().enumerate() {
        let f = |k: &str| p[k].as_f64().unwrap_or(0.0);
        assert!(f("w") > 200.0 && f("h") > 200.0, "plot {i} laid out: {p}");
        assert!(f("line") > 100.0, "plot {i} draws lines: {p}");
    }
    // The importance plot: a bar per feature shown (up to 20), plus background and frame.
    assert!(plots[4]["bars"].as_u64().unwrap_or(0) >= 12, "{}", plots[4]);
}

#[test]
fn a_hand_built_card_opens_without_console_messages_and_draws_every_plot() {
    let (m, art) = metrics();
    let html = tessera::train::card::card_html(&m, &art);
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("card.html");
    std::fs::write(&page, &html).expect("write");
    assert_card_renders(&page, &html);
}

#[test]
fn a_trained_models_card_opens_without_console_messages_and_draws_every_plot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .current_dir(dir.path())
            .args(args)
            .output()
            .expect("tessera runs");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "gen-data",
        "--users",
        "120",
        "--days",
        "20",
        "--seed",
        "5",
        "--out",
        "d.parquet",
    ]);
    run(&["train", "--data", "d.parquet", "--out", "models/lr"]);
    let page = dir.path().join("models/lr/card.html");
    let html = std::fs::read_to_string(&page).expect("card.html written");
    assert!(
        html.contains("tessera train --data d.parquet"),
        "the reproducing command"
    );
    assert_card_renders(&page, &html);
}
