//! Stable reason codes and the explained reasons that accompany every decision.
//!
//! Codes are snake_case and stable: new ones may be added, existing ones are never renamed,
//! because brokers, dashboards and the audit trail key on them.

use serde::{Deserialize, Serialize};

macro_rules! reason_codes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $message:literal; )*) => {
        /// A stable reason code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ReasonCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ReasonCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$variant,)*];

            /// The stable wire name.
            pub fn as_str(self) -> &'static str {
                match self { $(ReasonCode::$variant => $name,)* }
            }

            /// A plain-language sentence an agent can read to the customer. Never contains data.
            pub fn message(self) -> &'static str {
                match self { $(ReasonCode::$variant => $message,)* }
            }
        }
    };
}

reason_codes! {
    /// The user has verified history but this device was never verified for them.
    NewDevice = "new_device", "You're using a device we haven't seen on your account before.";
    /// The device was verified for this user recently.
    TrustedDevice = "trusted_device", "You're on a device you've verified with us recently.";
    /// Reaching this place from the last verified one in the time elapsed is physically impossible.
    ImpossibleTravel = "impossible_travel", "Your location changed faster than anyone could travel since your last verified sign-in.";
    /// A country never verified for this user.
    NewCountry = "new_country", "You appear to be connecting from a country we haven't seen on your account.";
    /// A city never verified for this user (in a known country).
    NewCity = "new_city", "You appear to be connecting from a new city.";
    /// Far from the user's usual area.
    FarFromHome = "far_from_home", "You're connecting from far away from where you usually are.";
    /// The user's usual place.
    KnownLocation = "known_location", "You're connecting from a place you've used before.";
    /// The IP is a Tor exit relay.
    TorExit = "tor_exit", "Your connection comes through the Tor network.";
    /// The IP belongs to a commercial VPN.
    AnonymousVpn = "anonymous_vpn", "Your connection comes through a VPN service.";
    /// The IP belongs to a hosting provider or data centre.
    HostingProvider = "hosting_provider", "Your connection comes from a data centre rather than a home or mobile network.";
    /// The IP is an open or residential proxy.
    PublicProxy = "public_proxy", "Your connection comes through a proxy service.";
    /// The IP is on a configured block list.
    IpBlocklisted = "ip_blocklisted", "Your network address is on a list of addresses we can't accept.";
    /// The IP is on a configured allow list.
    IpAllowlisted = "ip_allowlisted", "Your network address is on our list of trusted networks.";
    /// Many attempts, failures or distinct users from this IP recently (credential stuffing).
    IpVelocity = "ip_velocity", "We've seen unusual sign-in activity from your network address.";
    /// Many distinct accounts used this device in the last 24 h.
    DeviceSharedAccounts = "device_shared_accounts", "This device has been used with several accounts recently.";
    /// Many recent failed challenges for this user.
    UserFailureVelocity = "user_failure_velocity", "There have been several failed verification attempts on your account.";
    /// Failed attempts earlier in this session.
    FailedAttempts = "failed_attempts", "There were failed attempts earlier in this conversation.";
    /// Typing rhythm differs from the user's enrolled template.
    TypingMismatch = "typing_mismatch", "Your typing rhythm doesn't match your usual pattern.";
    /// A typing profile exists, but the sample shares too little with it to compare.
    TypingInsufficient = "typing_insufficient", "There wasn't enough typing to compare with your usual rhythm.";
    /// Typing rhythm matches the user's enrolled template.
    TypingMatch = "typing_match", "Your typing rhythm matches your usual pattern.";
    /// The timing vector is identical or near-identical to one already seen.
    TypingReplay = "typing_replay", "Your typing looks like a recording of an earlier session.";
    /// Machine-regular or humanly impossible key timing.
    BotCadence = "bot_cadence", "Your typing looks automated.";
    /// No keystroke timing (autofill, paste, passkey, or a channel without timing).
    TypingAbsent = "typing_absent", "We couldn't use typing rhythm for this check.";
    /// The browser reports automation (webdriver).
    AutomationFlag = "automation_flag", "Your browser reports that it is being controlled by automation software.";
    /// Device time zone differs from the IP's.
    TimezoneMismatch = "timezone_mismatch", "Your device's time zone doesn't match your network's location.";
    /// Device languages do not fit the IP's country.
    LanguageMismatch = "language_mismatch", "Your device's language settings don't match your network's location.";
    /// Hour of day unusual for this user.
    UnusualHour = "unusual_hour", "This is an unusual time of day for your account.";
    /// The geo database is missing or a lookup failed; treated as the worst case.
    GeoUnavailable = "geo_unavailable", "We couldn't determine your location, so we need extra verification.";
    /// The IP-reputation database is missing or a lookup failed; treated as the worst case.
    ReputationUnavailable = "reputation_unavailable", "We couldn't check your network's reputation, so we need extra verification.";
    /// The profile store could not be read; history treated as the worst case.
    StoreUnavailable = "store_unavailable", "We couldn't check your account history, so we need extra verification.";
    /// No verified history for this user yet.
    NoHistory = "no_history", "We don't have enough verified history on your account yet.";
    /// No IP address in the request.
    IpAbsent = "ip_absent", "We couldn't see your network address.";
    /// No device evidence in the request.
    DeviceAbsent = "device_absent", "We couldn't see details of your device.";
    /// The action moves money or changes recovery channels.
    SensitiveAction = "sensitive_action", "This action needs a higher level of assurance.";
    /// The IP's country is outside the action's geofence.
    OutsideGeofence = "outside_geofence", "This action isn't available from your current location without extra verification.";
    /// The IP is outside the action's IP allow list.
    NotOnActionAllowlist = "not_on_action_allowlist", "This action needs extra verification from your current network.";
    /// This device or IP was part of confirmed fraud.
    FraudLinked = "fraud_linked", "Your device or network was involved in confirmed fraud.";
    /// Many recent attempts on this account from its network address, by this user alone (the
    /// per-IP counters when no other user shares the address).
    UserVelocity = "user_velocity", "There have been many sign-in attempts on your account in a short time.";
    /// Typing is present, but no typing profile exists yet for this kind of device.
    TypingNotEnrolled = "typing_not_enrolled", "We don't have your typing pattern on file for this kind of device yet.";
    /// Typing rhythm compared with the profile: neither a match nor a mismatch.
    TypingPartialMatch = "typing_partial_match", "Your typing rhythm is only partly like your usual pattern.";
    /// Typing speed and key hold times as such (not compared with a profile).
    TypingStyle = "typing_style", "Your typing speed affected this check.";
    /// Typing was sent without the consent to behavioural biometrics the tenant requires
    /// (`consent.behavioral_biometrics`): it was neither compared nor kept, and is scored as
    /// absent typing.
    TypingConsentMissing = "typing_consent_missing", "We didn't use your typing rhythm because consent to it wasn't given.";
    /// The kind of device (phone or tablet) or browser family.
    ClientType = "client_type", "The kind of device or browser you're using affected this check.";
    /// How long ago the device was first verified for the user.
    KnownDevice = "known_device", "You're on a device you've verified with us before.";
    /// Depth of the user's verified history.
    VerifiedHistory = "verified_history", "Your account has a record of verified sign-ins.";
    /// The channel the request came through.
    ChannelRisk = "channel_risk", "The channel you're using affected this check.";
    /// The model's starting point: the trust of a request with every feature at zero.
    ModelBaseline = "model_baseline", "Every request starts from the same baseline level of caution.";
    /// The request's timestamp was more than the allowed skew away from the server's receive
    /// time; it was scored at the receive time instead.
    ClockSkew = "clock_skew", "Your device's clock disagrees with ours; we used our own time for this check.";
    /// The score rests on too little evidence (few signals, little verified history) for an
    /// action of this sensitivity to pass without a challenge.
    LowConfidence = "low_confidence", "We have too little information about this session to confirm it's you without a check.";
    /// The SIM of the customer's phone number changed recently (the broker's carrier check):
    /// a code sent by SMS alone would reach whoever holds the new SIM.
    RecentSimSwap = "recent_sim_swap", "Your phone number moved to a new SIM card recently, so we need an extra check.";
    /// The address, network, country, browser or operating system is rare in the user's
    /// verified history compared with everyone's (Freeman et al. likelihood ratios).
    UnfamiliarContext = "unfamiliar_context", "Your network, location, browser or system is unusual for your account.";
}

