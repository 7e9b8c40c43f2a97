//! The genuine customers: each [`Person`]'s home, devices, habits, typing rhythm and special
//! traits (traveller, new phone, shared household device, privacy VPN).
//!
//! Person `i` is drawn only from RNG stream `i`, so people can be built in parallel; households
//! are then paired sequentially from the population stream.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::typing::Rhythm;
use super::world::{self, CITIES, DeviceKind};
use super::{DAY_MS, GenConfig, POPULATION_STREAM, stream};
use crate::domain::DeviceInfo;

/// Probability that a customer also uses a desktop browser (everyone has a phone).
pub const DESKTOP_RATE: f64 = 0.6;
/// Range of the per-customer probability of being active on a given day.
pub const ACTIVE_DAY_RATE: (f64, f64) = (0.15, 0.55);
/// Range of the per-customer Poisson rate of extra events on an active day (beyond the first).
pub const EXTRA_EVENTS_RATE: (f64, f64) = (0.0, 0.5);
/// Range of the personal peak hour, local time.
pub const PEAK_HOUR: (f64, f64) = (7.0, 22.0);
/// Range of the personal spread (standard deviation) around the peak, hours.
pub const HOUR_SPREAD_H: (f64, f64) = (1.0, 3.5);
/// Share of customers who take one trip.
pub const TRAVELLER_RATE: f64 = 0.05;
/// Share of customers who replace their phone partway through the log.
pub const NEW_PHONE_RATE: f64 = 0.05;
/// Share of customers who use a commercial VPN some of the time.
pub const PRIVACY_VPN_RATE: f64 = 0.04;
/// Range of the share of a privacy-minded customer's web and app events sent through the VPN.
pub const VPN_USE_SHARE: (f64, f64) = (0.3, 0.7);
/// Probability that customers `2k` and `2k + 1` form a household sharing one desktop.
pub const HOUSEHOLD_PAIR_RATE: f64 = 0.06;

/// One of a person's devices.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// Desktop or phone.
    pub kind: DeviceKind,
    /// What the device reports (stable id, user agent, platform, home time zone, languages).
    pub info: DeviceInfo,
}

/// One trip: leaves at `depart_ms`, flies for `flight_ms`, returns at `return_ms` (same flight).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trip {
    /// Destination city index.
    pub city: usize,
    /// Departure, ms.
    pub depart_ms: i64,
    /// Return departure, ms.
    pub return_ms: i64,
    /// Door-to-door travel time each way, ms (no events meanwhile).
    pub flight_ms: i64,
}

/// A genuine customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    /// Index in the population.
    pub index: usize,
    /// Opaque user id (`u000042`).
    pub user_id: String,
    /// Home city index in [`CITIES`].
    pub home: usize,
    /// Home broadband IPs (the router's address changes now and then).
    pub home_ips: [String; 2],
    /// Own phone (always) and desktop (sometimes).
    pub phone: Device,
    /// Desktop browser, if any (shared with the household partner when `shared_desktop`).
    pub desktop: Option<Device>,
    /// True when the desktop is shared with another customer.
    pub shared_desktop: bool,
    /// Typing habits.
    pub rhythm: Rhythm,
    /// Peak activity hour, local time.
    pub peak_hour: f64,
    /// Spread around the peak, hours.
    pub spread_h: f64,
    /// Probability of being active on a day.
    pub active_rate: f64,
    /// Poisson rate of extra events on an active day.
    pub extra_rate: f64,
    /// The one trip, for travellers.
    pub trip: Option<Trip>,
    /// When the phone was replaced, and the new phone.
    pub new_phone: Option<(i64, Device)>,
    /// Share of web/app events sent through a commercial VPN (0 for most).
    pub vpn_share: f64,
}

