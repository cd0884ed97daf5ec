//! `cargo xtask mutants`: mutation testing of the math with cargo-mutants, held to "every mutant
//! caught" but for a short list of equivalent mutants, each with the reason it cannot change
//! behaviour.
//!
//! The files mutated are set in `.cargo/mutants.toml`; this task runs `cargo mutants` (all of them,
//! some files, or one shard), reads its `outcomes.json`, prints the counts per file and fails on a
//! missed mutant that is not in [`EQUIVALENT`].

use crate::Result;
use clap::Parser;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Mutants that cannot change behaviour, by the name cargo-mutants gives them (file and
/// replacement, without line numbers), with the reason. Keep it short: a mutant belongs here only
/// when no test could tell it apart from the original.
pub const EQUIVALENT: &[(&str, &str)] = &[];

/// Arguments of `cargo xtask mutants`.
#[derive(Debug, Parser)]
pub struct Args {
    /// Mutate only these files (paths from the workspace root; globs as cargo-mutants takes them).
    /// Default: every file that `.cargo/mutants.toml` names.
    pub files: Vec<String>,
    /// Run only shard K of N (e.g. 0/4), to spread a whole run over several sittings or machines.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Where cargo-mutants writes `mutants.out/`.
    #[arg(long, default_value = "target/mutants")]
    pub output: PathBuf,
    /// Only read the outcomes of an earlier run in --output and judge them; mutate nothing.
    #[arg(long)]
    pub report_only: bool,
}

/// Runs cargo-mutants as asked, then judges its outcomes.
pub fn run(args: &Args) -> Result<()> {
    if !args.report_only {
        let mut command = Command::new("cargo");
        command.arg("mutants").arg("--output").arg(&args.output);
        for file in &args.files {
            command.arg("--file").arg(file);
        }
        if let Some(shard) = &args.shard {
            command.arg("--shard").arg(shard);
        }
        println!("running {command:?}");
        let status = command.status().map_err(|err| {
            format!(
                "cannot run `cargo mutants` ({err}); install it with `cargo install cargo-mutants`"
            )
        })?;
        // cargo-mutants exits 2 when mutants are missed and 3 on timeouts: judged below, with the list
        // of equivalent mutants. Other codes mean the run itself failed.
        if !matches!(status.code(), Some(0 | 2 | 3)) {
            return Err(format!(
                "cargo mutants failed ({status}); its log is under {}",
                args.output.display()
            )
            .into());
        }
    }
    let outcomes = read_outcomes(&args.output.join("mutants.out").join("outcomes.json"))?;
    let verdict = judge(&outcomes, EQUIVALENT);
    print!("{}", verdict.table());
    if verdict.unexplained.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} missed mutant(s) not on the list of equivalent ones: add a test that catches each, or, if it cannot change behaviour, add it to EQUIVALENT in xtask/src/mutants.rs with the reason",
            verdict.unexplained.len()
        )
        .into())
    }
}

/// One tested mutant, as `outcomes.json` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The file mutated, from the workspace root.
    pub file: String,
    /// The mutant's name: file and replacement, without line numbers.
    pub name: String,
    /// What the tests made of it.
    pub summary: Summary,
}

/// What the tests made of a mutant (cargo-mutants' `summary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub enum Summary {
    /// A test failed: the mutant was caught.
    CaughtMutant,
    /// Every test passed: nothing noticed the change.
    MissedMutant,
    /// The mutant does not compile.
    Unviable,
    /// The tests ran past the time limit (a mutant that loops forever, usually).
    Timeout,
    /// The unmutated baseline (not a mutant).
    Success,
    /// The baseline failed.
    Failure,
}

#[derive(Deserialize)]
struct OutcomesFile {
    outcomes: Vec<RawOutcome>,
}

#[derive(Deserialize)]
struct RawOutcome {
    scenario: Scenario,
    summary: Summary,
}

/// `"Baseline"` or `{"Mutant": {...}}`.
#[derive(Deserialize)]
enum Scenario {
    Baseline,
    Mutant(RawMutant),
}

#[derive(Deserialize)]
struct RawMutant {
    name: String,
    file: String,
}

/// The mutants of an `outcomes.json` (the baseline left out; a failed baseline is an error).
pub fn read_outcomes(path: &Path) -> Result<Vec<Outcome>> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        format!(
            "cannot read {} ({err}): has cargo mutants run?",
            path.display()
        )
    })?;
    parse_outcomes(&text).map_err(|err| format!("{}: {err}", path.display()).into())
}

/// Parses the text of an `outcomes.json`.
pub fn parse_outcomes(text: &str) -> Result<Vec<Outcome>> {
    let file: OutcomesFile = serde_json::from_str(text)?;
    let mut outcomes = Vec::new();
    for raw in file.outcomes {
        match raw.scenario {
            Scenario::Baseline if raw.summary == Summary::Failure => {
                return Err("the unmutated tests failed: fix them before mutating".into())
            }
            Scenario::Baseline => {}
            Scenario::Mutant(mutant) => outcomes.push(Outcome {
                file: mutant.file,
                name: mutant.name,
                summary: raw.summary,
            }),
        }
    }
    Ok(outcomes)
}

/// Counts of one file's mutants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Caught by a test.
    pub caught: usize,
    /// Missed, and not on the list of equivalent mutants.
    pub missed: usize,
    /// Missed, but on the list: cannot change behaviour.
    pub equivalent: usize,
    /// Did not compile.
    pub unviable: usize,
    /// Stopped at the time limit.
    pub timeouts: usize,
}

/// The judgement of a run: counts per file and the missed mutants that nothing explains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Counts per file, by path.
    pub per_file: BTreeMap<String, Counts>,
    /// Names of the missed mutants not on the list.
    pub unexplained: Vec<String>,
}

