//! The files of a run directory, read back: `summary.json` and `curve.csv` of a finished run, or the
//! `diverged.json` marker that `experiments` writes when a run's loss became infinite.

use crate::Result;
use mlp_cli::train::{self, files, EpochRecord, Summary, TrainConfig};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// File name of the marker of a diverged run.
pub const DIVERGED: &str = "diverged.json";

/// What `experiments` records when training diverged (the loss became NaN or infinite).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Diverged {
    /// The run's settings.
    pub config: TrainConfig,
    /// The 1-based epoch in which the loss stopped being finite.
    pub epoch: usize,
    /// The trainer's message.
    pub message: String,
}

/// A run read back from its directory.
#[derive(Debug, Clone)]
pub struct Run {
    /// The directory relative to the results root, with `/` separators (e.g. `shallow-tuned-s1`).
    pub name: String,
    /// The run's settings.
    pub config: TrainConfig,
    /// The outcome.
    pub outcome: Outcome,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Trained for all its epochs.
    Finished {
        /// summary.json.
        summary: Box<Summary>,
        /// curve.csv, epoch 0 first.
        curve: Vec<EpochRecord>,
    },
    /// The loss diverged.
    Diverged(Diverged),
}

impl Run {
    /// Reads the run in `root/name`; `None` when the directory holds neither a summary nor a
    /// divergence marker (a run not done yet, or interrupted).
    pub fn load(root: &Path, name: &str) -> Result<Option<Run>> {
        let dir = root.join(name);
        let summary_path = dir.join(files::SUMMARY);
        if summary_path.is_file() {
            let summary: Summary = read_json(&summary_path)?;
            let curve = train::read_curve(&dir.join(files::CURVE))
                .map_err(|e| format!("{}: {e}", dir.display()))?;
            return Ok(Some(Run {
                name: name.to_string(),
                config: summary.config.clone(),
                outcome: Outcome::Finished {
                    summary: Box::new(summary),
                    curve,
                },
            }));
        }
        let diverged_path = dir.join(DIVERGED);
        if diverged_path.is_file() {
            let diverged: Diverged = read_json(&diverged_path)?;
            return Ok(Some(Run {
                name: name.to_string(),
                config: diverged.config.clone(),
                outcome: Outcome::Diverged(diverged),
            }));
        }
        Ok(None)
    }

    /// The summary of a finished run.
    pub fn summary(&self) -> Option<&Summary> {
        match &self.outcome {
            Outcome::Finished { summary, .. } => Some(summary),
            Outcome::Diverged(_) => None,
        }
    }

    /// The learning curve of a finished run (empty for a diverged one).
    pub fn curve(&self) -> &[EpochRecord] {
        match &self.outcome {
            Outcome::Finished { curve, .. } => curve,
            Outcome::Diverged(_) => &[],
        }
    }

    /// The last epoch's record of a finished run.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.summary().map(|s| &s.last)
    }

    /// The final validation error, the criterion of every choice; `+∞` for a diverged run or a
    /// run without a validation split, so that such runs are never chosen.
    pub fn val_error(&self) -> f64 {
        self.last()
            .and_then(|r| r.val_error)
            .filter(|e| e.is_finite())
            .unwrap_or(f64::INFINITY)
    }

    /// The final test error (NaN for a diverged run).
    pub fn test_error(&self) -> f64 {
        self.last().map_or(f64::NAN, |r| r.test_error)
    }

    /// The final training error (NaN for a diverged run).
    pub fn train_error(&self) -> f64 {
        self.last().map_or(f64::NAN, |r| r.train_error)
    }

    /// Seconds spent training, summed over epochs (NaN for a diverged run).
    pub fn train_seconds(&self) -> f64 {
        self.summary().map_or(f64::NAN, |s| s.train_seconds)
    }

    /// The epoch with the lowest validation error.
    pub fn best_val_epoch(&self) -> Option<usize> {
        self.summary().map(|s| s.best_val_epoch)
    }

    /// The lowest validation error over the curve.
    pub fn best_val_error(&self) -> Option<f64> {
        self.curve()
            .iter()
            .filter_map(|r| r.val_error)
            .fold(None, |m: Option<f64>, e| Some(m.map_or(e, |m| m.min(e))))
    }
}

/// Reads and parses a JSON file.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?)
}

/// Whether two configurations describe the same run (floats compared to a relative 1e-12, so that
/// a decimal round trip through JSON never counts as a change).
pub fn same_config(a: &TrainConfig, b: &TrainConfig) -> bool {
    let close = |x: f64, y: f64| x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs());
    a.hidden == b.hidden
        && a.activation == b.activation
        && close(a.lr, b.lr)
        && a.batch_size == b.batch_size
        && a.epochs == b.epochs
        && close(a.momentum, b.momentum)
        && close(a.weight_decay, b.weight_decay)
        && a.lr_schedule == b.lr_schedule
        && a.seed == b.seed
        && a.val == b.val
        && a.train_limit == b.train_limit
}

