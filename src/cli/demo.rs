//! `tessera demo`: the end-to-end path on embedded defaults, no external service and no
//! download — generate a labelled event log, train a model on it, then score three showcase
//! requests against a customer with verified history: a normal login, impossible travel, and a
//! Tor bot.

use std::path::PathBuf;
use std::process::ExitCode;

use tessera::config::{Backend, Config};
use tessera::domain::{
    AuthInfo, Channel, DeviceInfo, KeyEvent, NetworkInfo, OutcomeKind, OutcomeRecord, ScoreRequest,
    TypingInfo,
};
use tessera::{Engine, ScoreResponse};

use super::CliError;

/// Arguments of `tessera demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Working directory for the generated data and model.
    #[arg(long, default_value = "tessera-data/demo")]
    dir: PathBuf,
    /// Users in the generated event log.
    #[arg(long, default_value_t = 600)]
    users: usize,
    /// Days in the generated event log.
    #[arg(long, default_value_t = 30)]
    days: u32,
}

const DAY_MS: i64 = 86_400_000;
/// 2026-01-10T09:00:00Z: the showcase happens after the generated log ends.
const SHOWCASE_MS: i64 = 1_768_035_600_000;

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    std::fs::create_dir_all(&args.dir).map_err(|e| format!("{}: {e}", args.dir.display()))?;
    let data = args.dir.join("events.parquet");
    let model_dir = args.dir.join("model");
    let model = model_dir.join(tessera::train::output::MODEL_FILE);
    println!(
        "1/3 generating {} users × {} days of labelled chat events …",
        args.users, args.days
    );
    let gen_cfg = tessera::gen_data::GenConfig {
        users: args.users,
        days: args.days,
        seed: 7,
        ..Default::default()
    };
    let rows = tessera::gen_data::generate(&gen_cfg)?;
    tessera::gen_data::write_parquet(&rows, &data)?;
    println!("    {} rows → {}", rows.len(), data.display());
    println!("2/3 training (replay through the live feature code, linfa logistic regression) …");
    let mut cfg = Config::default();
    let report = tessera::train::train(&data, &cfg, &model_dir)?;
    super::train::print_report(&report);
    println!(
        "3/3 scoring showcase requests with the new model (in-memory store, built-in demo geo data)"
    );
    cfg.store.backend = Backend::Memory;
    cfg.model.path = model.display().to_string();
    let engine = Engine::from_config(&cfg)?;
    enroll(&engine)?;
    let cases = [
        (
            "normal login from home",
            request(
                "alice-1",
                60_000,
                "31.0.12.34",
                alice_device(),
                Some(rhythm(105.0, 190.0, 1_001)),
                "fr-FR",
            ),
        ),
        (
            "impossible travel: New York one hour later",
            request(
                "alice-2",
                3_600_000,
                "31.11.0.77",
                new_york_device(),
                Some(rhythm(80.0, 150.0, 11)),
                "en-US",
            ),
        ),
        (
            "Tor bot with machine-regular typing",
            request(
                "alice-3",
                3_700_000,
                "47.0.0.9",
                bot_device(),
                Some(bot_typing()),
                "en-US",
            ),
        ),
    ];
    for (i, (title, req)) in cases.iter().enumerate() {
        let resp = engine.score_at(req, SHOWCASE_MS + 4 * 3_600_000)?;
        show(title, &resp);
        if i == 0 {
            // Alice passes the OTP she was (or wasn't) asked for: Paris becomes her last verified place.
            let at = chrono::DateTime::from_timestamp_millis(SHOWCASE_MS + 120_000)
                .map(|d| d.to_rfc3339())
                .unwrap_or_default();
            engine.record_outcome(&OutcomeRecord::new(
                "alice-1",
                "alice",
                &at,
                OutcomeKind::OtpPassed,
            ))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(title: &str, r: &ScoreResponse) {
    println!(
        "\n  {title}\n    trust {:>3}  risk {:?}  decision {}  (confidence {:.2}, model {})",
        r.trust_score.value(),
        r.risk,
        r.decision.as_str(),
        r.confidence,
        r.model_version
    );
    for reason in r.reasons.iter().take(5) {
        let detail = if reason.detail.as_object().is_some_and(|o| o.is_empty()) {
            String::new()
        } else {
            format!(" {}", reason.detail)
        };
        println!(
            "      {:>6.1}  {}{}",
            reason.contribution, reason.code, detail
        );
    }
}

/// Twelve verified logins from Paris on Alice's phone over the previous weeks.
fn enroll(engine: &Engine) -> Result<(), CliError> {
    for i in 0..12i64 {
        let offset = -(12 - i) * 2 * DAY_MS;
        let id = format!("alice-enrol-{i}");
        let req = request(
            &id,
            offset,
            &format!("31.0.12.{}", 30 + i),
            alice_device(),
            Some(rhythm(105.0, 190.0, i as u64)),
            "fr-FR",
        );
        engine.score_at(&req, SHOWCASE_MS + 4 * 3_600_000)?;
        let at = chrono::DateTime::from_timestamp_millis(SHOWCASE_MS + offset + 90_000)
            .map(|d| d.to_rfc3339())
            .unwrap_or_default();
        engine.record_outcome(&OutcomeRecord::new(
            &id,
            "alice",
            &at,
            OutcomeKind::OtpPassed,
        ))?;
    }
    Ok(())
}

fn request(
    id: &str,
    offset_ms: i64,
    ip: &str,
    device: DeviceInfo,
    typing: Option<TypingInfo>,
    _lang: &str,
) -> ScoreRequest {
    let ts = chrono::DateTime::from_timestamp_millis(SHOWCASE_MS + offset_ms)
        .map(|d| d.to_rfc3339())
        .unwrap_or_default();
    let mut req = ScoreRequest::minimal("alice", &ts, Channel::WebWidget);
    req.request_id = Some(id.to_string());
    req.network = Some(NetworkInfo {
        ip: Some(ip.to_string()),
        ..NetworkInfo::default()
    });
    req.device = Some(device);
    req.typing = typing;
    req.auth = Some(AuthInfo::default());
    req
}

fn alice_device() -> DeviceInfo {
    DeviceInfo {
        id: Some("alice-phone".into()),
        user_agent: Some("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148".into()),
        platform: Some("iOS".into()),
        timezone: Some("Europe/Paris".into()),
        languages: vec!["fr-FR".into(), "en".into()],
        screen: Some("390x844".into()),
        webdriver: Some(false),
    }
}

fn new_york_device() -> DeviceInfo {
    DeviceInfo {
        id: Some("unknown-laptop-8841".into()),
        user_agent: Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36".into()),
        platform: Some("Win32".into()),
        timezone: Some("America/New_York".into()),
        languages: vec!["en-US".into()],
        screen: Some("1920x1080".into()),
        webdriver: Some(false),
    }
}

fn bot_device() -> DeviceInfo {
    DeviceInfo {
        id: Some("headless-77".into()),
        user_agent: Some(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/124.0 Safari/537.36"
                .into(),
        ),
        platform: Some("Linux x86_64".into()),
        timezone: Some("UTC".into()),
        languages: vec!["en-US".into()],
        screen: Some("800x600".into()),
        webdriver: Some(true),
    }
}

/// One message typed by a person with these mean hold and flight times, seeded.
fn rhythm(dwell_ms: f64, flight_ms: f64, seed: u64) -> TypingInfo {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    TypingInfo {
        events: tessera::gen_data::typing::Rhythm::steady(dwell_ms, flight_ms)
            .type_message(&mut rng),
    }
}

/// Machine-regular typing: 50 ms holds every 100 ms.
fn bot_typing() -> TypingInfo {
    let events = (0..24)
        .map(|i| KeyEvent {
            key: Some("letter".into()),
            down_ms: f64::from(i) * 100.0,
            up_ms: f64::from(i) * 100.0 + 50.0,
        })
        .collect();
    TypingInfo { events }
}
