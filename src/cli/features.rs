//! `tessera features --data FILE [--format events|rba] [--model NAME]... --out FILE.parquet`:
//! replays an event log through the live feature code (the replay training uses) and writes one
//! row per scored event — feature columns by schema name, label, scenario, event time and each
//! given model's scores — for notebooks, which never re-implement features.

use std::path::PathBuf;
use std::process::ExitCode;

use super::offline::{self, Format};
use super::{CliError, load_config};

/// Arguments of `tessera features`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset to replay.
    #[arg(long)]
    data: PathBuf,
    /// Layout of the dataset: an event log (Parquet or CSV, by extension) or the public RBA
    /// login dataset's CSV.
    #[arg(long, value_enum, default_value_t = Format::Events)]
    format: Format,
    /// Add this model's scores (`score.NAME.p_attack`, `score.NAME.trust`); a directory name
    /// in --dir, a path, builtin, rules or active. Repeatable.
    #[arg(long = "model", value_name = "NAME")]
    models: Vec<String>,
    /// Models directory the names refer to.
    #[arg(long, default_value = "models")]
    dir: PathBuf,
    /// Configuration file (geo sources, feature tunables) for the replay.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Parquet file to write.
    #[arg(long)]
    out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let cfg = load_config(args.config.as_ref())?;
    let mut models = Vec::new();
    for spec in &args.models {
        let model = offline::load_model(spec, &args.dir, "--model")?;
        let name = column_name(spec);
        models.push((name, model));
    }
    let period = offline::read(&args.data, args.format, &cfg)?;
    let progress = tessera::train::progress::Progress::spinner("replay");
    let replayed = tessera::train::export::replay_rows(&period.dataset, &period.config)?;
    progress.finish();
    let summary = tessera::train::export::export(&replayed, &models, &args.out)?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "wrote {}: {} rows ({} attacks, {} genuine, {} unlabelled), {} columns",
            args.out.display(),
            summary.rows,
            summary.attacks,
            summary.genuine,
            summary.rows - summary.attacks - summary.genuine,
            summary.columns.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The name of a model's score columns: the name as given when it is a plain model name
/// (`lr-a`, `builtin`, `active`), else the model directory's name (`models/lr-a/model.json`,
/// `models/lr-a`) or the artifact file's stem (`old/tessera-lr.json` → `tessera-lr`).
pub(crate) fn column_name(spec: &str) -> String {
    if tessera::model::active::check_name(spec).is_ok() {
        return spec.to_string();
    }
    let p = std::path::Path::new(spec);
    let part = if p
        .file_name()
        .is_some_and(|f| f == tessera::model::active::MODEL_FILE)
    {
        p.parent().and_then(|d| d.file_name())
    } else if p.extension().is_some_and(|e| e == "json") {
        p.file_stem()
    } else {
        p.file_name()
    };
    part.map_or_else(|| spec.to_string(), |s| s.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn score_columns_are_named_by_the_model() {
        use super::column_name;
        assert_eq!(column_name("lr-a"), "lr-a");
        assert_eq!(column_name("builtin"), "builtin");
        assert_eq!(column_name("models/lr-a/model.json"), "lr-a");
        assert_eq!(column_name("models/lr-a/"), "lr-a");
        assert_eq!(column_name("old/tessera-lr.json"), "tessera-lr");
    }
}
