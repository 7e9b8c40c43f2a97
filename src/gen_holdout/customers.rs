//! Genuine chat sessions of one customer: when they happen (a Poisson number per day around the
//! customer's peak hour), over which channel, from which device and network, what is attempted,
//! and which challenges follow and how they end. Uses only the customer's own RNG stream, so
//! customers can be generated in parallel. Never decides anything about attacks.

use rand::Rng;

use super::event::Draft;
use super::params as p;
use super::people::{CHANNELS_BY_SHARE, Customer, Device, DeviceKind};
use super::places::{self, city_at, pick};
use super::typing::normal;
use super::{DAY_MS, HOUR_MS, Scenario, World};
use crate::domain::{Action, Channel, DeviceInfo, OutcomeKind};

/// Follow-up actions in the order of [`p::FOLLOW_UP_ACTIONS`].
pub const FOLLOW_UPS: [Action; 7] = [
    Action::ViewAccount,
    Action::ViewTransactions,
    Action::CardControl,
    Action::Payment,
    Action::AddPayee,
    Action::ChangeContact,
    Action::ChangePassword,
];

/// A Poisson draw (Knuth's method; `lambda` is small here).
pub fn poisson(lambda: f64, rng: &mut impl Rng) -> u32 {
    let limit = (-lambda).exp();
    let (mut k, mut prod) = (0u32, rng.r#gen::<f64>());
    while prod > limit && k < 1_000 {
        k += 1;
        prod *= rng.r#gen::<f64>();
    }
    k
}

/// A time `hours` (local, around `peak`) on the UTC day starting at `day_ms`, for a person whose
/// clock is `utc_offset_h` ahead of UTC.
pub fn local_time(day_ms: i64, hours: (f64, f64), utc_offset_h: f64, rng: &mut impl Rng) -> i64 {
    let local_h = (hours.0 + hours.1 * normal(rng)).rem_euclid(24.0);
    day_ms + ((local_h - utc_offset_h) * HOUR_MS as f64) as i64
}

/// Session start times of `c`, sorted.
fn session_times(world: &World, c: &Customer, rng: &mut impl Rng) -> Vec<i64> {
    let from = world.start_ms.max(c.joined_ms);
    let offset = city_at(c.home).utc_offset_h;
    let mut times = Vec::new();
    let mut day = from.div_euclid(DAY_MS) * DAY_MS;
    while day < world.end_ms {
        for _ in 0..poisson(c.rate, rng) {
            let t = local_time(day, c.hours, offset, rng);
            if (from..world.end_ms).contains(&t) {
                times.push(t);
            }
        }
        day += DAY_MS;
    }
    times.sort_unstable();
    times
}

/// What a session runs on.
struct Setting<'a> {
    scenario: Scenario,
    channel: Channel,
    device: Option<(&'a Device, Surface)>,
    ip: Option<String>,
    time_zone: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Surface {
    App,
    Browser,
}

fn is_office_hours(at_ms: i64, offset_h: f64) -> bool {
    let local = at_ms + (offset_h * HOUR_MS as f64) as i64;
    let weekday = (local.div_euclid(DAY_MS) + 3).rem_euclid(7); // 1970-01-01 was a Thursday
    let hour = local.rem_euclid(DAY_MS) / HOUR_MS;
    weekday < 5 && (8..18).contains(&hour)
}

fn setting<'a>(c: &'a Customer, at_ms: i64, rng: &mut impl Rng) -> Setting<'a> {
    let home = city_at(c.home);
    let trip = c.trip_at(at_ms);
    let channel = if rng.r#gen::<f64>() < p::FAVOURITE_CHANNEL_LOYALTY {
        c.favourite
    } else {
        CHANNELS_BY_SHARE[pick(&p::FAVOURITE_CHANNEL, rng)]
    };
    if let (Some(exit), Some(desk), None) = (c.corporate_vpn, &c.desktop, trip)
        && is_office_hours(at_ms, home.utc_offset_h)
        && rng.r#gen::<f64>() < 0.7
    {
        return Setting {
            scenario: Scenario::GenuineCorporateVpn,
            channel: Channel::WebWidget,
            device: Some((desk, Surface::Browser)),
            ip: Some(places::vpn(exit, rng)),
            time_zone: home.time_zone,
        };
    }
    let phone = c.phone_at(at_ms);
    let device = match channel {
        Channel::InApp => match &c.shared_tablet {
            Some(t) if trip.is_none() && rng.r#gen::<f64>() < 0.3 => Some((t, Surface::App)),
            _ => Some((phone, Surface::App)),
        },
        Channel::WebWidget => match (&c.desktop, &c.shared_tablet) {
            (Some(d), _) if trip.is_none() && rng.r#gen::<f64>() < 0.6 => {
                Some((d, Surface::Browser))
            }
            (_, Some(t)) if trip.is_none() && rng.r#gen::<f64>() < 0.3 => {
                Some((t, Surface::Browser))
            }
            _ => Some((phone, Surface::Browser)),
        },
        _ => None,
    };
    let ip = device.map(|(d, _)| match trip {
        Some(t) => match pick(&p::TRIP_NETWORK, rng) {
            0 => places::broadband(t.city, rng.r#gen()),
            1 => places::mobile(c.home, rng),
            _ => places::mobile(t.city, rng),
        },
        None if d.kind != DeviceKind::Phone || rng.r#gen::<f64>() < p::HOME_WIFI_SHARE => {
            places::broadband(c.home, c.line)
        }
        None => places::mobile(c.home, rng),
    });
    let time_zone = match trip {
        Some(t) if !t.keeps_home_tz => city_at(t.city).time_zone,
        _ => home.time_zone,
    };
    let on_tablet = device.is_some_and(|(d, _)| d.kind == DeviceKind::Tablet);
    let new_phone = c
        .new_phone
        .as_ref()
        .is_some_and(|(from, _)| (*from..from + p::SETTLING_DAYS * DAY_MS).contains(&at_ms))
        && device.is_some_and(|(d, _)| d.kind == DeviceKind::Phone);
    let scenario = if trip.is_some() {
        Scenario::GenuineRoaming
    } else if on_tablet {
        Scenario::GenuineHouseholdDevice
    } else if new_phone {
        Scenario::GenuineNewPhone
    } else if at_ms < c.joined_ms + p::SETTLING_DAYS * DAY_MS {
        Scenario::GenuineNewCustomer
    } else {
        Scenario::GenuineHome
    };
    Setting {
        scenario,
        channel,
        device,
        ip,
        time_zone,
    }
}

