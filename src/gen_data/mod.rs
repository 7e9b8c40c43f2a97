//! Seeded synthetic event log for `tessera gen-data`: genuine customers with homes, devices,
//! habits and typing rhythms, a labelled mix of attacks, and the verified outcomes a broker would
//! report, as [`LogRow`]s written to Parquet.
//!
//! Output depends only on [`GenConfig`]: the same seed gives byte-identical rows, whatever the
//! thread count. Every parameter is a documented constant (here, in [`population`], [`attacks`],
//! [`typing`] and [`world`]) and is described in `data/README.md`. This module never reads the
//! clock, the network or the geo database; its IP ranges mirror `data/geo/demo-geo.csv`.

pub mod attacks;
pub mod draft;
pub mod genuine;
pub mod parquet;
pub mod population;
pub mod rba;
pub mod scenario;
pub mod typing;
pub mod world;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

pub use parquet::write_parquet;
pub use scenario::Scenario;

/// One day, ms.
pub const DAY_MS: i64 = 86_400_000;
/// One hour, ms.
pub const HOUR_MS: i64 = 3_600_000;
/// Default end of the log: 2026-01-01T00:00:00Z, ms since the Unix epoch.
pub const DEFAULT_END_MS: i64 = 1_767_225_600_000;
/// Latest accepted end: 9999-12-31T23:59:59.999Z, ms (RFC 3339 has four-digit years).
pub const LATEST_END_MS: i64 = 253_402_300_799_999;
/// Most users one run may simulate.
pub const MAX_USERS: usize = 1_000_000;
/// Most days one run may cover.
pub const MAX_DAYS: u32 = 3_650;

/// RNG stream layout: user `i` draws its profile and events from stream `i`, its outcomes from
/// `OUTCOME_STREAM + i`; household pairing uses `POPULATION_STREAM`; attack scenario `k` uses
/// `ATTACK_STREAM + k`; corporate VPN `c`'s egress addresses come from `CORPORATE_STREAM + c`.
pub const OUTCOME_STREAM: u64 = 1 << 32;
/// See [`OUTCOME_STREAM`].
pub const POPULATION_STREAM: u64 = 1 << 33;
/// See [`OUTCOME_STREAM`].
pub const ATTACK_STREAM: u64 = 1 << 34;
/// See [`OUTCOME_STREAM`].
pub const CORPORATE_STREAM: u64 = 1 << 35;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenConfig {
    /// Number of genuine customers, 1–[`MAX_USERS`].
    pub users: usize,
    /// Length of the log in days, 1–[`MAX_DAYS`].
    pub days: u32,
    /// Seed of every random draw.
    pub seed: u64,
    /// End of the log (exclusive), ms since the Unix epoch; no score is at or after it.
    pub end: i64,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            users: 2_000,
            days: 60,
            seed: 7,
            end: DEFAULT_END_MS,
        }
    }
}

impl GenConfig {
    /// Start of the log (inclusive), ms: `end - days` days.
    pub fn start(&self) -> i64 {
        self.end.saturating_sub(i64::from(self.days) * DAY_MS)
    }

    /// Checks the bounds; the error names the field.
    pub fn check(&self) -> Result<(), GenError> {
        if self.users == 0 || self.users > MAX_USERS {
            return Err(GenError::Config {
                field: "users",
                problem: format!("must be 1–{MAX_USERS}"),
            });
        }
        if self.days == 0 || self.days > MAX_DAYS {
            return Err(GenError::Config {
                field: "days",
                problem: format!("must be 1–{MAX_DAYS}"),
            });
        }
        if self.end > LATEST_END_MS {
            return Err(GenError::Config {
                field: "end",
                problem: "after 9999-12-31".to_string(),
            });
        }
        if self.start() < crate::domain::validate::EARLIEST_MS {
            return Err(GenError::Config {
                field: "end",
                problem: "log would start before 2000-01-01".to_string(),
            });
        }
        Ok(())
    }
}

/// Why generation or writing failed.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// A [`GenConfig`] field is out of range.
    #[error("gen-data: {field}: {problem}")]
    Config {
        /// The field (`users`, `days`, `end`).
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A payload could not be serialised (an internal fault).
    #[error("gen-data: serialising a payload: {0}")]
    Json(#[from] serde_json::Error),
    /// The output file could not be created or written.
    #[error("gen-data: writing {path}: {source}")]
    Io {
        /// The output path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Polars refused to build or write the frame.
    #[error("gen-data: writing {path}: {source}")]
    Parquet {
        /// The output path.
        path: String,
        /// The polars error.
        source: polars::error::PolarsError,
    },
}

/// Whether a row is a scored request or a verified outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowKind {
    /// A `ScoreRequest` (schema 1).
    Score,
    /// An `OutcomeRecord`.
    Outcome,
}

impl RowKind {
    /// `"score"` or `"outcome"`, as in the Parquet `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Score => "score",
            RowKind::Outcome => "outcome",
        }
    }
}

