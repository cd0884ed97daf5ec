//! How the work of one training step is split between threads: decided once per batch, from the
//! layer shapes and the thread budget, before the forward pass.
//!
//! [`StepPlan::prepare`] runs at the start of [`Mlp::propagate`](crate::Mlp::propagate); the plan
//! is then handed, layer by layer, to the forward pass, to back-propagation and to the update, which
//! split their products exactly as it says. No pass decides anything for another.

use crate::par;
use crate::weights::Order;

/// How one operation is split between threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Split {
    /// Contiguous ranges of the output's rows, one per thread (1: all on the calling thread).
    Rows(usize),
    /// Contiguous ranges of the output's columns, one per thread, each gone through in blocks of at
    /// most `block_columns` columns, so that the element-wise pass after each block's product finds
    /// the block still in cache.
    Columns {
        /// How many ranges (1: all on the calling thread).
        parts: usize,
        /// The most columns per block.
        block_columns: usize,
    },
    /// A product with a single column (a batch of one): the matrix-vector kernel, its rows split
    /// into up to `parts` ranges. The kernel skips the columns of `W` whose input is zero, so how
    /// many ranges are worth it is known only once it has looked at the input
    /// ([`matvec_parts_reading`]).
    MatVec {
        /// The most ranges (1: all on the calling thread).
        parts: usize,
    },
}

impl Split {
    /// Everything on the calling thread, in one piece.
    pub(crate) const SEQUENTIAL: Split = Split::Rows(1);

    /// Into how many row ranges a pass over the rows of this split's output is cut (the row sums
    /// of `∂b`): the ranges of a row split, else one.
    pub(crate) fn row_parts(self) -> usize {
        match self {
            Split::Rows(parts) => parts,
            Split::Columns { .. } | Split::MatVec { .. } => 1,
        }
    }

    /// How many threads the split uses.
    fn parts(self) -> usize {
        match self {
            Split::Rows(parts) | Split::Columns { parts, .. } | Split::MatVec { parts } => parts,
        }
    }
}

/// How the operations of one layer are split in a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LayerPlan {
    /// `Z = W·X`, `A = f(Z + b)`.
    pub(crate) forward: Split,
    /// `Δ_prev = (Wᵀ·Δ) ⊙ f'(A_prev)`, the delta of the layer below (unused for the first layer).
    pub(crate) delta_below: Split,
    /// `∂L/∂W = Δ·Xᵀ` and `∂L/∂b = Δ·1`.
    pub(crate) gradients: Split,
    /// Whether the two products of back-propagation, `∂W` and the delta below, run side by side,
    /// each whole on its own thread, instead of one after the other. (Above the first layer,
    /// neither is ever split: both splits above have one part.)
    pub(crate) side_by_side: bool,
    /// Into how many row ranges the update of `W` and `b` is cut: a row split's, so that each
    /// thread updates the rows of `W` it reads in the forward pass.
    pub(crate) update_parts: usize,
    /// The order `W`, `∂W` and the velocity are held in for this batch.
    pub(crate) weights: Order,
}

impl LayerPlan {
    /// Everything on the calling thread.
    pub(crate) const SEQUENTIAL: LayerPlan = LayerPlan {
        forward: Split::SEQUENTIAL,
        delta_below: Split::SEQUENTIAL,
        gradients: Split::SEQUENTIAL,
        side_by_side: false,
        update_parts: 1,
        weights: Order::ByColumns,
    };
}

