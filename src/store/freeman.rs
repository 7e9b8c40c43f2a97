//! The history behind the Freeman et al. likelihood ratios (D. M. Freeman, S. Jain, M. Dürmuth,
//! B. Biggio, G. Giacinto, "Who Are You? A Statistical Approach to Measuring User Authenticity",
//! NDSS 2016): how often each value of a login's attributes was seen in *verified* events, per
//! user ([`AttrHistory`], inside the profile) and per tenant ([`PopCount`] records of the
//! population table). `features::freeman` turns these counts into smoothed likelihood ratios.
//!
//! The attributes form two nested hierarchies under one root, so that a value is always counted
//! together with its parents ([`Level`]): country → autonomous system → address prefix (IPv4
//! /24, IPv6 /48) → address (IPv4, or the IPv6 /64), and browser family → browser major
//! version, OS family → OS version. Values are never stored: only their keyed 64-bit images
//! ([`AttrKeys`], SipHash under a per-tenant secret), truncated to 32 bits in a profile.
//!
//! Counts decay with a half-life of [`HALF_LIFE_MS`] on the event's server time (old habits
//! fade, and the smoothing then leans on the population again); a profile keeps at most
//! [`Level::user_cap`] values per level (at most [`MAX_USER_ENTRIES`] entries, 9 bytes each),
//! dropping the least-weighted first.
//!
//! Pure records and rules, no I/O and no features: learning happens only in
//! [`super::apply_outcome`] (verified outcomes, once per request), reading in [`super::record`].

use serde::{Deserialize, Serialize};

use super::{KvRead, KvWrite, StoreError, Table, load_at, save_at};

/// Half-life of every Freeman count, ms (90 days): a value last seen a quarter ago weighs half.
pub const HALF_LIFE_MS: i64 = 90 * 86_400_000;

/// Number of levels, the root included.
pub const N_LEVELS: usize = 9;

/// A level of the attribute hierarchies; every level but the root has one parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    /// Every verified event (the user's or tenant's total).
    Root = 0,
    /// ISO country of the address (City database).
    Country = 1,
    /// Autonomous system of the address (ASN database), within its country.
    Asn = 2,
    /// Address prefix: IPv4 /24, IPv6 /48, within its AS.
    Prefix = 3,
    /// Address: IPv4, or the IPv6 /64 (one subscriber), within its prefix.
    Ip = 4,
    /// Browser family from the user agent.
    BrowserFamily = 5,
    /// Browser family and major version.
    BrowserVersion = 6,
    /// Operating-system family from the user agent.
    OsFamily = 7,
    /// Operating-system family and version.
    OsVersion = 8,
}

impl Level {
    /// Every level, root first, each after its parent.
    pub const ALL: [Level; N_LEVELS] = [
        Level::Root,
        Level::Country,
        Level::Asn,
        Level::Prefix,
        Level::Ip,
        Level::BrowserFamily,
        Level::BrowserVersion,
        Level::OsFamily,
        Level::OsVersion,
    ];

    /// The level this one is nested in (`None` for the root).
    pub fn parent(self) -> Option<Level> {
        match self {
            Level::Root => None,
            Level::Country | Level::BrowserFamily | Level::OsFamily => Some(Level::Root),
            Level::Asn => Some(Level::Country),
            Level::Prefix => Some(Level::Asn),
            Level::Ip => Some(Level::Prefix),
            Level::BrowserVersion => Some(Level::BrowserFamily),
            Level::OsVersion => Some(Level::OsFamily),
        }
    }

    /// Most values of this level a profile keeps.
    pub fn user_cap(self) -> usize {
        match self {
            Level::Root => 1,
            Level::Country => 8,
            Level::Asn => 12,
            Level::Prefix | Level::Ip => 16,
            Level::BrowserFamily | Level::OsFamily => 4,
            Level::BrowserVersion | Level::OsVersion => 8,
        }
    }

    fn from_u8(b: u8) -> Option<Level> {
        Level::ALL.get(usize::from(b)).copied()
    }
}

/// Most entries one profile's [`AttrHistory`] holds (the sum of the level caps): 77 × 9 bytes.
pub const MAX_USER_ENTRIES: usize = 77;

/// The keyed 64-bit images of one request's attribute values, one per [`Level`] (indexed by
/// `Level as usize`). Each image covers the value and its parents, so equal images mean the
/// same value under the same parents. Kept in the pending evidence until the outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttrKeys(pub [u64; N_LEVELS]);

impl AttrKeys {
    /// The image at `level`.
    pub fn get(&self, level: Level) -> u64 {
        self.0[level as usize]
    }

