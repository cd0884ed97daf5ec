//! `mlp-cli predict`: classifies image files of handwritten digits with a saved model.
//!
//! Each image is prepared the way MNIST's digits were ([`mlp_data::digit`]) and classified on its
//! own. A file that cannot be read as a digit is reported on one line naming it and the others
//! are still classified; the exit code is then 3 ([`CliError::SomeImagesFailed`]).

use crate::{model_file, CliError, Result};
use faer::Mat;
use mlp_core::Mlp;
use mlp_data::Digit;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Usage examples shown after `--help`.
pub const EXAMPLES: &str = "Examples:\n  mlp-cli predict --model results/deep-tuned-s1/model.safetensors seven.png\n  mlp-cli predict --model model.safetensors --json scans/*.jpg\n  mlp-cli predict --model model.safetensors --save-input seen/ photo.jpg   # seen/photo.png: what the net saw\n\nAny size, dark ink on light paper or light on dark, colour or grey; PNG, JPEG, PNM (PGM, PPM) or BMP.\nExit code: 0 when every image was classified, 3 when some could not be (each is named on stderr,\nthe others are printed), 2 for a bad model file or command line.";

/// How many of the most probable classes are printed.
pub const TOP: usize = 3;

/// Arguments of `mlp-cli predict`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model file written by `mlp-cli train` (safetensors).
    #[arg(long)]
    pub model: PathBuf,
    /// Image files, each holding one digit.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// One JSON object per image and line instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write the 28 × 28 image the net saw for each input into this directory, as `<name>.png`.
    #[arg(long, value_name = "DIR")]
    pub save_input: Option<PathBuf>,
}

/// The class probabilities of one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// One probability per class, summing to 1.
    pub probabilities: Vec<f32>,
}

impl Prediction {
    /// The `k` most probable classes with their probabilities, most probable first (ties: the
    /// smaller class first).
    pub fn top(&self, k: usize) -> Vec<(usize, f32)> {
        let mut ranked: Vec<(usize, f32)> =
            self.probabilities.iter().copied().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(k);
        ranked
    }

    /// The most probable class.
    pub fn class(&self) -> usize {
        self.top(1)[0].0
    }
}

/// Classifies one prepared digit.
pub fn classify(mlp: &mut Mlp<f32>, digit: &Digit) -> Result<Prediction> {
    let pixels = digit.pixels();
    if mlp.n_inputs() != pixels.len() {
        return Err(CliError::Usage(format!(
            "the model takes {} inputs, but a digit image has {} pixels",
            mlp.n_inputs(),
            pixels.len()
        )));
    }
    let x = Mat::<f32>::from_fn(pixels.len(), 1, |i, _| pixels[i]);
    let probabilities = mlp.propagate(x.as_ref())?;
    Ok(Prediction {
        probabilities: (0..probabilities.nrows())
            .map(|i| probabilities[(i, 0)])
            .collect(),
    })
}

/// Runs `mlp-cli predict`.
pub fn run(args: &Args) -> Result<()> {
    let mut model = model_file::load(&args.model)?;
    if let Some(data) = model.dataset().filter(|d| !d.is_mnist()) {
        eprintln!(
            "warning: {} was trained on {} ({}), not on MNIST's handwritten digits: its classes \
             may not be digits",
            args.model.display(),
            data.name,
            data.fingerprint
        );
    }
    let side = mlp_data::digit::SIDE;
    if model.mlp.n_inputs() != side * side {
        return Err(CliError::Usage(format!(
            "{}: the model takes {} inputs, but `predict` gives it {side} × {side} digit images",
            args.model.display(),
            model.mlp.n_inputs()
        )));
    }
    if let Some(dir) = &args.save_input {
        std::fs::create_dir_all(dir).map_err(CliError::io(dir))?;
    }
    let mut saved_names = HashSet::new();
    let mut failed = 0;
    for path in &args.images {
        let outcome = Digit::from_file(path)
            .map_err(CliError::from)
            .and_then(|digit| {
                if let Some(dir) = &args.save_input {
                    let out = dir.join(unique_png_name(path, &mut saved_names));
                    let png = digit.to_png()?;
                    std::fs::write(&out, png).map_err(CliError::io(&out))?;
                }
                classify(&mut model.mlp, &digit)
            });
        match outcome {
            Ok(prediction) => println!("{}", line(path, &prediction, args.json)),
            Err(err) => {
                failed += 1;
                // The data crate's messages already name the file; others get it here.
                let message = err.to_string();
                let message = if message.contains(&path.display().to_string()) {
                    message
                } else {
                    format!("{}: {message}", path.display())
                };
                if args.json {
                    println!(
                        "{}",
                        serde_json::json!({"file": path.display().to_string(), "error": message})
                    );
                }
                eprintln!("error: {message}");
            }
        }
    }
    if failed > 0 {
        return Err(CliError::SomeImagesFailed {
            failed,
            total: args.images.len(),
        });
    }
    Ok(())
}

/// One line of output: text, or a JSON object.
fn line(path: &Path, prediction: &Prediction, json: bool) -> String {
    let top = prediction.top(TOP);
    if json {
        let top: Vec<_> = top
            .iter()
            .map(|&(class, p)| serde_json::json!({"class": class, "probability": p}))
            .collect();
        serde_json::json!({
            "file": path.display().to_string(),
            "class": prediction.class(),
            "top3": top,
            "probabilities": prediction.probabilities,
        })
        .to_string()
    } else {
        let top: Vec<String> = top
            .iter()
            .map(|&(class, p)| format!("{class} {:.1} %", 100.0 * p))
            .collect();
        format!(
            "{}: {}  ({})",
            path.display(),
            prediction.class(),
            top.join(", ")
        )
    }
}

/// `<stem>.png`, or `<stem>-2.png`, `-3`… if an earlier input of this run had the same stem.
fn unique_png_name(path: &Path, taken: &mut HashSet<String>) -> String {
    let stem = path
        .file_stem()
        .map_or_else(|| "image".into(), |s| s.to_string_lossy().into_owned());
    let mut name = format!("{stem}.png");
    let mut n = 1;
    while !taken.insert(name.clone()) {
        n += 1;
        name = format!("{stem}-{n}.png");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_classes_most_probable_first() {
        let p = Prediction {
            probabilities: vec![0.1, 0.05, 0.6, 0.05, 0.2],
        };
        assert_eq!(p.class(), 2);
        assert_eq!(p.top(3), [(2, 0.6), (4, 0.2), (0, 0.1)]);
        // Ties: the smaller class first.
        assert_eq!(p.top(5)[3..], [(1, 0.05), (3, 0.05)]);
    }

    #[test]
    fn saved_names_do_not_collide() {
        let mut taken = HashSet::new();
        let names: Vec<String> = ["a/seven.jpg", "b/seven.png", "nine.bmp", "c/seven"]
            .iter()
            .map(|p| unique_png_name(Path::new(p), &mut taken))
            .collect();
        assert_eq!(
            names,
            ["seven.png", "seven-2.png", "nine.png", "seven-3.png"]
        );
    }
}
