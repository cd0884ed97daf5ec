//! `cargo xtask`: project automation (see the `xtask` library).

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use xtask::{experiments, mutants, report};

/// Project automation for the MLP workspace.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train every run behind results/REPORT.md (skipping those already done), then write the report.
    #[command(
        after_help = "Examples:\n  cargo xtask experiments           # the full run, under half an hour on two cores\n  cargo xtask experiments --quick   # the reduced CI run, into results/quick/\n  cargo xtask experiments --force   # retrain everything"
    )]
    Experiments(experiments::Args),
    /// Regenerate REPORT.md and the figures from the run files only.
    #[command(
        after_help = "Examples:\n  cargo xtask report\n  cargo xtask report --results results/quick"
    )]
    Report(report::Args),
    /// Mutation testing of the math (cargo-mutants): fails on a missed mutant not known to be equivalent.
    #[command(
        after_help = "Examples:\n  cargo xtask mutants                                   # every file of .cargo/mutants.toml (hours)\n  cargo xtask mutants crates/mlp-core/src/optim.rs      # one file\n  cargo xtask mutants --shard 0/4                       # a quarter of the mutants\n  cargo xtask mutants --report-only                     # judge the last run again"
    )]
    Mutants(mutants::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Experiments(args) => experiments::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Mutants(args) => mutants::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
