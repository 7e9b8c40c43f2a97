//! [`ModelFiles`]: where model artifacts may be read from, and how. A reload request
//! (`POST /v1/admin/reload`) may only name `builtin`, `rules`, `active` (the model `[model]
//! dir/ACTIVE` names, see [`crate::model::active`]), or a file *inside* the configured
//! `[model] dir`: no absolute path, no `..`, no symlink leading out of it. Whatever the source, only
//! a regular file no larger than `[model] max_bytes` is read, and it is opened without blocking,
//! so a FIFO or a device never stalls a thread or fills memory.
//!
//! Errors ([`Refusal`]) say what is wrong (not found, not a regular file, too large, not a model
//! artifact and which field) and never quote the file's contents: a JSON file that is not an
//! artifact does not have its values echoed. This module must not be called on an async worker
//! (it does blocking file I/O).

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::engine::load_artifact;
use crate::model::{Artifact, ArtifactError, active};

/// Why an artifact was not loaded: a stable code for the audit log and a message for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}")]
pub struct Refusal {
    /// Stable snake_case code (`bad_path`, `not_found`, `outside_model_dir`, `not_regular_file`,
    /// `too_large`, `not_artifact`, `incompatible_schema`, `io`), recorded in the audit log.
    pub code: &'static str,
    /// What is wrong, naming no file contents.
    pub problem: String,
}

fn refuse(code: &'static str, problem: impl Into<String>) -> Refusal {
    Refusal {
        code,
        problem: problem.into(),
    }
}

/// Where an artifact name comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// The configuration (`[model] path`, `shadow`): trusted, may lie anywhere.
    Configured(&'a str),
    /// A reload request: `builtin`, `rules`, or a relative path inside `[model] dir`.
    Requested(&'a str),
}

/// The model directory and the size bound.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    dir: PathBuf,
    max_bytes: u64,
}

/// What a reload may not find: one message whether the file is missing or outside the folder,
/// so a caller learns nothing about files outside it.
const NOT_FOUND: &str = "no such artifact in the model directory";

impl ModelFiles {
    /// Reloads read from `dir`; no file over `max_bytes` is read.
    pub fn new(dir: impl Into<PathBuf>, max_bytes: u64) -> ModelFiles {
        ModelFiles {
            dir: dir.into(),
            max_bytes,
        }
    }

    /// Loads and checks the artifact `source` names. Blocking.
    pub fn load(&self, source: Source<'_>) -> Result<Artifact, Refusal> {
        let (name, path) = match source {
            Source::Configured(p) | Source::Requested(p) if p == "builtin" || p == "rules" => {
                return load_artifact(p).map_err(|e| refuse("not_artifact", e.to_string()));
            }
            // The model `[model] dir/ACTIVE` names, read through the same jail as a request.
            Source::Configured(p) | Source::Requested(p) if p == active::ACTIVE => {
                let name = active::active_name(&self.dir)
                    .map_err(|e| refuse("not_artifact", e.to_string()))?
                    .ok_or_else(|| refuse("not_found", "no model was promoted"))?;
                let rel = format!("{name}/{}", active::MODEL_FILE);
                ("the active model".to_string(), self.resolve(&rel)?)
            }
            Source::Configured(p) => (p.to_string(), PathBuf::from(p)),
            Source::Requested(p) => ("the requested artifact".to_string(), self.resolve(p)?),
        };
        let text = self.read(&path)?;
        Artifact::from_json(&text, &name).map_err(|e| match e {
            ArtifactError::Malformed { problem, .. } => {
                refuse("not_artifact", format!("not a model artifact ({problem})"))
            }
            ArtifactError::IncompatibleSchema { .. } => refuse(
                "incompatible_schema",
                "trained on another feature schema; retrain with `tessera train`",
            ),
            ArtifactError::Io { source, .. } => refuse("io", format!("read failed ({source})")),
        })
    }

