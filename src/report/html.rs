//! `report.html`: one self-contained page (no script, no network: inline SVG plots and CSS
//! under a strict content security policy) showing a [`Summary`]. Every table on it is also
//! written as CSV and Parquet beside it; the page shows the first rows and the first event ids
//! of each, and says where the rest is.

use std::collections::BTreeMap;

use super::aggregate::{KeyRisk, Summary, utc};
use super::table::Table;
use crate::render::page::{self, Page, esc, figure};
use crate::render::plots::{self, Line, Segment};

/// Rows of a table shown on the page (the CSV has them all).
const PAGE_ROWS: usize = super::aggregate::PREVIEW_ROWS;
/// Event ids shown per row on the page.
const PAGE_IDS: usize = 12;

/// The page for `s`; `tables` are the tables written beside it, with the events table's
/// rows.
pub fn render(s: &Summary, tables: &[Table]) -> String {
    let mut page = Page::new("Tessera fraud report");
    let mut intro = format!(
        "Period {} to {} (UTC), {} scored requests, {} outcomes.",
        esc(&utc(s.from_ms)),
        esc(&utc(s.to_ms)),
        s.requests,
        s.outcomes
    );
    if s.unmatched_outcomes > 0 {
        intro.push_str(&format!(
            " {} further outcomes matched no request of the period (another period's or \
             tenant's, or reported after the request's pending window).",
            s.unmatched_outcomes
        ));
    }
    for what in &s.provenance {
        intro.push_str(&format!("<br>{}", esc(what)));
    }
    page.intro(&intro);
    page.section("kpis", "Authentication KPIs", &kpi_section(tables));
    page.section(
        "over-time",
        "Decisions and trust over time",
        &time_section(s),
    );
    page.section("patterns", "Attack patterns", &pattern_section(s, tables));
    page.section("health", "Model health", &health_section(s));
    page.section("compliance", "Compliance", &compliance_section(s, tables));
    let mut files = String::from(
        "<p>events holds every scored request (pseudonyms only): filter it by the event ids \
         listed above to drill down.</p><ul>",
    );
    for (name, rows) in tables
        .iter()
        .map(|t| (t.name, t.total_rows()))
        .chain([("events", s.requests)])
    {
        files.push_str(&format!(
            "<li>{0}.csv, {0}.parquet ({1} rows)</li>",
            esc(name),
            rows
        ));
    }
    files.push_str("</ul>");
    page.section("tables", "Tables beside this page", &files);
    page.finish()
}

/// A table as the page shows it: the first rows, long id lists cut.
fn shown(t: &Table) -> String {
    let headers: Vec<&str> = t.columns.iter().map(|(n, _)| *n).collect();
    let numeric: Vec<usize> = t
        .columns
        .iter()
        .enumerate()
        .filter(|(_, (_, v))| v.numeric())
        .map(|(i, _)| i)
        .collect();
    let rows: Vec<Vec<String>> = (0..t.rows().min(PAGE_ROWS))
        .map(|i| {
            t.columns
                .iter()
                .map(|(name, v)| {
                    let cell = v.cell(i);
                    if name.starts_with("event_id") {
                        cut_ids(&cell)
                    } else {
                        cell
                    }
                })
                .collect()
        })
        .collect();
    let mut html = page::table(&headers, &rows, &numeric);
    if t.total_rows() > PAGE_ROWS as u64 {
        html.push_str(&format!(
            "<p>First {PAGE_ROWS} of {} rows: all in {}.csv.</p>",
            t.total_rows(),
            esc(t.name)
        ));
    }
    html
}

fn cut_ids(ids: &str) -> String {
    let all: Vec<&str> = ids.split(' ').filter(|s| !s.is_empty()).collect();
    if all.len() <= PAGE_IDS {
        return ids.to_string();
    }
    format!("{} … ({} in all)", all[..PAGE_IDS].join(" "), all.len())
}

fn named<'a>(tables: &'a [Table], name: &str) -> Option<&'a Table> {
    tables.iter().find(|t| t.name == name)
}

fn plot(svg: Result<String, plots::PlotError>, caption: &str) -> String {
    match svg {
        Ok(svg) => figure(&svg, caption),
        Err(e) => format!("<p>Plot unavailable: {}</p>", esc(&e.to_string())),
    }
}

