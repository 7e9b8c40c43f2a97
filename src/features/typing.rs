//! Typing-cadence features: dwell and flight statistics, the free-text verifier's distance of
//! the sample to the user's profile for the form factor ([`crate::keystroke::verifier`]: a
//! likelihood ratio on the holds and up-down flights of hashed key names, against the population
//! background) and the profile's confidence, bot cadence, and replay of a timing vector already
//! seen. Key names are hashed with the deployment's key here and never leave this function in
//! clear; no text and no key order is kept. Never writes the store.

use super::{Evidence, F, FeatureConfig, FeatureRow, Findings, Inputs, set};
use crate::domain::ValidRequest;
use crate::keystroke::digraph::TypingKey;
use crate::keystroke::verifier::{MATCH_BELOW, TypingSample, Verdict};
use crate::store::TimingSketch;
use crate::store::records::{SKETCH_LEN, TypingEvidence};

/// Smallest and largest `typing.template_distance` (the verifier's `D`, clamped).
pub const DISTANCE_RANGE: (f32, f32) = (-3.0, 10.0);

/// `D` above which a sample does not match a profile of `enrolled_keys` key events:
/// `0.4 + 90 / K` (about 2.2, 1.3, 0.76 and 0.58 after 1, 2, 5 and 10 sentences of about 50
/// keys; 2–4 % of genuine messages above it on the Aalto development users, DESIGN §6). Looser
/// while enrolment is thin.
pub fn mismatch_above(enrolled_keys: u32) -> f32 {
    0.4 + 90.0 / enrolled_keys.max(1) as f32
}

/// What comparing the sample with the user's profile found (for reasons and their detail).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// The verifier's `D` (−LLR / √entries): negative is more like the user than like the
    /// population.
    pub distance: f32,
    /// [`mismatch_above`] for the profile.
    pub mismatch_above: f32,
    /// The profile's confidence, `K / (K + 100)`, 0–1.
    pub confidence: f32,
}

impl Comparison {
    /// `D` below [`MATCH_BELOW`]: about 1 % of other people's messages, at any enrolment.
    pub fn is_match(&self) -> bool {
        self.distance < MATCH_BELOW
    }

    /// `D` above [`mismatch_above`].
    pub fn is_mismatch(&self) -> bool {
        self.distance > self.mismatch_above
    }
}

/// Fewer key events than this is `typing.absent`.
pub const MIN_KEYS: usize = 4;

/// Summary statistics of one sample, ms.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Cadence {
    /// Key events.
    pub keys: usize,
    /// Mean hold time.
    pub dwell_mean: f32,
    /// Standard deviation of hold time.
    pub dwell_sd: f32,
    /// Mean down-down interval.
    pub flight_mean: f32,
    /// Standard deviation of the down-down interval.
    pub flight_sd: f32,
    /// Median down-down interval.
    pub flight_median: f32,
    /// Mean up-down gap (negative when keys overlap).
    pub gap_mean: f32,
    /// Share of backspace/delete keys.
    pub backspace_rate: f32,
}

impl Cadence {
    /// True for machine-regular or humanly impossible timing: a coefficient of variation under
    /// 5 % on holds or flights over at least 6 keys, holds under 15 ms, or a median down-down
    /// interval under 30 ms (over 33 keys/s; the fastest human typists stay under ~15 keys/s).
    pub fn is_bot_like(&self) -> bool {
        if self.keys < 6 {
            return false;
        }
        let cv = |sd: f32, mean: f32| if mean > 0.0 { sd / mean } else { 0.0 };
        cv(self.dwell_sd, self.dwell_mean) < 0.05
            || cv(self.flight_sd, self.flight_mean) < 0.05
            || self.dwell_mean < 15.0
            || self.flight_median < 30.0
    }
}

