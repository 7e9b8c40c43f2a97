//! Takeovers of an existing customer's account: SIM swap (the fraudster ports the victim's
//! number and receives the codes), session/device-id theft (malware copies the victim's device
//! id and fingerprint and replays them from another network), and MFA fatigue (a stolen password
//! and a stream of push prompts until the victim gives in). Builds requests only.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{Attacker, challenge, confirm_fraud, minutes, offset_of, strike_time, victim};
use crate::domain::DeviceInfo;
use crate::domain::{Action, Channel};
use crate::gen_holdout::customers::{device_info, requests};
use crate::gen_holdout::event::{Draft, opaque_id};
use crate::gen_holdout::params as p;
use crate::gen_holdout::people::Customer;
use crate::gen_holdout::places::{self, city_at, pick};
use crate::gen_holdout::{DAY_MS, HOUR_MS, SESSION_STREAM, Scenario, World};

/// Hours of a fraudster working on a local victim: late evening and night.
pub const NIGHT_OWL: (f64, f64) = (23.5, 2.5);
/// Hours of a fraudster abroad: their own working day.
pub const OFFICE: (f64, f64) = (14.0, 3.0);
/// What a SIM-swap fraudster does after the login, drawn with replacement.
pub const SIM_SWAP_ACTIONS: [Action; 5] = [
    Action::ChangeContact,
    Action::AddPayee,
    Action::Payment,
    Action::Payment,
    Action::ViewAccount,
];
/// Probability an attacker's high-sensitivity request is challenged.
pub const HIGH_CHALLENGE: f64 = 0.8;

fn session(world: &World, k: u64, tactic: u64) -> String {
    opaque_id("hs", world.salt, (1 << 37) | (tactic << 28) | k, 0)
}

/// One SIM-swap takeover.
pub fn sim_swap(world: &World, customers: &[Customer], k: u64, rng: &mut ChaCha8Rng) -> Vec<Draft> {
    let local = rng.r#gen::<f64>() < p::SIM_SWAP_LOCAL;
    let first = strike_time(world, NIGHT_OWL, 0.0, DAY_MS, rng);
    let Some(v) = victim(customers, first, rng) else {
        return Vec::new();
    };
    let home = city_at(v.home);
    // Night in the victim's time zone.
    let first = (first - (home.utc_offset_h * HOUR_MS as f64) as i64)
        .clamp(world.start_ms, world.end_ms - 1);
    let a = if local {
        Attacker::draw(v.home, rng)
    } else {
        Attacker::foreign(rng)
    };
    let swapped = first - HOUR_MS * rng.gen_range(p::SIM_SWAP_AGE_H.0..=p::SIM_SWAP_AGE_H.1);
    let channel =
        [Channel::Sms, Channel::Whatsapp, Channel::InApp][pick(&p::SIM_SWAP_CHANNELS, rng)];
    let city = city_at(a.city);
    let ip = (channel == Channel::InApp).then(|| places::mobile(a.city, rng));
    let steps = 1 + rng.gen_range(p::SIM_SWAP_STEPS.0..=p::SIM_SWAP_STEPS.1);
    let sid = session(world, k, 0);
    let mut t = first;
    let mut out = Vec::with_capacity(steps);
    for i in 0..steps {
        let mut d = Draft::new(t, &v.user_id, Scenario::SimSwapTakeover, channel);
        d.session_id = Some(sid.clone());
        d.action = if i == 0 {
            Action::Login
        } else {
            SIM_SWAP_ACTIONS[rng.gen_range(0..SIM_SWAP_ACTIONS.len())]
        };
        d.ip = ip.clone();
        let checked = channel != Channel::InApp || rng.r#gen::<f64>() < p::IN_APP_SIM_CHECK;
        d.sim_changed_ms = checked.then_some(swapped);
        if channel == Channel::InApp {
            d.device = Some(device_info(
                &a.phone,
                true,
                "",
                city.time_zone,
                city.languages,
            ));
            d.passed_methods = vec!["app_pin".to_string()];
            if rng.r#gen::<f64>() < p::TYPING_SHARE {
                d.typing = Some(a.thumbs.type_message(rng));
            }
        }
        if i == 0 || (d.action.sensitivity().level() == 2 && rng.r#gen::<f64>() < HIGH_CHALLENGE) {
            d.outcomes.push(challenge(t, p::SIM_SWAP_OTP_PASS, rng));
        }
        out.push(d);
        t += minutes((2, 20), rng);
    }
    if rng.r#gen::<f64>() < p::CONFIRMED_FRAUD[0] {
        confirm_fraud(&mut out, rng);
    }
    out
}

