//! Known answers of the Prometheus exposition and of the timeline it feeds.

use super::*;
use crate::domain::{Decision, Reason, RiskBand, TrustScore};

fn answer(decision: Decision, trust: u8, codes: &[ReasonCode]) -> ScoreResponse {
    ScoreResponse {
        request_id: "r".into(),
        trust_score: TrustScore::new(trust).expect("0-100"),
        confidence: 1.0,
        sources: Default::default(),
        risk: RiskBand::Low,
        decision,
        delay_ms: 0,
        reasons: codes
            .iter()
            .map(|c| Reason {
                code: *c,
                contribution: 1.0,
                message: c.message().into(),
                detail: serde_json::json!({}),
            })
            .collect(),
        allow_factor_enrollment: false,
        model_version: "lr-1".into(),
        receipt: String::new(),
    }
}

#[test]
fn exposition_counts_requests_buckets_and_decisions() {
    let m = Metrics::new(["acme"]);
    let acme_slot = Some(m.tenant_slot("acme"));
    m.observe("/v1/score", 200, Duration::from_micros(800), acme_slot);
    m.observe("/v1/score", 200, Duration::from_millis(3), acme_slot);
    m.observe("/v1/score", 401, Duration::from_micros(100), None);
    let nd = ReasonCode::NewDevice;
    m.decision(
        "default",
        Channel::WebWidget,
        Action::Login,
        &answer(Decision::Allow, 95, &[nd, nd]),
    );
    m.decision(
        "acme",
        Channel::Sms,
        Action::Payment,
        &answer(Decision::StepUpOtp, 40, &[]),
    );
    m.decision(
        "acme",
        Channel::Sms,
        Action::Payment,
        &answer(Decision::StepUpOtp, 10, &[]),
    );
    m.outcome("acme", OutcomeKind::OtpPassed);
    let text = m.render("lr-1");
    assert!(text.contains("tessera_http_requests_total{route=\"/v1/score\",status=\"200\"} 2\n"));
    assert!(text.contains("tessera_http_requests_total{route=\"/v1/score\",status=\"401\"} 1\n"));
    assert!(text.contains(
        "tessera_http_request_duration_seconds_bucket{route=\"/v1/score\",le=\"0.001\"} 2\n"
    ));
    assert!(text.contains(
        "tessera_http_request_duration_seconds_bucket{route=\"/v1/score\",le=\"0.005\"} 3\n"
    ));
    let decisions: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("tessera_decisions_total{"))
        .collect();
    assert_eq!(
        decisions,
        [
            "tessera_decisions_total{channel=\"web_widget\",action=\"login\",decision=\"allow\"} 1",
            "tessera_decisions_total{channel=\"sms\",action=\"payment\",decision=\"step_up_otp\"} 2",
        ]
    );
    assert!(text.contains("tessera_reasons_total{code=\"new_device\"} 2\n"));
    // Trust 10 is in le=10; 40 in le=40; 95 in le=100.
    for (le, n) in [
        ("10", 1),
        ("30", 1),
        ("40", 2),
        ("90", 2),
        ("100", 3),
        ("+Inf", 3),
    ] {
        let line = format!("tessera_trust_score_bucket{{le=\"{le}\"}} {n}\n");
        assert!(text.contains(&line), "{line}");
    }
    assert!(text.contains("tessera_trust_score_sum 145\n"));
    assert!(text.contains("tessera_trust_score_count 3\n"));
    assert!(text.contains("tessera_outcomes_total{outcome=\"otp_passed\"} 1\n"));
    assert!(text.contains("tessera_model_info{version=\"lr-1\"} 1\n"));
    // The same events are on the timeline (now: the wall clock), apart by tenant.
    let now = crate::engine::now_ms();
    let acme = m.timeline().hour(now, Some("acme"));
    assert_eq!(acme.totals.channel_total(Channel::Sms), 2);
    assert_eq!(acme.totals.outcomes, [1, 0, 0, 0, 0, 0]);
    let all = m.timeline().hour(now, None);
    assert_eq!(all.totals.decisions_total(), 3);
    assert_eq!(acme.latency_count(), 2, "acme's /v1/score requests");
    assert_eq!(
        all.latency_count(),
        3,
        "every /v1/score request, any status, the refused one too"
    );
}

#[test]
fn the_exposition_names_no_tenant() {
    // `/metrics` is unauthenticated: whoever reaches the port must not learn which tenants the
    // service has or how much each of them scores.
    let m = Metrics::new(["acme-bank", "globex-credit"]);
    for (tenant, channel) in [
        ("acme-bank", Channel::Sms),
        ("globex-credit", Channel::Sms),
        ("globex-credit", Channel::WebWidget),
    ] {
        let slot = Some(m.tenant_slot(tenant));
        m.observe("/v1/score", 200, Duration::from_millis(2), slot);
        m.decision(
            tenant,
            channel,
            Action::Login,
            &answer(Decision::Allow, 90, &[]),
        );
        m.shadow(tenant, "allow", true);
        m.outcome(tenant, OutcomeKind::OtpPassed);
    }
    let text = m.render("lr-1");
    for name in ["acme-bank", "globex-credit", "default", "_other", "tenant"] {
        assert!(!text.contains(name), "{name} in:\n{text}");
    }
    // The service's counts are all there, summed over tenants.
    assert!(text.contains(
        "tessera_decisions_total{channel=\"sms\",action=\"login\",decision=\"allow\"} 2\n"
    ));
    assert!(text.contains(
        "tessera_decisions_total{channel=\"web_widget\",action=\"login\",decision=\"allow\"} 1\n"
    ));
    assert!(text.contains("tessera_outcomes_total{outcome=\"otp_passed\"} 3\n"));
    // The dashboard's timeline still keeps them apart.
    let now = crate::engine::now_ms();
    let globex = m.timeline().hour(now, Some("globex-credit"));
    assert_eq!(globex.totals.decisions_total(), 2);
    assert_eq!(globex.latency_count(), 2);
}
