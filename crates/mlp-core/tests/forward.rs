//! The forward pass against values worked out by hand, and the shape checks of every entry point.

use faer::{mat, Mat};
use mlp_core::{Activation, Layer, Mlp, MlpError};

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// A 2-3-2 net with fixed weights: hidden sigmoid, then softmax.
fn tiny_net() -> Mlp<f64> {
    let hidden = Layer::new(
        mat![[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6]].as_ref(),
        &[0.01, 0.02, -0.03],
        Activation::Sigmoid,
    )
    .unwrap();
    let output = Layer::new(
        mat![[0.7, -0.8, 0.9], [-1.0, 1.1, -1.2]].as_ref(),
        &[0.05, -0.05],
        Activation::Identity,
    )
    .unwrap();
    Mlp::from_layers(vec![hidden, output]).unwrap()
}

#[test]
fn forward_matches_hand_computation() {
    let mut mlp = tiny_net();
    // Two samples as columns: (1, 2) and (-1, 0.5).
    let x = mat![[1.0, -1.0], [2.0, 0.5]];
    let p = mlp.propagate(x.as_ref()).unwrap().to_owned();
    for j in 0..2 {
        let (x0, x1) = (x[(0, j)], x[(1, j)]);
        // Hidden: h_i = σ(W1[i,0]·x0 + W1[i,1]·x1 + b1[i]).
        let h = [
            sigmoid(0.1 * x0 + 0.2 * x1 + 0.01),
            sigmoid(-0.3 * x0 + 0.4 * x1 + 0.02),
            sigmoid(0.5 * x0 - 0.6 * x1 - 0.03),
        ];
        // Logits, then softmax.
        let z0 = 0.7 * h[0] - 0.8 * h[1] + 0.9 * h[2] + 0.05;
        let z1 = -h[0] + 1.1 * h[1] - 1.2 * h[2] - 0.05;
        let p0 = z0.exp() / (z0.exp() + z1.exp());
        for (i, h) in h.into_iter().enumerate() {
            assert!(
                (mlp.activations(0).unwrap()[(i, j)] - h).abs() < 1e-15,
                "hidden unit {i}"
            );
        }
        assert!((mlp.logits().unwrap()[(0, j)] - z0).abs() < 1e-15);
        assert!((mlp.activations(1).unwrap()[(1, j)] - z1).abs() < 1e-15);
        assert!(
            (p[(0, j)] - p0).abs() < 1e-15,
            "sample {j}: {} vs {p0}",
            p[(0, j)]
        );
        assert!((p[(1, j)] - (1.0 - p0)).abs() < 1e-15);
    }
    // Sample 0: z0 − z1 > 0 (worked out above), so class 0; sample 1 likewise by the same numbers.
    let classes = mlp.predict(x.as_ref()).unwrap();
    let expected: Vec<usize> = (0..2)
        .map(|j| if p[(0, j)] > p[(1, j)] { 0 } else { 1 })
        .collect();
    assert_eq!(classes, expected);
}

#[test]
fn f32_forward_agrees_with_f64() {
    let sizes = [5, 7, 4, 3];
    for activation in Activation::ALL {
        let mut wide = Mlp::<f64>::new(&sizes, activation, 9).unwrap();
        let mut narrow = Mlp::<f32>::new(&sizes, activation, 9).unwrap();
        let x64 = Mat::from_fn(5, 6, |i, j| ((i * 7 + j * 3) % 11) as f64 / 11.0);
        let x32 = Mat::from_fn(5, 6, |i, j| x64[(i, j)] as f32);
        let p64 = wide.propagate(x64.as_ref()).unwrap().to_owned();
        let p32 = narrow.propagate(x32.as_ref()).unwrap();
        for j in 0..6 {
            for i in 0..3 {
                assert!(
                    (p64[(i, j)] - p32[(i, j)] as f64).abs() < 1e-6,
                    "{activation:?}"
                );
            }
        }
    }
}

#[test]
fn same_seed_same_bits_other_seed_other_weights() {
    let a = Mlp::<f32>::new(&[784, 150, 10], Activation::Sigmoid, 7).unwrap();
    let b = Mlp::<f32>::new(&[784, 150, 10], Activation::Sigmoid, 7).unwrap();
    let c = Mlp::<f32>::new(&[784, 150, 10], Activation::Sigmoid, 8).unwrap();
    let bits = |m: &Mlp<f32>| -> Vec<u32> {
        m.layers()
            .iter()
            .flat_map(|l| {
                let w = l.weights();
                (0..w.ncols()).flat_map(move |j| (0..w.nrows()).map(move |i| w[(i, j)].to_bits()))
            })
            .collect()
    };
    assert_eq!(bits(&a), bits(&b));
    assert_ne!(bits(&a), bits(&c));
    // Glorot bound √(6 / (784 + 150)) ≈ 0.0801 for the first layer.
    let w = a.layers()[0].weights();
    let max = (0..784)
        .flat_map(|j| (0..150).map(move |i| (i, j)))
        .map(|(i, j)| w[(i, j)].abs())
        .fold(0.0, f32::max);
    assert!(max < 0.0802 && max > 0.079, "{max}");
}

