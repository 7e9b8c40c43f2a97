//! `tessera gen-data --format rba`: a seeded CSV file in the exact layout of the public RBA login
//! dataset (Wiefling et al., ACM TOPS 2022; see `train::rba`), with its quirks — the `index`
//! column, `-` for unknown regions and cities, mostly empty round-trip times, private 10.x
//! placeholder addresses, signed 64-bit user ids, `True`/`False`, quoted user agents — so the
//! importer and training can be tested at a size the 19-row head cannot give.
//!
//! The mix ([`RbaGenConfig`] and the constants below; the world's tables in [`world`]):
//! - **Genuine users**: a home network (mostly Norwegian), one or two home addresses, one or two
//!   browsers, a habitual hour. Most log in a few times ([`LOGINS_GEOMETRIC_P`]), one in ten is a
//!   heavy user ([`HEAVY_SHARE`]); a login fails by typo with [`TYPO_RATE`] and is retried
//!   within a minute; [`TRAVEL_RATE`] of logins come from abroad, [`NEW_BROWSER_RATE`] of users
//!   switch browsers half-way, and [`LISTED_SHARE`] of genuine logins come from an address on an
//!   attack list (a shared address: `Is Attack IP` without an attack).
//! - **Credential stuffing** (`Is Attack IP`): one campaign per [`USERS_PER_CAMPAIGN`] users, each
//!   from a hosting address abroad, 15–120 attempts over up to 90 minutes on existing and
//!   made-up accounts; [`STUFFING_SUCCESS`] of attempts succeed.
//! - **Account takeovers** (`Is Account Takeover`): one per [`USERS_PER_TAKEOVER`] users, on a
//!   user who has logged in before: from a new country and ASN, a new browser, at any hour;
//!   0–3 failures, then a success, then up to two more successful logins within two days.
//!
//! Output depends only on the config (one seeded ChaCha8 stream). This module writes; it never
//! reads the clock, the network or a geo database.

pub mod world;

use std::path::Path;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{DAY_MS, GenError, MAX_DAYS, MAX_USERS, stream};
use world::{Agent, HOME, Network, Place};

/// 2020-02-03T00:00:00Z, the first day of the published file, ms.
pub const DEFAULT_START_MS: i64 = 1_580_688_000_000;
/// Logins per ordinary user: 1 + a geometric count with this success probability (mean ≈ 3.5).
pub const LOGINS_GEOMETRIC_P: f64 = 0.4;
/// Share of heavy users (10–40 logins).
pub const HEAVY_SHARE: f64 = 0.1;
/// Share of genuine logins that fail first (a typo), then succeed 5–60 s later.
pub const TYPO_RATE: f64 = 0.07;
/// Share of genuine logins from a trip abroad.
pub const TRAVEL_RATE: f64 = 0.03;
/// Share of users who switch to a new browser half-way.
pub const NEW_BROWSER_RATE: f64 = 0.05;
/// Share of genuine logins from an address on an attack list.
pub const LISTED_SHARE: f64 = 0.005;
/// Share of home addresses that are 10.x placeholders.
pub const PLACEHOLDER_SHARE: f64 = 0.04;
/// Share of rows with a round-trip time.
pub const RTT_SHARE: f64 = 0.08;
/// Genuine users per credential-stuffing campaign (at least two campaigns).
pub const USERS_PER_CAMPAIGN: usize = 250;
/// Share of stuffing attempts that succeed.
pub const STUFFING_SUCCESS: f64 = 0.02;
/// Genuine users per account takeover (at least three takeovers).
pub const USERS_PER_TAKEOVER: usize = 200;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RbaGenConfig {
    /// Genuine users, 1–1,000,000.
    pub users: usize,
    /// Days covered, 1–3,650.
    pub days: u32,
    /// Seed of every draw.
    pub seed: u64,
    /// First day, ms since 1970.
    pub start_ms: i64,
}

impl Default for RbaGenConfig {
    fn default() -> Self {
        RbaGenConfig {
            users: 5_000,
            days: 30,
            seed: 7,
            start_ms: DEFAULT_START_MS,
        }
    }
}

/// One login line of the file (before its `index`).
#[derive(Debug, Clone, PartialEq)]
pub struct Login {
    /// ms since 1970.
    pub ts_ms: i64,
    /// Signed 64-bit user id.
    pub user_id: i64,
    /// Round-trip time, ms.
    pub rtt_ms: Option<f64>,
    /// Address.
    pub ip: String,
    /// Country, AS number.
    pub network: (&'static str, u32),
    /// Region and city.
    pub place: Place,
    /// User agent and derived columns.
    pub agent: Agent,
    /// `Login Successful`.
    pub success: bool,
    /// `Is Attack IP`.
    pub attack_ip: bool,
    /// `Is Account Takeover`.
    pub takeover: bool,
}

/// An address with everything the file says about it (fixed for the address).
#[derive(Debug, Clone)]
struct Address {
    ip: String,
    network: (&'static str, u32),
    place: Place,
}

fn address_in(n: &Network, rng: &mut ChaCha8Rng) -> Address {
    Address {
        ip: world::address(n, rng),
        network: (n.country, n.asn),
        place: world::place(n.country, rng),
    }
}

fn pick<'a, T>(items: &'a [T], rng: &mut ChaCha8Rng) -> Option<&'a T> {
    items.get(rng.gen_range(0..items.len().max(1)))
}