/// The outcomes a genuine customer produces when challenged at `at_ms`.
fn genuine_challenge(at_ms: i64, rng: &mut impl Rng) -> Vec<(i64, OutcomeKind)> {
    let mut t = at_ms + 1_000 * rng.gen_range(p::OUTCOME_DELAY_S.0..=p::OUTCOME_DELAY_S.1);
    if rng.r#gen::<f64>() < p::GENUINE_OTP_PASS {
        return vec![(t, OutcomeKind::OtpPassed)];
    }
    let mut out = vec![(t, OutcomeKind::OtpFailed)];
    t += 1_000 * rng.gen_range(p::OUTCOME_DELAY_S.0..=p::OUTCOME_DELAY_S.1);
    out.push(if rng.r#gen::<f64>() < p::GENUINE_KBA_PASS {
        (t, OutcomeKind::KbaPassed)
    } else {
        (t, OutcomeKind::KbaFailed)
    });
    out
}

/// Device evidence of `device` on `surface`, with the session's time zone and languages.
pub fn device_info(
    device: &Device,
    app: bool,
    cookie: &str,
    time_zone: &str,
    languages: &[&str],
) -> DeviceInfo {
    DeviceInfo {
        id: Some(if app {
            device.app_id.clone()
        } else {
            cookie.to_string()
        }),
        user_agent: Some(
            if app {
                device.app_ua
            } else {
                device.browser_ua
            }
            .to_string(),
        ),
        platform: Some(device.platform.to_string()),
        timezone: Some(time_zone.to_string()),
        languages: languages.iter().map(|l| l.to_string()).collect(),
        screen: Some(device.screen.to_string()),
        webdriver: (!app).then_some(false),
    }
}