/// Computes a [`Cadence`] from key events (validated: ordered, finite). Allocation-free except
/// for the median, which uses a small stack buffer.
pub fn cadence(events: &[crate::domain::KeyEvent]) -> Cadence {
    let n = events.len();
    if n == 0 {
        return Cadence::default();
    }
    let (mut d_sum, mut d_sq) = (0.0f64, 0.0f64);
    let mut backspaces = 0usize;
    for e in events {
        let d = e.up_ms - e.down_ms;
        d_sum += d;
        d_sq += d * d;
        if e.key.as_deref().is_some_and(is_correction) {
            backspaces += 1;
        }
    }
    let (mut f_sum, mut f_sq, mut g_sum) = (0.0f64, 0.0f64, 0.0f64);
    let mut buf = [0f32; 256];
    let mut m = 0usize;
    for w in events.windows(2) {
        let f = w[1].down_ms - w[0].down_ms;
        f_sum += f;
        f_sq += f * f;
        g_sum += w[1].down_ms - w[0].up_ms;
        if let Some(slot) = buf.get_mut(m) {
            *slot = f as f32;
            m += 1;
        }
    }
    let nf = (n - 1).max(1) as f64;
    let mean_sd = |sum: f64, sq: f64, k: f64| {
        let mean = sum / k;
        (mean, (sq / k - mean * mean).max(0.0).sqrt())
    };
    let (dm, dsd) = mean_sd(d_sum, d_sq, n as f64);
    let (fm, fsd) = mean_sd(f_sum, f_sq, nf);
    let median = match buf.get_mut(..m) {
        Some(s) if !s.is_empty() => {
            let mid = s.len() / 2;
            let (_, v, _) = s.select_nth_unstable_by(mid, f32::total_cmp);
            *v
        }
        _ => 0.0,
    };
    Cadence {
        keys: n,
        dwell_mean: dm as f32,
        dwell_sd: dsd as f32,
        flight_mean: fm as f32,
        flight_sd: fsd as f32,
        flight_median: median,
        gap_mean: (g_sum / nf) as f32,
        backspace_rate: backspaces as f32 / n as f32,
    }
}

fn is_correction(key: &str) -> bool {
    matches!(key, "backspace" | "Backspace" | "delete" | "Delete")
}

/// Interleaved hold and flight times, whole ms, at most [`SKETCH_LEN`].
pub fn sketch(events: &[crate::domain::KeyEvent]) -> TimingSketch {
    let mut intervals = [0u16; SKETCH_LEN];
    let mut n = 0;
    for (i, e) in events.iter().enumerate() {
        if n + 2 > SKETCH_LEN {
            break;
        }
        intervals[n] = to_u16(e.up_ms - e.down_ms);
        n += 1;
        if let Some(next) = events.get(i + 1) {
            intervals[n] = to_u16(next.down_ms - e.down_ms);
            n += 1;
        }
    }
    TimingSketch::from_intervals(&intervals[..n])
}

fn to_u16(ms: f64) -> u16 {
    ms.round().clamp(0.0, f64::from(u16::MAX)) as u16
}

/// True when the request was typed on a phone or tablet (typing profiles are kept apart).
fn typed_on_mobile(ev: &Evidence) -> bool {
    ev.ua.is_some_and(|u| u.mobile)
}

/// The typing evidence of a request: cadence statistics, the timing sketch, and the keyed
/// timing entries when the sample may be compared or enrolled (human, at least
/// `min_template_keys` keys, and the user's consent where the tenant requires it).
pub(super) fn evidence(
    req: &ValidRequest<'_>,
    cfg: &FeatureConfig,
    key: &TypingKey,
    ev: &mut Evidence,
) {
    let events = req
        .req
        .typing
        .as_ref()
        .map(|t| t.events.as_slice())
        .unwrap_or(&[]);
    if events.len() < MIN_KEYS {
        return;
    }
    let c = cadence(events);
    if !c.is_bot_like() && c.keys >= cfg.min_template_keys {
        ev.typing = Some(TypingEvidence {
            mobile: typed_on_mobile(ev),
            sample: TypingSample::from_events(events, key),
        });
    }
    ev.sketch = Some(sketch(events));
    ev.cadence = Some(c);
}

