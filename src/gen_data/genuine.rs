//! Genuine events of one [`Person`]: when they are active (personal circadian pattern in the
//! local time zone, now and then at an odd hour), which channel, device, network and action they
//! use, and how they type — with the noise real customers make: trips and roaming, new phones,
//! cleared cookies, carrier NAT address hopping, commuting, corporate and privacy VPNs,
//! autofill, failed attempts.
//!
//! Draws only from the person's own RNG stream, so users can be generated in parallel. Never
//! decides anything about attacks.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::draft::{Draft, weighted};
use super::population::{Device, Person};
use super::typing::std_normal;
use super::world::{self, CITIES, DeviceKind, Net};
use super::{DAY_MS, GenConfig, HOUR_MS, Scenario, opaque_id};
use crate::domain::{Action, Channel, DeviceInfo};

/// Channel weights for genuine events, in [`Channel::ALL`] order (web_widget, in_app, whatsapp,
/// sms, social).
pub const CHANNEL_WEIGHTS: [u32; 5] = [40, 35, 12, 8, 5];
/// Action weights for genuine events, in [`Action::ALL`] order (login, view_account,
/// view_transactions, change_contact, change_password, add_payee, payment, card_control).
pub const ACTION_WEIGHTS: [u32; 8] = [50, 15, 10, 3, 2, 5, 12, 3];
/// In-app events carry key events this share as often as web events (biometric log-ins skip
/// typing).
pub const APP_TYPING_FACTOR: f64 = 0.95;
/// Probability that a WhatsApp event carries key events (a custom flow); SMS and social never do.
pub const WHATSAPP_TYPING_RATE: f64 = 0.08;
/// Probability that a WhatsApp event carries a (thin) device record.
pub const WHATSAPP_DEVICE_RATE: f64 = 0.4;
/// Probability that the broker ran a carrier SIM check (`network.sim_changed_at`) on an SMS or
/// WhatsApp event, the channels tied to the phone number.
pub const CARRIER_CHECK_RATE: f64 = 0.5;
/// Probability that a web-widget event at home uses the desktop (when the person has one).
pub const DESKTOP_SHARE: f64 = 0.7;
/// Probability that a phone event at home is on the home Wi-Fi (else the mobile network).
pub const PHONE_HOME_WIFI_RATE: f64 = 0.55;
/// Probability that an event happens at a uniformly random hour instead of near the peak (a
/// sleepless night, an urgent payment).
pub const ODD_HOUR_RATE: f64 = 0.04;
/// Where a traveller's event comes from abroad, weights: hotel or café Wi-Fi (the destination's
/// broadband), a local SIM or roaming partner (the destination's carrier), home-routed roaming
/// (the home carrier's address, so the IP stays at home while the phone's clock moves).
pub const ABROAD_NETWORK_WEIGHTS: [u32; 3] = [40, 30, 30];

/// Where the person is at a given time.
enum Place {
    /// At home.
    Home,
    /// On a plane or train: no events.
    InTransit,
    /// On a trip in city `.0`, with the laptop when `.1`.
    Away(usize, bool),
}

fn place(p: &Person, ts: i64) -> Place {
    for t in &p.trips {
        let out = t.depart_ms..t.depart_ms + t.flight_ms;
        let back = t.return_ms..t.return_ms + t.flight_ms;
        if out.contains(&ts) || back.contains(&ts) {
            return Place::InTransit;
        }
        if (t.depart_ms + t.flight_ms..t.return_ms).contains(&ts) {
            return Place::Away(t.city, t.with_laptop);
        }
    }
    Place::Home
}

/// A Poisson draw (Knuth's method; fine for the small rates used here).
pub fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> u32 {
    let limit = (-lambda).exp();
    let mut k = 0;
    let mut prod: f64 = rng.r#gen();
    while prod > limit && k < 100 {
        k += 1;
        prod *= rng.r#gen::<f64>();
    }
    k
}

