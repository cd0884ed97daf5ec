//! Facts of "Learning curves": what each reported net's first-seed curve shows, and what the tuned
//! recipe changes.

use super::NOISE_FLOOR;
use crate::figures;
use crate::plan::{Net, Recipe};
use crate::results::{Group, Results};
use crate::runs::Run;
use crate::setting::{schedule, setting, sizes_text};
use mlp_core::LrSchedule;
use serde::Serialize;

/// How far the final validation error lies above the final training error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gap {
    /// More than 1 point: the training set is learnt far better than unseen images.
    Large,
    /// 0.3 to 1 point.
    Moderate,
    /// At most 0.3 points.
    Small,
}

impl Gap {
    /// Judges the gap `val − train` (in rate).
    pub fn of(gap: f64) -> Self {
        if gap > 0.01 {
            Self::Large
        } else if gap > 0.003 {
            Self::Moderate
        } else {
            Self::Small
        }
    }
}

/// How the validation error ends compared with its minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// Within the noise floor of the minimum.
    AtMinimum,
    /// Above it, with a constant rate: the noise of constant-rate SGD.
    AboveWandering,
    /// Above it, with a decaying rate: the minimum was a favourable fluctuation.
    AboveFluctuation,
}

impl Ending {
    /// Judges the rise `last − min` of the validation error under `schedule`.
    pub fn of(rise: f64, schedule: LrSchedule) -> Self {
        if rise <= NOISE_FLOOR {
            Self::AtMinimum
        } else if schedule == LrSchedule::Constant {
            Self::AboveWandering
        } else {
            Self::AboveFluctuation
        }
    }
}

/// How the validation loss ends compared with its minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LossTrend {
    /// More than 10 % above its minimum: over-confidence on the images the net gets wrong.
    Climbs,
    /// Within 10 % of its minimum.
    Flat,
}

impl LossTrend {
    /// Judges the final loss against the minimum loss.
    pub fn of(last: f64, min: f64) -> Self {
        if last > 1.1 * min {
            Self::Climbs
        } else {
            Self::Flat
        }
    }
}

/// What one run's learning curve shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curve {
    /// `shallow faithful`.
    pub label: String,
    /// The setting's description.
    pub setting: String,
    /// Epochs trained.
    pub epochs: usize,
    /// Validation error after the first epoch.
    pub val_first: f64,
    /// Lowest validation error.
    pub val_min: f64,
    /// Its epoch.
    pub val_min_epoch: usize,
    /// Final validation error.
    pub val_last: f64,
    /// Final training error.
    pub train_last: f64,
    /// Final test error.
    pub test_last: f64,
    /// First epoch with a training error of exactly 0.
    pub train_zero_epoch: Option<usize>,
    /// Whether the training error is 0 at the end too.
    pub train_zero_at_end: bool,
    /// `val_last − train_last`.
    pub gap: f64,
    /// Its size.
    pub gap_size: Gap,
    /// `val_last − val_min`.
    pub rise: f64,
    /// How the validation error ends.
    pub ending: Ending,
    /// The noise floor the rise is compared with.
    pub noise_floor: f64,
    /// Lowest validation loss.
    pub val_loss_min: f64,
    /// Its epoch.
    pub val_loss_min_epoch: usize,
    /// Final validation loss.
    pub val_loss_last: f64,
    /// `val_loss_last / val_loss_min`.
    pub loss_ratio: f64,
    /// How the validation loss ends.
    pub loss: LossTrend,
    /// More than 0.5 % of the training images still misclassified at the end.
    pub under_fits: bool,
}

/// Reads a run's curve; `None` without a validation split or before the first epoch.
pub fn curve(label: String, run: &Run) -> Option<Curve> {
    let curve = run.curve();
    let last = curve.last()?;
    let first = curve.get(1)?;
    let (mut val_min, mut val_min_epoch) = (f64::INFINITY, 0);
    let (mut loss_min, mut loss_min_epoch) = (f64::INFINITY, 0);
    for rec in curve {
        if let Some(e) = rec.val_error {
            if e < val_min {
                (val_min, val_min_epoch) = (e, rec.epoch);
            }
        }
        if let Some(l) = rec.val_loss {
            if l < loss_min {
                (loss_min, loss_min_epoch) = (l, rec.epoch);
            }
        }
    }
    let val_last = last.val_error?;
    let val_loss_last = last.val_loss?;
    let gap = val_last - last.train_error;
    let rise = val_last - val_min;
    Some(Curve {
        label,
        setting: setting(&run.config),
        epochs: last.epoch,
        val_first: first.val_error?,
        val_min,
        val_min_epoch,
        val_last,
        train_last: last.train_error,
        test_last: last.test_error,
        train_zero_epoch: curve
            .iter()
            .find(|rec| rec.epoch > 0 && rec.train_error == 0.0)
            .map(|rec| rec.epoch),
        train_zero_at_end: last.train_error == 0.0,
        gap,
        gap_size: Gap::of(gap),
        rise,
        ending: Ending::of(rise, schedule(&run.config)),
        noise_floor: NOISE_FLOOR,
        val_loss_min: loss_min,
        val_loss_min_epoch: loss_min_epoch,
        val_loss_last,
        loss_ratio: val_loss_last / loss_min,
        loss: LossTrend::of(val_loss_last, loss_min),
        under_fits: last.train_error > 0.005,
    })
}

