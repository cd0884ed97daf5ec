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
