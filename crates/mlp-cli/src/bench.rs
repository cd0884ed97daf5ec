//! `mlp-cli bench-forward`: the time to forward-propagate the 60 000 training images, per batch size,
//! against the machine's matrix-product peak measured in the same run.
//!
//! For each batch size `b`, every training image goes through the network (softmax included) once, in
//! consecutive batches of `b` images that are zero-copy column blocks of the training images (turned
//! into floats once, before the clock starts), the last batch holding what is left. The median over
//! `--repeats` passes gives the time, the images per second and the GFLOP/s, counted as
//! `2 · n_images · Σ n_in·n_out` (the products; the activations and the softmax are not counted).
//! The peak is [`crate::peak::gemm_peak`]'s: the best of a few square `2048³` products run by faer
//! in the same precision on the same threads, measured once, before the passes.
//!
//! The passes run inside [`mlp_core::par::in_pool`], as a training loop should, so that the network
//! can split even small batches between the cores cheaply.

use crate::peak::{gemm_peak, PEAK_SIZE};
use crate::plot::{save_grid_svg_and_png, thousands, LineChart, Series};
use crate::spec::{check_network_size, layer_sizes, parse_sizes};
use crate::{data, CliError, Result};
use faer::MatRef;
use mlp_core::{Activation, Float, Mlp};
use mlp_data::Dataset;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Usage examples shown after `--help`.
pub const EXAMPLES: &str = "Examples:
  # The practical work's net 784-150-10 over every batch size, 5 passes each.
  mlp-cli bench-forward --out runs/bench-forward
  # A deeper net, a few batch sizes, on one thread.
  mlp-cli bench-forward --layers 150,200,150,50 --batch-sizes 1,64,1000,60000 --threads 1
  # Double precision, 3 passes each.
  mlp-cli bench-forward --precision f64 --repeats 3 --out runs/bench-forward-f64

Writes <out>/bench_forward.csv and the plots <out>/bench_forward.svg and .png (time, and fraction
of the measured GEMM peak, against the batch size).";

/// The batch sizes timed by default.
pub const DEFAULT_BATCH_SIZES: &str = "1,2,5,10,20,50,100,200,500,1000,2000,5000,10000,20000,60000";

/// The largest batch size accepted: the number of MNIST training images.
pub const MAX_BATCH_SIZE: usize = 60_000;

/// The floating-point type of a benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Single precision, the training type.
    #[default]
    F32,
    /// Double precision, the verification type.
    F64,
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Precision {
    /// `f32` or `f64`.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F64 => "f64",
        }
    }
}

/// Arguments of `mlp-cli bench-forward`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Hidden layer widths, comma-separated; the 784 inputs and 10 classes come from the data.
    #[arg(long, default_value = "150", allow_hyphen_values = true)]
    pub layers: String,
    /// Batch sizes to time, comma-separated, each between 1 and 60000.
    #[arg(long, default_value = DEFAULT_BATCH_SIZES, allow_hyphen_values = true)]
    pub batch_sizes: String,
    /// Timed passes over the training set per batch size; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Floating-point type of the network and of the peak measurement.
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    pub precision: Precision,
    /// Threads: the size of rayon's global pool and the network's limit (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Output directory for bench_forward.csv, .svg and .png.
    #[arg(long, default_value = "runs/bench-forward")]
    pub out: PathBuf,
    /// Directory holding the MNIST IDX files (default: the bundled data/mnist).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// What to measure: a validated `bench-forward` command line, for [`run_study`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Study {
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Batch sizes, in the order they are timed.
    pub batch_sizes: Vec<usize>,
    /// Timed passes per batch size.
    pub repeats: usize,
    /// Floating-point type.
    pub precision: Precision,
    /// Threads of the network (rayon's pool must already have this size for the figures to mean it).
    pub threads: usize,
}

