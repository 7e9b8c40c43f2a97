//! Verification on key-pair timings, for free text (chat messages) and for strings typed again
//! and again (an account number, a passphrase). The engine's verifier before issue 13 (now
//! [`super::verifier`]); kept for `eval keystroke-free --verifier digraph` and the hashing of
//! key names ([`TypingKey`]), which the new verifier shares.
//!
//! A sample becomes a set of timing *entries*: the hold time of each key and the keydown-to-keydown
//! latency of each consecutive pair (a digraph), every timing on the [`log_timing`] scale that
//! made `manhattan-robust-log` the best detector on the CMU benchmark. Entries are named by a
//! keyed hash ([`TypingKey`]) of the key or pair, so neither a profile, a log line nor an error
//! can reveal which keys were typed: the store holds timing statistics under opaque 32-bit names.
//!
//! A profile keeps, per entry, a fading centre and spread (exponentially weighted, so old habits
//! fade) and compares a new sample on the entries they share, as robust scaled Manhattan does:
//! the mean of |x − centre| / spread (a young entry's spread shrunk towards a prior). Too few shared entries is [`Verdict::Insufficient`], never a
//! guess. For a string typed repeatedly the shared entries are that string's own holds and
//! digraphs, so the same profile is a fixed-text template (the CMU vector less its keyup-keydown
//! columns, which are differences of the other two).
//!
//! Pure computation: no store, no I/O.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::detector::log_timing;
use crate::domain::KeyEvent;

/// Most entries a profile keeps (the least-seen are dropped beyond this).
pub const MAX_ENTRIES: usize = 256;
/// Shared entries (each seen in at least two enrolled samples) needed to compare at all.
pub const MIN_SHARED: usize = 8;
/// Smallest spread used when scaling, in log-timing units (about 4 ms at a 150 ms interval).
pub const MIN_SPREAD: f32 = 0.05;
/// Prior spread of one entry, in log-timing units: a person's typical variability (a hold or
/// latency that varies by about ±20 % around its usual value). A young entry's spread, estimated
/// from a handful of samples, is shrunk towards it so two lucky samples cannot make an entry
/// infinitely sharp.
pub const PRIOR_SPREAD: f32 = 0.15;
/// Weight of [`PRIOR_SPREAD`], in samples.
pub const PRIOR_WEIGHT: f32 = 3.0;
/// Largest distance reported (a sample that shares nothing of the rhythm saturates here).
pub const MAX_DISTANCE: f32 = 10.0;
/// Smallest weight a new sample got in a profile in the engine (old habits fade): what
/// `eval keystroke-free --verifier digraph` enrolls with.
pub const TEMPLATE_MIN_WEIGHT: f32 = 0.1;
/// Pauses longer than this (ms) are thinking, not typing rhythm, and are not entries.
pub const MAX_LATENCY_MS: f64 = 1_500.0;

/// The secret that names entries: SipHash-2-4 (a keyed pseudo-random function built for short
/// inputs) under a key derived from the deployment's pseudonymisation key.
#[derive(Clone)]
pub struct TypingKey {
    hasher: siphasher::sip::SipHasher24,
}

impl std::fmt::Debug for TypingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TypingKey(..)")
    }
}

impl TypingKey {
    /// A key from 16 secret bytes.
    pub fn new(secret: [u8; 16]) -> TypingKey {
        let (a, b) = secret.split_at(8);
        let word = |s: &[u8]| {
            let mut w = [0u8; 8];
            w.copy_from_slice(s);
            u64::from_le_bytes(w)
        };
        TypingKey {
            hasher: siphasher::sip::SipHasher24::new_with_keys(word(a), word(b)),
        }
    }

    /// The secret 64-bit image of one key name (SipHash-2-4). Entry names are derived from
    /// these, so each key of a sample is hashed once.
    pub(crate) fn key_image(&self, key: &str) -> u64 {
        self.hasher.hash(key.as_bytes())
    }

    /// The name of a key's hold-time entry.
    pub fn hold(&self, key: &str) -> u32 {
        hold_name(self.key_image(key))
    }

    /// The name of a key pair's latency entry.
    pub fn pair(&self, first: &str, second: &str) -> u32 {
        pair_name(self.key_image(first), self.key_image(second))
    }
}

/// Mixes 64 bits (the SplitMix64 finaliser) before truncating to a 32-bit name.
fn finish(mut z: u64) -> u32 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as u32
}

pub(crate) fn hold_name(k: u64) -> u32 {
    finish(k ^ 0x6A09_E667_F3BC_C908)
}

