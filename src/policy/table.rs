//! [`PolicyTable`]: the decision table per channel × action, read from a TOML policy file whose
//! every key has a working default:
//!
//! ```toml
//! kba_delay_ms = 5000
//! [ladder.low]    # view_account, view_transactions
//! allow = 60
//! step_up_otp = 35
//! step_up_otp_kba = 10
//! [channel.sms]   # weaker channels need more trust
//! raise = 5
//! [action.payment]
//! sensitivity = "high"
//! geofence = ["FR", "BE"]          # outside: at least step_up_otp
//! ip_allowlist = ["203.0.113.0/24"] # outside: at least step_up_otp
//! [floors]        # a reason code forces at least this decision
//! ip_blocklisted = "deny"
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::ladder::{Ladder, risk_band};
use crate::domain::{
    Action, Channel, Decision, ReasonCode, RiskBand, Sensitivity, Source, TrustScore,
};

/// A policy file as written (every key optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyFile {
    /// Delay before an OTP + KBA challenge, ms (slows scripted attacks).
    pub kba_delay_ms: Option<u32>,
    /// Ladders by sensitivity (`low`, `medium`, `high`).
    pub ladder: BTreeMap<Sensitivity, Ladder>,
    /// Per-channel adjustments.
    pub channel: BTreeMap<Channel, ChannelRule>,
    /// Per-action rules.
    pub action: BTreeMap<Action, ActionRule>,
    /// Minimum decision per reason code.
    pub floors: BTreeMap<ReasonCode, Decision>,
    /// Below this confidence (0–1), medium- and high-sensitivity actions are at least
    /// `step_up_otp` (reason `low_confidence`). Default 0.4.
    pub min_confidence: Option<f64>,
    /// A SIM change reported within this many days is recent (reason `recent_sim_swap`): at
    /// least `step_up_otp_kba` for medium- and high-sensitivity actions, `step_up_otp` for low
    /// ones. Default 7.
    pub sim_swap_days: Option<u32>,
}

/// Channel adjustment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChannelRule {
    /// Trust points added to every threshold on this channel.
    pub raise: u8,
}

/// Per-action rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActionRule {
    /// Overrides the action's default sensitivity.
    pub sensitivity: Option<Sensitivity>,
    /// Overrides the ladder for this action.
    pub ladder: Option<Ladder>,
    /// Countries (ISO codes) the action is allowed from without step-up.
    pub geofence: Option<Vec<String>>,
    /// Networks (CIDR or IP) the action is allowed from without step-up.
    pub ip_allowlist: Option<Vec<String>>,
}

/// Why a policy file was refused. Names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy: {0}")]
pub struct PolicyError(pub String);

#[derive(Debug, Clone, PartialEq)]
struct ActionPolicy {
    sensitivity: Sensitivity,
    ladder: Option<Ladder>,
    geofence: Option<Vec<String>>,
    allowlist: Option<Vec<IpNet>>,
}

/// The checked decision table.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyTable {
    kba_delay_ms: u32,
    ladders: [Ladder; 3],
    channel_raise: [u8; 5],
    actions: Vec<(Action, ActionPolicy)>,
    floors: Vec<(ReasonCode, Decision)>,
    min_confidence: f64,
    sim_swap_ms: i64,
}

/// What the policy needs to know beyond the score.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyContext<'a> {
    /// IP's country (ISO), when located.
    pub country: Option<&'a str>,
    /// The client IP, when given.
    pub ip: Option<IpAddr>,
    /// How much evidence the score rests on, 0–1 (see the engine's `confidence`).
    pub confidence: f64,
    /// How long ago the phone number's SIM changed, ms, when the broker reported it.
    pub sim_change_age_ms: Option<i64>,
}

/// The policy's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyOutcome {
    /// Final decision.
    pub decision: Decision,
    /// Delay before the challenge, ms.
    pub delay_ms: u32,
    /// Risk band.
    pub risk: RiskBand,
    /// Policy-level reasons added (geofence, allowlist, sensitive action).
    pub added: Vec<ReasonCode>,
}

impl Default for PolicyTable {
    fn default() -> Self {
        PolicyTable::from_file(&PolicyFile::default())
            .unwrap_or_else(|_| unreachable!("defaults are valid"))
    }
}

