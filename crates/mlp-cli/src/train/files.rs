//! The files of a run directory: the learning curve, the checkpoint of the last completed epoch,
//! and, once finished, the model and the summary. Every file is written whole (a temporary file,
//! then a rename), so an interruption never leaves half of one.

use super::{EpochRecord, Summary, TrainConfig};
use crate::model_file::{self, write_atomic};
use crate::{CliError, Result};
use mlp_core::{Mlp, Sgd};
use std::path::{Path, PathBuf};

/// Learning curve, one row per epoch.
pub const CURVE: &str = "curve.csv";
/// Configuration and final figures.
pub const SUMMARY: &str = "summary.json";
/// The trained model.
pub const MODEL: &str = "model.safetensors";
/// Weights, velocities and position of the last completed epoch; removed when the run ends.
pub const CHECKPOINT: &str = "checkpoint.safetensors";

/// The checkpoint's metadata key of the run's configuration (JSON), also written in the model.
const CONFIG_KEY: &str = "config";
/// The checkpoint's metadata key of the last completed epoch.
const EPOCH_KEY: &str = "epoch";

/// A run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

/// A run's state after its last completed epoch, read back from its checkpoint.
pub struct Checkpoint {
    /// The run's settings.
    pub config: TrainConfig,
    /// Epochs completed.
    pub epoch: usize,
    /// The network after that epoch.
    pub mlp: Mlp<f32>,
    /// The optimiser with its velocities.
    pub sgd: Sgd<f32>,
}

impl RunDir {
    /// The run directory at `path`, created if needed. Failing to create it is an error of the
    /// path given (exit code 2), not of the run.
    pub fn create(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        std::fs::create_dir_all(&path).map_err(CliError::io(&path))?;
        Ok(Self { path })
    }

