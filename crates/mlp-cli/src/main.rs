//! `mlp-cli`: train, check, evaluate and benchmark MLPs on MNIST, classify digit images, serve the explorer.

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};
use mlp_cli::{
    bench, bench_train, count_params, evaluate, gradcheck, inspect, predict, serve, train_command,
    CliError,
};
use std::process::ExitCode;

/// Multilayer perceptrons with hand-written back-propagation, on MNIST.
#[derive(Debug, Parser)]
#[command(name = "mlp-cli", version, about, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Count the weights and biases of an MLP, per layer and in total.
    #[command(
        after_help = "Example:\n  mlp-cli count-params 100,200,50\n  mlp-cli count-params 150 --inputs 3072 --classes 100"
    )]
    CountParams {
        /// Hidden layer widths, comma-separated (e.g. 100,200,50).
        #[arg(allow_hyphen_values = true)]
        hidden: String,
        /// Number of inputs.
        #[arg(long, default_value_t = 784)]
        inputs: usize,
        /// Number of classes.
        #[arg(long, default_value_t = 10)]
        classes: usize,
    },
    /// Check the hand-written gradients against finite differences and the autograd tape.
    #[command(after_help = gradcheck::EXAMPLES)]
    Gradcheck(gradcheck::Args),
    /// Train an MLP on MNIST with mini-batch SGD.
    #[command(after_help = train_command::EXAMPLES)]
    Train(train_command::Args),
    /// Evaluate a saved model on the test set: loss, error, confusion matrix.
    #[command(after_help = evaluate::EXAMPLES)]
    Evaluate(evaluate::Args),
    /// Time forward propagation of the 60 000 training images for a range of batch sizes.
    #[command(after_help = bench::EXAMPLES)]
    BenchForward(bench::Args),
    /// Time training steps for a range of widths and depths, against the GEMM peak.
    #[command(after_help = bench_train::EXAMPLES)]
    BenchTrain(bench_train::Args),
    /// Classify image files of handwritten digits (PNG, JPEG, PNM, BMP) with a saved model.
    #[command(after_help = predict::EXAMPLES)]
    Predict(predict::Args),
    /// Describe a saved model: architecture, parameters, training configuration, final errors, data.
    #[command(after_help = inspect::EXAMPLES)]
    Inspect(inspect::Args),
    /// Serve the explorer: draw digits for a model, compare runs, train live (a local web page).
    #[command(after_help = serve::EXAMPLES)]
    Serve(serve::Args),
}

fn run(command: Command) -> mlp_cli::Result<()> {
    match command {
        Command::CountParams {
            hidden,
            inputs,
            classes,
        } => {
            print!("{}", count_params::run(&hidden, inputs, classes)?);
            Ok(())
        }
        Command::Gradcheck(args) => gradcheck::run(&args),
        Command::Train(args) => train_command::run(&args),
        Command::Evaluate(args) => evaluate::run(&args),
        Command::BenchForward(args) => bench::run(&args),
        Command::BenchTrain(args) => bench_train::run(&args),
        Command::Predict(args) => predict::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Serve(args) => serve::run(&args),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            // --help and --version.
            print!("{err}");
            return ExitCode::SUCCESS;
        }
        Err(err) if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // No arguments at all: the whole usage with the list of commands, as a usage error.
            eprint!("{}", err.render());
            return ExitCode::from(2);
        }
        Err(err) => {
            // One line: clap's first paragraph, which already starts with "error:".
            let text = err.render().to_string();
            let first: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.is_empty())
                .collect();
            eprintln!("{}", first.join(" "));
            return ExitCode::from(2);
        }
    };
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::from(err.exit_code())
        }
    }
}

/// The error and its causes on one line.
fn one_line(err: &CliError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text.replace('\n', " ")
}
