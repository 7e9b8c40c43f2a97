//! The subtle attack tactics: each looks like a customer on most signals and leaves only a few
//! weak ones (a new device, another person's typing, a proxy flag on half of them, a sensitive
//! action). Every tactic documents what it leaves; `data/README.md` has the table.
//!
//! Attackers here hold the victim's password (phished, bought, or guessed) but not the victim's
//! phone — except after a SIM swap — so they never pass a challenge (see `draft`). Each tactic
//! draws only from its scenario's RNG and reads, never changes, the genuine population.

use rand::Rng;
use rand::seq::index;

use super::{Ctx, Shot};
use crate::domain::{Action, Channel, DeviceInfo};
use crate::gen_data::draft::weighted;
use crate::gen_data::population::new_device;
use crate::gen_data::typing::Rhythm;
use crate::gen_data::world::{self, CITIES, DeviceKind, Net};
use crate::gen_data::{DAY_MS, HOUR_MS, Scenario};

/// Share of local takeovers on the victim's city's mobile carrier (the rest use a residential
/// line in the victim's city).
pub const LOCAL_MOBILE_RATE: f64 = 0.7;
/// Share of residential-proxy attacks through the flagged proxy network `49.0.0.0/16` (the rest
/// exit on a plain residential address of the victim's city, which no list flags).
pub const FLAGGED_PROXY_RATE: f64 = 0.5;
/// Share of spoofed-locale attackers in another city of the victim's country (the rest abroad).
pub const SPOOF_SAME_COUNTRY_RATE: f64 = 0.6;
/// Victims per human-paced bot campaign.
pub const HUMAN_BOT_VICTIMS: (usize, usize) = (4, 12);
/// Days a human-paced bot campaign lasts.
pub const HUMAN_BOT_DAYS: (i64, i64) = (1, 3);
/// Range of a human-paced bot's timing jitter (log-normal σ): inside the human range
/// [`crate::gen_data::typing::SIGMA`], at its steady end.
pub const HUMAN_BOT_SIGMA: (f64, f64) = (0.12, 0.2);
/// Days a low-and-slow campaign is spread over.
pub const LOW_SLOW_DAYS: (i64, i64) = (3, 10);
/// Attempts per low-and-slow campaign, each on a different user.
pub const LOW_SLOW_ATTEMPTS: (usize, usize) = (15, 60);
/// A low-and-slow address is reused only after resting this long, ms, so it never makes more
/// than one attempt in any hour (far below per-IP velocity thresholds).
pub const LOW_SLOW_IP_REST_MS: i64 = 2 * HOUR_MS;
/// Most attempts one low-and-slow address makes over the whole campaign.
pub const LOW_SLOW_IP_USES: usize = 3;
/// Harmless low-sensitivity requests a warm-up attacker makes before striking.
pub const WARM_UP_REQUESTS: (usize, usize) = (2, 5);
/// Days the warm-up requests are spread over.
pub const WARM_UP_DAYS: (i64, i64) = (1, 5);
/// Share of SIM-swap fraudsters who use SMS (the rest WhatsApp, on the victim's number).
pub const SIM_SWAP_SMS_RATE: f64 = 0.6;
/// How long before the attack the SIM was swapped, ms.
pub const SIM_SWAP_LEAD_MS: (i64, i64) = (HOUR_MS, 72 * HOUR_MS);
/// Probability that a subtle attacker's web or app request carries key events (the rest paste
/// or autofill).
pub const SUBTLE_TYPING_RATE: f64 = 0.75;

/// Low-sensitivity actions a warm-up attacker looks around with.
const WARM_UP_ACTIONS: [Action; 2] = [Action::ViewAccount, Action::ViewTransactions];

