//! The model-review commands on the real binary (`CARGO_BIN_EXE_tessera`) in a fresh directory:
//! two models trained on one generated log, `models list | compare | promote`, serving the
//! promoted model through `[model] path = "active"`, `backtest` side by side, and `features`
//! written to Parquet — each cross-checked against another command's answer.

use std::path::Path;
use std::process::{Command, Output};

use polars::prelude::*;

fn tessera(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("tessera runs");
    assert!(
        out.status.success(),
        "tessera {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

/// A directory with `d.parquet` and two models, `lr` (logistic) and `gmm` (anomaly).
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    tessera(
        d,
        &[
            "gen-data",
            "--users",
            "120",
            "--days",
            "20",
            "--seed",
            "3",
            "--out",
            "d.parquet",
        ],
    );
    tessera(d, &["train", "--data", "d.parquet", "--out", "models/lr"]);
    tessera(
        d,
        &[
            "train",
            "--data",
            "d.parquet",
            "--model",
            "anomaly",
            "--out",
            "models/gmm",
        ],
    );
    dir
}

#[test]
fn models_list_compare_promote_and_serve_the_active_model() {
    let dir = workspace();
    let d = dir.path();
    let list = json(&tessera(d, &["models", "list", "--json"]));
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["name"], "gmm");
    assert_eq!(list[0]["family"], "anomaly");
    assert_eq!(list[1]["family"], "logistic");
    assert!(list.iter().all(|m| m["active"] == false));
    let metrics: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("models/lr/metrics.json")).expect("metrics"),
    )
    .expect("json");
    assert_eq!(list[1]["test"]["roc_auc"], metrics["test"]["roc_auc"]);

    let cmp = json(&tessera(d, &["models", "compare", "lr", "gmm", "--json"]));
    assert_eq!(cmp["same_data"], true);
    let auc = cmp["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["metric"] == "ROC AUC")
        .expect("auc row")
        .clone();
    assert_eq!(auc["a"], metrics["test"]["roc_auc"]);
    let diff = auc["b"].as_f64().expect("b") - auc["a"].as_f64().expect("a");
    assert!((auc["diff"].as_f64().expect("diff") - diff).abs() < 1e-12);
    let table = stdout(&tessera(d, &["models", "compare", "lr", "gmm"]));
    assert!(table.contains("both measured on the same data"), "{table}");

    let promoted = stdout(&tessera(d, &["models", "promote", "lr"]));
    assert!(
        promoted.starts_with("active model: lr (logistic, "),
        "{promoted}"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("models/ACTIVE")).expect("ACTIVE"),
        "lr\n"
    );
    let list = stdout(&tessera(d, &["models", "list"]));
    assert!(list.lines().any(|l| l.starts_with("* lr ")), "{list}");

    // Serving "active" scores with the promoted model.
    std::fs::write(
        d.join("active.toml"),
        "[store]\nbackend = \"memory\"\n[model]\npath = \"active\"\ndir = \"models\"\n",
    )
    .expect("config");
    let req = r#"{"schema":1,"user_id":"u1","timestamp":"2026-01-10T09:00:00Z","channel":"web_widget","network":{"ip":"47.0.0.9"},"device":{"id":"d1"}}"#;
    let scored = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(d)
        .args(["score", "--config", "active.toml"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(req.as_bytes())?;
            c.wait_with_output()
        })
        .expect("score runs");
    let answer: serde_json::Value =
        serde_json::from_slice(&scored.stdout).expect("one JSON answer");
    assert_eq!(answer["model_version"], metrics["model_version"]);

    // A model that would be refused at start-up is not promoted, and ACTIVE stays.
    std::fs::create_dir(d.join("models/bad")).expect("mkdir");
    std::fs::write(d.join("models/bad/model.json"), "{}").expect("write");
    let refused = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(d)
        .args(["models", "promote", "bad"])
        .output()
        .expect("runs");
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(d.join("models/ACTIVE")).expect("ACTIVE"),
        "lr\n"
    );
}

