//! The forward-propagation benchmark: `mlp-cli bench-forward`'s study, run by `experiments` into
//! `<root>/bench/`, and its table read back for the report (`report::benchmark`) and the figure.

use crate::plan::Scale;
use crate::Result;
use std::path::Path;

/// Sub-directory of the results root holding the benchmark's files.
pub const DIR: &str = "bench";
/// The benchmark's table, written by `mlp_cli::bench`.
pub const CSV: &str = "bench_forward.csv";
/// Batch sizes of the reduced (`--quick`) benchmark.
pub const QUICK_BATCH_SIZES: &str = "1,10,100,1000,10000,60000";

/// One row of `bench_forward.csv`, as `mlp-cli bench-forward` writes it.
pub use mlp_cli::bench::CsvLine as BenchRow;

/// The benchmark's measurements, by increasing batch size.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchTable {
    /// The rows.
    pub rows: Vec<BenchRow>,
}

impl BenchTable {
    /// The row with the shortest median time.
    pub fn best(&self) -> Option<&BenchRow> {
        self.rows
            .iter()
            .min_by(|a, b| a.seconds.total_cmp(&b.seconds))
    }
}

/// Runs the benchmark study of the shallow net into `<root>/bench/` unless its CSV exists (or
/// `force`): all of `mlp-cli bench-forward`'s default batch sizes and 5 passes each, or a few batch
/// sizes and one pass with `--quick`.
pub fn run(root: &Path, scale: &Scale, force: bool) -> Result<()> {
    let dir = root.join(DIR);
    if !force && dir.join(CSV).is_file() {
        println!("  forward-propagation benchmark: up to date ({DIR}/{CSV}), skipped");
        return Ok(());
    }
    println!("  forward-propagation benchmark into {}", dir.display());
    let args = mlp_cli::bench::Args {
        layers: "150".into(),
        batch_sizes: if scale.quick {
            QUICK_BATCH_SIZES.into()
        } else {
            mlp_cli::bench::DEFAULT_BATCH_SIZES.into()
        },
        repeats: if scale.quick { 1 } else { 5 },
        precision: mlp_cli::bench::Precision::F32,
        threads: None,
        out: dir,
        data: None,
    };
    mlp_cli::bench::run(&args)?;
    Ok(())
}

/// Reads `<root>/bench/bench_forward.csv`, sorted by batch size; `None` when absent.
pub fn read(root: &Path) -> Result<Option<BenchTable>> {
    let path = root.join(DIR).join(CSV);
    if !path.is_file() {
        return Ok(None);
    }
    let mut reader = csv::Reader::from_path(&path)?;
    let mut rows = reader
        .deserialize()
        .collect::<std::result::Result<Vec<BenchRow>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    rows.sort_by_key(|r| r.batch_size);
    if rows.is_empty() {
        return Ok(None);
    }
    Ok(Some(BenchTable { rows }))
}
