//! Streaming read of an event log in time order and in bounded memory: polars' streaming engine
//! reads the file in batches ([`BATCH_ROWS`] rows), a second thread parses each batch's payloads
//! in parallel ([`super::dataset::parse_batch`], rayon), and the caller consumes parsed batches
//! (the replay) while the next ones are read and parsed. At most [`QUEUED_BATCHES`] batches wait
//! between two stages, so memory is O(batch), whatever the file's size.
//!
//! Time order: the log must be sorted by `ts_ms` (ties keep file order), as `tessera gen-data`
//! writes it. A first streaming pass reads `ts_ms` alone and checks it; a file out of order is
//! sorted by polars' streaming engine into a temporary Parquet file beside the system's temp dir,
//! read from there and deleted afterwards.
//!
//! This module never replays, never fits and never holds the whole log.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use polars::prelude::*;

use super::dataset::{
    self, DatasetDescription, DatasetError, LabelColumn, LogEvent, ROW_INDEX, polars_error,
};

/// Rows per batch read, parsed and handed on.
pub const BATCH_ROWS: usize = 32_768;
/// Batches that may wait between two stages (reader → parser → consumer).
pub const QUEUED_BATCHES: usize = 2;

/// One parsed batch with what the parser prepared from it, or why reading stopped.
type Parsed<P> = Result<(Vec<(i64, LogEvent)>, P), DatasetError>;

/// Reads the event log at `path` in time order and calls `f` with each batch of events (at most
/// `batch_rows`, in order); returns the dataset's description. `f` runs on the calling thread;
/// its first error stops the reading and is returned.
pub fn for_each_batch<E, F>(
    path: &Path,
    labels: LabelColumn,
    batch_rows: usize,
    mut f: F,
) -> Result<DatasetDescription, E>
where
    E: From<DatasetError>,
    F: FnMut(Vec<(i64, LogEvent)>) -> Result<(), E>,
{
    for_each_batch_prepared(path, labels, batch_rows, |_| (), |events, ()| f(events))
}

/// [`for_each_batch`] with a preparation: `prepare` runs on the parsing thread right after each
/// batch is parsed (so while the caller still consumes the previous batch), and `f` receives
/// the batch with what `prepare` made of it.
pub fn for_each_batch_prepared<E, P, G, F>(
    path: &Path,
    labels: LabelColumn,
    batch_rows: usize,
    prepare: G,
    mut f: F,
) -> Result<DatasetDescription, E>
where
    E: From<DatasetError>,
    P: Send,
    G: Fn(&[(i64, LogEvent)]) -> P + Sync,
    F: FnMut(Vec<(i64, LogEvent)>, P) -> Result<(), E>,
{
    let scan = dataset::scan(path, labels)?;
    let sorted_copy = if is_sorted(scan.clone(), path)? {
        None
    } else {
        Some(sort_into_temp(scan.clone(), path)?)
    };
    let lf = match &sorted_copy {
        None => scan,
        Some(temp) => {
            let p = PlRefPath::try_from_path(&temp.0).map_err(|e| polars_error(path, e))?;
            LazyFrame::scan_parquet(p, ScanArgsParquet::default())
                .map_err(|e| polars_error(path, e))?
        }
    };
    let mut description = DatasetDescription {
        path: path.display().to_string(),
        ..DatasetDescription::default()
    };
    let batch = NonZeroUsize::new(batch_rows.max(1)).unwrap_or(NonZeroUsize::MIN);
    let prepare = &prepare;
    std::thread::scope(|s| -> Result<(), E> {
        let (frames_tx, frames_rx) = sync_channel::<Frame>(QUEUED_BATCHES);
        let (parsed_tx, parsed_rx) = sync_channel::<Parsed<P>>(QUEUED_BATCHES);
        s.spawn(move || read_frames(lf, batch, frames_tx));
        s.spawn(move || parse_frames(&frames_rx, &parsed_tx, path, prepare));
        for parsed in &parsed_rx {
            let (events, prepared) = parsed?;
            for (ts, ev) in &events {
                description.count(*ts, ev);
            }
            f(events, prepared)?;
        }
        Ok(())
        // Leaving the scope drops `parsed_rx`: on an early return the parser's next send fails,
        // it stops and drops `frames_rx`, and the reader's callback then stops polars.
    })?;
    drop(sorted_copy);
    Ok(description)
}

