//! Batch fraud reports (`tessera report`) for analysts, supervisors and auditors. The page shell
//! and the plots come from [`crate::render`], shared with the model card and the live dashboard.
//!
//! Every input becomes one table of scored events first ([`events::Period`]): an event log
//! re-scored through the replay training uses ([`rescore`]), or the service's audit log joined
//! with its label log ([`audit_log`]). [`aggregate`] computes every figure from that table;
//! [`table`] writes each table as CSV and Parquet; the page is one self-contained HTML file.
//! Nothing here writes the profile store, and no output holds a raw user or device id or a
//! keystroke.

pub mod aggregate;
pub mod audit_log;
pub mod events;
pub mod html;
pub mod rescore;
pub mod table;

use std::path::Path;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading or writing a file failed.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line of an input file is not what it should be.
    #[error("{file}: line {line}, column {column}: {problem}")]
    Malformed {
        /// The file.
        file: String,
        /// Line, 1-based.
        line: usize,
        /// Column, 1-based (0 when unknown).
        column: usize,
        /// What is wrong (never the value).
        problem: String,
    },
    /// An event log could not be read (the error names the file, and the row and column).
    #[error(transparent)]
    Dataset(#[from] crate::train::dataset::DatasetError),
    /// Several event logs overlap in time: one history cannot be replayed from them in order.
    #[error(
        "{file}: starts before the file read before it ends; give files that do not overlap in time, named so that they sort in time order"
    )]
    Overlap {
        /// The file that starts too early.
        file: String,
    },
    /// Re-scoring failed (the replay names the event).
    #[error(transparent)]
    Replay(#[from] crate::train::TrainError),
    /// A table could not be built or written.
    #[error("table {table}: {problem}")]
    Table {
        /// The table.
        table: &'static str,
        /// What went wrong.
        problem: String,
    },
}

/// Writes every table of `summary` into `dir` (created if missing) as CSV and Parquet, and
/// `report.html` beside them; returns the tables written.
pub fn write(
    dir: &Path,
    summary: &aggregate::Summary,
    period: &events::Period,
) -> Result<Vec<table::Table>, ReportError> {
    let io = |file: &Path, source| ReportError::Io {
        file: file.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let tables = summary.tables(period);
    for t in &tables {
        t.write(dir)?;
    }
    let page = html::render(summary, period, &tables);
    let path = dir.join("report.html");
    std::fs::write(&path, page).map_err(|e| io(&path, e))?;
    Ok(tables)
}
