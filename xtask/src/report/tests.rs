//! The templates render the branches the committed runs do not take (the golden test in
//! `xtask/tests/report.rs` covers the others): every name they use must exist in the facts.

use super::testing::{diverged, finished, group, record, results, run};
use super::*;
use crate::bench::BenchTable;
use crate::plan::{Net, Recipe};
use crate::setting::tests::config;

#[test]
fn an_empty_results_directory_renders() {
    let r = Results {
        study: Vec::new(),
        epochs: Vec::new(),
        search: Vec::new(),
        reported: Vec::new(),
        retrained: Vec::new(),
        gradients: None,
        bench: None,
    };
    let text = render(&r).unwrap();
    assert!(text.contains("No reported run yet."));
    assert!(text.contains("Not measured (`bench/bench_forward.csv` is missing"));
    assert!(!text.contains("## Learning rate × batch size"));
}

/// Results in which the less common branches are taken: a quick run, a diverged seed, a
/// retrained run without a split, a diverged study corner, a dead search run, a benchmark whose
/// smallest batch is not a single image.
fn unusual_results() -> Results {
    let mut r = results();
    r.reported[0].runs[0].config.train_limit = Some(1000);
    r.reported[0].runs.push(diverged(
        "shallow-faithful-s3",
        config("sigmoid", 9.0, "constant", 0.0),
    ));
    r.reported[0].runs[2].config.seed = 3;
    let mut no_split = finished(
        "shallow-tuned-all-s1",
        config("relu", 0.2, "cosine", 0.9),
        vec![record(0, 0.9, None, 0.9), record(1, 0.01, None, 0.02)],
    );
    if let crate::runs::Outcome::Finished { summary, .. } = &mut no_split.outcome {
        summary.n_val = 0;
    }
    r.retrained[0].runs = vec![no_split];
    r.reported.push(group(
        Net::Deep,
        Recipe::Faithful,
        vec![run("deep-faithful-s1", &[0.06, 0.02], 0.0)],
    ));
    let mut study = vec![run("study/lr-batch/a", &[0.05, 0.03], 0.02)];
    study[0].config.batch_size = 256;
    let mut corner = diverged("study/lr-batch/b", config("sigmoid", 1.0, "constant", 0.0));
    corner.config.batch_size = 16;
    study.push(corner);
    r.study = study;
    r.epochs = vec![
        run("study/epochs/e1", &[0.04], 0.01),
        run("e2", &[0.05, 0.02], 0.0),
    ];
    let mut dead = vec![
        record(0, 0.9, Some(0.9), 0.9),
        record(1, 0.9, Some(0.9), 0.9),
    ];
    dead[1].train_loss = 10f64.ln();
    r.search = vec![(
        Net::Shallow,
        vec![
            run("search/shallow-tuned/ok", &[0.02], 0.0),
            finished(
                "search/shallow-tuned/dead",
                config("relu", 0.4, "cosine", 0.9),
                dead,
            ),
        ],
    )];
    let line = |batch_size: usize, seconds: f64| -> crate::bench::BenchRow {
        serde_json::from_value(serde_json::json!({
            "layers": "784-150-10", "precision": "f32", "threads": 1, "n_images": 1000,
            "repeats": 1, "peak_gflops": 100.0, "batch_size": batch_size,
            "n_batches": 1000usize.div_ceil(batch_size), "seconds": seconds,
            "seconds_min": seconds, "images_per_second": 1000.0 / seconds,
            "gflops": 1.0 / seconds, "fraction_of_peak": 0.01 / seconds
        }))
        .unwrap()
    };
    r.bench = Some(BenchTable {
        rows: vec![line(10, 0.5), line(100, 0.1), line(1000, 0.105)],
    });
    r
}

#[test]
fn the_uncommon_branches_render() {
    let text = render(&unusual_results()).unwrap();
    for expected in [
        "> **Quick run**",
        "| `shallow-faithful-s3` | 3 | diverged | | | | |",
        "| (no split) |",
        "training diverged.",
        "did not learn: the training loss ends at 2.3026",
        "Fewer epochs do worse",
        "**What suits**: 2 epochs",
        "reading every weight matrix for only 10 images",
        "the time stays within 10 % of the best",
        "does not lower the shallow net's test error",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn facts_serialise_as_json_with_judgements_as_strings() {
    let json = serde_json::to_value(facts(&unusual_results()).unwrap()).unwrap();
    assert_eq!(
        json["curves"]["nets"][0]["curves"][0]["gap_size"],
        "moderate"
    );
    assert_eq!(json["benchmark"]["largest"]["kind"], "hidden");
}