/// Runs `lf` with polars' streaming engine and calls `f` with each batch (at most `batch_rows`
/// rows, in order) on the calling thread while the next is read; `f`'s first error stops the
/// query and is returned.
pub fn for_each_frame<E, F>(lf: LazyFrame, batch_rows: usize, mut f: F) -> Result<(), E>
where
    E: From<PolarsError>,
    F: FnMut(DataFrame) -> Result<(), E>,
{
    let batch = NonZeroUsize::new(batch_rows.max(1)).unwrap_or(NonZeroUsize::MIN);
    std::thread::scope(|s| -> Result<(), E> {
        let (tx, rx) = sync_channel::<Frame>(QUEUED_BATCHES);
        s.spawn(move || read_frames(lf, batch, tx));
        for frame in &rx {
            match frame {
                Frame::Batch(df) => f(df)?,
                Frame::End => break,
                Frame::Failed(e) => return Err(e.into()),
            }
        }
        Ok(())
        // An early return drops `rx`: the reader's next send fails and stops polars.
    })
}

/// What the reader hands the parser: a batch, the end, or why the query failed.
enum Frame {
    Batch(DataFrame),
    End,
    Failed(PolarsError),
}

/// Runs the streaming query, sending each batch in order, then the end or the failure.
fn read_frames(lf: LazyFrame, batch: NonZeroUsize, tx: SyncSender<Frame>) {
    let sink = tx.clone();
    let callback = PlanCallback::new(move |df: DataFrame| {
        // `true` stops the query: the parser has gone (an error downstream).
        Ok(sink.send(Frame::Batch(df)).is_err())
    });
    let run = lf
        .sink_batches(callback, true, Some(batch))
        .and_then(|lf| lf.collect_with_engine(Engine::Streaming));
    let _ = tx.send(match run {
        Ok(_) => Frame::End,
        Err(e) => Frame::Failed(e),
    });
}

/// Parses (and prepares) each batch as it arrives and sends the events on, in order, until the
/// end.
fn parse_frames<P, G>(rx: &Receiver<Frame>, tx: &SyncSender<Parsed<P>>, path: &Path, prepare: &G)
where
    G: Fn(&[(i64, LogEvent)]) -> P,
{
    for frame in rx {
        let parsed = match frame {
            Frame::Batch(df) => dataset::parse_batch(&df, path).map(|events| {
                let prepared = prepare(&events);
                (events, prepared)
            }),
            Frame::End => return,
            Frame::Failed(e) => Err(polars_error(path, e)),
        };
        let failed = parsed.is_err();
        if tx.send(parsed).is_err() || failed {
            return;
        }
    }
}

/// True when `ts_ms` never decreases in file order: one streaming pass over that column alone.
fn is_sorted(scan: LazyFrame, path: &Path) -> Result<bool, DatasetError> {
    let last = Arc::new(AtomicI64::new(i64::MIN));
    let sorted = Arc::new(AtomicBool::new(true));
    let failure: Arc<Mutex<Option<PolarsError>>> = Arc::default();
    let (l, s, fail) = (last.clone(), sorted.clone(), failure.clone());
    let callback = PlanCallback::new(move |df: DataFrame| {
        // Batches arrive in order, one at a time (maintain_order).
        let ts = match df.column("ts_ms").and_then(|c| c.i64()) {
            Ok(ts) => ts,
            Err(e) => {
                if let Ok(mut slot) = fail.lock() {
                    *slot = Some(e);
                }
                return Ok(true);
            }
        };
        let mut prev = l.load(Ordering::Relaxed);
        for t in ts.iter().flatten() {
            if t < prev {
                s.store(false, Ordering::Relaxed);
                return Ok(true);
            }
            prev = t;
        }
        l.store(prev, Ordering::Relaxed);
        Ok(false)
    });
    scan.select([col("ts_ms")])
        .sink_batches(callback, true, NonZeroUsize::new(1 << 20))
        .and_then(|lf| lf.collect_with_engine(Engine::Streaming))
        .map_err(|e| polars_error(path, e))?;
    if let Some(e) = failure.lock().ok().and_then(|mut f| f.take()) {
        return Err(polars_error(path, e));
    }
    Ok(sorted.load(Ordering::Relaxed))
}

/// A temporary file, deleted when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Sorts the scan by `ts_ms` (stable: ties keep file order, and the file row travels along)
/// into a temporary Parquet file with polars' streaming engine.
fn sort_into_temp(scan: LazyFrame, path: &Path) -> Result<TempFile, DatasetError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "tessera-sorted-{}-{}.parquet",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let temp = TempFile(std::env::temp_dir().join(name));
    let pl = |e| polars_error(path, e);
    let target = PlRefPath::try_from_path(&temp.0).map_err(pl)?;
    tracing::info!(
        "event log is not sorted by ts_ms; sorting it into a temporary file with polars' \
         streaming engine"
    );
    scan.sort(
        ["ts_ms", ROW_INDEX],
        SortMultipleOptions::default().with_maintain_order(true),
    )
    .sink(
        SinkDestination::File {
            target: SinkTarget::Path(target),
        },
        FileWriteFormat::Parquet(Arc::new(ParquetWriteOptions::default())),
        UnifiedSinkArgs::default(),
    )
    .and_then(|lf| lf.collect_with_engine(Engine::Streaming))
    .map_err(pl)?;
    Ok(temp)
}
