//! Device features: new or trusted device for this user, device age, accounts seen on the
//! device, phone vs desktop, automation flags, and consistency of the device's time zone and
//! languages with the IP's location.

use chrono::{Offset, TimeZone};

use super::{F, FeatureRow, Findings, Inputs, set};
use crate::domain::{Absence, DeviceInfo, ReasonCode, Source};
use crate::enrich::Lookup;

/// User-agent tokens and what each betrays, matched in one pass over the user agent.
const UA_TOKENS: &[(&str, u8)] = &[
    // Headless browsers and scripted HTTP clients.
    ("HeadlessChrome", AUTOMATION),
    ("PhantomJS", AUTOMATION),
    ("Selenium", AUTOMATION),
    ("puppeteer", AUTOMATION),
    ("Playwright", AUTOMATION),
    ("python-requests", AUTOMATION),
    ("python-urllib", AUTOMATION),
    ("curl/", AUTOMATION),
    ("Wget/", AUTOMATION),
    ("Go-http-client", AUTOMATION),
    ("okhttp", AUTOMATION),
    ("node-fetch", AUTOMATION),
    ("axios/", AUTOMATION),
    ("Scrapy", AUTOMATION),
    // Phones and tablets.
    ("Mobile", MOBILE),
    ("Android", MOBILE),
    ("iPhone", MOBILE),
    ("iPad", MOBILE),
    // Browser families (Edge and Chrome both say "Safari"; Edge also says "Chrome").
    ("Edg/", EDGE),
    ("Edge/", EDGE),
    ("EdgA/", EDGE),
    ("EdgiOS/", EDGE),
    ("Firefox/", FIREFOX),
    ("FxiOS/", FIREFOX),
    ("Chrome/", CHROME),
    ("Chromium/", CHROME),
    ("CriOS/", CHROME),
    ("Safari/", SAFARI),
    ("AppleWebKit/", SAFARI),
];
const AUTOMATION: u8 = 1;
const MOBILE: u8 = 2;
const EDGE: u8 = 4;
const FIREFOX: u8 = 8;
const CHROME: u8 = 16;
const SAFARI: u8 = 32;

/// Which token groups occur in `text` (one Aho-Corasick pass, overlapping matches).
fn ua_flags(text: &str) -> u8 {
    static MATCHER: std::sync::LazyLock<aho_corasick::AhoCorasick> =
        std::sync::LazyLock::new(|| {
            aho_corasick::AhoCorasick::new(UA_TOKENS.iter().map(|(t, _)| t))
                .expect("a fixed list of short literal tokens always builds")
        });
    MATCHER
        .find_overlapping_iter(text)
        .filter_map(|m| UA_TOKENS.get(m.pattern().as_usize()))
        .fold(0, |acc, (_, flag)| acc | flag)
}

/// What a device's user agent and platform say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UaTraits {
    /// Declared or betrayed automation (webdriver flag, headless browser, scripted client).
    pub automated: bool,
    /// Phone or tablet.
    pub mobile: bool,
    /// Browser family.
    pub family: UaFamily,
}

/// Reads a device's user agent and platform once.
pub fn ua_traits(dev: &DeviceInfo) -> UaTraits {
    let ua = dev.user_agent.as_deref().map_or(0, ua_flags);
    let platform = dev.platform.as_deref().map_or(0, ua_flags);
    UaTraits {
        automated: dev.webdriver == Some(true) || ua & AUTOMATION != 0,
        mobile: (ua | platform) & MOBILE != 0
            || dev.platform.as_deref().is_some_and(|p| p.contains("iOS")),
        family: family_of(ua),
    }
}

/// True when the device declares or betrays automation.
pub fn is_automated(dev: &DeviceInfo) -> bool {
    ua_traits(dev).automated
}

/// True for phones and tablets, from the platform or the user agent.
pub fn is_mobile(dev: &DeviceInfo) -> bool {
    ua_traits(dev).mobile
}

/// Browser family of a user agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UaFamily {
    /// Chrome, Chromium, Samsung Internet and other Blink browsers (not Edge).
    Chrome,
    /// Safari, and iOS web views.
    Safari,
    /// Firefox.
    Firefox,
    /// Microsoft Edge.
    Edge,
    /// Anything else, scripted clients, or no user agent.
    Other,
}

fn family_of(flags: u8) -> UaFamily {
    if flags & EDGE != 0 {
        UaFamily::Edge
    } else if flags & FIREFOX != 0 {
        UaFamily::Firefox
    } else if flags & CHROME != 0 {
        UaFamily::Chrome
    } else if flags & SAFARI != 0 {
        UaFamily::Safari
    } else {
        UaFamily::Other
    }
}

