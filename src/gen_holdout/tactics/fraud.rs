//! Frauds that do not need the victim's device or number: helpdesk social engineering (harmless
//! questions first, then a contact change backed by leaked personal data), mule rings (accounts
//! opened by a fraud ring on shared phones and used to cash out), and credential stuffing from a
//! residential/mobile proxy pool spread over hours so that no address repeats. Builds requests
//! only.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::takeover::{HIGH_CHALLENGE, OFFICE};
use super::{Attacker, challenge, confirm_fraud, minutes, offset_of, strike_time, victim};
use crate::domain::{Action, Channel, OutcomeKind};
use crate::gen_holdout::customers::device_info;
use crate::gen_holdout::event::{Draft, opaque_id};
use crate::gen_holdout::params as p;
use crate::gen_holdout::people::{Customer, Device, DeviceKind, user_id};
use crate::gen_holdout::places::{self, CITIES, city_at, pick};
use crate::gen_holdout::typing::scripted;
use crate::gen_holdout::{DAY_MS, HOUR_MS, Scenario, World};

/// Keys a scripted stuffing client types (a user name and password field).
pub const SCRIPTED_KEYS: (usize, usize) = (14, 30);
/// Time zones a stuffing campaign claims when it does not follow the proxy.
pub const STUFFING_ZONES: [&str; 3] = ["America/New_York", "Europe/London", "UTC"];
/// Languages a stuffing client claims.
pub const STUFFING_LANGUAGES: [&str; 1] = ["en-US"];

fn session(world: &World, k: u64, tactic: u64, n: u64) -> String {
    opaque_id("hs", world.salt, (1 << 37) | (tactic << 28) | k, n)
}

/// One helpdesk social-engineering conversation.
pub fn helpdesk(world: &World, customers: &[Customer], k: u64, rng: &mut ChaCha8Rng) -> Vec<Draft> {
    let a = Attacker::foreign(rng);
    let first = strike_time(world, OFFICE, offset_of(a.city), DAY_MS, rng);
    let Some(v) = victim(customers, first, rng) else {
        return Vec::new();
    };
    let channel =
        [Channel::WebWidget, Channel::Social, Channel::Whatsapp][pick(&p::HELPDESK_CHANNELS, rng)];
    let spoof = rng.r#gen::<f64>() < p::HELPDESK_SPOOF;
    let (home, own) = (city_at(v.home), city_at(a.city));
    let (tz, languages) = if spoof {
        (home.time_zone, v.languages)
    } else {
        (own.time_zone, own.languages)
    };
    let network = pick(&p::HELPDESK_NETWORK, rng);
    let exit = rng.gen_range(0..5u8);
    let own_sim = first - DAY_MS * rng.gen_range(100..p::OLD_SIM_MAX_DAYS);
    let sid = session(world, k, 3, 0);
    let warmup = rng.gen_range(p::HELPDESK_WARMUP.0..=p::HELPDESK_WARMUP.1);
    let password = rng.r#gen::<f64>() < p::HELPDESK_PASSWORD;
    let mut actions: Vec<Action> = (0..warmup)
        .map(|_| [Action::ViewAccount, Action::ViewTransactions][rng.gen_range(0..2)])
        .collect();
    actions.push(Action::ChangeContact);
    let mut t = first;
    let mut out = Vec::with_capacity(actions.len() + 1);
    let mut passed = false;
    for (i, action) in actions.into_iter().enumerate() {
        let mut d = Draft::new(t, &v.user_id, Scenario::HelpdeskSocialEngineering, channel);
        d.session_id = Some(sid.clone());
        d.action = action;
        match channel {
            Channel::WebWidget => {
                d.ip = Some(match network {
                    0 => places::vpn(exit, rng),
                    1 => places::broadband(v.home, a.line),
                    2 => places::residential_proxy(rng),
                    _ => places::broadband(a.city, a.line),
                });
                d.device = Some(device_info(
                    &a.desktop,
                    false,
                    &a.desktop.cookie_id,
                    tz,
                    languages,
                ));
                d.passed_methods = vec!["password".to_string()];
                if rng.r#gen::<f64>() < p::TYPING_SHARE {
                    d.typing = Some(a.keyboard.type_message(rng));
                }
            }
            Channel::Whatsapp => d.sim_changed_ms = Some(own_sim),
            _ => {}
        }
        if action == Action::ChangeContact {
            let at = t + 1_000 * rng.gen_range(p::OUTCOME_DELAY_S.0..=p::OUTCOME_DELAY_S.1);
            passed = rng.r#gen::<f64>() < p::HELPDESK_KBA_PASS;
            let kind = if passed {
                OutcomeKind::KbaPassed
            } else {
                OutcomeKind::KbaFailed
            };
            d.outcomes.push((at, kind));
        } else if i > 0 && rng.r#gen::<f64>() < p::CHALLENGE_BY_SENSITIVITY[0] {
            d.outcomes.push(challenge(t, p::HELPDESK_KBA_PASS, rng));
        }
        out.push(d);
        t += minutes((3, 12), rng);
    }
    if passed && password {
        let mut d = out.last().cloned().unwrap_or_else(|| {
            Draft::new(t, &v.user_id, Scenario::HelpdeskSocialEngineering, channel)
        });
        d.at_ms = t;
        d.action = Action::ChangePassword;
        d.typing = d.typing.as_ref().map(|_| a.keyboard.type_message(rng));
        // The contact is the attacker's now: the code goes to them.
        d.outcomes = vec![challenge(t, 1.0, rng)];
        out.push(d);
    }
    if passed && rng.r#gen::<f64>() < p::CONFIRMED_FRAUD[2] {
        confirm_fraud(&mut out, rng);
    }
    out
}

