//! The L2-penalised logistic regression of linfa-logistic 0.8 (labels ±1, an unpenalised
//! intercept, L-BFGS with a More–Thuente line search and memory 10, gradient tolerance 1e-4,
//! starting from zeros), run here through argmin directly, for speed on large training sets.
//!
//! linfa computes the gradient's `Xᵀ·r` column by column (`x.t().dot(&r)` without BLAS): one
//! strided pass over the whole design matrix per feature, each element on its own cache line.
//! On a 1 M-event train that was two thirds of the whole run. Here the same sums are built in
//! one pass over the rows, one accumulator per feature: every accumulator adds the same
//! products in the same row order as linfa's column walk, so every floating-point operation,
//! and the fitted weights, are bit for bit linfa's (the tests fit both ways and compare bits).
//! The rest of the loss and gradient calls the same ndarray operations linfa calls, and
//! [`Param`] repeats linfa's vector operations for the optimiser, reductions included.
//! `X·w`, shared by the loss and the gradient at one point, is computed once per point.

use std::cell::RefCell;

use argmin::core::{CostFunction, Executor, Gradient};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use argmin_math::{
    ArgminAdd, ArgminDot, ArgminL1Norm, ArgminL2Norm, ArgminMinMax, ArgminMul, ArgminSignum,
    ArgminSub, ArgminZeroLike,
};
use ndarray::{Array1, Array2, ArrayView2, Axis, Zip, s};
use rayon::prelude::*;

/// linfa-logistic's default gradient tolerance.
const GRADIENT_TOLERANCE: f64 = 1e-4;
/// linfa-logistic's L-BFGS memory.
const MEMORY: usize = 10;

/// Weights (one per column of `x`) and intercept of a fit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fit {
    /// Per column: log-odds of `true` per unit.
    pub weights: Array1<f64>,
    /// Log-odds at `x = 0`.
    pub intercept: f64,
}

/// Fits `x` (rows × features, finite) to `positive` (one label per row; both classes present)
/// with L2 penalty `alpha`, for at most `max_iterations` optimiser steps; the weights are the
/// log-odds of `true`.
pub(crate) fn fit(
    x: ArrayView2<'_, f64>,
    positive: &[bool],
    alpha: f64,
    max_iterations: u64,
) -> Result<Fit, String> {
    if x.nrows() != positive.len() {
        return Err(format!("{} rows but {} labels", x.nrows(), positive.len()));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err("the design matrix holds a value that is not finite".into());
    }
    let d = x.ncols();
    // linfa labels the more frequent class +1 (on a tie, the class of the first row) and fits
    // that class's log-odds; the sign turns them into the log-odds of `true`.
    let first = positive.first().copied().unwrap_or(true);
    let n_first = positive.iter().filter(|p| **p == first).count();
    let class = if n_first < positive.len() - n_first {
        !first
    } else {
        first
    };
    let sign = if class { 1.0 } else { -1.0 };
    let y: Array1<f64> = positive
        .iter()
        .map(|p| if *p == class { 1.0 } else { -1.0 })
        .collect();
    let problem = Problem {
        x,
        y,
        alpha,
        last: RefCell::new(None),
    };
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), MEMORY)
        .with_tolerance_grad(GRADIENT_TOLERANCE)
        .map_err(|e| e.to_string())?;
    let init = Param(Array1::zeros(d + 1));
    let result = Executor::new(problem, solver)
        .configure(|state| state.param(init).max_iters(max_iterations))
        .run()
        .map_err(|e| e.to_string())?;
    let w = result
        .state
        .best_param
        .map_or_else(|| Array1::zeros(d + 1), |p| p.0);
    Ok(Fit {
        weights: w.slice(s![..d]).mapv(|v| sign * v),
        intercept: sign * w[d],
    })
}

/// The loss and its gradient over one design matrix.
struct Problem<'a> {
    x: ArrayView2<'a, f64>,
    y: Array1<f64>,
    alpha: f64,
    /// The last point's `y ∘ (X·w + b)`, by the point's parameters.
    last: RefCell<Option<(Array1<f64>, Array1<f64>)>>,
}

