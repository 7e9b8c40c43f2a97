//! `tessera gen-data`: writes a seeded synthetic event log (see `data/README.md`).

use std::path::PathBuf;
use std::process::ExitCode;

use super::CliError;

/// Arguments of `tessera gen-data`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of genuine users.
    #[arg(long, default_value_t = 2000)]
    users: usize,
    /// Days of history.
    #[arg(long, default_value_t = 60)]
    days: u32,
    /// Random seed (same seed, same file).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Output Parquet file.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let cfg = tessera::gen_data::GenConfig {
        users: args.users,
        days: args.days,
        seed: args.seed,
        ..Default::default()
    };
    let rows = tessera::gen_data::generate(&cfg)?;
    tessera::gen_data::write_parquet(&rows, &args.out)?;
    let attacks = rows.iter().filter(|r| r.is_attack).count();
    println!(
        "wrote {} rows ({} attack rows) to {}",
        rows.len(),
        attacks,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
