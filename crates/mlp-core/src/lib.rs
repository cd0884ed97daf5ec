//! A multilayer perceptron of any depth with a softmax output, whose forward and backward passes are
//! written by hand on [faer] matrices.
//!
//! **Layout.** Samples are the *columns* of every batch matrix: an input batch is `(n_inputs, m)`,
//! so a batch of consecutive images stored one after the other is a zero-copy view. Weights are
//! `(n_out, n_in)`, and a layer computes `A = f(W·X + b)`.
//!
//! **Entry points.** [`Mlp`] (with the practical work's `propagate`, `backpropagate`,
//! `gradient_weights`, `gradient_bias`, `update_params`), [`Layer`], [`Softmax`], [`Sgd`],
//! [`count_params`], and [`gradcheck::check_gradients`]. Generic over `f32` (to train) and `f64`
//! (to verify): see [`Float`]. `examples/spirals.rs` trains a small net on a synthetic problem
//! (`cargo run --release -p mlp-core --example spirals`).
//!
//! **Reading the math.** [`Mlp::propagate`] and [`Mlp::backpropagate`] (`mlp.rs`) run the layers;
//! each equation of a layer is written once in `layer.rs`. How the work is split between threads
//! is decided once per batch in `plan.rs` and carried out by `kernels/` and [`par`].
//!
//! This crate does no I/O: reading data and writing models belong to `mlp-data` and `mlp-cli`.
//!
//! ```
//! use mlp_core::{Activation, Mlp};
//!
//! let mlp = Mlp::<f32>::new(&[784, 150, 10], Activation::Sigmoid, 1)?;
//! assert_eq!(mlp.n_params(), 119_260);
//! # Ok::<(), mlp_core::MlpError>(())
//! ```

mod activation;
mod error;
pub mod gradcheck;
mod kernels;
mod layer;
mod mlp;
mod optim;
pub mod par;
mod params;
mod plan;
mod predict;
mod scalar;
mod softmax;
mod weights;

pub use activation::Activation;
pub use error::{MlpError, Result};
pub use layer::Layer;
pub use mlp::Mlp;
pub use optim::{LrSchedule, Sgd};
pub use params::{count_params, LayerCount, ParamCount};
pub use scalar::{exp_f32, Float};
pub use softmax::Softmax;
