//! The hand-written gradients against two independent references, on random networks: the
//! mlp-autograd tape (exact up to rounding) and central finite differences (the practical work's
//! check). Then the checker itself: a planted error must fail and be located, parameters must come
//! back bit for bit, and an image-sized network must pass.

use faer::{Mat, MatRef};
use mlp_autograd::{mlp_loss_and_gradients, Matrix};
use mlp_core::gradcheck::{
    backprop_gradients, check_gradients, check_gradients_against, get, max_relative_errors,
    numeric_gradient, relative_error, select_params, set, step, LayerGradient, Param, ParamKind,
    ParamSelection, THRESHOLD,
};
use mlp_core::{Activation, Mlp, MlpError};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Hand-written and tape gradients are the same sums in another order: they must agree to this.
const TAPE_TOLERANCE: f64 = 1e-10;

/// A random network and batch.
#[derive(Debug, Clone)]
struct Case {
    /// Inputs, hidden widths, classes.
    sizes: Vec<usize>,
    activation: Activation,
    /// Draws the weights (through `Mlp::new`) and the biases.
    seed: u64,
    /// `(sizes[0], m)`, entries in [−2, 2].
    x: Mat<f64>,
    labels: Vec<usize>,
}

impl Case {
    /// The network, its input and its one-hot targets.
    fn build(&self) -> (Mlp<f64>, Mat<f64>, Mat<f64>) {
        let mut mlp = Mlp::new(&self.sizes, self.activation, self.seed).unwrap();
        // Mlp::new leaves the biases at zero; random ones exercise the bias paths for real.
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0xb1a5);
        for layer in mlp.layers_mut() {
            for b in layer.bias_mut() {
                *b = rng.random_range(-1.0..1.0);
            }
        }
        let targets = one_hot(&self.labels, *self.sizes.last().unwrap());
        (mlp, self.x.clone(), targets)
    }
}

/// Depth 1 to 5 weight layers, every width 1 to 16, batch 1 to 8, every hidden activation.
fn case() -> impl Strategy<Value = Case> {
    let activation = prop::sample::select(Activation::ALL.to_vec());
    (
        prop::collection::vec(1..=16usize, 2..=6),
        1..=8usize,
        activation,
        any::<u64>(),
    )
        .prop_flat_map(|(sizes, batch, activation, seed)| {
            let (n_in, classes) = (sizes[0], *sizes.last().unwrap());
            (
                Just(sizes),
                Just(activation),
                Just(seed),
                prop::collection::vec(-2.0..2.0f64, n_in * batch),
                prop::collection::vec(0..classes, batch),
            )
        })
        .prop_map(|(sizes, activation, seed, x, labels)| {
            let (n_in, m) = (sizes[0], labels.len());
            Case {
                sizes,
                activation,
                seed,
                x: Mat::from_fn(n_in, m, |i, j| x[j * n_in + i]),
                labels,
            }
        })
}

fn one_hot(labels: &[usize], n_classes: usize) -> Mat<f64> {
    Mat::from_fn(n_classes, labels.len(), |i, j| {
        if labels[j] == i {
            1.0
        } else {
            0.0
        }
    })
}

/// A faer matrix as a tape matrix (which is row-major; `from_fn` takes care of it).
fn to_tape(m: MatRef<'_, f64>) -> Matrix {
    Matrix::from_fn(m.nrows(), m.ncols(), |r, c| m[(r, c)])
}

fn tape_params(mlp: &Mlp<f64>) -> Vec<(Matrix, Matrix)> {
    mlp.layers()
        .iter()
        .map(|layer| {
            let bias = Matrix::from_fn(layer.n_out(), 1, |r, _| layer.bias()[r]);
            (to_tape(layer.weights()), bias)
        })
        .collect()
}

fn from_tape(grads: &[(Matrix, Matrix)]) -> Vec<LayerGradient> {
    grads
        .iter()
        .map(|(w, b)| {
            let w = Mat::from_fn(w.rows(), w.cols(), |r, c| w.get(r, c));
            // b is (n_out × 1): its row-major data is the column.
            (w, b.data().to_vec())
        })
        .collect()
}

fn tape_activation(activation: Activation) -> mlp_autograd::Activation {
    match activation {
        Activation::Sigmoid => mlp_autograd::Activation::Sigmoid,
        Activation::Tanh => mlp_autograd::Activation::Tanh,
        Activation::Relu => mlp_autograd::Activation::Relu,
        Activation::Identity => mlp_autograd::Activation::Identity,
    }
}