/// A fresh device of `kind` whose time zone and languages are the victim's (an anti-detect
/// browser or a phone set up to look local).
fn spoofed_device(c: &mut Ctx, kind: DeviceKind, user: usize) -> DeviceInfo {
    let home = c.people.get(user).map_or(0, |p| p.home);
    let mut info = new_device(&mut c.rng, kind, home).info;
    if let Some(v) = c.people.get(user) {
        info.timezone = v.phone.info.timezone.clone();
        info.languages = v.phone.info.languages.clone();
    }
    info
}

/// Another person's typing on `kind`, or none (pasted, autofilled).
pub(super) fn foreign_typing(
    c: &mut Ctx,
    rhythm: &Rhythm,
    kind: DeviceKind,
) -> Option<Vec<crate::domain::KeyEvent>> {
    if !c.rng.gen_bool(SUBTLE_TYPING_RATE) {
        return None;
    }
    let r = match kind {
        DeviceKind::Phone => rhythm.on_touch(),
        DeviceKind::Desktop => *rhythm,
    };
    Some(r.type_message(&mut c.rng))
}

fn channel_for(c: &mut Ctx, kind: DeviceKind) -> Channel {
    if kind == DeviceKind::Desktop || c.rng.gen_bool(0.5) {
        Channel::WebWidget
    } else {
        Channel::InApp
    }
}

/// A session of 1–3 steps, minutes apart: a log-in then sensitive actions, from `net` (a new
/// address per step on a mobile network), with another person's typing.
#[allow(clippy::too_many_arguments)]
fn session(
    c: &mut Ctx,
    scenario: Scenario,
    user: usize,
    mut ts: i64,
    net: Net,
    kind: DeviceKind,
    device: DeviceInfo,
) {
    let rhythm = Rhythm::sample(&mut c.rng);
    let channel = channel_for(c, kind);
    let steps = c.rng.gen_range(1..=3);
    let session = Some(c.new_session());
    let mut ip = world::ip_in(net, &mut c.rng);
    for step in 0..steps {
        let action = if step == 0 && steps > 1 {
            Action::Login
        } else {
            c.sensitive_action()
        };
        if step > 0 && matches!(net, Net::Mobile(_)) {
            ip = world::ip_in(net, &mut c.rng);
        }
        let shot = Shot {
            ts_ms: ts,
            user,
            channel,
            action,
            ip: Some(ip.clone()),
            device: Some(device.clone()),
            typing: foreign_typing(c, &rhythm, kind),
            failed_attempts: if step == 0 {
                weighted(&mut c.rng, &[800, 150, 50]) as u32
            } else {
                0
            },
            sim_changed_ms: None,
        };
        c.push(scenario, session.clone(), shot);
        ts += c.rng.gen_range(60_000..=360_000);
    }
}

/// Takeover from the victim's own city and mobile carrier (or a residential line there), on a
/// new phone or desktop set up with the victim's locale, at the victim's usual hours. Leaves: a
/// new device, another person's typing, a sensitive action; nothing about place or time.
pub(super) fn local_takeover(c: &mut Ctx) {
    let user = c.victim();
    let Some(home) = c.people.get(user).map(|p| p.home) else {
        return;
    };
    let net = if c.rng.gen_bool(LOCAL_MOBILE_RATE) {
        Net::Mobile(home)
    } else {
        Net::Residential(home)
    };
    let kind = if c.rng.gen_bool(0.6) {
        DeviceKind::Phone
    } else {
        DeviceKind::Desktop
    };
    let device = spoofed_device(c, kind, user);
    let hour = c.usual_hour(user);
    let ts = c.at_local_hour(user, hour);
    session(c, Scenario::LocalTakeover, user, ts, net, kind, device);
}

