//! Moving a torn tail aside: the bytes after a log's last whole line go, unchanged, into a side
//! file beside it (`NAME.torn-<unix_ms>`), and the log is cut back to its whole lines. Used by
//! the audit log and the label log when they open after a crash or a full disk.
//!
//! Order: the side file is written and synced, then the log is truncated and synced, then the
//! directory is synced. A crash in between leaves the torn bytes in both places or in the side
//! file, never in neither. Side files are only ever created here; the only one ever deleted is
//! one this call created and could not write whole.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::AuditError;

/// A side file: its name (beside the log), size and blake3 hash (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SideFile {
    pub name: String,
    pub bytes: u64,
    pub blake3: String,
}

fn io_at(path: &Path) -> impl Fn(std::io::Error) -> AuditError + '_ {
    move |source| AuditError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The log's file name (the side files' prefix is `NAME.torn-`).
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The directory holding `path` (`.` for a bare file name).
fn dir_of(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Moves the bytes of `path` from `from` to its end into a new side file, truncates `path` to
/// `from` and syncs both and the directory. Returns the side file.
pub(super) fn move_aside(path: &Path, from: u64, now_ms: i64) -> Result<SideFile, AuditError> {
    let io = io_at(path);
    let mut log = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(&io)?;
    log.seek(SeekFrom::Start(from)).map_err(&io)?;
    let mut torn = Vec::new();
    log.read_to_end(&mut torn).map_err(&io)?;
    let dir = dir_of(path);
    let base = format!("{}.torn-{now_ms}", file_name(path));
    let (name, mut side) = (0..100)
        .map(|n| match n {
            0 => base.clone(),
            n => format!("{base}-{n}"),
        })
        .find_map(|name| {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(dir.join(&name))
                .ok()
                .map(|f| (name, f))
        })
        .ok_or_else(|| {
            io(std::io::Error::other(format!(
                "cannot create a side file {base} for a torn tail"
            )))
        })?;
    if let Err(e) = side.write_all(&torn).and_then(|()| side.sync_all()) {
        // Ours, just created and not complete: it must not pass for a whole side file later.
        drop(side);
        let _ = std::fs::remove_file(dir.join(&name));
        return Err(io(std::io::Error::other(format!("side file {name}: {e}"))));
    }
    log.set_len(from)
        .and_then(|()| log.sync_all())
        .map_err(&io)?;
    sync_dir(dir).map_err(&io)?;
    Ok(SideFile {
        name,
        bytes: torn.len() as u64,
        blake3: blake3::hash(&torn).to_hex().to_string(),
    })
}

/// Syncs a directory, so that files created or resized in it survive a crash (no-op off unix).
pub(super) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Side files beside `path` (`NAME.torn-…`) whose names are not in `known`, sorted by name.
pub(super) fn unrecorded(path: &Path, known: &[&str]) -> Result<Vec<SideFile>, AuditError> {
    let io = io_at(path);
    let prefix = format!("{}.torn-", file_name(path));
    let dir = dir_of(path);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(&io)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with(&prefix) && !known.contains(&n.as_str()))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(dir.join(&name)).map_err(&io)?;
            Ok(SideFile {
                bytes: bytes.len() as u64,
                blake3: blake3::hash(&bytes).to_hex().to_string(),
                name,
            })
        })
        .collect()
}

/// Offset just past the last `\n` of the regular file at `path` (0 when it has none); `None`
/// when the file is empty, ends with `\n`, or is not a regular file (`/dev/full`).
pub(super) fn torn_tail_start(path: &Path) -> Result<Option<u64>, AuditError> {
    let io = io_at(path);
    let meta = std::fs::metadata(path).map_err(&io)?;
    let len = meta.len();
    if !meta.is_file() || len == 0 {
        return Ok(None);
    }
    let mut f = File::open(path).map_err(&io)?;
    let mut end = len;
    let mut chunk = vec![0u8; 4096];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let n = usize::try_from(end - start).expect("at most the chunk's length");
        let part = chunk.get_mut(..n).expect("n is at most the chunk's length");
        f.seek(SeekFrom::Start(start)).map_err(&io)?;
        f.read_exact(part).map_err(&io)?;
        if end == len && part.last() == Some(&b'\n') {
            return Ok(None);
        }
        if let Some(i) = part.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(start + i as u64 + 1));
        }
        end = start;
    }
    Ok(Some(0))
}
