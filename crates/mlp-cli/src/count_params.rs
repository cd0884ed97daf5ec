//! `mlp-cli count-params`: the weights and biases of an MLP, per layer and in total.

use crate::spec::{dashed, layer_sizes, parse_sizes};
use crate::Result;
use std::fmt::Write;

/// The table printed by `count-params` for hidden sizes `hidden` between `inputs` and `classes`.
pub fn run(hidden: &str, inputs: usize, classes: usize) -> Result<String> {
    let hidden = parse_sizes("hidden sizes", hidden)?;
    table(&layer_sizes(inputs, &hidden, classes))
}

/// The per-layer table of the MLP with layer sizes `sizes` (inputs, hidden…, classes): `MLP 784-…`,
/// one line per layer (`W` as rows x columns, `b`, parameters) and the total.
pub fn table(sizes: &[usize]) -> Result<String> {
    let count = mlp_core::count_params(sizes)?;
    let mut out = String::new();
    writeln!(out, "MLP {}", dashed(sizes)).unwrap();
    writeln!(
        out,
        "{:<6} {:>16} {:>10} {:>14}",
        "layer", "W", "b", "parameters"
    )
    .unwrap();
    for (l, layer) in count.layers.iter().enumerate() {
        let w = format!("{} x {}", layer.n_out, layer.n_in);
        writeln!(
            out,
            "{:<6} {:>16} {:>10} {:>14}",
            l, w, layer.n_out, layer.count
        )
        .unwrap();
    }
    writeln!(
        out,
        "{:<6} {:>16} {:>10} {:>14}",
        "total", "", "", count.total
    )
    .unwrap();
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_review_question() {
        let table = super::run("100,200,50", 784, 10).unwrap();
        assert!(
            table.lines().last().unwrap().ends_with(" 109260"),
            "{table}"
        );
        assert!(
            table.contains("100 x 784") && table.contains("78500"),
            "{table}"
        );
    }
}
