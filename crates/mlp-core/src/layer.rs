//! A fully connected layer: `A = f(W·X + b)`, samples as columns.

use crate::error::{check_shape, Result};
use crate::scalar::{vectorize, Kernel};
use crate::{par, Activation, Float, MlpError};
use faer::linalg::matmul::matmul;
use faer::prelude::ReborrowMut;
use faer::{Accum, ContiguousFwd, Mat, MatMut, MatRef, Par};
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
    /// `(n_out, n_in)`. A faer `Mat` pads each column to a whole number of 64-byte cache lines and
    /// aligns it, so that threads owning different 16-row ranges never write to the same line.
    weights: Mat<T>,
    bias: Vec<T>,
    grad_weights: Mat<T>,
    grad_bias: Vec<T>,
    /// Column-major `(n_out, capacity)`: the activations of the last batch.
    output: Vec<T>,
    /// Column-major `(n_out, capacity)`: ∂L/∂Z of the last batch.
    delta: Vec<T>,
    /// Into how many row ranges the last forward pass split this layer between threads
    /// ([`par::training_row_parts`]); back-propagation and the update keep the same ranges, so that
    /// each thread works on the same rows of `W` throughout a step. 1: not split by rows.
    row_parts: usize,
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
        // Column by column, as the draws have always been made.
        for j in 0..n_in {
            for i in 0..n_out {
                layer.weights[(i, j)] = T::from_f64(rng.random_range(-limit..limit));
            }
        }
        Ok(layer)
    }

    fn zeros(n_in: usize, n_out: usize, activation: Activation) -> Self {
        let zero = T::from_f64(0.0);
        Self {
            n_in,
            n_out,
            activation,
            weights: Mat::zeros(n_out, n_in),
            bias: vec![zero; n_out],
            grad_weights: Mat::zeros(n_out, n_in),
            grad_bias: vec![zero; n_out],
            output: Vec::new(),
            delta: Vec::new(),
            row_parts: 1,
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
        self.weights.as_ref()
    }

    /// The weights, mutably (e.g. to load a model or perturb one parameter in a gradient check).
    pub fn weights_mut(&mut self) -> MatMut<'_, T> {
        self.weights.as_mut()
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
            self.weights.as_mut(),
            &mut self.bias,
            self.grad_weights.as_ref(),
            &self.grad_bias,
        )
    }

    /// Into how many row ranges the last forward pass split this layer (1: none).
    pub(crate) fn row_parts(&self) -> usize {
        self.row_parts
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

    /// `A = f(W·X + b)` into the output buffer.
    ///
    /// A training batch has the rows of `W` split between threads ([`par::training_row_parts`]),
    /// each thread computing its rows of the product and the fused bias-and-activation pass on them;
    /// back-propagation and the update then keep the same rows on the same threads. A larger batch
    /// has its columns split ([`par::column_parts`]), each thread going through its columns in
    /// cache-sized blocks: the product of a block, then the fused pass on it while it is still in
    /// cache. A batch of one uses a matrix-vector kernel ([`MatVec`]).
    pub(crate) fn forward(&mut self, input: MatRef<'_, T>, threads: usize) {
        let m = input.ncols();
        debug_assert_eq!(input.nrows(), self.n_in);
        self.reserve_batch(m);
        let (n_out, n_in, activation) = (self.n_out, self.n_in, self.activation);
        let weights = self.weights.as_ref();
        let bias = &self.bias[..];
        let macs = n_out * n_in * m;
        self.row_parts = par::training_row_parts(n_out, n_in, m, threads);
        if m == 1 {
            if let Some(x) = input.col(0).try_as_col_major() {
                // A batch of one: a matrix-vector product, bound by streaming the weights from
                // cache, so that (inside the pool, where it is cheap) each core streams its rows.
                let x = x.as_slice();
                let weights = weights
                    .try_as_col_major()
                    .expect("a Mat has unit row stride");
                let out = &mut self.output[..n_out];
                let parts = par::row_parts(n_out, macs, threads);
                par::for_column_blocks(out, 1, usize::MAX, parts, |first_row, y| {
                    vectorize(MatVec {
                        weights,
                        first_row,
                        x,
                        y,
                    });
                });
                activation.add_bias_and_apply(out, bias);
                return;
            }
        }
        if self.row_parts > 1 {
            let out = MatMut::from_column_major_slice_mut(&mut self.output[..n_out * m], n_out, m);
            par::for_row_blocks((out, bias), self.row_parts, |first, (mut block, bias)| {
                let rows = block.nrows();
                matmul(
                    block.rb_mut(),
                    Accum::Replace,
                    weights.subrows(first, rows),
                    input,
                    T::from_f64(1.0),
                    Par::Seq,
                );
                activation.add_bias_and_apply_rows(block, bias);
            });
            return;
        }
        let parts = par::column_parts(m, macs, threads);
        par::for_column_blocks(
            &mut self.output[..n_out * m],
            n_out,
            par::block_columns(n_out),
            parts,
            |first, block| {
                let columns = block.len() / n_out;
                matmul(
                    MatMut::from_column_major_slice_mut(block, n_out, columns),
                    Accum::Replace,
                    weights,
                    input.subcols(first, columns),
                    T::from_f64(1.0),
                    Par::Seq,
                );
                activation.add_bias_and_apply(block, bias);
            },
        );
    }

    /// From this layer's delta `(n_out, m)` and its input `(n_in, m)`: `∂L/∂W = Δ·Xᵀ` and
    /// `∂L/∂b = Δ·1` (row sums).
    pub(crate) fn compute_gradients(&mut self, input: MatRef<'_, T>, threads: usize) {
        let m = input.ncols();
        let (n_out, n_in) = (self.n_out, self.n_in);
        let delta = MatRef::from_column_major_slice(&self.delta[..n_out * m], n_out, m);
        if self.row_parts > 1 {
            // Each thread: its rows of ∂L/∂W and ∂L/∂b, from its rows of Δ.
            let views = (self.grad_weights.as_mut(), &mut self.grad_bias[..], delta);
            par::for_row_blocks(
                views,
                self.row_parts,
                |_, (grad_weights, grad_bias, delta)| {
                    matmul(
                        grad_weights,
                        Accum::Replace,
                        delta,
                        input.transpose(),
                        T::from_f64(1.0),
                        Par::Seq,
                    );
                    row_sums_into(delta, grad_bias);
                },
            );
            return;
        }
        // The columns of ∂L/∂W (one per input) are independent: split them between threads, each
        // thread reading all of Δ and its rows of X. (Columns of ∂L/∂W are rows of its transpose.)
        let parts = par::column_parts(n_in, n_out * n_in * m, threads);
        let transposed = self.grad_weights.as_mut().transpose_mut();
        par::for_row_blocks(transposed, parts, |first, block| {
            let block = block.transpose_mut();
            let columns = block.ncols();
            matmul(
                block,
                Accum::Replace,
                delta,
                input.subrows(first, columns).transpose(),
                T::from_f64(1.0),
                Par::Seq,
            );
        });
        row_sums_into(delta, &mut self.grad_bias);
    }

    /// The delta of the layer below: `Δ_prev = (Wᵀ·Δ) ⊙ f'_prev`, written into `prev`'s delta.
    pub(crate) fn propagate_delta(&self, m: usize, prev: &mut Layer<T>, threads: usize) {
        let (n_out, n_in) = (self.n_out, self.n_in);
        debug_assert_eq!(prev.n_out, n_in);
        let delta = MatRef::from_column_major_slice(&self.delta[..n_out * m], n_out, m);
        let weights = self.weights.as_ref();
        let (prev_activation, prev_row_parts) = (prev.activation, prev.row_parts);
        let (prev_output, prev_delta) = prev.output_and_delta_mut(m);
        if prev_row_parts > 1 {
            // Split as the layer below was in its forward pass: each thread computes the rows of
            // Δ_prev that belong to its rows of that layer's weights.
            let prev_delta = MatMut::from_column_major_slice_mut(prev_delta, n_in, m);
            let prev_output = MatRef::from_column_major_slice(prev_output, n_in, m);
            let views = (prev_delta, prev_output);
            par::for_row_blocks(views, prev_row_parts, |first, (mut block, output)| {
                let rows = block.nrows();
                matmul(
                    block.rb_mut(),
                    Accum::Replace,
                    weights.subcols(first, rows).transpose(),
                    delta,
                    T::from_f64(1.0),
                    Par::Seq,
                );
                prev_activation.scale_by_derivative_rows(block, output);
            });
            return;
        }
        let parts = par::column_parts(m, n_out * n_in * m, threads);
        par::for_column_blocks(
            &mut prev_delta[..n_in * m],
            n_in,
            par::block_columns(n_in),
            parts,
            |first, block| {
                let columns = block.len() / n_in;
                matmul(
                    MatMut::from_column_major_slice_mut(block, n_in, columns),
                    Accum::Replace,
                    weights.transpose(),
                    delta.subcols(first, columns),
                    T::from_f64(1.0),
                    Par::Seq,
                );
                let output = &prev_output[first * n_in..(first + columns) * n_in];
                prev_activation.scale_by_derivative(block, output);
            },
        );
    }
}

