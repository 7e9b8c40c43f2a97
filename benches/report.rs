//! `tessera report`'s stages on a seeded generated event log (300 users × 30 days, written to a
//! temporary Parquet file outside the timed loop), per event of the log (scores and outcomes,
//! criterion's throughput):
//! - `rescore`: the parsed events re-scored with the built-in model (`report::rescore::rescore`:
//!   training's replay — each batch read ahead in parallel, recorded in time order, features
//!   extracted beside — with each assessment judged by the model and the policy on the
//!   extraction side), giving the scored rows (collected in memory here);
//! - `aggregate`: every figure of the report from those rows (`report::aggregate::summarize`:
//!   the streaming first pass — timeline, KPIs joined with the outcomes in their pending
//!   window, top lists, bursts, shared devices, drift, shadow agreement, reason counts — and
//!   the second pass that gathers ids, cases and flagged events, here over the rows in memory);
//! - `sink`: what `tessera report` does with the rows (`report::Sink`): the events table
//!   written batch by batch as CSV and Parquet, the first pass, the second pass reading that
//!   Parquet file back, and every other table and the page written.
//!
//! Run: `cargo bench --bench report`. `TESSERA_REPORT_LOG=FILE` times them on that event log
//! instead (e.g. the 1,003,065-event log of `scripts/train-speed.sh`). The README's "Report
//! speed" gives figures. The heap is tuned as `tessera report` tunes it.

#[path = "support/event_log.rs"]
mod event_log;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

use tessera::config::Config;
use tessera::model::Model;
use tessera::report::aggregate::{self, Thresholds};
use tessera::report::events::Filter;
use tessera::report::rescore::{self, Shown};
use tessera::report::{Collected, Sink};
use tessera::train::{dataset, replay_engine};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    tessera::train::heap::tune_for_batch();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = event_log::event_log("TESSERA_REPORT_LOG", dir.path());
    let cfg = Config::default();
    let ds = dataset::read_dataset(&path).expect("read");
    let events = ds.events.len() as u64;
    let model: Model = tessera::engine::load_model("builtin").expect("built-in model");
    let shown = Shown {
        key: tessera::Engine::replay_key(),
        truncate_ips: false,
    };
    let engine = || {
        let e = replay_engine(&cfg).expect("engine");
        e.set_model(model.clone());
        e
    };
    let mut scored = Collected::default();
    rescore::rescore(&ds, &engine(), &shown, &mut scored, |_| {}).expect("rescore");

    let mut g = c.benchmark_group("report");
    g.throughput(Throughput::Elements(events));
    g.sample_size(10);
    g.bench_function("rescore", |b| {
        b.iter_batched(
            engine,
            // The engine goes out with the rows, so that dropping its store is not timed.
            |e| {
                let mut out = Collected::default();
                rescore::rescore(&ds, &e, &shown, &mut out, |_| {}).expect("rescore");
                (e, out)
            },
            BatchSize::PerIteration,
        )
    });
    let (rows, outcomes) = (&scored.rows, &scored.outcomes);
    let t = Thresholds::default();
    g.bench_function("aggregate", |b| {
        b.iter(|| aggregate::summarize(rows, outcomes, (None, None), &t).expect("summary"))
    });
    let window = i64::from(cfg.retention.pending_hours) * 3_600_000;
    g.bench_function("sink", |b| {
        b.iter(|| {
            let out = tempfile::tempdir().expect("temp dir");
            let mut sink =
                Sink::new(out.path(), Filter::default(), t, window, false).expect("sink");
            let mut next = outcomes.iter().peekable();
            for r in rows {
                // Outcomes after the rows they follow, as the replay hands them on.
                while let Some(o) = next.next_if(|o| o.ts_ms < r.ts_ms) {
                    sink.outcome(o.clone()).expect("outcome");
                }
                sink.row(r.clone()).expect("row");
            }
            for o in next {
                sink.outcome(o.clone()).expect("outcome");
            }
            sink.finish(None, Vec::new()).expect("finish")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
