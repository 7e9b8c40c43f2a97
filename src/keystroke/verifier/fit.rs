//! Fits the population [`BackgroundFile`] from free-text messages of development users: low-rank
//! factor analysis with missing entries (PLDA-style), by alternating least squares. Offline path
//! (`tessera train typing-background`, and every fold of `tessera eval keystroke-free`).
//!
//! Inputs are, per user and entry, the mean `x̄` of the user's per-message values and their
//! count `n`. Steps (constants below):
//! 1. within-user variance per entry, shrunk towards its kind's: `sig2 = (SS + k0·sig2_kind) /
//!    (dof + k0)`;
//! 2. a start: per kind, a user offset alternated with the entry means ([`OFFSET_ITERS`] times,
//!    entries seen by ≥ [`MIN_USERS_PRIOR`] users), giving the offset variance `sb2`, the shrunk
//!    between-user variance `tau2` and the kind defaults;
//! 3. [`FIT_ITERS`] alternations, over entries seen by ≥ [`MIN_USERS`] users, weights `w = 1 /
//!    (tau2 + sig2 / n)`: each user's factors `y = (I + Σ w A Aᵀ)⁻¹ Σ w A (x̄ − mu)`; each entry's
//!    `[mu, A]` by ridge regression on `[1, y]` (λ = [`RIDGE`] on `A`); `tau2` the shrunk excess
//!    residual variance, floored at 0.2 × its kind's.
//!
//! Only entries seen by ≥ [`MIN_USERS`] users are written; the others take their kind's default
//! (type-mean loading and mean, a prior widened by the spread of the means).

// Dense r×r algebra reads best with explicit indices.
#![allow(clippy::needless_range_loop)]

use std::collections::HashMap;

use rand::SeedableRng;

use super::background::{BackgroundFile, Constants, Provenance, SCHEMA, Stats, VERSION};
use super::{EntryKind, RANK, average_by_name, for_each_entry};
use crate::keystroke::free_data::FreeText;
use crate::keystroke::linalg::spd_solve;

/// Shrinkage weight (in users or degrees of freedom) towards the kind's variance.
pub const K0: f64 = 5.0;
/// Users an entry needs to get its own record.
pub const MIN_USERS: usize = 10;
/// Users an entry needs to count in the start and the kind defaults.
pub const MIN_USERS_PRIOR: usize = 3;
/// Ridge on the loadings.
pub const RIDGE: f64 = 1.0;
/// Alternations of the factor fit.
pub const FIT_ITERS: usize = 8;
/// Alternations of the offset start.
pub const OFFSET_ITERS: usize = 4;
/// Seed of the loadings' initial jitter.
pub const SEED: u64 = 0;

/// Significant digits kept of means and variances in the written (and returned) values.
const DIGITS: i32 = 4;
/// Decimals kept of the loadings (about 0.1 in size).
const LOADING_DECIMALS: i32 = 4;

fn round(x: f64) -> f32 {
    if x == 0.0 || !x.is_finite() {
        return x as f32;
    }
    let scale = 10f64.powi(DIGITS - 1 - x.abs().log10().floor() as i32);
    ((x * scale).round() / scale) as f32
}

fn round_loading(x: f64) -> f32 {
    let scale = 10f64.powi(LOADING_DECIMALS);
    ((x * scale).round() / scale) as f32
}

/// One (user, entry) cell.
struct Cell {
    user: usize,
    col: usize,
    n: f64,
    mean: f64,
}