#[test]
fn one_sgd_step_lowers_the_loss() {
    for activation in Activation::ALL {
        let mut mlp = Mlp::<f64>::new(&[6, 5, 4, 3], activation, 3).unwrap();
        let x = Mat::from_fn(6, 8, |i, j| ((i + 2 * j) % 5) as f64 / 5.0 - 0.4);
        let y = Mat::from_fn(3, 8, |i, j| if i == j % 3 { 1.0 } else { 0.0 });
        mlp.propagate(x.as_ref()).unwrap();
        let before = mlp.loss(y.as_ref()).unwrap();
        mlp.backpropagate(x.as_ref(), y.as_ref()).unwrap();
        mlp.update_params(0.1).unwrap();
        mlp.propagate(x.as_ref()).unwrap();
        let after = mlp.loss(y.as_ref()).unwrap();
        assert!(after < before, "{activation:?}: {before} -> {after}");
    }
}

/// Batches of 1, 2, 3 … 6 samples through one network, each growing its buffers, give what a
/// fresh network gives each batch.
#[test]
fn growing_batches_give_what_a_fresh_network_gives() {
    let mut mlp = Mlp::<f64>::new(&[3, 5, 10], Activation::Sigmoid, 2).unwrap();
    let x = Mat::from_fn(3, 6, |i, j| ((i * 7 + j * 3) % 5) as f64 - 2.0);
    for m in 1..=6 {
        let batch = x.as_ref().subcols(0, m);
        let p = mlp.propagate(batch).unwrap().to_owned();
        let mut fresh = Mlp::<f64>::new(&[3, 5, 10], Activation::Sigmoid, 2).unwrap();
        assert_eq!(
            p,
            fresh.propagate(batch).unwrap().to_owned(),
            "batch of {m}"
        );
        assert_eq!(p.shape(), (10, m));
    }
}

#[test]
fn a_smaller_last_batch_reuses_the_buffers() {
    let mut mlp = Mlp::<f64>::new(&[3, 4, 2], Activation::Tanh, 1).unwrap();
    let big = Mat::from_fn(3, 5, |i, j| (i as f64 - j as f64) / 3.0);
    let small = big.as_ref().subcols(0, 2).to_owned();
    let p_big = mlp.propagate(big.as_ref()).unwrap().to_owned();
    let p_small = mlp.propagate(small.as_ref()).unwrap().to_owned();
    assert_eq!(p_small.shape(), (2, 2));
    for j in 0..2 {
        for i in 0..2 {
            assert_eq!(p_small[(i, j)], p_big[(i, j)]);
        }
    }
}

#[test]
fn softmax_regression_and_width_one_work() {
    let mut regression = Mlp::<f64>::new(&[3, 2], Activation::Sigmoid, 0).unwrap();
    assert_eq!(regression.layers().len(), 1);
    assert_eq!(regression.layers()[0].activation(), Activation::Identity);
    let x = Mat::from_fn(3, 2, |i, j| (i + j) as f64);
    assert_eq!(regression.propagate(x.as_ref()).unwrap().shape(), (2, 2));
    let mut narrow = Mlp::<f64>::new(&[3, 1, 1, 2], Activation::Relu, 0).unwrap();
    assert_eq!(narrow.propagate(x.as_ref()).unwrap().shape(), (2, 2));
}

#[track_caller]
fn assert_shape_error<T: std::fmt::Debug>(result: Result<T, MlpError>, what: &str) {
    match result {
        Err(MlpError::ShapeMismatch { what: w, .. }) => {
            assert!(w.contains(what), "{w} should name {what}")
        }
        other => panic!("expected a shape error naming {what}, got {other:?}"),
    }
}

