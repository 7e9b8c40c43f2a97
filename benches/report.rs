//! `tessera report`'s stages on a seeded generated event log (300 users × 30 days, written to a
//! temporary Parquet file outside the timed loop), per event of the log (scores and outcomes,
//! criterion's throughput):
//! - `rescore`: the parsed events re-scored with the built-in model (`report::rescore::rescore`:
//!   training's replay — each batch read ahead in parallel, recorded in time order, features
//!   extracted beside — with each assessment judged by the model and the policy on the
//!   extraction side), giving the scored-events table;
//! - `aggregate`: every figure of the report from that table (`report::aggregate::summarize`:
//!   timeline, KPIs joined with the outcomes, top lists, bursts, shared devices, flagged
//!   events, drift, shadow agreement, reason counts);
//! - `tables`: the report's tables built from the summary (`Summary::tables`, the events table
//!   included), without writing them.
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
use tessera::report::rescore::{self, Shown};
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
    let (period, _) = rescore::rescore(&ds, &engine(), &shown, |_| {}).expect("rescore");

    let mut g = c.benchmark_group("report");
    g.throughput(Throughput::Elements(events));
    g.sample_size(10);
    g.bench_function("rescore", |b| {
        b.iter_batched(
            engine,
            // The engine goes out with the rows, so that dropping its store is not timed.
            |e| {
                let out = rescore::rescore(&ds, &e, &shown, |_| {}).expect("rescore");
                (e, out)
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("aggregate", |b| {
        b.iter(|| aggregate::summarize(&period, (None, None), &Thresholds::default()))
    });
    let summary = aggregate::summarize(&period, (None, None), &Thresholds::default());
    g.bench_function("tables", |b| b.iter(|| summary.tables(&period)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
