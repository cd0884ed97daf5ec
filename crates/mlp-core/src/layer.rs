//! A fully connected layer — its parameters, its buffers and the math of its passes, each equation
//! written once: forward `Z = W·X`, `A = f(Z + b)`; the delta of the layer below
//! `Δ_prev = (Wᵀ·Δ) ⊙ f'(A_prev)`; the gradients `∂L/∂W = Δ·Xᵀ`, `∂L/∂b = Δ·1`.
//!
//! Each equation is one call of an operation of [`crate::kernels`] (a product with a fused
//! element-wise epilogue, row sums). How that call is split between threads is not decided here: the
//! network decides it once per batch ([`crate::plan`]) and hands each pass its layer's plan.

use crate::error::{check_layer_sizes, check_shape, Result};
use crate::kernels::{product, row_sums, Epilogue};
use crate::plan::LayerPlan;
use crate::{Activation, Float};
use faer::{Mat, MatMut, MatRef};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A fully connected layer with an activation.
///
/// Shapes, with `m` samples as columns: input `X` is `(n_in, m)`, weights `W` are `(n_out, n_in)`
/// (PyTorch's `nn.Linear` orientation), bias `b` is `(n_out,)` broadcast over columns, and the output
/// is `A = f(W·X + b)`, `(n_out, m)`. The layer keeps `A` and the delta `∂L/∂Z` of its last batch,
/// and the gradients of its parameters, in buffers that grow to the largest batch seen and are then
/// reused: a training step allocates nothing once warm.
///
/// ```
/// use faer::mat;
/// use mlp_core::{Activation, Layer};
///
/// // y = W·x + b with W = [[1, 2], [3, 4]], b = [0.5, -0.5], no activation.
/// let layer = Layer::new(mat![[1.0, 2.0], [3.0, 4.0]].as_ref(), &[0.5, -0.5], Activation::Identity)?;
/// assert_eq!((layer.n_in(), layer.n_out()), (2, 2));
/// assert_eq!(layer.weights()[(1, 0)], 3.0);
/// # Ok::<(), mlp_core::MlpError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Layer<T> {
    n_in: usize,
    n_out: usize,
    activation: Activation,
    /// `(n_out, n_in)`: the first `n_out` rows of a matrix of [`padded_rows`]`(n_out)` rows whose
    /// other rows stay zero. faer's product kernels load a column in whole blocks of 16 rows where
    /// its stride allows and drop the extra lanes only when storing, so they read those rows: left
    /// as faer allocates them they hold whatever the allocator last kept there, and a subnormal
    /// among them costs every multiply-add of the dropped lanes a microcode assist on Intel cores.
    /// A faer `Mat` also aligns each column to 64 bytes, so that threads owning different 16-row
    /// ranges never write to the same cache line.
    weights: Mat<T>,
    bias: Vec<T>,
    grad_weights: Mat<T>,
    grad_bias: Vec<T>,
    /// Column-major `(n_out, capacity)`: the activations of the last batch.
    output: Vec<T>,
    /// Column-major `(n_out, capacity)`: ∂L/∂Z of the last batch.
    delta: Vec<T>,
}

impl<T: Float> Layer<T> {
    /// A layer with the given weights `(n_out, n_in)` and bias `(n_out,)`.
    pub fn new(weights: MatRef<'_, T>, bias: &[T], activation: Activation) -> Result<Self> {
        let (n_out, n_in) = weights.shape();
        check_layer_sizes(n_in, n_out)?;
        check_shape(|| "layer bias".into(), (n_out, 1), (bias.len(), 1))?;
        let mut layer = Self::zeros(n_in, n_out, activation);
        layer.weights_mut().copy_from(weights);
        layer.bias.copy_from_slice(bias);
        Ok(layer)
    }

