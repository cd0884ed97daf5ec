//! Which products run on one thread and which on several, and how their work is split between
//! threads.
//!
//! A layer's forward product `W·X`, its delta product `Wᵀ·Δ` and its gradient `Δ·Xᵀ` are split
//! between threads by the layers themselves, each thread running faer's *sequential* kernel on its
//! part (faer's own multi-threaded product allocates on every call and synchronises more):
//!
//! - **Training batches** (`32 ≤ m ≤ 2·n_out`) split each layer by the rows of `W`
//!   ([`training_row_parts`], [`for_row_blocks`]): a thread computes its rows of the output, of `Δ`,
//!   of `∂W` and `∂b`, and updates those rows of the parameters, so that what changes every step stays
//!   in that thread's cache. Only the layer inputs and the deltas cross between cores.
//! - **Large batches** (evaluation, the forward benchmark) split the samples, the columns
//!   ([`column_parts`], [`for_column_blocks`]); within its range a thread works through blocks small
//!   enough that the element-wise pass after each product finds the block still in its cache.
//! - **A batch of one** splits the rows of the matrix-vector product ([`row_parts`]).
//!
//! **What parallelism costs.** Splitting a product from a thread outside rayon's pool hands the
//! work to the pool and puts the caller to sleep until it is done, several microseconds per
//! product; and rayon's workers fall asleep after a few microseconds without work, so in a training
//! step (which alternates products with sequential work) they must be woken for every product.
//! Running the training loop inside [`in_pool`] removes both costs: the caller is a worker, does
//! its part of each product itself, and the other workers stay awake until the loop is done.
//!
//! Measured on the 2-core machine of `STYLE.md` (784-150-10, f32, one epoch over 60 000 shuffled
//! images as `mlp-cli train` runs it, useful FLOPs against the GEMM peak): batch 64, 32 % of the
//! peak from a plain thread with products split by columns, 50 % inside [`in_pool`] with the row
//! split; batch 256, 46 % and 64 %. The row split matters most when the two virtual cores sit on
//! different chiplets of the host, which happens from time to time on that machine (a round trip of
//! a cache line between them then takes 420 ns instead of 80–100): there, the column split inside
//! [`in_pool`] fell to 230 ms an epoch at batch 64, slower than one thread. In that placement even
//! the row split can lose to one thread (285 ms against 176 at batch 64), so `mlp-cli train` times
//! a few steps each way at the start of every epoch and keeps the faster; the results are the same
//! to the bit either way.

use faer::{MatMut, MatRef, Par};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Products with fewer multiply-adds than this run on one thread when the caller is not a worker of
/// rayon's pool: below it, handing half to the (probably sleeping) pool costs more than it saves.
///
/// Measured with the `sweep` of the performance report: a 150 × 784 layer at batch 64 (7.5 M
/// multiply-adds) trains faster sequentially from a plain thread, at batch 128 (15 M) in parallel.
pub const PARALLEL_THRESHOLD_MACS: usize = 1 << 23;

/// Products with fewer multiply-adds than this run on one thread when the caller is a worker of
/// rayon's pool (see [`in_pool`]). From 2¹⁵ to 2²⁰ the training speed of 784-150-10 and of the deep
/// net at batch 16 and 64 does not change measurably; below, splitting the smallest products only
/// adds overhead.
pub const IN_POOL_THRESHOLD_MACS: usize = 1 << 18;

/// The fewest output columns worth giving a thread of its own.
const MIN_COLUMNS_PER_THREAD: usize = 16;

/// Output elements per cache block of a fused product + element-wise pass: 256 KiB of `f32`, which
/// stays in a core's L2 cache next to the weights. Measured on one thread over the 60 000 images:
/// 2¹⁶ and 2¹⁷ are best, 2¹⁴ and 2¹⁸ 2–3 % slower, no blocking 7 % slower.
const BLOCK_ELEMENTS: usize = 1 << 16;

/// The parallelism of an `m × k` by `k × n` product for faer, for a network allowed `threads`
/// threads. (The layers split their products themselves, with `column_parts`; this is for other
/// products run next to them.)
///
/// `Par::rayon` runs on rayon's global pool, whose threads are started once, not per call.
#[inline]
pub fn for_product(m: usize, n: usize, k: usize, threads: usize) -> Par {
    let macs = m.saturating_mul(n).saturating_mul(k);
    if threads <= 1 || macs < threshold() {
        Par::Seq
    } else {
        Par::rayon(threads)
    }
}

/// The number of threads available by default: rayon's global pool size.
pub fn default_threads() -> usize {
    rayon::current_num_threads()
}

/// Starts rayon's global pool with `threads` threads (for `--threads` flags); call it before any
/// parallel work. Returns `false` when the pool had already been started with another size, which
/// then stays in effect.
pub fn init_global_pool(threads: usize) -> bool {
    let threads = threads.max(1);
    let built = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .is_ok();
    built || rayon::current_num_threads() == threads
}

