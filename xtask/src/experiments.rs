//! `cargo xtask experiments`: every run behind `results/REPORT.md`, then the report itself.
//!
//! The stages run one after the other (one training at a time), each reading the validation errors
//! of the previous ones from their files:
//!
//! 1. the lr × batch study of the shallow net with the practical work's recipe;
//! 2. the validation search of the tuned setting of each net (two stages, see [`crate::plan`]);
//! 3. the epoch study of the tuned shallow setting;
//! 4. the reported runs: faithful and tuned, each net, three seeds; then the tuned setting retrained
//!    on all 60 000 training images (a supplementary result, reported separately);
//! 5. the gradient sizes at initialisation, the forward-propagation benchmark and the training-step
//!    scaling benchmark (`mlp-cli bench-train`'s study);
//! 6. the report and its figures.
//!
//! A run whose `summary.json` already holds the same configuration is skipped (`--force` redoes
//! it), and an interrupted run resumes from its checkpoint, so an interrupted `experiments` can be
//! re-run cheaply.

use crate::executor::{ExecOptions, Executor, RunSpec, RUN_FILES};
use crate::plan::{search_dir, Net, Recipe, Scale};
use crate::runs::{best_on_val, candidates, choose, Run};
use crate::{bench, gradients, report, scaling, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Options of `cargo xtask experiments`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The reduced run (5 000 training images, a few epochs, fewer grid points), into
    /// `<results>/quick/`.
    #[arg(long)]
    pub quick: bool,
    /// Retrain every run, even those whose files already hold the same configuration.
    #[arg(long)]
    pub force: bool,
    /// Print one line per run instead of the per-epoch table.
    #[arg(long)]
    pub quiet_epochs: bool,
    /// Results directory.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
}

/// The results root of these options: `<results>` or `<results>/quick`.
pub fn root(args: &Args) -> PathBuf {
    if args.quick {
        args.results.join("quick")
    } else {
        args.results.clone()
    }
}

/// Runs the whole experiment and writes the report.
pub fn run(args: &Args) -> Result<()> {
    let started = Instant::now();
    let scale = if args.quick {
        Scale::quick()
    } else {
        Scale::full()
    };
    let root = root(args);
    std::fs::create_dir_all(&root)?;
    let data_dir = mlp_data::default_data_dir();
    println!(
        "experiments ({}) into {}, data {}",
        if args.quick { "quick" } else { "full" },
        root.display(),
        data_dir.display()
    );
    let mnist = mlp_data::load_dir(&data_dir)?;
    let mut exec = Executor::new(
        &root,
        &mnist,
        ExecOptions {
            force: args.force,
            quiet_epochs: args.quiet_epochs,
        },
    );

    // 1. The lr × batch study.
    let study_specs = scale.lr_batch_study();
    prune(&root, "study/lr-batch", &study_specs)?;
    let study = exec.run_all("lr x batch study", &study_specs)?;

    // 2. The tuned search of each net.
    let mut tuned = Vec::new();
    for net in Net::ALL {
        let stage1 = exec.run_all(
            &format!("{} search, stage 1", net.name()),
            &scale.search_stage1(net),
        )?;
        let best1 = best_on_val(&stage1)
            .ok_or("every stage-1 search run diverged")?
            .config
            .clone();
        let stage2_specs = scale.search_stage2(net, &best1);
        let stage2 = exec.run_all(&format!("{} search, stage 2", net.name()), &stage2_specs)?;
        let stages12: Vec<Run> = stage1.into_iter().chain(stage2).collect();
        let stage3_specs = scale.search_stage3(net, &stages12);
        let all_specs: Vec<RunSpec> = scale
            .search_stage1(net)
            .into_iter()
            .chain(stage2_specs)
            .chain(stage3_specs.iter().cloned())
            .collect();
        prune(&root, &search_dir(net), &all_specs)?;
        let stage3 = exec.run_all(
            &format!("{} search, stage 3 (finalists, more seeds)", net.name()),
            &stage3_specs,
        )?;
        let all: Vec<Run> = stages12.into_iter().chain(stage3).collect();
        let candidates = candidates(&all);
        let best = choose(&candidates).ok_or("every search run diverged")?;
        println!(
            "  {} tuned setting chosen on validation: {} ({:.2} %, mean of {} seeds)",
            net.name(),
            best.runs[0].name,
            100.0 * best.mean_val(),
            best.runs.len()
        );
        tuned.push((net, best.config.clone()));
    }

    // 3. The epoch study of the tuned shallow setting.
    let shallow_tuned = &tuned[0].1;
    let epoch_specs = scale.epoch_study(shallow_tuned);
    prune(&root, "study/epochs", &epoch_specs)?;
    exec.run_all("epoch study", &epoch_specs)?;

    // 4. The reported runs.
    for (net, tuned_config) in &tuned {
        let faithful = scale
            .faithful_config(*net, &study, 0)
            .ok_or("every lr x batch study run diverged")?;
        for (recipe, config) in [(Recipe::Faithful, &faithful), (Recipe::Tuned, tuned_config)] {
            exec.run_all(
                &format!("{} {}", net.name(), recipe.name()),
                &scale.seeded(*net, recipe, config),
            )?;
        }
    }
    for (net, tuned_config) in &tuned {
        exec.run_all(
            &format!("{} tuned, all training images", net.name()),
            &scale.retrained(*net, tuned_config),
        )?;
    }

    // 5. Gradients at initialisation, and the benchmarks.
    let gradients_path = root.join(gradients::FILE);
    if args.force || !gradients_path.is_file() {
        let nets: Vec<Vec<usize>> = Net::ALL.iter().map(|n| n.hidden()).collect();
        let rows = gradients::measure(&mnist.train, &nets, scale.gradient_samples)?;
        gradients::write(&gradients_path, &rows)?;
        println!(
            "  gradients at initialisation: {}",
            gradients_path.display()
        );
    } else {
        println!(
            "  gradients at initialisation: up to date ({}), skipped",
            gradients::FILE
        );
    }
    bench::run(&root, &scale, args.force)?;
    scaling::run(&root, &scale, args.force)?;

    // 6. The report.
    report::generate(&root)?;
    println!(
        "done in {:.0} s: {} runs trained, {} up to date; report in {}",
        started.elapsed().as_secs_f64(),
        exec.trained,
        exec.skipped,
        root.join(report::REPORT).display()
    );
    Ok(())
}

/// Removes the run directories under `root/dir` that the plan no longer contains (left by an
/// earlier plan), so that the report, which tables every run it finds, matches the plan. Only
/// directories holding nothing but run files are removed.
fn prune(root: &Path, dir: &str, specs: &[RunSpec]) -> Result<()> {
    let keep: BTreeSet<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return Ok(());
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let path = entry.path();
        if !path.is_dir() || keep.contains(format!("{dir}/{name}").as_str()) {
            continue;
        }
        let only_run_files = std::fs::read_dir(&path)?.filter_map(|e| e.ok()).all(|e| {
            let file = e.file_name();
            let file = file.to_string_lossy();
            e.path().is_file() && RUN_FILES.contains(&file.as_ref())
        });
        if only_run_files {
            println!("  removing {} (not in the plan any more)", path.display());
            std::fs::remove_dir_all(&path)?;
        }
    }
    Ok(())
}
