//! `cargo xtask report`: `REPORT.md` and its figures, generated from the run files only.
//!
//! The report is made in two steps. First each section's **facts** are computed in Rust from the
//! loaded [`Results`]: plain serialisable structs of numbers, names and qualitative judgements
//! (enums such as [`curves::Gap`], serialised as plain strings like `"large"`), one module per
//! section. Then the **prose** is rendered from those facts by the Markdown templates in
//! `xtask/templates/` (minijinja), where every sentence of the report lives; numbers become text
//! through the filters of [`template`], which apply the formats of [`crate::stats`].
//!
//! Every number in the report is read from `summary.json`, `curve.csv`, `gradients.csv`,
//! `bench/bench_forward.csv` and `bench-train/bench_train.csv`, or computed from them (`mlp_core::count_params` for the parameter
//! counts); every qualitative sentence is chosen by comparing such numbers. The rendering is
//! deterministic (sorted directory listings, fixed float formats, no dates), so rendering the
//! committed files reproduces the committed `REPORT.md` byte for byte — a test checks it.

pub mod benchmark;
pub mod complexity;
pub mod curves;
pub mod digits;
pub mod epochs;
pub mod final_errors;
pub mod gradient_sizes;
pub mod lr_batch;
pub mod scaling;
pub mod search;
pub mod setup;
pub mod template;

#[cfg(test)]
mod testing;

pub use crate::results::{Group, Results};

use crate::{figures, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// File name of the report, at the results root.
pub const REPORT: &str = "REPORT.md";

/// Differences of validation error below this (in rate, 0.0005 = 0.05 points = 5 images of the
/// 10 000) are called "within noise" when no seed-to-seed spread is available.
pub const NOISE_FLOOR: f64 = 0.0005;

/// Options of `cargo xtask report`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Results directory holding the run files (e.g. results or results/quick).
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Write the report's facts (every number and judgement the text is rendered from) as JSON
    /// to this file instead of writing REPORT.md and the figures.
    #[arg(long, value_name = "FILE")]
    pub facts: Option<PathBuf>,
}

/// The facts of the whole report, one field per section, in the order of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    /// The header and the setup list.
    pub setup: setup::Setup,
    /// The tables of final errors; `None` before any reported run.
    pub final_errors: Option<final_errors::FinalErrors>,
    /// The learning curves of each net.
    pub curves: curves::Curves,
    /// Shallow vs deep.
    pub complexity: complexity::Complexity,
    /// Why the deep sigmoid net is slow, with the gradient sizes.
    pub gradient_sizes: Option<gradient_sizes::GradientSizes>,
    /// The lr × batch study.
    pub lr_batch: Option<lr_batch::LrBatch>,
    /// The number of epochs.
    pub epochs: epochs::Epochs,
    /// The pictures of digits.
    pub digits: digits::Digits,
    /// The validation search of the tuned settings.
    pub search: Option<search::Search>,
    /// The review question's parameter count.
    pub review: setup::Review,
    /// The forward-propagation benchmark; `None` when it was not measured.
    pub benchmark: Option<benchmark::Benchmark>,
    /// The training-step scaling benchmark; `None` (and no section) when it was not measured.
    pub scaling: Option<scaling::Scaling>,
    /// How much work the runs were.
    pub reproduce: setup::Reproduce,
}

/// Computes every section's facts from the loaded results (pure: no file is read or written).
pub fn facts(r: &Results) -> Result<Facts> {
    Ok(Facts {
        setup: setup::setup(r)?,
        final_errors: final_errors::facts(r),
        curves: curves::facts(r),
        complexity: complexity::facts(r)?,
        gradient_sizes: gradient_sizes::facts(r),
        lr_batch: lr_batch::facts(r),
        epochs: epochs::facts(r),
        search: search::facts(r),
        digits: digits::facts(r),
        review: setup::review()?,
        benchmark: benchmark::facts(r),
        scaling: scaling::facts(r),
        reproduce: setup::reproduce(r),
    })
}

/// Runs `cargo xtask report`.
pub fn run(args: &Args) -> Result<()> {
    match &args.facts {
        Some(path) => {
            let facts = facts(&Results::load(&args.results)?)?;
            let json = serde_json::to_string_pretty(&facts)?;
            std::fs::write(path, json + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
            println!("wrote {}", path.display());
            Ok(())
        }
        None => generate(&args.results),
    }
}

/// Draws the figures and writes `REPORT.md` in `root`.
pub fn generate(root: &Path) -> Result<()> {
    let results = Results::load(root)?;
    figures::draw_all(root, &results)?;
    crate::digits::draw_all(root, &mlp_data::default_data_dir())?;
    let text = render(&results)?;
    std::fs::write(root.join(REPORT), text)?;
    println!("wrote {}", root.join(REPORT).display());
    Ok(())
}

/// Renders `REPORT.md` from the loaded results (pure: no file is read or written).
pub fn render(results: &Results) -> Result<String> {
    template::render(&facts(results)?)
}

#[cfg(test)]
mod tests;
