//! A tiny tape-based reverse-mode differentiator in `f64`, in the style of micrograd.
//!
//! # Why it exists
//! The network in `mlp-core` computes its gradients with back-propagation written by hand.
//! This crate is an **independent oracle** for those gradients: it shares no code with
//! `mlp-core` (not even the matrix type), it is small enough to check by eye, and each
//! primitive's derivative is written once, next to a comment giving the formula. Tests and the
//! `gradcheck` command compare the hand-written gradients against
//! [`mlp_loss_and_gradients`]; nothing here is ever used for training.
//!
//! # How it works
//! A [`Tape`] is a Wengert list: every op appends a node holding its value, its parents and the
//! op. [`Tape::backward`] seeds d loss / d loss = 1 and walks the nodes in reverse creation
//! order, adding each node's contribution to its parents' gradients.
//!
//! # Example
//! d/dx Σ σ(x) = σ(x)(1 − σ(x)), which is 0.25 at x = 0:
//! ```
//! use mlp_autograd::{Matrix, Tape};
//!
//! let mut tape = Tape::new();
//! let x = tape.leaf(Matrix::new(1, 2, vec![0.0, 2.0])?);
//! let s = tape.sigmoid(x);
//! let loss = tape.sum(s);
//! tape.backward(loss)?;
//! let sigma2 = 1.0 / (1.0 + (-2.0f64).exp());
//! assert_eq!(tape.grad(x).data(), &[0.25, sigma2 * (1.0 - sigma2)]);
//! # Ok::<(), mlp_autograd::AutogradError>(())
//! ```

mod error;
mod matrix;
mod mlp;
mod tape;

pub use error::{AutogradError, Result};
pub use matrix::Matrix;
pub use mlp::{mlp_loss_and_gradients, Activation};
pub use tape::{Tape, Var};
