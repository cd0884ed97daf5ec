//! The output layer: softmax over each column of logits, with the mean cross-entropy loss.

use crate::error::{check_shape, Result};
use crate::{Float, MlpError};
use faer::MatRef;

/// Softmax with cross-entropy, computed stably.
///
/// For each column `z` of logits: `p = exp(z − max z) / Σ exp(z − max z)`, and the loss of a sample
/// with target `y` is `−Σ yᵢ log pᵢ = Σ yᵢ (lse(z) − zᵢ)` where `lse(z) = max z + log Σ exp(z − max z)`.
/// Subtracting the maximum keeps every `exp` in `(0, 1]`, so logits of ±1e4 give finite
/// probabilities that sum to 1 and a finite loss. The loss of a batch is the mean over its columns,
/// and back-propagation starts from its gradient with respect to the logits, `(p − y) / m`.
///
/// ```
/// use faer::mat;
/// use mlp_core::Softmax;
///
/// let mut softmax = Softmax::<f64>::new(2);
/// let logits = mat![[1e4, 0.0], [-1e4, 0.0]];
/// let p = softmax.propagate(logits.as_ref())?;
/// assert_eq!((p[(0, 0)], p[(1, 0)]), (1.0, 0.0));
/// assert_eq!((p[(0, 1)], p[(1, 1)]), (0.5, 0.5));
/// let targets = mat![[1.0, 0.0], [0.0, 1.0]];
/// let loss = softmax.loss(logits.as_ref(), targets.as_ref())?;
/// assert!((loss - 2f64.ln() / 2.0).abs() < 1e-15);
/// # Ok::<(), mlp_core::MlpError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Softmax<T> {
    n_classes: usize,
    /// Column-major `(n_classes, capacity)`.
    probabilities: Vec<T>,
    /// Per column: `lse(z)`, kept for the loss.
    log_sum_exp: Vec<T>,
    m: usize,
}

impl<T: Float> Softmax<T> {
    /// A softmax over `n_classes` logits per sample.
    pub fn new(n_classes: usize) -> Self {
        Self {
            n_classes,
            probabilities: Vec::new(),
            log_sum_exp: Vec::new(),
            m: 0,
        }
    }

    /// The number of classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Computes the probabilities of a `(n_classes, m)` block of logits and returns them.
    ///
    /// `logits` must have `n_classes` rows and at least one column.
    pub fn propagate(&mut self, logits: MatRef<'_, T>) -> Result<MatRef<'_, T>> {
        let (k, m) = logits.shape();
        if k == 0 {
            return Err(MlpError::InvalidSizes {
                sizes: vec![0],
                reason: "softmax needs at least one class",
            });
        }
        check_shape(|| "softmax logits".into(), (self.n_classes, m), (k, m))?;
        if m == 0 {
            return Err(MlpError::EmptyBatch {
                what: "softmax propagate",
            });
        }
        // The buffers only grow: a batch no larger than one seen before allocates nothing.
        let zero = T::from_f64(0.0);
        let (n_probabilities, n_sums) = (self.probabilities.len(), self.log_sum_exp.len());
        self.probabilities.resize(n_probabilities.max(k * m), zero);
        self.log_sum_exp.resize(n_sums.max(m), zero);
        self.m = m;
        let columns = self.probabilities[..k * m].chunks_exact_mut(k.max(1));
        for (j, (p, lse)) in columns.zip(&mut self.log_sum_exp).enumerate() {
            let z = logits.col(j);
            let mut max = z[0];
            for i in 1..k {
                // `!(a <= b)` rather than `a > b`, so that a NaN logit becomes the max and spreads.
                #[allow(clippy::neg_cmp_op_on_partial_ord)]
                if !(z[i] <= max) {
                    max = z[i];
                }
            }
            let mut sum = T::from_f64(0.0);
            for i in 0..k {
                let e = (z[i] - max).exp();
                p[i] = e;
                sum += e;
            }
            let inv = T::from_f64(1.0) / sum;
            for v in p.iter_mut() {
                *v *= inv;
            }
            *lse = max + sum.ln();
        }
        Ok(self.probabilities())
    }

    /// The probabilities of the last batch, `(n_classes, m)`.
    pub fn probabilities(&self) -> MatRef<'_, T> {
        let (k, m) = (self.n_classes, self.m);
        MatRef::from_column_major_slice(&self.probabilities[..k * m], k, m)
    }