/// The browser family of a user agent, by the tokens browsers put in it.
pub fn ua_family(ua: Option<&str>) -> UaFamily {
    family_of(ua.map_or(0, ua_flags))
}

/// UTC offset of an IANA zone at `at_ms`, seconds; `None` for an unknown zone name.
pub fn utc_offset_s(zone: &str, at_ms: i64) -> Option<i32> {
    let tz: chrono_tz::Tz = zone.parse().ok()?;
    let utc = chrono::DateTime::from_timestamp_millis(at_ms)?.naive_utc();
    Some(tz.offset_from_utc_datetime(&utc).fix().local_minus_utc())
}

/// Languages commonly used in a country (ISO 639-1), for the language/location check.
/// Countries not listed are not judged.
fn country_languages(country: &str) -> Option<&'static [&'static str]> {
    Some(match country {
        "FR" => &["fr"],
        "DE" | "AT" => &["de"],
        "CH" => &["de", "fr", "it"],
        "BE" => &["fr", "nl", "de"],
        "GB" | "IE" | "AU" | "NZ" | "NG" => &["en"],
        "US" => &["en", "es"],
        "CA" => &["en", "fr"],
        "ES" => &["es", "ca", "eu", "gl"],
        "IT" => &["it"],
        "NL" => &["nl"],
        "PT" | "BR" => &["pt"],
        "SE" => &["sv"],
        "RU" => &["ru"],
        "RO" => &["ro"],
        "PL" => &["pl"],
        "JP" => &["ja"],
        "CN" => &["zh"],
        "VN" => &["vi"],
        "IN" => &["en", "hi", "mr", "ta", "te", "bn"],
        "SG" => &["en", "zh", "ms", "ta"],
        "PH" => &["en", "fil", "tl"],
        "MX" | "AR" | "CO" | "CL" => &["es"],
        _ => return None,
    })
}

/// True when none of `languages` fits `country` (by region subtag or by a common language).
/// False when there is nothing to judge.
pub fn language_mismatch(languages: &[String], country: &str) -> bool {
    let Some(common) = country_languages(country) else {
        return false;
    };
    if languages.is_empty() {
        return false;
    }
    !languages.iter().any(|tag| {
        let mut parts = tag.split(['-', '_']);
        let primary = parts.next().unwrap_or("");
        let region_fits = parts.any(|p| p.len() == 2 && p.eq_ignore_ascii_case(country));
        region_fits || common.iter().any(|c| primary.eq_ignore_ascii_case(c))
    })
}