/// Ordered: (a, b) and (b, a) are different pairs. The inputs are secret pseudo-random images,
/// so the names stay unlinkable to keys without the secret.
pub(crate) fn pair_name(a: u64, b: u64) -> u32 {
    finish(a.rotate_left(21) ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// One sample's entries: (name, mean log-timing), sorted by name, one per name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DigraphSample {
    entries: Vec<(u32, f32)>,
}

impl DigraphSample {
    /// The entries of a sample of key events (validated: in press order, finite). Events without
    /// a key name contribute nothing; nor do pauses over [`MAX_LATENCY_MS`].
    pub fn from_events(events: &[KeyEvent], key: &TypingKey) -> DigraphSample {
        let mut raw: Vec<(u32, f32)> = Vec::with_capacity(2 * events.len());
        // (key image, down time) of the previous event, when it had a key.
        let mut prev: Option<(u64, f64)> = None;
        for e in events {
            let Some(k) = e.key.as_deref() else {
                prev = None;
                continue;
            };
            let image = key.key_image(k);
            let hold = log_timing((e.up_ms - e.down_ms) / 1000.0) as f32;
            raw.push((hold_name(image), hold));
            if let Some((p, down)) = prev {
                let latency = e.down_ms - down;
                if latency <= MAX_LATENCY_MS {
                    raw.push((pair_name(p, image), log_timing(latency / 1000.0) as f32));
                }
            }
            prev = Some((image, e.down_ms));
        }
        raw.sort_unstable_by_key(|e| e.0);
        let mut entries: Vec<(u32, f32)> = Vec::with_capacity(raw.len());
        let mut run = 0u32;
        for (name, x) in raw {
            match entries.last_mut() {
                Some(last) if last.0 == name => {
                    run += 1;
                    last.1 += (x - last.1) / run as f32;
                }
                _ => {
                    entries.push((name, x));
                    run = 1;
                }
            }
        }
        DigraphSample { entries }
    }

    /// Number of distinct entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the sample has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// One entry of a profile: fading centre and spread of its log-timing.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Stat {
    name: u32,
    /// Enrolled samples that contained the entry (saturating).
    seen: u32,
    centre: f32,
    spread: f32,
}

/// What comparing a sample with a profile found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Compared on `shared` entries: mean scaled distance (0 = the usual rhythm).
    Distance {
        /// Mean of |x − centre| / spread over shared entries, capped at [`MAX_DISTANCE`].
        distance: f32,
        /// Entries compared.
        shared: usize,
    },
    /// Fewer than [`MIN_SHARED`] entries in common: no judgement.
    Insufficient {
        /// Entries in common.
        shared: usize,
    },
}

/// A user's typing profile for one form factor (phone or keyboard).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DigraphProfile {
    /// Verified samples enrolled.
    pub samples: u32,
    /// Entries by name. Shared: a copy of a profile (a history snapshot that a replay still
    /// holds while the profile learns) does not copy them, and [`Self::enroll`] builds new ones.
    entries: Arc<Vec<Stat>>,
}

impl DigraphProfile {
    /// Number of entries kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True before anything was enrolled.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Enrolls a verified sample. Each entry moves towards the sample with weight
    /// max(1 / times seen, `min_weight`), so a profile settles quickly and then keeps fading
    /// towards recent habits.
    pub fn enroll(&mut self, sample: &DigraphSample, min_weight: f32) {
        if sample.is_empty() {
            return;
        }
        self.samples = self.samples.saturating_add(1);
        let mut merged = Vec::with_capacity(self.entries.len() + sample.entries.len());
        let (mut i, mut j) = (0, 0);
        while i < self.entries.len() || j < sample.entries.len() {
            let old = self.entries.get(i);
            let new = sample.entries.get(j);
            match (old, new) {
                (Some(s), Some(&(name, x))) if s.name == name => {
                    let seen = s.seen.saturating_add(1);
                    let w = (1.0 / seen as f32).max(min_weight);
                    let spread = (1.0 - w) * s.spread + w * (x - s.centre).abs();
                    merged.push(Stat {
                        name,
                        seen,
                        centre: (1.0 - w) * s.centre + w * x,
                        spread,
                    });
                    i += 1;
                    j += 1;
                }
                (Some(s), Some(&(name, _))) if s.name < name => {
                    merged.push(*s);
                    i += 1;
                }
                (Some(s), None) => {
                    merged.push(*s);
                    i += 1;
                }
                (_, Some(&(name, x))) => {
                    merged.push(Stat {
                        name,
                        seen: 1,
                        centre: x,
                        spread: 0.0,
                    });
                    j += 1;
                }
                (None, None) => break,
            }
        }
        if merged.len() > MAX_ENTRIES {
            // Keep the most-seen entries (ties: the lower name, deterministically): find the
            // last one kept in that order (a selection, not a sort), then keep every entry up
            // to it, in the name order they are already in.
            let rank = |s: &Stat| (std::cmp::Reverse(s.seen), s.name);
            let mut ranks: Vec<_> = merged.iter().map(rank).collect();
            let (_, last, _) = ranks.select_nth_unstable(MAX_ENTRIES - 1);
            let last = *last;
            merged.retain(|s| rank(s) <= last);
        }
        self.entries = Arc::new(merged);
    }

