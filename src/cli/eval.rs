//! `tessera eval keystroke --data FILE [--json] [--train-reps N] [--quantize-ms MS] [--curve]
//! [--plot FILE.svg]`: runs the CMU keystroke benchmark protocol over every detector and prints
//! a table beside the published figures, or the JSON report. `tessera eval keystroke-free --data
//! FILE [--json]`: the engine's free-text typing verifier under issue 13's protocol
//! (`keystroke::free_eval`). `tessera eval decisions --data FILE
//! [--format events|rba] [--config FILE] [--json]`: the whole engine's held-out decisions on a
//! labelled event log or RBA-layout login file. `tessera eval models --data FILE --model A
//! [--model B]... [--json]`: trained models ranked and calibrated on a dataset none of them was
//! trained on (another world or period), side by side.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use tessera::keystroke::{EvalOptions, EvalReport, data, eval, plot};

use super::CliError;

/// Arguments of `tessera eval`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Keystroke detectors on a CMU-layout timing file (Killourhy & Maxion's protocol).
    Keystroke(KeystrokeArgs),
    /// The engine's free-text typing verifier on a free-text typing file (JSON lines, the
    /// Aalto layout): enrol on 1, 2, 5, 10 sentences, query with the last 5 sentences of the user
    /// and of 100 others.
    KeystrokeFree(KeystrokeFreeArgs),
    /// Held-out decisions of the whole engine (sources, model, policy) on a labelled event
    /// log: genuine requests challenged, attacks caught.
    Decisions(DecisionsArgs),
    /// Ranking and calibration of trained models on a labelled dataset none of them was
    /// trained on (another world or period): ROC AUC, PR AUC, recall at 1 % and 5 % genuine
    /// challenged, Brier score and per-tactic recall, side by side.
    Models(ModelsArgs),
}

/// Arguments of `tessera eval models`.
#[derive(Debug, clap::Args)]
struct ModelsArgs {
    /// Labelled dataset to replay (`is_attack`, `scenario`).
    #[arg(long)]
    data: PathBuf,
    /// Layout of `--data`.
    #[arg(long, value_enum, default_value_t = super::train::Format::Events)]
    format: super::train::Format,
    /// A model to evaluate: a directory name in --dir, a path, builtin, rules or active.
    /// Repeatable; at least one.
    #[arg(long = "model", value_name = "NAME", required = true)]
    models: Vec<String>,
    /// Models directory the names refer to.
    #[arg(long, default_value = "models")]
    dir: PathBuf,
    /// Configuration file (geo sources, feature tunables) for the replay.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print the JSON report instead of the table.
    #[arg(long)]
    json: bool,
}

/// Arguments of `tessera eval decisions`.
#[derive(Debug, clap::Args)]
struct DecisionsArgs {
    /// Event log (Parquet or CSV, as `tessera gen-data` writes it) with `is_attack`.
    #[arg(long)]
    data: PathBuf,
    /// Layout of `--data` (as for `tessera train`; `rba` labels with `--rba-label either`).
    #[arg(long, value_enum, default_value_t = super::train::Format::Events)]
    format: super::train::Format,
    /// Configuration file: which geo and reputation sources, model and policy.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print the JSON report instead of the summary.
    #[arg(long)]
    json: bool,
}

/// Arguments of `tessera eval keystroke-free`.
#[derive(Debug, clap::Args)]
struct KeystrokeFreeArgs {
    /// JSON lines: `{"u": user, "i": sentence, "ev": [[code, down_ms, up_ms], ...]}`.
    #[arg(long)]
    data: PathBuf,
    /// Print the JSON report instead of the table.
    #[arg(long)]
    json: bool,
    /// Verifier: `factor` (the engine's) or `digraph` (the previous one, for comparison).
    #[arg(long, value_enum, default_value_t = FreeVerifier::Factor)]
    verifier: FreeVerifier,
    /// Evaluate this background (a file, or `builtin` for the embedded one) on every user
    /// instead of fitting one per fold (4-fold user-disjoint cross-validation, the default).
    /// Optimistic on the users it was fitted on: the builtin one was fitted on the Aalto dev
    /// users.
    #[arg(long, value_name = "FILE|builtin")]
    background: Option<String>,
}

/// Free-text verifier evaluated by `eval keystroke-free`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FreeVerifier {
    /// Factor-prior likelihood ratio on holds and up-down flights (`keystroke::verifier`).
    Factor,
    /// Robust scaled Manhattan on holds and digraphs (`keystroke::digraph`).
    Digraph,
}