/// Generates the logins of `cfg`, sorted by time (ties in generation order).
pub fn generate(cfg: &RbaGenConfig) -> Result<Vec<Login>, GenError> {
    if cfg.users == 0 || cfg.users > MAX_USERS {
        return Err(GenError::Config {
            field: "users",
            problem: format!("must be 1–{MAX_USERS}"),
        });
    }
    if cfg.days == 0 || cfg.days > MAX_DAYS {
        return Err(GenError::Config {
            field: "days",
            problem: format!("must be 1–{MAX_DAYS}"),
        });
    }
    let rng = &mut stream(cfg.seed, 0);
    let span = i64::from(cfg.days) * DAY_MS;
    let login = |a: &Address,
                 user_id: i64,
                 ts_ms: i64,
                 agent: &Agent,
                 success: bool,
                 rng: &mut ChaCha8Rng| Login {
        ts_ms,
        user_id,
        rtt_ms: rng
            .gen_bool(RTT_SHARE)
            .then(|| (rng.gen_range(150.0..2_500.0f64) * 10.0).round() / 10.0),
        ip: a.ip.clone(),
        network: a.network,
        place: a.place,
        agent: agent.clone(),
        success,
        attack_ip: false,
        takeover: false,
    };
    let listed: Vec<Address> = (0..(cfg.users / 100).max(4))
        .filter_map(|_| pick(world::ATTACK, rng).map(|n| address_in(n, rng)))
        .collect();
    let mut out = Vec::new();
    let mut users: Vec<(i64, Vec<i64>)> = Vec::with_capacity(cfg.users); // id, login times
    for _ in 0..cfg.users {
        let user_id: i64 = rng.r#gen();
        let total: u32 = HOME.iter().map(|(_, w)| w).sum();
        let mut draw = rng.gen_range(0..total);
        let home = HOME
            .iter()
            .find(|(_, w)| {
                let hit = draw < *w;
                draw = draw.saturating_sub(*w);
                hit
            })
            .map_or(&HOME[0].0, |(n, _)| n);
        let mut homes: Vec<Address> = (0..rng.gen_range(1..=2))
            .map(|_| address_in(home, rng))
            .collect();
        if rng.gen_bool(PLACEHOLDER_SHARE) {
            let asn = if rng.gen_bool(0.5) {
                home.asn
            } else {
                500_000 + rng.gen_range(0..5_000)
            };
            homes.push(Address {
                ip: world::placeholder_address(rng),
                network: (home.country, asn),
                place: None,
            });
        }
        let mobile_first = rng.gen_bool(0.5);
        let mut agents = vec![world::agent(mobile_first, rng)];
        if rng.gen_bool(0.4) {
            agents.push(world::agent(!mobile_first, rng));
        }
        let switch = rng
            .gen_bool(NEW_BROWSER_RATE)
            .then(|| world::agent(rng.gen_bool(0.5), rng));
        let n = if rng.gen_bool(HEAVY_SHARE) {
            rng.gen_range(10..=40)
        } else {
            let mut k = 1;
            while k < 30 && !rng.gen_bool(LOGINS_GEOMETRIC_P) {
                k += 1;
            }
            k
        };
        let hour = rng.gen_range(6..=21i64); // habitual UTC hour
        let mut times: Vec<i64> = (0..n)
            .map(|_| {
                let day = rng.gen_range(0..i64::from(cfg.days));
                let jitter = (rng.gen_range(-1.5..1.5f64) * 3_600_000.0) as i64;
                let minute = rng.gen_range(0..3_600_000i64);
                (cfg.start_ms + day * DAY_MS + hour * 3_600_000 + jitter + minute)
                    .clamp(cfg.start_ms, cfg.start_ms + span - 120_000)
            })
            .collect();
        times.sort_unstable();
        for (i, &t) in times.iter().enumerate() {
            let agent = match &switch {
                Some(a) if i * 2 >= times.len() => a,
                _ => pick(&agents, rng).unwrap_or(&agents[0]),
            };
            let (addr, listed_hit) = if rng.gen_bool(LISTED_SHARE) {
                (
                    pick(&listed, rng)
                        .cloned()
                        .unwrap_or_else(|| homes[0].clone()),
                    true,
                )
            } else if rng.gen_bool(TRAVEL_RATE) {
                let away = pick(world::TRAVEL, rng).unwrap_or(&world::TRAVEL[0]);
                (address_in(away, rng), false)
            } else {
                (
                    pick(&homes, rng)
                        .cloned()
                        .unwrap_or_else(|| homes[0].clone()),
                    false,
                )
            };
            let mut at = t;
            if rng.gen_bool(TYPO_RATE) {
                out.push(Login {
                    attack_ip: listed_hit,
                    ..login(&addr, user_id, at, agent, false, rng)
                });
                at += rng.gen_range(5_000..60_000);
            }
            out.push(Login {
                attack_ip: listed_hit,
                ..login(&addr, user_id, at, agent, true, rng)
            });
        }
        users.push((user_id, times));
    }
    stuffing(cfg, &users, &listed, rng, &mut out, &login);
    takeovers(cfg, &users, rng, &mut out, &login);
    out.sort_by_key(|l| l.ts_ms);
    Ok(out)
}

