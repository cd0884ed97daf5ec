//! Model and checkpoint files: safetensors with PyTorch's `nn.Sequential` state-dict names.
//!
//! A network with sizes `[784, 150, 10]` is saved as `0.weight` `[150, 784]`, `0.bias` `[150]`,
//! `2.weight` `[10, 150]`, `2.bias` `[10]` — the names and shapes of
//! `nn.Sequential(nn.Linear(784, 150), nn.Sigmoid(), nn.Linear(150, 10))`, row-major, little-endian
//! f32 — so `safetensors.torch.load_file` followed by `load_state_dict` reads it. The metadata
//! records `sizes` and `activation`; loading checks every tensor's name, dtype and shape against it.
//! A checkpoint adds the optimiser's velocities (`0.weight.velocity`, …) and its own metadata.
//!
//! A trained model also records the training configuration (`config`), its last epoch's losses and
//! errors (`final`), and the data set it was trained on (`dataset`, the directory's name, and
//! `dataset_fingerprint`, see [`mlp_data::identity`]), so that `evaluate` and `predict` can warn
//! when given other data. Files written before these entries existed load as well: every entry but
//! `sizes` and `activation` is optional.

use crate::{CliError, Result};
use mlp_core::{Activation, Layer, Mlp, Sgd};
use mlp_data::DataIdentity;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Metadata key holding the comma-separated layer sizes.
pub const SIZES_KEY: &str = "sizes";
/// Metadata key holding the hidden activation's name.
pub const ACTIVATION_KEY: &str = "activation";

/// Metadata key holding the name of the data set trained on (its directory's name).
pub const DATASET_KEY: &str = "dataset";
/// Metadata key holding the fingerprint of that data set's training labels.
pub const DATASET_FINGERPRINT_KEY: &str = "dataset_fingerprint";
/// Metadata key holding the last epoch's losses and errors, as JSON.
pub const FINAL_KEY: &str = "final";

