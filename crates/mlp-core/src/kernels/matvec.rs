//! The product of a batch of one, `y = W·x`: a register-blocked matrix-vector kernel that reads only
//! the columns of `W` whose input is not zero.
//!
//! faer's matrix-vector kernel reads and writes `y` for every column of `W`; this one keeps a block
//! of `y` in registers while it runs through the columns. Its time is bound by streaming the weights
//! from cache, not by arithmetic, so it skips the columns it need not stream: those of the inputs
//! that are exactly zero (four pixels in five of an MNIST digit, the inactive units after a ReLU).
//!
//! Each `y[i]` is summed in column order, whatever the split, and skipping changes no bit of it: a
//! sum starts at `+0` and so is never `-0` (an exact cancellation rounds to `+0`), and adding `±0`
//! to anything but `-0` leaves it as it was. The one exception is a weight that is not finite,
//! whose product with zero is NaN: an infinite or NaN weight facing a zero input leaves the sum as
//! it was here, where a dense product would make it NaN. Such weights come only from a training
//! that diverged (which stops at the first loss that is not finite) or from a caller writing them;
//! the model-file loader rejects them.

use crate::plan;
use crate::scalar::{vectorize, Kernel};
use crate::{par, Float};
use faer::prelude::ReborrowMut;
use faer::{ContiguousFwd, MatMut, MatRef};

/// `out = lhs·rhs` for a single column `rhs`, then `epilogue(first_row, rows)` on each range of
/// rows, split into up to `parts` ranges of rows ([`plan::matvec_parts_reading`] says how many
/// the columns read are worth). The register-blocked kernel runs when `lhs` has unit row stride
/// and `rhs` and `out` are contiguous; faer's sequential product otherwise.
pub(super) fn product<T: Float>(
    mut out: MatMut<'_, T>,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    parts: usize,
    epilogue: impl Fn(usize, MatMut<'_, T>) + Sync,
) {
    debug_assert_eq!(rhs.ncols(), 1);
    let weights = lhs.try_as_col_major();
    let x = rhs.col(0).try_as_col_major();
    let (Some(weights), Some(x), Some(y)) =
        (weights, x, out.rb_mut().col_mut(0).try_as_col_major_mut())
    else {
        super::sequential_product(out.rb_mut(), lhs, rhs);
        return epilogue(0, out);
    };
    let (x, y) = (x.as_slice(), y.as_slice_mut());
    // Filled only where a chunk's columns are listed: dense inputs do not pay for zeroing them.
    let (mut offsets, mut values);
    // At least one pass, so that `y` is written (zeros) even without any column.
    let mut start = 0;
    loop {
        let width = CHUNK.min(x.len() - start);
        let chunk = &x[start..start + width];
        // Going through a list costs each column a little more than going through all of them in
        // order, and listing them costs more than counting them, so they are counted first and
        // listed only where the list skips enough of them.
        let nonzero = vectorize(CountNonzero(chunk));
        let columns = if worth_listing(nonzero, width) {
            (offsets, values) = ([0; CHUNK], [T::from_f64(0.0); CHUNK]);
            let count = vectorize(ListNonzero {
                x: chunk,
                offsets: &mut offsets,
                values: &mut values,
            });
            Columns::Listed(&offsets[..count], &values[..count])
        } else {
            Columns::All(chunk)
        };
        let last_chunk = start + width == x.len();
        let add_to_y = start > 0;
        let weights = weights.subcols(start, width);
        let parts = plan::matvec_parts_reading(parts, y.len(), columns.len());
        par::for_row_blocks(&mut *y, parts, |first, y| {
            let rows = y.len();
            let weights = weights.subrows(first, rows);
            match columns {
                Columns::Listed(offsets, values) => {
                    let columns = offsets.iter().zip(values).map(listed_column);
                    vectorize(Pass::new(weights, columns, &mut *y, add_to_y));
                }
                Columns::All(x) => {
                    let columns = x.iter().copied().enumerate();
                    vectorize(Pass::new(weights, columns, &mut *y, add_to_y));
                }
            }
            if last_chunk {
                epilogue(first, MatMut::from_column_major_slice_mut(y, rows, 1));
            }
        });
        start += width;
        if last_chunk {
            return;
        }
    }
}

/// The most columns one pass over the rows goes through; the offsets of a chunk's nonzero inputs
/// are listed on the stack as `u16`. Wider inputs are gone through in several passes, each adding
/// to the sums the one before left in `y`.
const CHUNK: usize = 1024;

/// Whether a pass goes through a list of the columns of a chunk's `nonzero` inputs rather than
/// through all `width` of them: when at most three quarters are nonzero, a margin below the
/// break-even (ARCHITECTURE.md has the measurement). Either way gives the same sums.
fn worth_listing(nonzero: usize, width: usize) -> bool {
    4 * nonzero <= 3 * width
}

/// The columns of a chunk a pass goes through.
#[derive(Clone, Copy)]
enum Columns<'a, T> {
    /// Those of the nonzero inputs: their offsets in the chunk and their values.
    Listed(&'a [u16], &'a [T]),
    /// All of them, with the chunk's inputs.
    All(&'a [T]),
}

impl<T> Columns<'_, T> {
    /// How many columns.
    fn len(self) -> usize {
        match self {
            Columns::Listed(offsets, _) => offsets.len(),
            Columns::All(x) => x.len(),
        }
    }
}

