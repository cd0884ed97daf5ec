//! Facts of "Why the deep sigmoid net is slow to train with plain SGD": the bound on the
//! back-propagated factor, the measured gradient sizes, and the two faithful runs compared.

use super::NOISE_FLOOR;
use crate::gradients::GradientRow;
use crate::plan::{Net, Recipe};
use crate::results::Results;
use crate::runs::Run;
use crate::setting::gradient_activation;
use crate::stats::{mean, std_dev};
use mlp_core::Activation;
use serde::Serialize;

/// One weight layer's RMS gradient with sigmoid and with ReLU hidden units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerGradient {
    /// 1 = the input side.
    pub layer: usize,
    /// Outputs.
    pub n_out: usize,
    /// Inputs.
    pub n_in: usize,
    /// RMS ∂L/∂W with sigmoid units.
    pub sigmoid: f64,
    /// RMS ∂L/∂W with ReLU units.
    pub relu: f64,
}

/// The deep net's gradient sizes at initialisation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gradients {
    /// Images in the batch.
    pub samples: usize,
    /// One entry per weight layer.
    pub layers: Vec<LayerGradient>,
    /// Output layer / first layer, sigmoid.
    pub ratio_sigmoid: f64,
    /// Output layer / first layer, ReLU.
    pub ratio_relu: f64,
    /// Whether the sigmoid ratio is the larger.
    pub sigmoid_vanishes: bool,
}

/// Reads the deep net's rows of `gradients.csv`; `None` unless both activations have every layer.
pub fn gradients(rows: &[GradientRow]) -> Option<Gradients> {
    let deep: Vec<String> = Net::Deep.hidden().iter().map(usize::to_string).collect();
    let deep = deep.join("-");
    let pick = |activation: Activation| -> Vec<&GradientRow> {
        rows.iter()
            .filter(|row| row.hidden == deep && gradient_activation(row) == activation)
            .collect()
    };
    let (sig, relu) = (pick(Activation::Sigmoid), pick(Activation::Relu));
    if sig.is_empty() || sig.len() != relu.len() {
        return None;
    }
    let ratio = |v: &[&GradientRow]| v[v.len() - 1].grad_rms / v[0].grad_rms;
    let (ratio_sigmoid, ratio_relu) = (ratio(&sig), ratio(&relu));
    Some(Gradients {
        samples: sig[0].samples,
        layers: sig
            .iter()
            .zip(&relu)
            .map(|(s, r)| LayerGradient {
                layer: s.layer,
                n_out: s.n_out,
                n_in: s.n_in,
                sigmoid: s.grad_rms,
                relu: r.grad_rms,
            })
            .collect(),
        ratio_sigmoid,
        ratio_relu,
        sigmoid_vanishes: ratio_sigmoid > ratio_relu,
    })
}

/// The first epoch at which each net's validation error reaches a threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reach {
    /// The threshold.
    pub threshold: f64,
    /// Deep net (`None`: never).
    pub deep: Option<usize>,
    /// Shallow net (`None`: never).
    pub shallow: Option<usize>,
}

/// How the deep faithful net ends against the shallow one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// Behind by more than twice the seed-to-seed spread.
    Behind,
    /// Behind by more than the noise floor, within twice the spread.
    SlightlyBehind,
    /// Within the noise floor, or ahead.
    CaughtUp,
}

impl Ending {
    /// Judges the deep net's mean test error against the shallow one's, given the spread.
    pub fn of(deep: f64, shallow: f64, spread: f64) -> Self {
        if deep > shallow + 2.0 * spread {
            Self::Behind
        } else if deep > shallow + NOISE_FLOOR {
            Self::SlightlyBehind
        } else {
            Self::CaughtUp
        }
    }
}

/// The facts of the section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradientSizes {
    /// Sigmoid layers of the deep net.
    pub n_sigmoid: usize,
    /// 4 to the power `n_sigmoid`.
    pub bound: u64,
    /// The measured gradient sizes, if any.
    pub gradients: Option<Gradients>,
    /// The seed compared.
    pub seed: u64,
    /// Deep net's validation error after one epoch.
    pub deep_first: f64,
    /// Shallow net's.
    pub shallow_first: f64,
    /// Whether the deep net starts more slowly (beyond the noise floor).
    pub slower_start: bool,
    /// When each net reaches a few thresholds.
    pub reaches: Vec<Reach>,
    /// Epochs of the deep run.
    pub epochs: usize,
    /// Mean test errors over the seeds.
    pub deep_test: f64,
    /// Mean test errors over the seeds.
    pub shallow_test: f64,
    /// Mean validation errors over the seeds.
    pub deep_val: f64,
    /// Mean validation errors over the seeds.
    pub shallow_val: f64,
    /// deep_test − shallow_test.
    pub test_gap: f64,
    /// The larger seed-to-seed standard deviation of the test errors (at least the noise floor).
    pub spread: f64,
    /// How the deep net ends.
    pub ending: Ending,
}

