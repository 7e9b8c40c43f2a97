//! API keys and per-key rate limits.
//!
//! Keys are stored as `SALT:HASH` (blake3 keyed with a random 32-byte salt). A presented key is
//! hashed with every configured salt and compared in constant time (`blake3::Hash` equality),
//! visiting every key whatever matches, so timing reveals neither which key nor how much of it
//! matched. Raw keys are never stored or logged.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::config::ApiKeyConfig;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `POST /v1/score`, `POST /v1/score/batch`.
    Score = 1,
    /// `POST /v1/outcomes`.
    Outcomes = 2,
    /// Model reload, profile export and erasure.
    Admin = 4,
}

impl Scope {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Score => "score",
            Scope::Outcomes => "outcomes",
            Scope::Admin => "admin",
        }
    }

    fn parse(s: &str) -> Option<Scope> {
        match s {
            "score" => Some(Scope::Score),
            "outcomes" => Some(Scope::Outcomes),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

/// The identity behind an accepted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Key id (index into the rate limiter).
    pub key_id: String,
    /// Tenant.
    pub tenant: String,
    scopes: u8,
}

impl Caller {
    /// True when the key holds `scope`.
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes & scope as u8 != 0
    }
}

struct StoredKey {
    salt: [u8; 32],
    hash: blake3::Hash,
    caller: Caller,
}

/// The configured keys, hashed.
#[derive(Default)]
pub struct KeyRing {
    keys: Vec<StoredKey>,
}

/// `SALT_HEX:HASH_HEX` for `key` with a fresh random salt (the `hash` of a `[[server.keys]]`).
pub fn hash_key(key: &str) -> String {
    use rand::RngCore;
    let mut salt = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    format!(
        "{}:{}",
        hex(&salt),
        blake3::keyed_hash(&salt, key.as_bytes()).to_hex()
    )
}

/// A fresh random API key (`tsk_` + 48 hex digits).
pub fn generate_key() -> String {
    use rand::RngCore;
    let mut raw = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    format!("tsk_{}", hex(&raw))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return None;
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl KeyRing {
    /// Builds the ring from checked config entries; `dev_key` (from `TESSERA_API_KEY` or
    /// generated) gets every scope under id `dev`. Entries that do not parse are skipped (the
    /// config check already refused them).
    pub fn new(keys: &[ApiKeyConfig], dev_key: Option<&str>) -> KeyRing {
        let mut ring = KeyRing::default();
        for k in keys {
            let Some((salt, hash)) = k.hash.split_once(':') else {
                continue;
            };
            let (Some(salt), Some(hash)) = (unhex32(salt), unhex32(hash)) else {
                continue;
            };
            let scopes = k
                .scopes
                .iter()
                .filter_map(|s| Scope::parse(s))
                .fold(0u8, |acc, s| acc | s as u8);
            ring.keys.push(StoredKey {
                salt,
                hash: blake3::Hash::from(hash),
                caller: Caller {
                    key_id: k.id.clone(),
                    tenant: k.tenant.clone(),
                    scopes,
                },
            });
        }
        if let Some(dev) = dev_key {
            let stored = hash_key(dev);
            if let Some((salt, hash)) = stored.split_once(':')
                && let (Some(salt), Some(hash)) = (unhex32(salt), unhex32(hash))
            {
                ring.keys.push(StoredKey {
                    salt,
                    hash: blake3::Hash::from(hash),
                    caller: Caller {
                        key_id: "dev".into(),
                        tenant: crate::domain::Tenant::DEFAULT.into(),
                        scopes: 7,
                    },
                });
            }
        }
        ring
    }

    /// The caller owning `presented`, if any. Visits every key (constant-time comparisons).
    pub fn check(&self, presented: &str) -> Option<&Caller> {
        let mut found = None;
        for k in &self.keys {
            let h = blake3::keyed_hash(&k.salt, presented.as_bytes());
            if h == k.hash && found.is_none() {
                found = Some(&k.caller);
            }
        }
        found
    }
}

/// Per-key token buckets.
pub struct RateLimiter {
    rate_per_s: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate_per_s` sustained, `burst` at most at once.
    pub fn new(rate_per_s: f64, burst: u32) -> RateLimiter {
        RateLimiter {
            rate_per_s,
            burst: f64::from(burst),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key_id` at `now`; `Err(seconds)` until the next token when empty.
    pub fn take(&self, key_id: &str, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if !buckets.contains_key(key_id) {
            buckets.insert(key_id.to_string(), (self.burst, now));
        }
        let (tokens, last) = buckets.get_mut(key_id).expect("bucket inserted above");
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * self.rate_per_s).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.rate_per_s).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_only_themselves_and_carry_scopes() {
        let cfg = ApiKeyConfig {
            id: "broker".into(),
            tenant: "acme".into(),
            scopes: vec!["score".into()],
            hash: hash_key("secret-1"),
        };
        let ring = KeyRing::new(&[cfg], Some("dev-secret"));
        let c = ring.check("secret-1").expect("configured key");
        assert_eq!(c.key_id, "broker");
        assert!(c.has(Scope::Score) && !c.has(Scope::Admin));
        assert!(ring.check("secret-2").is_none());
        assert!(ring.check("").is_none());
        let dev = ring.check("dev-secret").expect("dev key");
        assert!(dev.has(Scope::Admin) && dev.has(Scope::Outcomes));
    }

    #[test]
    fn bucket_allows_the_burst_then_refuses_until_refilled() {
        let rl = RateLimiter::new(2.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(rl.take("k", t0), Ok(()));
        }
        assert_eq!(rl.take("k", t0), Err(1));
        assert_eq!(rl.take("other", t0), Ok(()), "buckets are per key");
        assert_eq!(
            rl.take("k", t0 + std::time::Duration::from_millis(500)),
            Ok(()),
            "2/s refills one token in 0.5 s"
        );
    }
}
