//! The labelled attacks: the loud tactics (credential stuffing, account takeover, Tor, VPN/proxy,
//! scripted bots, typing replay, in [`campaigns`]) and the subtle ones (local takeover,
//! residential proxies, spoofed locale, human-paced bots, low-and-slow, warm-up, SIM swap, in
//! [`subtle`]) and those on the victim's own trusted device (stolen cookies, remote access, in
//! [`trusted`]). Each scenario draws from its own RNG stream and stops once its share of the
//! attack budget is reached.
//!
//! Attacks read the genuine population (victims' homes, habits, recorded typing) but never change
//! it. Every attack leaves the signals described on its function; the subtle ones leave few, so
//! the problem is not separable. No attack happens before its victim's account exists.

mod campaigns;
pub mod subtle;
pub mod trusted;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use campaigns::{account_takeover, anonymised, bot, credential_stuffing, typing_replay};
use subtle::{
    human_paced_bot, local_takeover, low_and_slow, residential_proxy, sim_swap, spoofed_locale,
    warm_up,
};
use trusted::{remote_access, session_hijack};

use super::draft::{Draft, weighted};
use super::population::Person;
use super::typing::std_normal;
use super::world::CITIES;
use super::{ATTACK_STREAM, DAY_MS, GenConfig, HOUR_MS, Scenario, opaque_id, stream};
use crate::domain::{Action, Channel, DeviceInfo, KeyEvent};

/// Target share of attack score events among all score events.
pub const ATTACK_SHARE: f64 = 0.065;
/// Split of the attack budget between scenarios (per mille of attack score events).
pub const ATTACK_MIX: [(Scenario, u32); 15] = [
    (Scenario::CredentialStuffing, 140),
    (Scenario::AccountTakeover, 70),
    (Scenario::TorAttack, 30),
    (Scenario::VpnAttack, 40),
    (Scenario::Bot, 40),
    (Scenario::TypingReplay, 40),
    (Scenario::LocalTakeover, 90),
    (Scenario::ResidentialProxy, 70),
    (Scenario::SpoofedLocale, 60),
    (Scenario::HumanPacedBot, 70),
    (Scenario::LowAndSlow, 80),
    (Scenario::WarmUp, 80),
    (Scenario::SimSwap, 40),
    (Scenario::SessionHijack, 90),
    (Scenario::RemoteAccess, 60),
];
/// Share of account takeovers from the victim's own country on a residential or mobile IP.
pub const ATO_SUBTLE_RATE: f64 = 0.25;
/// Attempts per credential-stuffing burst (each on a different user).
pub const STUFFING_BURST: (usize, usize) = (10, 40);
/// Gap between credential-stuffing attempts, ms.
pub const STUFFING_GAP_MS: (i64, i64) = (2_000, 30_000);
/// Share of VPN attackers who spoof the victim's time zone and languages.
pub const VPN_SPOOF_RATE: f64 = 0.3;
/// Share of typing replays with ±1–2 ms jitter (the rest are exact copies).
pub const REPLAY_JITTER_RATE: f64 = 0.5;
/// Weights of the high-sensitivity actions attackers go for: change_contact, payment, add_payee,
/// change_password.
pub const TAKEOVER_ACTIONS: [(Action, u32); 4] = [
    (Action::ChangeContact, 40),
    (Action::Payment, 35),
    (Action::AddPayee, 15),
    (Action::ChangePassword, 10),
];

/// Generates every attack scenario, indexed as [`ATTACK_MIX`], each sorted by time.
pub fn generate(
    cfg: &GenConfig,
    people: &[Person],
    genuine: &[Vec<Draft>],
    genuine_scores: usize,
) -> Vec<Vec<Draft>> {
    let total = genuine_scores as f64 * ATTACK_SHARE / (1.0 - ATTACK_SHARE);
    let typed: Vec<(usize, usize)> = genuine
        .iter()
        .enumerate()
        .flat_map(|(u, ds)| {
            ds.iter()
                .enumerate()
                .filter(|(_, d)| d.typing.is_some())
                .map(move |(i, _)| (u, i))
        })
        .collect();
    ATTACK_MIX
        .par_iter()
        .enumerate()
        .map(|(k, &(scenario, share))| {
            let budget = (total * f64::from(share) / 1000.0).round() as usize;
            let mut c = Ctx {
                cfg,
                people,
                genuine,
                typed: &typed,
                k: k as u64,
                rng: stream(cfg.seed, ATTACK_STREAM + k as u64),
                out: Vec::new(),
                sessions: 0,
            };
            let mut campaigns = 0;
            while c.out.len() < budget && campaigns < 4 * budget + 10 && !people.is_empty() {
                campaigns += 1;
                match scenario {
                    Scenario::CredentialStuffing => credential_stuffing(&mut c),
                    Scenario::AccountTakeover => account_takeover(&mut c),
                    Scenario::TorAttack | Scenario::VpnAttack => anonymised(&mut c, scenario),
                    Scenario::Bot => bot(&mut c),
                    Scenario::TypingReplay => typing_replay(&mut c),
                    Scenario::LocalTakeover => local_takeover(&mut c),
                    Scenario::ResidentialProxy => residential_proxy(&mut c),
                    Scenario::SpoofedLocale => spoofed_locale(&mut c),
                    Scenario::HumanPacedBot => human_paced_bot(&mut c),
                    Scenario::LowAndSlow => low_and_slow(&mut c),
                    Scenario::WarmUp => warm_up(&mut c),
                    Scenario::SimSwap => sim_swap(&mut c),
                    Scenario::SessionHijack => session_hijack(&mut c),
                    // Genuine scenarios are not in the mix; remote access is the last tactic.
                    _ => remote_access(&mut c),
                }
            }
            c.out.sort_by_key(|d| d.ts_ms);
            c.out
        })
        .collect()
}

