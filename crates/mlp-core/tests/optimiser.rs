//! The optimisers against a reference: plain f64 loops written here, sharing no code with mlp-core,
//! for plain SGD (`update_params`), momentum, weight decay on weights only, and every learning-rate
//! schedule; over random shapes, rates and several steps, including the velocity carried through a
//! checkpoint (copied out, and restored into a fresh optimiser).

use faer::Mat;
use mlp_core::{Activation, LrSchedule, Mlp, MlpError, Sgd};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The reference and mlp-core compute the same expressions in f64; only a reordering of the
/// additions could separate them, by a few units in the last place.
const TOLERANCE: f64 = 1e-12;

/// One layer's parameters (or velocities, or gradients): `w[i][j]` is row i, column j.
#[derive(Debug, Clone, PartialEq)]
struct Tensors {
    w: Vec<Vec<f64>>,
    b: Vec<f64>,
}

/// The reference optimiser: PyTorch's SGD, written from its definition.
///
/// Plain (μ = λ = 0): θ ← θ − η·g, and the velocity stays zero
/// Otherwise:  v ← μ·v + g + λ·θ (λ for weights only, never biases),  θ ← θ − η·v
struct ReferenceSgd {
    momentum: f64,
    weight_decay: f64,
    velocity: Vec<Tensors>,
}

impl ReferenceSgd {
    fn new(params: &[Tensors], momentum: f64, weight_decay: f64) -> Self {
        let velocity = params
            .iter()
            .map(|p| Tensors {
                w: p.w.iter().map(|row| vec![0.0; row.len()]).collect(),
                b: vec![0.0; p.b.len()],
            })
            .collect();
        Self {
            momentum,
            weight_decay,
            velocity,
        }
    }

    fn step(&mut self, params: &mut [Tensors], grads: &[Tensors], lr: f64) {
        if self.momentum == 0.0 && self.weight_decay == 0.0 {
            // Plain SGD: the velocity is not kept (it would only copy the gradient).
            return reference_plain_step(params, grads, lr);
        }
        for ((p, g), v) in params.iter_mut().zip(grads).zip(&mut self.velocity) {
            for i in 0..p.w.len() {
                for j in 0..p.w[i].len() {
                    v.w[i][j] =
                        self.momentum * v.w[i][j] + g.w[i][j] + self.weight_decay * p.w[i][j];
                    p.w[i][j] -= lr * v.w[i][j];
                }
                v.b[i] = self.momentum * v.b[i] + g.b[i];
                p.b[i] -= lr * v.b[i];
            }
        }
    }
}

fn reference_plain_step(params: &mut [Tensors], grads: &[Tensors], lr: f64) {
    for (p, g) in params.iter_mut().zip(grads) {
        for i in 0..p.w.len() {
            for j in 0..p.w[i].len() {
                p.w[i][j] -= lr * g.w[i][j];
            }
            p.b[i] -= lr * g.b[i];
        }
    }
}

/// The reference schedules, from their definitions: step divides by 10 once half of the epochs
/// are done and again at three quarters; cosine follows half a cosine period from the base rate to
/// 0, sampled at the middle of each epoch.
fn reference_rate(schedule: LrSchedule, base: f64, epoch: usize, n_epochs: usize) -> f64 {
    let done = epoch as f64 / n_epochs.max(1) as f64;
    match schedule {
        LrSchedule::Constant => base,
        LrSchedule::Step if done >= 0.75 => base / 100.0,
        LrSchedule::Step if done >= 0.5 => base / 10.0,
        LrSchedule::Step => base,
        LrSchedule::Cosine => {
            let middle = (epoch as f64 + 0.5) / n_epochs.max(1) as f64;
            base * (1.0 + (std::f64::consts::PI * middle).cos()) / 2.0
        }
    }
}

fn tensors(rows: usize, cols: usize, at: impl Fn(usize, usize) -> f64, bias: &[f64]) -> Tensors {
    Tensors {
        w: (0..rows)
            .map(|i| (0..cols).map(|j| at(i, j)).collect())
            .collect(),
        b: bias.to_vec(),
    }
}

