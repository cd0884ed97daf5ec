//! `mlp-cli train`: mini-batch SGD on MNIST, with learning curves, checkpoints and resumption.

use crate::evaluate::{evaluate, EvalBuffers, Metrics};
use crate::model_file::{self, write_atomic};
use crate::spec::{check_network_size, parse_sizes, positive};
use crate::{data, CliError, Result};
use faer::{Mat, MatMut};
use indicatif::{ProgressBar, ProgressStyle};
use mlp_core::{Activation, LrSchedule, Mlp, Sgd};
use mlp_data::{Dataset, Mnist};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Usage examples shown after `--help`.
pub const EXAMPLES: &str = "Examples:
  # The practical work's shallow net: sigmoid, plain mini-batch SGD.
  mlp-cli train --layers 150 --lr 0.5 --batch-size 64 --epochs 30 --out runs/shallow
  # The deep net with momentum and a cosine schedule.
  mlp-cli train --layers 150,200,150,50 --activation relu --lr 0.05 --momentum 0.9 --lr-schedule cosine --out runs/deep
  # Continue a run stopped with Ctrl-C.
  mlp-cli train --resume runs/deep

A run stops with exit code 1 if it diverges: a loss that is not finite, or a training loss after an
epoch above 10 times the untrained network's. Ctrl-C stops after the current mini-batch, keeps the
curve and a checkpoint of the last completed epoch, and exits with code 130.";

/// The hidden activation, as a command-line choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivationArg {
    /// 1 / (1 + e^−z), the practical work's choice.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// max(0, z).
    Relu,
    /// No non-linearity (the net is then a linear model).
    Identity,
}

impl From<ActivationArg> for Activation {
    fn from(arg: ActivationArg) -> Self {
        match arg {
            ActivationArg::Sigmoid => Activation::Sigmoid,
            ActivationArg::Tanh => Activation::Tanh,
            ActivationArg::Relu => Activation::Relu,
            ActivationArg::Identity => Activation::Identity,
        }
    }
}

/// The learning-rate schedule, as a command-line choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleArg {
    /// The same rate every epoch.
    Constant,
    /// ÷10 at half and at three quarters of the epochs.
    Step,
    /// Cosine annealing towards 0.
    Cosine,
}

impl From<ScheduleArg> for LrSchedule {
    fn from(arg: ScheduleArg) -> Self {
        match arg {
            ScheduleArg::Constant => LrSchedule::Constant,
            ScheduleArg::Step => LrSchedule::Step,
            ScheduleArg::Cosine => LrSchedule::Cosine,
        }
    }
}

/// Arguments of `mlp-cli train`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Hidden layer widths, comma-separated (e.g. 150 or 150,200,150,50).
    #[arg(long, default_value = "150", allow_hyphen_values = true)]
    pub layers: String,
    /// Activation of the hidden layers.
    #[arg(long, value_enum, default_value_t = ActivationArg::Sigmoid)]
    pub activation: ActivationArg,
    /// Learning rate (the base rate of the schedule).
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    pub lr: f64,
    /// Samples per mini-batch (the last batch of an epoch may be smaller).
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Passes over the training set.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Momentum μ in [0, 1) (0: plain SGD).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub momentum: f64,
    /// L2 weight decay λ ≥ 0, on weights only.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub weight_decay: f64,
    /// How the learning rate changes over the epochs.
    #[arg(long, value_enum, default_value_t = ScheduleArg::Constant)]
    pub lr_schedule: ScheduleArg,
    /// Seed of the initial weights and of the shuffling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Size of the validation split, taken from the end of the training set (0: train on all).
    #[arg(long, default_value_t = 10_000)]
    pub val: usize,
    /// Train on only the first N training samples (for quick runs).
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Directory holding the four IDX files (default: the bundled data/mnist).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Output directory: curve.csv, summary.json, model.safetensors.
    #[arg(long, default_value = "runs/train")]
    pub out: PathBuf,
    /// Continue the run saved in this directory, with its own settings.
    #[arg(long, conflicts_with_all = ["layers", "activation", "lr", "batch_size", "momentum", "weight_decay", "lr_schedule", "seed", "val", "train_limit", "out"])]
    pub resume: Option<PathBuf>,
    /// Stop (as if interrupted) after this many epochs of this invocation, keeping a checkpoint.
    #[arg(long, hide = true)]
    pub stop_after: Option<usize>,
    /// Threads for the matrix products, at most (default: all cores). Each epoch times a few steps
    /// on these and on one and keeps the faster; results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

