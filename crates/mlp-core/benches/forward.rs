//! Forward propagation of one batch of MNIST images through 784-150-10 (softmax included), for
//! batch sizes from a single image (matrix-vector products) to 10 000 (one large product per layer),
//! called from the main thread (`forward`) and looped on a worker of rayon's pool
//! (`forward_in_pool`, see `mlp_core::par::in_pool`).
//!
//! `cargo bench -p mlp-core --bench forward`; criterion reports the time per batch and images/s.
//! `mlp-cli bench-forward` measures whole passes over the 60 000 images against the GEMM peak.

// `criterion_group!` defines an undocumented `pub fn`.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mlp_core::{Activation, Mlp};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn forward(c: &mut Criterion) {
    let mnist = mlp_data::load_dir(&mlp_data::default_data_dir()).expect("the bundled MNIST");
    let images = mnist.train.images();
    for (group_name, in_pool) in [("forward", false), ("forward_in_pool", true)] {
        let mut group = c.benchmark_group(group_name);
        group
            .sample_size(20)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
        for batch in [1, 16, 64, 256, 1000, 10_000] {
            let mut mlp = Mlp::<f32>::new(&[784, 150, 10], Activation::Sigmoid, 0).unwrap();
            let n_batches = images.ncols() / batch;
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
