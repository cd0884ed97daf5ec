//! The gradient check's own parts, on values worked out by hand: the relative error and its floor,
//! the comparison of two gradient sets, the step of a central difference, one central difference
//! against the closed-form gradient of softmax regression, the parameter selection, and which
//! parameter a report calls the worst.

use faer::Mat;
use mlp_core::gradcheck::{
    check_gradients, check_gradients_against, denominator_floor, max_relative_errors,
    numeric_gradient, relative_error, select_params, step, LayerGradient, Param, ParamKind,
    ParamSelection, RELATIVE_STEP, SUMMATION_FLOOR,
};
use mlp_core::{Activation, Mlp, MlpError};

#[test]
fn relative_error_by_hand() {
    // |1 − 1.1| / 1.1, the floor below both.
    assert!((relative_error(1.0, 1.1, 0.5) - 0.1 / 1.1).abs() < 1e-15);
    assert!((relative_error(-2.0, -1.5, 0.0) - 0.25).abs() < 1e-15);
    // Below the floor the comparison is absolute: |1e-5 − 2e-5| / 1e-2.
    assert!((relative_error(1e-5, 2e-5, 1e-2) - 1e-3).abs() < 1e-15);
    // A larger error than the scale: |3 − (−1)| / 3, more than 1.
    assert!((relative_error(3.0, -1.0, 0.0) - 4.0 / 3.0).abs() < 1e-15);
    // Two exact zeros agree, floor or not.
    assert_eq!(relative_error(0.0, 0.0, 0.0), 0.0);
    assert_eq!(relative_error(0.0, 0.0, 1e-3), 0.0);
    // A non-finite side on either hand is an infinite error.
    for (a, n) in [
        (f64::NAN, 1.0),
        (1.0, f64::NAN),
        (f64::INFINITY, 1.0),
        (1.0, f64::NEG_INFINITY),
        (f64::NAN, f64::NAN),
    ] {
        assert_eq!(relative_error(a, n, 0.0), f64::INFINITY, "{a} vs {n}");
    }
}

fn gradient(w: &[&[f64]], b: &[f64]) -> LayerGradient {
    (
        Mat::from_fn(w.len(), w[0].len(), |i, j| w[i][j]),
        b.to_vec(),
    )
}

#[test]
fn two_gradient_sets_compared_by_hand() {
    // Largest entry 100: the floor is 1e-3 · 100 = 0.1.
    let a = [
        gradient(&[&[100.0, 2.0], &[3.0, 4.0]], &[0.5]),
        gradient(&[&[0.01]], &[-1.0, 7.0]),
    ];
    let b = [
        gradient(&[&[100.0, 2.0], &[3.3, 4.0]], &[0.5]),
        gradient(&[&[0.02]], &[-1.0, 6.0]),
    ];
    let errors = max_relative_errors(&a, &b).unwrap();
    assert_eq!(errors.len(), 2);
    let (w0, b0) = errors[0];
    let (w1, b1) = errors[1];
    assert!((w0 - 0.3 / 3.3).abs() < 1e-12, "{w0}");
    assert_eq!(b0, 0.0);
    // 0.01 against 0.02 is compared to the floor 0.1, not to 0.02.
    assert!(
        (w1 - 0.01 / (SUMMATION_FLOOR * 100.0)).abs() < 1e-12,
        "{w1}"
    );
    assert!((b1 - 1.0 / 7.0).abs() < 1e-12, "{b1}");
    // Symmetric, and zero against itself.
    assert_eq!(max_relative_errors(&b, &a).unwrap(), errors);
    assert_eq!(
        max_relative_errors(&a, &a).unwrap(),
        vec![(0.0, 0.0), (0.0, 0.0)]
    );
    // The floor is at least 1e-3 when every entry is small: 1e-4 against 3e-4 is 2e-4 / 1e-3.
    let small = max_relative_errors(
        &[gradient(&[&[1e-4]], &[0.0])],
        &[gradient(&[&[3e-4]], &[0.0])],
    )
    .unwrap();
    assert!((small[0].0 - 0.2).abs() < 1e-12, "{small:?}");
    // Different shapes are an error, not a comparison of what happens to line up.
    let e = max_relative_errors(&a, &b[..1]).unwrap_err();
    assert!(matches!(e, MlpError::ShapeMismatch { .. }), "{e}");
    let e = max_relative_errors(&a[..1], &[gradient(&[&[1.0, 2.0]], &[0.5])]).unwrap_err();
    assert!(matches!(e, MlpError::ShapeMismatch { .. }), "{e}");
}

