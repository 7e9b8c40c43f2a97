//! `tessera report (--events GLOB [--format events|rba] [--model NAME] [--shadow NAME] |
//! --audit FILE [--labels GLOB] [--anchor RECORDS:HASH]) [--from DATE] [--to DATE]
//! [--tenant T] [--truncate-ips] [--key-file FILE] [--config FILE] [--dir DIR] --out DIR`:
//! a batch fraud report. An event log is re-scored with `--model` (default: the active model
//! of `--dir`, else the built-in one) through the replay training uses; an audit log is read
//! with the decisions it recorded. Writes `DIR/report.html` and every table as CSV and
//! Parquet, and prints where.

use std::path::PathBuf;
use std::process::ExitCode;

use tessera::model::active;
use tessera::privacy::Pseudonymizer;
use tessera::report::Sink;
use tessera::report::aggregate::Thresholds;
use tessera::report::audit_log::{self, AuditInput};
use tessera::report::events::Filter;
use tessera::report::rescore::{self, Shown};
use tessera::train::progress::Progress;

use super::offline::{self, Format};
use super::{CliError, load_config};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Event logs to re-score (a path or a glob pattern: `logs/*.parquet`).
    #[arg(long, conflicts_with = "audit", required_unless_present = "audit")]
    events: Option<String>,
    /// Layout of the event logs.
    #[arg(long, value_enum, default_value_t = Format::Events)]
    format: Format,
    /// The audit log `tessera serve` wrote.
    #[arg(long)]
    audit: Option<PathBuf>,
    /// Label logs to join to the audit log (a path or a glob); without, the audit log's own
    /// outcome records.
    #[arg(long, requires = "audit")]
    labels: Option<String>,
    /// `RECORDS:HASH` (from `GET /v1/audit/head`) the audit log must still contain.
    #[arg(long, requires = "audit")]
    anchor: Option<String>,
    /// Model that re-scores the event logs (a directory name under `--dir`, a path,
    /// `builtin`, `rules` or `active`).
    #[arg(long, conflicts_with = "audit")]
    model: Option<String>,
    /// A second model judging the same features, for the shadow agreement.
    #[arg(long, conflicts_with = "audit")]
    shadow: Option<String>,
    /// First day or instant counted (`2026-11-01` or RFC 3339), UTC.
    #[arg(long)]
    from: Option<String>,
    /// Last day counted (`2026-11-30`, inclusive) or the instant counting stops (RFC 3339).
    #[arg(long)]
    to: Option<String>,
    /// Only this tenant.
    #[arg(long)]
    tenant: Option<String>,
    /// Show addresses as /24 and /48 prefixes (and group them so).
    #[arg(long)]
    truncate_ips: bool,
    /// Pseudonymisation key for the event logs' users and devices (default: the
    /// configuration's `[privacy] key_file` when it exists, so pseudonyms match the audit
    /// log's; else the fixed replay key, and the page says so).
    #[arg(long)]
    key_file: Option<PathBuf>,
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long, default_value = "models")]
    dir: PathBuf,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
}

const DAY_MS: i64 = 86_400_000;

/// `2026-11-01` (midnight UTC; `end` adds a day) or an RFC 3339 instant.
fn instant(text: &str, flag: &str, end: bool) -> Result<i64, CliError> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let ms = d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .ok_or_else(|| format!("{flag}: not a date"))?;
        return Ok(if end { ms + DAY_MS } else { ms });
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|_| format!("{flag}: expected YYYY-MM-DD or an RFC 3339 time").into())
}

