//! `mlp-cli gradcheck` as a user runs it: the real binary on the bundled MNIST.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlp-cli"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_sampled_check_passes() {
    let output = run(&[
        "gradcheck",
        "--layers",
        "784,30,10",
        "--samples",
        "3",
        "--params",
        "20",
    ]);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.lines().any(|l| l.starts_with("PASS")), "{stdout}");
    assert!(stdout.contains("sampling up to 20"), "{stdout}");
    // 20 of each of W0 (30 x 784), b0 (30), W1 (10 x 30), and all 10 of b1.
    assert!(
        stdout.contains("70 of 23860 parameters checked"),
        "{stdout}"
    );
    assert!(stdout.contains("worst parameter: layer "), "{stdout}");
}

#[test]
fn layers_that_do_not_fit_the_data_are_a_usage_error() {
    let output = run(&["gradcheck", "--layers", "100,10"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let line = stderr.lines().find(|l| l.starts_with("error:"));
    let line = line.unwrap_or_else(|| panic!("no error line in {stderr:?}"));
    assert!(line.contains("100") && line.contains("784"), "{line}");
    assert!(output.stdout.is_empty());
}

#[test]
fn bad_flags_are_usage_errors() {
    for args in [
        &["--layers", "784,30,10", "--samples", "0"][..],
        &["--layers", "784,30,10", "--samples", "60001"],
        &["--layers", "784,30,10", "--params", "0"],
        &["--layers", "784,30,10", "--params", "some"],
        &["--layers", "784,30,9"],
        &["--layers", "784"],
    ] {
        let output = run(&[&["gradcheck"][..], args].concat());
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error:"), "{args:?}: {stderr}");
    }
}
