//! Synthetic keystroke timing: a per-person [`Rhythm`] (human), machine-regular bot typing, and
//! replays of a recorded sample with small jitter.
//!
//! Times are whole milliseconds relative to the start of the message. Every sample satisfies the
//! wire rules: `down_ms` non-decreasing, `up_ms ≥ down_ms`, all ≥ 0.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::domain::KeyEvent;

/// Range of a person's mean key hold (dwell), ms.
pub const DWELL_MEAN_MS: (f64, f64) = (70.0, 140.0);
/// Range of a person's mean down-to-down interval (flight), ms.
pub const FLIGHT_MEAN_MS: (f64, f64) = (120.0, 300.0);
/// Range of a person's log-normal sigma (variability) for dwell and flight.
pub const SIGMA: (f64, f64) = (0.12, 0.35);
/// Range of a person's backspace probability per key.
pub const BACKSPACE_RATE: (f64, f64) = (0.01, 0.06);
/// Keys per message.
pub const KEYS_PER_MESSAGE: (usize, usize) = (10, 60);
/// Probability of a thinking pause (300–1500 ms extra) before a key.
pub const PAUSE_RATE: f64 = 0.04;
/// Shortest human dwell and flight, ms (so that ±2 ms replay jitter never breaks ordering).
pub const MIN_HUMAN_MS: f64 = 20.0;
/// Bot dwell, ms (each key 49–51 ms).
pub const BOT_DWELL_MS: f64 = 50.0;
/// Range of a person's session-to-session speed variation: each message's holds and intervals
/// are scaled by one factor exp(σ·z) (tired, hurried, walking), σ drawn from this range.
pub const SESSION_SIGMA: (f64, f64) = (0.05, 0.15);
/// Range of a person's slowdown on a touch screen (down-to-down intervals), relative to a
/// keyboard. Thumb typing runs at roughly half to two thirds of keyboard speed (Palin et al.,
/// "How do people type on mobile devices?", MobileHCI 2019: 36 vs 52 words per minute).
pub const TOUCH_FLIGHT_FACTOR: (f64, f64) = (1.25, 1.7);
/// Range of a person's key-hold factor on a touch screen, relative to a keyboard.
pub const TOUCH_DWELL_FACTOR: (f64, f64) = (0.75, 1.05);

/// A person's typing habits. Each person keeps one for the whole log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rhythm {
    /// Mean key hold, ms.
    pub dwell_mean_ms: f64,
    /// Mean down-to-down interval, ms.
    pub flight_mean_ms: f64,
    /// Log-normal sigma of the per-key jitter.
    pub sigma: f64,
    /// Digit interval multiplier (digits are slower for most people), 1.1–1.5.
    pub digit_factor: f64,
    /// Space hold multiplier, 0.85–1.2.
    pub space_factor: f64,
    /// Probability that a key is a backspace.
    pub backspace_rate: f64,
    /// Seed of the person's idiosyncrasies per key and key pair: how much slower or faster than
    /// their average they hold each key and move between each pair (log-normal, σ 0.25 for
    /// pairs and 0.15 for holds, fixed for the person). This is what digraph verification sees.
    pub style: u64,
    /// σ of the per-message speed factor exp(σ·z) (0: every message at the same pace).
    pub session_sigma: f64,
}

/// σ of a person's fixed per-pair latency factor (log scale).
pub const PAIR_SIGMA: f64 = 0.25;
/// σ of a person's fixed per-key hold factor (log scale).
pub const HOLD_SIGMA: f64 = 0.15;

/// Words chat messages are typed from (common English words; the verifier never sees them,
/// only keyed names of their keys and key pairs).
const WORDS: &[&str] = &[
    "the", "and", "you", "that", "have", "for", "not", "with", "this", "but", "from", "they",
    "say", "her", "she", "will", "one", "all", "would", "there", "their", "what", "out", "about",
    "who", "get", "which", "when", "make", "can", "like", "time", "just", "him", "know", "take",
    "people", "into", "year", "your", "good", "some", "could", "them", "see", "other", "than",
    "then", "now", "look", "only", "come", "its", "over", "think", "also", "back", "after", "use",
    "two", "how", "our", "work", "first", "well", "way", "even", "new", "want", "because", "any",
    "these", "give", "day", "most", "account", "card", "payment", "please", "help", "transfer",
    "balance", "thanks", "hello", "login", "password", "phone", "number",
];

