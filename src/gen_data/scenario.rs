//! [`Scenario`]: the story behind each generated row, written to the Parquet `scenario` column.
//! Names are stable snake_case (add new ones, never rename); `data/README.md` documents each
//! one and the signals it leaves.
//!
//! Pure names and labels: nothing here generates events.

/// The story behind a row: which genuine behaviour or which attack tactic produced it.
///
/// Genuine scenarios come first and attack tactics after [`Scenario::CredentialStuffing`], so
/// [`Scenario::is_attack`] is an order comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    /// An ordinary genuine event at home, on an own device.
    Genuine,
    /// A genuine customer on a trip to another city (holiday or business travel).
    GenuineTravel,
    /// A genuine customer on a device id the bank has not verified for them yet: the new phone
    /// that replaced their old one, or a desktop browser after cleared cookies.
    GenuineNewDevice,
    /// A genuine customer on a device shared with another household member.
    GenuineSharedDevice,
    /// A privacy-minded genuine customer behind a commercial VPN.
    GenuineVpn,
    /// A genuine customer whose employer routes all traffic through a corporate VPN egress in a
    /// hosting or VPN range (always, not now and then).
    GenuineCorporateVpn,
    /// Credential stuffing: one hosting IP tries many users within minutes.
    CredentialStuffing,
    /// Account takeover from a new device, usually far away, at an unusual hour.
    AccountTakeover,
    /// An attacker behind Tor.
    TorAttack,
    /// An attacker behind a VPN, open proxy or residential proxy.
    VpnAttack,
    /// A scripted client with machine-regular typing.
    Bot,
    /// A replay of the victim's own recorded key events.
    TypingReplay,
    /// Takeover from the victim's own city and mobile carrier, at the victim's usual hours.
    LocalTakeover,
    /// An attacker behind a residential proxy exit or on a plain residential line in the
    /// victim's city, with the victim's time zone and languages.
    ResidentialProxy,
    /// An attacker whose browser reports the victim's time zone and languages.
    SpoofedLocale,
    /// A script that types and paces itself within human ranges.
    HumanPacedBot,
    /// Credential testing spread over days: few attempts per IP and per user in any window.
    LowAndSlow,
    /// An attacker who warms an account up with harmless requests before a sensitive action.
    WarmUp,
    /// A fraudster holding the victim's number after a SIM swap, on SMS or WhatsApp.
    SimSwap,
    /// An attacker replaying the victim's stolen browser cookies (infostealer malware): the
    /// victim's own device id and fingerprint, from another address.
    SessionHijack,
    /// An attacker remote-controlling the victim's own phone (a remote-access trojan or a
    /// screen-sharing "bank support" scam): the victim's device and home address.
    RemoteAccess,
}

impl Scenario {
    /// Every scenario, genuine ones first.
    pub const ALL: [Scenario; 21] = [
        Scenario::Genuine,
        Scenario::GenuineTravel,
        Scenario::GenuineNewDevice,
        Scenario::GenuineSharedDevice,
        Scenario::GenuineVpn,
        Scenario::GenuineCorporateVpn,
        Scenario::CredentialStuffing,
        Scenario::AccountTakeover,
        Scenario::TorAttack,
        Scenario::VpnAttack,
        Scenario::Bot,
        Scenario::TypingReplay,
        Scenario::LocalTakeover,
        Scenario::ResidentialProxy,
        Scenario::SpoofedLocale,
        Scenario::HumanPacedBot,
        Scenario::LowAndSlow,
        Scenario::WarmUp,
        Scenario::SimSwap,
        Scenario::SessionHijack,
        Scenario::RemoteAccess,
    ];

    /// Stable snake_case name, as in the Parquet `scenario` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Genuine => "genuine",
            Scenario::GenuineTravel => "genuine_travel",
            Scenario::GenuineNewDevice => "genuine_new_device",
            Scenario::GenuineSharedDevice => "genuine_shared_device",
            Scenario::GenuineVpn => "genuine_vpn",
            Scenario::GenuineCorporateVpn => "genuine_corporate_vpn",
            Scenario::CredentialStuffing => "credential_stuffing",
            Scenario::AccountTakeover => "account_takeover",
            Scenario::TorAttack => "tor_attack",
            Scenario::VpnAttack => "vpn_attack",
            Scenario::Bot => "bot",
            Scenario::TypingReplay => "typing_replay",
            Scenario::LocalTakeover => "local_takeover",
            Scenario::ResidentialProxy => "residential_proxy",
            Scenario::SpoofedLocale => "spoofed_locale",
            Scenario::HumanPacedBot => "human_paced_bot",
            Scenario::LowAndSlow => "low_and_slow",
            Scenario::WarmUp => "warm_up",
            Scenario::SimSwap => "sim_swap",
            Scenario::SessionHijack => "session_hijack",
            Scenario::RemoteAccess => "remote_access",
        }
    }

    /// Parses the stable name.
    pub fn from_name(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// True for the attack tactics.
    pub fn is_attack(self) -> bool {
        self >= Scenario::CredentialStuffing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_split_attacks() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::from_name(s.as_str()), Some(s));
        }
        assert_eq!(
            Scenario::from_name("genuine_corporate_vpn"),
            Some(Scenario::GenuineCorporateVpn)
        );
        assert!(!Scenario::GenuineCorporateVpn.is_attack());
        assert!(Scenario::CredentialStuffing.is_attack());
        assert!(Scenario::SimSwap.is_attack());
        assert_eq!(
            Scenario::from_name("remote_access"),
            Some(Scenario::RemoteAccess)
        );
        assert_eq!(Scenario::ALL.iter().filter(|s| s.is_attack()).count(), 15);
        assert!(Scenario::ALL.windows(2).all(|w| w[0] < w[1]));
    }
}
