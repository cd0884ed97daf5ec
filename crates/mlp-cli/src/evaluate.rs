//! `mlp-cli evaluate`, and the evaluation of a network on a whole data set used while training.

use crate::spec::dashed;
use crate::{data, model_file, CliError, Result};
use faer::Mat;
use mlp_core::Mlp;
use mlp_data::Dataset;
use std::path::PathBuf;

/// Usage examples shown after `--help`.
pub const EXAMPLES: &str = "Examples:\n  mlp-cli evaluate --model results/shallow-tuned-s1/model.safetensors\n  mlp-cli evaluate --model model.safetensors --data ~/fashion-mnist";

/// Arguments of `mlp-cli evaluate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model file written by `mlp-cli train` (safetensors).
    #[arg(long)]
    pub model: PathBuf,
    /// Directory holding the four IDX files (default: the bundled data/mnist).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// Loss, error rate and confusion matrix of a network on a data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    /// Mean cross-entropy.
    pub loss: f64,
    /// Fraction of misclassified samples.
    pub error: f64,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
}

/// Samples per forward pass when evaluating: large enough for the matrix products to run at full
/// speed, small enough that the activations stay in cache.
pub const EVAL_CHUNK: usize = 1000;

/// Reusable buffers for [`evaluate`], so that evaluating after every epoch does not allocate.
pub struct EvalBuffers {
    inputs: Mat<f32>,
    targets: Mat<f32>,
    classes: Vec<usize>,
}

impl EvalBuffers {
    /// Buffers for samples of `n_features` values and `n_classes` classes.
    pub fn new(n_features: usize, n_classes: usize) -> Self {
        Self {
            inputs: Mat::zeros(n_features, EVAL_CHUNK),
            targets: Mat::zeros(n_classes, EVAL_CHUNK),
            classes: vec![0; EVAL_CHUNK],
        }
    }
}

/// Evaluates `mlp` on every sample of `set`, in consecutive chunks read into `buffers`.
pub fn evaluate(mlp: &mut Mlp<f32>, set: &Dataset, buffers: &mut EvalBuffers) -> Result<Metrics> {
    let k = mlp.n_classes();
    let mut confusion = vec![vec![0usize; k]; k];
    if set.is_empty() {
        return Ok(Metrics {
            loss: f64::NAN,
            error: f64::NAN,
            confusion,
        });
    }
    let labels = set.labels();
    let mut total_loss = 0.0f64;
    let mut start = 0;
    while start < set.len() {
        let m = EVAL_CHUNK.min(set.len() - start);
        let mut x = buffers.inputs.as_mut().subcols_mut(0, m);
        set.columns_into(start, x.as_mut())?;
        let batch_labels = &labels[start..start + m];
        let mut targets = buffers.targets.as_mut().subcols_mut(0, m);
        mlp_data::one_hot_into(batch_labels, targets.as_mut())?;
        mlp.propagate(x.as_ref())?;
        total_loss += mlp.loss(targets.as_ref())? as f64 * m as f64;
        let classes = &mut buffers.classes[..m];
        mlp.predictions_into(classes)?;
        for (&label, &predicted) in batch_labels.iter().zip(classes.iter()) {
            confusion[label as usize][predicted] += 1;
        }
        start += m;
    }
    let wrong: usize = (0..k)
        .map(|i| {
            (0..k)
                .filter(|&j| j != i)
                .map(|j| confusion[i][j])
                .sum::<usize>()
        })
        .sum();
    Ok(Metrics {
        loss: total_loss / set.len() as f64,
        error: wrong as f64 / set.len() as f64,
        confusion,
    })
}

/// Runs `mlp-cli evaluate`.
pub fn run(args: &Args) -> Result<()> {
    let mut model = model_file::load(&args.model)?;
    let mnist = data::load(args.data.as_deref())?;
    if let Some(warning) =
        model_file::other_data_warning(&args.model, model.dataset().as_ref(), &mnist.identity)
    {
        eprintln!("{warning}");
    }
    let test = &mnist.test;
    let sizes = model.mlp.sizes();
    if sizes[0] != test.n_features() || *sizes.last().unwrap() != test.n_classes() {
        return Err(CliError::Usage(format!(
            "{}: the model takes {} inputs and {} classes, but the test set has {} features and {} classes",
            args.model.display(),
            sizes[0],
            sizes.last().unwrap(),
            test.n_features(),
            test.n_classes()
        )));
    }
    let metrics = evaluate(
        &mut model.mlp,
        test,
        &mut EvalBuffers::new(test.n_features(), test.n_classes()),
    )?;
    println!("model  {} ({})", args.model.display(), dashed(&sizes));
    println!("test   {} samples", test.len());
    println!("loss   {:.4}", metrics.loss);
    println!(
        "error  {:.2} %  ({} wrong)",
        100.0 * metrics.error,
        (metrics.error * test.len() as f64).round()
    );
    println!("confusion matrix (rows: true class, columns: predicted)");
    print!("{:>6}", "");
    for j in 0..metrics.confusion.len() {
        print!("{j:>6}");
    }
    println!();
    for (i, row) in metrics.confusion.iter().enumerate() {
        print!("{i:>6}");
        for count in row {
            print!("{count:>6}");
        }
        println!();
    }
    Ok(())
}
