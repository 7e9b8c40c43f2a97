//! Validation: a raw [`ScoreRequest`] becomes a [`ValidRequest`] only through [`ValidRequest::check`],
//! which names the first bad field. After it, downstream code may rely on: a parsed timestamp, a
//! parsed IP, bounded string lengths, bounded and ordered key events with finite, sane timings.

use std::net::IpAddr;

use super::context::{Action, Channel};
use super::error::InputError;
use super::request::ScoreRequest;

/// Bounds on what a request may carry. The defaults suit chat; config may tighten them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Most key events accepted in one request.
    pub max_key_events: usize,
    /// Longest id (`user_id`, `session_id`, `request_id`, `device.id`), in characters.
    pub max_id_len: usize,
    /// Longest free-text field (user agent, platform, screen, languages), in characters.
    pub max_text_len: usize,
    /// How far in the future a timestamp may be relative to the clock, ms (clock skew allowance).
    pub max_future_skew_ms: i64,
    /// Longest plausible key hold, ms.
    pub max_hold_ms: f64,
    /// Largest key time accepted, ms from the capture origin (24 h).
    pub max_key_time_ms: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_key_events: 2_000,
            max_id_len: 128,
            max_text_len: 512,
            max_future_skew_ms: 5 * 60 * 1000,
            max_hold_ms: 10_000.0,
            max_key_time_ms: 86_400_000.0,
        }
    }
}

/// Earliest timestamp accepted: 2000-01-01T00:00:00Z, in ms since the Unix epoch.
pub const EARLIEST_MS: i64 = 946_684_800_000;

/// Which clock a request's history runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Live traffic received at this server time (ms since the epoch). Velocity windows,
    /// pending deadlines, outcome deadlines, retention and every time feature run on it; the
    /// request's `timestamp` is only the client's claim: within `max_future_skew_ms` either side
    /// of the receive time it agrees (and the receive time is used), outside it the request is
    /// scored at the receive time with reason `clock_skew`. Outcomes must echo their receipt.
    Live(i64),
    /// Offline replay of recorded events (training, backtests, `tessera score` over a file):
    /// each event's own timestamp is its time, so history replays as it happened; the value is
    /// the wall clock, used only to refuse timestamps from the future.
    Replay(i64),
}

/// A request that passed every check, with its parsed parts.
#[derive(Debug, Clone, Copy)]
pub struct ValidRequest<'a> {
    /// The raw request (all bounds checked).
    pub req: &'a ScoreRequest,
    /// The time the request's history runs on, ms since the Unix epoch (UTC): the receive
    /// time for [`Clock::Live`], the event's own timestamp for [`Clock::Replay`].
    pub at_ms: i64,
    /// Live only: how far the client's timestamp was from the receive time (claimed − received,
    /// ms) when that was outside the allowed skew; `None` when it agreed or in replay.
    pub clock_skew_ms: Option<i64>,
    /// The action, `login` when absent.
    pub action: Action,
    /// The channel.
    pub channel: Channel,
    /// The client IP, when given.
    pub ip: Option<IpAddr>,
    /// How long before this request the phone number's SIM last changed, ms (0 when the
    /// reported change is later than the request), when the broker reported it.
    pub sim_change_age_ms: Option<i64>,
}

impl<'a> ValidRequest<'a> {
    /// Checks `req` for offline replay; `now_ms` is the clock used to refuse timestamps from the
    /// future (see [`Clock::Replay`]).
    pub fn check(req: &'a ScoreRequest, limits: &Limits, now_ms: i64) -> Result<Self, InputError> {
        ValidRequest::check_at(req, limits, Clock::Replay(now_ms))
    }