/// A network without hidden layers is softmax regression: ∂L/∂W = (p − y)·xᵀ / m, with p the softmax
/// of W·x + b, computed here in plain loops.
fn softmax_regression_gradient(mlp: &Mlp<f64>, x: &Mat<f64>, y: &Mat<f64>) -> Mat<f64> {
    let layer = &mlp.layers()[0];
    let (w, b) = (layer.weights(), layer.bias());
    let (k, n, m) = (w.nrows(), w.ncols(), x.ncols());
    let mut grad = Mat::<f64>::zeros(k, n);
    for j in 0..m {
        let z: Vec<f64> = (0..k)
            .map(|i| b[i] + (0..n).map(|c| w[(i, c)] * x[(c, j)]).sum::<f64>())
            .collect();
        let total: f64 = z.iter().map(|z| z.exp()).sum();
        for i in 0..k {
            let delta = z[i].exp() / total - y[(i, j)];
            for c in 0..n {
                grad[(i, c)] += delta * x[(c, j)] / m as f64;
            }
        }
    }
    grad
}

#[test]
fn one_central_difference_matches_the_closed_form() {
    let mut mlp = Mlp::<f64>::new(&[3, 4], Activation::Identity, 5).unwrap();
    let x = Mat::from_fn(3, 2, |i, j| {
        (i as f64 + 1.0) * if j == 0 { 0.5 } else { -0.3 }
    });
    let y = Mat::from_fn(4, 2, |i, j| if i == 2 * j + 1 { 1.0 } else { 0.0 });
    let expected = softmax_regression_gradient(&mlp, &x, &y);
    let before = mlp.clone();
    for row in 0..4 {
        for col in 0..3 {
            let param = Param {
                layer: 0,
                kind: ParamKind::Weight,
                row,
                col,
            };
            let numeric = numeric_gradient(&mut mlp, x.as_ref(), y.as_ref(), param).unwrap();
            let want = expected[(row, col)];
            assert!(want.abs() > 1e-3, "a gradient worth checking: {want}");
            assert!(
                (numeric - want).abs() < 1e-8,
                "W[{row}, {col}]: {numeric} vs {want}"
            );
        }
    }
    assert_eq!(mlp.layers()[0].weights(), before.layers()[0].weights());
    let outside = Param {
        layer: 1,
        kind: ParamKind::Bias,
        row: 0,
        col: 0,
    };
    let e = numeric_gradient(&mut mlp, x.as_ref(), y.as_ref(), outside).unwrap_err();
    assert!(matches!(e, MlpError::NoSuchLayer { index: 1, .. }), "{e}");
}

/// The step is absolute up to |θ| = 1 and relative beyond: 1e-6 at 0, 0.25 and −1; 2.5e-4 at
/// −250; 1e-3 at 1000.
#[test]
fn the_step_grows_with_large_parameters_only() {
    assert_eq!(RELATIVE_STEP, 1e-6);
    for theta in [0.0, 0.25, -1.0] {
        assert_eq!(step(theta), 1e-6, "step({theta})");
    }
    assert!((step(-250.0) - 2.5e-4).abs() < 1e-18, "{}", step(-250.0));
    assert!((step(1000.0) - 1e-3).abs() < 1e-18, "{}", step(1000.0));
}

/// The floor is δ / threshold with δ = 16·ε·S / 2h, the rounding noise of a central difference:
/// about 1.4e-2 for S = 2.3 and h = 1e-6 (its documentation's figure), in proportion to S and in
/// inverse proportion to h.
#[test]
fn the_floor_follows_the_rounding_noise() {
    let floor = denominator_floor(2.3, 1e-6);
    let by_hand = 16.0 * 2.220_446_049_250_313e-16 * 2.3 / 2e-6 / 3e-7;
    assert!(
        (floor - by_hand).abs() < 1e-12 * by_hand,
        "{floor} vs {by_hand}"
    );
    assert!((1.3e-2..1.4e-2).contains(&floor), "{floor}");
    assert!((denominator_floor(4.6, 1e-6) - 2.0 * floor).abs() < 1e-15);
    assert!((denominator_floor(2.3, 5e-7) - 2.0 * floor).abs() < 1e-15);
}

