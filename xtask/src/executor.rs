//! Running one planned training run, or skipping it when its files already hold the same run.

use crate::runs::{same_config, Diverged, Run, DIVERGED};
use crate::Result;
use mlp_cli::train::{files, EpochRecord, Observer, Outcome, RunDir, TrainConfig, Trainer};
use mlp_data::Mnist;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Every file a run directory may hold; nothing else is removed from one.
pub const RUN_FILES: [&str; 5] = [
    files::CURVE,
    files::SUMMARY,
    files::MODEL,
    files::CHECKPOINT,
    DIVERGED,
];

/// One training run of the plan.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// Directory relative to the results root, `/`-separated.
    pub name: String,
    /// The run's settings.
    pub config: TrainConfig,
    /// Keep `model.safetensors` (the faithful and tuned runs); study and search runs delete it.
    pub keep_model: bool,
}

/// How [`Executor::run`] runs.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Retrain even when the run's files already hold the same configuration.
    pub force: bool,
    /// Print only one line per run, not the per-epoch table.
    pub quiet_epochs: bool,
}

/// Runs specs one after the other on one loaded data set, counting what it did.
pub struct Executor<'a> {
    root: &'a Path,
    mnist: &'a Mnist,
    options: ExecOptions,
    started: Instant,
    /// Runs trained by this executor.
    pub trained: usize,
    /// Runs skipped because their files were up to date.
    pub skipped: usize,
}

impl<'a> Executor<'a> {
    /// An executor writing under `root`.
    pub fn new(root: &'a Path, mnist: &'a Mnist, options: ExecOptions) -> Self {
        Self {
            root,
            mnist,
            options,
            started: Instant::now(),
            trained: 0,
            skipped: 0,
        }
    }

    /// Runs every spec in order, returning the runs read back from their files.
    pub fn run_all(&mut self, stage: &str, specs: &[RunSpec]) -> Result<Vec<Run>> {
        let mut runs = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            runs.push(self.run(&format!("{stage} {}/{}", i + 1, specs.len()), spec)?);
        }
        Ok(runs)
    }

    /// Trains `spec` unless its directory already holds a finished (or diverged) run with the same
    /// configuration and `force` is off; resumes from a checkpoint of the same configuration.
    pub fn run(&mut self, label: &str, spec: &RunSpec) -> Result<Run> {
        let dir = self.root.join(&spec.name);
        let elapsed = self.started.elapsed().as_secs_f64();
        if !self.options.force {
            if let Some(run) = Run::load(self.root, &spec.name)? {
                if same_config(&run.config, &spec.config) {
                    self.skipped += 1;
                    println!(
                        "[{elapsed:>6.0} s] {label} {}: up to date ({}), skipped",
                        spec.name,
                        outcome_text(&run)
                    );
                    return Ok(run);
                }
            }
        }
        println!("[{elapsed:>6.0} s] {label} {}: {}", spec.name, spec.config);
        let resumable = !self.options.force && checkpoint_matches(&dir, &spec.config);
        if !resumable {
            clear_run_files(&dir)?;
        }
        let trainer = if resumable {
            println!("  resuming from {}", dir.join(files::CHECKPOINT).display());
            Trainer::resume(&dir, self.mnist)
        } else {
            Trainer::new(spec.config.clone(), self.mnist, &dir)
        };
        // Nothing raises the stop flag: an interrupted `experiments` is simply killed, and the
        // next one resumes from the checkpoints.
        let never = AtomicBool::new(false);
        let mut table = EpochTable {
            quiet: self.options.quiet_epochs,
        };
        let outcome = trainer
            .and_then(|trainer| trainer.run(&mut table, &never))
            .map_err(|e| format!("{}: {e}", spec.name))?;
        match outcome {
            Outcome::Finished(_) => {}
            Outcome::Diverged(divergence) => {
                let marker = Diverged {
                    config: spec.config.clone(),
                    epoch: divergence.epoch,
                    message: divergence.to_string(),
                };
                clear_run_files(&dir)?;
                std::fs::create_dir_all(&dir)?;
                let json = serde_json::to_string_pretty(&marker)? + "\n";
                std::fs::write(dir.join(DIVERGED), json)?;
            }
            Outcome::Interrupted { epoch } => {
                return Err(format!("{}: stopped after epoch {epoch}", spec.name).into())
            }
        }
        if !spec.keep_model {
            remove_if_exists(&dir.join(files::MODEL))?;
        }
        self.trained += 1;
        let run = Run::load(self.root, &spec.name)?
            .ok_or_else(|| format!("{}: the run left no summary", spec.name))?;
        println!("  -> {}", outcome_text(&run));
        Ok(run)
    }
}

/// Prints the trainer's epoch table, unless quiet.
struct EpochTable {
    quiet: bool,
}

impl Observer for EpochTable {
    fn untrained(&mut self, record: &EpochRecord) {
        if !self.quiet {
            println!("{}", EpochRecord::table_header());
            println!("{}", record.table_row());
        }
    }

    fn epoch(&mut self, record: &EpochRecord) {
        if !self.quiet {
            println!("{}", record.table_row());
        }
    }
}

fn outcome_text(run: &Run) -> String {
    match run.last() {
        Some(last) => format!(
            "val {}, test {:.2} %, train {:.2} % after {} epochs",
            last.val_error
                .map_or("- (no split)".to_string(), |e| format!(
                    "{:.2} %",
                    100.0 * e
                )),
            100.0 * last.test_error,
            100.0 * last.train_error,
            last.epoch
        ),
        None => "diverged".into(),
    }
}

/// Whether `dir` holds a checkpoint of a run with configuration `config`.
fn checkpoint_matches(dir: &Path, config: &TrainConfig) -> bool {
    RunDir::open(dir)
        .checkpoint_config()
        .is_some_and(|saved| same_config(&saved, config))
}

/// Removes the files a run writes (and only those), so that a changed configuration starts afresh.
fn clear_run_files(dir: &Path) -> Result<()> {
    for name in RUN_FILES {
        remove_if_exists(&dir.join(name))?;
    }
    Ok(())
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("{}: {e}", path.display()).into()),
    }
}
