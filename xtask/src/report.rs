//! `cargo xtask report`: `REPORT.md` and its figures, generated from the run files only.
//!
//! Every number in the report is read from `summary.json`, `curve.csv`, `gradients.csv` and
//! `bench/bench_forward.csv`, or computed from them (`mlp_core::count_params` for the parameter
//! counts); every qualitative sentence is chosen by comparing such numbers. The rendering is
//! deterministic (sorted directory listings, fixed float formats, no dates), so rendering the
//! committed files reproduces the committed `REPORT.md` byte for byte — a test checks it.

use crate::bench::{self, BenchTable};
use crate::gradients::{self, GradientRow};
use crate::plan::{search_dir, Net, Recipe};
use crate::runs::{best_on_val, candidates, choose, load_all, same_config, Candidate, Run};
use crate::stats::{
    mean, num, pct, pct3_mean_std, pct_mean_std, points, secs, short, std_dev, thousands, times,
};
use crate::{figures, Result};
use mlp_cli::train::{ActivationArg, ScheduleArg, TrainConfig};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// File name of the report, at the results root.
pub const REPORT: &str = "REPORT.md";

/// Options of `cargo xtask report`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Results directory holding the run files (e.g. results or results/quick).
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
}

/// The test-error targets of the issue: (net, recipe, highest acceptable mean test error).
pub const TARGETS: [(Net, Recipe, f64); 3] = [
    (Net::Shallow, Recipe::Tuned, 0.016),
    (Net::Deep, Recipe::Tuned, 0.014),
    (Net::Shallow, Recipe::Faithful, 0.020),
];

/// Differences of validation error below this (in rate, 0.0005 = 0.05 points = 5 images of the
/// 10 000) are called "within noise" when no seed-to-seed spread is available.
const NOISE_FLOOR: f64 = 0.0005;

/// "Good" settings of the lr × batch study: within this much (0.5 points) of the best.
const GOOD_MARGIN: f64 = 0.005;

/// The reported runs of one net and recipe, by increasing seed.
#[derive(Debug, Clone)]
pub struct Group {
    /// The net.
    pub net: Net,
    /// The recipe.
    pub recipe: Recipe,
    /// One run per seed.
    pub runs: Vec<Run>,
}

impl Group {
    fn finished(&self) -> Vec<&Run> {
        self.runs.iter().filter(|r| r.summary().is_some()).collect()
    }

    fn values(&self, f: impl Fn(&Run) -> f64) -> Vec<f64> {
        self.finished().into_iter().map(f).collect()
    }

    /// Mean final test error over the seeds.
    pub fn mean_test(&self) -> f64 {
        mean(&self.values(Run::test_error))
    }

    /// The first seed's run (the one plotted).
    pub fn first(&self) -> Option<&Run> {
        self.finished().into_iter().next()
    }

    fn label(&self) -> String {
        format!("{} {}", self.net.name(), self.recipe.name())
    }
}

/// Everything the report is made of, read from a results directory.
#[derive(Debug, Clone)]
pub struct Results {
    /// The lr × batch study runs.
    pub study: Vec<Run>,
    /// The epoch study runs, by increasing epochs (including the search run it varies).
    pub epochs: Vec<Run>,
    /// The tuned search runs of each net.
    pub search: Vec<(Net, Vec<Run>)>,
    /// The reported runs, in the order shallow faithful, shallow tuned, deep faithful, deep tuned.
    pub reported: Vec<Group>,
    /// The tuned setting of each net retrained on all the training images (no validation split).
    pub retrained: Vec<Group>,
    /// The gradient sizes at initialisation.
    pub gradients: Option<Vec<GradientRow>>,
    /// The forward-propagation benchmark.
    pub bench: Option<BenchTable>,
}

impl Results {
    /// Reads every run file under `root`.
    pub fn load(root: &Path) -> Result<Self> {
        let study = load_all(root, "study/lr-batch")?;
        let search: Vec<(Net, Vec<Run>)> = Net::ALL
            .iter()
            .map(|&net| Ok((net, load_all(root, &search_dir(net))?)))
            .collect::<Result<_>>()?;
        let mut epochs = load_all(root, "study/epochs")?;
        if let Some(first) = epochs.first() {
            let varied = first.config.clone();
            let from_search = search[0].1.iter().find(|r| {
                same_config(
                    &r.config,
                    &TrainConfig {
                        epochs: r.config.epochs,
                        ..varied.clone()
                    },
                )
            });
            if let Some(run) = from_search {
                epochs.push(run.clone());
            }
        }
        epochs.sort_by_key(|r| r.config.epochs);
        let mut reported = Vec::new();
        let mut retrained = Vec::new();
        for net in Net::ALL {
            for recipe in Recipe::ALL {
                let runs = seeded_runs(root, &format!("{}-{}-s", net.name(), recipe.name()))?;
                if !runs.is_empty() {
                    reported.push(Group { net, recipe, runs });
                }
            }
            let runs = seeded_runs(root, &format!("{}-tuned-all-s", net.name()))?;
            if !runs.is_empty() {
                retrained.push(Group {
                    net,
                    recipe: Recipe::Tuned,
                    runs,
                });
            }
        }
        Ok(Self {
            study,
            epochs,
            search,
            reported,
            retrained,
            gradients: gradients::read(&root.join(gradients::FILE))?,
            bench: bench::read(root)?,
        })
    }

    /// The reported group of a net and recipe.
    pub fn group(&self, net: Net, recipe: Recipe) -> Option<&Group> {
        self.reported
            .iter()
            .find(|g| g.net == net && g.recipe == recipe && g.first().is_some())
    }

    /// The tuned runs of a net retrained on all the training images.
    pub fn retrained_group(&self, net: Net) -> Option<&Group> {
        self.retrained
            .iter()
            .find(|g| g.net == net && g.first().is_some())
    }

    /// Training samples per epoch of the reported runs (or of any run).
    fn n_train(&self) -> Option<usize> {
        self.reported
            .iter()
            .flat_map(|g| g.runs.iter())
            .chain(self.study.iter())
            .find_map(|r| r.summary().map(|s| s.n_train))
    }
}

/// The runs `{prefix}{seed}` directly under `root`, by increasing seed.
fn seeded_runs(root: &Path, prefix: &str) -> Result<Vec<Run>> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(Vec::new());
    };
    let mut seeds: Vec<(u64, String)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|name| {
            let seed = name.strip_prefix(prefix)?.parse::<u64>().ok()?;
            Some((seed, name))
        })
        .collect();
    seeds.sort();
    let mut runs = Vec::new();
    for (_, name) in seeds {
        if let Some(run) = Run::load(root, &name)? {
            runs.push(run);
        }
    }
    Ok(runs)
}

/// Runs `cargo xtask report`.
pub fn run(args: &Args) -> Result<()> {
    generate(&args.results)
}

/// Draws the figures and writes `REPORT.md` in `root`.
pub fn generate(root: &Path) -> Result<()> {
    let results = Results::load(root)?;
    figures::draw_all(root, &results)?;
    crate::digits::draw_all(root, &mlp_data::default_data_dir())?;
    let text = render(&results)?;
    std::fs::write(root.join(REPORT), text)?;
    println!("wrote {}", root.join(REPORT).display());
    Ok(())
}

