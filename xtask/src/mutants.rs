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

/// Why the six mutants of the gradient check's choice between one thread and several are equivalent.
const THREAD_SPLIT: &str =
    "whether the central differences run on the calling thread or are split \
     between threads (each on its own copy of the network) changes only where each difference is \
     computed: the same two forward passes on the same values, so the same bits \
     (tests/gradients.rs checks the threaded path against a difference on the calling thread)";

/// Mutants that cannot change behaviour, by the name cargo-mutants gives them (file and
/// replacement, without line numbers), with the reason. Keep it short: a mutant belongs here only
/// when no test could tell it apart from the original.
pub const EQUIVALENT: &[(&str, &str)] = &[
    (
        "crates/mlp-core/src/activation.rs: replace < with <= in Activation::apply",
        "ReLU's test `z < 0` against `z <= 0` differs only at z = ±0, where both give a zero \
         (−0.0 rather than +0.0 for z = −0.0), and a signed zero changes no sum or product \
         downstream; the comparison stays a comparison so that NaN propagates",
    ),
    (
        "crates/mlp-core/src/kernels/matvec.rs: replace == with != in <impl Kernel for Pass<'_, T, C>>::run",
        "chooses the block sizes of f64 for f32 and the other way round: every y[i] is still the \
         same sum in column order, only the registers used change (speed, not values)",
    ),
    (
        "crates/mlp-core/src/kernels/matvec.rs: replace < with <= in Pass<'_, T, C>::blocks",
        "with exactly B3 rows the mutant takes the row-by-row loop instead of one block of B3 rows; \
         `first <= rows` changes nothing, as the loop always leaves by a return; `left <= B3` \
         computes exactly B3 rows left as the last block's extra rows in the pass before, not in \
         a pass of their own: the same sums in the same order either way",
    ),
    (
        "crates/mlp-core/src/kernels/matvec.rs: delete match arm 0 in Pass<'_, T, C>::blocks",
        "without the arm, a block that ends the rows goes to the arm `left < B3` (0 < B3), which \
         sums its own last B3 rows a second time in the same pass: the same sums in the same \
         order, written twice",
    ),
    (
        "crates/mlp-autograd/src/tape.rs: replace > with >= in Tape::relu",
        "the oracle's ReLU `if x > 0 { x } else { 0 }` against `x >= 0` differs only at x = ±0, \
         where both give a zero",
    ),
    (
        "crates/mlp-data/src/idx.rs: replace << with >>",
        "BLIND_RESERVE is how much a reader of unknown length reserves up front: 1 MiB or none, \
         the same bytes are read either way and the buffer grows as they arrive",
    ),
    (
        "crates/mlp-data/src/idx.rs: replace > with >= in parse_stream",
        "the rest of the input is counted only to report trailing bytes; when exactly the claimed \
         bytes were read the input is at its end, and counting it adds nothing",
    ),
    (
        "crates/mlp-core/src/gradcheck/mod.rs: replace << with >>",
        THREAD_SPLIT,
    ),
    (
        "crates/mlp-core/src/gradcheck/mod.rs: replace <= with > in numeric_gradients",
        THREAD_SPLIT,
    ),
    (
        "crates/mlp-core/src/gradcheck/mod.rs: replace || with && in numeric_gradients",
        THREAD_SPLIT,
    ),
    (
        "crates/mlp-core/src/gradcheck/mod.rs: replace < with == in numeric_gradients",
        THREAD_SPLIT,
    ),
    (
        "crates/mlp-core/src/gradcheck/mod.rs: replace < with > in numeric_gradients",
        THREAD_SPLIT,
    ),
    (
        "crates/mlp-core/src/gradcheck/mod.rs: replace < with <= in numeric_gradients",
        THREAD_SPLIT,
    ),
    (
        "crates/mlp-core/src/mlp.rs: replace Mlp<T>::set_threads with ()",
        "the thread budget decides how a step's work is split, never a value it computes (every \
         split is over outputs, and tests/splits.rs checks one thread against two bit for bit): \
         ignoring it changes only the time a step takes",
    ),
];

/// Arguments of `cargo xtask mutants`.
#[derive(Debug, Parser)]
pub struct Args {
    /// Mutate only these files (paths from the workspace root), each one that `.cargo/mutants.toml`
    /// scopes. Default: all of those.
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
    /// Mutate the working tree itself instead of a copy, reusing its warm `target/` (each mutant
    /// then builds incrementally). Run it on a tree you are not editing: a mutant is in the source
    /// while it is tested, and an interrupted run can leave one behind (`git diff` shows it).
    #[arg(long)]
    pub in_place: bool,
}