/// The metadata entries recording the data set a model is trained on.
pub fn dataset_entries(data: &DataIdentity) -> [(&'static str, String); 2] {
    [
        (DATASET_KEY, data.name.clone()),
        (DATASET_FINGERPRINT_KEY, data.fingerprint.clone()),
    ]
}

/// The metadata entry recording the last epoch's figures (a `train::EpochRecord`), without its
/// timing, so that the same training gives the same bytes.
pub fn final_entry(record: &impl serde::Serialize) -> (&'static str, String) {
    let mut value = serde_json::to_value(record).expect("an epoch record serialises");
    if let Some(fields) = value.as_object_mut() {
        fields.remove("seconds");
    }
    (FINAL_KEY, value.to_string())
}

/// The warning to print when a model trained on `trained_on` is evaluated on `given`, if they
/// differ; `None` when they are the same or the model does not say what it was trained on.
pub fn other_data_warning(
    model: &Path,
    trained_on: Option<&DataIdentity>,
    given: &DataIdentity,
) -> Option<String> {
    let trained_on = trained_on?;
    (!trained_on.same_data(given)).then(|| {
        format!(
            "warning: {} was trained on {} ({}), not on the data given, {} ({}): its figures here \
             measure it on data it has not learnt",
            model.display(),
            trained_on.name,
            trained_on.fingerprint,
            given.name,
            given.fingerprint
        )
    })
}

/// The state-dict name of layer `l`'s weights or bias (`kind` is `weight` or `bias`): in
/// `nn.Sequential`, linear layers and activations alternate, so linear layer `l` has index `2l`.
pub fn tensor_name(layer: usize, kind: &str) -> String {
    format!("{}.{kind}", 2 * layer)
}

/// Serialises `mlp` (and, for a checkpoint, the optimiser's velocities) with extra metadata.
pub fn to_bytes(
    mlp: &Mlp<f32>,
    sgd: Option<&Sgd<f32>>,
    extra: &[(&str, String)],
) -> Result<Vec<u8>> {
    let mut tensors: BTreeMap<String, (Vec<usize>, Vec<u8>)> = BTreeMap::new();
    for (l, layer) in mlp.layers().iter().enumerate() {
        let (n_out, n_in) = (layer.n_out(), layer.n_in());
        let w = layer.weights();
        // Row-major [n_out, n_in], as PyTorch stores nn.Linear.weight.
        let weights: Vec<f32> = (0..n_out)
            .flat_map(|i| (0..n_in).map(move |j| w[(i, j)]))
            .collect();
        tensors.insert(
            tensor_name(l, "weight"),
            (vec![n_out, n_in], le_bytes(&weights)),
        );
        tensors.insert(
            tensor_name(l, "bias"),
            (vec![n_out], le_bytes(layer.bias())),
        );
        if let Some(sgd) = sgd {
            let (vw, vb) = sgd.velocity()[l];
            // Row-major too, like the weights they go with.
            let vw_rows: Vec<f32> = (0..n_out)
                .flat_map(|i| (0..n_in).map(move |j| vw[(i, j)]))
                .collect();
            tensors.insert(
                format!("{}.velocity", tensor_name(l, "weight")),
                (vec![n_out, n_in], le_bytes(&vw_rows)),
            );
            tensors.insert(
                format!("{}.velocity", tensor_name(l, "bias")),
                (vec![n_out], le_bytes(vb)),
            );
        }
    }
    let sizes: Vec<String> = mlp.sizes().iter().map(usize::to_string).collect();
    let activation = mlp
        .layers()
        .first()
        .map(|l| l.activation())
        .filter(|_| mlp.layers().len() > 1);
    let mut metadata: HashMap<String, String> = HashMap::new();
    metadata.insert(SIZES_KEY.into(), sizes.join(","));
    metadata.insert(
        ACTIVATION_KEY.into(),
        activation.unwrap_or(Activation::Sigmoid).name().into(),
    );
    metadata.insert("format".into(), "pt".into());
    for (key, value) in extra {
        metadata.insert((*key).into(), value.clone());
    }
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(name, (shape, data))| {
            Ok((
                name.clone(),
                TensorView::new(Dtype::F32, shape.clone(), data).map_err(internal)?,
            ))
        })
        .collect::<Result<_>>()?;
    let bytes = safetensors::serialize(views, Some(metadata)).map_err(internal)?;
    Ok(canonical_header(bytes))
}

