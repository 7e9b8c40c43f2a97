//! The feature schema: every feature's name (`family.name`), what evidence it needs, and its
//! range. The schema's version and hash are recorded in every model artifact; a model refuses to
//! load against another schema.

use serde::{Deserialize, Serialize};

use crate::domain::{Source, Sources};

/// Which evidence sources a feature depends on (see [`super::Unavailable`]). When one is
/// missing, the model imputes the feature by the kind of absence ([`crate::domain::Absence`]).
pub type Needs = Sources;

const NONE: Needs = Sources::NONE;
const GEO: Needs = Sources::of(&[Source::Geo]);
const REP: Needs = Sources::of(&[Source::Reputation]);
const STORE: Needs = Sources::of(&[Source::Store]);
const GEO_STORE: Needs = Sources::of(&[Source::Geo, Source::Store]);
const IP_STORE: Needs = Sources::of(&[Source::Ip, Source::Store]);
const DEVICE_STORE: Needs = Sources::of(&[Source::Device, Source::Store]);

/// Which way a feature may move risk. Enforced on every artifact: a model that lets a
/// client-controlled signal buy trust it should not (longer key holds, a shared device, a VPN)
/// is refused at load, and `tessera train` fits under these constraints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Weight ≥ 0: the signal can only raise risk.
    Risk,
    /// Weight ≤ 0: the signal can only lower risk (verified history).
    Trust,
    /// Any sign (context the broker, not the client, supplies).
    Either,
}

const RISK: Direction = Direction::Risk;
const TRUST: Direction = Direction::Trust;
const EITHER: Direction = Direction::Either;

/// One feature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureDef {
    /// `family.name`, stable within a schema version.
    pub name: &'static str,
    /// Sources it needs.
    pub needs: Needs,
    /// Which way its weight may point.
    pub direction: Direction,
    /// Largest value it takes (smallest is 0, but −3 for `typing.template_distance`); the worst
    /// case used for fail-secure imputation.
    pub max: f32,
    /// What it measures, with units.
    pub doc: &'static str,
}

impl Direction {
    /// True when `weight` points the allowed way.
    pub fn allows(self, weight: f64) -> bool {
        match self {
            Direction::Risk => weight >= 0.0,
            Direction::Trust => weight <= 0.0,
            Direction::Either => true,
        }
    }
}

