//! Facts of "Model complexity: shallow vs deep": the parameter counts and the test errors of the
//! two nets under each recipe.

use super::NOISE_FLOOR;
use crate::figures;
use crate::plan::{Net, Recipe};
use crate::results::Results;
use crate::setting::{n_params, N_INPUTS};
use crate::Result;
use serde::Serialize;

/// How the deep net's mean test error compares with the shallow net's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Versus {
    /// Lower by more than the noise floor.
    Better,
    /// Higher by more than the noise floor.
    Worse,
    /// Within the noise floor.
    Same,
}

impl Versus {
    /// Compares the deep net's error with the shallow net's.
    pub fn of(deep: f64, shallow: f64) -> Self {
        if deep < shallow - NOISE_FLOOR {
            Self::Better
        } else if deep > shallow + NOISE_FLOOR {
            Self::Worse
        } else {
            Self::Same
        }
    }
}

/// What depth buys, from both recipes' comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Depth {
    /// Better with the tuned recipe but not with the faithful one.
    PaysWhenOptimised,
    /// Better with both.
    HelpsBoth,
    /// Not better with the tuned recipe.
    DoesNotPay,
}

impl Depth {
    /// Judges depth from the faithful and tuned comparisons.
    pub fn of(faithful: Versus, tuned: Versus) -> Self {
        match (faithful, tuned) {
            (Versus::Better, Versus::Better) => Self::HelpsBoth,
            (_, Versus::Better) => Self::PaysWhenOptimised,
            _ => Self::DoesNotPay,
        }
    }
}

/// The two nets' mean test errors under one recipe.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Deep net.
    pub deep: f64,
    /// Shallow net.
    pub shallow: f64,
    /// The deep one against the shallow one.
    pub versus: Versus,
}

impl Comparison {
    fn of(deep: f64, shallow: f64) -> Self {
        Self {
            deep,
            shallow,
            versus: Versus::of(deep, shallow),
        }
    }
}

/// The comparison of the two nets, when both ran with the faithful recipe.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Nets {
    /// Parameters of the deep net.
    pub deep_params: u64,
    /// Parameters of the shallow net.
    pub shallow_params: u64,
    /// deep / shallow.
    pub ratio: f64,
    /// Parameters of the first layer (784 × 150 + 150).
    pub first_layer: u64,
    /// Its share of the shallow net.
    pub first_share_shallow: f64,
    /// Its share of the deep net.
    pub first_share_deep: f64,
    /// With the faithful recipe.
    pub faithful: Comparison,
    /// With the tuned recipe, if both ran.
    pub tuned: Option<Comparison>,
    /// What depth buys (with both recipes).
    pub depth: Option<Depth>,
}

/// The facts of "Model complexity".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Complexity {
    /// File stem of the figure in plots/.
    pub figure: &'static str,
    /// The comparison, when both faithful groups ran.
    pub nets: Option<Nets>,
}

/// Computes the section's facts.
pub fn facts(r: &Results) -> Result<Complexity> {
    let mut facts = Complexity {
        figure: figures::COMPLEXITY,
        nets: None,
    };
    let (Some(sf), Some(df)) = (
        r.group(Net::Shallow, Recipe::Faithful),
        r.group(Net::Deep, Recipe::Faithful),
    ) else {
        return Ok(facts);
    };
    let (ps, pd) = (
        n_params(&Net::Shallow.hidden())?,
        n_params(&Net::Deep.hidden())?,
    );
    let first_layer = mlp_core::count_params(&[N_INPUTS, Net::Shallow.hidden()[0]])?.total;
    let faithful = Comparison::of(df.mean_test(), sf.mean_test());
    let tuned = match (
        r.group(Net::Shallow, Recipe::Tuned),
        r.group(Net::Deep, Recipe::Tuned),
    ) {
        (Some(st), Some(dt)) => Some(Comparison::of(dt.mean_test(), st.mean_test())),
        _ => None,
    };
    facts.nets = Some(Nets {
        deep_params: pd,
        shallow_params: ps,
        ratio: pd as f64 / ps as f64,
        first_layer,
        first_share_shallow: first_layer as f64 / ps as f64,
        first_share_deep: first_layer as f64 / pd as f64,
        depth: tuned.as_ref().map(|t| Depth::of(faithful.versus, t.versus)),
        faithful,
        tuned,
    });
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::{group, results, run};

    #[test]
    fn the_nets_are_compared_beyond_the_noise_floor() {
        assert_eq!(Versus::of(0.015, 0.017), Versus::Better);
        assert_eq!(Versus::of(0.017, 0.015), Versus::Worse);
        assert_eq!(Versus::of(0.0152, 0.015), Versus::Same);
        assert_eq!(
            Depth::of(Versus::Worse, Versus::Better),
            Depth::PaysWhenOptimised
        );
        assert_eq!(
            Depth::of(Versus::Same, Versus::Better),
            Depth::PaysWhenOptimised
        );
        assert_eq!(Depth::of(Versus::Better, Versus::Better), Depth::HelpsBoth);
        assert_eq!(Depth::of(Versus::Better, Versus::Same), Depth::DoesNotPay);
    }

    #[test]
    fn both_faithful_groups_are_needed() {
        let mut r = results();
        assert_eq!(facts(&r).unwrap().nets, None);
        let deep = |name: &str, v: f64| run(name, &[0.05, v], 0.0);
        r.reported
            .push(group(Net::Deep, Recipe::Faithful, vec![deep("df", 0.03)]));
        let nets = facts(&r).unwrap().nets.unwrap();
        assert_eq!(nets.faithful.versus, Versus::Worse);
        assert_eq!((nets.tuned, nets.depth), (None, None));
        assert_eq!(nets.first_layer, 785 * 150);
        r.reported
            .push(group(Net::Deep, Recipe::Tuned, vec![deep("dt", 0.01)]));
        let nets = facts(&r).unwrap().nets.unwrap();
        assert_eq!(nets.tuned.unwrap().versus, Versus::Better);
        assert_eq!(nets.depth, Some(Depth::PaysWhenOptimised));
    }
}