impl Problem<'_> {
    /// `y ∘ (X·w + b)` at `w` (weights then intercept), as linfa computes it: `X·w` through
    /// ndarray's matrix product (matrixmultiply), then the intercept and the labels.
    fn margins(&self, w: &Array1<f64>) -> Result<Array1<f64>, argmin::core::Error> {
        if let Some((at, yz)) = self.last.borrow().as_ref()
            && at.len() == w.len()
            && at.iter().zip(w).all(|(a, b)| a.to_bits() == b.to_bits())
        {
            return Ok(yz.clone());
        }
        let d = self.x.ncols();
        let params = w.slice(s![..d]);
        let intercept = w.index_axis(Axis(0), d);
        let column = params
            .into_shape_with_order((d, 1))
            .map_err(argmin::core::Error::msg)?;
        let yz = product(self.x, &column) + intercept;
        let len = yz.len();
        let yz = yz
            .into_shape_with_order(len)
            .map_err(argmin::core::Error::msg)?
            * &self.y;
        *self.last.borrow_mut() = Some((w.clone(), yz.clone()));
        Ok(yz)
    }
}

impl CostFunction for Problem<'_> {
    type Param = Param;
    type Output = f64;

    fn cost(&self, p: &Param) -> Result<f64, argmin::core::Error> {
        let w = &p.0;
        let d = self.x.ncols();
        let params = w.slice(s![..d]);
        let mut yz = self.margins(w)?;
        map_in_parallel(&mut yz, log_logistic);
        Ok(-yz.sum() + 0.5 * self.alpha * params.dot(&params))
    }
}

impl Gradient for Problem<'_> {
    type Param = Param;
    type Gradient = Param;

    fn gradient(&self, p: &Param) -> Result<Param, argmin::core::Error> {
        let w = &p.0;
        let d = self.x.ncols();
        let params = w.slice(s![..d]);
        let mut yz = self.margins(w)?;
        map_in_parallel(&mut yz, logistic);
        yz -= 1.0;
        yz *= &self.y;
        let mut grad = Array1::zeros(d + 1);
        grad.slice_mut(s![..d])
            .assign(&(transposed_product(self.x, &yz) + (&params * self.alpha)));
        grad[d] = yz.sum();
        Ok(Param(grad))
    }
}

/// Rows per parallel task of [`product`] and [`map_in_parallel`].
const CHUNK_ROWS: usize = 16_384;

/// `X·w` (one column) as ndarray's `x.dot(&w)` computes it (matrixmultiply's kernel), in row
/// blocks on rayon's threads: with `X`'s few columns, each value is one kernel pass over its
/// row whichever block the row falls in, so the values are those of one call on all of `X`
/// (the tests compare the bits).
fn product(x: ArrayView2<'_, f64>, column: &ArrayView2<'_, f64>) -> Array2<f64> {
    let blocks: Vec<ArrayView2<'_, f64>> = x.axis_chunks_iter(Axis(0), CHUNK_ROWS).collect();
    let parts: Vec<Array2<f64>> = blocks.par_iter().map(|b| b.dot(column)).collect();
    let mut out = Array2::zeros((x.nrows(), column.ncols()));
    for (mut dst, src) in out.axis_chunks_iter_mut(Axis(0), CHUNK_ROWS).zip(&parts) {
        dst.assign(src);
    }
    out
}

/// `v.mapv_inplace(f)`, element by element on rayon's threads (each value is `f` of its own).
fn map_in_parallel(v: &mut Array1<f64>, f: fn(f64) -> f64) {
    match v.as_slice_mut() {
        Some(values) => values
            .par_chunks_mut(CHUNK_ROWS)
            .for_each(|c| c.iter_mut().for_each(|x| *x = f(*x))),
        None => v.mapv_inplace(f),
    }
}

