//! The committed report is exactly what the generator renders from the committed run files.

use std::path::Path;
use xtask::report::{render, Results, REPORT};

#[test]
fn committed_report_matches_the_run_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results");
    let path = root.join(REPORT);
    if !path.is_file() {
        println!(
            "note: {} does not exist yet; run `cargo xtask experiments` and commit results/",
            path.display()
        );
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    let rendered = render(&Results::load(&root).unwrap()).unwrap();
    if rendered != committed {
        let line = rendered
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| rendered.lines().count().min(committed.lines().count()));
        panic!(
            "results/REPORT.md differs from the rendering of the run files, from line {}:\n\
             rendered:  {:?}\ncommitted: {:?}\nRegenerate it with `cargo xtask report`.",
            line + 1,
            rendered.lines().nth(line),
            committed.lines().nth(line)
        );
    }
}

#[test]
fn rendering_is_deterministic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results");
    let results = Results::load(&root).unwrap();
    assert_eq!(render(&results).unwrap(), render(&results).unwrap());
}

#[test]
fn facts_are_written_as_json() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results");
    if !root.join(REPORT).is_file() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("facts.json");
    xtask::report::run(&xtask::report::Args {
        results: root,
        facts: Some(path.clone()),
    })
    .unwrap();
    let facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // The committed shallow faithful run's first seed ends 1.90 points above its training error.
    let shallow = &facts["curves"]["nets"][0];
    assert_eq!(shallow["net"], "shallow");
    assert_eq!(shallow["curves"][0]["gap_size"], "large");
    assert_eq!(facts["setup"]["seeds"], serde_json::json!([1, 2, 3]));
    assert!(facts["benchmark"]["rows"].as_array().unwrap().len() > 1);
    // The committed bench-train study: both series, at batch sizes 64 and 256.
    let scaling = &facts["scaling"];
    assert_eq!(scaling["batches"], serde_json::json!([64, 256]));
    assert_eq!(scaling["widths"].as_array().unwrap().len(), 2);
    assert_eq!(scaling["depths"].as_array().unwrap().len(), 2);
}