/// A fixed factor exp(σ·z) for one key or key pair of one person, z ≈ standard normal drawn
/// from a hash of (style, keys): the same every time that person types them.
fn idiosyncrasy(style: u64, a: &str, b: &str, sigma: f64) -> f64 {
    let mut h = style ^ 0x9E37_79B9_7F4A_7C15;
    for byte in a.bytes().chain([0xff]).chain(b.bytes()) {
        h = (h ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3);
        h ^= h >> 29;
    }
    // Sum of four uniforms (Irwin–Hall), centred and scaled to unit variance.
    let z: f64 = (0..4)
        .map(|k| ((h >> (16 * k)) & 0xffff) as f64 / 65_535.0)
        .sum::<f64>()
        - 2.0;
    (sigma * z * 3f64.sqrt()).exp()
}

/// The key code typed for a character (`KeyA`, `Digit5`, `Space`).
fn key_code(c: char) -> String {
    match c {
        ' ' => "Space".to_string(),
        d if d.is_ascii_digit() => format!("Digit{d}"),
        l => format!("Key{}", l.to_ascii_uppercase()),
    }
}

impl Rhythm {
    /// Draws a new person's rhythm.
    pub fn sample(rng: &mut ChaCha8Rng) -> Rhythm {
        Rhythm {
            dwell_mean_ms: rng.gen_range(DWELL_MEAN_MS.0..DWELL_MEAN_MS.1),
            flight_mean_ms: rng.gen_range(FLIGHT_MEAN_MS.0..FLIGHT_MEAN_MS.1),
            sigma: rng.gen_range(SIGMA.0..SIGMA.1),
            digit_factor: rng.gen_range(1.1..1.5),
            space_factor: rng.gen_range(0.85..1.2),
            backspace_rate: rng.gen_range(BACKSPACE_RATE.0..BACKSPACE_RATE.1),
            style: rng.r#gen(),
            session_sigma: rng.gen_range(SESSION_SIGMA.0..SESSION_SIGMA.1),
        }
    }

    /// The same person typing on a phone's touch screen: slower intervals, shorter or equal
    /// holds, a little more jitter and other per-key habits (thumbs, not fingers). Fixed for
    /// the person: factors come from a hash of [`Rhythm::style`], not from an RNG.
    pub fn on_touch(&self) -> Rhythm {
        let unit = |salt: u64| {
            let mut z = self.style ^ salt;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z >> 11) as f64 / (1u64 << 53) as f64
        };
        let between = |(lo, hi): (f64, f64), u: f64| lo + (hi - lo) * u;
        Rhythm {
            dwell_mean_ms: self.dwell_mean_ms * between(TOUCH_DWELL_FACTOR, unit(1)),
            flight_mean_ms: self.flight_mean_ms * between(TOUCH_FLIGHT_FACTOR, unit(2)),
            sigma: (self.sigma + 0.03).min(SIGMA.1 + 0.03),
            style: self.style ^ 0x7007_C4ED_0000_0001,
            ..*self
        }
    }

    /// A fixed rhythm with these means, moderate jitter and no corrections: for demos and tests
    /// that need one known person's typing.
    pub fn steady(dwell_mean_ms: f64, flight_mean_ms: f64) -> Rhythm {
        Rhythm {
            dwell_mean_ms,
            flight_mean_ms,
            sigma: 0.25,
            digit_factor: 1.2,
            space_factor: 1.0,
            backspace_rate: 0.0,
            style: 0,
            session_sigma: 0.0,
        }
    }

    /// Types one message of 10–60 keys: words from a common vocabulary, now and then a digit
    /// or a corrected typo, as key codes with the person's timing.
    pub fn type_message(&self, rng: &mut ChaCha8Rng) -> Vec<KeyEvent> {
        let n = rng.gen_range(KEYS_PER_MESSAGE.0..=KEYS_PER_MESSAGE.1);
        let mut down = rng.gen_range(200.0..2_000.0_f64).round();
        // Today's pace: one factor for the whole message (drawn only when the rhythm varies, so
        // a steady rhythm's draws are unchanged).
        let pace = if self.session_sigma > 0.0 {
            lognormal(rng, self.session_sigma)
        } else {
            1.0
        };
        let mut events: Vec<KeyEvent> = Vec::with_capacity(n);
        let mut text = String::new();
        while text.len() < n {
            if !text.is_empty() {
                text.push(' ');
            }
            if rng.gen_bool(0.08) {
                text.push_str(&rng.gen_range(10..9_999).to_string());
            } else {
                text.push_str(WORDS[rng.gen_range(0..WORDS.len())]);
            }
        }
        let mut keys: Vec<String> = text.chars().take(n).map(key_code).collect();
        for i in (1..keys.len()).rev() {
            if rng.gen_bool(self.backspace_rate) {
                keys.insert(i, "Backspace".to_string());
            }
        }
        keys.truncate(n);
        let mut prev = String::new();
        for (i, code) in keys.into_iter().enumerate() {
            let class = match code.as_str() {
                "Backspace" => "backspace",
                "Space" => "space",
                c if c.starts_with("Digit") => "digit",
                _ => "letter",
            };
            let (dwell_f, flight_f) = match class {
                "digit" => (1.0, self.digit_factor),
                "space" => (self.space_factor, 0.9),
                "backspace" => (0.9, 1.6),
                _ => (1.0, 1.0),
            };
            let dwell_f = dwell_f * idiosyncrasy(self.style, &code, "", HOLD_SIGMA);
            if i > 0 {
                let pair_f = idiosyncrasy(self.style, &prev, &code, PAIR_SIGMA);
                let mut flight =
                    pace * self.flight_mean_ms * flight_f * pair_f * lognormal(rng, self.sigma);
                if rng.gen_bool(PAUSE_RATE) {
                    flight += rng.gen_range(300.0..1_500.0);
                }
                down += flight.max(MIN_HUMAN_MS).round();
            }
            let dwell = (pace * self.dwell_mean_ms * dwell_f * lognormal(rng, self.sigma * 0.8))
                .max(MIN_HUMAN_MS)
                .round();
            events.push(KeyEvent {
                key: Some(code.clone()),
                down_ms: down,
                up_ms: down + dwell,
            });
            prev = code;
        }
        events
    }
}