/// Default floors: alarming or missing signals add friction whatever the score. Every
/// deployment source's reason code ([`Source::reason`]) is floored at `step_up_otp` by
/// [`source_floor`], whatever this list says. `no_history`: an account without verified
/// history has no evidence tying the requester to it, so it is never passively allowed (a
/// policy may lower this floor to `allow` knowingly, e.g. for a sign-up flow).
pub const DEFAULT_FLOORS: &[(ReasonCode, Decision)] = &[
    (ReasonCode::IpBlocklisted, Decision::Deny),
    (ReasonCode::TypingReplay, Decision::StepUpOtpKba),
    (ReasonCode::FraudLinked, Decision::StepUpOtpKba),
    (ReasonCode::ImpossibleTravel, Decision::StepUpOtp),
    (ReasonCode::BotCadence, Decision::StepUpOtp),
    (ReasonCode::AutomationFlag, Decision::StepUpOtp),
    (ReasonCode::NoHistory, Decision::StepUpOtp),
];

/// The floor of a missing deployment source's reason code: at least OTP and never `deny` on
/// that alone (a source that fails costs friction, not a lock-out). Exhaustive over
/// [`Source`], so a new source must decide its floor here.
pub fn source_floor(source: Source) -> Option<Decision> {
    match source {
        Source::Geo | Source::Reputation | Source::Store => Some(Decision::StepUpOtp),
        // Client-caused absences are scored at worst case by the model instead.
        Source::Ip | Source::Device => None,
    }
}

/// Default [`PolicyFile::min_confidence`].
pub const DEFAULT_MIN_CONFIDENCE: f64 = 0.4;

impl PolicyTable {
    /// Parses and checks a TOML policy.
    pub fn from_toml(text: &str) -> Result<PolicyTable, PolicyError> {
        let file: PolicyFile = toml::from_str(text)
            .map_err(|e| PolicyError(e.message().to_string() + &span_hint(&e)))?;
        PolicyTable::from_file(&file)
    }

