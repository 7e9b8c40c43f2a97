//! Small dense linear algebra for covariance-based detectors and the typing background: column
//! statistics, a fixed-size positive-definite solve ([`spd_solve`]), the sample
//! covariance (as an `ndarray` matrix), a regularised Cholesky factor and the symmetric Jacobi
//! eigen-decomposition. Dimensions are the timing count (31 on CMU), so O(p³) is microseconds.

use ndarray::Array2;

use super::Samples;

/// Column means.
pub(crate) fn column_means(s: &Samples) -> Vec<f64> {
    let n = s.len().max(1) as f64;
    let mut m = vec![0.0; s.n_features()];
    for r in s.rows() {
        for (mi, x) in m.iter_mut().zip(r) {
            *mi += x;
        }
    }
    m.iter_mut().for_each(|v| *v /= n);
    m
}

/// Median of a slice (sorted in place); NaN for an empty slice.
pub(crate) fn median_in_place(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_unstable_by(f64::total_cmp);
    let h = v.len() / 2;
    if v.len() % 2 == 1 {
        v[h]
    } else {
        (v[h - 1] + v[h]) / 2.0
    }
}

/// Sample covariance with divisor n − 1 (R's `cov()`), around `mean`.
pub(crate) fn covariance(s: &Samples, mean: &[f64]) -> Array2<f64> {
    let p = s.n_features();
    // Flat lower triangle accumulated with slice arithmetic (fast in debug builds too).
    let mut acc = vec![0.0; p * p];
    let mut d = vec![0.0; p];
    for r in s.rows() {
        for ((di, x), m) in d.iter_mut().zip(r).zip(mean) {
            *di = x - m;
        }
        for (i, row) in acc.chunks_exact_mut(p).enumerate() {
            let di = d[i];
            for (a, dj) in row[..=i].iter_mut().zip(&d) {
                *a += di * dj;
            }
        }
    }
    let denom = (s.len().max(2) - 1) as f64;
    let mut c = Array2::<f64>::zeros((p, p));
    for i in 0..p {
        for j in 0..=i {
            let v = acc[i * p + j] / denom;
            c[[i, j]] = v;
            c[[j, i]] = v;
        }
    }
    c
}

/// Lower Cholesky factor `L` (`a = L Lᵀ`), or `None` when a pivot is not positive.
pub(crate) fn cholesky(a: &Array2<f64>) -> Option<Array2<f64>> {
    let p = a.nrows();
    let mut l = Array2::<f64>::zeros((p, p));
    for i in 0..p {
        for j in 0..=i {
            let mut s = a[[i, j]];
            for k in 0..j {
                s -= l[[i, k]] * l[[j, k]];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[[i, i]] = s.sqrt();
            } else {
                l[[i, j]] = s / l[[j, j]];
            }
        }
    }
    Some(l)
}

/// Cholesky factor of `a`, adding a ridge `λ I` only if `a` is not positive definite: λ starts
/// at 1e-9 × the mean diagonal and grows tenfold until the factorisation succeeds. A full-rank
/// covariance is factored as it is (as R's `solve`/`ginv` would invert it).
pub(crate) fn regularised_cholesky(a: &Array2<f64>) -> Array2<f64> {
    if let Some(l) = cholesky(a) {
        return l;
    }
    let p = a.nrows().max(1);
    let mean_diag = (a.diag().sum() / p as f64).abs().max(1e-12);
    let mut lambda = 1e-9 * mean_diag;
    loop {
        let mut b = a.clone();
        b.diag_mut().iter_mut().for_each(|d| *d += lambda);
        if let Some(l) = cholesky(&b) {
            return l;
        }
        if lambda > 1e6 * mean_diag {
            // Non-finite input: fall back to the identity so scoring stays total.
            return Array2::eye(a.nrows());
        }
        lambda *= 10.0;
    }
}

/// Solves `L y = b` in place (`L` lower triangular from [`cholesky`]).
pub(crate) fn forward_substitute(l: &Array2<f64>, b: &mut [f64]) {
    for i in 0..b.len() {
        let mut s = b[i];
        for (k, bk) in b.iter().enumerate().take(i) {
            s -= l[[i, k]] * bk;
        }
        b[i] = s / l[[i, i]];
    }
}

/// Solves `a x = b` for a small symmetric positive-definite `a` held in a fixed array (no
/// allocation): `b` becomes `x` and `a` its lower Cholesky factor. Returns ln det `a`, or `None`
/// (and `b` untouched) when a pivot is not positive and finite.
#[allow(clippy::needless_range_loop)] // dense algebra reads best with explicit indices
pub(crate) fn spd_solve<const N: usize>(a: &mut [[f64; N]; N], b: &mut [f64; N]) -> Option<f64> {
    for i in 0..N {
        for j in 0..=i {
            let mut s = a[i][j];
            for k in 0..j {
                s -= a[i][k] * a[j][k];
            }
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return None;
                }
                a[i][i] = s.sqrt();
            } else {
                a[i][j] = s / a[j][j];
            }
        }
    }
    let mut log_det = 0.0;
    for i in 0..N {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i][k] * b[k];
        }
        b[i] = s / a[i][i];
        log_det += 2.0 * a[i][i].ln();
    }
    for i in (0..N).rev() {
        let mut s = b[i];
        for k in i + 1..N {
            s -= a[k][i] * b[k];
        }
        b[i] = s / a[i][i];
    }
    Some(log_det)
}