/// Everything that defines a training run; saved in summary.json and in checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Hidden activation.
    pub activation: ActivationArg,
    /// Base learning rate.
    pub lr: f64,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Number of epochs.
    pub epochs: usize,
    /// Momentum.
    pub momentum: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// Learning-rate schedule.
    pub lr_schedule: ScheduleArg,
    /// Seed.
    pub seed: u64,
    /// Validation split size.
    pub val: usize,
    /// Training subset size, if any.
    pub train_limit: Option<usize>,
}

impl TrainConfig {
    /// The configuration described by command-line arguments, checked.
    pub fn from_args(args: &Args) -> Result<Self> {
        let config = Self {
            hidden: parse_sizes("--layers", &args.layers)?,
            activation: args.activation,
            lr: args.lr,
            batch_size: args.batch_size,
            epochs: args.epochs,
            momentum: args.momentum,
            weight_decay: args.weight_decay,
            lr_schedule: args.lr_schedule,
            seed: args.seed,
            val: args.val,
            train_limit: args.train_limit,
        };
        config.check()?;
        Ok(config)
    }

    /// Checks the values that do not depend on the data.
    pub fn check(&self) -> Result<()> {
        positive("--lr", self.lr)?;
        if self.batch_size == 0 {
            return Err(CliError::Usage("--batch-size must be at least 1".into()));
        }
        if self.epochs == 0 {
            return Err(CliError::Usage("--epochs must be at least 1".into()));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(CliError::Usage(format!(
                "--momentum must be in [0, 1), got {}",
                self.momentum
            )));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(CliError::Usage(format!(
                "--weight-decay must be finite and >= 0, got {}",
                self.weight_decay
            )));
        }
        if self.train_limit == Some(0) {
            return Err(CliError::Usage("--train-limit must be at least 1".into()));
        }
        Ok(())
    }

    /// The full layer sizes for data with `inputs` features and `classes` classes.
    pub fn sizes(&self, inputs: usize, classes: usize) -> Vec<usize> {
        std::iter::once(inputs)
            .chain(self.hidden.iter().copied())
            .chain(std::iter::once(classes))
            .collect()
    }
}

/// One row of curve.csv: the state after `epoch` epochs (0 is the untrained network).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epochs completed.
    pub epoch: usize,
    /// Wall-clock seconds of this epoch's training (0 for epoch 0).
    pub seconds: f64,
    /// Learning rate used in this epoch.
    pub lr: f64,
    /// Mean cross-entropy on the training split.
    pub train_loss: f64,
    /// Error rate on the training split.
    pub train_error: f64,
    /// Mean cross-entropy on the validation split (empty when --val 0).
    pub val_loss: Option<f64>,
    /// Error rate on the validation split.
    pub val_error: Option<f64>,
    /// Mean cross-entropy on the test set.
    pub test_loss: f64,
    /// Error rate on the test set.
    pub test_error: f64,
}

/// summary.json: the configuration and the final figures of a finished run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// The run's settings.
    pub config: TrainConfig,
    /// Layer sizes including inputs and classes.
    pub sizes: Vec<usize>,
    /// Number of parameters.
    pub n_params: u64,
    /// Training samples used per epoch.
    pub n_train: usize,
    /// Validation samples.
    pub n_val: usize,
    /// The last epoch's record.
    pub last: EpochRecord,
    /// The epoch with the lowest validation error (the last one when there is no validation set).
    pub best_val_epoch: usize,
    /// Seconds spent training (sum of the epochs).
    pub train_seconds: f64,
    /// Seconds from start to end, including evaluation and writing files.
    pub wall_seconds: f64,
}

/// A run whose training loss after an epoch exceeds this multiple of the untrained network's loss
/// (or is not finite) has diverged.
pub const DIVERGENCE_FACTOR: f64 = 10.0;

