//! Attacks on the victim's own trusted device: stolen browser cookies replayed from elsewhere
//! (infostealer malware), and remote control of the victim's phone (a remote-access trojan or a
//! screen-sharing "bank support" scam). The device id is one the bank verified for the victim,
//! so device trust says nothing; what is left is typing, time, action and (for cookies) place.
//!
//! Both are common takeover routes: infostealer malware sells session cookies that let a buyer
//! skip the login (Google Threat Analysis Group, "Phishing campaign targets YouTube creators with
//! cookie theft malware", October 2021), and Android banking trojans and screen-sharing scams
//! drive the victim's own app. Attackers here still never pass a challenge (see `draft`): the
//! generator keeps verified outcomes for the victim and the SIM-swap tactic only.

use rand::Rng;

use super::subtle::foreign_typing;
use super::{Ctx, Shot};
use crate::domain::{Action, Channel};
use crate::gen_data::Scenario;
use crate::gen_data::draft::weighted;
use crate::gen_data::typing::Rhythm;
use crate::gen_data::world::{self, DeviceKind, Net};

/// Where stolen-cookie sessions come from, weights: a residential address in the victim's city
/// (a proxy exit picked to match), the flagged residential-proxy network, another city of the
/// victim's country, abroad.
pub const HIJACK_NETWORK_WEIGHTS: [u32; 4] = [40, 20, 20, 20];
/// Share of stolen-cookie sessions at the victim's usual hours (the rest at any time).
pub const HIJACK_USUAL_HOURS_RATE: f64 = 0.6;
/// Attempts to find a victim with a desktop browser (cookies are stolen from desktops).
const VICTIM_TRIES: usize = 8;
/// Share of remote-access frauds at night in the victim's time zone (01–05, while the victim
/// sleeps); the rest happen during a scam call at the victim's usual hours.
pub const REMOTE_NIGHT_RATE: f64 = 0.6;
/// Share of remote-access frauds in the bank's app (the rest in the phone's browser widget).
pub const REMOTE_IN_APP_RATE: f64 = 0.7;
/// Share of remote-access requests with no key events (text injected through accessibility
/// services); the rest are typed by the operator through the remote session.
pub const REMOTE_UNTYPED_RATE: f64 = 0.5;
/// Extra timing jitter (log-normal σ) that a remote session adds to the operator's keys.
pub const REMOTE_JITTER_SIGMA: f64 = 0.15;

/// A session replaying the victim's stolen desktop cookies: the victim's own device id, user
/// agent, screen, time zone and languages, from a residential address in the victim's city or
/// elsewhere, already logged in (no failures), going for sensitive actions. Leaves: the address
/// (new for the victim; a proxy flag on some; a new city or country on some), another person's
/// typing or none, a sensitive action, sometimes the hour.
pub(super) fn session_hijack(c: &mut Ctx) {
    let people = c.people;
    let Some(user) = (0..VICTIM_TRIES)
        .map(|_| c.victim())
        .find(|&u| people.get(u).is_some_and(|p| p.desktop.is_some()))
    else {
        return;
    };
    let Some((home, device)) = c
        .people
        .get(user)
        .and_then(|p| p.desktop.as_ref().map(|d| (p.home, d.info.clone())))
    else {
        return;
    };
    let net = match weighted(&mut c.rng, &HIJACK_NETWORK_WEIGHTS) {
        0 => Net::Residential(home),
        1 => Net::ResidentialProxy,
        2 => Net::Residential(world::pick_other_city(&mut c.rng, home, false)),
        _ => Net::Residential(world::pick_other_city(&mut c.rng, home, true)),
    };
    let ip = world::ip_in(net, &mut c.rng);
    let mut ts = if c.rng.gen_bool(HIJACK_USUAL_HOURS_RATE) {
        let hour = c.usual_hour(user);
        c.at_local_hour(user, hour)
    } else {
        c.any_time()
    };
    let rhythm = Rhythm::sample(&mut c.rng);
    let session = Some(c.new_session());
    for _ in 0..c.rng.gen_range(1..=3) {
        let shot = Shot {
            ts_ms: ts,
            user,
            channel: Channel::WebWidget,
            action: c.sensitive_action(),
            ip: Some(ip.clone()),
            device: Some(device.clone()),
            typing: foreign_typing(c, &rhythm, DeviceKind::Desktop),
            failed_attempts: 0,
            sim_changed_ms: None,
        };
        c.push(Scenario::SessionHijack, session.clone(), shot);
        ts += c.rng.gen_range(60_000..=600_000);
    }
}

/// Remote control of the victim's current phone: its own device record, on the victim's home
/// Wi-Fi or mobile carrier, at night while the victim sleeps or during a scam call, a payment or
/// a new payee, with no key events (injected text) or the operator's typing relayed with extra
/// jitter. Leaves: the hour on most, a sensitive action, typing that is absent or not the
/// victim's; device and place look like the victim.
pub(super) fn remote_access(c: &mut Ctx) {
    let user = c.victim();
    let hour = if c.rng.gen_bool(REMOTE_NIGHT_RATE) {
        c.rng.gen_range(1.0..5.0)
    } else {
        c.usual_hour(user)
    };
    let mut ts = c.at_local_hour(user, hour);
    let Some(p) = c.people.get(user) else { return };
    let phone = match &p.new_phone {
        Some((at, dev)) if ts >= *at => dev.info.clone(),
        _ => p.phone.info.clone(),
    };
    let (home, wifi) = (p.home, p.home_ips[0].clone());
    let on_wifi = c.rng.gen_bool(0.6);
    let channel = if c.rng.gen_bool(REMOTE_IN_APP_RATE) {
        Channel::InApp
    } else {
        Channel::WebWidget
    };
    let mut operator = Rhythm::sample(&mut c.rng);
    operator.sigma = (operator.sigma + REMOTE_JITTER_SIGMA).min(0.6);
    let session = Some(c.new_session());
    for step in 0..c.rng.gen_range(1..=2) {
        let ip = if on_wifi {
            wifi.clone()
        } else {
            world::ip_in(Net::Mobile(home), &mut c.rng)
        };
        let typing =
            (!c.rng.gen_bool(REMOTE_UNTYPED_RATE)).then(|| operator.type_message(&mut c.rng));
        let action = if step == 0 && c.rng.gen_bool(0.7) {
            Action::Payment
        } else {
            Action::AddPayee
        };
        let shot = Shot {
            ts_ms: ts,
            user,
            channel,
            action,
            ip: Some(ip),
            device: Some(phone.clone()),
            typing,
            failed_attempts: 0,
            sim_changed_ms: None,
        };
        c.push(Scenario::RemoteAccess, session.clone(), shot);
        ts += c.rng.gen_range(60_000..=300_000);
    }
}
