//! An in-memory labelled dataset whose samples are the columns of a matrix.

use std::fmt;
use std::path::Path;

use faer::prelude::ReborrowMut;
use faer::{MatMut, MatRef};

use crate::{DataError, IdxArray, Result};

/// Placeholder path for errors about labels that never came from a file.
const IN_MEMORY: &str = "<memory>";

/// Labelled samples with pixels scaled to `[0, 1]`, stored so that sample `i` is column `i`.
///
/// Sample `i` occupies `pixels[i * n_features..(i + 1) * n_features]`; because faer
/// matrices are column-major, the whole pixel buffer *is* an `n_features × len` matrix,
/// and a run of consecutive samples is a zero-copy column block.
#[derive(Clone, PartialEq)]
pub struct Dataset {
    pixels: Vec<f32>,
    labels: Vec<u8>,
    n_features: usize,
    image_shape: (usize, usize),
    n_classes: usize,
}

impl fmt::Debug for Dataset {
    // A derived Debug would print every pixel.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dataset")
            .field("len", &self.len())
            .field("n_features", &self.n_features)
            .field("image_shape", &self.image_shape)
            .field("n_classes", &self.n_classes)
            .finish()
    }
}

impl Dataset {
    /// Builds a dataset from a rank-3 image array and a rank-1 label array.
    ///
    /// Bytes are scaled by 1/255 so that 255 maps to exactly 1.0. The paths are used only
    /// in error messages, so a mismatch names the files to look at.
    pub fn from_idx(
        images: IdxArray,
        labels: IdxArray,
        n_classes: usize,
        images_path: &Path,
        labels_path: &Path,
    ) -> Result<Self> {
        check_rank(&images, 3, images_path)?;
        check_rank(&labels, 1, labels_path)?;
        let (n_images, rows, cols) = (images.dims[0], images.dims[1], images.dims[2]);
        if n_images != labels.dims[0] {
            return Err(DataError::CountMismatch {
                images: images_path.to_path_buf(),
                labels: labels_path.to_path_buf(),
                n_images,
                n_labels: labels.dims[0],
            });
        }
        check_labels(&labels.data, n_classes, labels_path)?;
        let pixels = images.data.iter().map(|&b| f32::from(b) / 255.0).collect();
        Ok(Self {
            pixels,
            labels: labels.data,
            n_features: rows * cols,
            image_shape: (rows, cols),
            n_classes,
        })
    }

    /// Builds a dataset from raw parts, for synthetic data and tests.
    ///
    /// `pixels` holds `labels.len()` samples of `n_features` values each, sample after
    /// sample. The image shape is taken to be one row of `n_features` values.
    pub fn from_parts(
        pixels: Vec<f32>,
        labels: Vec<u8>,
        n_features: usize,
        n_classes: usize,
    ) -> Result<Self> {
        if labels.is_empty() || n_features == 0 {
            return Err(DataError::EmptyDataset);
        }
        if n_features.checked_mul(labels.len()) != Some(pixels.len()) {
            return Err(DataError::BadParts {
                n_pixels: pixels.len(),
                n_features,
                n_labels: labels.len(),
            });
        }
        check_labels(&labels, n_classes, Path::new(IN_MEMORY))?;
        Ok(Self {
            pixels,
            labels,
            n_features,
            image_shape: (1, n_features),
            n_classes,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True only for the validation half of a `split_last(0)`.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per sample: the number of rows of every batch matrix.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of classes: the number of rows of every one-hot target matrix.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Image (rows, cols), for turning a column back into a picture.
    pub fn image_shape(&self) -> (usize, usize) {
        self.image_shape
    }

    /// Class label of every sample, in sample order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// All pixels, sample after sample (column-major `n_features × len`).
    pub fn pixels(&self) -> &[f32] {
        &self.pixels
    }

    /// All samples as an `n_features × len` matrix view, without copying.
    ///
    /// Consecutive mini-batches are column blocks of it (`images().subcols(start, m)`).
    pub fn images(&self) -> MatRef<'_, f32> {
        MatRef::from_column_major_slice(&self.pixels, self.n_features, self.len())
    }

    /// The pixels of sample `i`.
    ///
    /// # Panics
    /// If `i >= len()`, like slice indexing.
    pub fn sample(&self, i: usize) -> &[f32] {
        &self.pixels[i * self.n_features..(i + 1) * self.n_features]
    }

    /// How many samples each class has, to check balance or compare with known counts.
    pub fn label_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.n_classes];
        for &l in &self.labels {
            counts[usize::from(l)] += 1;
        }
        counts
    }