/// `Xᵀ·r` with each feature's sum in row order, starting from 0 — the operations of ndarray's
/// `x.t().dot(&r)` without BLAS (a strided dot per column: `sum = sum + x[i][j] * r[i]`, then
/// times 1), walked row by row in one pass. (Splitting the features between threads made
/// each thread read the whole matrix: more CPU for no faster fit on a 1 M-event train.)
fn transposed_product(x: ArrayView2<'_, f64>, r: &Array1<f64>) -> Array1<f64> {
    let d = x.ncols();
    let mut acc = vec![0.0f64; d];
    for (row, ri) in x.outer_iter().zip(r) {
        match row.as_slice() {
            Some(row) => {
                for (a, xij) in acc.iter_mut().zip(row) {
                    *a += *xij * *ri;
                }
            }
            None => {
                for (a, xij) in acc.iter_mut().zip(row.iter()) {
                    *a += *xij * *ri;
                }
            }
        }
    }
    // ndarray then multiplies each sum by 1 (its `alpha`), which changes no value.
    Array1::from(acc)
}

/// linfa-logistic's logistic function.
fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// linfa-logistic's numerically stable log of the logistic function.
fn log_logistic(x: f64) -> f64 {
    if x > 0.0 {
        -(1.0 + (-x).exp()).ln()
    } else {
        x - (1.0 + x.exp()).ln()
    }
}

/// The optimiser's vector: linfa-logistic's operations on its parameter vector (an in-order
/// `acc + a * b` fold for dot products and norms, element-wise arithmetic, `signum` as the
/// identity), so the optimiser's path is linfa's.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Param(Array1<f64>);

fn elem_dot(a: &Array1<f64>, b: &Array1<f64>) -> f64 {
    Zip::from(a).and(b).fold(0.0, |acc, &a, &b| acc + a * b)
}

impl ArgminSub<f64, Param> for Param {
    fn sub(&self, other: &f64) -> Param {
        Param(&self.0 - *other)
    }
}

impl ArgminSub<Param, Param> for Param {
    fn sub(&self, other: &Param) -> Param {
        Param(&self.0 - &other.0)
    }
}

impl ArgminAdd<f64, Param> for Param {
    fn add(&self, other: &f64) -> Param {
        Param(&self.0 + *other)
    }
}

impl ArgminAdd<Param, Param> for Param {
    fn add(&self, other: &Param) -> Param {
        Param(&self.0 + &other.0)
    }
}

impl ArgminDot<Param, f64> for Param {
    fn dot(&self, other: &Param) -> f64 {
        elem_dot(&self.0, &other.0)
    }
}

impl ArgminL1Norm<f64> for Param {
    // linfa-logistic's (an L2 norm); kept so the optimiser's path is the same.
    fn l1_norm(&self) -> f64 {
        elem_dot(&self.0, &self.0).sqrt()
    }
}

impl ArgminL2Norm<f64> for Param {
    fn l2_norm(&self) -> f64 {
        elem_dot(&self.0, &self.0).sqrt()
    }
}

impl ArgminMul<f64, Param> for Param {
    fn mul(&self, other: &f64) -> Param {
        Param(&self.0 * *other)
    }
}

impl ArgminMul<Param, Param> for Param {
    fn mul(&self, other: &Param) -> Param {
        Param(&self.0 * &other.0)
    }
}

impl ArgminMul<Param, Param> for f64 {
    fn mul(&self, other: &Param) -> Param {
        Param(&other.0 * *self)
    }
}

impl ArgminSignum for Param {
    fn signum(self) -> Param {
        self
    }
}

impl ArgminZeroLike for Param {
    fn zero_like(&self) -> Param {
        Param(Array1::zeros(self.0.raw_dim()))
    }
}

impl ArgminMinMax for Param {
    fn min(x: &Self, y: &Self) -> Param {
        Param(
            x.0.iter()
                .zip(&y.0)
                .map(|(&a, &b)| if a < b { a } else { b })
                .collect(),
        )
    }

    fn max(x: &Self, y: &Self) -> Param {
        Param(
            x.0.iter()
                .zip(&y.0)
                .map(|(&a, &b)| if a > b { a } else { b })
                .collect(),
        )
    }
}

