//! `parse_idx` on arbitrary and mutated input: never panics, and whatever it accepts is consistent.

use std::io::Write;
use std::path::Path;

use mlp_data::{parse_idx, DataError, IdxArray};
use proptest::prelude::*;

const PATH: &str = "fuzz/input-idx";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn idx(dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(payload);
    bytes
}

/// The invariants of any accepted array, and an error's duty to name the input.
fn check_result(result: &Result<IdxArray, DataError>) -> Result<(), TestCaseError> {
    match result {
        Ok(a) => {
            prop_assert!(!a.dims.is_empty());
            prop_assert!(a.dims.iter().all(|&d| d > 0));
            prop_assert_eq!(a.dims.iter().product::<usize>(), a.data.len());
        }
        Err(e) => prop_assert!(e.to_string().contains(PATH), "{}", e),
    }
    Ok(())
}

/// A small valid IDX file: rank 1..=3, dims 1..=4, random payload.
fn valid_idx() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(1u32..=4, 1..=3).prop_flat_map(|dims| {
        let n = dims.iter().product::<u32>() as usize;
        prop::collection::vec(any::<u8>(), n).prop_map(move |payload| idx(&dims, &payload))
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Keep,
    FlipBit { pos: usize, bit: u8 },
    Overwrite { pos: usize, value: u8 },
    Truncate { len: usize },
    SetDim { index: usize, value: u32 },
    SetRank { rank: u8 },
    Append { extra: Vec<u8> },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Keep),
        (0usize..24, 0u8..8).prop_map(|(pos, bit)| Mutation::FlipBit { pos, bit }),
        (0usize..24, any::<u8>()).prop_map(|(pos, value)| Mutation::Overwrite { pos, value }),
        (0usize..80).prop_map(|len| Mutation::Truncate { len }),
        (
            0usize..3,
            prop_oneof![any::<u32>(), Just(u32::MAX), Just(4_000_000_000), Just(0)]
        )
            .prop_map(|(index, value)| Mutation::SetDim { index, value }),
        any::<u8>().prop_map(|rank| Mutation::SetRank { rank }),
        prop::collection::vec(any::<u8>(), 1..8).prop_map(|extra| Mutation::Append { extra }),
    ]
}

fn apply(mut bytes: Vec<u8>, m: &Mutation) -> Vec<u8> {
    match *m {
        Mutation::Keep => {}
        Mutation::FlipBit { pos, bit } => {
            if let Some(b) = bytes.get_mut(pos) {
                *b ^= 1 << bit;
            }
        }
        Mutation::Overwrite { pos, value } => {
            if let Some(b) = bytes.get_mut(pos) {
                *b = value;
            }
        }
        Mutation::Truncate { len } => bytes.truncate(len),
        Mutation::SetDim { index, value } => {
            let at = 4 + 4 * index;
            if let Some(d) = bytes.get_mut(at..at + 4) {
                d.copy_from_slice(&value.to_be_bytes());
            }
        }
        Mutation::SetRank { rank } => {
            if let Some(b) = bytes.get_mut(3) {
                *b = rank;
            }
        }
        Mutation::Append { ref extra } => bytes.extend_from_slice(extra),
    }
    bytes
}

proptest! {
    // No failure persistence: integration tests have no lib.rs for proptest to sit next to;
    // a failure prints its minimal input instead.
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(10_000)
    })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        check_result(&parse_idx(&bytes, Path::new(PATH)))?;
    }

    #[test]
    fn mutated_files_agree_plain_and_gzipped(
        valid in valid_idx(),
        mutations in prop::collection::vec(mutation(), 1..=3),
    ) {
        let bytes = mutations.iter().fold(valid, apply);
        let plain = parse_idx(&bytes, Path::new(PATH));
        check_result(&plain)?;
        let gzipped = parse_idx(&gzip(&bytes), Path::new(PATH));
        check_result(&gzipped)?;
        // Unless the mutation itself made the bytes look like gzip, decompression must
        // be invisible: same array, or the very same error message.
        if !bytes.starts_with(&[0x1f, 0x8b]) {
            match (&plain, &gzipped) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                _ => prop_assert!(false, "plain {:?} but gzipped {:?}", plain, gzipped),
            }
        }
    }

    #[test]
    fn garbage_after_gzip_header_never_panics(
        valid in valid_idx(),
        cut in 0usize..40,
        garbage in prop::collection::vec(any::<u8>(), 0..48),
    ) {
        let gz = gzip(&valid);
        let mut bytes = gz[..10.max(cut.min(gz.len()))].to_vec();
        bytes.extend_from_slice(&garbage);
        check_result(&parse_idx(&bytes, Path::new(PATH)))?;
    }

    #[test]
    fn corrupted_gzip_never_panics(
        valid in valid_idx(),
        pos in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let mut gz = gzip(&valid);
        let i = pos.index(gz.len());
        gz[i] = value;
        check_result(&parse_idx(&gz, Path::new(PATH)))?;
    }
}

#[test]
fn every_truncation_of_a_valid_file_is_rejected() {
    let valid = idx(&[3, 2, 2], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert_eq!(parse_idx(&valid, Path::new(PATH)).unwrap().data.len(), 12);
    for len in 0..valid.len() {
        for input in [valid[..len].to_vec(), gzip(&valid[..len])] {
            let err = parse_idx(&input, Path::new(PATH)).unwrap_err();
            let expected_kind = if len < 16 {
                matches!(err, DataError::TruncatedHeader { .. })
            } else {
                matches!(err, DataError::Truncated { actual, .. } if actual == len as u64 - 16)
            };
            assert!(expected_kind, "len {len}: {err}");
        }
    }
}
