//! `mlp-cli gradcheck`: the hand-written gradients of a fresh network, on real training images,
//! against central finite differences and against the mlp-autograd tape.

use crate::spec::{activation_choice, check_network_size, parse_sizes};
use crate::{data, CliError, Result};
use faer::{Mat, MatRef};
use mlp_autograd::{mlp_loss_and_gradients, Matrix};
use mlp_core::gradcheck::{
    backprop_gradients, check_gradients_against, denominator_floor, max_relative_errors,
    relative_error, step, GradCheckReport, LayerGradient, ParamKind, ParamReport, ParamSelection,
    SUMMATION_FLOOR, THRESHOLD,
};
use mlp_core::{Activation, Mlp};
use std::path::PathBuf;
use std::time::Instant;

/// Usage examples shown after `--help`.
pub const EXAMPLES: &str = "Examples:
  # Every weight and bias of the practical work's network, on 10 training images.
  mlp-cli gradcheck --layers 784,150,10
  # A deep network: 200 weights and 200 biases drawn from each layer.
  mlp-cli gradcheck --layers 784,150,200,150,50,10 --params 200
  # ReLU hidden layers, another draw of weights, images and parameters.
  mlp-cli gradcheck --layers 784,30,10 --activation relu --samples 3 --params 20 --seed 7

--layers lists every size: the data's 784 inputs first, its 10 classes last. Each checked
gradient is compared with a central difference (L(θ+h) − L(θ−h)) / 2h, h = 1e-6·max(1, |θ|), and
every gradient entry with the mlp-autograd tape, by |a − b| / max(|a|, |b|, floor); the floors
(printed) keep rounding noise below the threshold for tiny gradients. PASS when every relative
error is at most 3e-7; FAIL (exit code 1) otherwise. Layers are numbered from 0 on the input side.";

/// Arguments of `mlp-cli gradcheck`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Every layer size, comma-separated: inputs, hidden widths, classes (e.g. 784,150,10).
    #[arg(long, allow_hyphen_values = true)]
    pub layers: String,
    /// Activation of the hidden layers.
    #[arg(long, value_parser = activation_choice(), default_value = Activation::Sigmoid.name())]
    pub activation: Activation,
    /// Number of training images in the batch, drawn with the seed.
    #[arg(long, default_value_t = 10)]
    pub samples: usize,
    /// Parameters to check: "all", or N drawn from each weight matrix and N from each bias.
    #[arg(long, default_value = "all", allow_hyphen_values = true)]
    pub params: String,
    /// Seed of the weights, of the images and of the drawn parameters.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Directory holding the four IDX files (default: the bundled data/mnist).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// Runs the command: prints the per-layer errors and `PASS`, or `FAIL` and returns
