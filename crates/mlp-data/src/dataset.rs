//! An in-memory labelled dataset whose samples are the columns of a matrix.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use faer::prelude::ReborrowMut;
use faer::{ColMut, Mat, MatMut};

use crate::{DataError, IdxArray, Result};

/// Placeholder path for errors about labels that never came from a file.
const IN_MEMORY: &str = "<memory>";

/// The value of a pixel byte: 0 is 0.0 and 255 is exactly 1.0.
///
/// Every float a [`Dataset`] read from an IDX file hands out goes through here, so training,
/// evaluation and the single-sample accessors see the very same values.
pub fn byte_value(byte: u8) -> f32 {
    f32::from(byte) / 255.0
}

/// Where the pixel values live, shared by a dataset and the splits taken from it.
#[derive(Clone)]
enum Pixels {
    /// An IDX file's bytes, scaled by [`byte_value`] when they are read: a quarter of the memory
    /// of floats, and the only copy of the images a training run keeps.
    Bytes(Arc<Vec<u8>>),
    /// Floats given by the caller ([`Dataset::from_parts`]), for synthetic data and tests.
    Floats(Arc<Vec<f32>>),
}

/// Labelled samples with pixels in `[0, 1]`, sample `i` being column `i` of every batch matrix.
///
/// Images read from IDX files stay in their bytes (55 MB for MNIST, instead of 219 MB as `f32`);
/// [`Dataset::gather_into`] and [`Dataset::columns_into`] turn them into floats on the way into a
/// batch buffer the caller reuses. The buffers are shared: [`Dataset::split_last`],
/// [`Dataset::take_first`] and `clone` are views of the same memory, never copies.
#[derive(Clone)]
pub struct Dataset {
    pixels: Pixels,
    labels: Arc<Vec<u8>>,
    /// This dataset's samples are `first..first + len` of the shared buffers.
    first: usize,
    len: usize,
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

impl PartialEq for Dataset {
    /// Equal shapes, labels and pixel values, wherever they are stored.
    fn eq(&self, other: &Self) -> bool {
        (self.n_features, self.image_shape, self.n_classes)
            == (other.n_features, other.image_shape, other.n_classes)
            && self.labels() == other.labels()
            && (0..self.len).all(|i| self.sample(i) == other.sample(i))
    }
}

impl Dataset {
    /// Builds a dataset from a rank-3 image array and a rank-1 label array.
    ///
    /// The bytes are kept as they are and read as [`byte_value`]s. The paths are used only in
    /// error messages, so a mismatch names the files to look at.
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
        Ok(Self {
            pixels: Pixels::Bytes(Arc::new(images.data)),
            labels: Arc::new(labels.data),
            first: 0,
            len: n_images,
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
            pixels: Pixels::Floats(Arc::new(pixels)),
            len: labels.len(),
            labels: Arc::new(labels),
            first: 0,
            n_features,
            image_shape: (1, n_features),
            n_classes,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True only for the validation half of a `split_last(0)`.
    pub fn is_empty(&self) -> bool {
        self.len == 0
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
        &self.labels[self.first..self.first + self.len]
    }

    /// The pixels of sample `i` as floats, in a vector of their own: for looking at one image.
    /// Batches go through [`Dataset::gather_into`] or [`Dataset::columns_into`] instead.
    ///
    /// # Panics
    /// If `i >= len()`, like slice indexing.
    pub fn sample(&self, i: usize) -> Vec<f32> {
        assert!(
            i < self.len,
            "sample {i} of a dataset of {} samples",
            self.len
        );
        let range = self.pixel_range(i);
        match &self.pixels {
            Pixels::Bytes(bytes) => bytes[range].iter().map(|&b| byte_value(b)).collect(),
            Pixels::Floats(floats) => floats[range].to_vec(),
        }
    }

    /// Every sample as an `n_features × len` matrix of its own (a full copy in `T`), for
    /// benchmarks and analyses that want the whole set at once.
    pub fn to_matrix<T: Copy + From<f32>>(&self) -> Mat<T> {
        let mut images = Mat::from_fn(self.n_features, self.len, |_, _| T::from(0.0));
        self.columns_into(0, images.as_mut())
            .expect("the matrix has the dataset's shape");
        images
    }

    /// How many samples each class has, to check balance or compare with known counts.
    pub fn label_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.n_classes];
        for &l in self.labels() {
            counts[usize::from(l)] += 1;
        }
        counts
    }

    /// Splits off the last `n_val` samples as a validation set, keeping the rest for training.
    ///
    /// Taking the tail keeps the split deterministic and independent of any shuffling.
    /// `n_val == 0` yields an empty validation set; the training part must keep at least
    /// one sample. Both parts share this dataset's memory.
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

