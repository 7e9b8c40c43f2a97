//! Integration tests of `gen_data` and `train::dataset`: determinism (whatever the thread count),
//! payload validity, outcome references, attack share and scenario coverage, typing signatures of
//! bots and replays, and the Parquet round trip. The subtle tactics and the genuine noise are
//! tested in `gen_data/tactics.rs`.

#[path = "gen_data/tactics.rs"]
mod tactics;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use polars::prelude::*;
use tessera::domain::{KeyEvent, Limits, OutcomeKind, OutcomeRecord, ScoreRequest, ValidRequest};
use tessera::gen_data::attacks::subtle::{HUMAN_BOT_VICTIMS, LOW_SLOW_ATTEMPTS, WARM_UP_REQUESTS};
use tessera::gen_data::attacks::{ATTACK_MIX, ATTACK_SHARE, STUFFING_BURST};
use tessera::gen_data::typing::interval_std_ms;
use tessera::gen_data::{
    DEFAULT_END_MS, GenConfig, LogRow, RowKind, Scenario, generate, write_parquet,
};
use tessera::train::dataset::{DatasetError, LogEvent, read_dataset};

const HOUR_MS: i64 = 3_600_000;

/// The moderately sized run most tests share: 300 users × 20 days.
fn mid() -> &'static [LogRow] {
    static ROWS: OnceLock<Vec<LogRow>> = OnceLock::new();
    ROWS.get_or_init(|| {
        let cfg = GenConfig {
            users: 300,
            days: 20,
            seed: 11,
            end: DEFAULT_END_MS,
        };
        generate(&cfg).expect("generate 300 × 20")
    })
}

fn small(seed: u64) -> Vec<LogRow> {
    generate(&GenConfig {
        users: 60,
        days: 10,
        seed,
        end: DEFAULT_END_MS,
    })
    .expect("generate small")
}

fn scores() -> impl Iterator<Item = &'static LogRow> {
    mid().iter().filter(|r| r.kind == RowKind::Score)
}

fn typing_of(row: &LogRow) -> Option<Vec<KeyEvent>> {
    let req = ScoreRequest::from_json(&row.payload).expect("score payload");
    req.typing.map(|t| t.events)
}

#[test]
fn same_seed_same_rows_other_seed_other_rows() {
    let a = small(5);
    assert_eq!(a, small(5));
    assert_ne!(a, small(6));
    assert!(a.len() > 100, "{} rows", a.len());
}

#[test]
fn one_thread_or_many_give_the_same_rows() {
    let cfg = GenConfig {
        users: 80,
        days: 12,
        seed: 9,
        end: DEFAULT_END_MS,
    };
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("thread pool")
    };
    let one = pool(1).install(|| generate(&cfg)).expect("one thread");
    let four = pool(4).install(|| generate(&cfg)).expect("four threads");
    assert_eq!(one, four);
}

#[test]
fn rows_are_sorted_and_request_ids_unique() {
    let rows = mid();
    assert!(rows.windows(2).all(|w| w[0].ts_ms <= w[1].ts_ms));
    let mut ids = HashSet::new();
    for r in scores() {
        assert!(ids.insert(r.request_id.as_str()), "duplicate request id");
    }
}

#[test]
fn every_payload_validates_and_matches_its_columns() {
    let limits = Limits::default();
    for r in mid() {
        match r.kind {
            RowKind::Score => {
                let req = ScoreRequest::from_json(&r.payload).expect("parses");
                let v = ValidRequest::check(&req, &limits, DEFAULT_END_MS).expect("validates");
                assert_eq!(v.at_ms, r.ts_ms);
                assert!((DEFAULT_END_MS - 20 * 24 * HOUR_MS..DEFAULT_END_MS).contains(&r.ts_ms));
                assert_eq!(req.request_id.as_deref(), Some(r.request_id.as_str()));
                assert_eq!(req.user_id, r.user_id);
                assert_eq!(Some(req.channel.as_str()), r.channel.as_deref());
                assert_eq!(req.network.and_then(|n| n.ip), r.ip);
                assert_eq!(r.is_attack, r.scenario.is_attack());
            }
            RowKind::Outcome => {
                let rec = OutcomeRecord::from_json(&r.payload).expect("outcome parses");
                assert_eq!(rec.request_id, r.request_id);
                assert_eq!(rec.user_id, r.user_id);
                assert_eq!((r.channel.as_deref(), r.ip.as_deref()), (None, None));
                assert!(r.ts_ms < DEFAULT_END_MS);
            }
        }
    }
}