/// The split of every layer's work for one batch, input side first.
///
/// **Training batches** (`32 ≤ m ≤ 2·n_out`) split a layer by the rows of `W`: a thread computes
/// its rows of the output and updates those rows of the parameters, so that what changes every
/// step stays in that thread's cache and only the layer's input crosses between cores. Two
/// exceptions, found by measuring the deep MNIST net at batch 64:
/// - In back-propagation, a layer with a layer below runs its two products side by side, each
///   whole on one thread. Split, each would be cut into parts of a few microseconds, and handing
///   them over and waiting for the slower part costs a sizeable share of that; side by side, the
///   threads meet once per layer instead of twice, and the two products have the same
///   multiply-adds (`n_out · n_in · m`), so neither waits long for the other.
/// - The forward pass of a layer above the first is split by samples once each thread gets
///   [`MIN_HIDDEN_FORWARD_COLUMNS`] of them: markedly faster for the deep net's hidden layers, and
///   not because the row ranges are uneven (evening them out changed nothing). What we believe
///   happens: split by samples, each sample's activations stay with the core that computed them
///   from one layer to the next, and only `W`, which the forward pass does not write, is read by
///   both cores. The first layer keeps its row split: its `W` is the largest, and split by samples
///   both cores would read all of it, which made the update that writes it much slower.
///
/// **Large batches** (evaluation) split the samples, the columns, each thread reading the input
/// once. **A batch of one** splits the rows of the matrix-vector product. Every split is over
/// outputs, never over a sum, so results do not depend on it. ARCHITECTURE.md gives the
/// measurements behind these choices and the thresholds.
#[derive(Debug, Clone, Default)]
pub(crate) struct StepPlan {
    layers: Vec<LayerPlan>,
}

/// What the thresholds of a plan depend on, read once per batch.
struct Budget {
    /// Threads the network may use.
    threads: usize,
    /// Products with fewer multiply-adds run on the calling thread.
    threshold_macs: usize,
    /// Whether the caller is a worker of rayon's pool (see [`par::in_pool`]).
    in_pool: bool,
}

impl StepPlan {
    /// Decides the split of every layer for a batch of `m` samples through layers of shapes
    /// `(n_out, n_in)`, allowed `threads` threads; reuses its storage, so a warm step allocates
    /// nothing.
    pub(crate) fn prepare(
        &mut self,
        shapes: impl Iterator<Item = (usize, usize)>,
        m: usize,
        threads: usize,
    ) {
        let in_pool = rayon::current_thread_index().is_some();
        let budget = Budget {
            threads: threads.min(rayon::current_num_threads()).max(1),
            threshold_macs: par::threshold_macs(in_pool),
            in_pool,
        };
        self.layers.clear();
        let mut below_rows = 1;
        for (n_out, n_in) in shapes {
            let has_below = !self.layers.is_empty();
            let rows = budget.training_row_parts(n_out, n_in, m);
            let macs = n_out.saturating_mul(n_in).saturating_mul(m);
            let columns = |n_columns, rows_per_block| Split::Columns {
                parts: budget.column_parts(n_columns, macs),
                block_columns: rows_per_block,
            };
            let forward = if m == 1 {
                Split::MatVec {
                    parts: budget.matvec_parts(n_out),
                }
            } else if rows > 1 && (!has_below || m < rows * MIN_HIDDEN_FORWARD_COLUMNS) {
                Split::Rows(rows)
            } else {
                columns(m, block_columns(n_out))
            };
            // Split by columns, ∂W's columns (one per input) are independent: each thread reads
            // all of Δ and its rows of X.
            let gradients = if rows > 1 {
                Split::Rows(rows)
            } else {
                columns(n_in, usize::MAX)
            };
            // Above the first layer, ∂W and the delta below are never split: they run side by
            // side, each whole on one thread, wherever splitting either would have paid (the delta
            // would have followed the rows of the layer below, or its samples), else one after
            // the other. Whole, each runs in the blocks of a one-thread step, so the same bits.
            let whole = |block_columns| Split::Columns {
                parts: 1,
                block_columns,
            };
            let delta_below = whole(block_columns(n_in));
            let (gradients, side_by_side) = if has_below {
                let delta_split = below_rows > 1 || budget.column_parts(m, macs) > 1;
                (whole(usize::MAX), delta_split || gradients.parts() > 1)
            } else {
                (gradients, false)
            };
            self.layers.push(LayerPlan {
                forward,
                delta_below,
                gradients,
                side_by_side,
                update_parts: rows,
                weights: weights_order(n_out, m),
            });
            below_rows = rows;
        }
    }