/// One replay of a stolen device id and fingerprint.
pub fn device_theft(
    world: &World,
    customers: &[Customer],
    k: u64,
    rng: &mut ChaCha8Rng,
) -> Vec<Draft> {
    let a = Attacker::foreign(rng);
    let first = strike_time(world, OFFICE, offset_of(a.city), DAY_MS, rng);
    // Malware copies a device the victim really uses: the device record of their last request
    // before the strike (app install id or browser cookie, as it was then, with its
    // fingerprint). Victims who never chatted from an app or a browser before are skipped.
    let Some((v, channel, info)) = (0..VICTIM_TRIES).find_map(|_| {
        let v = victim(customers, first, rng)?;
        let (channel, info) = last_device(world, v, first)?;
        Some((v, channel, info))
    }) else {
        return Vec::new();
    };
    let app = channel == Channel::InApp;
    let touch = match (&v.desktop, info.id.as_deref()) {
        (Some(desk), Some(id)) => !id.starts_with(desk.cookie_id.as_str()),
        _ => true,
    };
    let network = pick(&p::THEFT_NETWORK, rng);
    let steps = rng.gen_range(p::THEFT_STEPS.0..=p::THEFT_STEPS.1);
    let sid = session(world, k, 1);
    let mut t = first;
    let mut out = Vec::with_capacity(steps);
    for i in 0..steps {
        let mut d = Draft::new(t, &v.user_id, Scenario::SessionDeviceTheft, channel);
        d.session_id = Some(sid.clone());
        d.action = match i {
            0 => Action::ViewAccount,
            _ => [Action::AddPayee, Action::Payment, Action::ChangeContact][rng.gen_range(0..3)],
        };
        d.ip = Some(match network {
            0 => places::hosting(rng),
            1 => places::residential_proxy(rng),
            2 => places::broadband(v.home, rng.r#gen()),
            _ => places::mobile(a.city, rng),
        });
        d.device = Some(info.clone());
        d.passed_methods = vec![if app { "app_pin" } else { "password" }.to_string()];
        if app && rng.r#gen::<f64>() < p::IN_APP_SIM_CHECK {
            d.sim_changed_ms = Some(v.sim_changed_at(t));
        }
        if rng.r#gen::<f64>() >= p::THEFT_NO_TYPING {
            let who = if touch { &a.thumbs } else { &a.keyboard };
            d.typing = Some(who.type_message(rng));
        }
        if d.action.sensitivity().level() == 2 && rng.r#gen::<f64>() < HIGH_CHALLENGE {
            d.outcomes.push(challenge(t, p::THEFT_OTP_PASS, rng));
        }
        out.push(d);
        t += minutes((1, 15), rng);
    }
    if rng.r#gen::<f64>() < p::CONFIRMED_FRAUD[1] {
        confirm_fraud(&mut out, rng);
    }
    out
}

/// Victims drawn before a device-theft campaign gives up (none had a device to steal).
const VICTIM_TRIES: usize = 8;

/// The channel and device record of `v`'s last genuine request before `before_ms` that carried a
/// device id, replaying `v`'s own session stream (so the record matches the log's exactly).
fn last_device(world: &World, v: &Customer, before_ms: i64) -> Option<(Channel, DeviceInfo)> {
    let mut rng = world.rng(SESSION_STREAM + v.index as u64);
    requests(world, v, &mut rng)
        .into_iter()
        .take_while(|d| d.at_ms < before_ms)
        .filter_map(|d| {
            let info = d.device?;
            info.id.as_ref()?;
            Some((d.channel, info))
        })
        .last()
}

/// One MFA-fatigue campaign: repeated logins, each prompting the victim, until they give in or
/// the attacker stops.
pub fn mfa_fatigue(
    world: &World,
    customers: &[Customer],
    k: u64,
    rng: &mut ChaCha8Rng,
) -> Vec<Draft> {
    let a = Attacker::foreign(rng);
    let first = strike_time(world, OFFICE, offset_of(a.city), DAY_MS, rng);
    let Some(v) = victim(customers, first, rng) else {
        return Vec::new();
    };
    let app = rng.r#gen::<bool>();
    let (channel, device) = if app {
        (Channel::InApp, &a.phone)
    } else {
        (Channel::WebWidget, &a.desktop)
    };
    let exit = rng.gen_range(0..5u8);
    let ip = match pick(&p::FATIGUE_NETWORK, rng) {
        0 => places::broadband(a.city, a.line),
        1 => places::vpn(exit, rng),
        2 => places::hosting(rng),
        _ => places::mobile(v.home, rng),
    };
    let own = city_at(a.city);
    let tz = if rng.r#gen::<bool>() {
        own.time_zone
    } else {
        city_at(v.home).time_zone
    };
    let info = device_info(device, app, &device.cookie_id, tz, own.languages);
    let pushes = rng.gen_range(p::FATIGUE_PUSHES.0..=p::FATIGUE_PUSHES.1);
    let give_in =
        (rng.r#gen::<f64>() < p::FATIGUE_GIVE_IN).then(|| rng.gen_range(pushes / 2..pushes));
    let sid = session(world, k, 2);
    let mut t = first;
    let mut out = Vec::with_capacity(pushes + 2);
    for i in 0..pushes {
        let mut d = Draft::new(t, &v.user_id, Scenario::MfaFatigue, channel);
        d.session_id = Some(sid.clone());
        d.ip = Some(ip.clone());
        d.device = Some(info.clone());
        d.failed_attempts = i as u32;
        d.passed_methods = vec!["password".to_string()];
        if rng.r#gen::<f64>() < p::TYPING_SHARE {
            let who = if app { &a.thumbs } else { &a.keyboard };
            d.typing = Some(who.type_message(rng));
        }
        let gave_in = give_in == Some(i);
        d.outcomes
            .push(challenge(t, if gave_in { 1.0 } else { 0.0 }, rng));
        t += minutes((2, 12), rng);
        out.push(d);
        if gave_in {
            for action in [Action::AddPayee, Action::Payment] {
                let mut d = out
                    .last()
                    .cloned()
                    .unwrap_or_else(|| Draft::new(t, &v.user_id, Scenario::MfaFatigue, channel));
                d.at_ms = t;
                d.action = action;
                d.typing = None;
                d.outcomes.clear();
                out.push(d);
                t += minutes((1, 10), rng);
            }
            if rng.r#gen::<f64>() < p::CONFIRMED_FRAUD[3] {
                confirm_fraud(&mut out, rng);
            }
            break;
        }
    }
    out
}
