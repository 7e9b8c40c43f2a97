//! `card.html`: the model card as one self-contained page — inline CSS and inline SVG plots
//! ([`super::plots`]), no script, no network (a Content-Security-Policy forbids every load), so
//! it opens from a file, an email or an archive years later. It shows what a reviewer needs to
//! trust or refuse the model: held-out figures beside the baselines, ROC and PR curves, the
//! calibration choice and reliability diagram, feature importance, per-tactic recall, the
//! chosen thresholds, the data and where its labels came from, known limits, and the command
//! that reproduces it. Every text is HTML-escaped. Deterministic: the same metrics and artifact
//! give the same bytes (wall-clock timings are left out). Reads and writes no file.

use std::fmt::Write as _;

use serde_json::Value;

use super::metrics::Evaluation;
use super::output::{Curve, Curves, MetricsFile};
use super::plots::{self, CurvePlot, Series};
use crate::model::Artifact;
use crate::render::page::CSS;
pub use crate::render::page::esc;

/// Bars in the importance plot (the full list is in a table below it).
const TOP_FEATURES: usize = 20;
/// Below this many test attacks, or events of one tactic, the card warns that a recall is
/// uncertain.
const FEW_EVENTS: u64 = 30;

/// A figure to 4 decimals, `–` when not a number (serde writes NaN as null).
fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        "–".into()
    }
}

/// A share as a percentage with one decimal.
fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1} %", 100.0 * x)
    } else {
        "–".into()
    }
}

