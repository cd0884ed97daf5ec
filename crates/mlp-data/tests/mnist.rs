//! The bundled MNIST loads exactly: sizes, label counts, first labels, checksums, plain vs gzip.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::sync::OnceLock;

use md5::{Digest, Md5};
use mlp_data::mnist::{TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};
use mlp_data::{default_data_dir, find_file, load_dir, read_idx, Mnist};

const NAMES: [&str; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// Loaded once per test binary; the tests share it.
fn mnist() -> &'static Mnist {
    static MNIST: OnceLock<Mnist> = OnceLock::new();
    MNIST.get_or_init(|| load_dir(&default_data_dir()).expect("bundled MNIST loads"))
}

/// Each bundled file, decompressed independently of the crate (with flate2 directly).
fn uncompressed() -> &'static HashMap<&'static str, Vec<u8>> {
    static FILES: OnceLock<HashMap<&'static str, Vec<u8>>> = OnceLock::new();
    FILES.get_or_init(|| {
        NAMES
            .iter()
            .map(|&name| {
                let gz = fs::read(default_data_dir().join(format!("{name}.gz"))).unwrap();
                let mut raw = Vec::new();
                flate2::read::GzDecoder::new(&gz[..])
                    .read_to_end(&mut raw)
                    .unwrap();
                (name, raw)
            })
            .collect()
    })
}

#[test]
fn sizes_and_shapes() {
    let m = mnist();
    assert_eq!(m.train.len(), 60_000);
    assert_eq!(m.test.len(), 10_000);
    for d in [&m.train, &m.test] {
        assert_eq!(d.image_shape(), (28, 28));
        assert_eq!(d.n_features(), 784);
        assert_eq!(d.n_classes(), 10);
        assert_eq!(d.sample(d.len() - 1).len(), 784);
    }
}

#[test]
fn label_counts_match_the_published_ones() {
    let m = mnist();
    assert_eq!(
        m.train.label_counts(),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        m.test.label_counts(),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
}

#[test]
fn first_labels() {
    let m = mnist();
    assert_eq!(m.train.labels()[..10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert_eq!(m.test.labels()[..10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
}

#[test]
fn uncompressed_files_match_md5sums() {
    let sums = fs::read_to_string(default_data_dir().join("MD5SUMS.uncompressed")).unwrap();
    let expected: HashMap<&str, &str> = sums
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let sum = fields.next()?;
            Some((fields.next()?, sum))
        })
        .collect();
    assert_eq!(expected.len(), 4, "{sums}");
    for name in NAMES {
        let digest = Md5::digest(&uncompressed()[name]);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected[name], "{name}");
    }
}

#[test]
fn pixels_are_scaled_bytes() {
    let m = mnist();
    for d in [&m.train, &m.test] {
        let images = d.to_matrix::<f32>();
        assert_eq!((images.nrows(), images.ncols()), (784, d.len()));
        let pixels = || {
            images
                .col_iter()
                .flat_map(|c| c.iter().copied().collect::<Vec<_>>())
        };
        assert!(pixels().all(|p| (0.0..=1.0).contains(&p)));
        assert_eq!(pixels().fold(f32::MIN, f32::max), 1.0);
    }
    // The first training image, pixel by pixel, against the raw file (16-byte header).
    let raw = &uncompressed()[TRAIN_IMAGES][16..16 + 784];
    let want: Vec<f32> = raw.iter().map(|&b| f32::from(b) / 255.0).collect();
    assert_eq!(m.train.sample(0), want);
    // The last test image, through a mini-batch gather, against the raw file.
    let raw = &uncompressed()[TEST_IMAGES][16 + 9_999 * 784..];
    let mut x = faer::Mat::<f32>::zeros(784, 1);
    let mut t = faer::Mat::<f32>::zeros(10, 1);
    m.test
        .gather_into(&[9_999], x.as_mut(), t.as_mut())
        .unwrap();
    for (r, &b) in raw.iter().enumerate() {
        assert_eq!(x[(r, 0)], f32::from(b) / 255.0, "pixel {r}");
    }
}

#[test]
fn plain_files_load_the_same() {
    let dir = tempfile::tempdir().unwrap();
    for name in NAMES {
        fs::write(dir.path().join(name), &uncompressed()[name]).unwrap();
    }
    for name in NAMES {
        assert_eq!(find_file(dir.path(), name).unwrap(), dir.path().join(name));
    }
    let plain = load_dir(dir.path()).unwrap();
    assert!(
        plain.train == mnist().train && plain.test == mnist().test,
        "plain files load differently from gzipped ones"
    );
    // Another directory name, the same data: the same fingerprint.
    assert_ne!(plain.identity.name, mnist().identity.name);
    assert!(plain.identity.same_data(&mnist().identity));
}

#[test]
fn gzip_without_suffix_is_detected_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let disguised = dir.path().join(TEST_IMAGES);
    fs::copy(
        default_data_dir().join(format!("{TEST_IMAGES}.gz")),
        &disguised,
    )
    .unwrap();
    let from_disguised = read_idx(&disguised).unwrap();
    assert_eq!(from_disguised.dims, [10_000, 28, 28]);
    assert_eq!(from_disguised.data, uncompressed()[TEST_IMAGES][16..]);
    // The test is only meaningful if the file really is gzip under a plain name.
    let head = fs::read(&disguised).unwrap();
    assert_eq!(head[..2], [0x1f, 0x8b]);
}
