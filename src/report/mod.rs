//! Batch fraud reports (`tessera report`) for analysts, supervisors and auditors. The page shell
//! and the plots come from [`crate::render`], shared with the model card and the live dashboard.
//!
//! Every input becomes batches of scored events and outcomes in time order first
//! ([`events::ScoredRow`]): an event log re-scored through the replay training uses
//! ([`rescore`]), or the service's audit log joined with its label log ([`audit_log`]). A
//! [`Sink`] takes them as they come: it writes the events table batch by batch and feeds
//! [`aggregate`], which keeps running aggregates only, then reads the events table back once
//! for the ids and rows its tables list. No input is ever held whole, so a log larger than
//! memory is reported in bounded memory. [`table`] writes each table as CSV and Parquet; the
//! page is one self-contained HTML file. Nothing here writes the profile store, and no output
//! holds a raw user or device id or a keystroke.

pub mod aggregate;
pub mod audit_log;
pub mod events;
pub mod html;
pub mod rescore;
pub mod table;

use std::path::{Path, PathBuf};

use aggregate::{Builder, Summary, Thresholds};
use events::{Compliance, Filter, OutcomeRow, ScoredRow};
use table::TableWriter;

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

/// Where a reader hands rows and outcomes, in time order (a request before the outcomes that
/// follow it).
pub trait Feed: Send {
    /// A scored request.
    fn row(&mut self, r: ScoredRow) -> Result<(), ReportError>;
    /// An outcome report.
    fn outcome(&mut self, o: OutcomeRow) -> Result<(), ReportError>;
}

impl Feed for Sink {
    fn row(&mut self, r: ScoredRow) -> Result<(), ReportError> {
        Sink::row(self, r)
    }

    fn outcome(&mut self, o: OutcomeRow) -> Result<(), ReportError> {
        Sink::outcome(self, o)
    }
}

/// A [`Feed`] that keeps everything in memory, in order (for tests, benches and small inputs
/// an embedding program aggregates with [`aggregate::summarize`]).
#[derive(Debug, Clone, Default)]
pub struct Collected {
    /// The rows, in time order.
    pub rows: Vec<ScoredRow>,
    /// The outcome reports, in time order.
    pub outcomes: Vec<OutcomeRow>,
}

impl Feed for Collected {
    fn row(&mut self, r: ScoredRow) -> Result<(), ReportError> {
        self.rows.push(r);
        Ok(())
    }

    fn outcome(&mut self, o: OutcomeRow) -> Result<(), ReportError> {
        self.outcomes.push(o);
        Ok(())
    }
}

/// Scored rows buffered before they are written and aggregated together.
const SINK_ROWS: usize = crate::train::stream::BATCH_ROWS;

/// Where a report's rows and outcomes go as they come, in time order (rows before the
/// outcomes that follow them): the rows the filter keeps are appended to the events table in
/// `dir` and aggregated; nothing is kept but running aggregates and the rows still inside
/// their pending window.
pub struct Sink {
    dir: PathBuf,
    filter: Filter,
    events: TableWriter,
    builder: Builder,
    rows: Vec<ScoredRow>,
    outcomes: Vec<OutcomeRow>,
    batch_rows: usize,
}

impl Sink {
    /// A report into `dir` (created if missing) of the rows `filter` keeps; requests wait
    /// `pending_window_ms` for their outcomes; `labels` when the outcomes are label lines.
    pub fn new(
        dir: &Path,
        filter: Filter,
        t: Thresholds,
        pending_window_ms: i64,
        labels: bool,
    ) -> Result<Sink, ReportError> {
        std::fs::create_dir_all(dir).map_err(|e| ReportError::Io {
            file: dir.display().to_string(),
            source: e,
        })?;
        let bounds = (filter.from_ms, filter.to_ms);
        Ok(Sink {
            dir: dir.to_path_buf(),
            filter,
            events: TableWriter::create(dir, &aggregate::events_table(&[]))?,
            builder: Builder::new(t, bounds, pending_window_ms, labels),
            rows: Vec::with_capacity(SINK_ROWS),
            outcomes: Vec::new(),
            batch_rows: SINK_ROWS,
        })
    }

    /// The same sink buffering `rows` rows (at least 1) between two flushes instead of
    /// [`SINK_ROWS`]: the report does not depend on it.
    pub fn with_batch_rows(mut self, rows: usize) -> Sink {
        self.batch_rows = rows.max(1);
        self
    }

    /// A scored request.
    pub fn row(&mut self, r: ScoredRow) -> Result<(), ReportError> {
        if self.filter.keeps(r.ts_ms, &r.tenant) {
            self.rows.push(r);
        }
        if self.rows.len() >= self.batch_rows {
            self.flush()?;
        }
        Ok(())
    }