/// Set by the Ctrl-C handler; the training loop stops after the current mini-batch.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The file names a run writes in its output directory.
pub mod files {
    /// Learning curve, one row per epoch.
    pub const CURVE: &str = "curve.csv";
    /// Configuration and final figures.
    pub const SUMMARY: &str = "summary.json";
    /// The trained model.
    pub const MODEL: &str = "model.safetensors";
    /// Weights, velocities and position of the last completed epoch; removed when the run ends.
    pub const CHECKPOINT: &str = "checkpoint.safetensors";
}

/// Options of a training run that do not change its result.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Print nothing.
    pub quiet: bool,
    /// Stop after this many epochs of this invocation, as if interrupted.
    pub stop_after: Option<usize>,
    /// Threads for the matrix products, at most (None: all cores); each epoch keeps whichever of
    /// these and one ran its first steps faster.
    pub threads: Option<usize>,
}

/// The training and validation splits and the test set of a run.
pub struct Splits {
    /// Samples trained on.
    pub train: Dataset,
    /// Samples used to choose hyper-parameters (may be empty).
    pub val: Dataset,
    /// The test set, reported and never tuned on.
    pub test: Dataset,
    /// The data set they come from, recorded in the model file.
    pub data: mlp_data::DataIdentity,
}

impl Splits {
    /// Splits MNIST's training set into training and validation parts as `config` says.
    pub fn new(mnist: &Mnist, config: &TrainConfig) -> Result<Self> {
        let (mut train, val) = mnist.train.split_last(config.val).map_err(|e| {
            CliError::Usage(format!(
                "--val {}: {e} (the training set has {} samples)",
                config.val,
                mnist.train.len()
            ))
        })?;
        if let Some(limit) = config.train_limit {
            if limit < train.len() {
                train = train.take_first(limit)?;
            }
        }
        if config.batch_size > train.len() {
            return Err(CliError::Usage(format!(
                "--batch-size {} is larger than the {} training samples",
                config.batch_size,
                train.len()
            )));
        }
        Ok(Self {
            train,
            val,
            test: mnist.test.clone(),
            data: mnist.identity.clone(),
        })
    }
}

/// Where a run starts: a fresh network, or a checkpoint.
struct Start {
    mlp: Mlp<f32>,
    sgd: Sgd<f32>,
    epoch: usize,
    curve: Vec<EpochRecord>,
}

/// Trains as `config` says and writes the run's files into `out`.
///
/// Returns the summary of the finished run, or [`CliError::Interrupted`] after saving a checkpoint
/// when Ctrl-C was pressed (or `stop_after` epochs were done).
pub fn train(
    config: &TrainConfig,
    splits: &Splits,
    out: &Path,
    options: &RunOptions,
) -> Result<Summary> {
    let start = fresh_start(config, splits)?;
    std::fs::create_dir_all(out).map_err(CliError::io(out))?;
    run_epochs(config, splits, out, options, start)
}

fn fresh_start(config: &TrainConfig, splits: &Splits) -> Result<Start> {
    config.check()?;
    let sizes = config.sizes(splits.train.n_features(), splits.train.n_classes());
    check_network_size(&sizes)?;
    let mlp = Mlp::new(&sizes, config.activation.into(), config.seed)?;
    let sgd = Sgd::new(&mlp, config.momentum, config.weight_decay)?;
    Ok(Start {
        mlp,
        sgd,
        epoch: 0,
        curve: Vec::new(),
    })
}

/// Continues the run saved in `dir` (its checkpoint and curve) until its configured epochs.
pub fn resume(dir: &Path, mnist: &Mnist, options: &RunOptions) -> Result<Summary> {
    let path = dir.join(files::CHECKPOINT);
    let loaded = model_file::load(&path)?;
    let bad = |reason: String| CliError::ModelFile {
        path: path.clone(),
        reason,
    };
    let config: TrainConfig = serde_json::from_str(
        loaded
            .metadata
            .get("config")
            .ok_or_else(|| bad("no config in the metadata".into()))?,
    )
    .map_err(|e| bad(format!("unreadable config: {e}")))?;
    config.check()?;
    let epoch: usize = loaded
        .metadata
        .get("epoch")
        .and_then(|e| e.parse().ok())
        .ok_or_else(|| bad("no epoch in the metadata".into()))?;
    let splits = Splits::new(mnist, &config)?;
    let sizes = config.sizes(splits.train.n_features(), splits.train.n_classes());
    if loaded.mlp.sizes() != sizes {
        return Err(bad(format!(
            "its network {:?} is not the configured {sizes:?}",
            loaded.mlp.sizes()
        )));
    }
    let mut sgd = Sgd::new(&loaded.mlp, config.momentum, config.weight_decay)?;
    let velocity = loaded
        .velocity
        .ok_or_else(|| bad("no optimiser state (velocities)".into()))?;
    sgd.velocity_mut().clone_from_slice(&velocity);
    let curve_path = dir.join(files::CURVE);
    let mut curve = read_curve(&curve_path)?;
    curve.retain(|r| r.epoch <= epoch);
    if curve.len() != epoch + 1 {
        return Err(CliError::ModelFile {
            path: curve_path,
            reason: format!(
                "holds {} epochs, the checkpoint is at epoch {epoch}",
                curve.len().saturating_sub(1)
            ),
        });
    }
    run_epochs(
        &config,
        &splits,
        dir,
        options,
        Start {
            mlp: loaded.mlp,
            sgd,
            epoch,
            curve,
        },
    )
}