    /// The mean cross-entropy of the last batch against `targets` `(n_classes, m)`; `logits` must be
    /// the block given to [`Softmax::propagate`].
    pub fn loss(&self, logits: MatRef<'_, T>, targets: MatRef<'_, T>) -> Result<T> {
        let (k, m) = (self.n_classes, self.m);
        if m == 0 {
            return Err(MlpError::NoForwardPass);
        }
        check_shape(|| "softmax loss logits".into(), (k, m), logits.shape())?;
        check_shape(|| "softmax loss targets".into(), (k, m), targets.shape())?;
        let mut total = T::from_f64(0.0);
        for j in 0..m {
            let (z, y) = (logits.col(j), targets.col(j));
            let lse = self.log_sum_exp[j];
            for i in 0..k {
                // Skipping zero targets keeps a -inf logit (probability 0) of another class harmless.
                if y[i] != T::from_f64(0.0) {
                    total += y[i] * (lse - z[i]);
                }
            }
        }
        Ok(total / T::from_f64(m as f64))
    }

    /// Writes `∂L/∂Z = (p − y) / m` into `delta`, a column-major `(n_classes, m)` slice.
    pub fn backpropagate(&self, targets: MatRef<'_, T>, delta: &mut [T]) -> Result<()> {
        let (k, m) = (self.n_classes, self.m);
        if m == 0 {
            return Err(MlpError::NoForwardPass);
        }
        check_shape(|| "softmax targets".into(), (k, m), targets.shape())?;
        check_shape(
            || "softmax delta buffer".into(),
            (k * m, 1),
            (delta.len(), 1),
        )?;
        let inv_m = T::from_f64(1.0 / m as f64);
        let columns = delta
            .chunks_exact_mut(k)
            .zip(self.probabilities[..k * m].chunks_exact(k));
        for (j, (d, p)) in columns.enumerate() {
            let y = targets.col(j);
            for i in 0..k {
                d[i] = (p[i] - y[i]) * inv_m;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::{mat, Mat};

    #[test]
    fn rows_sum_to_one_and_huge_logits_stay_finite() {
        let logits = mat![
            [1e4, -1e4, 3.0, 0.0],
            [-1e4, 1e4, 1.0, 0.0],
            [0.0, 0.0, -2.0, 0.0]
        ];
        let mut softmax = Softmax::<f64>::new(3);
        let p = softmax.propagate(logits.as_ref()).unwrap().to_owned();
        for j in 0..4 {
            let sum: f64 = (0..3).map(|i| p[(i, j)]).sum();
            assert!((sum - 1.0).abs() < 1e-15, "column {j} sums to {sum}");
            assert!((0..3).all(|i| p[(i, j)].is_finite()));
        }
        // Column 2: exp(3), exp(1), exp(-2) normalised — numpy: softmax([3, 1, -2]).
        let z: f64 = 3f64.exp() + 1f64.exp() + (-2f64).exp();
        assert!((p[(0, 2)] - 3f64.exp() / z).abs() < 1e-15);
        // A confident wrong answer costs 2e4 nats, finitely.
        // Columns 0 and 1 are of class 2, columns 2 and 3 of class 0.
        let class = |j: usize| if j < 2 { 2 } else { 0 };
        let targets = Mat::from_fn(3, 4, |i, j| if i == class(j) { 1.0 } else { 0.0 });
        let loss = softmax.loss(logits.as_ref(), targets.as_ref()).unwrap();
        assert!(loss.is_finite());
        let expected = (1e4 + 1e4 + (z.ln() - 3.0) + 3f64.ln()) / 4.0;
        assert!((loss - expected).abs() < 1e-9, "{loss} vs {expected}");
    }

    #[test]
    fn f32_huge_logits_stay_finite() {
        let logits = mat![[1e4f32, -1e4], [-1e4, 1e4]];
        let mut softmax = Softmax::<f32>::new(2);
        let p = softmax.propagate(logits.as_ref()).unwrap();
        assert_eq!(
            (p[(0, 0)], p[(1, 0)], p[(0, 1)], p[(1, 1)]),
            (1.0, 0.0, 0.0, 1.0)
        );
        let targets = mat![[0.0f32, 1.0], [1.0, 0.0]];
        assert_eq!(
            softmax.loss(logits.as_ref(), targets.as_ref()).unwrap(),
            2e4
        );
    }

    #[test]
    fn gradient_is_p_minus_y_over_m() {
        let logits = mat![[0.0, 1.0], [0.0, -1.0]];
        let targets = mat![[1.0, 0.0], [0.0, 1.0]];
        let mut softmax = Softmax::<f64>::new(2);
        let p = softmax.propagate(logits.as_ref()).unwrap().to_owned();
        let mut delta = vec![0.0; 4];
        softmax.backpropagate(targets.as_ref(), &mut delta).unwrap();
        assert_eq!(
            delta,
            [
                (0.5 - 1.0) / 2.0,
                0.5 / 2.0,
                p[(0, 1)] / 2.0,
                (p[(1, 1)] - 1.0) / 2.0
            ]
        );
    }

    #[test]
    fn nan_logits_give_nan_not_panic() {
        let logits = mat![[f64::NAN], [0.0]];
        let mut softmax = Softmax::<f64>::new(2);
        let p = softmax.propagate(logits.as_ref()).unwrap();
        assert!(p[(0, 0)].is_nan() && p[(1, 0)].is_nan());
    }
}