/// How many entries of a slice are not zero.
struct CountNonzero<'a, T>(&'a [T]);

impl<T: Float> Kernel for CountNonzero<'_, T> {
    type Output = usize;

    #[inline(always)]
    fn run(self) -> usize {
        let zero = T::from_f64(0.0);
        // (Counted in `u32` lanes, twice as many per register as `usize`: a chunk is far shorter.)
        let count: u32 = self.0.iter().map(|&v| u32::from(v != zero)).sum();
        count as usize
    }
}

/// Lists the nonzero entries of `x` (at most [`CHUNK`] of them), in order: their offsets in
/// `offsets`, their values in `values`, without a branch on the values; returns how many.
struct ListNonzero<'a, T> {
    x: &'a [T],
    offsets: &'a mut [u16; CHUNK],
    values: &'a mut [T; CHUNK],
}

impl<T: Float> Kernel for ListNonzero<'_, T> {
    type Output = usize;

    #[inline(always)]
    fn run(self) -> usize {
        let zero = T::from_f64(0.0);
        let mut count = 0;
        for (j, &v) in self.x.iter().enumerate() {
            // `count <= j < CHUNK`: the remainder changes nothing but spares a bounds check.
            let slot = count % CHUNK;
            self.offsets[slot] = j as u16;
            self.values[slot] = v;
            count += usize::from(v != zero);
        }
        count
    }
}

/// A listed column as a pass goes through it: its offset in the chunk, its input.
#[inline(always)]
fn listed_column<T: Copy>((&offset, &value): (&u16, &T)) -> (usize, T) {
    (usize::from(offset), value)
}

/// A matrix whose columns are contiguous (unit row stride), checked once rather than per column.
type ColumnMajor<'a, T> = MatRef<'a, T, usize, usize, ContiguousFwd>;

/// One pass over the rows of `y` through `columns` (each the offset of a column of `W` and its
/// input), adding to the sums in `y` if `add_to_y`, else starting them from zero; compiled by
/// [`vectorize`].
struct Pass<'a, T, C> {
    weights: ColumnMajor<'a, T>,
    columns: C,
    y: &'a mut [T],
    add_to_y: bool,
}

impl<'a, T: Float, C: Iterator<Item = (usize, T)> + Clone> Pass<'a, T, C> {
    #[inline(always)]
    fn new(weights: ColumnMajor<'a, T>, columns: C, y: &'a mut [T], add_to_y: bool) -> Self {
        Self {
            weights,
            columns,
            y,
            add_to_y,
        }
    }
}

impl<T: Float, C: Iterator<Item = (usize, T)> + Clone> Kernel for Pass<'_, T, C> {
    type Output = ();

    /// 32 f32 or 16 f64 rows of accumulators: 4 AVX2 registers, 2 AVX-512 ones. Blocks twice as
    /// tall would keep more additions in flight, but they stream the weights from L2 more slowly,
    /// with either width, and the time of this kernel is the streaming (ARCHITECTURE.md has the
    /// measurements).
    #[inline(always)]
    fn run(self) {
        if size_of::<T>() == 4 {
            self.blocks::<32, 24, 16, 8>();
        } else {
            self.blocks::<16, 12, 8, 4>();
        }
    }
}

