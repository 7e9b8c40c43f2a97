//! The records the store keeps and the pure rules that update them. No I/O here: backends load a
//! record, call one of these methods and save it back inside a transaction.

use serde::{Deserialize, Serialize};

use super::freeman::{AttrHistory, AttrKeys};
use std::sync::Arc;

use crate::keystroke::verifier::{Background, TypingProfile, TypingSample};
use crate::privacy::Pseudonym;

/// Most intervals kept in one timing sketch.
pub const SKETCH_LEN: usize = 64;

/// Tunables for learning and for the activity ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnConfig {
    /// Distinct users remembered per device or IP.
    pub max_users: usize,
    /// Devices kept per profile (least recently verified dropped first).
    pub max_devices: usize,
    /// Places kept per profile.
    pub max_places: usize,
    /// Timing sketches remembered per user for replay detection.
    pub max_sketches: usize,
    /// How long a scored request waits for its outcome, ms.
    pub pending_ttl_ms: i64,
    /// Decay of the hour histogram per verified event.
    pub hour_decay: f32,
    /// The typing verifier's population background under the deployment's entry names, which
    /// enrolment needs (the user's style factors are estimated against it). `None`: typing
    /// evidence is not enrolled (the engine always sets it).
    pub typing: Option<Arc<Background>>,
}

impl Default for LearnConfig {
    fn default() -> Self {
        LearnConfig {
            max_users: 64,
            max_devices: 12,
            max_places: 24,
            max_sketches: 16,
            pending_ttl_ms: 7 * 24 * 3_600_000,
            hour_decay: 0.98,
            typing: None,
        }
    }
}

/// Width of a fine bucket, ms (2 min); 31 fine buckets cover any window of up to an hour.
pub const FINE_BUCKET_MS: i64 = 120_000;
const FINE_BUCKETS: usize = 31;
/// Width of a coarse bucket, ms (1 h); coarse buckets cover the last 25 hours.
pub const COARSE_BUCKET_MS: i64 = 3_600_000;
const COARSE_BUCKETS: usize = 25;

/// Event counts in time buckets: 2-minute buckets over the last hour and hourly buckets over the
/// last 25 hours. Fixed size whatever the traffic, so a flood from one IP costs no more to
/// read than a quiet one. Counting rounds the window out to whole buckets, which can only
/// over-count at the edges (fail secure: it raises risk, never lowers it).
///
/// Stored as one fixed 128-byte blob (little endian: fine head, coarse head, fine buckets,
/// coarse buckets), so a counter decodes and encodes with one copy, not 58 serde calls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recent {
    fine_head: i64,
    fine: [u16; FINE_BUCKETS],
    coarse_head: i64,
    coarse: [u16; COARSE_BUCKETS],
}

fn ring_add(ring: &mut [u16], head: &mut i64, idx: i64) {
    let n = ring.len() as i64;
    if idx > *head {
        // Clear the buckets between the old head and the new one: all of them after a long
        // quiet spell, else one run that may wrap (no division per bucket: most pushes land
        // after a gap longer than the ring).
        let advance = (idx - *head).min(n) as usize;
        if advance == ring.len() {
            ring.fill(0);
        } else {
            let start = (*head + 1).rem_euclid(n) as usize;
            let first = advance.min(ring.len() - start);
            ring[start..start + first].fill(0);
            ring[..advance - first].fill(0);
        }
        *head = idx;
    }
    if *head - idx < n {
        let slot = &mut ring[idx.rem_euclid(n) as usize];
        *slot = slot.saturating_add(1);
    }
}

fn ring_count(ring: &[u16], head: i64, first: i64, last: i64) -> u32 {
    let n = ring.len() as i64;
    let lo = first.max(head - n + 1);
    let hi = last.min(head);
    (lo..=hi)
        .map(|i| u32::from(ring[i.rem_euclid(n) as usize]))
        .sum()
}

impl Recent {
    /// Counts an event at `at_ms` (events older than the retained buckets are dropped).
    pub fn push(&mut self, at_ms: i64) {
        ring_add(
            &mut self.fine,
            &mut self.fine_head,
            at_ms.div_euclid(FINE_BUCKET_MS),
        );
        ring_add(
            &mut self.coarse,
            &mut self.coarse_head,
            at_ms.div_euclid(COARSE_BUCKET_MS),
        );
    }

    /// Start of the 2-minute bucket of the newest event counted, ms; `None` when nothing was
    /// ever counted.
    pub fn last_ms(&self) -> Option<i64> {
        let counted = self.fine.iter().chain(&self.coarse).any(|&c| c > 0);
        counted.then(|| {
            self.fine_head
                .saturating_mul(FINE_BUCKET_MS)
                .max(self.coarse_head.saturating_mul(COARSE_BUCKET_MS))
        })
    }

