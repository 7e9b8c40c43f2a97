//! Model artifacts: JSON files holding the model's parameters, the feature schema it was trained
//! on (names, version, hash), its metrics, training-data description and model card. An artifact
//! whose schema differs from the running build's is refused, as tantivy refuses an index of an
//! incompatible format.
//!
//! The family decides the payload: linear families (logistic regression, rules, Freeman) carry
//! `weights` and `intercept`; tree ensembles (forest, boosting) carry `trees`; the anomaly
//! mixture carries `anomaly`. Every family may carry a `calibration` (default: the raw score is
//! log-odds). Format 1 files (linear only, no calibration) still load.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::features::FeatureSchema;

/// Version of the artifact file layout written today.
pub const FORMAT_VERSION: u32 = 2;
/// Oldest layout still read (linear models without calibration).
pub const OLDEST_FORMAT_VERSION: u32 = 1;

/// What produced the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Logistic regression fitted by `tessera train`.
    LogisticRegression,
    /// Hand-set weights over the same features (the rules-only baseline).
    Rules,
    /// Freeman et al. (NDSS 2016): per-user likelihood ratios, a fixed linear model over the
    /// `freeman.*` features.
    Freeman,
    /// Random forest (smartcore), compiled to flat trees.
    Forest,
    /// Gradient-boosted trees with monotone constraints, compiled to flat trees.
    Boosting,
    /// One-sided Gaussian mixture of genuine requests (unsupervised).
    Anomaly,
}

impl ModelKind {
    /// Every family, in the order reports list them.
    pub const ALL: [ModelKind; 6] = [
        ModelKind::LogisticRegression,
        ModelKind::Forest,
        ModelKind::Boosting,
        ModelKind::Freeman,
        ModelKind::Anomaly,
        ModelKind::Rules,
    ];

    /// The name used on the command line and in reports (`logistic`, `forest`, …).
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::LogisticRegression => "logistic",
            ModelKind::Rules => "rules",
            ModelKind::Freeman => "freeman",
            ModelKind::Forest => "forest",
            ModelKind::Boosting => "boosting",
            ModelKind::Anomaly => "anomaly",
        }
    }

    /// What the artifact must carry.
    fn payload(self) -> Payload {
        match self {
            ModelKind::LogisticRegression | ModelKind::Rules | ModelKind::Freeman => {
                Payload::Linear
            }
            ModelKind::Forest | ModelKind::Boosting => Payload::Trees,
            ModelKind::Anomaly => Payload::Anomaly,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Payload {
    Linear,
    Trees,
    Anomaly,
}

/// A model artifact as stored on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// Layout version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Version string reported in every response (`model_version`).
    pub model_version: String,
    /// What produced the weights.
    pub kind: ModelKind,
    /// The feature schema the weights belong to.
    pub schema: FeatureSchema,
    /// Linear families: one weight per feature, in schema order, on the raw feature scale
    /// (log-odds of attack). Empty for the other families.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weights: Vec<f64>,
    /// Linear families: intercept (log-odds of attack at the all-zero vector).
    #[serde(default)]
    pub intercept: f64,
    /// Tree families: the compiled ensemble.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trees: Option<crate::model::trees::Ensemble>,
    /// The anomaly family: the one-sided mixture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<crate::model::anomaly::Anomaly>,
    /// Raw score → probability.
    #[serde(default)]
    pub calibration: crate::model::calibration::Calibration,
    /// Held-out metrics (free-form JSON written by `tessera train`).
    #[serde(default)]
    pub metrics: serde_json::Value,
    /// Description of the training data.
    #[serde(default)]
    pub training: serde_json::Value,
    /// Model card: intended use, limitations, how to reproduce.
    #[serde(default)]
    pub card: serde_json::Value,
    /// The neutral value of each feature, in schema order: what a source missing by design or
    /// by failure is imputed with (the mean over the genuine requests of the training set;
    /// features that lower risk are 0, so a missing source never earns trust). Empty: every
    /// feature's neutral value is 0.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub neutral: Vec<f64>,
}

/// Why an artifact cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The file could not be read or written.
    #[error("model artifact {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid artifact.
    #[error("model artifact {path}: {problem}")]
    Malformed {
        /// The file.
        path: String,
        /// What is wrong (names the field).
        problem: String,
    },
    /// The artifact was trained on another feature schema.
    #[error(
        "model artifact {path}: trained on feature schema v{found_version} ({found_hash}), this build extracts v{expected_version} ({expected_hash}); retrain with `tessera train`"
    )]
    IncompatibleSchema {
        /// The file.
        path: String,
        /// Schema version in the artifact.
        found_version: u32,
        /// Schema hash in the artifact.
        found_hash: String,
        /// Schema version of this build.
        expected_version: u32,
        /// Schema hash of this build.
        expected_hash: String,
    },
}

