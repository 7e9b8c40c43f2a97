//! The Freeman et al. baseline as features: per-user likelihood ratios of a login's attributes
//! against the tenant's population (D. M. Freeman, S. Jain, M. Dürmuth, B. Biggio,
//! G. Giacinto, "Who Are You? A Statistical Approach to Measuring User Authenticity", NDSS
//! 2016).
//!
//! The paper scores a login `x = (x_1 … x_k)` of user `u` by the likelihood ratio
//! `p(x | attack) / p(x | u)` times a prior term, takes the attributes as independent, and
//! stands the population's distribution `p(x)` in for an attacker who does not know the user:
//! `∏_k p(x_k) / p(x_k | u)`, with `p(x_k | u)` smoothed toward `p(x_k)` and backed off along
//! a hierarchy for values the user never showed. Here ([`ratio`]):
//!
//! - attributes: country; autonomous system; address (prefix, then address); browser (family,
//!   then major version); OS (family, then version) — each a chain of levels
//!   ([`crate::store::freeman::Level`]), each level conditioned on its parent;
//! - counts: the user's and the tenant's decayed counts over *verified* events only
//!   ([`crate::store::freeman`]), read in the scoring transaction, learned only from outcomes;
//! - features: `freeman.{ip,asn,country,browser,os}_llr` = the attribute's `ln(p(x)/p(x|u))`,
//!   clipped to `[0, MAX_LLR]` (the surprise; a familiar value scores 0 here);
//!   `freeman.risk_log` and `freeman.familiar_log` = the positive and negative parts of the
//!   score `S = Σ` attribute log ratios, each clipped to `±MAX_LLR`, where the client-claimed
//!   attributes (browser, OS: any client can copy a user agent) count only when they surprise
//!   (trust is earned only from evidence a caller cannot forge: the address the broker saw,
//!   and its AS and country). The paper's model is then `logit = ln(prior odds) + risk_log −
//!   familiar_log` ([`crate::model::rules::freeman_artifact`]).
//!
//! A user with no verified history is the population: every ratio is 1, every feature 0 (no
//! evidence earns no trust). An attribute whose source is missing counts 0 in `S` when the
//! deployment lacks the source or it failed, and `MAX_LLR` when the client left it out
//! (hiding never scores better); the per-attribute features are imputed by the model as any
//! feature is. Extraction is pure: it never writes the store.

pub mod ratio;
pub mod ua;

use std::net::IpAddr;

use super::{F, FeatureRow, Findings, Inputs, set};
use crate::domain::{Absence, Source};
use crate::enrich::{IpIntel, Lookup};
use crate::features::device::{UaFamily, UaTraits};
use crate::store::freeman::{AttrKeys, Level, N_LEVELS};

/// Largest `|ln ratio|` one attribute contributes (a ratio of about 3 000: a value never seen
/// by a user with ~3 000 recent verified events).
pub const MAX_LLR: f32 = 8.0;

/// The secret that names attribute values: SipHash-2-4 (a keyed pseudo-random function for
/// short inputs) under a per-tenant key derived from the pseudonymisation key, so a value's
/// image differs between tenants and cannot be computed without the key.
#[derive(Clone)]
pub struct AttrKey {
    hasher: siphasher::sip::SipHasher24,
}

impl std::fmt::Debug for AttrKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AttrKey(..)")
    }
}

impl AttrKey {
    /// The purpose string of [`crate::privacy::Pseudonymizer::sub_key`] for this key.
    pub const PURPOSE: &'static str = "freeman-attributes";

    /// A key from 16 secret bytes.
    pub fn new(secret: [u8; 16]) -> AttrKey {
        let (a, b) = secret.split_at(8);
        let word = |s: &[u8]| {
            let mut w = [0u8; 8];
            w.copy_from_slice(s);
            u64::from_le_bytes(w)
        };
        AttrKey {
            hasher: siphasher::sip::SipHasher24::new_with_keys(word(a), word(b)),
        }
    }

    /// The image of `value` at `level` under the parent image `parent`.
    fn image(&self, level: Level, parent: u64, value: &[u8]) -> u64 {
        let mut buf = [0u8; 32];
        buf[0] = level as u8;
        buf[1..9].copy_from_slice(&parent.to_le_bytes());
        let n = value.len().min(buf.len() - 9);
        buf[9..9 + n].copy_from_slice(&value[..n]);
        self.hasher.hash(&buf[..9 + n])
    }
}

/// A level's value as bytes: a tag (0 = none) and up to 16 bytes.
struct Value {
    bytes: [u8; 17],
    len: usize,
}

impl Value {
    fn none() -> Value {
        Value {
            bytes: [0; 17],
            len: 1,
        }
    }

    fn of(tag: u8, data: &[u8]) -> Value {
        let mut v = Value::none();
        v.bytes[0] = tag;
        let n = data.len().min(16);
        v.bytes[1..1 + n].copy_from_slice(&data[..n]);
        v.len = 1 + n;
        v
    }

