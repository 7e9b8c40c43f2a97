//! `tessera backtest --model NAME --data FILE [--against NAME] [--format events|rba] [--config
//! FILE] [--dir DIR] [--held-out] [--json]`: replays a period through the whole engine once,
//! judging each request with the incumbent (default: the active model of `--dir`, else the
//! built-in one) and the candidate on the same features and policy, and prints the decision
//! rates per level for genuine requests and attacks, attacks caught and per-tactic catch rates,
//! side by side.

use std::path::PathBuf;
use std::process::ExitCode;

use tessera::domain::Decision;
use tessera::model::active;
use tessera::train::backtest_compare::{self, Backtest, Levels, Window};
use tessera::train::catalog;
use tessera::train::progress::Progress;

use super::offline::{self, Format};
use super::{CliError, load_config};

/// Arguments of `tessera backtest`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The candidate: a model directory name in --dir, a path, builtin, rules or active.
    #[arg(long)]
    model: String,
    /// The incumbent to compare with (same forms); default: the active model, else builtin.
    #[arg(long)]
    against: Option<String>,
    /// The period to replay (labelled: `is_attack`, `scenario`).
    #[arg(long)]
    data: PathBuf,
    /// Layout of the dataset: an event log (Parquet or CSV, by extension) or the public RBA
    /// login dataset's CSV.
    #[arg(long, value_enum, default_value_t = Format::Events)]
    format: Format,
    /// Configuration file: geo and reputation sources, feature tunables, policy.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Models directory.
    #[arg(long, default_value = "models")]
    dir: PathBuf,
    /// Count only events from the start of the candidate's test split (its metrics.json), for
    /// a file the candidate was trained on; earlier events are still replayed for history.
    #[arg(long)]
    held_out: bool,
    /// Print the JSON report.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    tessera::train::heap::tune_for_batch();
    let cfg = load_config(args.config.as_ref())?;
    let against = match &args.against {
        Some(a) => a.clone(),
        None if active::active_name(&args.dir)?.is_some() => active::ACTIVE.to_string(),
        None => "builtin".to_string(),
    };
    let candidate = offline::load_model(&args.model, &args.dir, "--model")?;
    let incumbent = offline::load_model(&against, &args.dir, "--against")?;
    let window = if args.held_out {
        Window {
            from_ms: Some(test_start_ms(&args.model, &args.dir)?),
        }
    } else {
        Window::default()
    };
    let period = offline::read(&args.data, args.format, &cfg)?;
    let progress = Progress::new("backtest", period.dataset.events.len() as u64);
    let r = backtest_compare::compare(
        &period.dataset,
        &period.config,
        incumbent,
        candidate,
        window,
        &progress,
    )?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({"candidate_name": args.model, "incumbent_name": against, "report": r})
        );
    } else {
        print(&r, &args.model, &against);
    }
    Ok(ExitCode::SUCCESS)
}

/// The start of the candidate's test split, from its `metrics.json`.
fn test_start_ms(model: &str, dir: &std::path::Path) -> Result<i64, CliError> {
    let artifact = active::locate(model, dir, "--model")?;
    let beside =
        std::path::Path::new(&artifact).with_file_name(tessera::train::output::METRICS_FILE);
    let metrics = catalog::read_metrics_at(&beside)?
        .ok_or("--held-out: the candidate has no metrics.json in its model directory")?;
    let from = metrics
        .splits
        .get("test")
        .and_then(|t| t.get("from"))
        .and_then(|f| f.as_str())
        .ok_or("--held-out: metrics.json has no splits.test.from")?;
    let t = chrono::DateTime::parse_from_rfc3339(from)
        .map_err(|_| "--held-out: metrics.json splits.test.from is not an RFC 3339 time")?;
    Ok(t.timestamp_millis())
}

fn pct(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}

fn print(r: &Backtest, model: &str, against: &str) {
    let day = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map_or("-".into(), |d| d.format("%Y-%m-%d %H:%M").to_string())
    };
    let names =
        |s: tessera::domain::Sources| s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ");
    println!(
        "period {} .. {} UTC: {} requests counted of {} replayed ({} repeated ids, {} outcomes refused)",
        day(r.from_ms),
        day(r.to_ms),
        r.counted,
        r.replayed,
        r.repeated_ids,
        r.refused_outcomes
    );
    println!("sources in use: {}", names(r.sources.in_use));
    println!(
        "{:<34} {:>30} {:>30} {:>10}",
        "", "incumbent", "candidate", "diff"
    );
    println!("{:<34} {:>30} {:>30}", "model", against, model);
    println!(
        "{:<34} {:>30} {:>30}",
        "version", r.incumbent.model_version, r.candidate.model_version
    );
    let levels = |title: &str, a: &Levels, b: &Levels| {
        println!("{title} ({} requests)", a.total());
        for d in [
            Decision::Allow,
            Decision::StepUpOtp,
            Decision::StepUpOtpKba,
            Decision::Deny,
        ] {
            let (x, y) = (a.share(d), b.share(d));
            println!(
                "  {:<32} {:>30} {:>30} {:>+9.2} pt",
                d.as_str(),
                pct(x),
                pct(y),
                100.0 * (y - x)
            );
        }
        let (x, y) = (a.challenged_share(), b.challenged_share());
        let what = if title == "attacks" {
            "caught (not allowed)"
        } else {
            "challenged (not allowed)"
        };
        println!(
            "  {what:<32} {:>30} {:>30} {:>+9.2} pt",
            pct(x),
            pct(y),
            100.0 * (y - x)
        );
    };
    levels("genuine", &r.incumbent.genuine, &r.candidate.genuine);
    levels("attacks", &r.incumbent.attacks, &r.candidate.attacks);
    if r.incumbent.unlabelled.total() > 0 {
        levels(
            "unlabelled",
            &r.incumbent.unlabelled,
            &r.candidate.unlabelled,
        );
    }
    println!("attacks caught per tactic");
    let empty = Levels::default();
    for (tactic, a) in &r.incumbent.by_tactic {
        let b = r.candidate.by_tactic.get(tactic).unwrap_or(&empty);
        let (x, y) = (a.challenged_share(), b.challenged_share());
        println!(
            "  {:<32} {:>30} {:>30} {:>+9.2} pt",
            format!("{tactic} ({})", a.total()),
            pct(x),
            pct(y),
            100.0 * (y - x)
        );
    }
    println!("same decision on {} of requests", pct(r.agreement));
}