    /// The canonical path of `name` inside the model directory.
    fn resolve(&self, name: &str) -> Result<PathBuf, Refusal> {
        if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
            return Err(refuse(
                "bad_path",
                "must be builtin, rules or a relative file name of 1–255 characters",
            ));
        }
        let rel = Path::new(name);
        if !rel
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(refuse(
                "bad_path",
                "must be relative to the model directory, without `..`",
            ));
        }
        let root = std::fs::canonicalize(&self.dir).map_err(|_| refuse("not_found", NOT_FOUND))?;
        let full =
            std::fs::canonicalize(root.join(rel)).map_err(|_| refuse("not_found", NOT_FOUND))?;
        if !full.starts_with(&root) {
            return Err(refuse("outside_model_dir", NOT_FOUND));
        }
        Ok(full)
    }

    /// Reads a regular file of at most `max_bytes`, never blocking on a FIFO or device.
    fn read(&self, path: &Path) -> Result<String, Refusal> {
        let not_regular = || refuse("not_regular_file", "not a regular file");
        let too_large = || {
            refuse(
                "too_large",
                format!("larger than {} bytes (model.max_bytes)", self.max_bytes),
            )
        };
        let io = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => refuse("not_found", "not found"),
            std::io::ErrorKind::PermissionDenied => refuse("io", "permission denied"),
            _ => refuse("io", "read failed"),
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if !meta.is_file() {
            return Err(not_regular());
        }
        if meta.len() > self.max_bytes {
            return Err(too_large());
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Swapped for a FIFO since the check above, the open still returns at once.
            opts.custom_flags(libc::O_NONBLOCK);
        }
        let file = opts.open(path).map_err(io)?;
        if !file.metadata().map_err(io)?.is_file() {
            return Err(not_regular());
        }
        let mut bytes = Vec::new();
        file.take(self.max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > self.max_bytes {
            return Err(too_large());
        }
        String::from_utf8(bytes)
            .map_err(|_| refuse("not_artifact", "not a model artifact (not UTF-8 text)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> ModelFiles {
        ModelFiles::new(dir, 4096)
    }

    #[test]
    fn requested_paths_stay_inside_the_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = files(dir.path());
        for (name, code) in [
            ("../../etc/passwd", "bad_path"),
            ("/etc/shadow", "bad_path"),
            ("", "bad_path"),
            ("a/../../x.json", "bad_path"),
            ("missing.json", "not_found"),
        ] {
            let e = f.load(Source::Requested(name)).expect_err(name);
            assert_eq!(e.code, code, "{name}: {e}");
        }
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("out.json")).expect("link");
        let e = f.load(Source::Requested("out.json")).expect_err("escapes");
        assert_eq!(
            (e.code, e.problem.as_str()),
            ("outside_model_dir", NOT_FOUND)
        );
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        let e = f.load(Source::Requested("sub")).expect_err("directory");
        assert_eq!(e.code, "not_regular_file");
        std::fs::write(dir.path().join("big.json"), vec![b' '; 4097]).expect("write");
        let e = f.load(Source::Requested("big.json")).expect_err("big");
        assert_eq!(e.code, "too_large");
        std::fs::write(
            dir.path().join("secret.json"),
            r#"{"secret":"alice@example.com"}"#,
        )
        .expect("write");
        let e = f
            .load(Source::Requested("secret.json"))
            .expect_err("secret");
        assert_eq!(e.code, "not_artifact");
        assert!(
            !e.problem.contains("alice") && !e.problem.contains("secret"),
            "{e}"
        );
        let fifo = dir.path().join("pipe.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        let e = f.load(Source::Requested("pipe.json")).expect_err("fifo");
        assert_eq!(e.code, "not_regular_file");
        let e = f
            .load(Source::Configured(&fifo.display().to_string()))
            .expect_err("configured fifo");
        assert_eq!(e.code, "not_regular_file");
        let art = f.load(Source::Requested("builtin")).expect("builtin");
        assert!(!art.model_version.is_empty());
    }

    #[test]
    fn active_loads_the_promoted_model_inside_the_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = ModelFiles::new(dir.path(), 1 << 20);
        let e = f
            .load(Source::Requested("active"))
            .expect_err("none promoted");
        assert_eq!(e.code, "not_found");
        let rules = crate::model::rules::artifact();
        rules
            .save(&active::artifact_path(dir.path(), "r1"))
            .expect("save");
        active::promote(dir.path(), "r1").expect("promote");
        let art = f.load(Source::Configured("active")).expect("active");
        assert_eq!(art.model_version, rules.model_version);
        // A model directory that is a symlink out of the folder stays refused.
        let outside = tempfile::tempdir().expect("tempdir");
        rules
            .save(&active::artifact_path(outside.path(), "x"))
            .expect("save");
        std::os::unix::fs::symlink(outside.path().join("x"), dir.path().join("x")).expect("link");
        std::fs::write(dir.path().join(active::ACTIVE_FILE), "x\n").expect("write");
        let e = f.load(Source::Requested("active")).expect_err("escapes");
        assert_eq!(e.code, "outside_model_dir");
    }
}
