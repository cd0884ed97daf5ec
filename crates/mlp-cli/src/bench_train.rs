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
//! Big networks take minutes an epoch, so no epoch is timed whole. Each of `--repeats`
//! measurements is run like an epoch: a fresh shuffle of the training images and a fresh choice of
//! threads, whose 32 probe steps also warm the buffers and are not timed; then `--steps` steps of
//! full batches are timed (the order is reshuffled when it runs out, as the next epoch's would be).
//! Without `--steps`, each measurement times as many steps as take about [`AUTO_SECONDS`] at the
//! speed of the first probe, between [`AUTO_MIN_STEPS`] and [`AUTO_MAX_STEPS`]. The median over the
//! repeats gives the seconds per step, and the *epoch-equivalent* time is that × ⌈n / batch⌉ for
//! the n training images given (60 000 for MNIST): an epoch of `train` without its evaluation and
//! without the steps of the thread probe.
//!
//! **FLOPs.** A step is counted as `2 · batch · (2 · Σₗ n_in·n_out + Σₗ₌₂ n_in·n_out)`
//! ([`flops_per_step`]): the forward product `W·A` and the weight gradient `Δ·Aᵀ` of every layer,
//! and the product `Wᵀ·Δ` that gives the delta of the layer below for every layer but the first —
//! back-propagation does not compute a delta for the inputs, which nothing would use, so this is
//! less than the `3 · 2 · batch · Σ n_in·n_out` often quoted, by the first layer's `Wᵀ·Δ`. The bias,
//! the activations, the softmax, the gather and the update are not counted. The peak is
//! [`crate::bench::gemm_peak`]'s, as for `bench-forward`.

use crate::bench::{gemm_peak, init_threads, median, write_csv, MAX_BATCH_SIZE, PEAK_SIZE};
use crate::plot::{save_grid_svg_and_png, LineChart, Series};
use crate::spec::{check_network_size, dashed, layer_sizes, parse_sizes, MAX_PARAMS};
use crate::train::step::Batch;
use crate::train::threads::ThreadChooser;
use crate::train::TrainConfig;
use crate::{data, CliError, Result};
use mlp_core::{Mlp, Sgd};
use mlp_data::Dataset;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
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
    /// Measurements per network and batch size, each after its own warm-up; the median is reported.
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
    /// `gflops` as a fraction of the peak.
    pub fraction_of_peak: f64,
    /// The GEMM peak measured in the same run, GFLOP/s.
    pub peak_gflops: f64,
}

/// The result of a study: the peak and one row per network and batch size.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Threads allowed.
    pub threads: usize,
    /// Training images, whose epoch the epoch-equivalent times stand for.
    pub n_train: usize,
    /// The best rate of the square peak product, in GFLOP/s.
    pub peak_gflops: f64,
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

/// Measures the peak and every network and batch size of `study` on `train`, silently.
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
    let peak_gflops = gemm_peak::<f32>(study.threads);
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
        "GEMM peak ({PEAK_SIZE}x{PEAK_SIZE}x{PEAK_SIZE}, f32, {} thread(s)): {peak_gflops:.1} GFLOP/s",
        study.threads
    ));
    print(&format!(
        "{:>6} {:>6} {:>6} {:>6} {:>11} {:>6} {:>9} {:>10} {:>9} {:>8} {:>7}",
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
        "of peak"
    ));
    let mut rows = Vec::new();
    for network in study.networks() {
        let sizes = network.sizes(n_inputs, n_classes);
        let n_params = check_network_size(&sizes)?;
        for &batch in &study.batch_sizes {
            let mut timing = time_steps(train, &sizes, batch, study, &config)?;
            let seconds_per_step = median(&mut timing.seconds_per_step);
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
                "{:>6} {:>6} {:>6} {:>6} {:>11} {:>6} {:>4} of {:<1} {:>10.3} {:>9.2} {:>8.1} {:>6.1}%",
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
                100.0 * row.fraction_of_peak
            ));
            rows.push(row);
        }
    }
    Ok(Report {
        threads: study.threads,
        n_train: train.len(),
        peak_gflops,
        rows,
    })
}

