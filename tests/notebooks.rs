//! The notebooks in `notebooks/` execute end to end (`jupyter nbconvert --execute`) against the
//! `tessera` binary cargo built, so they cannot rot; and they are committed without outputs.
//! The Python environment is the venv `.ci/run` creates from `notebooks/requirements.txt`,
//! named by `TESSERA_NOTEBOOK_VENV`: without it these tests fail (never skip).

use std::path::{Path, PathBuf};
use std::process::Command;

fn notebooks_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("notebooks")
}

fn read(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("notebook readable");
    serde_json::from_str(&text).expect("notebook is JSON")
}

/// Executes `name` in a fresh working folder and returns the executed notebook.
fn execute(name: &str) -> serde_json::Value {
    let venv = std::env::var("TESSERA_NOTEBOOK_VENV").unwrap_or_else(|_| {
        panic!(
            "TESSERA_NOTEBOOK_VENV is not set: it names the Python venv with \
             notebooks/requirements.txt installed (`bash .ci/run` creates it in \
             ${{TESSERA_CI_CACHE:-/var/tmp/tessera-ci}}/venv)"
        )
    });
    let bin = Path::new(&venv).join("bin");
    let jupyter = bin.join("jupyter");
    assert!(jupyter.is_file(), "{} has no jupyter", bin.display());
    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("executed");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let done = Command::new(&jupyter)
        .args(["nbconvert", "--to", "notebook", "--execute"])
        .arg("--ExecutePreprocessor.timeout=900")
        .arg("--output-dir")
        .arg(&out)
        .arg(notebooks_dir().join(name))
        .env("PATH", path)
        .env("TESSERA_BIN", env!("CARGO_BIN_EXE_tessera"))
        .env("TESSERA_NOTEBOOK_WORK", work.path().join("work"))
        .env_remove("TESSERA_NOTEBOOK_DATA")
        .env_remove("TESSERA_NOTEBOOK_MODEL")
        .output()
        .expect("jupyter runs");
    assert!(
        done.status.success(),
        "{name} failed:\n{}",
        String::from_utf8_lossy(&done.stderr)
    );
    read(&out.join(name))
}

/// Images (`image/png` outputs) an executed notebook drew.
fn figures(nb: &serde_json::Value) -> usize {
    cells(nb)
        .iter()
        .flat_map(|c| c["outputs"].as_array().cloned().unwrap_or_default())
        .filter(|o| o["data"]["image/png"].is_string())
        .count()
}

fn cells(nb: &serde_json::Value) -> Vec<serde_json::Value> {
    nb["cells"].as_array().cloned().unwrap_or_default()
}

#[test]
fn dataset_notebook_executes_and_draws_its_figures() {
    let nb = execute("01-dataset.ipynb");
    // Requests over time, channels, hour of day.
    assert_eq!(figures(&nb), 3);
}

#[test]
fn model_notebook_executes_and_draws_its_figures() {
    let nb = execute("02-model.ipynb");
    // ROC/PR, reliability, per-tactic recall, trust on the test period.
    assert_eq!(figures(&nb), 4);
    // The score columns came from `tessera features`, and their test ROC AUC matched the
    // trained model's metrics.json (the notebook asserts it within 0.02).
    let printed: String = cells(&nb)
        .iter()
        .flat_map(|c| c["outputs"].as_array().cloned().unwrap_or_default())
        .map(|o| match &o["text"] {
            // nbformat stores a stream's text as one string or as a list of lines.
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(lines) => lines.iter().filter_map(|l| l.as_str()).collect(),
            _ => String::new(),
        })
        .collect();
    assert!(printed.contains("ROC AUC of exported scores"), "{printed}");
}

#[test]
fn notebooks_are_committed_without_outputs() {
    let mut seen = 0;
    for entry in std::fs::read_dir(notebooks_dir()).expect("notebooks/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "ipynb") {
            continue;
        }
        seen += 1;
        for (i, c) in cells(&read(&path)).iter().enumerate() {
            if c["cell_type"] == "code" {
                assert_eq!(
                    c["outputs"],
                    serde_json::json!([]),
                    "{} cell {i} has outputs",
                    path.display()
                );
                assert!(
                    c["execution_count"].is_null(),
                    "{} cell {i}",
                    path.display()
                );
            }
        }
    }
    assert!(seen >= 2, "at least two notebooks");
}