    /// An existing run directory, for reading.
    pub fn open(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the whole learning curve.
    pub fn write_curve(&self, curve: &[EpochRecord]) -> Result<()> {
        let path = self.path.join(CURVE);
        let formatting = |e: csv::Error| {
            CliError::Runtime(format!("{}: cannot format the curve: {e}", path.display()))
        };
        let mut writer = csv::Writer::from_writer(Vec::new());
        for record in curve {
            writer.serialize(record).map_err(formatting)?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| formatting(e.into_error().into()))?;
        write_atomic(&path, &bytes)
    }

    /// Reads the learning curve.
    pub fn read_curve(&self) -> Result<Vec<EpochRecord>> {
        read_curve(&self.path.join(CURVE))
    }

    /// Saves the network and the optimiser after `epoch` epochs of the run `config`.
    pub fn save_checkpoint(
        &self,
        config: &TrainConfig,
        mlp: &Mlp<f32>,
        sgd: &Sgd<f32>,
        epoch: usize,
    ) -> Result<()> {
        let bytes = model_file::to_bytes(
            mlp,
            Some(sgd),
            &[
                (EPOCH_KEY, epoch.to_string()),
                (CONFIG_KEY, config_json(config)),
            ],
        )?;
        write_atomic(&self.path.join(CHECKPOINT), &bytes)
    }

    /// Reads the checkpoint back: its configuration (checked), epoch, network and velocities.
    pub fn load_checkpoint(&self) -> Result<Checkpoint> {
        let path = self.path.join(CHECKPOINT);
        let loaded = model_file::load(&path)?;
        let bad = |reason: String| CliError::ModelFile {
            path: path.clone(),
            reason,
        };
        let config = read_config(&loaded.metadata).map_err(bad)?;
        config.check()?;
        let epoch: usize = loaded
            .metadata
            .get(EPOCH_KEY)
            .and_then(|e| e.parse().ok())
            .ok_or_else(|| bad("no epoch in the metadata".into()))?;
        let mut sgd = Sgd::new(&loaded.mlp, config.momentum, config.weight_decay)?;
        let velocity = loaded
            .velocity
            .ok_or_else(|| bad("no optimiser state (velocities)".into()))?;
        let velocity: Vec<_> = velocity.iter().map(|(w, b)| (w.as_ref(), &b[..])).collect();
        sgd.set_velocity(&velocity)?;
        Ok(Checkpoint {
            config,
            epoch,
            mlp: loaded.mlp,
            sgd,
        })
    }

    /// The configuration in the checkpoint, if there is a readable one.
    pub fn checkpoint_config(&self) -> Option<TrainConfig> {
        let loaded = model_file::load(&self.path.join(CHECKPOINT)).ok()?;
        read_config(&loaded.metadata).ok()
    }

    /// Writes the trained model, with the run's configuration, the data set it was trained on and
    /// its last epoch's figures in its metadata.
    pub fn write_model(
        &self,
        config: &TrainConfig,
        data: &mlp_data::DataIdentity,
        last: &EpochRecord,
        mlp: &Mlp<f32>,
    ) -> Result<()> {
        let [dataset, fingerprint] = model_file::dataset_entries(data);
        let entries = [
            (CONFIG_KEY, config_json(config)),
            dataset,
            fingerprint,
            model_file::final_entry(last),
        ];
        let bytes = model_file::to_bytes(mlp, None, &entries)?;
        write_atomic(&self.path.join(MODEL), &bytes)
    }

    /// Writes summary.json.
    pub fn write_summary(&self, summary: &Summary) -> Result<()> {
        let json = serde_json::to_string_pretty(summary).expect("a summary always serialises");
        write_atomic(&self.path.join(SUMMARY), json.as_bytes())
    }

    /// Removes the checkpoint, which only serves to resume: a finished run does not need it.
    pub fn remove_checkpoint(&self) {
        // A checkpoint left behind is harmless: it is not read once the summary exists.
        let _ = std::fs::remove_file(self.path.join(CHECKPOINT));
    }
}

/// Reads a curve.csv written by a run.
pub fn read_curve(path: &Path) -> Result<Vec<EpochRecord>> {
    let bad = |e: csv::Error| CliError::ModelFile {
        path: path.into(),
        reason: e.to_string(),
    };
    let mut reader = csv::Reader::from_path(path).map_err(bad)?;
    reader
        .deserialize()
        .collect::<std::result::Result<Vec<EpochRecord>, _>>()
        .map_err(bad)
}

fn config_json(config: &TrainConfig) -> String {
    serde_json::to_string(config).expect("a config always serialises")
}

fn read_config(
    metadata: &std::collections::HashMap<String, String>,
) -> std::result::Result<TrainConfig, String> {
    let json = metadata
        .get(CONFIG_KEY)
        .ok_or_else(|| "no config in the metadata".to_string())?;
    serde_json::from_str(json).map_err(|e| format!("unreadable config: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(epoch: usize) -> EpochRecord {
        EpochRecord {
            epoch,
            seconds: 0.5,
            lr: 0.1,
            train_loss: 2.0,
            train_error: 0.9,
            val_loss: None,
            val_error: None,
            test_loss: 2.0,
            test_error: 0.9,
        }
    }

    #[test]
    fn a_curve_reads_back_as_written() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RunDir::create(tmp.path().join("run")).unwrap();
        let curve = vec![record(0), record(1)];
        dir.write_curve(&curve).unwrap();
        assert_eq!(dir.read_curve().unwrap(), curve);
    }

    #[test]
    fn a_checkpoint_reads_back_as_written() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RunDir::create(tmp.path()).unwrap();
        let config = TrainConfig {
            hidden: vec![3],
            momentum: 0.9,
            ..TrainConfig::default()
        };
        let mlp = Mlp::<f32>::new(&config.sizes(4, 2), config.activation, 7).unwrap();
        let sgd = Sgd::new(&mlp, config.momentum, config.weight_decay).unwrap();
        dir.save_checkpoint(&config, &mlp, &sgd, 3).unwrap();
        let back = dir.load_checkpoint().unwrap();
        assert_eq!((back.config, back.epoch), (config.clone(), 3));
        assert_eq!(back.mlp.sizes(), mlp.sizes());
        assert_eq!(dir.checkpoint_config(), Some(config));
    }

    #[test]
    fn a_file_that_cannot_be_written_is_a_runtime_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RunDir::create(tmp.path()).unwrap();
        // A directory where the curve should go: the rename onto it fails.
        std::fs::create_dir(tmp.path().join(CURVE)).unwrap();
        let err = dir.write_curve(&[record(0)]).unwrap_err();
        assert!(matches!(err, CliError::Write { .. }), "{err:?}");
        assert_eq!(err.exit_code(), 1);
        assert!(err.to_string().contains(CURVE), "{err}");
    }

    #[test]
    fn a_directory_that_cannot_be_created_is_an_error_of_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("a-file");
        std::fs::write(&file, b"").unwrap();
        let err = RunDir::create(file.join("run")).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{err}");
    }
}
