//! Which data set a model was trained on: the directory's name and a fingerprint of its training
//! labels.
//!
//! The fingerprint is the 64-bit FNV-1a hash of the training labels in file order. Labels are
//! enough to tell MNIST, Fashion-MNIST, KMNIST or a reshuffled copy apart (60 000 labels never
//! coincide by chance), cost nothing to hash, and do not change when the same files are copied,
//! renamed or gzipped — so the name is only there to be read by a person.
//!
//! ```
//! use mlp_data::{DataIdentity, Dataset};
//!
//! let train = Dataset::from_parts(vec![0.0; 6], vec![1, 0, 1], 2, 2)?;
//! let here = DataIdentity::of(std::path::Path::new("data/toy"), &train);
//! assert_eq!(here.name, "toy");
//! let copy = DataIdentity::of(std::path::Path::new("/tmp/toy-copy"), &train);
//! assert!(here.same_data(&copy), "the name does not count");
//! # Ok::<(), mlp_data::DataError>(())
//! ```

use crate::Dataset;
use std::path::Path;

/// The fingerprint of the bundled MNIST's training labels (`data/mnist`), so that a program
/// without the data at hand (`mlp-cli predict`) can tell whether a model was trained on digits.
pub const MNIST_FINGERPRINT: &str = "fnv1a64:e3a35dee662474a5";

/// A data set's name and the fingerprint of its training labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataIdentity {
    /// The name of its directory (`mnist` for `data/mnist`), for people to read.
    pub name: String,
    /// `fnv1a64:` and the 16 hexadecimal digits of the hash of the training labels.
    pub fingerprint: String,
}

impl DataIdentity {
    /// The identity of the data set in `dir` whose training set is `train`.
    pub fn of(dir: &Path, train: &Dataset) -> Self {
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string());
        Self {
            name,
            fingerprint: fingerprint(train.labels()),
        }
    }

    /// Whether both identities describe the same training labels (whatever their names).
    pub fn same_data(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint
    }

    /// Whether this is the bundled MNIST's training set.
    pub fn is_mnist(&self) -> bool {
        self.fingerprint == MNIST_FINGERPRINT
    }
}

/// `fnv1a64:` and the 64-bit FNV-1a hash of `labels` in hexadecimal.
pub fn fingerprint(labels: &[u8]) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = labels
        .iter()
        .fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    format!("fnv1a64:{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_reference_values() {
        // The published test vectors of 64-bit FNV-1a.
        assert_eq!(fingerprint(b""), "fnv1a64:cbf29ce484222325");
        assert_eq!(fingerprint(b"a"), "fnv1a64:af63dc4c8601ec8c");
        assert_eq!(fingerprint(b"foobar"), "fnv1a64:85944171f73967e8");
    }

    #[test]
    fn order_and_content_count() {
        assert_ne!(fingerprint(&[0, 1]), fingerprint(&[1, 0]));
        assert_ne!(fingerprint(&[0]), fingerprint(&[0, 0]));
    }

    #[test]
    fn the_bundled_mnist_has_the_recorded_fingerprint() {
        let mnist = crate::load_dir(&crate::default_data_dir()).unwrap();
        assert_eq!(mnist.identity.name, "mnist");
        assert_eq!(mnist.identity.fingerprint, MNIST_FINGERPRINT);
        assert!(mnist.identity.is_mnist());
    }
}
