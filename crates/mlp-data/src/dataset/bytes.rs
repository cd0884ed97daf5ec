//! Pixel bytes turned into their values ([`byte_value`]) a slice at a time, without a division.
//!
//! A division by 255 per pixel set the speed of a batch's gather: a processor divides about one
//! float per cycle whatever the width of its vectors, while it multiplies and adds eight or sixteen.
//! With fused multiply-adds, `byte / 255` is a product by `1/255` corrected by one Newton step,
//! which gives the correctly rounded quotient, the very value [`byte_value`] computes, for each of
//! the 256 bytes (a test checks them all); without them, the division stays.

use super::byte_value;

/// Writes the value of `bytes[k]` into `values[k]`, converted to `T`, for `k` up to the shorter of
/// the two.
pub(super) fn values_into<T: Copy + From<f32>>(bytes: &[u8], values: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: the processor has the features the function is compiled for.
        unsafe { values_into_with_fma(bytes, values) };
        return;
    }
    for (value, &byte) in values.iter_mut().zip(bytes) {
        *value = T::from(byte_value(byte));
    }
}

/// [`values_into`]'s loop, compiled for vectors of fused multiply-adds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn values_into_with_fma<T: Copy + From<f32>>(bytes: &[u8], values: &mut [T]) {
    for (value, &byte) in values.iter_mut().zip(bytes) {
        *value = T::from(byte_value_by_fma(byte));
    }
}

/// `byte / 255` without a division: the product `q = byte · (1/255)`, then `q + r · (1/255)`
/// with the remainder `r = byte − 255·q`, which a fused multiply-add computes exactly.
#[inline(always)]
fn byte_value_by_fma(byte: u8) -> f32 {
    const INVERSE_255: f32 = 1.0 / 255.0;
    let x = f32::from(byte);
    let q = x * INVERSE_255;
    let remainder = (-q).mul_add(255.0, x);
    remainder.mul_add(INVERSE_255, q)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Newton step gives the correctly rounded quotient for every byte (the product alone is
    /// one ulp off for about half of them).
    #[test]
    fn every_byte_gets_the_value_of_the_division() {
        let mut product_alone_differs = 0;
        for byte in 0..=u8::MAX {
            assert_eq!(byte_value_by_fma(byte), byte_value(byte), "byte {byte}");
            product_alone_differs +=
                usize::from(f32::from(byte) * (1.0 / 255.0) != byte_value(byte));
        }
        assert!(product_alone_differs > 100, "{product_alone_differs}");
    }

    /// The slice loop, on whatever path this processor takes, writes the division's values, as
    /// `f32` and as `f64`, and stops at the shorter slice.
    #[test]
    fn slices_get_the_values_of_the_division() {
        let bytes: Vec<u8> = (0..=u8::MAX).chain((0..=u8::MAX).rev()).collect();
        let mut floats = vec![0.0f32; bytes.len()];
        values_into(&bytes, &mut floats);
        assert!(floats.iter().zip(&bytes).all(|(&v, &b)| v == byte_value(b)));
        let mut doubles = vec![-1.0f64; bytes.len() + 3];
        values_into(&bytes, &mut doubles);
        let written = doubles.iter().zip(&bytes);
        assert!(written
            .into_iter()
            .all(|(&v, &b)| v == f64::from(byte_value(b))));
        assert_eq!(doubles[bytes.len()..], [-1.0; 3]);
    }
}
