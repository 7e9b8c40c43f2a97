//! The `score` bench (see `score.rs`) under the system allocator (glibc malloc on Linux): what
//! an in-process library user who keeps the default allocator gets.
//!
//! Run: `cargo bench --bench score_system_alloc`.

mod common;

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    common::bench_score(c, "score_system_alloc");
}

criterion_group!(benches, bench);
criterion_main!(benches);