/// Reads a curve.csv written by [`train`].
pub fn read_curve(path: &Path) -> Result<Vec<EpochRecord>> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| CliError::ModelFile {
        path: path.into(),
        reason: e.to_string(),
    })?;
    reader
        .deserialize()
        .collect::<std::result::Result<Vec<EpochRecord>, _>>()
        .map_err(|e| CliError::ModelFile {
            path: path.into(),
            reason: e.to_string(),
        })
}

fn write_curve(path: &Path, curve: &[EpochRecord]) -> Result<()> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for record in curve {
        writer
            .serialize(record)
            .map_err(|e| CliError::Usage(format!("cannot format the curve: {e}")))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| CliError::Usage(format!("cannot format the curve: {e}")))?;
    write_atomic(path, &bytes)
}

fn save_checkpoint(
    out: &Path,
    config: &TrainConfig,
    mlp: &Mlp<f32>,
    sgd: &Sgd<f32>,
    epoch: usize,
) -> Result<()> {
    let config_json = serde_json::to_string(config).expect("a config always serialises");
    let bytes = model_file::to_bytes(
        mlp,
        Some(sgd),
        &[("epoch", epoch.to_string()), ("config", config_json)],
    )?;
    write_atomic(&out.join(files::CHECKPOINT), &bytes)
}

fn record(
    epoch: usize,
    seconds: f64,
    lr: f64,
    mlp: &mut Mlp<f32>,
    splits: &Splits,
    buffers: &mut EvalBuffers,
) -> Result<EpochRecord> {
    let train = evaluate(mlp, &splits.train, buffers)?;
    let val: Option<Metrics> = if splits.val.is_empty() {
        None
    } else {
        Some(evaluate(mlp, &splits.val, buffers)?)
    };
    let test = evaluate(mlp, &splits.test, buffers)?;
    Ok(EpochRecord {
        epoch,
        seconds,
        lr,
        train_loss: train.loss,
        train_error: train.error,
        val_loss: val.as_ref().map(|m| m.loss),
        val_error: val.as_ref().map(|m| m.error),
        test_loss: test.loss,
        test_error: test.error,
    })
}

