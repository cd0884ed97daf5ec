//! A run file that cannot be written once training has started is a runtime failure (exit code 1),
//! named in one `error:` line, while an `--out` that cannot be created is an error of the command
//! (exit code 2).

mod common;

use common::{run, stderr, tiny_set};
use std::path::Path;

fn train(data: &Path, out: &Path) -> std::process::Output {
    run(&[
        "train",
        "--data",
        &data.display().to_string(),
        "--out",
        &out.display().to_string(),
        "--val",
        "100",
        "--epochs",
        "2",
        "--quiet",
    ])
}

#[track_caller]
fn check_failure(output: &std::process::Output, code: i32, mentions: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(code), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("error:") && lines[0].contains(mentions),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_curve_that_cannot_be_written_is_a_runtime_failure() {
    let (tmp, data) = tiny_set();
    let out = tmp.path().join("run");
    // A directory where the curve goes: writing it fails after the network is built.
    std::fs::create_dir_all(out.join("curve.csv")).unwrap();
    check_failure(&train(&data, &out), 1, "curve.csv");
}

#[test]
fn a_model_that_cannot_be_written_is_a_runtime_failure() {
    let (tmp, data) = tiny_set();
    let out = tmp.path().join("run");
    // Training and its checkpoints succeed; the model at the end cannot be written.
    std::fs::create_dir_all(out.join("model.safetensors")).unwrap();
    check_failure(&train(&data, &out), 1, "model.safetensors");
    assert!(
        out.join("checkpoint.safetensors").is_file(),
        "the last epoch's checkpoint is kept"
    );
}

#[test]
fn an_out_directory_that_cannot_be_created_is_an_error_of_the_command() {
    let (tmp, data) = tiny_set();
    let a_file = tmp.path().join("a-file");
    std::fs::write(&a_file, "not a directory").unwrap();
    check_failure(&train(&data, &a_file.join("run")), 2, "a-file");
}
