//! The trainer as a library, the way a second front end would drive it: events to an observer,
//! a stop flag owned by the caller, outcomes instead of errors, and a run on another thread.

mod common;

use common::tiny_set;
use mlp_cli::train::{EpochRecord, Measured, Observer, Outcome, Progress, TrainConfig, Trainer};
use mlp_data::Mnist;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

/// What an observer saw, in order.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    Untrained(EpochRecord),
    Step(Progress),
    Epoch(EpochRecord),
}

/// Records every event, and raises `stop` after `stop_after` epochs.
struct Recorder {
    events: Vec<Event>,
    stop_after: Option<(usize, Arc<AtomicBool>)>,
}

impl Observer for Recorder {
    fn untrained(&mut self, record: &EpochRecord) {
        self.events.push(Event::Untrained(record.clone()));
    }
    fn step(&mut self, progress: &Progress) {
        self.events.push(Event::Step(*progress));
    }
    fn epoch(&mut self, record: &EpochRecord) {
        self.events.push(Event::Epoch(record.clone()));
        if let Some((n, stop)) = &self.stop_after {
            if record.epoch >= *n {
                stop.store(true, Ordering::Relaxed);
            }
        }
    }
}

fn recorder() -> Recorder {
    Recorder {
        events: Vec::new(),
        stop_after: None,
    }
}

fn config() -> TrainConfig {
    TrainConfig {
        hidden: vec![16],
        batch_size: 100,
        epochs: 3,
        val: 100,
        lr: 0.5,
        ..TrainConfig::default()
    }
}

fn mnist() -> (tempfile::TempDir, Mnist) {
    let (tmp, data) = tiny_set();
    let mnist = mlp_data::load_dir(&data).unwrap();
    (tmp, mnist)
}

#[test]
fn the_observer_sees_the_untrained_network_every_step_and_every_epoch() {
    let (tmp, mnist) = mnist();
    let out = tmp.path().join("run");
    let mut seen = recorder();
    let never = AtomicBool::new(false);
    let outcome = Trainer::new(config(), &mnist, &out)
        .unwrap()
        .run(&mut seen, &never)
        .unwrap();
    let Outcome::Finished(summary) = outcome else {
        panic!("{outcome:?}");
    };
    // 500 training samples (600 less 100 for validation) in batches of 100: 5 steps an epoch.
    let steps_per_epoch = 5;
    assert_eq!(seen.events.len(), 1 + 3 * (steps_per_epoch + 1));
    assert!(matches!(&seen.events[0], Event::Untrained(r) if r.epoch == 0));
    for epoch in 1..=3 {
        let start = 1 + (epoch - 1) * (steps_per_epoch + 1);
        for step in 0..steps_per_epoch {
            let Event::Step(progress) = &seen.events[start + step] else {
                panic!("{:?}", seen.events[start + step]);
            };
            assert_eq!(
                (progress.epoch, progress.steps_done, progress.n_steps),
                (epoch, step + 1, steps_per_epoch)
            );
            assert!(progress.mean_loss.is_finite());
        }
        assert!(
            matches!(&seen.events[start + steps_per_epoch], Event::Epoch(r) if r.epoch == epoch)
        );
    }
    // The events are the files' records.
    let curve = mlp_cli::train::read_curve(&out.join("curve.csv")).unwrap();
    let Event::Epoch(last) = seen.events.last().unwrap() else {
        unreachable!()
    };
    assert_eq!(&curve[3], last);
    assert_eq!(&summary.last, last);
    assert!(out.join("model.safetensors").is_file());
    assert!(!out.join("checkpoint.safetensors").exists());
}

#[test]
fn a_stopped_run_is_an_outcome_and_resumes_to_the_same_model() {
    let (tmp, mnist) = mnist();
    let never = AtomicBool::new(false);
    let straight = tmp.path().join("straight");
    Trainer::new(config(), &mnist, &straight)
        .unwrap()
        .run(&mut (), &never)
        .unwrap();

    let split = tmp.path().join("split");
    let stop = Arc::new(AtomicBool::new(false));
    let mut stopping = Recorder {
        events: Vec::new(),
        stop_after: Some((1, Arc::clone(&stop))),
    };
    let outcome = Trainer::new(config(), &mnist, &split)
        .unwrap()
        .run(&mut stopping, &stop)
        .unwrap();
    assert!(
        matches!(outcome, Outcome::Interrupted { epoch: 1 }),
        "{outcome:?}"
    );
    let resumed = Trainer::resume(&split, &mnist).unwrap();
    assert_eq!(resumed.config(), &config());
    let mut seen = recorder();
    let outcome = resumed.run(&mut seen, &never).unwrap();
    assert!(matches!(outcome, Outcome::Finished(_)), "{outcome:?}");
    // The resumed run reports epoch 0 from the curve, then trains epochs 2 and 3 only.
    let epochs: Vec<usize> = seen
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Untrained(r) | Event::Epoch(r) => Some(r.epoch),
            Event::Step(_) => None,
        })
        .collect();
    assert_eq!(epochs, [0, 2, 3]);
    let model = |dir: &std::path::Path| std::fs::read(dir.join("model.safetensors")).unwrap();
    assert!(model(&straight) == model(&split));
}

#[test]
fn divergence_is_an_outcome_not_an_error() {
    let (tmp, mnist) = mnist();
    let config = TrainConfig {
        lr: 1000.0,
        ..config()
    };
    let out = tmp.path().join("run");
    let outcome = Trainer::new(config, &mnist, &out)
        .unwrap()
        .run(&mut (), &AtomicBool::new(false))
        .unwrap();
    let Outcome::Diverged(divergence) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(divergence.epoch, 1);
    assert_eq!(divergence.measured, Measured::TrainingSet);
    assert!(divergence.to_string().contains("e.g. 100"), "{divergence}");
    // The checkpoint of the last good epoch stays, so nothing finished is lost.
    assert!(out.join("checkpoint.safetensors").is_file());
    assert!(!out.join("summary.json").exists());
}

/// An observer that forwards events through a channel, as a server streaming them would.
struct Forward(mpsc::Sender<String>);

impl Observer for Forward {
    fn epoch(&mut self, record: &EpochRecord) {
        let _ = self.0.send(record.table_row());
    }
}

#[test]
fn a_run_on_another_thread_streams_its_epochs_and_stops_on_request() {
    let (tmp, mnist) = mnist();
    let out = tmp.path().join("run");
    let config = TrainConfig {
        epochs: 1000,
        ..config()
    };
    let trainer = Trainer::new(config, &mnist, &out).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (send, receive) = mpsc::channel();
    let worker = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || trainer.run(&mut Forward(send), &stop))
    };
    let first_rows: Vec<String> = receive.iter().take(2).collect();
    assert!(
        first_rows[0].trim_start().starts_with("1 "),
        "{first_rows:?}"
    );
    stop.store(true, Ordering::Relaxed);
    let outcome = worker.join().unwrap().unwrap();
    let Outcome::Interrupted { epoch } = outcome else {
        panic!("{outcome:?}");
    };
    assert!((2..1000).contains(&epoch), "{epoch}");
    assert!(out.join("checkpoint.safetensors").is_file());
}
