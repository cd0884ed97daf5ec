//! Where commands find their data: `--data DIR`, or the workspace's bundled MNIST.

use crate::Result;
use mlp_data::Mnist;
use std::path::{Path, PathBuf};

/// The `--data` directory, or the bundled `data/mnist` of the workspace.
pub fn data_dir(flag: Option<&Path>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .unwrap_or_else(mlp_data::default_data_dir)
}

/// Loads the training and test sets from `--data DIR` (or the bundled MNIST).
pub fn load(flag: Option<&Path>) -> Result<Mnist> {
    Ok(mlp_data::load_dir(&data_dir(flag))?)
}
