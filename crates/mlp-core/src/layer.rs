//! A fully connected layer — its parameters, its buffers and the math of its passes, each equation
//! written once: forward `Z = W·X`, `A = f(Z + b)`; the delta of the layer below
//! `Δ_prev = (Wᵀ·Δ) ⊙ f'(A_prev)`; the gradients `∂L/∂W = Δ·Xᵀ`, `∂L/∂b = Δ·1`.
//!
//! Each equation is one call of an operation of [`crate::kernels`] (a product with a fused
//! element-wise epilogue, row sums). How that call is split between threads is not decided here: the
//! network decides it once per batch ([`crate::plan`]) and hands each pass its layer's plan, which
//! also says whether back-propagation's two products run side by side.

use crate::error::{check_layer_sizes, check_shape, Result};
use crate::kernels::{product, row_sums, Epilogue};
use crate::par;
use crate::plan::{LayerPlan, Split};
use crate::weights::{Order, Stored};
use crate::{Activation, Float};
use faer::{MatMut, MatRef};
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
    /// `W`, held in the order the plan of the last batch asked for (see [`Stored`]).
    weights: Stored<T>,
    bias: Vec<T>,
    /// `∂L/∂W`, held in the order `W` was in when it was computed, which the update follows.
    grad_weights: Stored<T>,
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
            weights: Stored::zeros(n_out, n_in),
            bias: vec![T::from_f64(0.0); n_out],
            grad_weights: Stored::zeros(n_out, n_in),
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
        self.weights.get()
    }

    /// The weights, mutably (e.g. to load a model or perturb one parameter in a gradient check).
    pub fn weights_mut(&mut self) -> MatMut<'_, T> {
        self.weights.get_mut()
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
        self.grad_weights.get()
    }

    /// ∂L/∂b of the last back-propagated batch, `(n_out,)`.
    pub fn gradient_bias(&self) -> &[T] {
        &self.grad_bias
    }

    /// Parameters and their gradients, for optimisers: `(weights, bias, grad_weights, grad_bias)`;
    /// `W` and `∂W` are held in the same order (both by columns or both by rows), so that an
    /// element-wise update can go through both in memory order.
    pub fn params_and_grads_mut(&mut self) -> (MatMut<'_, T>, &mut [T], MatRef<'_, T>, &[T]) {
        self.weights.arrange(self.grad_weights.order());
        (
            self.weights.get_mut(),
            &mut self.bias,
            self.grad_weights.get(),
            &self.grad_bias,
        )
    }

    /// The order `∂W` is held in, which the update of `W` follows.
    pub(crate) fn gradient_order(&self) -> Order {
        self.grad_weights.order()
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
        self.weights.arrange(plan.weights);
        let w = self.weights.get();
        let plus_b_then_f = Epilogue::BiasAndActivation(&self.bias, self.activation);
        let a = column_major_mut(&mut self.output, self.n_out, m);
        // A = f(W·X + b)
        product(a, w, x, plus_b_then_f, plan.forward);
    }

    /// Back-propagation through the first layer, whose input is the batch `X` `(n_in, m)`: the
    /// gradients of its parameters only.
    pub(crate) fn compute_gradients(&mut self, x: MatRef<'_, T>, plan: LayerPlan) {
        self.grad_weights.arrange_to_overwrite(self.weights.order());
        let delta = column_major(&self.delta, self.n_out, x.ncols());
        let (dw, db) = (self.grad_weights.get_mut(), &mut self.grad_bias[..]);
        gradients(dw, db, delta, x, plan.gradients);
    }

    /// Back-propagation through this layer into the layer `below`, whose output `A_prev` is this
    /// layer's input: the gradients of this layer's parameters, and the delta of the layer below.
    /// The two products are independent; the plan runs them one after the other or side by side.
    pub(crate) fn backpropagate_into(&mut self, below: &mut Layer<T>, m: usize, plan: LayerPlan) {
        debug_assert_eq!(below.n_out, self.n_in);
        self.grad_weights.arrange_to_overwrite(self.weights.order());
        let (dw, db) = (self.grad_weights.get_mut(), &mut self.grad_bias[..]);
        let (w, delta) = (self.weights.get(), column_major(&self.delta, self.n_out, m));
        let (n, f) = (below.n_out, below.activation);
        let a_prev = column_major(&below.output, n, m);
        let delta_prev = column_major_mut(&mut below.delta, n, m);
        par::both(
            plan.side_by_side,
            || gradients(dw, db, delta, a_prev, plan.gradients),
            || delta_below(delta_prev, w, delta, f, a_prev, plan.delta_below),
        );
    }
}