/// The files `pattern` names, sorted; an error when none.
fn files(pattern: &str, flag: &str) -> Result<Vec<PathBuf>, CliError> {
    let paths = glob::glob(pattern).map_err(|e| format!("{flag}: bad pattern: {}", e.msg))?;
    let mut out = Vec::new();
    for p in paths {
        out.push(p.map_err(|e| format!("{flag}: {}: {}", e.path().display(), e.error()))?);
    }
    out.sort();
    if out.is_empty() {
        return Err(format!("{flag}: no file matches {pattern}").into());
    }
    Ok(out)
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    tessera::train::heap::tune_for_batch();
    let cfg = load_config(args.config.as_ref())?;
    let filter = Filter {
        from_ms: args
            .from
            .as_deref()
            .map(|t| instant(t, "--from", false))
            .transpose()?,
        to_ms: args
            .to
            .as_deref()
            .map(|t| instant(t, "--to", true))
            .transpose()?,
        tenant: args.tenant.clone(),
    };
    let window_ms = i64::from(cfg.retention.pending_hours).saturating_mul(3_600_000);
    let t = Thresholds::default();
    let summary = match (&args.events, &args.audit) {
        (Some(pattern), _) => {
            if args.tenant.is_some() {
                return Err(
                    "--tenant: an event log has no tenants (its requests are the \
                            default tenant's); --tenant applies to --audit"
                        .into(),
                );
            }
            let paths = files(pattern, "--events")?;
            if args.format == Format::Rba && paths.len() > 1 {
                return Err("--events: the rba layout reads one file at a time".into());
            }
            let mut sink = Sink::new(&args.out, filter, t, window_ms, false)?;
            let provenance = match events(&args, &paths, &cfg, &mut sink) {
                Ok(p) => p,
                Err(e) => {
                    sink.abandon();
                    return Err(e);
                }
            };
            sink.finish(None, provenance)?.0
        }
        (None, Some(audit)) => {
            let labels = match &args.labels {
                Some(l) => files(l, "--labels")?,
                None => Vec::new(),
            };
            let anchor = args
                .anchor
                .as_deref()
                .map(str::parse::<tessera::audit::Verified>)
                .transpose()
                .map_err(|e| format!("--anchor: {e}"))?;
            let input = AuditInput {
                audit: audit.clone(),
                labels,
                anchor,
                truncate_ips: args.truncate_ips,
            };
            let mut sink = Sink::new(&args.out, filter, t, window_ms, !input.labels.is_empty())?;
            let (compliance, provenance) = match audit_log::read(&input, &mut sink) {
                Ok(read) => read,
                Err(e) => {
                    sink.abandon();
                    return Err(e.into());
                }
            };
            sink.finish(Some(compliance), provenance)?.0
        }
        (None, None) => return Err("give --events or --audit".into()),
    };
    println!(
        "report: {} scored requests, {} outcomes -> {} (tables as CSV and Parquet beside it)",
        summary.requests,
        summary.outcomes,
        args.out.join("report.html").display(),
    );
    if let Some(c) = &summary.compliance
        && c.broken.is_some()
    {
        eprintln!("report: the audit chain does not verify; see the compliance section");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads and re-scores the event logs at `paths` into `sink`; returns what was read.
fn events(
    args: &Args,
    paths: &[PathBuf],
    cfg: &tessera::config::Config,
    sink: &mut Sink,
) -> Result<Vec<String>, CliError> {
    // The RBA layout is read whole (its reader derives the users' history and an ASN
    // database from the file); event logs are streamed.
    let rba = match args.format {
        Format::Rba => match paths.first() {
            Some(p) => Some(offline::read(p, args.format, cfg)?),
            None => return Err("--events: no file".into()),
        },
        Format::Events => None,
    };
    let config = rba
        .as_ref()
        .map_or_else(|| cfg.clone(), |r| r.config.clone());
    let engine = tessera::train::replay_engine(&config)?;
    let model = match &args.model {
        Some(m) => m.clone(),
        None if active::active_name(&args.dir)?.is_some() => active::ACTIVE.to_string(),
        None => "builtin".to_string(),
    };
    engine.set_model(offline::load_model(&model, &args.dir, "--model")?);
    if let Some(s) = &args.shadow {
        engine.set_shadow(Some(offline::load_model(s, &args.dir, "--shadow")?));
    }
    let key_path = args
        .key_file
        .clone()
        .unwrap_or(cfg.privacy.key_file.clone());
    let (key, key_note) = if args.key_file.is_some() || key_path.exists() {
        (
            Pseudonymizer::load(&key_path)?,
            format!("pseudonyms under the key {}", key_path.display()),
        )
    } else {
        (
            tessera::engine::Engine::replay_key(),
            "pseudonyms under the fixed replay key (no key file): they hide nothing from \
             someone who has Tessera; give --key-file for secret ones"
                .to_string(),
        )
    };
    let shown = Shown {
        key,
        truncate_ips: args.truncate_ips,
    };
    let progress = match &rba {
        Some(r) => Progress::new("report", r.dataset.events.len() as u64),
        None => Progress::spinner("report"),
    };
    let mut last = 0;
    let mut step = |n: usize| {
        progress.inc((n - last) as u64);
        last = n;
    };
    let done = match &rba {
        Some(r) => rescore::rescore(&r.dataset, &engine, &shown, sink, &mut step)?,
        None => rescore::rescore_files(paths, &engine, &shown, sink, &mut step)?,
    };
    progress.finish();
    let mut provenance: Vec<String> = paths
        .iter()
        .map(|p| format!("event log {}", p.display()))
        .collect();
    provenance.push(format!(
        "re-scored with {} ({}); {} repeated ids and {} refused outcomes skipped; {key_note}",
        model,
        engine.model().version(),
        done.skipped.repeated_ids,
        done.skipped.refused_outcomes
    ));
    Ok(provenance)
}