    /// Splits off the last `n_val` samples as a validation set, keeping the rest for training.
    ///
    /// Taking the tail keeps the split deterministic and independent of any shuffling.
    /// `n_val == 0` yields an empty validation set; the training part must keep at least
    /// one sample.
    pub fn split_last(&self, n_val: usize) -> Result<(Dataset, Dataset)> {
        if n_val >= self.len() {
            return Err(DataError::InvalidSplit {
                requested: n_val,
                available: self.len().saturating_sub(1),
            });
        }
        let n_train = self.len() - n_val;
        Ok((self.range(0, n_train), self.range(n_train, self.len())))
    }

    /// The first `n` samples, for quick runs on a subset.
    pub fn take_first(&self, n: usize) -> Result<Dataset> {
        if n == 0 {
            return Err(DataError::EmptyDataset);
        }
        if n > self.len() {
            return Err(DataError::InvalidSplit {
                requested: n,
                available: self.len(),
            });
        }
        Ok(self.range(0, n))
    }

    fn range(&self, start: usize, end: usize) -> Dataset {
        Dataset {
            pixels: self.pixels[start * self.n_features..end * self.n_features].to_vec(),
            labels: self.labels[start..end].to_vec(),
            ..*self
        }
    }

    /// Copies samples `indices[j]` into column `j` of `x` and their one-hot labels into
    /// column `j` of `targets`: one gather per shuffled mini-batch, into caller-owned
    /// buffers, without allocating.
    ///
    /// `x` must be `n_features × indices.len()` and `targets` `n_classes × indices.len()`.
    /// Everything is checked before anything is written.
    pub fn gather_into<T: Copy + From<f32>>(
        &self,
        indices: &[usize],
        mut x: MatMut<'_, T>,
        targets: MatMut<'_, T>,
    ) -> Result<()> {
        check_shape("x", (self.n_features, indices.len()), x.nrows(), x.ncols())?;
        check_shape(
            "targets",
            (self.n_classes, indices.len()),
            targets.nrows(),
            targets.ncols(),
        )?;
        if let Some((position, &index)) = indices.iter().enumerate().find(|(_, &i)| i >= self.len())
        {
            return Err(DataError::IndexOutOfRange {
                position,
                index,
                len: self.len(),
            });
        }
        for (j, &i) in indices.iter().enumerate() {
            let src = self.sample(i);
            let col = x.rb_mut().col_mut(j);
            match col.try_as_col_major_mut() {
                Some(col) => {
                    for (dst, &v) in col.as_slice_mut().iter_mut().zip(src) {
                        *dst = T::from(v);
                    }
                }
                None => {
                    for (dst, &v) in x.rb_mut().col_mut(j).iter_mut().zip(src) {
                        *dst = T::from(v);
                    }
                }
            }
        }
        // Labels were validated on construction, so this cannot fail on range.
        let mut targets = targets;
        for (j, &i) in indices.iter().enumerate() {
            write_one_hot(self.labels[i], targets.rb_mut().col_mut(j));
        }
        Ok(())
    }
}

/// Writes the one-hot encoding of `labels[j]` into column `j` of `targets`.
///
/// `targets` must have `labels.len()` columns; its row count is the number of classes,
/// and every label must be below it.
pub fn one_hot_into<T: Copy + From<f32>>(labels: &[u8], mut targets: MatMut<'_, T>) -> Result<()> {
    let n_classes = targets.nrows();
    check_shape(
        "targets",
        (n_classes, labels.len()),
        n_classes,
        targets.ncols(),
    )?;
    check_labels(labels, n_classes, Path::new(IN_MEMORY))?;
    for (j, &l) in labels.iter().enumerate() {
        write_one_hot(l, targets.rb_mut().col_mut(j));
    }
    Ok(())
}

fn write_one_hot<T: Copy + From<f32>>(label: u8, col: faer::ColMut<'_, T>) {
    let (zero, one) = (T::from(0.0), T::from(1.0));
    for (r, dst) in col.iter_mut().enumerate() {
        *dst = if r == usize::from(label) { one } else { zero };
    }
}

fn check_shape(
    what: &'static str,
    expected: (usize, usize),
    rows: usize,
    cols: usize,
) -> Result<()> {
    if (rows, cols) == expected {
        Ok(())
    } else {
        Err(DataError::ShapeMismatch {
            what,
            expected,
            found: (rows, cols),
        })
    }
}