/// An attacker behind the residential proxy network `49.0.0.0/16` (flagged `residential_proxy`,
/// located in New York) or a plain residential address of the victim's city (flagged by
/// nothing), with a desktop spoofing the victim's time zone and languages, at the victim's
/// hours 60 % of the time. Leaves: a new device, a proxy flag and a far location on half, a
/// time-zone mismatch where the victim lives far from New York, another person's typing.
pub(super) fn residential_proxy(c: &mut Ctx) {
    let user = c.victim();
    let Some(home) = c.people.get(user).map(|p| p.home) else {
        return;
    };
    let net = if c.rng.gen_bool(FLAGGED_PROXY_RATE) {
        Net::ResidentialProxy
    } else {
        Net::Residential(home)
    };
    let device = spoofed_device(c, DeviceKind::Desktop, user);
    let ts = if c.rng.gen_bool(0.6) {
        let hour = c.usual_hour(user);
        c.at_local_hour(user, hour)
    } else {
        c.any_time()
    };
    session(
        c,
        Scenario::ResidentialProxy,
        user,
        ts,
        net,
        DeviceKind::Desktop,
        device,
    );
}

/// An attacker whose browser reports the victim's time zone and languages, on a residential or
/// mobile address in another city of the victim's country (60 %) or abroad, at the victim's
/// hours. Leaves: a new device, a new city (or country, and then a time-zone and language
/// mismatch with the address), another person's typing.
pub(super) fn spoofed_locale(c: &mut Ctx) {
    let user = c.victim();
    let Some(home) = c.people.get(user).map(|p| p.home) else {
        return;
    };
    let same_country = c.rng.gen_bool(SPOOF_SAME_COUNTRY_RATE);
    let city = world::pick_other_city(&mut c.rng, home, !same_country);
    let net = if c.rng.gen_bool(0.6) {
        Net::Residential(city)
    } else {
        Net::Mobile(city)
    };
    let device = spoofed_device(c, DeviceKind::Desktop, user);
    let hour = c.usual_hour(user);
    let ts = c.at_local_hour(user, hour);
    session(
        c,
        Scenario::SpoofedLocale,
        user,
        ts,
        net,
        DeviceKind::Desktop,
        device,
    );
}

/// A script that types with a human rhythm (jitter inside the human range, no corrections) and
/// paces itself like people: one short session per victim at the victim's usual hour, over 1–3
/// days, each from a new residential, mobile or residential-proxy address with an ordinary
/// browser (no webdriver, no headless agent) set to the victim's locale. Leaves: a new device,
/// typing that is not the victim's, the same typist across many accounts (not a per-user
/// feature), a proxy flag on some.
pub(super) fn human_paced_bot(c: &mut Ctx) {
    let mut persona = Rhythm::sample(&mut c.rng);
    persona.sigma = c.rng.gen_range(HUMAN_BOT_SIGMA.0..HUMAN_BOT_SIGMA.1);
    persona.backspace_rate = 0.0;
    let n = c
        .rng
        .gen_range(HUMAN_BOT_VICTIMS.0..=HUMAN_BOT_VICTIMS.1)
        .min(c.people.len());
    let days = c.rng.gen_range(HUMAN_BOT_DAYS.0..=HUMAN_BOT_DAYS.1);
    let first = c.attack_day();
    for user in index::sample(&mut c.rng, c.people.len(), n).into_vec() {
        let Some(home) = c.people.get(user).map(|p| p.home) else {
            continue;
        };
        let net = match weighted(&mut c.rng, &[40, 40, 20]) {
            0 => Net::ResidentialProxy,
            1 => Net::Residential(world::pick_other_city(&mut c.rng, home, false)),
            _ => Net::Mobile(world::pick_other_city(&mut c.rng, home, false)),
        };
        let ip = world::ip_in(net, &mut c.rng);
        let device = spoofed_device(c, DeviceKind::Desktop, user);
        let hour = c.usual_hour(user);
        let day = first + c.rng.gen_range(0..days);
        let mut ts = c.local_ts(user, day, hour);
        let session = Some(c.new_session());
        for step in 0..c.rng.gen_range(1..=2) {
            let action = if step == 0 {
                Action::Login
            } else {
                [Action::ViewAccount, Action::Payment][weighted(&mut c.rng, &[50, 50])]
            };
            let shot = Shot {
                ts_ms: ts,
                user,
                channel: Channel::WebWidget,
                action,
                ip: Some(ip.clone()),
                device: Some(device.clone()),
                typing: Some(persona.type_message(&mut c.rng)),
                failed_attempts: weighted(&mut c.rng, &[700, 250, 50]) as u32,
                sim_changed_ms: None,
            };
            c.push(Scenario::HumanPacedBot, session.clone(), shot);
            ts += c.rng.gen_range(90_000..=600_000);
        }
    }
}

