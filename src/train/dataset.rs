//! Reads the labelled event log (the Parquet file `tessera gen-data` writes, a real broker export
//! in the same schema, or the same columns as CSV) into typed [`LogEvent`]s in time order, with a
//! summary; [`write_event_log`] writes one back (Parquet or CSV, by extension).
//!
//! Ground truth comes from the `is_attack` column ([`LabelColumn::Read`]), where a null means
//! "unknown": the event is replayed but not fitted. When labels come from the label log instead
//! ([`LabelColumn::Ignore`], `tessera train --labels`), the column may be absent and is not read.
//!
//! The file type is told by the extension: `.parquet` or `.csv` (any case); anything else is
//! [`DatasetError::UnknownFormat`]. A CSV file has a header row with the same column names; its
//! values are text, read as text and converted here (`ts_ms` as a 64-bit integer, `is_attack` as
//! `true`/`false` in any of three spellings, empty = null), so a value that does not convert is an error naming the column
//! and row ([`DatasetError::BadValue`]) rather than a silent null.
//!
//! Uses the polars lazy API: scan, select the needed columns, stable sort by `ts_ms`, collect.
//! Outside data never panics: a missing column, a null, or a bad payload becomes a
//! [`DatasetError`] naming the column, or the file row (0-based, header not counted) and the
//! payload field. Errors never echo a value. The RBA login layout (`train::rba`) reports its
//! problems through the same type, by file, line and column.

mod csv;
mod write;

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use serde::Serialize;

use crate::domain::validate::parse_timestamp;
use crate::domain::{InputError, Limits, OutcomeRecord, ScoreRequest, ValidRequest};

pub use write::write_event_log;

/// Columns `read_dataset` needs, with their Parquet types; [`LABEL_COLUMN`] is needed too unless
/// it is ignored. (`channel` and `ip` are conveniences duplicated from the payload and are not
/// read.)
pub const REQUIRED_COLUMNS: [(&str, &str); 6] = [
    ("ts_ms", "i64"),
    ("kind", "str"),
    ("request_id", "str"),
    ("user_id", "str"),
    ("scenario", "str"),
    ("payload", "str"),
];

/// The ground-truth column and its Parquet type (nullable: null = unknown).
pub const LABEL_COLUMN: (&str, &str) = ("is_attack", "bool");

/// Where the ground truth of score rows comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabelColumn {
    /// Read `is_attack`: the column must exist; a null value leaves the row unlabelled.
    #[default]
    Read,
    /// Do not read `is_attack` (it may be absent): every score row starts unlabelled, for labels
    /// joined later from the label log (`train::labels`).
    Ignore,
}

const ROW_INDEX: &str = "__file_row";

/// The file types [`read_dataset`] and [`write_event_log`] know, told by the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// `.parquet`: typed columns.
    Parquet,
    /// `.csv`: a header row, then text values.
    Csv,
}

impl FileFormat {
    /// The format of `path` by its extension (any case); `None` for any other.
    pub fn of(path: &Path) -> Option<FileFormat> {
        let ext = path.extension()?.to_str()?;
        if ext.eq_ignore_ascii_case("parquet") {
            Some(FileFormat::Parquet)
        } else if ext.eq_ignore_ascii_case("csv") {
            Some(FileFormat::Csv)
        } else {
            None
        }
    }
}

