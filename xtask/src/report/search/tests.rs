//! Tests of the search facts on small hand-made searches.

use super::*;
use crate::plan::Net;
use crate::report::testing::{diverged, finished, record, results, run};
use crate::setting::tests::config;

/// A search run of setting `lr` with seed `seed` and final validation error `val`.
fn search_run(lr: f64, seed: u64, val: f64) -> Run {
    let mut run = run(&format!("search/shallow-tuned/lr{lr}-s{seed}"), &[val], 0.0);
    run.config.lr = lr;
    run.config.seed = seed;
    run
}

fn search(runs: Vec<Run>) -> NetSearch {
    let mut r = results();
    r.search = vec![(Net::Shallow, runs), (Net::Deep, Vec::new())];
    let mut f = facts(&r).unwrap();
    assert_eq!(f.nets.len(), 1, "a net without runs is left out");
    f.nets.remove(0)
}

#[test]
fn no_search_gives_no_section() {
    let mut r = results();
    r.search = vec![(Net::Shallow, Vec::new())];
    assert_eq!(facts(&r), None);
}

#[test]
fn finalists_come_first_and_the_lead_is_judged() {
    let n = search(vec![
        search_run(0.1, 0, 0.018),
        search_run(0.2, 0, 0.017),
        search_run(0.3, 0, 0.030),
        search_run(0.1, 10, 0.019),
        search_run(0.2, 10, 0.030),
    ]);
    let lrs: Vec<String> = n.rows.iter().map(|r| r.setting.clone()).collect();
    assert!(lrs[0].contains("lr 0.1") && lrs[1].contains("lr 0.2") && lrs[2].contains("lr 0.3"));
    assert!(n.rows[0].chosen && !n.rows[1].chosen);
    assert_eq!(n.rows[0].mean.as_ref().unwrap().seeds, [0, 10]);
    assert_eq!(n.rows[2].mean, None);
    let lead = n.lead.unwrap();
    // Chosen: 0.018 and 0.019, mean 0.0185; runner-up mean 0.0235; 2 SE = 2 · 0.000707 / √2.
    assert_eq!(lead.size, LeadSize::Clear);
    let unconfirmed = n.unconfirmed.unwrap();
    assert_eq!(
        (unconfirmed.short_name.as_str(), unconfirmed.val),
        ("lr0.2-s0", 0.017)
    );
    // `results()` has shallow tuned runs ending at 0.02 and 0.03: worse than the search's 0.0185.
    assert_eq!(n.fresh.unwrap().holds, Holds::PartlyLuck);
    assert_eq!(n.collapsed, None);
}

#[test]
fn close_finalists_are_equivalent_and_fresh_seeds_may_confirm() {
    let mut r = results();
    r.search = vec![(
        Net::Shallow,
        vec![
            search_run(0.1, 0, 0.020),
            search_run(0.2, 0, 0.021),
            search_run(0.1, 10, 0.030),
            search_run(0.2, 10, 0.030),
        ],
    )];
    let n = facts(&r).unwrap().nets.remove(0);
    assert_eq!(n.lead.unwrap().size, LeadSize::WithinNoise);
    assert_eq!(n.unconfirmed, None, "the best single run is the chosen one");
    assert_eq!(n.fresh.unwrap().holds, Holds::Holds);
    r.reported.clear();
    assert_eq!(facts(&r).unwrap().nets[0].fresh, None);
}

#[test]
fn diverged_and_collapsed_runs_are_shown() {
    let mut dead_curve = vec![record(0, 0.9, Some(0.9), 0.9)];
    let mut dead_record = record(1, 0.9, Some(0.9), 0.9);
    dead_record.train_loss = 10f64.ln();
    dead_curve.push(dead_record);
    let mut dead_config = config("relu", 0.4, "cosine", 0.9);
    dead_config.weight_decay = 1e-4;
    let dead = finished(
        "search/shallow-tuned/dead",
        dead_config.clone(),
        dead_curve.clone(),
    );
    dead_config.weight_decay = 3e-4;
    let dead2 = finished("search/shallow-tuned/dead2", dead_config, dead_curve);
    let n = search(vec![
        search_run(0.1, 0, 0.02),
        diverged(
            "search/shallow-tuned/nan",
            config("relu", 9.0, "cosine", 0.9),
        ),
        dead,
        dead2,
    ]);
    assert!(n.chosen && n.rows[0].chosen);
    assert_eq!(n.lead, None, "a single finalist");
    let diverged_row = n.rows.iter().find(|r| r.short_name == "nan").unwrap();
    assert_eq!(diverged_row.val, None);
    let c = n.collapsed.unwrap();
    assert_eq!(c.settings, [(0.4, 1e-4), (0.4, 3e-4)]);
    assert!((c.loss - c.ln10).abs() < 1e-12);
}

#[test]
fn without_a_finished_candidate_nothing_is_chosen() {
    let n = search(vec![diverged(
        "search/shallow-tuned/nan",
        config("relu", 9.0, "cosine", 0.9),
    )]);
    assert!(!n.chosen);
    assert_eq!((n.lead, n.unconfirmed, n.fresh), (None, None, None));
}