impl Study {
    /// Checks the arguments (before any data is loaded): sizes, batch sizes ≤ 60000, repeats ≥ 1,
    /// threads ≥ 1.
    pub fn from_args(args: &Args) -> Result<Self> {
        let hidden = parse_sizes("--layers", &args.layers)?;
        let batch_sizes = parse_sizes("--batch-sizes", &args.batch_sizes)?;
        if let Some(&b) = batch_sizes.iter().find(|&&b| b > MAX_BATCH_SIZE) {
            return Err(CliError::Usage(format!(
                "--batch-sizes: {b} is larger than the {MAX_BATCH_SIZE} training images"
            )));
        }
        if args.repeats == 0 {
            return Err(CliError::Usage("--repeats must be at least 1".into()));
        }
        if args.threads == Some(0) {
            return Err(CliError::Usage("--threads must be at least 1".into()));
        }
        check_network_size(&layer_sizes(784, &hidden, 10))?;
        Ok(Self {
            hidden,
            batch_sizes,
            repeats: args.repeats,
            precision: args.precision,
            threads: args.threads.unwrap_or_else(mlp_core::par::default_threads),
        })
    }
}

/// The measurements of one batch size: one row of the table and of `bench_forward.csv`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Images per batch (the last batch may hold fewer).
    pub batch_size: usize,
    /// Batches per pass over the images.
    pub n_batches: usize,
    /// Median time of one pass, in seconds.
    pub seconds: f64,
    /// Fastest pass, in seconds.
    pub seconds_min: f64,
    /// Images per second, from the median.
    pub images_per_second: f64,
    /// Product FLOPs per second, in 10⁹, from the median.
    pub gflops: f64,
    /// `gflops` as a fraction of the measured peak.
    pub fraction_of_peak: f64,
}

/// The result of a study: the network, the peak and one row per batch size.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Layer sizes, inputs to classes.
    pub sizes: Vec<usize>,
    /// Floating-point type.
    pub precision: Precision,
    /// Threads used.
    pub threads: usize,
    /// Images per pass.
    pub n_images: usize,
    /// Timed passes per batch size.
    pub repeats: usize,
    /// The best rate of the square peak product, in GFLOP/s.
    pub peak_gflops: f64,
    /// One row per batch size, in the study's order.
    pub rows: Vec<Row>,
}

impl Report {
    /// The row with the shortest median time.
    pub fn best(&self) -> Option<&Row> {
        self.rows
            .iter()
            .min_by(|a, b| a.seconds.total_cmp(&b.seconds))
    }

    /// The lines of `bench_forward.csv`: one per row, with the study's settings repeated.
    pub fn csv_lines(&self) -> Vec<CsvLine> {
        let layers: Vec<String> = self.sizes.iter().map(usize::to_string).collect();
        let layers = layers.join("-");
        self.rows
            .iter()
            .map(|row| CsvLine {
                layers: layers.clone(),
                precision: self.precision,
                threads: self.threads,
                n_images: self.n_images,
                repeats: self.repeats,
                peak_gflops: self.peak_gflops,
                batch_size: row.batch_size,
                n_batches: row.n_batches,
                seconds: row.seconds,
                seconds_min: row.seconds_min,
                images_per_second: row.images_per_second,
                gflops: row.gflops,
                fraction_of_peak: row.fraction_of_peak,
            })
            .collect()
    }
}

/// Runs the command: validates, loads the data, measures, prints the table and writes the CSV and
/// the plots.
pub fn run(args: &Args) -> Result<()> {
    let study = Study::from_args(args)?;
    init_threads(args.threads);
    let train = data::load(args.data.as_deref())?.train;
    let mut stdout = std::io::stdout().lock();
    let report = run_study_with(&study, &train, |line| {
        // A closed pipe must not stop the measurement; the files are written anyway.
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    })?;
    drop(stdout);
    if let Some(best) = report.best() {
        println!("{}", summary(&report, best));
    }
    std::fs::create_dir_all(&args.out).map_err(CliError::io(&args.out))?;
    let lines = report.csv_lines();
    let csv_path = args.out.join("bench_forward.csv");
    write_csv(&lines, &csv_path)?;
    let plot_path = args.out.join("bench_forward");
    draw(&lines, &plot_path)?;
    println!(
        "wrote {}, {}.svg and {}.png",
        csv_path.display(),
        plot_path.display(),
        plot_path.display()
    );
    Ok(())
}