    /// Events in `[since_ms, until_ms]`, rounded out to whole buckets: 2-minute buckets for
    /// windows up to an hour, hourly buckets beyond (up to 25 h).
    pub fn count_between(&self, since_ms: i64, until_ms: i64) -> u32 {
        if until_ms - since_ms <= FINE_BUCKET_MS * (FINE_BUCKETS as i64 - 1) {
            ring_count(
                &self.fine,
                self.fine_head,
                since_ms.div_euclid(FINE_BUCKET_MS),
                until_ms.div_euclid(FINE_BUCKET_MS),
            )
        } else {
            ring_count(
                &self.coarse,
                self.coarse_head,
                since_ms.div_euclid(COARSE_BUCKET_MS),
                until_ms.div_euclid(COARSE_BUCKET_MS),
            )
        }
    }
}

const RECENT_BYTES: usize = 16 + 2 * (FINE_BUCKETS + COARSE_BUCKETS);

impl Serialize for Recent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = [0u8; RECENT_BYTES];
        let (heads, words) = out.split_at_mut(16);
        heads[..8].copy_from_slice(&self.fine_head.to_le_bytes());
        heads[8..].copy_from_slice(&self.coarse_head.to_le_bytes());
        for (c, w) in words
            .chunks_exact_mut(2)
            .zip(self.fine.iter().chain(&self.coarse))
        {
            c.copy_from_slice(&w.to_le_bytes());
        }
        s.serialize_bytes(&out)
    }
}

impl<'de> Deserialize<'de> for Recent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_blob(d, "a 128-byte counter blob", |b| {
            if b.len() != RECENT_BYTES {
                return None;
            }
            let (heads, words) = b.split_at(16);
            let (fine_head, coarse_head) = heads.split_at(8);
            let mut r = Recent {
                fine_head: i64::from_le_bytes(fine_head.try_into().ok()?),
                coarse_head: i64::from_le_bytes(coarse_head.try_into().ok()?),
                ..Recent::default()
            };
            let mut w = words
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]));
            for slot in r.fine.iter_mut().chain(r.coarse.iter_mut()) {
                *slot = w.next()?;
            }
            Some(r)
        })
    }
}

/// Reads a record stored as one byte blob with `parse`, which returns `None` when the blob is
/// malformed. Records are always decoded from a borrowed slice, so the blob is not copied.
fn from_blob<'de, D, T>(
    d: D,
    what: &'static str,
    parse: impl FnOnce(&[u8]) -> Option<T>,
) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let bytes: &[u8] = serde_bytes::Deserialize::deserialize(d)?;
    parse(bytes).ok_or_else(|| serde::de::Error::invalid_length(bytes.len(), &what))
}

/// Distinct keys with the last time each was seen, capped (least recent dropped). Stored as a
/// blob of little-endian (key, minute) u32 pairs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecentKeys {
    /// (32-bit key, minute of last sighting).
    entries: Vec<(u32, u32)>,
}

fn minute(at_ms: i64) -> u32 {
    at_ms.div_euclid(60_000).clamp(0, i64::from(u32::MAX)) as u32
}

impl Serialize for RecentKeys {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::with_capacity(8 * self.entries.len());
        for (k, m) in &self.entries {
            bytes.extend_from_slice(&k.to_le_bytes());
            bytes.extend_from_slice(&m.to_le_bytes());
        }
        s.serialize_bytes(&bytes)
    }
}

impl<'de> Deserialize<'de> for RecentKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_blob(d, "a blob of (key, minute) pairs", |b| {
            if !b.len().is_multiple_of(8) {
                return None;
            }
            let word = |c: &[u8]| u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            let entries = b
                .chunks_exact(8)
                .map(|c| (word(&c[..4]), word(&c[4..])))
                .collect();
            Some(RecentKeys { entries })
        })
    }
}

impl RecentKeys {
    /// Marks `key` as seen at `at_ms`.
    pub fn touch(&mut self, key: u64, at_ms: i64, cap: usize) {
        let (key, at) = (key as u32, minute(at_ms));
        if let Some(e) = self.entries.iter_mut().find(|e| e.0 == key) {
            e.1 = e.1.max(at);
            return;
        }
        self.entries.push((key, at));
        if self.entries.len() > cap
            && let Some((i, _)) = self.entries.iter().enumerate().min_by_key(|(_, e)| e.1)
        {
            self.entries.swap_remove(i);
        }
    }

    /// True when `key` is held. Keys are kept as their low 32 bits, so another key with the
    /// same low bits also matches (about one chance in 67 million per entry with 64 entries).
    pub fn contains(&self, key: u64) -> bool {
        let key = key as u32;
        self.entries.iter().any(|e| e.0 == key)
    }

    /// Forgets `key` (and any key sharing its low 32 bits); true when something was removed.
    pub fn remove(&mut self, key: u64) -> bool {
        let (key, before) = (key as u32, self.entries.len());
        self.entries.retain(|e| e.0 != key);
        self.entries.len() != before
    }

    /// Forgets keys last seen before the minute of `cutoff_ms`; true when something was removed.
    pub fn forget_before(&mut self, cutoff_ms: i64) -> bool {
        let (cutoff, before) = (minute(cutoff_ms), self.entries.len());
        self.entries.retain(|e| e.1 >= cutoff);
        self.entries.len() != before
    }

