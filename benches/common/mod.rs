//! What the `score` benches share: a warm engine (200 users with 10 verified events each) and
//! fresh requests with typing, device and a demo IP. The engine has the `[reputation]` list
//! lookups on, with lists of realistic size generated into the temp dir (2 000 Tor exits,
//! 50 000 VPN and hosting networks, 10 000 proxies, 5 000 hosting ASNs; the bench address is on
//! none of them, as most are). Inputs are built outside the timed part; seeds are fixed.

use criterion::Criterion;
use std::hint::black_box;

use tessera::Engine;
use tessera::config::{Backend, Config};
use tessera::domain::{
    AuthInfo, Channel, DeviceInfo, KeyEvent, NetworkInfo, OutcomeKind, OutcomeRecord, ScoreRequest,
    TypingInfo,
};

const T0: i64 = 1_768_035_600_000;
const DAY: i64 = 86_400_000;

fn ts(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339())
        .unwrap_or_default()
}

fn request(user: &str, id: &str, at: i64, ip: &str, seed: u64) -> ScoreRequest {
    let mut r = ScoreRequest::minimal(user, &ts(at), Channel::WebWidget);
    r.request_id = Some(id.into());
    r.network = Some(NetworkInfo {
        ip: Some(ip.into()),
        ..NetworkInfo::default()
    });
    r.device = Some(DeviceInfo {
        id: Some(format!("{user}-phone")),
        user_agent: Some(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148".into(),
        ),
        platform: Some("iOS".into()),
        timezone: Some("Europe/Paris".into()),
        languages: vec!["fr-FR".into()],
        screen: Some("390x844".into()),
        webdriver: Some(false),
    });
    let mut s = seed | 1;
    let events = (0..24)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let j = (s % 60) as f64;
            let down = f64::from(i) * 190.0 + j;
            KeyEvent {
                key: Some("letter".into()),
                down_ms: down,
                up_ms: down + 80.0 + j / 2.0,
            }
        })
        .collect();
    r.typing = Some(TypingInfo { events });
    r.auth = Some(AuthInfo::default());
    r
}

