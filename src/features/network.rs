//! Network and IP-reputation features: anonymiser flags from the Anonymous-IP database, block
//! lists, and per-IP velocity (attempts, failures, distinct users) in a sliding window — the
//! signature of credential stuffing.

use super::{F, FeatureRow, Findings, Inputs, set};
use crate::domain::{Absence, ReasonCode, Source};
use crate::enrich::Lookup;

pub(super) fn extract(inputs: &Inputs<'_>, row: &mut FeatureRow, findings: &mut Findings) {
    let Some(intel) = inputs.intel else {
        set(row, F::NetworkIpAbsent, 1.0);
        // Leaving the IP out where the channel always has one must not hide reputation,
        // location or velocity: worst case. Where the channel has none (SMS, WhatsApp, social)
        // they are absent by design.
        let why = if super::channel_carries_client(inputs.req.channel) {
            Absence::ClientOmitted
        } else {
            Absence::ByDesign
        };
        for s in [Source::Ip, Source::Geo, Source::Reputation] {
            findings.unavailable.set(s, why);
        }
        findings.geo_cause = Some("ip_absent");
        return;
    };
    match &intel.reputation {
        Lookup::Found(r) => {
            set(row, F::NetworkTor, flag(r.tor_exit));
            set(row, F::NetworkVpn, flag(r.anonymous_vpn));
            set(row, F::NetworkHosting, flag(r.hosting_provider));
            set(
                row,
                F::NetworkProxy,
                flag(r.public_proxy || r.residential_proxy),
            );
            findings.reputation_sources = intel.reputation_sources.to_owned_sources();
        }
        Lookup::NotFound => {}
        Lookup::NotConfigured => findings
            .unavailable
            .set(Source::Reputation, Absence::ByDesign),
        Lookup::Unavailable => findings
            .unavailable
            .set(Source::Reputation, Absence::Failed),
    }
    set(
        row,
        F::NetworkBlocklisted,
        flag(intel.lists.blocked && !intel.lists.allowed),
    );
    findings.allowlisted = intel.lists.allowed;
    if let Lookup::Found(asn) = &intel.asn {
        findings.asn = Some((asn.number, asn.organization.unwrap_or("").to_string()));
    }
    if let Some(snap) = inputs.snapshot {
        let now = inputs.req.at_ms;
        let since = now - inputs.cfg.velocity_window_ms;
        let ip = &snap.ip;
        // The snapshot already counts the current request.
        let attempts = ip.attempts.count_between(since, now);
        let failures = ip.failures.count_between(since, now);
        let users = ip
            .users
            .distinct_between(since, now, inputs.keys.user.short());
        set(
            row,
            F::NetworkIpAttempts1hLog,
            (attempts as f32).ln_1p().min(4.9),
        );
        set(
            row,
            F::NetworkIpFailures1hLog,
            (failures as f32).ln_1p().min(4.9),
        );
        set(row, F::NetworkIpUsers1hLog, (users as f32).ln().min(4.2));
        if users >= 3 || failures >= 5 || attempts >= 20 {
            findings.counts.push((
                ReasonCode::IpVelocity,
                "distinct_users_1h",
                f64::from(users),
            ));
            findings
                .counts
                .push((ReasonCode::IpVelocity, "failures_1h", f64::from(failures)));
            findings
                .counts
                .push((ReasonCode::IpVelocity, "attempts_1h", f64::from(attempts)));
        }
        set(
            row,
            F::NetworkFraudLinked,
            flag(super::FeatureConfig::mark_counts(
                ip.fraud_ms,
                inputs.req.at_ms,
                inputs.cfg.ip_fraud_mark_ms,
            )),
        );
    }
}

fn flag(b: bool) -> f32 {
    f32::from(u8::from(b))
}