    /// The population-table key of the value at `level`: its image and the level.
    pub fn population_key(&self, level: Level) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&self.get(level).to_le_bytes());
        k[8] = level as u8;
        k
    }
}

/// Weight, now, of something counted `dt_ms` ago (1 for `dt_ms ≤ 0`).
pub fn decay(dt_ms: i64) -> f64 {
    if dt_ms <= 0 {
        1.0
    } else {
        (-(dt_ms as f64) / HALF_LIFE_MS as f64).exp2()
    }
}

/// Entries below this weight are dropped (a value not seen for about 2.5 years).
const FORGOTTEN: f32 = 1e-3;
/// Bytes per entry: level, 32-bit image, f32 count.
const ENTRY: usize = 9;

/// One user's decayed counts of attribute values seen in verified events. Stored as one blob of
/// 9-byte entries (level, low 32 bits of the image, f32 count, little endian) with the time the
/// counts are as of; the root entry holds the total.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttrHistory {
    /// Time the stored counts are as of, ms (the newest event learned).
    as_of_ms: i64,
    /// Entries, 9 bytes each.
    #[serde(with = "serde_bytes")]
    entries: Vec<u8>,
}

fn entry(c: &[u8]) -> Option<(u8, u32, f32)> {
    let level = *c.first()?;
    let key = u32::from_le_bytes(c.get(1..5)?.try_into().ok()?);
    let count = f32::from_le_bytes(c.get(5..9)?.try_into().ok()?);
    Some((level, key, count))
}

fn put_count(c: &mut [u8], count: f32) {
    if let Some(slot) = c.get_mut(5..9) {
        slot.copy_from_slice(&count.to_le_bytes());
    }
}

impl AttrHistory {
    /// Number of values held (the root included).
    pub fn len(&self) -> usize {
        self.entries.len() / ENTRY
    }

    /// True when nothing was learned.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Time the stored counts are as of, ms.
    pub fn as_of_ms(&self) -> i64 {
        self.as_of_ms
    }

    /// The decayed count at `now_ms` of each of `keys`' values (index `Level as usize`; the
    /// root's is the user's total). A value not held counts 0.
    pub fn counts(&self, keys: &AttrKeys, now_ms: i64) -> [f64; N_LEVELS] {
        let mut out = [0f64; N_LEVELS];
        let scale = decay(now_ms.saturating_sub(self.as_of_ms));
        for c in self.entries.chunks_exact(ENTRY) {
            let Some((level, key, count)) = entry(c) else {
                continue;
            };
            if let Some(slot) = out.get_mut(usize::from(level))
                && let Some(l) = Level::from_u8(level)
                && keys.get(l) as u32 == key
            {
                *slot = f64::from(count) * scale;
            }
        }
        out
    }

    /// Counts one verified event with these values at `at_ms` (an event older than the
    /// newest learned is counted at its decayed weight).
    pub fn learn(&mut self, keys: &AttrKeys, at_ms: i64) {
        let weight = if self.entries.is_empty() || at_ms >= self.as_of_ms {
            if !self.entries.is_empty() {
                let f = decay(at_ms - self.as_of_ms) as f32;
                for c in self.entries.chunks_exact_mut(ENTRY) {
                    if let Some((_, _, count)) = entry(c) {
                        put_count(c, count * f);
                    }
                }
            }
            self.as_of_ms = at_ms;
            1.0
        } else {
            decay(self.as_of_ms - at_ms) as f32
        };
        for level in Level::ALL {
            self.add(level, keys.get(level) as u32, weight);
        }
        self.forget_faded();
    }

    /// Takes back an event learned at `at_ms` (confirmed fraud on a request that taught).
    pub fn unlearn(&mut self, keys: &AttrKeys, at_ms: i64) {
        let weight = decay(self.as_of_ms - at_ms) as f32;
        for level in Level::ALL {
            self.add(level, keys.get(level) as u32, -weight);
        }
        self.forget_faded();
    }

    /// Adds `weight` to one value (creating it, then evicting the level's least-weighted other
    /// value past the cap; a negative weight never creates).
    fn add(&mut self, level: Level, key: u32, weight: f32) {
        let lb = level as u8;
        let found = self
            .entries
            .chunks_exact_mut(ENTRY)
            .find(|c| entry(c).is_some_and(|(l, k, _)| l == lb && k == key));
        if let Some(c) = found {
            if let Some((_, _, count)) = entry(c) {
                put_count(c, (count + weight).max(0.0));
            }
            return;
        }
        if weight <= 0.0 {
            return;
        }
        let held = self
            .entries
            .chunks_exact(ENTRY)
            .filter(|c| c.first() == Some(&lb))
            .count();
        if held >= level.user_cap() {
            let weakest = self
                .entries
                .chunks_exact(ENTRY)
                .enumerate()
                .filter_map(|(i, c)| entry(c).map(|e| (i, e)))
                .filter(|(_, (l, _, _))| *l == lb)
                .min_by(|a, b| a.1.2.total_cmp(&b.1.2))
                .map(|(i, _)| i);
            if let Some(i) = weakest {
                self.entries.drain(i * ENTRY..(i + 1) * ENTRY);
            }
        }
        self.entries.push(lb);
        self.entries.extend_from_slice(&key.to_le_bytes());
        self.entries.extend_from_slice(&weight.to_le_bytes());
    }