/// Measures the peak and every batch size of `study` on the images of `train`, silently.
pub fn run_study(study: &Study, train: &Dataset) -> Result<Report> {
    run_study_with(study, train, |_| {})
}

/// [`run_study`], handing each line of the table to `print` as soon as it is measured.
pub fn run_study_with(study: &Study, train: &Dataset, print: impl FnMut(&str)) -> Result<Report> {
    if let Some(&b) = study.batch_sizes.iter().find(|&&b| b > train.len()) {
        return Err(CliError::Usage(format!(
            "--batch-sizes: {b} is larger than the {} training images",
            train.len()
        )));
    }
    match study.precision {
        Precision::F32 => measure::<f32>(study, train, train.to_matrix().as_ref(), print),
        Precision::F64 => measure::<f64>(study, train, train.to_matrix().as_ref(), print),
    }
}

fn measure<T: Float>(
    study: &Study,
    train: &Dataset,
    images: MatRef<'_, T>,
    mut print: impl FnMut(&str),
) -> Result<Report> {
    let sizes = layer_sizes(train.n_features(), &study.hidden, train.n_classes());
    let n_images = images.ncols();
    let flop_per_pass =
        2.0 * n_images as f64 * sizes.windows(2).map(|w| (w[0] * w[1]) as f64).sum::<f64>();
    let peak_gflops = gemm_peak::<T>(study.threads);
    let names: Vec<String> = sizes.iter().map(usize::to_string).collect();
    print(&format!(
        "bench-forward: MLP {}, {}, {} thread(s), {n_images} images, median of {} pass(es)",
        names.join("-"),
        study.precision.name(),
        study.threads,
        study.repeats
    ));
    print(&format!(
        "GEMM peak ({PEAK_SIZE}x{PEAK_SIZE}x{PEAK_SIZE}, {}, {} thread(s)): {peak_gflops:.1} GFLOP/s",
        study.precision.name(),
        study.threads
    ));
    print(&format!(
        "{:>8} {:>8} {:>11} {:>11} {:>12} {:>9} {:>8}",
        "batch", "batches", "median (s)", "min (s)", "images/s", "GFLOP/s", "of peak"
    ));
    let mut rows = Vec::with_capacity(study.batch_sizes.len());
    for &batch_size in &study.batch_sizes {
        let mut mlp = Mlp::<T>::new(&sizes, Activation::Sigmoid, 0)?;
        mlp.set_threads(study.threads);
        // On a worker of the pool, so that the network can split even small products between
        // threads cheaply (see `mlp_core::par::in_pool`).
        let mut times =
            mlp_core::par::in_pool(|| time_passes(&mut mlp, images, batch_size, study.repeats))?;
        let seconds = median(&mut times);
        let gflops = flop_per_pass / seconds / 1e9;
        let row = Row {
            batch_size,
            n_batches: n_images.div_ceil(batch_size),
            seconds,
            seconds_min: times[0],
            images_per_second: n_images as f64 / seconds,
            gflops,
            fraction_of_peak: gflops / peak_gflops,
        };
        print(&format!(
            "{:>8} {:>8} {:>11.4} {:>11.4} {:>12.0} {:>9.1} {:>7.1}%",
            row.batch_size,
            row.n_batches,
            row.seconds,
            row.seconds_min,
            row.images_per_second,
            row.gflops,
            100.0 * row.fraction_of_peak
        ));
        rows.push(row);
    }
    Ok(Report {
        sizes,
        precision: study.precision,
        threads: study.threads,
        n_images,
        repeats: study.repeats,
        peak_gflops,
        rows,
    })
}