impl<T: Float, C: Iterator<Item = (usize, T)> + Clone> Pass<'_, T, C> {
    /// Blocks of `B0`, `B1`, `B2` or `B3 < B2 < B1 < B0` rows, each the largest that fits in the
    /// rows left. Fewer than `B3` rows left after a block are covered by a block of `B3` ending at
    /// the last row (it recomputes, identically, a few rows of the one before), computed in the same
    /// pass over the columns as the block before: alone, its one or two accumulators would each
    /// wait on their previous addition. Fewer than `B3` rows in all are done one by one.
    #[inline(always)]
    fn blocks<const B0: usize, const B1: usize, const B2: usize, const B3: usize>(mut self) {
        let rows = self.y.len();
        if rows < B3 {
            for i in 0..rows {
                let mut sum = self.start(i);
                for (j, xj) in self.columns.clone() {
                    sum += column(self.weights, j)[i] * xj;
                }
                self.y[i] = sum;
            }
            return;
        }
        let mut first = 0;
        while first < rows {
            let rest = rows - first;
            let size = [B0, B1, B2].into_iter().find(|&b| b <= rest).unwrap_or(B3);
            // (Functions, not closures: closures are not always inlined into the copies
            // `vectorize` compiles, and would then be compiled for the baseline instructions.)
            match rest - size {
                0 => return block_of::<T, C, B0, B1, B2, B3, 0>(size, first, &mut self),
                left if left < B3 => {
                    return block_of::<T, C, B0, B1, B2, B3, B3>(size, first, &mut self);
                }
                _ => block_of::<T, C, B0, B1, B2, B3, 0>(size, first, &mut self),
            }
            first += size;
        }
    }

    /// Where the sum of row `i` starts: the sum the chunk before left, or zero.
    #[inline(always)]
    fn start(&self, i: usize) -> T {
        if self.add_to_y {
            self.y[i]
        } else {
            T::from_f64(0.0)
        }
    }
}

/// Rows `first..first + size` of `y`, `size` one of the block sizes, and its last `L` rows in the
/// same pass if `L > 0`.
#[inline(always)]
fn block_of<
    T: Float,
    C: Iterator<Item = (usize, T)> + Clone,
    const B0: usize,
    const B1: usize,
    const B2: usize,
    const B3: usize,
    const L: usize,
>(
    size: usize,
    first: usize,
    pass: &mut Pass<'_, T, C>,
) {
    if size == B0 {
        block::<T, C, B0, L>(pass, first);
    } else if size == B1 {
        block::<T, C, B1, L>(pass, first);
    } else if size == B2 {
        block::<T, C, B2, L>(pass, first);
    } else {
        block::<T, C, B3, L>(pass, first);
    }
}

/// Rows `offset..offset + R` of `y` and, if `L > 0`, its last `L` rows too, accumulated in
/// registers in one pass over the columns.
#[inline(always)]
fn block<T: Float, C: Iterator<Item = (usize, T)> + Clone, const R: usize, const L: usize>(
    pass: &mut Pass<'_, T, C>,
    offset: usize,
) {
    let last = pass.y.len() - L;
    let mut acc = [T::from_f64(0.0); R];
    let mut acc_last = [T::from_f64(0.0); L];
    if pass.add_to_y {
        acc.copy_from_slice(&pass.y[offset..offset + R]);
        acc_last.copy_from_slice(&pass.y[last..]);
    }
    let weights = pass.weights;
    for (j, xj) in pass.columns.clone() {
        let column = column(weights, j);
        let rows: &[T; R] = column[offset..offset + R]
            .try_into()
            .expect("a block of R rows");
        for (a, &w) in acc.iter_mut().zip(rows) {
            *a += w * xj;
        }
        let rows: &[T; L] = column[last..].try_into().expect("the last L rows");
        for (a, &w) in acc_last.iter_mut().zip(rows) {
            *a += w * xj;
        }
    }
    pass.y[offset..offset + R].copy_from_slice(&acc);
    pass.y[last..].copy_from_slice(&acc_last);
}

