//! Facts of the report's frame: the setup list at the top, the review question's parameter count
//! and the closing "Reproducing" section.

use crate::plan::{Net, SEARCH_SEED, VAL};
use crate::results::Results;
use crate::runs::Run;
use crate::setting::{n_params, sizes_text};
use crate::Result;
use serde::Serialize;

/// A net as the setup names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetSize {
    /// `784-150-10`.
    pub sizes: String,
    /// Its parameter count.
    pub params: u64,
}

/// The setup list at the top of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setup {
    /// The reported runs train on a subset (`--quick`): the figures are not results.
    pub quick: bool,
    /// Training images per epoch of the reported runs.
    pub n_train: usize,
    /// Images of the validation split.
    pub n_val: usize,
    /// Whether the tuned settings were also retrained without a validation split.
    pub retrained: bool,
    /// The shallow net.
    pub shallow: NetSize,
    /// The deep net.
    pub deep: NetSize,
    /// Seeds of the reported runs.
    pub seeds: Vec<u64>,
    /// Seed of the studies and the search.
    pub search_seed: u64,
}

/// Computes the setup's facts.
pub fn setup(r: &Results) -> Result<Setup> {
    let net = |net: Net| -> Result<NetSize> {
        Ok(NetSize {
            sizes: sizes_text(&net.hidden()),
            params: n_params(&net.hidden())?,
        })
    };
    Ok(Setup {
        quick: r
            .reported
            .iter()
            .flat_map(|g| g.runs.iter())
            .any(|run| run.config.train_limit.is_some()),
        n_train: r.n_train().unwrap_or(0),
        n_val: VAL,
        retrained: !r.retrained.is_empty(),
        shallow: net(Net::Shallow)?,
        deep: net(Net::Deep)?,
        seeds: r
            .reported
            .first()
            .map(|g| g.runs.iter().map(|run| run.config.seed).collect())
            .unwrap_or_default(),
        search_seed: SEARCH_SEED,
    })
}

/// One layer of the review question's net.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerCount {
    /// Inputs.
    pub n_in: usize,
    /// Outputs (and biases).
    pub n_out: usize,
    /// (n_in + 1) · n_out.
    pub count: u64,
}

/// The review question: the parameters of a 784-100-200-50-10 net, layer by layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    /// Hidden widths.
    pub hidden: Vec<usize>,
    /// Full layer sizes.
    pub sizes: Vec<usize>,
    /// One entry per weight layer.
    pub layers: Vec<LayerCount>,
    /// The total.
    pub total: u64,
}

/// Computes the review question's count with `mlp_core::count_params`.
pub fn review() -> Result<Review> {
    let hidden = vec![100, 200, 50];
    let sizes = crate::setting::layer_sizes(&hidden);
    let count = mlp_core::count_params(&sizes)?;
    Ok(Review {
        layers: count
            .layers
            .iter()
            .map(|l| LayerCount {
                n_in: l.n_in,
                n_out: l.n_out,
                count: l.count,
            })
            .collect(),
        total: count.total,
        hidden,
        sizes,
    })
}

/// How much work the runs above were.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reproduce {
    /// Runs of the studies, the search, the reported and the retrained groups.
    pub n_runs: usize,
    /// Epochs they trained.
    pub epochs: usize,
    /// Their `wall_seconds`, summed, in minutes.
    pub minutes: f64,
}

/// Sums the work of every run the report shows.
pub fn reproduce(r: &Results) -> Reproduce {
    let all: Vec<&Run> = r
        .study
        .iter()
        .chain(r.search.iter().flat_map(|(_, runs)| runs.iter()))
        .chain(r.epochs.iter().filter(|run| run.name.starts_with("study/")))
        .chain(r.reported.iter().flat_map(|g| g.runs.iter()))
        .chain(r.retrained.iter().flat_map(|g| g.runs.iter()))
        .collect();
    let finished = || all.iter().filter_map(|run| run.summary());
    Reproduce {
        n_runs: all.len(),
        epochs: finished().map(|s| s.last.epoch).sum(),
        minutes: finished().map(|s| s.wall_seconds).sum::<f64>() / 60.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::{results, run};

    #[test]
    fn quick_runs_and_retrained_groups_are_noticed() {
        let mut r = results();
        let facts = setup(&r).unwrap();
        assert!(!facts.quick);
        assert!(facts.retrained);
        assert_eq!(facts.seeds, [1, 2]);
        assert_eq!(facts.shallow.sizes, "784-150-10");
        r.reported[0].runs[0].config.train_limit = Some(100);
        r.retrained.clear();
        let facts = setup(&r).unwrap();
        assert!(facts.quick);
        assert!(!facts.retrained);
    }

    #[test]
    fn the_review_net_is_counted_layer_by_layer() {
        let facts = review().unwrap();
        assert_eq!(facts.sizes, [784, 100, 200, 50, 10]);
        assert_eq!(facts.layers[0].count, 785 * 100);
        assert_eq!(facts.total, 109_260);
    }

    #[test]
    fn reproduce_sums_the_finished_runs() {
        let mut r = results();
        r.study = vec![run("study/lr-batch/a", &[0.5, 0.1], 0.0)];
        let facts = reproduce(&r);
        // Two reported groups and one retrained group of two seeds each, plus the study run.
        assert_eq!(facts.n_runs, 7);
        assert_eq!(facts.epochs, 14);
    }
}