/// Runs `f` on a worker thread of rayon's global pool, with the pool's other workers kept awake
/// until it returns, and returns its result; when the calling thread already is a worker, simply
/// runs `f`.
///
/// Wrap a training loop (or a benchmark) in it: the products of its steps are then split between
/// the cores at a cost of nanoseconds instead of microseconds, so that products down to
/// [`IN_POOL_THRESHOLD_MACS`] (instead of [`PARALLEL_THRESHOLD_MACS`]) run in parallel. The price is
/// that the other cores spin while `f` runs its sequential parts — like an OpenMP program with an
/// active wait policy; after a millisecond without work they only check every 50 µs.
///
/// ```
/// use faer::Mat;
/// use mlp_core::{par, Activation, Mlp};
///
/// let mut mlp = Mlp::<f32>::new(&[784, 150, 10], Activation::Sigmoid, 0)?;
/// let x = Mat::<f32>::zeros(784, 64);
/// let y = Mat::<f32>::from_fn(10, 64, |i, _| if i == 0 { 1.0 } else { 0.0 });
/// par::in_pool(|| -> mlp_core::Result<()> {
///     for _ in 0..3 {
///         mlp.propagate(x.as_ref())?;
///         mlp.backpropagate(x.as_ref(), y.as_ref())?;
///         mlp.update_params(0.1)?;
///     }
///     Ok(())
/// })?;
/// # Ok::<(), mlp_core::MlpError>(())
/// ```
pub fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        return f();
    }
    let done = AtomicBool::new(false);
    let done = &done;
    rayon::scope(|scope| {
        // Set even if `f` panics, so that the helpers stop and the panic reaches the caller.
        let _done = SetOnDrop(done);
        let owner = rayon::current_thread_index();
        // Spawned before `f` pushes any work: thieves take the oldest jobs first, so by the time
        // anything of `f`'s is stolen these have been, and no thread can run one of them while
        // waiting for `f`'s work (which would wait for `f` in turn).
        for _ in 1..rayon::current_num_threads() {
            scope.spawn(move |_| {
                if rayon::current_thread_index() != owner {
                    stay_awake(done);
                }
            });
        }
        f()
    })
}

/// Sets the flag when dropped.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Keeps a worker of the pool running the pool's jobs until `done`, instead of going to sleep after
/// a few microseconds without any (rayon's policy), so that the next product split between threads
/// finds it ready. After a millisecond without work it naps between looks, so that a caller busy
/// with something else (I/O, evaluation) does not keep a core spinning.
fn stay_awake(done: &AtomicBool) {
    let mut idle_since: Option<Instant> = None;
    while !done.load(Ordering::Acquire) {
        if rayon::yield_now() == Some(rayon::Yield::Executed) {
            idle_since = None;
            continue;
        }
        let since = *idle_since.get_or_insert_with(Instant::now);
        if since.elapsed() < Duration::from_millis(1) {
            for _ in 0..32 {
                std::hint::spin_loop();
            }
        } else {
            std::thread::sleep(Duration::from_micros(50));
        }
    }
}

/// The multiply-adds from which a product is worth splitting between threads, from this thread.
#[inline]
fn threshold() -> usize {
    if rayon::current_thread_index().is_some() {
        IN_POOL_THRESHOLD_MACS
    } else {
        PARALLEL_THRESHOLD_MACS
    }
}

/// Into how many contiguous column ranges to split a product with `n_columns` output columns and
/// `macs` multiply-adds, for a network allowed `threads` threads (1: run it on the calling thread).
#[inline]
pub(crate) fn column_parts(n_columns: usize, macs: usize, threads: usize) -> usize {
    if threads <= 1 || macs < threshold() {
        return 1;
    }
    threads
        .min(rayon::current_num_threads())
        .min(n_columns / MIN_COLUMNS_PER_THREAD)
        .max(1)
}

/// Into how many row ranges to split the matrix-vector product of a batch of one, with `n_rows`
/// output rows and `macs` multiply-adds. Only inside the pool, where handing half to an awake
/// worker costs a fraction of a microsecond: the 117 600 multiply-adds of a 150 × 784 layer take about 5 µs on one
/// core, streaming the weights from its L2 cache, and half that on each of two.
#[inline]
pub(crate) fn row_parts(n_rows: usize, macs: usize, threads: usize) -> usize {
    if threads <= 1 || macs < ROW_SPLIT_THRESHOLD_MACS || rayon::current_thread_index().is_none() {
        return 1;
    }
    threads
        .min(rayon::current_num_threads())
        .min(n_rows / 32)
        .max(1)
}

/// Matrix-vector products from this many multiply-adds are split between threads inside the pool.
const ROW_SPLIT_THRESHOLD_MACS: usize = 1 << 16;

