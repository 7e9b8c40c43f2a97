//! The model card written into every artifact: what the model is for, what it was trained on,
//! how it was measured, its known limits, and the command that reproduces it.

use serde_json::{Value, json};

/// Builds the card.
pub fn model_card(
    data_path: &str,
    train_rows: usize,
    test_rows: usize,
    cutoff_rfc3339: &str,
) -> Value {
    json!({
        "name": "tessera logistic regression over feature schema v1",
        "intended_use": "Risk of account takeover for one chat authentication event, as trust 0–100, feeding the step-up policy. Not a credit, identity-proofing or eligibility decision.",
        "training_data": {
            "path": data_path,
            "train_rows": train_rows,
            "test_rows": test_rows,
            "split": format!("time-based: events before {cutoff_rfc3339} train, the rest test"),
            "replay": "events replayed in time order through Engine::assess against an empty in-memory store; profiles learn only from outcome events"
        },
        "evaluation": "ROC AUC and precision/recall at the default medium ladder (challenge trust < 70, OTP+KBA trust < 40, deny trust < 15), beside the hand-weighted rules baseline on the same rows",
        "limitations": [
            "trained on the synthetic generator's data (data/README.md): figures describe that world, not production traffic",
            "linear: interactions between signals are not modelled",
            "missing infrastructure (geo DB, store) is handled by worst-case imputation at serving time, never seen in training"
        ],
        "reproduce": format!("tessera gen-data --users 2000 --days 60 --seed 7 --out data.parquet && tessera train --data data.parquet --out models/tessera-lr.json  (data path used: {data_path})"),
    })
}
