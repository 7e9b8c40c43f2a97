//! The six attack campaigns. Each function documents the signals its attack leaves; all draw
//! only from the scenario's own RNG in [`Ctx`] and read, never change, the genuine population.

use rand::Rng;
use rand::seq::index;
use rand_chacha::ChaCha8Rng;

use super::{
    ATO_SUBTLE_RATE, Ctx, REPLAY_JITTER_RATE, STUFFING_BURST, STUFFING_GAP_MS, Shot, VPN_SPOOF_RATE,
};
use crate::domain::{Action, Channel, DeviceInfo};
use crate::gen_data::draft::weighted;
use crate::gen_data::population::new_device;
use crate::gen_data::typing::{Rhythm, bot_typing, replay, std_normal};
use crate::gen_data::world::{self, DeviceKind, Net};
use crate::gen_data::{DAY_MS, HOUR_MS, Scenario};

fn headless_device(rng: &mut ChaCha8Rng, id: Option<String>) -> DeviceInfo {
    let ua = if rng.gen_bool(0.7) {
        world::pick(rng, &world::HEADLESS_AGENTS)
    } else {
        world::pick(rng, &world::DESKTOP_AGENTS).1
    };
    DeviceInfo {
        id,
        user_agent: Some(ua.to_string()),
        platform: Some("Linux x86_64".to_string()),
        timezone: Some("UTC".to_string()),
        languages: vec!["en-US".to_string()],
        screen: Some("800x600".to_string()),
        webdriver: rng.gen_bool(0.3).then_some(true),
    }
}

/// One hosting IP (`45.x`) tries 10–40 different users within minutes: failed attempts 1–5,
/// headless user agents, mostly fresh device ids, no typing or bot typing.
pub(super) fn credential_stuffing(c: &mut Ctx) {
    let ips: Vec<String> = (0..c.rng.gen_range(1..=3))
        .map(|_| world::ip_in(Net::Hosting, &mut c.rng))
        .collect();
    let size = c
        .rng
        .gen_range(STUFFING_BURST.0..=STUFFING_BURST.1)
        .min(c.people.len());
    let victims = index::sample(&mut c.rng, c.people.len(), size).into_vec();
    let shared_id = c.rng.gen_bool(0.3).then(|| world::device_id(&mut c.rng));
    let bot_interval = c
        .rng
        .gen_bool(0.4)
        .then(|| f64::from(c.rng.gen_range(60..=140)));
    let mut ts = c.any_time();
    for user in victims {
        ts += c.rng.gen_range(STUFFING_GAP_MS.0..=STUFFING_GAP_MS.1);
        let id = shared_id
            .clone()
            .unwrap_or_else(|| world::device_id(&mut c.rng));
        let device = c
            .rng
            .gen_bool(0.9)
            .then(|| headless_device(&mut c.rng, Some(id)));
        let shot = Shot {
            ts_ms: ts,
            user,
            channel: Channel::WebWidget,
            action: Action::Login,
            ip: Some(ips[c.rng.gen_range(0..ips.len())].clone()),
            device,
            typing: bot_interval.map(|i| bot_typing(&mut c.rng, i)),
            failed_attempts: c.rng.gen_range(1..=5),
            sim_changed_ms: None,
        };
        let session = Some(c.new_session());
        c.push(Scenario::CredentialStuffing, session, shot);
    }
}