    /// Start of the minute of the newest sighting, ms; `None` when empty.
    pub fn last_ms(&self) -> Option<i64> {
        self.entries.iter().map(|e| i64::from(e.1) * 60_000).max()
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Distinct keys seen in `[since_ms, until_ms]`, counting `also` as seen too.
    pub fn distinct_between(&self, since_ms: i64, until_ms: i64, also: u64) -> u32 {
        let (also, since, until) = (also as u32, minute(since_ms), minute(until_ms));
        let others = self
            .entries
            .iter()
            .filter(|e| e.0 != also && e.1 >= since && e.1 <= until)
            .count();
        others as u32 + 1
    }
}

/// A device verified for a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownDevice {
    /// Device pseudonym.
    pub key: Pseudonym,
    /// First verified use, ms.
    pub first_verified_ms: i64,
    /// Last verified use, ms.
    pub last_verified_ms: i64,
    /// Verified uses.
    pub count: u32,
    /// When fraud was confirmed on a request from this device while it was already this user's
    /// own verified device (a remote-access trojan, a SIM swap): the mark is the user's, not the
    /// device's, so it locks no one else out; it decays and a later verified outcome from the
    /// device clears it (format 5).
    pub fraud_ms: Option<i64>,
}

/// A place verified for a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownPlace {
    /// ISO country code.
    pub country: String,
    /// City name (empty when the database has none).
    pub city: String,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Last verified visit, ms.
    pub last_ms: i64,
    /// Verified visits.
    pub count: u32,
}

/// A located, verified event: where and when the user was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeoFix {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Accuracy radius of the geo lookup, km.
    pub radius_km: f64,
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// ISO country code ("" when unknown).
    pub country: String,
    /// City name ("" when unknown).
    pub city: String,
}

/// The typing of one scored request, kept until its outcome: keyed-hash-named timing entries
/// (never keys) and the form factor it was typed on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TypingEvidence {
    /// Typed on a phone or tablet (kept apart from keyboard typing).
    pub mobile: bool,
    /// The sample's timing entries (hold and up-down flight per hashed key name or pair).
    pub sample: TypingSample,
}

/// Timing intervals of one sample, quantised to whole ms, for replay detection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimingSketch {
    /// Dwell and flight times interleaved, ms, as little-endian u16 pairs (at most
    /// [`SKETCH_LEN`] intervals); stored as bytes so a profile decodes with one copy.
    #[serde(with = "serde_bytes")]
    bytes: Vec<u8>,
}

impl TimingSketch {
    /// A sketch of these intervals (ms), truncated to [`SKETCH_LEN`].
    pub fn from_intervals(intervals: &[u16]) -> TimingSketch {
        let bytes = intervals
            .iter()
            .take(SKETCH_LEN)
            .flat_map(|v| v.to_le_bytes())
            .collect();
        TimingSketch { bytes }
    }

    /// Number of intervals.
    pub fn len(&self) -> usize {
        self.bytes.len() / 2
    }

    /// True when there are no intervals.
    pub fn is_empty(&self) -> bool {
        self.bytes.len() < 2
    }

    /// The intervals, ms.
    pub fn intervals(&self) -> impl Iterator<Item = u16> + '_ {
        self.bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
    }

    /// Mean absolute difference between two sketches of equal length, ms; `None` if the lengths
    /// differ or they are too short to mean anything (under 8 intervals).
    pub fn distance(&self, other: &TimingSketch) -> Option<f32> {
        interval_distance(&self.bytes, &other.bytes)
    }
}

/// [`TimingSketch::distance`] over two encoded interval lists.
fn interval_distance(a: &[u8], b: &[u8]) -> Option<f32> {
    let n = a.len() / 2;
    if a.len() != b.len() || n < 8 {
        return None;
    }
    let sum: u32 = a
        .chunks_exact(2)
        .zip(b.chunks_exact(2))
        .map(|(x, y)| {
            u32::from(u16::from_le_bytes([x[0], x[1]]).abs_diff(u16::from_le_bytes([y[0], y[1]])))
        })
        .sum();
    Some(sum as f32 / n as f32)
}

/// The timing sketches already seen for a user, oldest first, in one blob: each is a count
/// byte followed by that many little-endian u16 intervals. One allocation and one copy per
/// read or write, whatever the number of sketches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeenSketches {
    #[serde(with = "serde_bytes")]
    bytes: Vec<u8>,
}

impl SeenSketches {
    /// The encoded interval lists, oldest first (a malformed tail is ignored).
    fn entries(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut rest = self.bytes.as_slice();
        std::iter::from_fn(move || {
            let (&n, tail) = rest.split_first()?;
            let len = 2 * usize::from(n);
            let entry = tail.get(..len)?;
            rest = tail.get(len..)?;
            Some(entry)
        })
    }

    /// Number of sketches kept.
    pub fn len(&self) -> usize {
        self.entries().count()
    }

