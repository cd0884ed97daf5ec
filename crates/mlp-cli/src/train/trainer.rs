//! The trainer: mini-batch SGD over the epochs of a run, writing its files as it goes and telling
//! an observer what happens. It prints nothing and installs no signal handler; the caller owns
//! the stop flag, so a CLI, a test or a server thread can each drive it their own way.

use super::files::RunDir;
use super::record::best_val_epoch;
use super::step::Batch;
use super::threads::ThreadChooser;
use super::{EpochRecord, Summary, TrainConfig};
use crate::evaluate::{evaluate, EvalBuffers, Metrics};
use crate::spec::check_network_size;
use crate::{CliError, Result};
use mlp_core::{Mlp, Sgd};
use mlp_data::{Dataset, Mnist};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// A run whose training loss after an epoch exceeds this multiple of the untrained network's loss
/// (or is not finite) has diverged.
pub const DIVERGENCE_FACTOR: f64 = 10.0;

/// What a trainer reports while it runs. Every method does nothing unless overridden.
///
/// The observer is called on the training thread (a worker of rayon's pool during an epoch), hence
/// `Send`; a server can forward the events, which are plain data, through a channel.
pub trait Observer: Send {
    /// The untrained network's evaluation, epoch 0 of the curve (read back from the curve when
    /// resuming).
    fn untrained(&mut self, _record: &EpochRecord) {}
    /// A mini-batch step is done.
    fn step(&mut self, _progress: &Progress) {}
    /// An epoch is done, evaluated and written to the curve.
    fn epoch(&mut self, _record: &EpochRecord) {}
}

/// The observer that ignores everything.
impl Observer for () {}

/// Where an epoch stands after a step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// The epoch being trained, from 1.
    pub epoch: usize,
    /// Steps done in this epoch.
    pub steps_done: usize,
    /// Steps in the epoch.
    pub n_steps: usize,
    /// Mean mini-batch loss over the steps done.
    pub mean_loss: f64,
}

/// How a run ended. Divergence and interruption are outcomes of training, not failures of the
/// program: what was finished is on disk either way.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Every epoch ran; the model and summary.json are written and the checkpoint removed.
    Finished(Box<Summary>),
    /// The loss blew up. The curve holds the epochs done (with the diverged epoch when it was
    /// measured on the training set) and the checkpoint the last good epoch.
    Diverged(Divergence),
    /// The stop flag was raised. The curve and the checkpoint hold `epoch` completed epochs, from
    /// which [`Trainer::resume`] continues.
    Interrupted {
        /// Epochs completed and saved.
        epoch: usize,
    },
}

/// How and when a run diverged.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error(
    "training diverged at epoch {epoch}: the {measured} is {loss}; try a smaller learning rate \
     (--lr), e.g. {}", .lr / 10.0
)]
pub struct Divergence {
    /// The 1-based epoch.
    pub epoch: usize,
    /// Which loss showed it.
    pub measured: Measured,
    /// Its value.
    pub loss: f64,
    /// The run's base learning rate.
    pub lr: f64,
}

/// The loss that showed a divergence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measured {
    /// A mini-batch's loss was not finite.
    MiniBatch,
    /// The training set's loss after the epoch was not finite, or over [`DIVERGENCE_FACTOR`] times
    /// the untrained network's.
    TrainingSet,
}

impl fmt::Display for Measured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MiniBatch => "mini-batch loss",
            Self::TrainingSet => "training loss",
        })
    }
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

/// A training run, ready to go: its configuration, data, network, optimiser and directory.
///
/// ```no_run
/// use mlp_cli::train::{Outcome, TrainConfig, Trainer};
/// use std::sync::atomic::AtomicBool;
///
/// let mnist = mlp_data::load_dir(&mlp_data::default_data_dir())?;
/// let config = TrainConfig { epochs: 2, train_limit: Some(5000), ..TrainConfig::default() };
/// let stop = AtomicBool::new(false); // Raise it from another thread to stop after a step.
/// match Trainer::new(config, &mnist, "runs/example")?.run(&mut (), &stop)? {
///     Outcome::Finished(summary) => println!("test error {}", summary.last.test_error),
///     Outcome::Diverged(divergence) => println!("{divergence}"),
///     Outcome::Interrupted { epoch } => println!("saved after epoch {epoch}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Trainer {
    config: TrainConfig,
    splits: Splits,
    dir: RunDir,
    mlp: Mlp<f32>,
    sgd: Sgd<f32>,
    /// The epochs done so far, from epoch 0; empty before the untrained network is evaluated.
    curve: Vec<EpochRecord>,
    threads: usize,
}

