//! Arbitrary bytes into the IDX reader (plain or gzip, chosen by content): it must never panic, and
//! whatever it accepts must be consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(array) = mlp_data::parse_idx(bytes, Path::new("fuzz-input")) {
        let product: usize = array.dims.iter().product();
        assert_eq!(product, array.data.len());
        assert!(array.dims.iter().all(|&d| d > 0));
    }
});