/// Arguments of `tessera eval keystroke`.
#[derive(Debug, clap::Args)]
struct KeystrokeArgs {
    /// CSV: `subject`, optional `sessionIndex`, `rep`, then timing columns in seconds.
    #[arg(long)]
    data: PathBuf,
    /// Print the JSON report instead of the table.
    #[arg(long)]
    json: bool,
    /// Enrolment repetitions per subject (default: min(200, half of its repetitions)).
    #[arg(long)]
    train_reps: Option<usize>,
    /// Round every timing to this many milliseconds before anything else.
    #[arg(long)]
    quantize_ms: Option<f64>,
    /// Also report EER against enrolment size (5 … 200) for the best detector and scaled
    /// Manhattan.
    #[arg(long)]
    curve: bool,
    /// Write the enrolment curve as an SVG (implies --curve).
    #[arg(long)]
    plot: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    match args.what {
        What::Keystroke(a) => keystroke(a),
        What::KeystrokeFree(a) => keystroke_free(a),
        What::Decisions(a) => decisions(a),
        What::Models(a) => models(a),
    }
}

fn models(a: ModelsArgs) -> Result<ExitCode, CliError> {
    let cfg = super::load_config(a.config.as_ref())?;
    let mut models = Vec::new();
    for spec in &a.models {
        let model = super::offline::load_model(spec, &a.dir, "--model")?;
        models.push((super::features::column_name(spec), model));
    }
    let period = super::offline::read(&a.data, a.format, &cfg)?;
    let progress = tessera::train::progress::Progress::spinner("replay");
    let replayed = tessera::train::export::replay_rows(&period.dataset, &period.config)?;
    progress.finish();
    let evals = tessera::train::export::evaluate_models(&replayed, &models);
    if a.json {
        let report: serde_json::Map<String, serde_json::Value> = evals
            .iter()
            .map(|(n, e)| Ok((n.clone(), serde_json::to_value(e)?)))
            .collect::<Result<_, serde_json::Error>>()?;
        println!("{}", serde_json::to_string(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let cols: Vec<(&str, &tessera::train::metrics::Evaluation)> =
        evals.iter().map(|(n, e)| (n.as_str(), e)).collect();
    if let Some((_, e)) = cols.first() {
        println!("{} labelled events, {} attacks", e.events, e.attacks);
    }
    super::train::print_columns(&cols);
    Ok(ExitCode::SUCCESS)
}

fn decisions(a: DecisionsArgs) -> Result<ExitCode, CliError> {
    let cfg = super::load_config(a.config.as_ref())?;
    let r = match a.format {
        super::train::Format::Events => tessera::train::backtest::backtest(&a.data, &cfg)?,
        super::train::Format::Rba => {
            let label = tessera::train::rba::RbaLabel::Either;
            let (r, s) = tessera::train::rba::backtest(&a.data, label, &cfg)?;
            if !a.json {
                super::train::print_rba(&s);
            }
            r
        }
    };
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    let names =
        |s: tessera::domain::Sources| s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ");
    println!(
        "sources in use: {} · not configured: {} · failed: {}",
        names(r.sources.in_use),
        names(r.sources.not_configured),
        r.sources.failed.len()
    );
    println!(
        "held out: {} genuine, {} attacks (model {})",
        r.genuine, r.attacks, r.model_version
    );
    println!(
        "genuine challenged {:.2} % (denied {:.2} %) · attacks caught {:.2} % (OTP+KBA or deny {:.2} %)",
        100.0 * r.genuine_challenged,
        100.0 * r.genuine_denied,
        100.0 * r.attacks_caught,
        100.0 * r.attacks_escalated
    );
    for (scenario, (n, caught)) in &r.by_scenario {
        println!("  {scenario:<24} {n:>6}  challenged {caught:>6}");
    }
    Ok(ExitCode::SUCCESS)
}

fn keystroke(a: KeystrokeArgs) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let mut data = data::load(&a.data).map_err(tessera::Error::from)?;
    if let Some(ms) = a.quantize_ms {
        if !(ms.is_finite() && ms > 0.0) {
            return Err(format!("--quantize-ms: must be a positive number of ms, got {ms}").into());
        }
        data.quantize(ms);
    }
    let label = a
        .data
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| a.data.display().to_string());
    let opts = EvalOptions {
        train_reps: a.train_reps,
        curve: a.curve || a.plot.is_some(),
    };
    let report = eval::evaluate(&data, &label, &opts).map_err(tessera::Error::from)?;
    if let (Some(path), Some(curve)) = (&a.plot, &report.curve) {
        let title = format!("{label}: EER vs enrolment size");
        plot::write_curve_svg(path, &title, curve).map_err(tessera::Error::from)?;
    }
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_table(&report, a.quantize_ms);
        if let Some(p) = &a.plot {
            println!("wrote {}", p.display());
        }
        println!("({:.1} s)", started.elapsed().as_secs_f64());
    }
    Ok(ExitCode::SUCCESS)
}

