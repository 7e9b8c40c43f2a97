//! Pseudonymisation: identifiers (user ids, device ids, IPs) become keyed 128-bit hashes before
//! they reach the profile store, and user and device ids before they reach the logs, the label log
//! or the audit trail, so none of those names a customer without the key. IP addresses are the
//! exception outside the store: the service's logs carry them truncated ([`truncate_ip`]), and a
//! score's audit record carries the client IP as `server.audit_ip` says (whole by default; its /24
//! or /48 with `"truncated"`; none with `"omit"`), so with the default the audit log holds
//! personal data.
//!
//! The key lives outside the store (a file or the config); whoever holds the store alone cannot
//! re-identify anyone by hashing guesses.

use std::net::IpAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A keyed 128-bit hash of an identifier (blake3 keyed mode, truncated).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Pseudonym(pub [u8; 16]);

impl Pseudonym {
    /// Lower-case hex, 32 characters.
    pub fn to_hex(self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(32);
        for b in self.0 {
            s.push(char::from(DIGITS[usize::from(b >> 4)]));
            s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
        }
        s
    }

    /// The first 8 bytes as an integer (for compact sets and sketches).
    pub fn short(self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(b)
    }
}

/// Which kind of identifier is hashed; keeps the hash domains apart (a user id equal to a device
/// id gives different pseudonyms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// A claimed user id.
    User = 1,
    /// A client device id.
    Device = 2,
    /// An IP address (its canonical 16-byte form).
    Ip = 3,
    /// A request id.
    Request = 4,
    /// A derived sub-key (the label names its purpose).
    SubKey = 5,
}

/// Turns identifiers into [`Pseudonym`]s with a secret 32-byte key.
#[derive(Clone)]
pub struct Pseudonymizer {
    key: [u8; 32],
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer { key: <redacted> }")
    }
}

/// Why a key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or creating the key file failed.
    #[error("hash key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file exists but does not hold 64 hex digits.
    #[error("hash key file {path}: expected 64 hex digits")]
    Malformed {
        /// The file.
        path: String,
    },
}

impl Pseudonymizer {
    /// A pseudonymizer with an explicit key.
    pub fn new(key: [u8; 32]) -> Self {
        Pseudonymizer { key }
    }

    /// A fresh random key from the operating system's CSPRNG (via `rand`'s `OsRng`).
    pub fn random() -> Self {
        use rand::RngCore;
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Pseudonymizer { key }
    }

    /// Loads the key from `path` (64 hex digits); an error when the file does not exist (a
    /// reader, e.g. `tessera report`, must never mint a key of its own).
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Pseudonymizer::parse(&text, &name),
            Err(source) => Err(KeyError::Io { path: name, source }),
        }
    }

    fn parse(text: &str, name: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let mut key = [0u8; 32];
        let bad = || KeyError::Malformed {
            path: name.to_string(),
        };
        if text.len() != 64 {
            return Err(bad());
        }
        for (i, byte) in key.iter_mut().enumerate() {
            let pair = text.get(2 * i..2 * i + 2).ok_or_else(bad)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(Pseudonymizer { key })
    }

    /// Loads the key from `path` (64 hex digits), creating the file with a new random key when it
    /// does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Pseudonymizer::parse(&text, &name),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let p = Pseudonymizer::random();
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|source| KeyError::Io {
                        path: name.clone(),
                        source,
                    })?;
                }
                let hex = Pseudonym(p.key[..16].try_into().unwrap_or([0; 16])).to_hex()
                    + &Pseudonym(p.key[16..].try_into().unwrap_or([0; 16])).to_hex();
                write_private(path, hex.as_bytes())
                    .map_err(|source| KeyError::Io { path: name, source })?;
                Ok(p)
            }
            Err(source) => Err(KeyError::Io { path: name, source }),
        }
    }

    /// A 16-byte secret for one purpose (e.g. naming typing entries), derived from the key so
    /// that one key file protects everything and no purpose sees another's secret.
    pub fn sub_key(&self, purpose: &str) -> [u8; 16] {
        self.id(IdKind::SubKey, purpose).0
    }

    /// The pseudonymizer of `tenant`: the default tenant keeps this key (single-tenant stores
    /// stay valid), every other tenant gets its own key derived from it, so the same user,
    /// device, IP or request id in two tenants gives unrelated pseudonyms and no tenant's
    /// records can be addressed from another.
    pub fn for_tenant(&self, tenant: &crate::domain::Tenant) -> Pseudonymizer {
        if tenant.is_default() {
            return self.clone();
        }
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(b"tessera tenant key v1\0");
        h.update(tenant.as_str().as_bytes());
        Pseudonymizer {
            key: *h.finalize().as_bytes(),
        }
    }

    /// A 32-byte secret for `purpose` (e.g. signing receipts), derived from the key.
    pub fn secret(&self, purpose: &str) -> [u8; 32] {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(&[IdKind::SubKey as u8]);
        h.update(b"secret:");
        h.update(purpose.as_bytes());
        *h.finalize().as_bytes()
    }

    /// Pseudonym of a textual id of the given kind.
    pub fn id(&self, kind: IdKind, id: &str) -> Pseudonym {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(&[kind as u8]);
        h.update(id.as_bytes());
        truncate(h.finalize())
    }

    /// Pseudonym of an IP address. IPv4 addresses hash as their IPv4-mapped form; IPv6
    /// addresses hash by their /64, the unit one subscriber gets, so rotating addresses inside
    /// it does not reset per-IP velocity.
    pub fn ip(&self, ip: IpAddr) -> Pseudonym {
        let octets = match ip {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_ipv6_mapped().octets(),
                None => {
                    let mut o = v6.octets();
                    o[8..].fill(0);
                    o
                }
            },
        };
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(&[IdKind::Ip as u8]);
        h.update(&octets);
        truncate(h.finalize())
    }
}

