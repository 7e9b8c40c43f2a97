//! What the offline commands over datasets and model directories share (`backtest`,
//! `features`): reading the period in its `--format` with the replay configuration it needs,
//! and loading a model named on the command line (a directory name in `--dir`, a path,
//! `builtin`, `rules` or `active`).

use std::path::{Path, PathBuf};

use tessera::config::Config;
use tessera::model::{Model, active};
use tessera::train::dataset::{self, Dataset};

use super::CliError;
pub use super::train::Format;

/// A period to replay and the configuration to replay it with.
pub struct Period {
    /// Events in time order.
    pub dataset: Dataset,
    /// `--config` as given (event logs), or with the RBA file's own ASN database as `geo.asn`
    /// and the sources that layout lacks left out (see `train::rba::replay_config`).
    pub config: Config,
    /// The RBA file's ASN database, removed when the period is dropped.
    _asn_db: Option<TempFile>,
}

/// A file removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Reads the dataset at `path` in `format`, with `cfg` as the base configuration.
pub fn read(path: &Path, format: Format, cfg: &Config) -> Result<Period, CliError> {
    match format {
        Format::Events => Ok(Period {
            dataset: dataset::read_dataset(path).map_err(tessera::train::TrainError::from)?,
            config: cfg.clone(),
            _asn_db: None,
        }),
        Format::Rba => {
            let rba =
                tessera::train::rba::read_rba(path).map_err(tessera::train::TrainError::from)?;
            let db = match &rba.asn_database {
                Some(bytes) => {
                    let p = std::env::temp_dir()
                        .join(format!("tessera-rba-{}.asn.mmdb", std::process::id()));
                    std::fs::write(&p, bytes)
                        .map_err(|e| format!("writing the dataset's ASN database: {e}"))?;
                    Some(TempFile(p))
                }
                None => None,
            };
            let config =
                tessera::train::rba::replay_config(cfg, db.as_ref().map(|f| f.0.as_path()));
            Ok(Period {
                dataset: rba.dataset,
                config,
                _asn_db: db,
            })
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
