//! Facts of "Validation search of the tuned settings": each net's candidates, the chosen one, and
//! whether the choice holds up.

use super::NOISE_FLOOR;
use crate::plan::{Recipe, SEARCH_SEED};
use crate::results::Results;
use crate::runs::{candidates, choose, Candidate, Run};
use crate::setting::setting;
use crate::stats::{mean, std_dev};
use serde::Serialize;

/// The mean validation error of a finalist over its seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedMean {
    /// Final validation errors of its seeds.
    pub vals: Vec<f64>,
    /// The seeds.
    pub seeds: Vec<u64>,
}

/// One candidate setting of the search, shown by its first (search-seed) run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The run's directory, relative to the results root.
    pub name: String,
    /// Its last path component.
    pub short_name: String,
    /// The setting's description.
    pub setting: String,
    /// Whether it is the chosen setting.
    pub chosen: bool,
    /// Epochs.
    pub epochs: usize,
    /// Final training error.
    pub train: f64,
    /// Final validation error; `None` when the run diverged.
    pub val: Option<f64>,
    /// Over its seeds, for a finalist.
    pub mean: Option<SeedMean>,
    /// Training seconds.
    pub seconds: f64,
}

/// How far the chosen setting leads the next finalist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadSize {
    /// Less than two standard errors of the mean: the finalists are equivalent.
    WithinNoise,
    /// More.
    Clear,
}

/// The chosen setting against the next finalist.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lead {
    /// Difference of mean validation errors.
    pub diff: f64,
    /// Seeds of the chosen setting.
    pub n_seeds: usize,
    /// Two standard errors of its mean.
    pub two_se: f64,
    /// Its judgement.
    pub size: LeadSize,
}

/// The best single run of stages 1–2, when it is not the chosen setting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unconfirmed {
    /// Its directory's last component.
    pub short_name: String,
    /// Its validation error.
    pub val: f64,
}

/// Whether the search's figure holds on fresh seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Holds {
    /// Within the noise floor of the search's mean.
    Holds,
    /// Worse: the search's figure was partly luck.
    PartlyLuck,
}

/// The chosen setting re-trained with the reported seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fresh {
    /// The reported seeds.
    pub seeds: Vec<u64>,
    /// Their mean validation error.
    pub val: f64,
    /// The search run's validation error.
    pub search_val: f64,
    /// The search run's seed.
    pub search_seed: u64,
    /// The mean over the search seeds.
    pub search_mean: f64,
    /// Its judgement.
    pub holds: Holds,
}

/// Runs that ended at the loss of a constant prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Collapsed {
    /// `(lr, weight decay)` of each.
    pub settings: Vec<(f64, f64)>,
    /// The first one's final training loss.
    pub loss: f64,
    /// ln 10.
    pub ln10: f64,
}

/// What the search of one net shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetSearch {
    /// `shallow`.
    pub net: &'static str,
    /// The candidates: finalists first, by mean validation error.
    pub rows: Vec<Row>,
    /// Whether a setting was chosen (then the paragraph below the table is written).
    pub chosen: bool,
    /// The lead over the next finalist, with two finalists or more.
    pub lead: Option<Lead>,
    /// The best single run, if not chosen.
    pub unconfirmed: Option<Unconfirmed>,
    /// The chosen setting on fresh seeds, if re-trained.
    pub fresh: Option<Fresh>,
    /// Runs that did not learn, if any.
    pub collapsed: Option<Collapsed>,
}

/// The facts of "Validation search of the tuned settings".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Search {
    /// Seed of stages 1 and 2.
    pub seed: u64,
    /// One entry per net that was searched.
    pub nets: Vec<NetSearch>,
}

fn short_name(run: &Run) -> String {
    run.name.rsplit('/').next().unwrap_or(&run.name).to_string()
}