/// One line of the event log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRow {
    /// Event time, ms since the Unix epoch (the payload's `timestamp`).
    pub ts_ms: i64,
    /// Score or outcome.
    pub kind: RowKind,
    /// The scored request's id (for an outcome: the request it verifies).
    pub request_id: String,
    /// The claimed user.
    pub user_id: String,
    /// Which behaviour produced the row (an outcome inherits its score's).
    pub scenario: Scenario,
    /// Ground truth: true when an attacker sent the scored request.
    pub is_attack: bool,
    /// The exact JSON line: a `ScoreRequest` (schema 1) or an `OutcomeRecord`.
    pub payload: String,
    /// The score's channel (`web_widget` …); `None` on outcome rows.
    pub channel: Option<String>,
    /// The score's `network.ip`; `None` on outcome rows and when the payload has none.
    pub ip: Option<String>,
}

/// Generates the labelled log for `cfg`, sorted by `ts_ms`, then score before outcome, then
/// `request_id`.
pub fn generate(cfg: &GenConfig) -> Result<Vec<LogRow>, GenError> {
    cfg.check()?;
    let people = population::build(cfg);
    let genuine: Vec<Vec<draft::Draft>> = people
        .par_iter()
        .map(|p| genuine::events(cfg, p, &mut stream(cfg.seed, p.index as u64)))
        .collect();
    let genuine_scores: usize = genuine.iter().map(Vec::len).sum();
    let attack_drafts = attacks::generate(cfg, &people, &genuine, genuine_scores);

    let mut rows: Vec<LogRow> = genuine
        .par_iter()
        .enumerate()
        .map(|(i, drafts)| {
            draft::to_rows(
                cfg,
                drafts,
                &mut stream(cfg.seed, OUTCOME_STREAM + i as u64),
            )
        })
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    for (k, drafts) in attack_drafts.iter().enumerate() {
        let mut rng = stream(cfg.seed, OUTCOME_STREAM + ATTACK_STREAM + k as u64);
        rows.extend(draft::to_rows(cfg, drafts, &mut rng)?);
    }
    rows.par_sort_unstable_by(|a, b| {
        (a.ts_ms, a.kind, &a.request_id).cmp(&(b.ts_ms, b.kind, &b.request_id))
    });
    Ok(rows)
}

/// The RNG for one stream of one seed.
pub(crate) fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A unique opaque id: `prefix` and 16 hex digits of a bijective mix of `(stream, n)`, so ids
/// never collide and reveal neither the scenario nor the user.
pub(crate) fn opaque_id(prefix: &str, stream: u64, n: u64) -> String {
    // splitmix64's finaliser: a bijection on u64.
    let mut z = (stream << 24) ^ (n & 0xFF_FFFF);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    format!("{prefix}-{z:016x}")
}

/// A generated event log of `users` over `days` (seed `seed`) written as `events.parquet` in
/// `dir`, for the unit tests that replay one.
#[cfg(test)]
pub(crate) fn test_log(
    dir: &std::path::Path,
    users: usize,
    days: u32,
    seed: u64,
) -> std::path::PathBuf {
    let cfg = GenConfig {
        users,
        days,
        seed,
        ..Default::default()
    };
    let path = dir.join("events.parquet");
    write_parquet(&generate(&cfg).expect("generate"), &path).expect("write");
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_the_field() {
        let cfg = GenConfig {
            users: 0,
            ..GenConfig::default()
        };
        assert_eq!(
            cfg.check().expect_err("0 users").to_string(),
            "gen-data: users: must be 1–1000000"
        );
        let cfg = GenConfig {
            days: 0,
            ..GenConfig::default()
        };
        assert!(
            cfg.check()
                .expect_err("0 days")
                .to_string()
                .contains("days")
        );
        let cfg = GenConfig {
            end: i64::MAX / 2,
            ..GenConfig::default()
        };
        assert_eq!(
            cfg.check().expect_err("far future").to_string(),
            "gen-data: end: after 9999-12-31"
        );
        let cfg = GenConfig {
            end: 0,
            ..GenConfig::default()
        };
        assert!(
            cfg.check()
                .expect_err("1970")
                .to_string()
                .starts_with("gen-data: end:")
        );
    }

    #[test]
    fn default_end_is_new_year_2026() {
        let t = chrono::DateTime::from_timestamp_millis(DEFAULT_END_MS).expect("in range");
        assert_eq!(t.to_rfc3339(), "2026-01-01T00:00:00+00:00");
        assert_eq!(GenConfig::default().start(), DEFAULT_END_MS - 60 * DAY_MS);
    }

    #[test]
    fn opaque_ids_differ() {
        assert_ne!(opaque_id("r", 1, 0), opaque_id("r", 0, 1));
        assert_eq!(opaque_id("r", 5, 9), opaque_id("r", 5, 9));
        assert_eq!(opaque_id("r", 0, 0).len(), 18);
    }
}
