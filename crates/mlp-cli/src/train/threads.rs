//! How an epoch's steps use the cores: the per-epoch choice between all threads and one, and the
//! gathering of a batch's images on two cores.

use crate::Result;
use faer::MatMut;
use mlp_data::Dataset;
use std::time::Duration;

/// Decides at the start of each epoch whether its steps run split between threads or on one, by
/// timing a few steps each way: which is faster depends on the batch and the network, and on where
/// the machine's cores sit at the moment. (On the 2-core machine of `STYLE.md`, whose virtual cores
/// now and then move to different chiplets of the host, an epoch at batch 64 took 125 ms on two
/// threads and 176 ms on one, or 285 ms on two and 176 ms on one, depending on the placement.)
/// The choice changes only the time: products are split over their outputs, so the results are
/// the same to the bit.
pub(crate) struct ThreadChooser {
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
    /// The steps at the start of an epoch that choose: after them, every step runs on the threads
    /// chosen.
    pub(crate) const PROBE_LEN: usize = 2 * Self::PROBE_STEPS;

    /// A chooser between `threads` threads and one, for one epoch.
    pub(crate) fn new(threads: usize) -> Self {
        Self {
            threads,
            probe: [Duration::ZERO; 2],
            chosen: (threads <= 1).then_some(1),
        }
    }

    /// The threads for step `i` of the epoch.
    pub(crate) fn threads_for(&self, i: usize) -> usize {
        match self.chosen {
            Some(threads) => threads,
            None if i < Self::PROBE_STEPS => self.threads,
            None => 1,
        }
    }

    /// Records how long step `i` took, and chooses once the probe steps are done.
    pub(crate) fn record(&mut self, i: usize, elapsed: Duration) {
        if self.chosen.is_some() {
            return;
        }
        let (block, position) = (i / Self::PROBE_STEPS, i % Self::PROBE_STEPS);
        if position >= Self::UNTIMED_STEPS {
            self.probe[block] += elapsed;
        }
        if i + 1 == Self::PROBE_LEN {
            let [split, single] = self.probe;
            self.chosen = Some(if split <= single { self.threads } else { 1 });
        }
    }
}

/// Copies the images and one-hot labels of `batch` into `x` and `y`, the two halves on two cores
/// when `threads` allows and the batch is large enough to be worth it: the images are scattered
/// through 188 MB, and two cores fetch them from memory in about half the time.
pub(super) fn gather_batch(
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
