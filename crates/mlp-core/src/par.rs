//! Threads: rayon's pool, running a loop on one of its workers ([`in_pool`]), and the helpers that
//! run a function on contiguous row or column ranges of matrices in parallel.
//!
//! *Which* products are split, and how, is decided per batch by the step plan (`plan.rs`); this
//! module only carries the split out. Each part runs faer's *sequential* kernel (faer's own
//! multi-threaded product allocates on every call and synchronises more).
//!
//! **What parallelism costs.** Splitting a product from a thread outside rayon's pool hands the
//! work to the pool and puts the caller to sleep until it is done, several microseconds per
//! product; and rayon's workers fall asleep after a few microseconds without work, so in a training
//! step (which alternates products with sequential work) they must be woken for every product.
//! Running the training loop inside [`in_pool`] removes both costs: the caller is a worker, does
//! its part of each product itself, and the other workers stay awake until the loop is done,
//! each watching a mailbox where the caller posts their parts (`handoff.rs`: rayon's own hand-over
//! costs microseconds even between awake workers).

mod handoff;

use faer::{MatMut, MatRef, Par};
use handoff::Crew;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Products with fewer multiply-adds than this run on one thread when the caller is not a worker of
/// rayon's pool: below it, handing half to the (probably sleeping) pool costs more than it saves.
/// (A 150 × 784 layer at batch 64 has 7.5 M multiply-adds; ARCHITECTURE.md has the measurement.)
pub const PARALLEL_THRESHOLD_MACS: usize = 1 << 23;

/// Products with fewer multiply-adds than this run on one thread when the caller is a worker of
/// rayon's pool (see [`in_pool`]), where handing work to another core is cheap; below it, splitting
/// the smallest products only adds overhead.
pub const IN_POOL_THRESHOLD_MACS: usize = 1 << 18;

