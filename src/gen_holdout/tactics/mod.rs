//! The holdout world's attack campaigns: how many of each tactic, when they strike, whom they
//! pick, and what an attacker brings. Each tactic draws whole campaigns from its own RNG streams
//! until its share of attack requests ([`p::TACTIC_SHARES`] of [`p::ATTACK_SHARE`]) is reached,
//! so the mix holds at every scale. The tactics themselves live in [`takeover`] and [`fraud`].

pub mod fraud;
pub mod takeover;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::customers::local_time;
use super::event::{Draft, to_rows};
use super::params as p;
use super::people::{Customer, Device, DeviceKind};
use super::places::{city_at, pick};
use super::typing::Typist;
use super::{ATTACK_STREAM, DAY_MS, HOUR_MS, Row, Scenario, World};
use crate::domain::OutcomeKind;
use crate::gen_data::GenError;

/// Most campaigns one tactic may draw (a guard; real runs need far fewer).
pub const MAX_CAMPAIGNS: u64 = 1 << 26;
/// A tactic stops after this many campaigns in a row fell wholly outside the log (a guard for
/// logs too short to hold one).
pub const MAX_EMPTY_CAMPAIGNS: u64 = 1_000;

/// What one attacker brings: a home, devices, and their own typing.
#[derive(Debug, Clone, PartialEq)]
pub struct Attacker {
    /// Where the attacker lives (geo table row).
    pub city: usize,
    /// Their phone.
    pub phone: Device,
    /// Their computer.
    pub desktop: Device,
    /// Touch typing habit.
    pub thumbs: Typist,
    /// Keyboard typing habit.
    pub keyboard: Typist,
    /// Their broadband line.
    pub line: u32,
}

impl Attacker {
    /// An attacker living in `city`.
    pub fn draw(city: usize, rng: &mut impl Rng) -> Attacker {
        Attacker {
            city,
            phone: Device::draw(DeviceKind::Phone, rng),
            desktop: Device::draw(DeviceKind::Desktop, rng),
            thumbs: Typist::draw(true, rng),
            keyboard: Typist::draw(false, rng),
            line: rng.r#gen(),
        }
    }

    /// An attacker in one of [`p::ATTACKER_CITIES`].
    pub fn foreign(rng: &mut impl Rng) -> Attacker {
        let city = p::ATTACKER_CITIES[rng.gen_range(0..p::ATTACKER_CITIES.len())];
        Attacker::draw(city, rng)
    }
}

/// A campaign's start: a day after the warm-up share of the log, at a local time around
/// `hours` for someone `utc_offset_h` ahead of UTC; early enough to leave `room_ms` before the
/// end.
pub fn strike_time(
    world: &World,
    hours: (f64, f64),
    utc_offset_h: f64,
    room_ms: i64,
    rng: &mut impl Rng,
) -> i64 {
    let span = world.end_ms - world.start_ms;
    let first = world.start_ms + (span as f64 * p::ATTACK_WARMUP_SHARE) as i64;
    let last = (world.end_ms - room_ms).max(first + 1);
    let day = first.div_euclid(DAY_MS) + rng.gen_range(0..=((last - first) / DAY_MS).max(0));
    local_time(day * DAY_MS, hours, utc_offset_h, rng).clamp(first, last)
}

/// A victim: a customer who joined at least a week before `at_ms` (any customer if none is
/// found in a few tries).
pub fn victim<'a>(
    customers: &'a [Customer],
    at_ms: i64,
    rng: &mut impl Rng,
) -> Option<&'a Customer> {
    let n = customers.len();
    if n == 0 {
        return None;
    }
    let mut fallback = None;
    for _ in 0..32 {
        let c = customers.get(rng.gen_range(0..n))?;
        if c.joined_ms + 7 * DAY_MS <= at_ms {
            return Some(c);
        }
        fallback = Some(c);
    }
    fallback
}

