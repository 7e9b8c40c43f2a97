//! API keys, per-key rate limits and the throttle on failed authentication.
//!
//! Keys are stored as `SALT:HASH` (blake3 keyed with a random 32-byte salt). A presented key is
//! hashed with every configured salt and compared in constant time (`blake3::Hash` equality),
//! visiting every key whatever matches, so timing reveals neither which key nor how much of it
//! matched. A presented key longer than [`MAX_KEY_BYTES`] is refused before any hashing. Raw keys
//! are never stored or logged. Failed authentications are counted per client address
//! ([`FailureLimiter`]): once an address has spent its allowance, its requests are refused (429)
//! before their key is even looked at, so guessing is slowed whatever the guess.

use std::cell::Cell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use crate::config::ApiKeyConfig;

/// Longest key accepted, bytes (keys made by [`generate_key`] have 52).
pub const MAX_KEY_BYTES: usize = 256;

/// The client address of a request, set by the server's accept loop as a request extension.
/// Requests without one (tests driving the router with `oneshot`) share one failure bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerIp(pub IpAddr);

tokio::task_local! {
    static PEER: Option<PeerIp>;
    static TENANT: Cell<Option<usize>>;
}

/// Runs `fut` (one request's handling) with `peer` as its [`current_peer`]. Returns its output
/// and the tenant slot [`note_tenant`] recorded while it ran (`None` when no key was recognised).
pub async fn with_request<F: std::future::Future>(
    peer: Option<PeerIp>,
    fut: F,
) -> (F::Output, Option<usize>) {
    let run = async {
        let out = fut.await;
        (out, TENANT.with(Cell::get))
    };
    PEER.scope(peer, TENANT.scope(Cell::new(None), run)).await
}

/// Records that the request being handled on this task was made by a key of tenant slot `slot`
/// (the dashboard times the request for that tenant). Outside [`with_request`], does nothing.
pub fn note_tenant(slot: usize) {
    let _ = TENANT.try_with(|t| t.set(Some(slot)));
}

/// The client address of the request being handled on this task, if known.
pub fn current_peer() -> Option<PeerIp> {
    PEER.try_with(|p| *p).ok().flatten()
}

/// The key in an `Authorization` header value: scheme `Bearer` in any case, one or more spaces,
/// the key. `None` when the header has another form.
pub fn bearer_key(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim_start().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let key = rest.trim();
    (!key.is_empty()).then_some(key)
}

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

    /// The caller owning `presented`, if any. Visits every key (constant-time comparisons). A key
    /// longer than [`MAX_KEY_BYTES`] is refused without being hashed.
    pub fn check(&self, presented: &str) -> Option<&Caller> {
        if presented.len() > MAX_KEY_BYTES {
            return None;
        }
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
        self.take_n(key_id, 1, now)
    }

    /// Takes `n` tokens for `key_id` at `now`, or none: `Err(seconds)` until there are `n`.
    /// `n` above [`Self::burst`] never succeeds.
    pub fn take_n(&self, key_id: &str, n: u32, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if !buckets.contains_key(key_id) {
            buckets.insert(key_id.to_string(), (self.burst, now));
        }
        let bucket = buckets.get_mut(key_id).expect("bucket inserted above");
        take(bucket, self.rate_per_s, self.burst, f64::from(n), now)
    }

    /// Most tokens a bucket holds.
    pub fn burst(&self) -> u32 {
        self.burst as u32
    }
}

/// Refills `(tokens, last)` to `now` and takes `n` tokens, or none.
fn take(
    (tokens, last): &mut (f64, Instant),
    rate_per_s: f64,
    burst: f64,
    n: f64,
    now: Instant,
) -> Result<(), u64> {
    let elapsed = now.saturating_duration_since(*last).as_secs_f64();
    *tokens = (*tokens + elapsed * rate_per_s).min(burst);
    *last = now;
    if *tokens >= n {
        *tokens -= n;
        Ok(())
    } else {
        let wait = ((n - *tokens) / rate_per_s).ceil().max(1.0);
        Err(if wait.is_finite() {
            wait as u64
        } else {
            u64::MAX
        })
    }
}

/// Failed authentications allowed per client address at once.
pub const AUTH_FAILURE_BURST: u32 = 20;
/// Failed authentications allowed per client address per second, sustained.
pub const AUTH_FAILURE_PER_S: f64 = 1.0;
/// Addresses tracked before idle ones are forgotten.
const MAX_TRACKED: usize = 65_536;