/// Credential testing spread over 3–10 days: each attempt on a different user, from a rotating
/// pool of residential, mobile and residential-proxy addresses, each address resting
/// [`LOW_SLOW_IP_REST_MS`] between uses and used at most [`LOW_SLOW_IP_USES`] times; an
/// ordinary browser with the address's locale; mostly pasted credentials (no typing). Leaves: a
/// failed attempt on most, a new device, a new city or country; no velocity signal.
pub(super) fn low_and_slow(c: &mut Ctx) {
    let n = c
        .rng
        .gen_range(LOW_SLOW_ATTEMPTS.0..=LOW_SLOW_ATTEMPTS.1)
        .min(c.people.len());
    let days = c.rng.gen_range(LOW_SLOW_DAYS.0..=LOW_SLOW_DAYS.1);
    let start = c.any_time();
    let mut times: Vec<i64> = (0..n)
        .map(|_| start + c.rng.gen_range(0..days * DAY_MS))
        .collect();
    times.sort_unstable();
    // (address, city, last use, uses)
    let mut pool: Vec<(String, usize, i64, usize)> = Vec::new();
    let victims = index::sample(&mut c.rng, c.people.len(), n).into_vec();
    let typist = Rhythm::sample(&mut c.rng);
    for (user, ts) in victims.into_iter().zip(times) {
        let free = pool.iter().position(|(_, _, last, uses)| {
            ts - last >= LOW_SLOW_IP_REST_MS && *uses < LOW_SLOW_IP_USES
        });
        let slot = match free {
            Some(i) => i,
            None => {
                let city = c.rng.gen_range(0..CITIES.len());
                let (net, city) = match weighted(&mut c.rng, &[50, 20, 30]) {
                    0 => (Net::Residential(city), city),
                    1 => (Net::Mobile(city), city),
                    // The proxy network is located in New York.
                    _ => (Net::ResidentialProxy, 11),
                };
                pool.push((world::ip_in(net, &mut c.rng), city, i64::MIN / 2, 0));
                pool.len() - 1
            }
        };
        let Some(entry) = pool.get_mut(slot) else {
            continue;
        };
        entry.2 = ts;
        entry.3 += 1;
        let (ip, city) = (entry.0.clone(), entry.1);
        let device = new_device(&mut c.rng, DeviceKind::Desktop, city).info;
        let typing = c.rng.gen_bool(0.3).then(|| typist.type_message(&mut c.rng));
        let shot = Shot {
            ts_ms: ts,
            user,
            channel: Channel::WebWidget,
            action: Action::Login,
            ip: Some(ip),
            device: Some(device),
            typing,
            failed_attempts: weighted(&mut c.rng, &[300, 500, 200]) as u32,
            sim_changed_ms: None,
        };
        let session = Some(c.new_session());
        c.push(Scenario::LowAndSlow, session, shot);
    }
}

