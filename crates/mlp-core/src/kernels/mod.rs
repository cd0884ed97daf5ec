//! The operations a layer's math is written in — a matrix product into an output view with a fused
//! element-wise epilogue, and row sums — each carried out as the step plan's [`Split`] says.
//!
//! Whatever the split, every entry of an output is the same sum in the same order (threads share
//! the outputs, never a sum), so results do not depend on the number of threads.

mod elementwise;
mod matvec;

pub(crate) use elementwise::Epilogue;

use crate::plan::Split;
use crate::scalar::{vectorize, Kernel};
use crate::{par, Float};
use faer::linalg::matmul::matmul;
use faer::prelude::ReborrowMut;
use faer::{Accum, MatMut, MatRef, Par};

/// `out = lhs·rhs`, then `epilogue` on every entry of `out`, split between threads as `split` says.
///
/// Each part runs faer's sequential kernel (or, for [`Split::MatVec`], the matrix-vector kernel)
/// and then the epilogue on the part it just computed, while it is in cache.
pub(crate) fn product<T: Float>(
    out: MatMut<'_, T>,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    epilogue: Epilogue<'_, T>,
    split: Split,
) {
    debug_assert_eq!(out.shape(), (lhs.nrows(), rhs.ncols()));
    debug_assert_eq!(lhs.ncols(), rhs.nrows());
    match split {
        Split::Rows(parts) => par::for_row_blocks(out, parts, |first, mut block| {
            let rows = block.nrows();
            sequential_product(block.rb_mut(), lhs.subrows(first, rows), rhs);
            epilogue.rows(first, rows).apply(block);
        }),
        Split::Columns {
            parts,
            block_columns,
        } => par::for_column_blocks(out, parts, block_columns, |first, mut block| {
            let columns = block.ncols();
            sequential_product(block.rb_mut(), lhs, rhs.subcols(first, columns));
            epilogue.columns(first, columns).apply(block);
        }),
        Split::MatVec { parts } => matvec::product(out, lhs, rhs, parts, |first, block| {
            epilogue.rows(first, block.nrows()).apply(block);
        }),
    }
}

/// `sums[i] = Σ_j matrix[i, j]`, summed in column order; a row split gives each thread its rows.
pub(crate) fn row_sums<T: Float>(matrix: MatRef<'_, T>, sums: &mut [T], split: Split) {
    debug_assert_eq!(matrix.nrows(), sums.len());
    par::for_row_blocks((matrix, sums), split.row_parts(), |_, (matrix, sums)| {
        sums.fill(T::from_f64(0.0));
        vectorize(RowSums { matrix, sums });
    });
}

/// `out = lhs·rhs` on the calling thread.
fn sequential_product<T: Float>(out: MatMut<'_, T>, lhs: MatRef<'_, T>, rhs: MatRef<'_, T>) {
    matmul(out, Accum::Replace, lhs, rhs, T::from_f64(1.0), Par::Seq);
}

/// The loop of [`row_sums`], compiled by [`vectorize`]: `sums += Σ_j matrix[:, j]`.
struct RowSums<'a, T> {
    matrix: MatRef<'a, T>,
    sums: &'a mut [T],
}

impl<T: Float> Kernel for RowSums<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        for j in 0..self.matrix.ncols() {
            let column = self.matrix.col(j).try_as_col_major();
            let column = column.expect("unit row stride").as_slice();
            for (s, &v) in self.sums.iter_mut().zip(column) {
                *s += v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    /// Every split the plan makes gives the same bits as the product on one thread. (Parts are cut
    /// at least 16 rows or columns wide: faer computes a single column, say, by another path, which
    /// sums in another order.)
    #[test]
    fn splits_give_the_same_bits() {
        let lhs = Mat::<f32>::from_fn(150, 784, |i, j| ((i * 7 + j * 3) % 23) as f32 / 23.0 - 0.5);
        for m in [5, 64, 300] {
            let rhs = Mat::<f32>::from_fn(784, m, |i, j| ((i * 5 + j * 11) % 19) as f32 / 19.0);
            let run = |split| {
                let mut out = Mat::<f32>::zeros(150, m);
                par::in_pool(|| {
                    product(
                        out.as_mut(),
                        lhs.as_ref(),
                        rhs.as_ref(),
                        Epilogue::None,
                        split,
                    )
                });
                out
            };
            let one = run(Split::SEQUENTIAL);
            let mut splits = vec![Split::Rows(2), Split::Rows(3)];
            if m >= 32 {
                splits.push(Split::Columns {
                    parts: 2,
                    block_columns: 16,
                });
                splits.push(Split::Columns {
                    parts: 1,
                    block_columns: 20,
                });
            }
            for split in splits {
                assert!(run(split) == one, "batch {m}, {split:?}");
            }
            let mut sums = [vec![0.0f32; 150], vec![1.0f32; 150]];
            for (sums, split) in sums.iter_mut().zip([Split::SEQUENTIAL, Split::Rows(2)]) {
                par::in_pool(|| row_sums(one.as_ref(), sums, split));
            }
            assert_eq!(sums[0], sums[1], "row sums of batch {m}");
            let expected: f32 = (0..m).map(|j| one[(17, j)]).sum();
            assert_eq!(sums[0][17], expected);
        }
    }
}
