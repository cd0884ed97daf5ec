//! Facts of "Number of epochs": early stopping in the faithful runs, and the epoch study of the
//! tuned shallow setting.

use super::NOISE_FLOOR;
use crate::figures;
use crate::plan::{Net, Recipe};
use crate::results::Results;
use crate::runs::{best_on_val, Run};
use crate::setting::{schedule, schedule_text, setting};
use crate::stats::{mean, std_dev};
use mlp_core::LrSchedule;
use serde::Serialize;

/// What stopping at the lowest validation error would have gained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopGain {
    /// At most twice the noise floor.
    WithinNoise,
    /// More: the later epochs over-fit.
    OverFits,
}

impl StopGain {
    /// Judges the mean gain (in rate).
    pub fn of(gain: f64) -> Self {
        if gain <= 2.0 * NOISE_FLOOR {
            Self::WithinNoise
        } else {
            Self::OverFits
        }
    }
}

/// Early stopping in the faithful shallow runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stopping {
    /// Epochs of the runs.
    pub epochs: usize,
    /// Epoch of the lowest validation error, per seed.
    pub best_epochs: Vec<usize>,
    /// The seeds.
    pub seeds: Vec<u64>,
    /// Mean of final − lowest validation error.
    pub gain: f64,
    /// Its judgement.
    pub verdict: StopGain,
}

/// One run of the epoch study.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochRun {
    /// Epochs.
    pub epochs: usize,
    /// The run's directory.
    pub name: String,
    /// Final training error.
    pub train: f64,
    /// Final validation error.
    pub val: f64,
    /// Final test error.
    pub test: f64,
    /// Training seconds.
    pub seconds: f64,
}

/// How much two single runs differ by chance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToleranceSource {
    /// Twice the seed-to-seed standard deviation of the tuned shallow runs.
    SeedSpread,
    /// Twice the noise floor, without seeds to measure a spread.
    NoiseFloor,
}

/// What number of epochs suits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Suits {
    /// Only the best count is within the tolerance (or it is the largest such count).
    Exactly,
    /// Every count from `enough` up to `largest` is within it.
    FromOn,
}

/// The epoch study.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Study {
    /// The varied setting.
    pub setting: String,
    /// Its seed.
    pub seed: u64,
    /// The schedule's name, unless constant (then the rate does not depend on the count).
    pub schedule: Option<&'static str>,
    /// The runs, by increasing epochs.
    pub runs: Vec<EpochRun>,
    /// File stem of the figure in plots/.
    pub figure: &'static str,
    /// The lowest validation error.
    pub best_val: f64,
    /// Its epochs.
    pub best_epochs: usize,
    /// Where the tolerance comes from.
    pub tolerance_source: ToleranceSource,
    /// The tolerance (in rate).
    pub tolerance: f64,
    /// Epoch counts within the tolerance of the best.
    pub near: Vec<usize>,
    /// Runs with fewer epochs than the first near one.
    pub too_few: Vec<EpochRun>,
    /// The first count whose training error is exactly 0.
    pub train_zero: Option<usize>,
    /// The smallest near count.
    pub enough: usize,
    /// The largest near count.
    pub largest: usize,
    /// largest / enough.
    pub ratio: f64,
    /// What suits.
    pub suits: Suits,
}

/// The facts of "Number of epochs".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Epochs {
    /// Early stopping in the faithful shallow runs, if they ran.
    pub stopping: Option<Stopping>,
    /// The epoch study, if at least two counts ran.
    pub study: Option<Study>,
}

/// Computes the section's facts.
pub fn facts(r: &Results) -> Epochs {
    Epochs {
        stopping: stopping(r),
        study: study(r),
    }
}

fn stopping(r: &Results) -> Option<Stopping> {
    let runs = r.group(Net::Shallow, Recipe::Faithful)?.finished();
    let first = runs.first()?;
    let gains: Vec<f64> = runs
        .iter()
        .filter_map(|run| Some(run.val_error() - run.best_val_error()?))
        .collect();
    let gain = mean(&gains);
    Some(Stopping {
        epochs: first.config.epochs,
        best_epochs: runs.iter().filter_map(|run| run.best_val_epoch()).collect(),
        seeds: runs.iter().map(|run| run.config.seed).collect(),
        gain,
        verdict: StopGain::of(gain),
    })
}

fn epoch_run(run: &Run) -> EpochRun {
    EpochRun {
        epochs: run.config.epochs,
        name: run.name.clone(),
        train: run.train_error(),
        val: run.val_error(),
        test: run.test_error(),
        seconds: run.train_seconds(),
    }
}