/// Back-propagation's loss and gradients against the tape's: the largest relative error of the loss
/// and of every weight and bias entry.
fn tape_error(mlp: &mut Mlp<f64>, x: &Mat<f64>, labels: &[usize], activation: Activation) -> f64 {
    let targets = one_hot(labels, mlp.n_classes());
    let ours = backprop_gradients(mlp, x.as_ref(), targets.as_ref()).unwrap();
    let loss = mlp.loss(targets.as_ref()).unwrap();
    let (tape_loss, tape) = mlp_loss_and_gradients(
        &tape_params(mlp),
        tape_activation(activation),
        &to_tape(x.as_ref()),
        labels,
    )
    .unwrap();
    // The loss is a mean of O(1) terms: rounding is relative to 1 at least.
    let loss_error = relative_error(loss, tape_loss, 1.0);
    max_relative_errors(&ours, &from_tape(&tape))
        .unwrap()
        .into_iter()
        .fold(loss_error, |m, (w, b)| m.max(w).max(b))
}

/// Pre-activations closer to 0 than this are treated as on the kink: the network's own forward
/// pass sums in another order than `relu_signs`, and could round them to the other side.
const KINK_MARGIN: f64 = 1e-10;

/// Whether each hidden pre-activation z = W·a + b of the batch is positive, computed naively; `None`
/// if one is within [`KINK_MARGIN`] of 0.
fn relu_signs(mlp: &Mlp<f64>, x: MatRef<'_, f64>) -> Option<Vec<bool>> {
    let layers = mlp.layers();
    let mut a = x.to_owned();
    let mut signs = Vec::new();
    for layer in &layers[..layers.len() - 1] {
        let w = layer.weights();
        let z = Mat::from_fn(layer.n_out(), a.ncols(), |i, j| {
            (0..layer.n_in())
                .map(|k| w[(i, k)] * a[(k, j)])
                .sum::<f64>()
                + layer.bias()[i]
        });
        for j in 0..z.ncols() {
            for i in 0..z.nrows() {
                if z[(i, j)].abs() < KINK_MARGIN {
                    return None;
                }
                signs.push(z[(i, j)] > 0.0);
            }
        }
        a = Mat::from_fn(z.nrows(), z.ncols(), |i, j| z[(i, j)].max(0.0));
    }
    Some(signs)
}

