//! The population background of the typing verifier: its file ([`BackgroundFile`], keyed by key
//! names in clear, with schema, version and constants that must match this build) and its
//! in-memory form ([`Background`], keyed by the deployment's hashed entry names).
//!
//! Per entry `e` the model is `x = mu_e + A_e·y_user + r_user,e + noise`: `mu` the population
//! mean, `A` the loadings of the user's [`RANK`] style factors `y ~ N(0, I)`, `tau2` the variance
//! of the user's own deviation `r`, `sig2` the message-to-message variance. Entries the file does
//! not list use their kind's default record. Population statistics of key pairs are not personal
//! data; the file holds no user's values.

use serde::{Deserialize, Serialize};

use super::{EntryKind, RANK, entry_name};
use crate::keystroke::detector::LOG_TAU_S;
use crate::keystroke::digraph::{MAX_LATENCY_MS, TypingKey};

/// Schema name of the file.
pub const SCHEMA: &str = "tessera.typing-background";
/// Version of the file layout and of the model it describes.
pub const VERSION: u32 = 1;

/// The background shipped with the engine (fitted on the Aalto development users; see
/// `models/typing/README.md`).
pub const BUILTIN: &str = include_str!("../../../models/typing/background.json");

/// One entry's statistics (log-timing units). In the file: `[mu, tau2, sig2, [a…]]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "StatsRow", into = "StatsRow")]
pub struct Stats {
    /// Population mean.
    pub mu: f32,
    /// Variance of a user's own deviation (between users, after the style factors).
    pub tau2: f32,
    /// Variance between one user's messages.
    pub sig2: f32,
    /// Loadings on the style factors.
    pub a: [f32; RANK],
}

/// The file's compact form of [`Stats`].
#[derive(Serialize, Deserialize)]
struct StatsRow(f32, f32, f32, [f32; RANK]);

impl From<StatsRow> for Stats {
    fn from(r: StatsRow) -> Stats {
        Stats {
            mu: r.0,
            tau2: r.1,
            sig2: r.2,
            a: r.3,
        }
    }
}

impl From<Stats> for StatsRow {
    fn from(s: Stats) -> StatsRow {
        StatsRow(s.mu, s.tau2, s.sig2, s.a)
    }
}

/// The constants a background was fitted under; a file whose constants differ from this build's
/// is refused.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constants {
    /// Time constant of the log transform, s.
    pub log_tau_s: f64,
    /// Largest down-down latency of an up-down pair, ms.
    pub max_latency_ms: f64,
    /// Style factors.
    pub rank: usize,
}

impl Constants {
    /// This build's constants.
    pub fn current() -> Constants {
        Constants {
            log_tau_s: LOG_TAU_S,
            max_latency_ms: MAX_LATENCY_MS,
            rank: RANK,
        }
    }
}

/// How a background was fitted (for the model card; not checked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Provenance {
    /// Training users.
    pub users: usize,
    /// Training messages.
    pub sentences: usize,
    /// Fit parameters, as `name=value` words.
    pub fit: String,
}

/// The background file. Hold records are `[key, stats]`; up-down records `[first, second,
/// stats]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackgroundFile {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// Constants of the entries and the model.
    pub constants: Constants,
    /// How it was fitted.
    pub provenance: Provenance,
    /// Defaults for entries not listed: hold, then up-down.
    pub defaults: [Stats; 2],
    /// Hold records.
    pub hold: Vec<(String, Stats)>,
    /// Up-down records.
    pub ud: Vec<(String, String, Stats)>,
}

/// Why a background file was refused.
#[derive(Debug, thiserror::Error)]
pub enum BackgroundError {
    /// Not JSON of the expected layout.
    #[error("typing background: {0}")]
    Parse(String),
    /// Another schema or version.
    #[error(
        "typing background: schema `{found}` version {version}, expected `{SCHEMA}` version {VERSION}"
    )]
    Schema {
        /// Schema found (truncated to 60 characters).
        found: String,
        /// Version found.
        version: u32,
    },
    /// Fitted under other constants than this build's.
    #[error("typing background: fitted with {found:?}, this build uses {expected:?}")]
    Constants {
        /// In the file.
        found: Constants,
        /// This build's.
        expected: Constants,
    },
    /// A value is not finite, or a variance not positive.
    #[error("typing background: {what}: not a finite value (or a variance ≤ 0)")]
    BadValue {
        /// Which record.
        what: String,
    },
}

impl BackgroundFile {
    /// Parses and checks a file's text.
    pub fn parse(text: &str) -> Result<BackgroundFile, BackgroundError> {
        // Schema first, so an old or foreign file says so rather than failing on a field.
        #[derive(Deserialize)]
        struct Head {
            schema: String,
            version: u32,
        }
        let head: Head =
            serde_json::from_str(text).map_err(|e| BackgroundError::Parse(e.to_string()))?;
        if head.schema != SCHEMA || head.version != VERSION {
            return Err(BackgroundError::Schema {
                found: head.schema.chars().take(60).collect(),
                version: head.version,
            });
        }
        let file: BackgroundFile =
            serde_json::from_str(text).map_err(|e| BackgroundError::Parse(e.to_string()))?;
        if file.constants != Constants::current() {
            return Err(BackgroundError::Constants {
                found: file.constants,
                expected: Constants::current(),
            });
        }
        let ok = |s: &Stats| {
            s.mu.is_finite()
                && s.tau2 > 0.0
                && s.sig2 > 0.0
                && s.tau2.is_finite()
                && s.sig2.is_finite()
                && s.a.iter().all(|a| a.is_finite())
        };
        let bad = |what: String| Err(BackgroundError::BadValue { what });
        for (k, s) in EntryKind::ALL.iter().zip(&file.defaults) {
            if !ok(s) {
                return bad(format!("default {}", k.as_str()));
            }
        }
        for (i, (_, s)) in file.hold.iter().enumerate() {
            if !ok(s) {
                return bad(format!("hold[{i}]"));
            }
        }
        for (i, (_, _, s)) in file.ud.iter().enumerate() {
            if !ok(s) {
                return bad(format!("ud[{i}]"));
            }
        }
        Ok(file)
    }