#[test]
fn backtest_and_features_agree_on_the_replayed_period() {
    let dir = workspace();
    let d = dir.path();
    let bt = json(&tessera(
        d,
        &[
            "backtest",
            "--model",
            "lr",
            "--against",
            "rules",
            "--data",
            "d.parquet",
            "--json",
        ],
    ));
    let r = &bt["report"];
    let total = |side: &str, class: &str| -> u64 {
        ["allow", "step_up_otp", "step_up_otp_kba", "deny"]
            .iter()
            .map(|k| r[side][class][k].as_u64().expect("count"))
            .sum()
    };
    let counted = r["counted"].as_u64().expect("counted");
    assert_eq!(
        counted,
        r["replayed"].as_u64().expect("replayed"),
        "no window: all counted"
    );
    for side in ["incumbent", "candidate"] {
        assert_eq!(
            total(side, "genuine") + total(side, "attacks") + total(side, "unlabelled"),
            counted
        );
    }
    let lr_version = std::fs::read_to_string(d.join("models/lr/metrics.json")).expect("metrics");
    let lr_version: serde_json::Value = serde_json::from_str(&lr_version).expect("json");
    assert_eq!(r["candidate"]["model_version"], lr_version["model_version"]);
    assert_eq!(r["incumbent"]["model_version"], "rules-v1");
    let tactics: u64 = r["candidate"]["by_tactic"]
        .as_object()
        .expect("tactics")
        .values()
        .map(|l| {
            l.as_object()
                .expect("levels")
                .values()
                .map(|v| v.as_u64().unwrap_or(0))
                .sum::<u64>()
        })
        .sum();
    assert_eq!(tactics, total("candidate", "attacks"));

    // --held-out counts only the candidate's test period.
    let held = json(&tessera(
        d,
        &[
            "backtest",
            "--model",
            "lr",
            "--data",
            "d.parquet",
            "--held-out",
            "--json",
        ],
    ));
    let from = chrono::DateTime::parse_from_rfc3339(
        lr_version["splits"]["test"]["from"]
            .as_str()
            .expect("test.from"),
    )
    .expect("rfc3339")
    .timestamp_millis();
    assert!(held["report"]["counted"].as_u64().expect("n") < counted);
    assert!(held["report"]["from_ms"].as_i64().expect("from") >= from);
    assert_eq!(
        held["incumbent_name"], "builtin",
        "nothing promoted: the built-in model"
    );

    // The feature rows: one per replayed request, the same attacks, scores in range.
    tessera(
        d,
        &[
            "features",
            "--data",
            "d.parquet",
            "--model",
            "lr",
            "--model",
            "rules",
            "--out",
            "f.parquet",
        ],
    );
    let f = std::fs::File::open(d.join("f.parquet")).expect("parquet");
    let df = ParquetReader::new(f).finish().expect("read");
    assert_eq!(df.height() as u64, counted);
    let attacks = df
        .column("is_attack")
        .expect("is_attack")
        .bool()
        .expect("bool")
        .sum()
        .unwrap_or(0) as u64;
    assert_eq!(attacks, total("candidate", "attacks"));
    let schema = tessera::features::FeatureSchema::current();
    for name in &schema.names {
        assert!(df.column(name).is_ok(), "feature column {name}");
    }
    let p = df
        .column("score.lr.p_attack")
        .expect("score")
        .f64()
        .expect("f64");
    assert_eq!(p.null_count(), 0);
    assert!(p.min().is_some_and(|x| x >= 0.0) && p.max().is_some_and(|x| x <= 1.0));
    let trust = df
        .column("score.rules.trust")
        .expect("trust")
        .f64()
        .expect("f64");
    assert!(trust.min().is_some_and(|x| x >= 0.0) && trust.max().is_some_and(|x| x <= 100.0));

    // `eval models` on the same log: every labelled event, and the rules' ROC AUC equals the
    // one computed here from the exported scores (the rules' calibration is strictly
    // increasing, so ranking by probability is ranking by raw score).
    let report = json(&tessera(
        d,
        &[
            "eval",
            "models",
            "--data",
            "d.parquet",
            "--model",
            "lr",
            "--model",
            "rules",
            "--json",
        ],
    ));
    assert_eq!(report["lr"]["attacks"].as_u64(), Some(attacks));
    assert_eq!(report["rules"]["events"].as_u64(), Some(counted));
    let labels: Vec<bool> = df
        .column("is_attack")
        .expect("is_attack")
        .bool()
        .expect("bool")
        .iter()
        .map(|x| x.unwrap_or(false))
        .collect();
    let rules_p: Vec<f64> = df
        .column("score.rules.p_attack")
        .expect("score")
        .f64()
        .expect("f64")
        .iter()
        .map(|x| x.unwrap_or(f64::NAN))
        .collect();
    let auc = tessera::train::metrics::roc_auc(&rules_p, &labels).expect("both classes");
    let said = report["rules"]["roc_auc"].as_f64().expect("auc");
    assert!(
        (auc - said).abs() < 1e-9,
        "eval models {said} vs exported {auc}"
    );
    assert!(
        report["lr"]["per_tactic"]
            .as_object()
            .is_some_and(|t| !t.is_empty())
    );
    // An unknown model is refused, naming the option.
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(d)
        .args(["eval", "models", "--data", "d.parquet", "--model", "nope"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--model"));
}
