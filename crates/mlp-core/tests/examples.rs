//! The examples run: `examples/spirals.rs`, included here as a module, must learn its problem.

#[allow(dead_code)] // its `main` is for `cargo run --example spirals`
#[path = "../examples/spirals.rs"]
mod spirals;

#[test]
fn spirals_loss_goes_down_and_the_net_separates_them() {
    let progress = spirals::train(500).unwrap();
    let (first, last) = (&progress[0], progress.last().unwrap());
    assert!(first.error > 0.3, "untrained: {} wrong", first.error);
    assert!(
        last.loss < first.loss / 10.0,
        "loss {} → {}",
        first.loss,
        last.loss
    );
    assert!(last.error < 0.02, "trained: {} wrong", last.error);
}