impl std::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One explained reason in a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// Stable code.
    pub code: ReasonCode,
    /// Trust points this reason removed (positive) or added (negative), 0–100 scale.
    pub contribution: f64,
    /// Plain-language explanation for an agent to read to a customer (the code's fixed text,
    /// borrowed: building an answer copies no message).
    pub message: std::borrow::Cow<'static, str>,
    /// Analyst detail (distances in km, speeds in km/h, counts …); `{}` when there is none.
    pub detail: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_the_serde_names() {
        for &code in ReasonCode::ALL {
            let json = serde_json::to_string(&code).expect("serialize");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert!(!code.message().is_empty());
        }
    }

    #[test]
    fn required_codes_exist_with_their_fixed_names() {
        let required = [
            "new_device",
            "impossible_travel",
            "new_country",
            "tor_exit",
            "anonymous_vpn",
            "hosting_provider",
            "public_proxy",
            "ip_blocklisted",
            "ip_velocity",
            "typing_mismatch",
            "typing_replay",
            "bot_cadence",
            "automation_flag",
            "timezone_mismatch",
            "geo_unavailable",
            "no_history",
            "typing_absent",
        ];
        for name in required {
            assert!(
                ReasonCode::ALL.iter().any(|c| c.as_str() == name),
                "missing reason code {name}"
            );
        }
    }
}