/// The report's rounding scale is max(1, |L|, largest |logit|): logits pushed to ±40 by large
/// output weights set it, and a small network's scale stays at 1.
#[test]
fn the_rounding_scale_is_the_largest_logit_or_loss_or_one() {
    let x = Mat::from_fn(3, 2, |i, j| {
        (i as f64 - 1.0) * if j == 0 { 1.0 } else { -1.0 }
    });
    // Both samples of class 0.
    let y = Mat::from_fn(2, 2, |i, _| if i == 0 { 1.0 } else { 0.0 });
    let mut mlp = Mlp::<f64>::new(&[3, 2], Activation::Identity, 3).unwrap();
    // z = W·x with W = [[20, 0, −20], [0, 0, 0]]: the logits of the two samples are ∓40 and 0.
    let mut w = mlp.layers_mut()[0].weights_mut();
    for col in 0..3 {
        w[(0, col)] = 20.0 * (1.0 - col as f64);
        w[(1, col)] = 0.0;
    }
    let report = check_gradients(&mut mlp, x.as_ref(), y.as_ref(), ParamSelection::All, 0).unwrap();
    let logits = mlp.logits().unwrap();
    assert_eq!((logits[(0, 0)], logits[(0, 1)]), (-40.0, 40.0));
    assert_eq!(report.rounding_scale, 40.0);
    // The loss, ½·(40 + ln(1 + e⁻⁴⁰)) + ½·ln(1 + e⁻⁴⁰) = 20 to double precision, is below the
    // largest logit.
    assert!((report.loss - 20.0).abs() < 1e-12, "{}", report.loss);

    let mut small = Mlp::<f64>::new(&[3, 2], Activation::Identity, 3).unwrap();
    let mut w = small.layers_mut()[0].weights_mut();
    for col in 0..3 {
        w[(0, col)] = 0.1;
        w[(1, col)] = -0.1;
    }
    let report =
        check_gradients(&mut small, x.as_ref(), y.as_ref(), ParamSelection::All, 0).unwrap();
    assert_eq!(report.rounding_scale, 1.0);
}

#[test]
fn kinds_are_named() {
    assert_eq!(ParamKind::Weight.name(), "weight");
    assert_eq!(ParamKind::Bias.name(), "bias");
}

#[test]
fn enough_per_layer_is_every_parameter() {
    let mlp = Mlp::<f64>::new(&[3, 4, 2], Activation::Tanh, 1).unwrap();
    let all = select_params(&mlp, &ParamSelection::All, 0).unwrap();
    assert_eq!(all.len(), mlp.n_params());
    // Layer 0's weights come first, column by column, then its biases, then layer 1's.
    let weight = |layer, row, col| Param {
        layer,
        kind: ParamKind::Weight,
        row,
        col,
    };
    assert_eq!(
        all[..5],
        [
            weight(0, 0, 0),
            weight(0, 1, 0),
            weight(0, 2, 0),
            weight(0, 3, 0),
            weight(0, 0, 1)
        ]
    );
    assert_eq!(
        all[12],
        Param {
            layer: 0,
            kind: ParamKind::Bias,
            row: 0,
            col: 0
        }
    );
    assert_eq!(all[16], weight(1, 0, 0));
    for n in [12, 13, 1000] {
        assert_eq!(
            select_params(&mlp, &ParamSelection::PerLayer(n), 9).unwrap(),
            all,
            "PerLayer({n})"
        );
    }
    // A parameter outside a layer names the index and the smallest shape that would hold it.
    for (row, col, found) in [
        (7, 1, (8, 2)),
        (0, 3, (1, 4)),
        (usize::MAX, 0, (usize::MAX, 1)),
    ] {
        let outside = ParamSelection::Only(vec![weight(0, row, col)]);
        match select_params(&mlp, &outside, 0).unwrap_err() {
            MlpError::ShapeMismatch {
                what,
                expected,
                found: got,
            } => {
                assert_eq!((expected, got), ((4, 3), found), "{what}");
                assert!(what.contains(&format!("({row}, {col})")), "{what}");
            }
            e => panic!("{e}"),
        }
    }
    // Fewer than a layer has: that many per weight matrix and per bias, all distinct.
    let some = select_params(&mlp, &ParamSelection::PerLayer(3), 9).unwrap();
    assert_eq!(some.len(), 3 + 3 + 3 + 2);
    let mut distinct = some.clone();
    distinct.dedup();
    assert_eq!(distinct, some);
}

#[test]
fn the_first_of_equal_errors_is_the_worst() {
    // With a zero input, the first layer's weight gradients are exactly zero by both methods: a tie.
    let mut mlp = Mlp::<f64>::new(&[2, 3, 2], Activation::Sigmoid, 3).unwrap();
    let x = Mat::<f64>::zeros(2, 1);
    let y = Mat::from_fn(2, 1, |i, _| if i == 0 { 1.0 } else { 0.0 });
    let analytic: Vec<LayerGradient> = mlp
        .layers()
        .iter()
        .map(|l| (Mat::zeros(l.n_out(), l.n_in()), vec![0.0; l.n_out()]))
        .collect();
    let weight = |row, col| Param {
        layer: 0,
        kind: ParamKind::Weight,
        row,
        col,
    };
    let params = vec![weight(2, 1), weight(0, 0), weight(1, 1)];
    let report = check_gradients_against(
        &mut mlp,
        x.as_ref(),
        y.as_ref(),
        &analytic,
        ParamSelection::Only(params),
        0,
    )
    .unwrap();
    assert_eq!(report.checked, 3);
    assert_eq!(report.worst.relative_error, 0.0);
    assert_eq!(report.worst.param, weight(2, 1));
    assert_eq!(
        report.per_layer[0].worst_weight.unwrap().param,
        weight(2, 1)
    );
    assert!(report.passed());
}