/// The parallelism of an `m × k` by `k × n` product for faer, for a network allowed `threads`
/// threads. (The layers split their products themselves, as the step plan says; this is for other
/// products run next to them.)
///
/// `Par::rayon` runs on rayon's global pool, whose threads are started once, not per call.
#[inline]
pub fn for_product(m: usize, n: usize, k: usize, threads: usize) -> Par {
    let macs = m.saturating_mul(n).saturating_mul(k);
    if threads <= 1 || macs < threshold_macs(rayon::current_thread_index().is_some()) {
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
    let crew = Crew::new(rayon::current_num_threads() - 1);
    let crew = &crew;
    rayon::scope(|scope| {
        // Set even if `f` panics, so that the helpers stop and the panic reaches the caller.
        let _done = SetOnDrop(done);
        let owner = rayon::current_thread_index();
        // Spawned before `f` pushes any work: thieves take the oldest jobs first, so by the time
        // anything of `f`'s is stolen these have been, and no thread can run one of them while
        // waiting for `f`'s work (which would wait for `f` in turn).
        for helper in 0..crew.len() {
            scope.spawn(move |_| {
                if rayon::current_thread_index() != owner {
                    stay_awake(done, crew, helper);
                }
            });
        }
        let _member = crew.enter(None);
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

/// Keeps a worker of the pool running the jobs posted in its mailbox of `crew` and the pool's jobs
/// until `done`, instead of going to sleep after a few microseconds without any (rayon's policy), so
/// that the next product split between threads finds it ready. After a millisecond without work it
/// naps between looks, so that a caller busy with something else (I/O, evaluation) does not keep a
/// core spinning; while it naps, nothing is posted to it.
fn stay_awake(done: &AtomicBool, crew: &Crew, mailbox: usize) {
    let _member = crew.enter(Some(mailbox));
    let mut idle_since: Option<Instant> = None;
    crew.watch(mailbox, true);
    while !done.load(Ordering::Acquire) {
        if crew.run_posted(mailbox) || rayon::yield_now() == Some(rayon::Yield::Executed) {
            if idle_since
                .take()
                .is_some_and(|since| since.elapsed() >= NAP_AFTER)
            {
                crew.watch(mailbox, true);
            }
            continue;
        }
        let since = *idle_since.get_or_insert_with(Instant::now);
        if since.elapsed() < NAP_AFTER {
            for _ in 0..32 {
                std::hint::spin_loop();
            }
        } else {
            // Not watched while napping: a poster then runs both halves itself (or through rayon).
            crew.watch(mailbox, false);
            std::thread::sleep(Duration::from_micros(50));
        }
    }
    crew.watch(mailbox, false);
}

/// How long a helper spins without work before it naps between looks.
const NAP_AFTER: Duration = Duration::from_millis(1);

/// The multiply-adds from which a product is worth splitting between threads, from a worker of
/// rayon's pool (`in_pool`) or from another thread.
pub(crate) fn threshold_macs(in_pool: bool) -> usize {
    if in_pool {
        IN_POOL_THRESHOLD_MACS
    } else {
        PARALLEL_THRESHOLD_MACS
    }
}

/// Views that can be cut in two at a row: matrices, columns, and tuples of them with the same
/// number of rows (a layer's weights, their gradient and the optimiser's velocity, cut together).
pub(crate) trait SplitRows: Send + Sized {
    /// The number of rows.
    fn n_rows(&self) -> usize;
    /// Rows `..row` and `row..`.
    fn split_rows(self, row: usize) -> (Self, Self);
    /// The multiple of rows a range must start at for two ranges to share no cache line.
    fn row_alignment(&self) -> usize;
}

/// The row alignment of a matrix with the given row stride: [`LINE_ROWS`] when a column holds
/// its rows next to each other, 1 when each row is a range of memory of its own.
fn alignment_for_row_stride(row_stride: isize) -> usize {
    if row_stride.unsigned_abs() == 1 {
        LINE_ROWS
    } else {
        1
    }
}

impl<T: Send> SplitRows for MatMut<'_, T> {
    fn n_rows(&self) -> usize {
        self.nrows()
    }
    fn split_rows(self, row: usize) -> (Self, Self) {
        self.split_at_row_mut(row)
    }
    fn row_alignment(&self) -> usize {
        alignment_for_row_stride(self.row_stride())
    }
}

impl<T: Sync> SplitRows for MatRef<'_, T> {
    fn n_rows(&self) -> usize {
        self.nrows()
    }
    fn split_rows(self, row: usize) -> (Self, Self) {
        self.split_at_row(row)
    }
    fn row_alignment(&self) -> usize {
        alignment_for_row_stride(self.row_stride())
    }
}

impl<T: Send> SplitRows for &mut [T] {
    fn n_rows(&self) -> usize {
        self.len()
    }
    fn split_rows(self, row: usize) -> (Self, Self) {
        self.split_at_mut(row)
    }
    fn row_alignment(&self) -> usize {
        LINE_ROWS
    }
}

impl<T: Sync> SplitRows for &[T] {
    fn n_rows(&self) -> usize {
        self.len()
    }
    fn split_rows(self, row: usize) -> (Self, Self) {
        self.split_at(row)
    }
    fn row_alignment(&self) -> usize {
        LINE_ROWS
    }
}

impl<S: SplitRows> SplitRows for Option<S> {
    fn n_rows(&self) -> usize {
        self.as_ref().map_or(0, S::n_rows)
    }
    fn split_rows(self, row: usize) -> (Self, Self) {
        self.map(|views| views.split_rows(row)).unzip()
    }
    fn row_alignment(&self) -> usize {
        self.as_ref().map_or(1, S::row_alignment)
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
            fn row_alignment(&self) -> usize {
                [$(self.$index.row_alignment()),+].into_iter().max().unwrap_or(1)
            }
        }
    };
}

split_rows_for_tuple!(A 0, B 1);
split_rows_for_tuple!(A 0, B 1, C 2);
split_rows_for_tuple!(A 0, B 1, C 2, D 3);
split_rows_for_tuple!(A 0, B 1, C 2, D 3, E 4);
split_rows_for_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);

/// Runs `a` and `b`: side by side when `side_by_side`, `b` handed to another worker of the pool as
/// the parts of a split are; else one after the other on the calling thread.
pub(crate) fn both(side_by_side: bool, a: impl FnOnce() + Send, b: impl FnOnce() + Send) {
    if side_by_side {
        handoff::join(a, b);
    } else {
        a();
        b();
    }
}

/// The rows of a column-major `f32` matrix that share a cache line: 64 bytes.
const LINE_ROWS: usize = 16;

