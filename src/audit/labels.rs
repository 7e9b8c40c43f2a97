//! [`LabelLog`]: the label log's file, with the audit log's fail-closed rule. Each append is one
//! line (the format is [`crate::domain::LabelRecord`]'s), written and synced before it returns.
//!
//! After a failed write or sync the file is cut back to its last whole line (when the file system
//! allows) and every later append is refused until the process restarts: a half-written line
//! must never be left for the next append to run into, nor for `tessera train --labels` to read
//! as something else. [`LabelLog::open`] moves a torn last line (no newline at its end, left by a
//! crash) aside into `NAME.torn-<unix_ms>` with a warning. Never reads lines back.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{AuditError, torn};

/// An open label log. Share it; appends take `&self` and are serialised.
#[derive(Debug)]
pub struct LabelLog {
    path: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    file: File,
    /// Bytes of whole, synced lines: where to cut back to after a failed write.
    len: u64,
    /// Why appends are refused, after a failed write or sync.
    failed: Option<String>,
}

impl LabelLog {
    /// Opens (or creates) the label log at `path` (creating its directory), after moving a torn
    /// last line aside.
    pub fn open(path: &Path) -> Result<LabelLog, AuditError> {
        let io = |source| AuditError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        if path.exists()
            && let Some(from) = torn::torn_tail_start(path)?
        {
            let side = torn::move_aside(path, from, super::unix_ms())?;
            tracing::warn!(
                path = %path.display(),
                bytes = side.bytes,
                side_file = %side.name,
                "label log: torn last line moved aside"
            );
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        Ok(LabelLog {
            path: path.to_path_buf(),
            state: Mutex::new(State {
                file,
                len,
                failed: None,
            }),
        })
    }

    /// Appends `line` (one JSON line ending in `\n`) and syncs it. Refused after any earlier
    /// failure; a failure here cuts the partial line back off and refuses every later append.
    pub fn append(&self, line: &str) -> Result<(), AuditError> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let refuse = |problem: String| AuditError::Io {
            path: self.path.display().to_string(),
            source: std::io::Error::other(problem),
        };
        if let Some(problem) = &st.failed {
            return Err(refuse(format!(
                "refusing to append after an earlier failure: {problem}"
            )));
        }
        let result = st
            .file
            .write_all(line.as_bytes())
            .and_then(|()| st.file.sync_data());
        match result {
            Ok(()) => {
                st.len += line.len() as u64;
                Ok(())
            }
            Err(e) => {
                let mut problem = format!("write or sync failed: {e}");
                let len = st.len;
                if st.file.metadata().is_ok_and(|m| m.is_file())
                    && let Err(t) = st.file.set_len(len).and_then(|()| st.file.sync_all())
                {
                    problem.push_str(&format!(" (and cutting it back failed: {t})"));
                }
                tracing::error!(path = %self.path.display(), problem = %problem, "label log refuses appends");
                st.failed = Some(problem.clone());
                Err(refuse(problem))
            }
        }
    }

    /// `Ok(())` while appends are accepted; otherwise why they are refused (an I/O error's text:
    /// no line contents, no ids). Refusal lasts until the process restarts.
    pub fn health(&self) -> Result<(), String> {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match &st.failed {
            Some(problem) => Err(format!("appends refused: {problem}")),
            None => Ok(()),
        }
    }
}