    /// JSON text, one record a line.
    pub fn to_json(&self) -> String {
        fn j<T: Serialize + ?Sized>(v: &T) -> String {
            serde_json::to_string(v).expect("plain data serialises")
        }
        fn list<T: Serialize>(items: &[T]) -> String {
            let rows: Vec<String> = items.iter().map(|r| format!("    {}", j(r))).collect();
            if rows.is_empty() {
                "[]".to_string()
            } else {
                format!("[\n{}\n  ]", rows.join(",\n"))
            }
        }
        format!(
            "{{\n  \"schema\": {},\n  \"version\": {},\n  \"constants\": {},\n  \"provenance\": {},\n  \"defaults\": {},\n  \"hold\": {},\n  \"ud\": {}\n}}",
            j(&self.schema),
            self.version,
            j(&self.constants),
            j(&self.provenance),
            list(&self.defaults),
            list(&self.hold),
            list(&self.ud)
        )
    }
}

/// An entry's statistics in the form the score uses them (computed once at load).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Prepared {
    pub mu: f64,
    pub inv_tau2: f64,
    pub sig2: f64,
    pub inv_sig2: f64,
    /// `tau2 + sig2`: the population's variance before the style factors.
    pub v0: f64,
    pub inv_v0: f64,
    /// `½ ln v0`.
    pub half_ln_v0: f64,
    /// Clip of `x − mu`: [`super::CLIP_SD`] `√v0`.
    pub lim: f64,
    pub a: [f64; RANK],
}

impl Prepared {
    fn new(s: &Stats) -> Prepared {
        let (tau2, sig2) = (f64::from(s.tau2), f64::from(s.sig2));
        let v0 = tau2 + sig2;
        Prepared {
            mu: f64::from(s.mu),
            inv_tau2: 1.0 / tau2,
            sig2,
            inv_sig2: 1.0 / sig2,
            v0,
            inv_v0: 1.0 / v0,
            half_ln_v0: 0.5 * v0.ln(),
            lim: super::CLIP_SD * v0.sqrt(),
            a: s.a.map(f64::from),
        }
    }
}

/// The background in memory, keyed by hashed entry names.
#[derive(Debug, Clone, PartialEq)]
pub struct Background {
    /// Sorted hashed names of the listed ("known") entries.
    names: Vec<u32>,
    /// Their statistics, in the same order.
    stats: Vec<Stats>,
    /// Defaults by kind.
    defaults: [Stats; 2],
    /// `stats` and `defaults` as the score uses them.
    prepared: Vec<Prepared>,
    prepared_defaults: [Prepared; 2],
    /// Identifies the fitted values (a profile's stored style factors were estimated under it).
    fingerprint: u32,
}

impl Background {
    /// The file's records under the deployment's entry names.
    pub fn new(file: &BackgroundFile, key: &TypingKey) -> Background {
        let mut rows: Vec<(u32, Stats)> = file
            .hold
            .iter()
            .map(|(k, s)| (entry_name(EntryKind::Hold, key.key_image(k), 0), *s))
            .chain(file.ud.iter().map(|(a, b, s)| {
                let name = entry_name(EntryKind::UpDown, key.key_image(a), key.key_image(b));
                (name, *s)
            }))
            .collect();
        rows.sort_unstable_by_key(|r| r.0);
        // A 32-bit name collision between two listed entries keeps the first.
        rows.dedup_by_key(|r| r.0);
        let mut h = blake3::Hasher::new();
        h.update(file.to_json().as_bytes());
        let digest = h.finalize();
        let fp = digest.as_bytes();
        Background {
            names: rows.iter().map(|r| r.0).collect(),
            stats: rows.iter().map(|r| r.1).collect(),
            defaults: file.defaults,
            prepared: rows.iter().map(|r| Prepared::new(&r.1)).collect(),
            prepared_defaults: file.defaults.map(|d| Prepared::new(&d)),
            fingerprint: u32::from_le_bytes([fp[0], fp[1], fp[2], fp[3]]),
        }
    }

    /// The builtin background under the deployment's entry names.
    pub fn builtin(key: &TypingKey) -> Background {
        let file = BackgroundFile::parse(BUILTIN).expect("the embedded background is valid");
        Background::new(&file, key)
    }

    /// An entry's statistics, and whether the background lists it (`false`: its kind's default).
    #[inline]
    pub fn get(&self, name: u32) -> (&Stats, bool) {
        match self.names.binary_search(&name) {
            Ok(i) => (&self.stats[i], true),
            Err(_) => (&self.defaults[EntryKind::of(name).index()], false),
        }
    }

    /// [`Self::get`] in the score's form.
    #[inline]
    pub(crate) fn prepared(&self, name: u32) -> (&Prepared, bool) {
        match self.names.binary_search(&name) {
            Ok(i) => (&self.prepared[i], true),
            Err(_) => (&self.prepared_defaults[EntryKind::of(name).index()], false),
        }
    }

    /// Entries listed.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when only the defaults are known.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Identifies the fitted values.
    pub fn fingerprint(&self) -> u32 {
        self.fingerprint
    }
}