/// The design matrix `fit` reads, for tests: `rows × cols` values from a seed.
#[cfg(test)]
fn sample(rows: usize, cols: usize, seed: u64) -> (ndarray::Array2<f64>, Vec<bool>) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut x = ndarray::Array2::zeros((rows, cols));
    let mut y = Vec::with_capacity(rows);
    for i in 0..rows {
        let mut logit = -1.0;
        for j in 0..cols {
            let v: f64 = rng.gen_range(-2.0..2.0);
            x[[i, j]] = if j == cols - 1 { 0.0 } else { v };
            logit += v * (j as f64 - cols as f64 / 2.0) / cols as f64;
        }
        y.push(rng.r#gen::<f64>() < 1.0 / (1.0 + (-logit).exp()));
    }
    (x, y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::Dataset;
    use linfa::traits::Fit;
    use linfa_logistic::LogisticRegression;
    use ndarray::Array2;

    /// linfa's fit of the same data, as (weights, intercept) of the `true` class.
    fn linfa_fit(x: &Array2<f64>, y: &[bool], alpha: f64, iters: u64) -> (Vec<f64>, f64) {
        let targets: Array1<bool> = y.iter().copied().collect();
        let model = LogisticRegression::default()
            .alpha(alpha)
            .max_iterations(iters)
            .fit(&Dataset::new(x.clone(), targets))
            .expect("linfa fit");
        // As `train::fit` read it: linfa fits its positive class's log-odds.
        let sign = if model.labels().pos.class { 1.0 } else { -1.0 };
        let w = model.params().iter().map(|v| sign * v).collect();
        (w, sign * model.intercept())
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn weights_are_linfas_to_the_bit() {
        for (rows, cols, seed, iters, flip) in [
            (2_000, 12, 1, 400, false),
            (5_000, 51, 2, 400, false),
            (3_000, 20, 6, 400, true),
            (CHUNK_ROWS + 5_001, 51, 8, 60, false),
            (700, 5, 3, 7, false),
        ] {
            let (x, mut y) = sample(rows, cols, seed);
            if flip {
                y.iter_mut().for_each(|v| *v = !*v);
            }
            let (lw, li) = linfa_fit(&x, &y, 1.0, iters);
            let f = fit(x.view(), &y, 1.0, iters).expect("fit");
            assert_eq!(bits(&f.weights.to_vec()), bits(&lw), "{rows}x{cols}");
            assert_eq!(f.intercept.to_bits(), li.to_bits(), "{rows}x{cols}");
        }
    }

    #[test]
    fn transposed_product_is_ndarrays_column_walk() {
        let (x, _) = sample(3_001, 51, 4);
        let r: Array1<f64> = (0..3_001).map(|i| ((i * 7919) % 13) as f64 - 6.3).collect();
        let ours = transposed_product(x.view(), &r);
        let theirs = x.t().dot(&r);
        assert_eq!(bits(&ours.to_vec()), bits(&theirs.to_vec()));
    }

    #[test]
    fn product_in_row_blocks_is_one_dot_over_all_rows() {
        // Blocks of CHUNK_ROWS rows and a last, partial one (not a multiple of 8 rows).
        let (x, _) = sample(2 * CHUNK_ROWS + 1_003, 51, 7);
        let w: Array1<f64> = (0..51).map(|j| (j as f64 - 25.0) / 7.0).collect();
        let column = w.view().into_shape_with_order((51, 1)).expect("column");
        let ours = product(x.view(), &column);
        let theirs = x.dot(&column);
        let b = |a: &Array2<f64>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(b(&ours), b(&theirs));
    }

    #[test]
    fn refuses_non_finite_values_and_mismatched_labels() {
        let (mut x, y) = sample(50, 3, 5);
        assert!(fit(x.view(), &y[..49], 1.0, 10).is_err());
        x[[7, 1]] = f64::NAN;
        assert!(fit(x.view(), &y, 1.0, 10).is_err());
    }
}
