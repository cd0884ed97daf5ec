//! Training, free of the terminal: a [`Trainer`] runs the epochs of a [`TrainConfig`], writes the
//! run's files ([`files`]) and tells an [`Observer`] what happens; the run ends in an [`Outcome`].
//!
//! Start with [`trainer`]: `Trainer::new` (or `Trainer::resume`), then `run(&mut observer, &stop)`.
//! [`config`] is the persisted configuration, [`record`] the per-epoch records and the summary,
//! [`files`] the run directory, `step` one mini-batch step (which `mlp-cli bench-train` times too)
//! and `threads` how an epoch's steps use the cores; the command `mlp-cli train` is a thin shell
//! over them ([`crate::train_command`]).

pub mod config;
pub mod files;
pub mod record;
pub(crate) mod step;
pub(crate) mod threads;
pub mod trainer;

pub use config::TrainConfig;
pub use files::{read_curve, RunDir};
pub use record::{EpochRecord, Summary};
pub use trainer::{
    Divergence, Measured, Observer, Outcome, Progress, Splits, Trainer, DIVERGENCE_FACTOR,
};
