//! Feature extraction: the one path from a request, its enrichment and the user's history
//! snapshot to a named, versioned feature vector. Live scoring and offline replay both call
//! [`extract`]; it cannot tell them apart, so a model never sees features at serving time that
//! differ from training.
//!
//! Extraction is pure: it reads a [`ProfileSnapshot`] and never writes the store. It fills a
//! caller-provided [`FeatureRow`] (no allocation per feature).

pub mod context;
pub mod device;
pub mod freeman;
pub mod geo;
pub mod network;
pub mod schema;
pub mod typing;

use crate::domain::{Absence, ReasonCode, Source, ValidRequest};
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
    /// Enrolled (verified) samples needed before a profile is used (default 1: one verified
    /// sentence already gives 11.9 % EER on the Aalto development users).
    pub min_template_samples: u32,
    /// How long a device's confirmed-fraud mark counts, ms (default 90 days).
    pub device_fraud_mark_ms: i64,
    /// How long an address's confirmed-fraud mark counts, ms (default 30 days: addresses are
    /// reassigned, and a carrier's NAT serves many people).
    pub ip_fraud_mark_ms: i64,
}

impl FeatureConfig {
    /// True when a fraud mark set at `mark_ms` still counts at `now_ms` for a window of
    /// `window_ms`.
    pub fn mark_counts(mark_ms: Option<i64>, now_ms: i64, window_ms: i64) -> bool {
        mark_ms.is_some_and(|m| now_ms.saturating_sub(m) <= window_ms)
    }
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
            min_template_samples: 1,
            device_fraud_mark_ms: 90 * 24 * 3_600_000,
            ip_fraud_mark_ms: 30 * 24 * 3_600_000,
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
    /// The typing verifier's population background, under the deployment's entry names.
    pub background: &'a crate::keystroke::verifier::Background,
}

/// Why each evidence source is missing for one request, if it is ([`Absence`]): not configured
/// (absent by design), failed or not in the database, or left out by the client. Features that
/// need a missing source are imputed by the model according to the kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unavailable([Option<Absence>; 5]);

impl Unavailable {
    /// Why `s` is missing, if it is.
    pub fn get(&self, s: Source) -> Option<Absence> {
        self.0[s as usize]
    }

    /// Records that `s` is missing for `why`; a client-caused absence outranks a failure, which
    /// outranks an absence by design (the stricter rule wins).
    pub fn set(&mut self, s: Source, why: Absence) {
        let rank = |a: Option<Absence>| match a {
            None => 0,
            Some(Absence::ByDesign) => 1,
            Some(Absence::Failed) => 2,
            Some(Absence::ClientOmitted) => 3,
        };
        let slot = &mut self.0[s as usize];
        if rank(Some(why)) > rank(*slot) {
            *slot = Some(why);
        }
    }

    /// True when every source is present.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }

    /// The first missing source (in [`Source::ALL`] order) among `needs`, and why: the source a
    /// feature with these needs is imputed for.
    pub fn affecting(&self, needs: Needs) -> Option<(Source, Absence)> {
        Source::ALL
            .into_iter()
            .filter(|s| needs.contains(*s))
            .find_map(|s| self.get(s).map(|why| (s, why)))
    }

    /// The sources missing for a reported cause (failed or left out), in order.
    pub fn reported(&self) -> impl Iterator<Item = (Source, Absence)> + '_ {
        Source::ALL
            .into_iter()
            .filter_map(|s| self.get(s).map(|why| (s, why)))
            .filter(|(_, why)| why.is_reported())
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
    /// What comparing the typing with the user's profile found, when compared.
    pub typing: Option<typing::Comparison>,
    /// Typing was sent without the consent the tenant requires (scored as absent).
    pub typing_consent_missing: bool,
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
    /// Keyed images of the request's attribute values for the Freeman likelihood ratios
    /// (always set by [`evidence`]).
    pub attributes: Option<crate::store::freeman::AttrKeys>,
    /// The request carried key events, but not the consent the tenant requires: its typing
    /// was not read.
    pub typing_consent_missing: bool,
}

/// Reads the evidence a request carries on its own. Pure; the store is not consulted, so the
/// ledger can record the request and hand back the snapshot in one transaction. Typing is read
/// only when `typing_allowed` (the user's consent, where the tenant requires it).
pub fn evidence(
    req: &ValidRequest<'_>,
    intel: Option<&IpIntel<'_>>,
    cfg: &FeatureConfig,
    typing_key: &crate::keystroke::digraph::TypingKey,
    typing_allowed: bool,
    attr_key: &freeman::AttrKey,
) -> Evidence {
    let ua = req.req.device.as_ref().map(device::ua_traits);
    let user_agent = req
        .req
        .device
        .as_ref()
        .and_then(|d| d.user_agent.as_deref());
    let mut ev = Evidence {
        fix: intel.and_then(|i| geo::user_fix(i, req.at_ms)),
        ua,
        attributes: Some(freeman::attribute_keys(
            attr_key,
            req.ip,
            intel,
            user_agent,
            ua.as_ref(),
        )),
        ..Evidence::default()
    };
    if typing_allowed {
        typing::evidence(req, cfg, typing_key, &mut ev);
    } else {
        // Without the consent the tenant requires, typing is not read at all: no cadence, no
        // replay sketch, nothing to compare or keep.
        ev.typing_consent_missing = req
            .req
            .typing
            .as_ref()
            .is_some_and(|t| !t.events.is_empty());
    }
    ev
}

/// Fills `row` with the features of one event and returns what explains them.
///
/// `row` is fully overwritten. Never writes the store, never panics on any validated request.
pub fn extract(inputs: &Inputs<'_>, row: &mut FeatureRow) -> Findings {
    row.fill(0.0);
    let mut findings = Findings::default();
    if inputs.snapshot.is_none() {
        findings.unavailable.set(Source::Store, Absence::Failed);
    }
    typing::extract(inputs, row, &mut findings);
    network::extract(inputs, row, &mut findings);
    geo::extract(inputs, row, &mut findings);
    device::extract(inputs, row, &mut findings);
    context::extract(inputs, row, &mut findings);
    // Last: it reads which sources the others found missing.
    freeman::extract(inputs, row, &mut findings);
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