    /// Compares a sample with the profile on the entries they share (each seen in at least two
    /// enrolled samples, so it has a spread).
    pub fn verify(&self, sample: &DigraphSample) -> Verdict {
        let (mut i, mut j) = (0, 0);
        let (mut sum, mut shared) = (0f32, 0usize);
        while let (Some(s), Some(&(name, x))) = (self.entries.get(i), sample.entries.get(j)) {
            match s.name.cmp(&name) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    if s.seen >= 2 {
                        let n = s.seen as f32;
                        let spread =
                            (n * s.spread + PRIOR_WEIGHT * PRIOR_SPREAD) / (n + PRIOR_WEIGHT);
                        sum += ((x - s.centre).abs() / spread.max(MIN_SPREAD)).min(MAX_DISTANCE);
                        shared += 1;
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        if shared < MIN_SHARED {
            return Verdict::Insufficient { shared };
        }
        Verdict::Distance {
            distance: (sum / shared as f32).min(MAX_DISTANCE),
            shared,
        }
    }
}

/// Bytes per entry in the stored blobs.
const SAMPLE_ENTRY: usize = 8;
const STAT_ENTRY: usize = 16;

fn word(b: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[..4]);
    u32::from_le_bytes(w)
}

fn float(b: &[u8]) -> f32 {
    f32::from_bits(word(b))
}

/// Stored as one blob: little-endian (name u32, value f32) pairs.
impl Serialize for DigraphSample {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = Vec::with_capacity(SAMPLE_ENTRY * self.entries.len());
        for (name, x) in &self.entries {
            out.extend_from_slice(&name.to_le_bytes());
            out.extend_from_slice(&x.to_le_bytes());
        }
        s.serialize_bytes(&out)
    }
}

impl<'de> Deserialize<'de> for DigraphSample {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes: &[u8] = serde_bytes::Deserialize::deserialize(d)?;
        if !bytes.len().is_multiple_of(SAMPLE_ENTRY) {
            return Err(serde::de::Error::invalid_length(
                bytes.len(),
                &"a multiple of 8 bytes",
            ));
        }
        let entries = bytes
            .chunks_exact(SAMPLE_ENTRY)
            .map(|c| (word(c), float(&c[4..])))
            .collect();
        Ok(DigraphSample { entries })
    }
}

/// Stored as the sample count and one blob of (name, seen, centre, spread) entries.
impl Serialize for DigraphProfile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = Vec::with_capacity(STAT_ENTRY * self.entries.len());
        for e in self.entries.iter() {
            out.extend_from_slice(&e.name.to_le_bytes());
            out.extend_from_slice(&e.seen.to_le_bytes());
            out.extend_from_slice(&e.centre.to_le_bytes());
            out.extend_from_slice(&e.spread.to_le_bytes());
        }
        (self.samples, serde_bytes::Bytes::new(&out)).serialize(s)
    }
}

