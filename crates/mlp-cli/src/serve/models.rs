//! The models under the runs directory: listed from their files' headers, loaded on first use and
//! kept, and run forward on one sample with every hidden layer's activations.

use super::error::{ApiError, ApiResult};
use super::paths::{check_id, RunsRoot};
use crate::model_file;
use crate::train::files::{MODEL, SUMMARY};
use axum::http::StatusCode;
use faer::Mat;
use mlp_core::Mlp;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

/// The largest safetensors header read to list a model.
const MAX_HEADER: u64 = 1 << 20;

/// A model as `/api/models` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    /// Its run directory, relative to the runs directory.
    pub id: String,
    /// Layer sizes, inputs first.
    pub sizes: Vec<usize>,
    /// The hidden activation's name.
    pub activation: String,
    /// Weights and biases.
    pub n_params: u64,
    /// The last epoch's test error, if the model file or its summary records it.
    pub test_error: Option<f64>,
    /// The data set it was trained on, if its file records it.
    pub dataset: Option<String>,
}

/// Reads what `/api/models` says of the model `id` from its file's header and summary, without
/// loading its weights; `None` for a file that is not a readable model.
pub fn info(root: &RunsRoot, id: &str) -> Option<ModelInfo> {
    let path = root.existing_file(id, MODEL)?;
    let metadata = read_metadata(&path)?;
    let sizes: Vec<usize> = metadata
        .get(model_file::SIZES_KEY)?
        .split(',')
        .map(|s| s.trim().parse().ok())
        .collect::<Option<_>>()?;
    let n_params = mlp_core::count_params(&sizes).ok()?.total;
    let from_final = metadata
        .get(model_file::FINAL_KEY)
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        .and_then(|v| v.get("test_error")?.as_f64());
    let test_error = from_final.or_else(|| {
        let summary = std::fs::read(root.existing_file(id, SUMMARY)?).ok()?;
        let summary: serde_json::Value = serde_json::from_slice(&summary).ok()?;
        summary.get("last")?.get("test_error")?.as_f64()
    });
    Some(ModelInfo {
        id: id.to_owned(),
        sizes,
        activation: metadata.get(model_file::ACTIVATION_KEY)?.clone(),
        n_params,
        test_error,
        dataset: metadata.get(model_file::DATASET_KEY).cloned(),
    })
}

/// The `__metadata__` map of a safetensors file: an 8-byte little-endian header length, then the
/// header's JSON.
fn read_metadata(path: &Path) -> Option<HashMap<String, String>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let mut length = [0u8; 8];
    file.read_exact(&mut length).ok()?;
    let length = u64::from_le_bytes(length);
    if length > MAX_HEADER {
        return None;
    }
    let mut header = vec![0u8; length as usize];
    file.read_exact(&mut header).ok()?;
    let header: serde_json::Value = serde_json::from_slice(&header).ok()?;
    serde_json::from_value(header.get("__metadata__")?.clone()).ok()
}

/// One sample's way through a network.
#[derive(Debug, Clone, Serialize)]
pub struct Forward {
    /// The class probabilities.
    pub probabilities: Vec<f32>,
    /// The most probable class.
    pub prediction: usize,
    /// Each hidden layer's outputs, after its activation function.
    pub activations: Vec<Vec<f32>>,
}

/// A loaded model. Its network sits behind a lock because `Mlp::propagate` keeps the pass's
/// buffers; one sample takes microseconds, so requests on one model barely wait for each other.
pub struct Model {
    mlp: Mutex<Mlp<f32>>,
    /// The network as loaded, for work that runs long (the mistakes) without holding the lock.
    weights: Mlp<f32>,
    modified: Option<SystemTime>,
    mistakes: OnceLock<Arc<Vec<Mistake>>>,
}

/// A test image a model gets wrong.
#[derive(Debug, Clone, Serialize)]
pub struct Mistake {
    /// Its index in the test set.
    pub index: usize,
    /// Its true class.
    pub label: usize,
    /// The model's answer.
    pub predicted: usize,
    /// The probability the model gives its answer.
    pub probability: f32,
}