/// Column `j` of `m` as a slice.
#[inline(always)]
fn column<T>(m: ColumnMajor<'_, T>, j: usize) -> &[T] {
    m.col(j).as_slice()
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    /// Checks the kernel against a plain loop over every column, zeros included, for weights of
    /// `rows × x.len()`: bit for bit, on one thread and split in two, with an epilogue (adding one)
    /// that must run exactly once on every row.
    #[track_caller]
    fn check_matvec<T: Float>(rows: usize, x: &[T]) {
        let cols = x.len();
        let weights = Mat::from_fn(rows, cols, |i, j| {
            T::from_f64((((j * rows + i) * 7919) % 23) as f64 / 23.0 - 0.5)
        });
        let x = Mat::from_fn(cols, 1, |j, _| x[j]);
        let add_one = |_, mut block: MatMut<'_, T>| {
            for v in block.rb_mut().col_mut(0).iter_mut() {
                *v += T::from_f64(1.0);
            }
        };
        for parts in [1, 2] {
            let mut y = Mat::from_fn(rows, 1, |_, _| T::from_f64(f64::NAN));
            product(y.as_mut(), weights.as_ref(), x.as_ref(), parts, add_one);
            for i in 0..rows {
                // The same sum in the same order: bit-identical.
                let mut expected = T::from_f64(0.0);
                for j in 0..cols {
                    expected += weights[(i, j)] * x[(j, 0)];
                }
                expected += T::from_f64(1.0);
                assert_eq!(
                    y[(i, 0)],
                    expected,
                    "row {i} of {rows} × {cols}, {parts} parts"
                );
            }
        }
    }

    /// `len` inputs, of which those at `j` with `zero(j)` are `±0`, the others in `(0, 1)`.
    fn inputs<T: Float>(len: usize, zero: impl Fn(usize) -> bool) -> Vec<T> {
        (0..len)
            .map(|j| match (zero(j), j % 2) {
                (true, 0) => T::from_f64(0.0),
                (true, _) => T::from_f64(-0.0),
                (false, _) => T::from_f64(((j * 31) % 17 + 1) as f64 / 18.0),
            })
            .collect()
    }

    #[test]
    fn the_nonzero_inputs_are_counted_and_listed_in_order() {
        let x = [0.0, 2.0, -0.0, f32::NAN, 0.0, -3.0, 0.0];
        assert_eq!(vectorize(CountNonzero(&x)), 3, "NaN is not zero, -0 is");
        let (mut offsets, mut values) = ([0; CHUNK], [0.0; CHUNK]);
        let count = vectorize(ListNonzero {
            x: &x,
            offsets: &mut offsets,
            values: &mut values,
        });
        assert_eq!(&offsets[..count], &[1, 3, 5]);
        assert_eq!(values[0], 2.0);
        assert!(values[1].is_nan());
        assert_eq!(values[2], -3.0);
        let listed = Columns::Listed(&offsets[..count], &values[..count]);
        assert_eq!((listed.len(), Columns::All(&x).len()), (3, 7));
        assert_eq!(listed_column((&5, &-3.0)), (5, -3.0));
        let full = [1.0f64; CHUNK];
        assert_eq!(vectorize(CountNonzero(&full)), CHUNK);
    }

    #[test]
    fn a_chunk_is_listed_when_at_most_three_quarters_are_nonzero() {
        assert!(worth_listing(0, 0));
        assert!(worth_listing(0, 784));
        assert!(worth_listing(588, 784));
        assert!(!worth_listing(589, 784));
        assert!(worth_listing(768, 1024));
        assert!(!worth_listing(769, 1024));
        assert!(!worth_listing(1, 1));
    }

    /// Every row count up to 2 blocks and a half, so that every way of covering the rows with blocks
    /// (overlapping last block, single rows for tiny matrices) is exercised.
    #[test]
    fn matvec_matches_a_plain_loop() {
        for rows in 1..=160 {
            check_matvec::<f32>(rows, &inputs(3, |_| false));
            check_matvec::<f64>(rows, &inputs(5, |_| false));
            check_matvec::<f32>(rows, &inputs(9, |j| j % 3 != 0));
        }
        check_matvec::<f32>(150, &inputs(784, |_| false));
        check_matvec::<f32>(10, &inputs(1, |_| false));
    }

    /// Inputs mostly zero (`+0` and `-0`) go through the list of the others, and give the bits of
    /// the loop over every column; so do inputs that are all zero, or none at all.
    #[test]
    fn zero_inputs_are_skipped_without_changing_a_bit() {
        // Four in five zero, as in an MNIST digit; every density around the listing threshold.
        check_matvec::<f32>(150, &inputs(784, |j| j % 5 != 0));
        check_matvec::<f64>(150, &inputs(784, |j| j % 5 != 0));
        for nonzero_in_8 in 0..=8 {
            check_matvec::<f32>(40, &inputs(64, |j| j % 8 >= nonzero_in_8));
        }
        check_matvec::<f32>(150, &inputs(784, |_| true));
        check_matvec::<f32>(7, &inputs(0, |_| true));
    }

    /// Inputs wider than a chunk are gone through in several passes, each adding to the sums the
    /// one before left, listed or not, split between threads or not.
    #[test]
    fn wide_inputs_take_several_passes() {
        check_matvec::<f32>(160, &inputs(2 * CHUNK + 452, |j| j % 2 == 0));
        check_matvec::<f32>(160, &inputs(2 * CHUNK + 452, |j| j >= CHUNK && j % 7 != 0));
        check_matvec::<f64>(37, &inputs(CHUNK + 1, |_| false));
        check_matvec::<f32>(9, &inputs(CHUNK, |j| j != CHUNK - 1));
    }
}