/// `sums[i] = Σ_j block[i, j]` for a block with unit row stride and `sums.len()` rows.
fn row_sums_into<T: Float>(block: MatRef<'_, T>, sums: &mut [T]) {
    debug_assert_eq!(block.nrows(), sums.len());
    sums.fill(T::from_f64(0.0));
    if !sums.is_empty() {
        vectorize(RowSums { block, sums });
    }
}

/// The loop of [`row_sums_into`], compiled by [`vectorize`].
struct RowSums<'a, T> {
    block: MatRef<'a, T>,
    sums: &'a mut [T],
}

impl<T: Float> Kernel for RowSums<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        for j in 0..self.block.ncols() {
            let column = self
                .block
                .col(j)
                .try_as_col_major()
                .expect("unit row stride");
            for (s, &v) in self.sums.iter_mut().zip(column.as_slice()) {
                *s += v;
            }
        }
    }
}

/// Rows `first_row..first_row + y.len()` of `y = W·x`, for `W` with `x.len()` columns and unit row
/// stride: the product of a batch of one, compiled by [`vectorize`].
///
/// faer's matrix-vector kernel reads and writes `y` for every column of `W`; this one keeps a block
/// of `y` in registers while it runs through the columns, and takes a fifth less time for a 150 × 784
/// layer (whose weights stream from the L2 cache: that, not arithmetic, bounds the time) and a third
/// of the time for a 10 × 150 one. Each `y[i]` is summed in column order, whatever the split.
struct MatVec<'a, T> {
    weights: ColumnMajor<'a, T>,
    first_row: usize,
    x: &'a [T],
    y: &'a mut [T],
}