#[test]
fn outcomes_follow_an_earlier_score_of_the_same_user() {
    let mut seen: HashMap<&str, &LogRow> = HashMap::new();
    let mut counts: BTreeMap<(bool, &str), usize> = BTreeMap::new();
    for r in mid() {
        if r.kind == RowKind::Score {
            seen.insert(&r.request_id, r);
            continue;
        }
        let s = seen
            .get(r.request_id.as_str())
            .expect("outcome after its score");
        assert_eq!(
            (&s.user_id, s.is_attack, s.scenario),
            (&r.user_id, r.is_attack, r.scenario)
        );
        let delay = r.ts_ms - s.ts_ms;
        let rec = OutcomeRecord::from_json(&r.payload).expect("outcome");
        if rec.outcome == OutcomeKind::ConfirmedFraud {
            assert!(
                (2 * HOUR_MS..=72 * HOUR_MS).contains(&delay),
                "fraud after {delay} ms"
            );
        } else {
            assert!(
                (20_000..=180_000).contains(&delay),
                "challenge after {delay} ms"
            );
        }
        *counts
            .entry((r.is_attack, rec.outcome.as_str()))
            .or_default() += 1;
    }
    let get = |k: (bool, &str)| counts.get(&k).copied().unwrap_or(0);
    assert!(
        get((false, "otp_passed")) > 10 * get((false, "otp_failed")),
        "{counts:?}"
    );
    assert!(
        get((true, "otp_failed")) > get((true, "otp_passed")),
        "{counts:?}"
    );
    assert!(get((true, "confirmed_fraud")) > 0, "{counts:?}");
    assert_eq!(get((false, "confirmed_fraud")), 0, "{counts:?}");
}

#[test]
fn attack_share_is_the_target_up_to_one_campaign_per_tactic_and_every_scenario_occurs() {
    let all: Vec<&LogRow> = scores().collect();
    let attacks = all.iter().filter(|r| r.is_attack).count();
    let genuine = (all.len() - attacks) as f64;
    // At least the target share; above it by at most one campaign per tactic (on this small
    // log, 300 users, that overshoot is about two points).
    let budget = genuine * ATTACK_SHARE / (1.0 - ATTACK_SHARE);
    let overshoot: usize = ATTACK_MIX.iter().map(|m| largest_campaign(m.0)).sum();
    assert!(
        attacks as f64 >= budget - ATTACK_MIX.len() as f64
            && (attacks as f64) < budget + overshoot as f64,
        "{attacks} attack score rows for a budget of {budget:.0} (+ at most {overshoot})"
    );
    for s in Scenario::ALL {
        let n = all.iter().filter(|r| r.scenario == s).count();
        assert!(n >= 3, "{}: {n} score rows", s.as_str());
    }
}

/// Most score events one campaign of `s` can add (the budget check runs between campaigns).
fn largest_campaign(s: Scenario) -> usize {
    match s {
        Scenario::CredentialStuffing => STUFFING_BURST.1,
        Scenario::Bot => 4 * 3,
        Scenario::HumanPacedBot => HUMAN_BOT_VICTIMS.1 * 2,
        Scenario::LowAndSlow => LOW_SLOW_ATTEMPTS.1,
        Scenario::WarmUp => WARM_UP_REQUESTS.1 + 1,
        _ => 3,
    }
}

#[test]
fn each_tactic_takes_its_share_of_the_attack_budget() {
    let genuine = scores().filter(|r| !r.is_attack).count() as f64;
    let total = genuine * ATTACK_SHARE / (1.0 - ATTACK_SHARE);
    assert_eq!(ATTACK_MIX.iter().map(|m| m.1).sum::<u32>(), 1000);
    for (s, per_mille) in ATTACK_MIX {
        let budget = (total * f64::from(per_mille) / 1000.0).round() as usize;
        let n = scores().filter(|r| r.scenario == s).count();
        // Campaigns run until the budget is met, so a tactic overshoots by less than one campaign.
        assert!(
            n >= budget && n < budget + largest_campaign(s),
            "{}: {n} score rows for a budget of {budget}",
            s.as_str()
        );
    }
}

#[test]
fn stuffing_bursts_hit_many_users_from_one_hosting_ip() {
    let mut users_per_ip: HashMap<&str, HashSet<&str>> = HashMap::new();
    for r in scores().filter(|r| r.scenario == Scenario::CredentialStuffing) {
        let ip = r.ip.as_deref().expect("stuffing has an ip");
        assert!(ip.starts_with("45."), "{ip}");
        let req = ScoreRequest::from_json(&r.payload).expect("payload");
        assert!(req.auth.expect("auth").failed_attempts >= 1);
        users_per_ip.entry(ip).or_default().insert(&r.user_id);
    }
    assert!(
        users_per_ip.values().any(|u| u.len() >= 4),
        "{users_per_ip:?}"
    );
}