fn params_of(mlp: &Mlp<f64>) -> Vec<Tensors> {
    mlp.layers()
        .iter()
        .map(|l| {
            let w = l.weights();
            tensors(w.nrows(), w.ncols(), |i, j| w[(i, j)], l.bias())
        })
        .collect()
}

fn grads_of(mlp: &Mlp<f64>) -> Vec<Tensors> {
    (0..mlp.layers().len())
        .map(|l| {
            let g = mlp.gradient_weights(l).unwrap();
            tensors(
                g.nrows(),
                g.ncols(),
                |i, j| g[(i, j)],
                mlp.gradient_bias(l).unwrap(),
            )
        })
        .collect()
}

fn velocity_of(sgd: &Sgd<f64>) -> Vec<Tensors> {
    sgd.velocity()
        .into_iter()
        .map(|(w, b)| tensors(w.nrows(), w.ncols(), |i, j| w[(i, j)], b))
        .collect()
}

fn assert_close(actual: &[Tensors], expected: &[Tensors], what: &str) {
    for (l, (a, e)) in actual.iter().zip(expected).enumerate() {
        let pairs =
            a.w.iter()
                .flatten()
                .zip(e.w.iter().flatten())
                .map(|(a, e)| ("weight", a, e))
                .chain(a.b.iter().zip(&e.b).map(|(a, e)| ("bias", a, e)));
        for (kind, a, e) in pairs {
            assert!(
                (a - e).abs() <= TOLERANCE * e.abs().max(1.0),
                "{what}, layer {l} {kind}: {a} against the reference's {e}"
            );
        }
    }
    assert_eq!(actual.len(), expected.len(), "{what}: number of layers");
}

/// A random network with random biases (so that weight decay on biases would show), a batch and
/// its one-hot targets.
fn case(
    sizes: &[usize],
    activation: Activation,
    batch: usize,
    seed: u64,
) -> (Mlp<f64>, Mat<f64>, Mat<f64>) {
    let mut mlp = Mlp::new(sizes, activation, seed).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0971);
    for layer in mlp.layers_mut() {
        for b in layer.bias_mut() {
            *b = rng.random_range(-1.0..1.0);
        }
    }
    let x = Mat::from_fn(sizes[0], batch, |_, _| rng.random_range(-2.0..2.0));
    let classes = sizes[sizes.len() - 1];
    let labels: Vec<usize> = (0..batch).map(|_| rng.random_range(0..classes)).collect();
    let y = Mat::from_fn(classes, batch, |i, j| f64::from(u8::from(labels[j] == i)));
    (mlp, x, y)
}

fn gradients(mlp: &mut Mlp<f64>, x: &Mat<f64>, y: &Mat<f64>) {
    mlp.propagate(x.as_ref()).unwrap();
    mlp.backpropagate(x.as_ref(), y.as_ref()).unwrap();
}

/// Inputs, hidden widths (0 to 3 of them) and classes.
fn sizes() -> impl Strategy<Value = Vec<usize>> {
    (1usize..7, prop::collection::vec(1usize..9, 0..4), 2usize..6).prop_map(
        |(inputs, hidden, classes)| {
            std::iter::once(inputs)
                .chain(hidden)
                .chain(std::iter::once(classes))
                .collect()
        },
    )
}

