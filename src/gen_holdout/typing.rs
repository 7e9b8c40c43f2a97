//! Key timings of the holdout world's people: each [`Typist`] has a median hold and a median
//! key-to-key interval, a personal bias per key and per key pair (fixed by a seed), and a
//! session-to-session wobble. A message is a few short chat words typed as DOM key codes.
//!
//! Speeds are this world's own: thumbs on phones hold keys briefly but move slowly between them
//! (Palin et al., "How do People Type on Mobile Devices?", MobileHCI 2019, report about 36 words
//! per minute on phones, i.e. roughly 300 ms per key); desktop typists are faster. Scripted
//! clients press keys at machine-regular intervals. Never reads typed text: it only invents it.

use rand::Rng;

use crate::domain::KeyEvent;

/// Median hold on a phone, ms, and the log-scale spread of typists around it.
pub const PHONE_HOLD_MS: (f64, f64) = (82.0, 0.22);
/// Median key-to-key interval on a phone, ms, and its log-scale spread across typists.
pub const PHONE_FLIGHT_MS: (f64, f64) = (290.0, 0.30);
/// Median hold on a physical keyboard, ms, and its log-scale spread.
pub const DESK_HOLD_MS: (f64, f64) = (98.0, 0.20);
/// Median key-to-key interval on a physical keyboard, ms, and its log-scale spread.
pub const DESK_FLIGHT_MS: (f64, f64) = (175.0, 0.32);
/// Log-scale spread of a typist's personal bias per key and per key pair.
pub const KEY_BIAS_LOG_SD: f64 = 0.18;
/// Log-scale spread of one keystroke around the typist's habit.
pub const STROKE_LOG_SD: f64 = 0.16;
/// Log-scale spread of a whole session's pace (tired, hurried ...).
pub const SESSION_LOG_SD: f64 = 0.08;
/// Extra pause before a word, as a multiple of the typist's interval.
pub const WORD_PAUSE: f64 = 0.6;
/// Chance a keystroke is a typo fixed with Backspace.
pub const TYPO_RATE: f64 = 0.03;
/// Words per message, (fewest, most).
pub const WORDS_PER_MESSAGE: (usize, usize) = (2, 5);
/// The chat words customers type (lower-case ASCII only).
pub const WORDS: [&str; 24] = [
    "hi",
    "hello",
    "balance",
    "card",
    "help",
    "transfer",
    "account",
    "please",
    "thanks",
    "pay",
    "check",
    "block",
    "limit",
    "statement",
    "money",
    "send",
    "login",
    "code",
    "phone",
    "update",
    "address",
    "payee",
    "my",
    "the",
];
/// A scripted client's interval, ms, and its (tiny) relative jitter.
pub const SCRIPT_INTERVAL_MS: (f64, f64) = (120.0, 0.02);
/// A scripted client's hold, ms.
pub const SCRIPT_HOLD_MS: f64 = 45.0;

/// One person's typing habit on one kind of keyboard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Typist {
    /// Median hold, ms.
    pub hold_ms: f64,
    /// Median key-down to key-down interval, ms.
    pub flight_ms: f64,
    /// Seed of the personal per-key and per-pair biases.
    pub bias_seed: u64,
}

/// A standard normal draw (Box–Muller).
pub fn normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.r#gen::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.r#gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `median · exp(sd · N(0, 1))`.
pub fn log_normal(median: f64, sd: f64, rng: &mut impl Rng) -> f64 {
    median * (sd * normal(rng)).exp()
}

/// A deterministic standard-normal-like value for `(seed, what)`: the sum of four uniforms from
/// a 64-bit mix, centred and scaled (Irwin–Hall), so a typist's bias for a key never changes.
fn fixed_normal(seed: u64, what: u64) -> f64 {
    let z = mix(seed ^ mix(what));
    let sum: f64 = (0..4)
        .map(|i| ((z >> (16 * i)) & 0xFFFF) as f64 / 65_535.0)
        .sum();
    (sum - 2.0) / (4.0f64 / 12.0).sqrt()
}

/// The murmur3 64-bit finaliser (a bijection).
pub fn mix(mut z: u64) -> u64 {
    z ^= z >> 33;
    z = z.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    z ^= z >> 33;
    z = z.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    z ^ (z >> 33)
}

impl Typist {
    /// A new person's habit on a phone (`phone`) or a physical keyboard.
    pub fn draw(phone: bool, rng: &mut impl Rng) -> Typist {
        let (hold, flight) = if phone {
            (PHONE_HOLD_MS, PHONE_FLIGHT_MS)
        } else {
            (DESK_HOLD_MS, DESK_FLIGHT_MS)
        };
        Typist {
            hold_ms: log_normal(hold.0, hold.1, rng),
            flight_ms: log_normal(flight.0, flight.1, rng),
            bias_seed: rng.r#gen(),
        }
    }

    fn key_bias(&self, key: u8) -> f64 {
        (KEY_BIAS_LOG_SD * fixed_normal(self.bias_seed, u64::from(key))).exp()
    }

    fn pair_bias(&self, a: u8, b: u8) -> f64 {
        let what = 0x1_0000 | (u64::from(a) << 8) | u64::from(b);
        (KEY_BIAS_LOG_SD * fixed_normal(self.bias_seed, what)).exp()
    }