/// The faithful and the tuned recipe of one net compared over the seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tuning {
    /// Mean test error of the faithful recipe.
    pub faithful: f64,
    /// Mean test error of the tuned recipe.
    pub tuned: f64,
    /// faithful − tuned.
    pub gain: f64,
    /// Whether the tuned recipe is lower.
    pub lowers: bool,
    /// tuned / faithful.
    pub ratio: f64,
}

/// The curves of one net.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetCurves {
    /// `shallow`.
    pub net: &'static str,
    /// `784-150-10`.
    pub sizes: String,
    /// File stem of the figure in plots/.
    pub figure: String,
    /// One paragraph per recipe.
    pub curves: Vec<Curve>,
    /// The recipes compared, when both ran.
    pub tuning: Option<Tuning>,
}

/// The facts of "Learning curves".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curves {
    /// The seed plotted.
    pub seed: u64,
    /// Whether a plotted training error reaches exactly 0 (a gap on a logarithmic axis).
    pub reaches_zero: bool,
    /// One entry per net that has a reported run.
    pub nets: Vec<NetCurves>,
}

/// Computes the section's facts.
pub fn facts(r: &Results) -> Curves {
    let nets = Net::ALL
        .into_iter()
        .filter(|&net| {
            r.group(net, Recipe::Faithful).is_some() || r.group(net, Recipe::Tuned).is_some()
        })
        .map(|net| NetCurves {
            net: net.name(),
            sizes: sizes_text(&net.hidden()),
            figure: figures::curves_stem(net),
            curves: Recipe::ALL
                .into_iter()
                .filter_map(|recipe| {
                    let g = r.group(net, recipe)?;
                    curve(g.label(), g.first()?)
                })
                .collect(),
            tuning: match (r.group(net, Recipe::Faithful), r.group(net, Recipe::Tuned)) {
                (Some(f), Some(t)) => {
                    let (faithful, tuned) = (f.mean_test(), t.mean_test());
                    Some(Tuning {
                        faithful,
                        tuned,
                        gain: faithful - tuned,
                        lowers: tuned < faithful,
                        ratio: tuned / faithful,
                    })
                }
                _ => None,
            },
        })
        .collect();
    Curves {
        seed: r
            .reported
            .first()
            .and_then(Group::first)
            .map_or(0, |run| run.config.seed),
        reaches_zero: r
            .reported
            .iter()
            .filter_map(Group::first)
            .any(|run| run.curve().iter().any(|rec| rec.train_error == 0.0)),
        nets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::{record, results, run};

    #[test]
    fn gaps_endings_and_losses_are_judged() {
        assert_eq!(Gap::of(0.02), Gap::Large);
        assert_eq!(Gap::of(0.005), Gap::Moderate);
        assert_eq!(Gap::of(0.001), Gap::Small);
        assert_eq!(Ending::of(0.0001, LrSchedule::Constant), Ending::AtMinimum);
        assert_eq!(
            Ending::of(0.002, LrSchedule::Constant),
            Ending::AboveWandering
        );
        assert_eq!(
            Ending::of(0.002, LrSchedule::Cosine),
            Ending::AboveFluctuation
        );
        assert_eq!(LossTrend::of(0.12, 0.1), LossTrend::Climbs);
        assert_eq!(LossTrend::of(0.105, 0.1), LossTrend::Flat);
    }

    #[test]
    fn a_curve_is_read() {
        let r = run("a", &[0.05, 0.02, 0.025], 0.01);
        let c = curve("shallow faithful".into(), &r).unwrap();
        assert_eq!((c.val_first, c.val_min, c.val_min_epoch), (0.05, 0.02, 2));
        assert_eq!(c.epochs, 3);
        assert_eq!(c.ending, Ending::AboveWandering);
        assert_eq!(c.gap_size, Gap::Large);
        assert_eq!(c.train_zero_epoch, None);
        assert!(c.under_fits);
        assert_eq!(c.loss, LossTrend::Climbs);
    }

    #[test]
    fn a_training_error_of_zero_is_found_at_times_or_at_the_end() {
        let mut r = run("a", &[0.05, 0.02, 0.02], 0.0);
        let c = curve("x".into(), &r).unwrap();
        assert_eq!((c.train_zero_epoch, c.train_zero_at_end), (Some(1), true));
        assert!(!c.under_fits);
        if let crate::runs::Outcome::Finished { curve, .. } = &mut r.outcome {
            curve[3] = record(3, 0.0001, Some(0.02), 0.02);
        }
        let c = curve("x".into(), &r).unwrap();
        assert_eq!((c.train_zero_epoch, c.train_zero_at_end), (Some(1), false));
    }

    #[test]
    fn a_curve_without_validation_is_not_described() {
        let mut r = run("a", &[0.05], 0.0);
        if let crate::runs::Outcome::Finished { curve, .. } = &mut r.outcome {
            curve[1].val_error = None;
        }
        assert_eq!(curve("x".into(), &r), None);
    }

    #[test]
    fn the_tuned_recipe_lowers_the_error_or_not() {
        let mut r = results();
        let f = facts(&r);
        assert_eq!(f.nets.len(), 1);
        assert_eq!(f.nets[0].curves.len(), 2);
        let tuning = f.nets[0].tuning.as_ref().unwrap();
        assert!(!tuning.lowers, "equal errors are not lower");
        r.reported[1].runs = vec![run("better", &[0.05, 0.01], 0.0)];
        assert!(facts(&r).nets[0].tuning.as_ref().unwrap().lowers);
        r.reported.truncate(1);
        assert_eq!(facts(&r).nets[0].tuning, None);
        assert!(!facts(&r).reaches_zero);
    }
}
