//! Every model family serves through the same engine path: a tree ensemble and the anomaly
//! mixture load from artifacts, score, and explain (the reason contributions add up to
//! `100 − trust`); artifacts that would let a signal move risk the wrong way, or carry a
//! decreasing calibration, are refused at load with the field named.

mod common;

use common::*;
use tessera::features::{F, FeatureSchema, N_FEATURES};
use tessera::model::anomaly::{Anomaly, Component};
use tessera::model::calibration::Calibration;
use tessera::model::trees::{Combine, Ensemble, FlatTree, LEAF};
use tessera::model::{Artifact, Model, ModelKind};

fn artifact(kind: ModelKind) -> Artifact {
    let mut a = tessera::model::rules::artifact();
    a.format_version = 2;
    a.kind = kind;
    a.model_version = format!("test-{}", kind.name());
    a.weights = Vec::new();
    a.intercept = 0.0;
    a.schema = FeatureSchema::current();
    a
}

/// A forest of two trees: Tor raises the attack probability, a trusted device lowers it.
fn forest() -> Artifact {
    let tor = FlatTree {
        feature: vec![F::NetworkTor as u16, LEAF, LEAF],
        threshold: vec![0.5, 0.0, 0.0],
        left: vec![1, 0, 0],
        right: vec![2, 0, 0],
        value: vec![0.1, 0.05, 0.9],
    };
    let trusted = FlatTree {
        feature: vec![F::DeviceTrusted as u16, LEAF, LEAF],
        threshold: vec![0.5, 0.0, 0.0],
        left: vec![1, 0, 0],
        right: vec![2, 0, 0],
        value: vec![0.1, 0.2, 0.01],
    };
    let mut a = artifact(ModelKind::Forest);
    a.trees = Some(Ensemble {
        combine: Combine::Mean,
        base: 0.0,
        trees: vec![tor, trusted],
    });
    a.calibration = Calibration::Platt { a: 8.0, b: -3.0 };
    a
}

fn round_trip(a: &Artifact) -> Result<Artifact, tessera::model::ArtifactError> {
    Artifact::from_json(&serde_json::to_string(a).expect("json"), "t.json")
}

#[test]
fn a_forest_scores_and_explains_through_the_engine() {
    let art = round_trip(&forest()).expect("valid forest");
    let engine = engine(&memory_config());
    engine.set_model(Model::from_artifact(&art));
    enroll_in_paris(&engine, "alice", 6);
    let dev = device("alice-phone", "Europe/Paris", "fr-FR");
    let home = request("alice", "home-1", T0, PARIS_IP, dev.clone(), None);
    let r = score(&engine, &home);
    assert_eq!(r.model_version, "test-forest");
    let sum: f64 = r.reasons.iter().map(|x| x.contribution).sum();
    assert!(
        (sum - f64::from(100 - r.trust_score.value())).abs() < 1e-9,
        "contributions {sum} vs trust {}",
        r.trust_score.value()
    );
    // The same request from a Tor exit (the demo database's 47.0.0.0/24) scores lower, and the
    // Tor reason carries points.
    let tor = request("alice", "tor-1", T0 + 60_000, TOR_IP_DEMO, dev, None);
    let t = score(&engine, &tor);
    assert!(
        t.trust_score.value() < r.trust_score.value(),
        "{} vs {}",
        t.trust_score.value(),
        r.trust_score.value()
    );
    let tor_reason = t
        .reasons
        .iter()
        .find(|x| x.code.as_str() == "tor_exit")
        .expect("tor_exit listed");
    assert!(
        tor_reason.contribution > 10.0,
        "{}",
        tor_reason.contribution
    );
    let sum: f64 = t.reasons.iter().map(|x| x.contribution).sum();
    assert!((sum - f64::from(100 - t.trust_score.value())).abs() < 1e-9);
}

#[test]
fn a_tree_that_lets_tor_lower_risk_is_refused_at_load() {
    let mut a = forest();
    if let Some(e) = a.trees.as_mut() {
        e.trees[0].value[2] = 0.01; // Tor side below the non-Tor side
    }
    let err = round_trip(&a).expect_err("direction broken");
    let msg = err.to_string();
    assert!(
        msg.contains("network.tor") && msg.contains("trees[0]"),
        "{msg}"
    );
    let mut a = forest();
    a.calibration = Calibration::Isotonic {
        x: vec![0.0, 1.0],
        y: vec![0.9, 0.1],
    };
    let err = round_trip(&a).expect_err("decreasing calibration");
    assert!(err.to_string().contains("calibration.y"), "{err}");
    let mut a = forest();
    a.weights = vec![0.0; N_FEATURES];
    let err = round_trip(&a).expect_err("trees and weights");
    assert!(err.to_string().contains("kind"), "{err}");
    let mut a = artifact(ModelKind::Boosting);
    a.trees = None;
    let err = round_trip(&a).expect_err("no trees");
    assert!(err.to_string().contains("trees: required"), "{err}");
}

#[test]
fn the_anomaly_mixture_serves_and_keeps_directions() {
    let c = Component {
        weight: 1.0,
        mean: vec![0.0; N_FEATURES],
        sd: vec![0.2; N_FEATURES],
    };
    let mut a = artifact(ModelKind::Anomaly);
    a.anomaly = Some(Anomaly {
        components: vec![c],
    });
    a.calibration = Calibration::Platt { a: 0.05, b: -6.0 };
    let art = round_trip(&a).expect("valid mixture");
    let m = Model::from_artifact(&art);
    let quiet = [0f32; N_FEATURES];
    let mut tor = quiet;
    tor[F::NetworkTor as usize] = 1.0;
    let mut trusted = quiet;
    trusted[F::DeviceTrusted as usize] = 1.0;
    assert!(m.logit(&tor) > m.logit(&quiet));
    assert!(
        m.logit(&trusted) <= m.logit(&quiet),
        "trust never raises risk"
    );
    // Terms add up to the log-odds.
    let t = m.terms(&tor);
    assert!((t.logit() - m.logit(&tor)).abs() < 1e-4);
    // A client that hides its IP is scored at the worst case of every risk feature it needs.
    let engine = engine(&memory_config());
    engine.set_model(m);
    let mut req = request(
        "bob",
        "no-ip",
        T0,
        PARIS_IP,
        device("bob-phone", "Europe/Paris", "fr-FR"),
        None,
    );
    let with_ip = score(&engine, &req).trust_score.value();
    req.request_id = Some("no-ip-2".into());
    req.network = None;
    let without = score(&engine, &req).trust_score.value();
    assert!(without <= with_ip, "{without} vs {with_ip}");
}