fn check_rank(array: &IdxArray, expected: usize, path: &Path) -> Result<()> {
    if array.dims.len() == expected {
        Ok(())
    } else {
        Err(DataError::WrongRank {
            path: path.to_path_buf(),
            expected,
            found: array.dims.len(),
        })
    }
}

fn check_labels(labels: &[u8], n_classes: usize, path: &Path) -> Result<()> {
    match labels.iter().position(|&l| usize::from(l) >= n_classes) {
        None => Ok(()),
        Some(index) => Err(DataError::LabelOutOfRange {
            path: path.to_path_buf(),
            index,
            label: labels[index],
            n_classes,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    /// Four samples of three features; sample i has pixels [i, i + 0.25, i + 0.5] / 4.
    fn toy() -> Dataset {
        let pixels = (0..4)
            .flat_map(|i| [0.0, 0.25, 0.5].map(|d| (i as f32 + d) / 4.0))
            .collect();
        Dataset::from_parts(pixels, vec![2, 0, 1, 2], 3, 3).unwrap()
    }

    #[track_caller]
    fn check_gather(indices: &[usize]) {
        let d = toy();
        let mut x = Mat::<f64>::from_fn(3, indices.len(), |_, _| -7.0);
        let mut t = Mat::<f64>::from_fn(3, indices.len(), |_, _| -7.0);
        d.gather_into(indices, x.as_mut(), t.as_mut()).unwrap();
        for (j, &i) in indices.iter().enumerate() {
            for r in 0..3 {
                assert_eq!(x[(r, j)], f64::from(d.sample(i)[r]), "x[{r}, {j}]");
                let hot = usize::from(d.labels()[i]) == r;
                assert_eq!(t[(r, j)], if hot { 1.0 } else { 0.0 }, "t[{r}, {j}]");
            }
        }
    }

    #[test]
    fn gather_writes_samples_and_one_hots() {
        check_gather(&[0]);
        check_gather(&[3, 1]);
        check_gather(&[2, 2, 0, 3, 1]);
        check_gather(&[]);
    }

    #[test]
    fn gather_into_a_strided_view() {
        // The transpose of a row-major block has non-unit row stride.
        let d = toy();
        let mut xt = Mat::<f32>::zeros(2, 3);
        let mut t = Mat::<f32>::zeros(3, 2);
        d.gather_into(&[1, 3], xt.as_mut().transpose_mut(), t.as_mut())
            .unwrap();
        assert_eq!(xt[(0, 2)], d.sample(1)[2]);
        assert_eq!(xt[(1, 0)], d.sample(3)[0]);
    }

    #[test]
    fn gather_rejects_bad_shapes_and_indices() {
        let d = toy();
        let mut x = Mat::<f32>::zeros(3, 2);
        let mut t = Mat::<f32>::zeros(3, 2);
        let mut wrong = Mat::<f32>::zeros(2, 2);
        let e = d
            .gather_into(&[0, 1], wrong.as_mut(), t.as_mut())
            .unwrap_err();
        assert!(
            matches!(
                e,
                DataError::ShapeMismatch {
                    what: "x",
                    expected: (3, 2),
                    found: (2, 2)
                }
            ),
            "{e}"
        );
        let e = d
            .gather_into(&[0, 1], x.as_mut(), wrong.as_mut())
            .unwrap_err();
        assert!(
            matches!(
                e,
                DataError::ShapeMismatch {
                    what: "targets",
                    ..
                }
            ),
            "{e}"
        );
        let e = d.gather_into(&[0], x.as_mut(), t.as_mut()).unwrap_err();
        assert!(
            matches!(e, DataError::ShapeMismatch { what: "x", .. }),
            "{e}"
        );
        let e = d.gather_into(&[0, 4], x.as_mut(), t.as_mut()).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::IndexOutOfRange {
                    position: 1,
                    index: 4,
                    len: 4
                }
            ),
            "{e}"
        );
        // Nothing was written before the error was found.
        assert!(x.col_iter().all(|c| c.iter().all(|&v| v == 0.0)));
    }

    #[test]
    fn one_hot_into_checks_labels() {
        let mut t = Mat::<f32>::zeros(3, 2);
        one_hot_into(&[2, 0], t.as_mut()).unwrap();
        assert_eq!(
            (t[(2, 0)], t[(0, 0)], t[(0, 1)], t[(1, 1)]),
            (1.0, 0.0, 1.0, 0.0)
        );
        let e = one_hot_into(&[1, 3], t.as_mut()).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::LabelOutOfRange {
                    index: 1,
                    label: 3,
                    n_classes: 3,
                    ..
                }
            ),
            "{e}"
        );
        let e = one_hot_into(&[1], t.as_mut()).unwrap_err();
        assert!(matches!(e, DataError::ShapeMismatch { .. }), "{e}");
    }

    #[test]
    fn images_is_the_pixel_buffer_as_columns() {
        let d = toy();
        let m = d.images();
        assert_eq!((m.nrows(), m.ncols()), (3, 4));
        assert_eq!(m[(1, 2)], d.sample(2)[1]);
        assert_eq!(d.label_counts(), [1, 1, 2]);
    }

    #[track_caller]
    fn check_split(n_val: usize, train_labels: &[u8], val_labels: &[u8]) {
        let d = toy();
        let (train, val) = d.split_last(n_val).unwrap();
        assert_eq!(train.labels(), train_labels);
        assert_eq!(val.labels(), val_labels);
        assert_eq!(train.pixels(), &d.pixels()[..3 * train.len()]);
        assert_eq!(val.pixels(), &d.pixels()[3 * train.len()..]);
        assert_eq!((val.n_features(), val.n_classes()), (3, 3));
        assert_eq!(val.is_empty(), n_val == 0);
    }

    #[test]
    fn split_last_sizes_and_contents() {
        check_split(0, &[2, 0, 1, 2], &[]);
        check_split(1, &[2, 0, 1], &[2]);
        check_split(3, &[2], &[0, 1, 2]);
        let e = toy().split_last(4).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::InvalidSplit {
                    requested: 4,
                    available: 3
                }
            ),
            "{e}"
        );
        let e = toy().split_last(5).unwrap_err();
        assert!(matches!(e, DataError::InvalidSplit { .. }), "{e}");
    }

    #[test]
    fn take_first_is_a_prefix() {
        let d = toy();
        let t = d.take_first(2).unwrap();
        assert_eq!(t.labels(), [2, 0]);
        assert_eq!(t.pixels(), &d.pixels()[..6]);
        assert!(matches!(d.take_first(0), Err(DataError::EmptyDataset)));
        assert!(matches!(
            d.take_first(5),
            Err(DataError::InvalidSplit {
                requested: 5,
                available: 4
            })
        ));
    }

    #[test]
    fn from_parts_rejects_inconsistent_parts() {
        let e = Dataset::from_parts(vec![0.0; 5], vec![0, 1], 3, 2).unwrap_err();
        assert!(matches!(e, DataError::BadParts { n_pixels: 5, .. }), "{e}");
        let e = Dataset::from_parts(vec![], vec![], 3, 2).unwrap_err();
        assert!(matches!(e, DataError::EmptyDataset), "{e}");
        let e = Dataset::from_parts(vec![0.0; 6], vec![0, 2], 3, 2).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::LabelOutOfRange {
                    index: 1,
                    label: 2,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn from_idx_scales_and_checks() {
        let p = Path::new("imgs");
        let l = Path::new("lbls");
        let images = IdxArray {
            dims: vec![2, 1, 2],
            data: vec![0, 255, 51, 102],
        };
        let labels = IdxArray {
            dims: vec![2],
            data: vec![1, 0],
        };
        let d = Dataset::from_idx(images.clone(), labels.clone(), 2, p, l).unwrap();
        assert_eq!(d.pixels(), [0.0, 1.0, 0.2, 0.4]);
        assert_eq!((d.image_shape(), d.n_features()), ((1, 2), 2));
        let e = Dataset::from_idx(images.clone(), labels.clone(), 1, p, l).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::LabelOutOfRange {
                    index: 0,
                    label: 1,
                    ..
                }
            ),
            "{e}"
        );
        let e = Dataset::from_idx(labels.clone(), labels.clone(), 2, p, l).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::WrongRank {
                    expected: 3,
                    found: 1,
                    ..
                }
            ),
            "{e}"
        );
        let short = IdxArray {
            dims: vec![1],
            data: vec![0],
        };
        let e = Dataset::from_idx(images, short, 2, p, l).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::CountMismatch {
                    n_images: 2,
                    n_labels: 1,
                    ..
                }
            ),
            "{e}"
        );
    }
}