    /// True when none is kept.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Distance (ms) from `sketch` to the closest comparable sketch kept. Exact; a candidate is
    /// abandoned as soon as its running sum exceeds the best so far.
    pub fn closest(&self, sketch: &TimingSketch) -> Option<f32> {
        let n = sketch.len();
        if n < 8 {
            return None;
        }
        let mut mine = [0u16; SKETCH_LEN];
        for (slot, v) in mine.iter_mut().zip(sketch.intervals()) {
            *slot = v;
        }
        let mine = &mine[..n.min(SKETCH_LEN)];
        let mut best: Option<u32> = None;
        for seen in self.entries().filter(|e| e.len() == 2 * mine.len()) {
            let bound = best.unwrap_or(u32::MAX);
            let mut sum = 0u32;
            for (block, theirs) in mine.chunks(8).zip(seen.chunks(16)) {
                sum += block
                    .iter()
                    .zip(theirs.chunks_exact(2))
                    .map(|(a, b)| u32::from(a.abs_diff(u16::from_le_bytes([b[0], b[1]]))))
                    .sum::<u32>();
                if sum >= bound {
                    break;
                }
            }
            if sum < bound {
                best = Some(sum);
            }
        }
        best.map(|s| s as f32 / mine.len() as f32)
    }

    /// Appends `sketch`, then drops the oldest until at most `max` are kept.
    pub fn push(&mut self, sketch: &TimingSketch, max: usize) {
        // A sketch holds at most SKETCH_LEN (< 256) intervals, so its count fits the byte.
        let n = u8::try_from(sketch.len()).unwrap_or(u8::MAX);
        self.bytes.push(n);
        self.bytes.extend_from_slice(
            sketch
                .bytes
                .get(..2 * usize::from(n))
                .unwrap_or(&sketch.bytes),
        );
        let excess = self.len().saturating_sub(max);
        if excess > 0 {
            let cut: usize = self.entries().take(excess).map(|e| 1 + e.len()).sum();
            self.bytes.drain(..cut);
        }
    }
}

/// What is normal for a user, learned from verified outcomes only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserProfile {
    /// Verified events learned.
    pub verified_count: u32,
    /// First verified event, ms.
    pub first_verified_ms: i64,
    /// Last verified event, ms.
    pub last_verified_ms: i64,
    /// Devices verified for this user.
    pub devices: Vec<KnownDevice>,
    /// Places verified for this user.
    pub places: Vec<KnownPlace>,
    /// The most recent verified location (for impossible travel).
    pub last_fix: Option<GeoFix>,
    /// Weighted centre of verified places: (lat, lon).
    pub home: Option<(f64, f64)>,
    /// Decayed histogram of verified event hours (UTC).
    pub hours: [f32; 24],
    /// Typing profile on a keyboard, once enrolled.
    pub typing_desktop: Option<TypingProfile>,
    /// Typing profile on a phone or tablet, once enrolled.
    pub typing_mobile: Option<TypingProfile>,
    /// Decayed counts of the attribute values (country, AS, address, browser, OS) of verified
    /// events, for the Freeman et al. likelihood ratios (format 6).
    pub attributes: AttrHistory,
}

/// Evidence from a scored request, kept until its outcome arrives.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PendingEvidence {
    /// The claimed user.
    pub user: Pseudonym,
    /// When the request was scored, ms.
    pub at_ms: i64,
    /// Device pseudonym.
    pub device: Option<Pseudonym>,
    /// IP pseudonym.
    pub ip: Option<Pseudonym>,
    /// Location, only when it can stand for the user's place (not an anonymiser or host).
    pub fix: Option<GeoFix>,
    /// Typing, when the sample was long enough and human.
    pub typing: Option<TypingEvidence>,
    /// Hour of day (UTC), 0–23.
    pub hour: u8,
    /// Already learned (a second positive outcome must not count twice).
    pub learned: bool,
    /// The answer's receipt (see [`crate::domain::ScoreResponse::receipt`]); an outcome that
    /// echoes another is refused. All zero for offline replay, which issues none.
    pub receipt: [u8; 16],
    /// Outcome kinds already applied ([`crate::domain::OutcomeRecord::bit`]): one effect per
    /// (request, outcome kind); a replayed outcome changes nothing.
    pub applied: u8,
    /// Hash of the caller and of the request but its timestamp: a retry must match it to get
    /// the first answer. All zero for offline replay.
    pub digest: [u8; 16],
    /// Keyed images of the request's attribute values, learned into the profile and the
    /// tenant's population counts if it is verified (format 6; `None` for requests scored
    /// before the upgrade).
    pub attributes: Option<AttrKeys>,
}

/// Recent activity on a user account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserActivity {
    /// Scored requests.
    pub attempts: Recent,
    /// Failed attempts and failed challenges.
    pub failures: Recent,
    /// Timing sketches already seen, newest last.
    pub sketches: SeenSketches,
}

/// Recent activity on a device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceActivity {
    /// Users (short pseudonyms) seen on the device.
    pub users: RecentKeys,
    /// When the device was last part of confirmed fraud.
    pub fraud_ms: Option<i64>,
}

