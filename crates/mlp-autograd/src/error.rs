//! The one error type of this crate.

use std::fmt;

/// Everything a caller can get wrong: mismatched shapes, bad labels, a non-scalar loss.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AutogradError {
    /// [`Matrix::new`](crate::Matrix::new) got `len` numbers for a `rows` × `cols` matrix.
    DataLength {
        /// Requested number of rows.
        rows: usize,
        /// Requested number of columns.
        cols: usize,
        /// Length of the data actually supplied.
        len: usize,
    },
    /// The operands of `op` have incompatible shapes (rows, cols).
    ShapeMismatch {
        /// Name of the operation.
        op: &'static str,
        /// Shape of the first operand.
        left: (usize, usize),
        /// Shape of the second operand.
        right: (usize, usize),
    },
    /// [`Tape::backward`](crate::Tape::backward) needs a 1×1 loss.
    NotScalar {
        /// Shape of the value that was passed as the loss.
        shape: (usize, usize),
    },
    /// There must be exactly one label per column (sample) of the logits.
    LabelCount {
        /// Number of labels supplied.
        labels: usize,
        /// Number of columns of the logits.
        columns: usize,
    },
    /// A label is not a row index of the logits.
    LabelOutOfRange {
        /// The offending label.
        label: usize,
        /// Number of classes (rows of the logits).
        classes: usize,
    },
    /// A mean over zero samples is undefined.
    EmptyBatch,
    /// [`mlp_loss_and_gradients`](crate::mlp_loss_and_gradients) got no layers.
    NoLayers,
}

impl fmt::Display for AutogradError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DataLength { rows, cols, len } => {
                write!(
                    f,
                    "a {rows}x{cols} matrix needs {} numbers, got {len}",
                    rows * cols
                )
            }
            Self::ShapeMismatch { op, left, right } => write!(
                f,
                "{op}: incompatible shapes {}x{} and {}x{}",
                left.0, left.1, right.0, right.1
            ),
            Self::NotScalar { shape } => {
                write!(f, "backward needs a 1x1 loss, got {}x{}", shape.0, shape.1)
            }
            Self::LabelCount { labels, columns } => {
                write!(f, "{labels} labels for {columns} columns of logits")
            }
            Self::LabelOutOfRange { label, classes } => {
                write!(f, "label {label} out of range for {classes} classes")
            }
            Self::EmptyBatch => write!(f, "softmax cross-entropy over an empty batch"),
            Self::NoLayers => write!(f, "a network needs at least one layer"),
        }
    }
}

impl std::error::Error for AutogradError {}

/// `Result` with [`AutogradError`].
pub type Result<T> = std::result::Result<T, AutogradError>;
