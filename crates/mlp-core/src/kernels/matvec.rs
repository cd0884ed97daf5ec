//! The product of a batch of one, `y = W·x`: a register-blocked matrix-vector kernel.
//!
//! faer's matrix-vector kernel reads and writes `y` for every column of `W`; this one keeps a block
//! of `y` in registers while it runs through the columns. Its time is bound by streaming the weights
//! from cache, not by arithmetic. Each `y[i]` is summed in column order, whatever the split.

use crate::scalar::{vectorize, Kernel};
use crate::Float;
use faer::prelude::ReborrowMut;
use faer::{ContiguousFwd, MatMut, MatRef};

/// `out = lhs·rhs` for a single column `rhs`, with the register-blocked kernel when `lhs` has unit
/// row stride and `rhs` is contiguous, faer's sequential product otherwise.
pub(super) fn product<T: Float>(mut out: MatMut<'_, T>, lhs: MatRef<'_, T>, rhs: MatRef<'_, T>) {
    debug_assert_eq!(rhs.ncols(), 1);
    if let (Some(weights), Some(x)) = (lhs.try_as_col_major(), rhs.col(0).try_as_col_major()) {
        if let Some(y) = out.rb_mut().col_mut(0).try_as_col_major_mut() {
            let (x, y) = (x.as_slice(), y.as_slice_mut());
            return vectorize(MatVec { weights, x, y });
        }
    }
    super::sequential_product(out, lhs, rhs);
}

/// `y = W·x`, for `W` with `x.len()` columns, `y.len()` rows and unit row stride, compiled by
/// [`vectorize`].
struct MatVec<'a, T> {
    weights: ColumnMajor<'a, T>,
    x: &'a [T],
    y: &'a mut [T],
}

/// A matrix whose columns are contiguous (unit row stride), checked once rather than per column.
type ColumnMajor<'a, T> = MatRef<'a, T, usize, usize, ContiguousFwd>;

impl<T: Float> Kernel for MatVec<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        // 32 f32 or 16 f64 rows of accumulators: 4 AVX2 registers, 2 AVX-512 ones. Blocks twice
        // as tall would keep more additions in flight, but they stream the weights from L2 more
        // slowly, with either width, and the time of this kernel is the streaming (ARCHITECTURE.md
        // has the measurements).
        if size_of::<T>() == 4 {
            self.blocks::<32, 24, 16, 8>();
        } else {
            self.blocks::<16, 12, 8, 4>();
        }
    }
}

impl<T: Float> MatVec<'_, T> {
    /// Blocks of `B0`, `B1`, `B2` or `B3 < B2 < B1 < B0` rows, each the largest that fits in the
    /// rows left. Fewer than `B3` rows left after a block are covered by a block of `B3` ending at
    /// the last row (it recomputes, identically, a few rows of the one before), computed in the same
    /// pass over the columns as the block before: alone, its one or two accumulators would each
    /// wait on their previous addition. Fewer than `B3` rows in all are done one by one.
    #[inline(always)]
    fn blocks<const B0: usize, const B1: usize, const B2: usize, const B3: usize>(self) {
        let Self { weights, x, y } = self;
        let rows = y.len();
        if rows < B3 {
            for (i, yi) in y.iter_mut().enumerate() {
                let mut sum = T::from_f64(0.0);
                for (j, &xj) in x.iter().enumerate() {
                    sum += column(weights, j)[i] * xj;
                }
                *yi = sum;
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
                0 => return block_of::<T, B0, B1, B2, B3, 0>(size, first, weights, x, y),
                left if left < B3 => {
                    return block_of::<T, B0, B1, B2, B3, B3>(size, first, weights, x, y);
                }
                _ => block_of::<T, B0, B1, B2, B3, 0>(size, first, weights, x, y),
            }
            first += size;
        }
    }
}

/// Rows `first..first + size` of `y`, `size` one of the block sizes, and its last `L` rows in the
/// same pass if `L > 0`.
#[inline(always)]
fn block_of<
    T: Float,
    const B0: usize,
    const B1: usize,
    const B2: usize,
    const B3: usize,
    const L: usize,
>(
    size: usize,
    first: usize,
    weights: ColumnMajor<'_, T>,
    x: &[T],
    y: &mut [T],
) {
    if size == B0 {
        block::<T, B0, L>(weights, first, x, y);
    } else if size == B1 {
        block::<T, B1, L>(weights, first, x, y);
    } else if size == B2 {
        block::<T, B2, L>(weights, first, x, y);
    } else {
        block::<T, B3, L>(weights, first, x, y);
    }
}

/// `y = W[offset..offset + R, :]·x` and, if `L > 0`, the last `L` rows of `y` too, accumulated in
/// registers in one pass over the columns.
#[inline(always)]
fn block<T: Float, const R: usize, const L: usize>(
    weights: ColumnMajor<'_, T>,
    offset: usize,
    x: &[T],
    y: &mut [T],
) {
    let last = y.len() - L;
    let mut acc = [T::from_f64(0.0); R];
    let mut acc_last = [T::from_f64(0.0); L];
    for (j, &xj) in x.iter().enumerate() {
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
    y[offset..offset + R].copy_from_slice(&acc);
    y[last..].copy_from_slice(&acc_last);
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

    #[track_caller]
    fn check_matvec<T: Float>(rows: usize, cols: usize) {
        let weights = Mat::from_fn(rows, cols, |i, j| {
            T::from_f64((((j * rows + i) * 7919) % 23) as f64 / 23.0 - 0.5)
        });
        let x = Mat::from_fn(cols, 1, |j, _| T::from_f64(((j * 31) % 17) as f64 / 17.0));
        let mut y = Mat::from_fn(rows, 1, |_, _| T::from_f64(f64::NAN));
        product(y.as_mut(), weights.as_ref(), x.as_ref());
        // In two ranges of rows, as when split between threads.
        let mut halves = Mat::from_fn(rows, 1, |_, _| T::from_f64(f64::NAN));
        let (top, bottom) = halves.as_mut().split_at_row_mut(rows / 2);
        product(top, weights.as_ref().subrows(0, rows / 2), x.as_ref());
        let rest = rows - rows / 2;
        product(bottom, weights.as_ref().subrows(rows / 2, rest), x.as_ref());
        assert!(y == halves, "{rows} × {cols} in two halves");
        for i in 0..rows {
            // The same sum in the same order: bit-identical.
            let mut expected = T::from_f64(0.0);
            for j in 0..cols {
                expected += weights[(i, j)] * x[(j, 0)];
            }
            assert_eq!(y[(i, 0)], expected, "row {i} of {rows} × {cols}");
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
}