/// The measurements of one network at one batch size.
struct Timing {
    /// Seconds per step of each measurement.
    seconds_per_step: Vec<f64>,
    /// Steps timed per measurement.
    steps: usize,
    /// Measurements whose probe chose to split the steps between threads.
    split_repeats: usize,
}

/// Trains a fresh network of `sizes` with `config`'s settings on batches of `batch` samples of
/// `train`, as `train` does, and times `study.repeats` measurements of the steps after each one's
/// thread probe.
fn time_steps(
    train: &Dataset,
    sizes: &[usize],
    batch: usize,
    study: &Study,
    config: &TrainConfig,
) -> Result<Timing> {
    let mut mlp = Mlp::<f32>::new(sizes, config.activation, config.seed)?;
    let mut sgd = Sgd::new(&mlp, config.momentum, config.weight_decay)?;
    let mut buffers = Batch::new(train, batch);
    let mut order = Shuffled::new(train.len(), batch, config.seed);
    let probe = ThreadChooser::PROBE_LEN;
    mlp_core::par::in_pool(|| -> Result<Timing> {
        let mut timing = Timing {
            seconds_per_step: Vec::with_capacity(study.repeats),
            steps: study.steps.unwrap_or(0),
            split_repeats: 0,
        };
        for _ in 0..study.repeats {
            // Each measurement is run like an epoch: a fresh order and a fresh choice of threads.
            order.next_epoch();
            let mut chooser = ThreadChooser::new(study.threads);
            let mut step = |i: usize, chooser: &mut ThreadChooser| -> Result<()> {
                let indices = order.next_batch();
                let started = Instant::now();
                let threads = chooser.threads_for(i);
                let loss = buffers.step(train, indices, &mut mlp, &mut sgd, config.lr, threads)?;
                if !loss.is_finite() {
                    return Err(CliError::Runtime(format!(
                        "the {} net's mini-batch loss at batch {batch} became {loss}; \
                         its steps cannot be timed",
                        dashed(sizes)
                    )));
                }
                chooser.record(i, started.elapsed());
                Ok(())
            };
            let probe_started = Instant::now();
            for i in 0..probe {
                step(i, &mut chooser)?;
            }
            if timing.steps == 0 {
                let per_step = probe_started.elapsed().as_secs_f64() / probe as f64;
                timing.steps = auto_steps(per_step);
            }
            if chooser.threads_for(probe) > 1 {
                timing.split_repeats += 1;
            }
            let started = Instant::now();
            for i in probe..probe + timing.steps {
                step(i, &mut chooser)?;
            }
            let seconds = started.elapsed().as_secs_f64();
            timing.seconds_per_step.push(seconds / timing.steps as f64);
        }
        Ok(timing)
    })
}

/// The steps to time when a probe step took `seconds`: about [`AUTO_SECONDS`]' worth, between
/// [`AUTO_MIN_STEPS`] and [`AUTO_MAX_STEPS`].
fn auto_steps(seconds: f64) -> usize {
    let steps = (AUTO_SECONDS / seconds).ceil();
    if steps.is_finite() {
        (steps as usize).clamp(AUTO_MIN_STEPS, AUTO_MAX_STEPS)
    } else {
        AUTO_MAX_STEPS
    }
}

/// The training samples in the order of an epoch, handed out as full batches; each new epoch
/// (and a batch that would run past the end) reshuffles them, from `(seed, epoch)` as `train` does.
struct Shuffled {
    order: Vec<usize>,
    batch: usize,
    seed: u64,
    epoch: u64,
    next: usize,
}

impl Shuffled {
    fn new(n: usize, batch: usize, seed: u64) -> Self {
        Self {
            order: vec![0; n],
            batch,
            seed,
            epoch: 0,
            next: n,
        }
    }

    /// Starts the next epoch's order.
    fn next_epoch(&mut self) {
        self.epoch += 1;
        mlp_data::shuffle_into(&mut self.order, self.seed, self.epoch);
        self.next = 0;
    }

