//! How a layer stores its weights: by rows, for the threads of a training step, and for a batch of
//! one, a copy by columns.

use crate::Float;
use faer::{Mat, MatMut, MatRef};

/// The weights `W` `(n_out, n_in)` of a layer.
///
/// **Stored by rows**: column `i` of the matrix held is row `i` of `W`, so that the rows a thread
/// owns in a row split (its outputs, its part of `∂W` and of the update) are one contiguous range
/// of memory. Stored by columns, each thread's part would be a slice of every column, and two cores
/// going through interleaved slices of the same pages at once slow each other down severalfold
/// (ARCHITECTURE.md has the measurement).
///
/// The matrix held has [`padded_rows`]`(n_in)` rows, and those past `n_in` stay zero: faer's
/// kernels load a column of `Wᵀ` (in `Wᵀ·Δ`) in whole blocks of 16 rows where the stride allows
/// and drop the extra lanes only when storing, so they read those rows; left as faer allocates
/// them they would hold whatever the allocator last kept there, and a subnormal among them costs
/// every multiply-add of the dropped lanes a microcode assist on Intel cores. A faer `Mat` also
/// aligns each column to 64 bytes, so that threads owning different rows of `W` never write to the
/// same cache line.
///
/// **A copy by columns** serves a batch of one, whose product is a matrix-vector product: its
/// kernel (`kernels::matvec`) sums each output over the columns of `W` in order, streaming one
/// contiguous column after another, which a dot product along rows does not match in speed. The
/// copy is allocated with the weights, so that no step allocates, and filled by the first forward
/// pass of a batch of one after the weights last changed; training on batches never writes it, so
/// its pages are never touched.
#[derive(Debug, Clone)]
pub(crate) struct Weights<T> {
    n_out: usize,
    n_in: usize,
    by_rows: Mat<T>,
    /// `(padded_rows(n_out), n_in)`, zero past `n_out`.
    by_columns: Mat<T>,
    /// Whether `by_columns` holds the current weights.
    by_columns_current: bool,
}

impl<T: Float> Weights<T> {
    /// Zero weights of `n_out` rows and `n_in` columns.
    pub(crate) fn zeros(n_out: usize, n_in: usize) -> Self {
        Self {
            n_out,
            n_in,
            by_rows: Mat::zeros(padded_rows(n_in), n_out),
            by_columns: Mat::zeros(padded_rows(n_out), n_in),
            by_columns_current: false,
        }
    }

    /// `W`, `(n_out, n_in)`, stored by rows (unit column stride).
    pub(crate) fn get(&self) -> MatRef<'_, T> {
        self.by_rows.as_ref().subrows(0, self.n_in).transpose()
    }

    /// `W`, mutably; the copy by columns is out of date from here on.
    pub(crate) fn get_mut(&mut self) -> MatMut<'_, T> {
        self.by_columns_current = false;
        self.by_rows
            .as_mut()
            .subrows_mut(0, self.n_in)
            .transpose_mut()
    }

    /// `W` as the products of a batch of `m` samples read it: by rows, or for a batch of one, the
    /// copy by columns when it is current (the forward pass makes it), so that a batch of one is
    /// summed in the same order in its forward and backward passes.
    pub(crate) fn for_batch(&self, m: usize) -> MatRef<'_, T> {
        if m == 1 && self.by_columns_current {
            self.by_columns.as_ref().subrows(0, self.n_out)
        } else {
            self.get()
        }
    }

    /// Brings the copy by columns up to date for a batch of `m` samples: a no-op unless `m` is one
    /// and the weights changed since it was made.
    pub(crate) fn prepare_batch(&mut self, m: usize) {
        if m != 1 || self.by_columns_current {
            return;
        }
        let by_rows = self.by_rows.as_ref().subrows(0, self.n_in).transpose();
        self.by_columns
            .as_mut()
            .subrows_mut(0, self.n_out)
            .copy_from(by_rows);
        self.by_columns_current = true;
    }
}

/// The rows of a column-major matrix of weights with `rows` rows: the next multiple of 16, the most
/// rows faer's kernels load from a column at once (16 `f32` lanes of a 512-bit register).
fn padded_rows(rows: usize) -> usize {
    rows.next_multiple_of(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_equal(matrix: MatRef<'_, f32>, value: f32) -> bool {
        matrix.col_iter().all(|c| c.iter().all(|&x| x == value))
    }

    /// Rows are contiguous, the padding of both matrices is there and zero after every weight is
    /// written, and the copy by columns follows every change once a batch of one asks for it.
    #[test]
    fn stored_by_rows_padded_with_zeros_and_copied_by_columns_when_current() {
        for (n_out, n_in) in [(1, 1), (3, 2), (10, 16), (7, 17), (150, 784)] {
            let mut weights = Weights::<f32>::zeros(n_out, n_in);
            weights.get_mut().fill(-1.0);
            let w = weights.get();
            assert_eq!((w.shape(), w.col_stride()), ((n_out, n_in), 1));
            assert_eq!(weights.for_batch(1).col_stride(), 1, "no copy made yet");
            weights.prepare_batch(2);
            assert!(
                !weights.by_columns_current,
                "batches of more than one fill no copy"
            );
            for value in [2.0, 3.0] {
                weights.prepare_batch(1);
                let copy = weights.for_batch(1);
                assert_eq!((copy.shape(), copy.row_stride()), ((n_out, n_in), 1));
                assert!(all_equal(copy, value - 1.0) || value == 2.0 && all_equal(copy, -1.0));
                weights.get_mut().fill(value);
                assert_eq!(
                    weights.for_batch(1).col_stride(),
                    1,
                    "a stale copy is not used"
                );
            }
            weights.prepare_batch(1);
            let clone = weights.clone();
            for weights in [&weights, &clone] {
                assert!(all_equal(weights.for_batch(1), 3.0));
                assert!(all_equal(weights.get(), 3.0));
                let (rows, columns) = (weights.by_rows.nrows(), weights.by_columns.nrows());
                assert!(rows % 16 == 0 && columns % 16 == 0);
                assert!(all_equal(
                    weights.by_rows.as_ref().subrows(n_in, rows - n_in),
                    0.0
                ));
                let past = weights.by_columns.as_ref().subrows(n_out, columns - n_out);
                assert!(all_equal(past, 0.0));
            }
        }
    }
}