/// The parameters whose central difference never crosses a ReLU kink: moving them to θ + h and to
/// θ − h leaves the sign of every hidden pre-activation of every sample unchanged (and clear of
/// [`KINK_MARGIN`]). Across a kink the loss is not differentiable and a central difference
/// averages two slopes, so a correct gradient would fail for a reason that is not a bug.
fn away_from_kinks(mlp: &Mlp<f64>, x: MatRef<'_, f64>) -> Vec<Param> {
    let Some(base) = relu_signs(mlp, x) else {
        return Vec::new();
    };
    let mut copy = mlp.clone();
    select_params(mlp, &ParamSelection::All, 0)
        .unwrap()
        .into_iter()
        .filter(|&p| {
            let theta = get(&copy, p);
            let h = step(theta);
            let unchanged = [theta + h, theta - h].into_iter().all(|v| {
                set(&mut copy, p, v);
                relu_signs(&copy, x).as_ref() == Some(&base)
            });
            set(&mut copy, p, theta);
            unchanged
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// (a) Loss and every gradient entry agree with the tape to 1e-10 relative (with the
    /// summation floor of `max_relative_errors` for entries that are sums cancelling out).
    #[test]
    fn backprop_matches_the_autograd_tape(case in case()) {
        let (mut mlp, x, _) = case.build();
        let error = tape_error(&mut mlp, &x, &case.labels, case.activation);
        prop_assert!(error <= TAPE_TOLERANCE, "relative error {error:e} against the tape");
    }

    /// (b) Every weight and bias agrees with a central difference to the practical work's 3e-7.
    /// ReLU nets skip the parameters whose ±h perturbation flips a unit (see `away_from_kinks`).
    #[test]
    fn backprop_matches_finite_differences(case in case()) {
        let (mut mlp, x, targets) = case.build();
        let selection = if case.activation == Activation::Relu {
            let params = away_from_kinks(&mlp, x.as_ref());
            if params.is_empty() {
                return Ok(());
            }
            ParamSelection::Only(params)
        } else {
            ParamSelection::All
        };
        let report =
            check_gradients(&mut mlp, x.as_ref(), targets.as_ref(), selection, case.seed).unwrap();
        prop_assert!(report.passed(), "worst {:?} of {} checked", report.worst, report.checked);
    }
}

/// A fixed 6-5-4-3 tanh net on 4 samples.
fn small_case() -> (Mlp<f64>, Mat<f64>, Mat<f64>) {
    Case {
        sizes: vec![6, 5, 4, 3],
        activation: Activation::Tanh,
        seed: 3,
        x: Mat::from_fn(6, 4, |i, j| ((i * 5 + j * 3) % 7) as f64 / 3.5 - 1.0),
        labels: vec![0, 2, 1, 2],
    }
    .build()
}

/// One wrong entry, planted in a copy of the computed gradients, fails the check and is named: its
/// layer, kind, row and column.
#[test]
fn a_planted_error_fails_and_is_located() {
    let (mut mlp, x, y) = small_case();
    let good = backprop_gradients(&mut mlp, x.as_ref(), y.as_ref()).unwrap();
    let report = check_gradients_against(
        &mut mlp,
        x.as_ref(),
        y.as_ref(),
        &good,
        ParamSelection::All,
        0,
    )
    .unwrap();
    assert!(report.passed(), "{:?}", report.worst);

    for layer in 0..3 {
        for (kind, col) in [(ParamKind::Weight, 2), (ParamKind::Bias, 0)] {
            let planted = Param {
                layer,
                kind,
                row: 1,
                col,
            };
            // 1e-6 is far below anything a glance at the numbers would notice.
            let mut bad = good.clone();
            match kind {
                ParamKind::Weight => bad[layer].0[(1, col)] += 1e-6,
                ParamKind::Bias => bad[layer].1[1] += 1e-6,
            }
            let report = check_gradients_against(
                &mut mlp,
                x.as_ref(),
                y.as_ref(),
                &bad,
                ParamSelection::All,
                0,
            )
            .unwrap();
            assert!(!report.passed(), "{planted:?} went unnoticed");
            assert_eq!(report.worst.param, planted);
            for other in report.per_layer.iter().filter(|r| r.layer != layer) {
                let worst =
                    [other.worst_weight, other.worst_bias].map(|w| w.unwrap().relative_error);
                assert!(
                    worst.iter().all(|&e| e <= THRESHOLD),
                    "layer {}",
                    other.layer
                );
            }
        }
    }

    // A relative error of 1e-5 on the largest entry, where the error measure is purely relative.
    let mut bad = good.clone();
    let (w, _) = &mut bad[2];
    let (mut row, mut col) = (0, 0);
    for c in 0..w.ncols() {
        for r in 0..w.nrows() {
            if w[(r, c)].abs() > w[(row, col)].abs() {
                (row, col) = (r, c);
            }
        }
    }
    w[(row, col)] *= 1.0 + 1e-5;
    let report = check_gradients_against(
        &mut mlp,
        x.as_ref(),
        y.as_ref(),
        &bad,
        ParamSelection::All,
        0,
    )
    .unwrap();
    assert!(!report.passed());
    assert_eq!(
        (
            report.worst.param.layer,
            report.worst.param.row,
            report.worst.param.col
        ),
        (2, row, col)
    );
}

/// The check perturbs parameters in place: afterwards they are the same bits, and the network holds
/// the forward pass of the checked batch again.
#[test]
fn parameters_are_restored_bit_for_bit() {
    let (mut mlp, x, y) = small_case();
    let before = mlp.clone();
    let probabilities = mlp.propagate(x.as_ref()).unwrap().to_owned();
    check_gradients(&mut mlp, x.as_ref(), y.as_ref(), ParamSelection::All, 0).unwrap();
    for (now, then) in mlp.layers().iter().zip(before.layers()) {
        assert!(now.weights() == then.weights());
        assert_eq!(now.bias(), then.bias());
    }
    assert!(mlp.probabilities().unwrap() == probabilities.as_ref());
}

/// `PerLayer(n)` draws n weights and n biases per layer (all of them when there are fewer), the same
/// ones for the same seed.
#[test]
fn per_layer_sampling_is_seeded() {
    let (mut mlp, x, y) = Case {
        sizes: vec![20, 8, 3],
        activation: Activation::Sigmoid,
        seed: 1,
        x: Mat::from_fn(20, 2, |i, j| (i + j) as f64 / 20.0),
        labels: vec![1, 2],
    }
    .build();
    let pick = |seed| select_params(&mlp, &ParamSelection::PerLayer(10), seed).unwrap();
    assert_eq!(pick(5), pick(5));
    assert_ne!(pick(5), pick(6));
    let report = check_gradients(
        &mut mlp,
        x.as_ref(),
        y.as_ref(),
        ParamSelection::PerLayer(10),
        5,
    )
    .unwrap();
    let counts: Vec<_> = report
        .per_layer
        .iter()
        .map(|l| (l.weights_checked, l.bias_checked))
        .collect();
    assert_eq!(counts, [(10, 8), (10, 3)]);
    assert_eq!(report.checked, 31);
    assert!(report.passed(), "{:?}", report.worst);
}

#[test]
fn bad_requests_are_errors() {
    let (mut mlp, x, y) = small_case();
    let mut check = |selection| check_gradients(&mut mlp, x.as_ref(), y.as_ref(), selection, 0);
    assert!(check(ParamSelection::PerLayer(0)).is_err());
    assert!(check(ParamSelection::Only(vec![])).is_err());
    let outside = |layer, row, col| {
        ParamSelection::Only(vec![Param {
            layer,
            kind: ParamKind::Weight,
            row,
            col,
        }])
    };
    assert!(matches!(
        check(outside(3, 0, 0)),
        Err(MlpError::NoSuchLayer { index: 3, .. })
    ));
    assert!(check(outside(0, 5, 0)).is_err());
    assert!(check(outside(0, 0, 6)).is_err());

    let mut good = backprop_gradients(&mut mlp, x.as_ref(), y.as_ref()).unwrap();
    good[1].1.pop();
    let all = ParamSelection::All;
    assert!(check_gradients_against(&mut mlp, x.as_ref(), y.as_ref(), &good, all, 0).is_err());
    let wrong_x = Mat::<f64>::zeros(5, 4);
    let all = ParamSelection::All;
    assert!(check_gradients(&mut mlp, wrong_x.as_ref(), y.as_ref(), all, 0).is_err());
}

/// The practical work's setting on a smaller hidden layer: 784-16-10 sigmoid on 8 synthetic
/// 28×28 images (MNIST-like: most pixels 0, the others in (0, 1]), every one of the 12 730
/// parameters. (`crates/mlp-cli/tests/gradcheck.rs` checks the real images through the binary.)
#[test]
fn image_sized_784_16_10_every_parameter() {
    let mut rng = ChaCha8Rng::seed_from_u64(28);
    let x = Mat::<f64>::from_fn(784, 8, |_, _| {
        if rng.random_bool(0.2) {
            rng.random_range(0.0..1.0)
        } else {
            0.0
        }
    });
    let labels: Vec<usize> = (0..8).map(|j| (3 * j + 1) % 10).collect();
    let y = one_hot(&labels, 10);
    let mut mlp = Mlp::<f64>::new(&[784, 16, 10], Activation::Sigmoid, 2024).unwrap();
    let before = mlp.clone();

    let report = check_gradients(&mut mlp, x.as_ref(), y.as_ref(), ParamSelection::All, 0).unwrap();
    assert_eq!(report.checked, 12_730);
    assert!(report.passed(), "{:?}", report.worst);
    // Large enough to go through the threaded path, which must leave the parameters alone too.
    for (now, then) in mlp.layers().iter().zip(before.layers()) {
        assert!(now.weights() == then.weights());
        assert_eq!(now.bias(), then.bias());
    }
    // And computes the very bits one central difference on the calling thread gives.
    for p in [report.worst, report.per_layer[1].worst_bias.unwrap()] {
        let alone = numeric_gradient(&mut mlp, x.as_ref(), y.as_ref(), p.param).unwrap();
        assert_eq!(p.numeric.to_bits(), alone.to_bits(), "{:?}", p.param);
    }
    let error = tape_error(&mut mlp, &x, &labels, Activation::Sigmoid);
    assert!(error <= TAPE_TOLERANCE, "{error:e}");
}