    /// Checks `req` under `clock` (see [`Clock`]).
    pub fn check_at(
        req: &'a ScoreRequest,
        limits: &Limits,
        clock: Clock,
    ) -> Result<Self, InputError> {
        if req.schema != 1 {
            return Err(InputError::invalid(
                "schema",
                format!("unsupported version {}, expected 1", req.schema),
            ));
        }
        check_id("user_id", &req.user_id, limits, true)?;
        if let Some(id) = &req.request_id {
            check_id("request_id", id, limits, true)?;
        }
        if let Some(id) = &req.session_id {
            check_id("session_id", id, limits, false)?;
        }
        let (at_ms, clock_skew_ms) = match clock {
            Clock::Replay(now_ms) => {
                let claimed_ms = parse_timestamp("timestamp", &req.timestamp)?;
                if claimed_ms > now_ms.saturating_add(limits.max_future_skew_ms) {
                    return Err(InputError::invalid("timestamp", "is in the future"));
                }
                (claimed_ms, None)
            }
            Clock::Live(received_ms) => {
                // Any well-formed time is only a claim: one far off (even before 2000) is
                // scored at the receive time with `clock_skew`.
                let claimed_ms = parse_rfc3339("timestamp", &req.timestamp)?;
                let skew = claimed_ms.saturating_sub(received_ms);
                (
                    received_ms,
                    (skew.saturating_abs() > limits.max_future_skew_ms).then_some(skew),
                )
            }
        };
        let ip = match req.network.as_ref().and_then(|n| n.ip.as_deref()) {
            None => None,
            Some(text) => Some(parse_ip(text)?),
        };
        let sim_change_age_ms = match req
            .network
            .as_ref()
            .and_then(|n| n.sim_changed_at.as_deref())
        {
            None => None,
            Some(text) => {
                let changed_ms = parse_rfc3339("network.sim_changed_at", text)?;
                Some(at_ms.saturating_sub(changed_ms).max(0))
            }
        };
        if let Some(dev) = &req.device {
            if let Some(id) = &dev.id {
                check_id("device.id", id, limits, false)?;
            }
            check_text("device.user_agent", dev.user_agent.as_deref(), limits)?;
            check_text("device.platform", dev.platform.as_deref(), limits)?;
            check_text("device.screen", dev.screen.as_deref(), limits)?;
            if let Some(tz) = &dev.timezone {
                check_id("device.timezone", tz, limits, false)?;
            }
            if dev.languages.len() > 16 {
                return Err(InputError::invalid(
                    "device.languages",
                    "more than 16 entries",
                ));
            }
            for (i, lang) in dev.languages.iter().enumerate() {
                if lang.len() > 35
                    || lang
                        .chars()
                        .any(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                {
                    return Err(InputError::invalid(
                        format!("device.languages[{i}]"),
                        "not a BCP 47 language tag",
                    ));
                }
            }
        }
        if let Some(typing) = &req.typing {
            check_typing(typing, limits)?;
        }
        if let Some(auth) = &req.auth {
            if auth.failed_attempts > 1_000 {
                return Err(InputError::invalid(
                    "auth.failed_attempts",
                    "more than 1000",
                ));
            }
            if auth.passed_methods.len() > 16 {
                return Err(InputError::invalid(
                    "auth.passed_methods",
                    "more than 16 entries",
                ));
            }
            for (i, m) in auth.passed_methods.iter().enumerate() {
                check_id(&format!("auth.passed_methods[{i}]"), m, limits, false)?;
            }
        }
        Ok(ValidRequest {
            req,
            at_ms,
            clock_skew_ms,
            action: req.action_or_default(),
            channel: req.channel,
            ip,
            sim_change_age_ms,
        })
    }
}

/// Parses an RFC 3339 timestamp into ms since the epoch, refusing dates before 2000.
pub fn parse_timestamp(field: &str, text: &str) -> Result<i64, InputError> {
    let ms = parse_rfc3339(field, text)?;
    if ms < EARLIEST_MS {
        return Err(InputError::invalid(field, "before 2000-01-01"));
    }
    Ok(ms)
}

/// Parses an RFC 3339 timestamp into ms since the Unix epoch, with no bound on the year; the
/// error names `field` and never echoes the text.
pub fn parse_rfc3339(field: &str, text: &str) -> Result<i64, InputError> {
    if text.len() > 40 {
        return Err(InputError::invalid(
            field,
            "too long for an RFC 3339 timestamp",
        ));
    }
    let t = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|e| InputError::invalid(field, format!("not an RFC 3339 timestamp ({e})")))?;
    Ok(t.timestamp_millis())
}

fn parse_ip(text: &str) -> Result<IpAddr, InputError> {
    if text.len() > 45 {
        return Err(InputError::invalid(
            "network.ip",
            "too long for an IP address",
        ));
    }
    text.trim()
        .parse::<IpAddr>()
        .map_err(|_| InputError::invalid("network.ip", "not an IPv4 or IPv6 address"))
}

