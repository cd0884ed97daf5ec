//! Facts of "Learning rate × batch size": the study's grids, the best rate per batch size, the two
//! corners, the time per epoch, what suits, and the tuned recipe's step compared.

use super::NOISE_FLOOR;
use crate::figures;
use crate::plan::{Net, Recipe};
use crate::results::{Group, Results};
use crate::runs::{best_on_val, Run};
use crate::stats::mean;
use serde::Serialize;

/// "Good" settings of the study: within this much (0.5 points) of the best.
pub const GOOD_MARGIN: f64 = 0.005;

/// One cell of the grids.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    /// Whether a run exists for the cell.
    pub ran: bool,
    /// Whether it diverged.
    pub diverged: bool,
    /// Whether it is the best of the study.
    pub best: bool,
    /// Final validation error.
    pub val: f64,
    /// Lowest validation error.
    pub best_val: f64,
    /// Its epoch.
    pub best_val_epoch: usize,
    /// Final training error.
    pub train: f64,
}

/// One learning rate's row of the grids.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridRow {
    /// The rate.
    pub lr: f64,
    /// One cell per batch size.
    pub cells: Vec<Cell>,
}

/// A batch size's best rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BestRate {
    /// Batch size.
    pub batch: usize,
    /// Its best rate.
    pub lr: f64,
    /// That run's final validation error.
    pub val: f64,
}

/// How the best rate varies with the batch size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateTrend {
    /// Never falls, and rises at least once.
    Grows,
    /// The same for every batch size.
    Same,
    /// Falls somewhere.
    NotMonotone,
}

impl RateTrend {
    /// Judges the best rates, by increasing batch size.
    pub fn of(rates: &[f64]) -> Self {
        let monotone = rates.windows(2).all(|w| w[1] >= w[0]);
        let grows = rates.windows(2).any(|w| w[1] > w[0]);
        match (monotone, grows) {
            (true, true) => Self::Grows,
            (true, false) => Self::Same,
            _ => Self::NotMonotone,
        }
    }
}

/// The corner of the largest rate and the smallest batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FastCorner {
    /// The rate.
    pub lr: f64,
    /// The batch size.
    pub batch: usize,
    /// Whether it diverged (then the figures below are NaN).
    pub diverged: bool,
    /// Updates per epoch.
    pub steps: usize,
    /// Final training error.
    pub train: f64,
    /// Final validation error.
    pub val: f64,
    /// Whether it generalises worse than the best (beyond the noise floor).
    pub worse: bool,
}

/// The corner of the smallest rate and the largest batch, and the opposite one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Corners {
    /// The smallest rate.
    pub lr: f64,
    /// The largest batch.
    pub batch: usize,
    /// Updates per epoch.
    pub steps: usize,
    /// Updates in all.
    pub total_steps: usize,
    /// Final validation error.
    pub val: f64,
    /// Final training error.
    pub train: f64,
    /// More than 1 % training error.
    pub under_fits: bool,
    /// The opposite corner, if it ran.
    pub fast: Option<FastCorner>,
}

/// Seconds per epoch of one batch size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochTime {
    /// Batch size.
    pub batch: usize,
    /// Mean seconds per epoch.
    pub seconds: f64,
}

/// The time per epoch by batch size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timing {
    /// By increasing batch size.
    pub times: Vec<EpochTime>,
    /// Whether the smallest batch takes more than 10 % longer than the largest.
    pub small_slower: bool,
    /// Smallest batch's time / largest batch's.
    pub ratio: f64,
}

/// A range of values of the good settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Range {
    /// Lowest.
    pub lo: f64,
    /// Highest.
    pub hi: f64,
}

impl Range {
    fn of(values: impl Iterator<Item = f64> + Clone) -> Self {
        Self {
            lo: values.clone().fold(f64::INFINITY, f64::min),
            hi: values.fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// Where the good settings lie in the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    /// Not the smallest rate, not the largest batch.
    LargerRatesSmallerBatches,
    /// Not the smallest rate, any batch.
    LargerRates,
    /// Any rate, not the largest batch.
    SmallerBatches,
    /// Everywhere.
    Anywhere,
}

/// A setting close to the best.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting {
    /// The rate.
    pub lr: f64,
    /// The batch size.
    pub batch: usize,
    /// Final validation error.
    pub val: f64,
}

/// The tuned recipe's step compared with the best plain-SGD rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Momentum {
    /// Tuned rate.
    pub lr: f64,
    /// Tuned momentum μ.
    pub momentum: f64,
    /// lr / (1 − μ).
    pub effective: f64,
    /// effective / best plain rate.
    pub ratio: f64,
    /// The best plain-SGD rate.
    pub plain_lr: f64,
    /// How the effective step compares with it.
    pub relation: Relation,
    /// 1 / (1 − μ).
    pub averaged_steps: f64,
    /// effective / tuned batch size.
    pub per_image: f64,
    /// The tuned batch size.
    pub batch: usize,
    /// plain rate / plain batch size.
    pub plain_per_image: f64,
    /// The plain batch size.
    pub plain_batch: usize,
    /// Whether the two steps per image agree within a factor 1.25.
    pub same_per_image: bool,
}

