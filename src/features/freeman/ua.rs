//! Browser major version and operating system (family and version) from a user agent, for the
//! Freeman attributes; the browser family comes from [`crate::features::device::UaFamily`].
//! One Aho-Corasick pass over the user agent finds every token; no allocation. Reads only what
//! browsers put in the string (which any client can forge: these attributes may add risk when
//! they surprise, never trust).

use crate::features::device::UaFamily;

/// Operating-system family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum OsFamily {
    /// Not recognised, or no user agent.
    Other = 0,
    /// Windows (`Windows NT x.y`).
    Windows = 1,
    /// macOS (`Mac OS X 10_15_7`).
    MacOs = 2,
    /// iOS and iPadOS (`iPhone OS 17_4`, `CPU OS 17_4`).
    Ios = 3,
    /// Android (`Android 14`).
    Android = 4,
    /// ChromeOS (`CrOS`).
    ChromeOs = 5,
    /// Other Linux.
    Linux = 6,
}

/// What a user agent says beyond the browser family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UaVersions {
    /// Browser major version (0 when not given).
    pub browser_major: u16,
    /// Operating-system family.
    pub os: OsFamily,
    /// OS version: major for iOS and Android, `100 × major + minor` for Windows and macOS, 0
    /// when not given.
    pub os_version: u16,
}

/// The tokens looked for; their index is their id below.
const TOKENS: [&str; 17] = [
    "Edg/",
    "Edge/",
    "EdgA/",
    "EdgiOS/",
    "Firefox/",
    "FxiOS/",
    "Chrome/",
    "CriOS/",
    "Chromium/",
    "Version/",
    "Windows NT ",
    "iPhone OS ",
    "CPU OS ",
    "Android ",
    "Mac OS X ",
    "CrOS",
    "Linux",
];
const EDGE: &[usize] = &[0, 1, 2, 3];
const FIREFOX: &[usize] = &[4, 5];
const CHROME: &[usize] = &[6, 7, 8];
const SAFARI: &[usize] = &[9];
const WINDOWS: usize = 10;
const IOS: [usize; 2] = [11, 12];
const ANDROID: usize = 13;
const MAC: usize = 14;
const CROS: usize = 15;
const LINUX: usize = 16;

/// End of the first occurrence of each token in `ua`.
fn token_ends(ua: &str) -> [Option<usize>; TOKENS.len()] {
    static MATCHER: std::sync::LazyLock<aho_corasick::AhoCorasick> =
        std::sync::LazyLock::new(|| {
            aho_corasick::AhoCorasick::new(TOKENS)
                .expect("a fixed list of short literal tokens always builds")
        });
    let mut ends = [None; TOKENS.len()];
    for m in MATCHER.find_overlapping_iter(ua) {
        if let Some(slot) = ends.get_mut(m.pattern().as_usize()) {
            slot.get_or_insert(m.end());
        }
    }
    ends
}

/// The number starting at byte `at` of `s` (at most 5 digits, saturating at `u16::MAX`), and
/// the byte after it.
fn number_at(s: &str, at: usize) -> Option<(u16, usize)> {
    let digits = s.get(at..)?.bytes().take(5).take_while(u8::is_ascii_digit);
    let (mut n, mut len) = (0u32, 0usize);
    for d in digits {
        n = n * 10 + u32::from(d - b'0');
        len += 1;
    }
    (len > 0).then(|| (u16::try_from(n).unwrap_or(u16::MAX), at + len))
}

/// `major` alone, or `100 × major + minor` when `with_minor` and a minor follows after one of
/// `.` or `_`.
fn version_at(s: &str, at: usize, with_minor: bool) -> u16 {
    let Some((major, next)) = number_at(s, at) else {
        return 0;
    };
    if !with_minor {
        return major;
    }
    let minor = match s.as_bytes().get(next) {
        Some(b'.' | b'_') => number_at(s, next + 1).map_or(0, |(m, _)| m.min(99)),
        _ => 0,
    };
    major.saturating_mul(100).saturating_add(minor)
}

/// Browser major version and OS of a user agent whose browser family is `family`.
pub fn versions(ua: &str, family: UaFamily) -> UaVersions {
    let ends = token_ends(ua);
    let first = |ids: &[usize]| ids.iter().find_map(|&i| ends.get(i).copied().flatten());
    let browser = match family {
        UaFamily::Edge => first(EDGE),
        UaFamily::Firefox => first(FIREFOX),
        UaFamily::Chrome => first(CHROME),
        UaFamily::Safari => first(SAFARI),
        UaFamily::Other => None,
    };
    let browser_major = browser.map_or(0, |at| version_at(ua, at, false));
    let (os, os_version) = if let Some(at) = ends[WINDOWS] {
        (OsFamily::Windows, version_at(ua, at, true))
    } else if let Some(at) = first(&IOS) {
        (OsFamily::Ios, version_at(ua, at, false))
    } else if let Some(at) = ends[ANDROID] {
        (OsFamily::Android, version_at(ua, at, false))
    } else if let Some(at) = ends[MAC] {
        (OsFamily::MacOs, version_at(ua, at, true))
    } else if ends[CROS].is_some() {
        (OsFamily::ChromeOs, 0)
    } else if ends[LINUX].is_some() {
        (OsFamily::Linux, 0)
    } else {
        (OsFamily::Other, 0)
    };
    UaVersions {
        browser_major,
        os,
        os_version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::device::ua_family;

    fn read(ua: &str) -> (UaFamily, UaVersions) {
        let family = ua_family(Some(ua));
        (family, versions(ua, family))
    }

    #[test]
    fn browsers_and_systems_with_their_versions() {
        let v = |b, os, osv| UaVersions {
            browser_major: b,
            os,
            os_version: osv,
        };
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                UaFamily::Chrome,
                v(131, OsFamily::Windows, 1000),
            ),
            (
                "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
                UaFamily::Edge,
                v(124, OsFamily::Windows, 601),
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
                UaFamily::Safari,
                v(18, OsFamily::MacOs, 1015),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
                UaFamily::Safari,
                v(17, OsFamily::Ios, 17),
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                UaFamily::Chrome,
                v(131, OsFamily::Android, 14),
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
                UaFamily::Firefox,
                v(125, OsFamily::Linux, 0),
            ),
            // The RBA dataset's quirks (Wiefling et al.): a double space, an iPad's "CPU OS".
            (
                "Mozilla/5.0  (iPhone; CPU iPhone OS 13_4 like Mac OS X) Gecko/20150101 Firefox/20.0.0.1618 (Chrome variation/248113",
                UaFamily::Firefox,
                v(20, OsFamily::Ios, 13),
            ),
            (
                "Mozilla/5.0  (iPad; CPU OS 7_1 like Mac OS X) AppleWebKit/533.1 (KHTML, like Gecko Version/4.0 Mobile Safari/533.1 variation/277457",
                UaFamily::Safari,
                v(4, OsFamily::Ios, 7),
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
                UaFamily::Chrome,
                v(120, OsFamily::ChromeOs, 0),
            ),
            (
                "python-requests/2.31",
                UaFamily::Other,
                v(0, OsFamily::Other, 0),
            ),
            ("Chrome/", UaFamily::Chrome, v(0, OsFamily::Other, 0)),
            (
                "Chrome/99999999 Windows NT 10.999",
                UaFamily::Chrome,
                v(u16::MAX, OsFamily::Windows, 1099),
            ),
        ];
        for (ua, family, want) in cases {
            assert_eq!(read(ua), (family, want), "{ua}");
        }
    }
}
