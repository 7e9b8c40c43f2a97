//! The customers of the holdout world's mobile-first bank: where they live, their phones,
//! tablets and computers, their hour habits, trips, phone replacements, SIM changes and typing.
//! Also the devices attackers bring. Draws profiles only; sessions live in `customers`.

use rand::Rng;

use super::params as p;
use super::places::{self, CITIES, city_at, pick};
use super::typing::{Typist, log_normal, mix};
use super::{DAY_MS, World};
use crate::domain::Channel;

/// What kind of device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// A phone (touch typing, app and browser).
    Phone,
    /// A tablet (touch typing, app and browser).
    Tablet,
    /// A desktop or laptop (physical keyboard, browser only).
    Desktop,
}

/// One device: the ids and user agents it shows on each surface.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// Phone, tablet or computer.
    pub kind: DeviceKind,
    /// The bank app's install id (phones and tablets).
    pub app_id: String,
    /// The browser's cookie id (the web chat's device id), before any clearing.
    pub cookie_id: String,
    /// The bank app's user agent.
    pub app_ua: &'static str,
    /// The browser's user agent.
    pub browser_ua: &'static str,
    /// `navigator.platform` or the app's OS name.
    pub platform: &'static str,
    /// Screen, CSS pixels.
    pub screen: &'static str,
}

const IOS_APP: &str = "HarbourBank/6.4.0 (iPhone; iOS 17.5; Scale/3.00)";
const ANDROID_APP: &str = "HarbourBank/6.4.0 (Linux; Android 14; SM-A546B)";
const IPAD_APP: &str = "HarbourBank/6.4.0 (iPad; iPadOS 17.5; Scale/2.00)";
const IOS_SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const ANDROID_CHROME: &str = "Mozilla/5.0 (Linux; Android 14; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";
const IPAD_SAFARI: &str = "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
/// Desktop browsers: (user agent, platform, share).
const DESKTOPS: [(&str, &str, f64); 5] = [
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
        "Win32",
        0.42,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
        "Win32",
        0.14,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
        "MacIntel",
        0.26,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
        "Win32",
        0.12,
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
        "Linux x86_64",
        0.06,
    ),
];
/// Share of phones that are iPhones (the rest run Android).
pub const IPHONE_SHARE: f64 = 0.45;

impl Device {
    /// A new device of `kind` with fresh random ids.
    pub fn draw(kind: DeviceKind, rng: &mut impl Rng) -> Device {
        let app_id = format!("inst-{:016x}", rng.r#gen::<u64>());
        let cookie_id = format!("ck-{:016x}", rng.r#gen::<u64>());
        let (app_ua, browser_ua, platform, screen) = match kind {
            DeviceKind::Phone if rng.r#gen::<f64>() < IPHONE_SHARE => {
                (IOS_APP, IOS_SAFARI, "iOS", "390x844")
            }
            DeviceKind::Phone => (ANDROID_APP, ANDROID_CHROME, "Android", "412x915"),
            DeviceKind::Tablet => (IPAD_APP, IPAD_SAFARI, "iOS", "820x1180"),
            DeviceKind::Desktop => {
                let weights: Vec<f64> = DESKTOPS.iter().map(|d| d.2).collect();
                let (ua, platform, _) = DESKTOPS[pick(&weights, rng)];
                let screen = if rng.r#gen::<bool>() {
                    "1920x1080"
                } else {
                    "1440x900"
                };
                ("", ua, platform, screen)
            }
        };
        Device {
            kind,
            app_id,
            cookie_id,
            app_ua,
            browser_ua,
            platform,
            screen,
        }
    }

    /// True for touch devices (their typing profile is the mobile one).
    pub fn touch(&self) -> bool {
        self.kind != DeviceKind::Desktop
    }
}

/// A trip away from home.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trip {
    /// Departure, ms.
    pub from_ms: i64,
    /// Return, ms.
    pub to_ms: i64,
    /// Destination (geo table row).
    pub city: usize,
    /// True when the phone keeps the home time zone abroad.
    pub keeps_home_tz: bool,
}