    /// A layer with random weights and zero bias, drawn from `rng`.
    ///
    /// Weights are uniform in ±√(6 / fan) — Glorot/Xavier (`fan = n_in + n_out`) for sigmoid, tanh
    /// and identity, He (`fan = n_in / 2`) for ReLU — so that activations neither vanish nor explode
    /// at the start. Values are drawn in f64 and rounded, so an `f32` and an `f64` net built from the
    /// same seed hold the same weights up to rounding.
    pub fn init(
        n_in: usize,
        n_out: usize,
        activation: Activation,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self> {
        check_layer_sizes(n_in, n_out)?;
        let fan = match activation {
            Activation::Relu => n_in as f64 / 2.0,
            _ => (n_in + n_out) as f64,
        };
        let limit = (6.0 / fan).sqrt();
        let mut layer = Self::zeros(n_in, n_out, activation);
        let mut weights = layer.weights_mut();
        // Column by column, as the draws have always been made.
        for j in 0..n_in {
            for i in 0..n_out {
                weights[(i, j)] = T::from_f64(rng.random_range(-limit..limit));
            }
        }
        Ok(layer)
    }

    fn zeros(n_in: usize, n_out: usize, activation: Activation) -> Self {
        Self {
            n_in,
            n_out,
            activation,
            weights: Mat::zeros(padded_rows(n_out), n_in),
            bias: vec![T::from_f64(0.0); n_out],
            grad_weights: Mat::zeros(n_out, n_in),
            grad_bias: vec![T::from_f64(0.0); n_out],
            output: Vec::new(),
            delta: Vec::new(),
        }
    }

    /// Number of inputs (columns of `W`).
    pub fn n_in(&self) -> usize {
        self.n_in
    }

    /// Number of outputs (rows of `W`).
    pub fn n_out(&self) -> usize {
        self.n_out
    }

    /// The activation applied after the affine map.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Number of parameters: `n_out · n_in` weights and `n_out` biases.
    pub fn n_params(&self) -> usize {
        self.n_out * self.n_in + self.n_out
    }

    /// The weights, `(n_out, n_in)`.
    pub fn weights(&self) -> MatRef<'_, T> {
        self.weights.as_ref().subrows(0, self.n_out)
    }

    /// The weights, mutably (e.g. to load a model or perturb one parameter in a gradient check).
    pub fn weights_mut(&mut self) -> MatMut<'_, T> {
        self.weights.as_mut().subrows_mut(0, self.n_out)
    }

    /// The bias, `(n_out,)`.
    pub fn bias(&self) -> &[T] {
        &self.bias
    }

    /// The bias, mutably.
    pub fn bias_mut(&mut self) -> &mut [T] {
        &mut self.bias
    }

    /// ∂L/∂W of the last back-propagated batch, `(n_out, n_in)`.
    pub fn gradient_weights(&self) -> MatRef<'_, T> {
        self.grad_weights.as_ref()
    }

    /// ∂L/∂b of the last back-propagated batch, `(n_out,)`.
    pub fn gradient_bias(&self) -> &[T] {
        &self.grad_bias
    }

    /// Parameters and their gradients, for optimisers: `(weights, bias, grad_weights, grad_bias)`.
    pub fn params_and_grads_mut(&mut self) -> (MatMut<'_, T>, &mut [T], MatRef<'_, T>, &[T]) {
        (
            self.weights.as_mut().subrows_mut(0, self.n_out),
            &mut self.bias,
            self.grad_weights.as_ref(),
            &self.grad_bias,
        )
    }

    /// The activations of the last batch of `m` samples, `(n_out, m)`.
    pub(crate) fn output(&self, m: usize) -> MatRef<'_, T> {
        column_major(&self.output, self.n_out, m)
    }

    /// The delta ∂L/∂Z of the last batch, column-major `(n_out, m)`, to be written (by the softmax).
    pub(crate) fn delta_slice_mut(&mut self, m: usize) -> &mut [T] {
        &mut self.delta[..self.n_out * m]
    }

    /// Grows the batch buffers to hold `m` samples; a no-op once they are large enough.
    fn reserve_batch(&mut self, m: usize) {
        let len = self.output.len().max(self.n_out * m);
        self.output.resize(len, T::from_f64(0.0));
        self.delta.resize(len, T::from_f64(0.0));
    }

    /// The forward pass of a batch `X` `(n_in, m)`: `Z = W·X`, then `A = f(Z + b)` in the same
    /// pass over `Z`; `A` is kept for back-propagation.
    pub(crate) fn forward(&mut self, x: MatRef<'_, T>, plan: LayerPlan) {
        let m = x.ncols();
        self.reserve_batch(m);
        let w = self.weights.as_ref().subrows(0, self.n_out);
        let plus_b_then_f = Epilogue::BiasAndActivation(&self.bias, self.activation);
        let a = column_major_mut(&mut self.output, self.n_out, m);
        // A = f(W·X + b)
        product(a, w, x, plus_b_then_f, plan.forward);
    }

    /// The gradients of the parameters, from this layer's delta `Δ` `(n_out, m)` and its input `X`
    /// `(n_in, m)`: `∂L/∂W = Δ·Xᵀ` and `∂L/∂b = Δ·1` (the row sums of `Δ`).
    pub(crate) fn compute_gradients(&mut self, x: MatRef<'_, T>, plan: LayerPlan) {
        let (dw, db) = (self.grad_weights.as_mut(), &mut self.grad_bias[..]);
        let delta = column_major(&self.delta, self.n_out, x.ncols());
        // ∂L/∂W = Δ·Xᵀ
        product(dw, delta, x.transpose(), Epilogue::None, plan.gradients);
        // ∂L/∂b = Δ·1
        row_sums(delta, db, plan.gradients);
    }

    /// The delta of the layer below, from this layer's: `Δ_prev = (Wᵀ·Δ) ⊙ f'(A_prev)`, where `f'`
    /// is the derivative of the layer below, computed from the output `A_prev` it kept.
    pub(crate) fn propagate_delta(&self, m: usize, below: &mut Layer<T>, plan: LayerPlan) {
        debug_assert_eq!(below.n_out, self.n_in);
        let (n, f) = (below.n_out, below.activation);
        let times_f_prime = Epilogue::TimesDerivative(f, column_major(&below.output, n, m));
        let delta_below = column_major_mut(&mut below.delta, n, m);
        let delta = column_major(&self.delta, self.n_out, m);
        let wt = self.weights().transpose();
        // Δ_prev = (Wᵀ·Δ) ⊙ f'(A_prev)
        product(delta_below, wt, delta, times_f_prime, plan.delta_below);
    }
}

