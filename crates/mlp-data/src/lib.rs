//! IDX (MNIST-format) parsing, labelled datasets and deterministic mini-batching.
//!
//! # Layout: samples are columns
//!
//! A batch of `m` samples with `n_features` values each is an `n_features × m` matrix,
//! one sample per column. A [`Dataset`] keeps each image's pixels contiguous, as the bytes of
//! the file (a quarter of the memory of floats); a shuffled batch is one
//! [`Dataset::gather_into`] and a run of consecutive samples one [`Dataset::columns_into`],
//! each turning the bytes into floats in a buffer the caller owns and reuses. Targets are
//! one-hot `n_classes × m` matrices with a 1 in row `label` of column `j`.
//!
//! ```
//! use faer::Mat;
//! use mlp_data::{batches, epoch_order, Dataset};
//!
//! // Three samples of two features, labels among 2 classes.
//! let data = Dataset::from_parts(vec![0.0, 0.1, 0.2, 0.3, 0.4, 0.5], vec![1, 0, 1], 2, 2)?;
//! let order = epoch_order(data.len(), 42, 0);
//! let mut x = Mat::<f32>::zeros(data.n_features(), 2);
//! let mut y = Mat::<f32>::zeros(data.n_classes(), 2);
//! for batch in batches(&order, 2)? {
//!     let m = batch.len(); // the last batch is partial
//!     data.gather_into(batch, x.as_mut().subcols_mut(0, m), y.as_mut().subcols_mut(0, m))?;
//!     for (j, &i) in batch.iter().enumerate() {
//!         assert_eq!(x[(1, j)], data.sample(i)[1]);
//!         assert_eq!(y[(usize::from(data.labels()[i]), j)], 1.0);
//!     }
//! }
//! # Ok::<(), mlp_data::DataError>(())
//! ```
//!
//! Loading the bundled MNIST (plain or gzipped files; gzip is detected by content):
//!
//! ```no_run
//! use mlp_data::{default_data_dir, load_dir};
//!
//! let mnist = load_dir(&default_data_dir())?;
//! assert_eq!((mnist.train.len(), mnist.test.len()), (60_000, 10_000));
//! # Ok::<(), mlp_data::DataError>(())
//! ```

pub mod batch;
pub mod dataset;
pub mod digit;
pub mod error;
pub mod identity;
pub mod idx;
pub mod mnist;

pub use batch::{batches, epoch_order, n_batches, shuffle_into};
pub use dataset::{one_hot_into, Dataset};
pub use digit::Digit;
pub use error::{DataError, Result};
pub use identity::{DataIdentity, MNIST_FINGERPRINT};
pub use idx::{parse_idx, read_idx, read_idx_from, IdxArray};
pub use mnist::{default_data_dir, find_file, load_dir, load_pair, load_test_set, Mnist};