/// Wilson score interval (95 %) of a proportion `p` measured on `n` events (Wilson 1927).
pub fn wilson_95(p: f64, n: u64) -> Option<(f64, f64)> {
    if n == 0 || !p.is_finite() {
        return None;
    }
    let (z, n) = (1.959_963_984_540_054_f64, n as f64);
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Recall at the `rate` genuine challenge rate, if reported.
fn recall_at(e: &Evaluation, rate: f64) -> Option<f64> {
    e.recall_at
        .iter()
        .find(|r| (r.genuine_challenge_rate - rate).abs() < 1e-9)
        .map(|r| r.recall)
}

/// The page for `metrics` and the artifact it describes.
pub fn render(m: &MetricsFile, art: &Artifact) -> String {
    let mut h = String::with_capacity(256 * 1024);
    let title = format!("Model card: {}", m.model_version);
    let _ = writeln!(
        h,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>",
        esc(&title),
        esc(&title)
    );
    let _ = writeln!(
        h,
        "<p class=\"lead\">Family <b>{}</b> · seed {} · feature schema v{} (<code>{}</code>, {} features) · \
         calibration <b>{}</b> · artifact format {}</p>",
        esc(&m.family),
        m.seed,
        art.schema.version,
        esc(&art.schema.hash),
        art.schema.names.len(),
        esc(&m.calibration.chosen),
        art.format_version
    );
    if let Some(u) = art.card.get("intended_use").and_then(Value::as_str) {
        let _ = writeln!(h, "<p><b>Intended use.</b> {}</p>", esc(u));
    }
    summary(&mut h, m);
    curves(&mut h, m);
    calibration(&mut h, m);
    importance(&mut h, m);
    tactics(&mut h, m);
    thresholds(&mut h, m);
    data(&mut h, m);
    limits(&mut h, m, art);
    let _ = writeln!(
        h,
        "<section id=\"reproduce\"><h2>Reproduce</h2>\n<pre><code>{}</code></pre>\n\
         <p>Same seed and data give a byte-identical <code>model.json</code> and this page.</p></section>\n\
         </body>\n</html>",
        esc(&m.command)
    );
    h
}

/// The models compared: this one first, then the baselines by name.
fn columns(m: &MetricsFile) -> Vec<(&str, &Evaluation)> {
    let mut cols = vec![(m.family.as_str(), &m.test)];
    cols.extend(m.baselines.iter().map(|(k, v)| (k.as_str(), v)));
    cols
}

fn summary(h: &mut String, m: &MetricsFile) {
    let cols = columns(m);
    h.push_str(
        "<section id=\"summary\"><h2>Held-out test figures</h2>\n<table>\n<tr><th>metric</th>",
    );
    for (name, _) in &cols {
        let _ = write!(h, "<th>{}</th>", esc(name));
    }
    h.push_str("</tr>\n");
    let mut row = |label: &str, f: &dyn Fn(&Evaluation) -> String| {
        let _ = write!(h, "<tr><td>{}</td>", esc(label));
        for (_, e) in &cols {
            let _ = write!(h, "<td>{}</td>", f(e));
        }
        h.push_str("</tr>\n");
    };
    row("test events", &|e| e.events.to_string());
    row("of which attacks", &|e| e.attacks.to_string());
    row("ROC AUC", &|e| num(e.roc_auc));
    row("PR AUC (average precision)", &|e| num(e.pr_auc));
    for rate in [0.01, 0.05] {
        row(
            &format!("recall at {} genuine challenged (95 % CI)", pct(rate)),
            &|e| match recall_at(e, rate) {
                Some(r) => match wilson_95(r, e.attacks) {
                    Some((lo, hi)) => format!("{} ({}–{})", pct(r), pct(lo), pct(hi)),
                    None => pct(r),
                },
                None => "–".into(),
            },
        );
    }
    row("Brier score", &|e| num(e.brier));
    row("log loss", &|e| num(e.log_loss));
    row("genuine with trust ≥ 99", &|e| pct(e.trust_99_genuine));
    row("attacks with trust ≥ 99", &|e| pct(e.trust_99_attacks));
    h.push_str("</table></section>\n");
}

fn curves(h: &mut String, m: &MetricsFile) {
    h.push_str("<section id=\"curves\"><h2>ROC and precision–recall</h2>\n<div class=\"plots\">\n");
    let primary = |k: &str| k == m.family || k == "model" || k == m.model_version;
    // This model first, then the baselines by name.
    let mut keys: Vec<&String> = m.curves.keys().filter(|k| primary(k)).collect();
    keys.extend(m.curves.keys().filter(|k| !primary(k)));
    let series = |pick: fn(&Curves) -> &Curve| -> Vec<Series<'_>> {
        keys.iter()
            .filter_map(|k| {
                m.curves.get(*k).map(|c| Series {
                    name: k.as_str(),
                    points: pick(c),
                    primary: primary(k),
                })
            })
            .collect()
    };
    let roc = series(|c| &c.roc);
    let pr = series(|c| &c.pr);
    let marks = [0.01, 0.05];
    plot(
        h,
        plots::curve_svg(
            &CurvePlot {
                id: "roc",
                title: "ROC (test)",
                x_desc: "false positive rate (genuine challenged)",
                y_desc: "true positive rate (attacks caught)",
                x_max: 1.0,
                diagonal: true,
                marks: &marks,
            },
            &roc,
        ),
    );
    plot(
        h,
        plots::curve_svg(
            &CurvePlot {
                id: "roc_low",
                title: "ROC, genuine challenged ≤ 10 %",
                x_desc: "false positive rate (1 % and 5 % marked)",
                y_desc: "true positive rate",
                x_max: 0.1,
                diagonal: false,
                marks: &marks,
            },
            &roc,
        ),
    );
    plot(
        h,
        plots::curve_svg(
            &CurvePlot {
                id: "pr",
                title: "Precision–recall (test)",
                x_desc: "recall (attacks caught)",
                y_desc: "precision",
                x_max: 1.0,
                diagonal: false,
                marks: &[],
            },
            &pr,
        ),
    );
    h.push_str("</div></section>\n");
}

fn plot(h: &mut String, svg: Result<String, plots::PlotError>) {
    match svg {
        Ok(svg) => {
            let _ = writeln!(h, "<figure>{svg}</figure>");
        }
        Err(e) => {
            let _ = writeln!(h, "<p class=\"warn\">{}</p>", esc(&e.to_string()));
        }
    }
}

