//! The real binary over bad invocations: each gets one `error:` line on stderr naming the input at
//! fault, the documented exit code (2 for usage and input errors, 1 for runtime failures), and never
//! a panic or a backtrace.

mod common;

use common::{run, stderr, tiny_set, write_tiny_set};
use std::path::Path;

struct Case<'a> {
    name: &'a str,
    args: Vec<String>,
    code: i32,
    /// A piece of the message that names the input at fault.
    mentions: &'a str,
}

#[track_caller]
fn check(case: &Case) {
    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    let output = run(&args);
    let err = stderr(&output);
    assert_eq!(
        output.status.code(),
        Some(case.code),
        "{}: exit code; stderr: {err}",
        case.name
    );
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{}: {err}",
        case.name
    );
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "{}: one line expected, got {err:?}",
        case.name
    );
    assert!(lines[0].starts_with("error:"), "{}: {err}", case.name);
    assert!(
        lines[0].contains(case.mentions),
        "{}: {:?} should mention {:?}",
        case.name,
        lines[0],
        case.mentions
    );
}

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn bad_invocations_fail_cleanly() {
    let (tmp, data) = tiny_set();
    let root = tmp.path();
    let data_s = p(&data);
    let out = p(&root.join("out"));

    // Data sets with one damaged file each.
    let truncated = root.join("truncated");
    write_tiny_set(&truncated, 600, 100, 28);
    let images = truncated.join("train-images-idx3-ubyte");
    let bytes = std::fs::read(&images).unwrap();
    std::fs::write(&images, &bytes[..bytes.len() / 2]).unwrap();
    let corrupt_gz = root.join("corrupt-gz");
    write_tiny_set(&corrupt_gz, 600, 100, 28);
    std::fs::remove_file(corrupt_gz.join("t10k-labels-idx1-ubyte")).unwrap();
    std::fs::write(
        corrupt_gz.join("t10k-labels-idx1-ubyte.gz"),
        [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef],
    )
    .unwrap();
    let empty_dir = root.join("empty");
    std::fs::create_dir_all(&empty_dir).unwrap();
    let small_images = root.join("five-by-five");
    write_tiny_set(&small_images, 600, 100, 5);
    let a_file = root.join("a-file");
    std::fs::write(&a_file, "not a directory").unwrap();

    // Model files: a real one, then damaged copies.
    let model_dir = root.join("model");
    let trained = run(&[
        "train",
        "--data",
        &data_s,
        "--epochs",
        "1",
        "--batch-size",
        "50",
        "--val",
        "100",
        "--quiet",
        "--out",
        &p(&model_dir),
    ]);
    assert!(trained.status.success(), "{}", stderr(&trained));
    let model = model_dir.join("model.safetensors");
    let model_bytes = std::fs::read(&model).unwrap();
    let truncated_model = root.join("truncated.safetensors");
    std::fs::write(&truncated_model, &model_bytes[..model_bytes.len() - 100]).unwrap();
    let garbage_model = root.join("garbage.safetensors");
    std::fs::write(&garbage_model, b"this is not a safetensors file at all").unwrap();

    let train = |extra: &[&str]| {
        let mut args = s(&["train", "--data", &data_s, "--out", &out, "--quiet"]);
        args.extend(s(extra));
        for (flag, default) in [("--val", "100"), ("--epochs", "1")] {
            if !extra.contains(&flag) {
                args.extend(s(&[flag, default]));
            }
        }
        args
    };
    let cases = vec![
        Case {
            name: "missing data dir",
            args: s(&["train", "--data", "/no/such/dir", "--quiet"]),
            code: 2,
            mentions: "/no/such/dir",
        },
        Case {
            name: "dir without the files",
            args: s(&["train", "--data", &p(&empty_dir)]),
            code: 2,
            mentions: "train-images-idx3-ubyte",
        },
        Case {
            name: "truncated IDX",
            args: s(&["train", "--data", &p(&truncated)]),
            code: 2,
            mentions: "train-images-idx3-ubyte",
        },
        Case {
            name: "corrupted gzip",
            args: s(&["train", "--data", &p(&corrupt_gz)]),
            code: 2,
            mentions: "t10k-labels-idx1-ubyte.gz",
        },
        Case {
            name: "empty layers",
            args: train(&["--layers", ""]),
            code: 2,
            mentions: "--layers",
        },
        Case {
            name: "empty layer item",
            args: train(&["--layers", "100,,50"]),
            code: 2,
            mentions: "--layers",
        },
        Case {
            name: "zero width",
            args: train(&["--layers", "0"]),
            code: 2,
            mentions: "--layers",
        },
        Case {
            name: "negative width",
            args: train(&["--layers", "-5"]),
            code: 2,
            mentions: "--layers",
        },
        Case {
            name: "letters",
            args: train(&["--layers", "abc"]),
            code: 2,
            mentions: "--layers",
        },
        Case {
            name: "semicolons",
            args: train(&["--layers", "100;200"]),
            code: 2,
            mentions: "--layers",
        },
        Case {
            name: "huge network",
            args: train(&["--layers", "100000000,100000000"]),
            code: 2,
            mentions: "parameters",
        },
        Case {
            name: "lr zero",
            args: train(&["--lr", "0"]),
            code: 2,
            mentions: "--lr",
        },
        Case {
            name: "lr negative",
            args: train(&["--lr", "-0.1"]),
            code: 2,
            mentions: "--lr",
        },
        Case {
            name: "lr NaN",
            args: train(&["--lr", "NaN"]),
            code: 2,
            mentions: "--lr",
        },
        Case {
            name: "lr not a number",
            args: train(&["--lr", "fast"]),
            code: 2,
            mentions: "--lr",
        },
        Case {
            name: "batch size zero",
            args: train(&["--batch-size", "0"]),
            code: 2,
            mentions: "--batch-size",
        },
        Case {
            name: "batch larger than the set",
            args: train(&["--batch-size", "100000"]),
            code: 2,
            mentions: "--batch-size",
        },
        Case {
            name: "zero epochs",
            args: train(&["--epochs", "0"]),
            code: 2,
            mentions: "--epochs",
        },
        Case {
            name: "momentum 1",
            args: train(&["--momentum", "1"]),
            code: 2,
            mentions: "--momentum",
        },
        Case {
            name: "negative weight decay",
            args: train(&["--weight-decay", "-1"]),
            code: 2,
            mentions: "--weight-decay",
        },
        Case {
            name: "unknown activation",
            args: train(&["--activation", "softplus"]),
            code: 2,
            mentions: "softplus",
        },
        Case {
            name: "unknown schedule",
            args: train(&["--lr-schedule", "exponential"]),
            code: 2,
            mentions: "exponential",
        },
        Case {
            name: "validation larger than the set",
            args: train(&["--val", "600"]),
            code: 2,
            mentions: "--val 600",
        },
        Case {
            name: "zero threads",
            args: train(&["--threads", "0"]),
            code: 2,
            mentions: "--threads",
        },
        Case {
            name: "unwritable out",
            args: s(&[
                "train",
                "--data",
                &data_s,
                "--epochs",
                "1",
                "--val",
                "100",
                "--quiet",
                "--out",
                &p(&a_file.join("run")),
            ]),
            code: 2,
            mentions: "a-file",
        },
        Case {
            name: "resume without checkpoint",
            args: s(&["train", "--data", &data_s, "--resume", &p(&empty_dir)]),
            code: 2,
            mentions: "checkpoint.safetensors",
        },
        Case {
            name: "divergence",
            args: train(&["--lr", "1000", "--epochs", "3"]),
            code: 1,
            mentions: "smaller learning rate",
        },
        Case {
            name: "missing model",
            args: s(&[
                "evaluate",
                "--data",
                &data_s,
                "--model",
                "/no/model.safetensors",
            ]),
            code: 2,
            mentions: "/no/model.safetensors",
        },
        Case {
            name: "truncated model",
            args: s(&[
                "evaluate",
                "--data",
                &data_s,
                "--model",
                &p(&truncated_model),
            ]),
            code: 2,
            mentions: "truncated.safetensors",
        },
        Case {
            name: "garbage model",
            args: s(&["evaluate", "--data", &data_s, "--model", &p(&garbage_model)]),
            code: 2,
            mentions: "garbage.safetensors",
        },
        Case {
            name: "model of another architecture",
            args: s(&[
                "evaluate",
                "--data",
                &p(&small_images),
                "--model",
                &p(&model),
            ]),
            code: 2,
            mentions: "784 inputs",
        },
        Case {
            name: "count-params bad spec",
            args: s(&["count-params", "1e9,1e9"]),
            code: 2,
            mentions: "1e9",
        },
        Case {
            name: "count-params overflow",
            args: s(&["count-params", "18446744073709551615,18446744073709551615"]),
            code: 2,
            mentions: "overflow",
        },
        Case {
            name: "gradcheck wrong inputs",
            args: s(&["gradcheck", "--data", &data_s, "--layers", "100,10"]),
            code: 2,
            mentions: "784",
        },
        Case {
            name: "unknown subcommand",
            args: s(&["fly"]),
            code: 2,
            mentions: "fly",
        },
        Case {
            name: "unknown flag",
            args: s(&["train", "--speed", "9"]),
            code: 2,
            mentions: "--speed",
        },
    ];
    assert!(cases.len() >= 20);
    for case in &cases {
        check(case);
    }
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for sub in [
        "count-params",
        "gradcheck",
        "train",
        "evaluate",
        "bench-forward",
        "bench-train",
    ] {
        let output = run(&[sub, "--help"]);
        assert!(output.status.success(), "{sub}");
        let text = common::stdout(&output);
        assert!(
            text.contains("Example") && text.contains(&format!("mlp-cli {sub}")),
            "{sub} --help lacks an example:\n{text}"
        );
    }
}