/// [`CliError::GradCheckFailed`].
pub fn run(args: &Args) -> Result<()> {
    // Everything that needs no data is checked before loading it.
    let sizes = parse_sizes("--layers", &args.layers)?;
    if sizes.len() < 2 {
        return Err(CliError::Usage(format!(
            "--layers {:?}: give every size, inputs first and classes last (e.g. 784,150,10)",
            args.layers
        )));
    }
    check_network_size(&sizes)?;
    let selection = parse_params(&args.params)?;
    if args.samples == 0 {
        return Err(CliError::Usage("--samples must be at least 1".into()));
    }

    let mnist = data::load(args.data.as_deref())?;
    let train = &mnist.train;
    let (n_in, n_classes) = (sizes[0], sizes[sizes.len() - 1]);
    if (n_in, n_classes) != (train.n_features(), train.n_classes()) {
        return Err(CliError::Usage(format!(
            "--layers {:?} has {n_in} inputs and {n_classes} classes, but the data has {} inputs \
             and {} classes: start with {} and end with {}",
            args.layers,
            train.n_features(),
            train.n_classes(),
            train.n_features(),
            train.n_classes()
        )));
    }
    if args.samples > train.len() {
        return Err(CliError::Usage(format!(
            "--samples {} is more than the {} training images",
            args.samples,
            train.len()
        )));
    }

    // The batch: `samples` training images drawn with the seed, as f64 columns.
    let indices: Vec<usize> = mlp_data::epoch_order(train.len(), args.seed, 0)
        .into_iter()
        .take(args.samples)
        .collect();
    let mut x = Mat::<f64>::zeros(n_in, args.samples);
    let mut y = Mat::<f64>::zeros(n_classes, args.samples);
    train.gather_into(&indices, x.as_mut(), y.as_mut())?;
    let labels: Vec<usize> = indices
        .iter()
        .map(|&i| usize::from(train.labels()[i]))
        .collect();

    let activation = args.activation;
    let mut mlp = Mlp::<f64>::new(&sizes, activation, args.seed)?;
    let sizes_text: Vec<String> = sizes.iter().map(usize::to_string).collect();
    println!(
        "MLP {} ({} parameters), {} hidden layers, f64, seed {}",
        sizes_text.join("-"),
        mlp.n_params(),
        activation.name(),
        args.seed
    );
    println!(
        "batch: {} training images {}",
        args.samples,
        list(&indices, 10)
    );
    match &selection {
        ParamSelection::PerLayer(n) => println!(
            "sampling up to {n} weights and {n} biases per layer (seed {}); \
             central differences with h = 1e-6·max(1, |θ|)",
            args.seed
        ),
        _ => println!("checking every parameter; central differences with h = 1e-6·max(1, |θ|)"),
    }

    let analytic = backprop_gradients(&mut mlp, x.as_ref(), y.as_ref())?;
    let loss = mlp.loss(y.as_ref())?;
    let (tape_loss, tape) = tape_gradients(&mlp, activation, x.as_ref(), &labels)?;
    let tape_errors = max_relative_errors(&analytic, &tape)?;
    // The loss is a mean of terms of order 1: its rounding is relative to 1 at least.
    let tape_loss_error = relative_error(loss, tape_loss, 1.0);

    let start = Instant::now();
    let report = check_gradients_against(
        &mut mlp,
        x.as_ref(),
        y.as_ref(),
        &analytic,
        selection,
        args.seed,
    )?;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{} of {} parameters checked in {seconds:.1} s ({} forward passes)",
        report.checked,
        mlp.n_params(),
        2 * report.checked
    );
    let largest_gradient = analytic
        .iter()
        .flat_map(|(w, b)| entries(w.as_ref()).chain(b.iter().copied()))
        .fold(1.0f64, |m, v| m.max(v.abs()));
    let fd_floor = denominator_floor(report.rounding_scale, step(0.0));
    println!(
        "relative error = |a − b| / max(|a|, |b|, floor); floor {fd_floor:.1e} against finite \
         differences (rounding scale {:.2}, |θ| ≤ 1: smaller gradients must agree within {:.1e}), \
         {:.1e} against the tape",
        report.rounding_scale,
        fd_floor * THRESHOLD,
        SUMMATION_FLOOR * largest_gradient
    );
    println!();
    print!("{}", table(&mlp, &report, &tape_errors));
    println!();
    println!("loss {loss:.10} (tape {tape_loss:.10}, relative error {tape_loss_error:.1e})");
    println!("worst parameter: {}", describe(&report.worst));

    let tape_worst = tape_errors
        .iter()
        .fold(tape_loss_error, |m, &(w, b)| m.max(w).max(b));
    let fd_worst = report.worst.relative_error;
    let summary = format!(
        "largest relative error {fd_worst:.2e} against finite differences, {tape_worst:.2e} \
         against the tape (threshold {THRESHOLD:e})"
    );
    if report.passed() && tape_worst <= THRESHOLD {
        println!("PASS: {summary}");
        Ok(())
    } else {
        println!("FAIL: {summary}");
        Err(CliError::GradCheckFailed(summary))
    }
}

/// `--params`: "all", or a number of parameters per weight matrix and per bias, at least 1.
fn parse_params(text: &str) -> Result<ParamSelection> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("all") {
        return Ok(ParamSelection::All);
    }
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(ParamSelection::PerLayer(n)),
        _ => Err(CliError::Usage(format!(
            "--params {text:?}: give \"all\" or a number of parameters per layer, at least 1"
        ))),
    }
}

