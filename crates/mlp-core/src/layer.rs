//! A fully connected layer: `A = f(W·X + b)`, samples as columns.

use crate::error::{check_shape, Result};
use crate::{par, Activation, Float, MlpError};
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef};
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
    /// Column-major `(n_out, n_in)`.
    weights: Vec<T>,
    bias: Vec<T>,
    grad_weights: Vec<T>,
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
        if n_out == 0 || n_in == 0 {
            return Err(MlpError::InvalidSizes {
                sizes: vec![n_in, n_out],
                reason: "every layer needs at least one input and one output",
            });
        }
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
        if n_out == 0 || n_in == 0 {
            return Err(MlpError::InvalidSizes {
                sizes: vec![n_in, n_out],
                reason: "every layer needs at least one input and one output",
            });
        }
        let fan = match activation {
            Activation::Relu => n_in as f64 / 2.0,
            _ => (n_in + n_out) as f64,
        };
        let limit = (6.0 / fan).sqrt();
        let mut layer = Self::zeros(n_in, n_out, activation);
        for w in &mut layer.weights {
            *w = T::from_f64(rng.random_range(-limit..limit));
        }
        Ok(layer)
    }

    fn zeros(n_in: usize, n_out: usize, activation: Activation) -> Self {
        let zero = T::from_f64(0.0);
        Self {
            n_in,
            n_out,
            activation,
            weights: vec![zero; n_out * n_in],
            bias: vec![zero; n_out],
            grad_weights: vec![zero; n_out * n_in],
            grad_bias: vec![zero; n_out],
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
        MatRef::from_column_major_slice(&self.weights, self.n_out, self.n_in)
    }

    /// The weights, mutably (e.g. to load a model or perturb one parameter in a gradient check).
    pub fn weights_mut(&mut self) -> MatMut<'_, T> {
        MatMut::from_column_major_slice_mut(&mut self.weights, self.n_out, self.n_in)
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
        MatRef::from_column_major_slice(&self.grad_weights, self.n_out, self.n_in)
    }

    /// ∂L/∂b of the last back-propagated batch, `(n_out,)`.
    pub fn gradient_bias(&self) -> &[T] {
        &self.grad_bias
    }

    /// Parameters and their gradients as flat slices, in the same order, for optimisers:
    /// `(weights, bias, grad_weights, grad_bias)`.
    pub fn params_and_grads_mut(&mut self) -> (&mut [T], &mut [T], &[T], &[T]) {
        (
            &mut self.weights,
            &mut self.bias,
            &self.grad_weights,
            &self.grad_bias,
        )
    }

    /// The activations of the last batch of `m` samples, `(n_out, m)`.
    pub(crate) fn output(&self, m: usize) -> MatRef<'_, T> {
        MatRef::from_column_major_slice(&self.output[..self.n_out * m], self.n_out, m)
    }

    /// The activations (read) and delta (written) of the last batch, borrowed together.
    pub(crate) fn output_and_delta_mut(&mut self, m: usize) -> (&[T], &mut [T]) {
        let len = self.n_out * m;
        (&self.output[..len], &mut self.delta[..len])
    }

    pub(crate) fn delta_slice_mut(&mut self, m: usize) -> &mut [T] {
        &mut self.delta[..self.n_out * m]
    }

    /// Grows the batch buffers to hold `m` samples; a no-op once they are large enough.
    pub(crate) fn reserve_batch(&mut self, m: usize) {
        let len = self.n_out * m;
        if self.output.len() < len {
            self.output.resize(len, T::from_f64(0.0));
            self.delta.resize(len, T::from_f64(0.0));
        }
    }

    /// `A = f(W·X + b)` into the output buffer: one product, then one fused pass.
    pub(crate) fn forward(&mut self, input: MatRef<'_, T>, threads: usize) {
        let m = input.ncols();
        debug_assert_eq!(input.nrows(), self.n_in);
        self.reserve_batch(m);
        let weights = MatRef::from_column_major_slice(&self.weights, self.n_out, self.n_in);
        let out = &mut self.output[..self.n_out * m];
        matmul(
            MatMut::from_column_major_slice_mut(out, self.n_out, m),
            Accum::Replace,
            weights,
            input,
            T::from_f64(1.0),
            par::for_product(self.n_out, m, self.n_in, threads),
        );
        self.activation.add_bias_and_apply(out, &self.bias);
    }

    /// From this layer's delta `(n_out, m)` and its input `(n_in, m)`: `∂L/∂W = Δ·Xᵀ` and
    /// `∂L/∂b = Δ·1` (row sums).
    pub(crate) fn compute_gradients(&mut self, input: MatRef<'_, T>, threads: usize) {
        let m = input.ncols();
        let delta = MatRef::from_column_major_slice(&self.delta[..self.n_out * m], self.n_out, m);
        matmul(
            MatMut::from_column_major_slice_mut(&mut self.grad_weights, self.n_out, self.n_in),
            Accum::Replace,
            delta,
            input.transpose(),
            T::from_f64(1.0),
            par::for_product(self.n_out, self.n_in, m, threads),
        );
        let zero = T::from_f64(0.0);
        self.grad_bias.fill(zero);
        for column in self.delta[..self.n_out * m].chunks_exact(self.n_out) {
            for (g, &d) in self.grad_bias.iter_mut().zip(column) {
                *g += d;
            }
        }
    }

    /// The delta of the layer below: `Δ_prev = (Wᵀ·Δ) ⊙ f'_prev`, written into `prev_delta`, where
    /// `prev_output` is the previous layer's activations and `prev_activation` its non-linearity.
    pub(crate) fn propagate_delta(
        &self,
        m: usize,
        prev_delta: &mut [T],
        prev_output: &[T],
        prev_activation: Activation,
        threads: usize,
    ) {
        let delta = MatRef::from_column_major_slice(&self.delta[..self.n_out * m], self.n_out, m);
        let weights = MatRef::from_column_major_slice(&self.weights, self.n_out, self.n_in);
        matmul(
            MatMut::from_column_major_slice_mut(prev_delta, self.n_in, m),
            Accum::Replace,
            weights.transpose(),
            delta,
            T::from_f64(1.0),
            par::for_product(self.n_in, m, self.n_out, threads),
        );
        prev_activation.scale_by_derivative(prev_delta, prev_output);
    }
}