fn keystroke_free(a: KeystrokeFreeArgs) -> Result<ExitCode, CliError> {
    use tessera::keystroke::free_eval::{self, DigraphVerifier, FactorVerifier};
    use tessera::keystroke::verifier::{Background, BackgroundFile, background, fit};
    let started = Instant::now();
    let data = tessera::keystroke::free_data::load(&a.data).map_err(tessera::Error::from)?;
    // Entry names need some key; the figures do not depend on which.
    let key = tessera::keystroke::digraph::TypingKey::new([0x5a; 16]);
    let (report, what) = match (a.verifier, &a.background) {
        (FreeVerifier::Digraph, Some(_)) => {
            return Err("--background: only for --verifier factor".into());
        }
        (FreeVerifier::Digraph, None) => {
            let min_weight = tessera::keystroke::digraph::TEMPLATE_MIN_WEIGHT;
            let r = free_eval::evaluate(&data, false, |_| {
                Ok::<_, CliError>(DigraphVerifier {
                    key: key.clone(),
                    min_weight,
                })
            })?;
            (r, "digraph verifier".to_string())
        }
        (FreeVerifier::Factor, Some(spec)) => {
            let text = if spec == "builtin" {
                background::BUILTIN.to_string()
            } else {
                std::fs::read_to_string(spec).map_err(|e| format!("--background {spec}: {e}"))?
            };
            let file = BackgroundFile::parse(&text)?;
            let r = free_eval::evaluate(&data, false, |_| {
                Ok::<_, CliError>(FactorVerifier {
                    key: key.clone(),
                    background: Background::new(&file, &key),
                })
            })?;
            (
                r,
                format!(
                    "factor verifier, background {spec} (optimistic on its own training users)"
                ),
            )
        }
        (FreeVerifier::Factor, None) => {
            let r = free_eval::evaluate(&data, true, |train| {
                let file = fit::fit(&data, train);
                Ok::<_, CliError>(FactorVerifier {
                    key: key.clone(),
                    background: Background::new(&file, &key),
                })
            })?;
            (
                r,
                format!(
                    "factor verifier, {}-fold user-disjoint cross-validation",
                    free_eval::FOLDS
                ),
            )
        }
    };
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_free_table(&report, &what);
    println!("({:.1} s)", started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

fn print_free_table(r: &tessera::keystroke::free_eval::FreeEvalReport, what: &str) {
    let pct = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{:.1}", 100.0 * v));
    println!("{what}: {} subjects (rates in %)", r.subjects);
    print!(
        "{:>5} {:>10} {:>10} {:>11} {:>12}",
        "enrol", "EER global", "EER mean", "FNMR@FMR1%", "insufficient"
    );
    if let Some(first) = r.results.first() {
        for b in &first.by_length {
            print!(" {:>9}", format!("EER {}", b.keys));
        }
    }
    println!();
    for e in &r.results {
        print!(
            "{:>5} {:>10} {:>10} {:>11} {:>12.1}",
            e.enrol,
            pct(e.eer_global),
            pct(e.eer_mean),
            pct(e.fnmr_at_fmr_1pct),
            100.0 * e.insufficient_share
        );
        for b in &e.by_length {
            print!(" {:>9}", pct(b.eer_global));
        }
        println!();
    }
}

fn print_table(r: &EvalReport, quantize_ms: Option<f64>) {
    let q = quantize_ms.map_or(String::new(), |m| format!(", timings rounded to {m} ms"));
    println!("{}: {} subjects{q}", r.dataset, r.subjects);
    println!(
        "{:<26} {:>9} {:>8} {:>14} {:>10}",
        "detector", "EER mean", "(SD)", "zero-miss FAR", "paper EER"
    );
    for d in &r.detectors {
        let paper = eval::paper_eer(&d.name).map_or("-".to_string(), |p| format!("{p:.4}"));
        println!(
            "{:<26} {:>9.4} {:>8.4} {:>14.3} {:>10}",
            d.name, d.eer_mean, d.eer_std, d.zero_miss_far_mean, paper
        );
    }
    println!("best: {}", r.best);
    if let Some(curve) = &r.curve {
        println!();
        println!(
            "{:<26} {:>6} {:>9} {:>8}",
            "detector", "enrol", "EER mean", "(SD)"
        );
        for p in curve {
            println!(
                "{:<26} {:>6} {:>9.4} {:>8.4}",
                p.detector, p.enrolment_reps, p.eer_mean, p.eer_std
            );
        }
    }
}
