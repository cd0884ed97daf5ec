//! What a run measures: one record per epoch (a row of curve.csv), the summary of a finished run,
//! and the fixed-width table that front ends print them in.

use super::TrainConfig;
use serde::{Deserialize, Serialize};

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

impl EpochRecord {
    /// The header of the epoch table, aligned with [`EpochRecord::table_row`].
    pub fn table_header() -> String {
        format!(
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
        )
    }

    /// This record as a row of the epoch table: losses to four decimals, errors in per cent, `-`
    /// for a missing validation split.
    pub fn table_row(&self) -> String {
        let percent = |v: f64| format!("{:.2} %", 100.0 * v);
        let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        format!(
            "{:>5} {:>8.2} {:>9.4} {:>10.4} {:>9} {:>10} {:>9} {:>10.4} {:>9}",
            self.epoch,
            self.seconds,
            self.lr,
            self.train_loss,
            percent(self.train_error),
            or_dash(self.val_loss.map(|v| format!("{v:.4}"))),
            or_dash(self.val_error.map(percent)),
            self.test_loss,
            percent(self.test_error),
        )
    }
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

impl Summary {
    /// The mean seconds of the epochs trained, evaluation excluded; 0 before any.
    pub fn mean_epoch_seconds(&self) -> f64 {
        if self.last.epoch == 0 {
            0.0
        } else {
            self.train_seconds / self.last.epoch as f64
        }
    }

    /// The rate of the steps' matrix products over the epochs trained, in 10⁹ FLOP/s: the FLOPs of
    /// a step as [`crate::bench_train::flops_per_step`] counts them, for each of the `n_train`
    /// samples of every epoch, over `train_seconds` — the figure to hold against the GEMM peak
    /// that `bench-forward` measures. 0 before any epoch.
    pub fn gflops(&self) -> f64 {
        if self.train_seconds <= 0.0 {
            return 0.0;
        }
        let per_sample = crate::bench_train::flops_per_step(&self.sizes, 1);
        per_sample * self.n_train as f64 * self.last.epoch as f64 / self.train_seconds / 1e9
    }
}

/// The epoch with the lowest validation error, the earliest on a tie; `None` without a validation
/// split.
pub fn best_val_epoch(curve: &[EpochRecord]) -> Option<usize> {
    curve
        .iter()
        .filter_map(|r| r.val_error.map(|e| (r.epoch, e)))
        .fold(None, |best: Option<(usize, f64)>, (epoch, e)| match best {
            Some((_, b)) if b <= e => best,
            _ => Some((epoch, e)),
        })
        .map(|(epoch, _)| epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(epoch: usize, val_error: Option<f64>) -> EpochRecord {
        EpochRecord {
            epoch,
            seconds: 1.5,
            lr: 0.1,
            train_loss: 0.25,
            train_error: 0.0512,
            val_loss: val_error.map(|e| 2.0 * e),
            val_error,
            test_loss: 0.5,
            test_error: 0.1,
        }
    }

    #[test]
    fn the_rate_counts_every_training_sample_of_every_epoch() {
        let summary = Summary {
            config: TrainConfig::default(),
            sizes: vec![784, 150, 10],
            n_params: 119_260,
            n_train: 50_000,
            n_val: 10_000,
            last: record(3, Some(0.1)),
            best_val_epoch: 3,
            train_seconds: 0.6,
            wall_seconds: 1.0,
        };
        assert!((summary.mean_epoch_seconds() - 0.2).abs() < 1e-15);
        // A sample: 2 · (2 · (784·150 + 150·10) + 150·10) = 479 400 FLOPs; 50 000 of them three
        // times in 0.6 s.
        let expected = 479_400.0 * 50_000.0 * 3.0 / 0.6 / 1e9;
        assert!((summary.gflops() - expected).abs() < 1e-9 * expected);
        let untrained = Summary {
            last: record(0, None),
            train_seconds: 0.0,
            ..summary
        };
        assert_eq!(
            (untrained.mean_epoch_seconds(), untrained.gflops()),
            (0.0, 0.0)
        );
    }

    #[test]
    fn table_rows_line_up_with_the_header() {
        let header = EpochRecord::table_header();
        let row = record(3, Some(0.02)).table_row();
        assert_eq!(row.len(), header.len(), "{header}\n{row}");
        assert_eq!(
            row,
            "    3     1.50    0.1000     0.2500    5.12 %     0.0400    2.00 %     0.5000   10.00 %"
        );
        let no_val = record(3, None).table_row();
        assert!(no_val.contains("          -         - "), "{no_val}");
    }

    #[test]
    fn the_best_epoch_is_the_earliest_lowest_validation_error() {
        let curve: Vec<EpochRecord> = [0.5, 0.2, 0.1, 0.1, 0.3]
            .iter()
            .enumerate()
            .map(|(epoch, &e)| record(epoch, Some(e)))
            .collect();
        assert_eq!(best_val_epoch(&curve), Some(2));
        assert_eq!(best_val_epoch(&[record(0, None)]), None);
    }
}