/// Recent activity from an IP.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IpActivity {
    /// Scored requests.
    pub attempts: Recent,
    /// Failed attempts and failed challenges.
    pub failures: Recent,
    /// Users (short pseudonyms) seen from the IP.
    pub users: RecentKeys,
    /// When the IP was last part of confirmed fraud.
    pub fraud_ms: Option<i64>,
}

impl UserActivity {
    /// Counts one scored request and remembers its timing sketch. Returns the distance (ms) from
    /// the sketch to the closest one seen before it, if any is comparable.
    pub fn observe(
        &mut self,
        at_ms: i64,
        failed: bool,
        sketch: Option<&TimingSketch>,
        cfg: &LearnConfig,
    ) -> Option<f32> {
        self.attempts.push(at_ms);
        if failed {
            self.failures.push(at_ms);
        }
        let mut closest = None;
        if let Some(s) = sketch {
            closest = self.sketches.closest(s);
            self.sketches.push(s, cfg.max_sketches);
        }
        closest
    }

    /// When the record was last touched (newest attempt or failure), ms; `None` when never. The
    /// timing sketches carry no times: they go with the record, or by the `max_sketches` cap.
    pub fn last_ms(&self) -> Option<i64> {
        self.attempts.last_ms().max(self.failures.last_ms())
    }
}

impl DeviceActivity {
    /// Counts one scored request by `user`.
    pub fn observe(&mut self, user: u64, at_ms: i64, cfg: &LearnConfig) {
        self.users.touch(user, at_ms, cfg.max_users);
    }

    /// When the record was last touched (newest sighting or fraud mark), ms; `None` when never.
    pub fn last_ms(&self) -> Option<i64> {
        self.users.last_ms().max(self.fraud_ms)
    }
}

impl IpActivity {
    /// Counts one scored request by `user`.
    pub fn observe(&mut self, user: u64, at_ms: i64, failed: bool, cfg: &LearnConfig) {
        self.attempts.push(at_ms);
        if failed {
            self.failures.push(at_ms);
        }
        self.users.touch(user, at_ms, cfg.max_users);
    }

    /// When the record was last touched (newest attempt, failure, sighting or fraud mark), ms;
    /// `None` when never.
    pub fn last_ms(&self) -> Option<i64> {
        self.attempts
            .last_ms()
            .max(self.failures.last_ms())
            .max(self.users.last_ms())
            .max(self.fraud_ms)
    }
}

impl UserProfile {
    /// True once anything has been verified.
    pub fn has_history(&self) -> bool {
        self.verified_count > 0
    }

    /// The known device with this key.
    pub fn device(&self, key: &Pseudonym) -> Option<&KnownDevice> {
        self.devices.iter().find(|d| &d.key == key)
    }

    /// Learns from a verified genuine event.
    pub fn learn(&mut self, ev: &PendingEvidence, cfg: &LearnConfig) {
        if self.verified_count == 0 {
            self.first_verified_ms = ev.at_ms;
        }
        self.verified_count = self.verified_count.saturating_add(1);
        self.last_verified_ms = self.last_verified_ms.max(ev.at_ms);
        if let Some(key) = ev.device {
            match self.devices.iter_mut().find(|d| d.key == key) {
                Some(d) => {
                    d.last_verified_ms = d.last_verified_ms.max(ev.at_ms);
                    d.count = d.count.saturating_add(1);
                    // The user passed a challenge on the device after the fraud: theirs again.
                    if d.fraud_ms.is_some_and(|m| m < ev.at_ms) {
                        d.fraud_ms = None;
                    }
                }
                None => {
                    self.devices.push(KnownDevice {
                        key,
                        first_verified_ms: ev.at_ms,
                        last_verified_ms: ev.at_ms,
                        count: 1,
                        fraud_ms: None,
                    });
                    evict_oldest(&mut self.devices, cfg.max_devices, |d| d.last_verified_ms);
                }
            }
        }
        if let Some(fix) = &ev.fix {
            match self
                .places
                .iter_mut()
                .find(|p| p.country == fix.country && p.city == fix.city)
            {
                Some(p) => {
                    p.last_ms = p.last_ms.max(fix.at_ms);
                    p.count = p.count.saturating_add(1);
                }
                None => {
                    self.places.push(KnownPlace {
                        country: fix.country.clone(),
                        city: fix.city.clone(),
                        lat: fix.lat,
                        lon: fix.lon,
                        last_ms: fix.at_ms,
                        count: 1,
                    });
                    evict_oldest(&mut self.places, cfg.max_places, |p| p.last_ms);
                }
            }
            if self.last_fix.as_ref().is_none_or(|f| f.at_ms <= fix.at_ms) {
                self.last_fix = Some(fix.clone());
            }
            self.home = Some(self.weighted_home());
        }
        for h in self.hours.iter_mut() {
            *h *= cfg.hour_decay;
        }
        if let Some(slot) = self.hours.get_mut(usize::from(ev.hour)) {
            *slot += 1.0;
        }
        if let (Some(t), Some(bg)) = (&ev.typing, &cfg.typing) {
            self.typing_for_mut(t.mobile)
                .get_or_insert_with(TypingProfile::default)
                .enroll(&t.sample, bg);
        }
        if let Some(keys) = &ev.attributes {
            self.attributes.learn(keys, ev.at_ms);
        }
    }

