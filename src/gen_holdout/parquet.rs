//! [`write_parquet`]: the holdout log as a Parquet file in the event-log contract that
//! `train::dataset` reads: `ts_ms` i64, `kind` str, `request_id` str, `user_id` str, `scenario`
//! str, `is_attack` bool, `payload` str, `channel` str (null on outcomes), `ip` str (nullable).
//! Writes only; never reorders or edits rows.

use std::path::Path;

use polars::prelude::*;

use super::{GenError, Row};

/// Writes `rows` in order to `path` (created or truncated), zstd-compressed.
pub fn write_parquet(rows: &[Row], path: &Path) -> Result<(), GenError> {
    let shown = || path.display().to_string();
    let strs = |f: fn(&Row) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
    let columns = vec![
        Column::new(
            "ts_ms".into(),
            rows.iter().map(|r| r.ts_ms).collect::<Vec<i64>>(),
        ),
        Column::new("kind".into(), strs(|r| r.kind.as_str())),
        Column::new("request_id".into(), strs(|r| &r.request_id)),
        Column::new("user_id".into(), strs(|r| &r.user_id)),
        Column::new("scenario".into(), strs(|r| r.scenario.as_str())),
        Column::new(
            "is_attack".into(),
            rows.iter().map(|r| r.is_attack).collect::<Vec<bool>>(),
        ),
        Column::new("payload".into(), strs(|r| &r.payload)),
        Column::new(
            "channel".into(),
            rows.iter()
                .map(|r| r.channel)
                .collect::<Vec<Option<&str>>>(),
        ),
        Column::new(
            "ip".into(),
            rows.iter()
                .map(|r| r.ip.as_deref())
                .collect::<Vec<Option<&str>>>(),
        ),
    ];
    let polars_err = |source| GenError::Parquet {
        path: shown(),
        source,
    };
    let mut frame = DataFrame::new(rows.len(), columns).map_err(polars_err)?;
    let file = std::fs::File::create(path).map_err(|source| GenError::Io {
        path: shown(),
        source,
    })?;
    ParquetWriter::new(file)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(&mut frame)
        .map_err(polars_err)?;
    Ok(())
}