    /// Drops entries whose weight has faded below [`FORGOTTEN`] (and a malformed tail).
    fn forget_faded(&mut self) {
        let mut kept = Vec::with_capacity(self.entries.len());
        for c in self.entries.chunks_exact(ENTRY) {
            if entry(c).is_some_and(|(_, _, n)| n >= FORGOTTEN) {
                kept.extend_from_slice(c);
            }
        }
        self.entries = kept;
    }
}

/// A tenant's decayed count of one attribute value over verified events (population table).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PopCount {
    /// Decayed count as of `as_of_ms`.
    pub count: f32,
    /// Time the count is as of, ms.
    pub as_of_ms: i64,
}

impl PopCount {
    /// The count at `now_ms`.
    pub fn at(&self, now_ms: i64) -> f64 {
        f64::from(self.count) * decay(now_ms.saturating_sub(self.as_of_ms))
    }

    /// Adds `weight` (negative to take back) for an event at `at_ms`.
    fn add(&mut self, weight: f64, at_ms: i64) {
        if at_ms >= self.as_of_ms {
            let now = self.at(at_ms);
            self.count = (now + weight).max(0.0) as f32;
            self.as_of_ms = at_ms;
        } else {
            let w = weight * decay(self.as_of_ms - at_ms);
            self.count = (f64::from(self.count) + w).max(0.0) as f32;
        }
    }
}

/// The tenant's counts of `keys`' values at `now_ms` (index `Level as usize`; the root's is
/// the number of verified events), 0 for a value never counted.
pub(super) fn read_population(
    kv: &mut dyn KvRead,
    keys: &AttrKeys,
    now_ms: i64,
) -> Result<[f64; N_LEVELS], StoreError> {
    let mut out = [0f64; N_LEVELS];
    for level in Level::ALL {
        let key = keys.population_key(level);
        let slot = &mut out[level as usize];
        if let Some(rec) = load_at::<PopCount>(kv, Table::Population, &key)? {
            *slot = rec.at(now_ms);
        }
    }
    Ok(out)
}

