//! `mlp-cli inspect`: what a model file holds — architecture, parameters, activation, how it was
//! trained, how well, and on which data set.

use crate::{count_params, model_file, CliError, Result};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Usage examples shown after `--help`.
pub const EXAMPLES: &str = "Examples:\n  mlp-cli inspect --model results/deep-tuned-s1/model.safetensors\n  mlp-cli inspect --model runs/shallow/checkpoint.safetensors";

/// The file `train` writes next to the model with the run's final figures; read for the final
/// errors when the model file predates their record in its metadata.
const SUMMARY_BESIDE: &str = "summary.json";

/// Arguments of `mlp-cli inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model (or checkpoint) file written by `mlp-cli train` (safetensors).
    #[arg(long)]
    pub model: PathBuf,
}

/// Runs `mlp-cli inspect`.
pub fn run(args: &Args) -> Result<()> {
    print!("{}", describe(&args.model)?);
    Ok(())
}

/// The text `inspect` prints for the model file at `path`.
pub fn describe(path: &Path) -> Result<String> {
    let model = model_file::load(path)?;
    let sizes = model.mlp.sizes();
    let activation = model.metadata[model_file::ACTIVATION_KEY].as_str();
    let mut out = String::new();
    let w = &mut out;
    writeln!(w, "model        {}", path.display()).unwrap();
    let hidden = if sizes.len() > 2 {
        format!("{activation} after each hidden layer, ")
    } else {
        String::new()
    };
    writeln!(w, "activation   {hidden}softmax output").unwrap();
    writeln!(w).unwrap();
    out.push_str(&count_params::table(&sizes)?);
    let w = &mut out;
    writeln!(w).unwrap();
    match model.dataset() {
        Some(data) => writeln!(
            w,
            "trained on   {} (training labels {})",
            data.name, data.fingerprint
        ),
        None => writeln!(
            w,
            "trained on   not recorded (the file predates that record)"
        ),
    }
    .unwrap();
    if let Some(config) = model.metadata.get("config") {
        writeln!(w, "\ntraining configuration").unwrap();
        write_object(w, config, "config", path)?;
    }
    if let Some(epoch) = model.metadata.get("epoch") {
        writeln!(w, "\ncheckpoint after epoch {epoch}").unwrap();
    }
    if let Some(last) = model.metadata.get(model_file::FINAL_KEY) {
        writeln!(w, "\nfinal figures").unwrap();
        write_final(w, last, path)?;
    } else if let Some(last) = summary_beside(path)? {
        let beside = path.with_file_name(SUMMARY_BESIDE);
        writeln!(w, "\nfinal figures (from {})", beside.display()).unwrap();
        write_final(w, &last.to_string(), &beside)?;
    }
    Ok(out)
}

/// The `last` record of the `summary.json` beside the model, if there is one.
fn summary_beside(path: &Path) -> Result<Option<serde_json::Value>> {
    let beside = path.with_file_name(SUMMARY_BESIDE);
    let Ok(text) = std::fs::read_to_string(&beside) else {
        return Ok(None);
    };
    let summary: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| CliError::ModelFile {
            path: beside.clone(),
            reason: format!("not valid JSON: {e}"),
        })?;
    Ok(summary.get("last").cloned())
}

/// `json`, an object, one `key  value` line per entry in key order.
fn write_object(out: &mut String, json: &str, what: &str, path: &Path) -> Result<()> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| CliError::ModelFile {
        path: path.to_path_buf(),
        reason: format!("metadata {what:?} is not valid JSON: {e}"),
    })?;
    let fields = value.as_object().ok_or_else(|| CliError::ModelFile {
        path: path.to_path_buf(),
        reason: format!("metadata {what:?} is not a JSON object"),
    })?;
    for (key, value) in fields {
        let text = match value {
            serde_json::Value::Array(items) => items
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(","),
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "none".into(),
            other => other.to_string(),
        };
        writeln!(out, "  {key:<14} {text}").unwrap();
    }
    Ok(())
}

/// An epoch record: the epoch, then error and loss on each split.
fn write_final(out: &mut String, json: &str, path: &Path) -> Result<()> {
    let record: serde_json::Value =
        serde_json::from_str(json).map_err(|e| CliError::ModelFile {
            path: path.to_path_buf(),
            reason: format!("the final figures are not valid JSON: {e}"),
        })?;
    if let Some(epoch) = record.get("epoch") {
        writeln!(out, "  after epoch {epoch}").unwrap();
    }
    writeln!(out, "  {:<12} {:>8} {:>8}", "", "error", "loss").unwrap();
    for (split, name) in [
        ("train", "training"),
        ("val", "validation"),
        ("test", "test"),
    ] {
        let field = |what: &str| {
            record
                .get(format!("{split}_{what}"))
                .and_then(|v| v.as_f64())
        };
        if let (Some(error), Some(loss)) = (field("error"), field("loss")) {
            writeln!(out, "  {name:<12} {:>6.2} % {loss:>8.4}", 100.0 * error).unwrap();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlp_core::{Activation, Mlp};

    #[test]
    fn a_new_model_file_says_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let mlp = Mlp::<f32>::new(&[6, 4, 3], Activation::Tanh, 0).unwrap();
        let data = mlp_data::DataIdentity {
            name: "toy".into(),
            fingerprint: "fnv1a64:0123456789abcdef".into(),
        };
        let [a, b] = model_file::dataset_entries(&data);
        let last = serde_json::json!({"epoch": 7, "seconds": 1.5, "train_error": 0.25,
            "train_loss": 0.5, "val_error": null, "val_loss": null, "test_error": 0.125,
            "test_loss": 0.75});
        let extra = [
            ("config", r#"{"lr":0.1,"hidden":[4]}"#.to_string()),
            a,
            b,
            model_file::final_entry(&last),
        ];
        let bytes = model_file::to_bytes(&mlp, None, &extra).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let text = describe(&path).unwrap();
        for expected in [
            "activation   tanh after each hidden layer, softmax output",
            "MLP 6-4-3",
            "total",
            " 43\n",
            "trained on   toy (training labels fnv1a64:0123456789abcdef)",
            "  hidden         4\n",
            "  lr             0.1\n",
            "after epoch 7",
            "training      25.00 %   0.5000",
            "test          12.50 %   0.7500",
        ] {
            assert!(text.contains(expected), "{expected:?} not in\n{text}");
        }
        assert!(!text.contains("validation"), "{text}");
    }

    #[test]
    fn an_old_model_file_reads_the_summary_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let mlp = Mlp::<f32>::new(&[6, 3], Activation::Sigmoid, 0).unwrap();
        std::fs::write(&path, model_file::to_bytes(&mlp, None, &[]).unwrap()).unwrap();
        let text = describe(&path).unwrap();
        assert!(text.contains("not recorded"), "{text}");
        assert!(text.contains("activation   softmax output"), "{text}");
        assert!(!text.contains("final figures"), "{text}");
        std::fs::write(
            dir.path().join(SUMMARY_BESIDE),
            r#"{"last": {"epoch": 3, "train_error": 0.5, "train_loss": 1.0,
                "val_error": 0.25, "val_loss": 2.0, "test_error": 0.75, "test_loss": 3.0}}"#,
        )
        .unwrap();
        let text = describe(&path).unwrap();
        assert!(text.contains("final figures (from "), "{text}");
        assert!(text.contains("validation    25.00 %   2.0000"), "{text}");
    }
}
