//! `--format rba`: the public login dataset for risk-based authentication of Wiefling,
//! Jørgensen, Thunem and Lo Iacono, "Pump Up Password Security! Evaluating and Enhancing
//! Risk-Based Authentication on a Real-World Large-Scale Online Service", ACM TOPS 2022
//! (doi 10.1145/3546069; data on Zenodo, doi 10.5281/zenodo.6782156, CC BY 4.0: about 33 M
//! logins of 3.3 M users of a Norwegian single sign-on service, synthesized from the real ones),
//! read into the engine's [`Dataset`] so that training and backtests replay it through the same
//! feature code as any event log.
//!
//! **Each row** ([`row::RbaRow`]) becomes a [`ScoreRequest`]: request id `rba-<index>`, the user
//! id as its signed decimal text, the timestamp read as UTC, channel `web_widget`, action
//! `login`, `network.ip` the address, `device.user_agent` the user agent (cut to
//! [`Limits::max_text_len`] characters, counted) — the engine reads browser family, phone or
//! desktop and automation from it; the publishers' derived browser, OS and device-type columns
//! are parsed but not sent, as the engine parses the agent itself. The dataset has **no typing
//! and no device id**: the requests carry none (`typing.absent`, `device.absent` on every row).
//!
//! **Outcomes.** The service accepted a login only after its password check and its own
//! risk-based authentication, so `Login Successful = True` is replayed as a verified outcome
//! `otp_passed` (profiles learn the user's hours and history from it, as Freeman et al.'s model
//! learns from successful logins), and `False` as `otp_failed` (the failure counters per account
//! and per address). Each outcome has its login's timestamp and follows it. Outcomes come from
//! `Login Successful` alone, never from the labels, so no feature can see a label; a takeover
//! that succeeded teaches the victim's profile, as it did on the live service.
//!
//! **Labels** ([`RbaLabel`], default [`RbaLabel::Either`]): a login is an attack when `Is
//! Account Takeover` or `Is Attack IP` is true. Takeovers are the harm the engine exists to stop
//! and the only per-login finding (by the service's incident response), but far too rare to fit
//! or measure on alone; `Is Attack IP` marks logins from addresses in a known attacker data set
//! (credential stuffing), a property of the address that also catches the odd customer behind a
//! listed address. Training on either keeps enough positives and the `scenario` column
//! (`rba_account_takeover`, `rba_attack_ip`, `genuine`) keeps them apart, so per-scenario recall
//! shows what the model catches of each. With one label chosen, rows that are attacks only by
//! the other are replayed (their history counts) but not fitted.
//!
//! **Geo** ([`geo`]): the dataset's country and ASN per address become an in-memory database in
//! IPinfo Lite's layout, served as `geo.asn` through the real enrichment path. The file has no
//! coordinates and the engine's City role needs them, so `geo.city` is absent by design (so are
//! `geo.anonymous_ip`, `[reputation]` and `[lists]`: the addresses are synthesized, real lists
//! say nothing about them). Hence every `geo.*` feature and `device.timezone_mismatch`,
//! `device.language_mismatch` are absent by design (neutral values); region and city are read
//! and counted but reach no feature. Private 10.x addresses (the publishers' placeholders) get
//! the dataset's answer like any other address.
//!
//! **Round-trip time** is read, checked and counted; schema v2 has no feature for it, so it is
//! not used.
//!
//! [`train`] and [`backtest`] run today's training and decision backtest on the dataset: they
//! write it as an event log and its database to a temporary folder (removed afterwards) and call
//! `train::train` / `train::backtest::backtest` with the replay configuration above. Nothing
//! here fits or scores.

pub mod geo;
pub mod row;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::dataset::{Dataset, DatasetDescription, DatasetError, LogEvent, write_event_log};
use super::{TrainError, TrainReport};
use crate::config::{Config, GeoFiles, ListsConfig};
use crate::domain::{
    Action, Channel, DeviceInfo, Limits, NetworkInfo, OutcomeKind, OutcomeRecord, ScoreRequest,
    ValidRequest,
};

