//! The world of the RBA-layout generator: countries with their networks (real AS numbers of the
//! region, made-up /16 prefixes), regions and cities, and user agents with the browser, OS and
//! device type the publishers' parser would derive. Plain tables and pure draws from a seeded RNG;
//! no I/O.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// One network: country, AS number, the first two octets of its made-up /16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    /// ISO 3166-1 alpha-2.
    pub country: &'static str,
    /// AS number.
    pub asn: u32,
    /// First two octets of the network's addresses.
    pub prefix: (u8, u8),
}

const fn net(country: &'static str, asn: u32, a: u8, b: u8) -> Network {
    Network {
        country,
        asn,
        prefix: (a, b),
    }
}

/// Home networks of genuine users with their weights: mostly Norway, as the service was
/// Norwegian (Wiefling et al. 2022), with neighbours and expatriates.
pub const HOME: &[(Network, u32)] = &[
    (net("NO", 29_695, 81, 166), 30),
    (net("NO", 2_119, 84, 208), 22),
    (net("NO", 15_659, 80, 202), 12),
    (net("NO", 41_164, 46, 212), 10),
    (net("NO", 29_492, 82, 147), 8),
    (net("SE", 3_301, 78, 70), 4),
    (net("DK", 3_292, 87, 52), 3),
    (net("GB", 2_856, 86, 128), 3),
    (net("DE", 3_320, 91, 56), 3),
    (net("US", 7_922, 73, 34), 2),
    (net("PL", 5_617, 83, 24), 2),
    (net("ES", 3_352, 88, 26), 1),
];

/// Networks genuine users visit when travelling.
pub const TRAVEL: &[Network] = &[
    net("ES", 3_352, 88, 27),
    net("GB", 5_089, 82, 2),
    net("DE", 6_805, 92, 72),
    net("US", 7_018, 99, 96),
    net("TH", 9_737, 110, 164),
    net("FR", 3_215, 90, 84),
];

/// Hosting and residential networks attackers use (credential stuffing, takeovers).
pub const ATTACK: &[Network] = &[
    net("US", 14_061, 159, 203),
    net("US", 16_509, 52, 14),
    net("US", 393_398, 170, 39),
    net("RU", 12_389, 95, 24),
    net("CN", 4_134, 115, 192),
    net("ID", 38_778, 115, 69),
    net("BR", 28_573, 177, 33),
    net("VN", 45_899, 113, 161),
    net("NG", 29_465, 105, 112),
    net("UA", 15_895, 93, 72),
];

/// Regions and cities per country (ASCII, as the dataset writes them).
pub fn places(country: &str) -> &'static [(&'static str, &'static str)] {
    match country {
        "NO" => &[
            ("Oslo County", "Oslo"),
            ("Vestland", "Bergen"),
            ("Rogaland", "Stavanger"),
            ("Rogaland", "Sandnes"),
            ("Trondelag", "Trondheim"),
            ("Viken", "Drammen"),
            ("Troms og Finnmark", "Tromso"),
        ],
        "SE" => &[
            ("Stockholm", "Stockholm"),
            ("Vastra Gotaland", "Gothenburg"),
        ],
        "DK" => &[("Capital Region", "Copenhagen")],
        "GB" => &[("England", "London"), ("Scotland", "Edinburgh")],
        "DE" => &[("Berlin", "Berlin"), ("Bavaria", "Munich")],
        "US" => &[
            ("Virginia", "Ashburn"),
            ("California", "San Jose"),
            ("New York", "New York"),
        ],
        "PL" => &[("Mazovia", "Warsaw")],
        "ES" => &[("Catalonia", "Barcelona"), ("Madrid", "Madrid")],
        "RU" => &[("Moscow", "Moscow")],
        "CN" => &[("Guangdong", "Guangzhou")],
        "ID" => &[("East Java", "Surabaya")],
        "BR" => &[("Sao Paulo", "Sao Paulo")],
        "VN" => &[("Hanoi", "Hanoi")],
        "NG" => &[("Lagos", "Lagos")],
        "UA" => &[("Kyiv City", "Kyiv")],
        "TH" => &[("Bangkok", "Bangkok")],
        "FR" => &[("Ile-de-France", "Paris")],
        _ => &[],
    }
}

/// Where an address is: region and city, `None` for the dataset's `-`.
pub type Place = Option<(&'static str, &'static str)>;

/// A place in `country`: unknown (`-`) for two in five addresses, as in the dataset's head.
pub fn place(country: &str, rng: &mut ChaCha8Rng) -> Place {
    let list = places(country);
    if list.is_empty() || rng.gen_bool(0.4) {
        return None;
    }
    list.get(rng.gen_range(0..list.len())).copied()
}

