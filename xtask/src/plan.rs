//! What `cargo xtask experiments` trains: the run directories, their configurations, and the rules
//! that turn the validation errors of one stage into the settings of the next.
//!
//! Layout under the results root (`results/`, or `results/quick/` with `--quick`):
//!
//! | directory                               | runs                                                        |
//! |-----------------------------------------|-------------------------------------------------------------|
//! | `study/lr-batch/lr{η}-b{B}`             | shallow net, sigmoid, plain SGD, constant rate: η × B grid   |
//! | `search/{net}-tuned/{config:#}`         | the validation search of the tuned settings (seed 0)        |
//! | `search/{net}-tuned/{config:#}-s{seed}` | its finalists, confirmed with seeds 10 and 20               |
//! | `study/epochs/e{E}`                     | the chosen tuned shallow setting with E epochs (seed 0)     |
//! | `{net}-faithful-s{seed}`                | the practical work's recipe, seeds 1, 2, 3                  |
//! | `{net}-tuned-s{seed}`                   | the chosen tuned setting, seeds 1, 2, 3                     |
//! | `{net}-tuned-all-s{seed}`               | the same, retrained on all 60 000 images (`val = 0`)         |
//!
//! `{config:#}` is a configuration's compact form ([`TrainConfig`]'s alternate `Display`), e.g.
//! `relu-cosine-lr0.05-b64-m0.9-wd0.0001-e60`.
//!
//! Every choice is the lowest final **validation** error among the candidates (for the tuned
//! setting, the lowest mean over the finalists' seeds); the test error is recorded but never read
//! by the plan.

use crate::executor::RunSpec;
use crate::runs::{best_on_val, Run};
use mlp_cli::train::TrainConfig;
use mlp_core::{Activation, LrSchedule};

/// The two networks of the practical work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    /// 784-150-10.
    Shallow,
    /// 784-150-200-150-50-10.
    Deep,
}

impl Net {
    /// Both nets, shallow first.
    pub const ALL: [Net; 2] = [Net::Shallow, Net::Deep];

    /// Hidden layer widths.
    pub fn hidden(self) -> Vec<usize> {
        match self {
            Net::Shallow => vec![150],
            Net::Deep => vec![150, 200, 150, 50],
        }
    }

    /// Lower-case name used in directory names.
    pub fn name(self) -> &'static str {
        match self {
            Net::Shallow => "shallow",
            Net::Deep => "deep",
        }
    }
}

/// The two recipes compared for each net.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipe {
    /// Sigmoid, plain mini-batch SGD, constant learning rate.
    Faithful,
    /// The best setting found on the validation split.
    Tuned,
}

impl Recipe {
    /// Both recipes, faithful first.
    pub const ALL: [Recipe; 2] = [Recipe::Faithful, Recipe::Tuned];

    /// Lower-case name used in directory names.
    pub fn name(self) -> &'static str {
        match self {
            Recipe::Faithful => "faithful",
            Recipe::Tuned => "tuned",
        }
    }
}

/// The sizes of the experiment: the full run, or the reduced `--quick` one.
#[derive(Debug, Clone, PartialEq)]
pub struct Scale {
    /// Whether this is the reduced run.
    pub quick: bool,
    /// Training subset size (`None`: the 50 000 images before the validation split).
    pub train_limit: Option<usize>,
    /// Learning rates of the lr × batch study.
    pub study_lrs: Vec<f64>,
    /// Batch sizes of the lr × batch study.
    pub study_batches: Vec<usize>,
    /// Epochs of each lr × batch study run.
    pub study_epochs: usize,
    /// Epochs of the faithful runs.
    pub faithful_epochs: usize,
    /// Epochs of the tuned search runs (and of the tuned runs, unless the epoch study chooses).
    pub tuned_epochs: usize,
    /// Base learning rates of the first stage of the tuned search.
    pub search_lrs: Vec<f64>,
    /// Weight decays of the first stage of the tuned search.
    pub search_weight_decays: Vec<f64>,
    /// Epoch counts of the epoch study.
    pub study_epoch_counts: Vec<usize>,
    /// Seeds of the faithful and tuned runs.
    pub seeds: Vec<u64>,
    /// Stage 3 of the tuned search: how many of the best settings are confirmed with more seeds.
    pub finalists: usize,
    /// Stage 3: the extra seeds of the finalists.
    pub confirm_seeds: Vec<u64>,
    /// Samples of the gradient-magnitude measurement at initialisation.
    pub gradient_samples: usize,
}

/// Validation split size: the last 10 000 training images.
pub const VAL: usize = 10_000;
/// Seed of the search and study runs (the reported runs use [`Scale::seeds`], so that the chosen
/// setting is re-measured on seeds it was not selected on).
pub const SEARCH_SEED: u64 = 0;
/// Momentum of the tuned search.
pub const TUNED_MOMENTUM: f64 = 0.9;
/// Batch size of the first stage of the tuned search.
pub const TUNED_BATCH: usize = 64;