    /// The plan of layer `layer` (0 = the input side); everything sequential if no batch was
    /// planned.
    pub(crate) fn layer(&self, layer: usize) -> LayerPlan {
        self.layers
            .get(layer)
            .copied()
            .unwrap_or(LayerPlan::SEQUENTIAL)
    }
}

impl Budget {
    /// Into how many row ranges a training step splits a layer (1: no row split).
    ///
    /// Split by columns, every thread would read all of `W` after the update wrote it, and `∂W`
    /// would be written by one thread and read by another: about `3 · n_out · n_in` values crossing
    /// between cores per step. Split by rows, only the input (`n_in · m`) and the deltas cross. That
    /// is the smaller traffic while `m < 2·n_out` or so; beyond, the products are large enough that
    /// the column split's traffic does not matter. Below [`MIN_ROW_SPLIT_BATCH`] a step's products
    /// last a few microseconds, and handing work between cores costs a sizeable part of that.
    fn training_row_parts(&self, n_out: usize, n_in: usize, m: usize) -> usize {
        let macs = n_out.saturating_mul(n_in).saturating_mul(m);
        if self.threads <= 1 || !rows_may_split(n_out, m) || macs < self.threshold_macs {
            return 1;
        }
        self.threads.min(n_out / MIN_ROWS_PER_THREAD)
    }

    /// Into how many column ranges to split a product with `n_columns` output columns and `macs`
    /// multiply-adds.
    fn column_parts(&self, n_columns: usize, macs: usize) -> usize {
        if self.threads <= 1 || macs < self.threshold_macs {
            return 1;
        }
        self.threads.min(n_columns / MIN_COLUMNS_PER_THREAD).max(1)
    }

    /// Into how many row ranges at most to split the matrix-vector product of a batch of one. The
    /// kernel decides how many of them to use once it knows how many columns it reads (those of
    /// the nonzero inputs, [`matvec_parts_reading`]); the plan only bounds them. Only inside the
    /// pool, where handing half to an awake worker costs a fraction of a microsecond: the product
    /// is bound by streaming the weights from cache, and each core then streams its rows.
    fn matvec_parts(&self, n_rows: usize) -> usize {
        if self.threads <= 1 || !self.in_pool {
            return 1;
        }
        self.threads.min(n_rows / MIN_ROWS_PER_THREAD).max(1)
    }
}

/// Into how many of a [`Split::MatVec`]'s `parts` ranges the matrix-vector kernel splits `rows`
/// rows when it reads `columns` columns of `W`: all of them if that is enough multiply-adds to be
/// worth handing some to another thread, else one.
pub(crate) fn matvec_parts_reading(parts: usize, rows: usize, columns: usize) -> usize {
    if rows.saturating_mul(columns) < MATVEC_SPLIT_THRESHOLD_MACS {
        1
    } else {
        parts
    }
}

/// Whether the shapes allow a training step to split a layer of `n_out` outputs by rows at a batch
/// of `m` samples (given the threads): at least [`MIN_ROW_SPLIT_BATCH`] samples, at most twice the
/// outputs, and rows enough for two threads.
fn rows_may_split(n_out: usize, m: usize) -> bool {
    (MIN_ROW_SPLIT_BATCH..=2 * n_out).contains(&m) && n_out >= 2 * MIN_ROWS_PER_THREAD
}

/// The order a layer of `n_out` outputs holds its weights in for a batch of `m` samples: by rows
/// wherever a training step may split the layer by rows ([`rows_may_split`]), so that each
/// thread's rows are one range of memory; by columns elsewhere, where faer's products with few
/// columns and the matrix-vector kernel of a batch of one read `W` faster.
///
/// It depends on the shapes only, never on the threads: faer sums each entry of a product in the
/// same order whichever way its operands are stored for the shapes of the reported networks, but
/// not for every shape (a 10-row `W` at batches 2 to 4, a batch of one), so a given batch is always
/// computed from the same order, and results do not depend on the number of threads.
fn weights_order(n_out: usize, m: usize) -> Order {
    if rows_may_split(n_out, m) {
        Order::ByRows
    } else {
        Order::ByColumns
    }
}

