//! The synthetic world the generator draws from: the demo cities and their fictional IP ranges
//! (mirroring `data/geo/demo-geo.csv`), anonymising networks, user agents, screens and ids.
//!
//! Pure tables and small samplers; nothing here decides who is genuine or an attacker.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// One demo city: index `i` owns residential `31.{i}.0.0/16` and mobile `37.{i}.0.0/16`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct City {
    /// ISO 3166-1 alpha-2 country code, as in the geo CSV.
    pub country: &'static str,
    /// City name, as in the geo CSV.
    pub name: &'static str,
    /// IANA time zone, as in the geo CSV.
    pub time_zone: &'static str,
    /// Standard-time UTC offset in hours (daylight saving is ignored by the generator).
    pub utc_offset_h: i32,
    /// Browser languages of a typical resident, most preferred first (BCP 47).
    pub languages: &'static [&'static str],
    /// Relative weight of the city as a customer's home (the demo bank is European-heavy).
    pub home_weight: u32,
}

const fn city(
    country: &'static str,
    name: &'static str,
    time_zone: &'static str,
    utc_offset_h: i32,
    languages: &'static [&'static str],
    home_weight: u32,
) -> City {
    City {
        country,
        name,
        time_zone,
        utc_offset_h,
        languages,
        home_weight,
    }
}

/// The 25 demo cities in geo-CSV order (index = second octet of their `31.` and `37.` ranges).
pub const CITIES: [City; 25] = [
    city("FR", "Paris", "Europe/Paris", 1, &["fr-FR", "fr"], 14),
    city("FR", "Lyon", "Europe/Paris", 1, &["fr-FR", "fr"], 6),
    city("FR", "Marseille", "Europe/Paris", 1, &["fr-FR", "fr"], 5),
    city("DE", "Berlin", "Europe/Berlin", 1, &["de-DE", "de"], 9),
    city("DE", "Munich", "Europe/Berlin", 1, &["de-DE", "de"], 5),
    city("DE", "Frankfurt", "Europe/Berlin", 1, &["de-DE", "de"], 4),
    city("GB", "London", "Europe/London", 0, &["en-GB", "en"], 10),
    city("GB", "Manchester", "Europe/London", 0, &["en-GB", "en"], 4),
    city("ES", "Madrid", "Europe/Madrid", 1, &["es-ES", "es"], 5),
    city("IT", "Rome", "Europe/Rome", 1, &["it-IT", "it"], 5),
    city(
        "NL",
        "Amsterdam",
        "Europe/Amsterdam",
        1,
        &["nl-NL", "nl", "en"],
        4,
    ),
    city(
        "US",
        "New York",
        "America/New_York",
        -5,
        &["en-US", "en"],
        5,
    ),
    city("US", "Chicago", "America/Chicago", -6, &["en-US", "en"], 3),
    city(
        "US",
        "Los Angeles",
        "America/Los_Angeles",
        -8,
        &["en-US", "en"],
        3,
    ),
    city("US", "Ashburn", "America/New_York", -5, &["en-US", "en"], 1),
    city(
        "CA",
        "Toronto",
        "America/Toronto",
        -5,
        &["en-CA", "en", "fr-CA"],
        2,
    ),
    city(
        "BR",
        "Sao Paulo",
        "America/Sao_Paulo",
        -3,
        &["pt-BR", "pt"],
        2,
    ),
    city("IN", "Mumbai", "Asia/Kolkata", 5, &["en-IN", "hi-IN"], 2),
    city(
        "SG",
        "Singapore",
        "Asia/Singapore",
        8,
        &["en-SG", "zh-SG"],
        1,
    ),
    city("JP", "Tokyo", "Asia/Tokyo", 9, &["ja-JP", "ja"], 1),
    city("AU", "Sydney", "Australia/Sydney", 10, &["en-AU", "en"], 1),
    city("NG", "Lagos", "Africa/Lagos", 1, &["en-NG", "en"], 1),
    city("RU", "Moscow", "Europe/Moscow", 3, &["ru-RU", "ru"], 1),
    city(
        "RO",
        "Bucharest",
        "Europe/Bucharest",
        2,
        &["ro-RO", "ro"],
        1,
    ),
    city("VN", "Hanoi", "Asia/Bangkok", 7, &["vi-VN", "vi"], 1),
];

