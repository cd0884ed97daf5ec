//! Counting the parameters of a network from its layer sizes.

use crate::mlp::validate_sizes;
use crate::{MlpError, Result};

/// The parameters of one weight layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerCount {
    /// Inputs of the layer (columns of W).
    pub n_in: usize,
    /// Outputs of the layer (rows of W, length of b).
    pub n_out: usize,
    /// `n_out · n_in + n_out`.
    pub count: u64,
}

/// Weights and biases of a network, per layer and in total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamCount {
    /// One entry per weight layer, input side first.
    pub layers: Vec<LayerCount>,
    /// The sum over layers.
    pub total: u64,
}

/// Counts the weights and biases of a network with layer sizes `sizes` (inputs, hidden…, classes),
/// with checked arithmetic: a count that does not fit in `u64` is an error, not a wrapped number.
///
/// ```
/// // The practical work's review question: hidden layers 100, 200, 50 on MNIST.
/// let count = mlp_core::count_params(&[784, 100, 200, 50, 10])?;
/// assert_eq!(count.total, 109_260);
/// assert_eq!(count.layers[0].count, 78_500);
/// # Ok::<(), mlp_core::MlpError>(())
/// ```
pub fn count_params(sizes: &[usize]) -> Result<ParamCount> {
    validate_sizes(sizes)?;
    let overflow = || MlpError::CountOverflow {
        sizes: sizes.to_vec(),
    };
    let mut total: u64 = 0;
    let mut layers = Vec::with_capacity(sizes.len() - 1);
    for pair in sizes.windows(2) {
        let (n_in, n_out) = (pair[0], pair[1]);
        let count = (n_in as u64)
            .checked_add(1)
            .and_then(|fan_in| fan_in.checked_mul(n_out as u64))
            .ok_or_else(overflow)?;
        total = total.checked_add(count).ok_or_else(overflow)?;
        layers.push(LayerCount { n_in, n_out, count });
    }
    Ok(ParamCount { layers, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(sizes: &[usize], expected: Option<u64>) {
        assert_eq!(
            count_params(sizes).ok().map(|c| c.total),
            expected,
            "{sizes:?}"
        );
    }

    #[test]
    fn counts() {
        // (784 + 1)·100 + (100 + 1)·200 + (200 + 1)·50 + (50 + 1)·10.
        check(
            &[784, 100, 200, 50, 10],
            Some(78_500 + 20_200 + 10_050 + 510),
        );
        check(&[784, 10], Some(7_850));
        check(&[784, 150, 10], Some(117_750 + 1_510));
        check(&[1, 1], Some(2));
        check(&[784], None);
        check(&[784, 0, 10], None);
        check(&[usize::MAX, usize::MAX, 10], None);
    }

    #[test]
    fn overflow_is_an_error() {
        let err = count_params(&[usize::MAX, usize::MAX]).unwrap_err();
        assert!(matches!(err, MlpError::CountOverflow { .. }), "{err}");
    }
}