macro_rules! features {
    ($( $id:ident = $name:literal, $needs:expr, $dir:expr, $max:expr, $doc:literal; )*) => {
        /// Every feature of schema version [`SCHEMA_VERSION`], in vector order.
        pub const FEATURES: &[FeatureDef] = &[$(FeatureDef { name: $name, needs: $needs, direction: $dir, max: $max, doc: $doc },)*];

        /// Feature ids: `F::X as usize` is the position of feature X in a [`FeatureRow`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(usize)]
        pub enum F {
            $(#[doc = $doc] $id,)*
        }

        impl F {
            /// Every feature id, in vector order (`F::ALL[i] as usize == i`).
            pub const ALL: &'static [F] = &[$(F::$id,)*];
        }
    };
}

/// Version of the feature schema; bump on any change to names, order or meaning.
pub const SCHEMA_VERSION: u32 = 4;

features! {
    TypingAbsent = "typing.absent", NONE, RISK, 1.0, "1 when the request has fewer than 4 key events (autofill, paste, passkey, no timing on the channel)";
    TypingKeysLog = "typing.keys_log", NONE, RISK, 7.7, "ln(1 + key events)";
    TypingDwellMeanS = "typing.dwell_mean_s", NONE, RISK, 2.0, "mean key hold time, s, capped at 2";
    TypingFlightMeanS = "typing.flight_mean_s", NONE, RISK, 5.0, "mean key-down to next key-down interval, s, capped at 5";
    TypingTemplateDistance = "typing.template_distance", STORE, RISK, 10.0, "the free-text verifier's D = −LLR/√entries of the sample's hold and up-down timings against the user's profile for this form factor (population background, user style factors), clamped to [−3, 10]: below −0.5 matches (about 1 % of other people), above 0.4 + 90/K does not (K enrolled key events); 0 when not compared. The one feature whose smallest value is below 0";
    TypingProfileConfidence = "typing.profile_confidence", STORE, RISK, 1.0, "K / (K + 100), K the key events enrolled in the compared profile (0 when not compared): how far typing.template_distance can be trusted; may only raise risk (a confident mismatch)";
    TypingNoTemplate = "typing.no_template", STORE, RISK, 1.0, "1 when typing is present but the user has no usable profile for this form factor";
    TypingInsufficient = "typing.insufficient", STORE, RISK, 1.0, "1 when a profile exists but the sample shares too few holds and digraphs with it (or is too short or bot-like) to compare";
    TypingBotCadence = "typing.bot_cadence", NONE, RISK, 1.0, "1 for machine-regular or humanly impossible timing";
    TypingReplay = "typing.replay", STORE, RISK, 1.0, "1 when the timing vector matches one already seen for this user";
    DeviceAbsent = "device.absent", NONE, RISK, 1.0, "1 when the request has no device id";
    DeviceNewForUser = "device.new_for_user", DEVICE_STORE, RISK, 1.0, "1 when the user has verified history and this device was never verified for them";
    DeviceAgeDaysLog = "device.age_days_log", DEVICE_STORE, TRUST, 7.0, "ln(1 + days since the device was first verified for the user)";
    DeviceTrusted = "device.trusted", DEVICE_STORE, TRUST, 1.0, "1 when the device was verified for the user within the trust window";
    DeviceAccounts24hLog = "device.accounts_24h_log", DEVICE_STORE, RISK, 4.2, "ln(distinct users on this device in 24 h, this one included)";
    DeviceMobile = "device.mobile", NONE, RISK, 1.0, "1 for a phone or tablet";
    DeviceBrowserChrome = "device.browser_chrome", NONE, RISK, 1.0, "user-agent family one-hot: Chrome, Chromium and their engines (not Edge)";
    DeviceBrowserSafari = "device.browser_safari", NONE, RISK, 1.0, "user-agent family one-hot: Safari and iOS web views";
    DeviceBrowserFirefox = "device.browser_firefox", NONE, RISK, 1.0, "user-agent family one-hot: Firefox";
    DeviceBrowserEdge = "device.browser_edge", NONE, RISK, 1.0, "user-agent family one-hot: Edge";
    DeviceBrowserOther = "device.browser_other", NONE, RISK, 1.0, "user-agent family one-hot: anything else, including scripted clients and no user agent";
    DeviceAutomation = "device.automation", NONE, RISK, 1.0, "1 when webdriver is set or the user agent is a headless or scripted client";
    DeviceTimezoneMismatch = "device.timezone_mismatch", GEO, RISK, 1.0, "1 when the device's UTC offset differs from the IP location's by an hour or more";
    DeviceLanguageMismatch = "device.language_mismatch", GEO, RISK, 1.0, "1 when no device language fits the IP's country";
    DeviceFraudLinked = "device.fraud_linked", DEVICE_STORE, RISK, 1.0, "1 when the device was part of confirmed fraud";
    NetworkIpAbsent = "network.ip_absent", NONE, RISK, 1.0, "1 when the request has no IP";
    NetworkTor = "network.tor", REP, RISK, 1.0, "1 for a Tor exit relay";
    NetworkVpn = "network.vpn", REP, RISK, 1.0, "1 for a commercial VPN exit";
    NetworkHosting = "network.hosting", REP, RISK, 1.0, "1 for a hosting provider or data centre";
    NetworkProxy = "network.proxy", REP, RISK, 1.0, "1 for a public or residential proxy";
    NetworkBlocklisted = "network.blocklisted", NONE, RISK, 1.0, "1 when the IP is on a configured block list";
    NetworkIpAttempts1hLog = "network.ip_attempts_1h_log", IP_STORE, RISK, 4.9, "ln(1 + scored requests from this IP in the velocity window)";
    NetworkIpFailures1hLog = "network.ip_failures_1h_log", IP_STORE, RISK, 4.9, "ln(1 + failures from this IP in the velocity window)";
    NetworkIpUsers1hLog = "network.ip_users_1h_log", IP_STORE, RISK, 4.2, "ln(distinct users from this IP in the velocity window, this one included)";
    NetworkFraudLinked = "network.fraud_linked", IP_STORE, RISK, 1.0, "1 when the IP was part of confirmed fraud";
    GeoImpossibleTravel = "geo.impossible_travel", GEO_STORE, RISK, 1.0, "1 when the implied speed from the last verified fix exceeds the plausible maximum";
    GeoSpeedLog = "geo.speed_log", GEO_STORE, RISK, 5.3, "ln(1 + implied speed from the last verified fix / 100 km/h), radius-corrected";
    GeoDistanceLog = "geo.distance_log", GEO_STORE, RISK, 10.0, "ln(1 + km from the last verified fix), radius-corrected";
    GeoNewCountry = "geo.new_country", GEO_STORE, RISK, 1.0, "1 when the user has verified places and none in this country";
    GeoNewCity = "geo.new_city", GEO_STORE, RISK, 1.0, "1 when the country is known for the user but the city is not";
    GeoHomeDistanceLog = "geo.home_distance_log", GEO_STORE, RISK, 10.0, "ln(1 + km from the centre of the user's verified places)";
    ContextNoHistory = "context.no_history", STORE, RISK, 1.0, "1 when the user has no verified history";
    ContextHistoryLog = "context.history_log", STORE, TRUST, 0.0, "ln(1 + verified events), capped at ln(101); more history never raises risk";
    ContextActionSensitivity = "context.action_sensitivity", NONE, RISK, 2.0, "0 low, 1 medium, 2 high";
    ContextHourUnusual = "context.hour_unusual", STORE, RISK, 1.0, "1 − (share of verified events within ±1 h of this hour) / (3/24), clamped to [0, 1]";
    ContextFailedAttemptsLog = "context.failed_attempts_log", NONE, RISK, 7.0, "ln(1 + failed attempts earlier in the session)";
    ContextUserFailures24hLog = "context.user_failures_24h_log", STORE, RISK, 4.9, "ln(1 + failures on the account in 24 h)";
    ContextChannelWebWidget = "context.channel_web_widget", NONE, EITHER, 1.0, "channel one-hot";
    ContextChannelInApp = "context.channel_in_app", NONE, EITHER, 1.0, "channel one-hot";
    ContextChannelWhatsapp = "context.channel_whatsapp", NONE, EITHER, 1.0, "channel one-hot";
    ContextChannelSms = "context.channel_sms", NONE, EITHER, 1.0, "channel one-hot";
    ContextChannelSocial = "context.channel_social", NONE, EITHER, 1.0, "channel one-hot";
    FreemanIpLlr = "freeman.ip_llr", IP_STORE, RISK, 8.0, "ln(p(x)/p(x|u)) of the address: its /24 (IPv6 /48) within the AS, then the address (IPv6 /64) within it, population share over the user's smoothed share (Freeman et al. 2016), clipped to [0, 8]";
    FreemanAsnLlr = "freeman.asn_llr", GEO_STORE, RISK, 8.0, "ln(p(x)/p(x|u)) of the autonomous system within its country, clipped to [0, 8]";
    FreemanCountryLlr = "freeman.country_llr", GEO_STORE, RISK, 8.0, "ln(p(x)/p(x|u)) of the country, clipped to [0, 8]";
    FreemanBrowserLlr = "freeman.browser_llr", DEVICE_STORE, RISK, 8.0, "ln(p(x)/p(x|u)) of the browser family, then its major version within it, clipped to [0, 8]";
    FreemanOsLlr = "freeman.os_llr", DEVICE_STORE, RISK, 8.0, "ln(p(x)/p(x|u)) of the OS family, then its version within it, clipped to [0, 8]";
    FreemanRiskLog = "freeman.risk_log", STORE, RISK, 40.0, "positive part of the Freeman score S: the sum of the five attribute log ratios, each clipped to ±8, browser and OS counting only above 0 (a claimed user agent earns no trust); 0 without verified history";
    FreemanFamiliarLog = "freeman.familiar_log", STORE, TRUST, 24.0, "negative part of the Freeman score S (−S when S < 0): the user's own address, AS and country, learned from verified outcomes";
}

/// Number of features.
pub const N_FEATURES: usize = FEATURES.len();

/// One feature vector, in [`FEATURES`] order.
pub type FeatureRow = [f32; N_FEATURES];

/// Index of feature `name`.
pub fn feature_index(name: &str) -> Option<usize> {
    FEATURES.iter().position(|f| f.name == name)
}

/// Names, version and hash of a feature vector layout, as recorded in model artifacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureSchema {
    /// Schema version.
    pub version: u32,
    /// Feature names in vector order.
    pub names: Vec<String>,
    /// blake3 of the version and names, hex (first 16 bytes).
    pub hash: String,
}

