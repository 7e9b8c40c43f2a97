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
//! Uses the polars lazy API: scan and select the needed columns ([`scan`]); the events are read
//! in time order batch by batch by [`super::stream`] (polars' streaming engine), and each batch's
//! payloads are parsed in parallel ([`parse_batch`]).
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

/// The column holding each row's 0-based position in the file (for error messages).
pub(crate) const ROW_INDEX: &str = "__file_row";

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

/// Reads the event log at `path` (Parquet or CSV, by extension) into memory; `labels` says
/// whether `is_attack` is read. This materialises every event: [`super::stream::for_each_batch`] reads the same
/// events in the same order in bounded memory, and is what `tessera train` uses.
pub fn read_dataset_with(path: &Path, labels: LabelColumn) -> Result<Dataset, DatasetError> {
    let mut events = Vec::new();
    let description = super::stream::for_each_batch(
        path,
        labels,
        super::stream::BATCH_ROWS,
        |batch: Vec<(i64, LogEvent)>| {
            events.extend(batch);
            Ok::<(), DatasetError>(())
        },
    )?;
    Ok(Dataset {
        events,
        description,
    })
}

/// The polars error of reading `path`.
pub(crate) fn polars_error(path: &Path, source: PolarsError) -> DatasetError {
    DatasetError::Polars {
        path: path.display().to_string(),
        source,
    }
}

