//! Known answers of the dashboard page on a hand-filled timeline: the rows by channel, the
//! challenge rate, the reasons, latency percentiles, the sections each view shows.

use std::time::Duration;

use super::*;
use crate::domain::OutcomeKind;
use crate::server::timeline::{TenantIndex, Timeline};

/// 2026-01-10T09:00:00Z, ms.
const T0: i64 = 1_768_035_600_000;

fn filled() -> Timeline {
    let tl = Timeline::new(TenantIndex::new(["acme"]));
    let acme = tl.tenants().index("acme");
    let default = tl.tenants().index("default");
    let nd = [ReasonCode::NewDevice];
    for (at, t, c, d, trust) in [
        (T0, acme, Channel::WebWidget, Decision::Allow, 92),
        (
            T0 + 20_000,
            acme,
            Channel::WebWidget,
            Decision::StepUpOtp,
            55,
        ),
        (
            T0 + 20_000,
            acme,
            Channel::WebWidget,
            Decision::StepUpOtpKba,
            30,
        ),
        (T0 + 600_000, acme, Channel::Sms, Decision::Deny, 5),
        (T0 + 600_000, default, Channel::InApp, Decision::Allow, 99),
    ] {
        tl.decision(at, t, c, d, trust, nd.into_iter());
    }
    tl.shadow(T0, acme, true);
    tl.shadow(T0, acme, false);
    tl.shadow(T0, acme, true);
    tl.outcome(T0, acme, OutcomeKind::OtpPassed);
    // Latency: acme 1 and 4 ms, default 1 ms, and 1 ms refused before its key was known.
    for (t, ms) in [
        (Some(acme), 1),
        (Some(acme), 4),
        (Some(default), 1),
        (None, 1),
    ] {
        tl.latency(T0, t, Duration::from_millis(ms));
    }
    tl
}

#[test]
fn the_operator_sees_every_tenant_with_exact_rows() {
    let now = T0 + 30 * 60_000;
    let view = View {
        tenant: None,
        model_version: Some("lr-<1>".into()),
    };
    let html = render(&filled().hour(now, None), now, &view);
    assert!(html.contains("<meta http-equiv=\"refresh\" content=\"5\">"));
    assert!(html.contains("all tenants · 08:30–09:30 UTC (server time, 10 s intervals) · 5 decisions · model <code>lr-&lt;1&gt;</code>"));
    // Decisions by channel: allow, step_up_otp, step_up_otp_kba, deny, total.
    let num = |n: &str| format!("<td class=\"num\">{n}</td>");
    let row = |name: &str, cells: &[&str]| {
        format!(
            "<tr><td>{name}</td>{}</tr>",
            cells.iter().map(|c| num(c)).collect::<String>()
        )
    };
    assert!(html.contains(&row("web_widget", &["1", "1", "1", "0", "3"])));
    assert!(html.contains(&row("sms", &["0", "0", "0", "1", "1"])));
    assert!(html.contains(&row("in_app", &["1", "0", "0", "0", "1"])));
    assert!(html.contains(&row("social", &["0", "0", "0", "0", "0"])));
    // Challenge rate: web_widget 2 of 3 challenged.
    assert!(html.contains(&row("web_widget", &["3", "2", "66.7 %", "0", "0.0 %"])));
    assert!(html.contains(&row("social", &["0", "0", "–", "0", "–"])));
    // Every decision carried new_device.
    assert!(html.contains(
        "<tr><td>new_device</td><td class=\"num\">5</td><td class=\"num\">100.0 %</td></tr>"
    ));
    // Latency: every request, 3 of 4 at ≤ 1 ms, the slowest ≤ 5 ms.
    assert!(html.contains(&format!(
        "<tr>{}{}{}{}</tr>",
        num("4"),
        num("≤ 1 ms"),
        num("≤ 5 ms"),
        num("≤ 5 ms")
    )));
    assert!(html.contains(&format!(
        "<tr>{}{}{}</tr>",
        num("2"),
        num("1"),
        num("66.7 %")
    )));
    assert!(
        html.contains("<p>Every tenant's requests and those refused before their key was known;")
    );
    assert!(html.contains(&row("otp_passed", &["1"])));
    assert!(html.contains(&row("acme", &["4"])));
    assert!(html.contains(&row("default", &["1"])));
    for id in [
        "decisions_over_time",
        "decisions_by_channel",
        "top_reasons",
        "trust_scores",
        "outcomes",
    ] {
        assert_eq!(
            html.matches(&format!("<svg id=\"{id}\" ")).count(),
            1,
            "{id}"
        );
    }
    for id in [
        "decisions",
        "challenge",
        "reasons",
        "trust",
        "latency",
        "shadow",
        "outcomes",
        "tenants",
        "access",
    ] {
        assert!(html.contains(&format!("<section id=\"{id}\">")), "{id}");
    }
    assert!(html.contains("reverse proxy"));
    assert!(!html.contains("<script"));
    assert_eq!(
        html,
        render(&filled().hour(now, None), now, &view),
        "deterministic"
    );
}

#[test]
fn a_tenant_sees_its_own_counts_and_no_tenant_list() {
    let now = T0 + 30 * 60_000;
    let view = View {
        tenant: Some("acme".into()),
        model_version: None,
    };
    let html = render(&filled().hour(now, Some("acme")), now, &view);
    assert!(html.contains(
        "tenant <b>acme</b> · 08:30–09:30 UTC (server time, 10 s intervals) · 4 decisions</p>"
    ));
    assert!(html.contains("<tr><td>in_app</td><td class=\"num\">0</td>"));
    // Latency: acme's two requests only (1 and 4 ms), not the service's four.
    let num = |n: &str| format!("<td class=\"num\">{n}</td>");
    assert!(html.contains(&format!(
        "<tr>{}{}{}{}</tr>",
        num("2"),
        num("≤ 1 ms"),
        num("≤ 5 ms"),
        num("≤ 5 ms")
    )));
    assert!(html.contains("<p>Requests made with this tenant's keys; every status"));
    assert!(!html.contains("<section id=\"tenants\">"));
    assert!(!html.contains("<td>default</td>"));
}

#[test]
fn an_empty_hour_still_renders_every_plot() {
    let tl = Timeline::new(TenantIndex::new([]));
    let html = render(&tl.hour(T0, None), T0, &View::default());
    assert_eq!(html.matches("<svg id=").count(), 5);
    assert_eq!(html.matches(">\nno data\n</text>").count(), 5);
    assert!(html.contains("No shadow decisions in the last hour"));
    assert!(html.contains("<td class=\"num\">0</td><td class=\"num\">–</td>"));
}