/// Rotates columns `i` and `j` of the row-major `p × p` matrix `a` by (c, s).
fn rotate_columns(a: &mut [f64], p: usize, i: usize, j: usize, c: f64, s: f64) {
    for row in a.chunks_exact_mut(p) {
        let (x, y) = (row[i], row[j]);
        row[i] = c * x - s * y;
        row[j] = s * x + c * y;
    }
}

/// Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: returns the
/// eigenvalues and the matrix whose columns are the eigenvectors. Works on flat row-major
/// buffers so that it stays fast without optimisation (the tests run debug builds).
pub(crate) fn symmetric_eigen(a: &Array2<f64>) -> (Vec<f64>, Array2<f64>) {
    let p = a.nrows();
    let mut m: Vec<f64> = a.iter().copied().collect();
    let mut v = vec![0.0; p * p];
    v.iter_mut().step_by(p + 1).for_each(|d| *d = 1.0);
    for _sweep in 0..100 {
        let diag: f64 = m.iter().step_by(p + 1).map(|d| d * d).sum();
        let total: f64 = m.iter().map(|x| x * x).sum();
        if total - diag <= 1e-24 * diag.max(1e-300) {
            break;
        }
        for i in 0..p {
            for j in (i + 1)..p {
                let aij = m[i * p + j];
                // Already negligible against both diagonal entries: no rotation needed.
                if aij.abs() <= 1e-13 * (m[i * p + i] * m[j * p + j]).abs().sqrt() || aij == 0.0 {
                    continue;
                }
                let theta = (m[j * p + j] - m[i * p + i]) / (2.0 * aij);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                rotate_columns(&mut m, p, i, j, c, s);
                // Rows i and j: the same rotation applied from the left.
                for k in 0..p {
                    let (x, y) = (m[i * p + k], m[j * p + k]);
                    m[i * p + k] = c * x - s * y;
                    m[j * p + k] = s * x + c * y;
                }
                rotate_columns(&mut v, p, i, j, c, s);
            }
        }
    }
    let vals = m.iter().step_by(p + 1).copied().collect();
    let vecs = Array2::from_shape_vec((p, p), v).unwrap_or_else(|_| Array2::eye(p));
    (vals, vecs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn cholesky_of_a_known_matrix() {
        let a = array![[4.0, 2.0], [2.0, 3.0]];
        let l = cholesky(&a).expect("spd");
        assert!((l[[0, 0]] - 2.0).abs() < 1e-12);
        assert!((l[[1, 0]] - 1.0).abs() < 1e-12);
        assert!((l[[1, 1]] - 2f64.sqrt()).abs() < 1e-12);
        let mut b = [2.0, 1.0 + 2f64.sqrt()];
        forward_substitute(&l, &mut b);
        assert!(
            (b[0] - 1.0).abs() < 1e-12 && (b[1] - 1.0).abs() < 1e-12,
            "{b:?}"
        );
        assert!(cholesky(&array![[1.0, 1.0], [1.0, 1.0]]).is_none());
        let r = regularised_cholesky(&array![[1.0, 1.0], [1.0, 1.0]]);
        assert!(r[[1, 1]] > 0.0);
    }

    #[test]
    fn covariance_matches_r() {
        // R: cov(cbind(c(1,2,3,4), c(2,4,6,9))) = [[1.6667, 3.8333], [3.8333, 8.9167]]
        let s = Samples::from_rows(vec![1.0, 2.0, 2.0, 4.0, 3.0, 6.0, 4.0, 9.0], 2).expect("2");
        let m = column_means(&s);
        let c = covariance(&s, &m);
        assert!((c[[0, 0]] - 5.0 / 3.0).abs() < 1e-12);
        assert!((c[[0, 1]] - 23.0 / 6.0).abs() < 1e-12 && (c[[1, 0]] - 23.0 / 6.0).abs() < 1e-12);
        assert!((c[[1, 1]] - 107.0 / 12.0).abs() < 1e-12);
    }

    #[test]
    fn jacobi_eigen_of_a_known_matrix() {
        let (vals, vecs) = symmetric_eigen(&array![[2.0, 1.0], [1.0, 2.0]]);
        let mut sorted = vals.clone();
        sorted.sort_by(f64::total_cmp);
        assert!((sorted[0] - 1.0).abs() < 1e-12 && (sorted[1] - 3.0).abs() < 1e-12);
        for k in 0..2 {
            let (x, y) = (vecs[[0, k]], vecs[[1, k]]);
            assert!((2.0 * x + y - vals[k] * x).abs() < 1e-12);
            assert!((x * x + y * y - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn fixed_spd_solve_by_hand() {
        // [[4, 2], [2, 3]] x = [2, 1]: x = [0.5, 0]; det = 8.
        let mut a = [[4.0, 2.0], [2.0, 3.0]];
        let mut b = [2.0, 1.0];
        let log_det = spd_solve(&mut a, &mut b).expect("positive definite");
        assert!((b[0] - 0.5).abs() < 1e-12 && b[1].abs() < 1e-12, "{b:?}");
        assert!((log_det - 8f64.ln()).abs() < 1e-12);
        let mut singular = [[1.0, 1.0], [1.0, 1.0]];
        let mut b = [1.0, 2.0];
        assert_eq!(spd_solve(&mut singular, &mut b), None);
        assert_eq!(b, [1.0, 2.0]);
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median_in_place(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median_in_place(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
