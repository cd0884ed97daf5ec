//! The command-line front end of the project, as a library so that `xtask` and the integration tests
//! share its code: each subcommand is one module with its clap `Args` and a `run` function. Training
//! itself is [`train`], free of the terminal; `mlp-cli train` is [`train_command`], a shell over it.

pub mod bench;
pub mod bench_train;
pub mod count_params;
pub mod data;
mod error;
pub mod evaluate;
pub mod gradcheck;
pub mod inspect;
pub mod model_file;
pub mod peak;
pub mod plot;
pub mod predict;
pub mod serve;
pub mod spec;
pub mod train;
pub mod train_command;

pub use error::{CliError, Result};