fn run_epochs(
    config: &TrainConfig,
    splits: &Splits,
    out: &Path,
    options: &RunOptions,
    start: Start,
) -> Result<Summary> {
    let wall = Instant::now();
    let Start {
        mut mlp,
        mut sgd,
        epoch: first_done,
        mut curve,
    } = start;
    let threads = options
        .threads
        .unwrap_or_else(mlp_core::par::default_threads);
    mlp.set_threads(threads);
    let train = &splits.train;
    let schedule: LrSchedule = config.lr_schedule.into();
    let mut eval_buffers = EvalBuffers::new(train.n_classes());
    let curve_path = out.join(files::CURVE);
    if curve.is_empty() {
        let lr = schedule.rate(config.lr, 0, config.epochs);
        curve.push(record(0, 0.0, lr, &mut mlp, splits, &mut eval_buffers)?);
        write_curve(&curve_path, &curve)?;
        save_checkpoint(out, config, &mlp, &sgd, 0)?;
    }
    if !options.quiet {
        print_header(&curve[0]);
    }

    // Buffers for one mini-batch, allocated once.
    let b = config.batch_size;
    let mut x = Mat::<f32>::zeros(train.n_features(), b);
    let mut y = Mat::<f32>::zeros(train.n_classes(), b);
    let mut order = vec![0usize; train.len()];
    let n_batches = mlp_data::n_batches(train.len(), b);

    for epoch in first_done + 1..=config.epochs {
        let lr = schedule.rate(config.lr, epoch - 1, config.epochs);
        let progress = progress_bar(n_batches, epoch, options.quiet);
        let started = Instant::now();
        mlp_data::shuffle_into(&mut order, config.seed, epoch as u64);
        // The epoch runs on a worker of rayon's pool with the other workers kept awake
        // (`par::in_pool`), so that handing half a product to the other core costs nanoseconds,
        // not the microseconds of waking a sleeping thread; between epochs they may sleep.
        mlp_core::par::in_pool(|| -> Result<()> {
            let mut running_loss = 0.0f64;
            let mut chooser = ThreadChooser::new(threads);
            for (i, batch) in mlp_data::batches(&order, b)?.enumerate() {
                let step_started = Instant::now();
                let step_threads = chooser.threads_for(i);
                mlp.set_threads(step_threads);
                let m = batch.len();
                let mut xb = x.as_mut().subcols_mut(0, m);
                let mut yb = y.as_mut().subcols_mut(0, m);
                gather_batch(train, batch, xb.as_mut(), yb.as_mut(), step_threads)?;
                mlp.propagate(xb.as_ref())?;
                let loss = mlp.loss(yb.as_ref())? as f64;
                if !loss.is_finite() {
                    progress.finish_and_clear();
                    return Err(diverged(epoch, "mini-batch loss", loss, config.lr));
                }
                running_loss += loss;
                mlp.backpropagate(xb.as_ref(), yb.as_ref())?;
                sgd.step(&mut mlp, lr)?;
                chooser.record(i, step_started.elapsed());
                if i % 64 == 0 {
                    progress.set_position(i as u64);
                    progress.set_message(format!("loss {:.4}", running_loss / (i + 1) as f64));
                }
                if INTERRUPTED.load(Ordering::Relaxed) {
                    progress.finish_and_clear();
                    return Err(interrupted(out, epoch - 1));
                }
            }
            Ok(())
        })?;
        mlp.set_threads(threads);
        progress.finish_and_clear();
        let seconds = started.elapsed().as_secs_f64();
        let row = record(epoch, seconds, lr, &mut mlp, splits, &mut eval_buffers)?;
        let train_loss = row.train_loss;
        curve.push(row);
        write_curve(&curve_path, &curve)?;
        if !options.quiet {
            print_row(curve.last().unwrap());
        }
        // The softmax is stable, so a far too large rate rarely reaches NaN: it shows as a loss
        // far above the untrained network's. Ten times that is divergence by any practical measure.
        if !train_loss.is_finite() || train_loss > DIVERGENCE_FACTOR * curve[0].train_loss {
            return Err(diverged(epoch, "training loss", train_loss, config.lr));
        }
        save_checkpoint(out, config, &mlp, &sgd, epoch)?;
        if options.stop_after.is_some_and(|n| epoch - first_done >= n) && epoch < config.epochs {
            return Err(interrupted(out, epoch));
        }
    }

    let [dataset, fingerprint] = model_file::dataset_entries(&splits.data);
    let model = model_file::to_bytes(
        &mlp,
        None,
        &[
            (
                "config",
                serde_json::to_string(config).expect("serialisable"),
            ),
            dataset,
            fingerprint,
            model_file::final_entry(curve.last().expect("epoch 0 at least")),
        ],
    )?;
    write_atomic(&out.join(files::MODEL), &model)?;
    let best_val_epoch = curve
        .iter()
        .filter_map(|r| r.val_error.map(|e| (r.epoch, e)))
        .fold(None, |best: Option<(usize, f64)>, (epoch, e)| match best {
            Some((_, b)) if b <= e => best,
            _ => Some((epoch, e)),
        })
        .map_or(config.epochs, |(epoch, _)| epoch);
    let sizes = mlp.sizes();
    let summary = Summary {
        config: config.clone(),
        n_params: mlp_core::count_params(&sizes)?.total,
        sizes,
        n_train: train.len(),
        n_val: splits.val.len(),
        last: curve.last().unwrap().clone(),
        best_val_epoch,
        train_seconds: curve.iter().map(|r| r.seconds).sum(),
        wall_seconds: wall.elapsed().as_secs_f64(),
    };
    let json = serde_json::to_string_pretty(&summary).expect("a summary always serialises");
    write_atomic(&out.join(files::SUMMARY), json.as_bytes())?;
    // The checkpoint only serves to resume; a finished run does not need it.
    let _ = std::fs::remove_file(out.join(files::CHECKPOINT));
    Ok(summary)
}

