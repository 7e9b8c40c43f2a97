//! [`Draft`]: a scored event before it becomes JSON, and [`to_rows`], which serialises drafts and
//! adds the verified outcomes a broker would report after them.
//!
//! Outcome rates are fixed here. An outcome is always later than its score (20–180 s for a
//! challenge, 2–72 h for a confirmed fraud) and is dropped when it would fall after the log's end.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{GenConfig, GenError, HOUR_MS, LogRow, RowKind, Scenario};
use crate::domain::{
    Action, AuthInfo, Channel, DeviceInfo, KeyEvent, NetworkInfo, OutcomeKind, OutcomeRecord,
    ScoreRequest, TypingInfo,
};

/// A scored event under construction.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// Event time, ms since the Unix epoch.
    pub ts_ms: i64,
    /// Opaque unique request id.
    pub request_id: String,
    /// The claimed user.
    pub user_id: String,
    /// Opaque chat session id, when the channel has sessions.
    pub session_id: Option<String>,
    /// Ground-truth story.
    pub scenario: Scenario,
    /// Chat surface.
    pub channel: Channel,
    /// Attempted action.
    pub action: Action,
    /// Client IP, when the channel exposes one.
    pub ip: Option<String>,
    /// Device evidence.
    pub device: Option<DeviceInfo>,
    /// Key events, relative to the start of the message.
    pub typing: Option<Vec<KeyEvent>>,
    /// Failed authentication attempts so far in the session.
    pub failed_attempts: u32,
    /// Methods already passed in the session.
    pub passed_methods: Vec<&'static str>,
    /// When the SIM of the user's number last changed, ms, as the broker's carrier check
    /// reports it (`network.sim_changed_at`); `None` when no check was made.
    pub sim_changed_ms: Option<i64>,
}

/// Genuine outcome weights (per mille): none, otp_passed, kba_passed, confirmed_safe, otp_failed,
/// kba_failed.
pub const GENUINE_OUTCOME_WEIGHTS: [u32; 6] = [100, 700, 100, 60, 30, 10];
/// Attack outcome weights (per mille), same order as [`GENUINE_OUTCOME_WEIGHTS`]: attackers fail
/// or abandon the challenge. They never pass one: the code goes to the victim's phone, which
/// they do not hold, so no attack teaches the victim's profile.
pub const ATTACK_OUTCOME_WEIGHTS: [u32; 6] = [450, 0, 0, 0, 400, 150];
/// Credential-stuffing and low-and-slow outcome weights (per mille): almost never reaches a
/// challenge.
pub const STUFFING_OUTCOME_WEIGHTS: [u32; 6] = [750, 0, 0, 0, 250, 0];
/// SIM-swap outcome weights (per mille): the fraudster holds the victim's number, so an SMS
/// code passes; knowledge questions do not. The only attack that can pass a challenge, as in
/// reality, and so the only one that can teach the victim's profile.
pub const SIM_SWAP_OUTCOME_WEIGHTS: [u32; 6] = [250, 550, 0, 0, 0, 200];
/// Probability that an attack (other than credential stuffing) is later confirmed as fraud.
pub const CONFIRMED_FRAUD_RATE: f64 = 0.3;
/// Probability that a credential-stuffing attempt is later confirmed as fraud.
pub const STUFFING_CONFIRMED_FRAUD_RATE: f64 = 0.05;
/// Delay of a challenge outcome after its score, ms.
pub const CHALLENGE_DELAY_MS: (i64, i64) = (20_000, 180_000);
/// Delay of a confirmed fraud after its score, ms.
pub const FRAUD_DELAY_MS: (i64, i64) = (2 * HOUR_MS, 72 * HOUR_MS);

const OUTCOME_CHOICES: [Option<OutcomeKind>; 6] = [
    None,
    Some(OutcomeKind::OtpPassed),
    Some(OutcomeKind::KbaPassed),
    Some(OutcomeKind::ConfirmedSafe),
    Some(OutcomeKind::OtpFailed),
    Some(OutcomeKind::KbaFailed),
];

/// RFC 3339 with milliseconds, UTC (`2025-12-01T09:30:00.123Z`).
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Picks an index by integer weights (at least one non-zero).
pub fn weighted(rng: &mut ChaCha8Rng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.gen_range(0..total.max(1));
    for (i, &w) in weights.iter().enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    0
}

