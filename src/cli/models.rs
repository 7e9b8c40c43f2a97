//! `tessera models list | compare A B | promote NAME [--dir DIR] [--json]`: the models
//! directory (default `models/`) — every model with its headline test figures and which one is
//! active, two models side by side, and promotion (writes `DIR/ACTIVE` after loading and
//! checking the model; serve it with `[model] path = "active"`).

use std::path::PathBuf;
use std::process::ExitCode;

use tessera::model::active;
use tessera::train::catalog::{self, Comparison, Listed, Row};

use super::CliError;

/// Arguments of `tessera models`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Models directory: one subdirectory per model, as `tessera train --out DIR/NAME` writes.
    #[arg(long, global = true, default_value = "models")]
    dir: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Every model directory: family, version, test ROC AUC, PR AUC, recall at 5 % genuine
    /// challenged; `*` marks the active one.
    List,
    /// Two models' test figures side by side, per-tactic recall included, with B − A.
    Compare {
        /// Model directory name.
        a: String,
        /// Model directory name.
        b: String,
    },
    /// Make NAME the active model (`DIR/ACTIVE`), after loading and checking it.
    Promote {
        /// Model directory name.
        name: String,
    },
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    match args.what {
        What::List => {
            let models = catalog::list(&args.dir)?;
            if args.json {
                println!("{}", serde_json::to_string(&models)?);
            } else {
                print_list(&args.dir, &models);
            }
        }
        What::Compare { a, b } => {
            let c = catalog::compare(&args.dir, &a, &b)?;
            if args.json {
                println!("{}", serde_json::to_string(&c)?);
            } else {
                print_comparison(&c);
            }
        }
        What::Promote { name } => {
            let art = active::promote(&args.dir, &name)?;
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"active": name, "family": art.kind.name(), "model_version": art.model_version})
                );
            } else {
                println!(
                    "active model: {name} ({}, {}); serve it with [model] path = \"active\" (dir = {})",
                    art.kind.name(),
                    art.model_version,
                    args.dir.display()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn opt4(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.4}"))
}

fn opt_pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{:.1} %", 100.0 * v))
}

fn print_list(dir: &std::path::Path, models: &[Listed]) {
    if models.is_empty() {
        println!(
            "no models in {} (train one with `tessera train --out {}/NAME`)",
            dir.display(),
            dir.display()
        );
        return;
    }
    println!(
        "  {:<24} {:<9} {:<28} {:>8} {:>8} {:>10}",
        "name", "family", "version", "ROC AUC", "PR AUC", "recall@5%"
    );
    for m in models {
        let t = m.test.as_ref();
        println!(
            "{} {:<24} {:<9} {:<28} {:>8} {:>8} {:>10}",
            if m.active { "*" } else { " " },
            m.name,
            m.family.as_deref().unwrap_or("-"),
            m.model_version.as_deref().unwrap_or("-"),
            opt4(t.and_then(|t| t.roc_auc)),
            opt4(t.and_then(|t| t.pr_auc)),
            opt_pct(t.and_then(|t| t.recall_at(0.05))),
        );
        if let Some(p) = &m.problem {
            println!("    ! {p}");
        }
    }
}

/// Formats a comparison row: counts as integers, recalls as percentages (difference in
/// points), the rest to 4 decimals.
fn cells(r: &Row, share: bool, count: bool) -> (String, String, String) {
    let one = |x: Option<f64>| match x {
        None => "-".to_string(),
        Some(v) if count => format!("{v:.0}"),
        Some(v) if share => format!("{:.1} %", 100.0 * v),
        Some(v) => format!("{v:.4}"),
    };
    let diff = match r.diff {
        None => "-".to_string(),
        Some(d) if count => format!("{d:+.0}"),
        Some(d) if share => format!("{:+.1} pt", 100.0 * d),
        Some(d) => format!("{d:+.4}"),
    };
    (one(r.a), one(r.b), diff)
}

fn print_comparison(c: &Comparison) {
    let side = |l: &Listed| {
        format!(
            "{} ({}, {}{})",
            l.name,
            l.family.as_deref().unwrap_or("-"),
            l.model_version.as_deref().unwrap_or("-"),
            if l.active { ", active" } else { "" }
        )
    };
    println!("A: {}", side(&c.a));
    println!("B: {}", side(&c.b));
    println!(
        "{:<36} {:>10} {:>10} {:>11}",
        "test metric", "A", "B", "B - A"
    );
    for r in &c.rows {
        let (a, b, d) = cells(
            r,
            r.metric.contains("recall"),
            r.metric.starts_with("test "),
        );
        println!("{:<36} {a:>10} {b:>10} {d:>11}", r.metric);
    }
    if !c.tactics.is_empty() {
        println!("recall per tactic (genuine challenged at 5 % / 1 %)");
        for r in &c.tactics {
            let (a, b, d) = cells(r, true, false);
            println!("  {:<34} {a:>10} {b:>10} {d:>11}", r.metric);
        }
    }
    match c.same_data {
        Some(true) => println!("both measured on the same data (fingerprints equal)"),
        Some(false) => println!(
            "note: measured on different data (fingerprints differ): these figures are not comparable; \
             run `tessera backtest --model B --against A --data FILE` on one file"
        ),
        None => println!(
            "note: a data fingerprint is missing: make sure both were measured on the same data"
        ),
    }
}