fn truncate(hash: blake3::Hash) -> Pseudonym {
    let mut out = [0u8; 16];
    out.copy_from_slice(&hash.as_bytes()[..16]);
    Pseudonym(out)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// An IP truncated for logs: /24 for IPv4, /48 for IPv6.
pub fn truncate_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_and_keys_separate_pseudonyms() {
        let a = Pseudonymizer::new([7; 32]);
        let b = Pseudonymizer::new([8; 32]);
        assert_ne!(a.id(IdKind::User, "alice"), a.id(IdKind::Device, "alice"));
        assert_ne!(a.id(IdKind::User, "alice"), b.id(IdKind::User, "alice"));
        assert_eq!(a.id(IdKind::User, "alice"), a.id(IdKind::User, "alice"));
        let v4: IpAddr = "81.2.69.142".parse().expect("ip");
        let mapped: IpAddr = "::ffff:81.2.69.142".parse().expect("ip");
        assert_eq!(a.ip(v4), a.ip(mapped));
        assert_eq!(a.id(IdKind::User, "x").to_hex().len(), 32);
        let six = |s: &str| a.ip(s.parse().expect("ip"));
        assert_eq!(
            six("2001:db8:1:2::5"),
            six("2001:db8:1:2:ffff::9"),
            "same /64"
        );
        assert_ne!(
            six("2001:db8:1:2::5"),
            six("2001:db8:1:3::5"),
            "another /64"
        );
    }

    #[test]
    fn key_file_is_created_then_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/hash.key");
        let p1 = Pseudonymizer::load_or_create(&path).expect("create");
        let p2 = Pseudonymizer::load_or_create(&path).expect("reload");
        assert_eq!(p1.id(IdKind::User, "u"), p2.id(IdKind::User, "u"));
        std::fs::write(&path, "zz").expect("overwrite");
        assert!(matches!(
            Pseudonymizer::load_or_create(&path),
            Err(KeyError::Malformed { .. })
        ));
    }

    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        let mut b = [0u8; 16];
        b[0] = 0x0f;
        b[1] = 0xa0;
        b[15] = 0xff;
        assert_eq!(Pseudonym(b).to_hex(), "0fa000000000000000000000000000ff");
    }

    #[test]
    fn tenants_get_unrelated_pseudonyms_and_default_keeps_the_key() {
        use crate::domain::Tenant;
        let p = Pseudonymizer::new([7; 32]);
        let acme = Tenant::parse("t", "acme").expect("name");
        let globex = Tenant::parse("t", "globex").expect("name");
        let alice = |t: &Tenant| p.for_tenant(t).id(IdKind::User, "alice");
        assert_eq!(alice(&Tenant::default()), p.id(IdKind::User, "alice"));
        assert_ne!(alice(&acme), alice(&globex));
        assert_ne!(alice(&acme), alice(&Tenant::default()));
        let ip: IpAddr = "203.0.113.9".parse().expect("ip");
        assert_ne!(p.for_tenant(&acme).ip(ip), p.for_tenant(&globex).ip(ip));
    }

    #[test]
    fn ips_are_truncated_for_logs() {
        assert_eq!(
            truncate_ip("81.2.69.142".parse().expect("ip")),
            "81.2.69.0/24"
        );
        assert_eq!(
            truncate_ip("2001:db8:1:2::5".parse().expect("ip")),
            "2001:db8:1::/48"
        );
    }
}
