//! One mini-batch step, as the trainer runs it in every epoch: the gather of the batch, the
//! forward pass, the loss, back-propagation and the optimiser's update. `mlp-cli bench-train` times
//! this same function, so that its figures are what `train` sees.

use super::threads::gather_batch;
use crate::Result;
use faer::Mat;
use mlp_core::{Mlp, Sgd};
use mlp_data::Dataset;

/// The buffers a mini-batch is gathered into, allocated once for the largest batch; a smaller
/// batch (an epoch's last) uses their first columns.
pub(crate) struct Batch {
    /// Images, one per column.
    x: Mat<f32>,
    /// One-hot labels, one per column.
    y: Mat<f32>,
}

impl Batch {
    /// Buffers for batches of up to `batch_size` samples of `train`.
    pub(crate) fn new(train: &Dataset, batch_size: usize) -> Self {
        Self {
            x: Mat::zeros(train.n_features(), batch_size),
            y: Mat::zeros(train.n_classes(), batch_size),
        }
    }

    /// One step on the samples `indices` of `train`, on `threads` threads: the images and labels
    /// gathered into the buffers, then `Mlp::propagate`, the mean cross-entropy, and — when it is
    /// finite — `Mlp::backpropagate` and `Sgd::step` at rate `lr`. Returns the mini-batch's loss;
    /// when it is not finite, nothing else is computed and the parameters do not move.
    pub(crate) fn step(
        &mut self,
        train: &Dataset,
        indices: &[usize],
        mlp: &mut Mlp<f32>,
        sgd: &mut Sgd<f32>,
        lr: f64,
        threads: usize,
    ) -> Result<f64> {
        mlp.set_threads(threads);
        let m = indices.len();
        let mut xb = self.x.as_mut().subcols_mut(0, m);
        let mut yb = self.y.as_mut().subcols_mut(0, m);
        gather_batch(train, indices, xb.as_mut(), yb.as_mut(), threads)?;
        mlp.propagate(xb.as_ref())?;
        let loss = mlp.loss(yb.as_ref())? as f64;
        if loss.is_finite() {
            mlp.backpropagate(xb.as_ref(), yb.as_ref())?;
            sgd.step(mlp, lr)?;
        }
        Ok(loss)
    }
}
