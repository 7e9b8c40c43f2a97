//! [`write_event_log`]: a [`Dataset`] back to the event-log contract `read_dataset` reads, as
//! Parquet (zstd) or CSV by extension, so a dataset read from another layout (`train::rba`) can
//! be kept, inspected in a notebook, or trained on by any command that takes an event log.
//!
//! Columns: `ts_ms` i64, `kind` str, `request_id` str, `user_id` str, `scenario` str (an outcome
//! row carries the scenario of the request it verifies, null if that request is not in the
//! dataset), `is_attack` bool (null when unknown and on outcome rows), `payload` str (the JSON
//! line). Rows keep the dataset's order. This module only writes; it never reads or sorts.

use std::collections::HashMap;
use std::path::Path;

use polars::prelude::*;

use super::{Dataset, DatasetError, FileFormat, LogEvent};

/// Writes `ds` to `path` (created or truncated): Parquet for `.parquet`, CSV with a header row
/// for `.csv`; any other extension is [`DatasetError::UnknownFormat`].
pub fn write_event_log(ds: &Dataset, path: &Path) -> Result<(), DatasetError> {
    let shown = path.display().to_string();
    let pl = |source| DatasetError::Polars {
        path: shown.clone(),
        source,
    };
    let format = FileFormat::of(path).ok_or_else(|| DatasetError::UnknownFormat {
        path: shown.clone(),
    })?;
    let n = ds.events.len();
    let (mut ts, mut kind, mut request_id, mut user_id) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut scenario, mut is_attack, mut payload) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut scenario_of: HashMap<&str, &str> = HashMap::new();
    for (at, ev) in &ds.events {
        ts.push(*at);
        match ev {
            LogEvent::Score {
                request,
                is_attack: label,
                scenario: name,
            } => {
                let rid = request.request_id.as_deref().unwrap_or("");
                scenario_of.insert(rid, name.as_str());
                kind.push("score");
                request_id.push(Some(rid.to_owned()));
                user_id.push(request.user_id.clone());
                scenario.push(Some(name.clone()));
                is_attack.push(*label);
                payload.push(serde_json::to_string(request).unwrap_or_default());
            }
            LogEvent::Outcome(rec) => {
                kind.push("outcome");
                request_id.push(Some(rec.request_id.clone()));
                user_id.push(rec.user_id.clone());
                scenario.push(
                    scenario_of
                        .get(rec.request_id.as_str())
                        .map(|s| (*s).to_owned()),
                );
                is_attack.push(None);
                payload.push(serde_json::to_string(rec).unwrap_or_default());
            }
        }
    }
    let columns = vec![
        Column::new("ts_ms".into(), ts),
        Column::new("kind".into(), kind),
        Column::new("request_id".into(), request_id),
        Column::new("user_id".into(), user_id),
        Column::new("scenario".into(), scenario),
        Column::new("is_attack".into(), is_attack),
        Column::new("payload".into(), payload),
    ];
    let mut df = DataFrame::new(n, columns).map_err(pl)?;
    let file = std::fs::File::create(path).map_err(|source| DatasetError::Io {
        path: shown.clone(),
        source,
    })?;
    match format {
        FileFormat::Parquet => ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut df)
            .map(|_| ())
            .map_err(pl),
        FileFormat::Csv => CsvWriter::new(file)
            .include_header(true)
            .finish(&mut df)
            .map_err(pl),
    }
}
