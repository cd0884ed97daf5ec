//! The forward-propagation benchmark — `mlp-cli bench-forward`'s study, run by `experiments` into
//! `<root>/bench/` — and its section of the report, computed from `bench/bench_forward.csv`.

use crate::plan::Scale;
use crate::stats::{pct, thousands, times};
use crate::Result;
use std::fmt::Write;
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

    /// The row of a batch size.
    pub fn row(&self, batch_size: usize) -> Option<&BenchRow> {
        self.rows.iter().find(|r| r.batch_size == batch_size)
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

fn layer_sizes(layers: &str) -> Vec<usize> {
    layers.split('-').filter_map(|s| s.parse().ok()).collect()
}

/// Renders the report's section "Forward propagation vs batch size".
/// `study_best` is the batch size of the best run of the lr × batch study, if any.
pub fn render(
    out: &mut String,
    table: Option<&BenchTable>,
    study_best: Option<usize>,
) -> Result<()> {
    writeln!(out, "## Forward propagation vs batch size\n")?;
    let Some(table) = table else {
        writeln!(
            out,
            "Not measured (`{DIR}/{CSV}` is missing; `cargo xtask experiments` writes it).\n"
        )?;
        return Ok(());
    };
    let Some(best) = table.best() else {
        return Ok(());
    };
    let first = &table.rows[0];
    writeln!(
        out,
        "Time to forward-propagate the {} training images through the {} net ({}, {} \
         thread(s)), in consecutive batches, median of {} pass(es), against the speed of a large \
         square matrix product measured in the same run (the *GEMM peak*, {:.1} GFLOP/s). Written \
         by `mlp-cli bench-forward`'s study ([`{DIR}/{CSV}`]({DIR}/{CSV})).\n",
        thousands(first.n_images as u64),
        first.layers,
        first.precision,
        first.threads,
        first.repeats,
        first.peak_gflops
    )?;
    writeln!(
        out,
        "| Batch | Batches | Time (s) | Images/s | GFLOP/s | Of peak | Time / best |\n|---:|---:|---:|---:|---:|---:|---:|"
    )?;
    for row in &table.rows {
        let mark = if row.batch_size == best.batch_size {
            "**"
        } else {
            ""
        };
        writeln!(
            out,
            "| {mark}{}{mark} | {} | {:.4} | {} | {:.1} | {} | {} |",
            row.batch_size,
            thousands(row.n_batches as u64),
            row.seconds,
            thousands(row.images_per_second.round() as u64),
            row.gflops,
            pct(row.fraction_of_peak),
            times(row.seconds / best.seconds)
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "![forward time and fraction of the GEMM peak vs batch size](plots/{0}.png)\n\n_[SVG](plots/{0}.svg)_\n",
        crate::figures::BENCH
    )?;

    let smallest = first;
    let largest = table.rows.last().unwrap();
    let mut text = format!(
        "The fastest batch size is **{}**: {:.4} s per pass, {} of the GEMM peak.",
        best.batch_size,
        best.seconds,
        pct(best.fraction_of_peak)
    );
    if smallest.batch_size != best.batch_size {
        write!(
            text,
            " At batch {} a pass takes {:.3} s, {} as long: {} forward calls, each paying a \
             fixed cost (dispatch, buffer views, the activation and softmax loops) and reading \
             every weight matrix for {}, so the time is set by per-call overhead and memory \
             traffic, not arithmetic.",
            smallest.batch_size,
            smallest.seconds,
            times(smallest.seconds / best.seconds),
            thousands(smallest.n_batches as u64),
            if smallest.batch_size == 1 {
                "a single image (matrix-vector products)".to_string()
            } else {
                format!("only {} images", smallest.batch_size)
            }
        )?;
    }
    // The climb: the smallest batch reaching half of the best rate.
    if let Some(half) = table
        .rows
        .iter()
        .find(|r| r.gflops >= 0.5 * best.gflops)
        .filter(|r| r.batch_size != smallest.batch_size)
    {
        let plateau: Vec<String> = table
            .rows
            .iter()
            .filter(|r| r.seconds <= 1.1 * best.seconds)
            .map(|r| r.batch_size.to_string())
            .collect();
        write!(
            text,
            " The rate climbs as the batch grows — each weight read from memory is reused for more \
             images — and reaches half the best rate at batch {}; batches {} are within 10 % of \
             the best time: the GEMM-bound plateau, where the products run at the speed the \
             matrix shapes allow.",
            half.batch_size,
            plateau.join(", ")
        )?;
    }
    if largest.batch_size != best.batch_size {
        let sizes = layer_sizes(&largest.layers);
        let floats: usize = sizes.iter().skip(1).sum();
        let bytes = floats as f64 * largest.batch_size as f64 * 4.0;
        let slower = largest.seconds / best.seconds;
        if slower > 1.1 {
            write!(
                text,
                " At batch {} it is {} slower than the best: the activations of one batch ({:.0} \
                 MB for the {} hidden and output values per image) no longer fit in the caches, \
                 so every layer streams them from main memory.",
                largest.batch_size,
                times(slower),
                bytes / 1e6,
                floats
            )?;
        } else {
            write!(
                text,
                " At batch {} the time stays within 10 % of the best ({}), although one batch's \
                 activations take {:.0} MB, more than a processor cache holds: the products are \
                 computed in cache-sized blocks, so they stay compute-bound and the extra memory \
                 traffic is hidden.",
                largest.batch_size,
                times(slower),
                bytes / 1e6
            )?;
        }
    }
    writeln!(out, "{text}\n")?;
    let plateau_start = table
        .rows
        .iter()
        .find(|r| r.seconds <= 1.1 * best.seconds)
        .map_or(best.batch_size, |r| r.batch_size);
    let chunk = mlp_cli::evaluate::EVAL_CHUNK;
    let chunk_row = table
        .rows
        .iter()
        .rev()
        .find(|r| r.batch_size <= chunk)
        .map(|r| r.seconds / best.seconds);
    writeln!(
        out,
        "**For choosing a batch size**: for inference (evaluation) any batch from {} up is on the \
         plateau here; `mlp-cli` evaluates in chunks of {} images{}. For training, the speed per \
         image is only one side: a small batch makes more, noisier updates per epoch{}. Below the \
         plateau each image costs more (batch {}: {} the best time), so very small batches pay \
         for their extra updates with a slower epoch.\n",
        plateau_start,
        chunk,
        match chunk_row {
            Some(ratio) if ratio <= 1.1 => " (on the plateau)".to_string(),
            Some(ratio) => format!(" ({} the best time)", times(ratio)),
            None => String::new(),
        },
        match study_best {
            Some(b) => format!(
                ", and in the lr × batch study above batch {b} gave the lowest validation error \
                 after the same number of epochs"
            ),
            None => String::new(),
        },
        smallest.batch_size,
        times(smallest.seconds / best.seconds)
    )?;
    Ok(())
}
