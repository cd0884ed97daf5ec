//! The machine's matrix-product peak, which the benchmarks hold their figures against: the best
//! rate of a few square products of side [`PEAK_SIZE`] run by faer, in the benchmark's precision
//! and on its threads.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat};
use mlp_core::Float;
use std::time::Instant;

/// The side of the square product whose speed is taken as the machine's peak.
pub const PEAK_SIZE: usize = 2048;

/// The best of a few square products `C = A·B` of side [`PEAK_SIZE`], in GFLOP/s.
pub fn gemm_peak<T: Float>(threads: usize) -> f64 {
    GemmPeak::<T>::new().measure(threads)
}

/// The square product of side [`PEAK_SIZE`] whose speed is taken as the machine's peak, with its
/// operands allocated once, for measuring it again and again beside other work.
pub struct GemmPeak<T: Float> {
    a: Mat<T>,
    b: Mat<T>,
    c: Mat<T>,
}

impl<T: Float> GemmPeak<T> {
    /// Allocates and fills the operands (3 · [`PEAK_SIZE`]² values).
    pub fn new() -> Self {
        let n = PEAK_SIZE;
        Self {
            a: Mat::from_fn(n, n, |i, j| {
                T::from_f64(((i * 7 + j * 3) % 13) as f64 / 13.0)
            }),
            b: Mat::from_fn(n, n, |i, j| {
                T::from_f64(((i * 5 + j * 11) % 17) as f64 / 17.0)
            }),
            c: Mat::zeros(n, n),
        }
    }

    /// The best rate of a few products on `threads` threads, in GFLOP/s.
    pub fn measure(&mut self, threads: usize) -> f64 {
        let n = PEAK_SIZE;
        let par = mlp_core::par::for_product(n, n, n, threads);
        let mut best = f64::INFINITY;
        // The first run warms the caches and the thread pool; the best of the others is kept.
        for _ in 0..6 {
            let start = Instant::now();
            matmul(
                self.c.as_mut(),
                Accum::Replace,
                self.a.as_ref(),
                self.b.as_ref(),
                T::from_f64(1.0),
                par,
            );
            best = best.min(start.elapsed().as_secs_f64());
        }
        2.0 * (n as f64).powi(3) / best / 1e9
    }
}

impl<T: Float> Default for GemmPeak<T> {
    fn default() -> Self {
        Self::new()
    }
}