/// One scenario's generation state.
struct Ctx<'a> {
    cfg: &'a GenConfig,
    people: &'a [Person],
    genuine: &'a [Vec<Draft>],
    typed: &'a [(usize, usize)],
    k: u64,
    rng: ChaCha8Rng,
    out: Vec<Draft>,
    sessions: u64,
}

/// The evidence of one attack request.
struct Shot {
    ts_ms: i64,
    user: usize,
    channel: Channel,
    action: Action,
    ip: Option<String>,
    device: Option<DeviceInfo>,
    typing: Option<Vec<KeyEvent>>,
    failed_attempts: u32,
    /// The carrier check's last SIM change, when the broker ran one.
    sim_changed_ms: Option<i64>,
}

impl Ctx<'_> {
    fn victim(&mut self) -> usize {
        self.rng.gen_range(0..self.people.len())
    }

    /// A time in the last 90 % of the log, at least 10 minutes before its end.
    fn any_time(&mut self) -> i64 {
        let span = self.cfg.end - self.cfg.start();
        let lo = self.cfg.start() + span / 10;
        self.rng.gen_range(lo..(self.cfg.end - 600_000).max(lo + 1))
    }

    /// An hour (local to the victim's home) the victim is usually active at.
    fn usual_hour(&mut self, user: usize) -> f64 {
        let (peak, spread) = self
            .people
            .get(user)
            .map_or((12.0, 3.0), |p| (p.peak_hour, p.spread_h));
        (peak + spread * std_normal(&mut self.rng)).rem_euclid(24.0)
    }

    /// The time at `hour` (local to the victim's home) on day `day` of the log (may fall
    /// outside the log; [`Self::push`] drops such shots).
    fn local_ts(&self, user: usize, day: i64, hour: f64) -> i64 {
        let offset = self
            .people
            .get(user)
            .map_or(0, |p| CITIES[p.home].utc_offset_h);
        let local = hour.rem_euclid(24.0) - f64::from(offset);
        self.cfg.start() + day * DAY_MS + (local * HOUR_MS as f64) as i64
    }

    /// A random day in the last 90 % of the log.
    fn attack_day(&mut self) -> i64 {
        let days = i64::from(self.cfg.days);
        self.rng.gen_range(days / 10..days.max(1))
    }

    /// A time at `hour` (local to the victim's home) on a random day; falls back to [`Self::any_time`].
    fn at_local_hour(&mut self, user: usize, hour: f64) -> i64 {
        let day = self.attack_day();
        let ts = self.local_ts(user, day, hour);
        let span = self.cfg.end - self.cfg.start();
        if ts < self.cfg.start() + span / 10 || ts >= self.cfg.end - 600_000 {
            self.any_time()
        } else {
            ts
        }
    }

    fn new_session(&mut self) -> String {
        self.sessions += 1;
        opaque_id("s", ATTACK_STREAM + 16 + self.k, self.sessions)
    }

    fn sensitive_action(&mut self) -> Action {
        let w: Vec<u32> = TAKEOVER_ACTIONS.iter().map(|a| a.1).collect();
        TAKEOVER_ACTIONS[weighted(&mut self.rng, &w)].0
    }

    fn push(&mut self, scenario: Scenario, session: Option<String>, s: Shot) {
        if s.ts_ms >= self.cfg.end || s.ts_ms < self.cfg.start() {
            return;
        }
        let Some(p) = self.people.get(s.user) else {
            return;
        };
        if s.ts_ms < p.joined_ms {
            // The account does not exist yet.
            return;
        }
        let n = self.out.len() as u64;
        let passed_methods = if s.failed_attempts == 0 && s.ip.is_some() {
            vec!["password"]
        } else {
            vec![]
        };
        self.out.push(Draft {
            ts_ms: s.ts_ms,
            request_id: opaque_id("r", ATTACK_STREAM + self.k, n),
            user_id: p.user_id.clone(),
            session_id: session,
            scenario,
            channel: s.channel,
            action: s.action,
            ip: s.ip,
            device: s.device,
            typing: s.typing,
            failed_attempts: s.failed_attempts,
            passed_methods,
            sim_changed_ms: s.sim_changed_ms,
        });
    }
}
