//! The genuine customers: each [`Person`]'s home, devices, habits, typing rhythm and special
//! traits (late joiner, traveller, business traveller, new phone and SIM, cleared cookies,
//! shared household device, privacy VPN, corporate VPN, autofill, forgetful, night owl).
//!
//! Person `i` is drawn only from RNG stream `i`, so people can be built in parallel; households
//! are then paired sequentially from the population stream.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::typing::Rhythm;
use super::world::{self, CITIES, DeviceKind};
use super::{CORPORATE_STREAM, DAY_MS, GenConfig, HOUR_MS, POPULATION_STREAM, stream};
use crate::domain::DeviceInfo;

/// Probability that a customer also uses a desktop browser (everyone has a phone).
pub const DESKTOP_RATE: f64 = 0.6;
/// Range of the per-customer probability of being active on a given day.
pub const ACTIVE_DAY_RATE: (f64, f64) = (0.15, 0.55);
/// Range of the per-customer Poisson rate of extra events on an active day (beyond the first).
pub const EXTRA_EVENTS_RATE: (f64, f64) = (0.0, 0.5);
/// Range of the personal peak hour, local time.
pub const PEAK_HOUR: (f64, f64) = (7.0, 22.0);
/// Share of customers who keep odd hours (night shifts, insomnia): their peak hour is anywhere
/// in the day, 00–24 local time.
pub const NIGHT_OWL_RATE: f64 = 0.06;
/// Range of the personal spread (standard deviation) around the peak, hours.
pub const HOUR_SPREAD_H: (f64, f64) = (1.0, 3.5);
/// Share of customers who join partway through the log (new customers: no history at first).
pub const LATE_JOINER_RATE: f64 = 0.12;
/// Share of customers who take one leisure trip.
pub const TRAVELLER_RATE: f64 = 0.10;
/// Share of customers who travel on business: [`BUSINESS_TRIPS`] short trips with the laptop.
pub const BUSINESS_TRAVELLER_RATE: f64 = 0.04;
/// Number of trips of a business traveller.
pub const BUSINESS_TRIPS: (u32, u32) = (2, 5);
/// Share of trips that go abroad (the rest stay in the home country when it has another city).
pub const ABROAD_RATE: f64 = 0.7;
/// Share of customers who replace their phone partway through the log.
pub const NEW_PHONE_RATE: f64 = 0.10;
/// Share of customers who commute to another city of their country on weekdays (their phone's
/// mobile addresses there belong to that city's carrier range).
pub const COMMUTER_RATE: f64 = 0.1;
/// Share of phone replacements that also change the SIM (a new number card or an eSIM transfer,
/// which carriers report as a SIM change).
pub const NEW_SIM_RATE: f64 = 0.5;
/// How long before the log a customer's SIM was last changed, days (when not in the log).
pub const SIM_AGE_DAYS: (i64, i64) = (30, 2_000);
/// Share of desktop users whose browser forgets its device id now and then (cleared cookies,
/// private windows, a reinstalled browser).
pub const COOKIE_CHURN_RATE: f64 = 0.3;
/// Range of the share of such a customer's desktop events that carry a fresh device id.
pub const COOKIE_CHURN_SHARE: (f64, f64) = (0.05, 0.4);
/// Share of customers who use a commercial VPN some of the time.
pub const PRIVACY_VPN_RATE: f64 = 0.04;
/// Range of the share of a privacy-minded customer's web and app events sent through the VPN.
pub const VPN_USE_SHARE: (f64, f64) = (0.3, 0.7);
/// Share of customers whose employer routes every web and app event through a corporate VPN.
pub const CORPORATE_VPN_RATE: f64 = 0.05;
/// Number of employers with a corporate VPN (employees of one share its two egress addresses).
pub const CORPORATE_COMPANIES: u64 = 40;
/// Share of customers who let a password manager or autofill fill the chat's forms: their web
/// and app events carry key events only [`AUTOFILL_TYPING_RATE`] of the time.
pub const AUTOFILL_RATE: f64 = 0.2;
/// Probability that an autofill user's web or app event still carries key events.
pub const AUTOFILL_TYPING_RATE: f64 = 0.3;
/// Share of customers who often mistype or forget their password.
pub const FORGETFUL_RATE: f64 = 0.1;
/// Probability that customers `2k` and `2k + 1` form a household sharing one desktop.
pub const HOUSEHOLD_PAIR_RATE: f64 = 0.08;

