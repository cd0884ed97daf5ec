//! Tests of the lr × batch facts on small hand-made studies.

use super::*;
use crate::report::testing::{diverged, results, run};
use crate::setting::tests::config;

/// A study run at `lr` and `batch` with a final validation error `val` and training error `train`
/// after 2 epochs.
fn cell(lr: f64, batch: usize, val: f64, train: f64) -> Run {
    let mut run = run(
        &format!("study/lr-batch/lr{lr}-b{batch}"),
        &[val + 0.01, val],
        train,
    );
    run.config.lr = lr;
    run.config.batch_size = batch;
    run.config.seed = 0;
    run
}

fn study(runs: Vec<Run>) -> LrBatch {
    let mut r = results();
    r.study = runs;
    facts(&r).unwrap()
}

#[test]
fn no_study_gives_no_section() {
    assert_eq!(facts(&results()), None);
}

#[test]
fn best_rates_grow_stay_or_wander() {
    assert_eq!(RateTrend::of(&[0.1, 0.5, 0.5]), RateTrend::Grows);
    assert_eq!(RateTrend::of(&[0.5, 0.5]), RateTrend::Same);
    assert_eq!(RateTrend::of(&[0.5, 0.1, 1.0]), RateTrend::NotMonotone);
    assert_eq!(Relation::of(1.5), Relation::Close);
    assert_eq!(Relation::of(4.0), Relation::Above);
    assert_eq!(Relation::of(0.2), Relation::Below);
}

#[test]
fn a_grid_with_corners_timing_and_a_region() {
    let f = study(vec![
        cell(0.1, 16, 0.030, 0.02),
        cell(0.1, 256, 0.080, 0.07),
        cell(1.0, 16, 0.0204, 0.0),
        cell(1.0, 256, 0.020, 0.01),
    ]);
    assert_eq!(f.batches, [16, 256]);
    assert_eq!(f.grid.len(), 2);
    assert!(f.grid[1].cells[1].best);
    let b = f.best.unwrap();
    assert_eq!((b.lr, b.batch), (1.0, 256));
    assert_eq!(b.trend, RateTrend::Same);
    let c = b.corners.unwrap();
    assert_eq!((c.lr, c.batch, c.steps), (0.1, 256, 196));
    assert!(c.under_fits);
    let fast = c.fast.unwrap();
    assert!(!fast.diverged);
    assert!(!fast.worse, "0.0204 is within the noise floor of 0.020");
    assert!(!b.timing.unwrap().small_slower, "every epoch takes 0.5 s");
    assert_eq!(b.close.len(), 2);
    assert_eq!(b.good, 2);
    assert_eq!(b.region, Region::LargerRates);
    assert_eq!(b.still_improving, 4);
    // The tuned shallow runs of `results()` use plain SGD: no momentum comparison.
    assert_eq!(b.momentum, None);
}

#[test]
fn regions_of_the_good_settings() {
    let region = |runs| study(runs).best.unwrap().region;
    let base = |v11: f64, v12: f64, v21: f64, v22: f64| {
        vec![
            cell(0.1, 16, v11, 0.0),
            cell(0.1, 64, v12, 0.0),
            cell(1.0, 16, v21, 0.0),
            cell(1.0, 64, v22, 0.0),
        ]
    };
    assert_eq!(
        region(base(0.1, 0.1, 0.02, 0.1)),
        Region::LargerRatesSmallerBatches
    );
    assert_eq!(region(base(0.1, 0.1, 0.02, 0.021)), Region::LargerRates);
    assert_eq!(region(base(0.02, 0.1, 0.021, 0.1)), Region::SmallerBatches);
    assert_eq!(region(base(0.02, 0.021, 0.021, 0.021)), Region::Anywhere);
}

#[test]
fn the_fast_corner_may_diverge_or_generalise_worse() {
    let mut bad = diverged(
        "study/lr-batch/fast",
        config("sigmoid", 1.0, "constant", 0.0),
    );
    bad.config.batch_size = 16;
    let f = study(vec![
        cell(0.1, 16, 0.02, 0.0),
        cell(0.1, 64, 0.03, 0.001),
        bad,
    ]);
    let b = f.best.unwrap();
    assert!(f.grid[1].cells[0].diverged);
    assert!(b.corners.as_ref().unwrap().fast.as_ref().unwrap().diverged);
    assert!(!b.corners.unwrap().under_fits);
    let f = study(vec![
        cell(0.1, 16, 0.02, 0.0),
        cell(0.1, 64, 0.03, 0.0),
        cell(1.0, 16, 0.03, 0.0),
    ]);
    let b = f.best.unwrap();
    assert!(b.corners.unwrap().fast.unwrap().worse);
    assert!(!f.grid[1].cells[1].ran);
    assert_eq!(b.trend, RateTrend::Same);
}

#[test]
fn small_batches_take_longer_per_epoch() {
    let mut small = cell(0.1, 16, 0.02, 0.0);
    if let crate::runs::Outcome::Finished { curve, .. } = &mut small.outcome {
        for rec in curve.iter_mut().skip(1) {
            rec.seconds = 2.0;
        }
    }
    let b = study(vec![small, cell(0.1, 64, 0.03, 0.0)]).best.unwrap();
    let t = b.timing.unwrap();
    assert!(t.small_slower);
    assert_eq!(t.ratio, 4.0);
}

#[test]
fn momentum_steps_are_compared_with_the_plain_rate() {
    let mut r = results();
    r.study = vec![cell(0.5, 16, 0.02, 0.0), cell(1.0, 64, 0.03, 0.0)];
    let mut tuned = config("relu", 0.2, "cosine", 0.9);
    tuned.seed = 1;
    r.reported[1].runs[0].config = tuned;
    let m = facts(&r).unwrap().best.unwrap().momentum.unwrap();
    assert!((m.effective - 2.0).abs() < 1e-12);
    assert_eq!(m.relation, Relation::Above);
    // 2 / 64 = 0.03125 per image against 0.5 / 16 = 0.03125.
    assert!(m.same_per_image);
    r.reported[1].runs[0].config.lr = 0.05;
    let m = facts(&r).unwrap().best.unwrap().momentum.unwrap();
    assert_eq!(m.relation, Relation::Close);
    assert!(!m.same_per_image);
    r.reported[1].runs[0].config.lr = 0.001;
    assert_eq!(
        facts(&r).unwrap().best.unwrap().momentum.unwrap().relation,
        Relation::Below
    );
}