    /// The next full batch of sample indices.
    fn next_batch(&mut self) -> &[usize] {
        if self.next + self.batch > self.order.len() {
            self.next_epoch();
        }
        let first = self.next;
        self.next += self.batch;
        &self.order[first..self.next]
    }
}

/// The closing lines: per batch size, the fraction of the peak at the narrowest and the best
/// width, and how the time per step grows from the shallowest to the deepest net against the
/// FLOPs.
pub fn summary(rows: &[Row]) -> Vec<String> {
    let mut batches: Vec<usize> = rows.iter().map(|r| r.batch).collect();
    batches.sort_unstable();
    batches.dedup();
    let mut lines = Vec::new();
    for batch in batches {
        let series = |kind: Kind| -> Vec<&Row> {
            rows.iter()
                .filter(|r| r.kind == kind && r.batch == batch)
                .collect()
        };
        let by_width = series(Kind::Width);
        let narrowest = by_width.iter().min_by_key(|r| r.width);
        let best = by_width
            .iter()
            .max_by(|a, b| a.fraction_of_peak.total_cmp(&b.fraction_of_peak));
        if let (Some(narrowest), Some(best)) = (narrowest, best) {
            lines.push(format!(
                "batch {batch}, width series: {:.1}% of peak at width {}, best {:.1}% at width {}",
                100.0 * narrowest.fraction_of_peak,
                narrowest.width,
                100.0 * best.fraction_of_peak,
                best.width
            ));
        }
        let by_depth = series(Kind::Depth);
        let shallowest = by_depth.iter().min_by_key(|r| r.depth);
        let deepest = by_depth.iter().max_by_key(|r| r.depth);
        if let (Some(a), Some(b)) = (shallowest, deepest) {
            lines.push(format!(
                "batch {batch}, depth series: {:.3} ms per step at depth {}, {:.3} ms at depth {} \
                 ({:.2}x the time for {:.2}x the FLOPs)",
                1e3 * a.seconds_per_step,
                a.depth,
                1e3 * b.seconds_per_step,
                b.depth,
                b.seconds_per_step / a.seconds_per_step,
                b.flops_per_step / a.flops_per_step
            ));
        }
    }
    lines
}