/// All genuine events of `p`, sorted by time.
pub fn events(cfg: &GenConfig, p: &Person, rng: &mut ChaCha8Rng) -> Vec<Draft> {
    let offset_h = f64::from(CITIES[p.home.min(CITIES.len() - 1)].utc_offset_h);
    let mut out = Vec::new();
    for day in 0..i64::from(cfg.days) {
        if !rng.gen_bool(p.active_rate) {
            continue;
        }
        for _ in 0..1 + poisson(rng, p.extra_rate) {
            let hour = if rng.gen_bool(ODD_HOUR_RATE) {
                rng.gen_range(0.0..24.0)
            } else {
                (p.peak_hour + p.spread_h * std_normal(rng)).rem_euclid(24.0)
            };
            let ts = cfg.start() + day * DAY_MS + ((hour - offset_h) * HOUR_MS as f64) as i64;
            if ts < cfg.start().max(p.joined_ms) || ts >= cfg.end {
                continue;
            }
            let away = match place(p, ts) {
                Place::InTransit => continue,
                Place::Away(city, laptop) => Some((city, laptop)),
                Place::Home => None,
            };
            let n = out.len() as u64;
            out.push(event(p, ts, away, n, rng));
        }
    }
    out.sort_by_key(|d: &Draft| d.ts_ms);
    out
}

/// The device a web or app event uses, and whether it is the desktop.
fn pick_device<'a>(
    p: &'a Person,
    phone: &'a Device,
    away: Option<(usize, bool)>,
    channel: Channel,
    rng: &mut ChaCha8Rng,
) -> &'a Device {
    let laptop_here = matches!(away, None | Some((_, true)));
    match (&p.desktop, channel) {
        (Some(d), Channel::WebWidget) if laptop_here && rng.gen_bool(DESKTOP_SHARE) => d,
        _ => phone,
    }
}

/// The IP of a web or app event not sent through a privacy VPN.
fn pick_ip(
    p: &Person,
    dev: &Device,
    ts: i64,
    away: Option<(usize, bool)>,
    rng: &mut ChaCha8Rng,
) -> String {
    if let Some(egress) = &p.corporate_egress {
        return egress[usize::from(rng.gen_bool(0.5))].clone();
    }
    match away {
        Some((city, _)) => {
            let abroad =
                CITIES.get(city).map(|c| c.country) != CITIES.get(p.home).map(|c| c.country);
            let net = match (dev.kind, abroad, weighted(rng, &ABROAD_NETWORK_WEIGHTS)) {
                (DeviceKind::Desktop, _, _) | (_, _, 0) => Net::Residential(city),
                (DeviceKind::Phone, true, 2) => Net::Mobile(p.home),
                _ => Net::Mobile(city),
            };
            world::ip_in(net, rng)
        }
        None if dev.kind == DeviceKind::Desktop || rng.gen_bool(PHONE_HOME_WIFI_RATE) => {
            p.home_ips[usize::from(rng.gen_bool(0.15))].clone()
        }
        None => match p.work_city {
            Some(work) if at_work(p, ts) => world::ip_in(Net::Mobile(work), rng),
            _ => world::ip_in(Net::Mobile(p.home), rng),
        },
    }
}

/// True on a weekday between 08:00 and 18:00 in the person's home time zone.
fn at_work(p: &Person, ts: i64) -> bool {
    let offset = CITIES.get(p.home).map_or(0, |c| i64::from(c.utc_offset_h)) * HOUR_MS;
    let local = ts + offset;
    // 1970-01-01 was a Thursday: day 0 → 4 with Sunday = 0.
    let weekday = (local.div_euclid(DAY_MS) + 4).rem_euclid(7);
    let hour = local.rem_euclid(DAY_MS) / HOUR_MS;
    (1..=5).contains(&weekday) && (8..18).contains(&hour)
}

