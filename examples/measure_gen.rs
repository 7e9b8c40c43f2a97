// THROWAWAY (not committed): per-scenario recall at a 5 % genuine challenge rate.
use std::collections::BTreeMap;
use tessera::config::{Backend, Config};
use tessera::features::FEATURES;
use tessera::model::{Artifact, LinearModel, ModelKind, artifact::FORMAT_VERSION, rules};
use tessera::train::{dataset, fit, impute_neutral, metrics, neutral_values, replay, TRAIN_SHARE};

fn main() {
    let path = std::env::args().nth(1).expect("data");
    let t0 = std::time::Instant::now();
    let ds = dataset::read_dataset(std::path::Path::new(&path)).expect("read");
    let mut cfg = Config::default();
    cfg.store.backend = Backend::Memory;
    cfg.model.path = "rules".into();
    let key = tessera::privacy::Pseudonymizer::new(*blake3::hash(b"tessera train replay").as_bytes());
    let engine = tessera::Engine::from_config_with_key(&cfg, key).expect("engine");
    let rep = replay::replay(&ds, &engine).expect("replay");
    eprintln!("replayed {} rows in {:.1}s (refused outcomes {})", rep.rows.len(), t0.elapsed().as_secs_f64(), rep.refused_outcomes);
    let mut rows = Vec::new(); let mut ys = Vec::new(); let mut ts = Vec::new(); let mut abs = Vec::new(); let mut sc = Vec::new();
    for i in 0..rep.rows.len() {
        if let Some(y) = rep.labels[i] { rows.push(rep.rows[i]); ys.push(y); ts.push(rep.ts_ms[i]); abs.push(rep.absences[i].clone()); sc.push(rep.scenarios[i].clone()); }
    }
    let n = rows.len();
    let cut = ((n as f64) * TRAIN_SHARE) as usize;
    let cutoff = ts[cut.min(n - 1)];
    let split = ts.partition_point(|t| *t < cutoff);
    let neutral = neutral_values(&rows[..split], &abs[..split], &ys[..split]);
    for (r, u) in rows.iter_mut().zip(&abs) { impute_neutral(r, u, &neutral); }
    let f = fit::fit_logistic(&rows[..split], &ys[..split]).expect("fit");
    let art = Artifact { format_version: FORMAT_VERSION, model_version: "m".into(), kind: ModelKind::LogisticRegression,
        schema: tessera::features::FeatureSchema::current(), weights: f.weights.clone(), intercept: f.intercept,
        metrics: serde_json::Value::Null, training: serde_json::Value::Null, card: serde_json::Value::Null, neutral: neutral.clone() };
    let lr = LinearModel::from_artifact(&art);
    let rb = LinearModel::from_artifact(&rules::artifact());
    let test = &rows[split..]; let ty = &ys[split..]; let tsc = &sc[split..];
    let attack_share = ys.iter().filter(|y| **y).count() as f64 / n as f64;
    println!("labelled {n}, attack share {:.3}, test {} ({} attacks)", attack_share, test.len(), ty.iter().filter(|y| **y).count());
    for (name, m) in [("LR", &lr), ("rules", &rb)] {
        let p: Vec<f64> = test.iter().map(|r| m.probability(r)).collect();
        let auc = metrics::roc_auc(&p, ty).unwrap_or(f64::NAN);
        let mut g: Vec<f64> = p.iter().zip(ty).filter(|(_, y)| !**y).map(|(p, _)| *p).collect();
        g.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let thr = g[((g.len() as f64) * 0.95) as usize];
        let mut per: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for ((pp, y), s) in p.iter().zip(ty).zip(tsc) { let e = per.entry(s.as_str()).or_default(); e.0 += 1; if *pp > thr { e.1 += 1; } let _ = y; }
        let caught: usize = p.iter().zip(ty).filter(|(pp, y)| **y && **pp > thr).count();
        let att = ty.iter().filter(|y| **y).count();
        println!("{name}: ROC AUC {auc:.4}; at 5% genuine challenge: recall {:.3}", caught as f64 / att as f64);
        for (s, (k, c)) in &per { println!("   {s:<28} {k:>6} flagged {:>6.1}%", 100.0 * *c as f64 / *k as f64); }
    }
    if std::env::var("WEIGHTS").is_ok() {
        let mut w: Vec<(f64, &str)> = f.weights.iter().zip(FEATURES).map(|(w, d)| (*w, d.name)).collect();
        w.sort_by(|a, b| b.0.abs().partial_cmp(&a.0.abs()).unwrap());
        for (w, nme) in w.iter().take(25) { println!("  {nme:<32} {w:+.3}"); }
    }
}