/// The rows of the matrix that holds `n_out` rows of weights: the next multiple of 16, the most
/// rows faer's kernels load from a column at once (16 `f32` lanes of a 512-bit register).
fn padded_rows(n_out: usize) -> usize {
    n_out.next_multiple_of(16)
}

/// The first `rows · columns` values of `buffer` as a column-major `(rows, columns)` matrix.
fn column_major<T>(buffer: &[T], rows: usize, columns: usize) -> MatRef<'_, T> {
    MatRef::from_column_major_slice(&buffer[..rows * columns], rows, columns)
}

/// [`column_major`], mutably.
fn column_major_mut<T>(buffer: &mut [T], rows: usize, columns: usize) -> MatMut<'_, T> {
    MatMut::from_column_major_slice_mut(&mut buffer[..rows * columns], rows, columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::mat;
    use rand::SeedableRng;

    /// The rows of the weights' matrix past `n_out` (which faer's kernels read) are there and zero,
    /// however the layer was made, and stay zero when every weight is written and the layer cloned.
    #[test]
    fn the_rows_past_the_weights_are_there_and_zero() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let given = mat![[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let mut layers = vec![Layer::new(given.as_ref(), &[0.0; 3], Activation::Identity).unwrap()];
        for n_out in [1, 10, 16, 17, 150] {
            layers.push(Layer::<f32>::init(7, n_out, Activation::Sigmoid, &mut rng).unwrap());
        }
        for mut layer in layers {
            layer.weights_mut().fill(-1.0);
            layer.params_and_grads_mut().0.fill(2.0);
            for layer in [&layer, &layer.clone()] {
                let (rows, n_out) = (layer.weights.nrows(), layer.n_out());
                assert!(
                    rows >= n_out && rows % 16 == 0,
                    "{rows} rows for {n_out} weights"
                );
                assert!(layer.weights().shape() == (n_out, layer.n_in()));
                assert!(all_equal(layer.weights(), 2.0));
                assert!(all_equal(
                    layer.weights.as_ref().subrows(n_out, rows - n_out),
                    0.0
                ));
            }
        }
    }

    fn all_equal(matrix: MatRef<'_, f32>, value: f32) -> bool {
        matrix.col_iter().all(|c| c.iter().all(|&x| x == value))
    }
}
