//! A plain row-major `Vec<f64>` matrix: just enough for the tape.

use crate::error::{AutogradError, Result};

/// A dense `rows` × `cols` matrix of `f64`, stored row-major: entry (r, c) is `data[r * cols + c]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    /// A matrix from row-major `data`; fails unless `data.len() == rows * cols`.
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Result<Self> {
        if data.len() != rows * cols {
            return Err(AutogradError::DataLength {
                rows,
                cols,
                len: data.len(),
            });
        }
        Ok(Self { rows, cols, data })
    }

    /// The `rows` × `cols` matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self::from_fn(rows, cols, |_, _| 0.0)
    }

    /// The `rows` × `cols` matrix whose entry (r, c) is `f(r, c)`.
    pub fn from_fn(rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> f64) -> Self {
        let mut data = Vec::with_capacity(rows * cols);
        for r in 0..rows {
            for c in 0..cols {
                data.push(f(r, c));
            }
        }
        Self { rows, cols, data }
    }

    /// Entry (r, c).
    ///
    /// # Panics
    /// If `r >= rows` or `c >= cols`.
    pub fn get(&self, r: usize, c: usize) -> f64 {
        assert!(
            r < self.rows && c < self.cols,
            "index ({r}, {c}) out of range"
        );
        self.data[r * self.cols + c]
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// (rows, cols).
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// The entries, row-major.
    pub fn data(&self) -> &[f64] {
        &self.data
    }

    /// The entries, row-major, mutably (for perturbing a parameter in a finite-difference check).
    pub fn data_mut(&mut self) -> &mut [f64] {
        &mut self.data
    }

    /// Applies `f` to every entry.
    pub(crate) fn map(&self, f: impl Fn(f64) -> f64) -> Self {
        Self::from_fn(self.rows, self.cols, |r, c| f(self.get(r, c)))
    }

    /// Entrywise product of two matrices of the same shape.
    pub(crate) fn hadamard(&self, other: &Self) -> Self {
        debug_assert_eq!(self.shape(), other.shape());
        Self::from_fn(self.rows, self.cols, |r, c| {
            self.get(r, c) * other.get(r, c)
        })
    }

    /// The transpose.
    pub(crate) fn transpose(&self) -> Self {
        Self::from_fn(self.cols, self.rows, |r, c| self.get(c, r))
    }

    /// The textbook product: (self · other)[i, j] = Σ_k self[i, k] · other[k, j].
    pub(crate) fn matmul(&self, other: &Self) -> Self {
        debug_assert_eq!(self.cols, other.rows);
        Self::from_fn(self.rows, other.cols, |i, j| {
            (0..self.cols)
                .map(|k| self.get(i, k) * other.get(k, j))
                .sum()
        })
    }

    /// `self += other`, entrywise.
    pub(crate) fn add_assign(&mut self, other: &Self) {
        debug_assert_eq!(self.shape(), other.shape());
        for (x, y) in self.data.iter_mut().zip(&other.data) {
            *x += y;
        }
    }
}