type MakeLogin<'a> = dyn Fn(&Address, i64, i64, &Agent, bool, &mut ChaCha8Rng) -> Login + 'a;

fn stuffing(
    cfg: &RbaGenConfig,
    users: &[(i64, Vec<i64>)],
    listed: &[Address],
    rng: &mut ChaCha8Rng,
    out: &mut Vec<Login>,
    login: &MakeLogin<'_>,
) {
    let span = i64::from(cfg.days) * DAY_MS;
    for _ in 0..(cfg.users / USERS_PER_CAMPAIGN).max(2) {
        let Some(addr) = pick(listed, rng).cloned() else {
            return;
        };
        let tool = world::attack_agent(rng);
        let rotate = rng.gen_bool(0.4);
        let mut at = cfg.start_ms + rng.gen_range(0..span - 2 * 3_600_000);
        let pace_ms = rng.gen_range(5_000..45_000i64);
        for _ in 0..rng.gen_range(15..=120) {
            at += rng.gen_range(1..=2 * pace_ms);
            let victim = if rng.gen_bool(0.7) {
                pick(users, rng).map_or_else(|| rng.r#gen(), |u| u.0)
            } else {
                rng.r#gen()
            };
            let agent = if rotate {
                world::attack_agent(rng)
            } else {
                tool.clone()
            };
            let ok = rng.gen_bool(STUFFING_SUCCESS);
            out.push(Login {
                attack_ip: true,
                ..login(&addr, victim, at, &agent, ok, rng)
            });
        }
    }
}

fn takeovers(
    cfg: &RbaGenConfig,
    users: &[(i64, Vec<i64>)],
    rng: &mut ChaCha8Rng,
    out: &mut Vec<Login>,
    login: &MakeLogin<'_>,
) {
    let end = cfg.start_ms + i64::from(cfg.days) * DAY_MS;
    let candidates: Vec<&(i64, Vec<i64>)> = users
        .iter()
        .filter(|u| u.1.first().is_some_and(|t| *t + DAY_MS < end - 3 * DAY_MS))
        .collect();
    for _ in 0..(cfg.users / USERS_PER_TAKEOVER).max(3) {
        let Some(&&(victim, ref times)) = pick(&candidates, rng) else {
            return;
        };
        let first = times.first().copied().unwrap_or(cfg.start_ms);
        let n = pick(world::ATTACK, rng)
            .copied()
            .unwrap_or(world::ATTACK[0]);
        let addr = address_in(&n, rng);
        let agent = world::agent(rng.gen_bool(0.5), rng);
        let listed = rng.gen_bool(0.25);
        let mut at = rng.gen_range(first + DAY_MS..end - 3 * DAY_MS);
        let mk = |at, ok, rng: &mut ChaCha8Rng| Login {
            takeover: true,
            attack_ip: listed,
            ..login(&addr, victim, at, &agent, ok, rng)
        };
        for _ in 0..rng.gen_range(0..=3) {
            out.push(mk(at, false, rng));
            at += rng.gen_range(10_000..120_000);
        }
        out.push(mk(at, true, rng));
        for _ in 0..rng.gen_range(0..=2) {
            at += rng.gen_range(600_000..2 * DAY_MS);
            out.push(mk(at, true, rng));
        }
    }
}

/// Writes `logins` in the RBA layout to `path` (created or truncated): the published header,
/// then one line per login with its `index` (0-based, in order).
pub fn write_rba(logins: &[Login], path: &Path) -> Result<(), GenError> {
    let io = |source| GenError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(std::io::BufWriter::new(file));
    let csv_err = |e: csv::Error| io(std::io::Error::from(e));
    w.write_record(crate::train::rba::row::COLUMNS)
        .map_err(csv_err)?;
    let flag = |b: bool| if b { "True" } else { "False" };
    for (index, l) in logins.iter().enumerate() {
        let at = chrono::DateTime::from_timestamp_millis(l.ts_ms)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
            .unwrap_or_default();
        let (region, city) = l.place.unwrap_or(("-", "-"));
        w.write_record([
            index.to_string().as_str(),
            &at,
            &l.user_id.to_string(),
            &l.rtt_ms.map(|v| format!("{v:.1}")).unwrap_or_default(),
            &l.ip,
            l.network.0,
            region,
            city,
            &l.network.1.to_string(),
            &l.agent.ua,
            &l.agent.browser,
            &l.agent.os,
            l.agent.device_type,
            flag(l.success),
            flag(l.attack_ip),
            flag(l.takeover),
        ])
        .map_err(csv_err)?;
    }
    w.flush().map_err(io)
}
