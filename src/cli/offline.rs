//! What the offline commands over datasets and model directories share (`backtest`,
//! `features`): the dataset `--format`, reading the period, and loading a model named on the
//! command line (a directory name in `--dir`, a path, `builtin`, `rules` or `active`).

use std::path::Path;

use tessera::model::{Model, active};
use tessera::train::dataset::{self, Dataset};

use super::CliError;

/// Layout of the `--data` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DataFormat {
    /// The event log `tessera gen-data` writes (Parquet), or a broker export in that schema.
    Events,
    /// The risk-based-authentication login dataset layout of Wiefling et al. (CSV).
    Rba,
}

/// Reads the dataset at `path` in `format`.
pub fn read(path: &Path, format: DataFormat) -> Result<Dataset, CliError> {
    match format {
        DataFormat::Events => {
            Ok(dataset::read_dataset(path).map_err(tessera::train::TrainError::from)?)
        }
        DataFormat::Rba => {
            Err("--format rba: this build has no RBA reader yet; use --format events".into())
        }
    }
}

/// Loads the model `spec` names (see [`active::locate`]); `flag` names the option in errors.
pub fn load_model(spec: &str, dir: &Path, flag: &str) -> Result<Model, CliError> {
    let path = active::locate(spec, dir, flag)?;
    Ok(Model::from_artifact(&tessera::engine::load_artifact(
        &path,
    )?))
}
