//! Facts of "Final errors": the reported groups, the retrained groups, the targets and every seed.

use crate::plan::{Net, Recipe};
use crate::results::{Group, Results};
use crate::runs::Run;
use crate::setting::setting;
use serde::Serialize;

/// The test-error targets of the issue: (net, recipe, highest acceptable mean test error).
pub const TARGETS: [(Net, Recipe, f64); 3] = [
    (Net::Shallow, Recipe::Tuned, 0.016),
    (Net::Deep, Recipe::Tuned, 0.014),
    (Net::Shallow, Recipe::Faithful, 0.020),
];

/// One reported group: its setting and its final errors over the seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRow {
    /// `shallow`.
    pub net: &'static str,
    /// `tuned`.
    pub recipe: &'static str,
    /// Parameters.
    pub params: u64,
    /// The setting's description.
    pub setting: String,
    /// Epochs.
    pub epochs: usize,
    /// Finished seeds.
    pub seeds: usize,
    /// Final training error of each finished seed.
    pub train: Vec<f64>,
    /// Final validation error of each finished seed.
    pub val: Vec<f64>,
    /// Final test error of each finished seed.
    pub test: Vec<f64>,
    /// Mean training seconds.
    pub seconds: f64,
}

/// The tuned setting retrained without a validation split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retrained {
    /// Training images (the split plus the validation images).
    pub n_train: usize,
    /// One row per net.
    pub rows: Vec<RetrainedRow>,
}

/// One net's tuned setting retrained without a validation split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetrainedRow {
    /// The retrained runs.
    pub group: GroupRow,
    /// Test errors of the same setting with the split kept (`None` if not run).
    pub kept: Option<Vec<f64>>,
}

/// Whether a mean test error meets its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// At or below the target.
    Met,
    /// Above it.
    Missed,
}

/// A mean test error against its target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reached {
    /// Test errors of the seeds.
    pub test: Vec<f64>,
    /// Met or missed.
    pub verdict: Verdict,
    /// How far from the target, in rate (positive).
    pub margin: f64,
}

impl Reached {
    /// Compares the group's mean test error with `target`.
    pub fn of(g: &Group, target: f64) -> Self {
        let reached = g.mean_test();
        let (verdict, margin) = if reached <= target {
            (Verdict::Met, target - reached)
        } else {
            (Verdict::Missed, reached - target)
        };
        Self {
            test: g.values(Run::test_error),
            verdict,
            margin,
        }
    }
}

/// One target of the issue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    /// `shallow tuned`.
    pub label: String,
    /// The highest acceptable mean test error.
    pub target: f64,
    /// With the validation split kept.
    pub kept: Reached,
    /// Retrained on all the images (tuned recipe only).
    pub retrained: Option<Reached>,
}

/// How a run of the seed table ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Finished with a validation split.
    Finished,
    /// Finished without a validation split.
    NoSplit,
    /// Diverged.
    Diverged,
}

/// One run of the seed table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedRow {
    /// The run's directory.
    pub name: String,
    /// Its seed.
    pub seed: u64,
    /// How it ended.
    pub status: Status,
    /// Final training error.
    pub train: f64,
    /// Final validation error.
    pub val: f64,
    /// Final test error.
    pub test: f64,
    /// Lowest validation error.
    pub best_val: f64,
    /// Its epoch.
    pub best_val_epoch: usize,
    /// Training seconds.
    pub seconds: f64,
}

/// The facts of "Final errors".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinalErrors {
    /// The reported groups.
    pub rows: Vec<GroupRow>,
    /// The retrained groups, if any.
    pub retrained: Option<Retrained>,
    /// The targets whose group exists.
    pub targets: Vec<Target>,
    /// Every run of the reported and retrained groups.
    pub seeds: Vec<SeedRow>,
}

fn group_row(g: &Group) -> Option<GroupRow> {
    let first = g.first()?;
    Some(GroupRow {
        net: g.net.name(),
        recipe: g.recipe.name(),
        params: first.summary().map_or(0, |s| s.n_params),
        setting: setting(&first.config),
        epochs: first.config.epochs,
        seeds: g.finished().len(),
        train: g.values(Run::train_error),
        val: g.values(Run::val_error),
        test: g.values(Run::test_error),
        seconds: crate::stats::mean(&g.values(Run::train_seconds)),
    })
}