/// xorshift64: fixed-seed, dependency-free.
fn next(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// A random public-looking IPv4 address outside 31.0.0.0/8 (the bench users' range).
fn random_v4(s: &mut u64) -> [u8; 4] {
    let b = next(s).to_be_bytes();
    let first = match b[0] % 223 + 1 {
        31 => 32,
        x => x,
    };
    [first, b[1], b[2], b[3]]
}

/// Writes `n` lines made by `line` to `dir/name`; returns the path.
fn list_file(
    dir: &std::path::Path,
    name: &str,
    n: usize,
    mut line: impl FnMut() -> String,
) -> String {
    let mut text = String::from("# generated for the score bench\n");
    for _ in 0..n {
        text.push_str(&line());
        text.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write list");
    path.display().to_string()
}

/// Generates the bench's `[reputation]` lists in `dir` (seed fixed).
fn reputation_lists(dir: &std::path::Path) -> tessera::enrich::ReputationFiles {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let cidr = |s: &mut u64| {
        let [a, b, c, d] = random_v4(s);
        let prefix = 16 + next(s) % 17;
        format!("{a}.{b}.{c}.{d}/{prefix}")
    };
    let addr = |s: &mut u64| {
        let [a, b, c, d] = random_v4(s);
        format!("{a}.{b}.{c}.{d}")
    };
    tessera::enrich::ReputationFiles {
        tor_exit: vec![list_file(dir, "tor-exits.txt", 2_000, || addr(&mut s))],
        vpn: vec![list_file(dir, "vpn-ipv4.txt", 25_000, || cidr(&mut s))],
        hosting: vec![list_file(dir, "datacenter-ipv4.txt", 25_000, || {
            cidr(&mut s)
        })],
        proxy: vec![list_file(dir, "proxies.netset", 10_000, || addr(&mut s))],
        hosting_asns: vec![list_file(dir, "bad-asn-list.csv", 5_000, || {
            // Real AS numbers, none of the demo database's (64600–64999).
            format!("AS{},\"Hosting\"", 1 + next(&mut s) % 64_000)
        })],
    }
}

fn warm_engine(backend: Backend, dir: &std::path::Path) -> Engine {
    let mut cfg = Config::default();
    cfg.store.backend = backend;
    cfg.store.path = dir.join("bench.redb");
    cfg.privacy.key_file = dir.join("hash.key");
    cfg.reputation = reputation_lists(dir);
    let engine = Engine::from_config(&cfg).expect("engine");
    // 200 users with 10 verified events each.
    for u in 0..200 {
        let user = format!("user{u}");
        for i in 0..10i64 {
            let id = format!("{user}-{i}");
            let at = T0 - (10 - i) * DAY;
            engine
                .score_at(
                    &request(&user, &id, at, "31.0.12.34", (u * 100 + i) as u64),
                    T0,
                )
                .expect("score");
            engine
                .record_outcome(&OutcomeRecord::new(
                    &id,
                    &user,
                    &ts(at + 60_000),
                    OutcomeKind::OtpPassed,
                ))
                .expect("outcome");
        }
    }
    engine
}

/// Benches `score_at` on a warm memory store and a warm redb store, as `PREFIX/memory` and
/// `PREFIX/redb`.
pub fn bench_score(c: &mut Criterion, prefix: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (store, backend) in [("memory", Backend::Memory), ("redb", Backend::Embedded)] {
        let engine = warm_engine(backend, dir.path());
        bench_engine(c, &format!("{prefix}/{store}"), &engine);
    }
}

/// Benches `score_at` on a warm memory store with a random forest as the active model, as
/// `PREFIX/memory_forest`: the forest `tessera train --model forest` fits (default
/// parameters) on the training split of a log generated with 300 users over 30 days (seed 7),
/// calibrated on its validation split. Fitting takes a few seconds before the bench starts.
#[allow(dead_code)] // score_system_alloc benches the default model only
pub fn bench_score_forest(c: &mut Criterion, prefix: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = warm_engine(Backend::Memory, dir.path());
    engine.set_model(forest_model(dir.path()));
    bench_engine(c, &format!("{prefix}/memory_forest"), &engine);
}

#[allow(dead_code)]
fn forest_model(dir: &std::path::Path) -> tessera::model::Model {
    use tessera::features::{FeatureSchema, N_FEATURES};
    use tessera::model::{Artifact, ModelKind};
    let gen_cfg = tessera::gen_data::GenConfig {
        users: 300,
        days: 30,
        ..Default::default()
    };
    let log = tessera::gen_data::generate(&gen_cfg).expect("generate");
    let path = dir.join("forest-train.parquet");
    tessera::gen_data::parquet::write_parquet(&log, &path).expect("write");
    let mut cfg = Config::default();
    cfg.privacy.key_file = dir.join("replay.key");
    let prepared = tessera::train::prepare(&path, &tessera::train::LabelOptions::default(), &cfg)
        .expect("prepare");
    let (rows, ys) = prepared.train();
    let (trees, _) = tessera::train::trees::fit_forest(rows, ys, 7).expect("forest");
    let (vrows, vys) = prepared.validation();
    let raw: Vec<f64> = vrows.iter().map(|r| f64::from(trees.raw(r))).collect();
    let (calibration, _) = tessera::train::calibrate::choose(&raw, vys, false);
    let neutral = prepared.neutral.clone();
    tessera::model::Model::from_artifact(&Artifact {
        format_version: tessera::model::artifact::FORMAT_VERSION,
        model_version: "bench-forest".into(),
        kind: ModelKind::Forest,
        schema: FeatureSchema::current(),
        weights: vec![0.0; N_FEATURES],
        intercept: 0.0,
        metrics: serde_json::Value::Null,
        training: serde_json::Value::Null,
        card: serde_json::Value::Null,
        neutral,
        trees: Some(trees),
        anomaly: None,
        calibration,
    })
}

fn bench_engine(c: &mut Criterion, name: &str, engine: &Engine) {
    let reqs: Vec<ScoreRequest> = (0..200)
        .map(|u| {
            request(
                &format!("user{u}"),
                &format!("b{u}"),
                T0,
                "31.0.12.34",
                7 + u,
            )
        })
        .collect();
    // Every scored request needs an id of its own: a repeated id is a retry (answered from
    // the store) or a conflict. The fresh id is made outside the timed part.
    let (mut i, mut n) = (0usize, 0u64);
    c.bench_function(name, |b| {
        b.iter_batched(
            || {
                i = (i + 1) % reqs.len();
                n += 1;
                let mut r = reqs[i].clone();
                r.request_id = Some(format!("b{n}"));
                r
            },
            |r| black_box(engine.score_at(black_box(&r), T0).expect("score")),
            criterion::BatchSize::SmallInput,
        )
    });
}
