//! Genuine events of one [`Person`]: when they are active (personal circadian pattern in the
//! local time zone), which channel, device, network and action they use, and how they type.
//!
//! Draws only from the person's own RNG stream, so users can be generated in parallel.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::draft::{Draft, weighted};
use super::population::Person;
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
/// Weights of 0, 1 and 2 failed attempts before a genuine event (per mille).
pub const FAILED_ATTEMPT_WEIGHTS: [u32; 3] = [920, 60, 20];
/// Probability that a web-widget event carries key events.
pub const WEB_TYPING_RATE: f64 = 0.9;
/// Probability that an in-app event carries key events.
pub const APP_TYPING_RATE: f64 = 0.85;
/// Probability that a WhatsApp event carries key events (a custom flow); SMS and social never do.
pub const WHATSAPP_TYPING_RATE: f64 = 0.08;
/// Probability that a WhatsApp event carries a (thin) device record.
pub const WHATSAPP_DEVICE_RATE: f64 = 0.4;
/// Probability that a web-widget event at home uses the desktop (when the person has one).
pub const DESKTOP_SHARE: f64 = 0.7;
/// Probability that a phone event at home is on the home Wi-Fi (else the mobile network).
pub const PHONE_HOME_WIFI_RATE: f64 = 0.55;

/// Where the person is at a given time.
enum Place {
    /// At home.
    Home,
    /// On a plane or train: no events.
    InTransit,
    /// On a trip in city `usize`.
    Away(usize),
}

fn place(p: &Person, ts: i64) -> Place {
    match p.trip {
        Some(t) if (t.depart_ms..t.depart_ms + t.flight_ms).contains(&ts) => Place::InTransit,
        Some(t) if (t.return_ms..t.return_ms + t.flight_ms).contains(&ts) => Place::InTransit,
        Some(t) if (t.depart_ms + t.flight_ms..t.return_ms).contains(&ts) => Place::Away(t.city),
        _ => Place::Home,
    }
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
            let hour = (p.peak_hour + p.spread_h * std_normal(rng)).rem_euclid(24.0);
            let ts = cfg.start() + day * DAY_MS + ((hour - offset_h) * HOUR_MS as f64) as i64;
            if ts < cfg.start() || ts >= cfg.end {
                continue;
            }
            let away = match place(p, ts) {
                Place::InTransit => continue,
                Place::Away(city) => Some(city),
                Place::Home => None,
            };
            let n = out.len() as u64;
            out.push(event(p, ts, away, n, rng));
        }
    }
    out.sort_by_key(|d: &Draft| d.ts_ms);
    out
}

fn event(p: &Person, ts: i64, away: Option<usize>, n: u64, rng: &mut ChaCha8Rng) -> Draft {
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
    let (device, ip, typing) = match channel {
        Channel::WebWidget | Channel::InApp => {
            let desktop = match (&p.desktop, away, channel) {
                (Some(d), None, Channel::WebWidget) if rng.gen_bool(DESKTOP_SHARE) => Some(d),
                _ => None,
            };
            let dev = desktop.unwrap_or(phone);
            let mut info = dev.info.clone();
            if let (Some(city), DeviceKind::Phone) = (away, dev.kind) {
                // Phones follow the local time zone on a trip.
                info.timezone = CITIES.get(city).map(|c| c.time_zone.to_string());
            }
            let vpn = p.vpn_share > 0.0 && rng.gen_bool(p.vpn_share);
            let ip = if vpn {
                world::ip_in(Net::Vpn, rng)
            } else if let Some(city) = away {
                let net = if rng.gen_bool(0.5) {
                    Net::Residential(city)
                } else {
                    Net::Mobile(city)
                };
                world::ip_in(net, rng)
            } else if dev.kind == DeviceKind::Desktop || rng.gen_bool(PHONE_HOME_WIFI_RATE) {
                p.home_ips[usize::from(rng.gen_bool(0.15))].clone()
            } else {
                world::ip_in(Net::Mobile(p.home), rng)
            };
            if scenario == Scenario::Genuine {
                scenario = if desktop.is_some() && p.shared_desktop {
                    Scenario::GenuineSharedDevice
                } else if desktop.is_none() && new_phone {
                    Scenario::GenuineNewDevice
                } else if vpn {
                    Scenario::GenuineVpn
                } else {
                    Scenario::Genuine
                };
            }
            let typing_rate = if channel == Channel::WebWidget {
                WEB_TYPING_RATE
            } else {
                APP_TYPING_RATE
            };
            let typing = rng
                .gen_bool(typing_rate)
                .then(|| p.rhythm.type_message(rng));
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
                .then(|| p.rhythm.type_message(rng));
            (device, None, typing)
        }
        Channel::Sms | Channel::Social => (None, None, None),
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
        failed_attempts: weighted(rng, &FAILED_ATTEMPT_WEIGHTS) as u32,
        passed_methods,
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