fn check_id(field: &str, value: &str, limits: &Limits, required: bool) -> Result<(), InputError> {
    if required && value.trim().is_empty() {
        return Err(InputError::invalid(field, "is empty"));
    }
    // Counted in characters, as JSON Schema's maxLength counts them (≤ 4 bytes each).
    if value.len() > limits.max_id_len && value.chars().count() > limits.max_id_len {
        return Err(InputError::invalid(
            field,
            format!("longer than {} characters", limits.max_id_len),
        ));
    }
    if has_control(value) {
        return Err(InputError::invalid(field, "contains control characters"));
    }
    Ok(())
}

/// Whether `s` holds a control character (`char::is_control`), decoding UTF-8 only when a byte
/// is not ASCII: keys and most texts are ASCII and validated once per key event.
fn has_control(s: &str) -> bool {
    if s.is_ascii() {
        s.bytes().any(|b| b.is_ascii_control())
    } else {
        s.chars().any(char::is_control)
    }
}

fn check_text(field: &str, value: Option<&str>, limits: &Limits) -> Result<(), InputError> {
    match value {
        Some(v) if v.len() > limits.max_text_len && v.chars().count() > limits.max_text_len => {
            Err(InputError::invalid(
                field,
                format!("longer than {} characters", limits.max_text_len),
            ))
        }
        Some(v) if has_control(v) => Err(InputError::invalid(field, "contains control characters")),
        _ => Ok(()),
    }
}