impl<T: Float> Kernel for MatVec<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        // 8 registers of accumulators: 64 f32 or 32 f64 rows.
        if size_of::<T>() == 4 {
            self.blocks::<64, 32, 16, 8>();
        } else {
            self.blocks::<32, 16, 8, 4>();
        }
    }
}

impl<T: Float> MatVec<'_, T> {
    /// Blocks of `B0` rows, then blocks of `B1`, `B2` or `B3 < B2 < B1 < B0` rows for the rest, the
    /// last one placed to end at the last row (it may recompute, identically, a few rows of the one
    /// before). Fewer than `B3` rows are done one by one.
    #[inline(always)]
    fn blocks<const B0: usize, const B1: usize, const B2: usize, const B3: usize>(self) {
        let Self {
            weights,
            first_row,
            x,
            y,
        } = self;
        let rows = y.len();
        // Rows `first..first + size` of `y`. (A function, not a closure: closures are not always
        // inlined into `run_avx2`, and would then be compiled without AVX2.)
        #[inline(always)]
        #[allow(clippy::too_many_arguments)]
        fn block_of<
            T: Float,
            const B0: usize,
            const B1: usize,
            const B2: usize,
            const B3: usize,
        >(
            size: usize,
            first: usize,
            weights: ColumnMajor<'_, T>,
            first_row: usize,
            x: &[T],
            y: &mut [T],
        ) {
            let y = &mut y[first..first + size];
            let offset = first_row + first;
            if size == B0 {
                block::<T, B0>(weights, offset, x, y);
            } else if size == B1 {
                block::<T, B1>(weights, offset, x, y);
            } else if size == B2 {
                block::<T, B2>(weights, offset, x, y);
            } else {
                block::<T, B3>(weights, offset, x, y);
            }
        }
        let block = block_of::<T, B0, B1, B2, B3>;
        if rows < B3 {
            for (i, yi) in y.iter_mut().enumerate() {
                let mut sum = T::from_f64(0.0);
                for (j, &xj) in x.iter().enumerate() {
                    sum += column(weights, j)[first_row + i] * xj;
                }
                *yi = sum;
            }
            return;
        }
        let mut first = 0;
        while rows - first >= B0 {
            block(B0, first, weights, first_row, x, y);
            first += B0;
        }
        while first < rows {
            let rest = rows - first;
            // The smallest block that covers the rest and fits in the matrix ends the product…
            if let Some(size) = [B3, B2, B1, B0]
                .into_iter()
                .find(|&b| b >= rest && b <= rows)
            {
                block(size, rows - size, weights, first_row, x, y);
                return;
            }
            // …or else the largest block that fits in the rest (it exists: rest ≥ B3 here).
            let size = [B1, B2, B3].into_iter().find(|&b| b <= rest).unwrap_or(B3);
            block(size, first, weights, first_row, x, y);
            first += size;
        }
    }
}

