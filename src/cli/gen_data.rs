//! `tessera gen-data`: writes a seeded synthetic event log (see `data/README.md`); `--world
//! holdout` writes the independent evaluation world instead (`data/holdout-world.md`).

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
    /// Which world: `main` (the training world) or `holdout` (the independent evaluation world
    /// no model is tuned on).
    #[arg(long, value_enum, default_value_t = World::Main)]
    world: World,
}

/// The generator behind `--world`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum World {
    /// `tessera::gen_data`.
    Main,
    /// `tessera::gen_holdout`.
    Holdout,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let cfg = tessera::gen_data::GenConfig {
        users: args.users,
        days: args.days,
        seed: args.seed,
        ..Default::default()
    };
    let (rows, attacks) = match args.world {
        World::Main => {
            let rows = tessera::gen_data::generate(&cfg)?;
            tessera::gen_data::write_parquet(&rows, &args.out)?;
            (rows.len(), rows.iter().filter(|r| r.is_attack).count())
        }
        World::Holdout => {
            let rows = tessera::gen_holdout::generate(&cfg)?;
            tessera::gen_holdout::write_parquet(&rows, &args.out)?;
            (rows.len(), rows.iter().filter(|r| r.is_attack).count())
        }
    };
    println!(
        "wrote {} rows ({} attack rows) to {}",
        rows,
        attacks,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