impl<'de> Deserialize<'de> for DigraphProfile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (samples, bytes): (u32, &serde_bytes::Bytes) = Deserialize::deserialize(d)?;
        if !bytes.len().is_multiple_of(STAT_ENTRY) {
            return Err(serde::de::Error::invalid_length(
                bytes.len(),
                &"a multiple of 16 bytes",
            ));
        }
        let entries = bytes
            .chunks_exact(STAT_ENTRY)
            .map(|c| Stat {
                name: word(c),
                seen: word(&c[4..]),
                centre: float(&c[8..]),
                spread: float(&c[12..]),
            })
            .collect();
        Ok(DigraphProfile {
            samples,
            entries: Arc::new(entries),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str, dwell: f64, gap: impl Fn(usize) -> f64) -> Vec<KeyEvent> {
        let mut down = 0.0;
        text.chars()
            .enumerate()
            .map(|(i, c)| {
                if i > 0 {
                    down += gap(i);
                }
                KeyEvent {
                    key: Some(c.to_string()),
                    down_ms: down,
                    up_ms: down + dwell,
                }
            })
            .collect()
    }

    #[test]
    fn entries_are_keyed_names_of_holds_and_pairs() {
        let key = TypingKey::new([7; 16]);
        let other = TypingKey::new([8; 16]);
        // "abab": holds a, b; pairs ab (twice, averaged), ba.
        let s = DigraphSample::from_events(&typed("abab", 100.0, |i| 100.0 * i as f64), &key);
        assert_eq!(s.len(), 4);
        let ab = key.pair("a", "b");
        let v = s.entries.iter().find(|e| e.0 == ab).expect("ab").1;
        // Latencies 100 ms and 300 ms: mean of ln(1 + 2) and ln(1 + 6).
        let want = ((2f64.ln_1p() + 6f64.ln_1p()) / 2.0) as f32;
        assert!((v - want).abs() < 1e-6, "{v} vs {want}");
        // Another deployment's key names the same pair differently; names are not the text.
        assert_ne!(other.pair("a", "b"), ab);
        assert_ne!(key.pair("a", "b"), key.pair("b", "a"));
        assert_ne!(key.hold("ab"), key.pair("a", "b"));
    }

    #[test]
    fn the_usual_rhythm_is_near_and_another_is_far() {
        let key = TypingKey::new([1; 16]);
        let text = "the quick brown fox jumps over the lazy dog";
        let mine = |jitter: f64| {
            typed(text, 90.0 + jitter, |i| {
                150.0 + jitter + 15.0 * (i % 3) as f64
            })
        };
        let mut p = DigraphProfile::default();
        assert_eq!(
            p.verify(&DigraphSample::from_events(&mine(0.0), &key)),
            Verdict::Insufficient { shared: 0 }
        );
        for k in 0..6 {
            p.enroll(
                &DigraphSample::from_events(&mine(f64::from(k) * 4.0 - 10.0), &key),
                0.1,
            );
        }
        assert_eq!(p.samples, 6);
        let near = match p.verify(&DigraphSample::from_events(&mine(2.0), &key)) {
            Verdict::Distance { distance, shared } => {
                assert!(shared >= 30, "{shared}");
                distance
            }
            v => panic!("{v:?}"),
        };
        let slow = typed(text, 140.0, |i| 260.0 + 40.0 * (i % 2) as f64);
        let far = match p.verify(&DigraphSample::from_events(&slow, &key)) {
            Verdict::Distance { distance, .. } => distance,
            v => panic!("{v:?}"),
        };
        assert!(near < 1.5, "near {near}");
        assert!(far > 4.0 * near.max(0.5), "far {far} near {near}");
        // Text that shares too little is no judgement at all.
        let other = DigraphSample::from_events(&typed("zzqx", 90.0, |_| 150.0), &key);
        assert!(matches!(p.verify(&other), Verdict::Insufficient { .. }));
    }

    #[test]
    fn profiles_fade_towards_recent_habits_and_stay_bounded() {
        let key = TypingKey::new([2; 16]);
        let s = |gap: f64| DigraphSample::from_events(&typed("abcdefghij", 80.0, |_| gap), &key);
        let mut p = DigraphProfile::default();
        for _ in 0..30 {
            p.enroll(&s(100.0), 0.1);
        }
        for _ in 0..30 {
            p.enroll(&s(200.0), 0.1);
        }
        let ab = key.pair("a", "b");
        let c = p.entries.iter().find(|e| e.name == ab).expect("ab").centre;
        // 30 updates at weight 0.1 leave 0.9^30 ≈ 4 % of the old centre.
        let (old, new) = (log_timing(0.1) as f32, log_timing(0.2) as f32);
        assert!((c - new).abs() < 0.05 * (new - old), "{c} {old} {new}");
        let long: String = (0..400)
            .map(|i| char::from(b'!' + (i % 90) as u8))
            .collect();
        p.enroll(
            &DigraphSample::from_events(&typed(&long, 80.0, |_| 100.0), &key),
            0.1,
        );
        // At the cap the profile keeps the most-seen entries, ties to the lower name, in name
        // order: the same set a full sort by (seen desc, name) would keep.
        let skipping = |step: usize| -> DigraphSample {
            let text: String = (0..400)
                .map(|i| char::from(b'!' + (step * i % 90) as u8))
                .collect();
            DigraphSample::from_events(&typed(&text, 60.0, |_| 90.0), &key)
        };
        p.enroll(&skipping(7), 0.1);
        let mut before = (*p.entries).clone();
        let extra = skipping(11);
        p.enroll(&extra, 0.1);
        assert_eq!(p.len(), MAX_ENTRIES);
        for (name, _) in &extra.entries {
            match before.iter_mut().find(|e| e.name == *name) {
                Some(e) => e.seen += 1,
                None => before.push(Stat {
                    name: *name,
                    seen: 1,
                    centre: 0.0,
                    spread: 0.0,
                }),
            }
        }
        before.sort_by(|a, b| b.seen.cmp(&a.seen).then(a.name.cmp(&b.name)));
        let mut expected: Vec<u32> = before[..MAX_ENTRIES].iter().map(|e| e.name).collect();
        expected.sort_unstable();
        let kept: Vec<u32> = p.entries.iter().map(|e| e.name).collect();
        assert_eq!(kept, expected);
        assert!(before.len() > MAX_ENTRIES, "the cap was reached");
        let back: DigraphProfile =
            postcard::from_bytes(&postcard::to_stdvec(&p).expect("encode")).expect("decode");
        assert_eq!(back, p);
    }
}