/// Every genuine request of customer `c`, in time order.
pub fn requests(world: &World, c: &Customer, rng: &mut impl Rng) -> Vec<Draft> {
    let times = session_times(world, c, rng);
    let mut out = Vec::with_capacity(times.len() * 2);
    let mut cookie_clears = 0u32;
    for (k, &at_ms) in times.iter().enumerate() {
        let s = setting(c, at_ms, rng);
        if s.device
            .is_some_and(|(_, surface)| surface == Surface::Browser)
            && rng.r#gen::<f64>() < p::COOKIE_CLEAR_SHARE
        {
            cookie_clears += 1;
        }
        let session = super::event::opaque_id("hs", world.salt, c.index as u64, k as u64);
        let mut actions = vec![(at_ms, Action::Login)];
        if rng.r#gen::<f64>() < p::FOLLOW_UP_SHARE {
            let gap = 1_000 * rng.gen_range(p::FOLLOW_UP_GAP_S.0..=p::FOLLOW_UP_GAP_S.1);
            actions.push((at_ms + gap, FOLLOW_UPS[pick(&p::FOLLOW_UP_ACTIONS, rng)]));
        }
        for (j, (t, action)) in actions.into_iter().enumerate() {
            if t >= world.end_ms {
                break;
            }
            let mut d = Draft::new(t, &c.user_id, s.scenario, s.channel);
            d.session_id = Some(session.clone());
            d.action = action;
            d.ip = s.ip.clone();
            if let Some((device, surface)) = s.device {
                let app = surface == Surface::App;
                let cookie = match cookie_clears {
                    0 => device.cookie_id.clone(),
                    n => format!("{}-{n}", device.cookie_id),
                };
                d.device = Some(device_info(device, app, &cookie, s.time_zone, c.languages));
                d.passed_methods = vec![if app { "app_pin" } else { "password" }.to_string()];
                if rng.r#gen::<f64>() < p::TYPING_SHARE {
                    let who = if device.touch() {
                        &c.thumbs
                    } else {
                        &c.keyboard
                    };
                    d.typing = Some(who.type_message(rng));
                }
            }
            let sim_check = match s.channel {
                Channel::Sms | Channel::Whatsapp => true,
                Channel::InApp => rng.r#gen::<f64>() < p::IN_APP_SIM_CHECK,
                _ => false,
            };
            d.sim_changed_ms = sim_check.then(|| c.sim_changed_at(t));
            if j == 0 {
                let x: f64 = rng.r#gen();
                d.failed_attempts = if x < p::GENUINE_FAILED_ATTEMPT.1 {
                    2
                } else if x < p::GENUINE_FAILED_ATTEMPT.0 + p::GENUINE_FAILED_ATTEMPT.1 {
                    1
                } else {
                    0
                };
            }
            let level = usize::from(action.sensitivity().level());
            let challenged = k < p::ENROLMENT_SESSIONS
                || rng.r#gen::<f64>()
                    < p::CHALLENGE_BY_SENSITIVITY
                        .get(level)
                        .copied()
                        .unwrap_or(1.0);
            if challenged {
                d.outcomes = genuine_challenge(t, rng);
            }
            if rng.r#gen::<f64>() < p::GENUINE_CONFIRMED_SAFE {
                let h = rng.gen_range(p::CONFIRMATION_DELAY_H.0..=p::CONFIRMATION_DELAY_H.1);
                d.outcomes
                    .push((t + h * HOUR_MS, OutcomeKind::ConfirmedSafe));
            }
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn poisson_mean_is_lambda() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let n = 20_000;
        let sum: u32 = (0..n).map(|_| poisson(0.7, &mut rng)).sum();
        let mean = f64::from(sum) / f64::from(n);
        assert!((mean - 0.7).abs() < 0.03, "{mean}");
    }

    #[test]
    fn office_hours_are_weekday_daytime() {
        // 2026-01-05 was a Monday; 10:00 UTC.
        let monday_10 = 1_767_607_200_000;
        assert!(is_office_hours(monday_10, 0.0));
        assert!(!is_office_hours(monday_10, 9.0)); // 19:00 in Tokyo
        assert!(!is_office_hours(monday_10 - 2 * DAY_MS, 0.0)); // Saturday
    }
}
