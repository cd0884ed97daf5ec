//! `mlp-cli bench-forward` end to end: the real binary on the bundled MNIST, two batch sizes, one
//! pass each. Only the shape of the output is checked; the figures themselves are benchmarks, not
//! assertions.

use std::path::Path;
use std::process::Command;

fn mlp_cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mlp-cli"))
        .args(args)
        .output()
        .expect("mlp-cli runs")
}

#[test]
fn bench_forward_prints_the_table_and_writes_csv_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    let output = mlp_cli(&[
        "bench-forward",
        "--batch-sizes",
        "100,60000",
        "--repeats",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");

    // The header, the peak, then one row per batch size: batch, batches, median, min, images/s,
    // GFLOP/s, percentage of peak.
    assert!(stdout.contains("MLP 784-150-10, f32"), "{stdout}");
    assert!(
        stdout.contains("GEMM peak (2048x2048x2048, f32"),
        "{stdout}"
    );
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| w.len() == 7 && w[0].parse::<usize>().is_ok())
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    for (row, (batch, batches)) in rows.iter().zip([("100", "600"), ("60000", "1")]) {
        assert_eq!((row[0], row[1]), (batch, batches), "{stdout}");
        let seconds: f64 = row[2].parse().unwrap();
        let percent: f64 = row[6].trim_end_matches('%').parse().unwrap();
        assert!(seconds > 0.0 && percent > 0.0, "{stdout}");
    }
    assert!(stdout.contains("best: batch "), "{stdout}");

    let csv = std::fs::read_to_string(out.join("bench_forward.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    let header: Vec<&str> = lines[0].split(',').collect();
    for column in [
        "layers",
        "precision",
        "threads",
        "peak_gflops",
        "batch_size",
        "seconds",
        "gflops",
        "fraction_of_peak",
    ] {
        assert!(header.contains(&column), "no column {column}: {csv}");
    }
    let batch_column = header.iter().position(|&c| c == "batch_size").unwrap();
    let batch_sizes: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(batch_column).unwrap())
        .collect();
    assert_eq!(batch_sizes, ["100", "60000"]);
    assert!(lines[1].starts_with("784-150-10,f32,"), "{csv}");

    for file in ["bench_forward.svg", "bench_forward.png"] {
        let size = out.join(file).metadata().map(|m| m.len()).unwrap_or(0);
        assert!(size > 1000, "{file}: {size} bytes");
    }
    assert!(is_png(&out.join("bench_forward.png")));
}

fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.starts_with(b"\x89PNG\r\n\x1a\n"))
}

#[test]
fn bench_forward_rejects_bad_arguments() {
    for args in [
        &["bench-forward", "--batch-sizes", "60001"][..],
        &["bench-forward", "--batch-sizes", "10,,20"],
        &["bench-forward", "--batch-sizes", "0"],
        &["bench-forward", "--repeats", "0"],
        &["bench-forward", "--layers", "abc"],
        &["bench-forward", "--threads", "0"],
        &["bench-forward", "--precision", "f16"],
    ] {
        let output = mlp_cli(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error"), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn bench_train_rejects_bad_arguments_before_loading_anything() {
    for (args, flag) in [
        (&["bench-train", "--widths", ""][..], "--widths"),
        (&["bench-train", "--widths", "64,0"], "--widths"),
        (&["bench-train", "--widths", "1000000"], "--widths"),
        (&["bench-train", "--depths", "100"], "--depths"),
        (&["bench-train", "--depth-width", "0"], "--depth-width"),
        (&["bench-train", "--batch-sizes", "60001"], "--batch-sizes"),
        (&["bench-train", "--steps", "0"], "--steps"),
        (&["bench-train", "--repeats", "0"], "--repeats"),
        (&["bench-train", "--threads", "0"], "--threads"),
        (
            &["bench-train", "--depths", "64", "--depth-width", "16384"],
            "--depths",
        ),
    ] {
        let output = mlp_cli(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error") && stderr.contains(flag),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn bench_forward_help_has_examples() {
    let output = mlp_cli(&["bench-forward", "--help"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(
        stdout.contains("Examples:") && stdout.contains("--batch-sizes"),
        "{stdout}"
    );
}