fn activation() -> impl Strategy<Value = Activation> {
    prop::sample::select(Activation::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// `Sgd::step` with momentum and weight decay, over several steps.
    #[test]
    fn sgd_with_momentum_and_weight_decay_follows_the_reference(
        sizes in sizes(),
        activation in activation(),
        batch in 1usize..6,
        momentum in 0.0..0.99f64,
        weight_decay in 0.0..0.5f64,
        lr in 1e-3..1.0f64,
        steps in 1usize..5,
        seed in any::<u64>(),
    ) {
        let (mut mlp, x, y) = case(&sizes, activation, batch, seed);
        let mut sgd = Sgd::new(&mlp, momentum, weight_decay).unwrap();
        let mut expected = params_of(&mlp);
        let mut reference = ReferenceSgd::new(&expected, momentum, weight_decay);
        for step in 0..steps {
            gradients(&mut mlp, &x, &y);
            reference.step(&mut expected, &grads_of(&mlp), lr);
            sgd.step(&mut mlp, lr).unwrap();
            assert_close(&params_of(&mlp), &expected, &format!("parameters after step {step}"));
            assert_close(&velocity_of(&sgd), &reference.velocity, &format!("velocity after step {step}"));
        }
    }

    /// `Mlp::update_params` (the practical work's update) is plain SGD.
    #[test]
    fn update_params_follows_the_reference(
        sizes in sizes(),
        activation in activation(),
        batch in 1usize..6,
        lr in 1e-3..1.0f64,
        steps in 1usize..4,
        seed in any::<u64>(),
    ) {
        let (mut mlp, x, y) = case(&sizes, activation, batch, seed);
        let mut expected = params_of(&mlp);
        for step in 0..steps {
            gradients(&mut mlp, &x, &y);
            reference_plain_step(&mut expected, &grads_of(&mlp), lr);
            mlp.update_params(lr).unwrap();
            assert_close(&params_of(&mlp), &expected, &format!("parameters after step {step}"));
        }
    }

    /// A checkpoint keeps the velocity: an optimiser rebuilt from the copied velocity continues
    /// exactly as the uninterrupted reference does.
    #[test]
    fn velocity_survives_a_checkpoint_round_trip(
        sizes in sizes(),
        batch in 1usize..6,
        momentum in 0.1..0.99f64,
        weight_decay in 0.0..0.5f64,
        lr in 1e-3..0.5f64,
        seed in any::<u64>(),
    ) {
        let (mut mlp, x, y) = case(&sizes, Activation::Tanh, batch, seed);
        let mut sgd = Sgd::new(&mlp, momentum, weight_decay).unwrap();
        let mut expected = params_of(&mlp);
        let mut reference = ReferenceSgd::new(&expected, momentum, weight_decay);
        for _ in 0..2 {
            gradients(&mut mlp, &x, &y);
            reference.step(&mut expected, &grads_of(&mlp), lr);
            sgd.step(&mut mlp, lr).unwrap();
        }
        let saved: Vec<(Mat<f64>, Vec<f64>)> =
            sgd.velocity().into_iter().map(|(w, b)| (w.to_owned(), b.to_vec())).collect();
        let saved: Vec<_> = saved.iter().map(|(w, b)| (w.as_ref(), &b[..])).collect();
        let mut resumed = Sgd::new(&mlp, momentum, weight_decay).unwrap();
        resumed.set_velocity(&saved).unwrap();
        for step in 0..2 {
            gradients(&mut mlp, &x, &y);
            reference.step(&mut expected, &grads_of(&mlp), lr);
            resumed.step(&mut mlp, lr).unwrap();
            assert_close(&params_of(&mlp), &expected, &format!("parameters after resumed step {step}"));
        }
        assert_close(&velocity_of(&resumed), &reference.velocity, "velocity after resuming");
    }

    /// Every schedule, every epoch of runs of any length.
    #[test]
    fn schedules_follow_the_reference(
        base in 1e-4..10.0f64,
        n_epochs in 1usize..200,
    ) {
        for schedule in LrSchedule::ALL {
            for epoch in 0..n_epochs {
                let (rate, expected) = (schedule.rate(base, epoch, n_epochs), reference_rate(schedule, base, epoch, n_epochs));
                prop_assert!(
                    (rate - expected).abs() <= 1e-12 * base,
                    "{} epoch {epoch} of {n_epochs}: {rate} against {expected}", schedule.name()
                );
            }
        }
    }
}

/// Values worked out by hand, so that the reference itself is checked.
#[test]
fn the_reference_on_hand_worked_values() {
    // One weight 2 and one bias 2, both with gradient 1; μ = 0.5, λ = 0.1, η = 0.1.
    let mut params = vec![Tensors {
        w: vec![vec![2.0]],
        b: vec![2.0],
    }];
    let grads = vec![Tensors {
        w: vec![vec![1.0]],
        b: vec![1.0],
    }];
    let mut sgd = ReferenceSgd::new(&params, 0.5, 0.1);
    sgd.step(&mut params, &grads, 0.1);
    // v_w = 1 + 0.1·2 = 1.2, w = 2 − 0.12 = 1.88; v_b = 1 (no decay), b = 1.9.
    assert_close(
        &params,
        &[Tensors {
            w: vec![vec![1.88]],
            b: vec![1.9],
        }],
        "first step",
    );
    sgd.step(&mut params, &grads, 0.1);
    // v_w = 0.6 + 1 + 0.188 = 1.788, w = 1.88 − 0.1788; v_b = 0.5 + 1 = 1.5, b = 1.9 − 0.15.
    assert_close(
        &params,
        &[Tensors {
            w: vec![vec![1.7012]],
            b: vec![1.75],
        }],
        "second step",
    );

    // Cosine over 2 epochs: (1 + cos(π/4)) / 2 and (1 + cos(3π/4)) / 2.
    let half_sqrt2 = std::f64::consts::FRAC_1_SQRT_2 / 2.0;
    assert!((reference_rate(LrSchedule::Cosine, 1.0, 0, 2) - (0.5 + half_sqrt2)).abs() < 1e-15);
    assert!((reference_rate(LrSchedule::Cosine, 1.0, 1, 2) - (0.5 - half_sqrt2)).abs() < 1e-15);
    // Step over 4 epochs: 1, 1, 0.1, 0.01.
    let steps: Vec<f64> = (0..4)
        .map(|e| reference_rate(LrSchedule::Step, 1.0, e, 4))
        .collect();
    assert_eq!(steps, [1.0, 1.0, 0.1, 0.01]);
}

/// A network of one weight and one bias, so that `Sgd` itself is checked on the values above.
#[test]
fn sgd_on_hand_worked_values() {
    let layer = mlp_core::Layer::new(
        Mat::from_fn(2, 1, |i, _| [2.0, -1.0][i]).as_ref(),
        &[2.0, 0.5],
        Activation::Identity,
    )
    .unwrap();
    let mut mlp = Mlp::from_layers(vec![layer]).unwrap();
    let mut sgd = Sgd::new(&mlp, 0.5, 0.1).unwrap();
    // x = 0 makes both logits the biases: p = softmax(2, 0.5), target class 1, so g_b = p − y and g_w = 0.
    let x = Mat::from_fn(1, 1, |_, _| 0.0);
    let y = Mat::from_fn(2, 1, |i, _| [0.0, 1.0][i]);
    gradients(&mut mlp, &x, &y);
    let p0 = 1.0 / (1.0 + (-1.5f64).exp());
    sgd.step(&mut mlp, 0.1).unwrap();
    let w = mlp.layers()[0].weights();
    let b = mlp.layers()[0].bias();
    // Weights: no gradient, decay only: v = 0.1·w, w ← w − 0.01·w.
    assert!((w[(0, 0)] - 1.98).abs() < 1e-15 && (w[(1, 0)] + 0.99).abs() < 1e-15);
    // Biases: v = g = p − y, no decay: g₀ = p₀, g₁ = (1 − p₀) − 1 = −p₀.
    assert!((b[0] - (2.0 - 0.1 * p0)).abs() < 1e-15, "{}", b[0]);
    assert!((b[1] - (0.5 + 0.1 * p0)).abs() < 1e-15, "{}", b[1]);
}

#[test]
fn bad_hyper_parameters_are_refused_by_name() {
    let mlp = Mlp::<f64>::new(&[3, 2], Activation::Relu, 0).unwrap();
    // The edges of the valid ranges are accepted.
    assert!(Sgd::new(&mlp, 0.0, 0.0).is_ok());
    assert!(Sgd::new(&mlp, 0.999, 1e9).is_ok());
    for (momentum, weight_decay, field) in [
        (1.0, 0.0, "momentum"),
        (-0.1, 0.0, "momentum"),
        (f64::NAN, 0.0, "momentum"),
        (0.5, -1e-9, "weight decay"),
        (0.5, f64::INFINITY, "weight decay"),
        (0.5, f64::NAN, "weight decay"),
    ] {
        match Sgd::new(&mlp, momentum, weight_decay) {
            Err(MlpError::InvalidHyperParameter { name, .. }) => assert_eq!(name, field),
            other => panic!("momentum {momentum}, weight decay {weight_decay}: {other:?}"),
        }
    }
    let mut mlp = mlp;
    let mut sgd = Sgd::new(&mlp, 0.5, 0.0).unwrap();
    for lr in [0.0, -0.1, f64::NAN, f64::INFINITY] {
        let before = params_of(&mlp);
        assert!(
            matches!(
                sgd.step(&mut mlp, lr),
                Err(MlpError::InvalidHyperParameter {
                    name: "learning rate",
                    ..
                })
            ),
            "lr {lr}"
        );
        assert!(
            matches!(
                mlp.update_params(lr),
                Err(MlpError::InvalidHyperParameter {
                    name: "learning rate",
                    ..
                })
            ),
            "lr {lr}"
        );
        assert_eq!(params_of(&mlp), before, "a refused step changes nothing");
    }
}

#[test]
fn an_optimiser_built_for_another_network_is_refused() {
    let small = Mlp::<f64>::new(&[3, 2, 2], Activation::Relu, 0).unwrap();
    let mut sgd = Sgd::new(&small, 0.9, 0.0).unwrap();
    // Another depth, another first layer, and a first layer that fits followed by one that does not.
    for sizes in [&[3, 2, 2, 2][..], &[4, 2, 2], &[3, 2, 3]] {
        let mut other = Mlp::<f64>::new(sizes, Activation::Relu, 0).unwrap();
        let before = params_of(&other);
        assert!(
            matches!(
                sgd.step(&mut other, 0.1),
                Err(MlpError::InvalidSizes { .. })
            ),
            "{sizes:?}"
        );
        assert_eq!(params_of(&other), before);
    }
}

/// Velocities of another network are refused, changing nothing: another number of layers, a layer's
/// weights transposed, a bias of another length; velocities shaped like the parameters are taken
/// and read back as given.
#[test]
fn velocities_shaped_for_another_network_are_refused() {
    let mlp = Mlp::<f64>::new(&[3, 4, 2], Activation::Relu, 0).unwrap();
    let mut sgd = Sgd::new(&mlp, 0.9, 0.0).unwrap();
    let shaped = |shapes: &[(usize, usize)]| -> Vec<(Mat<f64>, Vec<f64>)> {
        shapes
            .iter()
            .map(|&(rows, cols)| {
                let w = Mat::from_fn(rows, cols, |i, j| (i * 10 + j) as f64);
                (w, (0..rows).map(|i| -(i as f64)).collect())
            })
            .collect()
    };
    fn views(v: &[(Mat<f64>, Vec<f64>)]) -> Vec<(faer::MatRef<'_, f64>, &[f64])> {
        v.iter().map(|(w, b)| (w.as_ref(), &b[..])).collect()
    }
    for wrong in [
        vec![(4, 3)],
        vec![(4, 3), (2, 4), (2, 2)],
        vec![(3, 4), (2, 4)],
    ] {
        let wrong = shaped(&wrong);
        assert!(sgd.set_velocity(&views(&wrong)).is_err(), "{wrong:?}");
        assert!(velocity_of(&sgd)
            .iter()
            .flat_map(|t| t.w.iter().flatten())
            .all(|&v| v == 0.0));
    }
    let mut short_bias = shaped(&[(4, 3), (2, 4)]);
    short_bias[1].1.pop();
    let refused = sgd.set_velocity(&views(&short_bias)).unwrap_err();
    assert!(
        refused.to_string().contains("velocity of layer 1 bias"),
        "{refused}"
    );
    let right = shaped(&[(4, 3), (2, 4)]);
    sgd.set_velocity(&views(&right)).unwrap();
    for ((w, b), (vw, vb)) in right.iter().zip(sgd.velocity()) {
        assert!(vw == w.as_ref() && vb == &b[..]);
    }
}

/// Without momentum or weight decay, `Sgd::step` is `θ ← θ − η·g` to the bit — the same values as
/// `Mlp::update_params` and as the velocity form `v ← 0·v + g + 0·θ`, `θ ← θ − η·v` — on an `f32`
/// net trained inside `par::in_pool`, and it leaves the velocity at zero.
#[test]
fn plain_sgd_is_update_params_to_the_bit_and_keeps_no_velocity() {
    let sizes = [784, 150, 10];
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let x = Mat::<f32>::from_fn(784, 64, |_, _| rng.random_range(0.0..1.0));
    let y = Mat::<f32>::from_fn(10, 64, |i, j| f32::from(u8::from(i == j % 10)));
    let mut by_sgd = Mlp::<f32>::new(&sizes, Activation::Sigmoid, 3).unwrap();
    let mut by_update_params = by_sgd.clone();
    let mut sgd = Sgd::new(&by_sgd, 0.0, 0.0).unwrap();
    // The velocity form, written out on the gradients `by_sgd` computed.
    let mut by_velocity_form = by_sgd.clone();
    let bits = |mlp: &Mlp<f32>| -> Vec<u32> {
        mlp.layers()
            .iter()
            .flat_map(|l| {
                let w = l.weights();
                let weights: Vec<u32> = (0..w.ncols())
                    .flat_map(|j| (0..w.nrows()).map(move |i| w[(i, j)].to_bits()))
                    .collect();
                weights
                    .into_iter()
                    .chain(l.bias().iter().map(|b| b.to_bits()))
            })
            .collect()
    };
    // Inside the pool, the 150 × 784 layer's products are split between threads (when there are
    // two), as in training.
    mlp_core::par::in_pool(|| {
        for step in 0..3 {
            for mlp in [&mut by_sgd, &mut by_update_params] {
                mlp.propagate(x.as_ref()).unwrap();
                mlp.backpropagate(x.as_ref(), y.as_ref()).unwrap();
            }
            let lr = 0.5f32;
            for l in 0..sizes.len() - 1 {
                let g = by_sgd.gradient_weights(l).unwrap().to_owned();
                let gb = by_sgd.gradient_bias(l).unwrap().to_vec();
                let layer = &mut by_velocity_form.layers_mut()[l];
                let mut w = layer.weights_mut();
                for j in 0..w.ncols() {
                    for i in 0..w.nrows() {
                        let v = 0.0 * 0.0 + g[(i, j)] + 0.0 * w[(i, j)];
                        w[(i, j)] -= lr * v;
                    }
                }
                for (b, &g) in layer.bias_mut().iter_mut().zip(&gb) {
                    *b -= lr * (0.0 * 0.0 + g);
                }
            }
            sgd.step(&mut by_sgd, f64::from(lr)).unwrap();
            by_update_params.update_params(f64::from(lr)).unwrap();
            assert!(
                bits(&by_sgd) == bits(&by_update_params),
                "step {step}: Sgd against update_params"
            );
            assert!(
                bits(&by_sgd) == bits(&by_velocity_form),
                "step {step}: against the velocity form"
            );
        }
    });
    for (vw, vb) in sgd.velocity() {
        assert!(vw
            .col_iter()
            .flat_map(|c| c.iter().copied())
            .all(|v| v == 0.0));
        assert!(vb.iter().all(|&v| v == 0.0));
    }
}
