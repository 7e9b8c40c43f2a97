//! Context features: channel, action sensitivity, hour of day against the user's usual hours,
//! failed attempts in the session and on the account, and depth of verified history.

use super::{F, FeatureRow, Findings, Inputs, set};

/// Channel one-hot features, in [`crate::domain::Channel::ALL`] order.
const CHANNEL_FEATURES: [F; 5] = [
    F::ContextChannelWebWidget,
    F::ContextChannelInApp,
    F::ContextChannelWhatsapp,
    F::ContextChannelSms,
    F::ContextChannelSocial,
];

/// How unusual `hour` (UTC, 0–23) is given a histogram of verified hours: 1 − (share within
/// ±1 h) / (3/24), clamped to [0, 1]. A uniform history gives 0; an hour never seen gives 1.
pub fn hour_unusual(hours: &[f32; 24], hour: usize) -> f32 {
    let total: f32 = hours.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let near: f32 = [23, 0, 1].iter().map(|d| hours[(hour + d) % 24]).sum();
    (1.0 - (near / total) / (3.0 / 24.0)).clamp(0.0, 1.0)
}

/// Hour of day (UTC) of a time in ms since the epoch.
pub fn utc_hour(at_ms: i64) -> u8 {
    (at_ms.rem_euclid(86_400_000) / 3_600_000) as u8
}

pub(super) fn extract(inputs: &Inputs<'_>, row: &mut FeatureRow, _findings: &mut Findings) {
    let req = inputs.req;
    set(row, CHANNEL_FEATURES[req.channel.index()], 1.0);
    set(
        row,
        F::ContextActionSensitivity,
        f32::from(req.action.sensitivity().level()),
    );
    let failed = req.req.auth.as_ref().map_or(0, |a| a.failed_attempts);
    set(
        row,
        F::ContextFailedAttemptsLog,
        (failed as f32).ln_1p().min(7.0),
    );
    let Some(snap) = inputs.snapshot else {
        return;
    };
    let now = req.at_ms;
    let failures = snap
        .user_activity
        .failures
        .count_between(now - inputs.cfg.day_window_ms, now);
    set(
        row,
        F::ContextUserFailures24hLog,
        (failures as f32).ln_1p().min(4.9),
    );
    match snap.profile.as_ref().filter(|p| p.has_history()) {
        None => set(row, F::ContextNoHistory, 1.0),
        Some(p) => {
            set(
                row,
                F::ContextHistoryLog,
                (p.verified_count.min(100) as f32).ln_1p(),
            );
            if p.verified_count >= 5 {
                set(
                    row,
                    F::ContextHourUnusual,
                    hour_unusual(&p.hours, usize::from(utc_hour(now))),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_unusual_known_values() {
        let mut h = [0.0f32; 24];
        h[9] = 10.0;
        assert_eq!(hour_unusual(&h, 9), 0.0);
        assert_eq!(hour_unusual(&h, 10), 0.0, "±1 h counts as usual");
        assert_eq!(hour_unusual(&h, 3), 1.0);
        assert_eq!(
            hour_unusual(&[1.0; 24], 3),
            0.0,
            "uniform history: nothing is unusual"
        );
        let mut w = [0.0f32; 24];
        w[0] = 1.0;
        assert_eq!(hour_unusual(&w, 23), 0.0, "wraps around midnight");
        assert_eq!(hour_unusual(&[0.0; 24], 5), 0.0);
    }

    #[test]
    fn utc_hour_of_known_times() {
        assert_eq!(utc_hour(1_767_225_600_000), 0); // 2026-01-01T00:00Z
        assert_eq!(
            utc_hour(1_767_225_600_000 + 13 * 3_600_000 + 59 * 60_000),
            13
        );
    }
}