    fn get(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The images of a request's attribute values (see [`crate::store::freeman`]): country and AS
/// from the enrichment, prefix and address from the IP, browser and OS from the user agent. A
/// missing value is a value of its own ("none"), judged against the user's history like any
/// other.
pub fn attribute_keys(
    key: &AttrKey,
    ip: Option<IpAddr>,
    intel: Option<&IpIntel<'_>>,
    user_agent: Option<&str>,
    ua: Option<&UaTraits>,
) -> AttrKeys {
    let country = match intel.map(|i| &i.location) {
        Some(Lookup::Found(loc)) => loc
            .country
            .map_or_else(Value::none, |c| Value::of(1, c.as_bytes())),
        _ => Value::none(),
    };
    let asn = match intel.map(|i| &i.asn) {
        Some(Lookup::Found(a)) => Value::of(1, &a.number.to_le_bytes()),
        _ => Value::none(),
    };
    let (prefix, address) = match ip {
        Some(IpAddr::V4(v4)) => {
            let o = v4.octets();
            (Value::of(4, &o[..3]), Value::of(4, &o))
        }
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => {
                let o = v4.octets();
                (Value::of(4, &o[..3]), Value::of(4, &o))
            }
            None => {
                let o = v6.octets();
                (Value::of(6, &o[..6]), Value::of(6, &o[..8]))
            }
        },
        None => (Value::none(), Value::none()),
    };
    let family = ua.map_or(UaFamily::Other, |t| t.family);
    let v = user_agent.map(|s| ua::versions(s, family));
    let browser = Value::of(1, &[family as u8]);
    let browser_version = Value::of(1, &v.map_or(0, |v| v.browser_major).to_le_bytes());
    let os = Value::of(1, &[v.map_or(ua::OsFamily::Other, |v| v.os) as u8]);
    let os_version = Value::of(1, &v.map_or(0, |v| v.os_version).to_le_bytes());
    let mut keys = [0u64; N_LEVELS];
    let values = [
        (Level::Country, country),
        (Level::Asn, asn),
        (Level::Prefix, prefix),
        (Level::Ip, address),
        (Level::BrowserFamily, browser),
        (Level::BrowserVersion, browser_version),
        (Level::OsFamily, os),
        (Level::OsVersion, os_version),
    ];
    keys[Level::Root as usize] = key.image(Level::Root, 0, &[]);
    for (level, value) in &values {
        let parent = level.parent().map_or(0, |p| keys[p as usize]);
        keys[*level as usize] = key.image(*level, parent, value.get());
    }
    AttrKeys(keys)
}

/// The attributes: feature, source, levels, and whether the client claims it (may only add
/// risk).
const ATTRIBUTES: [(F, Source, &[Level], bool); 5] = [
    (
        F::FreemanIpLlr,
        Source::Ip,
        &[Level::Prefix, Level::Ip],
        false,
    ),
    (F::FreemanAsnLlr, Source::Geo, &[Level::Asn], false),
    (F::FreemanCountryLlr, Source::Geo, &[Level::Country], false),
    (
        F::FreemanBrowserLlr,
        Source::Device,
        &[Level::BrowserFamily, Level::BrowserVersion],
        true,
    ),
    (
        F::FreemanOsLlr,
        Source::Device,
        &[Level::OsFamily, Level::OsVersion],
        true,
    ),
];

/// The log ratio of every level (index `Level as usize`; the root's is 0) from the user's and
/// the tenant's counts of the request's values.
pub fn level_llrs(user: &[f64; N_LEVELS], population: &[f64; N_LEVELS]) -> [f64; N_LEVELS] {
    let mut out = [0f64; N_LEVELS];
    for level in Level::ALL {
        if let Some(parent) = level.parent() {
            let (l, p) = (level as usize, parent as usize);
            out[l] = ratio::level_llr(user[l], user[p], population[l], population[p]);
        }
    }
    out
}

pub(super) fn extract(inputs: &Inputs<'_>, row: &mut FeatureRow, findings: &mut Findings) {
    let (Some(snap), Some(keys)) = (inputs.snapshot, inputs.evidence.attributes.as_ref()) else {
        return; // the store failed: imputed by the model
    };
    let now = inputs.req.at_ms;
    let user = snap
        .profile
        .as_ref()
        .map_or([0.0; N_LEVELS], |p| p.attributes.counts(keys, now));
    let llr = level_llrs(&user, &snap.population);
    let unavailable = &findings.unavailable;
    let max = f64::from(MAX_LLR);
    let mut score = 0f64;
    for (feature, source, levels, claimed) in ATTRIBUTES {
        let a: f64 = levels.iter().map(|l| llr[*l as usize]).sum();
        set(row, feature, a.clamp(0.0, max) as f32);
        score += match unavailable.get(source) {
            Some(Absence::ClientOmitted) => max,
            Some(Absence::ByDesign | Absence::Failed) => 0.0,
            None if claimed => a.clamp(0.0, max),
            None => a.clamp(-max, max),
        };
    }
    set(row, F::FreemanRiskLog, score.max(0.0) as f32);
    set(row, F::FreemanFamiliarLog, (-score).max(0.0) as f32);
}
