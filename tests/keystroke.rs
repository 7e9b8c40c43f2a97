//! The keystroke benchmark end to end: the CMU file through the library loader, and the real
//! binary (`CARGO_BIN_EXE_tessera`) running `eval keystroke` on it and on malformed files.
//! The CMU file is required: a missing file fails these tests, never skips them.

use std::path::PathBuf;
use std::process::Command;

use tessera::keystroke::data;

const CMU: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/keystroke/DSL-StrongPasswordData.csv"
);

fn cmu() -> PathBuf {
    let p = PathBuf::from(CMU);
    assert!(
        p.is_file(),
        "missing {CMU}: clone the repository beside shared/"
    );
    p
}

#[test]
fn cmu_file_loads_with_the_documented_shape_and_identities() {
    let d = data::load(&cmu()).expect("CMU loads");
    assert_eq!(d.subjects.len(), 51);
    assert_eq!(d.n_rows(), 20_400);
    assert_eq!(d.timing_columns.len(), 31);
    assert_eq!(d.subjects[0].id, "s002");
    assert!(d.subjects.iter().all(|s| s.samples.len() == 400));
    let first = d.subjects[0].samples.row(0).expect("row");
    assert_eq!(&first[..3], &[0.1491, 0.3979, 0.2488]);
    // Column k is H, k+1 DD, k+2 UD for each digraph: DD = H(prev) + UD to the rounding.
    for s in &d.subjects {
        for r in s.samples.rows() {
            for k in (0..30).step_by(3) {
                assert!((r[k + 1] - (r[k] + r[k + 2])).abs() < 1e-3, "{}", s.id);
            }
        }
    }
}

#[test]
fn eval_reproduces_the_paper_and_beats_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let svg = dir.path().join("curve.svg");
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["eval", "keystroke", "--json", "--curve", "--data"])
        .arg(cmu())
        .arg("--plot")
        .arg(&svg)
        .output()
        .expect("run tessera");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["dataset"], "DSL-StrongPasswordData.csv");
    assert_eq!(v["subjects"], 51);
    let dets = v["detectors"].as_array().expect("detectors");
    let eer = |name: &str| -> f64 {
        let d = dets
            .iter()
            .find(|d| d["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        let keys: Vec<&str> = d
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys.len(),
            4,
            "name, eer_mean, eer_std, zero_miss_far_mean: {keys:?}"
        );
        d["eer_mean"].as_f64().expect("eer_mean")
    };
    let sm = eer("manhattan-scaled");
    assert!((sm - 0.0962).abs() <= 0.001, "scaled Manhattan {sm}");
    for (name, paper) in [
        ("nn-mahalanobis", 0.0996),
        ("outlier-count-z", 0.1022),
        ("mahalanobis", 0.1101),
        ("manhattan", 0.1529),
        ("euclidean", 0.1706),
    ] {
        let got = eer(name);
        assert!((got - paper).abs() <= 0.01, "{name}: {got} vs {paper}");
    }
    let best = v["best"].as_str().expect("best");
    assert_eq!(best, "manhattan-robust-log-recent");
    let b = eer(best);
    assert!(b <= 0.080, "best {best}: {b}");
    assert!(dets.iter().all(|d| d["eer_mean"].as_f64() >= Some(b)));
    // The curve: 6 enrolment sizes for the best detector and scaled Manhattan; the point at
    // 200 is the main result.
    let curve = v["curve"].as_array().expect("curve");
    assert_eq!(curve.len(), 12);
    let at200 = curve
        .iter()
        .find(|p| p["detector"] == best && p["enrolment_reps"] == 200)
        .expect("best at 200");
    assert_eq!(at200["eer_mean"].as_f64(), Some(b));
    let text = std::fs::read_to_string(&svg).expect("svg written");
    assert!(text.contains("<svg") && text.contains(best), "svg content");
}

#[test]
fn malformed_files_are_rejected_naming_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "subject,sessionIndex,rep,H.a,H.b\r\ns1,1,1,0.1,0.2\r\ns1,1,2,0.1,x\r\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["eval", "keystroke", "--data"])
        .arg(&bad)
        .output()
        .expect("run tessera");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 3, column 5 (`H.b`): `x` is not a finite number"),
        "{err}"
    );
    let few = dir.path().join("few.csv");
    std::fs::write(&few, "subject,H.a\ns1,0.1\ns1,0.2\ns2,0.3\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["eval", "keystroke", "--data"])
        .arg(&few)
        .output()
        .expect("run tessera");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("subject `s2` has 1 repetitions: too few to train on 0"),
        "{err}"
    );
}