/// Draws the study's figure into `<path_without_ext>.svg` and `.png`: the fraction of the GEMM
/// peak against the width (powers of two) and against the depth, above the epoch-equivalent
/// time against each, one line per batch size, from the rows of one study (as `bench-train` writes
/// them, or as `cargo xtask report` reads them back). A series without rows gets no panels;
/// nothing is drawn for no rows.
pub fn draw(rows: &[Row], path_without_ext: &Path) -> Result<()> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let mut batches: Vec<usize> = rows.iter().map(|r| r.batch).collect();
    batches.sort_unstable();
    batches.dedup();
    let epoch = |r: &Row| r.epoch_seconds;
    let series = |kind: Kind, x: fn(&Row) -> usize, y: fn(&Row) -> f64| -> Vec<Series> {
        batches
            .iter()
            .map(|&batch| {
                let mut points: Vec<(f64, f64)> = rows
                    .iter()
                    .filter(|r| r.kind == kind && r.batch == batch)
                    .map(|r| (x(r) as f64, y(r)))
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                Series::new(format!("batch {batch}"), points)
            })
            .filter(|s| !s.points.is_empty())
            .collect()
    };
    // Each panel's legend sits in its upper right corner: the vertical ranges leave room above
    // the curves for it.
    let max_fraction = rows.iter().map(|r| r.fraction_of_peak).fold(0.0, f64::max);
    let epochs = |kind: Kind| rows.iter().filter(move |r| r.kind == kind).map(epoch);
    let width_lowest = epochs(Kind::Width).fold(f64::INFINITY, f64::min);
    let width_highest = epochs(Kind::Width).fold(0.0, f64::max);
    let depth_highest = epochs(Kind::Depth).fold(0.0, f64::max);
    let fraction = |r: &Row| r.fraction_of_peak;
    let width = |r: &Row| r.width;
    let depth = |r: &Row| r.depth;
    let depth_width = rows
        .iter()
        .find(|r| r.kind == Kind::Depth)
        .map_or(0, |r| r.width);
    let peak = format!("{:.0} GFLOP/s", first.peak_gflops);
    let threads = first.threads;
    let with = |chart: LineChart, series: Vec<Series>| {
        series.into_iter().fold(chart, LineChart::with_series)
    };
    let width_fraction = series(Kind::Width, width, fraction);
    let depth_fraction = series(Kind::Depth, depth, fraction);
    let width_epoch = series(Kind::Width, width, epoch);
    let depth_epoch = series(Kind::Depth, depth, epoch);
    let mut charts = Vec::new();
    if !width_fraction.is_empty() {
        charts.push(with(
            LineChart::new(
                format!("Training step, one hidden layer: fraction of the GEMM peak ({peak})"),
                "hidden width",
                "fraction of peak",
            )
            .with_log2_x()
            .with_y_range(0.0, 1.25 * max_fraction.max(0.01)),
            width_fraction,
        ));
    }
    if !depth_fraction.is_empty() {
        charts.push(with(
            LineChart::new(
                format!("Hidden layers of {depth_width}: fraction of the GEMM peak ({peak})"),
                "hidden layers",
                "fraction of peak",
            )
            .with_y_range(0.0, 1.25 * max_fraction.max(0.01)),
            depth_fraction,
        ));
    }
    if !width_epoch.is_empty() {
        charts.push(with(
            LineChart::new(
                format!("Epoch-equivalent time, {threads} thread(s)"),
                "hidden width",
                "seconds per epoch",
            )
            .with_log2_x()
            .with_log_axes(true, true)
            .with_y_range(width_lowest / 1.5, width_highest * 4.0),
            width_epoch,
        ));
    }
    if !depth_epoch.is_empty() {
        charts.push(with(
            LineChart::new(
                format!("Epoch-equivalent time, {threads} thread(s)"),
                "hidden layers",
                "seconds per epoch",
            )
            .with_y_range(0.0, 1.25 * depth_highest),
            depth_epoch,
        ));
    }
    let columns = if charts.len() == 4 { 2 } else { charts.len() };
    save_grid_svg_and_png(&charts, columns, path_without_ext)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> Args {
        Args {
            widths: DEFAULT_WIDTHS.into(),
            depths: DEFAULT_DEPTHS.into(),
            depth_width: DEFAULT_DEPTH_WIDTH,
            batch_sizes: DEFAULT_BATCH_SIZES.into(),
            steps: None,
            repeats: 5,
            threads: Some(1),
            out: PathBuf::from("unused"),
            data: None,
        }
    }

    /// Checks that `change` makes the arguments a usage error whose message names `flag`.
    #[track_caller]
    fn check_refused(change: impl FnOnce(&mut Args), flag: &str) {
        let mut bad = args();
        change(&mut bad);
        match Study::from_args(&bad) {
            Err(CliError::Usage(message)) => {
                assert!(message.contains(flag), "{flag} not in {message:?}")
            }
            other => panic!("{flag}: expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn the_default_study_is_accepted() {
        let study = Study::from_args(&args()).unwrap();
        assert_eq!(study.widths, [64, 128, 256, 512, 1024, 2048, 4096]);
        assert_eq!(study.depths, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(study.batch_sizes, [64, 256]);
        let networks = study.networks();
        assert_eq!(networks.len(), 7 + 8);
        assert_eq!(
            networks[7],
            Network {
                kind: Kind::Depth,
                width: 256,
                depth: 1
            }
        );
        assert_eq!(
            networks[14].sizes(784, 10),
            [784, 256, 256, 256, 256, 256, 256, 256, 256, 10]
        );
    }

    #[test]
    fn arguments_are_checked() {
        check_refused(|a| a.widths = "".into(), "--widths");
        check_refused(|a| a.widths = "64,0".into(), "--widths");
        check_refused(|a| a.widths = "64,,128".into(), "--widths");
        check_refused(|a| a.widths = "-64".into(), "--widths");
        check_refused(|a| a.widths = "100000".into(), "--widths");
        check_refused(|a| a.depths = " ".into(), "--depths");
        check_refused(|a| a.depths = "0".into(), "--depths");
        check_refused(|a| a.depths = "65".into(), "--depths");
        check_refused(|a| a.depth_width = 0, "--depth-width");
        check_refused(|a| a.depth_width = MAX_WIDTH + 1, "--depth-width");
        check_refused(|a| a.batch_sizes = "".into(), "--batch-sizes");
        check_refused(|a| a.batch_sizes = "0".into(), "--batch-sizes");
        check_refused(|a| a.batch_sizes = "60001".into(), "--batch-sizes");
        check_refused(|a| a.steps = Some(0), "--steps");
        check_refused(|a| a.steps = Some(MAX_STEPS + 1), "--steps");
        check_refused(|a| a.repeats = 0, "--repeats");
        check_refused(|a| a.threads = Some(0), "--threads");
        // 64 layers of 16384 units: 17 billion parameters.
        check_refused(
            |a| {
                a.depths = "64".into();
                a.depth_width = MAX_WIDTH;
            },
            "--depths, --depth-width",
        );
        // 784-16384-10 is small, but a step at batch 60000 keeps 2 billion activations.
        check_refused(
            |a| {
                a.widths = MAX_WIDTH.to_string();
                a.batch_sizes = "60000".into();
            },
            "--batch-sizes 60000",
        );
    }

    #[test]
    fn flops_are_counted_by_hand() {
        // 6-4-3 at batch 7: the products have 24 and 12 multiply-adds; forward and weight
        // gradients of both layers, the delta of the second only: 2 · 7 · (2 · 36 + 12).
        assert_eq!(flops_per_step(&[6, 4, 3], 7), 1176.0);
        // 6-4-4-3: 24, 16 and 12; 2 · 7 · (2 · 52 + 16 + 12).
        assert_eq!(flops_per_step(&[6, 4, 4, 3], 7), 1848.0);
        // Softmax regression: no delta below the only layer.
        assert_eq!(flops_per_step(&[6, 3], 1), 2.0 * 2.0 * 18.0);
        // 6-4-3 at batch 7: 2 · 7 · (4 + 3) activations and deltas, 7 · (6 + 3) inputs and labels.
        assert_eq!(step_values(&[6, 4, 3], 7), 98 + 63);
    }

    #[test]
    fn auto_steps_stay_in_range() {
        assert_eq!(auto_steps(0.003), 100);
        assert_eq!(auto_steps(1.0), AUTO_MIN_STEPS);
        assert_eq!(auto_steps(1e-9), AUTO_MAX_STEPS);
        assert_eq!(auto_steps(0.0), AUTO_MAX_STEPS);
    }

    #[test]
    fn shuffled_batches_are_full_and_cover_an_epoch() {
        let mut order = Shuffled::new(10, 3, 0);
        order.next_epoch();
        let mut seen: Vec<usize> = (0..3).flat_map(|_| order.next_batch().to_vec()).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(
            seen.len(),
            9,
            "three batches of one epoch are distinct samples"
        );
        // The fourth would run past the end: a new epoch's first batch.
        assert_eq!(order.next_batch().len(), 3);
        assert_eq!(order.epoch, 2);
        assert_eq!(order.next_batch(), &mlp_data::epoch_order(10, 0, 2)[3..6]);
    }

    fn tiny_data() -> Dataset {
        // Synthetic data: 50 images of 6 features and 3 classes.
        let pixels = (0..300).map(|i| (i % 7) as f32 / 7.0).collect();
        let labels = (0..50).map(|i| (i % 3) as u8).collect();
        Dataset::from_parts(pixels, labels, 6, 3).unwrap()
    }

    fn tiny_study(threads: usize) -> Study {
        Study {
            widths: vec![4, 8],
            depths: vec![1, 3],
            depth_width: 5,
            batch_sizes: vec![7, 50],
            steps: Some(3),
            repeats: 2,
            threads,
        }
    }

    #[test]
    fn a_small_study_runs() {
        let train = tiny_data();
        for threads in [1, 2] {
            let report = run_study(&tiny_study(threads), &train).unwrap();
            assert_eq!(report.n_train, 50);
            let networks: Vec<(Kind, usize, usize, usize)> = report
                .rows
                .iter()
                .map(|r| (r.kind, r.width, r.depth, r.batch))
                .collect();
            assert_eq!(
                networks,
                [
                    (Kind::Width, 4, 1, 7),
                    (Kind::Width, 4, 1, 50),
                    (Kind::Width, 8, 1, 7),
                    (Kind::Width, 8, 1, 50),
                    (Kind::Depth, 5, 1, 7),
                    (Kind::Depth, 5, 1, 50),
                    (Kind::Depth, 5, 3, 7),
                    (Kind::Depth, 5, 3, 50),
                ]
            );
            let deep = &report.rows[6];
            assert_eq!(deep.layers, "6-5-5-5-3");
            // 6·5 + 5 weights and biases, then 5·5 + 5 twice, then 5·3 + 3.
            assert_eq!(deep.n_params, 35 + 30 + 30 + 18);
            assert_eq!(deep.flops_per_step, 2.0 * 7.0 * (2.0 * 95.0 + 65.0));
            assert_eq!((deep.epoch_steps, report.rows[7].epoch_steps), (8, 1));
            for row in &report.rows {
                assert_eq!((row.steps, row.repeats, row.threads), (3, 2, threads));
                assert_eq!(row.n_train, 50);
                assert!(row.split_repeats <= row.repeats);
                assert!(row.seconds_per_step > 0.0 && row.seconds_per_step_min > 0.0);
                assert!(row.seconds_per_step_min <= row.seconds_per_step);
                assert_eq!(
                    row.epoch_seconds,
                    row.seconds_per_step * row.epoch_steps as f64
                );
                assert_eq!(row.gflops, row.flops_per_step / row.seconds_per_step / 1e9);
                assert_eq!(row.fraction_of_peak, row.gflops / report.peak_gflops);
                assert_eq!(row.peak_gflops, report.peak_gflops);
            }
            assert_eq!(summary(&report.rows).len(), 4);
        }
    }

    #[test]
    fn a_study_is_checked_against_its_data() {
        let train = tiny_data();
        let too_big = Study {
            batch_sizes: vec![51],
            ..tiny_study(1)
        };
        match run_study(&too_big, &train) {
            Err(CliError::Usage(message)) => {
                assert!(message.contains("--batch-sizes"), "{message}")
            }
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn the_csv_reads_back_and_the_figure_is_drawn() {
        let train = tiny_data();
        let study = Study {
            steps: None,
            repeats: 1,
            ..tiny_study(1)
        };
        let report = run_study(&study, &train).unwrap();
        assert!(report
            .rows
            .iter()
            .all(|r| (AUTO_MIN_STEPS..=AUTO_MAX_STEPS).contains(&r.steps)));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench_train.csv");
        write_csv(&report.rows, &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(
            "kind,width,depth,layers,batch,n_params,flops_per_step,steps,repeats,threads,\
             n_train,split_repeats,seconds_per_step,seconds_per_step_min,epoch_steps,epoch_seconds,gflops,\
             fraction_of_peak,peak_gflops\nwidth,4,1,6-4-3,7,"
        ));
        let read: Vec<Row> = csv::Reader::from_path(&path)
            .unwrap()
            .deserialize()
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        assert_eq!(read, report.rows);
        let stem = dir.path().join("bench_train");
        draw(&read, &stem).unwrap();
        for ext in ["svg", "png"] {
            let file = dir.path().join(format!("bench_train.{ext}"));
            assert!(file.metadata().unwrap().len() > 0, "{ext}");
        }
        // One series alone, and nothing at all, draw too.
        let widths: Vec<Row> = read.into_iter().filter(|r| r.kind == Kind::Width).collect();
        draw(&widths, &stem).unwrap();
        draw(&[], &dir.path().join("nothing")).unwrap();
        assert!(!dir.path().join("nothing.svg").exists());
    }
}