    /// True when `device` was this user's own verified device before `at_ms`.
    pub fn owned_before(&self, device: &Pseudonym, at_ms: i64) -> bool {
        self.device(device)
            .is_some_and(|d| d.first_verified_ms < at_ms)
    }

    /// Marks the user's own device as used for confirmed fraud at `at_ms`.
    pub fn mark_own_device(&mut self, device: &Pseudonym, at_ms: i64) {
        if let Some(d) = self.devices.iter_mut().find(|d| &d.key == device) {
            d.fraud_ms = Some(d.fraud_ms.map_or(at_ms, |m| m.max(at_ms)));
        }
    }

    /// Takes back what a confirmed-fraud request taught (its device and place).
    pub fn unlearn(&mut self, ev: &PendingEvidence) {
        if !ev.learned {
            return;
        }
        if let Some(key) = ev.device {
            self.devices
                .retain(|d| d.key != key || d.first_verified_ms < ev.at_ms);
        }
        if let Some(fix) = &ev.fix {
            self.places
                .retain(|p| !(p.country == fix.country && p.city == fix.city && p.count <= 1));
            if self.last_fix.as_ref().is_some_and(|f| f.at_ms == fix.at_ms) {
                self.last_fix = None;
            }
            self.home = (!self.places.is_empty()).then(|| self.weighted_home());
        }
        if let Some(t) = &ev.typing {
            // A fading profile cannot subtract one sample exactly; drop the form factor's
            // profile instead (no template is a mild risk; a poisoned one would be a key).
            *self.typing_for_mut(t.mobile) = None;
        }
        if let Some(keys) = &ev.attributes {
            self.attributes.unlearn(keys, ev.at_ms);
        }
    }

    /// The typing profile for a form factor.
    pub fn typing_for(&self, mobile: bool) -> Option<&TypingProfile> {
        if mobile {
            self.typing_mobile.as_ref()
        } else {
            self.typing_desktop.as_ref()
        }
    }

    fn typing_for_mut(&mut self, mobile: bool) -> &mut Option<TypingProfile> {
        if mobile {
            &mut self.typing_mobile
        } else {
            &mut self.typing_desktop
        }
    }

    fn weighted_home(&self) -> (f64, f64) {
        // Count-weighted mean of places on the unit sphere (safe across the antimeridian).
        let (mut x, mut y, mut z, mut w) = (0.0, 0.0, 0.0, 0.0);
        for p in &self.places {
            let (lat, lon) = (p.lat.to_radians(), p.lon.to_radians());
            let c = f64::from(p.count);
            x += c * lat.cos() * lon.cos();
            y += c * lat.cos() * lon.sin();
            z += c * lat.sin();
            w += c;
        }
        if w == 0.0 {
            return (0.0, 0.0);
        }
        let (x, y, z) = (x / w, y / w, z / w);
        (
            z.atan2((x * x + y * y).sqrt()).to_degrees(),
            y.atan2(x).to_degrees(),
        )
    }
}