/// One mule ring: several accounts opened on the ring's phones, warmed up, then used for
/// payments.
pub fn mule_ring(
    world: &World,
    _customers: &[Customer],
    k: u64,
    rng: &mut ChaCha8Rng,
) -> Vec<Draft> {
    let city = if rng.r#gen::<f64>() < p::MULE_LOCAL {
        p::HOME_CITY_SHARES[rng.gen_range(0..p::HOME_CITY_SHARES.len())].0
    } else {
        p::ATTACKER_CITIES[rng.gen_range(0..p::ATTACKER_CITIES.len())]
    };
    let operator = Attacker::draw(city, rng);
    let place = city_at(city);
    let phones: Vec<Device> = (0..rng.gen_range(p::MULE_PHONES.0..=p::MULE_PHONES.1))
        .map(|_| Device::draw(DeviceKind::Phone, rng))
        .collect();
    let start = strike_time(world, OFFICE, place.utc_offset_h, 3 * DAY_MS, rng);
    let accounts = rng.gen_range(p::MULE_ACCOUNTS.0..=p::MULE_ACCOUNTS.1);
    let confirmed = rng.r#gen::<f64>() < p::CONFIRMED_FRAUD[4];
    let mut out = Vec::new();
    for m in 0..accounts {
        let uid = user_id(world, 1, (k << 8) | m as u64);
        let Some(phone) = phones.get(m % phones.len().max(1)) else {
            break;
        };
        let opened = start + rng.gen_range(0..12 * HOUR_MS);
        let days = rng.gen_range(p::MULE_DAYS.0..=p::MULE_DAYS.1);
        let sim = opened - DAY_MS * rng.gen_range(2..30);
        let n = rng.gen_range(p::MULE_REQUESTS.0..=p::MULE_REQUESTS.1);
        let mut times: Vec<i64> = (0..n)
            .map(|i| {
                if i == 0 {
                    opened
                } else {
                    opened + rng.gen_range(0..days * DAY_MS)
                }
            })
            .collect();
        times.sort_unstable();
        let mut account = Vec::with_capacity(n);
        for (i, &t) in times.iter().enumerate() {
            let app = rng.r#gen::<f64>() < 0.8;
            let channel = if app {
                Channel::InApp
            } else {
                Channel::WebWidget
            };
            let mut d = Draft::new(t, &uid, Scenario::MuleAccount, channel);
            d.session_id = Some(session(world, k, 4, ((m as u64) << 8) | i as u64));
            d.action = match i {
                0 => Action::Login,
                1 => Action::ViewAccount,
                2 => Action::AddPayee,
                _ => Action::Payment,
            };
            d.ip = Some(if rng.r#gen::<bool>() {
                places::broadband(city, operator.line)
            } else {
                places::mobile(city, rng)
            });
            d.device = Some(device_info(
                phone,
                app,
                &phone.cookie_id,
                place.time_zone,
                place.languages,
            ));
            d.passed_methods = vec![if app { "app_pin" } else { "password" }.to_string()];
            if app && rng.r#gen::<f64>() < p::IN_APP_SIM_CHECK {
                d.sim_changed_ms = Some(sim);
            }
            if rng.r#gen::<f64>() < p::TYPING_SHARE {
                d.typing = Some(operator.thumbs.type_message(rng));
            }
            if i == 0
                || (d.action.sensitivity().level() == 2 && rng.r#gen::<f64>() < HIGH_CHALLENGE)
            {
                d.outcomes.push(challenge(t, 0.97, rng));
            }
            account.push(d);
        }
        if confirmed {
            confirm_fraud(&mut account, rng);
        }
        out.extend(account);
    }
    out
}