#[test]
fn every_entry_point_checks_shapes() {
    let mut mlp = Mlp::<f64>::new(&[4, 3, 2], Activation::Sigmoid, 0).unwrap();
    let x = Mat::<f64>::zeros(4, 5);
    let y = Mat::<f64>::zeros(2, 5);
    assert_shape_error(mlp.propagate(Mat::<f64>::zeros(3, 5).as_ref()), "layer 0");
    assert!(matches!(
        mlp.propagate(Mat::<f64>::zeros(4, 0).as_ref()),
        Err(MlpError::EmptyBatch { .. })
    ));
    assert!(matches!(mlp.loss(y.as_ref()), Err(MlpError::NoForwardPass)));
    assert!(matches!(mlp.activations(0), Err(MlpError::NoForwardPass)));
    assert!(matches!(
        mlp.backpropagate(x.as_ref(), y.as_ref()),
        Err(MlpError::NoForwardPass)
    ));
    mlp.propagate(x.as_ref()).unwrap();
    assert_shape_error(mlp.loss(Mat::<f64>::zeros(3, 5).as_ref()), "targets");
    assert_shape_error(
        mlp.backpropagate(x.as_ref(), Mat::<f64>::zeros(2, 4).as_ref()),
        "targets",
    );
    let other = Mat::<f64>::zeros(4, 5);
    assert!(matches!(
        mlp.backpropagate(other.as_ref(), y.as_ref()),
        Err(MlpError::InputChanged { .. })
    ));
    assert!(matches!(
        mlp.gradient_weights(2),
        Err(MlpError::NoSuchLayer {
            index: 2,
            n_layers: 2
        })
    ));
    assert!(matches!(
        mlp.activations(2),
        Err(MlpError::NoSuchLayer { index: 2, .. })
    ));
    assert!(matches!(
        mlp.gradient_bias(9),
        Err(MlpError::NoSuchLayer { .. })
    ));
    assert_shape_error(mlp.error_rate(x.as_ref(), &[0u8; 4]), "labels");
    assert!(matches!(
        mlp.error_rate(x.as_ref(), &[0u8, 1, 2, 0, 0]),
        Err(MlpError::LabelOutOfRange { index: 2, .. })
    ));
    assert_shape_error(mlp.predictions_into(&mut [0; 3]), "predictions");
    for lr in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            mlp.update_params(lr),
            Err(MlpError::InvalidHyperParameter { .. })
        ));
    }
    assert_shape_error(
        Layer::new(
            Mat::<f64>::zeros(3, 4).as_ref(),
            &[0.0; 2],
            Activation::Tanh,
        ),
        "bias",
    );
    let a = Layer::new(
        Mat::<f64>::zeros(3, 4).as_ref(),
        &[0.0; 3],
        Activation::Tanh,
    )
    .unwrap();
    let b = Layer::new(
        Mat::<f64>::zeros(2, 5).as_ref(),
        &[0.0; 2],
        Activation::Identity,
    )
    .unwrap();
    assert_shape_error(Mlp::from_layers(vec![a, b]), "layer 1 input");
    for sizes in [&[][..], &[4], &[4, 0, 2]] {
        assert!(matches!(
            Mlp::<f64>::new(sizes, Activation::Sigmoid, 0),
            Err(MlpError::InvalidSizes { .. })
        ));
    }
}

#[test]
fn nan_input_gives_nan_output_not_a_panic() {
    for activation in Activation::ALL {
        let mut mlp = Mlp::<f32>::new(&[3, 4, 2], activation, 0).unwrap();
        let x = Mat::from_fn(3, 2, |i, j| if i == 1 && j == 0 { f32::NAN } else { 0.5 });
        let p = mlp.propagate(x.as_ref()).unwrap();
        assert!(p[(0, 0)].is_nan(), "{activation:?}");
        assert!(p[(0, 1)].is_finite(), "{activation:?}");
    }
}

/// The practical work's review question, counted by hand: 784·100 + 100, 100·200 + 200,
/// 200·50 + 50, 50·10 + 10.
#[test]
fn parameters_are_counted_as_by_hand() {
    let mlp = Mlp::<f32>::new(&[784, 100, 200, 50, 10], Activation::Sigmoid, 0).unwrap();
    let per_layer: Vec<usize> = mlp.layers().iter().map(Layer::n_params).collect();
    assert_eq!(per_layer, [78_500, 20_200, 10_050, 510]);
    assert_eq!(mlp.n_params(), 109_260);
    assert_eq!(mlp.sizes(), [784, 100, 200, 50, 10]);
    assert_eq!((mlp.n_inputs(), mlp.n_classes()), (784, 10));
}

/// Initial weights are uniform in ±√(6 / fan): Glorot (fan = n_in + n_out) for sigmoid, tanh and
/// identity, He (fan = n_in / 2) for ReLU; biases start at zero. With 80 000 draws the largest
/// magnitude comes within 0.1 % of the limit.
#[test]
fn initial_weights_fill_the_glorot_or_he_range() {
    let (n_in, n_out) = (400, 200);
    for activation in Activation::ALL {
        let mlp = Mlp::<f64>::new(&[n_in, n_out, 10], activation, 5).unwrap();
        let layer = &mlp.layers()[0];
        let fan = match activation {
            Activation::Relu => n_in as f64 / 2.0,
            _ => (n_in + n_out) as f64,
        };
        let limit = (6.0 / fan).sqrt();
        let w = layer.weights();
        let largest = (0..n_in)
            .flat_map(|j| (0..n_out).map(move |i| w[(i, j)].abs()))
            .fold(0.0, f64::max);
        assert!(
            largest < limit && largest > 0.999 * limit,
            "{activation:?}: largest |w| {largest}, limit {limit}"
        );
        assert!(layer.bias().iter().all(|&b| b == 0.0), "{activation:?}");
    }
}