/// Fits the background on the messages of `users` (indices into `data.users`).
pub fn fit(data: &FreeText, users: &[usize]) -> BackgroundFile {
    // Entry columns by (kind, key ids); key names interned.
    let mut key_ids: HashMap<&str, usize> = HashMap::new();
    let mut key_names: Vec<&str> = Vec::new();
    let mut cols: HashMap<(EntryKind, usize, usize), usize> = HashMap::new();
    let mut col_of: Vec<(EntryKind, usize, usize)> = Vec::new();
    let mut triples: Vec<(usize, usize, f64, f64)> = Vec::new(); // user, col, x, x²
    let mut sentences = 0;
    for (ui, &u) in users.iter().enumerate() {
        for events in &data.users[u].sentences {
            sentences += 1;
            let ids: Vec<usize> = events
                .iter()
                .map(|e| {
                    let k = e.key.as_deref().unwrap_or("");
                    *key_ids.entry(k).or_insert_with(|| {
                        key_names.push(k);
                        key_names.len() - 1
                    })
                })
                .collect();
            let mut raw: Vec<(usize, f64)> = Vec::new();
            for_each_entry(events, |kind, i, j, x| {
                let id = (
                    kind,
                    ids[i],
                    if kind == EntryKind::Hold { 0 } else { ids[j] },
                );
                let c = *cols.entry(id).or_insert_with(|| {
                    col_of.push(id);
                    col_of.len() - 1
                });
                raw.push((c, x));
            });
            average_by_name(&mut raw);
            triples.extend(raw.into_iter().map(|(c, x)| (ui, c, x, x * x)));
        }
    }
    let v = col_of.len();
    let nu_users = users.len();
    let kind_of: Vec<usize> = col_of.iter().map(|c| c.0.index()).collect();
    // Cells: per (user, col) count, mean and within SS.
    triples.sort_unstable_by_key(|a| (a.0, a.1));
    let mut cells: Vec<Cell> = Vec::new();
    let mut ss_within = Vec::new();
    let mut k = 0;
    while k < triples.len() {
        let (u, c) = (triples[k].0, triples[k].1);
        let (mut n, mut sx, mut sxx) = (0.0, 0.0, 0.0);
        while k < triples.len() && triples[k].0 == u && triples[k].1 == c {
            n += 1.0;
            sx += triples[k].2;
            sxx += triples[k].3;
            k += 1;
        }
        let mean = sx / n;
        cells.push(Cell {
            user: u,
            col: c,
            n,
            mean,
        });
        ss_within.push((sxx - n * mean * mean).max(0.0));
    }
    // 1. Within-user variance.
    let mut ssw_c = vec![0.0; v];
    let mut dof_c = vec![0.0; v];
    let mut nu_c = vec![0usize; v];
    for (cell, ss) in cells.iter().zip(&ss_within) {
        ssw_c[cell.col] += ss;
        dof_c[cell.col] += cell.n - 1.0;
        nu_c[cell.col] += 1;
    }
    let mut sig2_t = [0.0; 2];
    for t in 0..2 {
        let (ss, dof) = (0..v)
            .filter(|&c| kind_of[c] == t)
            .fold((0.0, 0.0), |a, c| (a.0 + ssw_c[c], a.1 + dof_c[c]));
        sig2_t[t] = ss / f64::max(dof, 1.0);
    }
    let sig2: Vec<f64> = (0..v)
        .map(|c| (ssw_c[c] + K0 * sig2_t[kind_of[c]]) / (dof_c[c] + K0))
        .collect();
    // 2. Start: user offsets per kind alternated with entry means.
    let mut b = vec![[0.0f64; 2]; nu_users];
    let mut mu = vec![0.0; v];
    for _ in 0..OFFSET_ITERS {
        mu.iter_mut().for_each(|m| *m = 0.0);
        for cell in &cells {
            mu[cell.col] += cell.mean - b[cell.user][kind_of[cell.col]];
        }
        for c in 0..v {
            mu[c] /= nu_c[c].max(1) as f64;
        }
        let mut num = vec![[0.0f64; 2]; nu_users];
        let mut den = vec![[0.0f64; 2]; nu_users];
        for cell in cells.iter().filter(|c| nu_c[c.col] >= MIN_USERS_PRIOR) {
            let t = kind_of[cell.col];
            num[cell.user][t] += cell.mean - mu[cell.col];
            den[cell.user][t] += 1.0;
        }
        for u in 0..nu_users {
            for t in 0..2 {
                b[u][t] = num[u][t] / den[u][t].max(1.0);
            }
        }
    }
    let sb2: [f64; 2] = std::array::from_fn(|t| variance(b.iter().map(|x| x[t])));
    let mut tau_raw = vec![0.0; v];
    for cell in &cells {
        let r = cell.mean - b[cell.user][kind_of[cell.col]] - mu[cell.col];
        tau_raw[cell.col] += r * r - sig2[cell.col] / cell.n;
    }
    let tau2_t: [f64; 2] = std::array::from_fn(|t| {
        let (s, n) = (0..v)
            .filter(|&c| kind_of[c] == t)
            .fold((0.0, 0usize), |a, c| (a.0 + tau_raw[c], a.1 + nu_c[c]));
        (s / n.max(1) as f64).max(1e-3)
    });
    let mut tau2: Vec<f64> = (0..v)
        .map(|c| {
            let t = tau2_t[kind_of[c]];
            ((tau_raw[c] + K0 * t) / (nu_c[c] as f64 + K0)).max(0.2 * t)
        })
        .collect();
    // Kind defaults' prior width: the spread of the means over entries seen by enough users.
    let spread_t: [f64; 2] = std::array::from_fn(|t| {
        variance(
            (0..v)
                .filter(|&c| kind_of[c] == t && nu_c[c] >= MIN_USERS_PRIOR)
                .map(|c| mu[c]),
        )
    });
    // 3. Factor analysis on the known entries.
    let known: Vec<bool> = nu_c.iter().map(|&n| n >= MIN_USERS).collect();
    let rows: Vec<&Cell> = cells.iter().filter(|c| known[c.col]).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(SEED);
    let mut a: Vec<[f64; RANK]> = (0..v)
        .map(|c| {
            let mut l = [0.0; RANK];
            l[kind_of[c] % RANK] = sb2[kind_of[c]].sqrt();
            for x in l.iter_mut() {
                *x += 0.01 * normal(&mut rng);
            }
            l
        })
        .collect();
    let mut y = vec![[0.0f64; RANK]; nu_users];
    let mut by_col: Vec<usize> = (0..rows.len()).collect();
    by_col.sort_by_key(|&i| rows[i].col);
    for _ in 0..FIT_ITERS {
        let w: Vec<f64> = rows
            .iter()
            .map(|r| 1.0 / (tau2[r.col] + sig2[r.col] / r.n))
            .collect();
        // y-step (rows are grouped by user).
        let mut start = 0;
        while start < rows.len() {
            let u = rows[start].user;
            let mut m = [[0.0; RANK]; RANK];
            let mut rhs = [0.0; RANK];
            for (k, row) in m.iter_mut().enumerate() {
                row[k] = 1.0;
            }
            let mut end = start;
            while end < rows.len() && rows[end].user == u {
                let (r, wr) = (rows[end], w[end]);
                let al = &a[r.col];
                for i in 0..RANK {
                    rhs[i] += wr * al[i] * (r.mean - mu[r.col]);
                    for j in 0..RANK {
                        m[i][j] += wr * al[i] * al[j];
                    }
                }
                end += 1;
            }
            if spd_solve(&mut m, &mut rhs).is_some() {
                y[u] = rhs;
            }
            start = end;
        }
        // [mu, A]-step per known entry (ridge on A).
        let mut s = 0;
        while s < by_col.len() {
            let c = rows[by_col[s]].col;
            let mut g = [[0.0; RANK + 1]; RANK + 1];
            let mut h = [0.0; RANK + 1];
            g[0][0] = 1e-6;
            for (k, row) in g.iter_mut().enumerate().skip(1) {
                row[k] = RIDGE;
            }
            let mut e = s;
            while e < by_col.len() && rows[by_col[e]].col == c {
                let (r, wr) = (rows[by_col[e]], w[by_col[e]]);
                let mut z = [1.0; RANK + 1];
                z[1..].copy_from_slice(&y[r.user]);
                for i in 0..=RANK {
                    h[i] += wr * z[i] * r.mean;
                    for j in 0..=RANK {
                        g[i][j] += wr * z[i] * z[j];
                    }
                }
                e += 1;
            }
            if spd_solve(&mut g, &mut h).is_some() {
                mu[c] = h[0];
                a[c].copy_from_slice(&h[1..]);
            }
            s = e;
        }
        // tau2: shrunk excess residual variance.
        let mut traw = vec![0.0; v];
        for r in &rows {
            let fit: f64 = a[r.col].iter().zip(&y[r.user]).map(|(p, q)| p * q).sum();
            let res = r.mean - mu[r.col] - fit;
            traw[r.col] += res * res - sig2[r.col] / r.n;
        }
        for t in 0..2 {
            let (sum, cnt) = (0..v)
                .filter(|&c| kind_of[c] == t && known[c])
                .fold((0.0, 0usize), |acc, c| (acc.0 + traw[c], acc.1 + nu_c[c]));
            let tt = (sum / cnt.max(1) as f64).max(1e-3);
            for c in (0..v).filter(|&c| kind_of[c] == t && known[c]) {
                tau2[c] = ((traw[c] + K0 * tt) / (nu_c[c] as f64 + K0)).max(0.2 * tt);
            }
        }
    }
    let stats = |mu: f64, tau2: f64, sig2: f64, a: &[f64; RANK]| Stats {
        mu: round(mu),
        tau2: round(tau2),
        sig2: round(sig2),
        a: a.map(round_loading),
    };
    let defaults: [Stats; 2] = std::array::from_fn(|t| {
        let ks: Vec<usize> = (0..v).filter(|&c| kind_of[c] == t && known[c]).collect();
        let n = ks.len().max(1) as f64;
        let mean_mu = ks.iter().map(|&c| mu[c]).sum::<f64>() / n;
        let mut mean_a = [0.0; RANK];
        for &c in &ks {
            for (m, x) in mean_a.iter_mut().zip(&a[c]) {
                *m += x / n;
            }
        }
        stats(
            mean_mu,
            tau2_t[t] + spread_t[t],
            sig2_t[t].max(1e-6),
            &mean_a,
        )
    });
    let name = |id: usize| key_names[id].to_string();
    let mut hold = Vec::new();
    let mut ud = Vec::new();
    for c in (0..v).filter(|&c| known[c]) {
        let (kind, first, second) = col_of[c];
        // An event without a key name never makes an entry; "" is not a name.
        let st = stats(mu[c], tau2[c], sig2[c], &a[c]);
        match kind {
            EntryKind::Hold => hold.push((name(first), st)),
            EntryKind::UpDown => ud.push((name(first), name(second), st)),
        }
    }
    hold.sort_by(|x, y| x.0.cmp(&y.0));
    ud.sort_by(|x, y| (&x.0, &x.1).cmp(&(&y.0, &y.1)));
    BackgroundFile {
        schema: SCHEMA.to_string(),
        version: VERSION,
        constants: Constants::current(),
        provenance: Provenance {
            users: nu_users,
            sentences,
            fit: format!(
                "rank={RANK} k0={K0} min_users={MIN_USERS} min_users_prior={MIN_USERS_PRIOR} \
                 ridge={RIDGE} iterations={FIT_ITERS} offset_iterations={OFFSET_ITERS} seed={SEED}"
            ),
        },
        defaults,
        hold,
        ud,
    }
}

/// Population variance (divisor n); 0 when empty.
fn variance(xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let (n, s) = xs.clone().fold((0usize, 0.0), |a, x| (a.0 + 1, a.1 + x));
    if n == 0 {
        return 0.0;
    }
    let m = s / n as f64;
    xs.map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut impl rand::Rng) -> f64 {
    let u1: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.r#gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}