/// Which column is ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RbaLabel {
    /// Attack when `Is Account Takeover` or `Is Attack IP` (the default).
    #[default]
    Either,
    /// `Is Account Takeover`; attack-IP-only rows are replayed but not fitted.
    AccountTakeover,
    /// `Is Attack IP`; takeover-only rows are replayed but not fitted.
    AttackIp,
}

impl RbaLabel {
    /// The label of a row with these flags: `Some(true)` attack, `Some(false)` genuine, `None`
    /// an attack by the other label only (not fitted).
    pub fn of(self, takeover: bool, attack_ip: bool) -> Option<bool> {
        match self {
            RbaLabel::Either => Some(takeover || attack_ip),
            RbaLabel::AccountTakeover if attack_ip && !takeover => None,
            RbaLabel::AccountTakeover => Some(takeover),
            RbaLabel::AttackIp if takeover && !attack_ip => None,
            RbaLabel::AttackIp => Some(attack_ip),
        }
    }
}

/// Scenario name of a takeover row (whatever its address).
pub const SCENARIO_TAKEOVER: &str = "rba_account_takeover";
/// Scenario name of a row from an attack address that is not a takeover.
pub const SCENARIO_ATTACK_IP: &str = "rba_attack_ip";
/// Scenario name of every other row.
pub const SCENARIO_GENUINE: &str = "genuine";

/// What a file held, beyond the dataset's own description.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RbaSummary {
    /// The label trained on.
    pub label: RbaLabel,
    /// Logins (data lines).
    pub logins: usize,
    /// Distinct users.
    pub users: usize,
    /// `Login Successful = True` (replayed as `otp_passed`).
    pub successful: usize,
    /// `Login Successful = False` (replayed as `otp_failed`).
    pub failed: usize,
    /// `Is Account Takeover = True`.
    pub takeover_rows: usize,
    /// `Is Attack IP = True`.
    pub attack_ip_rows: usize,
    /// Rows with a round-trip time (not used by schema v2).
    pub rtt_rows: usize,
    /// Rows whose address is private (10/8, 172.16/12, 192.168/16, fc00::/7).
    pub private_ip_rows: usize,
    /// Rows with an IPv6 address.
    pub ipv6_rows: usize,
    /// Rows with country `-` or empty.
    pub unknown_country_rows: usize,
    /// Rows with region `-` or empty.
    pub unknown_region_rows: usize,
    /// Rows with city `-` or empty.
    pub unknown_city_rows: usize,
    /// Rows without a user agent.
    pub no_user_agent_rows: usize,
    /// User agents cut to the request limit.
    pub user_agents_cut: usize,
    /// Distinct addresses.
    pub distinct_ips: usize,
    /// Addresses given more than one country/ASN answer (the most frequent is served).
    pub ip_answer_conflicts: usize,
}

/// A file read: the dataset in time order, what it held, and its geo database.
#[derive(Debug, Clone)]
pub struct RbaData {
    /// Score and outcome events in time order (ties keep file order; each outcome follows its
    /// login).
    pub dataset: Dataset,
    /// Counts.
    pub summary: RbaSummary,
    /// Country and ASN per address, as an MMDB image in IPinfo Lite's layout (for `geo.asn`);
    /// `None` when no row has either.
    pub asn_database: Option<Vec<u8>>,
}

/// Reads the RBA-layout CSV at `path`, labelled with [`RbaLabel::Either`].
pub fn read_rba(path: &Path) -> Result<RbaData, DatasetError> {
    read_rba_with(path, RbaLabel::default())
}