impl Scale {
    /// The full experiment (about half an hour on two cores).
    pub fn full() -> Self {
        Self {
            quick: false,
            train_limit: None,
            study_lrs: vec![0.01, 0.1, 0.5, 1.0],
            study_batches: vec![16, 64, 256],
            study_epochs: 20,
            faithful_epochs: 60,
            tuned_epochs: 60,
            search_lrs: vec![0.05, 0.1, 0.2],
            search_weight_decays: vec![1e-4, 3e-4],
            study_epoch_counts: vec![10, 20, 40, 60, 100],
            seeds: vec![1, 2, 3],
            finalists: 3,
            confirm_seeds: vec![10, 20],
            gradient_samples: 1000,
        }
    }

    /// The reduced experiment of `--quick` (CI): 5 000 training images, a few epochs, fewer points.
    pub fn quick() -> Self {
        Self {
            quick: true,
            train_limit: Some(5_000),
            study_lrs: vec![0.1, 1.0],
            study_batches: vec![16, 256],
            study_epochs: 2,
            faithful_epochs: 3,
            tuned_epochs: 3,
            search_lrs: vec![0.05, 0.1],
            search_weight_decays: vec![1e-4],
            study_epoch_counts: vec![1, 2, 3],
            seeds: vec![1, 2],
            finalists: 2,
            confirm_seeds: vec![10],
            gradient_samples: 200,
        }
    }

    fn base(&self, net: Net) -> TrainConfig {
        TrainConfig {
            hidden: net.hidden(),
            activation: Activation::Sigmoid,
            lr: 0.1,
            batch_size: 64,
            epochs: 1,
            momentum: 0.0,
            weight_decay: 0.0,
            lr_schedule: LrSchedule::Constant,
            seed: SEARCH_SEED,
            val: VAL,
            train_limit: self.train_limit,
        }
    }

    /// The lr × batch study: the shallow net with the practical work's recipe.
    pub fn lr_batch_study(&self) -> Vec<RunSpec> {
        let mut specs = Vec::new();
        for &batch in &self.study_batches {
            for &lr in &self.study_lrs {
                specs.push(RunSpec {
                    name: format!("study/lr-batch/lr{lr}-b{batch}"),
                    config: TrainConfig {
                        lr,
                        batch_size: batch,
                        epochs: self.study_epochs,
                        ..self.base(Net::Shallow)
                    },
                    keep_model: false,
                });
            }
        }
        specs
    }

    /// The faithful setting of `net`: sigmoid, plain SGD, constant rate, with the learning rate and
    /// batch size of the best lr × batch study run (the same for both nets, so that they differ
    /// only by their depth).
    pub fn faithful_config(&self, net: Net, study: &[Run], seed: u64) -> Option<TrainConfig> {
        let best = best_on_val(study)?;
        Some(TrainConfig {
            lr: best.config.lr,
            batch_size: best.config.batch_size,
            epochs: self.faithful_epochs,
            seed,
            ..self.base(net)
        })
    }

    /// Stage 1 of the tuned search of `net`: ReLU, momentum, cosine schedule, learning rate ×
    /// weight decay.
    pub fn search_stage1(&self, net: Net) -> Vec<RunSpec> {
        let mut specs = Vec::new();
        for &lr in &self.search_lrs {
            for &wd in &self.search_weight_decays {
                let config = TrainConfig {
                    activation: Activation::Relu,
                    lr,
                    batch_size: TUNED_BATCH,
                    epochs: self.tuned_epochs,
                    momentum: TUNED_MOMENTUM,
                    weight_decay: wd,
                    lr_schedule: LrSchedule::Cosine,
                    ..self.base(net)
                };
                specs.push(search_spec(net, config));
            }
        }
        specs
    }

    /// Stage 2 of the tuned search: one change at a time from the best stage-1 setting — the other
    /// activations, the step schedule, and half / double the batch size with the learning rate
    /// scaled in proportion.
    pub fn search_stage2(&self, net: Net, best: &TrainConfig) -> Vec<RunSpec> {
        let mut configs = vec![
            TrainConfig {
                activation: Activation::Tanh,
                ..best.clone()
            },
            TrainConfig {
                lr_schedule: LrSchedule::Step,
                ..best.clone()
            },
            TrainConfig {
                batch_size: best.batch_size / 2,
                lr: best.lr / 2.0,
                ..best.clone()
            },
            TrainConfig {
                batch_size: best.batch_size * 2,
                lr: best.lr * 2.0,
                ..best.clone()
            },
        ];
        if self.quick {
            configs.truncate(2);
        }
        configs.into_iter().map(|c| search_spec(net, c)).collect()
    }