/// A host address in `n`'s /16 (last octet 1–254).
pub fn address(n: &Network, rng: &mut ChaCha8Rng) -> String {
    let (a, b) = n.prefix;
    format!(
        "{a}.{b}.{}.{}",
        rng.gen_range(0..=255u8),
        rng.gen_range(1..=254u8)
    )
}

/// A private 10.x address, as the publishers used where their synthesis had conflicts.
pub fn placeholder_address(rng: &mut ChaCha8Rng) -> String {
    format!(
        "10.0.{}.{}",
        rng.gen_range(0..=80u8),
        rng.gen_range(1..=254u8)
    )
}

/// A user agent with the browser, OS and device type derived from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// The user-agent string.
    pub ua: String,
    /// Browser name and version.
    pub browser: String,
    /// OS name and version.
    pub os: String,
    /// `mobile`, `desktop`, `tablet` or `bot`.
    pub device_type: &'static str,
}

/// A browser agent: desktop or phone/tablet by `mobile`.
pub fn agent(mobile: bool, rng: &mut ChaCha8Rng) -> Agent {
    let chrome = format!(
        "{}.0.{}.{}",
        rng.gen_range(70..=90u32),
        rng.gen_range(3_500..=4_400u32),
        rng.gen_range(0..=200u32)
    );
    let short = chrome
        .rsplit_once('.')
        .map_or(chrome.as_str(), |(a, _)| a)
        .to_owned();
    let kind = rng.gen_range(0..4u8);
    let safari = "AppleWebKit/537.36 (KHTML, like Gecko)";
    let (ua, browser, os, device_type) = match (mobile, kind) {
        (false, 0) => (
            format!("Mozilla/5.0 (Windows NT 10.0; Win64; x64) {safari} Chrome/{chrome} Safari/537.36"),
            format!("Chrome {short}"),
            "Windows 10".to_owned(),
            "desktop",
        ),
        (false, 1) => (
            format!("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) {safari} Chrome/{chrome} Safari/537.36"),
            format!("Chrome {short}"),
            "Mac OS X 10.14.6".to_owned(),
            "desktop",
        ),
        (false, 2) => {
            let v = rng.gen_range(68..=84u32);
            (
                format!("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"),
                format!("Firefox {v}.0"),
                "Windows 10".to_owned(),
                "desktop",
            )
        }
        (false, _) => (
            format!("Mozilla/5.0 (X11; CrOS x86_64 13020.67.3) {safari} Chrome/{chrome} Safari/537.36"),
            format!("Chrome {short}"),
            "Chrome OS 13020.67.3".to_owned(),
            "desktop",
        ),
        (true, 0 | 1) => {
            let v = rng.gen_range(12..=14u32);
            (
                format!("Mozilla/5.0 (iPhone; CPU iPhone OS {v}_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v}.0 Mobile/15E148 Safari/604.1"),
                format!("Mobile Safari {v}.0"),
                format!("iOS {v}.4"),
                "mobile",
            )
        }
        (true, 2) => {
            let v = rng.gen_range(8..=11u32);
            (
                format!("Mozilla/5.0 (Linux; Android {v}; SM-G973F) {safari} Chrome/{chrome} Mobile Safari/537.36"),
                format!("Chrome Mobile {short}"),
                format!("Android {v}"),
                "mobile",
            )
        }
        (true, _) => (
            "Mozilla/5.0 (iPad; CPU OS 13_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1 Mobile/15E148 Safari/604.1".to_owned(),
            "Mobile Safari 13.1".to_owned(),
            "iOS 13.4".to_owned(),
            "tablet",
        ),
    };
    Agent {
        ua,
        browser,
        os,
        device_type,
    }
}

/// An agent of a credential-stuffing tool: a scripted client for one campaign in four,
/// otherwise an old or odd browser string.
pub fn attack_agent(rng: &mut ChaCha8Rng) -> Agent {
    if rng.gen_bool(0.25) {
        let v = rng.gen_range(20..=26u32);
        return Agent {
            ua: format!("python-requests/2.{v}.0"),
            browser: format!("Python Requests 2.{v}"),
            os: "Other".to_owned(),
            device_type: "bot",
        };
    }
    let mut a = agent(rng.gen_bool(0.3), rng);
    if rng.gen_bool(0.5) {
        a.ua = "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/49.0.2623.112 Safari/537.36".to_owned();
        a.browser = "Chrome 49.0.2623".to_owned();
        a.os = "Windows 7".to_owned();
        a.device_type = "desktop";
    }
    a
}
