//! What a served score's audit record carries for fraud reports, end to end through the real
//! server (`common::http`): channel, action, the client IP as `server.audit_ip` says (whole,
//! truncated, omitted), the IP's country and AS number from the MaxMind test databases in
//! `../shared/data/mmdb`, and the device as a per-tenant keyed-hash pseudonym. Never the raw
//! user or device id, never keystroke timings.

mod common;

use common::http::{ADMIN_KEY, Server, key, ts};
use serde_json::{Value, json};
use tessera::config::AuditIp;
use tessera::domain::Tenant;
use tessera::privacy::{IdKind, Pseudonymizer};

const ACME_KEY: &str = "test-acme-score-key-0123";
/// Linköping in GeoIP2-City-Test (`SE`), AS29518 in GeoLite2-ASN-Test.
const SWEDISH_IP: &str = "89.160.20.112";
const RAW_DEVICE: &str = "raw-device-id-5e1f";
const RAW_USER: &str = "raw-user-id-7f3a";

/// A server with the MaxMind City and ASN test databases and a score key of tenant `acme`.
fn start(audit_ip: AuditIp) -> Server {
    common::http::start(|cfg, _| {
        cfg.geo.city = common::mmdb("GeoIP2-City-Test.mmdb").into();
        cfg.geo.asn = common::mmdb("GeoLite2-ASN-Test.mmdb").into();
        cfg.server.audit_ip = audit_ip;
        cfg.server
            .keys
            .push(key("acme-scorer", "acme", &["score"], ACME_KEY));
    })
}

/// A payment from the Swedish IP on a device with an id, with keystroke timings.
fn payment(id: &str) -> Value {
    json!({
        "schema": 1, "request_id": id, "user_id": RAW_USER, "timestamp": ts(1),
        "channel": "web_widget", "action": "payment",
        "network": {"ip": SWEDISH_IP},
        "device": {"id": RAW_DEVICE, "platform": "iOS", "timezone": "Europe/Stockholm",
                   "languages": ["sv-SE"]},
        "typing": {"events": [{"key": "a", "down_ms": 0, "up_ms": 91},
                              {"key": "b", "down_ms": 140, "up_ms": 229},
                              {"key": "c", "down_ms": 301, "up_ms": 388}]},
        "auth": {"failed_attempts": 0}
    })
}

/// An SMS event (no action: `login`) from an IPv6 address written out in full, no device.
fn sms_login(id: &str) -> Value {
    json!({
        "schema": 1, "request_id": id, "user_id": RAW_USER, "timestamp": ts(1),
        "channel": "sms", "network": {"ip": "2001:0db8:0000:0000:0000:0000:0000:0001"}
    })
}

/// Scores the payment as `acme` and the SMS login in a batch of the default tenant; returns
/// the two `score` records and the log's text.
fn score_both(s: &Server) -> (Value, Value, String) {
    let r = s.post("/v1/score", ACME_KEY, &payment("p1"));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.post("/v1/score/batch", ADMIN_KEY, &json!([sms_login("s1")]));
    assert_eq!(r.status, 200, "{}", r.body);
    let head = tessera::audit::verify(&s.audit_path()).expect("intact chain");
    assert_eq!(head.records, 2);
    let scores = s.audit_lines();
    let text = std::fs::read_to_string(s.audit_path()).expect("audit log");
    (scores[0].clone(), scores[1].clone(), text)
}

fn keys(record: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = record
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

#[test]
fn a_score_record_carries_channel_action_full_ip_place_and_device_pseudonym() {
    let s = start(AuditIp::default());
    let (pay, sms, text) = score_both(&s);
    assert_eq!(pay["method"], "score");
    assert_eq!(pay["tenant"], "acme");
    assert_eq!(pay["channel"], "web_widget");
    assert_eq!(pay["action"], "payment");
    assert_eq!(pay["ip"], SWEDISH_IP);
    assert_eq!(pay["country"], "SE");
    assert_eq!(pay["asn"], 29518);
    let key = Pseudonymizer::load_or_create(&s.dir.path().join("hash.key")).expect("key");
    let acme = Tenant::parse("tenant", "acme").expect("tenant");
    let device = key
        .for_tenant(&acme)
        .id(IdKind::Device, RAW_DEVICE)
        .to_hex();
    assert_eq!(pay["device"], device.as_str());
    assert_ne!(
        device,
        key.id(IdKind::Device, RAW_DEVICE).to_hex(),
        "keyed per tenant"
    );
    assert_eq!(
        keys(&pay),
        [
            "action",
            "asn",
            "biometric_consent",
            "channel",
            "country",
            "decision",
            "device",
            "ip",
            "key_id",
            "method",
            "model_version",
            "prev",
            "reasons",
            "request_id",
            "seq",
            "tenant",
            "time_ms",
            "trust_score",
            "user"
        ],
        "nothing else: no typing, no raw ids"
    );
    // The consent state, not the consent itself: this request did not say.
    assert_eq!(pay["biometric_consent"], "unstated");
    // The SMS login: `login` by default, the address in canonical form, nothing located.
    assert_eq!(sms["channel"], "sms");
    assert_eq!(sms["action"], "login");
    assert_eq!(sms["ip"], "2001:db8::1");
    for absent in ["country", "asn", "device"] {
        assert!(sms.get(absent).is_none(), "{absent}: {sms}");
    }
    assert!(!text.contains(RAW_DEVICE), "no raw device id");
    assert!(!text.contains(RAW_USER), "no raw user id");
    // An identical retry is audited as replayed, with the same fields.
    let r = s.post("/v1/score", ACME_KEY, &payment("p1"));
    assert_eq!(r.status, 200, "{}", r.body);
    let retry = s.audit_lines().pop().expect("a third record");
    assert_eq!(retry["replayed"], true);
    for field in [
        "channel", "action", "ip", "country", "asn", "device", "user",
    ] {
        assert_eq!(retry[field], pay[field], "{field}");
    }
}

#[test]
fn audit_ip_truncated_keeps_the_network_and_omit_keeps_no_address() {
    let s = start(AuditIp::Truncated);
    let (pay, sms, text) = score_both(&s);
    assert_eq!(pay["ip"], "89.160.20.0/24");
    assert_eq!(sms["ip"], "2001:db8:0::/48");
    assert!(!text.contains(SWEDISH_IP), "{text}");
    // Country and AS number are coarse enough to keep.
    assert_eq!(
        (&pay["country"], &pay["asn"]),
        (&json!("SE"), &json!(29518))
    );

    let s = start(AuditIp::Omit);
    let (pay, sms, text) = score_both(&s);
    assert!(pay.get("ip").is_none(), "{pay}");
    assert!(sms.get("ip").is_none(), "{sms}");
    assert!(!text.contains("89.160.20"), "{text}");
    assert!(!text.contains("2001:db8"), "{text}");
    assert_eq!(
        (&pay["country"], &pay["asn"]),
        (&json!("SE"), &json!(29518))
    );
    assert_eq!(pay["channel"], "web_widget");
}
