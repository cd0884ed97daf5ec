//! How a layer stores a matrix shaped like its weights (`W`, `∂W`, the optimiser's velocity): by
//! columns or by rows, whichever the batch's plan says its products read faster.

use crate::Float;
use faer::{Mat, MatMut, MatRef};

/// In which order the values of an `(n_out, n_in)` matrix lie in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Column-major: each column of `W` (one input's weights) is contiguous. A product with a few
    /// columns, and the matrix-vector kernel of a batch of one, stream `W` fastest this way.
    ByColumns,
    /// Row-major: each row of `W` (one output's weights) is contiguous, so that the rows a thread
    /// owns in a row split are one range of memory. Stored by columns, each core's rows would be a
    /// slice of every column, and two cores going through interleaved slices of the same pages at
    /// once slow each other down severalfold (ARCHITECTURE.md has the measurement).
    ByRows,
}

/// An `(n_out, n_in)` matrix held in the [`Order`] last asked for.
///
/// The matrix in the other order is kept once made, so that switching back and forth (a training
/// step, then an evaluation, then training again) allocates only the first time. The values are
/// in one of the two at a time.
///
/// Each matrix held is column-major with its rows rounded up to 16 (`n_out` for
/// [`Order::ByColumns`], `n_in` for `Wᵀ` held by rows), and those extra rows stay zero: faer's
/// kernels load a column in whole blocks of 16 rows where the stride allows and drop the extra lanes
/// only when storing, so they read those rows; left as faer allocates them they would hold whatever
/// the allocator last kept there, and a subnormal among them costs every multiply-add of the dropped
/// lanes a microcode assist on Intel cores. A faer `Mat` also aligns each column to 64 bytes, so
/// that threads owning different 16-row ranges never write to the same cache line.
#[derive(Debug, Clone)]
pub(crate) struct Stored<T> {
    n_out: usize,
    n_in: usize,
    order: Order,
    /// Holds the values, in `order`.
    values: Mat<T>,
    /// The matrix of the other order, empty until first needed; its values are stale.
    spare: Mat<T>,
}

impl<T: Float> Stored<T> {
    /// Zeros, held by columns.
    pub(crate) fn zeros(n_out: usize, n_in: usize) -> Self {
        Self {
            n_out,
            n_in,
            order: Order::ByColumns,
            values: Mat::zeros(padded_rows(n_out), n_in),
            spare: Mat::new(),
        }
    }

    /// The order the values are held in.
    pub(crate) fn order(&self) -> Order {
        self.order
    }

    /// The matrix, `(n_out, n_in)`, in its current order.
    pub(crate) fn get(&self) -> MatRef<'_, T> {
        view(&self.values, self.order, self.n_out, self.n_in)
    }

    /// The matrix, mutably, in its current order.
    pub(crate) fn get_mut(&mut self) -> MatMut<'_, T> {
        view_mut(&mut self.values, self.order, self.n_out, self.n_in)
    }

    /// Holds the values in `order` from now on, copying them over if they were held in the other.
    pub(crate) fn arrange(&mut self, order: Order) {
        if order != self.order {
            let before = self.order;
            self.switch_to(order);
            let (n_out, n_in) = (self.n_out, self.n_in);
            view_mut(&mut self.values, order, n_out, n_in).copy_from(view(
                &self.spare,
                before,
                n_out,
                n_in,
            ));
        }
    }

    /// Holds the matrix in `order` from now on without keeping its values: for a matrix about to
    /// be overwritten whole (`∂W`). The values are then whatever that order last held.
    pub(crate) fn arrange_to_overwrite(&mut self, order: Order) {
        if order != self.order {
            self.switch_to(order);
        }
    }

    /// Swaps the two matrices, making the spare one (allocated zeroed the first time) current.
    fn switch_to(&mut self, order: Order) {
        if self.spare.ncols() == 0 {
            self.spare = match order {
                Order::ByColumns => Mat::zeros(padded_rows(self.n_out), self.n_in),
                Order::ByRows => Mat::zeros(padded_rows(self.n_in), self.n_out),
            };
        }
        std::mem::swap(&mut self.values, &mut self.spare);
        self.order = order;
    }
}

/// The `(n_out, n_in)` matrix held in `matrix` in `order`: its first `n_out` rows held by columns,
/// or the transpose of its first `n_in` rows held by rows.
fn view<T>(matrix: &Mat<T>, order: Order, n_out: usize, n_in: usize) -> MatRef<'_, T> {
    match order {
        Order::ByColumns => matrix.as_ref().subrows(0, n_out),
        Order::ByRows => matrix.as_ref().subrows(0, n_in).transpose(),
    }
}

/// [`view`], mutably.
fn view_mut<T>(matrix: &mut Mat<T>, order: Order, n_out: usize, n_in: usize) -> MatMut<'_, T> {
    match order {
        Order::ByColumns => matrix.as_mut().subrows_mut(0, n_out),
        Order::ByRows => matrix.as_mut().subrows_mut(0, n_in).transpose_mut(),
    }
}

/// The rows of a column-major matrix with `rows` rows of values: the next multiple of 16, the most
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

    /// Arranged by rows the rows of `W` are contiguous, by columns its columns; the values follow
    /// every switch; the padding of both matrices is there and zero after every weight is written,
    /// and in a clone.
    #[test]
    fn values_follow_the_order_and_the_padding_stays_zero() {
        for (n_out, n_in) in [(1, 1), (3, 2), (10, 16), (7, 17), (150, 784)] {
            let mut stored = Stored::<f32>::zeros(n_out, n_in);
            let value = |i: usize, j: usize| (i * n_in + j) as f32;
            let mut w = stored.get_mut();
            for j in 0..n_in {
                for i in 0..n_out {
                    w[(i, j)] = value(i, j);
                }
            }
            for order in [
                Order::ByRows,
                Order::ByRows,
                Order::ByColumns,
                Order::ByRows,
            ] {
                stored.arrange(order);
                let w = stored.get();
                assert_eq!(w.shape(), (n_out, n_in));
                let contiguous = match order {
                    Order::ByColumns => w.row_stride(),
                    Order::ByRows => w.col_stride(),
                };
                assert_eq!(contiguous, 1, "{order:?}");
                for j in 0..n_in {
                    for i in 0..n_out {
                        assert_eq!(w[(i, j)], value(i, j), "{order:?} ({i}, {j})");
                    }
                }
            }
            for order in [Order::ByColumns, Order::ByRows] {
                stored.arrange(order);
                stored.get_mut().fill(-1.0);
                for stored in [&stored, &stored.clone()] {
                    let other = match order {
                        Order::ByColumns => Order::ByRows,
                        Order::ByRows => Order::ByColumns,
                    };
                    let held = [(&stored.values, order), (&stored.spare, other)];
                    for (matrix, order) in held {
                        let used = match order {
                            Order::ByColumns => n_out,
                            Order::ByRows => n_in,
                        };
                        let rows = matrix.nrows();
                        assert!(rows % 16 == 0 && rows >= used);
                        assert!(all_equal(matrix.as_ref().subrows(used, rows - used), 0.0));
                    }
                }
            }
        }
    }

    /// A matrix arranged to be overwritten switches order without copying anything.
    #[test]
    fn arranging_to_overwrite_switches_the_order() {
        let mut stored = Stored::<f32>::zeros(3, 5);
        stored.get_mut().fill(2.0);
        stored.arrange_to_overwrite(Order::ByRows);
        assert_eq!(stored.order(), Order::ByRows);
        assert_eq!(stored.get().col_stride(), 1);
        assert!(all_equal(stored.get(), 0.0), "the zeroed spare, not a copy");
    }
}