fn calibration(h: &mut String, m: &MetricsFile) {
    let _ = writeln!(
        h,
        "<section id=\"calibration\"><h2>Calibration</h2>\n<p>Kept: <b>{}</b>, the candidate with the lowest \
         cross-fitted log loss on the validation split:</p>\n<table>\n<tr><th>method</th><th>validation log loss</th></tr>",
        esc(&m.calibration.chosen)
    );
    for (name, loss) in &m.calibration.log_loss {
        let mark = if *name == m.calibration.chosen {
            " (kept)"
        } else {
            ""
        };
        let _ = writeln!(
            h,
            "<tr><td>{}{mark}</td><td>{}</td></tr>",
            esc(name),
            num(*loss)
        );
    }
    h.push_str("</table>\n<div class=\"plots\">\n");
    plot(
        h,
        plots::reliability_svg("Reliability (test)", &m.test.reliability),
    );
    h.push_str("</div>\n<table>\n<tr><th>predicted range</th><th>events</th><th>mean predicted</th><th>observed attack share</th></tr>\n");
    for b in &m.test.reliability {
        let _ = writeln!(
            h,
            "<tr><td>{:.1}–{:.1}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            b.lower,
            b.upper,
            b.events,
            if b.events > 0 {
                num(b.predicted)
            } else {
                "–".into()
            },
            if b.events > 0 {
                num(b.observed)
            } else {
                "–".into()
            }
        );
    }
    h.push_str("</table></section>\n");
}

fn importance(h: &mut String, m: &MetricsFile) {
    h.push_str("<section id=\"importance\"><h2>Feature importance</h2>\n<div class=\"plots\">\n");
    plot(
        h,
        plots::importance_svg(
            &format!(
                "Top {} features (test)",
                TOP_FEATURES.min(m.importance.len())
            ),
            &m.importance,
            TOP_FEATURES,
        ),
    );
    h.push_str("</div>\n<details><summary>Every feature</summary>\n<table>\n<tr><th>feature</th><th>mean |log-odds term|</th></tr>\n");
    for i in &m.importance {
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td></tr>",
            esc(&i.feature),
            num(i.mean_abs_term)
        );
    }
    h.push_str("</table></details></section>\n");
}

fn tactics(h: &mut String, m: &MetricsFile) {
    h.push_str("<section id=\"tactics\"><h2>Recall per attack tactic (test)</h2>\n<table>\n<tr><th>tactic</th><th>events</th>\
                <th>recall at 1 %</th><th>recall at 5 %</th><th>median trust</th>");
    for name in m.baselines.keys() {
        let _ = write!(h, "<th>{} recall at 5 %</th>", esc(name));
    }
    h.push_str("</tr>\n");
    for (tactic, t) in &m.test.per_tactic {
        let few = if t.events < FEW_EVENTS {
            " class=\"warn\""
        } else {
            ""
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td{few}>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            esc(tactic),
            t.events,
            pct(t.recall_at_1pct),
            pct(t.recall_at_5pct),
            if t.median_trust.is_finite() {
                format!("{:.0}", t.median_trust)
            } else {
                "–".into()
            }
        );
        for b in m.baselines.values() {
            let r = b
                .per_tactic
                .get(tactic)
                .map_or("–".into(), |x| pct(x.recall_at_5pct));
            let _ = write!(h, "<td>{r}</td>");
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table></section>\n");
}

fn thresholds(h: &mut String, m: &MetricsFile) {
    h.push_str("<section id=\"thresholds\"><h2>Thresholds</h2>\n<p>Chosen on the validation split for a target \
                genuine challenge rate, then measured on test:</p>\n<table>\n<tr><th>target genuine challenged</th>\
                <th>allow at trust ≥</th><th>genuine challenged (validation)</th><th>genuine challenged (test)</th>\
                <th>attacks caught (test)</th></tr>\n");
    for t in &m.thresholds {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            pct(t.target_genuine_challenge_rate),
            t.allow_trust,
            pct(t.validation_genuine_challenged),
            pct(t.test_genuine_challenged),
            pct(t.test_recall)
        );
    }
    h.push_str("</table>\n<p>At the default medium ladder (test):</p>\n<table>\n<tr><th>level</th><th>precision</th>\
                <th>recall</th><th>genuine flagged</th><th>TP</th><th>FP</th><th>FN</th><th>TN</th></tr>\n");
    for t in &m.test.thresholds {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(t.name),
            num(t.precision),
            pct(t.recall),
            pct(t.false_positive_rate),
            t.true_positives,
            t.false_positives,
            t.false_negatives,
            t.true_negatives
        );
    }
    h.push_str("</table></section>\n");
}