fn check_typing(typing: &super::request::TypingInfo, limits: &Limits) -> Result<(), InputError> {
    if typing.events.len() > limits.max_key_events {
        return Err(InputError::invalid(
            "typing.events",
            format!("more than {} key events", limits.max_key_events),
        ));
    }
    let mut prev_down = f64::NEG_INFINITY;
    for (i, ev) in typing.events.iter().enumerate() {
        let field = |name: &str| format!("typing.events[{i}].{name}");
        for (name, v) in [("down_ms", ev.down_ms), ("up_ms", ev.up_ms)] {
            if !v.is_finite() {
                return Err(InputError::invalid(field(name), "not a finite number"));
            }
            if v < 0.0 {
                return Err(InputError::invalid(field(name), "negative"));
            }
            if v > limits.max_key_time_ms {
                return Err(InputError::invalid(
                    field(name),
                    "absurdly large (over 24 h)",
                ));
            }
        }
        if ev.up_ms < ev.down_ms {
            return Err(InputError::invalid(field("up_ms"), "before down_ms"));
        }
        if ev.up_ms - ev.down_ms > limits.max_hold_ms {
            return Err(InputError::invalid(
                field("up_ms"),
                format!("key held longer than {} ms", limits.max_hold_ms),
            ));
        }
        if ev.down_ms < prev_down {
            return Err(InputError::invalid(
                field("down_ms"),
                "before the previous key's down_ms (events must be in press order)",
            ));
        }
        prev_down = ev.down_ms;
        if let Some(k) = &ev.key
            && ((k.len() > 32 && k.chars().count() > 32) || has_control(k))
        {
            return Err(InputError::invalid(field("key"), "not a key class or code"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::{KeyEvent, NetworkInfo, TypingInfo};

    const NOW: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    fn base() -> ScoreRequest {
        ScoreRequest::minimal("u1", "2025-12-31T23:00:00Z", Channel::WebWidget)
    }

    fn err_of(req: &ScoreRequest) -> InputError {
        ValidRequest::check(req, &Limits::default(), NOW).expect_err("should be refused")
    }

    #[test]
    fn parses_timestamp_and_defaults_action() {
        let req = base();
        let v = ValidRequest::check(&req, &Limits::default(), NOW).expect("valid");
        assert_eq!(v.at_ms, NOW - 3_600_000);
        assert_eq!(v.action, Action::Login);
        assert!(v.ip.is_none());
    }

    #[test]
    fn bad_fields_are_named() {
        let mut r = base();
        r.network = Some(NetworkInfo {
            ip: Some("300.1.1.1".into()),
            ..NetworkInfo::default()
        });
        assert_eq!(err_of(&r).field(), "network.ip");

        let mut r = base();
        r.timestamp = "2026-02-01T00:00:00Z".into();
        assert_eq!(err_of(&r).to_string(), "timestamp: is in the future");

        let mut r = base();
        r.typing = Some(TypingInfo {
            events: vec![
                KeyEvent {
                    key: None,
                    down_ms: 0.0,
                    up_ms: 80.0,
                },
                KeyEvent {
                    key: None,
                    down_ms: 100.0,
                    up_ms: 90.0,
                },
            ],
        });
        assert_eq!(
            err_of(&r).to_string(),
            "typing.events[1].up_ms: before down_ms"
        );

        let mut r = base();
        r.typing = Some(TypingInfo {
            events: vec![KeyEvent {
                key: None,
                down_ms: -1.0,
                up_ms: 5.0,
            }],
        });
        assert_eq!(err_of(&r).to_string(), "typing.events[0].down_ms: negative");

        let mut r = base();
        r.user_id = "x".repeat(129);
        assert_eq!(
            err_of(&r).to_string(),
            "user_id: longer than 128 characters"
        );

        let mut r = base();
        r.typing = Some(TypingInfo {
            events: (0..2001)
                .map(|i| KeyEvent {
                    key: None,
                    down_ms: i as f64 * 100.0,
                    up_ms: i as f64 * 100.0 + 50.0,
                })
                .collect(),
        });
        assert_eq!(err_of(&r).field(), "typing.events");
    }

    #[test]
    fn json_errors_name_the_path_without_echoing_values() {
        let text =
            r#"{"schema":1,"user_id":"alice","timestamp":"2025-01-01T00:00:00Z","channel":"fax"}"#;
        let err = ScoreRequest::from_json(text).expect_err("unknown channel");
        assert_eq!(err.field(), "channel");
        assert!(err.to_string().contains("unknown variant"), "{err}");

        let text = r#"{"schema":1,"user_id":"alice","timestamp":"2025-01-01T00:00:00Z","channel":"sms",
            "typing":{"events":[{"down_ms":1,"up_ms":2},{"down_ms":"secret","up_ms":3}]}}"#;
        let err = ScoreRequest::from_json(text).expect_err("string timing");
        assert_eq!(err.field(), "typing.events[1].down_ms");
        assert!(!err.to_string().contains("secret"), "{err}");

        let err = ScoreRequest::from_json("{").expect_err("truncated");
        assert_eq!(err.field(), ".");
    }

    #[test]
    fn consent_is_a_boolean_and_its_object_takes_no_other_field() {
        let head =
            r#"{"schema":1,"user_id":"alice","timestamp":"2025-01-01T00:00:00Z","channel":"sms","#;
        let ok = ScoreRequest::from_json(&format!(
            r#"{head}"consent":{{"behavioral_biometrics":true}}}}"#
        ))
        .expect("consent");
        assert_eq!(
            crate::domain::BiometricConsent::of(&ok),
            crate::domain::BiometricConsent::Given
        );
        let err = ScoreRequest::from_json(&format!(
            r#"{head}"consent":{{"behavioral_biometrics":"yes"}}}}"#
        ))
        .expect_err("a string");
        assert_eq!(err.field(), "consent.behavioral_biometrics");
        assert!(err.to_string().contains("a boolean"), "{err}");
        assert!(!err.to_string().contains("yes"), "{err}");
        let err = ScoreRequest::from_json(&format!(r#"{head}"consent":{{"biometrics":true}}}}"#))
            .expect_err("unknown field");
        assert_eq!(err.field(), "consent");
        assert!(err.to_string().contains("behavioral_biometrics"), "{err}");
        let none = ScoreRequest::from_json(&format!(r#"{head}"consent":{{}}}}"#)).expect("{}");
        assert_eq!(
            crate::domain::BiometricConsent::of(&none),
            crate::domain::BiometricConsent::Unstated
        );
    }

    #[test]
    fn control_characters_are_found_in_ascii_and_beyond() {
        assert!(!has_control("letter"));
        assert!(!has_control("é café ß"));
        assert!(has_control("a\u{7f}"), "DEL");
        assert!(has_control("tab\there"));
        assert!(
            has_control("é\u{85}"),
            "NEL, a C1 control, after a non-ASCII letter"
        );
        assert!(!has_control(""));
    }
}
