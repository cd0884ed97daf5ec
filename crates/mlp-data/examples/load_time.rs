//! Times loading the bundled MNIST from its .gz files: `cargo run --release --example load_time`.

use std::time::Instant;

use mlp_data::{default_data_dir, load_dir, Result};

fn main() -> Result<()> {
    let dir = default_data_dir();
    let start = Instant::now();
    let mnist = load_dir(&dir)?;
    let elapsed = start.elapsed();
    println!(
        "loaded {} train + {} test samples from {} in {:.1} ms",
        mnist.train.len(),
        mnist.test.len(),
        dir.display(),
        elapsed.as_secs_f64() * 1e3
    );
    Ok(())
}