    /// Stage 3 of the tuned search: the `finalists` settings with the lowest validation error in
    /// stages 1 and 2 (`runs`, seed 0), each trained again with every seed of `confirm_seeds`, so
    /// that the choice rests on a mean over seeds rather than on one lucky run.
    pub fn search_stage3(&self, net: Net, runs: &[Run]) -> Vec<RunSpec> {
        let mut ranked: Vec<&Run> = runs.iter().filter(|r| r.val_error().is_finite()).collect();
        ranked.sort_by(|a, b| a.val_error().total_cmp(&b.val_error()));
        ranked
            .iter()
            .take(self.finalists)
            .flat_map(|run| {
                self.confirm_seeds.iter().map(move |&seed| RunSpec {
                    name: format!("{}/{:#}-s{seed}", search_dir(net), run.config),
                    config: TrainConfig {
                        seed,
                        ..run.config.clone()
                    },
                    keep_model: false,
                })
            })
            .collect()
    }

    /// The epoch study: the chosen tuned shallow setting (seed 0) trained for each epoch count.
    /// The count equal to the search's is the search run itself and is not repeated.
    pub fn epoch_study(&self, tuned: &TrainConfig) -> Vec<RunSpec> {
        self.study_epoch_counts
            .iter()
            .filter(|&&e| e != tuned.epochs)
            .map(|&epochs| RunSpec {
                name: format!("study/epochs/e{epochs}"),
                config: TrainConfig {
                    epochs,
                    ..tuned.clone()
                },
                keep_model: false,
            })
            .collect()
    }

    /// The chosen tuned setting retrained on every training image (no validation split), one run
    /// per seed: a supplementary result, reported separately from the runs with a validation split.
    pub fn retrained(&self, net: Net, config: &TrainConfig) -> Vec<RunSpec> {
        self.seeds
            .iter()
            .map(|&seed| RunSpec {
                name: retrained_name(net, seed),
                config: TrainConfig {
                    seed,
                    val: 0,
                    ..config.clone()
                },
                keep_model: true,
            })
            .collect()
    }

    /// The reported runs of one net and recipe: one per seed, model kept.
    pub fn seeded(&self, net: Net, recipe: Recipe, config: &TrainConfig) -> Vec<RunSpec> {
        self.seeds
            .iter()
            .map(|&seed| RunSpec {
                name: reported_name(net, recipe, seed),
                config: TrainConfig {
                    seed,
                    ..config.clone()
                },
                keep_model: true,
            })
            .collect()
    }
}

/// The directory of a reported run, e.g. `shallow-tuned-s1`.
pub fn reported_name(net: Net, recipe: Recipe, seed: u64) -> String {
    format!("{}-{}-s{seed}", net.name(), recipe.name())
}

/// The directory of a tuned run retrained on all the training images, e.g. `shallow-tuned-all-s1`.
pub fn retrained_name(net: Net, seed: u64) -> String {
    format!("{}-tuned-all-s{seed}", net.name())
}

/// The directory of a net's tuned search.
pub fn search_dir(net: Net) -> String {
    format!("search/{}-tuned", net.name())
}

fn search_spec(net: Net, config: TrainConfig) -> RunSpec {
    RunSpec {
        name: format!("{}/{config:#}", search_dir(net)),
        config,
        keep_model: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_specs(scale: &Scale) -> Vec<RunSpec> {
        let mut specs = scale.lr_batch_study();
        for net in Net::ALL {
            let stage1 = scale.search_stage1(net);
            let best = stage1[0].config.clone();
            specs.extend(stage1);
            specs.extend(scale.search_stage2(net, &best));
            specs.extend(scale.seeded(net, Recipe::Tuned, &best));
            specs.extend(scale.retrained(net, &best));
        }
        specs.extend(scale.epoch_study(&scale.search_stage1(Net::Shallow)[0].config));
        specs
    }

    #[test]
    fn every_planned_config_is_valid_and_every_directory_distinct() {
        for scale in [Scale::full(), Scale::quick()] {
            let specs = all_specs(&scale);
            let mut names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            for spec in &specs {
                spec.config.check().unwrap();
                let expected = if spec.name.contains("-all-") { 0 } else { VAL };
                assert_eq!(spec.config.val, expected, "{}", spec.name);
            }
            let n = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), n, "duplicate run directories");
        }
    }

    #[test]
    fn the_full_study_covers_the_issue_grid() {
        let study = Scale::full().lr_batch_study();
        assert_eq!(study.len(), 12);
        assert!(study.iter().any(|s| s.name == "study/lr-batch/lr0.01-b16"));
        assert!(study.iter().any(|s| s.name == "study/lr-batch/lr1-b256"));
        assert!(study.iter().all(|s| s.config.train_limit.is_none()));
        assert_eq!(Scale::full().seeds, vec![1, 2, 3]);
    }

    #[test]
    fn reported_runs_never_share_the_search_seeds() {
        for scale in [Scale::full(), Scale::quick()] {
            assert!(!scale.seeds.contains(&SEARCH_SEED));
            assert!(scale.confirm_seeds.iter().all(|s| !scale.seeds.contains(s)));
            assert!(!scale.confirm_seeds.contains(&SEARCH_SEED));
        }
    }
}