/// The seconds of `repeats` forward passes over `images` in consecutive batches of `batch_size`,
/// after a warm-up: the first and the last batch size the buffers and touch the code paths.
fn time_passes<T: Float>(
    mlp: &mut Mlp<T>,
    images: MatRef<'_, T>,
    batch_size: usize,
    repeats: usize,
) -> Result<Vec<f64>> {
    let n_images = images.ncols();
    let last = (n_images - 1) / batch_size * batch_size;
    mlp.propagate(images.subcols(0, batch_size))?;
    mlp.propagate(images.subcols(last, n_images - last))?;
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let start = Instant::now();
        let mut first = 0;
        while first < n_images {
            let m = batch_size.min(n_images - first);
            std::hint::black_box(mlp.propagate(images.subcols(first, m))?);
            first += m;
        }
        times.push(start.elapsed().as_secs_f64());
    }
    Ok(times)
}

/// Sizes rayon's global pool for a `--threads` flag (nothing without one), warning when the pool
/// was already started with another size.
pub(crate) fn init_threads(threads: Option<usize>) {
    if let Some(threads) = threads {
        if !mlp_core::par::init_global_pool(threads) {
            eprintln!(
                "warning: the thread pool was already started with {} threads",
                mlp_core::par::default_threads()
            );
        }
    }
}

/// The median of `times`, which it sorts (so that `times[0]` is then the minimum).
pub(crate) fn median(times: &mut [f64]) -> f64 {
    times.sort_by(f64::total_cmp);
    let n = times.len();
    if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2.0
    }
}

/// The closing line: the best batch size and how the extremes compare with it.
fn summary(report: &Report, best: &Row) -> String {
    let mut text = format!(
        "best: batch {} at {:.1}% of peak ({:.4} s)",
        best.batch_size,
        100.0 * best.fraction_of_peak,
        best.seconds
    );
    let smallest = report.rows.iter().min_by_key(|r| r.batch_size);
    let largest = report.rows.iter().max_by_key(|r| r.batch_size);
    let mut ends: Vec<&Row> = smallest.into_iter().chain(largest).collect();
    ends.dedup_by_key(|r| r.batch_size);
    for row in ends.into_iter().filter(|r| r.batch_size != best.batch_size) {
        text.push_str(&format!(
            "; batch {} takes {:.2}x as long",
            row.batch_size,
            row.seconds / best.seconds
        ));
    }
    text
}

/// One line of `bench_forward.csv`: the study's settings, repeated on every line, then one batch
/// size's [`Row`]. (The csv crate cannot serialise `#[serde(flatten)]`, hence the repetition of
/// `Row`'s fields.) `cargo xtask report` reads the file back with this type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsvLine {
    /// Layer sizes, inputs to classes, `-`-separated.
    pub layers: String,
    /// The floating-point type.
    pub precision: Precision,
    /// Threads used.
    pub threads: usize,
    /// Images per pass.
    pub n_images: usize,
    /// Timed passes per batch size.
    pub repeats: usize,
    /// The GEMM peak measured in the same run, GFLOP/s.
    pub peak_gflops: f64,
    /// Images per batch.
    pub batch_size: usize,
    /// Batches per pass.
    pub n_batches: usize,
    /// Median seconds per pass.
    pub seconds: f64,
    /// Fastest pass, in seconds.
    pub seconds_min: f64,
    /// Images per second, from the median.
    pub images_per_second: f64,
    /// Product FLOPs per second, in 10⁹, from the median.
    pub gflops: f64,
    /// `gflops` / `peak_gflops`.
    pub fraction_of_peak: f64,
}

/// Writes `lines` as a CSV file with a header (`bench_forward.csv`, `bench_train.csv`).
pub(crate) fn write_csv<L: Serialize>(lines: &[L], path: &Path) -> Result<()> {
    let to_io = |e: csv::Error| CliError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    };
    let mut writer = csv::Writer::from_path(path).map_err(to_io)?;
    for line in lines {
        writer.serialize(line).map_err(to_io)?;
    }
    writer.flush().map_err(CliError::io(path))
}

