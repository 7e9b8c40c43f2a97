//! A user's typing profile for one form factor: per entry a fading count, a fading mean and the
//! sample that last contained it (at most [`CAP`] entries), and the user's style factors; the
//! enrolment rule, the eviction rule and the score. Stored as one compact versioned blob.

// Dense r×r algebra reads best with explicit indices.
#![allow(clippy::needless_range_loop)]

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Background, CAP, CLIP_SD, HALF_LIFE_SAMPLES, MIN_KNOWN, NMAX, RANK, TypingSample};
use crate::keystroke::linalg::spd_solve;

/// One entry of a profile.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Stat {
    name: u32,
    /// Fading count of enrolled samples containing the entry (≤ [`NMAX`]).
    n: f32,
    /// Fading mean of its per-message values (log-timing).
    mean: f32,
    /// Value of `samples` when it was last enrolled.
    last: u32,
}

/// What comparing a message with a profile found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Scored.
    Score {
        /// `−LLR / √entries`: negative is more like the user than like the population;
        /// [`super::MATCH_BELOW`] is the match threshold.
        distance: f32,
        /// Entries of the message scored.
        entries: usize,
        /// Of which listed in the background.
        known: usize,
        /// Confidence of the profile, `K / (K + 100)` with `K` the enrolled key events.
        confidence: f32,
    },
    /// Fewer than [`MIN_KNOWN`] entries known to the background: no judgement.
    Insufficient {
        /// Entries known to the background.
        known: usize,
    },
}

/// A user's typing profile for one form factor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypingProfile {
    /// Verified samples enrolled.
    pub samples: u32,
    /// Key events enrolled (saturating).
    pub keys: u32,
    /// Fingerprint of the background `style` was estimated under.
    background: u32,
    /// Style factors.
    style: [f32; RANK],
    /// Entries by name (shared between copies, rebuilt by [`Self::enroll`]).
    entries: Arc<Vec<Stat>>,
}

type Mat = [[f64; RANK]; RANK];

fn identity() -> Mat {
    let mut m = [[0.0; RANK]; RANK];
    for (i, row) in m.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    m
}

impl TypingProfile {
    /// Entries kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True before anything was enrolled.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Confidence from the enrolled key events, `K / (K + 100)`, 0–1.
    pub fn confidence(&self) -> f32 {
        let k = self.keys as f32;
        k / (k + 100.0)
    }

    /// Enrolls a verified message: each of its entries' count grows by one (after fading to
    /// `NMAX − 1` when at [`NMAX`]) and its mean moves by 1/count towards the value; past
    /// [`CAP`] entries the weakest absent from this message go; then the style factors are
    /// re-estimated.
    pub fn enroll(&mut self, sample: &TypingSample, bg: &Background) {
        if sample.is_empty() {
            return;
        }
        self.samples = self.samples.saturating_add(1);
        self.keys = self.keys.saturating_add(sample.keys());
        let now = self.samples;
        let new = sample.entries();
        let mut merged = Vec::with_capacity(self.entries.len() + new.len());
        let (mut i, mut j) = (0, 0);
        loop {
            match (self.entries.get(i), new.get(j)) {
                (Some(s), Some(&(name, x))) if s.name == name => {
                    let n = if s.n >= NMAX { NMAX } else { s.n + 1.0 };
                    merged.push(Stat {
                        name,
                        n,
                        mean: s.mean + (x - s.mean) / n,
                        last: now,
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
                        n: 1.0,
                        mean: x,
                        last: now,
                    });
                    j += 1;
                }
                (None, None) => break,
            }
        }
        if merged.len() > CAP {
            evict(&mut merged, now);
        }
        self.entries = Arc::new(merged);
        self.style = estimate_style(&self.entries, bg);
        self.background = bg.fingerprint();
    }

    /// The style factors, re-estimated when the background changed since enrolment.
    fn style(&self, bg: &Background) -> [f32; RANK] {
        if self.background == bg.fingerprint() {
            self.style
        } else {
            estimate_style(&self.entries, bg)
        }
    }

