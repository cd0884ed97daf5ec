//! Parsing and checking command-line values (layer lists, rates, sizes), and the one way layer
//! sizes are assembled and written.

use crate::train::config::Named;
use crate::{CliError, Result};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use mlp_core::{Activation, LrSchedule};

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

/// The full layer sizes of a network: `inputs`, then the hidden widths, then `classes`.
///
/// ```
/// assert_eq!(mlp_cli::spec::layer_sizes(784, &[150], 10), [784, 150, 10]);
/// ```
pub fn layer_sizes(inputs: usize, hidden: &[usize], classes: usize) -> Vec<usize> {
    let mut sizes = Vec::with_capacity(hidden.len() + 2);
    sizes.push(inputs);
    sizes.extend_from_slice(hidden);
    sizes.push(classes);
    sizes
}

/// Layer sizes written the way people read a network: `784-150-10`.
///
/// ```
/// assert_eq!(mlp_cli::spec::dashed(&[784, 150, 10]), "784-150-10");
/// ```
pub fn dashed(sizes: &[usize]) -> String {
    let parts: Vec<String> = sizes.iter().map(usize::to_string).collect();
    parts.join("-")
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

/// The `--activation` choice: [`Activation`]'s own names, with a line of help each.
pub fn activation_choice() -> impl TypedValueParser<Value = Activation> {
    choice(activation_help)
}

/// The `--lr-schedule` choice: [`LrSchedule`]'s own names, with a line of help each.
pub fn schedule_choice() -> impl TypedValueParser<Value = LrSchedule> {
    choice(schedule_help)
}

/// A command-line choice among the values of a [`Named`] type, spelled by their own names.
fn choice<T: Named + Send + Sync>(help: fn(T) -> &'static str) -> impl TypedValueParser<Value = T> {
    let values = T::ALL
        .iter()
        .map(move |&value| PossibleValue::new(value.name()).help(help(value)));
    PossibleValuesParser::new(values)
        .map(|name: String| T::from_name(&name).expect("clap accepts only the listed names"))
}

fn activation_help(activation: Activation) -> &'static str {
    match activation {
        Activation::Sigmoid => "1 / (1 + e^−z), the practical work's choice",
        Activation::Tanh => "Hyperbolic tangent",
        Activation::Relu => "max(0, z)",
        Activation::Identity => "No non-linearity (the net is then a linear model)",
    }
}

fn schedule_help(schedule: LrSchedule) -> &'static str {
    match schedule {
        LrSchedule::Constant => "The same rate every epoch",
        LrSchedule::Step => "÷10 at half and at three quarters of the epochs",
        LrSchedule::Cosine => "Cosine annealing towards 0",
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