/// The sub-directories of `root/dir` that hold a finished or diverged run, sorted by name.
pub fn load_all(root: &Path, dir: &str) -> Result<Vec<Run>> {
    let path = root.join(dir);
    let Ok(entries) = std::fs::read_dir(&path) else {
        return Ok(Vec::new());
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    let mut runs = Vec::new();
    for name in names {
        if let Some(run) = Run::load(root, &format!("{dir}/{name}"))? {
            runs.push(run);
        }
    }
    Ok(runs)
}

/// The run with the lowest final validation error (the first in `runs`' order on a tie); `None`
/// when no run finished with a validation error.
pub fn best_on_val(runs: &[Run]) -> Option<&Run> {
    runs.iter()
        .filter(|r| r.val_error().is_finite())
        .fold(None, |best: Option<&Run>, r| match best {
            Some(b) if b.val_error() <= r.val_error() => Some(b),
            _ => Some(r),
        })
}

/// The runs of one setting of the search, whatever their seed.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// The setting, with the seed of its first run.
    pub config: TrainConfig,
    /// Its runs, in the order they were given (the first is the seed-0 search run).
    pub runs: Vec<&'a Run>,
}

impl Candidate<'_> {
    /// The final validation errors of its runs.
    pub fn val_errors(&self) -> Vec<f64> {
        self.runs.iter().map(|r| r.val_error()).collect()
    }

    /// The mean final validation error over its seeds (`+∞` if one diverged).
    pub fn mean_val(&self) -> f64 {
        crate::stats::mean(&self.val_errors())
    }
}

/// Groups runs by setting (every field but the seed), in order of first appearance.
pub fn candidates(runs: &[Run]) -> Vec<Candidate<'_>> {
    let mut groups: Vec<Candidate<'_>> = Vec::new();
    for run in runs {
        let key = TrainConfig {
            seed: 0,
            ..run.config.clone()
        };
        let found = groups.iter_mut().find(|g| {
            same_config(
                &TrainConfig {
                    seed: 0,
                    ..g.config.clone()
                },
                &key,
            )
        });
        match found {
            Some(g) => g.runs.push(run),
            None => groups.push(Candidate {
                config: run.config.clone(),
                runs: vec![run],
            }),
        }
    }
    groups
}

/// The chosen setting of a search: among the candidates run with the most seeds (the finalists,
/// when some were confirmed with extra seeds), the lowest mean validation error; the first on a
/// tie. `None` when no candidate has a finite mean.
pub fn choose<'a, 'b>(candidates: &'b [Candidate<'a>]) -> Option<&'b Candidate<'a>> {
    let most = candidates.iter().map(|c| c.runs.len()).max()?;
    candidates
        .iter()
        .filter(|c| c.runs.len() == most && c.mean_val().is_finite())
        .fold(None, |best: Option<&Candidate<'a>>, c| match best {
            Some(b) if b.mean_val() <= c.mean_val() => Some(b),
            _ => Some(c),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlp_core::{Activation, LrSchedule};

    fn run(name: &str, lr: f64, seed: u64, val_error: f64) -> Run {
        let config = TrainConfig {
            hidden: vec![150],
            activation: Activation::Relu,
            lr,
            batch_size: 64,
            epochs: 1,
            momentum: 0.9,
            weight_decay: 0.0,
            lr_schedule: LrSchedule::Cosine,
            seed,
            val: 10_000,
            train_limit: None,
        };
        let last = EpochRecord {
            epoch: 1,
            seconds: 1.0,
            lr,
            train_loss: 0.1,
            train_error: 0.0,
            val_loss: Some(0.1),
            val_error: Some(val_error),
            test_loss: 0.1,
            test_error: 0.02,
        };
        let summary = Summary {
            config: config.clone(),
            sizes: vec![784, 150, 10],
            n_params: 119_260,
            n_train: 50_000,
            n_val: 10_000,
            last: last.clone(),
            best_val_epoch: 1,
            train_seconds: 1.0,
            wall_seconds: 1.0,
        };
        Run {
            name: name.into(),
            config,
            outcome: Outcome::Finished {
                summary: Box::new(summary),
                curve: vec![last],
            },
        }
    }

    #[test]
    fn the_choice_is_the_best_mean_among_the_finalists() {
        let runs = vec![
            // Lucky single run: best on seed 0, worse on average.
            run("a", 0.1, 0, 0.0150),
            run("b", 0.2, 0, 0.0160),
            run("c", 0.05, 0, 0.0170),
            run("a-s10", 0.1, 10, 0.0190),
            run("b-s10", 0.2, 10, 0.0160),
        ];
        assert_eq!(best_on_val(&runs).unwrap().name, "a");
        let cands = candidates(&runs);
        assert_eq!(cands.len(), 3);
        assert_eq!(cands[0].runs.len(), 2);
        let chosen = choose(&cands).unwrap();
        assert_eq!(chosen.runs[0].name, "b");
        assert_eq!(chosen.config.seed, 0);
        assert!((chosen.mean_val() - 0.016).abs() < 1e-12);
    }

    #[test]
    fn without_finalists_the_choice_is_the_best_single_run() {
        let runs = vec![run("a", 0.1, 0, 0.02), run("b", 0.2, 0, 0.01)];
        assert_eq!(choose(&candidates(&runs)).unwrap().runs[0].name, "b");
        assert!(choose(&candidates(&[])).is_none());
    }

    #[test]
    fn configs_compare_through_a_decimal_round_trip() {
        let a = run("a", 0.1, 0, 0.01).config;
        let json = serde_json::to_string(&a).unwrap();
        let b: TrainConfig = serde_json::from_str(&json).unwrap();
        assert!(same_config(&a, &b));
        let c = TrainConfig {
            lr: 0.1000001,
            ..a.clone()
        };
        assert!(!same_config(&a, &c));
    }
}