/// Renders `REPORT.md` from the loaded results (pure: no file is read or written).
pub fn render(results: &Results) -> Result<String> {
    let mut out = String::new();
    header(&mut out, results)?;
    summary(&mut out, results)?;
    curves(&mut out, results)?;
    complexity(&mut out, results)?;
    deep_sigmoid(&mut out, results)?;
    lr_batch(&mut out, results)?;
    epochs(&mut out, results)?;
    search(&mut out, results)?;
    review_question(&mut out)?;
    bench::render(
        &mut out,
        results.bench.as_ref(),
        best_on_val(&results.study).map(|run| run.config.batch_size),
    )?;
    reproduce(&mut out, results)?;
    Ok(out)
}

fn activation_name(a: ActivationArg) -> &'static str {
    match a {
        ActivationArg::Sigmoid => "sigmoid",
        ActivationArg::Tanh => "tanh",
        ActivationArg::Relu => "ReLU",
        ActivationArg::Identity => "identity",
    }
}

fn schedule_name(s: ScheduleArg) -> &'static str {
    match s {
        ScheduleArg::Constant => "constant",
        ScheduleArg::Step => "step",
        ScheduleArg::Cosine => "cosine",
    }
}

/// A short description of a configuration's optimisation settings.
pub fn setting(c: &TrainConfig) -> String {
    let mut text = format!(
        "{}, lr {} {}, batch {}",
        activation_name(c.activation),
        num(c.lr),
        schedule_name(c.lr_schedule),
        c.batch_size
    );
    if c.momentum > 0.0 {
        write!(text, ", momentum {}", num(c.momentum)).unwrap();
    } else {
        text.push_str(", plain SGD");
    }
    if c.weight_decay > 0.0 {
        write!(text, ", weight decay {}", num(c.weight_decay)).unwrap();
    }
    text
}

fn sizes_text(hidden: &[usize]) -> String {
    let mut parts = vec!["784".to_string()];
    parts.extend(hidden.iter().map(usize::to_string));
    parts.push("10".into());
    parts.join("-")
}

fn n_params(hidden: &[usize]) -> Result<u64> {
    let sizes: Vec<usize> = std::iter::once(784)
        .chain(hidden.iter().copied())
        .chain(std::iter::once(10))
        .collect();
    Ok(mlp_core::count_params(&sizes)?.total)
}

fn header(out: &mut String, r: &Results) -> Result<()> {
    writeln!(out, "# Results: multilayer perceptrons on MNIST\n")?;
    writeln!(
        out,
        "_Generated by `cargo xtask report` from the run files in this directory (written by \
         `cargo xtask experiments`); do not edit by hand. Every number below is read from those \
         files or computed from them, and every comparison in the text is made by the generator._\n"
    )?;
    let limited = r
        .reported
        .iter()
        .flat_map(|g| g.runs.iter())
        .any(|run| run.config.train_limit.is_some());
    if limited {
        writeln!(
            out,
            "> **Quick run** (`cargo xtask experiments --quick`): a few epochs on a subset of the \
             training images, to check that the pipeline works. The figures are not meaningful \
             results; see `results/REPORT.md` for the full run.\n"
        )?;
    }
    writeln!(out, "## Setup\n")?;
    let n_train = r.n_train().unwrap_or(0);
    writeln!(
        out,
        "- **Data**: the bundled MNIST. The networks train on the first {} training images; \
         the **validation split** is the last {} training images; the **test set** is MNIST's \
         10 000 test images.",
        thousands(n_train as u64),
        thousands(crate::plan::VAL as u64)
    )?;
    writeln!(
        out,
        "- **Choices on validation only**: every hyper-parameter choice below is the lowest final \
         validation error among the candidates tried (for the tuned settings, the lowest mean \
         over several seeds). The test error is reported for every run but never used to choose \
         anything."
    )?;
    if !r.retrained.is_empty() {
        writeln!(
            out,
            "- **Validation split kept**: every run in the tables, curves and figures trains \
             without the validation images, except the supplementary table *Tuned setting \
             retrained on all the training images*, which retrains the chosen tuned setting with \
             `val = 0` and is marked as such wherever it appears."
        )?;
    }
    writeln!(
        out,
        "- **Nets**: shallow {} ({} parameters) and deep {} ({} parameters).",
        sizes_text(&Net::Shallow.hidden()),
        thousands(n_params(&Net::Shallow.hidden())?),
        sizes_text(&Net::Deep.hidden()),
        thousands(n_params(&Net::Deep.hidden())?)
    )?;
    writeln!(
        out,
        "- **Recipes**: *faithful* = the practical work's recipe: sigmoid hidden units, plain \
         mini-batch SGD (no momentum, no weight decay), constant learning rate, with the learning \
         rate and batch size chosen by the lr × batch study below and the same for both nets (so \
         that they differ only by depth); *tuned* = the best setting found by the validation \
         search below (activation, momentum, weight decay, schedule, batch size).",
    )?;
    writeln!(
        out,
        "- **Seeds**: the reported runs use seeds {}; the studies and the search use seed {}, so \
         the chosen settings are re-measured on seeds they were not selected on. ± is the sample \
         standard deviation over the seeds.\n",
        seeds_text(r),
        crate::plan::SEARCH_SEED
    )?;
    Ok(())
}

fn seeds_text(r: &Results) -> String {
    let seeds: Vec<String> = r
        .reported
        .first()
        .map(|g| {
            g.runs
                .iter()
                .map(|run| run.config.seed.to_string())
                .collect()
        })
        .unwrap_or_default();
    seeds.join(", ")
}

fn summary(out: &mut String, r: &Results) -> Result<()> {
    writeln!(out, "## Final errors\n")?;
    if r.reported.is_empty() {
        writeln!(out, "No reported run yet.\n")?;
        return Ok(());
    }
    writeln!(
        out,
        "Mean ± standard deviation over the seeds, after the last epoch (no early stopping). \
         Time: training seconds per run (sum of the epochs, evaluation excluded), mean over seeds.\n"
    )?;
    writeln!(
        out,
        "| Net | Recipe | Parameters | Setting | Epochs | Seeds | Train error | Validation error | Test error | Time (s) |"
    )?;
    writeln!(out, "|---|---|---:|---|---:|---:|---:|---:|---:|---:|")?;
    for g in &r.reported {
        let Some(first) = g.first() else { continue };
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            g.net.name(),
            g.recipe.name(),
            thousands(first.summary().map_or(0, |s| s.n_params)),
            setting(&first.config),
            first.config.epochs,
            g.finished().len(),
            pct_mean_std(&g.values(Run::train_error)),
            pct_mean_std(&g.values(Run::val_error)),
            pct_mean_std(&g.values(Run::test_error)),
            secs(mean(&g.values(Run::train_seconds)))
        )?;
    }
    writeln!(out)?;

    retrained_table(out, r)?;

    writeln!(out, "### Targets\n")?;
    writeln!(
        out,
        "Mean test error over the seeds (three decimals, for the comparison): with the \
         validation split kept (the main result), and for the tuned runs also retrained on all \
         the training images (supplementary).\n"
    )?;
    writeln!(
        out,
        "| Run | Target | Reached | Met | Retrained on all images | Met |\n|---|---:|---:|---|---:|---|"
    )?;
    let met = |reached: f64, target: f64| {
        if reached <= target {
            format!("yes ({:.3} points below)", 100.0 * (target - reached))
        } else {
            format!("**no** ({:.3} points above)", 100.0 * (reached - target))
        }
    };
    for (net, recipe, target) in TARGETS {
        let Some(g) = r.group(net, recipe) else {
            continue;
        };
        let all = r.retrained_group(net).filter(|_| recipe == Recipe::Tuned);
        let (all_reached, all_met) = match all {
            Some(all) => (
                pct3_mean_std(&all.values(Run::test_error)),
                met(all.mean_test(), target),
            ),
            None => (String::new(), String::new()),
        };
        writeln!(
            out,
            "| {} | ≤ {} | {} | {} | {} | {} |",
            g.label(),
            pct(target),
            pct3_mean_std(&g.values(Run::test_error)),
            met(g.mean_test(), target),
            all_reached,
            all_met
        )?;
    }
    writeln!(out)?;

    writeln!(out, "### Every seed\n")?;
    writeln!(
        out,
        "| Run | Seed | Train error | Validation error | Test error | Lowest validation error (epoch) | Time (s) |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|")?;
    for g in r.reported.iter().chain(&r.retrained) {
        for run in &g.runs {
            match run.summary() {
                Some(s) if s.n_val == 0 => writeln!(
                    out,
                    "| [`{}`]({}/) | {} | {} | (no split) | {} | | {} |",
                    run.name,
                    run.name,
                    run.config.seed,
                    pct(run.train_error()),
                    pct(run.test_error()),
                    secs(s.train_seconds)
                )?,
                Some(s) => writeln!(
                    out,
                    "| [`{}`]({}/) | {} | {} | {} | {} | {} ({}) | {} |",
                    run.name,
                    run.name,
                    run.config.seed,
                    pct(run.train_error()),
                    pct(run.val_error()),
                    pct(run.test_error()),
                    pct(run.best_val_error().unwrap_or(f64::NAN)),
                    s.best_val_epoch,
                    secs(s.train_seconds)
                )?,
                None => writeln!(
                    out,
                    "| `{}` | {} | diverged | | | | |",
                    run.name, run.config.seed
                )?,
            }
        }
    }
    writeln!(out)?;
    Ok(())
}

