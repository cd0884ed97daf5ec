//! The data set's views, gathers and conversions, on a toy set and hand-made IDX arrays.

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
fn columns_into_copies_consecutive_samples() {
    let d = toy();
    let mut x = Mat::<f64>::from_fn(3, 2, |_, _| -7.0);
    d.columns_into(1, x.as_mut()).unwrap();
    for j in 0..2 {
        for r in 0..3 {
            assert_eq!(x[(r, j)], f64::from(d.sample(1 + j)[r]), "x[{r}, {j}]");
        }
    }
    assert_eq!(
        d.to_matrix::<f32>(),
        Mat::from_fn(3, 4, |r, j| d.sample(j)[r])
    );
    assert_eq!(d.label_counts(), [1, 1, 2]);
    // A range running past the end, and a wrong row count, are refused untouched.
    let e = d.columns_into(3, x.as_mut()).unwrap_err();
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
    let e = d.columns_into(usize::MAX, x.as_mut()).unwrap_err();
    assert!(matches!(e, DataError::IndexOutOfRange { .. }), "{e}");
    let mut wrong = Mat::<f32>::zeros(2, 1);
    let e = d.columns_into(0, wrong.as_mut()).unwrap_err();
    assert!(
        matches!(e, DataError::ShapeMismatch { what: "x", .. }),
        "{e}"
    );
    assert_eq!(x[(0, 0)], f64::from(d.sample(1)[0]));
}

#[test]
fn the_samples_are_the_values_given() {
    let d = toy();
    assert_eq!(d.sample(2), [0.5, 0.5625, 0.625]);
    assert_eq!(d.sample(0), [0.0, 0.0625, 0.125]);
}

#[track_caller]
fn check_split(n_val: usize, train_labels: &[u8], val_labels: &[u8]) {
    let d = toy();
    let (train, val) = d.split_last(n_val).unwrap();
    assert_eq!(train.labels(), train_labels);
    assert_eq!(val.labels(), val_labels);
    for i in 0..train.len() {
        assert_eq!(train.sample(i), d.sample(i));
    }
    for i in 0..val.len() {
        assert_eq!(val.sample(i), d.sample(train.len() + i));
    }
    // The validation part's own indices start at 0: its gather reads the right samples.
    if !val.is_empty() {
        let mut x = Mat::<f32>::zeros(3, 1);
        let mut t = Mat::<f32>::zeros(3, 1);
        val.gather_into(&[val.len() - 1], x.as_mut(), t.as_mut())
            .unwrap();
        assert_eq!(x.col(0).iter().copied().collect::<Vec<_>>(), d.sample(3));
        assert_eq!(t[(2, 0)], 1.0);
    }
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
    assert_eq!(t, d.split_last(2).unwrap().0);
    assert_ne!(t, d.take_first(3).unwrap());
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
    assert_eq!((d.sample(0), d.sample(1)), (vec![0.0, 1.0], vec![0.2, 0.4]));
    // Bytes become the same floats in a batch as in a sample, in either precision.
    let mut x = Mat::<f64>::zeros(2, 2);
    let mut t = Mat::<f64>::zeros(2, 2);
    d.gather_into(&[1, 0], x.as_mut(), t.as_mut()).unwrap();
    assert_eq!(x[(1, 0)], f64::from(0.4f32));
    assert_eq!(x[(1, 1)], 1.0);
    assert_eq!(
        d,
        Dataset::from_parts(vec![0.0, 1.0, 0.2, 0.4], vec![1, 0], 2, 2).unwrap()
    );
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