/// A victim's account from a new device, usually in another country (residential or mobile IP,
/// that country's time zone and languages), at an hour unusual for the victim, typed with another
/// person's rhythm, going for change_contact/payment. A quarter are subtle: same country.
pub(super) fn account_takeover(c: &mut Ctx) {
    let user = c.victim();
    let Some(v) = c.people.get(user) else { return };
    let subtle = c.rng.gen_bool(ATO_SUBTLE_RATE);
    let city = match (subtle, c.rng.gen_bool(0.5)) {
        (true, true) => v.home,
        (true, false) => world::pick_other_city(&mut c.rng, v.home, false),
        _ => world::pick_other_city(&mut c.rng, v.home, true),
    };
    let net = if c.rng.gen_bool(0.6) {
        Net::Residential(city)
    } else {
        Net::Mobile(city)
    };
    let ip = world::ip_in(net, &mut c.rng);
    let kind = if c.rng.gen_bool(0.6) {
        DeviceKind::Desktop
    } else {
        DeviceKind::Phone
    };
    let device = new_device(&mut c.rng, kind, city).info;
    let rhythm = Rhythm::sample(&mut c.rng);
    let hour = if subtle && c.rng.gen_bool(0.5) {
        v.peak_hour + v.spread_h * std_normal(&mut c.rng)
    } else {
        v.peak_hour + 12.0 + c.rng.gen_range(-3.0..3.0)
    };
    let mut ts = c.at_local_hour(user, hour);
    let channel = if kind == DeviceKind::Desktop || c.rng.gen_bool(0.5) {
        Channel::WebWidget
    } else {
        Channel::InApp
    };
    let steps = c.rng.gen_range(1..=3);
    let session = Some(c.new_session());
    for step in 0..steps {
        let action = if step == 0 && steps > 1 {
            Action::Login
        } else {
            c.sensitive_action()
        };
        let shot = Shot {
            ts_ms: ts,
            user,
            channel,
            action,
            ip: Some(ip.clone()),
            device: Some(device.clone()),
            typing: c.rng.gen_bool(0.9).then(|| rhythm.type_message(&mut c.rng)),
            failed_attempts: if step == 0 {
                weighted(&mut c.rng, &[700, 200, 100]) as u32
            } else {
                0
            },
            sim_changed_ms: None,
        };
        c.push(Scenario::AccountTakeover, session.clone(), shot);
        ts += c.rng.gen_range(60_000..=360_000);
    }
}

/// Tor (`47.x`, Tor Browser user agent, UTC, en-US) or VPN/proxy attackers (`46.x` VPN, `48.x`
/// open proxy or the subtle `49.0` residential proxy; some spoof the victim's time zone and
/// languages). New device, another person's typing, sensitive actions, any hour.
pub(super) fn anonymised(c: &mut Ctx, scenario: Scenario) {
    let user = c.victim();
    let Some(v) = c.people.get(user) else { return };
    let (ip, device) = if scenario == Scenario::TorAttack {
        let device = DeviceInfo {
            id: Some(world::device_id(&mut c.rng)),
            user_agent: Some(world::TOR_AGENT.to_string()),
            platform: Some("Win32".to_string()),
            timezone: Some("UTC".to_string()),
            languages: vec!["en-US".to_string(), "en".to_string()],
            screen: Some("1400x900".to_string()),
            webdriver: None,
        };
        (world::ip_in(Net::Tor, &mut c.rng), device)
    } else {
        let net = [Net::Vpn, Net::PublicProxy, Net::ResidentialProxy]
            [weighted(&mut c.rng, &[50, 25, 25])];
        let city = world::pick_other_city(&mut c.rng, v.home, true);
        let mut device = new_device(&mut c.rng, DeviceKind::Desktop, city).info;
        if c.rng.gen_bool(VPN_SPOOF_RATE) {
            device.timezone = v.phone.info.timezone.clone();
            device.languages = v.phone.info.languages.clone();
        }
        (world::ip_in(net, &mut c.rng), device)
    };
    let rhythm = Rhythm::sample(&mut c.rng);
    let mut ts = c.any_time();
    let session = Some(c.new_session());
    for step in 0..c.rng.gen_range(1..=2) {
        let action = if step == 0 && c.rng.gen_bool(0.4) {
            Action::Login
        } else {
            c.sensitive_action()
        };
        let shot = Shot {
            ts_ms: ts,
            user,
            channel: Channel::WebWidget,
            action,
            ip: Some(ip.clone()),
            device: Some(device.clone()),
            typing: c.rng.gen_bool(0.8).then(|| rhythm.type_message(&mut c.rng)),
            failed_attempts: if step == 0 { c.rng.gen_range(0..=2) } else { 0 },
            sim_changed_ms: None,
        };
        c.push(scenario, session.clone(), shot);
        ts += c.rng.gen_range(60_000..=300_000);
    }
}

