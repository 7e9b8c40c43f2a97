//! `tessera geodb build --csv FILE --out FILE`: writes a MaxMind-DB-format file from a CSV of
//! networks and attributes (see `data/README.md`).

use std::path::PathBuf;
use std::process::ExitCode;

use super::CliError;

/// Arguments of `tessera geodb`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Build a .mmdb file from a CSV.
    Build {
        /// Input CSV (e.g. data/geo/demo-geo.csv).
        #[arg(long)]
        csv: PathBuf,
        /// Output .mmdb file.
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    match args.command {
        Command::Build { csv, out } => {
            let summary = tessera::geodb::write_file(&csv, &out)?;
            println!("wrote {}: {summary:?}", out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