/// Calls `f(first_row, block)` on `parts` contiguous row ranges of `views` in parallel on rayon's
/// pool (`parts == 1`: once, on the calling thread). Ranges are as even as the views' row
/// alignment allows: matrices held by rows are cut anywhere, while the ranges of a column-major
/// matrix start at multiples of 16 rows, so that threads share no cache line (150 rows: 80 and 70).
/// The same views, `parts` and row count always give the same ranges.
pub(crate) fn for_row_blocks<S: SplitRows>(views: S, parts: usize, f: impl Fn(usize, S) + Sync) {
    let per_part = views
        .n_rows()
        .div_ceil(parts.max(1))
        .next_multiple_of(views.row_alignment());
    for_ranges(views, per_part, &f);
}

/// Calls `f(first_column, block)` on consecutive blocks of at most `block_columns` columns of
/// `out`, the columns being split into `parts` contiguous ranges that run in parallel on rayon's
/// pool (`parts == 1`: every block on the calling thread, in order). Ranges of a multiple of 4
/// columns keep the product kernels on full register tiles.
pub(crate) fn for_column_blocks<T: Send>(
    out: MatMut<'_, T>,
    parts: usize,
    block_columns: usize,
    f: impl Fn(usize, MatMut<'_, T>) + Sync,
) {
    let per_part = out.ncols().div_ceil(parts.max(1)).next_multiple_of(4);
    for_ranges(
        out.transpose_mut(),
        per_part,
        &|first, range: MatMut<'_, T>| {
            let mut range = range.transpose_mut();
            let mut done = 0;
            while range.ncols() > 0 {
                let columns = range.ncols().min(block_columns.max(1));
                let (block, rest) = range.split_at_col_mut(columns);
                f(first + done, block);
                (range, done) = (rest, done + columns);
            }
        },
    );
}

