//! Small hand-made runs for the facts modules' tests.

use crate::plan::{Net, Recipe};
use crate::results::{Group, Results};
use crate::runs::{Diverged, Outcome, Run};
use crate::scaling::{Kind, ScalingRow};
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
        scaling: None,
    }
}

/// The GEMM peak of [`scaling_row`]'s rows, GFLOP/s.
pub(crate) const SCALING_PEAK: f64 = 400.0;

/// A row of `bench_train.csv`: `depth` hidden layers of `width` at `batch`, running at `fraction`
/// of a peak of [`SCALING_PEAK`] (its time follows from the FLOPs), 60 000 training images.
pub(crate) fn scaling_row(
    kind: Kind,
    width: usize,
    depth: usize,
    batch: usize,
    fraction: f64,
) -> ScalingRow {
    let sizes = mlp_cli::spec::layer_sizes(784, &vec![width; depth], 10);
    let flops = mlp_cli::bench_train::flops_per_step(&sizes, batch);
    let gflops = fraction * SCALING_PEAK;
    let seconds = flops / gflops / 1e9;
    let epoch_steps = 60_000usize.div_ceil(batch);
    ScalingRow {
        kind,
        width,
        depth,
        layers: mlp_cli::spec::dashed(&sizes),
        batch,
        n_params: mlp_core::count_params(&sizes).unwrap().total,
        flops_per_step: flops,
        steps: 100,
        repeats: 5,
        threads: 2,
        n_train: 60_000,
        split_repeats: 5,
        seconds_per_step: seconds,
        seconds_per_step_min: seconds,
        epoch_steps,
        epoch_seconds: seconds * epoch_steps as f64,
        gflops,
        fraction_of_peak: fraction,
        peak_gflops: SCALING_PEAK,
    }
}
