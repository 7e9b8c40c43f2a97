//! `tessera audit verify FILE`: checks an audit log's hash chain; names the first broken line
//! and exits 1 when broken.

use std::path::PathBuf;
use std::process::ExitCode;

use tessera::audit::{AuditError, verify};

use super::CliError;

/// Arguments of `tessera audit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Verify the hash chain of an audit log.
    Verify {
        /// The audit log (JSON lines).
        file: PathBuf,
    },
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let Sub::Verify { file } = args.command;
    match verify(&file) {
        Ok(v) => {
            println!(
                "{}: ok, {} records, last hash {}",
                file.display(),
                v.records,
                v.last_hash
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ AuditError::Broken { .. }) => {
            println!("{e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}