/// Calls `f(first_row, range)` on consecutive ranges of `per_part` rows of `views` (the last one
/// shorter), all but the first handed to rayon's pool.
fn for_ranges<S: SplitRows>(views: S, per_part: usize, f: &(impl Fn(usize, S) + Sync)) {
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
            handoff::join(
                || f(first, top),
                || split(first + per_part, bottom, per_part, f),
            );
        }
    }
    split(0, views, per_part.max(1), f);
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    /// Adds `1 + 1000·row + column` to every entry of a block whose first entry is at
    /// `(first_row, first_column)` of the whole matrix.
    fn mark(first_row: usize, first_column: usize, mut block: MatMut<'_, f64>) {
        for j in 0..block.ncols() {
            for i in 0..block.nrows() {
                block[(i, j)] += (1 + 1000 * (first_row + i) + first_column + j) as f64;
            }
        }
    }

    /// Whether `marked` is what [`mark`] leaves when every entry is visited once, at its index.
    #[track_caller]
    fn check_marked_once(marked: &Mat<f64>, case: &str) {
        let once = Mat::from_fn(marked.nrows(), marked.ncols(), |i, j| {
            (1 + 1000 * i + j) as f64
        });
        assert!(marked == &once, "{case}");
    }

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
            let mut out = Mat::zeros(rows, n_columns);
            for_column_blocks(out.as_mut(), parts, block, |first, b| {
                assert!(b.ncols() <= block);
                mark(0, first, b);
            });
            check_marked_once(&out, &format!("{rows}×{n_columns} in blocks of {block}"));
        }
    }

    #[test]
    fn row_blocks_cover_every_row_once() {
        for (n_rows, n_columns, parts) in
            [(1, 1, 2), (150, 1, 2), (150, 3, 2), (40, 2, 3), (16, 1, 1)]
        {
            let mut out = Mat::zeros(n_rows, n_columns);
            for_row_blocks(out.as_mut(), parts, |first, block| mark(first, 0, block));
            check_marked_once(&out, &format!("{n_rows}×{n_columns} in {parts} parts"));
        }
    }

    /// Rows held each in a range of memory of its own are cut evenly; the rows of a column-major
    /// matrix, or of a tuple holding one, at a cache line.
    #[test]
    fn row_blocks_are_even_where_no_cache_line_is_shared() {
        let starts = |views: MatMut<'_, f64>, parts| {
            let firsts = std::sync::Mutex::new(Vec::new());
            for_row_blocks(views, parts, |first, _| firsts.lock().unwrap().push(first));
            let mut firsts = firsts.into_inner().unwrap();
            firsts.sort_unstable();
            firsts
        };
        let mut by_rows = Mat::<f64>::zeros(784, 150);
        assert_eq!(starts(by_rows.as_mut().transpose_mut(), 2), [0, 75]);
        assert_eq!(starts(by_rows.as_mut().transpose_mut(), 3), [0, 50, 100]);
        let mut by_columns = Mat::<f64>::zeros(150, 784);
        assert_eq!(starts(by_columns.as_mut(), 2), [0, 80]);
        let mut column = [0.0; 150];
        let rows_then = |tail| (by_rows.as_ref().transpose(), tail);
        assert_eq!(rows_then(Some(&column[..])).row_alignment(), 16);
        assert_eq!(rows_then(None).row_alignment(), 1);
        // Each kind of view on its own.
        assert_eq!(by_rows.as_ref().transpose().row_alignment(), 1);
        assert_eq!(by_columns.as_ref().row_alignment(), 16);
        assert_eq!(by_rows.as_mut().transpose_mut().row_alignment(), 1);
        assert_eq!(by_columns.as_mut().row_alignment(), 16);
        assert_eq!((&column[..]).row_alignment(), 16);
        let rows_to_write: &mut [f64] = &mut column;
        assert_eq!(rows_to_write.row_alignment(), 16);
        assert_eq!(Some(by_columns.as_ref()).row_alignment(), 16);
        assert_eq!(None::<&[f64]>.row_alignment(), 1);
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

    /// Inside `in_pool`, the parts of a split run on other threads (at least once within a few
    /// seconds: a helper busy with another test's work hands nothing back meanwhile), and every
    /// row is still visited once.
    #[test]
    fn in_pool_hands_parts_to_other_threads() {
        if rayon::current_num_threads() < 2 {
            return;
        }
        let start = Instant::now();
        let handed_over = in_pool(|| {
            let caller = std::thread::current().id();
            while start.elapsed() < Duration::from_secs(10) {
                let other = AtomicBool::new(false);
                let mut out = Mat::zeros(64, 300);
                for_row_blocks(out.as_mut(), 2, |first, block| {
                    mark(first, 0, block);
                    if std::thread::current().id() != caller {
                        other.store(true, Ordering::Relaxed);
                    }
                });
                check_marked_once(&out, "64 × 300 in 2 parts");
                if other.load(Ordering::Relaxed) {
                    return true;
                }
            }
            false
        });
        assert!(handed_over, "no part ran on another thread in 10 s");
    }

    /// A panic in either part of a split reaches the caller of `in_pool`, and the pool splits work
    /// as before afterwards; so do splits nested in a part.
    #[test]
    fn a_panic_in_a_part_reaches_the_caller() {
        for panicking_row in [0, 32] {
            let result = std::panic::catch_unwind(|| {
                in_pool(|| {
                    for _ in 0..100 {
                        let mut out = Mat::<f64>::zeros(64, 3);
                        for_row_blocks(out.as_mut(), 2, |first, _| {
                            assert_ne!(first, panicking_row, "the part at row {first}");
                        });
                    }
                })
            });
            assert!(result.is_err(), "a panic at row {panicking_row} was lost");
        }
        let mut out = Mat::zeros(64, 40);
        in_pool(|| {
            for_row_blocks(out.as_mut(), 2, |first, block| {
                for_column_blocks(block, 2, 8, |column, block| mark(first, column, block));
            })
        });
        check_marked_once(&out, "64 × 40, rows then columns in 2 parts each");
    }

    /// Several threads using `in_pool` at once, each splitting work, all finish.
    #[test]
    fn concurrent_in_pool_calls_finish() {
        std::thread::scope(|s| {
            for t in 0..4 {
                s.spawn(move || {
                    in_pool(|| {
                        for _ in 0..200 {
                            let mut out = Mat::<f32>::zeros(8, 64);
                            for_column_blocks(out.as_mut(), 4, 4, |_, mut block| {
                                block.fill(t as f32);
                            });
                            assert!(out == Mat::from_fn(8, 64, |_, _| t as f32));
                        }
                    })
                });
            }
        });
    }
}