/// Draws the benchmark's figure into `<path_without_ext>.svg` and `.png`: the time per pass and
/// the fraction of the GEMM peak against the batch size, from the lines of one study (as
/// `bench-forward` writes them, or as `cargo xtask report` reads them back). Nothing is drawn for
/// no lines.
pub fn draw(lines: &[CsvLine], path_without_ext: &Path) -> Result<()> {
    let Some(first) = lines.first() else {
        return Ok(());
    };
    let label = format!(
        "{} {}, {} thread(s)",
        first.layers,
        first.precision.name(),
        first.threads
    );
    let time = lines.iter().map(|r| (r.batch_size as f64, r.seconds));
    let fraction = lines
        .iter()
        .map(|r| (r.batch_size as f64, r.fraction_of_peak));
    let max_fraction = lines.iter().map(|r| r.fraction_of_peak).fold(1.0, f64::max);
    let charts = [
        LineChart::new(
            format!(
                "Forward pass of {} images",
                thousands(first.n_images as u64)
            ),
            "batch size",
            "time per pass (s)",
        )
        .with_log_axes(true, true)
        .with_series(Series::new(label.clone(), time.collect())),
        LineChart::new(
            format!(
                "Fraction of the GEMM peak ({:.0} GFLOP/s)",
                first.peak_gflops
            ),
            "batch size",
            "fraction of peak",
        )
        .with_log_axes(true, false)
        .with_y_range(0.0, 1.05 * max_fraction)
        .with_series(Series::new(label, fraction.collect())),
    ];
    save_grid_svg_and_png(&charts, 2, path_without_ext)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(batch_sizes: &str, repeats: usize) -> Args {
        Args {
            layers: "150".into(),
            batch_sizes: batch_sizes.into(),
            repeats,
            precision: Precision::F32,
            threads: Some(1),
            out: PathBuf::from("unused"),
            data: None,
        }
    }

    #[test]
    fn arguments_are_checked() {
        assert!(Study::from_args(&args("1,100,60000", 5)).is_ok());
        for (batch_sizes, repeats) in [("60001", 5), ("0", 5), ("", 5), ("10,x", 5), ("10", 0)] {
            let err = Study::from_args(&args(batch_sizes, repeats)).unwrap_err();
            assert!(
                matches!(err, CliError::Usage(_)),
                "{batch_sizes} {repeats}: {err}"
            );
        }
        let mut bad = args("10", 1);
        bad.layers = "150,,10".into();
        assert!(Study::from_args(&bad).is_err());
        bad = args("10", 1);
        bad.threads = Some(0);
        assert!(Study::from_args(&bad).is_err());
    }

    #[test]
    fn a_small_study_runs() {
        // Synthetic data: 50 images of 6 features and 3 classes.
        let pixels = (0..300).map(|i| (i % 7) as f32 / 7.0).collect();
        let labels = (0..50).map(|i| (i % 3) as u8).collect();
        let train = Dataset::from_parts(pixels, labels, 6, 3).unwrap();
        let study = Study {
            hidden: vec![4],
            batch_sizes: vec![1, 7, 50],
            repeats: 2,
            precision: Precision::F64,
            threads: 1,
        };
        let report = run_study(&study, &train).unwrap();
        assert_eq!(report.sizes, [6, 4, 3]);
        let batches: Vec<usize> = report.rows.iter().map(|r| r.n_batches).collect();
        assert_eq!(batches, [50, 8, 1]);
        assert!(report
            .rows
            .iter()
            .all(|r| r.seconds > 0.0 && r.gflops > 0.0));
        let too_big = Study {
            batch_sizes: vec![51],
            ..study
        };
        assert!(run_study(&too_big, &train).is_err());
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
