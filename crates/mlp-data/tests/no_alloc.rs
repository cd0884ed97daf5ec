//! The per-batch hot path (reshuffle, gather) allocates nothing once buffers exist.

mod common;

use faer::Mat;
use mlp_data::{batches, shuffle_into, Dataset};

#[test]
fn an_epoch_of_gathers_does_not_allocate() {
    let n = 103;
    let pixels = (0..n * 5).map(|v| v as f32 / 1000.0).collect();
    let labels = (0..n).map(|i| (i % 4) as u8).collect();
    let data = Dataset::from_parts(pixels, labels, 5, 4).unwrap();
    let mut order = vec![0; n];
    let mut x = Mat::<f32>::zeros(5, 16);
    let mut y = Mat::<f32>::zeros(4, 16);

    let (sum, count, _) = common::track(|| {
        let mut sum = 0.0;
        for epoch in 0..3 {
            shuffle_into(&mut order, 7, epoch);
            for batch in batches(&order, 16).unwrap() {
                let m = batch.len();
                data.gather_into(
                    batch,
                    x.as_mut().subcols_mut(0, m),
                    y.as_mut().subcols_mut(0, m),
                )
                .unwrap();
                sum += x[(0, m - 1)] + y[(0, m - 1)];
            }
        }
        sum
    });
    assert!(sum > 0.0, "the loop did real work");
    let (_, seen, _) = common::track(|| std::hint::black_box(vec![1u8; 3]));
    assert_eq!(
        seen, 1,
        "the tracker must see allocations for this test to mean anything"
    );
    assert_eq!(count, 0, "allocations in the batch loop");
}
