//! What the `score` benches share: a warm engine (200 users with 10 verified events each) and
//! fresh requests with typing, device and a demo IP. Inputs are built outside the timed part;
//! seeds are fixed.

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

fn warm_engine(backend: Backend, dir: &std::path::Path) -> Engine {
    let mut cfg = Config::default();
    cfg.store.backend = backend;
    cfg.store.path = dir.join("bench.redb");
    cfg.privacy.key_file = dir.join("hash.key");
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
        let name = format!("{prefix}/{store}");
        let engine = warm_engine(backend, dir.path());
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
        c.bench_function(&name, |b| {
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
}