fn retrained_table(out: &mut String, r: &Results) -> Result<()> {
    if r.retrained.is_empty() {
        return Ok(());
    }
    let n_train = r
        .retrained
        .iter()
        .find_map(|g| g.first().and_then(Run::summary).map(|s| s.n_train))
        .unwrap_or(0);
    writeln!(
        out,
        "### Tuned setting retrained on all the training images\n"
    )?;
    writeln!(
        out,
        "**Supplementary, without a validation split**: the tuned setting chosen on validation, \
         retrained with `val = 0` on {} images (the training split plus the validation images), \
         same epochs and seeds. Nothing is chosen from these runs, and they have no validation \
         curve; they show what the extra images are worth.\n",
        thousands(n_train as u64)
    )?;
    writeln!(
        out,
        "| Net | Setting | Epochs | Seeds | Train error | Test error | Test error, validation split kept |\n|---|---|---:|---:|---:|---:|---:|"
    )?;
    for g in &r.retrained {
        let Some(first) = g.first() else { continue };
        let kept = r
            .group(g.net, Recipe::Tuned)
            .map_or(String::new(), |k| pct_mean_std(&k.values(Run::test_error)));
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            g.net.name(),
            setting(&first.config),
            first.config.epochs,
            g.finished().len(),
            pct_mean_std(&g.values(Run::train_error)),
            pct_mean_std(&g.values(Run::test_error)),
            kept
        )?;
    }
    writeln!(out)?;
    Ok(())
}

/// Facts read off one learning curve.
struct CurveFacts {
    epochs: usize,
    val_first: f64,
    val_min: f64,
    val_min_epoch: usize,
    val_last: f64,
    train_last: f64,
    test_last: f64,
    val_loss_min: f64,
    val_loss_min_epoch: usize,
    val_loss_last: f64,
    train_zero_epoch: Option<usize>,
}

fn curve_facts(run: &Run) -> Option<CurveFacts> {
    let curve = run.curve();
    let last = curve.last()?;
    let first = curve.get(1)?;
    let (mut val_min, mut val_min_epoch) = (f64::INFINITY, 0);
    let (mut loss_min, mut loss_min_epoch) = (f64::INFINITY, 0);
    for rec in curve {
        if let Some(e) = rec.val_error {
            if e < val_min {
                (val_min, val_min_epoch) = (e, rec.epoch);
            }
        }
        if let Some(l) = rec.val_loss {
            if l < loss_min {
                (loss_min, loss_min_epoch) = (l, rec.epoch);
            }
        }
    }
    Some(CurveFacts {
        epochs: last.epoch,
        val_first: first.val_error?,
        val_min,
        val_min_epoch,
        val_last: last.val_error?,
        train_last: last.train_error,
        test_last: last.test_error,
        val_loss_min: loss_min,
        val_loss_min_epoch: loss_min_epoch,
        val_loss_last: last.val_loss?,
        train_zero_epoch: curve
            .iter()
            .find(|rec| rec.epoch > 0 && rec.train_error == 0.0)
            .map(|rec| rec.epoch),
    })
}

/// The first epoch whose validation error is at most `threshold`.
fn epochs_to(run: &Run, threshold: f64) -> Option<usize> {
    run.curve()
        .iter()
        .find(|rec| rec.epoch > 0 && rec.val_error.is_some_and(|e| e <= threshold))
        .map(|rec| rec.epoch)
}

fn figure(out: &mut String, stem: &str, alt: &str) -> Result<()> {
    writeln!(
        out,
        "![{alt}](plots/{stem}.png)\n\n_[SVG](plots/{stem}.svg)_\n"
    )?;
    Ok(())
}

fn curves(out: &mut String, r: &Results) -> Result<()> {
    writeln!(out, "## Learning curves\n")?;
    let reaches_zero = r
        .reported
        .iter()
        .filter_map(Group::first)
        .any(|run| run.curve().iter().any(|rec| rec.train_error == 0.0));
    writeln!(
        out,
        "Training, validation and test error and loss after every epoch from epoch 1, seed {} \
         of each run. The vertical axes are logarithmic{}.\n",
        r.reported
            .first()
            .and_then(Group::first)
            .map_or(0, |run| run.config.seed),
        if reaches_zero {
            ": a training error of exactly 0 cannot be drawn on them, so a training-error curve \
             has gaps, or stops, where every training image is classified correctly"
        } else {
            ""
        }
    )?;
    for net in Net::ALL {
        if r.group(net, Recipe::Faithful).is_none() && r.group(net, Recipe::Tuned).is_none() {
            continue;
        }
        writeln!(
            out,
            "### {} net ({})\n",
            capitalise(net.name()),
            sizes_text(&net.hidden())
        )?;
        figure(
            out,
            &figures::curves_stem(net),
            &format!("learning curves of the {} net", net.name()),
        )?;
        for recipe in Recipe::ALL {
            let Some(g) = r.group(net, recipe) else {
                continue;
            };
            let Some(f) = g.first().and_then(curve_facts) else {
                continue;
            };
            curve_paragraph(out, g, &f)?;
        }
        if let (Some(faithful), Some(tuned)) =
            (r.group(net, Recipe::Faithful), r.group(net, Recipe::Tuned))
        {
            let (a, b) = (faithful.mean_test(), tuned.mean_test());
            let change = if b < a {
                format!(
                    "lowers the {} net's test error by {} points",
                    net.name(),
                    points(a - b)
                )
            } else {
                format!("does not lower the {} net's test error", net.name())
            };
            writeln!(
                out,
                "Over the seeds, the tuned recipe {change}: {} → {} ({} of the faithful \
                 recipe's errors remain).\n",
                pct(a),
                pct(b),
                pct_ratio_text(b / a)
            )?;
        }
    }
    Ok(())
}