/// The effective step against the plain rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// Within a factor 2.
    Close,
    /// More than twice.
    Above,
    /// Less than half.
    Below,
}

impl Relation {
    /// Judges the ratio effective step / plain rate.
    pub fn of(ratio: f64) -> Self {
        if (0.5..=2.0).contains(&ratio) {
            Self::Close
        } else if ratio > 2.0 {
            Self::Above
        } else {
            Self::Below
        }
    }
}

/// What the best run of the study shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Best {
    /// Its final validation error.
    pub val: f64,
    /// Its rate.
    pub lr: f64,
    /// Its batch size.
    pub batch: usize,
    /// The best rate of each batch size.
    pub rates: Vec<BestRate>,
    /// How they vary.
    pub trend: RateTrend,
    /// The two corners, if the slow one finished.
    pub corners: Option<Corners>,
    /// The time per epoch, if two batch sizes were timed.
    pub timing: Option<Timing>,
    /// Twice the noise floor: "close" to the best.
    pub close_margin: f64,
    /// The settings that close.
    pub close: Vec<Setting>,
    /// The "good" margin.
    pub good_margin: f64,
    /// How many settings are good.
    pub good: usize,
    /// How many ran.
    pub total: usize,
    /// Rates of the good settings.
    pub good_lrs: Range,
    /// Batch sizes of the good settings.
    pub good_batches: Range,
    /// Where they lie.
    pub region: Region,
    /// Runs whose validation error is lowest at the last epoch.
    pub still_improving: usize,
    /// The tuned recipe's step, if it uses momentum.
    pub momentum: Option<Momentum>,
}

/// The facts of "Learning rate × batch size".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LrBatch {
    /// Epochs of every run.
    pub epochs: usize,
    /// The study's seed.
    pub seed: u64,
    /// Batch sizes, increasing.
    pub batches: Vec<usize>,
    /// One row per rate, increasing.
    pub grid: Vec<GridRow>,
    /// File stem of the figure in plots/.
    pub figure: &'static str,
    /// What the best run shows.
    pub best: Option<Best>,
}

/// The study's run at a rate and batch size.
fn study_run(study: &[Run], lr: f64, batch_size: usize) -> Option<&Run> {
    study
        .iter()
        .find(|run| run.config.lr == lr && run.config.batch_size == batch_size)
}

/// The study's runs at a batch size.
fn at_batch(study: &[Run], batch_size: usize) -> impl Iterator<Item = &Run> {
    study
        .iter()
        .filter(move |run| run.config.batch_size == batch_size)
}

/// Computes the section's facts; `None` without study runs.
pub fn facts(r: &Results) -> Option<LrBatch> {
    let study = &r.study;
    let first = study.first()?;
    let epochs = first.config.epochs;
    let mut lrs: Vec<f64> = study.iter().map(|run| run.config.lr).collect();
    lrs.sort_by(f64::total_cmp);
    lrs.dedup();
    let mut batches: Vec<usize> = study.iter().map(|run| run.config.batch_size).collect();
    batches.sort();
    batches.dedup();
    let cell_run = |lr: f64, b: usize| study_run(study, lr, b);
    let best = best_on_val(study);
    let grid = lrs
        .iter()
        .map(|&lr| GridRow {
            lr,
            cells: batches
                .iter()
                .map(|&b| match cell_run(lr, b) {
                    None => Cell {
                        ran: false,
                        diverged: false,
                        best: false,
                        val: f64::NAN,
                        best_val: f64::NAN,
                        best_val_epoch: 0,
                        train: f64::NAN,
                    },
                    Some(run) => Cell {
                        ran: true,
                        diverged: run.summary().is_none(),
                        best: best.is_some_and(|b| b.name == run.name),
                        val: run.val_error(),
                        best_val: run.best_val_error().unwrap_or(f64::NAN),
                        best_val_epoch: run.best_val_epoch().unwrap_or(0),
                        train: run.train_error(),
                    },
                })
                .collect(),
        })
        .collect();
    Some(LrBatch {
        epochs,
        seed: first.config.seed,
        best: best.map(|best| best_facts(r, best, &lrs, &batches)),
        batches,
        grid,
        figure: figures::LR_BATCH,
    })
}

