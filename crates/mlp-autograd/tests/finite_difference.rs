//! Tape gradients of random tiny MLPs against central finite differences.

use mlp_autograd::{mlp_loss_and_gradients, Activation, Matrix};
use proptest::prelude::*;

/// A random network and batch.
#[derive(Debug)]
struct Case {
    params: Vec<(Matrix, Matrix)>,
    hidden: Activation,
    x: Matrix,
    labels: Vec<usize>,
}

/// Depth 1–3, every width (inputs, hidden, classes) 1–5, batch 1–4, entries in [−2, 2].
fn case() -> impl Strategy<Value = Case> {
    let activation = prop_oneof![
        Just(Activation::Sigmoid),
        Just(Activation::Tanh),
        Just(Activation::Identity)
    ];
    (1..=3usize, 1..=4usize, activation)
        .prop_flat_map(|(depth, batch, hidden)| {
            // depth + 1 widths: n_in, the hidden widths, n_classes.
            (
                prop::collection::vec(1..=5usize, depth + 1),
                Just(batch),
                Just(hidden),
            )
        })
        .prop_flat_map(|(widths, batch, hidden)| {
            let layers: Vec<_> = widths
                .windows(2)
                .map(|w| {
                    let (n_in, n_out) = (w[0], w[1]);
                    (matrix(n_out, n_in), matrix(n_out, 1))
                })
                .collect();
            let classes = *widths.last().unwrap();
            (
                layers,
                Just(hidden),
                matrix(widths[0], batch),
                prop::collection::vec(0..classes, batch),
            )
        })
        .prop_map(|(params, hidden, x, labels)| Case {
            params,
            hidden,
            x,
            labels,
        })
}

fn matrix(rows: usize, cols: usize) -> impl Strategy<Value = Matrix> {
    prop::collection::vec(-2.0..2.0f64, rows * cols)
        .prop_map(move |data| Matrix::new(rows, cols, data).unwrap())
}

const STEP: f64 = 1e-6;
const TOLERANCE: f64 = 1e-6;

/// |a − n| / max(|a|, |n|, 0.1·max(1, |loss|)).
///
/// Relative for gradients that are not tiny. Below the floor it becomes an absolute error,
/// because the difference quotient itself carries rounding error ≈ ε·|loss| / STEP ≈
/// 2e-10·|loss| (observed: up to ~2e-9), which would swamp a purely relative measure.
fn relative_error(analytic: f64, numeric: f64, loss: f64) -> f64 {
    let floor = 0.1 * loss.abs().max(1.0);
    (analytic - numeric).abs() / analytic.abs().max(numeric.abs()).max(floor)
}

/// W (`is_bias == false`) or b of a layer.
fn param(params: &mut [(Matrix, Matrix)], layer: usize, is_bias: bool) -> &mut Matrix {
    let (w, b) = &mut params[layer];
    if is_bias {
        b
    } else {
        w
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn tape_gradients_match_central_differences(case in case()) {
        let loss_at = |params: &[(Matrix, Matrix)]| {
            mlp_loss_and_gradients(params, case.hidden, &case.x, &case.labels).unwrap().0
        };
        let mut params = case.params.clone();
        let (loss, mut grads) = mlp_loss_and_gradients(&params, case.hidden, &case.x, &case.labels)
            .unwrap();
        for layer in 0..params.len() {
            for is_bias in [false, true] {
                let tape_grad = param(&mut grads, layer, is_bias).data().to_vec();
                for (i, &analytic) in tape_grad.iter().enumerate() {
                    let original = param(&mut params, layer, is_bias).data()[i];
                    param(&mut params, layer, is_bias).data_mut()[i] = original + STEP;
                    let up = loss_at(&params);
                    param(&mut params, layer, is_bias).data_mut()[i] = original - STEP;
                    let down = loss_at(&params);
                    param(&mut params, layer, is_bias).data_mut()[i] = original;
                    let numeric = (up - down) / (2.0 * STEP);
                    let err = relative_error(analytic, numeric, loss);
                    prop_assert!(
                        err <= TOLERANCE,
                        "layer {layer} {} entry {i}: tape {analytic}, numeric {numeric}, loss {loss}, error {err}",
                        if is_bias { "db" } else { "dW" }
                    );
                }
            }
        }
    }
}