/// Why a dataset could not be read. Row numbers are 0-based positions in the file.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The file does not exist or cannot be opened.
    #[error("dataset {path}: {source}")]
    Io {
        /// The dataset path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Polars could not read the file (not Parquet, corrupt, …).
    #[error("dataset {path}: {source}")]
    Polars {
        /// The dataset path.
        path: String,
        /// The polars error.
        source: PolarsError,
    },
    /// The file name ends in neither `.parquet` nor `.csv`.
    #[error("dataset {path}: unknown file type: expected a .parquet or .csv file")]
    UnknownFormat {
        /// The dataset path.
        path: String,
    },
    /// A CSV value does not convert to its column's type (the value is not echoed).
    #[error("row {row}: {column}: expected {expected}")]
    BadValue {
        /// File row (0-based, header not counted).
        row: u64,
        /// The column name.
        column: &'static str,
        /// What the column holds.
        expected: &'static str,
    },
    /// A line of an RBA-layout file has a bad value; `column` is the file's column name.
    #[error("{path}: line {line}: {column}: {problem}")]
    Field {
        /// The file.
        path: String,
        /// 1-based line in the file (the header is line 1).
        line: u64,
        /// The column, as the header names it.
        column: &'static str,
        /// What is wrong (never the value).
        problem: &'static str,
    },
    /// A line of an RBA-layout file has too few or too many fields, or broken quoting.
    #[error("{path}: line {line}: {problem}")]
    Line {
        /// The file.
        path: String,
        /// 1-based line in the file.
        line: u64,
        /// What is wrong (never the text).
        problem: String,
    },
    /// The database of an RBA-layout file's geo answers could not be built.
    #[error("{path}: building its ASN database: {source}")]
    GeoDatabase {
        /// The file.
        path: String,
        /// What the writer refused.
        source: crate::geodb::GeoDbError,
    },
    /// The header of an RBA-layout file lacks a column.
    #[error("{path}: line 1: header: missing column `{column}`")]
    Header {
        /// The file.
        path: String,
        /// The missing column.
        column: &'static str,
    },
    /// A required column is absent.
    #[error("dataset: missing column `{column}`")]
    MissingColumn {
        /// The column name.
        column: &'static str,
    },
    /// A required column has the wrong type.
    #[error("dataset: column `{column}`: expected {expected}, found {found}")]
    ColumnType {
        /// The column name.
        column: &'static str,
        /// The type the contract requires.
        expected: &'static str,
        /// The type in the file.
        found: String,
    },
    /// A required value is null.
    #[error("row {row}: {column}: is null")]
    Null {
        /// File row.
        row: u64,
        /// The column name.
        column: &'static str,
    },
    /// `kind` is neither `score` nor `outcome`.
    #[error("row {row}: kind: expected \"score\" or \"outcome\"")]
    UnknownKind {
        /// File row.
        row: u64,
    },
    /// The payload does not parse or validate; `source` names the payload field.
    #[error("row {row}: payload: {source}")]
    Payload {
        /// File row.
        row: u64,
        /// What is wrong, naming the field inside the payload.
        source: InputError,
    },
    /// A column disagrees with the payload.
    #[error("row {row}: {column}: does not match the payload")]
    Mismatch {
        /// File row.
        row: u64,
        /// The column name.
        column: &'static str,
    },
}

/// One event of the log.
// Kept unboxed so callers can match on `request` directly; the extra bytes per outcome are
// irrelevant offline.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum LogEvent {
    /// A scored request with its ground truth.
    Score {
        /// The request, parsed and validated.
        request: ScoreRequest,
        /// True when an attacker sent it; `None` when unknown (replayed, not fitted).
        is_attack: Option<bool>,
        /// The generating scenario (`genuine`, `credential_stuffing`, …; free text for real logs).
        scenario: String,
    },
    /// A verified outcome about an earlier request.
    Outcome(OutcomeRecord),
}

/// Summary of a dataset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DatasetDescription {
    /// The file read.
    pub path: String,
    /// All rows.
    pub rows: usize,
    /// Score rows.
    pub score_rows: usize,
    /// Outcome rows.
    pub outcome_rows: usize,
    /// Score rows whose `is_attack` is true (0 when the column is ignored).
    pub attack_rows: usize,
    /// Score rows without ground truth: `is_attack` null, or the column ignored.
    pub unlabelled_rows: usize,
    /// Earliest `ts_ms` (0 when empty).
    pub first_ts_ms: i64,
    /// Latest `ts_ms` (0 when empty).
    pub last_ts_ms: i64,
    /// Score rows per scenario.
    pub scenarios: BTreeMap<String, usize>,
}

/// A dataset in time order (ties keep file order).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// `(ts_ms, event)`, sorted by `ts_ms`.
    pub events: Vec<(i64, LogEvent)>,
    /// Counts and time range.
    pub description: DatasetDescription,
}

/// Reads the event log at `path` (Parquet or CSV, by extension), with ground truth from its
/// `is_attack` column.
pub fn read_dataset(path: &Path) -> Result<Dataset, DatasetError> {
    read_dataset_with(path, LabelColumn::Read)
}

