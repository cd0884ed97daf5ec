//! The training-step scaling benchmark: `mlp-cli bench-train`'s study, run by `experiments` into
//! `<root>/bench-train/`, and its table read back for the report (`report::scaling`) and the
//! figure.

use crate::plan::Scale;
use crate::Result;
use mlp_cli::bench_train::{self, Args};
use std::path::{Path, PathBuf};

/// Sub-directory of the results root holding the study's files.
pub const DIR: &str = "bench-train";
/// The study's table, written by `mlp_cli::bench_train`.
pub const CSV: &str = "bench_train.csv";
/// Widths of the reduced (`--quick`) study.
pub const QUICK_WIDTHS: &str = "64,256,1024";
/// Depths of the reduced (`--quick`) study.
pub const QUICK_DEPTHS: &str = "1,2,4";
/// Steps per measurement of the reduced (`--quick`) study.
pub const QUICK_STEPS: usize = 20;

/// One row of `bench_train.csv`, as `mlp-cli bench-train` writes it.
pub use mlp_cli::bench_train::{Kind, Row as ScalingRow};

/// The study's measurements, in the order of the file: the width series, then the depth series,
/// each network at every batch size.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingTable {
    /// The rows.
    pub rows: Vec<ScalingRow>,
}

impl ScalingTable {
    /// The batch sizes measured, increasing.
    pub fn batches(&self) -> Vec<usize> {
        let mut batches: Vec<usize> = self.rows.iter().map(|r| r.batch).collect();
        batches.sort_unstable();
        batches.dedup();
        batches
    }

    /// The rows of one series at one batch size, by increasing width (width series) or depth
    /// (depth series).
    pub fn series(&self, kind: Kind, batch: usize) -> Vec<&ScalingRow> {
        let mut rows: Vec<&ScalingRow> = self
            .rows
            .iter()
            .filter(|r| r.kind == kind && r.batch == batch)
            .collect();
        rows.sort_by_key(|r| (r.width, r.depth));
        rows
    }
}

/// Runs the scaling study into `<root>/bench-train/` unless its CSV exists (or `force`): all of
/// `mlp-cli bench-train`'s defaults, or with `--quick` three widths, three depths and a fixed
/// number of steps, once.
pub fn run(root: &Path, scale: &Scale, force: bool) -> Result<()> {
    let dir = root.join(DIR);
    if !force && dir.join(CSV).is_file() {
        println!("  training-step scaling benchmark: up to date ({DIR}/{CSV}), skipped");
        return Ok(());
    }
    println!("  training-step scaling benchmark into {}", dir.display());
    bench_train::run(&study_args(dir, scale.quick))?;
    Ok(())
}

/// The command line of the study, writing into `out`: `mlp-cli bench-train`'s defaults, or the
/// reduced study when `quick`.
pub fn study_args(out: PathBuf, quick: bool) -> Args {
    if quick {
        Args {
            widths: QUICK_WIDTHS.into(),
            depths: QUICK_DEPTHS.into(),
            steps: Some(QUICK_STEPS),
            repeats: 1,
            ..default_args(out)
        }
    } else {
        default_args(out)
    }
}

/// `mlp-cli bench-train`'s defaults, writing into `out`.
fn default_args(out: PathBuf) -> Args {
    Args {
        widths: bench_train::DEFAULT_WIDTHS.into(),
        depths: bench_train::DEFAULT_DEPTHS.into(),
        depth_width: bench_train::DEFAULT_DEPTH_WIDTH,
        batch_sizes: bench_train::DEFAULT_BATCH_SIZES.into(),
        steps: None,
        repeats: bench_train::DEFAULT_REPEATS,
        threads: None,
        out,
        data: None,
    }
}

/// Reads `<root>/bench-train/bench_train.csv`; `None` when absent or empty.
pub fn read(root: &Path) -> Result<Option<ScalingTable>> {
    let path = root.join(DIR).join(CSV);
    if !path.is_file() {
        return Ok(None);
    }
    let mut reader = csv::Reader::from_path(&path)?;
    let rows = reader
        .deserialize()
        .collect::<std::result::Result<Vec<ScalingRow>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if rows.is_empty() {
        return Ok(None);
    }
    Ok(Some(ScalingTable { rows }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlp_cli::bench_train::Study;

    #[test]
    fn the_full_and_the_quick_study_are_valid_command_lines() {
        let full = Study::from_args(&study_args(PathBuf::from("unused"), false)).unwrap();
        assert_eq!((full.widths.len(), full.depths.len()), (7, 8));
        assert_eq!((full.steps, full.repeats), (None, 5));
        let quick = Study::from_args(&study_args(PathBuf::from("unused"), true)).unwrap();
        assert_eq!(
            (quick.widths, quick.depths),
            (vec![64, 256, 1024], vec![1, 2, 4])
        );
        assert_eq!(quick.batch_sizes, [64, 256]);
        assert_eq!((quick.steps, quick.repeats), (Some(QUICK_STEPS), 1));
    }
}
