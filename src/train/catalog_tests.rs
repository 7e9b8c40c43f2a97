//! Tests of the models catalog over a temporary models directory.

use super::*;
use crate::train::card_page::tests::example;
use crate::train::output::write_model_dir;

fn models() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    for (name, version, fp, shift) in [("lr-a", "va", "f00", 0.3), ("lr-b", "vb", "f00", 0.5)] {
        let (m, art) = example(version, fp, shift);
        write_model_dir(&d.path().join(name), &art, &m, "<html></html>").expect("write");
    }
    d
}

#[test]
fn list_shows_every_model_directory_and_the_active_one() {
    let d = models();
    // Not models: a file, a directory without model.json, a hidden directory.
    std::fs::write(d.path().join("notes.txt"), "x").expect("write");
    std::fs::create_dir(d.path().join("empty")).expect("mkdir");
    std::fs::create_dir(d.path().join(".tmp")).expect("mkdir");
    // A model trained on another schema is listed with its problem.
    let mut old = crate::model::rules::artifact();
    old.schema.version += 1;
    std::fs::create_dir(d.path().join("old")).expect("mkdir");
    std::fs::write(
        d.path().join("old/model.json"),
        serde_json::to_string(&old).expect("json"),
    )
    .expect("write");
    crate::model::active::promote(d.path(), "lr-b").expect("promote");
    let l = list(d.path()).expect("list");
    let names: Vec<&str> = l.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["lr-a", "lr-b", "old"]);
    assert!(!l[0].active && l[1].active && !l[2].active);
    assert_eq!(l[0].family.as_deref(), Some("rules"));
    assert_eq!(l[0].model_version.as_deref(), Some("va"));
    let (m, _) = example("va", "f00", 0.3);
    assert_eq!(
        l[0].test.as_ref().and_then(|t| t.roc_auc),
        Some(m.test.roc_auc)
    );
    assert_eq!(
        l[0].test.as_ref().and_then(|t| t.recall_at(0.05)),
        Some(m.test.recall_at[1].recall)
    );
    assert!(
        l[2].problem.as_deref().unwrap_or("").contains("schema"),
        "{:?}",
        l[2].problem
    );
    assert_eq!(l[2].test, None);
}

#[test]
fn compare_gives_both_sides_and_the_difference() {
    let d = models();
    let c = compare(d.path(), "lr-a", "lr-b").expect("compare");
    let (ma, _) = example("va", "f00", 0.3);
    let (mb, _) = example("vb", "f00", 0.5);
    let auc = c
        .rows
        .iter()
        .find(|r| r.metric == "ROC AUC")
        .expect("auc row");
    assert_eq!(auc.a, Some(ma.test.roc_auc));
    assert_eq!(auc.b, Some(mb.test.roc_auc));
    assert_eq!(auc.diff, Some(mb.test.roc_auc - ma.test.roc_auc));
    assert!(auc.diff.unwrap_or(0.0) > 0.0, "b's attacks score higher");
    let a5 = c
        .tactics
        .iter()
        .find(|r| r.metric == "a at 5 %")
        .expect("tactic row");
    assert_eq!(a5.a, Some(ma.test.per_tactic["a"].recall_at_5pct));
    assert_eq!(c.tactics.len(), 6, "three tactics at two rates");
    assert_eq!(c.same_data, Some(true));
    let err = compare(d.path(), "lr-a", "nope").expect_err("missing");
    assert!(err.to_string().contains("no such model directory"), "{err}");
    let err = compare(d.path(), "lr-a", "../x").expect_err("bad name");
    assert!(err.to_string().contains("model name"), "{err}");
}

#[test]
fn metrics_with_nan_and_missing_fields_still_read() {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(d.path().join("m")).expect("mkdir");
    std::fs::write(
        d.path().join("m/metrics.json"),
        r#"{"model_version":"x","family":"anomaly","test":{"events":10,"roc_auc":null}}"#,
    )
    .expect("write");
    let m = read_metrics(d.path(), "m").expect("read").expect("present");
    assert_eq!(m.test.events, 10);
    assert_eq!(m.test.roc_auc, None);
    assert_eq!(m.test.recall_at(0.05), None);
    assert_eq!(read_metrics(d.path(), "none").expect("read"), None);
}
