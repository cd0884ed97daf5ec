//! `mlp-cli bench-train`: how the cost of a training step grows with the width and the depth of the
//! network, against the machine's matrix-product peak measured in the same run.
//!
//! Two series of networks are timed, each at every batch size: the *width* series has one hidden
//! layer of each of `--widths` units, the *depth* series 1, 2, … (`--depths`) hidden layers of
//! `--depth-width` units. What is timed is the step `mlp-cli train` runs for every mini-batch, the
//! same function (`train::step`): the gather of a shuffled batch into reused buffers
//! ([`Dataset::gather_into`], the halves on two cores when the step may use them), `Mlp::propagate`,
//! the loss, `Mlp::backpropagate` and `Sgd::step` — with `train`'s default settings (sigmoid, plain
//! SGD at rate 0.1, seed 0), inside [`mlp_core::par::in_pool`], and with the trainer's per-epoch
//! timed choice between all threads and one (`train::threads`), so that the figures are what
//! `train` sees.
//!
//! Big networks take minutes an epoch, so no epoch is timed whole. Each measurement is run like an
//! epoch of a fresh network: a fresh shuffle of the training images and a fresh choice of threads,
//! whose 32 probe steps also warm the buffers and are not timed; then `--steps` steps of full
//! batches are timed (the order is reshuffled when it runs out, as the next epoch's would be).
//! Without `--steps`, each measurement times as many steps as take about [`AUTO_SECONDS`] at the
//! speed of its network's first probe, between [`AUTO_MIN_STEPS`] and [`AUTO_MAX_STEPS`]. The
//! `--repeats` measurements are taken in rounds, each round measuring every network at every batch
//! size once, so that a row's median draws on moments spread over the whole study rather than on a
//! few seconds of it. The median gives the seconds per step, and the *epoch-equivalent* time is
//! that × ⌈n / batch⌉ for the n training images given (60 000 for MNIST): an epoch of `train`
//! without its evaluation and without the steps of the thread probe.
//!
//! **FLOPs.** A step is counted as `2 · batch · (2 · Σₗ n_in·n_out + Σₗ₌₂ n_in·n_out)`
//! ([`flops_per_step`]): the forward product `W·A` and the weight gradient `Δ·Aᵀ` of every layer,
//! and the product `Wᵀ·Δ` that gives the delta of the layer below for every layer but the first —
//! back-propagation does not compute a delta for the inputs, which nothing would use, so this is
//! less than the `3 · 2 · batch · Σ n_in·n_out` often quoted, by the first layer's `Wᵀ·Δ`. The bias,
//! the activations, the softmax, the gather and the update are not counted.
//!
//! **The peak** is the square product of [`crate::peak::gemm_peak`], as for `bench-forward`, but
//! measured again just before each measurement of each network and batch size; a row's peak is the
//! median of its measurements' peaks, and its fraction is of that peak. A study lasts minutes, and
//! a shared machine's speed drifts over seconds to minutes: a peak measured once, at the start,
//! would credit the step with the machine's quiet moments and blame it for its busy ones.

mod chart;
#[cfg(test)]
mod tests;
mod timing;

pub use chart::{draw, summary};
use timing::{Bench, Timing};

use crate::bench::{init_threads, median, write_csv, MAX_BATCH_SIZE};
use crate::peak::{GemmPeak, PEAK_SIZE};
use crate::spec::{check_network_size, dashed, layer_sizes, parse_sizes, MAX_PARAMS};
use crate::train::TrainConfig;
use crate::{data, CliError, Result};
use mlp_data::Dataset;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Usage examples shown after `--help`.
pub const EXAMPLES: &str = "Examples:
  # The default study: widths 64 to 4096, depths 1 to 8 of width 256, batches 64 and 256.
  mlp-cli bench-train --out runs/bench-train
  # A quick look: three widths, three depths, one batch size, 50 steps per measurement.
  mlp-cli bench-train --widths 64,512,4096 --depths 1,4,8 --batch-sizes 256 --steps 50 --repeats 3
  # Deeper nets of narrower layers, on one thread.
  mlp-cli bench-train --depths 1,2,4,8,16 --depth-width 128 --threads 1

Writes <out>/bench_train.csv (one row per network and batch size) and the plots
<out>/bench_train.svg and .png (fraction of the measured GEMM peak, and the time of an epoch,
against the width and against the depth).";

