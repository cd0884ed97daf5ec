//! `mlp-cli train`: the command-line shell over [`crate::train`] — arguments to a configuration,
//! Ctrl-C to the stop flag, the epoch table and the progress bar on the terminal, the outcome to an
//! exit code.

use crate::spec::{activation_choice, parse_sizes, schedule_choice};
use crate::train::{EpochRecord, Observer, Outcome, Progress, TrainConfig, Trainer};
use crate::{data, CliError, Result};
use indicatif::{ProgressBar, ProgressStyle};
use mlp_core::{Activation, LrSchedule};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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

/// Arguments of `mlp-cli train`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Hidden layer widths, comma-separated (e.g. 150 or 150,200,150,50).
    #[arg(long, default_value = "150", allow_hyphen_values = true)]
    pub layers: String,
    /// Activation of the hidden layers.
    #[arg(long, value_parser = activation_choice(), default_value = Activation::Sigmoid.name())]
    pub activation: Activation,
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
    #[arg(long, value_parser = schedule_choice(), default_value = LrSchedule::Constant.name())]
    pub lr_schedule: LrSchedule,
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

impl Args {
    /// The configuration these arguments describe, checked.
    pub fn config(&self) -> Result<TrainConfig> {
        let config = TrainConfig {
            hidden: parse_sizes("--layers", &self.layers)?,
            activation: self.activation,
            lr: self.lr,
            batch_size: self.batch_size,
            epochs: self.epochs,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            lr_schedule: self.lr_schedule,
            seed: self.seed,
            val: self.val,
            train_limit: self.train_limit,
        };
        config.check()?;
        Ok(config)
    }
}

/// Runs `mlp-cli train`.
pub fn run(args: &Args) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let on_ctrl_c = Arc::clone(&stop);
    ctrlc::set_handler(move || on_ctrl_c.store(true, Ordering::Relaxed))
        .map_err(|e| CliError::Runtime(format!("cannot install the Ctrl-C handler: {e}")))?;
    if args.threads == Some(0) {
        return Err(CliError::Usage("--threads must be at least 1".into()));
    }
    let trainer = match &args.resume {
        Some(dir) => Trainer::resume(dir, &data::load(args.data.as_deref())?)?,
        None => {
            let config = args.config()?;
            Trainer::new(config, &data::load(args.data.as_deref())?, &args.out)?
        }
    };
    let trainer = match args.threads {
        Some(threads) => trainer.with_threads(threads),
        None => trainer,
    };
    let out = trainer.dir().to_path_buf();
    let mut table = Table::new(args.quiet, args.stop_after, Arc::clone(&stop));
    let outcome = trainer.run(&mut table, &stop);
    table.progress.finish_and_clear();
    match outcome? {
        Outcome::Finished(summary) => {
            if !args.quiet {
                println!(
                    "done in {:.1} s: test error {:.2} % after {} epochs; files in {}",
                    summary.wall_seconds,
                    100.0 * summary.last.test_error,
                    summary.last.epoch,
                    out.display()
                );
                println!(
                    "an epoch of {} samples took {:.3} s on average: {:.1} GFLOP/s in the products \
                     of the steps (as bench-train counts them; bench-forward measures the GEMM peak)",
                    summary.n_train,
                    summary.mean_epoch_seconds(),
                    summary.gflops()
                );
            }
            Ok(())
        }
        Outcome::Diverged(divergence) => Err(divergence.into()),
        Outcome::Interrupted { epoch } => Err(interrupted(&out, epoch)),
    }
}

fn interrupted(out: &Path, epoch: usize) -> CliError {
    CliError::Interrupted(format!(
        "the curve and a checkpoint of epoch {epoch} are in {0}; continue with: mlp-cli train --resume {0}",
        out.display()
    ))
}

/// The terminal observer: the epoch table on stdout, a progress bar per epoch on stderr (drawn
/// only when stderr is a terminal), and `--stop-after`, which raises the stop flag.
struct Table {
    quiet: bool,
    progress: ProgressBar,
    stop_after: Option<usize>,
    epochs_done: usize,
    stop: Arc<AtomicBool>,
}

impl Table {
    fn new(quiet: bool, stop_after: Option<usize>, stop: Arc<AtomicBool>) -> Self {
        Self {
            quiet,
            progress: ProgressBar::hidden(),
            stop_after,
            epochs_done: 0,
            stop,
        }
    }
}

impl Observer for Table {
    fn untrained(&mut self, record: &EpochRecord) {
        if !self.quiet {
            println!("{}", EpochRecord::table_header());
            println!("{}", record.table_row());
        }
    }

    fn step(&mut self, progress: &Progress) {
        let i = progress.steps_done - 1;
        if i == 0 && !self.quiet {
            self.progress = epoch_bar(progress.epoch, progress.n_steps);
        }
        if i % 64 == 0 {
            self.progress.set_position(i as u64);
            self.progress
                .set_message(format!("loss {:.4}", progress.mean_loss));
        }
    }

    fn epoch(&mut self, record: &EpochRecord) {
        self.progress.finish_and_clear();
        if !self.quiet {
            println!("{}", record.table_row());
        }
        self.epochs_done += 1;
        if self.stop_after.is_some_and(|n| self.epochs_done >= n) {
            self.stop.store(true, Ordering::Relaxed);
        }
    }
}

fn epoch_bar(epoch: usize, n_steps: usize) -> ProgressBar {
    let bar = ProgressBar::new(n_steps as u64);
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(args: &[&str]) -> std::result::Result<Args, clap::Error> {
        Cli::try_parse_from(std::iter::once("train").chain(args.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn every_activation_and_schedule_is_chosen_by_its_own_name() {
        for activation in Activation::ALL {
            let args = parse(&["--activation", activation.name()]).unwrap();
            assert_eq!(args.activation, activation);
        }
        for schedule in LrSchedule::ALL {
            let args = parse(&["--lr-schedule", schedule.name()]).unwrap();
            assert_eq!(args.lr_schedule, schedule);
        }
        assert!(parse(&["--activation", "swish"]).is_err());
    }

    #[test]
    fn the_defaults_are_the_default_config() {
        assert_eq!(
            parse(&[]).unwrap().config().unwrap(),
            TrainConfig::default()
        );
    }
}
