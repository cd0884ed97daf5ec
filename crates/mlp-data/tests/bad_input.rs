//! Every kind of bad input yields its own error variant, naming the file, without panicking
//! and without allocating what the input does not hold.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use mlp_data::mnist::{TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};
use mlp_data::{load_dir, read_idx, DataError};

mod common;

/// The largest single allocation `f` makes on this thread.
fn largest_allocation<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let (r, _, largest) = common::track(f);
    (r, largest)
}

fn idx(code: u8, dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, code, dims.len() as u8];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(payload);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A small valid image file: `n` images of 2×2.
fn images(n: u32) -> Vec<u8> {
    idx(0x08, &[n, 2, 2], &vec![128; 4 * n as usize])
}

fn labels(values: &[u8]) -> Vec<u8> {
    idx(0x08, &[values.len() as u32], values)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

/// Writes a complete MNIST-layout directory of small valid files.
fn write_set(dir: &Path) {
    write(dir, TRAIN_IMAGES, &images(3));
    write(dir, TRAIN_LABELS, &labels(&[0, 9, 3]));
    write(dir, TEST_IMAGES, &images(2));
    write(dir, TEST_LABELS, &labels(&[1, 2]));
}

/// Asserts that the error names `path` and shows it for humans.
#[track_caller]
fn check_names(err: &DataError, path: &Path) {
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "{msg:?} does not name {}",
        path.display()
    );
}

/// Reads `bytes` written to a temporary file, expecting an error naming that file.
#[track_caller]
fn read_bad(bytes: &[u8]) -> DataError {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bad-idx", bytes);
    let err = read_idx(&path).expect_err("bad input must be rejected");
    check_names(&err, &path);
    err
}

#[test]
fn valid_small_set_loads() {
    // The baseline the other tests corrupt: it must load, or they prove nothing.
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path());
    let m = load_dir(dir.path()).unwrap();
    assert_eq!((m.train.len(), m.test.len()), (3, 2));
}

#[test]
fn wrong_magic() {
    let mut bytes = images(1);
    bytes[0] = 0x12;
    let err = read_bad(&bytes);
    assert!(
        matches!(
            err,
            DataError::BadMagic {
                found: [0x12, 0, 8, 3],
                ..
            }
        ),
        "{err}"
    );
    let err = read_bad(&gzip(&bytes));
    assert!(matches!(err, DataError::BadMagic { .. }), "{err}");
}

