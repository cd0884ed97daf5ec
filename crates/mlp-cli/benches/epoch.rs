//! One whole training epoch of the shallow 784-150-10 sigmoid net on MNIST at batch 64 and 256:
//! shuffled mini-batches gathered from the 60 000 training images into a reused buffer, then
//! `propagate`, `backpropagate` and `Sgd::step`, as `mlp-cli train` runs them.
//!
//! Measured twice: called from the main thread (`epoch`), and on a worker of rayon's pool with half
//! of each gather on each core (`epoch_in_pool`, see `mlp_core::par::in_pool`), as `mlp-cli train`
//! does. The step alone, on synthetic data, is `cargo bench -p mlp-core --bench train_step`.
//!
//! `cargo bench -p mlp-cli --bench epoch` (needs the bundled data set under `data/mnist`).

// `criterion_group!` defines an undocumented `pub fn`.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use faer::prelude::{Reborrow, ReborrowMut};
use faer::Mat;
use mlp_core::{Activation, Mlp, Sgd};
use std::time::{Duration, Instant};

fn epoch(c: &mut Criterion) {
    let train = mlp_data::load_dir(&mlp_data::default_data_dir())
        .expect("the bundled MNIST")
        .train;
    for (group_name, in_pool) in [("epoch", false), ("epoch_in_pool", true)] {
        let mut group = c.benchmark_group(group_name);
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(5));
        group.throughput(Throughput::Elements(train.len() as u64));
        for batch in [64, 256] {
            let mut mlp = Mlp::<f32>::new(&[784, 150, 10], Activation::Sigmoid, 0).unwrap();
            let mut sgd = Sgd::new(&mlp, 0.9, 0.0).unwrap();
            let mut x = Mat::<f32>::zeros(train.n_features(), batch);
            let mut y = Mat::<f32>::zeros(train.n_classes(), batch);
            let mut order = vec![0; train.len()];
            let mut epoch = 0;
            let mut one_epoch = || {
                mlp_data::shuffle_into(&mut order, 0, epoch);
                epoch += 1;
                for indices in mlp_data::batches(&order, batch).unwrap() {
                    let m = indices.len();
                    let mut xb = x.as_mut().subcols_mut(0, m);
                    let mut yb = y.as_mut().subcols_mut(0, m);
                    if in_pool {
                        // As `mlp-cli train` does: half the gather on each core.
                        let half = m / 2;
                        let (x0, x1) = xb.rb_mut().split_at_col_mut(half);
                        let (y0, y1) = yb.rb_mut().split_at_col_mut(half);
                        let (first, second) = rayon::join(
                            || train.gather_into(&indices[..half], x0, y0),
                            || train.gather_into(&indices[half..], x1, y1),
                        );
                        first.and(second).unwrap();
                    } else {
                        train
                            .gather_into(indices, xb.rb_mut(), yb.rb_mut())
                            .unwrap();
                    }
                    mlp.propagate(xb.rb()).unwrap();
                    mlp.backpropagate(xb.rb(), yb.rb()).unwrap();
                    sgd.step(&mut mlp, 0.01).unwrap();
                }
            };
            let id = BenchmarkId::new("784-150-10", batch);
            group.bench_function(id, |b| {
                if in_pool {
                    b.iter_custom(|iters| {
                        mlp_core::par::in_pool(|| {
                            let start = Instant::now();
                            for _ in 0..iters {
                                one_epoch();
                            }
                            start.elapsed()
                        })
                    })
                } else {
                    b.iter(&mut one_epoch)
                }
            });
        }
        group.finish();
    }
}

criterion_group!(benches, epoch);
criterion_main!(benches);
