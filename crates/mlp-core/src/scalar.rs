//! The floating-point types a network can be built on: `f32` to train fast, `f64` to verify.

use faer::traits::RealField;
use std::fmt::{Debug, Display};

/// A real scalar a network can compute in.
///
/// `f64` uses the standard library's `exp`, `ln` and `tanh`, so that gradient checks see full double
/// precision. `f32` uses a branch-free polynomial `exp` (within 3 ulp of the correctly rounded value)
/// that the compiler can vectorise: the sigmoid over a 150 × 60 000 batch would otherwise cost a fifth
/// of the matrix products.
pub trait Float: RealField + Copy + Send + Sync + Debug + Display + PartialOrd + 'static {
    /// Converts from `f64`, rounding to nearest.
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` exactly.
    fn to_f64(self) -> f64;
    /// The exponential function.
    fn exp(self) -> Self;
    /// The natural logarithm.
    fn ln(self) -> Self;
    /// The hyperbolic tangent.
    fn tanh(self) -> Self;
}

impl Float for f64 {
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        f64::ln(self)
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        f64::tanh(self)
    }
}

impl Float for f32 {
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn exp(self) -> Self {
        exp_f32(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        f32::ln(self)
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        // tanh(x) = 1 - 2 / (exp(2x) + 1): stays on the vectorised exp and saturates cleanly to ±1.
        1.0 - 2.0 / (exp_f32(2.0 * self) + 1.0)
    }
}

/// `exp` for `f32` without branches or library calls, so that loops over slices vectorise.
///
/// Cody–Waite range reduction `x = n·ln2 + r` with |r| ≤ ln2/2, then a degree-6 Taylor polynomial
/// for `exp(r)` (truncation error below 2e-8 relative, under one f32 ulp), then scaling by `2^n`
/// through the exponent bits. Inputs are clamped to the range where the result is a normal f32;
/// the comparisons are written so that NaN passes through unchanged.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in a part with few significant bits (exact products n·LN2_HI) and the remainder.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2^23 rounds to the nearest integer in the low mantissa bits (SSE2 has no round).
    const ROUND: f32 = 12_582_912.0;
    // exp underflows below ln(f32::MIN_POSITIVE) ≈ −87.34 and overflows near ln(f32::MAX) ≈ 88.72; above 88 the
    // scale 2^n would need n = 128, so the last 0.7 of the range saturates to infinity early.
    const LOW: f32 = -87.3;
    const HIGH: f32 = 88.0;
    let input = x;
    // `clamp` keeps NaN.
    let x = x.clamp(LOW, HIGH);
    let shifted = x * LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let n_int = (shifted.to_bits() as i32).wrapping_sub(0x4B40_0000);
    let scale = f32::from_bits((n_int.wrapping_add(127) << 23) as u32);
    let result = p * scale;
    if input < LOW {
        0.0
    } else if input > HIGH {
        f32::INFINITY
    } else {
        result
    }
}

/// A loop to compile for several instruction sets: see [`vectorize`].
///
/// `run` must be `#[inline(always)]`, so that its body is compiled into each instruction set's copy
/// (a closure would be inlined only at the optimiser's discretion, and is not when it is large).
pub(crate) trait Kernel {
    /// What the loop returns.
    type Output;
    /// The loop.
    fn run(self) -> Self::Output;
}

/// Runs `kernel` compiled for the widest vector instructions this CPU has (AVX-512, else AVX2 and
/// FMA, on x86-64), so that its loops use 512- or 256-bit registers while the crate itself is built
/// for the baseline x86-64 (SSE2, 128-bit). The instruction set is detected at run time (std caches
/// the answer).
///
/// Floating-point results do not depend on the path taken: Rust never contracts `a * b + c` into a
/// fused multiply-add nor reorders a sum, so every path rounds the same operations in the same order.
#[inline(always)]
pub(crate) fn vectorize<K: Kernel>(kernel: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports the features `run_avx512` is compiled for (AVX-512F
            // implies AVX2 and FMA).
            return unsafe { run_avx512(kernel) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports the features `run_avx2` is compiled for.
            return unsafe { run_avx2(kernel) };
        }
    }
    kernel.run()
}

/// `kernel.run()`, compiled for AVX-512F (and the AVX2 and FMA it implies).
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn run_avx512<K: Kernel>(kernel: K) -> K::Output {
    kernel.run()
}

/// `kernel.run()`, compiled for AVX2 and FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<K: Kernel>(kernel: K) -> K::Output {
    kernel.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_f32_is_within_three_ulp_of_std_over_its_range() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let fast = exp_f32(x) as f64;
            let exact = (x as f64).exp();
            let ulp = (exact as f32).to_bits();
            let ulp = (f32::from_bits(ulp + 1) - f32::from_bits(ulp)) as f64;
            worst = worst.max((fast - exact).abs() / ulp);
            x += 0.000_731;
        }
        assert!(worst <= 3.0, "worst error {worst} ulp");
    }

    #[test]
    fn exp_f32_saturates_and_propagates_nan() {
        assert_eq!(exp_f32(-1e4), 0.0);
        assert_eq!(exp_f32(1e4), f32::INFINITY);
        assert!(exp_f32(-87.2) > 0.0 && exp_f32(87.9).is_finite());
        assert!(exp_f32(f32::NAN).is_nan());
        assert_eq!(exp_f32(0.0), 1.0);
    }

    #[test]
    fn tanh_f32_matches_std() {
        for i in -2000..=2000 {
            let x = i as f32 * 0.01;
            let err = (Float::tanh(x) - x.tanh()).abs();
            assert!(err < 3e-7, "tanh({x}) off by {err}");
        }
        assert_eq!(Float::tanh(1e4f32), 1.0);
        assert_eq!(Float::tanh(-1e4f32), -1.0);
    }
}
