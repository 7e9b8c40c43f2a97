//! The active model of a models directory. `models/ACTIVE` holds the name of one model
//! directory (`models/NAME/model.json`, as `tessera train` writes it); `tessera models promote
//! NAME` writes it, and `[model] path = "active"` (or a reload of `active`) serves it. A
//! promotion loads and checks the artifact first (schema, payload, feature directions, as every
//! load does), so `ACTIVE` never names a model that would be refused at start-up, and replaces
//! the file atomically (a crash leaves the old name or the new one). Never trains or scores.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{Artifact, ArtifactError};

/// The `[model] path` value that means "the model `ACTIVE` names".
pub const ACTIVE: &str = "active";
/// The pointer file inside a models directory.
pub const ACTIVE_FILE: &str = "ACTIVE";
/// The artifact inside a model directory.
pub const MODEL_FILE: &str = "model.json";
/// Longest model name, bytes.
pub const MAX_NAME_LEN: usize = 100;

/// Checks a model name: 1–100 characters of `A–Z a–z 0–9 . _ -`, not starting with `.`, so it
/// is one plain directory inside the models directory. The problem never echoes the name.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err("must be 1–100 characters");
    }
    if name.starts_with('.') {
        return Err("must not start with '.'");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err("may hold only letters, digits, '.', '_' and '-'");
    }
    Ok(())
}

/// The artifact path of model `name` in `dir`.
pub fn artifact_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name).join(MODEL_FILE)
}