impl Trainer {
    /// A fresh run of `config` on `mnist`, writing into `out` (created if needed).
    pub fn new(config: TrainConfig, mnist: &Mnist, out: impl Into<PathBuf>) -> Result<Self> {
        config.check()?;
        let splits = Splits::new(mnist, &config)?;
        let sizes = config.sizes(splits.train.n_features(), splits.train.n_classes());
        check_network_size(&sizes)?;
        let mlp = Mlp::new(&sizes, config.activation, config.seed)?;
        let sgd = Sgd::new(&mlp, config.momentum, config.weight_decay)?;
        let dir = RunDir::create(out)?;
        Ok(Self::with_state(config, splits, dir, mlp, sgd, Vec::new()))
    }

    /// Continues the run saved in `dir` (its checkpoint and curve), with its own configuration.
    pub fn resume(dir: impl Into<PathBuf>, mnist: &Mnist) -> Result<Self> {
        let dir = RunDir::open(dir);
        let checkpoint = dir.load_checkpoint()?;
        let (config, epoch) = (checkpoint.config, checkpoint.epoch);
        let splits = Splits::new(mnist, &config)?;
        let sizes = config.sizes(splits.train.n_features(), splits.train.n_classes());
        if checkpoint.mlp.sizes() != sizes {
            return Err(CliError::ModelFile {
                path: dir.path().join(super::files::CHECKPOINT),
                reason: format!(
                    "its network {:?} is not the configured {sizes:?}",
                    checkpoint.mlp.sizes()
                ),
            });
        }
        let mut curve = dir.read_curve()?;
        // A curve may run ahead of the checkpoint (a run that diverged after it).
        curve.retain(|r| r.epoch <= epoch);
        if curve.len() != epoch + 1 {
            return Err(CliError::ModelFile {
                path: dir.path().join(super::files::CURVE),
                reason: format!(
                    "holds {} epochs, the checkpoint is at epoch {epoch}",
                    curve.len().saturating_sub(1)
                ),
            });
        }
        let (mlp, sgd) = (checkpoint.mlp, checkpoint.sgd);
        Ok(Self::with_state(config, splits, dir, mlp, sgd, curve))
    }

    fn with_state(
        config: TrainConfig,
        splits: Splits,
        dir: RunDir,
        mlp: Mlp<f32>,
        sgd: Sgd<f32>,
        curve: Vec<EpochRecord>,
    ) -> Self {
        Self {
            config,
            splits,
            dir,
            mlp,
            sgd,
            curve,
            threads: mlp_core::par::default_threads(),
        }
    }

    /// Uses at most `threads` threads for the matrix products (default: all of rayon's pool).
    /// Each epoch times its first steps on these and on one and keeps the faster; the results are
    /// the same to the bit whatever the choice.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// The run's settings.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Trains the remaining epochs, writing the curve and a checkpoint after each, and the model
    /// and summary at the end. Checks `stop` after every mini-batch and between epochs; errors are
    /// failures to compute or to write files.
    pub fn run(mut self, observer: &mut dyn Observer, stop: &AtomicBool) -> Result<Outcome> {
        let wall = Instant::now();
        let TrainConfig {
            lr: base_lr,
            lr_schedule: schedule,
            epochs,
            ..
        } = self.config;
        self.mlp.set_threads(self.threads);
        let mut eval_buffers = EvalBuffers::new(
            self.splits.train.n_features(),
            self.splits.train.n_classes(),
        );
        if self.curve.is_empty() {
            let lr = schedule.rate(base_lr, 0, epochs);
            let untrained =
                evaluate_all(0, 0.0, lr, &mut self.mlp, &self.splits, &mut eval_buffers)?;
            self.curve.push(untrained);
            self.dir.write_curve(&self.curve)?;
            self.dir
                .save_checkpoint(&self.config, &self.mlp, &self.sgd, 0)?;
        }
        observer.untrained(&self.curve[0]);
        let mut buffers = BatchBuffers::new(&self.splits.train, self.config.batch_size);
        for epoch in self.curve.len()..=epochs {
            let lr = schedule.rate(base_lr, epoch - 1, epochs);
            let started = Instant::now();
            if let Some(outcome) = self.train_epoch(epoch, lr, &mut buffers, observer, stop)? {
                return Ok(outcome);
            }
            let seconds = started.elapsed().as_secs_f64();
            let row = evaluate_all(
                epoch,
                seconds,
                lr,
                &mut self.mlp,
                &self.splits,
                &mut eval_buffers,
            )?;
            let train_loss = row.train_loss;
            self.curve.push(row);
            self.dir.write_curve(&self.curve)?;
            observer.epoch(&self.curve[epoch]);
            // The softmax is stable, so a far too large rate rarely reaches NaN: it shows as a loss
            // far above the untrained network's. Ten times that is divergence by any practical measure.
            if !train_loss.is_finite() || train_loss > DIVERGENCE_FACTOR * self.curve[0].train_loss
            {
                return Ok(Measured::TrainingSet.outcome(epoch, train_loss, &self.config));
            }
            self.dir
                .save_checkpoint(&self.config, &self.mlp, &self.sgd, epoch)?;
            if stop.load(Ordering::Relaxed) && epoch < epochs {
                return Ok(Outcome::Interrupted { epoch });
            }
        }
        self.finish(wall)
    }