fn kpi_section(tables: &[Table]) -> String {
    let mut html = String::from(
        "<p>Authenticated: allowed, or stepped up and then passed. Friction: share stepped up. \
         False challenge: stepped up, passed, never confirmed as fraud (share of those stepped \
         up). Fraud caught: confirmed fraud denied, or challenged and never passed; missed: \
         confirmed fraud allowed passively. Time to authenticate: score to passed challenge.</p>",
    );
    if let Some(t) = named(tables, "kpis") {
        html.push_str(&shown(t));
    }
    html.push_str("<h3>Requests confirmed as fraud</h3>");
    match named(tables, "fraud_cases") {
        Some(t) if t.total_rows() > 0 => html.push_str(&shown(t)),
        _ => html.push_str("<p>None in this period.</p>"),
    }
    html
}

fn time_section(s: &Summary) -> String {
    // Requests per bucket by decision, and the challenge rate per bucket by channel.
    let mut by_decision: BTreeMap<&str, BTreeMap<i64, f64>> = BTreeMap::new();
    let mut by_channel: BTreeMap<&str, BTreeMap<i64, (f64, f64)>> = BTreeMap::new();
    let mut trust: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for b in &s.timeline {
        *by_decision
            .entry(&b.decision)
            .or_default()
            .entry(b.start_ms)
            .or_default() += b.requests as f64;
        let c = by_channel
            .entry(&b.channel)
            .or_default()
            .entry(b.start_ms)
            .or_default();
        c.1 += b.requests as f64;
        if b.decision != "allow" {
            c.0 += b.requests as f64;
        }
        let t = trust.entry(b.start_ms).or_default();
        t.0 += b.trust_sum as f64;
        t.1 += b.requests as f64;
    }
    let series = |m: &BTreeMap<i64, f64>| m.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>();
    let decision_points: Vec<(&str, Vec<(i64, f64)>)> =
        by_decision.iter().map(|(d, m)| (*d, series(m))).collect();
    let lines: Vec<Line<'_>> = decision_points
        .iter()
        .map(|(name, points)| Line { name, points })
        .collect();
    let rate_points: Vec<(&str, Vec<(i64, f64)>)> = by_channel
        .iter()
        .map(|(c, m)| {
            (
                *c,
                m.iter().map(|(k, (x, n))| (*k, x / n.max(1.0))).collect(),
            )
        })
        .collect();
    let rates: Vec<Line<'_>> = rate_points
        .iter()
        .map(|(name, points)| Line { name, points })
        .collect();
    let mean: Vec<(i64, f64)> = trust
        .iter()
        .map(|(k, (x, n))| (*k, x / n.max(1.0)))
        .collect();
    let width = if s.bucket_ms >= 86_400_000 {
        "day"
    } else {
        "hour"
    };
    let mut html = plot(
        plots::time_series_svg(
            "decisions-over-time",
            "Requests per decision",
            &format!("requests per {width}"),
            &lines,
        ),
        "Requests per decision over the period.",
    );
    html.push_str(&plot(
        plots::time_series_svg(
            "challenge-rate-over-time",
            "Share stepped up or denied, by channel",
            "share",
            &rates,
        ),
        "Challenge rate per channel.",
    ));
    html.push_str(&plot(
        plots::time_series_svg(
            "trust-over-time",
            "Mean trust score",
            "trust 0-100",
            &[Line {
                name: "mean trust",
                points: &mean,
            }],
        ),
        "Mean trust score over the period.",
    ));
    html.push_str(&segments(s, "channel", |b| &b.channel));
    html.push_str(&segments(s, "action", |b| &b.action));
    html.push_str(&segments(s, "tenant", |b| &b.tenant));
    html
}

/// Stacked bars of decisions by one dimension of the timeline.
fn segments(s: &Summary, dim: &str, key: impl Fn(&super::aggregate::Bucket) -> &String) -> String {
    let mut counts: BTreeMap<&str, BTreeMap<&str, f64>> = BTreeMap::new();
    for b in &s.timeline {
        *counts
            .entry(key(b))
            .or_default()
            .entry(&b.decision)
            .or_default() += b.requests as f64;
    }
    let categories: Vec<String> = counts.keys().map(|k| k.to_string()).collect();
    let decisions = ["allow", "step_up_otp", "step_up_otp_kba", "deny"];
    let values: Vec<Vec<f64>> = decisions
        .iter()
        .map(|d| {
            counts
                .values()
                .map(|m| m.get(d).copied().unwrap_or(0.0))
                .collect()
        })
        .collect();
    let segs: Vec<Segment<'_>> = decisions
        .iter()
        .zip(&values)
        .map(|(name, values)| Segment { name, values })
        .collect();
    plot(
        plots::stacked_bars_svg(
            &format!("decisions-by-{dim}"),
            &format!("Decisions by {dim}"),
            "requests",
            &categories,
            &segs,
        ),
        &format!("Decisions by {dim} over the whole period."),
    )
}

