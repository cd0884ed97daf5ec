//! Project automation behind `cargo xtask`: the experiments that produce `results/` and the
//! report generated from their files.
//!
//! - `cargo xtask experiments [--quick] [--force]`: every training run (see [`experiments`]), the
//!   forward-propagation and training-step benchmarks, then the report.
//! - `cargo xtask report [--results DIR] [--facts FILE]`: `REPORT.md` and the figures from the run
//!   files only, or the facts the report is rendered from, as JSON (see [`report`]).
//! - `cargo xtask mutants [FILE...] [--shard K/N]`: mutation testing of the math (see [`mutants`]).

pub mod bench;
pub mod digits;
pub mod executor;
pub mod experiments;
pub mod figures;
pub mod gradients;
pub mod mutants;
pub mod plan;
pub mod report;
pub mod results;
pub mod runs;
pub mod scaling;
pub mod setting;
pub mod stats;

/// Errors of the tasks: any error, with its message.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// The tasks' result type.
pub type Result<T> = std::result::Result<T, Error>;
