//! `tessera train-typing --data FILE --out models/typing/background.json`: fits the typing
//! verifier's population background (`keystroke::verifier::fit`) on a free-text typing file of
//! development users and writes it, keyed by key names in clear (population statistics, no
//! user's values). The engine embeds `models/typing/background.json` as its default.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use super::CliError;

/// Arguments of `tessera train-typing`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// JSON lines: `{"u": user, "i": sentence, "ev": [[code, down_ms, up_ms], ...]}`.
    #[arg(long)]
    data: PathBuf,
    /// Background file to write.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(a: Args) -> Result<ExitCode, CliError> {
    use tessera::keystroke::verifier::{BackgroundFile, fit};
    let started = Instant::now();
    let data = tessera::keystroke::free_data::load(&a.data).map_err(tessera::Error::from)?;
    let users: Vec<usize> = (0..data.users.len()).collect();
    let file = fit::fit(&data, &users);
    let text = file.to_json();
    // What is written must load.
    BackgroundFile::parse(&text)?;
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(&a.out, text + "\n").map_err(|e| format!("{}: {e}", a.out.display()))?;
    println!(
        "{}: {} users, {} sentences, {} hold and {} up-down entries ({:.1} s)",
        a.out.display(),
        file.provenance.users,
        file.provenance.sentences,
        file.hold.len(),
        file.ud.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
