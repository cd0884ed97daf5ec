//! Deterministic per-epoch shuffling and mini-batch slicing of sample indices.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{DataError, Result};

/// A fresh permutation of `0..n` that depends only on `(seed, epoch)`.
///
/// Each epoch uses its own ChaCha stream of the same seed, so resuming a run at epoch
/// `e` needs no saved RNG state: recompute the order from `(seed, e)`.
pub fn epoch_order(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut order = vec![0; n];
    shuffle_into(&mut order, seed, epoch);
    order
}

/// Overwrites `order` with the same permutation `epoch_order(order.len(), seed, epoch)`
/// returns, reusing the buffer instead of allocating.
///
/// The previous contents are ignored: the buffer is reset to `0..len` before shuffling,
/// so the result never depends on earlier epochs.
pub fn shuffle_into(order: &mut [usize], seed: u64, epoch: u64) {
    for (i, o) in order.iter_mut().enumerate() {
        *o = i;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch);
    order.shuffle(&mut rng);
}

/// Mini-batches of `order`, in order, each `batch_size` long except possibly the last.
///
/// The last partial batch is included so that every sample is seen once per epoch.
/// `batch_size` must be in `1..=order.len()`; anything else is a configuration mistake
/// better reported than silently clamped.
pub fn batches(order: &[usize], batch_size: usize) -> Result<std::slice::Chunks<'_, usize>> {
    if batch_size == 0 || batch_size > order.len() {
        return Err(DataError::InvalidBatchSize {
            batch_size,
            n: order.len(),
        });
    }
    Ok(order.chunks(batch_size))
}

/// How many mini-batches `n` samples make, counting a last partial one.
///
/// Pure arithmetic for progress bars and schedules: 0 when `batch_size` is 0.
pub fn n_batches(n: usize, batch_size: usize) -> usize {
    if batch_size == 0 {
        0
    } else {
        n.div_ceil(batch_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_permutation(order: &[usize]) -> bool {
        let mut sorted = order.to_vec();
        sorted.sort_unstable();
        sorted.iter().enumerate().all(|(i, &v)| i == v)
    }

    #[test]
    fn epoch_order_is_a_deterministic_permutation() {
        for n in [0, 1, 2, 17, 1000] {
            let a = epoch_order(n, 42, 3);
            assert_eq!(a.len(), n);
            assert!(is_permutation(&a), "n = {n}");
            assert_eq!(a, epoch_order(n, 42, 3), "n = {n}");
        }
    }

    #[test]
    fn epoch_order_differs_between_epochs_and_seeds() {
        let base = epoch_order(1000, 42, 0);
        assert_ne!(base, (0..1000).collect::<Vec<_>>(), "not shuffled");
        assert_ne!(base, epoch_order(1000, 42, 1));
        assert_ne!(base, epoch_order(1000, 43, 0));
        assert_ne!(epoch_order(1000, 42, 1), epoch_order(1000, 43, 1));
    }

    #[test]
    fn shuffle_into_ignores_previous_contents() {
        let mut buf = vec![7; 50];
        shuffle_into(&mut buf, 9, 4);
        assert_eq!(buf, epoch_order(50, 9, 4));
        shuffle_into(&mut buf, 9, 5);
        shuffle_into(&mut buf, 9, 4);
        assert_eq!(buf, epoch_order(50, 9, 4));
    }

    #[track_caller]
    fn check_batches(n: usize, batch_size: usize, sizes: &[usize]) {
        let order = epoch_order(n, 1, 0);
        let got: Vec<&[usize]> = batches(&order, batch_size).unwrap().collect();
        assert_eq!(got.iter().map(|b| b.len()).collect::<Vec<_>>(), sizes);
        assert_eq!(got.concat(), order, "every index once, in order");
        assert_eq!(n_batches(n, batch_size), sizes.len());
    }

    #[test]
    fn batches_cover_everything_with_last_partial() {
        check_batches(10, 3, &[3, 3, 3, 1]);
        check_batches(10, 5, &[5, 5]);
        check_batches(10, 10, &[10]);
        check_batches(10, 1, &[1; 10]);
        check_batches(7, 6, &[6, 1]);
    }

    #[test]
    fn batches_reject_bad_sizes() {
        let order = epoch_order(10, 1, 0);
        for bad in [0, 11, usize::MAX] {
            let e = batches(&order, bad).unwrap_err();
            assert!(
                matches!(e, DataError::InvalidBatchSize { batch_size, n: 10 } if batch_size == bad),
                "{e}"
            );
        }
        assert!(batches(&[], 1).is_err());
        assert_eq!(n_batches(10, 0), 0);
    }
}