/// The widths of the width series by default.
pub const DEFAULT_WIDTHS: &str = "64,128,256,512,1024,2048,4096";

/// The depths (hidden layer counts) of the depth series by default.
pub const DEFAULT_DEPTHS: &str = "1,2,3,4,5,6,7,8";

/// The width of the depth series' hidden layers by default.
pub const DEFAULT_DEPTH_WIDTH: usize = 256;

/// The batch sizes timed by default.
pub const DEFAULT_BATCH_SIZES: &str = "64,256";

/// Measurements per network and batch size by default.
pub const DEFAULT_REPEATS: usize = 5;

/// The widest hidden layer accepted (a 784-16384-10 net has 13 million parameters).
pub const MAX_WIDTH: usize = 1 << 14;

/// The most hidden layers accepted.
pub const MAX_DEPTH: usize = 64;

/// The most steps accepted for `--steps`.
pub const MAX_STEPS: usize = 1_000_000;

/// Without `--steps`: the seconds each measurement's timed steps should take, at the speed of the
/// first probe.
pub const AUTO_SECONDS: f64 = 0.3;

/// Without `--steps`: the fewest steps timed per measurement (for the biggest networks).
pub const AUTO_MIN_STEPS: usize = 20;

/// Without `--steps`: the most steps timed per measurement (for the smallest networks).
pub const AUTO_MAX_STEPS: usize = 10_000;

/// Which series a network belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// One hidden layer, of varying width.
    Width,
    /// A varying number of hidden layers, of the same width.
    Depth,
}

impl Kind {
    /// `width` or `depth`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Width => "width",
            Self::Depth => "depth",
        }
    }
}

/// One network of a study: `depth` hidden layers of `width` units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    /// Its series.
    pub kind: Kind,
    /// Units of every hidden layer.
    pub width: usize,
    /// Hidden layers.
    pub depth: usize,
}

impl Network {
    /// The layer sizes for `n_inputs` inputs and `n_classes` classes.
    pub fn sizes(&self, n_inputs: usize, n_classes: usize) -> Vec<usize> {
        layer_sizes(n_inputs, &vec![self.width; self.depth], n_classes)
    }
}

/// The floating-point operations of one training step of a network of `sizes` on `batch`
/// samples, as this benchmark counts them: `2 · batch · (2 · Σₗ n_in·n_out + Σₗ₌₂ n_in·n_out)` — the
/// forward product and the weight gradient of every layer, and the delta product of every layer
/// but the first (back-propagation computes no delta for the inputs).
///
/// ```
/// // 784-150-10 at batch 64: 2 · 64 · (2 · (117 600 + 1 500) + 1 500).
/// assert_eq!(mlp_cli::bench_train::flops_per_step(&[784, 150, 10], 64), 30_681_600.0);
/// ```
pub fn flops_per_step(sizes: &[usize], batch: usize) -> f64 {
    let products: Vec<f64> = sizes.windows(2).map(|w| (w[0] * w[1]) as f64).collect();
    let all: f64 = products.iter().sum();
    let above_first: f64 = products.iter().skip(1).sum();
    2.0 * batch as f64 * (2.0 * all + above_first)
}

/// The values a training step of a network of `sizes` keeps for a batch of `batch` samples,
/// besides the parameters: every layer's activations and deltas, and the gathered images and
/// one-hot labels.
pub fn step_values(sizes: &[usize], batch: usize) -> u64 {
    let outputs: u64 = sizes.iter().skip(1).map(|&n| n as u64).sum();
    let inputs = sizes.first().map_or(0, |&n| n as u64) + sizes.last().map_or(0, |&n| n as u64);
    (2 * outputs + inputs).saturating_mul(batch as u64)
}