    /// Runs the mini-batch steps of `epoch` at rate `lr`. `Some` when the epoch ended early: a
    /// loss that is not finite, or `stop` raised.
    fn train_epoch(
        &mut self,
        epoch: usize,
        lr: f64,
        buffers: &mut BatchBuffers,
        observer: &mut dyn Observer,
        stop: &AtomicBool,
    ) -> Result<Option<Outcome>> {
        let (config, train) = (&self.config, &self.splits.train);
        let (mlp, sgd, threads) = (&mut self.mlp, &mut self.sgd, self.threads);
        let BatchBuffers { batch, order } = buffers;
        mlp_data::shuffle_into(order, config.seed, epoch as u64);
        let n_steps = mlp_data::n_batches(train.len(), config.batch_size);
        // The epoch runs on a worker of rayon's pool with the other workers kept awake
        // (`par::in_pool`), so that handing half a product to the other core costs nanoseconds,
        // not the microseconds of waking a sleeping thread; between epochs they may sleep.
        let ended_early = mlp_core::par::in_pool(|| -> Result<Option<Outcome>> {
            let mut running_loss = 0.0f64;
            let mut chooser = ThreadChooser::new(threads);
            for (i, indices) in mlp_data::batches(order, config.batch_size)?.enumerate() {
                let step_started = Instant::now();
                let step_threads = chooser.threads_for(i);
                let loss = batch.step(train, indices, mlp, sgd, lr, step_threads)?;
                if !loss.is_finite() {
                    return Ok(Some(Measured::MiniBatch.outcome(epoch, loss, config)));
                }
                running_loss += loss;
                chooser.record(i, step_started.elapsed());
                observer.step(&Progress {
                    epoch,
                    steps_done: i + 1,
                    n_steps,
                    mean_loss: running_loss / (i + 1) as f64,
                });
                if stop.load(Ordering::Relaxed) {
                    return Ok(Some(Outcome::Interrupted { epoch: epoch - 1 }));
                }
            }
            Ok(None)
        })?;
        self.mlp.set_threads(self.threads);
        Ok(ended_early)
    }

    /// Writes the model and summary.json, and removes the checkpoint.
    fn finish(self, wall: Instant) -> Result<Outcome> {
        let config = &self.config;
        let last = self.curve.last().expect("epoch 0 is always there").clone();
        self.dir
            .write_model(config, &self.splits.data, &last, &self.mlp)?;
        let sizes = self.mlp.sizes();
        let summary = Summary {
            config: config.clone(),
            n_params: mlp_core::count_params(&sizes)?.total,
            sizes,
            n_train: self.splits.train.len(),
            n_val: self.splits.val.len(),
            last,
            best_val_epoch: best_val_epoch(&self.curve).unwrap_or(config.epochs),
            train_seconds: self.curve.iter().map(|r| r.seconds).sum(),
            wall_seconds: wall.elapsed().as_secs_f64(),
        };
        self.dir.write_summary(&summary)?;
        self.dir.remove_checkpoint();
        Ok(Outcome::Finished(Box::new(summary)))
    }
}

/// The buffers of one mini-batch and the epoch's order of the samples, allocated once a run.
struct BatchBuffers {
    /// Images and one-hot labels, for the largest batch.
    batch: Batch,
    /// A permutation of the training samples.
    order: Vec<usize>,
}

impl BatchBuffers {
    fn new(train: &Dataset, batch_size: usize) -> Self {
        Self {
            batch: Batch::new(train, batch_size),
            order: vec![0; train.len()],
        }
    }
}

impl Measured {
    /// The outcome of a run of `config` whose loss measured this way was `loss` in `epoch`.
    fn outcome(self, epoch: usize, loss: f64, config: &TrainConfig) -> Outcome {
        Outcome::Diverged(Divergence {
            epoch,
            measured: self,
            loss,
            lr: config.lr,
        })
    }
}

/// The record of the network after `epoch` epochs: loss and error on every split.
fn evaluate_all(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}

    #[test]
    fn a_trainer_and_its_events_can_move_to_another_thread() {
        assert_send::<Trainer>();
        assert_send::<Outcome>();
        assert_send::<Progress>();
        assert_send::<EpochRecord>();
    }

    #[test]
    fn divergence_messages_say_what_to_try() {
        let divergence = Divergence {
            epoch: 2,
            measured: Measured::TrainingSet,
            loss: 41.5,
            lr: 1000.0,
        };
        assert_eq!(
            divergence.to_string(),
            "training diverged at epoch 2: the training loss is 41.5; try a smaller learning rate \
             (--lr), e.g. 100"
        );
    }
}
