//! `tessera store expire`: applies the `[retention]` windows to the configured store once, audits
//! the sweep and prints what went as JSON counts (for cron, or with `sweep_interval_s = 0`). The
//! store must not be open in a running `tessera serve` (redb refuses a second opener), and
//! neither may the audit log: when `server.audit_log` is set, it is opened first, and a log
//! another process holds (a running server) stops the command before anything is deleted. With
//! `server.audit_log = ""` the sweep is not audited, as the server would not audit it either.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use tessera::Engine;
use tessera::audit::{AuditEvent, AuditLog};
use tessera::store::ExpiryStats;

use super::{CliError, load_config};

/// Arguments of `tessera store`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Delete what the retention windows have expired, now, and audit it.
    Expire {
        /// Configuration file (TOML).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// The audit record of one retention sweep: `retention` with the records deleted and pruned per
/// table (every table, zeros included), or `status: failed` when the sweep stopped with an
/// error (it may have deleted part of what was due; the error itself is logged, not recorded).
/// Written after the sweep, whose counts are known only then, whether or not it deleted
/// anything: an auditor sees that sweeps ran.
pub(super) fn retention_event(result: &Result<ExpiryStats, tessera::Error>) -> AuditEvent {
    let mut event = AuditEvent {
        method: "retention".into(),
        ..AuditEvent::default()
    };
    match result {
        Ok(stats) => {
            for (table, t) in stats.tables() {
                event.deleted.insert(table.into(), u64::from(t.deleted));
                event.pruned.insert(table.into(), u64::from(t.pruned));
            }
        }
        Err(_) => event.status = Some("failed".into()),
    }
    event
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let Sub::Expire { config } = args.command;
    let cfg = load_config(config.as_ref())?;
    // Before the store: a log held by a running server stops the command with nothing deleted.
    let audit = match cfg.server.audit_log.trim() {
        "" => None,
        path => Some(AuditLog::open(Path::new(path), Duration::ZERO)?),
    };
    let engine = Engine::from_config(&cfg)?;
    let result = engine.expire(tessera::engine::now_ms());
    let audited = match &audit {
        Some(log) => log.append(&retention_event(&result), tessera::engine::now_ms()),
        None => Ok(()),
    };
    let stats = result?;
    println!("{}", serde_json::to_string(&stats)?);
    audited.map_err(|e| format!("the sweep ran but its audit record failed: {e}"))?;
    Ok(ExitCode::SUCCESS)
}
