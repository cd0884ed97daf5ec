//! Interrupted and resumed runs, and determinism: the same seed gives the same bytes.

mod common;

use common::{bin, curve_without_seconds, run, stderr, tiny_set};
use std::path::Path;
use std::time::{Duration, Instant};

fn train_args<'a>(data: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "--data",
        data,
        "--out",
        out,
        "--val",
        "100",
        "--layers",
        "32,16",
        "--lr",
        "0.1",
        "--momentum",
        "0.9",
        "--lr-schedule",
        "cosine",
        "--seed",
        "5",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    args
}

fn model(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("model.safetensors")).expect("a finished run has a model")
}

#[test]
fn two_epochs_then_resume_equals_four_straight() {
    let (tmp, data) = tiny_set();
    let data = data.display().to_string();
    let straight = tmp.path().join("straight");
    let split = tmp.path().join("split");
    let (straight_s, split_s) = (straight.display().to_string(), split.display().to_string());

    let output = run(&train_args(
        &data,
        &straight_s,
        &["--epochs", "4", "--batch-size", "64"],
    ));
    assert!(output.status.success(), "{}", stderr(&output));

    let first = run(&train_args(
        &data,
        &split_s,
        &["--epochs", "4", "--batch-size", "64", "--stop-after", "2"],
    ));
    assert_eq!(first.status.code(), Some(130), "{}", stderr(&first));
    assert!(stderr(&first).contains("--resume"), "{}", stderr(&first));
    assert!(split.join("checkpoint.safetensors").exists());
    assert!(!split.join("model.safetensors").exists());
    assert_eq!(
        std::fs::read_to_string(split.join("curve.csv"))
            .unwrap()
            .lines()
            .count(),
        1 + 3
    );

    let second = run(&["train", "--data", &data, "--resume", &split_s, "--quiet"]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        model(&straight) == model(&split),
        "resumed weights differ from the straight run"
    );
    assert_eq!(
        curve_without_seconds(&straight.join("curve.csv")),
        curve_without_seconds(&split.join("curve.csv"))
    );
    assert!(
        !split.join("checkpoint.safetensors").exists(),
        "a finished run removes its checkpoint"
    );
}

#[test]
fn same_command_same_bytes_whatever_the_thread_count() {
    let (tmp, data) = tiny_set();
    let data = data.display().to_string();
    let dirs: Vec<String> = ["a", "b", "one-thread"]
        .iter()
        .map(|d| tmp.path().join(d).display().to_string())
        .collect();
    for (dir, threads) in dirs.iter().zip(["2", "2", "1"]) {
        // The first layer's products (32 × 784 × 500) are above the parallel threshold, so two
        // threads are used when allowed.
        let output = run(&train_args(
            &data,
            dir,
            &["--epochs", "2", "--batch-size", "500", "--threads", threads],
        ));
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let a = Path::new(&dirs[0]);
    for other in &dirs[1..] {
        let other = Path::new(other);
        assert!(model(a) == model(other), "{} differs", other.display());
        assert_eq!(
            curve_without_seconds(&a.join("curve.csv")),
            curve_without_seconds(&other.join("curve.csv"))
        );
    }
    let other_seed = tmp.path().join("other-seed").display().to_string();
    let mut args = train_args(
        &data,
        &other_seed,
        &["--epochs", "2", "--batch-size", "500"],
    );
    let seed_at = args.iter().position(|a| *a == "--seed").unwrap();
    args[seed_at + 1] = "6";
    assert!(run(&args).status.success());
    assert!(model(a) != model(Path::new(&other_seed)));
}

#[test]
fn ctrl_c_keeps_the_curve_and_a_checkpoint_and_exits_130() {
    let (tmp, data) = tiny_set();
    let data = data.display().to_string();
    let out = tmp.path().join("run");
    let out_s = out.display().to_string();
    let mut child = bin()
        .args(train_args(
            &data,
            &out_s,
            &["--epochs", "100000", "--batch-size", "64"],
        ))
        .spawn()
        .unwrap();
    let curve = out.join("curve.csv");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&curve).map_or(0, |t| t.lines().count()) < 3 {
        assert!(Instant::now() < deadline, "the run made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    // The curve is a valid CSV of whole epochs, and the checkpoint loads and matches it.
    let text = std::fs::read_to_string(&curve).unwrap();
    let epochs: Vec<usize> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(epochs, (0..epochs.len()).collect::<Vec<_>>());
    assert!(text.lines().skip(1).all(|l| l.split(',').count() == 9));
    assert!(out.join("checkpoint.safetensors").exists());
    let resumed = run(&[
        "train",
        "--data",
        &data,
        "--resume",
        &out_s,
        "--quiet",
        "--stop-after",
        "1",
    ]);
    assert_eq!(resumed.status.code(), Some(130), "{}", stderr(&resumed));
    let after = std::fs::read_to_string(&curve).unwrap().lines().count();
    assert_eq!(
        after,
        text.lines().count() + 1,
        "resuming continued from the checkpoint's epoch"
    );
}
