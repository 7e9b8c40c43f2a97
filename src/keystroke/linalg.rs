//! Small dense linear algebra for covariance-based detectors: column statistics, the sample
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
    let mut c = Array2::<f64>::zeros((p, p));
    let mut d = vec![0.0; p];
    for r in s.rows() {
        for ((di, x), m) in d.iter_mut().zip(r).zip(mean) {
            *di = x - m;
        }
        for i in 0..p {
            for j in 0..=i {
                c[[i, j]] += d[i] * d[j];
            }
        }
    }
    let denom = (s.len().max(2) - 1) as f64;
    for i in 0..p {
        for j in 0..=i {
            let v = c[[i, j]] / denom;
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

/// Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: returns the
/// eigenvalues and the matrix whose columns are the eigenvectors.
pub(crate) fn symmetric_eigen(a: &Array2<f64>) -> (Vec<f64>, Array2<f64>) {
    let p = a.nrows();
    let mut m = a.clone();
    let mut v = Array2::<f64>::eye(p);
    for _sweep in 0..100 {
        let off: f64 = (0..p)
            .flat_map(|i| (0..p).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[[i, j]] * m[[i, j]])
            .sum();
        let scale: f64 = m.diag().iter().map(|d| d * d).sum::<f64>().max(1e-300);
        if off <= 1e-30 * scale {
            break;
        }
        for i in 0..p {
            for j in (i + 1)..p {
                let aij = m[[i, j]];
                if aij.abs() < 1e-300 {
                    continue;
                }
                let theta = (m[[j, j]] - m[[i, i]]) / (2.0 * aij);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..p {
                    let (mki, mkj) = (m[[k, i]], m[[k, j]]);
                    m[[k, i]] = c * mki - s * mkj;
                    m[[k, j]] = s * mki + c * mkj;
                }
                for k in 0..p {
                    let (mik, mjk) = (m[[i, k]], m[[j, k]]);
                    m[[i, k]] = c * mik - s * mjk;
                    m[[j, k]] = s * mik + c * mjk;
                }
                for k in 0..p {
                    let (vki, vkj) = (v[[k, i]], v[[k, j]]);
                    v[[k, i]] = c * vki - s * vkj;
                    v[[k, j]] = s * vki + c * vkj;
                }
            }
        }
    }
    (m.diag().to_vec(), v)
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
    fn median_of_even_and_odd() {
        assert_eq!(median_in_place(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median_in_place(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