/// One of a person's devices.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// Desktop or phone.
    pub kind: DeviceKind,
    /// What the device reports (stable id, user agent, platform, home time zone, languages).
    pub info: DeviceInfo,
}

/// One trip: leaves at `depart_ms`, travels for `flight_ms`, returns at `return_ms` (same
/// journey time).
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
    /// True for a business trip: the laptop comes along.
    pub with_laptop: bool,
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
    /// Typing habits on a keyboard (on the phone: [`Rhythm::on_touch`]).
    pub rhythm: Rhythm,
    /// Peak activity hour, local time.
    pub peak_hour: f64,
    /// Spread around the peak, hours.
    pub spread_h: f64,
    /// Probability of being active on a day.
    pub active_rate: f64,
    /// Poisson rate of extra events on an active day.
    pub extra_rate: f64,
    /// First moment the customer can be active, ms (the log's start unless they joined late).
    pub joined_ms: i64,
    /// Trips, in time order and not overlapping (none for most).
    pub trips: Vec<Trip>,
    /// The city a commuter works in on weekdays (another city of the home country).
    pub work_city: Option<usize>,
    /// When the phone was replaced, and the new phone.
    pub new_phone: Option<(i64, Device)>,
    /// When the SIM of the customer's number last changed before the log, ms.
    pub sim_changed_ms: i64,
    /// When the SIM changed during the log (with the new phone), ms.
    pub new_sim_ms: Option<i64>,
    /// Share of desktop events that carry a fresh device id (cleared cookies), 0 for most.
    pub cookie_churn: f64,
    /// Share of web/app events sent through a commercial VPN (0 for most).
    pub vpn_share: f64,
    /// The employer's corporate VPN egress addresses, when every web/app event goes through it.
    pub corporate_egress: Option<[String; 2]>,
    /// Probability that a web or app event carries key events (lower for autofill users).
    pub typing_rate: f64,
    /// Weights of 0, 1 and 2 failed attempts before an event (per mille).
    pub failure_weights: [u32; 3],
}

impl Person {
    /// When the SIM of the customer's number last changed as of `ts_ms`, ms.
    pub fn sim_changed_at(&self, ts_ms: i64) -> i64 {
        match self.new_sim_ms {
            Some(at) if ts_ms >= at => at,
            _ => self.sim_changed_ms,
        }
    }
}

/// Failed-attempt weights (0, 1, 2 failures, per mille) of most customers.
pub const FAILED_ATTEMPT_WEIGHTS: [u32; 3] = [930, 55, 15];
/// Failed-attempt weights of forgetful customers ([`FORGETFUL_RATE`]).
pub const FORGETFUL_ATTEMPT_WEIGHTS: [u32; 3] = [700, 200, 100];
/// Probability that a web-widget event carries key events (non-autofill customers).
pub const WEB_TYPING_RATE: f64 = 0.9;

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

fn trip(rng: &mut ChaCha8Rng, home: usize, depart_ms: i64, business: bool) -> Trip {
    let abroad = rng.gen_bool(ABROAD_RATE);
    let city = world::pick_other_city(rng, home, abroad);
    let flight_h = if abroad {
        rng.gen_range(3..=14)
    } else {
        rng.gen_range(2..=5)
    };
    let stay_ms = if business {
        rng.gen_range(1..=3) * DAY_MS
    } else {
        rng.gen_range(2..=10) * DAY_MS
    };
    Trip {
        city,
        depart_ms,
        return_ms: depart_ms + stay_ms,
        flight_ms: flight_h * HOUR_MS,
        with_laptop: business,
    }
}