/// The columns per cache block of a column-major output with `rows` rows.
#[inline]
pub(crate) fn block_columns(rows: usize) -> usize {
    (BLOCK_ELEMENTS / rows.max(1)).max(MIN_COLUMNS_PER_THREAD)
}

/// Calls `f(first_column, block)` on consecutive blocks of at most `block_columns` columns of the
/// column-major `out` (`rows` rows), the columns being split into `parts` contiguous ranges that run
/// in parallel on rayon's pool (`parts == 1`: everything on the calling thread, in order).
pub(crate) fn for_column_blocks<T: Send>(
    out: &mut [T],
    rows: usize,
    block_columns: usize,
    parts: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    if rows == 0 || out.is_empty() {
        return;
    }
    let block_len = rows.saturating_mul(block_columns.max(1));
    let blocks = |first: usize, range: &mut [T]| {
        for (b, block) in range.chunks_mut(block_len).enumerate() {
            f(first + b * block_columns, block);
        }
    };
    if parts <= 1 {
        blocks(0, out);
        return;
    }
    let n_columns = out.len() / rows;
    // Ranges of a multiple of 4 columns keep the product kernels on full register tiles.
    let per_part = n_columns.div_ceil(parts).next_multiple_of(4);
    out.par_chunks_mut(rows * per_part)
        .enumerate()
        .for_each(|(p, range)| blocks(p * per_part, range));
}

/// Into how many row ranges a training step splits a layer of `n_out` outputs and `n_in` inputs at
/// batch size `m`, for a network allowed `threads` threads (1: no row split).
///
/// In a training step the weights change every step. Split by columns (samples), every thread
/// would read all of `W` after the update wrote it, and `∂W` would be written by one thread and read
/// by another: about `3 · n_out · n_in` values crossing between cores per step. Split by rows,
/// each thread keeps its rows of `W`, `∂W`, the bias and the optimiser's velocity in its own cache
/// through forward, backward and update (the same ranges every time), and only the layer's input
/// (`n_in · m`) and the deltas cross. That is the smaller traffic while `m < 2·n_out` or so; beyond,
/// the products are large enough that the column split's traffic does not matter, and evaluation
/// batches of thousands keep the column split, which reads the input once. On the 2-core machine
/// of `STYLE.md`, whose virtual cores sometimes sit on different chiplets of the host (a round trip
/// between them of 420 ns instead of 100), the column split trained 784-150-10 at batch 64 in 230 ms
/// an epoch there and 120 ms otherwise; the row split is fast in both placements.
#[inline]
pub(crate) fn training_row_parts(n_out: usize, n_in: usize, m: usize, threads: usize) -> usize {
    let macs = n_out.saturating_mul(n_in).saturating_mul(m);
    if threads <= 1 || m < MIN_ROW_SPLIT_BATCH || m > 2 * n_out || macs < threshold() {
        return 1;
    }
    threads
        .min(rayon::current_num_threads())
        .min(n_out / 32)
        .max(1)
}

/// The smallest batch whose training step is split between threads. Below it a step's products
/// last a few microseconds, and handing work between cores costs a sizeable part of that, the more
/// so when the two cores sit on different chiplets: at batch 16 the deep net trained an epoch in
/// 0.45 s on one thread and 0.47 s on two, and up to 1.2 s on two in the far placement.
const MIN_ROW_SPLIT_BATCH: usize = 32;

/// Views that can be cut in two at a row: matrices, columns, and tuples of them with the same
/// number of rows (a layer's weights, their gradient and the optimiser's velocity, cut together).
pub(crate) trait SplitRows: Send + Sized {
    /// The number of rows.
    fn n_rows(&self) -> usize;
    /// Rows `..row` and `row..`.
    fn split_rows(self, row: usize) -> (Self, Self);
}

impl<T: Send> SplitRows for MatMut<'_, T> {
    fn n_rows(&self) -> usize {
        self.nrows()
    }
    fn split_rows(self, row: usize) -> (Self, Self) {
        self.split_at_row_mut(row)
    }
}

impl<T: Sync> SplitRows for MatRef<'_, T> {
    fn n_rows(&self) -> usize {
        self.nrows()
    }
    fn split_rows(self, row: usize) -> (Self, Self) {
        self.split_at_row(row)
    }
}

impl<T: Send> SplitRows for &mut [T] {
    fn n_rows(&self) -> usize {
        self.len()
    }
    fn split_rows(self, row: usize) -> (Self, Self) {
        self.split_at_mut(row)
    }
}

impl<T: Sync> SplitRows for &[T] {
    fn n_rows(&self) -> usize {
        self.len()
    }
    fn split_rows(self, row: usize) -> (Self, Self) {
        self.split_at(row)
    }
}

