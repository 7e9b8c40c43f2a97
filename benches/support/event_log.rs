//! The event log the replay and report benches time.

use std::path::{Path, PathBuf};

/// The event log named by the environment variable `var`, or else a seeded generated one
/// (300 users × 30 days, seed 7: 7,599 events) written into `dir` outside the timed loop.
pub fn event_log(var: &str, dir: &Path) -> PathBuf {
    if let Some(log) = std::env::var_os(var) {
        return PathBuf::from(log);
    }
    let path = dir.join("events.parquet");
    let gen_cfg = tessera::gen_data::GenConfig {
        users: 300,
        days: 30,
        seed: 7,
        ..Default::default()
    };
    let rows = tessera::gen_data::generate(&gen_cfg).expect("generate");
    tessera::gen_data::write_parquet(&rows, &path).expect("write parquet");
    path
}
