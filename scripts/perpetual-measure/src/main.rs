//! Measures perpetual 2.3 on rows exported by tessera's tree harness (same splits as forust).
use perpetual::PerpetualBooster;
use perpetual::constraints::Constraint;
use perpetual::data::Matrix;
use perpetual::objective::Objective;
use std::collections::HashMap;

fn read(buf: &[u8], at: &mut usize, p: usize) -> (Vec<f64>, Vec<f64>, usize) {
    let n = u64::from_le_bytes(buf[*at..*at + 8].try_into().unwrap()) as usize;
    *at += 8;
    let mut rows = vec![0f64; n * p]; // column-major
    let mut y = vec![0f64; n];
    for i in 0..n {
        for j in 0..p {
            let x = f32::from_le_bytes(buf[*at..*at + 4].try_into().unwrap());
            rows[j * n + i] = x as f64;
            *at += 4;
        }
        y[i] = buf[*at] as f64;
        *at += 1;
    }
    (rows, y, n)
}

fn auc(s: &[f64], y: &[f64]) -> f64 {
    let mut v: Vec<(f64, f64)> = s.iter().copied().zip(y.iter().copied()).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j].0 == v[i].0 {
            j += 1;
        }
        let r = (i + j + 1) as f64 / 2.0;
        for k in i..j {
            if v[k].1 > 0.5 {
                rank_sum += r;
            }
        }
        i = j;
    }
    let pos = y.iter().filter(|a| **a > 0.5).count() as f64;
    let neg = y.len() as f64 - pos;
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

fn recall5(s: &[f64], y: &[f64]) -> f64 {
    let mut g: Vec<f64> = s
        .iter()
        .zip(y)
        .filter(|(_, a)| **a < 0.5)
        .map(|(s, _)| *s)
        .collect();
    g.sort_by(|a, b| b.total_cmp(a));
    let t = g[(0.05 * g.len() as f64).floor() as usize].next_up();
    let pos = y.iter().filter(|a| **a > 0.5).count() as f64;
    s.iter()
        .zip(y)
        .filter(|(s, a)| **a > 0.5 && **s >= t)
        .count() as f64
        / pos
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let buf = std::fs::read(&args[1]).unwrap();
    // Directions in schema order: 'r' risk, 't' trust, 'e' either.
    let dirs: Vec<char> = args[2].chars().collect();
    let p = dirs.len();
    let mut at = 0;
    let (xt, yt, nt) = read(&buf, &mut at, p);
    let (_xv, _yv, _nv) = read(&buf, &mut at, p);
    let (xs, ys, ns) = read(&buf, &mut at, p);
    let cons: HashMap<usize, Constraint> = dirs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            (
                i,
                match d {
                    'r' => Constraint::Positive,
                    't' => Constraint::Negative,
                    _ => Constraint::Unconstrained,
                },
            )
        })
        .collect();
    for budget in args[3].split(',').map(|b| b.parse::<f32>().unwrap()) {
        let fit = || {
            let mut b = PerpetualBooster::default()
                .set_objective(Objective::LogLoss)
                .set_budget(budget)
                .set_num_threads(Some(2))
                .set_monotone_constraints(Some(cons.clone()))
                .set_allow_missing_splits(false)
                .set_create_missing_branch(false)
                .set_seed(7);
            let t = std::time::Instant::now();
            b.fit(&Matrix::new(&xt, nt, p), &yt, None, None).unwrap();
            (b, t.elapsed().as_secs_f64())
        };
        let (b, secs) = fit();
        let s = b.predict(&Matrix::new(&xs, ns, p), false);
        let nodes: usize = b.trees.iter().map(|t| t.nodes.len()).sum();
        // Direction condition of tessera's Ensemble::check on every tree.
        let mut violations = 0;
        for t in &b.trees {
            fn range(t: &perpetual::tree::core::Tree, i: usize) -> (f32, f32) {
                let n = &t.nodes[&i];
                if n.is_leaf {
                    return (n.weight_value, n.weight_value);
                }
                let (l, r) = (range(t, n.left_child), range(t, n.right_child));
                (l.0.min(r.0), l.1.max(r.1))
            }
            for n in t.nodes.values().filter(|n| !n.is_leaf) {
                let (l, r) = (range(t, n.left_child), range(t, n.right_child));
                let bad = match dirs[n.split_feature] {
                    'r' => r.0 + 1e-6 < l.1,
                    't' => l.0 + 1e-6 < r.1,
                    _ => false,
                };
                if bad {
                    violations += 1;
                }
            }
        }
        let (b2, _) = fit();
        let same = b.trees.len() == b2.trees.len()
            && b.predict(&Matrix::new(&xs, ns, p), false)
                == b2.predict(&Matrix::new(&xs, ns, p), false);
        println!(
            "perpetual budget {budget}: auc {:.4} recall@5% {:.3} fit {secs:.1} s trees {} nodes {nodes} direction violations {violations} deterministic {same}",
            auc(&s, &ys),
            recall5(&s, &ys),
            b.trees.len()
        );
    }
}
