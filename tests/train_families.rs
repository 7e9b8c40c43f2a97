//! Every model family trains on the generator's data through the same pipeline, is calibrated
//! on the validation split, and writes its model directory; the artifact loads and keeps every
//! feature's direction; the same seed and data give byte-identical files.

use std::path::Path;

use tessera::config::Config;
use tessera::model::{Artifact, ModelKind};
use tessera::train::{Prepared, TrainOptions, prepare, train_prepared};

fn data(dir: &Path) -> Prepared {
    let cfg = tessera::gen_data::GenConfig {
        users: 400,
        days: 30,
        seed: 11,
        ..Default::default()
    };
    let rows = tessera::gen_data::generate(&cfg).expect("generate");
    let path = dir.join("d.parquet");
    tessera::gen_data::write_parquet(&rows, &path).expect("write");
    prepare(&path, &Default::default(), &Config::default()).expect("prepare")
}

fn train(p: &Prepared, kind: ModelKind, out: &Path) -> serde_json::Value {
    let opts = TrainOptions {
        family: kind,
        seed: 5,
        command: format!("test {}", kind.name()),
        ..Default::default()
    };
    let r = train_prepared(p, &opts, out).unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
    let art = Artifact::load(&out.join("model.json")).expect("artifact loads");
    assert_eq!(art.kind, kind);
    assert_eq!(art.model_version, r.model_version);
    assert!(
        art.model_version
            .starts_with(&format!("tessera-{}-", kind.name())),
        "{}",
        art.model_version
    );
    let card = std::fs::read_to_string(out.join("card.html")).expect("card");
    assert!(card.contains(&art.model_version));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).expect("metrics"))
            .expect("json");
    assert_eq!(m["family"], kind.name());
    assert!(
        ["none (sigmoid)", "platt", "isotonic"]
            .contains(&m["calibration"]["chosen"].as_str().unwrap_or("")),
        "{}",
        m["calibration"]
    );
    assert!(m["baselines"]["rules"]["roc_auc"].as_f64().is_some());
    assert_eq!(m["thresholds"].as_array().map(Vec::len), Some(2));
    m
}

#[test]
fn logistic_and_anomaly_train_calibrate_and_write_their_directories() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = data(dir.path());
    let lr = train(&p, ModelKind::LogisticRegression, &dir.path().join("lr"));
    let auc = lr["test"]["roc_auc"].as_f64().expect("auc");
    assert!(auc > 0.8, "logistic AUC {auc}");
    let an = train(&p, ModelKind::Anomaly, &dir.path().join("anomaly"));
    let auc = an["test"]["roc_auc"].as_f64().expect("auc");
    // Unsupervised: better than chance on attacks it never saw labelled.
    assert!(auc > 0.6, "anomaly AUC {auc}");
    // Same seed, same data: byte-identical model.
    train(&p, ModelKind::LogisticRegression, &dir.path().join("lr2"));
    let a = std::fs::read(dir.path().join("lr/model.json")).expect("a");
    let b = std::fs::read(dir.path().join("lr2/model.json")).expect("b");
    assert!(a == b, "model.json differs between identical runs");
}

#[test]
fn the_tree_families_train_calibrate_keep_directions_and_repeat_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = data(dir.path());
    for kind in [ModelKind::Forest, ModelKind::Boosting] {
        let out = dir.path().join(kind.name());
        let m = train(&p, kind, &out);
        let auc = m["test"]["roc_auc"].as_f64().expect("auc");
        assert!(auc > 0.8, "{} AUC {auc}", kind.name());
        // Loading (Artifact::load) re-checks every split against its feature's direction.
        let art = Artifact::load(&out.join("model.json")).expect("artifact");
        let trees = art.trees.as_ref().expect("a tree payload");
        assert!(!trees.trees.is_empty());
        let _ = tessera::model::Model::from_artifact(&art);
        // Trees are fitted in parallel; the result must not depend on scheduling.
        let again = dir.path().join(format!("{}-again", kind.name()));
        train(&p, kind, &again);
        let a = std::fs::read(out.join("model.json")).expect("a");
        let b = std::fs::read(again.join("model.json")).expect("b");
        assert!(
            a == b,
            "{}: model.json differs between identical runs",
            kind.name()
        );
    }
}