#[test]
fn bots_type_like_machines_and_people_do_not() {
    let (mut bots, mut genuine) = (0, 0);
    for r in scores() {
        let Some(keys) = typing_of(r) else { continue };
        let sd = interval_std_ms(&keys);
        match r.scenario {
            Scenario::Bot => {
                bots += 1;
                assert!(sd <= 1.0, "bot interval sd {sd}");
                assert!(
                    keys.iter()
                        .all(|k| (49.0..=51.0).contains(&(k.up_ms - k.down_ms)))
                );
            }
            Scenario::Genuine => {
                genuine += 1;
                assert!(sd > 5.0, "genuine interval sd {sd}");
            }
            _ => {}
        }
    }
    assert!(
        bots >= 5 && genuine >= 100,
        "bots {bots}, genuine {genuine}"
    );
}

#[test]
fn replays_copy_an_earlier_genuine_sample_of_the_victim() {
    let mut samples: HashMap<&str, Vec<Vec<KeyEvent>>> = HashMap::new();
    let (mut exact, mut jittered) = (0, 0);
    for r in scores() {
        let Some(keys) = typing_of(r) else { continue };
        if !r.is_attack {
            samples.entry(&r.user_id).or_default().push(keys);
            continue;
        }
        if r.scenario != Scenario::TypingReplay {
            continue;
        }
        let close = |s: &&Vec<KeyEvent>| {
            s.len() == keys.len()
                && s.iter().zip(&keys).all(|(a, b)| {
                    a.key == b.key
                        && (a.down_ms - b.down_ms).abs() <= 2.0
                        && (a.up_ms - b.up_ms).abs() <= 2.0
                })
        };
        let earlier = samples
            .get(r.user_id.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let source = earlier
            .iter()
            .find(close)
            .expect("a replay copies an earlier sample");
        if *source == keys {
            exact += 1;
        } else {
            jittered += 1;
        }
    }
    assert!(
        exact >= 1 && jittered >= 1,
        "exact {exact}, jittered {jittered}"
    );
}

#[test]
fn travellers_change_city_only_after_hours() {
    // Between a traveller's consecutive broadband events (home or hotel Wi-Fi, `31.x`) in
    // different cities, hours pass. Mobile addresses are left out: a roaming phone keeps its
    // home carrier's address abroad.
    let mut last: HashMap<&str, (i64, String)> = HashMap::new();
    let mut moves = 0;
    for r in scores().filter(|r| !r.is_attack) {
        let Some(ip) = r.ip.as_deref() else { continue };
        if !ip.starts_with("31.") {
            continue;
        }
        let city = ip.split('.').nth(1).unwrap_or_default().to_string();
        if let Some((t, prev)) = last.get(r.user_id.as_str())
            && *prev != city
            && r.scenario == Scenario::GenuineTravel
        {
            moves += 1;
            assert!(
                r.ts_ms - t >= 2 * HOUR_MS,
                "moved within {} ms",
                r.ts_ms - t
            );
        }
        last.insert(&r.user_id, (r.ts_ms, city));
    }
    assert!(moves >= 1);
}

#[test]
fn parquet_round_trip_gives_the_same_events_in_time_order() {
    let rows = small(21);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("log.parquet");
    write_parquet(&rows, &path).expect("write parquet");
    let ds = read_dataset(&path).expect("read back");
    assert_eq!(ds.events.len(), rows.len());
    for (row, (ts, ev)) in rows.iter().zip(&ds.events) {
        assert_eq!(*ts, row.ts_ms);
        match ev {
            LogEvent::Score {
                request,
                is_attack,
                scenario,
            } => {
                assert_eq!(row.kind, RowKind::Score);
                assert_eq!(
                    *request,
                    ScoreRequest::from_json(&row.payload).expect("payload")
                );
                assert_eq!(*is_attack, Some(row.is_attack));
                assert_eq!(scenario, row.scenario.as_str());
            }
            LogEvent::Outcome(rec) => {
                assert_eq!(row.kind, RowKind::Outcome);
                assert_eq!(
                    *rec,
                    OutcomeRecord::from_json(&row.payload).expect("payload")
                );
            }
        }
    }
    let d = &ds.description;
    let n_scores = rows.iter().filter(|r| r.kind == RowKind::Score).count();
    assert_eq!(
        (d.rows, d.score_rows, d.outcome_rows),
        (rows.len(), n_scores, rows.len() - n_scores)
    );
    let n_attacks = rows
        .iter()
        .filter(|r| r.kind == RowKind::Score && r.is_attack)
        .count();
    assert_eq!(d.attack_rows, n_attacks);
    assert_eq!(d.first_ts_ms, rows.first().map_or(0, |r| r.ts_ms));
    assert_eq!(d.last_ts_ms, rows.last().map_or(0, |r| r.ts_ms));
    assert_eq!(d.scenarios.values().sum::<usize>(), d.score_rows);
    assert_eq!(d.path, path.display().to_string());
}

#[test]
fn reading_sorts_by_time() {
    let mut rows = small(22);
    rows.reverse();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("reversed.parquet");
    write_parquet(&rows, &path).expect("write parquet");
    let ds = read_dataset(&path).expect("read back");
    assert!(ds.events.windows(2).all(|w| w[0].0 <= w[1].0));
    assert_eq!(ds.events.len(), rows.len());
}

fn write_frame(df: &mut DataFrame, dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).expect("create");
    ParquetWriter::new(file).finish(df).expect("write");
    path
}