fn event(p: &Person, ts: i64, away: Option<(usize, bool)>, n: u64, rng: &mut ChaCha8Rng) -> Draft {
    let channel = Channel::ALL[weighted(rng, &CHANNEL_WEIGHTS)];
    let action = Action::ALL[weighted(rng, &ACTION_WEIGHTS)];
    let (phone, new_phone) = match &p.new_phone {
        Some((at, dev)) if ts >= *at => (dev, true),
        _ => (&p.phone, false),
    };
    let mut scenario = if away.is_some() {
        Scenario::GenuineTravel
    } else {
        Scenario::Genuine
    };
    let mut passed_methods = Vec::new();
    let mut sim_changed_ms = None;
    let (device, ip, typing) = match channel {
        Channel::WebWidget | Channel::InApp => {
            let dev = pick_device(p, phone, away, channel, rng);
            let mut info = dev.info.clone();
            if let Some((city, _)) = away {
                // Phones and laptops set their clocks to the local time zone on a trip.
                info.timezone = CITIES.get(city).map(|c| c.time_zone.to_string());
            }
            let fresh_cookie = dev.kind == DeviceKind::Desktop
                && p.cookie_churn > 0.0
                && rng.gen_bool(p.cookie_churn);
            if fresh_cookie {
                info.id = Some(world::device_id(rng));
            }
            let vpn =
                p.corporate_egress.is_none() && p.vpn_share > 0.0 && rng.gen_bool(p.vpn_share);
            let ip = if vpn {
                world::ip_in(Net::Vpn, rng)
            } else {
                pick_ip(p, dev, ts, away, rng)
            };
            if scenario == Scenario::Genuine {
                scenario = if fresh_cookie || (dev.kind == DeviceKind::Phone && new_phone) {
                    Scenario::GenuineNewDevice
                } else if dev.kind == DeviceKind::Desktop && p.shared_desktop {
                    Scenario::GenuineSharedDevice
                } else if p.corporate_egress.is_some() {
                    Scenario::GenuineCorporateVpn
                } else if vpn {
                    Scenario::GenuineVpn
                } else {
                    Scenario::Genuine
                };
            }
            let typing_rate = match channel {
                Channel::WebWidget => p.typing_rate,
                _ => p.typing_rate * APP_TYPING_FACTOR,
            };
            let rhythm = match dev.kind {
                DeviceKind::Phone => p.rhythm.on_touch(),
                DeviceKind::Desktop => p.rhythm,
            };
            let typing = rng.gen_bool(typing_rate).then(|| rhythm.type_message(rng));
            passed_methods = match (channel, rng.gen_range(0..10)) {
                (Channel::WebWidget, 0..=5) => vec!["password"],
                (Channel::InApp, 0..=3) => vec!["passkey"],
                (Channel::InApp, 4..=6) => vec!["password"],
                _ => vec![],
            };
            (Some(info), Some(ip), typing)
        }
        Channel::Whatsapp => {
            let device = rng.gen_bool(WHATSAPP_DEVICE_RATE).then(|| DeviceInfo {
                id: phone.info.id.clone(),
                platform: phone.info.platform.clone(),
                ..DeviceInfo::default()
            });
            if device.is_some() && new_phone && scenario == Scenario::Genuine {
                scenario = Scenario::GenuineNewDevice;
            }
            let typing = rng
                .gen_bool(WHATSAPP_TYPING_RATE)
                .then(|| p.rhythm.on_touch().type_message(rng));
            if rng.gen_bool(CARRIER_CHECK_RATE) {
                sim_changed_ms = Some(p.sim_changed_at(ts));
            }
            (device, None, typing)
        }
        Channel::Sms => {
            if rng.gen_bool(CARRIER_CHECK_RATE) {
                sim_changed_ms = Some(p.sim_changed_at(ts));
            }
            (None, None, None)
        }
        Channel::Social => (None, None, None),
    };
    let has_session = channel != Channel::Sms;
    Draft {
        ts_ms: ts,
        request_id: opaque_id("r", p.index as u64, n),
        user_id: p.user_id.clone(),
        session_id: has_session.then(|| opaque_id("s", (1 << 30) + p.index as u64, n)),
        scenario,
        channel,
        action,
        ip,
        device,
        typing,
        failed_attempts: weighted(rng, &p.failure_weights) as u32,
        passed_methods,
        sim_changed_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn poisson_mean_is_close_to_lambda() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let n = 20_000;
        let total: u32 = (0..n).map(|_| poisson(&mut rng, 0.4)).sum();
        let mean = f64::from(total) / f64::from(n);
        assert!((mean - 0.4).abs() < 0.03, "{mean}");
        assert_eq!(poisson(&mut rng, 0.0), 0);
    }
}
