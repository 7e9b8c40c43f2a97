//! Feature extraction: the one path from a request, its enrichment and the user's history
//! snapshot to a named, versioned feature vector. Live scoring and offline replay both call
//! [`extract`]; it cannot tell them apart, so a model never sees features at serving time that
//! differ from training.
//!
//! Extraction is pure: it reads a [`ProfileSnapshot`] and never writes the store. It fills a
//! caller-provided [`FeatureRow`] (no allocation per feature).

pub mod context;
pub mod device;
pub mod geo;
pub mod network;
pub mod schema;
pub mod typing;

use crate::domain::{ReasonCode, ValidRequest};
use crate::enrich::IpIntel;
use crate::store::{GeoFix, ProfileSnapshot, SubjectKeys, TimingSketch};
pub use schema::{
    F, FEATURES, FeatureDef, FeatureRow, FeatureSchema, N_FEATURES, Needs, feature_index,
};

/// Tunables of feature extraction, with defaults from the literature and the config file.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureConfig {
    /// A device verified within this window counts as trusted, ms (default 30 days).
    pub trusted_device_window_ms: i64,
    /// Fastest plausible travel, km/h (a commercial jet cruises at 800–950 km/h).
    pub max_travel_speed_kmh: f64,
    /// Distances under this are never impossible travel, km (metro area, geo-IP noise).
    pub min_travel_distance_km: f64,
    /// Velocity window for IP counters, ms (default 1 h).
    pub velocity_window_ms: i64,
    /// Window for accounts-per-device and user failures, ms (default 24 h).
    pub day_window_ms: i64,
    /// Mean per-interval difference (ms) under which two timing sketches count as a replay.
    pub replay_tolerance_ms: f32,
    /// Keys needed before a sample is compared with, or enrolled into, a template.
    pub min_template_keys: usize,
    /// Enrolled samples needed before a template is used.
    pub min_template_samples: u32,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            trusted_device_window_ms: 30 * 24 * 3_600_000,
            max_travel_speed_kmh: 1_000.0,
            min_travel_distance_km: 100.0,
            velocity_window_ms: 3_600_000,
            day_window_ms: 24 * 3_600_000,
            replay_tolerance_ms: 2.0,
            min_template_keys: 8,
            min_template_samples: 3,
        }
    }
}

/// Everything extraction reads.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The validated request.
    pub req: &'a ValidRequest<'a>,
    /// IP enrichment; `None` when the request carries no IP.
    pub intel: Option<&'a IpIntel<'a>>,
    /// History, with this request already counted; `None` when the store could not be read.
    pub snapshot: Option<&'a ProfileSnapshot>,
    /// What the request itself carries, from [`evidence`].
    pub evidence: &'a Evidence,
    /// Pseudonyms of the request's subjects.
    pub keys: &'a SubjectKeys,
    /// Tunables.
    pub cfg: &'a FeatureConfig,
}

/// Which evidence sources could not be consulted (infrastructure failures, not absent input).
/// Features that need an unavailable source are imputed at their worst case by the model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unavailable {
    /// The geo (City) database is missing, failed, or has no entry for the IP.
    pub geo: bool,
    /// The IP-reputation (Anonymous-IP) database is missing or failed.
    pub reputation: bool,
    /// The profile store could not be read.
    pub store: bool,
    /// No IP on a channel that always has one (web widget, in-app).
    pub ip: bool,
    /// No device id on a channel that always has one (web widget, in-app).
    pub device: bool,
}

impl Unavailable {
    /// True when a feature with these needs must be imputed.
    pub fn affects(&self, needs: Needs) -> bool {
        (self.geo && needs.geo)
            || (self.reputation && needs.reputation)
            || (self.store && needs.store)
            || (self.ip && needs.ip)
            || (self.device && needs.device)
    }
}

/// True for channels whose broker always sees the client's IP and device (a browser or an app):
/// there, leaving them out must not score better than sending them.
pub fn channel_carries_client(channel: crate::domain::Channel) -> bool {
    matches!(
        channel,
        crate::domain::Channel::WebWidget | crate::domain::Channel::InApp
    )
}

/// Facts found during extraction that explain the features (reason details).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Findings {
    /// Sources that could not be consulted.
    pub unavailable: Unavailable,
    /// Why geo is unavailable (`no_database`, `not_in_database`, `anonymised`, `ip_absent`).
    pub geo_cause: Option<&'static str>,
    /// Impossible-travel or travel facts relative to the last verified fix.
    pub travel: Option<geo::Travel>,
    /// Current location, country and city.
    pub place: Option<(String, String)>,
    /// Codes whose detail is just counts, with those counts.
    pub counts: Vec<(ReasonCode, &'static str, f64)>,
    /// Typing template distance, when compared.
    pub typing_distance: Option<f32>,
    /// The IP is on an allow list.
    pub allowlisted: bool,
    /// The IP's autonomous system: number and organisation (for analysts).
    pub asn: Option<(u32, String)>,
    /// Which source (the Anonymous-IP database or a `[reputation]` list file) set each
    /// anonymiser flag (for the reason's detail).
    pub reputation_sources: crate::enrich::FlagSources<String>,
}

/// What a request carries on its own, before any history is read: the evidence kept until its
/// outcome (a place, an enrollable typing summary), the timing sketch for replay memory, and the
/// cadence statistics extraction reuses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    /// Location that may stand for the user's place (not an anonymiser or host).
    pub fix: Option<GeoFix>,
    /// Typing entries to compare and, once verified, enroll (human, long enough sample).
    pub typing: Option<crate::store::TypingEvidence>,
    /// Timing sketch for replay detection.
    pub sketch: Option<TimingSketch>,
    /// Cadence statistics, when the request carries enough key events.
    pub cadence: Option<typing::Cadence>,
    /// What the device's user agent and platform say (read once), when a device is given.
    pub ua: Option<device::UaTraits>,
}

/// Reads the evidence a request carries on its own. Pure; the store is not consulted, so the
/// ledger can record the request and hand back the snapshot in one transaction.
pub fn evidence(
    req: &ValidRequest<'_>,
    intel: Option<&IpIntel<'_>>,
    cfg: &FeatureConfig,
    typing_key: &crate::keystroke::digraph::TypingKey,
) -> Evidence {
    let mut ev = Evidence {
        fix: intel.and_then(|i| geo::user_fix(i, req.at_ms)),
        ua: req.req.device.as_ref().map(device::ua_traits),
        ..Evidence::default()
    };
    typing::evidence(req, cfg, typing_key, &mut ev);
    ev
}

/// Fills `row` with the features of one event and returns what explains them.
///
/// `row` is fully overwritten. Never writes the store, never panics on any validated request.
pub fn extract(inputs: &Inputs<'_>, row: &mut FeatureRow) -> Findings {
    row.fill(0.0);
    let mut findings = Findings::default();
    if inputs.snapshot.is_none() {
        findings.unavailable.store = true;
    }
    typing::extract(inputs, row, &mut findings);
    network::extract(inputs, row, &mut findings);
    geo::extract(inputs, row, &mut findings);
    device::extract(inputs, row, &mut findings);
    context::extract(inputs, row, &mut findings);
    findings
}

/// Sets feature `f` in `row`.
#[inline]
pub(crate) fn set(row: &mut FeatureRow, f: F, value: f32) {
    // `F` has exactly N_FEATURES variants (one per FEATURES entry), so the index is in range.
    row[f as usize] = value;
}

/// Reads feature `f` from `row`.
#[inline]
pub fn get(row: &FeatureRow, f: F) -> f32 {
    row[f as usize]
}
