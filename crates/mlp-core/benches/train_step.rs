//! One training step — `propagate`, `backpropagate`, `Sgd::step` — of the shallow 784-150-10 and the
//! deep 784-150-200-150-50-10 sigmoid nets at batch 16, 64 and 256, and one whole epoch of the
//! shallow net at batch 64 and 256 (shuffled mini-batches gathered into a reused buffer; in the pool,
//! half of each gather on each core, as `mlp-cli train` does).
//!
//! Each is measured twice: called from the main thread, as plain user code does (`train_step`,
//! `epoch`), and with the loop running on a worker of rayon's pool (`train_step_in_pool`,
//! `epoch_in_pool`, see `mlp_core::par::in_pool`), where splitting a product between the two
//! cores costs far less.
//!
//! `cargo bench -p mlp-core --bench train_step`. Useful FLOPs of a step, for comparing with the
//! GEMM peak: forward `2·m·Σ n_in·n_out`, backward twice that less the input layer's delta
//! (`2·m·784·n_1`).

// `criterion_group!` defines an undocumented `pub fn`.
#![allow(missing_docs)]

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use faer::prelude::{Reborrow, ReborrowMut};
use faer::Mat;
use mlp_core::{Activation, Mlp, Sgd};
use mlp_data::Dataset;
use std::time::{Duration, Instant};

const SHALLOW: &[usize] = &[784, 150, 10];
const DEEP: &[usize] = &[784, 150, 200, 150, 50, 10];

fn mnist() -> Dataset {
    mlp_data::load_dir(&mlp_data::default_data_dir())
        .expect("the bundled MNIST")
        .train
}

/// Benchmarks `step` as `id`: called from this thread, or looped on a worker of rayon's pool.
fn bench(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: BenchmarkId,
    in_pool: bool,
    mut step: impl FnMut() + Send,
) {
    if in_pool {
        group.bench_function(id, |b| {
            b.iter_custom(|iters| {
                mlp_core::par::in_pool(|| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        step();
                    }
                    start.elapsed()
                })
            })
        });
    } else {
        group.bench_function(id, |b| b.iter(&mut step));
    }
}

fn steps(c: &mut Criterion) {
    let train = mnist();
    let images = train.images();
    let mut targets = Mat::<f32>::zeros(train.n_classes(), train.len());
    mlp_data::one_hot_into(train.labels(), targets.as_mut()).unwrap();
    let targets = targets.as_ref();
    for (group_name, in_pool) in [("train_step", false), ("train_step_in_pool", true)] {
        let mut group = c.benchmark_group(group_name);
        group
            .sample_size(20)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
        for (name, sizes) in [("784-150-10", SHALLOW), ("784-150-200-150-50-10", DEEP)] {
            for batch in [16, 64, 256] {
                let mut mlp = Mlp::<f32>::new(sizes, Activation::Sigmoid, 0).unwrap();
                let mut sgd = Sgd::new(&mlp, 0.9, 0.0).unwrap();
                let n_batches = train.len() / batch;
                let mut next = 0;
                group.throughput(Throughput::Elements(batch as u64));
                bench(&mut group, BenchmarkId::new(name, batch), in_pool, || {
                    // Consecutive batches, so that the inputs come from memory as in training.
                    let first = next * batch;
                    next = (next + 1) % n_batches;
                    let x = images.subcols(first, batch);
                    mlp.propagate(x).unwrap();
                    mlp.backpropagate(x, targets.subcols(first, batch)).unwrap();
                    sgd.step(&mut mlp, 0.01).unwrap();
                });
            }
        }
        group.finish();
    }
}

fn epoch(c: &mut Criterion) {
    let train = mnist();
    for (group_name, in_pool) in [("epoch", false), ("epoch_in_pool", true)] {
        let mut group = c.benchmark_group(group_name);
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(5));
        group.throughput(Throughput::Elements(train.len() as u64));
        for batch in [64, 256] {
            let mut mlp = Mlp::<f32>::new(SHALLOW, Activation::Sigmoid, 0).unwrap();
            let mut sgd = Sgd::new(&mlp, 0.9, 0.0).unwrap();
            let mut x = Mat::<f32>::zeros(train.n_features(), batch);
            let mut y = Mat::<f32>::zeros(train.n_classes(), batch);
            let mut order = vec![0; train.len()];
            let mut epoch = 0;
            let id = BenchmarkId::new("784-150-10", batch);
            bench(&mut group, id, in_pool, || {
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
            });
        }
        group.finish();
    }
}

criterion_group!(benches, steps, epoch);
criterion_main!(benches);
