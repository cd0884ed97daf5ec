//! How a step's work is split between threads changes no bit of any result: one thread against
//! two, at the batch sizes of every split (a batch of one, batches too small to split, training
//! batches split by the rows of W, large batches split by samples in cache blocks), through the
//! public API only.

use faer::Mat;
use mlp_core::{par, Activation, Mlp, Sgd};

/// Everything a step computes: probabilities, every gradient, and the parameters after an update.
fn one_step(threads: usize, m: usize, with_sgd: bool) -> Vec<Vec<f32>> {
    let mut mlp = Mlp::<f32>::new(&[784, 150, 200, 10], Activation::Sigmoid, 9).unwrap();
    mlp.set_threads(threads);
    let mut sgd = Sgd::new(&mlp, 0.9, 1e-4).unwrap();
    let x = Mat::<f32>::from_fn(784, m, |i, j| ((i * 7 + j * 13) % 31) as f32 / 31.0);
    let y = Mat::<f32>::from_fn(10, m, |i, j| f32::from(u8::from(i == j % 10)));
    let mut results = Vec::new();
    par::in_pool(|| {
        let p = mlp.propagate(x.as_ref()).unwrap();
        results.push(
            (0..m)
                .flat_map(|j| (0..10).map(move |i| p[(i, j)]))
                .collect(),
        );
        mlp.backpropagate(x.as_ref(), y.as_ref()).unwrap();
        if with_sgd {
            sgd.step(&mut mlp, 0.5).unwrap();
        } else {
            mlp.update_params(0.5).unwrap();
        }
    });
    for (l, layer) in mlp.layers().iter().enumerate() {
        for matrix in [mlp.gradient_weights(l).unwrap(), layer.weights()] {
            let (rows, cols) = matrix.shape();
            results.push(
                (0..cols)
                    .flat_map(|j| (0..rows).map(move |i| matrix[(i, j)]))
                    .collect(),
            );
        }
        results.push(mlp.gradient_bias(l).unwrap().to_vec());
        results.push(layer.bias().to_vec());
    }
    results
}

#[test]
fn one_thread_and_two_give_the_same_bits() {
    for m in [1, 5, 20, 32, 64, 256, 1000] {
        for with_sgd in [false, true] {
            assert!(
                one_step(1, m, with_sgd) == one_step(2, m, with_sgd),
                "batch {m}, sgd: {with_sgd}"
            );
        }
    }
}

/// A sample forwarded alone (the matrix-vector kernel) and inside a batch (faer's product) gives
/// the same probabilities up to rounding.
#[test]
fn a_batch_of_one_agrees_with_a_batch() {
    let mut mlp = Mlp::<f32>::new(&[784, 150, 10], Activation::Sigmoid, 5).unwrap();
    let x = Mat::<f32>::from_fn(784, 7, |i, j| ((i * 13 + j * 5) % 29) as f32 / 29.0);
    let batch = mlp.propagate(x.as_ref()).unwrap().col(3).to_owned();
    let alone = mlp.propagate(x.as_ref().subcols(3, 1)).unwrap();
    for i in 0..10 {
        assert!((alone[(i, 0)] - batch[i]).abs() < 1e-6, "class {i}");
    }
}

/// Evaluating other batch sizes between the steps of a training run (which moves the weights to the
/// order those batches read fastest, and back) changes no bit of the run, even between a
/// back-propagation and the update that follows it.
#[test]
fn evaluations_between_steps_change_nothing() {
    let x = Mat::<f32>::from_fn(784, 64, |i, j| ((i * 7 + j * 13) % 31) as f32 / 31.0);
    let y = Mat::<f32>::from_fn(10, 64, |i, j| f32::from(u8::from(i == j % 10)));
    let other = Mat::<f32>::from_fn(784, 1000, |i, j| ((i * 3 + j * 11) % 17) as f32 / 17.0);
    let train = |evaluate: bool| {
        let mut mlp = Mlp::<f32>::new(&[784, 150, 200, 10], Activation::Sigmoid, 4).unwrap();
        let mut sgd = Sgd::new(&mlp, 0.9, 1e-4).unwrap();
        par::in_pool(|| {
            for step in 0..4 {
                mlp.propagate(x.as_ref()).unwrap();
                mlp.backpropagate(x.as_ref(), y.as_ref()).unwrap();
                if evaluate {
                    let m = [1000, 1, 5, 1000][step];
                    mlp.propagate(other.as_ref().subcols(0, m)).unwrap();
                }
                sgd.step(&mut mlp, 0.5).unwrap();
                if evaluate {
                    mlp.propagate(other.as_ref().subcols(0, 1)).unwrap();
                }
            }
        });
        let mut values: Vec<f32> = Vec::new();
        for layer in mlp.layers() {
            let w = layer.weights();
            values.extend((0..w.ncols()).flat_map(|j| (0..w.nrows()).map(move |i| w[(i, j)])));
            values.extend(layer.bias());
        }
        for (vw, vb) in sgd.velocity() {
            values.extend((0..vw.ncols()).flat_map(|j| (0..vw.nrows()).map(move |i| vw[(i, j)])));
            values.extend(vb);
        }
        values
    };
    assert!(train(false) == train(true));
}
