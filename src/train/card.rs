//! The model card written into every artifact: what the model is for, what it was trained on
//! (including where its labels came from), how it was measured, its known limits, and the command
//! that reproduces it.

use serde_json::{Value, json};

use super::LabelSource;
use super::labels::{FailedChallenge, mapping};

/// Builds the card. `command` is the command line that trained it (when empty, the
/// equivalent `tessera train` command is written).
pub fn model_card(
    family: &str,
    command: &str,
    data_path: &str,
    labels: &LabelSource,
    rows: [usize; 3],
    test_from_rfc3339: &str,
) -> Value {
    let [train_rows, validation_rows, test_rows] = rows;
    let mut limitations = vec![
        "a source the client leaves out is scored at its worst case (serving and every reported figure); fitting sees its raw value".to_string(),
    ];
    if family == "logistic" || family == "freeman" {
        limitations.insert(
            0,
            "linear in its features: interactions between signals are not modelled".to_string(),
        );
    }
    let (label_card, reproduce) = match labels {
        LabelSource::Column {
            attack_rows,
            genuine_rows,
            unlabelled_rows,
        } => {
            limitations.insert(0, "trained on the synthetic generator's data (data/README.md): figures describe that world, not production traffic".to_string());
            (
                json!({
                    "source": "is_attack column of the event log",
                    "attack_rows": attack_rows,
                    "genuine_rows": genuine_rows,
                    "unlabelled_rows_not_fitted": unlabelled_rows,
                }),
                if command.is_empty() {
                    format!("tessera train --data {data_path} --model {family} --out models/NAME")
                } else {
                    command.to_string()
                },
            )
        }
        LabelSource::LabelLog(s) => {
            limitations.insert(0, "labels are verified outcomes: requests never challenged or investigated are not fitted, so the fitted rows over-represent challenged traffic".to_string());
            if s.failed_challenge == FailedChallenge::Exclude {
                limitations.insert(1, "failed OTP/KBA challenges label nothing: attacks that failed a challenge and were never confirmed as fraud are missing from the fit and the held-out metrics".to_string());
            }
            let cmd = if command.is_empty() {
                let mut cmd = format!("tessera train --data {data_path} --model {family}");
                for f in &s.files {
                    cmd.push_str(&format!(" --labels {f}"));
                }
                if s.failed_challenge == FailedChallenge::Attack {
                    cmd.push_str(" --failed-challenge-as-attack");
                }
                cmd.push_str(" --out models/NAME");
                cmd
            } else {
                command.to_string()
            };
            (
                json!({
                    "source": "label log of tessera serve, joined by request_id",
                    "mapping": mapping(s.failed_challenge),
                    "precedence": "strongest evidence wins (confirmed > passed challenge > failed challenge), then the latest timestamp, then attack",
                    "counts": s,
                }),
                cmd,
            )
        }
    };
    json!({
        "name": format!("tessera {family} model over feature schema v{}", crate::features::schema::SCHEMA_VERSION),
        "intended_use": "Risk of account takeover for one chat authentication event, as trust 0–100, feeding the step-up policy. Not a credit, identity-proofing or eligibility decision.",
        "training_data": {
            "path": data_path,
            "labels": label_card,
            "train_rows": train_rows,
            "validation_rows": validation_rows,
            "test_rows": test_rows,
            "split": format!("time-based over labelled events: the first 60 % fit, the next 20 % calibrate and choose thresholds, events from {test_from_rfc3339} on are the test split"),
            "replay": "every event replayed in time order through Engine::assess against an empty in-memory store, labelled or not; profiles learn only from outcome events (event-log outcome rows, and label-log outcomes the event log lacks)"
        },
        "evaluation": "on the test split, scored as serving scores: ROC AUC, PR AUC, recall at 1 % and 5 % genuine challenged, Brier score, reliability, per-tactic recall, beside the rules and Freeman baselines (metrics.json)",
        "limitations": limitations,
        "reproduce": reproduce,
    })
}

/// The model card as one self-contained HTML page (`card.html`): plots, tables, limits and the
/// reproducing command; see [`super::card_page`].
pub fn card_html(metrics: &super::output::MetricsFile, art: &crate::model::Artifact) -> String {
    super::card_page::render(metrics, art)
}