/// Reads the event log at `path` (Parquet or CSV, by extension); `labels` says whether
/// `is_attack` is read.
pub fn read_dataset_with(path: &Path, labels: LabelColumn) -> Result<Dataset, DatasetError> {
    let shown = path.display().to_string();
    let pl = |source| DatasetError::Polars {
        path: shown.clone(),
        source,
    };
    let format = FileFormat::of(path).ok_or_else(|| DatasetError::UnknownFormat {
        path: shown.clone(),
    })?;
    std::fs::metadata(path).map_err(|source| DatasetError::Io {
        path: shown.clone(),
        source,
    })?;
    let pl_path = PlRefPath::try_from_path(path).map_err(pl)?;
    let mut lf = match format {
        FileFormat::Parquet => {
            LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default()).map_err(pl)?
        }
        // Every column as text (schema inference off); converted below, value by value.
        FileFormat::Csv => csv::scan(pl_path).map_err(pl)?,
    };
    let schema = lf.collect_schema().map_err(pl)?;
    let mut needed: Vec<(&'static str, &'static str)> = REQUIRED_COLUMNS.to_vec();
    if labels == LabelColumn::Read {
        needed.push(LABEL_COLUMN);
    }
    for &(column, expected) in &needed {
        let found = schema
            .get(column)
            .ok_or(DatasetError::MissingColumn { column })?;
        let ok = match (format, expected) {
            (FileFormat::Csv, _) => *found == DataType::String,
            (FileFormat::Parquet, "i64") => *found == DataType::Int64,
            (FileFormat::Parquet, "bool") => *found == DataType::Boolean,
            (FileFormat::Parquet, _) => *found == DataType::String,
        };
        if !ok {
            return Err(DatasetError::ColumnType {
                column,
                expected,
                found: found.to_string(),
            });
        }
    }
    let mut wanted: Vec<Expr> = vec![col(ROW_INDEX)];
    for &(column, expected) in &needed {
        match format {
            FileFormat::Csv => wanted.extend(csv::converted(column, expected)),
            FileFormat::Parquet => wanted.push(col(column)),
        }
    }
    let df = lf
        .with_row_index(ROW_INDEX, None)
        .select(wanted)
        .sort(
            ["ts_ms"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .collect()
        .map_err(pl)?;
    events_of(&df, shown).map_err(|e| match e {
        Failure::Dataset(d) => d,
        Failure::Polars(source) => DatasetError::Polars {
            path: path.display().to_string(),
            source,
        },
    })
}

enum Failure {
    Dataset(DatasetError),
    Polars(PolarsError),
}

impl From<PolarsError> for Failure {
    fn from(e: PolarsError) -> Self {
        Failure::Polars(e)
    }
}

impl From<DatasetError> for Failure {
    fn from(e: DatasetError) -> Self {
        Failure::Dataset(e)
    }
}

fn events_of(df: &DataFrame, path: String) -> Result<Dataset, Failure> {
    let file_row = df.column(ROW_INDEX)?.idx()?;
    csv::unconverted(df, file_row, "ts_ms", "a whole number of ms since 1970")?;
    if df.column(LABEL_COLUMN.0).is_ok() {
        csv::unconverted(df, file_row, LABEL_COLUMN.0, "true, false or empty")?;
    }
    let ts = df.column("ts_ms")?.i64()?;
    let kind = df.column("kind")?.str()?;
    let request_id = df.column("request_id")?.str()?;
    let user_id = df.column("user_id")?.str()?;
    let scenario = df.column("scenario")?.str()?;
    let is_attack = match df.column(LABEL_COLUMN.0) {
        Ok(c) => Some(c.bool()?),
        Err(_) => None,
    };
    let payload = df.column("payload")?.str()?;
    let limits = Limits::default();
    let mut d = DatasetDescription {
        path,
        rows: df.height(),
        ..DatasetDescription::default()
    };
    let mut events = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let row = file_row.get(i).map_or(i as u64, u64::from);
        let null = |column| DatasetError::Null { row, column };
        let at = ts.get(i).ok_or(null("ts_ms"))?;
        let text = payload.get(i).ok_or(null("payload"))?;
        let bad = |source| DatasetError::Payload { row, source };
        let (rid, uid) = match kind.get(i).ok_or(null("kind"))? {
            "score" => {
                let request = ScoreRequest::from_json(text).map_err(bad)?;
                let valid = ValidRequest::check(&request, &limits, i64::MAX).map_err(bad)?;
                if valid.at_ms != at {
                    return Err(DatasetError::Mismatch {
                        row,
                        column: "ts_ms",
                    }
                    .into());
                }
                let attack = is_attack.and_then(|c| c.get(i));
                let name = scenario.get(i).ok_or(null("scenario"))?.to_string();
                d.score_rows += 1;
                d.attack_rows += usize::from(attack == Some(true));
                d.unlabelled_rows += usize::from(attack.is_none());
                *d.scenarios.entry(name.clone()).or_default() += 1;
                let ids = (request.request_id.clone(), request.user_id.clone());
                events.push((
                    at,
                    LogEvent::Score {
                        request,
                        is_attack: attack,
                        scenario: name,
                    },
                ));
                ids
            }
            "outcome" => {
                let rec = OutcomeRecord::from_json(text).map_err(bad)?;
                if parse_timestamp("timestamp", &rec.timestamp).map_err(bad)? != at {
                    return Err(DatasetError::Mismatch {
                        row,
                        column: "ts_ms",
                    }
                    .into());
                }
                d.outcome_rows += 1;
                let ids = (Some(rec.request_id.clone()), rec.user_id.clone());
                events.push((at, LogEvent::Outcome(rec)));
                ids
            }
            _ => return Err(DatasetError::UnknownKind { row }.into()),
        };
        if rid.as_deref() != Some(request_id.get(i).ok_or(null("request_id"))?) {
            return Err(DatasetError::Mismatch {
                row,
                column: "request_id",
            }
            .into());
        }
        if uid != user_id.get(i).ok_or(null("user_id"))? {
            return Err(DatasetError::Mismatch {
                row,
                column: "user_id",
            }
            .into());
        }
    }
    d.first_ts_ms = events.first().map_or(0, |e| e.0);
    d.last_ts_ms = events.last().map_or(0, |e| e.0);
    Ok(Dataset {
        events,
        description: d,
    })
}