/// `y = W[offset..offset + R, :]·x`, accumulated in registers (`W` column-major, `stride` rows).
#[inline(always)]
fn block<T: Float, const R: usize>(
    weights: ColumnMajor<'_, T>,
    offset: usize,
    x: &[T],
    y: &mut [T],
) {
    let mut acc = [T::from_f64(0.0); R];
    for (j, &xj) in x.iter().enumerate() {
        let column: &[T; R] = column(weights, j)[offset..offset + R]
            .try_into()
            .expect("a block of R rows");
        for (a, &w) in acc.iter_mut().zip(column) {
            *a += w * xj;
        }
    }
    y.copy_from_slice(&acc);
}

/// A matrix whose columns are contiguous (unit row stride), checked once rather than per column.
type ColumnMajor<'a, T> = MatRef<'a, T, usize, usize, ContiguousFwd>;

/// Column `j` of `m` as a slice.
#[inline(always)]
fn column<T>(m: ColumnMajor<'_, T>, j: usize) -> &[T] {
    m.col(j).as_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_matvec<T: Float>(rows: usize, cols: usize) {
        let weights: Vec<T> = (0..rows * cols)
            .map(|k| T::from_f64(((k * 7919) % 23) as f64 / 23.0 - 0.5))
            .collect();
        let x: Vec<T> = (0..cols)
            .map(|j| T::from_f64(((j * 31) % 17) as f64 / 17.0))
            .collect();
        let mut y = vec![T::from_f64(f64::NAN); rows];
        // All rows at once, and in two ranges as when split between threads.
        let matrix = MatRef::from_column_major_slice(&weights, rows, cols)
            .try_as_col_major()
            .unwrap();
        vectorize(MatVec {
            weights: matrix,
            first_row: 0,
            x: &x,
            y: &mut y,
        });
        let mut halves = vec![T::from_f64(f64::NAN); rows];
        let (top, bottom) = halves.split_at_mut(rows / 2);
        for (first_row, y) in [(0, top), (rows / 2, bottom)] {
            vectorize(MatVec {
                weights: matrix,
                first_row,
                x: &x,
                y,
            });
        }
        assert_eq!(y, halves, "{rows} × {cols} in two halves");
        for (i, &yi) in y.iter().enumerate() {
            // The same sum in the same order: bit-identical.
            let mut expected = T::from_f64(0.0);
            for (j, &xj) in x.iter().enumerate() {
                expected += weights[j * rows + i] * xj;
            }
            assert_eq!(yi, expected, "row {i} of {rows} × {cols}");
        }
    }

    /// Every row count up to 2 blocks and a half, so that every way of covering the rows with blocks
    /// (overlapping last block, single rows for tiny matrices) is exercised.
    #[test]
    fn matvec_matches_a_plain_loop() {
        for rows in 1..=160 {
            check_matvec::<f32>(rows, 3);
            check_matvec::<f64>(rows, 5);
        }
        check_matvec::<f32>(150, 784);
        check_matvec::<f32>(10, 1);
    }

    /// Splitting the columns between threads, in cache blocks, changes nothing: each output is
    /// summed in the same order (this is what makes training reproducible whatever the threads).
    #[test]
    fn threads_do_not_change_a_bit() {
        // A batch of one (rows of the matrix-vector product), batches too small to split (5, 20),
        // training batches split by rows (32, 64, 256), and a batch split by columns (1000, in
        // cache blocks).
        for (m, split_by_rows) in [
            (1, false),
            (5, false),
            (20, false),
            (32, true),
            (64, true),
            (256, true),
            (1000, false),
        ] {
            let run = |threads: usize| {
                let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(9);
                let mut below =
                    Layer::<f32>::init(784, 150, Activation::Sigmoid, &mut rng).unwrap();
                let mut above =
                    Layer::<f32>::init(150, 10, Activation::Identity, &mut rng).unwrap();
                let x =
                    faer::Mat::<f32>::from_fn(784, m, |i, j| ((i * 7 + j * 13) % 31) as f32 / 31.0);
                crate::par::in_pool(|| {
                    below.forward(x.as_ref(), threads);
                    above.forward(below.output(m), threads);
                    let logits = above.output[..10 * m].to_vec();
                    above.delta_slice_mut(m).copy_from_slice(&logits);
                    above.compute_gradients(below.output(m), threads);
                    above.propagate_delta(m, &mut below, threads);
                    below.compute_gradients(x.as_ref(), threads);
                    crate::optim::sgd_step(&mut below, 0.5);
                });
                (below, above)
            };
            let (one, two) = (run(1), run(2));
            assert_eq!(one.0.row_parts, 1);
            assert_eq!(two.0.row_parts > 1, split_by_rows, "batch {m}");
            assert_eq!(one.0.output, two.0.output, "batch {m}");
            assert_eq!(one.0.delta, two.0.delta, "batch {m}");
            assert_eq!(one.0.grad_weights, two.0.grad_weights, "batch {m}");
            assert_eq!(one.0.grad_bias, two.0.grad_bias, "batch {m}");
            assert_eq!(one.1.grad_weights, two.1.grad_weights, "batch {m}");
            assert_eq!(one.0.weights, two.0.weights, "batch {m}");
        }
    }

    /// A sample forwarded alone (the matrix-vector kernel) and inside a batch (faer's product)
    /// gives the same activations up to rounding.
    #[test]
    fn batch_of_one_agrees_with_a_batch() {
        let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(5);
        let mut layer = Layer::<f32>::init(784, 150, Activation::Sigmoid, &mut rng).unwrap();
        let x = faer::Mat::<f32>::from_fn(784, 7, |i, j| ((i * 13 + j * 5) % 29) as f32 / 29.0);
        layer.forward(x.as_ref(), 1);
        let batch = layer.output(7).col(3).to_owned();
        layer.forward(x.as_ref().subcols(3, 1), 1);
        let alone = layer.output(1);
        for i in 0..150 {
            assert!((alone[(i, 0)] - batch[i]).abs() < 1e-6, "row {i}");
        }
    }
}
