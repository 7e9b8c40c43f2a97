//! The `tessera` binary: parses the command line, initialises tracing, runs the subcommand and
//! maps errors to exit codes (0 ok, 1 some input lines were rejected, 2 failure), printing the
//! whole cause chain.

mod cli;

use std::process::ExitCode;

/// mimalloc instead of the system allocator: the HTTP service allocates small, short-lived
/// buffers on several threads per request, where glibc malloc spent about a tenth of the server's
/// CPU under load (README, "Speed").
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
pub(crate) fn keep_freed_pages() {
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
    no_huge_pages();
}

/// Turns transparent huge pages off for the rest of the process (`tessera train` only, like
/// [`keep_freed_pages`]), as `MIMALLOC_ALLOW_THP=0` would at start-up.
///
/// With huge pages the first touch of each 2 MiB of a fresh heap region zeroes all of it
/// (`clear_page_erms` under `do_huge_pmd_anonymous_page`): on the 1 M-event train, with the
/// polars reader's buffers and the replay's store growing, that was about a quarter of the CPU
/// samples during the replay on the measuring VM, and on a 107,828-event log turning it off took
/// the replay's CPU from 2.3 s to 1.5 s (README, "Training speed"). A `MIMALLOC_ALLOW_THP` set in
/// the environment to anything but 1 is left alone.
#[cfg(target_os = "linux")]
fn no_huge_pages() {
    use std::ffi::{c_int, c_long, c_ulong};
    /// `mi_option_allow_thp` in mimalloc.h (mimalloc v3); its default is 1.
    const ALLOW_THP: c_int = 43;
    /// `PR_SET_THP_DISABLE` in linux/prctl.h.
    const PR_SET_THP_DISABLE: c_int = 41;
    unsafe extern "C" {
        fn mi_option_get(option: c_int) -> c_long;
        fn mi_option_set(option: c_int, value: c_long);
        fn prctl(option: c_int, ...) -> c_int;
    }
    // SAFETY: the mimalloc calls read or write one entry of its option table (see
    // `keep_freed_pages`); `prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)` sets one flag of this process
    // (no pointers) and fails harmlessly, returning -1, on a kernel without it.
    unsafe {
        if mi_option_get(ALLOW_THP) == 1 {
            mi_option_set(ALLOW_THP, 0);
            let zero: c_ulong = 0;
            let _ = prctl(PR_SET_THP_DISABLE, 1 as c_ulong, zero, zero, zero);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn no_huge_pages() {}

fn main() -> ExitCode {
    let args = <cli::Cli as clap::Parser>::parse();
    init_tracing();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("tessera: error: {err}");
            let mut source = std::error::Error::source(err.as_ref());
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::from(2)
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
