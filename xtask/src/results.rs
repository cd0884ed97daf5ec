//! Everything the report and its figures are made of, read from a results directory: the runs of
//! each study, search and reported group, the gradient sizes and the benchmarks' tables.

use crate::bench::{self, BenchTable};
use crate::gradients::{self, GradientRow};
use crate::plan::{search_dir, Net, Recipe};
use crate::runs::{load_all, same_config, Run};
use crate::scaling::{self, ScalingTable};
use crate::stats::mean;
use crate::Result;
use mlp_cli::train::TrainConfig;
use std::path::Path;

/// The reported runs of one net and recipe, by increasing seed.
#[derive(Debug, Clone)]
pub struct Group {
    /// The net.
    pub net: Net,
    /// The recipe.
    pub recipe: Recipe,
    /// One run per seed.
    pub runs: Vec<Run>,
}

impl Group {
    /// The runs that finished (not diverged), by increasing seed.
    pub fn finished(&self) -> Vec<&Run> {
        self.runs.iter().filter(|r| r.summary().is_some()).collect()
    }

    /// `f` of every finished run.
    pub fn values(&self, f: impl Fn(&Run) -> f64) -> Vec<f64> {
        self.finished().into_iter().map(f).collect()
    }

    /// Mean final test error over the seeds.
    pub fn mean_test(&self) -> f64 {
        mean(&self.values(Run::test_error))
    }

    /// The first seed's run (the one plotted).
    pub fn first(&self) -> Option<&Run> {
        self.finished().into_iter().next()
    }

    /// `shallow tuned`.
    pub fn label(&self) -> String {
        format!("{} {}", self.net.name(), self.recipe.name())
    }
}

/// Everything the report is made of, read from a results directory.
#[derive(Debug, Clone)]
pub struct Results {
    /// The lr × batch study runs.
    pub study: Vec<Run>,
    /// The epoch study runs, by increasing epochs (including the search run it varies).
    pub epochs: Vec<Run>,
    /// The tuned search runs of each net.
    pub search: Vec<(Net, Vec<Run>)>,
    /// The reported runs, in the order shallow faithful, shallow tuned, deep faithful, deep tuned.
    pub reported: Vec<Group>,
    /// The tuned setting of each net retrained on all the training images (no validation split).
    pub retrained: Vec<Group>,
    /// The gradient sizes at initialisation.
    pub gradients: Option<Vec<GradientRow>>,
    /// The forward-propagation benchmark.
    pub bench: Option<BenchTable>,
    /// The training-step scaling benchmark.
    pub scaling: Option<ScalingTable>,
}

impl Results {
    /// Reads every run file under `root`.
    pub fn load(root: &Path) -> Result<Self> {
        let study = load_all(root, "study/lr-batch")?;
        let search: Vec<(Net, Vec<Run>)> = Net::ALL
            .iter()
            .map(|&net| Ok((net, load_all(root, &search_dir(net))?)))
            .collect::<Result<_>>()?;
        let mut epochs = load_all(root, "study/epochs")?;
        if let Some(first) = epochs.first() {
            let varied = first.config.clone();
            let from_search = search[0].1.iter().find(|r| {
                same_config(
                    &r.config,
                    &TrainConfig {
                        epochs: r.config.epochs,
                        ..varied.clone()
                    },
                )
            });
            if let Some(run) = from_search {
                epochs.push(run.clone());
            }
        }
        epochs.sort_by_key(|r| r.config.epochs);
        let mut reported = Vec::new();
        let mut retrained = Vec::new();
        for net in Net::ALL {
            for recipe in Recipe::ALL {
                let runs = seeded_runs(root, &format!("{}-{}-s", net.name(), recipe.name()))?;
                if !runs.is_empty() {
                    reported.push(Group { net, recipe, runs });
                }
            }
            let runs = seeded_runs(root, &format!("{}-tuned-all-s", net.name()))?;
            if !runs.is_empty() {
                retrained.push(Group {
                    net,
                    recipe: Recipe::Tuned,
                    runs,
                });
            }
        }
        Ok(Self {
            study,
            epochs,
            search,
            reported,
            retrained,
            gradients: gradients::read(&root.join(gradients::FILE))?,
            bench: bench::read(root)?,
            scaling: scaling::read(root)?,
        })
    }

    /// The reported group of a net and recipe.
    pub fn group(&self, net: Net, recipe: Recipe) -> Option<&Group> {
        self.reported
            .iter()
            .find(|g| g.net == net && g.recipe == recipe && g.first().is_some())
    }

    /// The tuned runs of a net retrained on all the training images.
    pub fn retrained_group(&self, net: Net) -> Option<&Group> {
        self.retrained
            .iter()
            .find(|g| g.net == net && g.first().is_some())
    }

    /// Training samples per epoch of the reported runs (or of any run).
    pub fn n_train(&self) -> Option<usize> {
        self.reported
            .iter()
            .flat_map(|g| g.runs.iter())
            .chain(self.study.iter())
            .find_map(|r| r.summary().map(|s| s.n_train))
    }
}

/// The runs `{prefix}{seed}` directly under `root`, by increasing seed.
fn seeded_runs(root: &Path, prefix: &str) -> Result<Vec<Run>> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(Vec::new());
    };
    let mut seeds: Vec<(u64, String)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|name| {
            let seed = name.strip_prefix(prefix)?.parse::<u64>().ok()?;
            Some((seed, name))
        })
        .collect();
    seeds.sort();
    let mut runs = Vec::new();
    for (_, name) in seeds {
        if let Some(run) = Run::load(root, &name)? {
            runs.push(run);
        }
    }
    Ok(runs)
}