/// Reads the RBA-layout CSV at `path`, labelled as `label` says. A malformed line is an error
/// naming the file, the line and the column.
pub fn read_rba_with(path: &Path, label: RbaLabel) -> Result<RbaData, DatasetError> {
    let shown = path.display().to_string();
    let limits = Limits::default();
    let mut s = RbaSummary {
        label,
        ..RbaSummary::default()
    };
    let mut d = DatasetDescription {
        path: shown.clone(),
        ..DatasetDescription::default()
    };
    let mut users = HashSet::new();
    let mut answers = geo::IpAnswers::default();
    let mut events = Vec::new();
    for r in row::rows(path)? {
        let r = r?;
        tally(&mut s, &r);
        users.insert(r.user_id);
        answers.add(r.ip, r.country.as_deref(), r.asn);
        let (request, cut) = request_of(&r, limits.max_text_len);
        s.user_agents_cut += usize::from(cut);
        if let Err(e) = ValidRequest::check(&request, &limits, i64::MAX) {
            return Err(DatasetError::Line {
                path: shown,
                line: r.line,
                problem: format!("does not make a valid request: {e}"),
            });
        }
        let is_attack = label.of(r.is_account_takeover, r.is_attack_ip);
        let scenario = if r.is_account_takeover {
            SCENARIO_TAKEOVER
        } else if r.is_attack_ip {
            SCENARIO_ATTACK_IP
        } else {
            SCENARIO_GENUINE
        };
        d.score_rows += 1;
        d.outcome_rows += 1;
        d.attack_rows += usize::from(is_attack == Some(true));
        d.unlabelled_rows += usize::from(is_attack.is_none());
        *d.scenarios.entry(scenario.to_owned()).or_default() += 1;
        let outcome = OutcomeRecord::new(
            request.request_id.as_deref().unwrap_or_default(),
            &request.user_id,
            &request.timestamp,
            if r.login_successful {
                OutcomeKind::OtpPassed
            } else {
                OutcomeKind::OtpFailed
            },
        );
        events.push((
            r.ts_ms,
            LogEvent::Score {
                request,
                is_attack,
                scenario: scenario.to_owned(),
            },
        ));
        events.push((r.ts_ms, LogEvent::Outcome(outcome)));
    }
    // Stable: ties keep file order, so each outcome stays right after its login.
    events.sort_by_key(|(ts, _)| *ts);
    s.users = users.len();
    s.distinct_ips = answers.len();
    s.ip_answer_conflicts = answers.conflicting();
    d.rows = events.len();
    d.first_ts_ms = events.first().map_or(0, |e| e.0);
    d.last_ts_ms = events.last().map_or(0, |e| e.0);
    let epoch_s = u64::try_from(d.last_ts_ms / 1000).unwrap_or(0);
    let asn_database = answers
        .database(epoch_s)
        .map_err(|source| DatasetError::GeoDatabase {
            path: shown.clone(),
            source,
        })?;
    Ok(RbaData {
        dataset: Dataset {
            events,
            description: d,
        },
        summary: s,
        asn_database,
    })
}

fn tally(s: &mut RbaSummary, r: &row::RbaRow) {
    s.logins += 1;
    s.successful += usize::from(r.login_successful);
    s.failed += usize::from(!r.login_successful);
    s.takeover_rows += usize::from(r.is_account_takeover);
    s.attack_ip_rows += usize::from(r.is_attack_ip);
    s.rtt_rows += usize::from(r.rtt_ms.is_some());
    s.private_ip_rows += usize::from(is_private(r.ip));
    s.ipv6_rows += usize::from(r.ip.is_ipv6());
    s.unknown_country_rows += usize::from(r.country.is_none());
    s.unknown_region_rows += usize::from(r.region.is_none());
    s.unknown_city_rows += usize::from(r.city.is_none());
    s.no_user_agent_rows += usize::from(r.user_agent.is_none());
}

