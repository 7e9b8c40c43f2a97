//! [`Draft`]: one scored request as the holdout world imagines it (who, when, over which
//! channel, with what evidence, and which outcomes follow), and its conversion into the wire
//! JSON of a `ScoreRequest` and its `OutcomeRecord`s. Owns request ids and timestamps; decides
//! nothing about behaviour.

use chrono::{DateTime, SecondsFormat};

use super::typing::mix;
use super::{Row, Scenario};
use crate::domain::{
    Action, AuthInfo, Channel, DeviceInfo, KeyEvent, NetworkInfo, OutcomeKind, OutcomeRecord,
    ScoreRequest, TypingInfo,
};
use crate::gen_data::{GenError, RowKind};

/// One scored request and what follows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// When it is sent, ms since the Unix epoch.
    pub at_ms: i64,
    /// The claimed user.
    pub user_id: String,
    /// The story it belongs to.
    pub scenario: Scenario,
    /// The chat conversation (shared by a session's requests).
    pub session_id: Option<String>,
    /// Chat surface.
    pub channel: Channel,
    /// What is attempted.
    pub action: Action,
    /// Client address.
    pub ip: Option<String>,
    /// The latest SIM change the carrier reports, ms.
    pub sim_changed_ms: Option<i64>,
    /// Device evidence.
    pub device: Option<DeviceInfo>,
    /// Key timings.
    pub typing: Option<Vec<KeyEvent>>,
    /// Failed attempts earlier in the session.
    pub failed_attempts: u32,
    /// Methods passed earlier in the session.
    pub passed_methods: Vec<String>,
    /// Outcomes reported later: (ms since the epoch, what).
    pub outcomes: Vec<(i64, OutcomeKind)>,
}

impl Draft {
    /// A bare request: no evidence, no outcome.
    pub fn new(at_ms: i64, user_id: &str, scenario: Scenario, channel: Channel) -> Draft {
        Draft {
            at_ms,
            user_id: user_id.to_string(),
            scenario,
            session_id: None,
            channel,
            action: Action::Login,
            ip: None,
            sim_changed_ms: None,
            device: None,
            typing: None,
            failed_attempts: 0,
            passed_methods: Vec::new(),
            outcomes: Vec::new(),
        }
    }
}

/// RFC 3339 in UTC with milliseconds (`2025-11-02T10:11:12.345Z`).
pub fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_string())
}

/// An opaque id: `prefix` and 16 hex digits of a bijective mix of `(stream, n)` (`stream` below
/// 2^40, `n` below 2^24), so ids never collide and reveal neither story nor user.
pub fn opaque_id(prefix: &str, salt: u64, stream: u64, n: u64) -> String {
    format!(
        "{prefix}-{:016x}",
        mix(((stream << 24) | (n & 0xFF_FFFF)) ^ salt)
    )
}

/// The rows of `drafts` (score rows and the outcome rows before `end_ms`); request `n` of the
/// slice gets the id `opaque_id("hq", salt, stream, n)`.
pub fn to_rows(
    drafts: Vec<Draft>,
    salt: u64,
    stream: u64,
    end_ms: i64,
) -> Result<Vec<Row>, GenError> {
    let mut rows = Vec::with_capacity(drafts.len() * 2);
    for (n, d) in drafts.into_iter().enumerate() {
        let request_id = opaque_id("hq", salt, stream, n as u64);
        let is_attack = d.scenario.is_attack();
        let auth = (d.failed_attempts > 0 || !d.passed_methods.is_empty()).then_some(AuthInfo {
            failed_attempts: d.failed_attempts,
            passed_methods: d.passed_methods,
        });
        let network = (d.ip.is_some() || d.sim_changed_ms.is_some()).then(|| NetworkInfo {
            ip: d.ip.clone(),
            sim_changed_at: d.sim_changed_ms.map(rfc3339),
        });
        let req = ScoreRequest {
            schema: 1,
            request_id: Some(request_id.clone()),
            user_id: d.user_id.clone(),
            session_id: d.session_id,
            timestamp: rfc3339(d.at_ms),
            channel: d.channel,
            action: Some(d.action),
            network,
            device: d.device,
            typing: d.typing.map(|events| TypingInfo { events }),
            auth,
            consent: None,
        };
        rows.push(Row {
            ts_ms: d.at_ms,
            kind: RowKind::Score,
            request_id: request_id.clone(),
            user_id: d.user_id.clone(),
            scenario: d.scenario,
            is_attack,
            payload: serde_json::to_string(&req)?,
            channel: Some(d.channel.as_str()),
            ip: d.ip,
        });
        for (at_ms, kind) in d.outcomes {
            if at_ms >= end_ms || at_ms <= d.at_ms {
                continue;
            }
            let rec = OutcomeRecord::new(&request_id, &d.user_id, &rfc3339(at_ms), kind);
            rows.push(Row {
                ts_ms: at_ms,
                kind: RowKind::Outcome,
                request_id: request_id.clone(),
                user_id: d.user_id.clone(),
                scenario: d.scenario,
                is_attack,
                payload: serde_json::to_string(&rec)?,
                channel: None,
                ip: None,
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_with_millis() {
        assert_eq!(rfc3339(1_767_225_600_123), "2026-01-01T00:00:00.123Z");
    }

    #[test]
    fn ids_are_distinct_and_stable() {
        assert_ne!(opaque_id("hq", 9, 1, 0), opaque_id("hq", 9, 0, 1));
        assert_eq!(opaque_id("hq", 9, 3, 4), opaque_id("hq", 9, 3, 4));
        assert_eq!(opaque_id("hq", 9, 3, 4).len(), 19);
    }

    #[test]
    fn a_draft_becomes_a_score_and_its_outcomes_before_the_end() {
        let mut d = Draft::new(1_000_000, "hc-1", Scenario::GenuineHome, Channel::Sms);
        d.sim_changed_ms = Some(500_000);
        d.outcomes = vec![
            (1_030_000, OutcomeKind::OtpPassed),
            (9_000_000, OutcomeKind::ConfirmedSafe),
        ];
        let rows = to_rows(vec![d], 1, 2, 5_000_000).expect("serialises");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].kind, RowKind::Score);
        assert!(
            rows[0]
                .payload
                .contains("\"sim_changed_at\":\"1970-01-01T00:08:20.000Z\"")
        );
        assert_eq!(rows[1].kind, RowKind::Outcome);
        assert_eq!(rows[1].request_id, rows[0].request_id);
        assert!(rows[1].payload.contains("\"outcome\":\"otp_passed\""));
        assert_eq!(rows[0].ip, None);
    }
}