impl Model {
    fn load(path: &Path) -> ApiResult<Self> {
        let loaded = model_file::load(path).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("model"),
                e.to_string(),
            )
        })?;
        let mut mlp = loaded.mlp;
        // One sample is a matrix-vector product: it stays on the calling thread, off the pool a
        // training may be using.
        mlp.set_threads(1);
        Ok(Self {
            weights: mlp.clone(),
            mlp: Mutex::new(mlp),
            modified: modified(path),
            mistakes: OnceLock::new(),
        })
    }

    /// The network's layer sizes.
    pub fn sizes(&self) -> Vec<usize> {
        self.weights.sizes()
    }

    /// The network as loaded.
    pub fn network(&self) -> &Mlp<f32> {
        &self.weights
    }

    /// Runs `input` (one sample, `n_inputs` values) forward: the probabilities and every hidden
    /// layer's activations, read from the same pass.
    pub fn forward(&self, input: &[f32]) -> ApiResult<Forward> {
        let x = Mat::<f32>::from_fn(input.len(), 1, |i, _| input[i]);
        let mut mlp = self
            .mlp
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let p = mlp
            .propagate(x.as_ref())
            .map_err(|e| ApiError::bad("input", e.to_string()))?;
        let probabilities: Vec<f32> = (0..p.nrows()).map(|i| p[(i, 0)]).collect();
        let activations = (0..mlp.layers().len() - 1)
            .map(|l| {
                let a = mlp.activations(l).expect("a layer of the pass just made");
                (0..a.nrows()).map(|i| a[(i, 0)]).collect()
            })
            .collect();
        Ok(Forward {
            prediction: argmax(&probabilities),
            probabilities,
            activations,
        })
    }

    /// The test images this model gets wrong, most confident first, computed once.
    pub fn mistakes(&self, test: &mlp_data::Dataset) -> ApiResult<Arc<Vec<Mistake>>> {
        if let Some(found) = self.mistakes.get() {
            return Ok(Arc::clone(found));
        }
        let found = Arc::new(find_mistakes(self.weights.clone(), test)?);
        Ok(Arc::clone(self.mistakes.get_or_init(|| found)))
    }
}

fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

fn find_mistakes(mut mlp: Mlp<f32>, test: &mlp_data::Dataset) -> ApiResult<Vec<Mistake>> {
    const CHUNK: usize = 1000;
    mlp.set_threads(1);
    let labels = test.labels();
    let mut mistakes = Vec::new();
    let mut images = faer::Mat::<f32>::zeros(test.n_features(), CHUNK);
    for start in (0..test.len()).step_by(CHUNK) {
        let n = CHUNK.min(test.len() - start);
        let mut chunk = images.as_mut().subcols_mut(0, n);
        test.columns_into(start, chunk.as_mut())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let p = mlp
            .propagate(chunk.as_ref())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        for j in 0..n {
            let column: Vec<f32> = (0..p.nrows()).map(|i| p[(i, j)]).collect();
            let predicted = argmax(&column);
            let label = usize::from(labels[start + j]);
            if predicted != label {
                mistakes.push(Mistake {
                    index: start + j,
                    label,
                    predicted,
                    probability: column[predicted],
                });
            }
        }
    }
    mistakes.sort_by(|a, b| {
        b.probability
            .total_cmp(&a.probability)
            .then(a.index.cmp(&b.index))
    });
    Ok(mistakes)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The models loaded so far, by id; a model whose file changed is loaded again.
#[derive(Default)]
pub struct ModelCache {
    loaded: Mutex<HashMap<String, Arc<Model>>>,
}

impl ModelCache {
    /// The model `id` (given in `field`), loaded if needed. Blocking: call it off the async
    /// workers.
    pub fn get(&self, root: &RunsRoot, field: &str, id: &str) -> ApiResult<Arc<Model>> {
        check_id(field, id)?;
        let path = root.existing_file(id, MODEL).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                Some(field),
                format!("there is no model {id:?} (see /api/models)"),
            )
        })?;
        let current = modified(&path);
        if let Some(model) = self.lock().get(id) {
            if model.modified == current {
                return Ok(Arc::clone(model));
            }
        }
        let model = Arc::new(Model::load(&path)?);
        self.lock().insert(id.to_owned(), Arc::clone(&model));
        Ok(model)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Model>>> {
        self.loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlp_core::Activation;

    #[test]
    fn the_activations_lead_to_the_probabilities() {
        let mlp = Mlp::<f32>::new(&[12, 7, 5, 3], Activation::Tanh, 3).unwrap();
        let model = Model {
            mlp: Mutex::new(mlp.clone()),
            weights: mlp,
            modified: None,
            mistakes: OnceLock::new(),
        };
        let input: Vec<f32> = (0..12).map(|i| (i as f32 * 0.37).sin()).collect();
        let forward = model.forward(&input).unwrap();
        let hidden = &forward.activations;
        assert_eq!(hidden.iter().map(Vec::len).collect::<Vec<_>>(), [7, 5]);
        assert!(
            hidden.iter().flatten().all(|a| a.abs() < 1.0),
            "tanh outputs"
        );
        // The last layer applied by hand to the last hidden layer, then a softmax.
        let last = &model.weights.layers()[2];
        let logits: Vec<f32> = (0..3)
            .map(|i| {
                (0..5).fold(last.bias()[i], |s, j| {
                    s + last.weights()[(i, j)] * hidden[1][j]
                })
            })
            .collect();
        let max = logits.iter().copied().fold(f32::MIN, f32::max);
        let total: f32 = logits.iter().map(|z| (z - max).exp()).sum();
        for (i, p) in forward.probabilities.iter().enumerate() {
            let by_hand = (logits[i] - max).exp() / total;
            assert!((by_hand - p).abs() < 1e-5, "{by_hand} vs {p}");
        }
        assert_eq!(forward.prediction, argmax(&forward.probabilities));
    }
}
