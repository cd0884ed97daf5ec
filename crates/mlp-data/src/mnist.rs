//! Locating and loading an MNIST-layout directory (MNIST, Fashion-MNIST, ...).

use std::path::{Path, PathBuf};
use std::thread;

use crate::{read_idx, DataError, DataIdentity, Dataset, Result};

/// Training images file name (without `.gz`).
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
/// Training labels file name (without `.gz`).
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
/// Test images file name (without `.gz`).
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
/// Test labels file name (without `.gz`).
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// Number of classes in MNIST and its drop-in replacements.
pub const N_CLASSES: usize = 10;

/// The standard train/test split of an MNIST-layout directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Mnist {
    /// The 60 000 training samples (for MNIST).
    pub train: Dataset,
    /// The 10 000 test samples (for MNIST).
    pub test: Dataset,
    /// Which data set this is: the directory's name and a fingerprint of the training labels.
    pub identity: DataIdentity,
}

/// Finds `name` in `dir`, preferring the plain file and falling back to `name.gz`.
///
/// Reading detects gzip by content anyway; the suffix only matters for finding the file.
pub fn find_file(dir: &Path, name: &str) -> Result<PathBuf> {
    if !dir.is_dir() {
        return Err(DataError::MissingDirectory {
            path: dir.to_path_buf(),
        });
    }
    let plain = dir.join(name);
    if plain.is_file() {
        return Ok(plain);
    }
    let gz = dir.join(format!("{name}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    Err(DataError::MissingFile {
        dir: dir.to_path_buf(),
        name: name.to_owned(),
    })
}

/// Loads one images/labels pair as a dataset of `n_classes` classes.
pub fn load_pair(images: &Path, labels: &Path, n_classes: usize) -> Result<Dataset> {
    let image_array = read_idx(images)?;
    let label_array = read_idx(labels)?;
    Dataset::from_idx(image_array, label_array, n_classes, images, labels)
}

/// Loads only the test set of an MNIST-layout directory, with 10 classes (when the training set
/// is not needed, e.g. to look at test digits).
pub fn load_test_set(dir: &Path) -> Result<Dataset> {
    let images = find_file(dir, TEST_IMAGES)?;
    let labels = find_file(dir, TEST_LABELS)?;
    load_pair(&images, &labels, N_CLASSES)
}

/// Loads the train and test sets of an MNIST-layout directory, with 10 classes.
///
/// All four files are located before any is read, so a missing one fails at once. The
/// two sets load on two threads: gunzipping the training images dominates the cost.
pub fn load_dir(dir: &Path) -> Result<Mnist> {
    let train_images = find_file(dir, TRAIN_IMAGES)?;
    let train_labels = find_file(dir, TRAIN_LABELS)?;
    let test_images = find_file(dir, TEST_IMAGES)?;
    let test_labels = find_file(dir, TEST_LABELS)?;
    let (train, test) = thread::scope(|s| {
        let train = s.spawn(|| load_pair(&train_images, &train_labels, N_CLASSES));
        let test = load_pair(&test_images, &test_labels, N_CLASSES);
        let train = train
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (train, test)
    });
    let train = train?;
    Ok(Mnist {
        identity: DataIdentity::of(dir, &train),
        train,
        test: test?,
    })
}

/// The bundled `data/mnist` directory of this workspace.
///
/// Walks up from the current directory to the first ancestor holding `data/mnist` next to
/// a `Cargo.toml`, so binaries, tests and examples find the data wherever they run inside
/// the workspace; otherwise falls back to the path relative to this crate's sources.
pub fn default_data_dir() -> PathBuf {
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            let data = dir.join("data").join("mnist");
            if data.is_dir() && dir.join("Cargo.toml").is_file() {
                return data;
            }
        }
    }
    let fallback = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/mnist"));
    fallback.canonicalize().unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_file_prefers_plain_then_gz() {
        let dir = tempfile::tempdir().unwrap();
        let e = find_file(dir.path(), "x").unwrap_err();
        assert!(matches!(e, DataError::MissingFile { .. }), "{e}");
        std::fs::write(dir.path().join("x.gz"), b"").unwrap();
        assert_eq!(find_file(dir.path(), "x").unwrap(), dir.path().join("x.gz"));
        std::fs::write(dir.path().join("x"), b"").unwrap();
        assert_eq!(find_file(dir.path(), "x").unwrap(), dir.path().join("x"));
        let e = find_file(&dir.path().join("x"), "x").unwrap_err();
        assert!(matches!(e, DataError::MissingDirectory { .. }), "{e}");
    }

    #[test]
    fn default_data_dir_holds_the_bundled_files() {
        let dir = default_data_dir();
        assert!(dir.ends_with("data/mnist"), "{}", dir.display());
        for name in [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS] {
            find_file(&dir, name).unwrap();
        }
    }
}