impl FeatureSchema {
    /// The schema this build extracts.
    pub fn current() -> FeatureSchema {
        let names: Vec<String> = FEATURES.iter().map(|f| f.name.to_string()).collect();
        let hash = Self::hash_of(SCHEMA_VERSION, &names);
        FeatureSchema {
            version: SCHEMA_VERSION,
            names,
            hash,
        }
    }

    /// The hash a schema with this version and these names has.
    pub fn hash_of(version: u32, names: &[String]) -> String {
        let mut h = blake3::Hasher::new();
        h.update(&version.to_le_bytes());
        for n in names {
            h.update(n.as_bytes());
            h.update(&[0]);
        }
        h.finalize().to_hex()[..32].to_string()
    }

    /// True when the stored hash matches the version and names (the artifact was not edited).
    pub fn is_consistent(&self) -> bool {
        self.hash == Self::hash_of(self.version, &self.names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_verified_history_may_lower_risk() {
        for f in FEATURES {
            match f.direction {
                Direction::Trust => assert!(
                    f.needs.contains(Source::Store),
                    "{} lowers risk without verified history",
                    f.name
                ),
                Direction::Either => assert!(f.name.starts_with("context.channel_"), "{}", f.name),
                Direction::Risk => {}
            }
        }
        assert!(Direction::Risk.allows(0.0) && !Direction::Risk.allows(-0.1));
        assert!(Direction::Trust.allows(-2.0) && !Direction::Trust.allows(0.1));
    }

    #[test]
    fn names_are_unique_and_family_dotted() {
        for (i, f) in FEATURES.iter().enumerate() {
            let (family, rest) = f.name.split_once('.').expect("family.name");
            assert!(
                ["typing", "device", "network", "geo", "context", "freeman"].contains(&family),
                "{}",
                f.name
            );
            assert!(!rest.is_empty());
            assert_eq!(feature_index(f.name), Some(i), "duplicate {}", f.name);
            assert!(f.max >= 0.0);
        }
    }

    #[test]
    fn schema_hash_detects_a_change() {
        let s = FeatureSchema::current();
        assert!(s.is_consistent());
        assert_eq!(s.names.len(), N_FEATURES);
        let mut other = s.clone();
        other.names.swap(0, 1);
        assert!(!other.is_consistent());
        assert_ne!(FeatureSchema::hash_of(SCHEMA_VERSION + 1, &s.names), s.hash);
    }
}

#[cfg(test)]
mod id_tests {
    use super::*;

    #[test]
    fn ids_index_the_feature_table() {
        assert_eq!(F::TypingAbsent as usize, 0);
        assert_eq!(F::FreemanFamiliarLog as usize, N_FEATURES - 1);
        assert_eq!(F::ALL.len(), N_FEATURES);
        assert!(F::ALL.iter().enumerate().all(|(i, f)| *f as usize == i));
        assert_eq!(
            FEATURES[F::GeoImpossibleTravel as usize].name,
            "geo.impossible_travel"
        );
    }
}