/// The first epoch whose validation error is at most `threshold`.
fn epochs_to(run: &Run, threshold: f64) -> Option<usize> {
    run.curve()
        .iter()
        .find(|rec| rec.epoch > 0 && rec.val_error.is_some_and(|e| e <= threshold))
        .map(|rec| rec.epoch)
}

/// Computes the section's facts; `None` unless both faithful groups ran with a validation split.
pub fn facts(r: &Results) -> Option<GradientSizes> {
    let sf = r.group(Net::Shallow, Recipe::Faithful)?;
    let df = r.group(Net::Deep, Recipe::Faithful)?;
    let (s, d) = (sf.first()?, df.first()?);
    let first_val = |run: &Run| run.curve().get(1).and_then(|rec| rec.val_error);
    let (shallow_first, deep_first) = (first_val(s)?, first_val(d)?);
    for run in [s, d] {
        let last = run.curve().last()?;
        last.val_error?;
        last.val_loss?;
    }
    let n_sigmoid = Net::Deep.hidden().len();
    let (deep_test, shallow_test) = (df.mean_test(), sf.mean_test());
    let spread = std_dev(&df.values(Run::test_error))
        .max(std_dev(&sf.values(Run::test_error)))
        .max(NOISE_FLOOR);
    Some(GradientSizes {
        n_sigmoid,
        bound: 4u64.pow(n_sigmoid as u32),
        gradients: r.gradients.as_deref().and_then(gradients),
        seed: s.config.seed,
        deep_first,
        shallow_first,
        slower_start: deep_first > shallow_first + NOISE_FLOOR,
        reaches: [0.05, 0.03, 0.025]
            .into_iter()
            .map(|threshold| Reach {
                threshold,
                deep: epochs_to(d, threshold),
                shallow: epochs_to(s, threshold),
            })
            .collect(),
        epochs: d.curve().last()?.epoch,
        deep_test,
        shallow_test,
        deep_val: mean(&df.values(Run::val_error)),
        shallow_val: mean(&sf.values(Run::val_error)),
        test_gap: deep_test - shallow_test,
        spread,
        ending: Ending::of(deep_test, shallow_test, spread),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::{group, results, run};

    fn row(activation: &str, layer: usize, grad_rms: f64) -> GradientRow {
        serde_json::from_value(serde_json::json!({
            "hidden": "150-200-150-50", "activation": activation, "layer": layer,
            "n_in": 10, "n_out": 10, "grad_rms": grad_rms, "samples": 100
        }))
        .unwrap()
    }

    #[test]
    fn the_sigmoid_gradient_vanishes_or_not() {
        let rows = [
            row("sigmoid", 1, 1e-4),
            row("sigmoid", 2, 1e-2),
            row("relu", 1, 1e-2),
            row("relu", 2, 1e-1),
        ];
        let g = gradients(&rows).unwrap();
        assert_eq!((g.ratio_sigmoid, g.ratio_relu), (100.0, 10.0));
        assert!(g.sigmoid_vanishes);
        let rows = [
            row("sigmoid", 1, 1e-2),
            row("sigmoid", 2, 1e-2),
            row("relu", 1, 1e-2),
            row("relu", 2, 1e-1),
        ];
        assert!(!gradients(&rows).unwrap().sigmoid_vanishes);
        assert_eq!(gradients(&rows[..3]), None, "layers missing for ReLU");
    }

    #[test]
    fn the_deep_net_ends_behind_slightly_behind_or_caught_up() {
        assert_eq!(Ending::of(0.03, 0.02, 0.001), Ending::Behind);
        assert_eq!(Ending::of(0.021, 0.02, 0.001), Ending::SlightlyBehind);
        assert_eq!(Ending::of(0.0202, 0.02, 0.001), Ending::CaughtUp);
    }

    #[test]
    fn the_faithful_runs_are_compared() {
        let mut r = results();
        assert_eq!(facts(&r), None, "no deep faithful run");
        r.reported.push(group(
            Net::Deep,
            Recipe::Faithful,
            vec![run("df", &[0.4, 0.04, 0.028], 0.0)],
        ));
        let f = facts(&r).unwrap();
        assert!(f.slower_start);
        assert_eq!(f.reaches[0].deep, Some(2));
        assert_eq!(f.reaches[0].shallow, Some(1));
        assert_eq!(f.reaches[2].deep, None);
        assert_eq!(f.gradients, None);
        assert_eq!(f.bound, 256);
        // The shallow runs end at 0.02 and 0.03 (mean 0.025, spread 0.0071), the deep one at
        // 0.028: behind by more than the noise floor, less than twice the spread.
        assert_eq!(f.ending, Ending::SlightlyBehind);
    }
}