    /// Checks a parsed policy file, filling defaults.
    pub fn from_file(file: &PolicyFile) -> Result<PolicyTable, PolicyError> {
        let mut ladders = [
            Ladder {
                allow: 60,
                step_up_otp: 35,
                step_up_otp_kba: 10,
            },
            Ladder {
                allow: 70,
                step_up_otp: 40,
                step_up_otp_kba: 15,
            },
            Ladder {
                allow: 80,
                step_up_otp: 55,
                step_up_otp_kba: 25,
            },
        ];
        for (s, l) in &file.ladder {
            l.check(&format!("ladder.{}", sensitivity_name(*s)))
                .map_err(PolicyError)?;
            ladders[usize::from(s.level())] = *l;
        }
        let mut channel_raise = [0, 0, 3, 5, 5];
        for (c, r) in &file.channel {
            if r.raise > 50 {
                return Err(PolicyError(format!(
                    "channel.{}.raise: above 50",
                    c.as_str()
                )));
            }
            channel_raise[c.index()] = r.raise;
        }
        let mut actions = Vec::new();
        for (a, rule) in &file.action {
            let key = format!("action.{}", a.as_str());
            if let Some(l) = &rule.ladder {
                l.check(&format!("{key}.ladder")).map_err(PolicyError)?;
            }
            let geofence = match &rule.geofence {
                Some(list) => {
                    for (i, c) in list.iter().enumerate() {
                        if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_uppercase()) {
                            return Err(PolicyError(format!(
                                "{key}.geofence[{i}]: not an ISO country code (e.g. \"FR\")"
                            )));
                        }
                    }
                    Some(list.clone())
                }
                None => None,
            };
            let allowlist = match &rule.ip_allowlist {
                Some(list) => Some(
                    list.iter()
                        .enumerate()
                        .map(|(i, s)| {
                            parse_net(s).ok_or_else(|| {
                                PolicyError(format!("{key}.ip_allowlist[{i}]: not a CIDR or IP"))
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                None => None,
            };
            actions.push((
                *a,
                ActionPolicy {
                    sensitivity: rule.sensitivity.unwrap_or(a.sensitivity()),
                    ladder: rule.ladder,
                    geofence,
                    allowlist,
                },
            ));
        }
        let mut floors: Vec<(ReasonCode, Decision)> = DEFAULT_FLOORS.to_vec();
        for source in Source::ALL {
            if let Some(d) = source_floor(source) {
                floors.push((source.reason(), d));
            }
        }
        for (code, d) in &file.floors {
            if let Some(source) = Source::ALL.into_iter().find(|s| s.reason() == *code)
                && let Some(fixed) = source_floor(source)
            {
                // Fail secure, never a lock-out: at least OTP, never deny on that alone.
                if *d == Decision::Allow || *d == Decision::Deny {
                    return Err(PolicyError(format!(
                        "floors.{code}: a missing {} source costs friction, not a lock-out: \
                         step_up_otp or step_up_otp_kba (default {})",
                        source.as_str(),
                        fixed.as_str()
                    )));
                }
            }
            match floors.iter_mut().find(|(c, _)| c == code) {
                Some(slot) => slot.1 = *d,
                None => floors.push((*code, *d)),
            }
        }
        let sim_swap_days = file.sim_swap_days.unwrap_or(7);
        if !(1..=365).contains(&sim_swap_days) {
            return Err(PolicyError("sim_swap_days: must be 1–365".into()));
        }
        let min_confidence = file.min_confidence.unwrap_or(DEFAULT_MIN_CONFIDENCE);
        if !(0.0..=1.0).contains(&min_confidence) {
            return Err(PolicyError("min_confidence: must be 0–1".into()));
        }
        let kba_delay_ms = file.kba_delay_ms.unwrap_or(5_000);
        if kba_delay_ms > 120_000 {
            return Err(PolicyError("kba_delay_ms: above 120000".into()));
        }
        Ok(PolicyTable {
            kba_delay_ms,
            ladders,
            channel_raise,
            actions,
            floors,
            min_confidence,
            sim_swap_ms: i64::from(sim_swap_days) * 86_400_000,
        })
    }

    /// True when any of `reasons` has a floor above `allow`.
    pub fn floor_applies(&self, reasons: &[ReasonCode]) -> bool {
        self.floors
            .iter()
            .any(|(code, d)| *d > Decision::Allow && reasons.contains(code))
    }

    /// Sensitivity of an action under this policy.
    pub fn sensitivity(&self, action: Action) -> Sensitivity {
        self.actions
            .iter()
            .find(|(a, _)| *a == action)
            .map_or(action.sensitivity(), |(_, p)| p.sensitivity)
    }

    /// The ladder that applies to a channel and action.
    pub fn ladder(&self, channel: Channel, action: Action) -> Ladder {
        let rule = self
            .actions
            .iter()
            .find(|(a, _)| *a == action)
            .map(|(_, p)| p);
        let sensitivity = rule.map_or(action.sensitivity(), |p| p.sensitivity);
        let base = rule
            .and_then(|p| p.ladder)
            .unwrap_or(self.ladders[usize::from(sensitivity.level())]);
        base.raised(self.channel_raise[channel.index()])
    }

    /// Decides for a trust score, given the reasons already found.
    pub fn decide(
        &self,
        trust: TrustScore,
        channel: Channel,
        action: Action,
        reasons: &[ReasonCode],
        ctx: &PolicyContext<'_>,
    ) -> PolicyOutcome {
        let mut decision = self.ladder(channel, action).decide(trust);
        let mut added = Vec::new();
        if let Some((_, rule)) = self.actions.iter().find(|(a, _)| *a == action) {
            if let Some(fence) = &rule.geofence {
                let inside = ctx.country.is_some_and(|c| fence.iter().any(|f| f == c));
                if !inside {
                    added.push(ReasonCode::OutsideGeofence);
                    decision = decision.max(Decision::StepUpOtp);
                }
            }
            if let Some(nets) = &rule.allowlist {
                let inside = ctx
                    .ip
                    .is_some_and(|ip| nets.iter().any(|n| n.contains(&canonical(ip))));
                if !inside {
                    added.push(ReasonCode::NotOnActionAllowlist);
                    decision = decision.max(Decision::StepUpOtp);
                }
            }
        }
        let sensitivity = self.sensitivity(action);
        if sensitivity == Sensitivity::High {
            added.push(ReasonCode::SensitiveAction);
        }
        if sensitivity != Sensitivity::Low && ctx.confidence < self.min_confidence {
            added.push(ReasonCode::LowConfidence);
            decision = decision.max(Decision::StepUpOtp);
        }
        if ctx
            .sim_change_age_ms
            .is_some_and(|age| age <= self.sim_swap_ms)
        {
            added.push(ReasonCode::RecentSimSwap);
            decision = decision.max(if sensitivity == Sensitivity::Low {
                Decision::StepUpOtp
            } else {
                Decision::StepUpOtpKba
            });
        }
        // A device never verified for this user, with no address to place it (SMS, WhatsApp,
        // social): nothing but the device id vouches for the request, and on those channels the
        // "device" is often the phone number a SIM swap takes over.
        if ctx.ip.is_none() && reasons.contains(&ReasonCode::NewDevice) {
            decision = decision.max(Decision::StepUpOtp);
        }
        for (code, floor) in &self.floors {
            if reasons.contains(code) {
                decision = decision.max(*floor);
            }
        }
        let delay_ms = if decision == Decision::StepUpOtpKba {
            self.kba_delay_ms
        } else {
            0
        };
        PolicyOutcome {
            decision,
            delay_ms,
            risk: risk_band(trust),
            added,
        }
    }
}

fn sensitivity_name(s: Sensitivity) -> &'static str {
    match s {
        Sensitivity::Low => "low",
        Sensitivity::Medium => "medium",
        Sensitivity::High => "high",
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

fn span_hint(e: &toml::de::Error) -> String {
    e.span()
        .map(|s| format!(" (at byte {})", s.start))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: u8) -> TrustScore {
        TrustScore::new(v).expect("in range")
    }

    #[test]
    fn sensitive_actions_and_weak_channels_need_more_trust() {
        let p = PolicyTable::default();
        let ctx = PolicyContext {
            confidence: 1.0,
            ..PolicyContext::default()
        };
        assert_eq!(
            p.decide(t(75), Channel::WebWidget, Action::Login, &[], &ctx)
                .decision,
            Decision::Allow
        );
        assert_eq!(
            p.decide(t(75), Channel::WebWidget, Action::Payment, &[], &ctx)
                .decision,
            Decision::StepUpOtp
        );
        assert_eq!(
            p.decide(t(72), Channel::Sms, Action::Login, &[], &ctx)
                .decision,
            Decision::StepUpOtp
        );
        let kba = p.decide(t(20), Channel::WebWidget, Action::Login, &[], &ctx);
        assert_eq!(
            (kba.decision, kba.delay_ms, kba.risk),
            (Decision::StepUpOtpKba, 5_000, RiskBand::High)
        );
    }

    #[test]
    fn floors_and_fences_only_add_friction() {
        let p = PolicyTable::from_toml(
            "[action.payment]\ngeofence = [\"FR\"]\nip_allowlist = [\"31.0.0.0/16\"]\n[floors]\nnew_country = \"step_up_otp_kba\"\n",
        )
        .expect("valid policy");
        let ip: IpAddr = "31.0.4.5".parse().expect("ip");
        let home = PolicyContext {
            country: Some("FR"),
            ip: Some(ip),
            confidence: 1.0,
            sim_change_age_ms: None,
        };
        let out = p.decide(t(95), Channel::WebWidget, Action::Payment, &[], &home);
        assert_eq!(out.decision, Decision::Allow);
        let abroad = PolicyContext {
            country: Some("US"),
            ip: Some("8.8.8.8".parse().expect("ip")),
            confidence: 1.0,
            sim_change_age_ms: None,
        };
        let out = p.decide(t(95), Channel::WebWidget, Action::Payment, &[], &abroad);
        assert_eq!(out.decision, Decision::StepUpOtp);
        assert!(
            out.added.contains(&ReasonCode::OutsideGeofence)
                && out.added.contains(&ReasonCode::NotOnActionAllowlist)
        );
        let out = p.decide(
            t(95),
            Channel::WebWidget,
            Action::Login,
            &[ReasonCode::NewCountry],
            &home,
        );
        assert_eq!(out.decision, Decision::StepUpOtpKba);
        let out = p.decide(
            t(95),
            Channel::WebWidget,
            Action::Login,
            &[ReasonCode::IpBlocklisted],
            &home,
        );
        assert_eq!(out.decision, Decision::Deny);
    }

    #[test]
    fn bad_policy_names_the_key() {
        let e = PolicyTable::from_toml("[action.payment]\ngeofence = [\"France\"]\n")
            .expect_err("bad code");
        assert_eq!(
            e.to_string(),
            "policy: action.payment.geofence[0]: not an ISO country code (e.g. \"FR\")"
        );
        let e = PolicyTable::from_toml(
            "[ladder.high]\nallow = 10\nstep_up_otp = 50\nstep_up_otp_kba = 5\n",
        )
        .expect_err("order");
        assert!(e.to_string().contains("ladder.high"), "{e}");
        let e = PolicyTable::from_toml("[floors]\ngeo_unavailable = \"allow\"\n")
            .expect_err("fail open");
        assert!(e.to_string().contains("floors.geo_unavailable"), "{e}");
        let e = PolicyTable::from_toml("[floors]\nstore_unavailable = \"deny\"\n")
            .expect_err("a failing source may not lock everyone out");
        assert!(e.to_string().contains("not a lock-out"), "{e}");
        let e = PolicyTable::from_toml("min_confidence = 1.5\n").expect_err("range");
        assert_eq!(e.to_string(), "policy: min_confidence: must be 0–1");
        let e = PolicyTable::from_toml("[action.teleport]\n").expect_err("unknown action");
        assert!(e.to_string().contains("teleport"), "{e}");
    }

    #[test]
    fn thin_evidence_and_unplaced_new_devices_are_challenged() {
        let p = PolicyTable::default();
        let thin = PolicyContext {
            confidence: 0.3,
            ..PolicyContext::default()
        };
        let medium = p.decide(
            t(99),
            Channel::WebWidget,
            Action::ViewTransactions,
            &[],
            &thin,
        );
        assert_eq!(
            medium.decision,
            Decision::Allow,
            "low sensitivity: not gated"
        );
        let out = p.decide(t(99), Channel::WebWidget, Action::ChangeContact, &[], &thin);
        assert_eq!(out.decision, Decision::StepUpOtp);
        assert!(out.added.contains(&ReasonCode::LowConfidence));
        let sure = PolicyContext {
            confidence: 0.9,
            ..PolicyContext::default()
        };
        // No IP (an SMS conversation) and a device never verified for the user: OTP.
        let out = p.decide(
            t(99),
            Channel::Sms,
            Action::Login,
            &[ReasonCode::NewDevice],
            &sure,
        );
        assert_eq!(out.decision, Decision::StepUpOtp);
        let placed = PolicyContext {
            ip: Some("198.51.100.7".parse().expect("ip")),
            ..sure
        };
        let out = p.decide(
            t(99),
            Channel::WebWidget,
            Action::Login,
            &[ReasonCode::NewDevice],
            &placed,
        );
        assert_eq!(
            out.decision,
            Decision::Allow,
            "the model judges a placed new device"
        );
        // An account without verified history is never passively allowed.
        let out = p.decide(
            t(100),
            Channel::WebWidget,
            Action::Login,
            &[ReasonCode::NoHistory],
            &sure,
        );
        assert_eq!(out.decision, Decision::StepUpOtp);
        // A failed source: OTP at least.
        let out = p.decide(
            t(100),
            Channel::WebWidget,
            Action::Login,
            &[ReasonCode::GeoUnavailable],
            &sure,
        );
        assert_eq!(out.decision, Decision::StepUpOtp);
    }

    #[test]
    fn a_recent_sim_swap_before_a_sensitive_action_needs_more_than_an_sms_code() {
        let p = PolicyTable::default();
        let swapped = |days: i64| PolicyContext {
            confidence: 1.0,
            sim_change_age_ms: Some(days * 86_400_000),
            ..PolicyContext::default()
        };
        let out = p.decide(t(100), Channel::Sms, Action::Payment, &[], &swapped(2));
        assert_eq!(out.decision, Decision::StepUpOtpKba);
        assert!(out.added.contains(&ReasonCode::RecentSimSwap));
        let out = p.decide(t(100), Channel::Sms, Action::Login, &[], &swapped(2));
        assert_eq!(out.decision, Decision::StepUpOtpKba, "login is medium");
        let out = p.decide(t(100), Channel::Sms, Action::ViewAccount, &[], &swapped(2));
        assert_eq!(out.decision, Decision::StepUpOtp);
        let out = p.decide(t(100), Channel::Sms, Action::Payment, &[], &swapped(30));
        assert!(!out.added.contains(&ReasonCode::RecentSimSwap));
        let strict = PolicyTable::from_toml("sim_swap_days = 60\n").expect("policy");
        let out = strict.decide(t(100), Channel::Sms, Action::Payment, &[], &swapped(30));
        assert_eq!(out.decision, Decision::StepUpOtpKba);
        assert!(PolicyTable::from_toml("sim_swap_days = 0\n").is_err());
    }
}