impl Artifact {
    /// Parses and checks an artifact; `path` only names it in errors.
    pub fn from_json(text: &str, path: &str) -> Result<Artifact, ArtifactError> {
        let malformed = |problem: String| ArtifactError::Malformed {
            path: path.to_string(),
            problem,
        };
        let art: Artifact =
            crate::domain::error::parse_json(text).map_err(|e| malformed(e.to_string()))?;
        if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&art.format_version) {
            return Err(malformed(format!(
                "format_version: not supported (expected {OLDEST_FORMAT_VERSION}–{FORMAT_VERSION})"
            )));
        }
        if !art.schema.is_consistent() {
            return Err(malformed(
                "schema.hash: does not match schema.version and schema.names".into(),
            ));
        }
        let current = FeatureSchema::current();
        if art.schema != current {
            return Err(ArtifactError::IncompatibleSchema {
                path: path.to_string(),
                found_version: art.schema.version,
                found_hash: art.schema.hash.clone(),
                expected_version: current.version,
                expected_hash: current.hash,
            });
        }
        let payload = art.kind.payload();
        if art.format_version < 2
            && (payload != Payload::Linear || art.calibration != Default::default())
        {
            return Err(malformed(
                "format_version: 1 holds only uncalibrated linear models".into(),
            ));
        }
        match payload {
            Payload::Linear => {
                if art.trees.is_some() || art.anomaly.is_some() {
                    return Err(malformed(format!(
                        "kind: {} carries weights, not trees or a mixture",
                        art.kind.name()
                    )));
                }
                if art.weights.len() != current.names.len() {
                    return Err(malformed(format!(
                        "weights: {} values for {} features",
                        art.weights.len(),
                        current.names.len()
                    )));
                }
            }
            Payload::Trees => {
                let Some(e) = &art.trees else {
                    return Err(malformed(format!(
                        "trees: required for kind {}",
                        art.kind.name()
                    )));
                };
                if !art.weights.is_empty() || art.anomaly.is_some() {
                    return Err(malformed(format!(
                        "kind: {} carries trees only",
                        art.kind.name()
                    )));
                }
                e.check().map_err(|e| malformed(format!("trees: {e}")))?;
            }
            Payload::Anomaly => {
                let Some(a) = &art.anomaly else {
                    return Err(malformed("anomaly: required for kind anomaly".into()));
                };
                if !art.weights.is_empty() || art.trees.is_some() {
                    return Err(malformed("kind: anomaly carries the mixture only".into()));
                }
                a.check().map_err(malformed)?;
            }
        }
        art.calibration.check().map_err(malformed)?;
        if let Some(i) = art.weights.iter().position(|w| !w.is_finite()) {
            return Err(malformed(format!("weights[{i}]: not a finite number")));
        }
        for (i, (w, def)) in art
            .weights
            .iter()
            .zip(crate::features::FEATURES)
            .enumerate()
        {
            if !def.direction.allows(*w) {
                return Err(malformed(format!(
                    "weights[{i}] ({}): points against the feature's direction ({:?}); a model may not let this signal move risk that way",
                    def.name, def.direction
                )));
            }
        }
        if !art.neutral.is_empty() && art.neutral.len() != current.names.len() {
            return Err(malformed(format!(
                "neutral: {} values for {} features",
                art.neutral.len(),
                current.names.len()
            )));
        }
        for (i, (v, def)) in art
            .neutral
            .iter()
            .zip(crate::features::FEATURES)
            .enumerate()
        {
            let trust = def.direction == crate::features::schema::Direction::Trust;
            if !v.is_finite() || *v < 0.0 || *v > f64::from(def.max) || (trust && *v != 0.0) {
                return Err(malformed(format!(
                    "neutral[{i}] ({}): outside 0–{} (0 for a feature that lowers risk)",
                    def.name, def.max
                )));
            }
        }
        if !art.intercept.is_finite() {
            return Err(malformed("intercept: not a finite number".into()));
        }
        if art.model_version.is_empty() || art.model_version.len() > 64 {
            return Err(malformed("model_version: must be 1–64 characters".into()));
        }
        Ok(art)
    }

    /// Reads and checks an artifact file.
    pub fn load(path: &Path) -> Result<Artifact, ArtifactError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ArtifactError::Io {
            path: name.clone(),
            source,
        })?;
        Artifact::from_json(&text, &name)
    }

    /// Writes the artifact as pretty JSON (atomically: temp file, then rename).
    pub fn save(&self, path: &Path) -> Result<(), ArtifactError> {
        let name = path.display().to_string();
        let io = |source| ArtifactError::Io {
            path: name.clone(),
            source,
        };
        let text = serde_json::to_string_pretty(self).map_err(|e| ArtifactError::Malformed {
            path: name.clone(),
            problem: e.to_string(),
        })?;
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n").map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules_json() -> String {
        serde_json::to_string(&crate::model::rules::artifact()).expect("serialize")
    }

    #[test]
    fn round_trips_and_checks_schema() {
        let text = rules_json();
        let art = Artifact::from_json(&text, "rules.json").expect("valid");
        assert_eq!(art.kind, ModelKind::Rules);

        let mut foreign: serde_json::Value = serde_json::from_str(&text).expect("json");
        foreign["schema"]["names"][0] = "typing.something_else".into();
        let names: Vec<String> =
            serde_json::from_value(foreign["schema"]["names"].clone()).expect("names");
        foreign["schema"]["hash"] =
            FeatureSchema::hash_of(crate::features::schema::SCHEMA_VERSION, &names).into();
        let err =
            Artifact::from_json(&foreign.to_string(), "old.json").expect_err("foreign schema");
        assert!(
            matches!(err, ArtifactError::IncompatibleSchema { .. }),
            "{err}"
        );

        let mut edited: serde_json::Value = serde_json::from_str(&text).expect("json");
        edited["schema"]["names"][0] = "typing.tampered".into();
        let err =
            Artifact::from_json(&edited.to_string(), "x.json").expect_err("inconsistent hash");
        assert!(err.to_string().contains("schema.hash"), "{err}");

        let mut wrong_way: serde_json::Value = serde_json::from_str(&text).expect("json");
        wrong_way["weights"][crate::features::F::DeviceAccounts24hLog as usize] = (-1.3).into();
        let err = Artifact::from_json(&wrong_way.to_string(), "x.json")
            .expect_err("shared device may not buy trust");
        assert!(err.to_string().contains("device.accounts_24h_log"), "{err}");

        let mut short: serde_json::Value = serde_json::from_str(&text).expect("json");
        short["weights"].as_array_mut().expect("array").pop();
        let err = Artifact::from_json(&short.to_string(), "x.json").expect_err("short weights");
        assert!(err.to_string().contains("weights:"), "{err}");

        let err =
            Artifact::from_json("{\"format_version\": 1}", "x.json").expect_err("missing fields");
        assert!(err.to_string().contains("x.json"), "{err}");
    }
}
