//! The parameters a gradient check perturbs: naming one, choosing them, reading and setting one
//! through the network's public accessors.

use crate::error::Result;
use crate::{Mlp, MlpError};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Whether a parameter is a weight or a bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// An entry of a weight matrix W `(n_out, n_in)`.
    Weight,
    /// An entry of a bias b `(n_out,)`; its column is always 0.
    Bias,
}

impl ParamKind {
    /// `"weight"` or `"bias"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Weight => "weight",
            Self::Bias => "bias",
        }
    }
}

/// One scalar parameter of a network: `W_layer[row, col]`, or `b_layer[row]` (with `col == 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Param {
    /// The layer, 0 on the input side.
    pub layer: usize,
    /// Weight or bias.
    pub kind: ParamKind,
    /// The row: the output unit.
    pub row: usize,
    /// The column: the input unit (0 for a bias).
    pub col: usize,
}

/// Which parameters to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamSelection {
    /// Every weight and every bias.
    All,
    /// Up to N entries drawn (without replacement, from the seed) from each weight matrix and N from
    /// each bias; a matrix or bias with N entries or fewer is checked whole.
    PerLayer(usize),
    /// Exactly these parameters (e.g. a test skipping ReLU kinks).
    Only(Vec<Param>),
}

/// The parameters a selection names, in layer order, weights (column-major) before biases.
///
/// Fails on `PerLayer(0)` and on an `Only` entry outside the network.
pub fn select_params(mlp: &Mlp<f64>, selection: &ParamSelection, seed: u64) -> Result<Vec<Param>> {
    let layers = mlp.layers();
    let every = |layer: usize, kind: ParamKind, flat: usize| {
        let n_out = layers[layer].n_out();
        Param {
            layer,
            kind,
            row: flat % n_out,
            col: flat / n_out,
        }
    };
    match selection {
        ParamSelection::All => Ok(layers
            .iter()
            .enumerate()
            .flat_map(|(l, layer)| {
                let weights =
                    (0..layer.n_out() * layer.n_in()).map(move |i| (l, ParamKind::Weight, i));
                let bias = (0..layer.n_out()).map(move |i| (l, ParamKind::Bias, i));
                weights.chain(bias)
            })
            .map(|(l, kind, i)| every(l, kind, i))
            .collect()),
        &ParamSelection::PerLayer(n) => {
            if n == 0 {
                return Err(MlpError::InvalidHyperParameter {
                    name: "parameters per layer",
                    value: 0.0,
                    reason: "must be at least 1",
                });
            }
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut params = Vec::new();
            for (l, layer) in layers.iter().enumerate() {
                for (kind, len) in [
                    (ParamKind::Weight, layer.n_out() * layer.n_in()),
                    (ParamKind::Bias, layer.n_out()),
                ] {
                    let mut picked = rand::seq::index::sample(&mut rng, len, n.min(len)).into_vec();
                    picked.sort_unstable();
                    params.extend(picked.into_iter().map(|i| every(l, kind, i)));
                }
            }
            Ok(params)
        }
        ParamSelection::Only(params) => {
            for p in params {
                check_param(mlp, *p)?;
            }
            Ok(params.clone())
        }
    }
}

/// Fails unless `p` names a parameter of `mlp`.
pub(super) fn check_param(mlp: &Mlp<f64>, p: Param) -> Result<()> {
    let n_layers = mlp.layers().len();
    let layer = mlp.layers().get(p.layer).ok_or(MlpError::NoSuchLayer {
        index: p.layer,
        n_layers,
    })?;
    let (shape, what) = match p.kind {
        ParamKind::Weight => (layer.weights().shape(), "weights"),
        ParamKind::Bias => ((layer.n_out(), 1), "bias"),
    };
    if p.row < shape.0 && p.col < shape.1 {
        Ok(())
    } else {
        Err(MlpError::ShapeMismatch {
            what: format!(
                "gradient check: index ({}, {}) is outside layer {} {what}",
                p.row, p.col, p.layer
            ),
            expected: shape,
            // The smallest shape that would hold the index (saturating: the index may be anything).
            found: (p.row.saturating_add(1), p.col.saturating_add(1)),
        })
    }
}

/// The current value of parameter `p` of `mlp` (`p` must exist: see [`select_params`]).
pub fn get(mlp: &Mlp<f64>, p: Param) -> f64 {
    let layer = &mlp.layers()[p.layer];
    match p.kind {
        ParamKind::Weight => layer.weights()[(p.row, p.col)],
        ParamKind::Bias => layer.bias()[p.row],
    }
}

/// Sets parameter `p` of `mlp` to `value` (`p` must exist: see [`select_params`]).
pub fn set(mlp: &mut Mlp<f64>, p: Param, value: f64) {
    let layer = &mut mlp.layers_mut()[p.layer];
    match p.kind {
        ParamKind::Weight => layer.weights_mut()[(p.row, p.col)] = value,
        ParamKind::Bias => layer.bias_mut()[p.row] = value,
    }
}