    /// Scores a message against the profile. Allocation-free.
    pub fn verify(&self, sample: &TypingSample, bg: &Background) -> Verdict {
        let y = self.style(bg);
        let (mut ll1, mut ll0) = (0.0f64, 0.0f64);
        let mut s = [0.0f64; RANK];
        let mut m = identity();
        let mut known = 0usize;
        let mut i = 0usize;
        for &(name, x) in sample.entries() {
            while self.entries.get(i).is_some_and(|e| e.name < name) {
                i += 1;
            }
            let (n, mean) = match self.entries.get(i) {
                Some(e) if e.name == name => (f64::from(e.n), f64::from(e.mean)),
                _ => (0.0, 0.0),
            };
            let (p, listed) = bg.prepared(name);
            known += usize::from(listed);
            let x = f64::from(x);
            let mut prior = p.mu;
            for (a, yk) in p.a.iter().zip(&y) {
                prior += a * f64::from(*yk);
            }
            // The user's entry: population prior shrunk towards the enrolled mean.
            let prec = p.inv_tau2 + n * p.inv_sig2;
            let centre = (prior * p.inv_tau2 + n * mean * p.inv_sig2) / prec;
            let v1 = 1.0 / prec + p.sig2;
            let z = ((x - centre) / v1.sqrt()).clamp(-CLIP_SD, CLIP_SD);
            ll1 += -0.5 * z * z - 0.5 * v1.ln();
            // The population, before the (marginalised) style factors.
            let d = (x - p.mu).clamp(-p.lim, p.lim);
            ll0 += -0.5 * d * d * p.inv_v0 - p.half_ln_v0;
            for k in 0..RANK {
                let ak = p.a[k] * p.inv_v0;
                s[k] += d * ak;
                for l in 0..=k {
                    m[k][l] += ak * p.a[l];
                }
            }
        }
        if known < MIN_KNOWN {
            return Verdict::Insufficient { known };
        }
        for k in 0..RANK {
            for l in 0..k {
                m[l][k] = m[k][l];
            }
        }
        // Woodbury: marginalising y ~ N(0, I) adds ½ Sᵀ(I + M)⁻¹S − ½ ln det(I + M).
        let mut sol = s;
        if let Some(log_det) = spd_solve(&mut m, &mut sol) {
            let quad: f64 = s.iter().zip(&sol).map(|(a, b)| a * b).sum();
            ll0 += 0.5 * quad - 0.5 * log_det;
        }
        let entries = sample.len();
        let distance = -(ll1 - ll0) / (entries as f64).sqrt();
        Verdict::Score {
            distance: distance as f32,
            entries,
            known,
            confidence: self.confidence(),
        }
    }
}

/// Drops entries until [`CAP`] remain: among those absent from the sample just enrolled (`last
/// < now`), the lowest decayed count `n · 0.5^((now − last) / HALF)` first (ties: lower name);
/// when the sample alone exceeds the cap, its most frequent entries stay.
fn evict(merged: &mut Vec<Stat>, now: u32) {
    let decayed =
        |s: &Stat| s.n * 0.5f32.powf(now.saturating_sub(s.last) as f32 / HALF_LIFE_SAMPLES);
    let absent: Vec<(f32, u32)> = merged
        .iter()
        .filter(|s| s.last < now)
        .map(|s| (decayed(s), s.name))
        .collect();
    let excess = merged.len() - CAP;
    if excess >= absent.len() {
        merged.retain(|s| s.last == now);
        if merged.len() > CAP {
            let mut order: Vec<(f32, u32)> = merged.iter().map(|s| (-s.n, s.name)).collect();
            order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let cut = order[CAP - 1];
            merged.retain(|s| (-s.n, s.name) <= cut);
        }
        return;
    }
    let mut order = absent;
    order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut drop: Vec<u32> = order[..excess].iter().map(|o| o.1).collect();
    drop.sort_unstable();
    merged.retain(|s| drop.binary_search(&s.name).is_err());
}