/// The safetensors header with its entries in sorted order.
///
/// safetensors writes the metadata map in `HashMap` order, which changes from one process to the
/// next; sorting it makes the same model give the same bytes, so runs can be compared byte for byte.
fn canonical_header(mut bytes: Vec<u8>) -> Vec<u8> {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Header {
        #[serde(rename = "__metadata__")]
        metadata: BTreeMap<String, String>,
        #[serde(flatten)]
        tensors: BTreeMap<String, serde_json::Value>,
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header: Header = serde_json::from_slice(bytes[8..8 + n].trim_ascii_end())
        .expect("safetensors wrote valid JSON");
    let sorted = serde_json::to_vec(&header).expect("a header serialises");
    // The same entries in another order: the same length, so the data offsets are unchanged.
    assert!(sorted.len() <= n, "a reordered header cannot grow");
    bytes[8..8 + sorted.len()].copy_from_slice(&sorted);
    bytes[8 + sorted.len()..8 + n].fill(b' ');
    bytes
}

fn internal(err: safetensors::SafeTensorError) -> CliError {
    CliError::Runtime(format!("cannot serialise the model: {err}"))
}

fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A model read back from a file, with its metadata.
pub struct LoadedModel {
    /// The network.
    pub mlp: Mlp<f32>,
    /// The optimiser's velocities, per layer `(weights, bias)`, if the file has them.
    pub velocity: Option<Vec<(faer::Mat<f32>, Vec<f32>)>>,
    /// Every metadata entry.
    pub metadata: HashMap<String, String>,
}

impl LoadedModel {
    /// The data set the model was trained on, if its file records it.
    pub fn dataset(&self) -> Option<DataIdentity> {
        Some(DataIdentity {
            name: self.metadata.get(DATASET_KEY)?.clone(),
            fingerprint: self.metadata.get(DATASET_FINGERPRINT_KEY)?.clone(),
        })
    }
}

/// Reads a model (or checkpoint) file, checking names, dtypes and shapes against its metadata.
pub fn load(path: &Path) -> Result<LoadedModel> {
    let bytes = std::fs::read(path).map_err(CliError::io(path))?;
    from_bytes(&bytes, path)
}

/// Parses model bytes; `path` is only used in error messages.
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<LoadedModel> {
    let bad = |reason: String| CliError::ModelFile {
        path: path.to_path_buf(),
        reason,
    };
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(format!("not a valid safetensors file ({e})")))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let tensors = SafeTensors::deserialize(bytes)
        .map_err(|e| bad(format!("not a valid safetensors file ({e})")))?;
    let sizes_text = metadata
        .get(SIZES_KEY)
        .ok_or_else(|| bad(format!("no {SIZES_KEY:?} in the metadata")))?;
    let sizes =
        crate::spec::parse_sizes("metadata sizes", sizes_text).map_err(|e| bad(e.to_string()))?;
    if sizes.len() < 2 {
        return Err(bad(format!(
            "metadata sizes {sizes_text:?} need at least inputs and classes"
        )));
    }
    crate::spec::check_network_size(&sizes).map_err(|e| bad(e.to_string()))?;
    let activation_name = metadata
        .get(ACTIVATION_KEY)
        .ok_or_else(|| bad(format!("no {ACTIVATION_KEY:?} in the metadata")))?;
    let activation = Activation::from_name(activation_name)
        .ok_or_else(|| bad(format!("unknown activation {activation_name:?}")))?;

    let n_layers = sizes.len() - 1;
    let with_velocity = tensors.names().iter().any(|n| n.ends_with(".velocity"));
    let mut expected: Vec<String> = (0..n_layers)
        .flat_map(|l| [tensor_name(l, "weight"), tensor_name(l, "bias")])
        .collect();
    if with_velocity {
        let velocities: Vec<String> = expected.iter().map(|n| format!("{n}.velocity")).collect();
        expected.extend(velocities);
    }
    let mut found: Vec<String> = tensors.names().into_iter().map(String::from).collect();
    expected.sort();
    found.sort();
    if expected != found {
        return Err(bad(format!(
            "its tensors {found:?} do not match the architecture {sizes_text} (expected {expected:?})"
        )));
    }
    let read = |name: &str, shape: &[usize]| -> Result<Vec<f32>> {
        let view = tensors
            .tensor(name)
            .map_err(|e| bad(format!("tensor {name}: {e}")))?;
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!(
                "tensor {name} has dtype {:?}, expected F32",
                view.dtype()
            )));
        }
        if view.shape() != shape {
            return Err(bad(format!(
                "tensor {name} has shape {:?}, expected {shape:?}",
                view.shape()
            )));
        }
        Ok(view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    };
    // Row-major [n_out, n_in] to column-major.
    // The file is row-major, as PyTorch stores `nn.Linear.weight`.
    let from_rows = |rows: &[f32], n_out: usize, n_in: usize| {
        faer::Mat::from_fn(n_out, n_in, |i, j| rows[i * n_in + j])
    };
    let mut layers = Vec::with_capacity(n_layers);
    let mut velocity = Vec::new();
    for l in 0..n_layers {
        let (n_in, n_out) = (sizes[l], sizes[l + 1]);
        let w = read(&tensor_name(l, "weight"), &[n_out, n_in])?;
        let b = read(&tensor_name(l, "bias"), &[n_out])?;
        if w.iter().chain(&b).any(|v| !v.is_finite()) {
            return Err(bad(format!("layer {l} holds non-finite parameters")));
        }
        let act = if l + 1 == n_layers {
            Activation::Identity
        } else {
            activation
        };
        layers.push(Layer::new(from_rows(&w, n_out, n_in).as_ref(), &b, act)?);
        if with_velocity {
            let vw = read(
                &format!("{}.velocity", tensor_name(l, "weight")),
                &[n_out, n_in],
            )?;
            let vb = read(&format!("{}.velocity", tensor_name(l, "bias")), &[n_out])?;
            velocity.push((from_rows(&vw, n_out, n_in), vb));
        }
    }
    Ok(LoadedModel {
        mlp: Mlp::from_layers(layers)?,
        velocity: with_velocity.then_some(velocity),
        metadata,
    })
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, then a rename, so
/// that a reader (or an interruption) never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(CliError::write(&tmp))?;
    std::fs::rename(&tmp, path).map_err(CliError::write(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_bit() {
        let mlp = Mlp::<f32>::new(&[5, 4, 3], Activation::Tanh, 3).unwrap();
        let sgd = Sgd::new(&mlp, 0.9, 0.0).unwrap();
        let bytes = to_bytes(&mlp, Some(&sgd), &[("epoch", "2".into())]).unwrap();
        let loaded = from_bytes(&bytes, Path::new("m.safetensors")).unwrap();
        assert_eq!(loaded.mlp.sizes(), [5, 4, 3]);
        assert_eq!(loaded.mlp.layers()[0].activation(), Activation::Tanh);
        assert_eq!(loaded.metadata["epoch"], "2");
        assert_eq!(loaded.velocity.as_ref().unwrap().len(), 2);
        assert_eq!(
            to_bytes(&loaded.mlp, None, &[("epoch", "2".into())]).unwrap(),
            to_bytes(&mlp, None, &[("epoch", "2".into())]).unwrap()
        );
    }

    #[test]
    fn pytorch_names_and_shapes() {
        let mlp = Mlp::<f32>::new(&[784, 150, 10], Activation::Sigmoid, 0).unwrap();
        let bytes = to_bytes(&mlp, None, &[]).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(st.tensor("0.weight").unwrap().shape(), [150, 784]);
        assert_eq!(st.tensor("2.bias").unwrap().shape(), [10]);
        // Row-major: element [1, 0] is the second row's first weight.
        let data = st.tensor("0.weight").unwrap().data();
        let first_of_row_1 = f32::from_le_bytes(data[784 * 4..784 * 4 + 4].try_into().unwrap());
        assert_eq!(first_of_row_1, mlp.layers()[0].weights()[(1, 0)]);
    }

    #[test]
    fn damaged_files_are_typed_errors() {
        let mlp = Mlp::<f32>::new(&[6, 4, 3], Activation::Relu, 0).unwrap();
        let bytes = to_bytes(&mlp, None, &[]).unwrap();
        let path = Path::new("model.safetensors");
        for cut in [0, 7, 8, 40, bytes.len() - 1] {
            let err = from_bytes(&bytes[..cut], path)
                .err()
                .expect("truncated file must fail");
            assert!(
                matches!(err, CliError::ModelFile { .. })
                    && err.to_string().contains("model.safetensors"),
                "{err}"
            );
        }
        let mut corrupt = bytes.clone();
        corrupt[10] ^= 0xff;
        assert!(from_bytes(&corrupt, path).is_err());
        // A file whose metadata claims another architecture than its tensors hold.
        let mut other = to_bytes(
            &Mlp::<f32>::new(&[6, 5, 3], Activation::Relu, 0).unwrap(),
            None,
            &[],
        )
        .unwrap();
        let at = other.windows(5).position(|w| w == b"6,5,3").unwrap();
        other[at..at + 5].copy_from_slice(b"6,4,3");
        let err = from_bytes(&other, path).err().unwrap().to_string();
        assert!(err.contains("shape"), "{err}");
    }
}