fn trips(cfg: &GenConfig, rng: &mut ChaCha8Rng, home: usize) -> Vec<Trip> {
    let span = i64::from(cfg.days) * DAY_MS;
    let mut out = Vec::new();
    if rng.gen_bool(TRAVELLER_RATE) {
        let depart = cfg.start() + (span as f64 * rng.gen_range(0.05..0.9)) as i64;
        out.push(trip(rng, home, depart, false));
    } else if rng.gen_bool(BUSINESS_TRAVELLER_RATE) {
        let n = rng.gen_range(BUSINESS_TRIPS.0..=BUSINESS_TRIPS.1);
        let mut at = cfg.start() + (span as f64 * rng.gen_range(0.02..0.2)) as i64;
        for _ in 0..n {
            let t = trip(rng, home, at, true);
            at = t.return_ms + t.flight_ms + rng.gen_range(3..=14) * DAY_MS;
            out.push(t);
        }
    }
    out
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
    let joined_ms = if rng.gen_bool(LATE_JOINER_RATE) {
        cfg.start() + (span as f64 * rng.gen_range(0.05..0.9)) as i64
    } else {
        cfg.start()
    };
    let trips = trips(cfg, rng, home);
    let work_city = rng
        .gen_bool(COMMUTER_RATE)
        .then(|| world::pick_other_city(rng, home, false))
        .filter(|&c| CITIES.get(c).map(|x| x.country) == CITIES.get(home).map(|x| x.country));
    let new_phone = rng.gen_bool(NEW_PHONE_RATE).then(|| {
        let at = cfg.start() + (span as f64 * rng.gen_range(0.2..0.8)) as i64;
        (at, new_device(rng, DeviceKind::Phone, home))
    });
    let new_sim_ms = match &new_phone {
        Some((at, _)) if rng.gen_bool(NEW_SIM_RATE) => Some(*at),
        _ => None,
    };
    let sim_changed_ms = cfg.start() - rng.gen_range(SIM_AGE_DAYS.0..=SIM_AGE_DAYS.1) * DAY_MS;
    let cookie_churn = if desktop.is_some() && rng.gen_bool(COOKIE_CHURN_RATE) {
        rng.gen_range(COOKIE_CHURN_SHARE.0..COOKIE_CHURN_SHARE.1)
    } else {
        0.0
    };
    let vpn_share = if rng.gen_bool(PRIVACY_VPN_RATE) {
        rng.gen_range(VPN_USE_SHARE.0..VPN_USE_SHARE.1)
    } else {
        0.0
    };
    let corporate_egress = rng.gen_bool(CORPORATE_VPN_RATE).then(|| {
        let company = rng.gen_range(0..CORPORATE_COMPANIES);
        world::corporate_egress(&mut stream(cfg.seed, CORPORATE_STREAM + company))
    });
    let typing_rate = if rng.gen_bool(AUTOFILL_RATE) {
        AUTOFILL_TYPING_RATE
    } else {
        WEB_TYPING_RATE
    };
    let failure_weights = if rng.gen_bool(FORGETFUL_RATE) {
        FORGETFUL_ATTEMPT_WEIGHTS
    } else {
        FAILED_ATTEMPT_WEIGHTS
    };
    let peak_hour = if rng.gen_bool(NIGHT_OWL_RATE) {
        rng.gen_range(0.0..24.0)
    } else {
        rng.gen_range(PEAK_HOUR.0..PEAK_HOUR.1)
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
        peak_hour,
        spread_h: rng.gen_range(HOUR_SPREAD_H.0..HOUR_SPREAD_H.1),
        active_rate: rng.gen_range(ACTIVE_DAY_RATE.0..ACTIVE_DAY_RATE.1),
        extra_rate: rng.gen_range(EXTRA_EVENTS_RATE.0..EXTRA_EVENTS_RATE.1),
        joined_ms,
        trips,
        work_city,
        new_phone,
        sim_changed_ms,
        new_sim_ms,
        cookie_churn,
        vpn_share,
        corporate_egress,
        typing_rate,
        failure_weights,
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
            let joined_ms = people[i].joined_ms;
            people[i].desktop = Some(desktop.clone());
            people[i].shared_desktop = true;
            let b = &mut people[i + 1];
            b.home = home;
            b.home_ips = home_ips;
            b.phone = new_device(rng, DeviceKind::Phone, home);
            b.desktop = Some(desktop);
            b.shared_desktop = true;
            b.trips.clear();
            b.work_city = None;
            b.new_phone = None;
            b.new_sim_ms = None;
            b.joined_ms = b.joined_ms.max(joined_ms);
        }
        i += 2;
    }
    people
}
