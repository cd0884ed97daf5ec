//! Small hand-made runs for the facts modules' tests.

use crate::plan::{Net, Recipe};
use crate::results::{Group, Results};
use crate::runs::{Diverged, Outcome, Run};
use crate::setting::tests::config;
use mlp_cli::train::{EpochRecord, Summary, TrainConfig};

/// An epoch's record whose losses are the error rates (good enough for the facts).
pub(crate) fn record(epoch: usize, train: f64, val: Option<f64>, test: f64) -> EpochRecord {
    EpochRecord {
        epoch,
        seconds: if epoch == 0 { 0.0 } else { 0.5 },
        lr: 0.1,
        train_loss: train,
        train_error: train,
        val_loss: val,
        val_error: val,
        test_loss: test,
        test_error: test,
    }
}

/// A finished run with `curve` (epoch 0 first) and `config`.
pub(crate) fn finished(name: &str, config: TrainConfig, curve: Vec<EpochRecord>) -> Run {
    let last = curve.last().expect("a curve").clone();
    let best_val_epoch = curve
        .iter()
        .filter(|r| r.val_error.is_some())
        .min_by(|a, b| a.val_error.unwrap().total_cmp(&b.val_error.unwrap()))
        .map_or(last.epoch, |r| r.epoch);
    let summary = Summary {
        sizes: crate::setting::layer_sizes(&config.hidden),
        n_params: crate::setting::n_params(&config.hidden).unwrap(),
        n_train: 50_000,
        n_val: if last.val_error.is_some() { 10_000 } else { 0 },
        config: config.clone(),
        last,
        best_val_epoch,
        train_seconds: 0.5 * curve.len().saturating_sub(1) as f64,
        wall_seconds: 60.0,
    };
    Run {
        name: name.into(),
        config,
        outcome: Outcome::Finished {
            summary: Box::new(summary),
            curve,
        },
    }
}

/// A finished run of the shallow sigmoid net whose validation error after epoch `i + 1` is
/// `vals[i]`, training error `train` and test error the validation error.
pub(crate) fn run(name: &str, vals: &[f64], train: f64) -> Run {
    let mut curve = vec![record(0, 0.9, Some(0.9), 0.9)];
    for (i, &v) in vals.iter().enumerate() {
        curve.push(record(i + 1, train, Some(v), v));
    }
    let mut c = config("sigmoid", 0.5, "constant", 0.0);
    c.epochs = vals.len();
    finished(name, c, curve)
}

/// A run whose loss diverged.
pub(crate) fn diverged(name: &str, config: TrainConfig) -> Run {
    Run {
        name: name.into(),
        config: config.clone(),
        outcome: Outcome::Diverged(Diverged {
            config,
            epoch: 1,
            message: "loss is NaN".into(),
        }),
    }
}

/// A group of runs with the seeds 1, 2, …
pub(crate) fn group(net: Net, recipe: Recipe, mut runs: Vec<Run>) -> Group {
    for (i, run) in runs.iter_mut().enumerate() {
        run.config.seed = i as u64 + 1;
    }
    Group { net, recipe, runs }
}

/// Results with a shallow faithful, a shallow tuned and a retrained shallow group of two seeds of
/// two epochs each, and nothing else.
pub(crate) fn results() -> Results {
    let two = |name: &str| {
        vec![
            run(name, &[0.05, 0.02], 0.01),
            run(name, &[0.05, 0.03], 0.01),
        ]
    };
    Results {
        study: Vec::new(),
        epochs: Vec::new(),
        search: Vec::new(),
        reported: vec![
            group(Net::Shallow, Recipe::Faithful, two("shallow-faithful")),
            group(Net::Shallow, Recipe::Tuned, two("shallow-tuned")),
        ],
        retrained: vec![group(Net::Shallow, Recipe::Tuned, two("shallow-tuned-all"))],
        gradients: None,
        bench: None,
    }
}