/// True for private-use addresses (RFC 1918, RFC 4193).
pub fn is_private(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => v4.is_private(),
        std::net::IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// The request a row stands for, and whether its user agent was cut to `max_chars`.
pub fn request_of(r: &row::RbaRow, max_chars: usize) -> (ScoreRequest, bool) {
    let at = chrono::DateTime::from_timestamp_millis(r.ts_ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default();
    let mut req = ScoreRequest::minimal(&r.user_id.to_string(), &at, Channel::WebWidget);
    req.request_id = Some(format!("rba-{}", r.index));
    req.action = Some(Action::Login);
    req.network = Some(NetworkInfo {
        ip: Some(r.ip.to_string()),
        sim_changed_at: None,
    });
    let mut cut = false;
    req.device = r.user_agent.as_ref().map(|ua| {
        let ua = match ua.char_indices().nth(max_chars) {
            Some((end, _)) => {
                cut = true;
                ua[..end].to_owned()
            }
            None => ua.clone(),
        };
        DeviceInfo {
            user_agent: Some(ua),
            ..DeviceInfo::default()
        }
    });
    (req, cut)
}

/// The replay configuration for an RBA file: `cfg` with `geo.asn` the dataset's database at
/// `asn_db` (none when `None`), and `geo.city`, `geo.anonymous_ip`, `[reputation]` and `[lists]`
/// not configured (absent by design; see the module doc). Store, model and policy are `cfg`'s.
pub fn replay_config(cfg: &Config, asn_db: Option<&Path>) -> Config {
    let mut c = cfg.clone();
    c.geo.city = GeoFiles::List(Vec::new());
    c.geo.asn = GeoFiles::List(
        asn_db
            .map(|p| p.display().to_string())
            .into_iter()
            .collect(),
    );
    c.geo.anonymous_ip = GeoFiles::List(Vec::new());
    c.reputation = crate::enrich::ReputationFiles::default();
    c.lists = ListsConfig::default();
    c
}

/// A temporary folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tessera-rba-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `data` as an event log and its database in `scratch`, and the replay configuration.
fn stage(
    data: &RbaData,
    source: &Path,
    cfg: &Config,
    scratch: &Scratch,
) -> Result<(PathBuf, Config), TrainError> {
    let stem = source
        .file_stem()
        .map_or_else(|| "rba".into(), |s| s.to_string_lossy().into_owned());
    let events = scratch.0.join(format!("{stem}.events.parquet"));
    write_event_log(&data.dataset, &events)?;
    let db = match &data.asn_database {
        Some(bytes) => {
            let p = scratch.0.join(format!("{stem}.asn.mmdb"));
            std::fs::write(&p, bytes).map_err(|e| {
                TrainError::Data(format!("writing the dataset's ASN database: {e}"))
            })?;
            Some(p)
        }
        None => None,
    };
    Ok((events, replay_config(cfg, db.as_deref())))
}

fn scratch() -> Result<Scratch, TrainError> {
    Scratch::new().map_err(|e| TrainError::Data(format!("creating a temporary folder: {e}")))
}

/// Trains today's model on the RBA file at `data` (labels per `label`) and writes the artifact
/// to `out`; see the module doc for the replay configuration derived from `cfg`.
pub fn train(
    data: &Path,
    label: RbaLabel,
    opts: &super::TrainOptions,
    cfg: &Config,
    out: &Path,
) -> Result<(TrainReport, RbaSummary), TrainError> {
    let rba = read_rba_with(data, label)?;
    let scratch = scratch()?;
    let (events, replay_cfg) = stage(&rba, data, cfg, &scratch)?;
    let report = super::train_with(&events, opts, &replay_cfg, out)?;
    Ok((report, rba.summary))
}

/// The decision backtest (`tessera eval decisions`) on the RBA file at `data`, with `cfg`'s
/// model and policy and the replay configuration of the module doc.
pub fn backtest(
    data: &Path,
    label: RbaLabel,
    cfg: &Config,
) -> Result<(super::backtest::DecisionReport, RbaSummary), TrainError> {
    let rba = read_rba_with(data, label)?;
    let scratch = scratch()?;
    let (events, replay_cfg) = stage(&rba, data, cfg, &scratch)?;
    let report = super::backtest::backtest(&events, &replay_cfg)?;
    Ok((report, rba.summary))
}