/// The gradients of a layer's parameters, from its delta `Δ` `(n_out, m)` and its input `X`
/// `(n_in, m)`: `∂L/∂W = Δ·Xᵀ` and `∂L/∂b = Δ·1` (the row sums of `Δ`).
fn gradients<T: Float>(
    dw: MatMut<'_, T>,
    db: &mut [T],
    delta: MatRef<'_, T>,
    x: MatRef<'_, T>,
    split: Split,
) {
    // ∂L/∂W = Δ·Xᵀ
    product(dw, delta, x.transpose(), Epilogue::None, split);
    // ∂L/∂b = Δ·1
    row_sums(delta, db, split);
}

/// The delta of the layer below, from a layer's delta `Δ` and weights `W`:
/// `Δ_prev = (Wᵀ·Δ) ⊙ f'(A_prev)`, where `f'` is the derivative of the layer below, computed from
/// the output `A_prev` it kept.
fn delta_below<T: Float>(
    delta_prev: MatMut<'_, T>,
    w: MatRef<'_, T>,
    delta: MatRef<'_, T>,
    f: Activation,
    a_prev: MatRef<'_, T>,
    split: Split,
) {
    let times_f_prime = Epilogue::TimesDerivative(f, a_prev);
    // Δ_prev = (Wᵀ·Δ) ⊙ f'(A_prev)
    product(delta_prev, w.transpose(), delta, times_f_prime, split);
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
    use faer::Mat;
    use rand::SeedableRng;

    /// Whatever order a batch's plan asks for, the weights keep their values and the forward pass
    /// computes `W·X` from them; `∂W` is held in `W`'s order, and the optimiser's view brings `W`
    /// back to `∂W`'s order when an evaluation moved it.
    #[test]
    fn the_weights_keep_their_values_in_every_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut layer = Layer::<f64>::init(5, 3, Activation::Identity, &mut rng).unwrap();
        let before = layer.weights().to_owned();
        let x = Mat::from_fn(5, 2, |i, j| i as f64 - 1.5 * j as f64);
        for order in [Order::ByRows, Order::ByColumns, Order::ByRows] {
            let plan = LayerPlan {
                weights: order,
                ..LayerPlan::SEQUENTIAL
            };
            layer.forward(x.as_ref(), plan);
            assert_eq!(layer.weights.order(), order);
            assert!(layer.weights() == before.as_ref());
            for (i, j) in (0..3).flat_map(|i| (0..2).map(move |j| (i, j))) {
                let expected: f64 = (0..5).map(|k| before[(i, k)] * x[(k, j)]).sum();
                let found = layer.output(2)[(i, j)];
                assert!((found - expected).abs() < 1e-12, "({i}, {j}): {found}");
            }
            layer.compute_gradients(x.as_ref(), plan);
            assert_eq!(layer.gradient_order(), order);
        }
        layer.forward(x.as_ref(), LayerPlan::SEQUENTIAL);
        assert_eq!(layer.weights.order(), Order::ByColumns);
        let (w, _, gw, _) = layer.params_and_grads_mut();
        assert_eq!((w.col_stride(), gw.col_stride()), (1, 1), "both by rows");
        assert!(layer.weights() == before.as_ref());
    }

    /// For the layer shapes of the reported networks at training batch sizes, faer computes the
    /// same bits whichever order `W` is held in: the output, `∂W` and the delta of the layer below.
    /// So the order a plan picks changes no result of those networks (`plan::weights_order`).
    #[test]
    fn both_orders_give_the_same_bits_for_the_reported_shapes() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (n_in, n_out) in [(784, 150), (150, 200), (200, 150), (150, 50), (150, 150)] {
            let layer = Layer::<f32>::init(n_in, n_out, Activation::Sigmoid, &mut rng).unwrap();
            let mut below = Layer::<f32>::init(3, n_in, Activation::Sigmoid, &mut rng).unwrap();
            for m in [32, 64, 128] {
                let below_input = Mat::from_fn(3, m, |i, j| (i + j % 5) as f32 / 4.0 - 1.0);
                below.forward(below_input.as_ref(), LayerPlan::SEQUENTIAL);
                let results = [Order::ByColumns, Order::ByRows].map(|order| {
                    let plan = LayerPlan {
                        weights: order,
                        ..LayerPlan::SEQUENTIAL
                    };
                    let (mut layer, mut below) = (layer.clone(), below.clone());
                    layer.forward(below.output(m), plan);
                    for (k, d) in layer.delta_slice_mut(m).iter_mut().enumerate() {
                        *d = ((k * 17) % 23) as f32 / 23.0 - 0.5;
                    }
                    layer.backpropagate_into(&mut below, m, plan);
                    let gw = layer.gradient_weights();
                    let mut values = layer.output[..n_out * m].to_vec();
                    values.extend((0..n_in).flat_map(|j| (0..n_out).map(move |i| gw[(i, j)])));
                    values.extend_from_slice(&below.delta[..n_in * m]);
                    values
                });
                assert!(results[0] == results[1], "{n_out} x {n_in} at batch {m}");
            }
        }
    }
}