/// The challenge outcomes of an attacker's request: passed with `pass`, else failed.
pub fn challenge(at_ms: i64, pass: f64, rng: &mut impl Rng) -> (i64, OutcomeKind) {
    let t = at_ms + 1_000 * rng.gen_range(p::OUTCOME_DELAY_S.0..=p::OUTCOME_DELAY_S.1);
    if rng.r#gen::<f64>() < pass {
        (t, OutcomeKind::OtpPassed)
    } else {
        (t, OutcomeKind::OtpFailed)
    }
}

/// Adds a later `confirmed_fraud` to every high-sensitivity request of `drafts`.
pub fn confirm_fraud(drafts: &mut [Draft], rng: &mut impl Rng) {
    for d in drafts
        .iter_mut()
        .filter(|d| d.action.sensitivity().level() == 2)
    {
        let h = rng.gen_range(p::CONFIRMATION_DELAY_H.0..=p::CONFIRMATION_DELAY_H.1);
        d.outcomes
            .push((d.at_ms + h * HOUR_MS, OutcomeKind::ConfirmedFraud));
    }
}

/// A minute count in `range`, as ms.
pub fn minutes(range: (i64, i64), rng: &mut impl Rng) -> i64 {
    rng.gen_range(range.0..=range.1) * 60_000
}

/// The utc offset of `city` (for placing an attacker's hours).
pub fn offset_of(city: usize) -> f64 {
    city_at(city).utc_offset_h
}

type Campaign = fn(&World, &[Customer], u64, &mut ChaCha8Rng) -> Vec<Draft>;

fn campaign_of(s: Scenario) -> Campaign {
    match s {
        Scenario::SimSwapTakeover => takeover::sim_swap,
        Scenario::SessionDeviceTheft => takeover::device_theft,
        Scenario::MfaFatigue => takeover::mfa_fatigue,
        Scenario::HelpdeskSocialEngineering => fraud::helpdesk,
        Scenario::MuleAccount => fraud::mule_ring,
        _ => fraud::proxy_stuffing,
    }
}

/// Every attack row, for a log whose genuine part has `genuine_scores` scored requests.
pub fn generate(
    world: &World,
    customers: &[Customer],
    genuine_scores: usize,
) -> Result<Vec<Row>, GenError> {
    let total = genuine_scores as f64 * p::ATTACK_SHARE / (1.0 - p::ATTACK_SHARE);
    let per_tactic: Vec<Vec<Row>> = Scenario::TACTICS
        .par_iter()
        .enumerate()
        .map(|(t, &s)| {
            let target = (total * p::TACTIC_SHARES.get(t).copied().unwrap_or(0.0)).round() as usize;
            let mut rows = Vec::new();
            let mut scores = 0usize;
            let (mut k, mut empty) = (0u64, 0u64);
            while scores < target && k < MAX_CAMPAIGNS && empty < MAX_EMPTY_CAMPAIGNS {
                let stream = ((t as u64) << 28) | k;
                let mut rng = world.rng(ATTACK_STREAM + stream);
                let mut drafts = campaign_of(s)(world, customers, k, &mut rng);
                // A campaign cut by the end of the log loses its late requests.
                drafts.retain(|d| (world.start_ms..world.end_ms).contains(&d.at_ms));
                scores += drafts.len();
                empty = if drafts.is_empty() { empty + 1 } else { 0 };
                rows.extend(to_rows(
                    drafts,
                    world.salt,
                    (1 << 36) | stream,
                    world.end_ms,
                )?);
                k += 1;
            }
            Ok(rows)
        })
        .collect::<Result<_, GenError>>()?;
    Ok(per_tactic.into_iter().flatten().collect())
}

/// Picks one of `items` by `weights` (same length).
pub fn choose<T: Copy>(items: &[T], weights: &[f64], rng: &mut impl Rng) -> Option<T> {
    items.get(pick(weights, rng)).copied()
}