/// Machine-regular typing: dwell 50 ± 1 ms, a constant interval (80–160 ms per bot) ± 1 ms.
pub fn bot_typing(rng: &mut ChaCha8Rng, interval_ms: f64) -> Vec<KeyEvent> {
    let n = rng.gen_range(KEYS_PER_MESSAGE.0..=KEYS_PER_MESSAGE.1);
    let mut down = 100.0;
    (0..n)
        .map(|i| {
            if i > 0 {
                down += interval_ms + f64::from(rng.gen_range(-1..=1_i32));
            }
            let dwell = BOT_DWELL_MS + f64::from(rng.gen_range(-1..=1_i32));
            let code = if rng.gen_bool(0.2) {
                format!("Digit{}", rng.gen_range(0..10))
            } else {
                format!("Key{}", char::from(b'A' + rng.gen_range(0..26u8)))
            };
            KeyEvent {
                key: Some(code),
                down_ms: down,
                up_ms: down + dwell,
            }
        })
        .collect()
}

/// A replay of `sample`: an exact copy, or each time moved by ±1–2 ms when `jitter`.
pub fn replay(sample: &[KeyEvent], jitter: bool, rng: &mut ChaCha8Rng) -> Vec<KeyEvent> {
    let shift = |rng: &mut ChaCha8Rng| {
        if jitter {
            let d = f64::from(rng.gen_range(1..=2_i32));
            if rng.gen_bool(0.5) { d } else { -d }
        } else {
            0.0
        }
    };
    sample
        .iter()
        .map(|e| {
            let down = (e.down_ms + shift(rng)).max(0.0);
            let up = (e.up_ms + shift(rng)).max(down);
            KeyEvent {
                key: e.key.clone(),
                down_ms: down,
                up_ms: up,
            }
        })
        .collect()
}

/// A standard normal draw (Box–Muller).
pub fn std_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.r#gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A log-normal multiplier with median 1.
fn lognormal(rng: &mut ChaCha8Rng, sigma: f64) -> f64 {
    (sigma * std_normal(rng)).exp()
}