/// One slow credential-stuffing campaign through a proxy pool.
pub fn proxy_stuffing(
    world: &World,
    customers: &[Customer],
    k: u64,
    rng: &mut ChaCha8Rng,
) -> Vec<Draft> {
    let hours = rng.gen_range(p::STUFFING_HOURS.0..=p::STUFFING_HOURS.1);
    let start = strike_time(world, (12.0, 6.0), 0.0, (hours + 1) * HOUR_MS, rng);
    let attempts = rng.gen_range(p::STUFFING_ATTEMPTS.0..=p::STUFFING_ATTEMPTS.1);
    let zone = STUFFING_ZONES[rng.gen_range(0..STUFFING_ZONES.len())];
    let browsers: Vec<Device> = (0..3)
        .map(|_| Device::draw(DeviceKind::Desktop, rng))
        .collect();
    let home_weights: Vec<f64> = p::HOME_CITY_SHARES.iter().map(|c| c.1).collect();
    let mut times: Vec<i64> = (0..attempts)
        .map(|_| start + rng.gen_range(0..hours * HOUR_MS))
        .collect();
    times.sort_unstable();
    let mut out = Vec::with_capacity(attempts);
    for (i, &t) in times.iter().enumerate() {
        let known = rng.r#gen::<f64>() >= p::STUFFING_UNKNOWN_USERS;
        let target = if known {
            victim(customers, t, rng).map(|c| c.user_id.clone())
        } else {
            None
        };
        let uid = target
            .clone()
            .unwrap_or_else(|| user_id(world, 2, (k << 16) | i as u64));
        let mut d = Draft::new(t, &uid, Scenario::ProxyPoolStuffing, Channel::WebWidget);
        let city = if rng.r#gen::<f64>() < p::STUFFING_RESIDENTIAL_PROXY {
            d.ip = Some(places::residential_proxy(rng));
            11 // the residential proxy network geolocates to New York
        } else {
            let c = if rng.r#gen::<bool>() {
                p::HOME_CITY_SHARES[pick(&home_weights, rng)].0
            } else {
                rng.gen_range(0..CITIES.len())
            };
            d.ip = Some(places::mobile(c, rng));
            c
        };
        let tz = if rng.r#gen::<f64>() < p::STUFFING_TZ_FOLLOWS_IP {
            city_at(city).time_zone
        } else {
            zone
        };
        let b = &browsers[i % browsers.len()];
        let mut info = device_info(b, false, "", tz, &STUFFING_LANGUAGES);
        info.id = (rng.r#gen::<f64>() < p::STUFFING_DEVICE_ID)
            .then(|| format!("ck-{:016x}", rng.r#gen::<u64>()));
        d.device = Some(info);
        d.passed_methods = vec!["password".to_string()];
        if rng.r#gen::<f64>() < p::STUFFING_SCRIPTED_TYPING {
            d.typing = Some(scripted(
                rng.gen_range(SCRIPTED_KEYS.0..=SCRIPTED_KEYS.1),
                rng,
            ));
        }
        if target.is_some() && rng.r#gen::<f64>() < p::STUFFING_HITS {
            d.outcomes.push(challenge(t, 0.0, rng));
        }
        out.push(d);
    }
    out
}
