//! `tessera score`: reads JSON lines (stdin or `--input`), scores requests, records outcome lines
//! (`"kind": "outcome"`), and writes one JSON line per input line. A bad line gets an error line
//! naming its number and field; the rest are still processed.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Deserialize;
use serde_json::json;

use tessera::{Engine, OutcomeRecord, ScoreRequest};

use super::{CliError, load_config};

/// Arguments of `tessera score`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// JSON-lines input (default: standard input).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Configuration file (TOML).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Peek {
    kind: Option<String>,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let cfg = load_config(args.config.as_ref())?;
    let engine = Engine::from_config(&cfg)?;
    for w in engine.warnings() {
        eprintln!("tessera: warning: {w}");
    }
    let reader: Box<dyn BufRead> = match &args.input {
        Some(p) => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).map_err(|e| format!("--input {}: {e}", p.display()))?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut rejected = 0usize;
    for (i, line) in reader.lines().enumerate() {
        let number = i + 1;
        let line = line.map_err(|e| format!("reading line {number}: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let text = match process(&engine, &line) {
            Ok(text) => text,
            Err(e) => {
                rejected += 1;
                json!({"line": number, "error": {"field": e.0, "message": e.1}}).to_string()
            }
        };
        out.write_all(text.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(if rejected == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// (field, message) of a rejected line.
struct LineError(String, String);

fn from_error(e: tessera::Error) -> LineError {
    match &e {
        tessera::Error::Input(input)
        | tessera::Error::Conflict(input)
        | tessera::Error::NotFound(input) => {
            LineError(input.field().to_string(), input.to_string())
        }
        other => LineError(String::new(), other.to_string()),
    }
}

/// One output line (JSON, fields in wire order) for one input line.
fn process(engine: &Engine, line: &str) -> Result<String, LineError> {
    let peek: Peek = serde_json::from_str(line)
        .map_err(|_| LineError(".".into(), ".: not a JSON object".into()))?;
    match peek.kind.as_deref() {
        Some("outcome") => {
            let rec = OutcomeRecord::from_json(line).map_err(|e| from_error(e.into()))?;
            let effect = engine.record_outcome(&rec).map_err(from_error)?;
            let effect = format!("{effect:?}").to_lowercase();
            Ok(
                json!({"kind": "outcome_recorded", "request_id": rec.request_id, "effect": effect})
                    .to_string(),
            )
        }
        None => {
            let req = ScoreRequest::from_json(line).map_err(|e| from_error(e.into()))?;
            // A file is a recording: history replays in the events' own time (the service
            // uses its receive time instead, see `Clock`).
            let resp = engine
                .score_at(&req, tessera::engine::now_ms())
                .map_err(from_error)?;
            serde_json::to_string(&resp).map_err(|e| LineError(String::new(), e.to_string()))
        }
        Some(_) => Err(LineError(
            "kind".into(),
            "kind: unknown line kind (expected \"outcome\" or none)".to_string(),
        )),
    }
}
