//! `tessera audit verify FILE [--anchor RECORDS:HASH]`: checks an audit log's hash chain (and,
//! with an anchor, that the log was not cut back); names the first broken line and exits 1 when
//! broken. After the `ok` line it prints one line per torn tail that `tessera serve` moved aside
//! (`recovery at record N: B bytes moved aside to FILE`).

use std::path::PathBuf;
use std::process::ExitCode;

use tessera::audit::{AuditError, Verified, verify_report};

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
        /// A head taken earlier (`GET /v1/audit/head`), as RECORDS:HASH: also check that this
        /// record is still there with this hash (catches a log cut from its end).
        #[arg(long, value_name = "RECORDS:HASH")]
        anchor: Option<String>,
    },
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let Sub::Verify { file, anchor } = args.command;
    let anchor = anchor
        .map(|a| a.parse::<Verified>())
        .transpose()
        .map_err(|e| format!("--anchor: {e}"))?;
    match verify_report(&file, anchor.as_ref()) {
        Ok(r) => {
            println!(
                "{}: ok, {} records, last hash {}",
                file.display(),
                r.head.records,
                r.head.last_hash
            );
            for rec in &r.recoveries {
                println!(
                    "recovery at record {}: {} bytes moved aside to {}",
                    rec.record, rec.bytes, rec.file
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ AuditError::Broken { .. }) => {
            println!("{e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}
