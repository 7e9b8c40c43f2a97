//! Training's replay path on a seeded generated event log (300 users × 30 days, written to a
//! temporary Parquet file outside the timed loop), per event (criterion's throughput):
//! - `read_parse`: polars' streaming read in batches with the payloads parsed in parallel
//!   (`train::dataset::read_dataset`, which collects the stream);
//! - `replay`: the parsed events against a fresh memory store (`train::replay::replay`: each
//!   batch's events prepared on their own in parallel — `Engine::prepare_assessment` /
//!   `prepare_outcome` — then recorded in time order, `record_assessment` / `finish_outcome`,
//!   while the step before has its features extracted, `extract_assessment`);
//! - `prepare`: both overlapped, as `tessera train` runs them (`train::prepare`), with the time
//!   split and imputation.
//!
//! Run: `cargo bench --bench replay`. `TESSERA_REPLAY_LOG=FILE` times the three on that event log
//! instead (e.g. the 1,003,065-event log of `scripts/train-speed.sh`: `replay` then measures the
//! replay stage alone at that scale, on events already read and parsed). The README's "Training
//! speed" gives figures; the whole-train figures come from `scripts/train-speed.sh`. The heap is
//! tuned as `tessera train` tunes it (`train::heap::tune_for_batch`).

#[path = "support/event_log.rs"]
mod event_log;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

use tessera::config::Config;
use tessera::train::{LabelOptions, dataset, prepare, replay, replay_engine};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    // The heap as `tessera train` sets it: freed pages kept.
    tessera::train::heap::tune_for_batch();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = event_log::event_log("TESSERA_REPLAY_LOG", dir.path());
    let cfg = Config::default();
    let ds = dataset::read_dataset(&path).expect("read");
    let events = ds.events.len() as u64;

    let mut g = c.benchmark_group("replay");
    g.throughput(Throughput::Elements(events));
    g.sample_size(10);
    g.bench_function("read_parse", |b| {
        b.iter(|| dataset::read_dataset(&path).expect("read"))
    });
    g.bench_function("replay", |b| {
        b.iter_batched(
            || replay_engine(&cfg).expect("engine"),
            // The engine goes out with the rows, so that dropping its store is not timed.
            |engine| {
                let rows = replay::replay(&ds, &engine).expect("replay");
                (engine, rows)
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("prepare", |b| {
        b.iter(|| prepare(&path, &LabelOptions::default(), &cfg).expect("prepare"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
