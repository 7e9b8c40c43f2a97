//! `tessera train --data FILE --out models/NAME.json`: replays an event log through the live
//! feature code, fits a logistic regression and writes the artifact with its metrics.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{CliError, load_config};

/// Arguments of `tessera train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Event log (Parquet, as written by `tessera gen-data`).
    #[arg(long)]
    data: PathBuf,
    /// Artifact to write (e.g. models/tessera-lr.json).
    #[arg(long)]
    out: PathBuf,
    /// Configuration file (geo sources and feature tunables used during replay).
    #[arg(long)]
    config: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let cfg = load_config(args.config.as_ref())?;
    let report = tessera::train::train(&args.data, &cfg, &args.out)?;
    print_report(&report);
    println!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

/// Prints the held-out comparison of the model and the rules baseline.
pub fn print_report(r: &tessera::train::TrainReport) {
    println!(
        "model {}: {} training rows, {} held-out rows (time split)",
        r.model_version, r.train_rows, r.test_rows
    );
    println!(
        "{:<32} {:>10} {:>10}",
        "held-out metric", "logistic", "rules"
    );
    println!(
        "{:<32} {:>10.4} {:>10.4}",
        "ROC AUC", r.model.roc_auc, r.rules_baseline.roc_auc
    );
    for (m, b) in r.model.thresholds.iter().zip(&r.rules_baseline.thresholds) {
        println!(
            "{:<32} {:>10.4} {:>10.4}",
            format!("precision, {}", m.name),
            m.precision,
            b.precision
        );
        println!(
            "{:<32} {:>10.4} {:>10.4}",
            format!("recall, {}", m.name),
            m.recall,
            b.recall
        );
    }
}