/// Arguments of `mlp-cli bench-train`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Hidden widths of the width series (one hidden layer each), comma-separated.
    #[arg(long, default_value = DEFAULT_WIDTHS, allow_hyphen_values = true)]
    pub widths: String,
    /// Hidden layer counts of the depth series, comma-separated.
    #[arg(long, default_value = DEFAULT_DEPTHS, allow_hyphen_values = true)]
    pub depths: String,
    /// Units of every hidden layer of the depth series.
    #[arg(long, default_value_t = DEFAULT_DEPTH_WIDTH)]
    pub depth_width: usize,
    /// Batch sizes to time each network at, comma-separated, each between 1 and 60000.
    #[arg(long, default_value = DEFAULT_BATCH_SIZES, allow_hyphen_values = true)]
    pub batch_sizes: String,
    /// Steps timed per measurement (default: as many as take about 0.3 s, between 20 and 10000).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Measurements per network and batch size, one per round over all of them, each after its own
    /// warm-up; the median is reported.
    #[arg(long, default_value_t = DEFAULT_REPEATS)]
    pub repeats: usize,
    /// Threads: the size of rayon's global pool and the steps' limit (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Output directory for bench_train.csv, .svg and .png.
    #[arg(long, default_value = "runs/bench-train")]
    pub out: PathBuf,
    /// Directory holding the MNIST IDX files (default: the bundled data/mnist).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// What to measure: a validated `bench-train` command line, for [`run_study`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Study {
    /// Widths of the width series.
    pub widths: Vec<usize>,
    /// Hidden layer counts of the depth series.
    pub depths: Vec<usize>,
    /// Width of the depth series' hidden layers.
    pub depth_width: usize,
    /// Batch sizes, in the order they are timed.
    pub batch_sizes: Vec<usize>,
    /// Steps timed per measurement; `None`: chosen per network from the probe's speed.
    pub steps: Option<usize>,
    /// Measurements per network and batch size.
    pub repeats: usize,
    /// Threads of the steps (rayon's pool must already have this size for the figures to mean it).
    pub threads: usize,
}

impl Study {
    /// Checks the arguments (before any data is loaded, for MNIST's 784 inputs and 10 classes):
    /// non-empty lists of positive sizes, widths up to [`MAX_WIDTH`], depths up to [`MAX_DEPTH`],
    /// batch sizes up to 60000, steps, repeats and threads at least 1, and every network small
    /// enough to allocate with its buffers at the largest batch.
    pub fn from_args(args: &Args) -> Result<Self> {
        let widths = parse_sizes("--widths", &args.widths)?;
        if let Some(&w) = widths.iter().find(|&&w| w > MAX_WIDTH) {
            return Err(CliError::Usage(format!(
                "--widths: {w} is wider than the {MAX_WIDTH} units this benchmark builds"
            )));
        }
        let depths = parse_sizes("--depths", &args.depths)?;
        if let Some(&d) = depths.iter().find(|&&d| d > MAX_DEPTH) {
            return Err(CliError::Usage(format!(
                "--depths: {d} hidden layers are more than the {MAX_DEPTH} this benchmark builds"
            )));
        }
        if !(1..=MAX_WIDTH).contains(&args.depth_width) {
            return Err(CliError::Usage(format!(
                "--depth-width must be between 1 and {MAX_WIDTH}, got {}",
                args.depth_width
            )));
        }
        let batch_sizes = parse_sizes("--batch-sizes", &args.batch_sizes)?;
        if let Some(&b) = batch_sizes.iter().find(|&&b| b > MAX_BATCH_SIZE) {
            return Err(CliError::Usage(format!(
                "--batch-sizes: {b} is larger than the {MAX_BATCH_SIZE} training images"
            )));
        }
        if let Some(steps) = args.steps.filter(|s| !(1..=MAX_STEPS).contains(s)) {
            return Err(CliError::Usage(format!(
                "--steps must be between 1 and {MAX_STEPS}, got {steps}"
            )));
        }
        if args.repeats == 0 {
            return Err(CliError::Usage("--repeats must be at least 1".into()));
        }
        if args.threads == Some(0) {
            return Err(CliError::Usage("--threads must be at least 1".into()));
        }
        let study = Self {
            widths,
            depths,
            depth_width: args.depth_width,
            batch_sizes,
            steps: args.steps,
            repeats: args.repeats,
            threads: args.threads.unwrap_or_else(mlp_core::par::default_threads),
        };
        study.check_networks(784, 10)?;
        Ok(study)
    }

    /// The networks, the width series first, each in the order given.
    pub fn networks(&self) -> Vec<Network> {
        let by_width = self.widths.iter().map(|&width| Network {
            kind: Kind::Width,
            width,
            depth: 1,
        });
        let by_depth = self.depths.iter().map(|&depth| Network {
            kind: Kind::Depth,
            width: self.depth_width,
            depth,
        });
        by_width.chain(by_depth).collect()
    }

