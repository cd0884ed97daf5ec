//! Timing one network at one batch size: the trainer's step after each measurement's thread probe.

use super::{Study, AUTO_MAX_STEPS, AUTO_MIN_STEPS, AUTO_SECONDS};
use crate::peak::GemmPeak;
use crate::spec::dashed;
use crate::train::step::Batch;
use crate::train::threads::ThreadChooser;
use crate::train::TrainConfig;
use crate::{CliError, Result};
use mlp_core::{Mlp, Sgd};
use mlp_data::Dataset;
use std::time::Instant;

/// The measurements of one network at one batch size, taken one per round.
pub(super) struct Timing {
    /// Seconds per step of each measurement.
    pub(super) seconds_per_step: Vec<f64>,
    /// Steps timed per measurement: `--steps`, or chosen from the first measurement's probe (0
    /// until then).
    pub(super) steps: usize,
    /// Measurements whose probe chose to split the steps between threads.
    pub(super) split_repeats: usize,
    /// The GEMM peak measured just before each measurement, GFLOP/s.
    pub(super) peak_gflops: Vec<f64>,
}

impl Timing {
    /// No measurement yet, for `study`'s repeats.
    pub(super) fn new(study: &Study) -> Self {
        Self {
            seconds_per_step: Vec::with_capacity(study.repeats),
            steps: study.steps.unwrap_or(0),
            split_repeats: 0,
            peak_gflops: Vec::with_capacity(study.repeats),
        }
    }
}

/// What every measurement of a study shares: the data, the settings, and the square product of
/// the peak.
pub(super) struct Bench<'a> {
    pub(super) train: &'a Dataset,
    pub(super) study: &'a Study,
    pub(super) config: TrainConfig,
    pub(super) peak: GemmPeak<f32>,
}

impl Bench<'_> {
    /// Takes the `round`-th measurement (from 0) of a network of `sizes` at batch `batch` into
    /// `timing`: measures the peak, then trains a fresh network with the settings on batches of
    /// the training samples as `train` runs an epoch (the order of epoch `round + 1`, a fresh
    /// choice of threads), and times its steps after the thread probe.
    pub(super) fn measure(
        &mut self,
        round: u64,
        sizes: &[usize],
        batch: usize,
        timing: &mut Timing,
    ) -> Result<()> {
        let (train, study, config) = (self.train, self.study, &self.config);
        // Outside the pool's spinning workers, as `bench-forward` measures it.
        timing.peak_gflops.push(self.peak.measure(study.threads));
        let mut mlp = Mlp::<f32>::new(sizes, config.activation, config.seed)?;
        let mut sgd = Sgd::new(&mlp, config.momentum, config.weight_decay)?;
        let mut buffers = Batch::new(train, batch);
        let mut order = Shuffled::new(train.len(), batch, config.seed);
        order.start_epoch(round + 1);
        let probe = ThreadChooser::PROBE_LEN;
        let seconds_per_step = mlp_core::par::in_pool(|| -> Result<f64> {
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
            // The probe's first steps, which the chooser does not time, also bring the network
            // into the caches after the peak's product.
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
            Ok(started.elapsed().as_secs_f64() / timing.steps as f64)
        })?;
        timing.seconds_per_step.push(seconds_per_step);
        Ok(())
    }
}

/// The steps to time when a probe step took `seconds`: about [`AUTO_SECONDS`]' worth, between
/// [`AUTO_MIN_STEPS`] and [`AUTO_MAX_STEPS`].
pub(super) fn auto_steps(seconds: f64) -> usize {
    let steps = (AUTO_SECONDS / seconds).ceil();
    if steps.is_finite() {
        (steps as usize).clamp(AUTO_MIN_STEPS, AUTO_MAX_STEPS)
    } else {
        AUTO_MAX_STEPS
    }
}

/// The training samples in the order of an epoch, handed out as full batches; each new epoch
/// (and a batch that would run past the end) reshuffles them, from `(seed, epoch)` as `train` does.
pub(super) struct Shuffled {
    order: Vec<usize>,
    batch: usize,
    seed: u64,
    pub(super) epoch: u64,
    next: usize,
}

impl Shuffled {
    pub(super) fn new(n: usize, batch: usize, seed: u64) -> Self {
        Self {
            order: vec![0; n],
            batch,
            seed,
            epoch: 0,
            next: n,
        }
    }

    /// Starts the next epoch's order.
    pub(super) fn next_epoch(&mut self) {
        self.start_epoch(self.epoch + 1);
    }

    /// Starts the order of `epoch`.
    pub(super) fn start_epoch(&mut self, epoch: u64) {
        self.epoch = epoch;
        mlp_data::shuffle_into(&mut self.order, self.seed, self.epoch);
        self.next = 0;
    }

    /// The next full batch of sample indices.
    pub(super) fn next_batch(&mut self) -> &[usize] {
        if self.next + self.batch > self.order.len() {
            self.next_epoch();
        }
        let first = self.next;
        self.next += self.batch;
        &self.order[first..self.next]
    }
}