/// Adds `weight` (1 to learn, −1 to take back) for one verified event at `at_ms` to the
/// tenant's counts of each of `keys`' values; a count that reaches 0 is removed.
pub(super) fn add_population(
    kv: &mut dyn KvWrite,
    keys: &AttrKeys,
    at_ms: i64,
    weight: f64,
) -> Result<(), StoreError> {
    for level in Level::ALL {
        let key = keys.population_key(level);
        if weight > 0.0 {
            // Learning (the common case): changed where it lies when the backend allows.
            let forgotten = super::update(kv, Table::Population, &key, |rec: &mut PopCount| {
                rec.add(weight, at_ms);
                rec.count < FORGOTTEN
            })?;
            if forgotten {
                kv.remove(Table::Population, &key)?;
            }
            continue;
        }
        let mut rec = match load_at::<PopCount>(kv, Table::Population, &key)? {
            Some(r) => r,
            None if weight <= 0.0 => continue,
            None => PopCount::default(),
        };
        rec.add(weight, at_ms);
        if rec.count < FORGOTTEN {
            kv.remove(Table::Population, &key)?;
        } else {
            save_at(kv, Table::Population, &key, &rec)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(country: u64, asn: u64) -> AttrKeys {
        AttrKeys([1, country, asn, 30, 40, 50, 60, 70, 80])
    }

    #[test]
    fn counts_add_up_per_value_and_decay_by_the_half_life() {
        const T: i64 = 1_767_225_600_000;
        let mut h = AttrHistory::default();
        for _ in 0..9 {
            h.learn(&keys(11, 21), T);
        }
        h.learn(&keys(12, 22), T);
        let fr = h.counts(&keys(11, 21), T);
        assert_eq!((fr[0], fr[1], fr[2]), (10.0, 9.0, 9.0));
        assert_eq!(h.counts(&keys(12, 22), T)[1], 1.0);
        assert_eq!(h.counts(&keys(13, 23), T)[1], 0.0, "never seen");
        // One half-life later everything weighs half; ratios are unchanged.
        let later = h.counts(&keys(11, 21), T + HALF_LIFE_MS);
        assert!((later[0] - 5.0).abs() < 1e-5 && (later[1] - 4.5).abs() < 1e-5);
        // An event learned a half-life later counts 1 against the halved old ones.
        h.learn(&keys(12, 22), T + HALF_LIFE_MS);
        let de = h.counts(&keys(12, 22), T + HALF_LIFE_MS);
        assert!(
            (de[0] - 6.0).abs() < 1e-5 && (de[1] - 1.5).abs() < 1e-5,
            "{de:?}"
        );
        // Taking it back restores the halved counts.
        h.unlearn(&keys(12, 22), T + HALF_LIFE_MS);
        let de = h.counts(&keys(12, 22), T + HALF_LIFE_MS);
        assert!(
            (de[0] - 5.0).abs() < 1e-5 && (de[1] - 0.5).abs() < 1e-5,
            "{de:?}"
        );
    }

    #[test]
    fn a_profile_keeps_at_most_the_cap_per_level_dropping_the_weakest() {
        const T: i64 = 1_767_225_600_000;
        let mut h = AttrHistory::default();
        // Country 100 is seen often; then 20 one-off countries.
        for _ in 0..5 {
            h.learn(&keys(100, 200), T);
        }
        for c in 0..20u64 {
            h.learn(&keys(c, 300 + c), T + 1_000 * c as i64);
        }
        assert!(h.len() <= MAX_USER_ENTRIES, "{}", h.len());
        let sum: usize = Level::ALL.iter().map(|l| l.user_cap()).sum();
        assert_eq!(sum, MAX_USER_ENTRIES);
        let held = |level: Level| {
            h.entries
                .chunks_exact(ENTRY)
                .filter(|c| c[0] == level as u8)
                .count()
        };
        assert_eq!(held(Level::Country), 8);
        assert_eq!(held(Level::Asn), 12);
        // The frequent country survived; the newest one-off is held.
        let now = T + 19_000;
        assert!(h.counts(&keys(100, 200), now)[1] > 4.9);
        assert!(h.counts(&keys(19, 319), now)[1] > 0.99);
        assert_eq!(h.counts(&keys(0, 300), now)[1], 0.0, "an old one-off went");
        // Encoded as one blob: 9 bytes an entry, plus the time and two length bytes.
        let bytes = postcard::to_stdvec(&h).expect("encode");
        assert!(bytes.len() <= 9 * MAX_USER_ENTRIES + 14, "{}", bytes.len());
        let back: AttrHistory = postcard::from_bytes(&bytes).expect("decode");
        assert_eq!(back, h);
    }

    #[test]
    fn population_counts_decay_and_take_back() {
        const T: i64 = 1_767_225_600_000;
        let mut p = PopCount::default();
        p.add(1.0, T);
        p.add(1.0, T);
        assert_eq!(p.at(T), 2.0);
        p.add(1.0, T + HALF_LIFE_MS);
        assert!((p.at(T + HALF_LIFE_MS) - 2.0).abs() < 1e-6);
        // An older event counts at its decayed weight.
        p.add(1.0, T);
        assert!((p.at(T + HALF_LIFE_MS) - 2.5).abs() < 1e-6);
        p.add(-1.0, T + HALF_LIFE_MS);
        assert!((p.at(T + HALF_LIFE_MS) - 1.5).abs() < 1e-6);
    }

    #[test]
    fn encodings_are_pinned() {
        // Changing these bytes changes the store format (bump STORE_FORMAT with an upgrade).
        let mut h = AttrHistory::default();
        h.learn(&AttrKeys([1, 2, 3, 4, 5, 6, 7, 8, 0x1_0000_0009]), 1_000);
        let bytes = postcard::to_stdvec(&h).expect("encode");
        assert_eq!(
            &bytes[..3],
            &[0xd0, 0x0f, 81],
            "as_of 1000 (zigzag varint), 81 bytes"
        );
        assert_eq!(
            &bytes[3..12],
            &[0, 1, 0, 0, 0, 0, 0, 0x80, 0x3f],
            "root: key 1, 1.0"
        );
        assert_eq!(
            &bytes[75..84],
            &[8, 9, 0, 0, 0, 0, 0, 0x80, 0x3f],
            "low 32 bits"
        );
        let p = PopCount {
            count: 2.0,
            as_of_ms: -1,
        };
        assert_eq!(
            postcard::to_stdvec(&p).expect("encode"),
            [0, 0, 0, 0x40, 0x01]
        );
        let k = AttrKeys([0; N_LEVELS]);
        assert_eq!(k.population_key(Level::OsVersion)[8], 8);
    }
}
