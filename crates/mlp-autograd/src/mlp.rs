//! A whole MLP's loss and parameter gradients, built from the tape's primitives.

use crate::error::{AutogradError, Result};
use crate::matrix::Matrix;
use crate::tape::{Tape, Var};

/// The activation of the hidden layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// 1 / (1 + e^(−x)).
    Sigmoid,
    /// tanh(x).
    Tanh,
    /// max(x, 0).
    Relu,
    /// x.
    Identity,
}

impl Activation {
    fn apply(self, tape: &mut Tape, x: Var) -> Var {
        match self {
            Self::Sigmoid => tape.sigmoid(x),
            Self::Tanh => tape.tanh(x),
            Self::Relu => tape.relu(x),
            Self::Identity => tape.identity(x),
        }
    }
}

/// Mean softmax cross-entropy of an MLP on a batch, and its gradient for every (W, b).
///
/// `params[l]` is layer l's (W, b), W being (n_out × n_in) and b (n_out × 1). `x` is
/// (n_in × m), one sample per column, and `labels` has one class per column. Every layer but
/// the last computes `hidden(W·A + b)`; the last computes the logits `W·A + b`. Returns the loss
/// and (dW, db) per layer, in the same order and shapes as `params`.
pub fn mlp_loss_and_gradients(
    params: &[(Matrix, Matrix)],
    hidden: Activation,
    x: &Matrix,
    labels: &[usize],
) -> Result<(f64, Vec<(Matrix, Matrix)>)> {
    if params.is_empty() {
        return Err(AutogradError::NoLayers);
    }
    let mut tape = Tape::new();
    let mut a = tape.leaf(x.clone());
    let mut param_vars = Vec::with_capacity(params.len());
    for (layer, (w, b)) in params.iter().enumerate() {
        let w = tape.leaf(w.clone());
        let b = tape.leaf(b.clone());
        let wa = tape.matmul(w, a)?;
        let z = tape.add_bias(wa, b)?;
        let is_last = layer + 1 == params.len();
        a = if is_last {
            tape.identity(z)
        } else {
            hidden.apply(&mut tape, z)
        };
        param_vars.push((w, b));
    }
    let loss = tape.softmax_cross_entropy(a, labels)?;
    tape.backward(loss)?;
    let grads = param_vars
        .iter()
        .map(|&(w, b)| (tape.grad(w).clone(), tape.grad(b).clone()))
        .collect();
    Ok((tape.value(loss).get(0, 0), grads))
}
