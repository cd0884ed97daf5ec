//! Errors of the data crate: each one names the file at fault and what is wrong with it.

use std::path::PathBuf;

/// Everything that can go wrong while reading IDX files or building batches.
///
/// Messages always carry the path as the caller gave it, so a failing training run
/// points straight at the file (or directory) to fix.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The operating system refused to open or read a file; a missing file lands here too.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },

    /// The data directory itself does not exist (or is not a directory).
    #[error("data directory {} does not exist or is not a directory", path.display())]
    MissingDirectory {
        /// The directory that was looked for.
        path: PathBuf,
    },

    /// The directory exists but holds neither the plain nor the gzipped form of a file.
    #[error(
        "data directory {} holds neither `{name}` nor `{name}.gz`",
        dir.display()
    )]
    MissingFile {
        /// The directory that was searched.
        dir: PathBuf,
        /// The file name looked for, without the `.gz` suffix.
        name: String,
    },

    /// The file is too short to hold its own header.
    #[error(
        "{}: truncated IDX header: it needs {expected} bytes but the input holds only {actual}",
        path.display()
    )]
    TruncatedHeader {
        /// The file being parsed.
        path: PathBuf,
        /// Header length in bytes implied by what was read so far.
        expected: u64,
        /// Bytes actually present (after decompression, for gzip input).
        actual: u64,
    },

    /// The first two bytes are not zero, so this is not an IDX file.
    #[error(
        "{}: not an IDX file: magic bytes are {:02x} {:02x} {:02x} {:02x}, but the first two must be 00 00",
        path.display(), found[0], found[1], found[2], found[3]
    )]
    BadMagic {
        /// The file being parsed.
        path: PathBuf,
        /// The four magic bytes found.
        found: [u8; 4],
    },

    /// The element type is a valid IDX type other than unsigned byte, or no IDX type at all.
    #[error(
        "{}: IDX element type 0x{code:02X} ({}) is not supported: only 0x08 (unsigned byte) is read \
         (other IDX types: 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64)",
        path.display(), crate::idx::type_name(*code)
    )]
    UnsupportedType {
        /// The file being parsed.
        path: PathBuf,
        /// The type code found in byte 2 of the header.
        code: u8,
    },

    /// The header declares zero dimensions; an IDX array has rank at least one.
    #[error("{}: IDX header declares rank 0; rank must be at least 1", path.display())]
    ZeroRank {
        /// The file being parsed.
        path: PathBuf,
    },

    /// One of the declared dimensions is zero, which would describe an empty array.
    #[error("{}: IDX dimension {index} is zero", path.display())]
    ZeroDimension {
        /// The file being parsed.
        path: PathBuf,
        /// Position of the zero dimension in the header.
        index: usize,
    },

    /// The array has the wrong number of dimensions for its role (images vs labels).
    #[error("{}: expected an IDX array of rank {expected}, found rank {found}", path.display())]
    WrongRank {
        /// The file being parsed.
        path: PathBuf,
        /// The rank its role requires (3 for images, 1 for labels).
        expected: usize,
        /// The rank declared in the header.
        found: usize,
    },

    /// The product of the dimensions overflows or exceeds any plausible file size.
    #[error(
        "{}: IDX header claims dimensions {dims:?}, whose product overflows or exceeds the {} byte limit",
        path.display(), crate::idx::MAX_PAYLOAD
    )]
    TooLarge {
        /// The file being parsed.
        path: PathBuf,
        /// The dimensions declared in the header.
        dims: Vec<u64>,
    },

    /// The payload is shorter than the header claims.
    #[error(
        "{}: truncated IDX payload: the header claims {expected} bytes but only {actual} follow it",
        path.display()
    )]
    Truncated {
        /// The file being parsed.
        path: PathBuf,
        /// Payload bytes claimed by the header.
        expected: u64,
        /// Payload bytes present (after decompression, for gzip input).
        actual: u64,
    },

    /// The payload is longer than the header claims.
    #[error(
        "{}: trailing bytes after IDX payload: the header claims {expected} bytes but {actual} follow it",
        path.display()
    )]
    TrailingBytes {
        /// The file being parsed.
        path: PathBuf,
        /// Payload bytes claimed by the header.
        expected: u64,
        /// Payload bytes present (after decompression, for gzip input).
        actual: u64,
    },

    /// The file starts like gzip but its stream cannot be decompressed.
    #[error("{}: corrupt gzip stream: {source}", path.display())]
    CorruptGzip {
        /// The file being parsed.
        path: PathBuf,
        /// The decompressor's complaint.
        source: std::io::Error,
    },

    /// The image and label files describe different numbers of samples.
    #[error(
        "{} holds {n_images} images but {} holds {n_labels} labels",
        images.display(), labels.display()
    )]
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// The label file.
        labels: PathBuf,
        /// Number of images.
        n_images: usize,
        /// Number of labels.
        n_labels: usize,
    },

    /// A label is not a valid class index.
    #[error(
        "{}: label {label} at index {index} is out of range for {n_classes} classes",
        path.display()
    )]
    LabelOutOfRange {
        /// The label file (or a `<memory>` placeholder for in-memory labels).
        path: PathBuf,
        /// Position of the offending label.
        index: usize,
        /// The offending label.
        label: u8,
        /// Number of classes the labels must stay below.
        n_classes: usize,
    },

    /// A mini-batch size of zero, or larger than the data, makes no sense.
    #[error("invalid batch size {batch_size} for {n} samples: it must be in 1..={n}")]
    InvalidBatchSize {
        /// The batch size asked for.
        batch_size: usize,
        /// Number of samples to batch.
        n: usize,
    },

    /// A split or subset asks for more samples than the dataset can give.
    #[error("cannot take {requested} samples out of {available}")]
    InvalidSplit {
        /// Samples asked for.
        requested: usize,
        /// Samples the request may use at most.
        available: usize,
    },

    /// A caller-owned buffer does not have the shape the operation writes.
    #[error("{what} has shape {found:?} but must be {expected:?} (rows, cols)")]
    ShapeMismatch {
        /// Which buffer is wrong.
        what: &'static str,
        /// The required (rows, cols).
        expected: (usize, usize),
        /// The buffer's (rows, cols).
        found: (usize, usize),
    },

    /// A sample index points past the end of the dataset.
    #[error("sample index {index} (at position {position}) is out of range for {len} samples")]
    IndexOutOfRange {
        /// Position of the bad index in the index list.
        position: usize,
        /// The bad index.
        index: usize,
        /// Number of samples in the dataset.
        len: usize,
    },

    /// In-memory parts disagree: the pixel count is not features × labels.
    #[error("{n_pixels} pixels cannot be {n_labels} samples of {n_features} features")]
    BadParts {
        /// Length of the pixel buffer.
        n_pixels: usize,
        /// Features per sample.
        n_features: usize,
        /// Number of labels (samples).
        n_labels: usize,
    },

    /// A dataset with no samples or no features cannot be trained on.
    #[error("a dataset needs at least one sample and one feature")]
    EmptyDataset,

    /// An input that is not an image of a format read here (PNG, JPEG, PNM, BMP), or whose
    /// content cannot be decoded.
    #[error("{input}: not an image: {reason}")]
    NotAnImage {
        /// The file or buffer, as the caller named it.
        input: String,
        /// The decoder's complaint.
        reason: String,
    },

    /// An image of zero bytes or zero pixels.
    #[error("{input}: the image is empty")]
    EmptyImage {
        /// The file or buffer, as the caller named it.
        input: String,
    },

    /// An image in which nothing stands out from the background.
    #[error(
        "{input}: the image is blank: nothing stands out from the background \
         (contrast {contrast:.2}, at least {} needed)",
        crate::digit::MIN_CONTRAST
    )]
    BlankImage {
        /// The file or buffer, as the caller named it.
        input: String,
        /// The brightest ink's height above the background, on a 0–1 scale.
        contrast: f32,
    },

    /// An image over the size limit of [`crate::digit`].
    #[error("{input}: the image is too large: {size} {unit}, the limit is {limit}")]
    ImageTooLarge {
        /// The file or buffer, as the caller named it.
        input: String,
        /// Its size.
        size: u64,
        /// The largest size accepted.
        limit: u64,
        /// What is counted: `bytes` or `pixels`.
        unit: &'static str,
    },

    /// A pixel buffer whose length does not match the dimensions given with it.
    #[error(
        "{input}: {len} bytes cannot be a {width} × {height} image of {channels} byte(s) per pixel"
    )]
    BadPixelBuffer {
        /// The buffer, as the caller named it.
        input: String,
        /// Its length in bytes.
        len: usize,
        /// The width given.
        width: usize,
        /// The height given.
        height: usize,
        /// Bytes per pixel (1 for grey, 4 for RGBA).
        channels: usize,
    },
}

/// The crate's result type: every fallible function returns it.
pub type Result<T> = std::result::Result<T, DataError>;