/// Decides at the start of each epoch whether its steps run split between threads or on one, by
/// timing a few steps each way: which is faster depends on the batch and the network, and on where
/// the machine's cores sit at the moment. (On the 2-core machine of `STYLE.md`, whose virtual cores
/// now and then move to different chiplets of the host, an epoch at batch 64 took 125 ms on two
/// threads and 176 ms on one, or 285 ms on two and 176 ms on one, depending on the placement.)
/// The choice changes only the time: products are split over their outputs, so the results are
/// the same to the bit.
struct ThreadChooser {
    threads: usize,
    /// Summed time of the timed probe steps run on `threads` threads and on one.
    probe: [Duration; 2],
    chosen: Option<usize>,
}

impl ThreadChooser {
    /// The first `PROBE_STEPS` steps of an epoch run on `threads` threads, the next `PROBE_STEPS`
    /// on one; the first `UNTIMED_STEPS` of each block are not timed, since they pay for moving
    /// the parameters to the cores that now own them.
    const PROBE_STEPS: usize = 16;
    const UNTIMED_STEPS: usize = 2;

    fn new(threads: usize) -> Self {
        Self {
            threads,
            probe: [Duration::ZERO; 2],
            chosen: (threads <= 1).then_some(1),
        }
    }

    /// The threads for step `i` of the epoch.
    fn threads_for(&self, i: usize) -> usize {
        match self.chosen {
            Some(threads) => threads,
            None if i < Self::PROBE_STEPS => self.threads,
            None => 1,
        }
    }

    /// Records how long step `i` took, and chooses once the probe steps are done.
    fn record(&mut self, i: usize, elapsed: Duration) {
        if self.chosen.is_some() {
            return;
        }
        let (block, position) = (i / Self::PROBE_STEPS, i % Self::PROBE_STEPS);
        if position >= Self::UNTIMED_STEPS {
            self.probe[block] += elapsed;
        }
        if i + 1 == 2 * Self::PROBE_STEPS {
            let [split, single] = self.probe;
            self.chosen = Some(if split <= single { self.threads } else { 1 });
        }
    }
}

/// Copies the images and one-hot labels of `batch` into `x` and `y`, the two halves on two cores
/// when `threads` allows and the batch is large enough to be worth it: the images are scattered
/// through 188 MB, and two cores fetch them from memory in about half the time.
fn gather_batch(
    train: &Dataset,
    batch: &[usize],
    x: MatMut<'_, f32>,
    y: MatMut<'_, f32>,
    threads: usize,
) -> Result<()> {
    /// Below this, handing half to the other core costs about what it saves.
    const MIN_COLUMNS_TO_SPLIT: usize = 32;
    if threads < 2 || batch.len() < MIN_COLUMNS_TO_SPLIT {
        return Ok(train.gather_into(batch, x, y)?);
    }
    let half = batch.len() / 2;
    let ((x0, x1), (y0, y1)) = (x.split_at_col_mut(half), y.split_at_col_mut(half));
    let (first, second) = rayon::join(
        || train.gather_into(&batch[..half], x0, y0),
        || train.gather_into(&batch[half..], x1, y1),
    );
    first?;
    Ok(second?)
}

fn diverged(epoch: usize, what: &'static str, value: f64, lr: f64) -> CliError {
    CliError::Diverged {
        epoch,
        what,
        value,
        suggestion: lr / 10.0,
    }
}

fn interrupted(out: &Path, epoch: usize) -> CliError {
    CliError::Interrupted(format!(
        "the curve and a checkpoint of epoch {epoch} are in {0}; continue with: mlp-cli train --resume {0}",
        out.display()
    ))
}