#[test]
fn unsupported_type_code() {
    let err = read_bad(&idx(0x0D, &[2], &[0; 8]));
    assert!(
        matches!(err, DataError::UnsupportedType { code: 0x0D, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("f32"), "{err}");
}

#[test]
fn zero_dimension() {
    let err = read_bad(&idx(0x08, &[5, 0, 28], &[]));
    assert!(
        matches!(err, DataError::ZeroDimension { index: 1, .. }),
        "{err}"
    );
}

#[test]
fn zero_rank() {
    let err = read_bad(&idx(0x08, &[], &[1, 2]));
    assert!(matches!(err, DataError::ZeroRank { .. }), "{err}");
}

#[test]
fn truncated_header() {
    let err = read_bad(&images(1)[..10]);
    assert!(
        matches!(
            err,
            DataError::TruncatedHeader {
                expected: 16,
                actual: 10,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn huge_claim_on_tiny_plain_file_fails_without_allocating() {
    let bytes = idx(0x08, &[4_000_000_000, 28, 28], &[7; 100]);
    let (err, largest) = largest_allocation(|| read_bad(&bytes));
    assert!(
        matches!(
            err,
            DataError::Truncated {
                expected: 3_136_000_000_000,
                actual: 100,
                ..
            }
        ),
        "{err}"
    );
    assert!(largest < 1 << 20, "allocated {largest} bytes");
}

#[test]
fn huge_claim_on_tiny_gzip_file_fails_without_allocating() {
    let bytes = gzip(&idx(0x08, &[4_000_000_000, 28, 28], &[7; 100]));
    let (err, largest) = largest_allocation(|| read_bad(&bytes));
    assert!(
        matches!(
            err,
            DataError::Truncated {
                expected: 3_136_000_000_000,
                actual: 100,
                ..
            }
        ),
        "{err}"
    );
    // The decompressor's own state is a few hundred KiB; the claim is 3 TB.
    assert!(largest < 4 << 20, "allocated {largest} bytes");
}

#[test]
fn moderate_lie_in_gzip_header_does_not_reserve_the_claim() {
    // 100 MB claimed: affordable, so only the bound on what gzip can hold prevents it.
    let bytes = gzip(&idx(0x08, &[10_000, 100, 100], &[0; 1000]));
    let (err, largest) = largest_allocation(|| read_bad(&bytes));
    assert!(
        matches!(err, DataError::Truncated { actual: 1000, .. }),
        "{err}"
    );
    assert!(largest < 4 << 20, "allocated {largest} bytes");
}

#[test]
fn product_overflow() {
    let err = read_bad(&idx(0x08, &[u32::MAX; 4], &[]));
    assert!(matches!(err, DataError::TooLarge { .. }), "{err}");
}

#[test]
fn truncated_payload() {
    let bytes = images(3);
    let err = read_bad(&bytes[..bytes.len() - 5]);
    assert!(
        matches!(
            err,
            DataError::Truncated {
                expected: 12,
                actual: 7,
                ..
            }
        ),
        "{err}"
    );
    let err = read_bad(&gzip(&bytes[..bytes.len() - 5]));
    assert!(
        matches!(
            err,
            DataError::Truncated {
                expected: 12,
                actual: 7,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn trailing_bytes() {
    let mut bytes = images(3);
    bytes.extend_from_slice(&[1; 9]);
    let err = read_bad(&bytes);
    assert!(
        matches!(
            err,
            DataError::TrailingBytes {
                expected: 12,
                actual: 21,
                ..
            }
        ),
        "{err}"
    );
    let err = read_bad(&gzip(&bytes));
    assert!(
        matches!(
            err,
            DataError::TrailingBytes {
                expected: 12,
                actual: 21,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn corrupt_gzip_stream() {
    // A valid 10-byte gzip header, then garbage where the deflate stream should be.
    let mut bytes = gzip(&images(3))[..10].to_vec();
    bytes.extend_from_slice(&[0xff; 40]);
    let err = read_bad(&bytes);
    assert!(matches!(err, DataError::CorruptGzip { .. }), "{err}");
}

#[test]
fn gzip_cut_short() {
    let gz = gzip(&images(50));
    let err = read_bad(&gz[..gz.len() / 2]);
    assert!(
        matches!(
            err,
            DataError::CorruptGzip { .. } | DataError::Truncated { .. }
        ),
        "{err}"
    );
}

#[test]
fn gzip_with_bad_checksum() {
    let mut gz = gzip(&images(3));
    let n = gz.len();
    gz[n - 8] ^= 0xff; // CRC32 of the trailer
    let err = read_bad(&gz);
    assert!(matches!(err, DataError::CorruptGzip { .. }), "{err}");
}

#[test]
fn image_label_count_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path());
    let labels_path = write(dir.path(), TEST_LABELS, &labels(&[1, 2, 3]));
    let err = load_dir(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                n_images: 2,
                n_labels: 3,
                ..
            }
        ),
        "{err}"
    );
    check_names(&err, &labels_path);
    check_names(&err, &dir.path().join(TEST_IMAGES));
}

#[test]
fn label_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path());
    let labels_path = write(dir.path(), TRAIN_LABELS, &labels(&[0, 10, 3]));
    let err = load_dir(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                index: 1,
                label: 10,
                n_classes: 10,
                ..
            }
        ),
        "{err}"
    );
    check_names(&err, &labels_path);
}

#[test]
fn wrong_rank() {
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path());
    // Labels shaped like images, then images shaped like labels.
    let path = write(dir.path(), TEST_LABELS, &idx(0x08, &[2, 1, 1], &[1, 2]));
    let err = load_dir(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::WrongRank {
                expected: 1,
                found: 3,
                ..
            }
        ),
        "{err}"
    );
    check_names(&err, &path);
    write_set(dir.path());
    let path = write(dir.path(), TRAIN_IMAGES, &idx(0x08, &[12], &[0; 12]));
    let err = load_dir(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::WrongRank {
                expected: 3,
                found: 1,
                ..
            }
        ),
        "{err}"
    );
    check_names(&err, &path);
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope-idx1-ubyte");
    let err = read_idx(&path).unwrap_err();
    assert!(
        matches!(&err, DataError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{err}"
    );
    check_names(&err, &path);
}

#[test]
fn directory_without_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_dir(dir.path()).unwrap_err();
    assert!(
        matches!(&err, DataError::MissingFile { name, .. } if name == TRAIN_IMAGES),
        "{err}"
    );
    check_names(&err, dir.path());
    let msg = err.to_string();
    assert!(msg.contains(&format!("`{TRAIN_IMAGES}`")), "{msg}");
    assert!(msg.contains(&format!("`{TRAIN_IMAGES}.gz`")), "{msg}");

    // One file missing among four is found before anything is read.
    write_set(dir.path());
    fs::remove_file(dir.path().join(TEST_LABELS)).unwrap();
    let err = load_dir(dir.path()).unwrap_err();
    assert!(
        matches!(&err, DataError::MissingFile { name, .. } if name == TEST_LABELS),
        "{err}"
    );
}

#[test]
fn missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir");
    let err = load_dir(&path).unwrap_err();
    assert!(matches!(err, DataError::MissingDirectory { .. }), "{err}");
    check_names(&err, &path);
}

#[test]
fn bad_file_inside_a_set_is_named() {
    // An error deep inside load_dir still names the file, not just the directory.
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path());
    let path = write(dir.path(), TEST_IMAGES, &images(2)[..20]);
    let err = load_dir(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::Truncated { .. }), "{err}");
    check_names(&err, &path);
}
