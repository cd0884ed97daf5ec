//! Shared fixtures for the CLI's integration tests: tiny IDX data sets and running the real binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built `mlp-cli` binary.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mlp-cli"))
}

/// Runs the binary with `args` and returns its output.
pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

/// An IDX file of unsigned bytes with the given dims.
pub fn idx_bytes(dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend_from_slice(payload);
    bytes
}

/// A learnable toy set: class c has a bright block at a place of its own, plus deterministic noise.
fn images_and_labels(n: usize, side: usize, salt: usize) -> (Vec<u8>, Vec<u8>) {
    let mut pixels = Vec::with_capacity(n * side * side);
    let mut labels = Vec::with_capacity(n);
    for s in 0..n {
        let label = ((s * 7 + salt) % 10) as u8;
        labels.push(label);
        for p in 0..side * side {
            let hot = p % 10 == label as usize;
            let noise = ((s * 31 + p * 17 + salt) % 64) as u8;
            pixels.push(if hot { 191 + noise } else { noise });
        }
    }
    (pixels, labels)
}

/// Writes a tiny MNIST-layout data set (plain IDX files) into `dir`: `n_train` and `n_test` images
/// of `side × side` pixels.
pub fn write_tiny_set(dir: &Path, n_train: usize, n_test: usize, side: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for (prefix, n, salt) in [("train", n_train, 0), ("t10k", n_test, 3)] {
        let (pixels, labels) = images_and_labels(n, side, salt);
        let s = side as u32;
        std::fs::write(
            dir.join(format!("{prefix}-images-idx3-ubyte")),
            idx_bytes(&[n as u32, s, s], &pixels),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{prefix}-labels-idx1-ubyte")),
            idx_bytes(&[n as u32], &labels),
        )
        .unwrap();
    }
}

/// A temporary directory holding a tiny 28 × 28 set of 600 training and 100 test images.
pub fn tiny_set() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    write_tiny_set(&dir, 600, 100, 28);
    (tmp, dir)
}

/// Text of stderr.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Text of stdout.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The curve without its seconds column, which is the only part allowed to vary between runs.
pub fn curve_without_seconds(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| {
            let mut fields: Vec<&str> = line.split(',').collect();
            fields.remove(1);
            fields.join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}
