//! [`write_parquet`]: the event log as a Parquet file (the dataset contract read by
//! `train::dataset`). Columns: `ts_ms` i64, `kind` str, `request_id` str, `user_id` str,
//! `scenario` str, `is_attack` bool, `payload` str, `channel` str (nullable), `ip` str (nullable).

use std::path::Path;

use polars::prelude::*;

use super::{GenError, LogRow};

/// Writes `rows` in order to `path` (created or truncated), zstd-compressed.
pub fn write_parquet(rows: &[LogRow], path: &Path) -> Result<(), GenError> {
    let shown = path.display().to_string();
    let parquet_err = |source| GenError::Parquet {
        path: shown.clone(),
        source,
    };
    let columns = vec![
        Column::new(
            "ts_ms".into(),
            rows.iter().map(|r| r.ts_ms).collect::<Vec<i64>>(),
        ),
        Column::new(
            "kind".into(),
            rows.iter().map(|r| r.kind.as_str()).collect::<Vec<&str>>(),
        ),
        Column::new(
            "request_id".into(),
            rows.iter()
                .map(|r| r.request_id.as_str())
                .collect::<Vec<&str>>(),
        ),
        Column::new(
            "user_id".into(),
            rows.iter()
                .map(|r| r.user_id.as_str())
                .collect::<Vec<&str>>(),
        ),
        Column::new(
            "scenario".into(),
            rows.iter()
                .map(|r| r.scenario.as_str())
                .collect::<Vec<&str>>(),
        ),
        Column::new(
            "is_attack".into(),
            rows.iter().map(|r| r.is_attack).collect::<Vec<bool>>(),
        ),
        Column::new(
            "payload".into(),
            rows.iter()
                .map(|r| r.payload.as_str())
                .collect::<Vec<&str>>(),
        ),
        Column::new(
            "channel".into(),
            rows.iter()
                .map(|r| r.channel.as_deref())
                .collect::<Vec<Option<&str>>>(),
        ),
        Column::new(
            "ip".into(),
            rows.iter()
                .map(|r| r.ip.as_deref())
                .collect::<Vec<Option<&str>>>(),
        ),
    ];
    let mut df = DataFrame::new(rows.len(), columns).map_err(parquet_err)?;
    let file = std::fs::File::create(path).map_err(|source| GenError::Io {
        path: shown.clone(),
        source,
    })?;
    ParquetWriter::new(file)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(&mut df)
        .map_err(parquet_err)?;
    Ok(())
}