/// Hosting ranges `45.k.0.0/16`, k in `0..HOSTING_RANGES`.
pub const HOSTING_RANGES: u8 = 6;
/// Commercial VPN ranges `46.k.0.0/16`, k in `0..VPN_RANGES`.
pub const VPN_RANGES: u8 = 5;
/// Tor exit ranges `47.k.0.0/24`, k in `0..TOR_RANGES`.
pub const TOR_RANGES: u8 = 4;
/// Public proxy ranges `48.k.0.0/24`, k in `0..PROXY_RANGES`.
pub const PROXY_RANGES: u8 = 4;

/// Addresses behind which each city's mobile carrier NATs its subscribers (carrier-grade NAT):
/// `37.i.k.h` with `k` in `0..MOBILE_NAT_BLOCKS` and `h` in 1–[`MOBILE_NAT_HOSTS`]. A phone on
/// mobile data gets a different one of these on almost every session (address hopping), and
/// busy carriers put several customers behind the same address within an hour.
pub const MOBILE_NAT_BLOCKS: u8 = 4;
/// See [`MOBILE_NAT_BLOCKS`].
pub const MOBILE_NAT_HOSTS: u8 = 64;

/// Kinds of network an IP is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    /// Home broadband of city `i`: `31.i.x.y`.
    Residential(usize),
    /// Mobile carrier of city `i`: one of its carrier-grade NAT addresses, `37.i.k.h`
    /// ([`MOBILE_NAT_BLOCKS`]).
    Mobile(usize),
    /// Cloud hosting: `45.k.x.y`.
    Hosting,
    /// Commercial VPN: `46.k.x.y`.
    Vpn,
    /// Tor exit: `47.k.0.x`.
    Tor,
    /// Open proxy: `48.k.0.x`.
    PublicProxy,
    /// Residential proxy network: `49.0.x.y`.
    ResidentialProxy,
}

/// Draws one IPv4 address (as text) from `net`.
pub fn ip_in(net: Net, rng: &mut ChaCha8Rng) -> String {
    let host = |rng: &mut ChaCha8Rng| (rng.gen_range(0..=255u8), rng.gen_range(1..=254u8));
    match net {
        Net::Residential(i) => {
            let (a, b) = host(rng);
            format!("31.{i}.{a}.{b}")
        }
        Net::Mobile(i) => format!(
            "37.{i}.{}.{}",
            rng.gen_range(0..MOBILE_NAT_BLOCKS),
            rng.gen_range(1..=MOBILE_NAT_HOSTS)
        ),
        Net::Hosting => {
            let (a, b) = host(rng);
            format!("45.{}.{a}.{b}", rng.gen_range(0..HOSTING_RANGES))
        }
        Net::Vpn => {
            let (a, b) = host(rng);
            format!("46.{}.{a}.{b}", rng.gen_range(0..VPN_RANGES))
        }
        Net::Tor => format!(
            "47.{}.0.{}",
            rng.gen_range(0..TOR_RANGES),
            rng.gen_range(1..=254u8)
        ),
        Net::PublicProxy => {
            format!(
                "48.{}.0.{}",
                rng.gen_range(0..PROXY_RANGES),
                rng.gen_range(1..=254u8)
            )
        }
        Net::ResidentialProxy => {
            let (a, b) = host(rng);
            format!("49.0.{a}.{b}")
        }
    }
}

/// Picks a home city by [`City::home_weight`].
pub fn pick_home_city(rng: &mut ChaCha8Rng) -> usize {
    let total: u32 = CITIES.iter().map(|c| c.home_weight).sum();
    let mut x = rng.gen_range(0..total);
    for (i, c) in CITIES.iter().enumerate() {
        if x < c.home_weight {
            return i;
        }
        x -= c.home_weight;
    }
    0
}

/// Picks a city other than `not`, in a different country when `other_country`, else in the same
/// country when one exists (falls back to any other city).
pub fn pick_other_city(rng: &mut ChaCha8Rng, not: usize, other_country: bool) -> usize {
    let home_country = CITIES.get(not).map(|c| c.country).unwrap_or("");
    let candidates: Vec<usize> = (0..CITIES.len())
        .filter(|&i| i != not && ((CITIES[i].country != home_country) == other_country))
        .collect();
    if candidates.is_empty() {
        let any: Vec<usize> = (0..CITIES.len()).filter(|&i| i != not).collect();
        return any[rng.gen_range(0..any.len())];
    }
    candidates[rng.gen_range(0..candidates.len())]
}