pub(super) fn extract(inputs: &Inputs<'_>, row: &mut FeatureRow, findings: &mut Findings) {
    let Some(c) = &inputs.evidence.cadence else {
        set(row, F::TypingAbsent, 1.0);
        findings.typing_consent_missing = inputs.evidence.typing_consent_missing;
        return;
    };
    set(row, F::TypingKeysLog, (1.0 + c.keys as f32).ln());
    set(row, F::TypingDwellMeanS, (c.dwell_mean / 1000.0).min(2.0));
    set(row, F::TypingFlightMeanS, (c.flight_mean / 1000.0).min(5.0));
    set(
        row,
        F::TypingBotCadence,
        f32::from(u8::from(c.is_bot_like())),
    );
    if let Some(snap) = inputs.snapshot {
        let replay = snap
            .replay_distance_ms
            .is_some_and(|d| d <= inputs.cfg.replay_tolerance_ms);
        set(row, F::TypingReplay, f32::from(u8::from(replay)));
    }
    let mobile = typed_on_mobile(inputs.evidence);
    let profile = inputs
        .snapshot
        .and_then(|s| s.profile.as_ref())
        .and_then(|p| p.typing_for(mobile))
        .filter(|t| t.samples >= inputs.cfg.min_template_samples);
    match (profile, &inputs.evidence.typing) {
        (None, _) => set(row, F::TypingNoTemplate, 1.0),
        (Some(p), Some(t)) => match p.verify(&t.sample, inputs.background) {
            Verdict::Score {
                distance,
                confidence,
                ..
            } => {
                let (lo, hi) = DISTANCE_RANGE;
                set(row, F::TypingTemplateDistance, distance.clamp(lo, hi));
                set(row, F::TypingProfileConfidence, confidence);
                findings.typing = Some(Comparison {
                    distance,
                    mismatch_above: mismatch_above(p.keys),
                    confidence,
                });
            }
            Verdict::Insufficient { .. } => set(row, F::TypingInsufficient, 1.0),
        },
        (Some(_), None) => set(row, F::TypingInsufficient, 1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::KeyEvent;

    fn keys(pairs: &[(f64, f64)]) -> Vec<KeyEvent> {
        pairs
            .iter()
            .map(|&(d, u)| KeyEvent {
                key: None,
                down_ms: d,
                up_ms: u,
            })
            .collect()
    }

    #[test]
    fn cadence_of_known_sample() {
        // holds 100, 80, 120; flights 200, 300
        let c = cadence(&keys(&[(0.0, 100.0), (200.0, 280.0), (500.0, 620.0)]));
        assert_eq!(c.keys, 3);
        assert!((c.dwell_mean - 100.0).abs() < 1e-4);
        assert!((c.dwell_sd - 16.329_932).abs() < 1e-3);
        assert!((c.flight_mean - 250.0).abs() < 1e-4);
        assert!((c.flight_sd - 50.0).abs() < 1e-4);
        assert_eq!(c.flight_median, 300.0);
        // gaps: 200-100=100, 500-280=220
        assert!((c.gap_mean - 160.0).abs() < 1e-4);
    }

    #[test]
    fn machine_regular_timing_is_bot_like_and_human_is_not() {
        let bot: Vec<(f64, f64)> = (0..12)
            .map(|i| (i as f64 * 100.0, i as f64 * 100.0 + 50.0))
            .collect();
        assert!(cadence(&keys(&bot)).is_bot_like());
        let human = keys(&[
            (0.0, 95.0),
            (180.0, 260.0),
            (410.0, 530.0),
            (560.0, 640.0),
            (820.0, 905.0),
            (1010.0, 1120.0),
            (1300.0, 1370.0),
            (1420.0, 1530.0),
        ]);
        assert!(!cadence(&human).is_bot_like());
        let too_fast: Vec<(f64, f64)> = (0..10)
            .map(|i| {
                (
                    i as f64 * 20.0 + (i % 3) as f64 * 4.0,
                    i as f64 * 20.0 + 60.0 + (i % 2) as f64 * 9.0,
                )
            })
            .collect();
        assert!(cadence(&keys(&too_fast)).is_bot_like());
    }

    #[test]
    fn replayed_sketch_is_close_and_a_fresh_sample_is_not() {
        let a = keys(&[
            (0.0, 95.0),
            (180.0, 260.0),
            (410.0, 530.0),
            (560.0, 640.0),
            (820.0, 905.0),
            (1010.0, 1120.0),
        ]);
        let jittered: Vec<KeyEvent> = a
            .iter()
            .enumerate()
            .map(|(i, e)| KeyEvent {
                key: None,
                down_ms: e.down_ms + (i % 2) as f64,
                up_ms: e.up_ms + 1.0,
            })
            .collect();
        let fresh = keys(&[
            (0.0, 110.0),
            (150.0, 240.0),
            (440.0, 520.0),
            (600.0, 700.0),
            (790.0, 880.0),
            (1050.0, 1140.0),
        ]);
        let (sa, sj, sf) = (sketch(&a), sketch(&jittered), sketch(&fresh));
        assert_eq!(sa.len(), 11);
        assert_eq!(sa.distance(&sa), Some(0.0));
        assert!(sa.distance(&sj).expect("same length") <= 2.0);
        assert!(sa.distance(&sf).expect("same length") > 10.0);
        assert_eq!(sa.distance(&sketch(&a[..5])), None);
    }
}