    /// The first `n` samples, for quick runs on a subset (sharing this dataset's memory).
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
            pixels: self.pixels.clone(),
            labels: Arc::clone(&self.labels),
            first: self.first + start,
            len: end - start,
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
        // A shuffled batch's images are scattered over the whole set, where the hardware
        // prefetchers cannot guess the next one: ask for each image's lines a few images before
        // they are converted, so that the memory latency of one overlaps the work on the others.
        for &i in indices.iter().take(PREFETCH_AHEAD) {
            self.prefetch(i);
        }
        for (j, &i) in indices.iter().enumerate() {
            if let Some(&ahead) = indices.get(j + PREFETCH_AHEAD) {
                self.prefetch(ahead);
            }
            self.write_column(i, x.rb_mut().col_mut(j));
        }
        // Labels were validated on construction, so this cannot fail on range.
        let labels = self.labels();
        let mut targets = targets;
        for (j, &i) in indices.iter().enumerate() {
            write_one_hot(labels[i], targets.rb_mut().col_mut(j));
        }
        Ok(())
    }

    /// Copies the consecutive samples `start..start + x.ncols()` into the columns of `x`, which
    /// must have `n_features` rows: a chunk of an evaluation pass, into a buffer the caller reuses.
    pub fn columns_into<T: Copy + From<f32>>(
        &self,
        start: usize,
        mut x: MatMut<'_, T>,
    ) -> Result<()> {
        check_shape("x", (self.n_features, x.ncols()), x.nrows(), x.ncols())?;
        let end = start.checked_add(x.ncols());
        if end.is_none_or(|end| end > self.len) {
            return Err(DataError::IndexOutOfRange {
                position: x.ncols().saturating_sub(1),
                index: start.saturating_add(x.ncols()).saturating_sub(1),
                len: self.len,
            });
        }
        for j in 0..x.ncols() {
            self.write_column(start + j, x.rb_mut().col_mut(j));
        }
        Ok(())
    }

    /// Writes sample `i`'s values into `column` (of `n_features` rows, any stride).
    fn write_column<T: Copy + From<f32>>(&self, i: usize, mut column: ColMut<'_, T>) {
        let range = self.pixel_range(i);
        match &self.pixels {
            Pixels::Bytes(bytes) => match column.rb_mut().try_as_col_major_mut() {
                Some(contiguous) => bytes::values_into(&bytes[range], contiguous.as_slice_mut()),
                None => fill(column, bytes[range].iter().map(|&b| byte_value(b))),
            },
            Pixels::Floats(floats) => fill(column, floats[range].iter().copied()),
        }
    }

    /// Asks the processor to start loading sample `i`'s values into its caches, without waiting
    /// for them; a hint with no effect on any value.
    fn prefetch(&self, i: usize) {
        let range = self.pixel_range(i);
        match &self.pixels {
            Pixels::Bytes(bytes) => prefetch_lines(&bytes[range]),
            Pixels::Floats(floats) => prefetch_lines(&floats[range]),
        }
    }

    /// Where sample `i`'s values are in the shared pixel buffer.
    fn pixel_range(&self, i: usize) -> std::ops::Range<usize> {
        let at = (self.first + i) * self.n_features;
        at..at + self.n_features
    }
}

/// How many images ahead of the one being converted [`Dataset::gather_into`] prefetches: one or
/// two hide the latency of a batch of random MNIST images (64 of them: 35-38 µs to gather on one
/// core of an Emerald Rapids server, 15 µs with one or two ahead, 13 µs for images already in
/// cache); more gains nothing.
const PREFETCH_AHEAD: usize = 2;

/// Hints the processor to load every cache line of `values` into its caches.
fn prefetch_lines<V>(values: &[V]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        const LINE: usize = 64;
        let (start, len) = (values.as_ptr().cast::<i8>(), std::mem::size_of_val(values));
        for offset in (0..len).step_by(LINE).chain(len.checked_sub(1)) {
            // SAFETY: a prefetch never faults nor changes memory, and `offset < len` keeps the
            // address inside `values` anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.add(offset)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = values;
}

/// Writes `values` into `column`, converted to `T`; a contiguous column is a plain slice loop
/// the compiler vectorises.
fn fill<T: Copy + From<f32>>(mut column: ColMut<'_, T>, values: impl Iterator<Item = f32>) {
    match column.rb_mut().try_as_col_major_mut() {
        Some(contiguous) => {
            for (dst, value) in contiguous.as_slice_mut().iter_mut().zip(values) {
                *dst = T::from(value);
            }
        }
        None => {
            for (dst, value) in column.iter_mut().zip(values) {
                *dst = T::from(value);
            }
        }
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

mod bytes;
#[cfg(test)]
mod tests;