fn seed_row(run: &Run) -> SeedRow {
    let summary = run.summary();
    SeedRow {
        name: run.name.clone(),
        seed: run.config.seed,
        status: match summary {
            Some(s) if s.n_val == 0 => Status::NoSplit,
            Some(_) => Status::Finished,
            None => Status::Diverged,
        },
        train: run.train_error(),
        val: run.val_error(),
        test: run.test_error(),
        best_val: run.best_val_error().unwrap_or(f64::NAN),
        best_val_epoch: summary.map_or(0, |s| s.best_val_epoch),
        seconds: run.train_seconds(),
    }
}

/// Computes the section's facts; `None` when no reported run exists yet.
pub fn facts(r: &Results) -> Option<FinalErrors> {
    if r.reported.is_empty() {
        return None;
    }
    let retrained = (!r.retrained.is_empty()).then(|| Retrained {
        n_train: r
            .retrained
            .iter()
            .find_map(|g| g.first().and_then(Run::summary).map(|s| s.n_train))
            .unwrap_or(0),
        rows: r
            .retrained
            .iter()
            .filter_map(|g| {
                Some(RetrainedRow {
                    group: group_row(g)?,
                    kept: r
                        .group(g.net, Recipe::Tuned)
                        .map(|k| k.values(Run::test_error)),
                })
            })
            .collect(),
    });
    let targets = TARGETS
        .iter()
        .filter_map(|&(net, recipe, target)| {
            let g = r.group(net, recipe)?;
            Some(Target {
                label: g.label(),
                target,
                kept: Reached::of(g, target),
                retrained: r
                    .retrained_group(net)
                    .filter(|_| recipe == Recipe::Tuned)
                    .map(|all| Reached::of(all, target)),
            })
        })
        .collect();
    Some(FinalErrors {
        rows: r.reported.iter().filter_map(group_row).collect(),
        retrained,
        targets,
        seeds: r
            .reported
            .iter()
            .chain(&r.retrained)
            .flat_map(|g| g.runs.iter().map(seed_row))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::{diverged, results, run};
    use crate::setting::tests::config;

    #[test]
    fn no_reported_run_gives_no_section() {
        let mut r = results();
        r.reported.clear();
        assert_eq!(facts(&r), None);
    }

    #[test]
    fn targets_are_met_or_missed() {
        let r = results();
        let f = facts(&r).unwrap();
        // Shallow tuned: mean test error (0.02 + 0.03) / 2 = 0.025 > 0.016.
        let tuned = &f.targets[0];
        assert_eq!(tuned.label, "shallow tuned");
        assert_eq!(tuned.kept.verdict, Verdict::Missed);
        assert!((tuned.kept.margin - 0.009).abs() < 1e-12);
        assert!(tuned.retrained.is_some());
        // Shallow faithful: 0.025 > 0.020, and no retrained column for the faithful recipe.
        let faithful = &f.targets[1];
        assert_eq!(faithful.retrained, None);
        let mut r = results();
        r.reported[0].runs = vec![run("good", &[0.05, 0.01], 0.0)];
        let f = facts(&r).unwrap();
        assert_eq!(f.targets[1].kept.verdict, Verdict::Met);
        assert!((f.targets[1].kept.margin - 0.01).abs() < 1e-12);
    }

    #[test]
    fn every_seed_says_how_it_ended() {
        let mut r = results();
        r.reported[0]
            .runs
            .push(diverged("bad", config("sigmoid", 9.0, "constant", 0.0)));
        let mut no_split = run("all", &[0.05], 0.0);
        if let crate::runs::Outcome::Finished { summary, .. } = &mut no_split.outcome {
            summary.n_val = 0;
        }
        r.retrained[0].runs = vec![no_split];
        let f = facts(&r).unwrap();
        let status: Vec<Status> = f.seeds.iter().map(|s| s.status).collect();
        assert_eq!(
            status,
            [
                Status::Finished,
                Status::Finished,
                Status::Diverged,
                Status::Finished,
                Status::Finished,
                Status::NoSplit
            ]
        );
        let retrained = f.retrained.unwrap();
        assert_eq!(retrained.rows.len(), 1);
        assert!(retrained.rows[0].kept.is_some());
    }
}
