//! Tiny runs through the executor and the report: skipping, retraining, divergence markers, and a
//! report rendered from partial results.

use mlp_cli::train::TrainConfig;
use mlp_core::{Activation, LrSchedule};
use xtask::executor::{ExecOptions, Executor, RunSpec};
use xtask::report::{self, Results};
use xtask::runs::{Outcome, Run};

fn tiny(hidden: Vec<usize>, seed: u64) -> TrainConfig {
    TrainConfig {
        hidden,
        activation: Activation::Sigmoid,
        lr: 0.5,
        batch_size: 50,
        epochs: 2,
        momentum: 0.0,
        weight_decay: 0.0,
        lr_schedule: LrSchedule::Constant,
        seed,
        val: 10_000,
        train_limit: Some(300),
    }
}

#[test]
fn runs_are_skipped_retrained_and_reported() {
    let mnist = mlp_data::load_dir(&mlp_data::default_data_dir()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let spec = RunSpec {
        name: "shallow-faithful-s1".into(),
        config: tiny(vec![20], 1),
        keep_model: true,
    };
    let study = RunSpec {
        name: "study/lr-batch/lr0.5-b50".into(),
        config: tiny(vec![20], 0),
        keep_model: false,
    };

    let mut exec = Executor::new(root, &mnist, ExecOptions::default());
    let run = exec.run("test", &spec).unwrap();
    assert_eq!(run.curve().len(), 3);
    assert!(root.join("shallow-faithful-s1/model.safetensors").is_file());
    exec.run("test", &study).unwrap();
    assert!(!root
        .join("study/lr-batch/lr0.5-b50/model.safetensors")
        .exists());
    assert!(root.join("study/lr-batch/lr0.5-b50/summary.json").is_file());
    assert_eq!((exec.trained, exec.skipped), (2, 0));

    // The same configuration is skipped; a changed one is retrained.
    exec.run("test", &spec).unwrap();
    assert_eq!((exec.trained, exec.skipped), (2, 1));
    let changed = RunSpec {
        config: TrainConfig {
            epochs: 1,
            ..spec.config.clone()
        },
        ..spec.clone()
    };
    let run = exec.run("test", &changed).unwrap();
    assert_eq!(run.config.epochs, 1);
    assert_eq!((exec.trained, exec.skipped), (3, 1));

    // --force retrains even an up-to-date run.
    let mut forced = Executor::new(
        root,
        &mnist,
        ExecOptions {
            force: true,
            quiet_epochs: true,
        },
    );
    forced.run("test", &changed).unwrap();
    assert_eq!((forced.trained, forced.skipped), (1, 0));

    // A diverging run leaves a marker, and is skipped next time.
    let diverging = RunSpec {
        name: "search/shallow-tuned/huge-lr".into(),
        config: TrainConfig {
            activation: Activation::Relu,
            lr: 1e30,
            momentum: 0.9,
            ..tiny(vec![20], 0)
        },
        keep_model: false,
    };
    let run = exec.run("test", &diverging).unwrap();
    assert!(matches!(run.outcome, Outcome::Diverged(_)), "{run:?}");
    assert!(run.val_error().is_infinite());
    exec.run("test", &diverging).unwrap();
    assert_eq!(exec.skipped, 2);
    assert!(Run::load(root, "search/shallow-tuned/huge-lr")
        .unwrap()
        .is_some());

    // The report renders from these partial results, with figures, and deterministically.
    report::generate(root).unwrap();
    let text = std::fs::read_to_string(root.join(report::REPORT)).unwrap();
    assert_eq!(text, report::render(&Results::load(root).unwrap()).unwrap());
    assert!(text.contains("| **total** | | | **109 260** |"), "{text}");
    assert!(text.contains("diverged"), "{text}");
    assert!(root.join("plots/curves-shallow.png").is_file());
    assert!(root.join("plots/lr-batch.svg").is_file());
}
