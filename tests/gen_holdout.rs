//! The holdout world (`tessera gen-data --world holdout`): reproducible to the byte, every tactic
//! at its stated share, every payload valid and replayable through the real engine (addresses
//! located by the demo geo database, outcomes accepted), and each tactic leaving the traces
//! `data/holdout-world.md` promises.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use tessera::config::{Backend, Config};
use tessera::domain::{OutcomeRecord, ScoreRequest};
use tessera::gen_holdout::{GenConfig, Row, RowKind, Scenario, generate, params, write_parquet};

const DAY_MS: i64 = 86_400_000;

fn cfg(users: usize, days: u32, seed: u64) -> GenConfig {
    GenConfig {
        users,
        days,
        seed,
        ..GenConfig::default()
    }
}

/// One mid-sized world shared by the tests that only read it.
fn world() -> &'static [Row] {
    static ROWS: OnceLock<Vec<Row>> = OnceLock::new();
    ROWS.get_or_init(|| generate(&cfg(2_500, 60, 17)).expect("generates"))
}

fn request(r: &Row) -> ScoreRequest {
    ScoreRequest::from_json(&r.payload).expect("score payload parses")
}

fn scores(s: Scenario) -> impl Iterator<Item = &'static Row> {
    world()
        .iter()
        .filter(move |r| r.kind == RowKind::Score && r.scenario == s)
}

#[test]
fn same_seed_gives_identical_bytes_whatever_the_thread_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = cfg(300, 30, 5);
    let a = generate(&c).expect("generates");
    let b = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool")
        .install(|| generate(&c).expect("generates"));
    assert_eq!(a, b);
    let (pa, pb) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
    write_parquet(&a, &pa).expect("writes");
    write_parquet(&b, &pb).expect("writes");
    assert_eq!(
        std::fs::read(&pa).expect("read"),
        std::fs::read(&pb).expect("read")
    );
    let other = generate(&cfg(300, 30, 6)).expect("generates");
    assert_ne!(
        a.first().map(|r| &r.payload),
        other.first().map(|r| &r.payload)
    );
}

#[test]
fn rows_are_sorted_and_request_ids_unique() {
    let rows = world();
    assert!(rows.windows(2).all(|w| w[0].ts_ms <= w[1].ts_ms));
    let ids: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.kind == RowKind::Score)
        .map(|r| r.request_id.as_str())
        .collect();
    let n = rows.iter().filter(|r| r.kind == RowKind::Score).count();
    assert_eq!(ids.len(), n);
    let end = GenConfig::default().end;
    assert!(
        rows.iter()
            .all(|r| r.ts_ms < end && r.ts_ms >= end - 60 * DAY_MS)
    );
}

#[test]
fn every_tactic_is_present_at_its_stated_share() {
    let mut per: BTreeMap<Scenario, usize> = BTreeMap::new();
    for r in world().iter().filter(|r| r.kind == RowKind::Score) {
        *per.entry(r.scenario).or_default() += 1;
        assert_eq!(r.is_attack, r.scenario.is_attack());
    }
    let total: usize = per.values().sum();
    let attacks: usize = Scenario::TACTICS
        .iter()
        .map(|s| per.get(s).copied().unwrap_or(0))
        .sum();
    let share = attacks as f64 / total as f64;
    assert!(
        (share - params::ATTACK_SHARE).abs() < 0.01,
        "attack share {share}"
    );
    for (s, want) in Scenario::TACTICS.iter().zip(params::TACTIC_SHARES) {
        let got = per.get(s).copied().unwrap_or(0) as f64 / attacks as f64;
        assert!((got - want).abs() < 0.04, "{}: {got} vs {want}", s.as_str());
    }
    for s in Scenario::ALL {
        assert!(
            per.get(&s).copied().unwrap_or(0) > 0,
            "{} missing",
            s.as_str()
        );
    }
}