fn best_facts(r: &Results, best: &Run, lrs: &[f64], batches: &[usize]) -> Best {
    let study = &r.study;
    let epochs = study[0].config.epochs;
    let n_train = best.summary().map_or(0, |s| s.n_train);
    let cell_run = |lr: f64, b: usize| study_run(study, lr, b);
    let rates: Vec<BestRate> = batches
        .iter()
        .filter_map(|&b| {
            let runs: Vec<Run> = at_batch(study, b).cloned().collect();
            best_on_val(&runs).map(|run| BestRate {
                batch: b,
                lr: run.config.lr,
                val: run.val_error(),
            })
        })
        .collect();
    let trend = RateTrend::of(&rates.iter().map(|b| b.lr).collect::<Vec<_>>());
    let (lr0, b_max) = (lrs[0], batches[batches.len() - 1]);
    let (lr1, b_min) = (lrs[lrs.len() - 1], batches[0]);
    let corners = cell_run(lr0, b_max)
        .filter(|run| run.summary().is_some())
        .map(|slow| {
            let steps = n_train.div_ceil(b_max);
            Corners {
                lr: lr0,
                batch: b_max,
                steps,
                total_steps: steps * epochs,
                val: slow.val_error(),
                train: slow.train_error(),
                under_fits: slow.train_error() > 0.01,
                fast: cell_run(lr1, b_min).map(|fast| FastCorner {
                    lr: lr1,
                    batch: b_min,
                    diverged: fast.summary().is_none(),
                    steps: n_train.div_ceil(b_min),
                    train: fast.train_error(),
                    val: fast.val_error(),
                    worse: fast.val_error() > best.val_error() + NOISE_FLOOR,
                }),
            }
        });
    let times: Vec<EpochTime> = batches
        .iter()
        .filter_map(|&b| {
            let seconds: Vec<f64> = at_batch(study, b)
                .flat_map(|run| run.curve().iter().skip(1).map(|rec| rec.seconds))
                .collect();
            (!seconds.is_empty()).then(|| EpochTime {
                batch: b,
                seconds: mean(&seconds),
            })
        })
        .collect();
    let timing = (times.len() >= 2).then(|| {
        let (first, last) = (&times[0], &times[times.len() - 1]);
        Timing {
            small_slower: first.seconds > 1.1 * last.seconds,
            ratio: first.seconds / last.seconds,
            times: times.clone(),
        }
    });
    let close_margin = 2.0 * NOISE_FLOOR;
    let good: Vec<&Run> = study
        .iter()
        .filter(|run| run.val_error() <= best.val_error() + GOOD_MARGIN)
        .collect();
    let good_lrs = Range::of(good.iter().map(|run| run.config.lr));
    let good_batches = Range::of(good.iter().map(|run| run.config.batch_size as f64));
    let region = match (good_lrs.lo > lr0, good_batches.hi < b_max as f64) {
        (true, true) => Region::LargerRatesSmallerBatches,
        (true, false) => Region::LargerRates,
        (false, true) => Region::SmallerBatches,
        (false, false) => Region::Anywhere,
    };
    Best {
        val: best.val_error(),
        lr: best.config.lr,
        batch: best.config.batch_size,
        rates,
        trend,
        corners,
        timing,
        close_margin,
        close: study
            .iter()
            .filter(|run| run.val_error() <= best.val_error() + close_margin)
            .map(|run| Setting {
                lr: run.config.lr,
                batch: run.config.batch_size,
                val: run.val_error(),
            })
            .collect(),
        good_margin: GOOD_MARGIN,
        good: good.len(),
        total: study.len(),
        good_lrs,
        good_batches,
        region,
        still_improving: study
            .iter()
            .filter(|run| run.best_val_epoch() == Some(epochs))
            .count(),
        momentum: momentum(r, best),
    }
}

/// The tuned shallow recipe's step per update against the best plain-SGD run.
fn momentum(r: &Results, best: &Run) -> Option<Momentum> {
    let t = &r
        .group(Net::Shallow, Recipe::Tuned)
        .and_then(Group::first)?
        .config;
    if t.momentum <= 0.0 {
        return None;
    }
    let effective = t.lr / (1.0 - t.momentum);
    let ratio = effective / best.config.lr;
    let per_image = effective / t.batch_size as f64;
    let plain_per_image = best.config.lr / best.config.batch_size as f64;
    Some(Momentum {
        lr: t.lr,
        momentum: t.momentum,
        effective,
        ratio,
        plain_lr: best.config.lr,
        relation: Relation::of(ratio),
        averaged_steps: 1.0 / (1.0 - t.momentum),
        per_image,
        batch: t.batch_size,
        plain_per_image,
        plain_batch: best.config.batch_size,
        same_per_image: (0.8..=1.25).contains(&(per_image / plain_per_image)),
    })
}

#[cfg(test)]
mod tests;
