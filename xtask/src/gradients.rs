//! The size of each layer's weight gradient at initialisation, which shows why a deep sigmoid net
//! learns slowly with plain SGD: every sigmoid layer multiplies the back-propagated delta by
//! σ'(z) ≤ 1/4.

use crate::Result;
use faer::Mat;
use mlp_cli::spec::{dashed, layer_sizes};
use mlp_core::{Activation, Mlp};
use mlp_data::Dataset;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// File name of the measurement, at the results root.
pub const FILE: &str = "gradients.csv";

/// One row of `gradients.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientRow {
    /// Hidden widths, `-`-separated (e.g. `150-200-150-50`).
    pub hidden: String,
    /// Hidden activation, by its name.
    #[serde(with = "mlp_cli::train::config::by_name")]
    pub activation: Activation,
    /// Weight layer, 1 = the input side.
    pub layer: usize,
    /// Inputs of the layer.
    pub n_in: usize,
    /// Outputs of the layer.
    pub n_out: usize,
    /// Root mean square of ∂L/∂W over the layer's weights.
    pub grad_rms: f64,
    /// Training images in the batch the gradient is averaged over.
    pub samples: usize,
}

/// Measures the RMS weight gradient of every layer of freshly initialised networks (seed 1) on the
/// first `samples` training images, for each net and for sigmoid and ReLU hidden layers.
pub fn measure(train: &Dataset, nets: &[Vec<usize>], samples: usize) -> Result<Vec<GradientRow>> {
    let m = samples.min(train.len());
    let order: Vec<usize> = (0..m).collect();
    let mut x = Mat::<f32>::zeros(train.n_features(), m);
    let mut y = Mat::<f32>::zeros(train.n_classes(), m);
    train.gather_into(&order, x.as_mut(), y.as_mut())?;
    let mut rows = Vec::new();
    for hidden in nets {
        for activation in [Activation::Sigmoid, Activation::Relu] {
            let sizes = layer_sizes(train.n_features(), hidden, train.n_classes());
            let mut mlp = Mlp::<f32>::new(&sizes, activation, 1)?;
            mlp.propagate(x.as_ref())?;
            mlp.backpropagate(x.as_ref(), y.as_ref())?;
            for l in 0..sizes.len() - 1 {
                let g = mlp.gradient_weights(l)?;
                let mut sum = 0.0f64;
                for j in 0..g.ncols() {
                    for i in 0..g.nrows() {
                        sum += f64::from(g[(i, j)]).powi(2);
                    }
                }
                rows.push(GradientRow {
                    hidden: dashed(hidden),
                    activation,
                    layer: l + 1,
                    n_in: sizes[l],
                    n_out: sizes[l + 1],
                    grad_rms: (sum / (g.nrows() * g.ncols()) as f64).sqrt(),
                    samples: m,
                });
            }
        }
    }
    Ok(rows)
}

/// Writes the rows as CSV.
pub fn write(path: &Path, rows: &[GradientRow]) -> Result<()> {
    let mut writer = csv::Writer::from_path(path)?;
    for row in rows {
        writer.serialize(row)?;
    }
    writer.flush()?;
    Ok(())
}

/// Reads the rows back; `None` when the file does not exist.
pub fn read(path: &Path) -> Result<Option<Vec<GradientRow>>> {
    if !path.is_file() {
        return Ok(None);
    }
    let mut reader = csv::Reader::from_path(path)?;
    let rows = reader
        .deserialize()
        .collect::<std::result::Result<Vec<GradientRow>, _>>()?;
    Ok(Some(rows))
}