/// Posterior mean of the style factors given the profile's entries:
/// `(I + Σ w A Aᵀ)⁻¹ Σ w A (mean − mu)`, `w = 1 / (tau2 + sig2 / n)`.
fn estimate_style(entries: &[Stat], bg: &Background) -> [f32; RANK] {
    let mut m = identity();
    let mut b = [0.0f64; RANK];
    for e in entries {
        let (st, _) = bg.get(e.name);
        let w = 1.0 / (f64::from(st.tau2) + f64::from(st.sig2) / f64::from(e.n));
        let r = f64::from(e.mean) - f64::from(st.mu);
        for k in 0..RANK {
            let ak = w * f64::from(st.a[k]);
            b[k] += ak * r;
            for l in 0..=k {
                m[k][l] += ak * f64::from(st.a[l]);
            }
        }
    }
    for k in 0..RANK {
        for l in 0..k {
            m[l][k] = m[k][l];
        }
    }
    let mut y = [0.0f32; RANK];
    if spd_solve(&mut m, &mut b).is_some() {
        for (o, v) in y.iter_mut().zip(b) {
            *o = v as f32;
        }
    }
    y
}

/// Layout version of the stored blob (its first byte).
const BLOB_VERSION: u8 = 1;
/// Bytes before the entries: version, samples, keys, background, style.
const HEAD: usize = 1 + 4 + 4 + 4 + 4 * RANK;
/// Bytes per entry: name, n, mean, last.
const ENTRY: usize = 16;

fn word(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

/// Stored as one blob: version byte, samples, keys, background fingerprint, style factors, then
/// (name, n, mean, last) per entry, little-endian.
impl Serialize for TypingProfile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = Vec::with_capacity(HEAD + ENTRY * self.entries.len());
        out.push(BLOB_VERSION);
        out.extend_from_slice(&self.samples.to_le_bytes());
        out.extend_from_slice(&self.keys.to_le_bytes());
        out.extend_from_slice(&self.background.to_le_bytes());
        for y in self.style {
            out.extend_from_slice(&y.to_le_bytes());
        }
        for e in self.entries.iter() {
            out.extend_from_slice(&e.name.to_le_bytes());
            out.extend_from_slice(&e.n.to_le_bytes());
            out.extend_from_slice(&e.mean.to_le_bytes());
            out.extend_from_slice(&e.last.to_le_bytes());
        }
        s.serialize_bytes(&out)
    }
}

impl<'de> Deserialize<'de> for TypingProfile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let b: &[u8] = serde_bytes::Deserialize::deserialize(d)?;
        match b.first() {
            Some(&BLOB_VERSION) => {}
            Some(v) => {
                return Err(D::Error::custom(format!(
                    "typing profile layout {v}, expected {BLOB_VERSION}"
                )));
            }
            None => return Err(D::Error::invalid_length(0, &"a typing profile")),
        }
        if b.len() < HEAD || !(b.len() - HEAD).is_multiple_of(ENTRY) {
            return Err(D::Error::invalid_length(
                b.len(),
                &"header + 16 bytes an entry",
            ));
        }
        let mut style = [0f32; RANK];
        for (k, y) in style.iter_mut().enumerate() {
            *y = f32::from_bits(word(b, 13 + 4 * k));
        }
        let entries: Vec<Stat> = b[HEAD..]
            .chunks_exact(ENTRY)
            .map(|c| Stat {
                name: word(c, 0),
                n: f32::from_bits(word(c, 4)),
                mean: f32::from_bits(word(c, 8)),
                last: word(c, 12),
            })
            .collect();
        let sorted = entries.windows(2).all(|w| w[0].name < w[1].name);
        let sane = entries
            .iter()
            .all(|e| e.n.is_finite() && e.n > 0.0 && e.n <= NMAX && e.mean.is_finite());
        if !sorted || !sane || entries.len() > CAP {
            return Err(D::Error::custom(
                "typing profile entries out of order or range",
            ));
        }
        Ok(TypingProfile {
            samples: word(b, 1),
            keys: word(b, 5),
            background: word(b, 9),
            style,
            entries: Arc::new(entries),
        })
    }
}

#[cfg(test)]
impl TypingProfile {
    /// Test access: (name, n, mean, last) of each entry.
    pub(super) fn entry_stats(&self) -> Vec<(u32, f32, f32, u32)> {
        self.entries
            .iter()
            .map(|e| (e.name, e.n, e.mean, e.last))
            .collect()
    }

    /// Test access: the stored style factors.
    pub(super) fn stored_style(&self) -> [f32; RANK] {
        self.style
    }
}