/// The loss and the gradients of the mlp-autograd tape for the network's parameters, as
/// `(∂L/∂W, ∂L/∂b)` per layer in the network's own types.
fn tape_gradients(
    mlp: &Mlp<f64>,
    activation: Activation,
    x: MatRef<'_, f64>,
    labels: &[usize],
) -> Result<(f64, Vec<LayerGradient>)> {
    // The tape's matrices are row-major; `from_fn` fills them by (row, column) either way.
    let to_tape = |m: MatRef<'_, f64>| Matrix::from_fn(m.nrows(), m.ncols(), |r, c| m[(r, c)]);
    let params: Vec<(Matrix, Matrix)> = mlp
        .layers()
        .iter()
        .map(|layer| {
            let bias = Matrix::from_fn(layer.n_out(), 1, |r, _| layer.bias()[r]);
            (to_tape(layer.weights()), bias)
        })
        .collect();
    let hidden = match activation {
        Activation::Sigmoid => mlp_autograd::Activation::Sigmoid,
        Activation::Tanh => mlp_autograd::Activation::Tanh,
        Activation::Relu => mlp_autograd::Activation::Relu,
        Activation::Identity => mlp_autograd::Activation::Identity,
    };
    let (loss, grads) = mlp_loss_and_gradients(&params, hidden, &to_tape(x), labels)
        .map_err(|err| CliError::GradCheckFailed(format!("the autograd tape failed: {err}")))?;
    let grads = grads
        .iter()
        .map(|(w, b)| {
            let w = Mat::from_fn(w.rows(), w.cols(), |r, c| w.get(r, c));
            // b is (n_out × 1): its row-major data is the column.
            (w, b.data().to_vec())
        })
        .collect();
    Ok((loss, grads))
}

/// One row per layer and parameter kind: shape, count checked, worst error against each reference.
fn table(mlp: &Mlp<f64>, report: &GradCheckReport, tape_errors: &[(f64, f64)]) -> String {
    let mut out = format!(
        "{:<6} {:<7} {:>11} {:>9} {:>16} {:>10}\n",
        "layer", "param", "shape", "checked", "vs finite diff", "vs tape"
    );
    for ((layer, lr), &(tape_w, tape_b)) in
        mlp.layers().iter().zip(&report.per_layer).zip(tape_errors)
    {
        let rows = [
            (
                "weights",
                format!("{} x {}", layer.n_out(), layer.n_in()),
                lr.weights_checked,
                lr.worst_weight,
                tape_w,
            ),
            (
                "bias",
                layer.n_out().to_string(),
                lr.bias_checked,
                lr.worst_bias,
                tape_b,
            ),
        ];
        for (kind, shape, checked, worst, tape) in rows {
            let fd = worst.map_or("-".into(), |w| format!("{:.2e}", w.relative_error));
            out.push_str(&format!(
                "{:<6} {:<7} {:>11} {:>9} {:>16} {:>10.2e}\n",
                lr.layer, kind, shape, checked, fd, tape
            ));
        }
    }
    out
}

/// "layer 0 weight (row 12, col 345): analytic …, numeric …, relative error …".
fn describe(p: &ParamReport) -> String {
    let place = match p.param.kind {
        ParamKind::Weight => format!("weight (row {}, col {})", p.param.row, p.param.col),
        ParamKind::Bias => format!("bias (row {})", p.param.row),
    };
    format!(
        "layer {} {place}: analytic {:.10e}, numeric {:.10e}, relative error {:.2e}",
        p.param.layer, p.analytic, p.numeric, p.relative_error
    )
}

/// The first `max` items, then how many more.
fn list(items: &[usize], max: usize) -> String {
    let shown: Vec<String> = items.iter().take(max).map(usize::to_string).collect();
    let more = items.len().saturating_sub(max);
    if more == 0 {
        format!("[{}]", shown.join(", "))
    } else {
        format!("[{}, … {more} more]", shown.join(", "))
    }
}

/// The entries of a matrix, column by column.
fn entries(m: MatRef<'_, f64>) -> impl Iterator<Item = f64> + '_ {
    (0..m.ncols()).flat_map(move |c| (0..m.nrows()).map(move |r| m[(r, c)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_flag() {
        assert_eq!(parse_params("all").unwrap(), ParamSelection::All);
        assert_eq!(parse_params("200").unwrap(), ParamSelection::PerLayer(200));
        for bad in ["0", "-3", "", "some", "1.5"] {
            let err = parse_params(bad).unwrap_err().to_string();
            assert!(err.contains("--params"), "{bad:?}: {err}");
        }
    }
}