fn progress_bar(n_batches: usize, epoch: usize, quiet: bool) -> ProgressBar {
    // indicatif draws only when stderr is a terminal; otherwise the bar is hidden.
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(n_batches as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "epoch {prefix:>3} [{bar:30}] {pos}/{len} batches {msg} ({eta})",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(epoch.to_string());
    bar
}

fn print_header(first: &EpochRecord) {
    println!(
        "{:>5} {:>8} {:>9} {:>10} {:>9} {:>10} {:>9} {:>10} {:>9}",
        "epoch",
        "seconds",
        "lr",
        "train loss",
        "train err",
        "val loss",
        "val err",
        "test loss",
        "test err"
    );
    print_row(first);
}

fn print_row(r: &EpochRecord) {
    let opt = |v: Option<f64>, percent: bool| match v {
        Some(v) if percent => format!("{:.2} %", 100.0 * v),
        Some(v) => format!("{v:.4}"),
        None => "-".into(),
    };
    println!(
        "{:>5} {:>8.2} {:>9.4} {:>10.4} {:>9} {:>10} {:>9} {:>10.4} {:>9}",
        r.epoch,
        r.seconds,
        r.lr,
        r.train_loss,
        format!("{:.2} %", 100.0 * r.train_error),
        opt(r.val_loss, false),
        opt(r.val_error, true),
        r.test_loss,
        format!("{:.2} %", 100.0 * r.test_error),
    );
}

/// Runs `mlp-cli train`.
pub fn run(args: &Args) -> Result<()> {
    ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::Relaxed))
        .map_err(|e| CliError::Usage(format!("cannot install the Ctrl-C handler: {e}")))?;
    if args.threads == Some(0) {
        return Err(CliError::Usage("--threads must be at least 1".into()));
    }
    let options = RunOptions {
        quiet: args.quiet,
        stop_after: args.stop_after,
        threads: args.threads,
    };
    if let Some(dir) = &args.resume {
        let mnist = data::load(args.data.as_deref())?;
        let summary = resume(dir, &mnist, &options)?;
        return report(&summary, dir, args.quiet);
    }
    let config = TrainConfig::from_args(args)?;
    let mnist = data::load(args.data.as_deref())?;
    let splits = Splits::new(&mnist, &config)?;
    let summary = train(&config, &splits, &args.out, &options)?;
    report(&summary, &args.out, args.quiet)
}

fn report(summary: &Summary, out: &Path, quiet: bool) -> Result<()> {
    if !quiet {
        println!(
            "done in {:.1} s: test error {:.2} % after {} epochs; files in {}",
            summary.wall_seconds,
            100.0 * summary.last.test_error,
            summary.last.epoch,
            out.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the probe of one epoch with step times given by `time(threads)`; returns the threads
    /// chosen for the rest of the epoch.
    fn choice(threads: usize, time: impl Fn(usize) -> u64) -> usize {
        let mut chooser = ThreadChooser::new(threads);
        for i in 0..2 * ThreadChooser::PROBE_STEPS {
            let t = chooser.threads_for(i);
            chooser.record(i, Duration::from_micros(time(t)));
        }
        chooser.threads_for(2 * ThreadChooser::PROBE_STEPS)
    }

    #[test]
    fn the_faster_way_is_kept_for_the_rest_of_the_epoch() {
        assert_eq!(choice(2, |t| if t == 2 { 130 } else { 180 }), 2);
        assert_eq!(choice(2, |t| if t == 2 { 290 } else { 180 }), 1);
        // One thread allowed: nothing to probe.
        assert_eq!(choice(1, |_| 100), 1);
        assert_eq!(ThreadChooser::new(1).threads_for(0), 1);
    }

    #[test]
    fn the_first_steps_of_each_probe_block_are_not_timed() {
        // The steps that move the parameters between cores are slow whichever way is better.
        let first = |i: usize| i % ThreadChooser::PROBE_STEPS < ThreadChooser::UNTIMED_STEPS;
        let mut chooser = ThreadChooser::new(2);
        for i in 0..2 * ThreadChooser::PROBE_STEPS {
            let split = chooser.threads_for(i) == 2;
            let micros = match (first(i), split) {
                (true, true) => 10_000,
                (true, false) => 1,
                (false, true) => 100,
                (false, false) => 150,
            };
            chooser.record(i, Duration::from_micros(micros));
        }
        assert_eq!(chooser.threads_for(2 * ThreadChooser::PROBE_STEPS), 2);
    }
}