pub(super) fn extract(inputs: &Inputs<'_>, row: &mut FeatureRow, findings: &mut Findings) {
    let req = inputs.req;
    let carries = super::channel_carries_client(req.channel);
    let Some(dev) = req.req.device.as_ref() else {
        set(row, F::DeviceAbsent, 1.0);
        if carries {
            findings
                .unavailable
                .set(Source::Device, Absence::ClientOmitted);
        }
        return;
    };
    let traits = inputs.evidence.ua.unwrap_or_else(|| ua_traits(dev));
    set(row, F::DeviceMobile, f32::from(u8::from(traits.mobile)));
    let family = match traits.family {
        UaFamily::Chrome => F::DeviceBrowserChrome,
        UaFamily::Safari => F::DeviceBrowserSafari,
        UaFamily::Firefox => F::DeviceBrowserFirefox,
        UaFamily::Edge => F::DeviceBrowserEdge,
        UaFamily::Other => F::DeviceBrowserOther,
    };
    set(row, family, 1.0);
    set(
        row,
        F::DeviceAutomation,
        f32::from(u8::from(traits.automated)),
    );

    if let Some(Lookup::Found(loc)) = inputs.intel.map(|i| &i.location) {
        if let (Some(dev_tz), Some(ip_tz)) = (dev.timezone.as_deref(), loc.time_zone) {
            let mismatch = match (
                utc_offset_s(dev_tz, req.at_ms),
                utc_offset_s(ip_tz, req.at_ms),
            ) {
                (Some(a), Some(b)) => (a - b).abs() >= 3_600,
                (None, Some(_)) => true, // a zone name no system knows is itself suspicious
                _ => false,
            };
            set(
                row,
                F::DeviceTimezoneMismatch,
                f32::from(u8::from(mismatch)),
            );
        }
        if let Some(country) = loc.country {
            set(
                row,
                F::DeviceLanguageMismatch,
                f32::from(u8::from(language_mismatch(&dev.languages, country))),
            );
        }
    }

    if dev.id.is_none() {
        set(row, F::DeviceAbsent, 1.0);
        if carries {
            findings
                .unavailable
                .set(Source::Device, Absence::ClientOmitted);
        }
        return;
    }
    let (Some(snap), Some(key)) = (inputs.snapshot, inputs.keys.device) else {
        return;
    };
    let now = req.at_ms;
    let accounts = snap.device.users.distinct_between(
        now - inputs.cfg.day_window_ms,
        now,
        inputs.keys.user.short(),
    );
    set(
        row,
        F::DeviceAccounts24hLog,
        (accounts as f32).ln().min(4.2),
    );
    if accounts >= 3 {
        findings.counts.push((
            ReasonCode::DeviceSharedAccounts,
            "accounts_24h",
            f64::from(accounts),
        ));
    }
    let window = inputs.cfg.device_fraud_mark_ms;
    let tenant_mark = super::FeatureConfig::mark_counts(snap.device.fraud_ms, now, window);
    let own_mark = snap
        .profile
        .as_ref()
        .and_then(|p| p.device(&key))
        .is_some_and(|d| super::FeatureConfig::mark_counts(d.fraud_ms, now, window));
    set(
        row,
        F::DeviceFraudLinked,
        f32::from(u8::from(tenant_mark || own_mark)),
    );
    let Some(profile) = snap.profile.as_ref().filter(|p| p.has_history()) else {
        return;
    };
    match profile.device(&key) {
        None => set(row, F::DeviceNewForUser, 1.0),
        // The user's own device, used for confirmed fraud since: known, but no trust until a
        // verified outcome from it clears the mark.
        Some(_) if own_mark => {}
        // On SMS, WhatsApp and social channels the "device" is the phone number or the social
        // account — exactly what a SIM swap or an account takeover steals: a known one is not
        // new, but it earns no trust of its own.
        Some(_) if !carries => {}
        Some(known) => {
            let days = ((now - known.first_verified_ms).max(0) as f32) / 86_400_000.0;
            set(row, F::DeviceAgeDaysLog, days.ln_1p().min(7.0));
            let trusted = now - known.last_verified_ms <= inputs.cfg.trusted_device_window_ms;
            set(row, F::DeviceTrusted, f32::from(u8::from(trusted)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAN_2026: i64 = 1_767_225_600_000;
    const JUL_2026: i64 = 1_782_864_000_000;

    #[test]
    fn offsets_follow_daylight_saving() {
        assert_eq!(utc_offset_s("Europe/Paris", JAN_2026), Some(3_600));
        assert_eq!(utc_offset_s("Europe/Paris", JUL_2026), Some(7_200));
        assert_eq!(utc_offset_s("America/New_York", JAN_2026), Some(-18_000));
        assert_eq!(utc_offset_s("Mars/Olympus", JAN_2026), None);
        // Paris and Berlin differ by name, not by offset.
        assert_eq!(
            utc_offset_s("Europe/Berlin", JAN_2026),
            utc_offset_s("Europe/Paris", JAN_2026)
        );
    }

    #[test]
    fn language_fits_by_region_or_common_language() {
        let langs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(!language_mismatch(&langs(&["fr-FR", "en"]), "FR"));
        assert!(!language_mismatch(&langs(&["en-US"]), "CA"));
        assert!(language_mismatch(&langs(&["ru-RU"]), "FR"));
        assert!(
            !language_mismatch(&langs(&["en-FR"]), "FR"),
            "region subtag fits"
        );
        assert!(
            !language_mismatch(&langs(&["ru"]), "ZZ"),
            "unknown country is not judged"
        );
        assert!(!language_mismatch(&[], "FR"));
    }

    #[test]
    fn user_agent_families() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51";
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
        assert_eq!(ua_family(Some(chrome)), UaFamily::Chrome);
        assert_eq!(ua_family(Some(edge)), UaFamily::Edge);
        assert_eq!(ua_family(Some(safari)), UaFamily::Safari);
        assert_eq!(ua_family(Some(firefox)), UaFamily::Firefox);
        assert_eq!(ua_family(Some("python-requests/2.31")), UaFamily::Other);
        assert_eq!(ua_family(None), UaFamily::Other);
    }

    #[test]
    fn automation_and_mobile_detection() {
        let dev = DeviceInfo {
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0".into()),
            ..Default::default()
        };
        assert!(is_automated(&dev));
        let dev = DeviceInfo {
            webdriver: Some(true),
            ..Default::default()
        };
        assert!(is_automated(&dev));
        let dev = DeviceInfo {
            user_agent: Some(
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148".into(),
            ),
            ..Default::default()
        };
        assert!(!is_automated(&dev));
        assert!(is_mobile(&dev));
    }
}
