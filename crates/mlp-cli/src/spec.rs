//! Parsing and checking command-line values: layer lists, rates, sizes.

use crate::{CliError, Result};

/// The largest network the CLI will allocate: 2³⁰ parameters (4 GiB in f32). Larger specs are
/// almost certainly typing mistakes and would otherwise abort on allocation.
pub const MAX_PARAMS: u64 = 1 << 30;

/// Parses a comma-separated list of positive widths such as `150,200,150,50`.
///
/// Every item must be a plain decimal integer ≥ 1: `""`, `100,,50`, `0`, `-5`, `abc`, `100;200` and
/// `1e9` are rejected with a message naming the item.
pub fn parse_sizes(flag: &str, spec: &str) -> Result<Vec<usize>> {
    if spec.trim().is_empty() {
        return Err(CliError::Usage(format!(
            "{flag} is empty: give comma-separated widths such as 150,200"
        )));
    }
    spec.split(',')
        .enumerate()
        .map(|(i, item)| {
            let item = item.trim();
            let bad = |why: &str| {
                CliError::Usage(format!("{flag} {spec:?}: item {} {item:?} {why}", i + 1))
            };
            if item.is_empty() {
                return Err(bad("is empty"));
            }
            if !item.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("is not a positive integer (use commas between widths)"));
            }
            match item.parse::<usize>() {
                Ok(0) => Err(bad("is zero; every width must be at least 1")),
                Ok(n) => Ok(n),
                Err(_) => Err(bad("is too large")),
            }
        })
        .collect()
}

/// Checks that a network of these sizes is small enough to allocate.
pub fn check_network_size(sizes: &[usize]) -> Result<u64> {
    let count = mlp_core::count_params(sizes)?;
    if count.total > MAX_PARAMS {
        return Err(CliError::Usage(format!(
            "a network of sizes {sizes:?} has {} parameters, more than this tool allocates ({MAX_PARAMS})",
            count.total
        )));
    }
    Ok(count.total)
}

/// Checks that a floating-point flag is finite and strictly positive.
pub fn positive(flag: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(CliError::Usage(format!(
            "{flag} must be a finite number > 0, got {value}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(spec: &str, expected: Option<&[usize]>) {
        assert_eq!(
            parse_sizes("--layers", spec).ok().as_deref(),
            expected,
            "{spec:?}"
        );
    }

    #[test]
    fn layer_specs() {
        check("150", Some(&[150]));
        check("100,200,50", Some(&[100, 200, 50]));
        check(" 100 , 200 ", Some(&[100, 200]));
        for bad in [
            "",
            " ",
            "100,,50",
            "0",
            "-5",
            "abc",
            "100;200",
            "1e9,1e9",
            "100,",
            "99999999999999999999999",
        ] {
            check(bad, None);
        }
    }

    #[test]
    fn messages_name_the_item() {
        let err = parse_sizes("--layers", "100,abc").unwrap_err().to_string();
        assert!(err.contains("\"abc\"") && err.contains("--layers"), "{err}");
    }

    #[test]
    fn huge_networks_are_refused_before_allocation() {
        assert!(check_network_size(&[784, 150, 10]).is_ok());
        assert!(check_network_size(&[784, 1_000_000_000, 10]).is_err());
        assert!(check_network_size(&[usize::MAX, usize::MAX]).is_err());
    }
}