/// A lazy scan of the event log at `path` with its columns checked: the file row (0-based,
/// [`ROW_INDEX`]) and the needed columns, in file order (not yet sorted).
pub(crate) fn scan(path: &Path, labels: LabelColumn) -> Result<LazyFrame, DatasetError> {
    let pl = |source| polars_error(path, source);
    let format = FileFormat::of(path).ok_or_else(|| DatasetError::UnknownFormat {
        path: path.display().to_string(),
    })?;
    std::fs::metadata(path).map_err(|source| DatasetError::Io {
        path: path.display().to_string(),
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
    Ok(lf.with_row_index(ROW_INDEX, None).select(wanted))
}

impl DatasetDescription {
    /// Counts one event read at `ts_ms` (events must come in time order).
    pub fn count(&mut self, ts_ms: i64, event: &LogEvent) {
        if self.rows == 0 {
            self.first_ts_ms = ts_ms;
        }
        self.rows += 1;
        self.last_ts_ms = ts_ms;
        match event {
            LogEvent::Score {
                is_attack,
                scenario,
                ..
            } => {
                self.score_rows += 1;
                self.attack_rows += usize::from(*is_attack == Some(true));
                self.unlabelled_rows += usize::from(is_attack.is_none());
                match self.scenarios.get_mut(scenario.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        self.scenarios.insert(scenario.clone(), 1);
                    }
                }
            }
            LogEvent::Outcome(_) => self.outcome_rows += 1,
        }
    }
}

/// Why [`csv::unconverted`] stopped: a bad value, or polars.
enum Failure {
    Dataset(DatasetError),
    Polars(PolarsError),
}

impl Failure {
    fn into_dataset(self, path: &Path) -> DatasetError {
        match self {
            Failure::Dataset(d) => d,
            Failure::Polars(source) => polars_error(path, source),
        }
    }
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

/// The columns of one batch read by [`scan`].
struct Columns<'a> {
    file_row: &'a IdxCa,
    ts: &'a Int64Chunked,
    kind: &'a StringChunked,
    request_id: &'a StringChunked,
    user_id: &'a StringChunked,
    scenario: &'a StringChunked,
    is_attack: Option<&'a BooleanChunked>,
    payload: &'a StringChunked,
}

/// Parses one batch of rows of [`scan`] (any length, in time order) into events, in parallel
/// (rayon); the events keep the batch's order. The first bad row in batch order is reported.
pub(crate) fn parse_batch(
    df: &DataFrame,
    path: &Path,
) -> Result<Vec<(i64, LogEvent)>, DatasetError> {
    use rayon::prelude::*;
    let pl = |source| polars_error(path, source);
    let mut df = df.clone();
    df.rechunk_mut();
    let file_row = df.column(ROW_INDEX).and_then(|c| c.idx()).map_err(pl)?;
    // CSV: a value that did not convert is an error naming its column and row.
    csv::unconverted(&df, file_row, "ts_ms", "a whole number of ms since 1970")
        .map_err(|e| e.into_dataset(path))?;
    if df.column(LABEL_COLUMN.0).is_ok() {
        csv::unconverted(&df, file_row, LABEL_COLUMN.0, "true, false or empty")
            .map_err(|e| e.into_dataset(path))?;
    }
    let c = Columns {
        file_row,
        ts: df.column("ts_ms").and_then(|c| c.i64()).map_err(pl)?,
        kind: df.column("kind").and_then(|c| c.str()).map_err(pl)?,
        request_id: df.column("request_id").and_then(|c| c.str()).map_err(pl)?,
        user_id: df.column("user_id").and_then(|c| c.str()).map_err(pl)?,
        scenario: df.column("scenario").and_then(|c| c.str()).map_err(pl)?,
        is_attack: match df.column(LABEL_COLUMN.0) {
            Ok(c) => Some(c.bool().map_err(pl)?),
            Err(_) => None,
        },
        payload: df.column("payload").and_then(|c| c.str()).map_err(pl)?,
    };
    let limits = Limits::default();
    let parsed: Vec<Result<(i64, LogEvent), DatasetError>> = (0..df.height())
        .into_par_iter()
        .with_min_len(256)
        .map(|i| c.event(i, &limits))
        .collect();
    parsed.into_iter().collect()
}

impl Columns<'_> {
    /// The event of row `i`, checked against its columns.
    fn event(&self, i: usize, limits: &Limits) -> Result<(i64, LogEvent), DatasetError> {
        let row = self.file_row.get(i).map_or(i as u64, u64::from);
        let null = |column| DatasetError::Null { row, column };
        let mismatch = |column| DatasetError::Mismatch { row, column };
        let at = self.ts.get(i).ok_or(null("ts_ms"))?;
        let text = self.payload.get(i).ok_or(null("payload"))?;
        let bad = |source| DatasetError::Payload { row, source };
        let request_id = self.request_id.get(i).ok_or(null("request_id"))?;
        let user_id = self.user_id.get(i).ok_or(null("user_id"))?;
        match self.kind.get(i).ok_or(null("kind"))? {
            "score" => {
                let request = ScoreRequest::from_json(text).map_err(bad)?;
                let valid = ValidRequest::check(&request, limits, i64::MAX).map_err(bad)?;
                if valid.at_ms != at {
                    return Err(mismatch("ts_ms"));
                }
                if request.request_id.as_deref() != Some(request_id) {
                    return Err(mismatch("request_id"));
                }
                if request.user_id != user_id {
                    return Err(mismatch("user_id"));
                }
                let is_attack = self.is_attack.and_then(|c| c.get(i));
                let scenario = self.scenario.get(i).ok_or(null("scenario"))?.to_string();
                Ok((
                    at,
                    LogEvent::Score {
                        request,
                        is_attack,
                        scenario,
                    },
                ))
            }
            "outcome" => {
                let rec = OutcomeRecord::from_json(text).map_err(bad)?;
                if parse_timestamp("timestamp", &rec.timestamp).map_err(bad)? != at {
                    return Err(mismatch("ts_ms"));
                }
                if rec.request_id != request_id {
                    return Err(mismatch("request_id"));
                }
                if rec.user_id != user_id {
                    return Err(mismatch("user_id"));
                }
                Ok((at, LogEvent::Outcome(rec)))
            }
            _ => Err(DatasetError::UnknownKind { row }),
        }
    }
}