fn evict_oldest<T>(items: &mut Vec<T>, cap: usize, time: impl Fn(&T) -> i64) {
    while items.len() > cap {
        let Some((i, _)) = items.iter().enumerate().min_by_key(|(_, x)| time(x)) else {
            return;
        };
        items.swap_remove(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo(b: u8) -> Pseudonym {
        Pseudonym([b; 16])
    }

    #[test]
    fn windows_count_only_their_span_and_cap() {
        const MIN: i64 = 60_000;
        const T: i64 = 1_767_225_600_000;
        let mut r = Recent::default();
        for t in [T, T + 3 * MIN, T + 10 * MIN, T + 50 * MIN, T + 70 * MIN] {
            r.push(t);
        }
        // Last hour ending at T+70 min, in 2-minute buckets: T+10, T+50, T+70 (T+3 is outside).
        assert_eq!(r.count_between(T + 10 * MIN, T + 70 * MIN), 3);
        assert_eq!(r.count_between(T + 60 * MIN, T + 70 * MIN), 1);
        // 24 h window in hourly buckets: everything.
        assert_eq!(
            r.count_between(T + 70 * MIN - 24 * 60 * MIN, T + 70 * MIN),
            5
        );
        // Ten hours later the fine buckets have rolled over; the hourly ones remain.
        r.push(T + 600 * MIN);
        assert_eq!(r.count_between(T + 540 * MIN, T + 600 * MIN), 1);
        assert_eq!(r.count_between(T, T + 600 * MIN), 6);
        // At T+26 h the hourly ring holds the last 25 hours: T+10 h and T+26 h, not the first five.
        r.push(T + 26 * 60 * MIN);
        assert_eq!(r.count_between(T, T + 26 * 60 * MIN), 2);
        let mut k = RecentKeys::default();
        k.touch(1, 100 * MIN, 2);
        k.touch(2, 200 * MIN, 2);
        k.touch(1, 300 * MIN, 2);
        k.touch(3, 400 * MIN, 2); // evicts 2 (least recent)
        assert_eq!(k.distinct_between(0, 1000 * MIN, 9), 3);
        assert_eq!(k.distinct_between(350 * MIN, 1000 * MIN, 3), 1);

        // Both encode as compact blobs and read back exactly.
        let ip = IpActivity {
            attempts: r.clone(),
            failures: Recent::default(),
            users: k.clone(),
            fraud_ms: Some(T),
        };
        let bytes = postcard::to_stdvec(&ip).expect("encode");
        // 128-byte counter blobs (+1 length byte each), 2 pairs of 8 bytes (+1), fraud_ms.
        assert!(bytes.len() < 2 * 130 + 18 + 10, "{} bytes", bytes.len());
        let back: IpActivity = postcard::from_bytes(&bytes).expect("decode");
        assert_eq!(back, ip);
        assert_eq!(back.attempts.count_between(T, T + 26 * 60 * MIN), 2);
        // A truncated counter blob is an error, not a panic or a zeroed counter.
        let short = postcard::to_stdvec(&serde_bytes::Bytes::new(&[0u8; 100])).expect("encode");
        assert!(postcard::from_bytes::<Recent>(&short).is_err());
        let odd = postcard::to_stdvec(&serde_bytes::Bytes::new(&[0u8; 12])).expect("encode");
        assert!(postcard::from_bytes::<RecentKeys>(&odd).is_err());
    }

    #[test]
    fn the_rings_count_exactly_what_a_plain_list_of_events_counts() {
        // Known answers from the definition: a window counts the events whose bucket lies in
        // it and within the ring's reach of the newest bucket. Gaps of every size (inside one
        // bucket, a few buckets, wrapping round the ring, longer than the ring) and late events.
        const T: i64 = 1_767_225_600_000;
        let mut r = Recent::default();
        let mut events: Vec<i64> = Vec::new();
        let mut at = T;
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for i in 0..4000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let step = match state % 7 {
                0 => 0,
                1 => 30_000,
                2 => (state % 40) as i64 * FINE_BUCKET_MS,
                3 => (state % 30) as i64 * COARSE_BUCKET_MS,
                4 => -((state % 5) as i64) * FINE_BUCKET_MS,
                _ => (state % 9) as i64 * 61_000,
            };
            at += step;
            r.push(at);
            events.push(at);
            let newest = events.iter().copied().max().unwrap_or(at);
            for (span, bucket, buckets) in [
                (30 * 60_000, FINE_BUCKET_MS, FINE_BUCKETS as i64),
                (20 * 3_600_000, COARSE_BUCKET_MS, COARSE_BUCKETS as i64),
            ] {
                let (since, until) = (newest - span, newest);
                let (first, last) = (since.div_euclid(bucket), until.div_euclid(bucket));
                let head = newest.div_euclid(bucket);
                let expected = events
                    .iter()
                    .map(|e| e.div_euclid(bucket))
                    .filter(|b| *b >= first && *b <= last && head - *b < buckets)
                    .count() as u32;
                assert_eq!(r.count_between(since, until), expected, "event {i}");
            }
        }
    }

    #[test]
    fn records_know_when_they_were_last_touched_and_forget_old_sightings() {
        const MIN: i64 = 60_000;
        const T: i64 = 1_767_225_600_000;
        let mut r = Recent::default();
        assert_eq!(r.last_ms(), None);
        r.push(T + 5 * MIN);
        r.push(T + 3 * MIN); // older than the newest: the head stays
        assert_eq!(
            r.last_ms(),
            Some(T + 4 * MIN),
            "start of the 2-minute bucket"
        );
        let mut k = RecentKeys::default();
        k.touch(0xAAAA_0000_0000_0001, T, 8);
        k.touch(0xBBBB_0000_0000_0002, T + 90 * MIN, 8);
        assert_eq!(k.last_ms(), Some(T + 90 * MIN));
        // Only the low 32 bits are kept: that is what `contains` and `remove` match.
        assert!(k.contains(0x0000_0000_0000_0001) && !k.contains(3));
        assert!(!k.forget_before(T), "nothing older than T");
        assert!(k.forget_before(T + MIN));
        assert_eq!((k.len(), k.contains(1), k.contains(2)), (1, false, true));
        assert!(k.remove(2) && !k.remove(2) && k.is_empty());
        let ip = IpActivity {
            attempts: r,
            fraud_ms: Some(T + 60 * MIN),
            ..IpActivity::default()
        };
        assert_eq!(ip.last_ms(), Some(T + 60 * MIN), "a fraud mark is a touch");
        assert_eq!(DeviceActivity::default().last_ms(), None);
    }

    #[test]
    fn seen_sketches_keep_the_newest_and_find_the_closest() {
        let sketch = |base: u16| {
            let v: Vec<u16> = (0..10).map(|i| base + i).collect();
            TimingSketch::from_intervals(&v)
        };
        let mut seen = SeenSketches::default();
        assert_eq!(seen.closest(&sketch(100)), None);
        for k in 0..20u16 {
            seen.push(&sketch(100 + 10 * k), 16);
        }
        assert_eq!(seen.len(), 16, "capped at 16, oldest dropped");
        // 100..=130 were dropped: the closest to 100 is now 140, 40 ms away on every interval.
        assert_eq!(seen.closest(&sketch(100)), Some(40.0));
        assert_eq!(seen.closest(&sketch(290)), Some(0.0));
        assert_eq!(seen.closest(&sketch(293)), Some(3.0));
        // Different lengths and too-short sketches are not comparable.
        assert_eq!(seen.closest(&TimingSketch::from_intervals(&[140; 9])), None);
        let back: SeenSketches =
            postcard::from_bytes(&postcard::to_stdvec(&seen).expect("encode")).expect("decode");
        assert_eq!(back, seen);
    }

    #[test]
    fn learning_tracks_devices_places_and_fades_typing() {
        use crate::domain::KeyEvent;
        use crate::keystroke::digraph::TypingKey;
        use crate::keystroke::verifier::{MATCH_BELOW, Verdict};
        let key = TypingKey::new([3; 16]);
        let bg = Arc::new(Background::builtin(&key));
        let cfg = LearnConfig {
            typing: Some(Arc::clone(&bg)),
            ..LearnConfig::default()
        };
        let typing = |mobile: bool, hold: f64| {
            // DOM key codes, as browsers send them and the background lists them.
            let events: Vec<KeyEvent> = "account balance please"
                .chars()
                .enumerate()
                .map(|(i, c)| KeyEvent {
                    key: Some(if c == ' ' {
                        "Space".to_string()
                    } else {
                        format!("Key{}", c.to_ascii_uppercase())
                    }),
                    down_ms: 170.0 * i as f64,
                    up_ms: 170.0 * i as f64 + hold,
                })
                .collect();
            TypingEvidence {
                mobile,
                sample: TypingSample::from_events(&events, &key),
            }
        };
        let mut p = UserProfile::default();
        let fix = |at_ms| GeoFix {
            lat: 48.8566,
            lon: 2.3522,
            radius_km: 10.0,
            at_ms,
            country: "FR".into(),
            city: "Paris".into(),
        };
        for i in 0..20 {
            let ev = PendingEvidence {
                user: pseudo(1),
                at_ms: 1_000 * i,
                device: Some(pseudo(2)),
                fix: Some(fix(1_000 * i)),
                typing: Some(typing(false, 100.0)),
                hour: 9,
                ..Default::default()
            };
            p.learn(&ev, &cfg);
        }
        assert_eq!(p.verified_count, 20);
        assert_eq!(p.devices.len(), 1);
        assert_eq!(p.devices[0].count, 20);
        assert_eq!(p.places.len(), 1);
        let (lat, lon) = p.home.expect("home");
        assert!((lat - 48.8566).abs() < 1e-9 && (lon - 2.3522).abs() < 1e-9);
        assert!(p.hours[9] > p.hours[8]);
        // Keyboard typing went to the desktop profile only; the same rhythm matches it, a
        // much shorter hold does not.
        assert!(p.typing_for(true).is_none());
        let desk = p.typing_for(false).expect("desktop profile");
        assert_eq!(desk.samples, 20);
        let same = desk.verify(&typing(false, 100.0).sample, &bg);
        assert!(
            matches!(same, Verdict::Score { distance, .. } if distance < MATCH_BELOW),
            "{same:?}"
        );
        let other = desk.verify(&typing(false, 40.0).sample, &bg);
        assert!(
            matches!(other, Verdict::Score { distance, .. } if distance > 2.0),
            "{other:?}"
        );
        // A phone sample starts the mobile profile and leaves the desktop one alone.
        let phone = PendingEvidence {
            typing: Some(typing(true, 60.0)),
            learned: true,
            ..Default::default()
        };
        p.learn(&phone, &cfg);
        assert_eq!(p.typing_for(true).map(|t| t.samples), Some(1));
        assert_eq!(p.typing_for(false).map(|t| t.samples), Some(20));
        // Confirmed fraud on a learned phone sample drops the (possibly poisoned) mobile profile.
        p.unlearn(&phone);
        assert!(p.typing_for(true).is_none());
        assert_eq!(p.typing_for(false).map(|t| t.samples), Some(20));
        // Without the background (a learning config the engine did not build) typing is not
        // enrolled; the rest is.
        let mut q = UserProfile::default();
        q.learn(
            &PendingEvidence {
                typing: Some(typing(false, 100.0)),
                hour: 9,
                ..Default::default()
            },
            &LearnConfig::default(),
        );
        assert_eq!((q.verified_count, q.typing_desktop.is_none()), (1, true));
    }
}