/// The fewest rows of `W` worth giving a thread of its own in a row split: of a training step's
/// products, or of a batch of one's matrix-vector product.
const MIN_ROWS_PER_THREAD: usize = 32;

/// The smallest batch whose training step is split between threads by rows.
const MIN_ROW_SPLIT_BATCH: usize = 32;

/// The fewest samples per thread from which a training step splits the forward pass of a layer
/// above the first by samples rather than by the rows of `W`.
const MIN_HIDDEN_FORWARD_COLUMNS: usize = 32;

/// The fewest output columns worth giving a thread of its own.
const MIN_COLUMNS_PER_THREAD: usize = 16;

/// Matrix-vector products from this many multiply-adds (over the columns the kernel reads) are
/// split between threads inside the pool.
const MATVEC_SPLIT_THRESHOLD_MACS: usize = 1 << 16;

/// Output elements per cache block of a product followed by its element-wise pass: 256 KiB of
/// `f32`, which stays in a core's L2 cache next to the weights.
const BLOCK_ELEMENTS: usize = 1 << 16;

/// The columns per cache block of a column-major output with `rows` rows.
fn block_columns(rows: usize) -> usize {
    (BLOCK_ELEMENTS / rows.max(1)).max(MIN_COLUMNS_PER_THREAD)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(shapes: &[(usize, usize)], m: usize, threads: usize) -> Vec<LayerPlan> {
        let mut plan = StepPlan::default();
        par::in_pool(|| plan.prepare(shapes.iter().copied(), m, threads));
        (0..shapes.len()).map(|l| plan.layer(l)).collect()
    }

    /// The shallow net at a training batch is split by rows where a layer is wide enough, and its
    /// update follows the same rows; one thread splits nothing.
    #[test]
    fn training_batches_split_wide_layers_by_rows() {
        if rayon::current_num_threads() < 2 {
            return;
        }
        let shallow = [(150, 784), (10, 150)];
        let [hidden, output] = plan(&shallow, 64, 2)[..] else {
            unreachable!()
        };
        assert_eq!(hidden.forward, Split::Rows(2));
        assert_eq!(hidden.gradients, Split::Rows(2));
        assert_eq!(hidden.gradients.row_parts(), 2);
        assert_eq!((hidden.update_parts, hidden.side_by_side), (2, false));
        assert!(matches!(output.forward, Split::Columns { .. }));
        assert_eq!(output.update_parts, 1);
        for layer in plan(&shallow, 64, 1) {
            assert!(matches!(layer.gradients, Split::Columns { parts: 1, .. }));
            assert!(matches!(layer.forward, Split::Columns { parts: 1, .. }));
            assert!(matches!(layer.delta_below, Split::Columns { parts: 1, .. }));
            assert_eq!((layer.update_parts, layer.side_by_side), (1, false));
        }
        let evaluation = plan(&shallow, 10_000, 2);
        assert!(matches!(
            evaluation[0].forward,
            Split::Columns { parts: 2, .. }
        ));
        assert!(matches!(
            plan(&shallow, 1, 2)[0].forward,
            Split::MatVec { .. }
        ));
    }

    /// Back-propagation runs a layer's two products side by side exactly where one of them would
    /// otherwise be split — never for the first layer, which has no delta below — each product then
    /// cut as on one thread, so that its bits are those of a one-thread step; the update keeps the
    /// forward pass's rows.
    #[test]
    fn backward_products_run_side_by_side_where_either_would_be_split() {
        if rayon::current_num_threads() < 2 {
            return;
        }
        let deep = [(150, 784), (200, 150), (150, 200), (50, 150), (10, 50)];
        let (two, one) = (plan(&deep, 64, 2), plan(&deep, 64, 1));
        let side_by_side: Vec<bool> = two.iter().map(|layer| layer.side_by_side).collect();
        assert_eq!(side_by_side, [false, true, true, true, false]);
        for (l, (two, one)) in two.iter().zip(&one).enumerate().skip(1) {
            assert_eq!(
                (two.gradients, two.delta_below),
                (one.gradients, one.delta_below)
            );
            assert_eq!(two.update_parts, if l < 3 { 2 } else { 1 }, "layer {l}");
        }
        // The 10-output layer of the shallow net: its delta below would have followed the rows
        // of the hidden layer.
        assert!(plan(&[(150, 784), (10, 150)], 64, 2)[1].side_by_side);
        // At batch 16, only `∂W` would have been split (by its columns, one per input): the
        // delta below's 16 samples are too few to share.
        let batch_16 = plan(&deep, 16, 2);
        assert!(matches!(
            batch_16[1].delta_below,
            Split::Columns { parts: 1, .. }
        ));
        assert!(batch_16[1].side_by_side);
        // Products below the threshold are split by no one.
        assert!(!plan(&deep, 8, 2).iter().any(|layer| layer.side_by_side));
        assert!(!one.iter().any(|layer| layer.side_by_side));
    }

    /// Above the first layer, a training batch's forward pass is split by samples once each thread
    /// gets `MIN_HIDDEN_FORWARD_COLUMNS` of them, by rows below that; the first layer keeps its row
    /// split.
    #[test]
    fn hidden_layers_are_split_by_samples_from_32_per_thread() {
        if rayon::current_num_threads() < 2 {
            return;
        }
        let deep = [(150, 784), (200, 150), (150, 200), (50, 150), (10, 50)];
        for m in [64, 128] {
            let forward: Vec<Split> = plan(&deep, m, 2).iter().map(|l| l.forward).collect();
            assert_eq!(forward[0], Split::Rows(2), "batch {m}");
            for (l, split) in forward.iter().enumerate().take(3).skip(1) {
                let by_samples = matches!(split, Split::Columns { parts: 2, .. });
                assert!(by_samples, "layer {l} at batch {m}: {split:?}");
            }
        }
        let forward: Vec<Split> = plan(&deep, 63, 2).iter().map(|l| l.forward).collect();
        assert_eq!(forward[..3], [Split::Rows(2); 3]);
    }

    /// `W` is held by rows exactly where a training step may split it by rows: batches from
    /// `MIN_ROW_SPLIT_BATCH` to twice the layer's outputs, layers of at least two threads' rows.
    #[test]
    fn weights_are_held_by_rows_exactly_where_a_step_may_split_them() {
        use Order::{ByColumns, ByRows};
        let cases = [
            ((150, 784), 31, ByColumns),
            ((150, 784), 32, ByRows),
            ((150, 784), 300, ByRows),
            ((150, 784), 301, ByColumns),
            ((64, 150), 128, ByRows),
            ((64, 150), 129, ByColumns),
            ((63, 150), 64, ByColumns),
            ((50, 150), 64, ByColumns),
            ((10, 150), 16, ByColumns),
        ];
        for (shape, m, order) in cases {
            assert_eq!(weights_order(shape.0, m), order, "{shape:?} at batch {m}");
            for threads in [1, 2] {
                assert_eq!(plan(&[shape], m, threads)[0].weights, order);
            }
        }
    }

    /// A row split gives each thread at least `MIN_ROWS_PER_THREAD` rows: as many parts as the
    /// threads allow, no more than the rows do.
    #[test]
    fn a_row_split_has_as_many_parts_as_threads_and_rows_allow() {
        let budget = |threads| Budget {
            threads,
            threshold_macs: 0,
            in_pool: true,
        };
        assert_eq!(budget(4).training_row_parts(96, 784, 64), 3);
        assert_eq!(budget(2).training_row_parts(64, 784, 64), 2);
        assert_eq!(budget(2).training_row_parts(63, 784, 64), 1);
        assert_eq!(budget(1).training_row_parts(150, 784, 64), 1);
        assert_eq!(budget(8).training_row_parts(150, 784, 301), 1);
    }

    /// Products split from exactly `threshold_macs` multiply-adds on, into as many parts as the
    /// threads allow and the outputs fill (16 columns, 32 rows each at least).
    #[test]
    fn products_split_from_the_threshold_on() {
        let budget = |threads, threshold_macs| Budget {
            threads,
            threshold_macs,
            in_pool: true,
        };
        assert_eq!(budget(2, 1000).column_parts(64, 999), 1);
        assert_eq!(budget(2, 1000).column_parts(64, 1000), 2);
        assert_eq!(budget(4, 1000).column_parts(48, 1000), 3);
        assert_eq!(budget(2, 1000).column_parts(31, 1000), 1);
        assert_eq!(budget(1, 0).column_parts(64, 1000), 1);
        let step = 150 * 784 * 64;
        assert_eq!(budget(2, step).training_row_parts(150, 784, 64), 2);
        assert_eq!(budget(2, step + 1).training_row_parts(150, 784, 64), 1);
    }

    /// Column blocks hold `BLOCK_ELEMENTS` outputs, and never fewer than `MIN_COLUMNS_PER_THREAD`
    /// columns.
    #[test]
    fn column_blocks_hold_a_cache_block_of_outputs() {
        assert_eq!(block_columns(150), (1 << 16) / 150);
        assert_eq!(block_columns(1), 1 << 16);
        assert_eq!(block_columns(0), 1 << 16);
        assert_eq!(block_columns(10_000), 16);
    }

    /// Passes over the rows of an output (`∂b`, the update) are cut as a row split's products are,
    /// and not at all otherwise.
    #[test]
    fn row_passes_follow_a_row_split_only() {
        assert_eq!(Split::Rows(3).row_parts(), 3);
        let columns = Split::Columns {
            parts: 2,
            block_columns: 16,
        };
        assert_eq!(columns.row_parts(), 1);
        assert_eq!(Split::MatVec { parts: 2 }.row_parts(), 1);
    }

    /// The plan bounds a batch of one's split by the threads and the rows (at least 32 each), and
    /// splits only inside the pool.
    #[test]
    fn a_batch_of_one_may_be_split_by_threads_and_rows_inside_the_pool() {
        let budget = |threads, in_pool| Budget {
            threads,
            threshold_macs: 0,
            in_pool,
        };
        assert_eq!(budget(2, true).matvec_parts(150), 2);
        assert_eq!(budget(4, true).matvec_parts(96), 3);
        assert_eq!(budget(2, true).matvec_parts(63), 1);
        assert_eq!(budget(2, true).matvec_parts(10), 1);
        assert_eq!(budget(2, false).matvec_parts(150), 1);
        assert_eq!(budget(1, true).matvec_parts(150), 1);
    }

    /// A batch of one is split as the plan allows only when the columns the kernel reads (those of
    /// the nonzero inputs) hold enough multiply-adds: a digit's ~150 pixels in a 150-row layer do
    /// not, its 784 columns do.
    #[test]
    fn a_matrix_vector_product_is_split_by_the_columns_it_reads() {
        assert_eq!(matvec_parts_reading(2, 150, 784), 2);
        assert_eq!(matvec_parts_reading(2, 150, 150), 1);
        assert_eq!(matvec_parts_reading(2, 64, 1024), 2);
        assert_eq!(matvec_parts_reading(2, 64, 1023), 1);
        assert_eq!(matvec_parts_reading(1, 150, 784), 1);
        assert_eq!(matvec_parts_reading(2, usize::MAX, 2), 2);
    }

    #[test]
    fn an_unplanned_layer_is_sequential() {
        assert_eq!(StepPlan::default().layer(3), LayerPlan::SEQUENTIAL);
    }
}