/// One genuine customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    /// Position in the population (also its RNG stream).
    pub index: usize,
    /// The opaque user id.
    pub user_id: String,
    /// Home city (geo table row).
    pub home: usize,
    /// The household's broadband line (fixes its address).
    pub line: u32,
    /// Device languages.
    pub languages: &'static [&'static str],
    /// Peak local hour of activity, and the spread around it, hours.
    pub hours: (f64, f64),
    /// Mean sessions per day.
    pub rate: f64,
    /// Favourite chat channel.
    pub favourite: Channel,
    /// The phone in use at the start.
    pub phone: Device,
    /// A replacement phone and when it arrives, ms.
    pub new_phone: Option<(i64, Device)>,
    /// The tablet shared with another customer of the household.
    pub shared_tablet: Option<Device>,
    /// A desktop or laptop.
    pub desktop: Option<Device>,
    /// The employer's VPN exit network, for customers who chat from the office.
    pub corporate_vpn: Option<u8>,
    /// A trip, if any.
    pub trip: Option<Trip>,
    /// When the customer joined, ms (before the log for established customers).
    pub joined_ms: i64,
    /// When the SIM last changed before the log, and when a new SIM came, ms.
    pub sim_changes: (i64, Option<i64>),
    /// Touch typing habit.
    pub thumbs: Typist,
    /// Keyboard typing habit.
    pub keyboard: Typist,
}

impl Customer {
    /// The phone in use at `at_ms`.
    pub fn phone_at(&self, at_ms: i64) -> &Device {
        match &self.new_phone {
            Some((from, d)) if at_ms >= *from => d,
            _ => &self.phone,
        }
    }

    /// The latest SIM change at or before `at_ms`, ms.
    pub fn sim_changed_at(&self, at_ms: i64) -> i64 {
        match self.sim_changes.1 {
            Some(t) if t <= at_ms => t,
            _ => self.sim_changes.0,
        }
    }

    /// The trip under way at `at_ms`, if any.
    pub fn trip_at(&self, at_ms: i64) -> Option<&Trip> {
        self.trip
            .as_ref()
            .filter(|t| (t.from_ms..t.to_ms).contains(&at_ms))
    }
}

/// The opaque user id of customer `n` in namespace `space` (0: customers, 1: mule accounts,
/// 2: ids that are not customers). Bijective in `(space, n)` for `n < 2^40`.
pub fn user_id(world: &World, space: u64, n: u64) -> String {
    format!("hc-{:016x}", mix((space << 40 | n) ^ world.salt))
}

/// What a household of two consecutive customers shares: drawn from the household's stream so
/// both members agree.
struct Household {
    shared: bool,
    home: usize,
    line: u32,
    tablet: Device,
}

fn household(world: &World, pair: usize) -> Household {
    let mut rng = world.rng(super::HOUSEHOLD_STREAM + pair as u64);
    let shared = rng.r#gen::<f64>() < p::SHARED_TABLET_SHARE;
    Household {
        shared,
        home: home_city(&mut rng),
        line: rng.r#gen(),
        tablet: Device::draw(DeviceKind::Tablet, &mut rng),
    }
}

fn home_city(rng: &mut impl Rng) -> usize {
    let weights: Vec<f64> = p::HOME_CITY_SHARES.iter().map(|c| c.1).collect();
    p::HOME_CITY_SHARES[pick(&weights, rng)].0
}

/// Probability that an event of `rate_per_day` happens at least once in `days`.
fn within(rate_per_day: f64, days: u32) -> f64 {
    1.0 - (-rate_per_day * f64::from(days)).exp()
}

