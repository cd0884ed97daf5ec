//! Forward propagation of one batch of synthetic 784-pixel images (pseudo-random values in [0, 1))
//! through 784-150-10 (softmax included), for batch sizes from a single image (matrix-vector
//! products) to 10 000 (one large product per layer), called from the main thread (`forward`) and
//! looped on a worker of rayon's pool (`forward_in_pool`, see `mlp_core::par::in_pool`).
//!
//! `cargo bench -p mlp-core --bench forward`; criterion reports the time per batch and images/s.
//! `mlp-cli bench-forward` measures whole passes over the 60 000 MNIST images against the GEMM peak.

// `criterion_group!` defines an undocumented `pub fn`.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use faer::Mat;
use mlp_core::{Activation, Mlp};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Enough samples (31 MB of f32) that consecutive batches come from memory, not from cache.
const N_SAMPLES: usize = 10_000;

fn forward(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let images = Mat::<f32>::from_fn(784, N_SAMPLES, |_, _| rng.random());
    let images = images.as_ref();
    for (group_name, in_pool) in [("forward", false), ("forward_in_pool", true)] {
        let mut group = c.benchmark_group(group_name);
        group
            .sample_size(20)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
        for batch in [1, 16, 64, 256, 1000, 10_000] {
            let mut mlp = Mlp::<f32>::new(&[784, 150, 10], Activation::Sigmoid, 0).unwrap();
            let n_batches = N_SAMPLES / batch;
            let mut next = 0;
            // Consecutive batches, as in an evaluation pass, so that the inputs come from memory.
            let mut step = move || {
                let x = images.subcols(next * batch, batch);
                next = (next + 1) % n_batches;
                black_box(mlp.propagate(x).unwrap());
            };
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_function(BenchmarkId::new("784-150-10", batch), |b| {
                if in_pool {
                    b.iter_custom(|iters| {
                        mlp_core::par::in_pool(|| {
                            let start = Instant::now();
                            for _ in 0..iters {
                                step();
                            }
                            start.elapsed()
                        })
                    })
                } else {
                    b.iter(&mut step)
                }
            });
        }
        group.finish();
    }
}

criterion_group!(benches, forward);
criterion_main!(benches);
