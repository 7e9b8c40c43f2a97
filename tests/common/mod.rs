//! Helpers shared by the integration tests: engines on real parts and request builders.
#![allow(dead_code)]

pub mod browser;
pub mod http;
pub mod process;
pub mod prometheus;

use std::path::PathBuf;

use tessera::config::{Backend, Config};
use tessera::domain::{
    AuthInfo, Channel, DeviceInfo, NetworkInfo, OutcomeKind, OutcomeRecord, ScoreRequest,
    TypingInfo,
};
use tessera::{Engine, ScoreResponse};

/// 2026-01-10T09:00:00Z.
pub const T0: i64 = 1_768_035_600_000;
pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 24 * HOUR;
/// Demo geo ranges (data/geo/demo-geo.csv): residential /16 per city.
pub const PARIS_IP: &str = "31.0.12.34";
pub const LYON_IP: &str = "31.1.40.2";
pub const NEW_YORK_IP: &str = "31.11.0.77";
pub const TOR_IP_DEMO: &str = "47.0.0.9";

/// The shared MaxMind test databases (../shared/data/mmdb/test-data); fails loudly when absent.
pub fn mmdb(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/mmdb/test-data")
        .join(name);
    assert!(
        p.exists(),
        "missing shared test data {} — CI clones the repo beside ../shared",
        p.display()
    );
    p.display().to_string()
}

pub fn memory_config() -> Config {
    let mut cfg = Config::default();
    cfg.store.backend = Backend::Memory;
    cfg
}

pub fn engine(cfg: &Config) -> Engine {
    Engine::from_config(cfg).expect("engine from config")
}

pub fn ts(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("time")
        .to_rfc3339()
}

pub fn device(id: &str, tz: &str, lang: &str) -> DeviceInfo {
    DeviceInfo {
        id: Some(id.into()),
        user_agent: Some(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148".into(),
        ),
        platform: Some("iOS".into()),
        timezone: Some(tz.into()),
        languages: vec![lang.into()],
        screen: Some("390x844".into()),
        webdriver: Some(false),
    }
}

/// One message typed by a person with these mean hold and flight times (the generator's own
/// typing model), deterministic per `seed`.
pub fn typing(dwell: f64, flight: f64, seed: u64) -> TypingInfo {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    TypingInfo {
        events: tessera::gen_data::typing::Rhythm::steady(dwell, flight).type_message(&mut rng),
    }
}

pub fn request(
    user: &str,
    id: &str,
    at_ms: i64,
    ip: &str,
    dev: DeviceInfo,
    typing: Option<TypingInfo>,
) -> ScoreRequest {
    let mut r = ScoreRequest::minimal(user, &ts(at_ms), Channel::WebWidget);
    r.request_id = Some(id.into());
    r.network = Some(NetworkInfo {
        ip: Some(ip.into()),
        ..NetworkInfo::default()
    });
    r.device = Some(dev);
    r.typing = typing;
    r.auth = Some(AuthInfo::default());
    r
}

/// Scores `req` at its own time plus one minute.
pub fn score(engine: &Engine, req: &ScoreRequest) -> ScoreResponse {
    let at = chrono::DateTime::parse_from_rfc3339(&req.timestamp)
        .expect("ts")
        .timestamp_millis();
    engine.score_at(req, at + 60_000).expect("score")
}

/// `n` verified logins from Paris on `phone`, every two days before T0.
pub fn enroll_in_paris(engine: &Engine, user: &str, n: i64) {
    let phone = device(&format!("{user}-phone"), "Europe/Paris", "fr-FR");
    enroll_from(engine, user, PARIS_IP, &phone, n);
}

/// `n` verified logins from `ip` on `dev`, every two days before T0.
pub fn enroll_from(engine: &Engine, user: &str, ip: &str, dev: &DeviceInfo, n: i64) {
    for i in 0..n {
        let at = T0 - (n - i) * 2 * DAY;
        let id = format!("{user}-enrol-{i}");
        let req = request(
            user,
            &id,
            at,
            ip,
            dev.clone(),
            Some(typing(105.0, 190.0, i as u64)),
        );
        score(engine, &req);
        engine
            .record_outcome(&OutcomeRecord::new(
                &id,
                user,
                &ts(at + 90_000),
                OutcomeKind::OtpPassed,
            ))
            .expect("outcome");
    }
}

pub fn codes(resp: &ScoreResponse) -> Vec<&'static str> {
    resp.reasons.iter().map(|r| r.code.as_str()).collect()
}
