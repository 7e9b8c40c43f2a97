//! `tessera gen-data`: writes a seeded synthetic event log (see `data/README.md`), or with
//! `--format rba` a seeded file in the RBA login dataset's layout (`gen_data::rba`); `--world
//! holdout` writes the independent evaluation world instead (`data/holdout-world.md`), in the
//! same event-log layout.

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
    /// Output file: Parquet, or CSV with `--format rba`.
    #[arg(long)]
    out: PathBuf,
    /// `parquet` (the event log) or `rba` (the public RBA login dataset's CSV layout; `--days`
    /// defaults to 60 there too, starting 2020-02-03).
    #[arg(long, value_enum, default_value_t = Format::Parquet)]
    format: Format,
    /// Which world: `main` (the training world) or `holdout` (the independent evaluation world
    /// no model is tuned on; event log only).
    #[arg(long, value_enum, default_value_t = World::Main)]
    world: World,
}

/// Output layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The event log (Parquet).
    Parquet,
    /// The RBA login dataset's CSV layout.
    Rba,
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
    if args.format == Format::Rba && args.world == World::Holdout {
        return Err("--world holdout writes the event log only; it has no --format rba".into());
    }
    if args.format == Format::Rba {
        let cfg = tessera::gen_data::rba::RbaGenConfig {
            users: args.users,
            days: args.days,
            seed: args.seed,
            ..Default::default()
        };
        let logins = tessera::gen_data::rba::generate(&cfg)?;
        tessera::gen_data::rba::write_rba(&logins, &args.out)?;
        let takeovers = logins.iter().filter(|l| l.takeover).count();
        let listed = logins.iter().filter(|l| l.attack_ip).count();
        println!(
            "wrote {} logins ({takeovers} account takeover, {listed} from attack addresses) to {}",
            logins.len(),
            args.out.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
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
