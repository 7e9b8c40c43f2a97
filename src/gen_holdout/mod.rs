//! The holdout world (`tessera gen-data --world holdout`): a second synthetic event log, written
//! independently of [`crate::gen_data`], to evaluate models on traffic no model was tuned on.
//!
//! It simulates another bank — mobile-first, in other cities, chatting mostly in its app and on
//! WhatsApp — with its own habits and typing speeds, more shared tablets and more travel, and
//! its own attack tactics (SIM swap, device-id theft, helpdesk social engineering, MFA fatigue,
//! mule rings, proxy-pool stuffing). A model that does well only in the main world has learned
//! that world; `data/holdout-world.md` describes this one.
//!
//! Rows follow the event-log contract read by `train::dataset` (the columns of
//! [`crate::gen_data::parquet`]); scenario names are this world's own ([`Scenario`]). The output
//! depends only on the [`GenConfig`]: every draw comes from ChaCha8 streams keyed by the seed
//! (customer `i` from stream `i`, its sessions from [`SESSION_STREAM`]` + i`, households from
//! [`HOUSEHOLD_STREAM`], campaigns from [`ATTACK_STREAM`]), so the bytes are identical whatever
//! the thread count. This module never reads the clock, the network or the geo database; every
//! parameter is a constant in [`params`] or beside the code that uses it. It must not import
//! the main generator's behaviour (only its config, error and row-kind types).

pub mod customers;
pub mod event;
pub mod params;
pub mod parquet;
pub mod people;
pub mod places;
pub mod tactics;
pub mod typing;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

pub use crate::gen_data::{GenConfig, GenError, RowKind};
pub use parquet::write_parquet;

/// One day, ms.
pub const DAY_MS: i64 = 86_400_000;
/// One hour, ms.
pub const HOUR_MS: i64 = 3_600_000;
/// Stream offset of customers' sessions (profiles use stream `i`).
pub const SESSION_STREAM: u64 = 1 << 32;
/// Stream offset of households (two consecutive customers form one).
pub const HOUSEHOLD_STREAM: u64 = 1 << 33;
/// Stream offset of attack campaigns.
pub const ATTACK_STREAM: u64 = 1 << 34;
/// Mixed into the seed so the two generators never share random numbers for one seed.
pub const WORLD_KEY: u64 = 0x686f_6c64_6f75_7421; // "holdout!"

/// The story behind a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    /// A genuine customer at home on their own devices.
    GenuineHome,
    /// A genuine customer travelling (hotel Wi-Fi, roaming, a local SIM).
    GenuineRoaming,
    /// A genuine customer in the first two weeks on a replacement phone (often a new SIM).
    GenuineNewPhone,
    /// A genuine customer on the tablet their household shares.
    GenuineHouseholdDevice,
    /// A genuine customer chatting from the office through the employer's VPN.
    GenuineCorporateVpn,
    /// A genuine customer in the first two weeks after opening the account.
    GenuineNewCustomer,
    /// A fraudster who ported the victim's number and receives the codes.
    SimSwapTakeover,
    /// A replay of the victim's stolen device id and fingerprint from another network.
    SessionDeviceTheft,
    /// Harmless questions, then a contact change backed by leaked personal data.
    HelpdeskSocialEngineering,
    /// A stolen password and a stream of push prompts until the victim gives in.
    MfaFatigue,
    /// Accounts opened by a fraud ring on shared phones and used to cash out.
    MuleAccount,
    /// Credential stuffing spread over hours through a residential and mobile proxy pool.
    ProxyPoolStuffing,
}

impl Scenario {
    /// Every scenario, genuine ones first.
    pub const ALL: [Scenario; 12] = [
        Scenario::GenuineHome,
        Scenario::GenuineRoaming,
        Scenario::GenuineNewPhone,
        Scenario::GenuineHouseholdDevice,
        Scenario::GenuineCorporateVpn,
        Scenario::GenuineNewCustomer,
        Scenario::SimSwapTakeover,
        Scenario::SessionDeviceTheft,
        Scenario::HelpdeskSocialEngineering,
        Scenario::MfaFatigue,
        Scenario::MuleAccount,
        Scenario::ProxyPoolStuffing,
    ];

    /// The attack tactics, in the order of [`params::TACTIC_SHARES`].
    pub const TACTICS: [Scenario; 6] = [
        Scenario::SimSwapTakeover,
        Scenario::SessionDeviceTheft,
        Scenario::HelpdeskSocialEngineering,
        Scenario::MfaFatigue,
        Scenario::MuleAccount,
        Scenario::ProxyPoolStuffing,
    ];