fn pct_ratio_text(ratio: f64) -> String {
    format!("{:.0} %", 100.0 * ratio)
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

fn curve_paragraph(out: &mut String, g: &Group, f: &CurveFacts) -> Result<()> {
    let mut text = format!(
        "**{}** ({}): after one epoch the validation error is {}; it reaches its lowest value, {}, \
         at epoch {}, and ends at {} after {} epochs (test {}), while the training error ends at {}",
        capitalise(&g.label()),
        setting(&g.first().expect("a finished run").config),
        pct(f.val_first),
        pct(f.val_min),
        f.val_min_epoch,
        pct(f.val_last),
        f.epochs,
        pct(f.test_last),
        pct(f.train_last)
    );
    match f.train_zero_epoch {
        Some(e) => write!(
            text,
            " — every training image is classified correctly from epoch {e} on{}.",
            if f.train_last == 0.0 { "" } else { " at times" }
        )?,
        None => text.push('.'),
    }
    let gap = f.val_last - f.train_last;
    let gap_text = if gap > 0.01 {
        "a large generalisation gap — the training set is learnt far better than unseen images"
    } else if gap > 0.003 {
        "the net fits its training images better than unseen ones (over-fitting in the sense of \
         a train/validation gap), but the gap is moderate"
    } else {
        "a small gap — the net generalises about as well as it fits"
    };
    write!(
        text,
        " The validation error exceeds the training error by {} points: {gap_text}.",
        points(gap)
    )?;
    let rise = f.val_last - f.val_min;
    if rise > NOISE_FLOOR {
        let schedule = g.first().map(|run| run.config.lr_schedule);
        write!(
            text,
            " The validation error ends {} points above its minimum: the last epochs over-fit \
             slightly, or {}.",
            points(rise),
            if schedule == Some(ScheduleArg::Constant) {
                "wander with the noise of constant-rate SGD"
            } else {
                "the minimum was a favourable fluctuation"
            }
        )?;
    } else {
        write!(
            text,
            " The validation error ends within {} points of its minimum: the last epochs neither \
             help nor hurt it.",
            points(NOISE_FLOOR)
        )?;
    }
    if f.val_loss_last > 1.1 * f.val_loss_min {
        write!(
            text,
            " The validation loss, however, climbs from its minimum {:.4} at epoch {} to {:.4} \
             ({}): the net grows over-confident on the images it gets wrong — the first sign of \
             over-fitting, which the error rate does not show yet.",
            f.val_loss_min,
            f.val_loss_min_epoch,
            f.val_loss_last,
            times(f.val_loss_last / f.val_loss_min)
        )?;
    } else {
        write!(
            text,
            " The validation loss ends within 10 % of its minimum ({:.4} at epoch {}, final \
             {:.4}): no sign of over-fitting in the loss either.",
            f.val_loss_min, f.val_loss_min_epoch, f.val_loss_last
        )?;
    }
    if f.train_last > 0.005 {
        write!(
            text,
            " With {} of the training images still misclassified the net under-fits: more \
             epochs or a larger learning rate would help.",
            pct(f.train_last)
        )?;
    }
    writeln!(out, "{text}\n")?;
    Ok(())
}

fn complexity(out: &mut String, r: &Results) -> Result<()> {
    writeln!(out, "## Model complexity: shallow vs deep\n")?;
    figure(
        out,
        figures::COMPLEXITY,
        "validation and test error per epoch of the four runs",
    )?;
    let (Some(sf), Some(df)) = (
        r.group(Net::Shallow, Recipe::Faithful),
        r.group(Net::Deep, Recipe::Faithful),
    ) else {
        return Ok(());
    };
    let (ps, pd) = (
        n_params(&Net::Shallow.hidden())?,
        n_params(&Net::Deep.hidden())?,
    );
    let first_layer = mlp_core::count_params(&[784, 150])?.total;
    writeln!(
        out,
        "The deep net has {} parameters, {} the shallow net's {}; the first layer alone \
         (784 × 150 weights and 150 biases, {} parameters) is {} of the shallow net and {} of \
         the deep one, so the three extra hidden layers add depth far more than size.\n",
        thousands(pd),
        times(pd as f64 / ps as f64),
        thousands(ps),
        thousands(first_layer),
        pct(first_layer as f64 / ps as f64),
        pct(first_layer as f64 / pd as f64)
    )?;
    let compare = |deep: f64, shallow: f64| {
        if deep < shallow - NOISE_FLOOR {
            "better than"
        } else if deep > shallow + NOISE_FLOOR {
            "worse than"
        } else {
            "about the same as"
        }
    };
    let (dfe, sfe) = (df.mean_test(), sf.mean_test());
    let mut text = format!(
        "With the faithful recipe the deep net ends at {} test error vs {} for the shallow one \
         ({} it, mean over seeds).",
        pct(dfe),
        pct(sfe),
        compare(dfe, sfe)
    );
    if let (Some(st), Some(dt)) = (
        r.group(Net::Shallow, Recipe::Tuned),
        r.group(Net::Deep, Recipe::Tuned),
    ) {
        let (dte, ste) = (dt.mean_test(), st.mean_test());
        write!(
            text,
            " With the tuned recipe it ends at {} vs {} ({} it).",
            pct(dte),
            pct(ste),
            compare(dte, ste)
        )?;
        if dte < ste - NOISE_FLOOR && dfe >= sfe - NOISE_FLOOR {
            text.push_str(
                " The extra capacity of depth therefore pays off only when the optimisation can \
                 use it: with sigmoid units and plain SGD it does not (see the next section), \
                 with ReLU and momentum it does.",
            );
        } else if dte < ste - NOISE_FLOOR {
            text.push_str(" Depth helps with both recipes.");
        } else {
            text.push_str(
                " On MNIST, at these sizes, the extra depth does not buy a lower test error: \
                 the one-hidden-layer net is already expressive enough, and the limit is \
                 generalisation, not capacity.",
            );
        }
    }
    writeln!(out, "{text}\n")?;
    Ok(())
}

fn deep_sigmoid(out: &mut String, r: &Results) -> Result<()> {
    let (Some(sf), Some(df)) = (
        r.group(Net::Shallow, Recipe::Faithful),
        r.group(Net::Deep, Recipe::Faithful),
    ) else {
        return Ok(());
    };
    let (Some(s), Some(d)) = (sf.first(), df.first()) else {
        return Ok(());
    };
    let (Some(fs), Some(fd)) = (curve_facts(s), curve_facts(d)) else {
        return Ok(());
    };
    writeln!(
        out,
        "## Why the deep sigmoid net is slow to train with plain SGD\n"
    )?;
    let n_sigmoid = Net::Deep.hidden().len();
    writeln!(
        out,
        "Back-propagation multiplies the delta of a layer by σ'(z) = σ(z)(1 − σ(z)) ≤ 1/4 at every \
         sigmoid layer it crosses: the gradient of the deep net's first layer has crossed {} \
         sigmoid layers, a factor of at most (1/4)^{} = 1/{} compared with its output layer (the \
         weights can make up for part of it, and the Glorot initialisation is chosen to), against \
         a single factor ≤ 1/4 in the shallow net. ReLU's derivative is 1 on its active side, so \
         a ReLU net loses no such factor.\n",
        n_sigmoid,
        n_sigmoid,
        4u64.pow(n_sigmoid as u32)
    )?;
    if let Some(rows) = &r.gradients {
        gradient_table(out, rows)?;
    }
    let mut text = format!(
        "In training (seed {} of both faithful runs, same learning rate and batch size): after one \
         epoch the deep net's validation error is {} vs {} for the shallow net",
        s.config.seed,
        pct(fd.val_first),
        pct(fs.val_first)
    );
    let slower_start = fd.val_first > fs.val_first + NOISE_FLOOR;
    text.push_str(if slower_start {
        " — it starts more slowly."
    } else {
        " — it does not start more slowly here."
    });
    let thresholds = [0.05, 0.03, 0.025];
    let mut parts = Vec::new();
    for t in thresholds {
        let e = |run: &Run| epochs_to(run, t).map_or("never".to_string(), |e| e.to_string());
        parts.push(format!(
            "≤ {}: epoch {} (deep) vs {} (shallow)",
            pct(t),
            e(d),
            e(s)
        ));
    }
    write!(
        text,
        " First epoch with a validation error {}.",
        parts.join("; ")
    )?;
    let (dfe, sfe) = (df.mean_test(), sf.mean_test());
    let (dfv, sfv) = (
        mean(&df.values(Run::val_error)),
        mean(&sf.values(Run::val_error)),
    );
    let spread = std_dev(&df.values(Run::test_error))
        .max(std_dev(&sf.values(Run::test_error)))
        .max(NOISE_FLOOR);
    if dfe > sfe + 2.0 * spread {
        write!(
            text,
            " After {} epochs it still ends {} points behind ({} vs {} test error, {} vs {} \
             validation error, means over seeds), more than twice the seed-to-seed spread: the \
             deep sigmoid net is not only slower to start but also ends worse with this recipe.",
            fd.epochs,
            points(dfe - sfe),
            pct(dfe),
            pct(sfe),
            pct(dfv),
            pct(sfv)
        )?;
    } else if dfe > sfe + NOISE_FLOOR {
        write!(
            text,
            " After {} epochs it ends slightly behind ({} vs {} test error, {} vs {} validation \
             error, means over seeds; the test gap of {} points is within twice the seed-to-seed \
             spread of {} points): the slow start costs many epochs, and the extra layers do not \
             pay for themselves with this recipe.",
            fd.epochs,
            pct(dfe),
            pct(sfe),
            pct(dfv),
            pct(sfv),
            points(dfe - sfe),
            points(spread)
        )?;
    } else {
        write!(
            text,
            " After {} epochs it has caught up ({} vs {} test error, mean over seeds): the slow \
             start costs epochs, not final accuracy.",
            fd.epochs,
            pct(dfe),
            pct(sfe)
        )?;
    }
    writeln!(out, "{text}\n")?;
    Ok(())
}

fn gradient_table(out: &mut String, rows: &[GradientRow]) -> Result<()> {
    let deep = Net::Deep.hidden();
    let deep_name: Vec<String> = deep.iter().map(usize::to_string).collect();
    let deep_name = deep_name.join("-");
    let pick = |activation: ActivationArg| -> Vec<&GradientRow> {
        rows.iter()
            .filter(|row| row.hidden == deep_name && row.activation == activation)
            .collect()
    };
    let (sig, relu) = (pick(ActivationArg::Sigmoid), pick(ActivationArg::Relu));
    if sig.is_empty() || sig.len() != relu.len() {
        return Ok(());
    }
    writeln!(
        out,
        "Measured at initialisation (seed 1) on a batch of the first {} training images: the \
         root mean square of ∂L/∂W per layer of the deep net ([`gradients.csv`](gradients.csv)).\n",
        thousands(sig[0].samples as u64)
    )?;
    writeln!(
        out,
        "| Layer | W | RMS ∂L/∂W, sigmoid | RMS ∂L/∂W, ReLU |\n|---:|---|---:|---:|"
    )?;
    for (a, b) in sig.iter().zip(&relu) {
        writeln!(
            out,
            "| {} | {} × {} | {:.3e} | {:.3e} |",
            a.layer, a.n_out, a.n_in, a.grad_rms, b.grad_rms
        )?;
    }
    let ratio = |v: &[&GradientRow]| v.last().unwrap().grad_rms / v[0].grad_rms;
    let (rs, rr) = (ratio(&sig), ratio(&relu));
    writeln!(
        out,
        "\nThe output layer's gradient is {} the first layer's with sigmoid units, {} with ReLU{}.\n",
        times(rs),
        times(rr),
        if rs > rr {
            ": the sigmoid net's first layers learn that much more slowly with a single \
             learning rate"
        } else {
            ""
        }
    )?;
    Ok(())
}

/// A Markdown table with a row per learning rate, a column per batch size, and `text` in each cell.
fn grid(
    out: &mut String,
    lrs: &[f64],
    batches: &[usize],
    text: impl Fn(f64, usize) -> String,
) -> Result<()> {
    write!(out, "| lr \\ batch |")?;
    for b in batches {
        write!(out, " {b} |")?;
    }
    writeln!(out)?;
    writeln!(out, "|---:|{}", "---:|".repeat(batches.len()))?;
    for &lr in lrs {
        write!(out, "| {} |", num(lr))?;
        for &b in batches {
            write!(out, " {} |", text(lr, b))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn lr_batch(out: &mut String, r: &Results) -> Result<()> {
    if r.study.is_empty() {
        return Ok(());
    }
    let epochs = r.study[0].config.epochs;
    writeln!(out, "## Learning rate × batch size\n")?;
    writeln!(
        out,
        "The shallow net with the faithful recipe (sigmoid, plain SGD, constant rate), {epochs} \
         epochs each, seed {}. Final validation error (lowest validation error and its epoch in \
         parentheses):\n",
        r.study[0].config.seed
    )?;
    let mut lrs: Vec<f64> = r.study.iter().map(|run| run.config.lr).collect();
    lrs.sort_by(f64::total_cmp);
    lrs.dedup();
    let mut batches: Vec<usize> = r.study.iter().map(|run| run.config.batch_size).collect();
    batches.sort();
    batches.dedup();
    let cell = |lr: f64, b: usize| {
        r.study
            .iter()
            .find(|run| run.config.lr == lr && run.config.batch_size == b)
    };
    let best = best_on_val(&r.study);
    grid(out, &lrs, &batches, |lr, b| match cell(lr, b) {
        None => "".to_string(),
        Some(run) if run.summary().is_none() => "diverged".to_string(),
        Some(run) => {
            let t = format!(
                "{} ({}, {})",
                pct(run.val_error()),
                pct(run.best_val_error().unwrap_or(f64::NAN)),
                run.best_val_epoch().unwrap_or(0)
            );
            if best.is_some_and(|b| b.name == run.name) {
                format!("**{t}**")
            } else {
                t
            }
        }
    })?;
    writeln!(out, "\nFinal training error:\n")?;
    grid(out, &lrs, &batches, |lr, b| {
        cell(lr, b).map_or(String::new(), |run| pct(run.train_error()))
    })?;
    writeln!(out)?;
    figure(
        out,
        figures::LR_BATCH,
        "final validation error vs learning rate, one series per batch size",
    )?;

    let Some(best) = best else { return Ok(()) };
    let n_train = best.summary().map_or(0, |s| s.n_train);
    let mut text = format!(
        "The lowest final validation error, {}, is at lr {} and batch {}: the setting the \
         faithful runs use.",
        pct(best.val_error()),
        num(best.config.lr),
        best.config.batch_size
    );
    // Best rate per batch size.
    let mut best_lr = Vec::new();
    for &b in &batches {
        let runs: Vec<Run> = r
            .study
            .iter()
            .filter(|run| run.config.batch_size == b)
            .cloned()
            .collect();
        if let Some(run) = best_on_val(&runs) {
            best_lr.push((b, run.config.lr, run.val_error()));
        }
    }
    let listed: Vec<String> = best_lr
        .iter()
        .map(|(b, lr, e)| format!("lr {} at batch {b} ({})", num(*lr), pct(*e)))
        .collect();
    write!(text, " Best rate per batch size: {}.", listed.join(", "))?;
    let monotone = best_lr.windows(2).all(|w| w[1].1 >= w[0].1);
    let grows = best_lr.windows(2).any(|w| w[1].1 > w[0].1);
    if monotone && grows {
        text.push_str(
            " The best rate grows with the batch size: a larger batch averages the gradient over \
             more images (less noise) and takes fewer steps per epoch, so it both tolerates and \
             needs larger steps.",
        );
    } else if monotone {
        text.push_str(" The best rate is the same for every batch size tried.");
    } else {
        text.push_str(" The best rate does not vary monotonically with the batch size here.");
    }
    writeln!(out, "{text}\n")?;

    // Slow corner: smallest lr, largest batch.
    let (lr0, b_max) = (lrs[0], *batches.last().unwrap());
    if let Some(slow) = cell(lr0, b_max).filter(|run| run.summary().is_some()) {
        let steps = n_train.div_ceil(b_max);
        let mut t = format!(
            "The smallest rate with the largest batch (lr {}, batch {b_max}) makes {} updates per \
             epoch, {} in all, of small steps: it ends at {} validation error and {} training \
             error",
            num(lr0),
            thousands(steps as u64),
            thousands((steps * epochs) as u64),
            pct(slow.val_error()),
            pct(slow.train_error())
        );
        if slow.train_error() > 0.01 {
            t.push_str(" — clear under-fitting: the net has not yet fit its training set.");
        } else {
            t.push('.');
        }
        // The opposite corner.
        let (lr1, b_min) = (*lrs.last().unwrap(), batches[0]);
        if let Some(fast) = cell(lr1, b_min) {
            match fast.summary() {
                None => write!(
                    t,
                    " At the other corner (lr {}, batch {b_min}) training diverged.",
                    num(lr1)
                )?,
                Some(_) => write!(
                    t,
                    " At the other corner (lr {}, batch {b_min}, {} updates per epoch) the \
                     training error ends at {} and the validation error at {}{}",
                    num(lr1),
                    thousands(n_train.div_ceil(b_min) as u64),
                    pct(fast.train_error()),
                    pct(fast.val_error()),
                    if fast.val_error() > best.val_error() + NOISE_FLOOR {
                        ": large noisy steps fit the training set but generalise less well than \
                         the best setting."
                    } else {
                        "."
                    }
                )?,
            }
        }
        writeln!(out, "{t}\n")?;
    }

    // Time per epoch by batch size.
    let mut timing = Vec::new();
    for &b in &batches {
        let secs_per_epoch: Vec<f64> = r
            .study
            .iter()
            .filter(|run| run.config.batch_size == b)
            .flat_map(|run| run.curve().iter().skip(1).map(|rec| rec.seconds))
            .collect();
        if !secs_per_epoch.is_empty() {
            timing.push((b, mean(&secs_per_epoch)));
        }
    }
    if timing.len() >= 2 {
        let listed: Vec<String> = timing
            .iter()
            .map(|(b, s)| format!("{} s at batch {b}", secs_2(*s)))
            .collect();
        let (first, last) = (timing[0], *timing.last().unwrap());
        let why = if first.1 > 1.1 * last.1 {
            format!(
                ": batch {} takes {} the time of batch {} per epoch, because each update has a \
                 fixed cost and small matrix products run far from the processor's peak (see the \
                 forward-propagation benchmark below)",
                first.0,
                times(first.1 / last.1),
                last.0
            )
        } else {
            " — about the same at every batch size".to_string()
        };
        writeln!(
            out,
            "An epoch takes {} (mean over the study's epochs){why}.\n",
            listed.join(", "),
        )?;
    }

    // What suits.
    let close: Vec<String> = r
        .study
        .iter()
        .filter(|run| run.val_error() <= best.val_error() + 2.0 * NOISE_FLOOR)
        .map(|run| {
            format!(
                "lr {} / batch {} ({})",
                num(run.config.lr),
                run.config.batch_size,
                pct(run.val_error())
            )
        })
        .collect();
    let good: Vec<&Run> = r
        .study
        .iter()
        .filter(|run| run.val_error() <= best.val_error() + GOOD_MARGIN)
        .collect();
    let range = |values: Vec<f64>| {
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if lo == hi {
            short(lo)
        } else {
            format!("{}–{}", short(lo), short(hi))
        }
    };
    let still_improving = r
        .study
        .iter()
        .filter(|run| run.best_val_epoch() == Some(epochs))
        .count();
    writeln!(
        out,
        "**What suits**: the best settings (final validation error within {} points of the \
         best) are {}. Within {} points of the best lie {} of the {} settings, spanning lr {} and \
         batch {}{}. In {} of the {} runs the validation \
         error is still at its lowest at the last epoch ({epochs}), so more epochs would still \
         help them; the epoch count is studied next.\n",
        points(2.0 * NOISE_FLOOR),
        close.join(", "),
        points(GOOD_MARGIN),
        good.len(),
        r.study.len(),
        range(good.iter().map(|run| run.config.lr).collect()),
        range(
            good.iter()
                .map(|run| run.config.batch_size as f64)
                .collect()
        ),
        {
            let good_lr_min = good
                .iter()
                .map(|run| run.config.lr)
                .fold(f64::INFINITY, f64::min);
            let good_b_max = good
                .iter()
                .map(|run| run.config.batch_size)
                .max()
                .unwrap_or(0);
            match (good_lr_min > lrs[0], good_b_max < b_max) {
                (true, true) => ": the larger rates with the smaller batches",
                (true, false) => ": the larger rates, at any batch size tried",
                (false, true) => ": any rate tried, with the smaller batches",
                (false, false) => "",
            }
        },
        still_improving,
        r.study.len()
    )?;
    let tuned = r
        .group(Net::Shallow, Recipe::Tuned)
        .and_then(Group::first)
        .map(|run| run.config.clone());
    if let Some(t) = tuned.filter(|t| t.momentum > 0.0) {
        let effective = t.lr / (1.0 - t.momentum);
        let ratio = effective / best.config.lr;
        let relation = if (0.5..=2.0).contains(&ratio) {
            "close to"
        } else if ratio > 2.0 {
            "above"
        } else {
            "below"
        };
        let why = if ratio > 2.0 {
            format!(
                " — momentum averages the gradient over about 1 / (1 − μ) = {} steps, so the \
                 tuned recipe can take larger effective steps than plain SGD tolerates",
                short(1.0 / (1.0 - t.momentum))
            )
        } else {
            String::new()
        };
        writeln!(
            out,
            "Compared with the tuned recipe: its lr {} with momentum μ = {} moves the weights by \
             lr / (1 − μ) = {} per step under a constant gradient, {} times the best plain-SGD \
             rate of {} found here, i.e. {relation} it{why}. Per image of the batch (step / \
             batch size, the quantity the \"linear scaling rule\" keeps constant) that is {} at \
             batch {} vs {} at batch {}{}.\n",
            num(t.lr),
            num(t.momentum),
            short(effective),
            short(ratio),
            num(best.config.lr),
            format_sig(effective / t.batch_size as f64),
            t.batch_size,
            format_sig(best.config.lr / best.config.batch_size as f64),
            best.config.batch_size,
            {
                let per_image = (effective / t.batch_size as f64)
                    / (best.config.lr / best.config.batch_size as f64);
                if (0.8..=1.25).contains(&per_image) {
                    ": the same, so both recipes settle on the same step per image"
                } else {
                    ""
                }
            }
        )?;
    }
    Ok(())
}

/// Four significant digits: `0.031249` → `0.03125`.
fn format_sig(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let decimals = (3 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.decimals$}")
}

fn secs_2(x: f64) -> String {
    format!("{x:.2}")
}

fn epochs(out: &mut String, r: &Results) -> Result<()> {
    writeln!(out, "## Number of epochs\n")?;
    if let Some(g) = r.group(Net::Shallow, Recipe::Faithful) {
        let runs = g.finished();
        let best_epochs: Vec<String> = runs
            .iter()
            .filter_map(|run| run.best_val_epoch())
            .map(|e| e.to_string())
            .collect();
        let gains: Vec<f64> = runs
            .iter()
            .filter_map(|run| Some(run.val_error() - run.best_val_error()?))
            .collect();
        if let Some(first) = runs.first() {
            let gain = mean(&gains);
            writeln!(
                out,
                "With a constant rate (the faithful shallow runs, {} epochs) the validation error \
                 is lowest at epoch {} (seeds {}); stopping there instead of after epoch {} would \
                 have gained {} points on average{}\n",
                first.config.epochs,
                best_epochs.join(", "),
                seeds_of(&runs),
                first.config.epochs,
                points(gain),
                if gain <= 2.0 * NOISE_FLOOR {
                    " — within noise: the curve is flat by then, so past that point the epoch \
                     count matters little (and early stopping would need the validation set \
                     anyway)."
                } else {
                    " — the later epochs over-fit, so fewer epochs (or early stopping on the \
                     validation error) would suit this recipe better."
                }
            )?;
        }
    }
    if r.epochs.len() < 2 {
        return Ok(());
    }
    let c = &r.epochs[0].config;
    let schedule_note = match c.lr_schedule {
        ScheduleArg::Constant => "each count is its own run".to_string(),
        other => format!(
            "with the {} schedule the rate depends on the epoch count, so each count is its own \
             run",
            schedule_name(other)
        ),
    };
    writeln!(
        out,
        "The tuned shallow setting ({}), seed {}, trained for different numbers of epochs; \
         {schedule_note}:\n",
        setting(c),
        c.seed
    )?;
    writeln!(
        out,
        "| Epochs | Train error | Validation error | Test error | Time (s) |\n|---:|---:|---:|---:|---:|"
    )?;
    for run in &r.epochs {
        writeln!(
            out,
            "| [{}]({}/) | {} | {} | {} | {} |",
            run.config.epochs,
            run.name,
            pct(run.train_error()),
            pct(run.val_error()),
            pct(run.test_error()),
            secs(run.train_seconds())
        )?;
    }
    writeln!(out)?;
    figure(out, figures::EPOCHS, "final errors vs number of epochs")?;
    let best = best_on_val(&r.epochs).expect("finished epoch runs");
    // Two single runs differ by about √2 seed-to-seed standard deviations by chance alone.
    let spread = r
        .group(Net::Shallow, Recipe::Tuned)
        .map(|g| std_dev(&g.values(Run::val_error)))
        .filter(|s| s.is_finite() && *s > 0.0);
    let (tolerance, tolerance_text) = match spread {
        Some(s) => (
            2.0 * s,
            format!(
                "twice the seed-to-seed standard deviation of the tuned shallow runs' validation \
                 error, {} points",
                points(2.0 * s)
            ),
        ),
        None => (
            2.0 * NOISE_FLOOR,
            format!("{} points", points(2.0 * NOISE_FLOOR)),
        ),
    };
    let near: Vec<&Run> = r
        .epochs
        .iter()
        .filter(|run| run.val_error() <= best.val_error() + tolerance)
        .collect();
    let enough = near[0];
    let too_few: Vec<String> = r
        .epochs
        .iter()
        .filter(|run| run.config.epochs < enough.config.epochs)
        .map(|run| {
            format!(
                "{} epochs: {} validation, {} training error",
                run.config.epochs,
                pct(run.val_error()),
                pct(run.train_error())
            )
        })
        .collect();
    let near_text: Vec<String> = near
        .iter()
        .map(|run| run.config.epochs.to_string())
        .collect();
    let mut text = format!(
        "The lowest validation error, {}, is at {} epochs. Single runs differ by chance alone by \
         up to about {}; within that of the lowest are the runs with {} epochs, so the \
         differences between them are noise.",
        pct(best.val_error()),
        best.config.epochs,
        tolerance_text,
        near_text.join(", ")
    );
    if !too_few.is_empty() {
        write!(text, " Fewer epochs do worse ({}).", too_few.join("; "))?;
    }
    let train_zero = r.epochs.iter().find(|run| run.train_error() == 0.0);
    if let Some(z) = train_zero {
        write!(
            text,
            " With {} epochs or more every training image ends correctly classified (training \
             error exactly 0), so further epochs can only enlarge the margins.",
            z.config.epochs
        )?;
    }
    let largest = near.last().expect("the best run is near itself");
    if enough.config.epochs == largest.config.epochs {
        write!(
            text,
            " **What suits**: {} epochs for this net and schedule.",
            enough.config.epochs
        )?;
    } else {
        write!(
            text,
            " **What suits**: from {} epochs on for this net and schedule; going beyond {} \
             epochs costs time ({} the epochs for {}) without a measurable gain.",
            enough.config.epochs,
            enough.config.epochs,
            times(largest.config.epochs as f64 / enough.config.epochs as f64),
            largest.config.epochs
        )?;
    }
    writeln!(out, "{text}\n")?;
    Ok(())
}

fn seeds_of(runs: &[&Run]) -> String {
    let seeds: Vec<String> = runs.iter().map(|r| r.config.seed.to_string()).collect();
    seeds.join(", ")
}

fn search(out: &mut String, r: &Results) -> Result<()> {
    if r.search.iter().all(|(_, runs)| runs.is_empty()) {
        return Ok(());
    }
    writeln!(out, "## Validation search of the tuned settings\n")?;
    writeln!(
        out,
        "Stage 1: ReLU, momentum, cosine schedule, a grid of learning rates × weight decays. \
         Stage 2: one change at a time from the best stage-1 setting (another activation, the \
         step schedule, half or double the batch size with the rate scaled alike). Stages 1 and 2 \
         use seed {}. Stage 3: the settings with the lowest validation errors so far (the \
         finalists) are trained again with more seeds, and the chosen setting is the finalist \
         with the lowest mean validation error; it is then re-trained with the reported seeds. \
         Test errors of the search runs are in their files but deliberately not shown here.\n",
        crate::plan::SEARCH_SEED
    )?;
    for (net, runs) in &r.search {
        if runs.is_empty() {
            continue;
        }
        let cands = candidates(runs);
        let chosen = choose(&cands);
        writeln!(
            out,
            "### {} net\n\n| Run (seed {}) | Setting | Epochs | Train error | Validation error | Mean validation error (seeds) | Time (s) |\n|---|---|---:|---:|---:|---:|---:|",
            capitalise(net.name()),
            crate::plan::SEARCH_SEED
        )?;
        let mut sorted: Vec<&Candidate> = cands.iter().collect();
        sorted.sort_by(|a, b| {
            (b.runs.len() > 1)
                .cmp(&(a.runs.len() > 1))
                .then(a.mean_val().total_cmp(&b.mean_val()))
                .then(a.runs[0].val_error().total_cmp(&b.runs[0].val_error()))
        });
        for cand in &sorted {
            let is_chosen = chosen.is_some_and(|c| c.runs[0].name == cand.runs[0].name);
            let run = cand.runs[0];
            let name = run.name.rsplit('/').next().unwrap_or(&run.name);
            let val = if run.summary().is_some() {
                pct(run.val_error())
            } else {
                "diverged".into()
            };
            let mean_text = if cand.runs.len() > 1 {
                let seeds: Vec<String> = cand
                    .runs
                    .iter()
                    .map(|r| r.config.seed.to_string())
                    .collect();
                let text = format!(
                    "{} ({})",
                    pct_mean_std(&cand.val_errors()),
                    seeds.join(", ")
                );
                if is_chosen {
                    format!("**{text}**")
                } else {
                    text
                }
            } else {
                String::new()
            };
            writeln!(
                out,
                "| [`{name}`]({}/) | {}{} | {} | {} | {} | {} | {} |",
                run.name,
                setting(&run.config),
                if is_chosen { " — **chosen**" } else { "" },
                run.config.epochs,
                pct(run.train_error()),
                val,
                mean_text,
                secs(run.train_seconds())
            )?;
        }
        writeln!(out)?;
        let Some(chosen) = chosen else { continue };
        let mut text = String::new();
        let finalists: Vec<&&Candidate> = sorted.iter().filter(|c| c.runs.len() > 1).collect();
        let first_of_stage12 = cands
            .iter()
            .map(|c| c.runs[0])
            .min_by(|a, b| a.val_error().total_cmp(&b.val_error()));
        if finalists.len() > 1 {
            let runner_up = finalists
                .iter()
                .find(|c| c.runs[0].name != chosen.runs[0].name)
                .expect("two finalists");
            let diff = runner_up.mean_val() - chosen.mean_val();
            let spread = std_dev(&chosen.val_errors());
            let n = chosen.runs.len() as f64;
            write!(
                text,
                "The chosen setting leads the next finalist by {} points of mean validation error",
                points(diff)
            )?;
            if spread.is_finite() && diff < 2.0 * spread / n.sqrt() {
                write!(
                    text,
                    ", less than two standard errors of a {}-seed mean ({} points): the finalists \
                     are equivalent within noise, and the choice among them matters little.",
                    chosen.runs.len(),
                    points(2.0 * spread / n.sqrt())
                )?;
            } else {
                write!(
                    text,
                    ", more than two standard errors of a {}-seed mean ({} points).",
                    chosen.runs.len(),
                    points(2.0 * spread / n.sqrt())
                )?;
            }
        }
        if let Some(top) = first_of_stage12 {
            if top.name != chosen.runs[0].name {
                write!(
                    text,
                    " The best single run of stages 1–2 (`{}`, {}) was not confirmed by its \
                     other seeds.",
                    top.name.rsplit('/').next().unwrap_or(&top.name),
                    pct(top.val_error())
                )?;
            }
        }
        if let Some(g) = r.group(*net, Recipe::Tuned) {
            let fresh = mean(&g.values(Run::val_error));
            let seed0 = chosen.runs[0].val_error();
            write!(
                text,
                " Re-trained with seeds {}, the chosen setting averages {} validation error, \
                 against {} for its seed-{} search run and {} over its search seeds",
                seeds_of(&g.finished()),
                pct(fresh),
                pct(seed0),
                chosen.runs[0].config.seed,
                pct(chosen.mean_val())
            )?;
            if fresh > chosen.mean_val() + NOISE_FLOOR {
                text.push_str(
                    ": the search's figures were partly luck — the best of several noisy \
                     validation errors is biased low, which is why the reported figures come \
                     from fresh seeds.",
                );
            } else {
                text.push_str(": the search's figure holds up on fresh seeds.");
            }
        }
        let ln10 = 10f64.ln();
        let collapsed: Vec<&Run> = runs
            .iter()
            .filter(|run| {
                run.curve().last().is_some_and(|rec| {
                    run.val_error() > 0.5 && (rec.train_loss - ln10).abs() < 0.01
                })
            })
            .collect();
        if !collapsed.is_empty() {
            let names: Vec<String> = collapsed
                .iter()
                .map(|run| {
                    format!(
                        "lr {} with weight decay {}",
                        num(run.config.lr),
                        num(run.config.weight_decay)
                    )
                })
                .collect();
            write!(
                text,
                " The {} at {} did not learn: the training loss ends at {:.4}, next to \
                 ln 10 = {:.4}, the loss of a constant prediction — the classic sign of \
                 \"dead\" ReLU units: a too-large early step (with momentum) pushes the units \
                 of some layer to their flat negative side for every image, after which no \
                 gradient flows through them.",
                if collapsed.len() == 1 { "run" } else { "runs" },
                names.join(" and "),
                collapsed[0]
                    .curve()
                    .last()
                    .map_or(f64::NAN, |rec| rec.train_loss),
                ln10
            )?;
        }
        writeln!(out, "{}\n", text.trim_start())?;
    }
    Ok(())
}

fn review_question(out: &mut String) -> Result<()> {
    writeln!(
        out,
        "## Review question: parameters of a 784-100-200-50-10 net\n"
    )?;
    let count = mlp_core::count_params(&[784, 100, 200, 50, 10])?;
    writeln!(
        out,
        "Each layer has an n_out × n_in weight matrix and n_out biases, (n_in + 1) · n_out \
         parameters (computed with `mlp_core::count_params`, also `mlp-cli count-params 100,200,50`):\n"
    )?;
    writeln!(
        out,
        "| Layer | W | b | (n_in + 1) · n_out |\n|---:|---|---:|---:|"
    )?;
    for (l, layer) in count.layers.iter().enumerate() {
        writeln!(
            out,
            "| {} | {} × {} | {} | {} |",
            l + 1,
            layer.n_out,
            layer.n_in,
            layer.n_out,
            thousands(layer.count)
        )?;
    }
    writeln!(out, "| **total** | | | **{}** |\n", thousands(count.total))?;
    Ok(())
}

fn reproduce(out: &mut String, r: &Results) -> Result<()> {
    writeln!(out, "## Reproducing\n")?;
    let all: Vec<&Run> = r
        .study
        .iter()
        .chain(r.search.iter().flat_map(|(_, runs)| runs.iter()))
        .chain(r.epochs.iter().filter(|run| run.name.starts_with("study/")))
        .chain(r.reported.iter().flat_map(|g| g.runs.iter()))
        .chain(r.retrained.iter().flat_map(|g| g.runs.iter()))
        .collect();
    let wall: f64 = all
        .iter()
        .filter_map(|run| run.summary().map(|s| s.wall_seconds))
        .sum();
    let epochs: usize = all
        .iter()
        .filter_map(|run| run.summary().map(|s| s.last.epoch))
        .sum();
    writeln!(
        out,
        "The {} runs above trained {} epochs in {:.1} minutes in all (the sum of their \
         `wall_seconds`, evaluation included; `cargo xtask experiments` adds loading the data, \
         the gradient measurement and the benchmark).\n",
        all.len(),
        thousands(epochs as u64),
        wall / 60.0
    )?;
    writeln!(
        out,
        "```sh\ncargo xtask experiments          # every run (skips runs already done; --force redoes them)\n\
         cargo xtask report               # this file and the figures, from the run files only\n\
         cargo xtask experiments --quick  # the reduced CI run, into results/quick/\n```"
    )?;
    Ok(())
}