/// The egress addresses of corporate VPN `company` (each company has two, shared by all its
/// employees): a hosting range (`45.x`) for two companies in three, else a commercial VPN
/// range (`46.x`) used as a managed corporate service. Drawn from `rng`, which the caller
/// seeds per company so that every employee sees the same addresses.
pub fn corporate_egress(rng: &mut ChaCha8Rng) -> [String; 2] {
    let net = if rng.gen_bool(2.0 / 3.0) {
        Net::Hosting
    } else {
        Net::Vpn
    };
    [ip_in(net, rng), ip_in(net, rng)]
}

/// Broad device family, which fixes platform, user agents and screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// A desktop or laptop browser.
    Desktop,
    /// A phone (browser or the bank's app).
    Phone,
}

/// `(platform, user agent)` pairs for genuine desktops.
pub const DESKTOP_AGENTS: [(&str, &str); 4] = [
    (
        "Win32",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    ),
    (
        "Win32",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    ),
    (
        "MacIntel",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    ),
    (
        "Linux x86_64",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    ),
];

/// `(platform, user agent)` pairs for genuine phones.
pub const PHONE_AGENTS: [(&str, &str); 4] = [
    (
        "iOS",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    ),
    (
        "iOS",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    ),
    (
        "Android",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    ),
    (
        "Android",
        "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
    ),
];

/// User agents of automation tools (credential stuffing, bots).
pub const HEADLESS_AGENTS: [&str; 3] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/119.0.6045.105 Safari/537.36",
    "python-requests/2.31.0",
];

/// The Tor Browser user agent (Firefox ESR, uniform across users by design).
pub const TOR_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0";

/// Desktop screens, CSS pixels.
pub const DESKTOP_SCREENS: [&str; 4] = ["1920x1080", "1536x864", "1440x900", "2560x1440"];
/// Phone screens, CSS pixels.
pub const PHONE_SCREENS: [&str; 4] = ["390x844", "393x873", "412x915", "375x667"];

/// Picks one element of a non-empty fixed array.
pub fn pick<T: Copy, const N: usize>(rng: &mut ChaCha8Rng, items: &[T; N]) -> T {
    items[rng.gen_range(0..N)]
}

/// A fresh device id: `d-` and 16 hex digits.
pub fn device_id(rng: &mut ChaCha8Rng) -> String {
    format!("d-{:016x}", rng.r#gen::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table must agree with the geo CSV the demo database is built from.
    #[test]
    fn cities_match_the_demo_geo_csv() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/geo/demo-geo.csv");
        let text = std::fs::read_to_string(path).expect("demo geo csv is in the repo");
        for (i, c) in CITIES.iter().enumerate() {
            for prefix in [format!("31.{i}.0.0/16,"), format!("37.{i}.0.0/16,")] {
                let line = text
                    .lines()
                    .find(|l| l.starts_with(&prefix))
                    .unwrap_or_else(|| panic!("no row {prefix}"));
                let cols: Vec<&str> = line.split(',').collect();
                assert_eq!(cols[1], c.country, "{prefix}");
                assert_eq!(cols[2], c.name, "{prefix}");
                assert_eq!(cols[6], c.time_zone, "{prefix}");
            }
        }
        assert!(text.contains("\n49.0.0.0/16,"));
        assert!(text.contains(&format!("\n45.{}.0.0/16,", HOSTING_RANGES - 1)));
        assert!(text.contains(&format!("\n47.{}.0.0/24,", TOR_RANGES - 1)));
    }

    #[test]
    fn ips_fall_in_their_ranges() {
        use rand::SeedableRng;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert!(ip_in(Net::Residential(7), &mut rng).starts_with("31.7."));
        assert!(ip_in(Net::Mobile(24), &mut rng).starts_with("37.24."));
        for _ in 0..200 {
            let ip = ip_in(Net::Mobile(3), &mut rng);
            let octets: Vec<u8> = ip.split('.').map(|o| o.parse().expect("octet")).collect();
            assert_eq!(octets[..2], [37, 3]);
            assert!(octets[2] < MOBILE_NAT_BLOCKS && (1..=MOBILE_NAT_HOSTS).contains(&octets[3]));
        }
        let egress = corporate_egress(&mut rng);
        assert!(
            egress
                .iter()
                .all(|ip| ip.starts_with("45.") || ip.starts_with("46."))
        );
        assert!(ip_in(Net::Tor, &mut rng).starts_with("47."));
        assert!(ip_in(Net::ResidentialProxy, &mut rng).starts_with("49.0."));
        let other = pick_other_city(&mut rng, 0, true);
        assert_ne!(CITIES[other].country, "FR");
        let same = pick_other_city(&mut rng, 0, false);
        assert_eq!(CITIES[same].country, "FR");
        assert_ne!(same, 0);
    }
}