#[test]
fn the_file_reads_back_and_replays_through_the_engine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = generate(&cfg(200, 21, 9)).expect("generates");
    let path = dir.path().join("h.parquet");
    write_parquet(&rows, &path).expect("writes");
    let ds = tessera::train::dataset::read_dataset(&path).expect("every payload validates");
    let d = &ds.description;
    assert_eq!(d.rows, rows.len());
    assert_eq!(
        d.score_rows,
        rows.iter().filter(|r| r.kind == RowKind::Score).count()
    );
    assert_eq!(
        d.attack_rows,
        rows.iter()
            .filter(|r| r.kind == RowKind::Score && r.is_attack)
            .count()
    );
    assert!(d.scenarios.contains_key("sim_swap_takeover"));

    let mut config = Config::default();
    config.store.backend = Backend::Memory;
    config.model.path = "rules".into();
    let engine = tessera::Engine::from_config(&config).expect("engine");
    let (mut located, mut with_ip, mut refused) = (0usize, 0usize, 0usize);
    for r in &rows {
        match r.kind {
            RowKind::Score => {
                let a = engine.assess(&request(r), r.ts_ms).expect("scores");
                if r.ip.is_some() {
                    with_ip += 1;
                    located += usize::from(a.country.is_some());
                }
            }
            RowKind::Outcome => {
                let rec = OutcomeRecord::from_json(&r.payload).expect("outcome parses");
                refused += usize::from(engine.record_outcome(&rec).is_err());
            }
        }
    }
    assert!(with_ip > 500, "{with_ip}");
    assert_eq!(located, with_ip, "every address is in the demo geo table");
    assert_eq!(
        refused, 0,
        "every outcome follows its request within the pending window"
    );
}

#[test]
fn genuine_customers_produce_verified_outcomes() {
    let mut outcomes: HashMap<&str, Vec<String>> = HashMap::new();
    for r in world().iter().filter(|r| r.kind == RowKind::Outcome) {
        let rec = OutcomeRecord::from_json(&r.payload).expect("outcome parses");
        outcomes
            .entry(r.request_id.as_str())
            .or_default()
            .push(rec.outcome.as_str().to_string());
    }
    let genuine: Vec<&Row> = world()
        .iter()
        .filter(|r| r.kind == RowKind::Score && !r.is_attack)
        .collect();
    let verified = genuine
        .iter()
        .filter(|r| {
            outcomes.get(r.request_id.as_str()).is_some_and(|o| {
                o.iter()
                    .any(|k| k == "otp_passed" || k == "kba_passed" || k == "confirmed_safe")
            })
        })
        .count();
    let share = verified as f64 / genuine.len() as f64;
    assert!((0.25..0.6).contains(&share), "verified share {share}");
    let confirmed_fraud = world()
        .iter()
        .filter(|r| r.kind == RowKind::Outcome && r.payload.contains("confirmed_fraud"))
        .count();
    assert!(confirmed_fraud > 0);
    assert!(
        world()
            .iter()
            .filter(|r| r.kind == RowKind::Outcome && r.payload.contains("confirmed_fraud"))
            .all(|r| r.is_attack)
    );
}

fn sim_age_ms(r: &Row) -> Option<i64> {
    let req = request(r);
    let at = req.network.as_ref()?.sim_changed_at.as_deref()?;
    let changed = tessera::domain::validate::parse_rfc3339("t", at).expect("rfc 3339");
    Some(r.ts_ms - changed)
}

#[test]
fn sim_swap_rows_carry_a_recent_sim_change_and_genuine_rows_rarely_do() {
    let swaps: Vec<i64> = scores(Scenario::SimSwapTakeover)
        .filter_map(sim_age_ms)
        .collect();
    assert!(swaps.len() > 50);
    let limit = (params::SIM_SWAP_AGE_H.1 + 3) * 3_600_000;
    assert!(
        swaps.iter().all(|&a| a > 0 && a <= limit),
        "ages {:?}",
        swaps.iter().max()
    );
    let genuine: Vec<i64> = scores(Scenario::GenuineHome)
        .filter_map(sim_age_ms)
        .collect();
    let recent = genuine.iter().filter(|&&a| a <= limit).count() as f64 / genuine.len() as f64;
    assert!(recent < 0.01, "genuine recent SIM share {recent}");
    let new_phone: Vec<i64> = scores(Scenario::GenuineNewPhone)
        .filter_map(sim_age_ms)
        .collect();
    assert!(
        new_phone.iter().any(|&a| a <= limit),
        "some new phones come with a new SIM"
    );
}

#[test]
fn stolen_device_ids_were_the_victims_own() {
    let mut seen: HashMap<(String, String), i64> = HashMap::new();
    for r in world()
        .iter()
        .filter(|r| r.kind == RowKind::Score && !r.is_attack)
    {
        if let Some(id) = request(r).device.and_then(|d| d.id) {
            seen.entry((r.user_id.clone(), id)).or_insert(r.ts_ms);
        }
    }
    let thefts: Vec<&Row> = scores(Scenario::SessionDeviceTheft).collect();
    assert!(thefts.len() > 50);
    let reused = thefts
        .iter()
        .filter(|r| {
            let id = request(r).device.and_then(|d| d.id).expect("a stolen id");
            seen.get(&(r.user_id.clone(), id))
                .is_some_and(|&t| t < r.ts_ms)
        })
        .count();
    assert_eq!(
        reused,
        thefts.len(),
        "every stolen id was used by its victim before"
    );
}