impl Draft {
    /// The wire request for this draft.
    pub fn request(&self) -> ScoreRequest {
        let mut req = ScoreRequest::minimal(&self.user_id, &rfc3339(self.ts_ms), self.channel);
        req.request_id = Some(self.request_id.clone());
        req.session_id = self.session_id.clone();
        req.action = Some(self.action);
        if self.ip.is_some() || self.sim_changed_ms.is_some() {
            req.network = Some(NetworkInfo {
                ip: self.ip.clone(),
                sim_changed_at: self
                    .sim_changed_ms
                    .map(|ms| rfc3339(ms.max(crate::domain::validate::EARLIEST_MS))),
            });
        }
        req.device = self.device.clone();
        req.typing = self.typing.clone().map(|events| TypingInfo { events });
        if self.failed_attempts > 0 || !self.passed_methods.is_empty() {
            req.auth = Some(AuthInfo {
                failed_attempts: self.failed_attempts,
                passed_methods: self.passed_methods.iter().map(|m| m.to_string()).collect(),
            });
        }
        req
    }
}

/// Serialises `drafts` into score rows and their outcome rows (unsorted).
pub fn to_rows(
    cfg: &GenConfig,
    drafts: &[Draft],
    rng: &mut ChaCha8Rng,
) -> Result<Vec<LogRow>, GenError> {
    let mut rows = Vec::with_capacity(drafts.len() * 2);
    for d in drafts {
        let is_attack = d.scenario.is_attack();
        rows.push(LogRow {
            ts_ms: d.ts_ms,
            kind: RowKind::Score,
            request_id: d.request_id.clone(),
            user_id: d.user_id.clone(),
            scenario: d.scenario,
            is_attack,
            payload: serde_json::to_string(&d.request())?,
            channel: Some(d.channel.as_str().to_string()),
            ip: d.ip.clone(),
        });
        let (weights, fraud_rate) = match d.scenario {
            Scenario::CredentialStuffing | Scenario::LowAndSlow => {
                (&STUFFING_OUTCOME_WEIGHTS, STUFFING_CONFIRMED_FRAUD_RATE)
            }
            Scenario::SimSwap => (&SIM_SWAP_OUTCOME_WEIGHTS, CONFIRMED_FRAUD_RATE),
            s if s.is_attack() => (&ATTACK_OUTCOME_WEIGHTS, CONFIRMED_FRAUD_RATE),
            _ => (&GENUINE_OUTCOME_WEIGHTS, 0.0),
        };
        let mut outcomes = Vec::with_capacity(2);
        if let Some(kind) = OUTCOME_CHOICES[weighted(rng, weights)] {
            outcomes.push((
                d.ts_ms + rng.gen_range(CHALLENGE_DELAY_MS.0..=CHALLENGE_DELAY_MS.1),
                kind,
            ));
        }
        if rng.gen_bool(fraud_rate) {
            let at = d.ts_ms + rng.gen_range(FRAUD_DELAY_MS.0..=FRAUD_DELAY_MS.1);
            outcomes.push((at, OutcomeKind::ConfirmedFraud));
        }
        for (at, kind) in outcomes {
            if at >= cfg.end {
                continue;
            }
            let rec = OutcomeRecord::new(&d.request_id, &d.user_id, &rfc3339(at), kind);
            rows.push(LogRow {
                ts_ms: at,
                kind: RowKind::Outcome,
                request_id: d.request_id.clone(),
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
    fn rfc3339_has_millis_and_z() {
        assert_eq!(
            rfc3339(super::super::DEFAULT_END_MS + 1_234),
            "2026-01-01T00:00:01.234Z"
        );
    }

    #[test]
    fn weights_line_up_with_choices() {
        for w in [
            GENUINE_OUTCOME_WEIGHTS,
            ATTACK_OUTCOME_WEIGHTS,
            STUFFING_OUTCOME_WEIGHTS,
            SIM_SWAP_OUTCOME_WEIGHTS,
        ] {
            assert_eq!(w.iter().sum::<u32>(), 1000);
        }
        assert_eq!(OUTCOME_CHOICES[1], Some(OutcomeKind::OtpPassed));
        // Only a SIM swap passes anything; no attack is ever confirmed safe.
        for w in [ATTACK_OUTCOME_WEIGHTS, STUFFING_OUTCOME_WEIGHTS] {
            assert_eq!(w[1..4], [0, 0, 0]);
        }
        assert_eq!(SIM_SWAP_OUTCOME_WEIGHTS[2..4], [0, 0]);
    }
}