fn study(r: &Results) -> Option<Study> {
    if r.epochs.len() < 2 {
        return None;
    }
    let c = &r.epochs[0].config;
    let best = best_on_val(&r.epochs)?;
    // Two single runs differ by about √2 seed-to-seed standard deviations by chance alone.
    let spread = r
        .group(Net::Shallow, Recipe::Tuned)
        .map(|g| std_dev(&g.values(Run::val_error)))
        .filter(|s| s.is_finite() && *s > 0.0);
    let (tolerance_source, tolerance) = match spread {
        Some(s) => (ToleranceSource::SeedSpread, 2.0 * s),
        None => (ToleranceSource::NoiseFloor, 2.0 * NOISE_FLOOR),
    };
    let near: Vec<&Run> = r
        .epochs
        .iter()
        .filter(|run| run.val_error() <= best.val_error() + tolerance)
        .collect();
    let (enough, largest) = (near[0].config.epochs, near[near.len() - 1].config.epochs);
    Some(Study {
        setting: setting(c),
        seed: c.seed,
        schedule: match schedule(c) {
            LrSchedule::Constant => None,
            other => Some(schedule_text(other)),
        },
        runs: r.epochs.iter().map(epoch_run).collect(),
        figure: figures::EPOCHS,
        best_val: best.val_error(),
        best_epochs: best.config.epochs,
        tolerance_source,
        tolerance,
        near: near.iter().map(|run| run.config.epochs).collect(),
        too_few: r
            .epochs
            .iter()
            .filter(|run| run.config.epochs < enough)
            .map(epoch_run)
            .collect(),
        train_zero: r
            .epochs
            .iter()
            .find(|run| run.train_error() == 0.0)
            .map(|run| run.config.epochs),
        enough,
        largest,
        ratio: largest as f64 / enough as f64,
        suits: if enough == largest {
            Suits::Exactly
        } else {
            Suits::FromOn
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::{results, run};

    fn epoch_runs(finals: &[(usize, f64, f64)]) -> Vec<Run> {
        finals
            .iter()
            .map(|&(epochs, val, train)| {
                let mut vals = vec![0.05; epochs - 1];
                vals.push(val);
                let mut run = run(&format!("study/epochs/e{epochs}"), &vals, train);
                run.config.lr_schedule =
                    crate::setting::tests::config("relu", 0.1, "cosine", 0.9).lr_schedule;
                run
            })
            .collect()
    }

    #[test]
    fn stopping_early_gains_within_noise_or_not() {
        assert_eq!(StopGain::of(0.0005), StopGain::WithinNoise);
        assert_eq!(StopGain::of(0.002), StopGain::OverFits);
        let s = stopping(&results()).unwrap();
        assert_eq!(s.best_epochs, [2, 2]);
        assert_eq!(s.gain, 0.0);
        let mut r = results();
        r.reported.remove(0);
        assert_eq!(stopping(&r), None);
    }

    #[test]
    fn enough_epochs_are_found_within_the_seed_spread() {
        let mut r = results();
        // Tuned shallow seeds: final validation errors 0.02 and 0.03, spread 0.0071.
        r.epochs = epoch_runs(&[
            (2, 0.06, 0.01),
            (3, 0.021, 0.0),
            (4, 0.02, 0.0),
            (5, 0.022, 0.0),
        ]);
        let s = study(&r).unwrap();
        assert_eq!(s.tolerance_source, ToleranceSource::SeedSpread);
        assert_eq!(s.near, [3, 4, 5]);
        assert_eq!(s.too_few.len(), 1);
        assert_eq!((s.enough, s.largest, s.suits), (3, 5, Suits::FromOn));
        assert_eq!(s.train_zero, Some(3));
        assert_eq!(s.schedule, Some("cosine"));
    }

    #[test]
    fn without_seeds_the_noise_floor_is_the_tolerance() {
        let mut r = results();
        r.reported.clear();
        r.epochs = epoch_runs(&[(2, 0.03, 0.01), (3, 0.02, 0.01)]);
        r.epochs[0].config.lr_schedule = r.epochs[1].config.lr_schedule;
        let s = study(&r).unwrap();
        assert_eq!(s.tolerance_source, ToleranceSource::NoiseFloor);
        assert_eq!((s.enough, s.largest, s.suits), (3, 3, Suits::Exactly));
        assert_eq!(s.train_zero, None);
        r.epochs.truncate(1);
        assert_eq!(study(&r), None);
    }

    #[test]
    fn a_constant_rate_has_no_schedule_note() {
        let mut r = results();
        r.epochs = vec![run("e1", &[0.03], 0.0), run("e2", &[0.05, 0.02], 0.0)];
        assert_eq!(study(&r).unwrap().schedule, None);
    }
}