    /// Stable snake_case name, as in the Parquet `scenario` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::GenuineHome => "genuine_home",
            Scenario::GenuineRoaming => "genuine_roaming",
            Scenario::GenuineNewPhone => "genuine_new_phone",
            Scenario::GenuineHouseholdDevice => "genuine_household_device",
            Scenario::GenuineCorporateVpn => "genuine_corporate_vpn",
            Scenario::GenuineNewCustomer => "genuine_new_customer",
            Scenario::SimSwapTakeover => "sim_swap_takeover",
            Scenario::SessionDeviceTheft => "session_device_theft",
            Scenario::HelpdeskSocialEngineering => "helpdesk_social_engineering",
            Scenario::MfaFatigue => "mfa_fatigue",
            Scenario::MuleAccount => "mule_account",
            Scenario::ProxyPoolStuffing => "proxy_pool_stuffing",
        }
    }

    /// Parses the stable name.
    pub fn from_name(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// True for the attack tactics.
    pub fn is_attack(self) -> bool {
        self >= Scenario::SimSwapTakeover
    }
}

/// One line of the event log (the columns of the Parquet contract).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Event time, ms since the Unix epoch (the payload's `timestamp`).
    pub ts_ms: i64,
    /// Score or outcome.
    pub kind: RowKind,
    /// The scored request's id (for an outcome: the request it verifies).
    pub request_id: String,
    /// The claimed user.
    pub user_id: String,
    /// Which story produced the row (an outcome inherits its request's).
    pub scenario: Scenario,
    /// Ground truth: true when an attacker sent the scored request.
    pub is_attack: bool,
    /// The exact JSON line: a `ScoreRequest` (schema 1) or an `OutcomeRecord`.
    pub payload: String,
    /// The request's channel; `None` on outcome rows.
    pub channel: Option<&'static str>,
    /// The request's `network.ip`; `None` on outcome rows and when the request has none.
    pub ip: Option<String>,
}

/// The fixed frame of one run: its time span and its random streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct World {
    /// Seed of every draw.
    pub seed: u64,
    /// Secret-free salt of ids, derived from the seed.
    pub salt: u64,
    /// First instant of the log, ms.
    pub start_ms: i64,
    /// End of the log (exclusive), ms.
    pub end_ms: i64,
    /// Days in the log.
    pub days: u32,
}

impl World {
    /// The frame of `cfg` (already checked).
    pub fn new(cfg: &GenConfig) -> World {
        World {
            seed: cfg.seed,
            salt: typing::mix(cfg.seed ^ WORLD_KEY),
            start_ms: cfg.start(),
            end_ms: cfg.end,
            days: cfg.days,
        }
    }

    /// The RNG of stream `stream`.
    pub fn rng(&self, stream: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ WORLD_KEY);
        rng.set_stream(stream);
        rng
    }
}

/// Generates the holdout log for `cfg`, sorted by `ts_ms`, then score before outcome, then
/// `request_id`. `cfg.users` is the number of genuine customers.
pub fn generate(cfg: &GenConfig) -> Result<Vec<Row>, GenError> {
    cfg.check()?;
    let world = World::new(cfg);
    let people: Vec<people::Customer> = (0..cfg.users)
        .into_par_iter()
        .map(|i| people::customer(&world, i))
        .collect();
    let genuine: Vec<Vec<Row>> = people
        .par_iter()
        .map(|c| {
            let mut rng = world.rng(SESSION_STREAM + c.index as u64);
            let drafts = customers::requests(&world, c, &mut rng);
            event::to_rows(drafts, world.salt, c.index as u64, world.end_ms)
        })
        .collect::<Result<_, _>>()?;
    let genuine_scores = genuine
        .iter()
        .flatten()
        .filter(|r| r.kind == RowKind::Score)
        .count();
    let mut rows: Vec<Row> = genuine.into_iter().flatten().collect();
    rows.extend(tactics::generate(&world, &people, genuine_scores)?);
    rows.par_sort_unstable_by(|a, b| {
        (a.ts_ms, a.kind, &a.request_id).cmp(&(b.ts_ms, b.kind, &b.request_id))
    });
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_round_trip_and_split_attacks() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::from_name(s.as_str()), Some(s));
        }
        assert_eq!(Scenario::ALL.iter().filter(|s| s.is_attack()).count(), 6);
        assert!(Scenario::TACTICS.iter().all(|s| s.is_attack()));
        assert!(!Scenario::GenuineCorporateVpn.is_attack());
        assert!((params::TACTIC_SHARES.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