/// Token buckets of failed authentications per client address (IPv6 by /64): a failure takes a
/// token; an address with none left is refused before its key is checked.
pub struct FailureLimiter {
    rate_per_s: f64,
    burst: f64,
    buckets: Mutex<HashMap<Option<IpAddr>, (f64, Instant)>>,
}

impl Default for FailureLimiter {
    fn default() -> Self {
        FailureLimiter::new(AUTH_FAILURE_PER_S, AUTH_FAILURE_BURST)
    }
}

fn bucket_key(peer: Option<PeerIp>) -> Option<IpAddr> {
    peer.map(|PeerIp(ip)| match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        IpAddr::V6(v6) => IpAddr::V4(v6.to_ipv4_mapped().expect("checked above")),
        v4 => v4,
    })
}

impl FailureLimiter {
    /// `rate_per_s` failures sustained, `burst` at most at once, per address.
    pub fn new(rate_per_s: f64, burst: u32) -> FailureLimiter {
        FailureLimiter {
            rate_per_s,
            burst: f64::from(burst),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds)` while `peer` has no failure left to spend (it is then refused unheard).
    pub fn check(&self, peer: Option<PeerIp>, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        match buckets.get_mut(&bucket_key(peer)) {
            None => Ok(()),
            Some(bucket) => {
                take(bucket, self.rate_per_s, self.burst, 1.0, now).map(|()| bucket.0 += 1.0)
            }
        }
    }

    /// Records a failed authentication from `peer`.
    pub fn failed(&self, peer: Option<PeerIp>, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED {
            // Forget addresses whose allowance has refilled.
            let (rate, burst) = (self.rate_per_s, self.burst);
            buckets.retain(|_, (tokens, last)| {
                *tokens + now.saturating_duration_since(*last).as_secs_f64() * rate < burst
            });
            if buckets.len() >= MAX_TRACKED {
                tracing::warn!("failed-authentication table full; forgetting every address");
                buckets.clear();
            }
        }
        let bucket = buckets.entry(bucket_key(peer)).or_insert((self.burst, now));
        let _ = take(bucket, self.rate_per_s, self.burst, 1.0, now);
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

    #[test]
    fn take_n_takes_all_or_nothing() {
        let rl = RateLimiter::new(1.0, 10);
        let t0 = Instant::now();
        assert_eq!(rl.take_n("k", 7, t0), Ok(()));
        assert_eq!(rl.take_n("k", 4, t0), Err(1), "3 left, 4 asked");
        assert_eq!(rl.take_n("k", 3, t0), Ok(()), "the refusal took none");
        assert_eq!(rl.take("k", t0), Err(1));
    }

    #[test]
    fn failures_are_throttled_per_address() {
        let fl = FailureLimiter::new(1.0, 2);
        let t0 = Instant::now();
        let a = Some(PeerIp("192.0.2.1".parse().expect("ip")));
        let b = Some(PeerIp("2001:db8::1".parse().expect("ip")));
        let b2 = Some(PeerIp("2001:db8::2".parse().expect("ip")));
        assert_eq!(fl.check(a, t0), Ok(()));
        fl.failed(a, t0);
        fl.failed(a, t0);
        assert_eq!(fl.check(a, t0), Err(1), "two failures spent the burst");
        assert_eq!(fl.check(b, t0), Ok(()), "another address is not affected");
        fl.failed(b, t0);
        fl.failed(b, t0);
        assert_eq!(fl.check(b2, t0), Err(1), "IPv6 is counted per /64");
        assert_eq!(fl.check(None, t0), Ok(()));
        assert_eq!(
            fl.check(a, t0 + std::time::Duration::from_secs(1)),
            Ok(()),
            "one failure refilled after 1 s"
        );
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_long_keys_are_refused() {
        assert_eq!(bearer_key("Bearer abc"), Some("abc"));
        assert_eq!(bearer_key("bearer abc"), Some("abc"));
        assert_eq!(bearer_key("BEARER   abc "), Some("abc"));
        assert_eq!(bearer_key("Basic abc"), None);
        assert_eq!(bearer_key("Bearer "), None);
        assert_eq!(bearer_key("Bearerabc"), None);
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        let ring = KeyRing::new(&[], Some(&long));
        assert!(
            ring.check(&long).is_none(),
            "refused even though configured"
        );
        let ok = "k".repeat(MAX_KEY_BYTES);
        let ring = KeyRing::new(&[], Some(&ok));
        assert!(ring.check(&ok).is_some());
    }
}