    /// Checks that every network, with `n_inputs` inputs and `n_classes` classes, is small enough
    /// to allocate ([`check_network_size`]) and that its step's buffers at the largest batch hold
    /// at most [`MAX_PARAMS`] values; the error names the flag to change.
    fn check_networks(&self, n_inputs: usize, n_classes: usize) -> Result<()> {
        let largest_batch = self.batch_sizes.iter().copied().max().unwrap_or(1);
        for network in self.networks() {
            let flag = match network.kind {
                Kind::Width => "--widths",
                Kind::Depth => "--depths, --depth-width",
            };
            let sizes = network.sizes(n_inputs, n_classes);
            check_network_size(&sizes).map_err(|e| CliError::Usage(format!("{flag}: {e}")))?;
            let values = step_values(&sizes, largest_batch);
            if values > MAX_PARAMS {
                return Err(CliError::Usage(format!(
                    "--batch-sizes {largest_batch}: a training step of the {} net keeps {values} \
                     activations, deltas and inputs, more than this tool allocates ({MAX_PARAMS})",
                    dashed(&sizes)
                )));
            }
        }
        Ok(())
    }
}

/// One network at one batch size: one row of the table and of `bench_train.csv`, the study's
/// settings repeated on every row. `cargo xtask report` reads the file back with this type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The series.
    pub kind: Kind,
    /// Units of every hidden layer.
    pub width: usize,
    /// Hidden layers.
    pub depth: usize,
    /// Layer sizes, inputs to classes, `-`-separated.
    pub layers: String,
    /// Samples per step.
    pub batch: usize,
    /// Weights and biases.
    pub n_params: u64,
    /// The FLOPs of one step, as [`flops_per_step`] counts them.
    pub flops_per_step: f64,
    /// Steps timed per measurement.
    pub steps: usize,
    /// Measurements (the median is reported).
    pub repeats: usize,
    /// Threads allowed.
    pub threads: usize,
    /// Training images, whose epoch `epoch_seconds` stands for.
    pub n_train: usize,
    /// Measurements whose thread probe chose to split the steps between the threads (the others
    /// ran on one).
    pub split_repeats: usize,
    /// Median seconds per step.
    pub seconds_per_step: f64,
    /// Fastest measurement's seconds per step.
    pub seconds_per_step_min: f64,
    /// Steps of an epoch over the training images, ⌈n / batch⌉.
    pub epoch_steps: usize,
    /// `seconds_per_step · epoch_steps`: the epoch-equivalent time.
    pub epoch_seconds: f64,
    /// Counted FLOPs per second, in 10⁹, from the median.
    pub gflops: f64,
    /// `gflops` as a fraction of `peak_gflops`.
    pub fraction_of_peak: f64,
    /// The median of the GEMM peaks measured just before each of this row's measurements, GFLOP/s.
    pub peak_gflops: f64,
}

/// The lowest and the highest peak of `rows` (each row's is measured beside it); `None` for no
/// rows.
///
/// ```
/// # use mlp_cli::bench_train::{peak_range, Row};
/// assert_eq!(peak_range(&[]), None);
/// ```
pub fn peak_range(rows: &[Row]) -> Option<(f64, f64)> {
    let peaks = rows.iter().map(|row| row.peak_gflops);
    let lowest = peaks.clone().reduce(f64::min)?;
    let highest = peaks.reduce(f64::max)?;
    Some((lowest, highest))
}

/// The result of a study: one row per network and batch size, each with the peak measured beside
/// it.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Threads allowed.
    pub threads: usize,
    /// Training images, whose epoch the epoch-equivalent times stand for.
    pub n_train: usize,
    /// The width series, then the depth series; each network at every batch size.
    pub rows: Vec<Row>,
}

