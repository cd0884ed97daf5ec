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
        scaling: None,
    };
    let text = render(&r).unwrap();
    assert!(text.contains("No reported run yet."));
    assert!(text.contains("Not measured (`bench/bench_forward.csv` is missing"));
    assert!(!text.contains("## Learning rate × batch size"));
    assert!(
        !text.contains("## Training step vs width and depth"),
        "no section without bench-train/bench_train.csv"
    );
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

/// Renders the report with a scaling table made of `rows` and returns the scaling section.
fn scaling_section(rows: Vec<crate::scaling::ScalingRow>) -> String {
    let mut r = super::testing::results();
    r.scaling = Some(crate::scaling::ScalingTable { rows });
    let text = render(&r).unwrap();
    let start = text
        .find("## Training step vs width and depth")
        .expect("the section is there");
    let end = text.find("## Reproducing").unwrap();
    text[start..end].to_string()
}

#[test]
fn every_scaling_branch_renders() {
    use super::testing::scaling_row as row;
    use crate::scaling::Kind::{Depth, Width};
    // Rises at batch 64, flattens at 256 (with a missing cell), a moderate wide net, a larger batch
    // that helps the narrow net most, a depth series growing with the FLOPs and one slower.
    let text = scaling_section(vec![
        row(Width, 64, 1, 64, 0.05),
        row(Width, 1024, 1, 64, 0.2),
        row(Width, 4096, 1, 64, 0.3),
        row(Width, 64, 1, 256, 0.1),
        row(Width, 2048, 1, 256, 0.32),
        row(Width, 4096, 1, 256, 0.33),
        row(Depth, 256, 1, 64, 0.2),
        row(Depth, 256, 8, 64, 0.2),
        row(Depth, 256, 1, 256, 0.1),
        row(Depth, 256, 8, 256, 0.3),
    ]);
    for expected in [
        "| 1024 | 814 090 | ",
        "| Hidden layers of 256 | Parameters |",
        "| 8 | 664 074 | ",
        " — | — | — |",
        "It is still rising at the widest width measured",
        "From width 2048 on it stays within 10 % of its best",
        "**Width, batch 256.** The fraction of the peak climbs from 10.00 % at width 64",
        "a good part of the square product's rate",
        "a larger batch matters most for small networks",
        "in proportion to the work",
        "less than the work, so the fraction of the peak rises with depth (10.00 % to 30.00 %)",
        "Each added layer costs",
        "at batch sizes 64 and 256",
        "on average 0.00 % slower than its fastest measurement, at most 0.00 %",
        "each timing 100 steps",
        "each point's fraction is of the median of its own peaks: 400.0 GFLOP/s for every point.",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // Flat, falling, a high and a low wide fraction, a batch that changes little or helps
    // everywhere, a depth series growing faster than the FLOPs and one without a positive slope.
    let text = scaling_section(vec![
        row(Width, 64, 1, 64, 0.5),
        row(Width, 1024, 1, 64, 0.52),
        row(Width, 64, 1, 256, 0.51),
        row(Width, 1024, 1, 256, 0.53),
        row(Depth, 256, 1, 64, 0.3),
        row(Depth, 256, 8, 64, 0.1),
    ]);
    for expected in [
        "within 10 % of its best (52.00 % at width 1024) at every width",
        "much of what the large square product achieves",
        "barely changes the efficiency",
        "more than the work, so the fraction of the peak falls with depth",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let mut rows = vec![
        row(Width, 64, 1, 64, 0.1),
        row(Width, 256, 1, 64, 0.5),
        row(Width, 1024, 1, 64, 0.1),
        row(Width, 64, 1, 256, 0.1),
        row(Width, 1024, 1, 256, 0.2),
        row(Depth, 256, 1, 64, 0.3),
        row(Depth, 256, 2, 64, 0.3),
    ];
    rows[6].seconds_per_step = rows[5].seconds_per_step / 2.0;
    rows[1].seconds_per_step_min = rows[1].seconds_per_step / 1.5;
    rows[3].peak_gflops = 350.0;
    rows[4].peak_gflops = 412.5;
    let text = scaling_section(rows);
    for expected in [
        "its own peaks: from 350.0 to 412.5 GFLOP/s in this run.",
        "and up to 50.00 % (1 hidden layer(s) of 256 at batch 64): the repeats do not agree",
        "From its best it falls to 10.00 % at width 1024",
        "far below the square product's rate",
        "a larger batch helps the wide networks at least as much",
        "At batch 256 the fraction of the peak is 1.00× that of batch 64 at width 64, and 2.00× at \
         width 1024",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("Each added layer costs"), "{text}");
    // Falling without climbing first, and a dip the widest net recovers from.
    let text = scaling_section(vec![
        row(Width, 64, 1, 64, 0.5),
        row(Width, 256, 1, 64, 0.48),
        row(Width, 1024, 1, 64, 0.3),
        row(Width, 64, 1, 256, 0.1),
        row(Width, 256, 1, 256, 0.5),
        row(Width, 1024, 1, 256, 0.3),
        row(Width, 4096, 1, 256, 0.47),
    ]);
    for expected in [
        "is within 10 % of its best (50.00 % at width 64) already at width 64 (50.00 %). From its \
         best it falls to 30.00 % at width 1024",
        "It is within 10 % of its best from width 256, but not steadily: down to 30.00 % at width \
         1024, then back to 47.00 % at width 4096.",
        "the larger batch is not better at every width — at width 64 it does worse.",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(
        !text.contains("Hidden layers of"),
        "no depth series: {text}"
    );
    let text = scaling_section(vec![
        row(Width, 64, 1, 64, 0.5),
        row(Width, 1024, 1, 64, 0.5),
        row(Width, 64, 1, 256, 0.2),
        row(Width, 1024, 1, 256, 0.2),
    ]);
    assert!(
        text.contains("the larger batch does worse at both ends"),
        "{text}"
    );
}