#[test]
fn mule_rings_share_phones_and_stuffing_never_repeats_an_address() {
    let mut users_per_device: HashMap<String, BTreeSet<&str>> = HashMap::new();
    for r in scores(Scenario::MuleAccount) {
        if let Some(id) = request(r).device.and_then(|d| d.id) {
            users_per_device.entry(id).or_default().insert(&r.user_id);
        }
    }
    assert!(users_per_device.values().any(|u| u.len() >= 3));
    let stuffing: Vec<&Row> = scores(Scenario::ProxyPoolStuffing).collect();
    let ips: BTreeSet<&str> = stuffing.iter().filter_map(|r| r.ip.as_deref()).collect();
    assert!(ips.len() as f64 > 0.97 * stuffing.len() as f64);
    assert!(
        ips.iter()
            .all(|ip| ip.starts_with("49.0.") || ip.starts_with("37."))
    );
    let helpdesk_last: Vec<ScoreRequest> = scores(Scenario::HelpdeskSocialEngineering)
        .map(request)
        .collect();
    assert!(
        helpdesk_last
            .iter()
            .any(|q| q.action == Some(tessera::domain::Action::ChangeContact))
    );
}

#[test]
fn mfa_fatigue_counts_rejected_prompts() {
    let by_session: BTreeMap<String, Vec<u32>> =
        scores(Scenario::MfaFatigue).fold(BTreeMap::new(), |mut m, r| {
            let q = request(r);
            m.entry(q.session_id.clone().expect("session"))
                .or_insert_with(Vec::new)
                .push(q.auth.map_or(0, |a| a.failed_attempts));
            m
        });
    assert!(by_session.len() > 10);
    assert!(
        by_session
            .values()
            .all(|v| v.len() >= params::FATIGUE_PUSHES.0 / 2)
    );
    assert!(
        by_session
            .values()
            .any(|v| v.iter().max() >= Some(&((params::FATIGUE_PUSHES.0 - 1) as u32)))
    );
}

#[test]
fn cli_writes_the_holdout_world() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(dir.path())
        .args([
            "gen-data",
            "--world",
            "holdout",
            "--users",
            "120",
            "--days",
            "14",
            "--seed",
            "4",
            "--out",
            "h.parquet",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = generate(&cfg(120, 14, 4)).expect("generates");
    let attacks = rows.iter().filter(|r| r.is_attack).count();
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        said.starts_with(&format!(
            "wrote {} rows ({attacks} attack rows)",
            rows.len()
        )),
        "{said}"
    );
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(dir.path())
        .args(["gen-data", "--world", "mars", "--out", "x.parquet"])
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
    // The holdout world is an event log only: no RBA layout, and nothing written.
    let rba = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(dir.path())
        .args([
            "gen-data", "--world", "holdout", "--format", "rba", "--users", "10", "--out", "x.csv",
        ])
        .output()
        .expect("run");
    assert_eq!(rba.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&rba.stderr).contains("--world holdout"),
        "{}",
        String::from_utf8_lossy(&rba.stderr)
    );
    assert!(!dir.path().join("x.csv").exists());
    // A bad size is refused by field name, not by a panic.
    let zero = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(dir.path())
        .args([
            "gen-data",
            "--world",
            "holdout",
            "--users",
            "0",
            "--out",
            "z.parquet",
        ])
        .output()
        .expect("run");
    assert_eq!(zero.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&zero.stderr).contains("users"),
        "{}",
        String::from_utf8_lossy(&zero.stderr)
    );
    assert!(!dir.path().join("z.parquet").exists());
}

#[test]
fn the_two_worlds_share_no_ids_for_one_config() {
    let c = cfg(150, 14, 3);
    let main = tessera::gen_data::generate(&c).expect("main generates");
    let holdout = generate(&c).expect("holdout generates");
    let main_users: BTreeSet<&str> = main.iter().map(|r| r.user_id.as_str()).collect();
    let main_requests: BTreeSet<&str> = main.iter().map(|r| r.request_id.as_str()).collect();
    assert!(holdout.iter().all(|r| r.user_id.starts_with("hc-")));
    assert!(
        holdout
            .iter()
            .all(|r| !main_users.contains(r.user_id.as_str())
                && !main_requests.contains(r.request_id.as_str()))
    );
    let main_names: BTreeSet<&str> = main.iter().map(|r| r.scenario.as_str()).collect();
    let holdout_names: BTreeSet<&str> = holdout.iter().map(|r| r.scenario.as_str()).collect();
    assert!(main_names.is_disjoint(&holdout_names), "{main_names:?}");
}
