//! `GET /dashboard` (admin): the last hour of the service as one self-contained HTML page
//! ([`crate::render::page`], [`crate::render::plots`]): decisions over time by channel,
//! challenge rate by channel, top reason codes, trust scores, `POST /v1/score` latency
//! percentiles, shadow agreement and outcomes, from the [`super::timeline`] ring. The page
//! reloads itself every [`REFRESH_S`] seconds and loads nothing (no script, no asset; the
//! Content-Security-Policy forbids both).
//!
//! An admin key of the default tenant sees every tenant; an admin key of another tenant sees its
//! own tenant's counts only, latency included (the requests its keys made). A browser cannot
//! add a Bearer header, on the first load or on a refresh: the page is meant to be opened through
//! a reverse proxy that authenticates the operator and injects `Authorization` (oauth2-proxy,
//! nginx `proxy_set_header`). [`render`] is a pure function of the counts and the time.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::auth::Scope;
use super::error::ApiError;
use super::handlers::authorize;
use super::timeline::{
    BUCKET_MS, BUCKETS, DECISIONS, Hour, LATENCY_BOUNDS_MS, OUTCOMES, TRUST_BINS, reason_index,
};
use crate::domain::{Channel, Decision, ReasonCode, Tenant};
use crate::render::page::{self, Page, esc, figure, table};
use crate::render::plots::{self, Line, Segment};

/// Seconds between the page's reloads.
pub const REFRESH_S: u32 = 5;
/// Reason codes in the top-N plot and table.
const TOP_REASONS: usize = 15;

/// `GET /dashboard`.
pub async fn dashboard(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = authorize(&st, &headers, Some(Scope::Admin))?;
    let now_ms = crate::engine::now_ms();
    let view = if caller.tenant == Tenant::DEFAULT {
        let model = st.model_info().model_version;
        View {
            tenant: None,
            model_version: Some(model),
        }
    } else {
        View {
            tenant: Some(caller.tenant),
            model_version: None,
        }
    };
    let hour = st.metrics.timeline().hour(now_ms, view.tenant.as_deref());
    let html = render(&hour, now_ms, &view);
    let csp = format!("{}; frame-ancestors 'none'", page::CSP);
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        html,
    )
        .into_response())
}

/// Whose page it is.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// The tenant shown, `None` for every tenant (the operator).
    pub tenant: Option<String>,
    /// The active default model, shown to the operator.
    pub model_version: Option<String>,
}

/// A count out of a total as a percentage with one decimal, `–` out of nothing.
fn pct(n: u64, of: u64) -> String {
    if of == 0 {
        "–".into()
    } else {
        format!("{:.1} %", 100.0 * n as f64 / of as f64)
    }
}

/// `HH:MM` UTC of `ms`.
fn hh_mm(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or(String::new(), |t| t.format("%H:%M").to_string())
}

/// A latency bound as shown: `≤ 5 ms`, `> 5000 ms`, `–` without requests.
fn latency(bound_ms: Option<f64>) -> String {
    match bound_ms {
        None => "–".into(),
        Some(b) if b.is_finite() => format!("≤ {b} ms"),
        Some(_) => format!("> {} ms", LATENCY_BOUNDS_MS.last().copied().unwrap_or(0.0)),
    }
}

/// A plot, or the reason it could not be drawn.
fn plot(svg: Result<String, plots::PlotError>, caption: &str) -> String {
    match svg {
        Ok(svg) => figure(&svg, caption),
        Err(e) => format!("<p class=\"warn\">{}</p>\n", esc(&e.to_string())),
    }
}

/// The page for `hour`, read at `now_ms`, as `view` sees it.
pub fn render(hour: &Hour, now_ms: i64, view: &View) -> String {
    let mut p = Page::new("Tessera: the last hour").refresh_every(REFRESH_S);
    let who = match &view.tenant {
        Some(t) => format!("tenant <b>{}</b>", esc(t)),
        None => "all tenants".into(),
    };
    let model = view.model_version.as_ref().map_or(String::new(), |m| {
        format!(" · model <code>{}</code>", esc(m))
    });
    p.intro(&format!(
        "{who} · {}–{} UTC (server time, {} s intervals) · {} decisions{model}",
        hh_mm(hour.first_ms),
        hh_mm(now_ms),
        BUCKET_MS / 1000,
        hour.totals.decisions_total()
    ));
    decisions(&mut p, hour);
    challenge(&mut p, hour);
    reasons(&mut p, hour);
    trust(&mut p, hour);
    p.section(
        "latency",
        "Latency of POST /v1/score",
        &latency_table(hour, view),
    );
    shadow(&mut p, hour);
    outcomes(&mut p, hour);
    if view.tenant.is_none() {
        let rows: Vec<Vec<String>> = hour
            .by_tenant
            .iter()
            .map(|(t, n)| vec![t.clone(), n.to_string()])
            .collect();
        p.section(
            "tenants",
            "Decisions by tenant",
            &table(&["tenant", "decisions"], &rows, &[1]),
        );
    }
    p.section(
        "access",
        "About this page",
        &format!(
            "<p>Counts kept in memory by this server process since it started, for the last hour \
             only: a restart or another replica starts from zero (Prometheus, <code>/metrics</code>, \
             keeps the long view). The page reloads every {REFRESH_S} s. A browser cannot resend an \
             <code>Authorization: Bearer</code> header, on a reload or at all: open this page \
             through a reverse proxy that signs the operator in and injects the header \
             (oauth2-proxy, or nginx <code>proxy_set_header Authorization</code>), never with a key \
             in the URL.</p>"
        ),
    );
    p.finish()
}

