//! The command line: one clap `Command` per subcommand, each a short file over the library.

mod audit;
mod backtest;
mod demo;
mod eval;
mod features;
mod gen_data;
mod geodb;
mod models;
mod offline;
mod report;
mod score;
mod serve;
mod store;
mod train;
mod train_typing;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use tessera::config::Config;

/// Boxed error for the binary: every library error is readable through its cause chain.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

/// Tessera: risk scoring and behavioural biometrics for chat authentication.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Score requests (and record outcomes) from JSON lines; one output line per input line.
    Score(score::Args),
    /// Build or inspect MaxMind-format geo databases.
    Geodb(geodb::Args),
    /// Generate a seeded, labelled synthetic event log (Parquet).
    GenData(gen_data::Args),
    /// Train a model from an event log and write its artifact.
    Train(train::Args),
    /// Fit the typing verifier's population background on a free-text typing file.
    TrainTyping(train_typing::Args),
    /// Model directories: `models list`, `models compare A B`, `models promote NAME`.
    Models(models::Args),
    /// Replay a period with a candidate and the active model: decision rates side by side.
    Backtest(backtest::Args),
    /// Replay an event log and write its feature rows (and model scores) to Parquet.
    Features(features::Args),
    /// Evaluate components on benchmark data (`eval keystroke`).
    Eval(eval::Args),
    /// Run the HTTP scoring service.
    Serve(serve::Args),
    /// Batch fraud report over event logs or the audit and label logs: report.html and tables.
    Report(report::Args),
    /// Audit-log tools (`audit verify FILE`).
    Audit(audit::Args),
    /// Store maintenance (`store expire`: apply the retention windows now).
    Store(store::Args),
    /// End-to-end demo on embedded defaults: generate data, train, score showcase requests.
    Demo(demo::Args),
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Score(a) => score::run(a),
        Command::Geodb(a) => geodb::run(a),
        Command::GenData(a) => gen_data::run(a),
        Command::Train(a) => train::run(a),
        Command::TrainTyping(a) => train_typing::run(a),
        Command::Models(a) => models::run(a),
        Command::Backtest(a) => backtest::run(a),
        Command::Features(a) => features::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Report(a) => report::run(a),
        Command::Audit(a) => audit::run(a),
        Command::Store(a) => store::run(a),
    }
}

/// Loads `--config FILE`, or the defaults when absent.
pub fn load_config(path: Option<&PathBuf>) -> Result<Config, CliError> {
    Ok(match path {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    })
}