/// Runs the command: validates, loads the data, measures, prints the table and writes the CSV and
/// the plots.
pub fn run(args: &Args) -> Result<()> {
    let started = Instant::now();
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
    for line in summary(&report.rows) {
        println!("{line}");
    }
    std::fs::create_dir_all(&args.out).map_err(CliError::io(&args.out))?;
    let csv_path = args.out.join("bench_train.csv");
    write_csv(&report.rows, &csv_path)?;
    let plot_path = args.out.join("bench_train");
    draw(&report.rows, &plot_path)?;
    println!(
        "wrote {}, {}.svg and {}.png ({:.0} s in all)",
        csv_path.display(),
        plot_path.display(),
        plot_path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Measures every network and batch size of `study` on `train`, each beside its own peak, silently.
pub fn run_study(study: &Study, train: &Dataset) -> Result<Report> {
    run_study_with(study, train, |_| {})
}

/// [`run_study`], handing each line of the table to `print` as soon as it is measured.
pub fn run_study_with(
    study: &Study,
    train: &Dataset,
    mut print: impl FnMut(&str),
) -> Result<Report> {
    if let Some(&b) = study.batch_sizes.iter().find(|&&b| b > train.len()) {
        return Err(CliError::Usage(format!(
            "--batch-sizes: {b} is larger than the {} training samples",
            train.len()
        )));
    }
    let (n_inputs, n_classes) = (train.n_features(), train.n_classes());
    study.check_networks(n_inputs, n_classes)?;
    let config = TrainConfig::default();
    print(&format!(
        "bench-train: {} training images, {} thread(s), median of {} measurement(s); {}, lr {}, \
         momentum {}",
        train.len(),
        study.threads,
        study.repeats,
        config.activation.name(),
        config.lr,
        config.momentum
    ));
    print(&format!(
        "GEMM peak ({PEAK_SIZE}x{PEAK_SIZE}x{PEAK_SIZE}, f32, {} thread(s)) measured before each \
         measurement; each row's fraction is of the median of its peaks",
        study.threads
    ));
    let cells: Vec<(Network, Vec<usize>, usize)> = study
        .networks()
        .into_iter()
        .flat_map(|network| {
            let sizes = network.sizes(n_inputs, n_classes);
            study
                .batch_sizes
                .iter()
                .map(move |&batch| (network, sizes.clone(), batch))
        })
        .collect();
    let mut timings: Vec<Timing> = cells.iter().map(|_| Timing::new(study)).collect();
    let mut bench = Bench {
        train,
        study,
        config,
        peak: GemmPeak::new(),
    };
    // Round by round, so that each row's median draws on moments spread over the whole study,
    // not on a few seconds in which the machine may have been busy with other work.
    for round in 0..study.repeats {
        let started = Instant::now();
        for ((_, sizes, batch), timing) in cells.iter().zip(&mut timings) {
            bench.measure(round as u64, sizes, *batch, timing)?;
        }
        print(&format!(
            "round {} of {}: one measurement of each of the {} networks and batch sizes ({:.0} s)",
            round + 1,
            study.repeats,
            cells.len(),
            started.elapsed().as_secs_f64()
        ));
    }
    print(&format!(
        "{:>6} {:>6} {:>6} {:>6} {:>11} {:>6} {:>9} {:>10} {:>9} {:>8} {:>7} {:>6}",
        "series",
        "width",
        "depth",
        "batch",
        "params",
        "steps",
        "split",
        "ms/step",
        "epoch (s)",
        "GFLOP/s",
        "of peak",
        "peak"
    ));
    let mut rows = Vec::new();
    for ((network, sizes, batch), mut timing) in cells.into_iter().zip(timings) {
        let n_params = check_network_size(&sizes)?;
        let seconds_per_step = median(&mut timing.seconds_per_step);
        let peak_gflops = median(&mut timing.peak_gflops);
        let flops = flops_per_step(&sizes, batch);
        let gflops = flops / seconds_per_step / 1e9;
        let epoch_steps = train.len().div_ceil(batch);
        let row = Row {
            kind: network.kind,
            width: network.width,
            depth: network.depth,
            layers: dashed(&sizes),
            batch,
            n_params,
            flops_per_step: flops,
            steps: timing.steps,
            repeats: study.repeats,
            threads: study.threads,
            n_train: train.len(),
            split_repeats: timing.split_repeats,
            seconds_per_step,
            seconds_per_step_min: timing.seconds_per_step[0],
            epoch_steps,
            epoch_seconds: seconds_per_step * epoch_steps as f64,
            gflops,
            fraction_of_peak: gflops / peak_gflops,
            peak_gflops,
        };
        print(&format!(
            "{:>6} {:>6} {:>6} {:>6} {:>11} {:>6} {:>4} of {:<1} {:>10.3} {:>9.2} {:>8.1} {:>6.1}% {:>6.1}",
            row.kind.name(),
            row.width,
            row.depth,
            row.batch,
            row.n_params,
            row.steps,
            row.split_repeats,
            row.repeats,
            1e3 * row.seconds_per_step,
            row.epoch_seconds,
            row.gflops,
            100.0 * row.fraction_of_peak,
            row.peak_gflops
        ));
        rows.push(row);
    }
    Ok(Report {
        threads: study.threads,
        n_train: train.len(),
        rows,
    })
}
