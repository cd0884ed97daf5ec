//! The one error type of mlp-core.

use thiserror::Error;

/// What can go wrong when building, running or training a network.
///
/// Every public entry point checks its arguments and returns one of these rather than panicking;
/// shape errors name the operand and both shapes as `(rows, cols)`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MlpError {
    /// A matrix given to the network does not have the shape the network needs.
    #[error("{what}: expected shape {expected:?}, found {found:?}")]
    ShapeMismatch {
        /// The operand, e.g. `"propagate input (layer 0)"` or `"layer 1 weights"`.
        what: String,
        /// The shape the network needs, as (rows, cols).
        expected: (usize, usize),
        /// The shape it was given.
        found: (usize, usize),
    },
    /// A list of layer sizes that does not describe a network.
    #[error("invalid layer sizes {sizes:?}: {reason}")]
    InvalidSizes {
        /// The sizes as given.
        sizes: Vec<usize>,
        /// Why they were rejected.
        reason: &'static str,
    },
    /// A batch with no samples.
    #[error("{what}: the batch is empty (0 columns)")]
    EmptyBatch {
        /// The entry point that received it.
        what: &'static str,
    },
    /// A layer index past the last layer.
    #[error("layer {index} does not exist: the network has {n_layers} layers")]
    NoSuchLayer {
        /// The index asked for.
        index: usize,
        /// How many weight layers the network has.
        n_layers: usize,
    },
    /// Back-propagation needs the forward pass of the same batch first.
    #[error(
        "backpropagate needs a forward pass of the same batch first: call propagate(x) with it"
    )]
    NoForwardPass,
    /// The batch given to `backpropagate` is not the one given to `propagate`.
    #[error("backpropagate got another input than the last propagate (shape {found:?})")]
    InputChanged {
        /// Shape of the input given to backpropagate.
        found: (usize, usize),
    },
    /// A label not below the number of classes.
    #[error("label {label} at sample {index} is out of range for {n_classes} classes")]
    LabelOutOfRange {
        /// Position of the sample in the batch.
        index: usize,
        /// The label found.
        label: usize,
        /// Number of output classes.
        n_classes: usize,
    },
    /// A hyper-parameter outside its meaningful range.
    #[error("invalid {name} {value}: {reason}")]
    InvalidHyperParameter {
        /// Its name, e.g. `"learning rate"`.
        name: &'static str,
        /// The value given.
        value: f64,
        /// What it must be.
        reason: &'static str,
    },
    /// A parameter count that does not fit in `u64`.
    #[error("the number of parameters of {sizes:?} overflows a 64-bit integer")]
    CountOverflow {
        /// The layer sizes.
        sizes: Vec<usize>,
    },
}

/// The result type of mlp-core.
pub type Result<T> = std::result::Result<T, MlpError>;

/// Returns a [`MlpError::ShapeMismatch`] unless `found == expected`.
pub(crate) fn check_shape(
    what: impl FnOnce() -> String,
    expected: (usize, usize),
    found: (usize, usize),
) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(MlpError::ShapeMismatch {
            what: what(),
            expected,
            found,
        })
    }
}

/// Returns a [`MlpError::InvalidSizes`] unless a layer has at least one input and one output.
pub(crate) fn check_layer_sizes(n_in: usize, n_out: usize) -> Result<()> {
    if n_out == 0 || n_in == 0 {
        return Err(MlpError::InvalidSizes {
            sizes: vec![n_in, n_out],
            reason: "every layer needs at least one input and one output",
        });
    }
    Ok(())
}