/// Builds a device of `kind` for someone living in `city`.
pub fn new_device(rng: &mut ChaCha8Rng, kind: DeviceKind, city: usize) -> Device {
    let c = &CITIES[city.min(CITIES.len() - 1)];
    let (platform, ua) = match kind {
        DeviceKind::Desktop => world::pick(rng, &world::DESKTOP_AGENTS),
        DeviceKind::Phone => world::pick(rng, &world::PHONE_AGENTS),
    };
    let screen = match kind {
        DeviceKind::Desktop => world::pick(rng, &world::DESKTOP_SCREENS),
        DeviceKind::Phone => world::pick(rng, &world::PHONE_SCREENS),
    };
    let mut languages: Vec<String> = c.languages.iter().map(|l| l.to_string()).collect();
    if rng.gen_bool(0.2) && !languages.iter().any(|l| l.starts_with("en")) {
        languages.push("en".to_string());
    }
    Device {
        kind,
        info: DeviceInfo {
            id: Some(world::device_id(rng)),
            user_agent: Some(ua.to_string()),
            platform: Some(platform.to_string()),
            timezone: Some(c.time_zone.to_string()),
            languages,
            screen: Some(screen.to_string()),
            webdriver: None,
        },
    }
}

fn person(cfg: &GenConfig, index: usize) -> Person {
    let rng = &mut stream(cfg.seed, index as u64);
    let home = world::pick_home_city(rng);
    let home_ips = [
        world::ip_in(world::Net::Residential(home), rng),
        world::ip_in(world::Net::Residential(home), rng),
    ];
    let phone = new_device(rng, DeviceKind::Phone, home);
    let desktop = rng
        .gen_bool(DESKTOP_RATE)
        .then(|| new_device(rng, DeviceKind::Desktop, home));
    let span = i64::from(cfg.days) * DAY_MS;
    let trip = rng.gen_bool(TRAVELLER_RATE).then(|| {
        let abroad = rng.gen_bool(0.7);
        let city = world::pick_other_city(rng, home, abroad);
        let flight_h = if abroad {
            rng.gen_range(3..=14)
        } else {
            rng.gen_range(2..=5)
        };
        let depart_ms = cfg.start() + (span as f64 * rng.gen_range(0.1..0.6)) as i64;
        let stay_ms = rng.gen_range(2..=10) * DAY_MS;
        Trip {
            city,
            depart_ms,
            return_ms: depart_ms + stay_ms,
            flight_ms: flight_h * super::HOUR_MS,
        }
    });
    let new_phone = rng.gen_bool(NEW_PHONE_RATE).then(|| {
        let at = cfg.start() + (span as f64 * rng.gen_range(0.2..0.8)) as i64;
        (at, new_device(rng, DeviceKind::Phone, home))
    });
    let vpn_share = if rng.gen_bool(PRIVACY_VPN_RATE) {
        rng.gen_range(VPN_USE_SHARE.0..VPN_USE_SHARE.1)
    } else {
        0.0
    };
    Person {
        index,
        user_id: format!("u{index:06}"),
        home,
        home_ips,
        phone,
        desktop,
        shared_desktop: false,
        rhythm: Rhythm::sample(rng),
        peak_hour: rng.gen_range(PEAK_HOUR.0..PEAK_HOUR.1),
        spread_h: rng.gen_range(HOUR_SPREAD_H.0..HOUR_SPREAD_H.1),
        active_rate: rng.gen_range(ACTIVE_DAY_RATE.0..ACTIVE_DAY_RATE.1),
        extra_rate: rng.gen_range(EXTRA_EVENTS_RATE.0..EXTRA_EVENTS_RATE.1),
        trip,
        new_phone,
        vpn_share,
    }
}

/// Builds the population: people in parallel, then households (the second member moves into the
/// first one's home and shares its desktop).
pub fn build(cfg: &GenConfig) -> Vec<Person> {
    let mut people: Vec<Person> = (0..cfg.users)
        .into_par_iter()
        .map(|i| person(cfg, i))
        .collect();
    let rng = &mut stream(cfg.seed, POPULATION_STREAM);
    let mut i = 0;
    while i + 1 < people.len() {
        if rng.gen_bool(HOUSEHOLD_PAIR_RATE) {
            let home = people[i].home;
            let desktop = match people[i].desktop.clone() {
                Some(d) => d,
                None => new_device(rng, DeviceKind::Desktop, home),
            };
            let home_ips = people[i].home_ips.clone();
            people[i].desktop = Some(desktop.clone());
            people[i].shared_desktop = true;
            let b = &mut people[i + 1];
            b.home = home;
            b.home_ips = home_ips;
            b.phone = new_device(rng, DeviceKind::Phone, home);
            b.desktop = Some(desktop);
            b.shared_desktop = true;
            b.trip = None;
            b.new_phone = None;
        }
        i += 2;
    }
    people
}
