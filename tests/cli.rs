//! The real binary (`CARGO_BIN_EXE_tessera`) in a fresh directory: scoring a JSON-lines stream
//! with outcomes and a bad line, building a geo database, and training from generated data.

use std::io::Write;
use std::process::{Command, Stdio};

fn tessera(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tessera"));
    c.current_dir(dir);
    c
}

#[test]
fn score_stream_reports_bad_lines_by_number_and_field_and_continues() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("mem.toml"),
        "[store]\nbackend = \"memory\"\n",
    )
    .expect("config");
    let lines = [
        r#"{"schema":1,"request_id":"r1","user_id":"u1","timestamp":"2026-01-10T09:00:00Z","channel":"web_widget","network":{"ip":"31.0.1.2"},"device":{"id":"d1","timezone":"Europe/Paris","languages":["fr-FR"]}}"#,
        r#"{"kind":"outcome","request_id":"r1","user_id":"u1","timestamp":"2026-01-10T09:01:00Z","outcome":"otp_passed"}"#,
        r#"{"schema":1,"user_id":"u1","timestamp":"2026-01-10T09:02:00Z","channel":"web_widget","typing":{"events":[{"down_ms":0,"up_ms":50},{"down_ms":100,"up_ms":90}]}}"#,
        "",
        r#"{"schema":1,"user_id":"u1","timestamp":"2026-01-10T10:00:00Z","channel":"fax"}"#,
        r#"{"schema":1,"request_id":"r2","user_id":"u1","timestamp":"2026-01-10T10:00:00Z","channel":"web_widget","network":{"ip":"47.0.0.9"},"device":{"id":"bot","webdriver":true}}"#,
    ];
    let mut child = tessera(dir.path())
        .args(["score", "--config", "mem.toml"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all((lines.join("\n") + "\n").as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(1),
        "rejected lines give exit code 1"
    );
    let text = String::from_utf8(out.stdout).expect("utf8");
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(rows.len(), 5, "one output per non-empty input line: {text}");
    assert_eq!(rows[0]["request_id"], "r1");
    assert!(rows[0]["trust_score"].as_u64().is_some());
    assert_eq!(rows[1]["effect"], "learned");
    assert_eq!(rows[2]["line"], 3);
    assert_eq!(rows[2]["error"]["field"], "typing.events[1].up_ms");
    assert_eq!(rows[3]["line"], 5);
    assert_eq!(rows[3]["error"]["field"], "channel");
    let codes: Vec<&str> = rows[4]["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| r["code"].as_str().unwrap_or(""))
        .collect();
    assert!(
        codes.contains(&"tor_exit") && codes.contains(&"automation_flag"),
        "{codes:?}"
    );
    assert!(rows[4]["decision"] != "allow");
}

#[test]
fn geodb_build_writes_a_database_that_reads_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = concat!(env!("CARGO_MANIFEST_DIR"), "/data/geo/demo-geo.csv");
    let out = tessera(dir.path())
        .args(["geodb", "build", "--csv", csv, "--out", "demo.mmdb"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reader = maxminddb::Reader::open_readfile(dir.path().join("demo.mmdb")).expect("open");
    assert_eq!(reader.metadata().database_type, "Tessera-Demo-Geo");
    let bad = tessera(dir.path())
        .args(["geodb", "build", "--csv", "missing.csv", "--out", "x.mmdb"])
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("missing.csv"));
}

#[test]
fn gen_data_then_train_writes_a_loadable_artifact_with_held_out_metrics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = tessera(dir.path())
        .args([
            "gen-data",
            "--users",
            "150",
            "--days",
            "14",
            "--seed",
            "3",
            "--out",
            "d.parquet",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = tessera(dir.path())
        .args(["train", "--data", "d.parquet", "--out", "m"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let art = tessera::model::Artifact::load(&dir.path().join("m/model.json"))
        .expect("artifact loads against this build's schema");
    let metrics: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("m/metrics.json")).expect("metrics.json"),
    )
    .expect("json");
    let auc = metrics["test"]["roc_auc"].as_f64().expect("auc");
    let base = metrics["baselines"]["rules"]["roc_auc"]
        .as_f64()
        .expect("baseline auc");
    assert_eq!(art.metrics["test_roc_auc"].as_f64(), Some(auc));
    let card = std::fs::read_to_string(dir.path().join("m/card.html")).expect("card.html");
    assert!(
        card.contains(&art.model_version),
        "the card names the model"
    );
    assert!(auc > 0.8 && base > 0.5, "held-out AUC {auc}, rules {base}");
    assert_eq!(art.schema, tessera::features::FeatureSchema::current());
}