/// Customer `index`, from its own stream.
pub fn customer(world: &World, index: usize) -> Customer {
    let hh = household(world, index / 2);
    let mut rng = world.rng(index as u64);
    let (home, line, shared_tablet) = if hh.shared {
        (hh.home, hh.line, Some(hh.tablet))
    } else {
        (home_city(&mut rng), rng.r#gen(), None)
    };
    let languages = if rng.r#gen::<f64>() < p::EXPAT_SHARE {
        places::EXPAT_LANGUAGES[rng.gen_range(0..places::EXPAT_LANGUAGES.len())]
    } else {
        city_at(home).languages
    };
    let kinds: Vec<f64> = p::CHRONOTYPES.iter().map(|c| c.0).collect();
    let (_, peak, spread) = p::CHRONOTYPES[pick(&kinds, &mut rng)];
    let rate = log_normal(p::SESSIONS_PER_DAY, p::SESSION_RATE_LOG_SD, &mut rng)
        * (-(p::SESSION_RATE_LOG_SD.powi(2)) / 2.0).exp();
    let favourite = CHANNELS_BY_SHARE[pick(&p::FAVOURITE_CHANNEL, &mut rng)];
    let (start, end) = (world.start_ms, world.end_ms);
    let span = (end - start).max(1);
    let phone = Device::draw(DeviceKind::Phone, &mut rng);
    let new_phone =
        (rng.r#gen::<f64>() < within(p::NEW_PHONE_RATE_PER_DAY, world.days)).then(|| {
            (
                start + rng.gen_range(0..span),
                Device::draw(DeviceKind::Phone, &mut rng),
            )
        });
    let desktop = (rng.r#gen::<f64>() < p::DESKTOP_SHARE)
        .then(|| Device::draw(DeviceKind::Desktop, &mut rng));
    let corporate_vpn = (desktop.is_some() && rng.r#gen::<f64>() < p::CORPORATE_VPN_SHARE)
        .then(|| rng.gen_range(0..5u8));
    let trip = (rng.r#gen::<f64>() < within(p::TRIP_RATE_PER_DAY, world.days)).then(|| {
        let from_ms = start + rng.gen_range(0..span);
        Trip {
            from_ms,
            to_ms: from_ms + rng.gen_range(p::TRIP_DAYS.0..=p::TRIP_DAYS.1) * DAY_MS,
            city: places::trip_destination(home, p::LONG_HAUL_TRIP_SHARE, &mut rng),
            keeps_home_tz: rng.r#gen::<f64>() < p::TRAVEL_KEEPS_HOME_TZ,
        }
    });
    let joined_ms = if rng.r#gen::<f64>() < p::NEW_CUSTOMER_SHARE {
        start + rng.gen_range(0..span)
    } else {
        start - DAY_MS * rng.gen_range(30..2_000)
    };
    let old_sim = joined_ms.min(start) - DAY_MS * rng.gen_range(1..p::OLD_SIM_MAX_DAYS);
    let new_sim = new_phone
        .as_ref()
        .filter(|_| rng.r#gen::<f64>() < p::NEW_PHONE_NEW_SIM)
        .map(|(at, _)| at - rng.gen_range(0..DAY_MS));
    Customer {
        index,
        user_id: user_id(world, 0, index as u64),
        home,
        line,
        languages,
        hours: (peak, spread),
        rate,
        favourite,
        phone,
        new_phone,
        shared_tablet,
        desktop,
        corporate_vpn,
        trip,
        joined_ms,
        sim_changes: (old_sim, new_sim),
        thumbs: Typist::draw(true, &mut rng),
        keyboard: Typist::draw(false, &mut rng),
    }
}

/// Channels in the order of [`p::FAVOURITE_CHANNEL`].
pub const CHANNELS_BY_SHARE: [Channel; 5] = [
    Channel::InApp,
    Channel::Whatsapp,
    Channel::WebWidget,
    Channel::Sms,
    Channel::Social,
];

/// A city index drawn from every row of the geo table (for mobile proxies and the like).
pub fn any_city(rng: &mut impl Rng) -> usize {
    rng.gen_range(0..CITIES.len())
}