/// Computes the section's facts; `None` before any search run.
pub fn facts(r: &Results) -> Option<Search> {
    if r.search.iter().all(|(_, runs)| runs.is_empty()) {
        return None;
    }
    let nets = r
        .search
        .iter()
        .filter(|(_, runs)| !runs.is_empty())
        .map(|(net, runs)| {
            let cands = candidates(runs);
            let chosen = choose(&cands);
            let mut sorted: Vec<&Candidate> = cands.iter().collect();
            sorted.sort_by(|a, b| {
                (b.runs.len() > 1)
                    .cmp(&(a.runs.len() > 1))
                    .then(a.mean_val().total_cmp(&b.mean_val()))
                    .then(a.runs[0].val_error().total_cmp(&b.runs[0].val_error()))
            });
            let is_chosen =
                |c: &Candidate| chosen.is_some_and(|ch| ch.runs[0].name == c.runs[0].name);
            let rows = sorted
                .iter()
                .map(|cand| {
                    let run = cand.runs[0];
                    Row {
                        name: run.name.clone(),
                        short_name: short_name(run),
                        setting: setting(&run.config),
                        chosen: is_chosen(cand),
                        epochs: run.config.epochs,
                        train: run.train_error(),
                        val: run.summary().map(|_| run.val_error()),
                        mean: (cand.runs.len() > 1).then(|| SeedMean {
                            vals: cand.val_errors(),
                            seeds: cand.runs.iter().map(|r| r.config.seed).collect(),
                        }),
                        seconds: run.train_seconds(),
                    }
                })
                .collect();
            let mut facts = NetSearch {
                net: net.name(),
                rows,
                chosen: chosen.is_some(),
                lead: None,
                unconfirmed: None,
                fresh: None,
                collapsed: None,
            };
            let Some(chosen) = chosen else {
                return facts;
            };
            let finalists: Vec<&&Candidate> = sorted.iter().filter(|c| c.runs.len() > 1).collect();
            if finalists.len() > 1 {
                let runner_up = finalists
                    .iter()
                    .find(|c| c.runs[0].name != chosen.runs[0].name)
                    .expect("two finalists");
                let diff = runner_up.mean_val() - chosen.mean_val();
                let spread = std_dev(&chosen.val_errors());
                let two_se = 2.0 * spread / (chosen.runs.len() as f64).sqrt();
                facts.lead = Some(Lead {
                    diff,
                    n_seeds: chosen.runs.len(),
                    two_se,
                    size: if spread.is_finite() && diff < two_se {
                        LeadSize::WithinNoise
                    } else {
                        LeadSize::Clear
                    },
                });
            }
            facts.unconfirmed = cands
                .iter()
                .map(|c| c.runs[0])
                .min_by(|a, b| a.val_error().total_cmp(&b.val_error()))
                .filter(|top| top.name != chosen.runs[0].name)
                .map(|top| Unconfirmed {
                    short_name: short_name(top),
                    val: top.val_error(),
                });
            facts.fresh = r.group(*net, Recipe::Tuned).map(|g| {
                let val = mean(&g.values(Run::val_error));
                Fresh {
                    seeds: g.finished().iter().map(|run| run.config.seed).collect(),
                    val,
                    search_val: chosen.runs[0].val_error(),
                    search_seed: chosen.runs[0].config.seed,
                    search_mean: chosen.mean_val(),
                    holds: if val > chosen.mean_val() + NOISE_FLOOR {
                        Holds::PartlyLuck
                    } else {
                        Holds::Holds
                    },
                }
            });
            facts.collapsed = collapsed(runs);
            facts
        })
        .collect();
    Some(Search {
        seed: SEARCH_SEED,
        nets,
    })
}

/// The runs whose training loss ends at ln 10 with a validation error above 50 %: a constant
/// prediction, the sign of dead ReLU units.
fn collapsed(runs: &[Run]) -> Option<Collapsed> {
    let ln10 = 10f64.ln();
    let dead: Vec<&Run> = runs
        .iter()
        .filter(|run| {
            run.curve()
                .last()
                .is_some_and(|rec| run.val_error() > 0.5 && (rec.train_loss - ln10).abs() < 0.01)
        })
        .collect();
    let first = dead.first()?;
    Some(Collapsed {
        settings: dead
            .iter()
            .map(|run| (run.config.lr, run.config.weight_decay))
            .collect(),
        loss: first.curve().last().map_or(f64::NAN, |rec| rec.train_loss),
        ln10,
    })
}

#[cfg(test)]
mod tests;
