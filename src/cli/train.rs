//! `tessera train --data FILE [--format events|rba] [--model FAMILY] [--labels LABELS.jsonl ...] --out models/NAME`:
//! replays an event log through the live feature code, fits one model family on the labelled
//! events, calibrates it, and writes the model directory (`model.json`, `metrics.json`,
//! `card.html`).

use std::path::PathBuf;
use std::process::ExitCode;

use tessera::model::ModelKind;
use tessera::train::labels::FailedChallenge;
use tessera::train::{LabelOptions, LabelSource, TrainOptions};

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
    /// Model family.
    #[arg(long = "model", value_enum, default_value_t = Family::Logistic)]
    family: Family,
    /// Seed of every random choice of the fit (same seed and data, same bytes).
    #[arg(long, default_value_t = tessera::train::DEFAULT_SEED)]
    seed: u64,
    /// Model directory to write (e.g. models/forest): model.json, metrics.json, card.html.
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

impl RbaLabelArg {
    fn as_str(self) -> &'static str {
        match self {
            RbaLabelArg::Either => "either",
            RbaLabelArg::Takeover => "takeover",
            RbaLabelArg::AttackIp => "attack-ip",
        }
    }
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

/// The families `--model` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Family {
    /// Sign-constrained logistic regression (linfa).
    Logistic,
    /// Random forest (smartcore), directions repaired.
    Forest,
    /// Gradient-boosted trees with monotone constraints.
    Boosting,
    /// Freeman et al. (NDSS 2016) likelihood ratios.
    Freeman,
    /// One-sided Gaussian mixture, fitted without labels.
    Anomaly,
}

impl Family {
    /// The model kind.
    pub fn kind(self) -> ModelKind {
        match self {
            Family::Logistic => ModelKind::LogisticRegression,
            Family::Forest => ModelKind::Forest,
            Family::Boosting => ModelKind::Boosting,
            Family::Freeman => ModelKind::Freeman,
            Family::Anomaly => ModelKind::Anomaly,
        }
    }
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    tessera::train::heap::tune_for_batch();
    let cfg = load_config(args.config.as_ref())?;
    let labels = LabelOptions {
        logs: args.labels.clone(),
        failed_challenge: if args.failed_challenge_as_attack {
            FailedChallenge::Attack
        } else {
            FailedChallenge::Exclude
        },
    };
    let mut command = format!(
        "tessera train --data {} --model {} --seed {}",
        args.data.display(),
        args.family.kind().name(),
        args.seed
    );
    for l in &args.labels {
        command.push_str(&format!(" --labels {}", l.display()));
    }
    if args.failed_challenge_as_attack {
        command.push_str(" --failed-challenge-as-attack");
    }
    if let Some(c) = &args.config {
        command.push_str(&format!(" --config {}", c.display()));
    }
    command.push_str(&format!(" --out {}", args.out.display()));
    let opts = TrainOptions {
        family: args.family.kind(),
        seed: args.seed,
        labels,
        command,
    };
    if args.format == Format::Rba {
        if !args.labels.is_empty() {
            return Err("--labels: not with --format rba (its labels are its own columns)".into());
        }
        let mut opts = opts;
        opts.command = opts.command.replacen(
            "tessera train",
            &format!(
                "tessera train --format rba --rba-label {}",
                args.rba_label.as_str()
            ),
            1,
        );
        let (report, s) =
            tessera::train::rba::train(&args.data, args.rba_label.into(), &opts, &cfg, &args.out)?;
        print_rba(&s);
        print_labels(&report.labels, report.refused_outcomes);
        print_report(&report);
        println!("wrote {}", args.out.display());
        return Ok(ExitCode::SUCCESS);
    }
    let report = tessera::train::train_with(&args.data, &opts, &cfg, &args.out)?;
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

/// Prints the held-out comparison of the model and its baselines.
pub fn print_report(r: &tessera::train::TrainReport) {
    let m = &r.metrics;
    println!(
        "model {} ({}): {} training rows, {} validation rows, {} held-out rows (time split); calibration: {}",
        r.model_version,
        m.family,
        m.splits.train.rows,
        m.splits.validation.rows,
        m.splits.test.rows,
        m.calibration.chosen
    );
    let mut cols: Vec<(&str, &tessera::train::metrics::Evaluation)> =
        vec![(m.family.as_str(), &m.test)];
    for (k, v) in &m.baselines {
        cols.push((k.as_str(), v));
    }
    print_columns(&cols);
    for t in &m.thresholds {
        println!(
            "allow threshold for <= {:.0}% genuine challenged (chosen on validation): trust {} -> test: {:.2}% genuine challenged, {:.2}% attacks challenged",
            t.target_genuine_challenge_rate * 100.0,
            t.allow_trust,
            t.test_genuine_challenged * 100.0,
            t.test_recall * 100.0
        );
    }
}

/// Prints evaluations side by side: one column per model, the first column's tactics.
pub fn print_columns(cols: &[(&str, &tessera::train::metrics::Evaluation)]) {
    if cols.is_empty() {
        return;
    }
    print!("{:<34}", "held-out metric");
    for (name, _) in cols {
        print!(" {name:>10}");
    }
    println!();
    let row = |label: &str, f: &dyn Fn(&tessera::train::metrics::Evaluation) -> f64| {
        print!("{label:<34}");
        for (_, e) in cols {
            print!(" {:>10.4}", f(e));
        }
        println!();
    };
    row("ROC AUC", &|e| e.roc_auc);
    row("PR AUC", &|e| e.pr_auc);
    row("recall at 1% genuine challenged", &|e| {
        e.recall_at[0].recall
    });
    row("recall at 5% genuine challenged", &|e| {
        e.recall_at[1].recall
    });
    row("Brier score", &|e| e.brier);
    row("genuine with trust >= 99", &|e| e.trust_99_genuine);
    row("attacks with trust >= 99", &|e| e.trust_99_attacks);
    println!("per-tactic recall at 5% genuine challenged:");
    for (tactic, t) in &cols[0].1.per_tactic {
        print!("  {tactic:<32}");
        for (_, e) in cols {
            let v = e
                .per_tactic
                .get(tactic)
                .map(|x| x.recall_at_5pct)
                .unwrap_or(f64::NAN);
            print!(" {v:>10.4}");
        }
        println!("  ({} events)", t.events);
    }
}
