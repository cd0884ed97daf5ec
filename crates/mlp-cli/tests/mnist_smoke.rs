//! A correctness check of mlp-core on real data, not a benchmark: one epoch of the practical work's
//! shallow net (784-150-10, sigmoid, plain mini-batch SGD) must reach below 10 % test error on MNIST.
//! (It lives here, beside the data set's loader, so that mlp-core needs no data to test itself.)

use faer::Mat;
use mlp_core::{Activation, Mlp};

#[test]
fn one_epoch_of_sgd_reaches_below_ten_percent_test_error() {
    let mnist = mlp_data::load_dir(&mlp_data::default_data_dir()).expect("the bundled MNIST loads");
    let train = &mnist.train;
    let mut mlp = Mlp::<f32>::new(&[784, 150, 10], Activation::Sigmoid, 1).unwrap();
    let batch_size = 32;
    let mut x = Mat::<f32>::zeros(784, batch_size);
    let mut y = Mat::<f32>::zeros(10, batch_size);
    let order = mlp_data::epoch_order(train.len(), 1, 1);

    let test_images = mnist.test.to_matrix::<f32>();
    let before = mlp
        .error_rate(test_images.as_ref(), mnist.test.labels())
        .unwrap();
    for batch in mlp_data::batches(&order, batch_size).unwrap() {
        let m = batch.len();
        let mut xb = x.as_mut().subcols_mut(0, m);
        let mut yb = y.as_mut().subcols_mut(0, m);
        train.gather_into(batch, xb.as_mut(), yb.as_mut()).unwrap();
        mlp.propagate(xb.as_ref()).unwrap();
        mlp.backpropagate(xb.as_ref(), yb.as_ref()).unwrap();
        mlp.update_params(0.5).unwrap();
    }
    let after = mlp
        .error_rate(test_images.as_ref(), mnist.test.labels())
        .unwrap();
    println!(
        "test error: {:.2} % before, {:.2} % after one epoch",
        100.0 * before,
        100.0 * after
    );
    assert!(
        before > 0.5,
        "an untrained net should be near chance, got {before}"
    );
    assert!(after < 0.10, "test error after one epoch: {after}");
}
