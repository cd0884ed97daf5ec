//! The study's arguments, counts, timing helpers, table and chart, on small synthetic data.

use super::timing::{auto_steps, Shuffled};
use super::*;

fn args() -> Args {
    Args {
        widths: DEFAULT_WIDTHS.into(),
        depths: DEFAULT_DEPTHS.into(),
        depth_width: DEFAULT_DEPTH_WIDTH,
        batch_sizes: DEFAULT_BATCH_SIZES.into(),
        steps: None,
        repeats: 5,
        threads: Some(1),
        out: PathBuf::from("unused"),
        data: None,
    }
}

/// Checks that `change` makes the arguments a usage error whose message names `flag`.
#[track_caller]
fn check_refused(change: impl FnOnce(&mut Args), flag: &str) {
    let mut bad = args();
    change(&mut bad);
    match Study::from_args(&bad) {
        Err(CliError::Usage(message)) => {
            assert!(message.contains(flag), "{flag} not in {message:?}")
        }
        other => panic!("{flag}: expected a usage error, got {other:?}"),
    }
}

#[test]
fn the_default_study_is_accepted() {
    let study = Study::from_args(&args()).unwrap();
    assert_eq!(study.widths, [64, 128, 256, 512, 1024, 2048, 4096]);
    assert_eq!(study.depths, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(study.batch_sizes, [64, 256]);
    let networks = study.networks();
    assert_eq!(networks.len(), 7 + 8);
    assert_eq!(
        networks[7],
        Network {
            kind: Kind::Depth,
            width: 256,
            depth: 1
        }
    );
    assert_eq!(
        networks[14].sizes(784, 10),
        [784, 256, 256, 256, 256, 256, 256, 256, 256, 10]
    );
}

#[test]
fn arguments_are_checked() {
    check_refused(|a| a.widths = "".into(), "--widths");
    check_refused(|a| a.widths = "64,0".into(), "--widths");
    check_refused(|a| a.widths = "64,,128".into(), "--widths");
    check_refused(|a| a.widths = "-64".into(), "--widths");
    check_refused(|a| a.widths = "100000".into(), "--widths");
    check_refused(|a| a.depths = " ".into(), "--depths");
    check_refused(|a| a.depths = "0".into(), "--depths");
    check_refused(|a| a.depths = "65".into(), "--depths");
    check_refused(|a| a.depth_width = 0, "--depth-width");
    check_refused(|a| a.depth_width = MAX_WIDTH + 1, "--depth-width");
    check_refused(|a| a.batch_sizes = "".into(), "--batch-sizes");
    check_refused(|a| a.batch_sizes = "0".into(), "--batch-sizes");
    check_refused(|a| a.batch_sizes = "60001".into(), "--batch-sizes");
    check_refused(|a| a.steps = Some(0), "--steps");
    check_refused(|a| a.steps = Some(MAX_STEPS + 1), "--steps");
    check_refused(|a| a.repeats = 0, "--repeats");
    check_refused(|a| a.threads = Some(0), "--threads");
    // 64 layers of 16384 units: 17 billion parameters.
    check_refused(
        |a| {
            a.depths = "64".into();
            a.depth_width = MAX_WIDTH;
        },
        "--depths, --depth-width",
    );
    // 784-16384-10 is small, but a step at batch 60000 keeps 2 billion activations.
    check_refused(
        |a| {
            a.widths = MAX_WIDTH.to_string();
            a.batch_sizes = "60000".into();
        },
        "--batch-sizes 60000",
    );
}

#[test]
fn flops_are_counted_by_hand() {
    // 6-4-3 at batch 7: the products have 24 and 12 multiply-adds; forward and weight
    // gradients of both layers, the delta of the second only: 2 · 7 · (2 · 36 + 12).
    assert_eq!(flops_per_step(&[6, 4, 3], 7), 1176.0);
    // 6-4-4-3: 24, 16 and 12; 2 · 7 · (2 · 52 + 16 + 12).
    assert_eq!(flops_per_step(&[6, 4, 4, 3], 7), 1848.0);
    // Softmax regression: no delta below the only layer.
    assert_eq!(flops_per_step(&[6, 3], 1), 2.0 * 2.0 * 18.0);
    // 6-4-3 at batch 7: 2 · 7 · (4 + 3) activations and deltas, 7 · (6 + 3) inputs and labels.
    assert_eq!(step_values(&[6, 4, 3], 7), 98 + 63);
}

#[test]
fn auto_steps_stay_in_range() {
    assert_eq!(auto_steps(0.003), 100);
    assert_eq!(auto_steps(1.0), AUTO_MIN_STEPS);
    assert_eq!(auto_steps(1e-9), AUTO_MAX_STEPS);
    assert_eq!(auto_steps(0.0), AUTO_MAX_STEPS);
}

#[test]
fn shuffled_batches_are_full_and_cover_an_epoch() {
    let mut order = Shuffled::new(10, 3, 0);
    order.next_epoch();
    let mut seen: Vec<usize> = (0..3).flat_map(|_| order.next_batch().to_vec()).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(
        seen.len(),
        9,
        "three batches of one epoch are distinct samples"
    );
    // The fourth would run past the end: a new epoch's first batch.
    assert_eq!(order.next_batch().len(), 3);
    assert_eq!(order.epoch, 2);
    assert_eq!(order.next_batch(), &mlp_data::epoch_order(10, 0, 2)[3..6]);
}

fn tiny_data() -> Dataset {
    // Synthetic data: 50 images of 6 features and 3 classes.
    let pixels = (0..300).map(|i| (i % 7) as f32 / 7.0).collect();
    let labels = (0..50).map(|i| (i % 3) as u8).collect();
    Dataset::from_parts(pixels, labels, 6, 3).unwrap()
}

fn tiny_study(threads: usize) -> Study {
    Study {
        widths: vec![4, 8],
        depths: vec![1, 3],
        depth_width: 5,
        batch_sizes: vec![7, 50],
        steps: Some(3),
        repeats: 2,
        threads,
    }
}

#[test]
fn a_small_study_runs() {
    let train = tiny_data();
    for threads in [1, 2] {
        let report = run_study(&tiny_study(threads), &train).unwrap();
        assert_eq!(report.n_train, 50);
        let networks: Vec<(Kind, usize, usize, usize)> = report
            .rows
            .iter()
            .map(|r| (r.kind, r.width, r.depth, r.batch))
            .collect();
        assert_eq!(
            networks,
            [
                (Kind::Width, 4, 1, 7),
                (Kind::Width, 4, 1, 50),
                (Kind::Width, 8, 1, 7),
                (Kind::Width, 8, 1, 50),
                (Kind::Depth, 5, 1, 7),
                (Kind::Depth, 5, 1, 50),
                (Kind::Depth, 5, 3, 7),
                (Kind::Depth, 5, 3, 50),
            ]
        );
        let deep = &report.rows[6];
        assert_eq!(deep.layers, "6-5-5-5-3");
        // 6·5 + 5 weights and biases, then 5·5 + 5 twice, then 5·3 + 3.
        assert_eq!(deep.n_params, 35 + 30 + 30 + 18);
        assert_eq!(deep.flops_per_step, 2.0 * 7.0 * (2.0 * 95.0 + 65.0));
        assert_eq!((deep.epoch_steps, report.rows[7].epoch_steps), (8, 1));
        for row in &report.rows {
            assert_eq!((row.steps, row.repeats, row.threads), (3, 2, threads));
            assert_eq!(row.n_train, 50);
            assert!(row.split_repeats <= row.repeats);
            assert!(row.seconds_per_step > 0.0 && row.seconds_per_step_min > 0.0);
            assert!(row.seconds_per_step_min <= row.seconds_per_step);
            assert_eq!(
                row.epoch_seconds,
                row.seconds_per_step * row.epoch_steps as f64
            );
            assert_eq!(row.gflops, row.flops_per_step / row.seconds_per_step / 1e9);
            assert!(row.peak_gflops > 0.0);
            assert_eq!(row.fraction_of_peak, row.gflops / row.peak_gflops);
        }
        let (lowest, highest) = peak_range(&report.rows).expect("rows");
        assert!(report.rows.iter().any(|row| row.peak_gflops == lowest));
        assert!(report.rows.iter().any(|row| row.peak_gflops == highest));
        assert!(report
            .rows
            .iter()
            .all(|row| (lowest..=highest).contains(&row.peak_gflops)));
        assert_eq!(summary(&report.rows).len(), 4);
    }
}

#[test]
fn measurements_are_taken_in_rounds_over_every_network() {
    let train = tiny_data();
    let study = Study {
        steps: None,
        ..tiny_study(1)
    };
    let mut lines = Vec::new();
    let report = run_study_with(&study, &train, |line| lines.push(line.to_string())).unwrap();
    let position = |start: &str| {
        lines
            .iter()
            .position(|line| line.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("no line starting with {start:?} in {lines:#?}"))
    };
    let (first, second, header) = (
        position("round 1 of 2"),
        position("round 2 of 2"),
        position("series"),
    );
    assert!(first < second && second < header, "{lines:#?}");
    assert!(lines[first].contains("each of the 8 networks and batch sizes"));
    // Every row comes after both rounds, its steps chosen from its probe's speed within bounds.
    assert_eq!(lines.len(), header + 1 + report.rows.len());
    for row in &report.rows {
        assert!((AUTO_MIN_STEPS..=AUTO_MAX_STEPS).contains(&row.steps));
    }
}

#[test]
fn a_study_is_checked_against_its_data() {
    let train = tiny_data();
    let too_big = Study {
        batch_sizes: vec![51],
        ..tiny_study(1)
    };
    match run_study(&too_big, &train) {
        Err(CliError::Usage(message)) => {
            assert!(message.contains("--batch-sizes"), "{message}")
        }
        other => panic!("expected a usage error, got {other:?}"),
    }
}

#[test]
fn the_csv_reads_back_and_the_figure_is_drawn() {
    let train = tiny_data();
    let study = Study {
        steps: None,
        repeats: 1,
        ..tiny_study(1)
    };
    let report = run_study(&study, &train).unwrap();
    assert!(report
        .rows
        .iter()
        .all(|r| (AUTO_MIN_STEPS..=AUTO_MAX_STEPS).contains(&r.steps)));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench_train.csv");
    write_csv(&report.rows, &path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(
        "kind,width,depth,layers,batch,n_params,flops_per_step,steps,repeats,threads,\
         n_train,split_repeats,seconds_per_step,seconds_per_step_min,epoch_steps,epoch_seconds,gflops,\
         fraction_of_peak,peak_gflops\nwidth,4,1,6-4-3,7,"
    ));
    let read: Vec<Row> = csv::Reader::from_path(&path)
        .unwrap()
        .deserialize()
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    assert_eq!(read, report.rows);
    let stem = dir.path().join("bench_train");
    draw(&read, &stem).unwrap();
    for ext in ["svg", "png"] {
        let file = dir.path().join(format!("bench_train.{ext}"));
        assert!(file.metadata().unwrap().len() > 0, "{ext}");
    }
    // One series alone, and nothing at all, draw too.
    let widths: Vec<Row> = read.into_iter().filter(|r| r.kind == Kind::Width).collect();
    draw(&widths, &stem).unwrap();
    draw(&[], &dir.path().join("nothing")).unwrap();
    assert!(!dir.path().join("nothing.svg").exists());
}
