//! `score()` end to end on a warm store with the default model: validation, demo geo lookups
//! (City, ASN, Anonymous-IP), store snapshot, features, model, reasons, policy, and the activity
//! ledger write, under mimalloc, the allocator the `tessera` binary (and so the service) runs
//! with. `score_system_alloc` runs the same under the system allocator, as an in-process
//! library user without an allocator of their own gets it.
//!
//! `score/memory_forest` runs the same on the memory store with a random forest as the active
//! model (fitted before the bench starts).
//!
//! Run: `cargo bench --bench score`.

mod common;

use criterion::{Criterion, criterion_group, criterion_main};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    common::bench_score(c, "score");
    common::bench_score_forest(c, "score");
}

criterion_group!(benches, bench);
criterion_main!(benches);
