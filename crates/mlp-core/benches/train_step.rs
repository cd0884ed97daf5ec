//! One training step — `propagate`, `backpropagate`, `Sgd::step` — of the shallow 784-150-10 and the
//! deep 784-150-200-150-50-10 sigmoid nets at batch 16, 64 and 256, on synthetic images (10 000
//! columns of 784 pseudo-random values in [0, 1), one-hot targets), so that the products see the
//! shapes and the memory traffic of MNIST training without needing the data set.
//!
//! Each is measured twice: called from the main thread, as plain user code does (`train_step`), and
//! with the loop running on a worker of rayon's pool (`train_step_in_pool`, see
//! `mlp_core::par::in_pool`), where splitting a product between the two cores costs far less; both
//! with momentum 0.9, whose velocity the update reads and writes. A third group,
//! `train_step_in_pool_plain_sgd`, is plain SGD (μ = 0, no velocity: one parameter-sized array less
//! in the step's working set). A whole epoch on the real data set, gather included, is
//! `cargo bench -p mlp-cli --bench epoch`.
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
use faer::Mat;
use mlp_core::{Activation, Mlp, Sgd};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};

const SHALLOW: &[usize] = &[784, 150, 10];
const DEEP: &[usize] = &[784, 150, 200, 150, 50, 10];
/// Enough samples (31 MB of f32) that consecutive batches come from memory, not from cache.
const N_SAMPLES: usize = 10_000;

/// Synthetic inputs `(784, N_SAMPLES)` and one-hot targets `(10, N_SAMPLES)`, from a fixed seed.
fn synthetic() -> (Mat<f32>, Mat<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let images = Mat::from_fn(784, N_SAMPLES, |_, _| rng.random::<f32>());
    let labels: Vec<usize> = (0..N_SAMPLES).map(|_| rng.random_range(0..10)).collect();
    let targets = Mat::from_fn(10, N_SAMPLES, |i, j| f32::from(u8::from(labels[j] == i)));
    (images, targets)
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
    let (images, targets) = synthetic();
    for (group_name, in_pool, momentum) in [
        ("train_step", false, 0.9),
        ("train_step_in_pool", true, 0.9),
        ("train_step_in_pool_plain_sgd", true, 0.0),
    ] {
        let mut group = c.benchmark_group(group_name);
        group
            .sample_size(20)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
        for (name, sizes) in [("784-150-10", SHALLOW), ("784-150-200-150-50-10", DEEP)] {
            for batch in [16, 64, 256] {
                let mut mlp = Mlp::<f32>::new(sizes, Activation::Sigmoid, 0).unwrap();
                let mut sgd = Sgd::new(&mlp, momentum, 0.0).unwrap();
                let n_batches = N_SAMPLES / batch;
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

criterion_group!(benches, steps);
criterion_main!(benches);