#[test]
fn a_missing_column_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let full = dir.path().join("full.parquet");
    write_parquet(&small(23), &full).expect("write parquet");
    let df = ParquetReader::new(std::fs::File::open(&full).expect("open"))
        .finish()
        .expect("read");
    let mut df = df.drop("is_attack").expect("drop column");
    let path = write_frame(&mut df, dir.path(), "no_label.parquet");
    let err = read_dataset(&path).expect_err("missing column");
    assert_eq!(err.to_string(), "dataset: missing column `is_attack`");
    assert!(matches!(
        err,
        DatasetError::MissingColumn {
            column: "is_attack"
        }
    ));
}

#[test]
fn a_bad_payload_names_the_row_and_field() {
    let good = r#"{"schema":1,"request_id":"r1","user_id":"u1","timestamp":"2025-12-01T00:00:00Z","channel":"sms"}"#;
    let bad = r#"{"schema":1,"request_id":"r2","user_id":"u1","timestamp":"2025-12-01T00:00:01Z","channel":"web_widget","typing":{"events":[{"down_ms":0,"up_ms":50},{"down_ms":100,"up_ms":150},{"down_ms":200,"up_ms":250},{"down_ms":300,"up_ms":290}]}}"#;
    let mut df = DataFrame::new(
        2,
        vec![
            Column::new("ts_ms".into(), [1_764_547_200_000_i64, 1_764_547_201_000]),
            Column::new("kind".into(), ["score", "score"]),
            Column::new("request_id".into(), ["r1", "r2"]),
            Column::new("user_id".into(), ["u1", "u1"]),
            Column::new("scenario".into(), ["genuine", "genuine"]),
            Column::new("is_attack".into(), [false, false]),
            Column::new("payload".into(), [good, bad]),
        ],
    )
    .expect("frame");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_frame(&mut df, dir.path(), "bad.parquet");
    let err = read_dataset(&path).expect_err("bad payload");
    assert_eq!(
        err.to_string(),
        "row 1: payload: typing.events[3].up_ms: before down_ms"
    );
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let err = read_dataset(Path::new("/nonexistent/log.parquet")).expect_err("no file");
    assert!(
        err.to_string()
            .starts_with("dataset /nonexistent/log.parquet:"),
        "{err}"
    );
}

#[test]
fn a_one_user_one_day_log_is_valid() {
    for seed in 0..20 {
        let cfg = GenConfig {
            users: 1,
            days: 1,
            seed,
            end: DEFAULT_END_MS,
        };
        let rows = generate(&cfg).expect("tiny run");
        for r in rows.iter().filter(|r| r.kind == RowKind::Score) {
            let req = ScoreRequest::from_json(&r.payload).expect("parses");
            ValidRequest::check(&req, &Limits::default(), DEFAULT_END_MS).expect("validates");
            assert!(r.ts_ms >= DEFAULT_END_MS - 24 * HOUR_MS);
            assert_eq!(r.user_id, "u000000");
        }
    }
}

#[test]
fn a_column_of_the_wrong_type_is_named() {
    let payload = r#"{"schema":1,"request_id":"r1","user_id":"u1","timestamp":"2025-12-01T00:00:00Z","channel":"sms"}"#;
    let mut df = DataFrame::new(
        1,
        vec![
            Column::new("ts_ms".into(), ["1764547200000"]),
            Column::new("kind".into(), ["score"]),
            Column::new("request_id".into(), ["r1"]),
            Column::new("user_id".into(), ["u1"]),
            Column::new("scenario".into(), ["genuine"]),
            Column::new("is_attack".into(), [false]),
            Column::new("payload".into(), [payload]),
        ],
    )
    .expect("frame");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_frame(&mut df, dir.path(), "typed.parquet");
    let err = read_dataset(&path).expect_err("string ts_ms");
    assert_eq!(
        err.to_string(),
        "dataset: column `ts_ms`: expected i64, found str"
    );
}