fn decisions(p: &mut Page, hour: &Hour) {
    let series: Vec<(Channel, Vec<(i64, f64)>)> = Channel::ALL
        .iter()
        .filter(|c| hour.totals.channel_total(**c) > 0)
        .map(|c| (*c, per_minute(hour, *c)))
        .collect();
    let lines: Vec<Line<'_>> = series
        .iter()
        .map(|(c, points)| Line {
            name: c.as_str(),
            points,
        })
        .collect();
    let mut body = plot(
        plots::time_series_svg(
            "decisions_over_time",
            "Decisions by channel",
            "decisions per minute",
            &lines,
        ),
        &format!(
            "Decisions per minute (UTC) over the last {} minutes; the first and last minutes are \
             partly counted.",
            BUCKETS as i64 * BUCKET_MS / 60_000
        ),
    );
    let mut headers = vec!["channel"];
    headers.extend(DECISIONS.iter().map(|d| d.as_str()));
    headers.push("total");
    let rows: Vec<Vec<String>> = Channel::ALL
        .iter()
        .map(|c| {
            let by = &hour.totals.decisions[c.index()];
            let mut row = vec![c.as_str().to_string()];
            row.extend(by.iter().map(u64::to_string));
            row.push(hour.totals.channel_total(*c).to_string());
            row
        })
        .collect();
    body.push_str(&table(&headers, &rows, &[1, 2, 3, 4, 5]));
    p.section("decisions", "Decisions by channel", &body);
}

/// `channel`'s decisions per UTC minute over the hour: (start of the minute, count).
fn per_minute(hour: &Hour, channel: Channel) -> Vec<(i64, f64)> {
    let mut points: Vec<(i64, f64)> = Vec::with_capacity(62);
    for (k, b) in hour.per_bucket.iter().enumerate() {
        let minute = (hour.first_ms + k as i64 * BUCKET_MS).div_euclid(60_000) * 60_000;
        let n = b[channel.index()].iter().sum::<u64>() as f64;
        match points.last_mut() {
            Some((m, total)) if *m == minute => *total += n,
            _ => points.push((minute, n)),
        }
    }
    points
}

fn challenge(p: &mut Page, hour: &Hour) {
    let shown: Vec<Channel> = Channel::ALL
        .into_iter()
        .filter(|c| hour.totals.channel_total(*c) > 0)
        .collect();
    let categories: Vec<String> = shown.iter().map(|c| c.as_str().to_string()).collect();
    let values: Vec<Vec<f64>> = DECISIONS
        .iter()
        .enumerate()
        .map(|(d, _)| {
            shown
                .iter()
                .map(|c| hour.totals.decisions[c.index()][d] as f64)
                .collect()
        })
        .collect();
    let segments: Vec<Segment<'_>> = DECISIONS
        .iter()
        .zip(&values)
        .map(|(d, v)| Segment {
            name: d.as_str(),
            values: v,
        })
        .collect();
    let mut body = plot(
        plots::stacked_bars_svg(
            "decisions_by_channel",
            "Decisions by channel, last hour",
            "decisions",
            &categories,
            &segments,
        ),
        "Each bar: one channel's decisions, stacked by kind.",
    );
    let rows: Vec<Vec<String>> = Channel::ALL
        .iter()
        .map(|c| {
            let by = &hour.totals.decisions[c.index()];
            let total = hour.totals.channel_total(*c);
            let challenged = by[1] + by[2];
            let denied = by[3];
            vec![
                c.as_str().to_string(),
                total.to_string(),
                challenged.to_string(),
                pct(challenged, total),
                denied.to_string(),
                pct(denied, total),
            ]
        })
        .collect();
    body.push_str(&table(
        &[
            "channel",
            "decisions",
            "challenged",
            "challenge rate",
            "denied",
            "deny rate",
        ],
        &rows,
        &[1, 2, 3, 4, 5],
    ));
    body.push_str(&format!(
        "<p>Challenged: <code>{}</code> or <code>{}</code>.</p>",
        Decision::StepUpOtp.as_str(),
        Decision::StepUpOtpKba.as_str()
    ));
    p.section("challenge", "Challenge rate by channel", &body);
}