/// A script hitting 1–4 users: machine-regular typing (dwell 50 ± 1 ms, constant interval ± 1
/// ms), hosting or residential-proxy IP, headless or spoofed user agent, sometimes `webdriver`.
pub(super) fn bot(c: &mut Ctx) {
    let interval = f64::from(c.rng.gen_range(80..=160));
    let net = if c.rng.gen_bool(0.6) {
        Net::Hosting
    } else {
        Net::ResidentialProxy
    };
    let ip = world::ip_in(net, &mut c.rng);
    let webdriver = c.rng.gen_bool(0.4);
    let mut ts = c.any_time();
    for _ in 0..c.rng.gen_range(1..=4) {
        let user = c.victim();
        let id = world::device_id(&mut c.rng);
        let mut device = headless_device(&mut c.rng, Some(id));
        device.webdriver = webdriver.then_some(true);
        let session = Some(c.new_session());
        for _ in 0..c.rng.gen_range(1..=3) {
            let action = [Action::Login, Action::ViewAccount, Action::Payment]
                [weighted(&mut c.rng, &[60, 20, 20])];
            let shot = Shot {
                ts_ms: ts,
                user,
                channel: Channel::WebWidget,
                action,
                ip: Some(ip.clone()),
                device: Some(device.clone()),
                typing: Some(bot_typing(&mut c.rng, interval)),
                failed_attempts: c.rng.gen_range(0..=1),
                sim_changed_ms: None,
            };
            c.push(Scenario::Bot, session.clone(), shot);
            ts += c.rng.gen_range(5_000..=30_000);
        }
    }
}

/// An exact copy (or ±1–2 ms jittered copy) of one of the victim's earlier genuine key-event
/// samples, sent later from an attacker IP (residential proxy, foreign residential, VPN) on a new
/// device id, half the time spoofing the victim's user agent, time zone and languages.
pub(super) fn typing_replay(c: &mut Ctx) {
    if c.typed.is_empty() {
        return;
    }
    let (user, i) = c.typed[c.rng.gen_range(0..c.typed.len())];
    let Some(sample) = c.genuine.get(user).and_then(|ds| ds.get(i)) else {
        return;
    };
    let Some(keys) = &sample.typing else { return };
    let earliest = sample.ts_ms + 60_000;
    if earliest >= c.cfg.end {
        return;
    }
    let ts = sample.ts_ms + c.rng.gen_range(HOUR_MS..=20 * DAY_MS);
    let ts = if ts < c.cfg.end {
        ts
    } else {
        c.rng.gen_range(earliest..c.cfg.end)
    };
    let home = c.people.get(user).map_or(0, |p| p.home);
    let city = world::pick_other_city(&mut c.rng, home, true);
    let net = [Net::ResidentialProxy, Net::Residential(city), Net::Vpn]
        [weighted(&mut c.rng, &[40, 40, 20])];
    let mut device = match (&sample.device, c.rng.gen_bool(0.5)) {
        (Some(d), true) => d.clone(),
        _ => new_device(&mut c.rng, DeviceKind::Desktop, city).info,
    };
    device.id = Some(world::device_id(&mut c.rng));
    let channel = if sample.channel == Channel::InApp {
        Channel::InApp
    } else {
        Channel::WebWidget
    };
    let action = [Action::Login, Action::Payment, Action::ChangeContact]
        [weighted(&mut c.rng, &[30, 35, 35])];
    let jitter = c.rng.gen_bool(REPLAY_JITTER_RATE);
    let shot = Shot {
        ts_ms: ts,
        user,
        channel,
        action,
        ip: Some(world::ip_in(net, &mut c.rng)),
        device: Some(device),
        typing: Some(replay(keys, jitter, &mut c.rng)),
        failed_attempts: 0,
        sim_changed_ms: None,
    };
    let session = Some(c.new_session());
    c.push(Scenario::TypingReplay, session, shot);
}