/// Runs cargo-mutants as asked, then judges its outcomes.
pub fn run(args: &Args) -> Result<()> {
    if !args.report_only {
        let mut command = Command::new("cargo");
        command.arg("mutants").arg("--output").arg(&args.output);
        // cargo-mutants adds `--file` globs to the configuration's instead of narrowing them, so a
        // subset is the configured files minus the others.
        for file in files_to_skip(&files_in_scope()?, &args.files)? {
            command.arg("--exclude").arg(file);
        }
        if let Some(shard) = &args.shard {
            command.arg("--shard").arg(shard);
        }
        if args.in_place {
            command.arg("--in-place");
        }
        println!("running {command:?}");
        let status = command.status().map_err(not_installed)?;
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

fn not_installed(err: std::io::Error) -> String {
    format!("cannot run `cargo mutants` ({err}); install it with `cargo install cargo-mutants`")
}

/// The files `.cargo/mutants.toml` scopes, as cargo-mutants lists them.
fn files_in_scope() -> Result<Vec<String>> {
    let output = Command::new("cargo")
        .args(["mutants", "--list-files"])
        .output()
        .map_err(not_installed)?;
    if !output.status.success() {
        return Err(format!(
            "cargo mutants --list-files failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

/// The files of `scope` to exclude so that only `wanted` are mutated (none when `wanted` is
/// empty); a wanted file outside the scope is an error naming it.
pub fn files_to_skip(scope: &[String], wanted: &[String]) -> Result<Vec<String>> {
    if let Some(outside) = wanted.iter().find(|w| !scope.contains(w)) {
        return Err(format!(
            "{outside} is not one of the files .cargo/mutants.toml scopes: {}",
            scope.join(", ")
        )
        .into());
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    Ok(scope
        .iter()
        .filter(|file| !wanted.contains(file))
        .cloned()
        .collect())
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
                name: without_position(&mutant.name, &mutant.file),
                file: mutant.file,
                summary: raw.summary,
            }),
        }
    }
    Ok(outcomes)
}

/// A mutant's name without the line and column after its file (`file:12:5: replace …` becomes
/// `file: replace …`), so that the list of equivalent mutants survives edits above them.
fn without_position(name: &str, file: &str) -> String {
    let Some(rest) = name.strip_prefix(file) else {
        return name.to_owned();
    };
    let rest = rest.trim_start_matches(|c: char| c == ':' || c.is_ascii_digit());
    format!("{file}: {}", rest.trim_start())
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
        {"scenario": {"Mutant": {"name": "crates/mlp-core/src/optim.rs:222:48: replace + with - in Step::run", "file": "crates/mlp-core/src/optim.rs"}}, "summary": "CaughtMutant"},
        {"scenario": {"Mutant": {"name": "crates/mlp-core/src/optim.rs:85:9: replace Sgd<T>::step -> Result<()> with Ok(())", "file": "crates/mlp-core/src/optim.rs"}}, "summary": "MissedMutant"},
        {"scenario": {"Mutant": {"name": "crates/mlp-core/src/softmax.rs:80:17: replace > with >= in Softmax::forward", "file": "crates/mlp-core/src/softmax.rs"}}, "summary": "MissedMutant"},
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
    fn a_subset_is_the_scope_minus_the_other_files() {
        let scope: Vec<String> = ["a/optim.rs", "a/layer.rs", "b/idx.rs"]
            .map(String::from)
            .to_vec();
        assert_eq!(files_to_skip(&scope, &[]).unwrap(), Vec::<String>::new());
        assert_eq!(
            files_to_skip(&scope, &["a/layer.rs".into()]).unwrap(),
            ["a/optim.rs", "b/idx.rs"]
        );
        let outside = files_to_skip(&scope, &["a/main.rs".into()]).unwrap_err();
        assert!(outside
            .to_string()
            .starts_with("a/main.rs is not one of the files"));
    }

    #[test]
    fn a_failed_baseline_is_an_error() {
        let text = r#"{"outcomes": [{"scenario": "Baseline", "summary": "Failure"}]}"#;
        assert!(parse_outcomes(text).is_err());
        assert!(parse_outcomes("not json").is_err());
    }

    /// Each entry names a file that exists and a mutant without a position, and gives a reason.
    #[test]
    fn every_equivalent_mutant_names_a_file_and_gives_a_reason() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for (name, reason) in EQUIVALENT {
            let (file, mutant) = name.split_once(": ").unwrap();
            assert!(root.join(file).is_file(), "{name}: no such file");
            assert_eq!(
                without_position(name, file),
                *name,
                "{name}: no line numbers"
            );
            assert!(
                mutant.starts_with("replace ") || mutant.starts_with("delete "),
                "{name}"
            );
            assert!(
                reason.len() > 40,
                "{name}: say why it cannot change behaviour"
            );
        }
    }
}
