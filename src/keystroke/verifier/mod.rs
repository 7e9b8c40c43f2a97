//! The free-text typing verifier of issue 13: a factor-prior likelihood ratio on holds and up-down
//! flights (design: `docs/typing-verifier.md`; Prince & Elder, ICCV 2007, applied to key timings).
//!
//! - A message becomes *entries* ([`TypingSample`]): the hold of each named key, and the up-down
//!   flight of each consecutive pair of named keys whose down-down latency is at most
//!   [`MAX_LATENCY_MS`], each on the [`log_timing`] scale and averaged per message. Entries are
//!   named by the deployment's keyed hash ([`TypingKey`]); the name's low bit is its kind.
//! - A population [`Background`] (fitted offline by [`fit`], shipped as a versioned file keyed by
//!   key names in clear and hashed at load) says, per entry, the population mean, the spread
//!   between and within users, and how the entry loads on [`RANK`] user style factors.
//! - A [`TypingProfile`] keeps, per entry, a fading count and mean, and the user's style factors.
//! - [`TypingProfile::verify`] returns `D = −LLR / √entries`: the log-likelihood ratio of "this
//!   user" against "someone from the population" (whose style factors are marginalised), per
//!   entry; negative means more like the user.
//!
//! Pure computation: no store, no I/O (the embedded artifact is parsed from memory).

pub mod background;
pub mod fit;
mod profile;
#[cfg(test)]
mod tests;

pub use background::{Background, BackgroundError, BackgroundFile};
pub use profile::{TypingProfile, Verdict};

use super::detector::log_timing;
pub use super::digraph::MAX_LATENCY_MS;
use super::digraph::{TypingKey, hold_name, pair_name};
use crate::domain::KeyEvent;

/// User style factors (rank of the loadings).
pub const RANK: usize = 8;
/// Fading count cap: an entry's mean moves by at least 1/`NMAX` towards each new value.
pub const NMAX: f32 = 20.0;
/// Most entries a profile keeps.
pub const CAP: usize = 256;
/// Half-life of an entry's count, in enrolled samples, when choosing what to evict.
pub const HALF_LIFE_SAMPLES: f32 = 20.0;
/// Standardised deviations are clipped at this many standard deviations.
pub const CLIP_SD: f64 = 3.0;
/// Fewer entries known to the background than this is no judgement.
pub const MIN_KNOWN: usize = 10;
/// `D` below this: the message matches the user (about 1 % of impostors, at any enrolment).
pub const MATCH_BELOW: f32 = -0.5;

/// What an entry measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    /// Hold time of one key.
    Hold = 0,
    /// Up-down flight from one key's release to the next key's press (negative on overlap).
    UpDown = 1,
}

impl EntryKind {
    /// Both kinds, in index order.
    pub const ALL: [EntryKind; 2] = [EntryKind::Hold, EntryKind::UpDown];

    /// The kind of a hashed entry name (its low bit).
    pub fn of(name: u32) -> EntryKind {
        if name & 1 == 0 {
            EntryKind::Hold
        } else {
            EntryKind::UpDown
        }
    }

    /// Index (0 hold, 1 up-down).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Name in files.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Hold => "hold",
            EntryKind::UpDown => "ud",
        }
    }
}

/// Calls `f(kind, first, second, value)` for each entry occurrence of a message, in press order:
/// `(Hold, i, i, ℓ(hold))` for each event `i` with a key name, and `(UpDown, i, j, ℓ(up-down))`
/// for consecutive named events `i`, `j = i + 1` whose down-down latency is at most
/// [`MAX_LATENCY_MS`]. An event without a name breaks the chain. The one extraction rule, for
/// the engine (hashed names) and the background fit (names in clear).
pub fn for_each_entry(events: &[KeyEvent], mut f: impl FnMut(EntryKind, usize, usize, f64)) {
    let mut prev: Option<usize> = None;
    for (i, e) in events.iter().enumerate() {
        if e.key.is_none() {
            prev = None;
            continue;
        }
        f(
            EntryKind::Hold,
            i,
            i,
            log_timing((e.up_ms - e.down_ms) / 1000.0),
        );
        if let Some(p) = prev.and_then(|p| events.get(p).map(|pe| (p, pe)))
            && e.down_ms - p.1.down_ms <= MAX_LATENCY_MS
        {
            f(
                EntryKind::UpDown,
                p.0,
                i,
                log_timing((e.down_ms - p.1.up_ms) / 1000.0),
            );
        }
        prev = Some(i);
    }
}

