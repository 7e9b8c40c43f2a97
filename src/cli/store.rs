//! `tessera store expire`: applies the `[retention]` windows to the configured store once and
//! prints what went as JSON counts (for cron, or with `sweep_interval_s = 0`). The store must not
//! be open in a running `tessera serve` (redb refuses a second opener).

use std::path::PathBuf;
use std::process::ExitCode;

use tessera::Engine;

use super::{CliError, load_config};

/// Arguments of `tessera store`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Delete what the retention windows have expired, now.
    Expire {
        /// Configuration file (TOML).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let Sub::Expire { config } = args.command;
    let cfg = load_config(config.as_ref())?;
    let engine = Engine::from_config(&cfg)?;
    let stats = engine.expire(tessera::engine::now_ms())?;
    println!("{}", serde_json::to_string(&stats)?);
    Ok(ExitCode::SUCCESS)
}