fn data(h: &mut String, m: &MetricsFile) {
    h.push_str("<section id=\"data\"><h2>Data</h2>\n<table>\n<tr><th>split (by time)</th><th>events</th><th>attacks</th><th>from</th><th>to</th></tr>\n");
    for (name, s) in [
        ("train", &m.splits.train),
        ("validation", &m.splits.validation),
        ("test", &m.splits.test),
    ] {
        let _ = writeln!(
            h,
            "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            s.rows,
            s.attacks,
            esc(&s.from),
            esc(&s.to)
        );
    }
    h.push_str("</table>\n<h3>Dataset</h3>\n");
    value_html(h, &m.data, 0);
    h.push_str("\n<h3>Label source</h3>\n");
    value_html(h, &m.labels, 0);
    h.push_str("</section>\n");
}

/// Renders free-form JSON as nested key/value tables (object keys in the order serde_json
/// keeps them: sorted), at most four levels deep.
fn value_html(h: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Null => h.push('–'),
        Value::Bool(b) => h.push_str(if *b { "yes" } else { "no" }),
        Value::Number(n) => h.push_str(&esc(&n.to_string())),
        Value::String(s) => h.push_str(&esc(s)),
        Value::Array(a) if a.iter().all(|x| !x.is_array() && !x.is_object()) => {
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    h.push_str(", ");
                }
                value_html(h, x, depth + 1);
            }
        }
        _ if depth >= 4 => h.push_str(&esc(&v.to_string())),
        Value::Array(a) => {
            h.push_str("<ol>");
            for x in a {
                h.push_str("<li>");
                value_html(h, x, depth + 1);
                h.push_str("</li>");
            }
            h.push_str("</ol>");
        }
        Value::Object(o) => {
            h.push_str("<table class=\"kv\">");
            for (k, x) in o {
                let _ = write!(h, "<tr><th>{}</th><td>", esc(k));
                value_html(h, x, depth + 1);
                h.push_str("</td></tr>");
            }
            h.push_str("</table>");
        }
    }
}

/// The artifact's stated limits, then those the figures themselves show.
pub fn known_limits(m: &MetricsFile, art: &Artifact) -> Vec<String> {
    let mut out: Vec<String> = art
        .card
        .get("limitations")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if m.test.attacks < FEW_EVENTS {
        out.push(format!(
            "only {} attacks in the test split: every recall above is uncertain (see the confidence intervals)",
            m.test.attacks
        ));
    }
    let thin: Vec<&str> = m
        .test
        .per_tactic
        .iter()
        .filter(|(_, t)| t.events < FEW_EVENTS)
        .map(|(k, _)| k.as_str())
        .collect();
    if !thin.is_empty() {
        out.push(format!(
            "fewer than {FEW_EVENTS} test events for tactic(s) {}: their recall is a rough estimate",
            thin.join(", ")
        ));
    }
    if m.test.trust_99_attacks > 0.05 {
        out.push(format!(
            "{} of test attacks get trust ≥ 99 and tie with most genuine requests: no threshold separates them",
            pct(m.test.trust_99_attacks)
        ));
    }
    if let Some(bad) = m
        .test
        .reliability
        .iter()
        .filter(|b| b.events >= 100)
        .map(|b| (b.predicted - b.observed).abs())
        .reduce(f64::max)
        && bad > 0.1
    {
        out.push(format!(
            "calibration is off by up to {:.2} in a well-populated bin: read trust scores as a ranking, not a probability",
            bad
        ));
    }
    out
}

fn limits(h: &mut String, m: &MetricsFile, art: &Artifact) {
    h.push_str("<section id=\"limits\"><h2>Known limits</h2>\n<ul>\n");
    let limits = known_limits(m, art);
    if limits.is_empty() {
        h.push_str("<li>none recorded</li>\n");
    }
    for l in limits {
        let _ = writeln!(h, "<li>{}</li>", esc(&l));
    }
    h.push_str("</ul></section>\n");
}

#[cfg(test)]
#[path = "card_page_tests.rs"]
pub(crate) mod tests;