/// Sorts `(name, value)` occurrences by name and averages each name's values in place.
pub(crate) fn average_by_name<N: Ord + Copy>(raw: &mut Vec<(N, f64)>) {
    raw.sort_unstable_by_key(|a| a.0);
    let mut out = 0;
    let mut i = 0;
    while i < raw.len() {
        let name = raw[i].0;
        let (mut sum, mut n) = (0.0, 0usize);
        while i < raw.len() && raw[i].0 == name {
            sum += raw[i].1;
            n += 1;
            i += 1;
        }
        raw[out] = (name, sum / n as f64);
        out += 1;
    }
    raw.truncate(out);
}

/// The hashed name of an entry: the keyed hash of the key (or pair), with its low bit set to
/// the kind.
pub fn entry_name(kind: EntryKind, first: u64, second: u64) -> u32 {
    match kind {
        EntryKind::Hold => hold_name(first) & !1,
        EntryKind::UpDown => pair_name(first, second) | 1,
    }
}

/// One message's entries: (hashed name, mean log-timing), sorted by name, one per name; and the
/// message's key events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypingSample {
    entries: Vec<(u32, f32)>,
    keys: u32,
}

impl TypingSample {
    /// The entries of a message's key events (validated: in press order, finite).
    pub fn from_events(events: &[KeyEvent], key: &TypingKey) -> TypingSample {
        // Each key is hashed once.
        let images: Vec<u64> = events
            .iter()
            .map(|e| e.key.as_deref().map_or(0, |k| key.key_image(k)))
            .collect();
        let mut raw: Vec<(u32, f64)> = Vec::with_capacity(2 * events.len());
        for_each_entry(events, |kind, i, j, x| {
            raw.push((entry_name(kind, images[i], images[j]), x));
        });
        average_by_name(&mut raw);
        TypingSample {
            entries: raw.into_iter().map(|(n, x)| (n, x as f32)).collect(),
            keys: u32::try_from(events.len()).unwrap_or(u32::MAX),
        }
    }

    /// Distinct entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the message has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Key events of the message.
    pub fn keys(&self) -> u32 {
        self.keys
    }

    /// The entries, sorted by name.
    pub fn entries(&self) -> &[(u32, f32)] {
        &self.entries
    }
}

/// Layout version of a stored sample (its first byte).
const SAMPLE_VERSION: u8 = 1;

/// Stored (as pending evidence, until its outcome) as one blob: version byte, key events u32,
/// then (name u32, value f32) per entry, little-endian.
impl serde::Serialize for TypingSample {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = Vec::with_capacity(5 + 8 * self.entries.len());
        out.push(SAMPLE_VERSION);
        out.extend_from_slice(&self.keys.to_le_bytes());
        for (name, x) in &self.entries {
            out.extend_from_slice(&name.to_le_bytes());
            out.extend_from_slice(&x.to_le_bytes());
        }
        s.serialize_bytes(&out)
    }
}

impl<'de> serde::Deserialize<'de> for TypingSample {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let b: &[u8] = serde_bytes::Deserialize::deserialize(d)?;
        let word = |c: &[u8]| u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        match b.first() {
            Some(&SAMPLE_VERSION) => {}
            Some(v) => {
                return Err(D::Error::custom(format!(
                    "typing sample layout {v}, expected {SAMPLE_VERSION}"
                )));
            }
            None => return Err(D::Error::invalid_length(0, &"a typing sample")),
        }
        if b.len() < 5 || !(b.len() - 5).is_multiple_of(8) {
            return Err(D::Error::invalid_length(
                b.len(),
                &"5 bytes + 8 bytes an entry",
            ));
        }
        let entries: Vec<(u32, f32)> = b[5..]
            .chunks_exact(8)
            .map(|c| (word(c), f32::from_bits(word(&c[4..]))))
            .collect();
        if !entries.windows(2).all(|w| w[0].0 < w[1].0) || !entries.iter().all(|e| e.1.is_finite())
        {
            return Err(D::Error::custom(
                "typing sample entries out of order or not finite",
            ));
        }
        Ok(TypingSample {
            entries,
            keys: word(&b[1..]),
        })
    }
}
