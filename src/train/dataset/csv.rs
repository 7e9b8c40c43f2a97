//! The CSV side of `read_dataset`: scan every column as text, convert the typed ones in the
//! lazy plan (`ts_ms` to a 64-bit integer, `is_attack` from `true`/`false` in three spellings),
//! keep a text copy of each, and afterwards name the first row whose text did not convert — so a
//! bad value is an error naming its column and row, never a silent null, and never echoed.

use polars::prelude::*;

use super::{DatasetError, Failure};

/// Prefix of the text copies of converted columns (to tell a bad value from a null).
const RAW: &str = "__raw_";

/// A lazy scan of the CSV file at `path`: header row, every column as text.
pub(super) fn scan(path: PlRefPath) -> PolarsResult<LazyFrame> {
    LazyCsvReader::new(path)
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .finish()
}

/// The expressions selecting `column`, whose contract type is `expected` (`i64`, `bool` or
/// `str`): the converted column under its own name and, for converted ones, its text copy.
pub(super) fn converted(column: &'static str, expected: &str) -> Vec<Expr> {
    let raw = || col(column).alias(format!("{RAW}{column}"));
    match expected {
        "i64" => vec![col(column).cast(DataType::Int64).alias(column), raw()],
        "bool" => {
            let spelt = |words: [&str; 3]| {
                words
                    .into_iter()
                    .map(|w| col(column).eq(lit(w)))
                    .reduce(Expr::or)
                    .unwrap_or_else(|| lit(false))
            };
            let value = when(spelt(["true", "True", "TRUE"]))
                .then(lit(true))
                .when(spelt(["false", "False", "FALSE"]))
                .then(lit(false))
                .otherwise(lit(NULL).cast(DataType::Boolean))
                .alias(column);
            vec![value, raw()]
        }
        _ => vec![col(column)],
    }
}

/// For a converted column: the first row whose text did not convert (null after, not before),
/// as a [`DatasetError::BadValue`]. Nothing to check when the frame has no text copy (Parquet).
pub(super) fn unconverted(
    df: &DataFrame,
    file_row: &IdxCa,
    column: &'static str,
    expected: &'static str,
) -> Result<(), Failure> {
    let Ok(raw) = df.column(&format!("{RAW}{column}")) else {
        return Ok(());
    };
    let raw = raw.str()?;
    let converted = df.column(column)?;
    for i in 0..df.height() {
        let lost = match converted.get(i) {
            Ok(v) => v.is_null(),
            Err(_) => true,
        };
        if raw.get(i).is_some() && lost {
            let row = file_row.get(i).map_or(i as u64, u64::from);
            return Err(DatasetError::BadValue {
                row,
                column,
                expected,
            }
            .into());
        }
    }
    Ok(())
}