fn reasons(p: &mut Page, hour: &Hour) {
    let mut top: Vec<(ReasonCode, u64)> = ReasonCode::ALL
        .iter()
        .map(|c| (*c, hour.totals.reasons[reason_index(*c)]))
        .filter(|(_, n)| *n > 0)
        .collect();
    // Most frequent first; ties by code name, so the order is stable.
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.as_str().cmp(b.0.as_str())));
    top.truncate(TOP_REASONS);
    let bars: Vec<(String, f64)> = top
        .iter()
        .map(|(c, n)| (c.as_str().to_string(), *n as f64))
        .collect();
    let mut body = plot(
        plots::top_bars_svg(
            "top_reasons",
            "Top reason codes",
            "decisions carrying the code",
            &bars,
        ),
        &format!("The {TOP_REASONS} most frequent reason codes of the last hour."),
    );
    let total = hour.totals.decisions_total();
    let rows: Vec<Vec<String>> = top
        .iter()
        .map(|(c, n)| vec![c.as_str().to_string(), n.to_string(), pct(*n, total)])
        .collect();
    body.push_str(&table(
        &["reason code", "decisions", "share of decisions"],
        &rows,
        &[1, 2],
    ));
    p.section("reasons", "Top reason codes", &body);
}

fn trust(p: &mut Page, hour: &Hour) {
    let bins: Vec<f64> = hour.totals.trust.iter().map(|n| *n as f64).collect();
    let body = plot(
        plots::histogram_svg(
            "trust_scores",
            "Trust scores",
            "trust score",
            0.0,
            100.0,
            &[("decisions", &bins)],
        ),
        &format!("Trust scores of the last hour's decisions in {TRUST_BINS} bins (90–100 last)."),
    );
    p.section("trust", "Trust scores", &body);
}

fn latency_table(hour: &Hour, view: &View) -> String {
    let row = vec![
        hour.latency_count().to_string(),
        latency(hour.latency_quantile_ms(0.5)),
        latency(hour.latency_quantile_ms(0.95)),
        latency(hour.latency_quantile_ms(0.99)),
    ];
    let mut body = table(&["requests", "p50", "p95", "p99"], &[row], &[0, 1, 2, 3]);
    let whose = match view.tenant {
        Some(_) => "Requests made with this tenant's keys",
        None => "Every tenant's requests and those refused before their key was known",
    };
    let _ = write!(
        body,
        "<p>{whose}; every status, from arrival to answer; each percentile is the upper bound of \
         the fixed bucket that holds it.</p>",
    );
    body
}

fn shadow(p: &mut Page, hour: &Hour) {
    let [agree, differ] = hour.totals.shadow;
    let body = if agree + differ == 0 {
        "<p>No shadow decisions in the last hour (no shadow model set, or no scores).</p>"
            .to_string()
    } else {
        table(
            &["agree", "differ", "agreement"],
            &[vec![
                agree.to_string(),
                differ.to_string(),
                pct(agree, agree + differ),
            ]],
            &[0, 1, 2],
        )
    };
    p.section("shadow", "Shadow model agreement", &body);
}

fn outcomes(p: &mut Page, hour: &Hour) {
    let mut counted: Vec<(&str, u64)> = OUTCOMES
        .iter()
        .zip(hour.totals.outcomes)
        .map(|(k, n)| (k.as_str(), n))
        .collect();
    let rows: Vec<Vec<String>> = counted
        .iter()
        .map(|(k, n)| vec![k.to_string(), n.to_string()])
        .collect();
    counted.retain(|(_, n)| *n > 0);
    counted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let bars: Vec<(String, f64)> = counted
        .iter()
        .map(|(k, n)| (k.to_string(), *n as f64))
        .collect();
    let mut body = plot(
        plots::top_bars_svg("outcomes", "Verified outcomes", "outcomes applied", &bars),
        "Outcomes applied in the last hour, by kind.",
    );
    body.push_str(&table(&["outcome", "applied"], &rows, &[1]));
    p.section("outcomes", "Outcomes", &body);
}

#[cfg(test)]
#[path = "dashboard_tests.rs"]
mod tests;