/// Standard deviation of consecutive down-to-down intervals, ms (0 for fewer than 3 keys).
pub fn interval_std_ms(events: &[KeyEvent]) -> f64 {
    let gaps: Vec<f64> = events
        .windows(2)
        .map(|w| w[1].down_ms - w[0].down_ms)
        .collect();
    if gaps.len() < 2 {
        return 0.0;
    }
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn ordered(events: &[KeyEvent]) -> bool {
        events.windows(2).all(|w| w[1].down_ms >= w[0].down_ms)
            && events
                .iter()
                .all(|e| e.up_ms >= e.down_ms && e.down_ms >= 0.0)
    }

    #[test]
    fn human_typing_is_ordered_and_irregular() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let r = Rhythm::sample(&mut rng);
        for _ in 0..50 {
            let ev = r.type_message(&mut rng);
            assert!((10..=60).contains(&ev.len()));
            assert!(ordered(&ev));
            assert!(interval_std_ms(&ev) > 5.0);
        }
    }

    #[test]
    fn bot_typing_is_regular() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let ev = bot_typing(&mut rng, 120.0);
        assert!(ordered(&ev));
        assert!(interval_std_ms(&ev) <= 1.0);
        assert!(
            ev.iter()
                .all(|e| (49.0..=51.0).contains(&(e.up_ms - e.down_ms)))
        );
    }

    #[test]
    fn replay_stays_within_two_ms_and_ordered() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let sample = Rhythm::sample(&mut rng).type_message(&mut rng);
        assert_eq!(replay(&sample, false, &mut rng), sample);
        let jittered = replay(&sample, true, &mut rng);
        assert!(ordered(&jittered));
        for (a, b) in sample.iter().zip(&jittered) {
            assert!((a.down_ms - b.down_ms).abs() <= 2.0 && (a.up_ms - b.up_ms).abs() <= 2.0);
            assert_ne!(a.down_ms, b.down_ms);
        }
    }

    #[test]
    fn interval_std_known_answer() {
        let ev: Vec<KeyEvent> = [0.0, 100.0, 300.0]
            .iter()
            .map(|&d| KeyEvent {
                key: None,
                down_ms: d,
                up_ms: d + 50.0,
            })
            .collect();
        assert!((interval_std_ms(&ev) - 50.0).abs() < 1e-12);
    }
    /// The generator's typists under the engine's verifier: each of 60 people enrolls E
    /// messages, then 5 more of theirs (genuine) and 5 of the next person's (another human:
    /// account takeover), a bot's and a jittered replay of their own are scored. Prints the
    /// table (`--nocapture`); genuine messages must score well below other people's.
    #[test]
    fn generated_typists_are_told_apart_by_the_verifier() {
        use crate::keystroke::digraph::TypingKey;
        use crate::keystroke::verifier::{
            Background, MATCH_BELOW, TypingProfile, TypingSample, Verdict,
        };
        let key = TypingKey::new([9; 16]);
        let bg = Background::builtin(&key);
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let people: Vec<Rhythm> = (0..60).map(|_| Rhythm::sample(&mut rng)).collect();
        let d = |p: &TypingProfile, events: &[KeyEvent]| match p
            .verify(&TypingSample::from_events(events, &key), &bg)
        {
            Verdict::Score { distance, .. } => Some(distance),
            Verdict::Insufficient { .. } => None,
        };
        let median = |v: &mut Vec<f32>| {
            v.sort_by(f32::total_cmp);
            v[v.len() / 2]
        };
        println!(
            "E | genuine median D | other human | bot | own replay | genuine < -0.5 | other < -0.5"
        );
        for e in [1usize, 5] {
            let (mut genuine, mut other, mut bot, mut replayed) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (i, r) in people.iter().enumerate() {
                let mut p = TypingProfile::default();
                for _ in 0..e {
                    p.enroll(
                        &TypingSample::from_events(&r.type_message(&mut rng), &key),
                        &bg,
                    );
                }
                let next = people[(i + 1) % people.len()];
                for _ in 0..5 {
                    let own = r.type_message(&mut rng);
                    genuine.extend(d(&p, &own));
                    replayed.extend(d(&p, &replay(&own, true, &mut rng)));
                    other.extend(d(&p, &next.type_message(&mut rng)));
                }
                bot.extend(d(&p, &bot_typing(&mut rng, 120.0)));
            }
            let share =
                |v: &[f32]| v.iter().filter(|x| **x < MATCH_BELOW).count() as f32 / v.len() as f32;
            let (sg, so) = (share(&genuine), share(&other));
            let (mg, mo, mb, mr) = (
                median(&mut genuine),
                median(&mut other),
                median(&mut bot),
                median(&mut replayed),
            );
            println!("{e} | {mg:.2} | {mo:.2} | {mb:.2} | {mr:.2} | {sg:.2} | {so:.2}");
            assert!(
                mg + 1.0 < mo,
                "E={e}: genuine {mg} against other people {mo}"
            );
            assert!(
                mb > mo,
                "E={e}: a bot {mb} should look less like the user than a person"
            );
            assert!(
                sg > 2.0 * so,
                "E={e}: matches {sg} genuine against {so} others"
            );
        }
    }
}