/// The name `dir/ACTIVE` holds, `None` when there is no such file.
pub fn active_name(dir: &Path) -> Result<Option<String>, ArtifactError> {
    let path = dir.join(ACTIVE_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ArtifactError::Io {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let name = text.trim();
    check_name(name).map_err(|problem| ArtifactError::Malformed {
        path: path.display().to_string(),
        problem: format!("{ACTIVE_FILE}: {problem}"),
    })?;
    Ok(Some(name.to_string()))
}

/// The artifact path `[model] path` names: for `"active"`, the model `dir/ACTIVE` names (an
/// error when there is none); any other value unchanged (`builtin`, `rules`, a file).
pub fn resolve(path: &str, dir: &Path) -> Result<String, ArtifactError> {
    if path != ACTIVE {
        return Ok(path.to_string());
    }
    match active_name(dir)? {
        Some(name) => Ok(artifact_path(dir, &name).display().to_string()),
        None => Err(ArtifactError::Malformed {
            path: dir.join(ACTIVE_FILE).display().to_string(),
            problem: "model.path: \"active\" but no model was promoted (run `tessera models promote NAME`)"
                .into(),
        }),
    }
}

/// Where a model named on the command line lives: `builtin` and `rules` as they are,
/// `active` through `dir/ACTIVE`, a model directory name in `dir` (`dir/NAME/model.json`), or
/// else a path to an artifact file or to a model directory. The error names the flag, never
/// the value.
pub fn locate(spec: &str, dir: &Path, flag: &str) -> Result<String, ArtifactError> {
    if spec == "builtin" || spec == "rules" {
        return Ok(spec.to_string());
    }
    if spec == ACTIVE {
        return resolve(spec, dir);
    }
    if check_name(spec).is_ok() && artifact_path(dir, spec).is_file() {
        return Ok(artifact_path(dir, spec).display().to_string());
    }
    let p = Path::new(spec);
    if p.is_file() {
        return Ok(spec.to_string());
    }
    if p.join(MODEL_FILE).is_file() {
        return Ok(p.join(MODEL_FILE).display().to_string());
    }
    Err(ArtifactError::Malformed {
        path: dir.display().to_string(),
        problem: format!(
            "{flag}: no such model (a directory name in the models directory, a model directory or artifact file, builtin, rules or active)"
        ),
    })
}

/// Loads and checks `dir/NAME/model.json`, then makes NAME the active model by replacing
/// `dir/ACTIVE` atomically (written and synced beside it, then renamed). Returns the artifact.
/// On any error `ACTIVE` is untouched.
pub fn promote(dir: &Path, name: &str) -> Result<Artifact, ArtifactError> {
    check_name(name).map_err(|problem| ArtifactError::Malformed {
        path: dir.display().to_string(),
        problem: format!("model name: {problem}"),
    })?;
    let art = Artifact::load(&artifact_path(dir, name))?;
    let path = dir.join(ACTIVE_FILE);
    let tmp = dir.join(format!("{ACTIVE_FILE}.tmp"));
    let io = |source| ArtifactError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(format!("{name}\n").as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(io)?;
    // The rename is durable once the directory is synced (best effort: not every platform
    // can open a directory).
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(art)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(models: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("tempdir");
        for (name, json) in models {
            std::fs::create_dir_all(d.path().join(name)).expect("mkdir");
            std::fs::write(artifact_path(d.path(), name), json).expect("write");
        }
        d
    }

    fn rules_json() -> String {
        serde_json::to_string(&crate::model::rules::artifact()).expect("json")
    }

    #[test]
    fn names_are_one_plain_directory() {
        assert_eq!(check_name("lr-2026.01_a"), Ok(()));
        assert!(check_name("").is_err());
        assert!(check_name("..").is_err());
        assert!(check_name(".hidden").is_err());
        assert!(check_name("a/b").is_err());
        assert!(check_name("a\\b").is_err());
        assert!(check_name(&"x".repeat(101)).is_err());
    }

    #[test]
    fn promote_writes_active_and_resolve_follows_it() {
        let d = dir_with(&[("lr1", &rules_json())]);
        assert_eq!(active_name(d.path()).expect("read"), None);
        let err = resolve(ACTIVE, d.path()).expect_err("nothing promoted");
        assert!(err.to_string().contains("no model was promoted"), "{err}");
        let art = promote(d.path(), "lr1").expect("promote");
        assert_eq!(
            art.model_version,
            crate::model::rules::artifact().model_version
        );
        assert_eq!(
            std::fs::read_to_string(d.path().join(ACTIVE_FILE)).expect("read"),
            "lr1\n"
        );
        assert_eq!(active_name(d.path()).expect("read").as_deref(), Some("lr1"));
        assert_eq!(
            resolve(ACTIVE, d.path()).expect("resolve"),
            artifact_path(d.path(), "lr1").display().to_string()
        );
        assert_eq!(resolve("builtin", d.path()).expect("as is"), "builtin");
        assert!(!d.path().join("ACTIVE.tmp").exists());
    }

    #[test]
    fn a_bad_model_is_refused_and_active_kept() {
        // A model whose weight points against its feature's direction, and one that is not JSON.
        let mut bad = crate::model::rules::artifact();
        let i = crate::features::FEATURES
            .iter()
            .position(|f| f.direction == crate::features::schema::Direction::Risk)
            .expect("a risk feature");
        bad.weights[i] = -1.0;
        let d = dir_with(&[
            ("good", &rules_json()),
            ("against", &serde_json::to_string(&bad).expect("json")),
            ("garbage", "{not json"),
        ]);
        promote(d.path(), "good").expect("promote");
        let err = promote(d.path(), "against").expect_err("direction");
        assert!(err.to_string().contains("direction"), "{err}");
        assert!(promote(d.path(), "garbage").is_err());
        assert!(promote(d.path(), "missing").is_err());
        let err = promote(d.path(), "../good").expect_err("not a plain name");
        assert!(err.to_string().contains("model name"), "{err}");
        assert_eq!(
            active_name(d.path()).expect("read").as_deref(),
            Some("good")
        );
    }

    #[test]
    fn locate_finds_names_paths_and_keywords() {
        let d = dir_with(&[("m1", &rules_json())]);
        let m1 = artifact_path(d.path(), "m1").display().to_string();
        assert_eq!(locate("m1", d.path(), "--model").expect("name"), m1);
        assert_eq!(locate(&m1, d.path(), "--model").expect("file"), m1);
        let dir_path = d.path().join("m1").display().to_string();
        assert_eq!(locate(&dir_path, d.path(), "--model").expect("dir"), m1);
        assert_eq!(locate("rules", d.path(), "--model").expect("kw"), "rules");
        let err = locate("nope", d.path(), "--against").expect_err("missing");
        let msg = err.to_string();
        assert!(msg.contains("--against: no such model"), "{msg}");
        assert!(!msg.contains("nope"), "{msg}");
        promote(d.path(), "m1").expect("promote");
        assert_eq!(locate("active", d.path(), "--model").expect("active"), m1);
    }

    #[test]
    fn a_tampered_active_file_is_refused_without_echoing_it() {
        let d = dir_with(&[]);
        std::fs::write(d.path().join(ACTIVE_FILE), "../../etc/secret\n").expect("write");
        let err = resolve(ACTIVE, d.path()).expect_err("not a name");
        let msg = err.to_string();
        std::fs::write(d.path().join(ACTIVE_FILE), "secret/x\n").expect("write");
        let other = resolve(ACTIVE, d.path())
            .expect_err("not a name")
            .to_string();
        assert!(other.contains("ACTIVE: may hold only"), "{other}");
        assert!(!other.contains("secret"), "{other}");
        assert!(msg.contains("ACTIVE: must not start with '.'"), "{msg}");
        assert!(!msg.contains("secret"), "{msg}");
    }
}
