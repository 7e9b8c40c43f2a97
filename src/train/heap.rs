//! How the heap behaves during long offline commands (`tessera train`, `tessera backtest` and
//! the replay bench): mimalloc keeps the pages it frees. The service keeps mimalloc's defaults.
//!
//! Transparent huge pages stay at mimalloc's default (on): once freed pages are kept they are
//! zeroed once and reused, and turning them off cost the replay a third of its speed at 1 M
//! events, the store's maps then missing the TLB (README, "Training speed").
//!
//! These set mimalloc's options; they change nothing in a process whose global allocator is
//! another one (the options then belong to a mimalloc nobody allocates from).

// The options below live in the mimalloc the binaries allocate with: link it even where the
// library alone is built.
extern crate mimalloc as _;

/// Tunes the heap for a batch job: freed pages kept. Call it first thing in the command (the
/// replay bench calls it too, so that it measures what `tessera train` runs).
pub fn tune_for_batch() {
    keep_freed_pages();
}

/// Makes mimalloc keep the pages it frees instead of handing them back to the OS, for the rest
/// of the process: for long offline commands (`tessera train`), not the service.
///
/// The training replay frees and allocates store records millions of times on one thread. By
/// default mimalloc purges (decommits) freed pages a second after they were freed, and the
/// kernel zeroes each again when it is reused: on a 1 M-event train that page clearing was about
/// a fifth of the CPU samples during the replay, and purging off took the replay from 23.6 s
/// (measured with `perf` attached) to 12.6 s (README, "Training speed"); peak memory grew from
/// 1.5 to 1.9 GB.
/// A `MIMALLOC_PURGE_DELAY` set in the environment wins (the option is then no longer at its
/// default, and is left alone).
fn keep_freed_pages() {
    use std::ffi::{c_int, c_long};
    /// `mi_option_purge_delay` in mimalloc.h (mimalloc v3, the version libmimalloc-sys 0.1
    /// builds by default); its default is 1000 (ms).
    const PURGE_DELAY: c_int = 15;
    const DEFAULT_MS: c_long = 1000;
    unsafe extern "C" {
        fn mi_option_get(option: c_int) -> c_long;
        fn mi_option_set(option: c_int, value: c_long);
    }
    // SAFETY: both read or write one entry of mimalloc's global option table (atomics inside
    // mimalloc, callable from any thread at any time); no pointers cross. The value is checked
    // first, so an enum that had moved would leave another option unchanged unless it happened
    // to hold 1000 as well.
    unsafe {
        if mi_option_get(PURGE_DELAY) == DEFAULT_MS {
            mi_option_set(PURGE_DELAY, -1);
        }
    }
}
