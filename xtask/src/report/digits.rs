//! Facts of "The digits, seen": which pictures of digits the report shows (drawn by
//! `crate::digits` next to the report, from the runs below and the data set).

use crate::digits::{CONFUSION, DEEP_RUN, MISTAKES, SAMPLES, SHALLOW_RUN, WEIGHTS};
use crate::results::Results;
use serde::Serialize;

/// The pictures of the section; a run's pictures are left out when the run is not there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Digits {
    /// The grid of training samples (always drawn).
    pub samples: &'static str,
    /// The tuned deep net's pictures, when its run is there.
    pub deep: Option<DeepPictures>,
    /// The tuned shallow net's first-layer weights, when its run is there.
    pub shallow: Option<ShallowPictures>,
}

/// The pictures of the tuned deep net on the test set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeepPictures {
    /// Its run directory.
    pub run: &'static str,
    /// The most confident mistakes.
    pub mistakes: &'static str,
    /// The confusion matrix.
    pub confusion: &'static str,
}

/// The picture of the tuned shallow net's first layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShallowPictures {
    /// Its run directory.
    pub run: &'static str,
    /// Each hidden unit's incoming weights.
    pub weights: &'static str,
}

/// The section's facts: which of the two runs the pictures come from are in `r`.
pub fn facts(r: &Results) -> Digits {
    let has = |name: &str| {
        r.reported
            .iter()
            .flat_map(|g| &g.runs)
            .any(|run| run.name == name && run.summary().is_some())
    };
    Digits {
        samples: SAMPLES,
        deep: has(DEEP_RUN).then_some(DeepPictures {
            run: DEEP_RUN,
            mistakes: MISTAKES,
            confusion: CONFUSION,
        }),
        shallow: has(SHALLOW_RUN).then_some(ShallowPictures {
            run: SHALLOW_RUN,
            weights: WEIGHTS,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::{results, run};

    #[test]
    fn pictures_of_a_missing_run_are_left_out() {
        // The hand-made results hold shallow runs named `shallow-tuned`, not `shallow-tuned-s1`.
        let facts = facts(&results());
        assert_eq!(facts.samples, SAMPLES);
        assert_eq!(facts.deep, None);
        assert_eq!(facts.shallow, None);
    }

    #[test]
    fn pictures_of_present_runs_are_shown() {
        let mut r = results();
        r.reported[1].runs[0] = run(SHALLOW_RUN, &[0.05, 0.02], 0.01);
        r.reported[0].runs[1] = run(DEEP_RUN, &[0.05, 0.02], 0.01);
        let facts = facts(&r);
        assert_eq!(
            facts.shallow,
            Some(ShallowPictures {
                run: SHALLOW_RUN,
                weights: WEIGHTS
            })
        );
        assert_eq!(
            facts.deep.map(|d| (d.run, d.confusion)),
            Some((DEEP_RUN, CONFUSION))
        );
    }
}
