//! The model card written into every artifact: what the model is for, what it was trained on
//! (including where its labels came from), how it was measured, its known limits, and the command
//! that reproduces it.

use serde_json::{Value, json};

use super::LabelSource;
use super::labels::{FailedChallenge, mapping};

/// Builds the card.
pub fn model_card(
    data_path: &str,
    labels: &LabelSource,
    train_rows: usize,
    test_rows: usize,
    cutoff_rfc3339: &str,
) -> Value {
    let mut limitations = vec![
        "linear: interactions between signals are not modelled".to_string(),
        "missing infrastructure (geo DB, store) is handled by worst-case imputation at serving time, never seen in training".to_string(),
    ];
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
                format!(
                    "tessera gen-data --users 2000 --days 60 --seed 7 --out data.parquet && tessera train --data data.parquet --model logistic --out models/NAME  (data path used: {data_path})"
                ),
            )
        }
        LabelSource::LabelLog(s) => {
            limitations.insert(0, "labels are verified outcomes: requests never challenged or investigated are not fitted, so the fitted rows over-represent challenged traffic".to_string());
            if s.failed_challenge == FailedChallenge::Exclude {
                limitations.insert(1, "failed OTP/KBA challenges label nothing: attacks that failed a challenge and were never confirmed as fraud are missing from the fit and the held-out metrics".to_string());
            }
            let mut cmd = format!("tessera train --data {data_path}");
            for f in &s.files {
                cmd.push_str(&format!(" --labels {f}"));
            }
            if s.failed_challenge == FailedChallenge::Attack {
                cmd.push_str(" --failed-challenge-as-attack");
            }
            cmd.push_str(" --out models/NAME");
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
        "name": "tessera logistic regression over feature schema v1",
        "intended_use": "Risk of account takeover for one chat authentication event, as trust 0–100, feeding the step-up policy. Not a credit, identity-proofing or eligibility decision.",
        "training_data": {
            "path": data_path,
            "labels": label_card,
            "train_rows": train_rows,
            "test_rows": test_rows,
            "split": format!("time-based over labelled events: events before {cutoff_rfc3339} train, the rest test"),
            "replay": "every event replayed in time order through Engine::assess against an empty in-memory store, labelled or not; profiles learn only from outcome events (event-log outcome rows, and label-log outcomes the event log lacks)"
        },
        "evaluation": "ROC AUC and precision/recall at the default medium ladder (challenge trust < 70, OTP+KBA trust < 40, deny trust < 15), beside the hand-weighted rules baseline on the same rows",
        "limitations": limitations,
        "reproduce": reproduce,
    })
}

/// The model card as one self-contained HTML page (`card.html`): plots, tables, limits and the
/// reproducing command; see [`super::card_page`].
pub fn card_html(metrics: &super::output::MetricsFile, art: &crate::model::Artifact) -> String {
    super::card_page::render(metrics, art)
}
