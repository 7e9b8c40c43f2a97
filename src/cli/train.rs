//! `tessera train --data FILE [--format events|rba] [--labels LABELS.jsonl ...] --out
//! models/NAME.json`: replays an event log (Parquet or CSV) or an RBA-layout login file through
//! the live feature code, fits a logistic regression on the labelled events and writes the
//! artifact with its metrics.

use std::path::PathBuf;
use std::process::ExitCode;

use tessera::train::labels::FailedChallenge;
use tessera::train::{LabelOptions, LabelSource};

use super::{CliError, load_config};

/// Arguments of `tessera train`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = LABELS_HELP)]
pub struct Args {
    /// Event log (Parquet or CSV, as written by `tessera gen-data`, or a broker export of the
    /// scored requests in the same schema); with `--format rba`, a CSV file in the layout of the
    /// public RBA login dataset.
    #[arg(long)]
    data: PathBuf,
    /// Layout of `--data`: `events` (the event log) or `rba` (Wiefling et al.'s login dataset;
    /// labels from its `Is Account Takeover` / `Is Attack IP` columns, see `--rba-label`).
    #[arg(long, value_enum, default_value_t = Format::Events)]
    format: Format,
    /// With `--format rba`: the ground truth, `either` (a takeover or an attack address),
    /// `takeover` or `attack-ip`.
    #[arg(long, value_enum, default_value_t = RbaLabelArg::Either, conflicts_with = "labels")]
    rba_label: RbaLabelArg,
    /// Label log written by `tessera serve` (`server.label_log`); repeat for several files.
    /// Labels are then joined by request_id and the `is_attack` column is ignored (it may be
    /// absent). Without it, labels come from `is_attack` (null = unlabelled).
    #[arg(long, value_name = "LABELS.jsonl")]
    labels: Vec<PathBuf>,
    /// With --labels: count otp_failed and kba_failed as attacks instead of leaving them out.
    #[arg(long, requires = "labels")]
    failed_challenge_as_attack: bool,
    /// Artifact to write (e.g. models/tessera-lr.json).
    #[arg(long)]
    out: PathBuf,
    /// Configuration file (geo sources and feature tunables used during replay).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// Layout of `--data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The event log: Parquet or CSV (by extension).
    Events,
    /// The public RBA login dataset's CSV layout.
    Rba,
}

/// `--rba-label`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RbaLabelArg {
    /// `Is Account Takeover` or `Is Attack IP`.
    Either,
    /// `Is Account Takeover`.
    Takeover,
    /// `Is Attack IP`.
    AttackIp,
}

impl From<RbaLabelArg> for tessera::train::rba::RbaLabel {
    fn from(a: RbaLabelArg) -> Self {
        match a {
            RbaLabelArg::Either => Self::Either,
            RbaLabelArg::Takeover => Self::AccountTakeover,
            RbaLabelArg::AttackIp => Self::AttackIp,
        }
    }
}

const LABELS_HELP: &str = "\
Labels from the label log (--labels), joined to score rows by request_id:
  confirmed_fraud             -> attack   (confirmed)
  confirmed_safe              -> genuine  (confirmed)
  otp_passed, kba_passed      -> genuine  (passed challenge)
  otp_failed, kba_failed      -> left out (weak evidence); attack with --failed-challenge-as-attack
Several labels for one request: the strongest wins (confirmed > passed > failed), then the latest
timestamp, then attack. Requests without a label are replayed (their history counts) but not
fitted. Label lines for request ids absent from the event log, and repeated lines, are counted in
the summary, not errors; a line that does not parse stops training with its file, line and field.
Label-log outcomes missing from the event log are replayed as outcome events at their timestamp,
so profiles learn what the live server's profiles learned.";

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let cfg = load_config(args.config.as_ref())?;
    if args.format == Format::Rba {
        if !args.labels.is_empty() {
            return Err("--labels: not with --format rba (its labels are its own columns)".into());
        }
        let (report, s) =
            tessera::train::rba::train(&args.data, args.rba_label.into(), &cfg, &args.out)?;
        print_rba(&s);
        print_labels(&report.labels, report.refused_outcomes);
        print_report(&report);
        println!("wrote {}", args.out.display());
        return Ok(ExitCode::SUCCESS);
    }
    let opts = LabelOptions {
        logs: args.labels,
        failed_challenge: if args.failed_challenge_as_attack {
            FailedChallenge::Attack
        } else {
            FailedChallenge::Exclude
        },
    };
    let report = tessera::train::train_with_labels(&args.data, &opts, &cfg, &args.out)?;
    print_labels(&report.labels, report.refused_outcomes);
    print_report(&report);
    println!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

/// Prints what an RBA-layout file held.
pub fn print_rba(s: &tessera::train::rba::RbaSummary) {
    println!(
        "rba: {} logins of {} users ({} successful, {} failed); {} account takeover, {} from \
         attack addresses; label: {}",
        s.logins,
        s.users,
        s.successful,
        s.failed,
        s.takeover_rows,
        s.attack_ip_rows,
        serde_json::to_string(&s.label)
            .unwrap_or_default()
            .trim_matches('"')
    );
    println!(
        "  {} distinct addresses ({} private, {} with several country/ASN answers); {} rows \
         with a round-trip time (unused); {} user agents cut",
        s.distinct_ips, s.private_ip_rows, s.ip_answer_conflicts, s.rtt_rows, s.user_agents_cut
    );
}

/// Prints where the labels came from and what the join did.
pub fn print_labels(source: &LabelSource, refused_outcomes: usize) {
    match source {
        LabelSource::Column {
            attack_rows,
            genuine_rows,
            unlabelled_rows,
        } => println!(
            "labels from is_attack: {attack_rows} attack, {genuine_rows} genuine, \
             {unlabelled_rows} unlabelled (replayed, not fitted)"
        ),
        LabelSource::LabelLog(s) => {
            println!(
                "labels from {} label-log file(s), {} lines: {} attack, {} genuine, {} unlabelled \
                 (replayed, not fitted)",
                s.files.len(),
                s.lines,
                s.attack_rows,
                s.genuine_rows,
                s.unlabelled_rows
            );
            println!(
                "  unknown request ids: {} lines; duplicate lines: {}; several labels: {} \
                 requests ({} conflicting, settled by precedence); failed challenges only \
                 (left out): {} requests",
                s.unknown_request_lines,
                s.duplicate_lines,
                s.multi_label_requests,
                s.conflicting_requests,
                s.failed_challenge_only_requests
            );
            println!(
                "  outcomes replayed from the label log: {} (already in the event log: {})",
                s.outcomes_inserted, s.outcomes_in_event_log
            );
        }
    }
    if refused_outcomes > 0 {
        println!("  outcomes refused during replay: {refused_outcomes}");
    }
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