/// An attacker with the victim's password who first looks around with 2–5 harmless
/// low-sensitivity requests (view_account, view_transactions) over 1–5 days at the victim's
/// hours, from a new device with the victim's locale on a residential or mobile address in the
/// victim's country, then strikes with one high-sensitivity action a day or two later. Leaves:
/// a new device, a new city on half, another person's typing, and a sensitive action only at
/// the end.
pub(super) fn warm_up(c: &mut Ctx) {
    let user = c.victim();
    let Some(home) = c.people.get(user).map(|p| p.home) else {
        return;
    };
    let city = if c.rng.gen_bool(0.5) {
        home
    } else {
        world::pick_other_city(&mut c.rng, home, false)
    };
    let net = if c.rng.gen_bool(0.5) {
        Net::Residential(city)
    } else {
        Net::Mobile(city)
    };
    let kind = if c.rng.gen_bool(0.6) {
        DeviceKind::Desktop
    } else {
        DeviceKind::Phone
    };
    let device = spoofed_device(c, kind, user);
    let rhythm = Rhythm::sample(&mut c.rng);
    let channel = channel_for(c, kind);
    let warm = c.rng.gen_range(WARM_UP_REQUESTS.0..=WARM_UP_REQUESTS.1);
    let span = c.rng.gen_range(WARM_UP_DAYS.0..=WARM_UP_DAYS.1);
    let first = c.attack_day();
    let mut days: Vec<i64> = (0..warm)
        .map(|_| first + c.rng.gen_range(0..span))
        .collect();
    days.sort_unstable();
    let strike_day = days.last().copied().unwrap_or(first) + c.rng.gen_range(1..=2);
    days.push(strike_day);
    let mut ip = world::ip_in(net, &mut c.rng);
    let mut last_ts = i64::MIN;
    for (i, day) in days.into_iter().enumerate() {
        let hour = c.usual_hour(user);
        // Keep the requests in order even when two fall on one day.
        let ts = c.local_ts(user, day, hour).max(last_ts + 600_000);
        last_ts = ts;
        let action = if i < warm {
            WARM_UP_ACTIONS[c.rng.gen_range(0..WARM_UP_ACTIONS.len())]
        } else {
            c.sensitive_action()
        };
        if matches!(net, Net::Mobile(_)) {
            ip = world::ip_in(net, &mut c.rng);
        }
        let shot = Shot {
            ts_ms: ts,
            user,
            channel,
            action,
            ip: Some(ip.clone()),
            device: Some(device.clone()),
            typing: foreign_typing(c, &rhythm, kind),
            failed_attempts: 0,
            sim_changed_ms: None,
        };
        let session = Some(c.new_session());
        c.push(Scenario::WarmUp, session, shot);
    }
}

/// A fraudster who had the victim's number ported to their SIM 1–72 h earlier and writes to the
/// bank over SMS (60 %) or WhatsApp (with a thin record of a new phone half the time) asking for
/// password, contact or payment changes, at any hour. The broker's carrier check reports the
/// swap ([`crate::gen_data::genuine::CARRIER_CHECK_RATE`] of requests); SMS codes pass. Leaves:
/// a sensitive action, an unusual hour, a new device on some WhatsApp requests, and
/// `network.sim_changed_at` (a policy input, not a model feature).
pub(super) fn sim_swap(c: &mut Ctx) {
    let user = c.victim();
    if c.people.get(user).is_none() {
        return;
    }
    let mut ts = c.any_time();
    let swapped = ts - c.rng.gen_range(SIM_SWAP_LEAD_MS.0..=SIM_SWAP_LEAD_MS.1);
    let sms = c.rng.gen_bool(SIM_SWAP_SMS_RATE);
    let phone = new_device(&mut c.rng, DeviceKind::Phone, 0).info;
    let device = (!sms && c.rng.gen_bool(0.5)).then(|| DeviceInfo {
        id: phone.id.clone(),
        platform: phone.platform.clone(),
        ..DeviceInfo::default()
    });
    let session = (!sms).then(|| c.new_session());
    for _ in 0..c.rng.gen_range(1..=2) {
        let checked = c.rng.gen_bool(crate::gen_data::genuine::CARRIER_CHECK_RATE);
        let shot = Shot {
            ts_ms: ts,
            user,
            channel: if sms { Channel::Sms } else { Channel::Whatsapp },
            action: c.sensitive_action(),
            ip: None,
            device: device.clone(),
            typing: None,
            failed_attempts: 0,
            sim_changed_ms: checked.then_some(swapped),
        };
        c.push(Scenario::SimSwap, session.clone(), shot);
        ts += c.rng.gen_range(120_000..=900_000);
    }
}