    /// An outcome (after the request it is about).
    pub fn outcome(&mut self, o: OutcomeRow) -> Result<(), ReportError> {
        self.outcomes.push(o);
        if self.outcomes.len() >= self.batch_rows {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes and aggregates what is buffered: the rows (the table and the aggregates on two
    /// threads), then the outcomes.
    fn flush(&mut self) -> Result<(), ReportError> {
        // Requests whose window closed before anything still to feed are settled first (an
        // outcome never comes later than its request's window).
        let next = self.rows.first().map(|r| r.ts_ms);
        let next = self.outcomes.iter().map(|o| o.ts_ms).chain(next).min();
        if let Some(now) = next {
            self.builder.settle_before(now);
        }
        let rows = std::mem::take(&mut self.rows);
        if !rows.is_empty() {
            let (events, builder) = (&mut self.events, &mut self.builder);
            let (written, ()) = rayon::join(
                || events.append(&aggregate::events_table(&rows)),
                || builder.rows(&rows),
            );
            written?;
        }
        self.builder.outcomes(&self.outcomes);
        self.outcomes.clear();
        self.rows = rows;
        self.rows.clear();
        Ok(())
    }

    /// Gives up (the input failed): removes the events table written so far, so that no part of
    /// a report is left looking like one.
    pub fn abandon(self) {
        drop(self.events);
        for ext in ["csv", "parquet"] {
            let _ = std::fs::remove_file(self.dir.join(format!("events.{ext}")));
        }
    }

    /// Finishes the events table, reads it back for the second pass, and writes every other
    /// table and `report.html` beside it; returns the summary and the tables (the events
    /// table aside).
    pub fn finish(
        mut self,
        compliance: Option<Compliance>,
        provenance: Vec<String>,
    ) -> Result<(Summary, Vec<table::Table>), ReportError> {
        self.flush()?;
        self.events.finish()?;
        let events = self.dir.join("events.parquet");
        let compliance = compliance.map(|mut c| {
            self.filter.actions(&mut c);
            c
        });
        let summary = self
            .builder
            .finish(compliance, provenance, Some(&self.dir), |f| {
                read_events(&events, f)
            })?;
        let tables = summary.tables();
        // The case lists were written during the second pass.
        for t in tables.iter().filter(|t| t.written.is_none()) {
            t.write(&self.dir)?;
        }
        let page = html::render(&summary, &tables);
        let path = self.dir.join("report.html");
        std::fs::write(&path, page).map_err(|e| ReportError::Io {
            file: path.display().to_string(),
            source: e,
        })?;
        Ok((summary, tables))
    }
}

/// Reads the events table at `path` back, batch by batch, in the order it was written.
fn read_events(path: &Path, f: &mut dyn FnMut(&[ScoredRow])) -> Result<(), ReportError> {
    use polars::prelude::{LazyFrame, PlRefPath, PolarsError, ScanArgsParquet};
    let fail = |e: PolarsError| ReportError::Table {
        table: "events",
        problem: e.to_string(),
    };
    let p = PlRefPath::try_from_path(path).map_err(fail)?;
    let lf = LazyFrame::scan_parquet(p, ScanArgsParquet::default()).map_err(fail)?;
    crate::train::stream::for_each_frame(lf, SINK_ROWS, |df| -> Result<(), PolarsError> {
        f(&rows_of(&df)?);
        Ok(())
    })
    .map_err(fail)
}

/// The scored requests of one batch of the events table.
fn rows_of(df: &polars::prelude::DataFrame) -> polars::prelude::PolarsResult<Vec<ScoredRow>> {
    use polars::prelude::PolarsError;
    let text = |name: &str| df.column(name).and_then(|c| c.str());
    let int = |name: &str| df.column(name).and_then(|c| c.i64());
    let (ids, ts, tenants, users) = (
        text("event_id")?,
        int("ts_ms")?,
        text("tenant")?,
        text("user")?,
    );
    let (channels, actions, ips, asns) =
        (text("channel")?, text("action")?, text("ip")?, int("asn")?);
    let (countries, devices, decisions, trust) = (
        text("country")?,
        text("device")?,
        text("decision")?,
        int("trust")?,
    );
    let (reasons, models, shadow, shadow_trust) = (
        text("reasons")?,
        text("model_version")?,
        text("shadow_decision")?,
        int("shadow_trust")?,
    );
    let unreadable =
        || PolarsError::ComputeError("a row has no decision this version knows".into());
    let owned = |v: Option<&str>| v.map(str::to_string);
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        out.push(ScoredRow {
            ts_ms: ts.get(i).unwrap_or(0),
            tenant: owned(tenants.get(i)).unwrap_or_default(),
            request_id: owned(ids.get(i)).unwrap_or_default(),
            user: owned(users.get(i)).unwrap_or_default(),
            channel: owned(channels.get(i)).unwrap_or_default(),
            action: owned(actions.get(i)).unwrap_or_default(),
            ip: owned(ips.get(i)),
            asn: asns.get(i).and_then(|n| u32::try_from(n).ok()),
            country: owned(countries.get(i)),
            device: owned(devices.get(i)),
            decision: decisions
                .get(i)
                .and_then(events::decision_named)
                .ok_or_else(unreadable)?,
            trust: trust.get(i).and_then(|n| u8::try_from(n).ok()).unwrap_or(0),
            reasons: reasons
                .get(i)
                .map(|r| {
                    r.split(' ')
                        .filter(|c| !c.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            model_version: owned(models.get(i)).unwrap_or_default(),
            shadow_decision: shadow.get(i).and_then(events::decision_named),
            shadow_trust: shadow_trust.get(i).and_then(|n| u8::try_from(n).ok()),
            is_attack: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::events::{Reported, test_row};
    use super::*;
    use crate::domain::{Decision, OutcomeKind};

    /// Hands `rows` and `outcomes` to `sink` merged in time order.
    fn feed(sink: &mut Sink, rows: &[ScoredRow], outcomes: &[OutcomeRow]) {
        let mut next = outcomes.iter().peekable();
        for r in rows {
            while let Some(o) = next.next_if(|o| o.ts_ms < r.ts_ms) {
                sink.outcome(o.clone()).expect("outcome");
            }
            sink.row(r.clone()).expect("row");
        }
        for o in next {
            sink.outcome(o.clone()).expect("outcome");
        }
    }

    #[test]
    fn a_streamed_report_joins_every_outcome_in_its_window_whatever_the_batches() {
        const HOUR: i64 = 3_600_000;
        // A request every 4 hours for 30 days, each confirmed or passed 70 hours later, handed
        // on in time order and flushed every few rows: each request waits its window.
        let mut rows = Vec::new();
        let mut outcomes = Vec::new();
        for i in 0..180i64 {
            let decision = if i % 3 == 0 {
                Decision::Allow
            } else {
                Decision::StepUpOtp
            };
            let row = test_row(i * 4 * HOUR, "default", &format!("r{i}"), "u", decision);
            outcomes.push(OutcomeRow {
                ts_ms: row.ts_ms + 70 * HOUR,
                tenant: "default".into(),
                request_id: row.request_id.clone(),
                outcome: if i % 3 == 0 {
                    OutcomeKind::ConfirmedFraud
                } else {
                    OutcomeKind::OtpPassed
                },
                how: Reported::Made,
            });
            rows.push(row);
        }
        outcomes.sort_by_key(|o| o.ts_ms);
        let whole = aggregate::summarize(&rows, &outcomes, (None, None), &Thresholds::default())
            .expect("summary");
        for batch_rows in [7, 1, 1000] {
            let dir = tempfile::tempdir().expect("temp dir");
            let mut sink = Sink::new(
                dir.path(),
                Filter::default(),
                Thresholds::default(),
                168 * HOUR,
                false,
            )
            .expect("sink")
            .with_batch_rows(batch_rows);
            feed(&mut sink, &rows, &outcomes);
            let (s, tables) = sink.finish(None, Vec::new()).expect("finish");
            assert_eq!(
                (s.outcomes, s.unmatched_outcomes),
                (180, 0),
                "{batch_rows} rows"
            );
            assert_eq!(s.kpis, whole.kpis, "{batch_rows} rows");
            // Written batch by batch; the summary keeps the first rows for the page.
            assert_eq!((s.fraud_written, whole.fraud_cases.len()), (Some(60), 60));
            assert_eq!(s.fraud_cases, whole.fraud_cases[..aggregate::PREVIEW_ROWS]);
            let cases = std::fs::read_to_string(dir.path().join("fraud_cases.csv")).expect("csv");
            assert_eq!(cases.lines().count(), 61, "header and every case");
            assert!(tables.iter().any(|t| t.name == "kpis"));
            let events = std::fs::read_to_string(dir.path().join("events.csv")).expect("csv");
            assert_eq!(events.lines().count(), 181, "header and every row");
        }
        // An outcome after its request's window joins nothing, and says so.
        let dir = tempfile::tempdir().expect("temp dir");
        let mut sink = Sink::new(
            dir.path(),
            Filter::default(),
            Thresholds::default(),
            69 * HOUR,
            false,
        )
        .expect("sink")
        .with_batch_rows(1);
        feed(&mut sink, &rows, &outcomes);
        let (s, _) = sink.finish(None, Vec::new()).expect("finish");
        assert_eq!(
            (s.outcomes, s.unmatched_outcomes),
            (0, 180),
            "70 hours is past a 69-hour window"
        );
    }
}