macro_rules! split_rows_for_tuple {
    ($($name:ident $index:tt),+) => {
        impl<$($name: SplitRows),+> SplitRows for ($($name,)+) {
            fn n_rows(&self) -> usize {
                self.0.n_rows()
            }
            #[allow(non_snake_case)] // the halves of field `A` are bound to `A`, and so on
            fn split_rows(self, row: usize) -> (Self, Self) {
                $(let $name = self.$index.split_rows(row);)+
                (($($name.0,)+), ($($name.1,)+))
            }
        }
    };
}

split_rows_for_tuple!(A 0, B 1);
split_rows_for_tuple!(A 0, B 1, C 2);
split_rows_for_tuple!(A 0, B 1, C 2, D 3);
split_rows_for_tuple!(A 0, B 1, C 2, D 3, E 4);
split_rows_for_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);

/// Calls `f(first_row, block)` on `parts` contiguous row ranges of `views` in parallel on rayon's
/// pool (`parts == 1`: once, on the calling thread). Ranges start at multiples of 16 rows, so that
/// threads share no cache line of a column-major `f32` matrix; the same `parts` and row count
/// always give the same ranges.
pub(crate) fn for_row_blocks<S: SplitRows>(views: S, parts: usize, f: impl Fn(usize, S) + Sync) {
    fn split<S: SplitRows>(
        first: usize,
        views: S,
        per_part: usize,
        f: &(impl Fn(usize, S) + Sync),
    ) {
        if views.n_rows() <= per_part {
            f(first, views);
        } else {
            let (top, bottom) = views.split_rows(per_part);
            rayon::join(
                || f(first, top),
                || split(first + per_part, bottom, per_part, f),
            );
        }
    }
    debug_assert!(parts >= 1);
    let per_part = views
        .n_rows()
        .div_ceil(parts.max(1))
        .next_multiple_of(16)
        .max(1);
    split(0, views, per_part, &f);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every column is visited exactly once, with the right index, whatever the split.
    #[test]
    fn column_blocks_cover_every_column_once() {
        for (rows, n_columns, block, parts) in [
            (3, 1, 4, 1),
            (3, 10, 4, 1),
            (3, 10, 4, 2),
            (2, 100, 7, 2),
            (5, 33, usize::MAX, 2),
            (1, 17, 1, 3),
        ] {
            let mut out = vec![0usize; rows * n_columns];
            for_column_blocks(&mut out, rows, block, parts, |first, block| {
                for (j, column) in block.chunks_exact_mut(rows).enumerate() {
                    for v in column {
                        *v += first + j + 1;
                    }
                }
            });
            let expected: Vec<usize> = (0..n_columns)
                .flat_map(|j| std::iter::repeat_n(j + 1, rows))
                .collect();
            assert_eq!(out, expected, "{rows}×{n_columns} in blocks of {block}");
        }
    }

    #[test]
    fn row_blocks_cover_every_row_once() {
        for (n_rows, n_columns, parts) in
            [(1, 1, 2), (150, 1, 2), (150, 3, 2), (40, 2, 3), (16, 1, 1)]
        {
            let mut data = vec![0usize; n_rows * n_columns];
            let out = MatMut::from_column_major_slice_mut(&mut data, n_rows, n_columns);
            for_row_blocks(out, parts, |first, mut block| {
                for j in 0..block.ncols() {
                    for i in 0..block.nrows() {
                        block[(i, j)] += first + i + 1;
                    }
                }
            });
            let expected: Vec<usize> = (0..n_columns).flat_map(|_| 1..=n_rows).collect();
            assert_eq!(data, expected, "{n_rows}×{n_columns} in {parts} parts");
        }
    }

    /// `in_pool` runs its closure on a worker, nests, returns its value, and stops its helpers even
    /// when the closure panics.
    #[test]
    fn in_pool_runs_on_a_worker_and_returns() {
        let (index, nested) = in_pool(|| (rayon::current_thread_index(), in_pool(|| 7)));
        assert!(index.is_some());
        assert_eq!(nested, 7);
        let panicked = std::panic::catch_unwind(|| in_pool(|| panic!("inside")));
        assert!(panicked.is_err());
        assert_eq!(in_pool(|| 3), 3);
    }

    /// Several threads using `in_pool` at once, each splitting work, all finish.
    #[test]
    fn concurrent_in_pool_calls_finish() {
        std::thread::scope(|s| {
            for t in 0..4 {
                s.spawn(move || {
                    in_pool(|| {
                        for _ in 0..200 {
                            let mut out = vec![0u32; 64 * 8];
                            for_column_blocks(&mut out, 8, 4, 4, |_, block| {
                                block.iter_mut().for_each(|v| *v += t);
                            });
                            assert!(out.iter().all(|&v| v == t));
                        }
                    })
                });
            }
        });
    }
}
