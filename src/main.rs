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