    /// Types a short chat message: key events in press order, times from 0 ms.
    pub fn type_message(&self, rng: &mut impl Rng) -> Vec<KeyEvent> {
        let pace = (SESSION_LOG_SD * normal(rng)).exp();
        let words = rng.gen_range(WORDS_PER_MESSAGE.0..=WORDS_PER_MESSAGE.1);
        let mut out = Vec::with_capacity(words * 8);
        let mut t = 0.0f64;
        let mut prev: Option<u8> = None;
        for w in 0..words {
            let word = WORDS[rng.gen_range(0..WORDS.len())];
            let mut bytes: Vec<u8> = word.bytes().collect();
            if w + 1 < words {
                bytes.push(b' ');
            }
            for (j, &b) in bytes.iter().enumerate() {
                if rng.r#gen::<f64>() < TYPO_RATE {
                    let wrong = b'a' + rng.gen_range(0..26u8);
                    t = self.press(&mut out, t, prev, wrong, pace, rng);
                    t = self.press(&mut out, t, Some(wrong), 8, pace, rng);
                    prev = Some(8);
                }
                if j == 0 && w > 0 {
                    t += WORD_PAUSE * self.flight_ms * pace * (STROKE_LOG_SD * normal(rng)).exp();
                }
                t = self.press(&mut out, t, prev, b, pace, rng);
                prev = Some(b);
            }
        }
        out
    }

    /// Appends one key press after `prev`; returns its down time.
    fn press(
        &self,
        out: &mut Vec<KeyEvent>,
        t: f64,
        prev: Option<u8>,
        key: u8,
        pace: f64,
        rng: &mut impl Rng,
    ) -> f64 {
        let down = match prev {
            None => t,
            Some(p) => {
                t + self.flight_ms
                    * pace
                    * self.pair_bias(p, key)
                    * (STROKE_LOG_SD * normal(rng)).exp()
            }
        };
        let hold = self.hold_ms * self.key_bias(key) * (STROKE_LOG_SD * normal(rng)).exp();
        out.push(KeyEvent {
            key: Some(key_code(key).to_string()),
            down_ms: round_ms(down),
            up_ms: round_ms(down + hold.clamp(20.0, 2_000.0)),
        });
        down
    }
}

/// A scripted client typing `keys` keys at machine-regular intervals.
pub fn scripted(keys: usize, rng: &mut impl Rng) -> Vec<KeyEvent> {
    let (step, jitter) = SCRIPT_INTERVAL_MS;
    let mut t = 0.0;
    (0..keys)
        .map(|i| {
            if i > 0 {
                t += step * (1.0 + jitter * (rng.r#gen::<f64>() - 0.5));
            }
            let b = WORDS[i % WORDS.len()]
                .as_bytes()
                .first()
                .copied()
                .unwrap_or(b'a');
            KeyEvent {
                key: Some(key_code(b).to_string()),
                down_ms: round_ms(t),
                up_ms: round_ms(t + SCRIPT_HOLD_MS),
            }
        })
        .collect()
}

fn round_ms(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The DOM `code` of an ASCII letter, the space bar, or Backspace (byte 8).
fn key_code(b: u8) -> &'static str {
    const LETTERS: [&str; 26] = [
        "KeyA", "KeyB", "KeyC", "KeyD", "KeyE", "KeyF", "KeyG", "KeyH", "KeyI", "KeyJ", "KeyK",
        "KeyL", "KeyM", "KeyN", "KeyO", "KeyP", "KeyQ", "KeyR", "KeyS", "KeyT", "KeyU", "KeyV",
        "KeyW", "KeyX", "KeyY", "KeyZ",
    ];
    match b {
        b'a'..=b'z' => LETTERS[usize::from(b - b'a')],
        8 => "Backspace",
        _ => "Space",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::typing::cadence;
    use rand::SeedableRng;

    #[test]
    fn humans_are_not_bot_like_and_scripts_are() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for phone in [true, false] {
            for _ in 0..50 {
                let t = Typist::draw(phone, &mut rng);
                let keys = t.type_message(&mut rng);
                assert!(keys.len() >= 4);
                assert!(!cadence(&keys).is_bot_like(), "{t:?}");
            }
        }
        assert!(cadence(&scripted(20, &mut rng)).is_bot_like());
    }

    #[test]
    fn phones_are_slower_between_keys() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        let mean = |phone: bool, rng: &mut rand_chacha::ChaCha8Rng| {
            (0..400)
                .map(|_| Typist::draw(phone, rng).flight_ms)
                .sum::<f64>()
                / 400.0
        };
        let (p, d) = (mean(true, &mut rng), mean(false, &mut rng));
        assert!(p > 260.0 && p < 340.0, "{p}");
        assert!(d > 150.0 && d < 205.0, "{d}");
    }

    #[test]
    fn biases_are_fixed_per_typist() {
        let t = Typist {
            hold_ms: 100.0,
            flight_ms: 200.0,
            bias_seed: 5,
        };
        assert_eq!(t.key_bias(b'a'), t.key_bias(b'a'));
        assert_ne!(t.key_bias(b'a'), t.key_bias(b'b'));
        assert_eq!(key_code(b'q'), "KeyQ");
        assert_eq!(key_code(8), "Backspace");
    }
}