fn top_plot(id: &str, title: &str, k: &[KeyRisk]) -> String {
    let bars: Vec<(String, f64)> = k
        .iter()
        .take(10)
        .map(|r| (r.key.clone(), r.risky as f64))
        .collect();
    plot(
        plots::top_bars_svg(id, title, "requests stepped up or denied", &bars),
        title,
    )
}

fn pattern_section(s: &Summary, tables: &[Table]) -> String {
    let mut html = String::new();
    let parts: [(&str, &str, &[KeyRisk], &str); 4] = [
        ("top_ips", "Riskiest IP addresses", &s.top_ips, "top-ips"),
        (
            "top_asns",
            "Riskiest networks (ASN)",
            &s.top_asns,
            "top-asns",
        ),
        (
            "top_countries",
            "Riskiest countries",
            &s.top_countries,
            "top-countries",
        ),
        (
            "top_devices",
            "Riskiest devices (pseudonyms)",
            &s.top_devices,
            "top-devices",
        ),
    ];
    for (name, title, rows, id) in parts {
        html.push_str(&format!("<h3>{}</h3>", esc(title)));
        if !rows.is_empty() {
            html.push_str(&top_plot(id, title, rows));
        }
        if let Some(t) = named(tables, name) {
            html.push_str(&shown(t));
        }
    }
    let cases = [
        (
            "stuffing_bursts",
            "Credential-stuffing bursts: many users from one IP or network, events at most \
             minutes apart",
        ),
        (
            "flagged_events",
            "Impossible travel, typing replays and bot cadence (the engine's reason codes)",
        ),
        ("shared_devices", "Devices used by several accounts"),
    ];
    for (name, title) in cases {
        html.push_str(&format!("<h3>{}</h3>", esc(title)));
        match named(tables, name) {
            Some(t) if t.total_rows() > 0 => html.push_str(&shown(t)),
            _ => html.push_str("<p>None in this period.</p>"),
        }
    }
    html
}

fn health_section(s: &Summary) -> String {
    let d = &s.drift;
    let f: Vec<f64> = d.first_counts.iter().map(|x| *x as f64).collect();
    let l: Vec<f64> = d.last_counts.iter().map(|x| *x as f64).collect();
    let mut html = if d.psi.is_nan() {
        format!(
            "<p>Trust drift between the {}: not computable, a window has no request.</p>",
            d.windows
        )
    } else {
        format!(
            "<p>Trust drift between the {} ({} and {} requests): PSI {:.4}, KS {:.4}. A PSI \
             under 0.1 is commonly read as stable, over 0.25 as a shift to investigate.</p>",
            d.windows,
            d.first_counts.iter().sum::<u64>(),
            d.last_counts.iter().sum::<u64>(),
            d.psi,
            d.ks
        )
    };
    html.push_str(&plot(
        plots::histogram_svg(
            "trust-drift",
            "Trust score distribution",
            "trust score",
            0.0,
            100.0,
            &[("first window", &f), ("last window", &l)],
        ),
        "Trust scores of the first and last window.",
    ));
    let sh = &s.shadow;
    if sh.judged == 0 {
        html.push_str("<p>No shadow model judged these requests.</p>");
    } else {
        html.push_str(&format!(
            "<p>The shadow model agreed with the enforced decision on {} of {} requests ({:.2} %).</p>",
            sh.agreed,
            sh.judged,
            100.0 * super::aggregate::kpi::ratio(sh.agreed, sh.judged)
        ));
    }
    let bars: Vec<(String, f64)> = s
        .reasons
        .iter()
        .take(15)
        .map(|(c, n)| (c.clone(), *n as f64))
        .collect();
    if !bars.is_empty() {
        html.push_str(&plot(
            plots::top_bars_svg(
                "reason-codes",
                "Reason codes by frequency",
                "requests",
                &bars,
            ),
            "The most frequent reason codes.",
        ));
    }
    html
}

fn compliance_section(s: &Summary, tables: &[Table]) -> String {
    match (&s.compliance, named(tables, "compliance")) {
        (Some(c), Some(t)) => {
            let mut html = match &c.broken {
                None => String::from("<p>The audit chain verified.</p>"),
                Some(_) => String::from(
                    "<p><strong>The audit chain does NOT verify: the figures on this page \
                     cannot be trusted.</strong></p>",
                ),
            };
            html.push_str(&shown(t));
            html.push_str(
                "<p>No keystrokes and no raw user or device ids appear in this report: users \
                 and devices are the audit log's keyed-hash pseudonyms.</p>",
            );
            html
        }
        _ => String::from(
            "<p>This report was made from an event log, not from the service's audit log: \
             there is no chain to verify here. Users and devices are shown as keyed-hash \
             pseudonyms.</p>",
        ),
    }
}