/// Tallies `outcomes` per file; a missed mutant on `equivalent` counts as equivalent, any other
/// missed mutant is unexplained.
pub fn judge(outcomes: &[Outcome], equivalent: &[(&str, &str)]) -> Verdict {
    let mut per_file: BTreeMap<String, Counts> = BTreeMap::new();
    let mut unexplained = Vec::new();
    for outcome in outcomes {
        let counts = per_file.entry(outcome.file.clone()).or_default();
        match outcome.summary {
            Summary::CaughtMutant => counts.caught += 1,
            Summary::Unviable => counts.unviable += 1,
            Summary::Timeout => counts.timeouts += 1,
            Summary::MissedMutant if equivalent.iter().any(|(name, _)| *name == outcome.name) => {
                counts.equivalent += 1
            }
            Summary::MissedMutant => {
                counts.missed += 1;
                unexplained.push(outcome.name.clone());
            }
            Summary::Success | Summary::Failure => {}
        }
    }
    Verdict {
        per_file,
        unexplained,
    }
}

impl Verdict {
    /// A plain-text table of the counts per file, then the unexplained missed mutants.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<44} {:>7} {:>7} {:>11} {:>9} {:>9}\n",
            "file", "caught", "missed", "equivalent", "unviable", "timeouts"
        );
        let mut total = Counts::default();
        for (file, c) in &self.per_file {
            out += &format!(
                "{file:<44} {:>7} {:>7} {:>11} {:>9} {:>9}\n",
                c.caught, c.missed, c.equivalent, c.unviable, c.timeouts
            );
            total.caught += c.caught;
            total.missed += c.missed;
            total.equivalent += c.equivalent;
            total.unviable += c.unviable;
            total.timeouts += c.timeouts;
        }
        out += &format!(
            "{:<44} {:>7} {:>7} {:>11} {:>9} {:>9}\n",
            "total", total.caught, total.missed, total.equivalent, total.unviable, total.timeouts
        );
        for name in &self.unexplained {
            out += &format!("MISSED {name}\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of cargo-mutants' `outcomes.json`, trimmed to the fields read.
    const OUTCOMES: &str = r#"{"outcomes": [
        {"scenario": "Baseline", "summary": "Success"},
        {"scenario": {"Mutant": {"name": "crates/mlp-core/src/optim.rs: replace + with - in Step::run", "file": "crates/mlp-core/src/optim.rs"}}, "summary": "CaughtMutant"},
        {"scenario": {"Mutant": {"name": "crates/mlp-core/src/optim.rs: replace Sgd<T>::step -> Result<()> with Ok(())", "file": "crates/mlp-core/src/optim.rs"}}, "summary": "MissedMutant"},
        {"scenario": {"Mutant": {"name": "crates/mlp-core/src/softmax.rs: replace > with >= in Softmax::forward", "file": "crates/mlp-core/src/softmax.rs"}}, "summary": "MissedMutant"},
        {"scenario": {"Mutant": {"name": "crates/mlp-core/src/softmax.rs: replace * with / in x", "file": "crates/mlp-core/src/softmax.rs"}}, "summary": "Unviable"},
        {"scenario": {"Mutant": {"name": "crates/mlp-core/src/softmax.rs: replace < with > in y", "file": "crates/mlp-core/src/softmax.rs"}}, "summary": "Timeout"}
    ], "total_mutants": 5}"#;

    #[test]
    fn outcomes_are_counted_per_file_and_equivalent_mutants_forgiven() {
        let outcomes = parse_outcomes(OUTCOMES).unwrap();
        assert_eq!(outcomes.len(), 5, "the baseline is not a mutant");
        let equivalent = [(
            "crates/mlp-core/src/softmax.rs: replace > with >= in Softmax::forward",
            "ties pick the same maximum",
        )];
        let verdict = judge(&outcomes, &equivalent);
        assert_eq!(
            verdict.unexplained,
            ["crates/mlp-core/src/optim.rs: replace Sgd<T>::step -> Result<()> with Ok(())"]
        );
        let optim = verdict.per_file["crates/mlp-core/src/optim.rs"];
        assert_eq!((optim.caught, optim.missed, optim.equivalent), (1, 1, 0));
        let softmax = verdict.per_file["crates/mlp-core/src/softmax.rs"];
        assert_eq!(
            (
                softmax.missed,
                softmax.equivalent,
                softmax.unviable,
                softmax.timeouts
            ),
            (0, 1, 1, 1)
        );
        let table = verdict.table();
        assert!(table.contains("MISSED crates/mlp-core/src/optim.rs: replace Sgd<T>::step"));
        assert!(table.lines().any(|l| l.starts_with("total")
            && l.split_whitespace().collect::<Vec<_>>() == ["total", "1", "1", "1", "1", "1"]));
    }

    #[test]
    fn a_failed_baseline_is_an_error() {
        let text = r#"{"outcomes": [{"scenario": "Baseline", "summary": "Failure"}]}"#;
        assert!(parse_outcomes(text).is_err());
        assert!(parse_outcomes("not json").is_err());
    }

    #[test]
    fn every_equivalent_mutant_names_a_mutated_file_and_gives_a_reason() {
        let config = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../.cargo/mutants.toml"
        ))
        .unwrap();
        for (name, reason) in EQUIVALENT {
            let file = name.split(':').next().unwrap();
            assert!(
                config.contains(file) || file.contains("/kernels/") || file.contains("/gradcheck/"),
                "{name}: not a mutated file"
            );
            assert!(
                reason.len() > 20,
                "{name}: say why it cannot change behaviour"
            );
        }
    }
}
