//! How the report and the figures name a configuration and a net: the one module that reads
//! `TrainConfig`'s activation and schedule fields, through `mlp_core`'s own types.

use crate::Result;
use mlp_cli::train::TrainConfig;
use mlp_core::{Activation, LrSchedule};

/// Inputs of every net: MNIST's 28 × 28 pixels.
pub const N_INPUTS: usize = 784;
/// Outputs of every net: MNIST's ten digits.
pub const N_CLASSES: usize = 10;

/// The configuration's hidden activation.
pub fn activation(c: &TrainConfig) -> Activation {
    c.activation
}

/// The hidden activation of a row of `gradients.csv`.
pub fn gradient_activation(row: &crate::gradients::GradientRow) -> Activation {
    row.activation
}

/// The configuration's learning-rate schedule.
pub fn schedule(c: &TrainConfig) -> LrSchedule {
    c.lr_schedule
}

/// A schedule's name, as on the command line: `LrSchedule`'s own.
pub fn schedule_text(s: LrSchedule) -> &'static str {
    s.name()
}

/// A short description of a configuration's optimisation settings, `TrainConfig`'s own:
/// `relu, lr 0.2 cosine, batch 64, momentum 0.9, weight decay 0.0001`.
pub fn setting(c: &TrainConfig) -> String {
    c.settings().to_string()
}

/// The full layer sizes of a net with these hidden widths: `[784, hidden…, 10]`.
pub fn layer_sizes(hidden: &[usize]) -> Vec<usize> {
    mlp_cli::spec::layer_sizes(N_INPUTS, hidden, N_CLASSES)
}

/// The layer sizes as text: `784-150-10`.
pub fn sizes_text(hidden: &[usize]) -> String {
    mlp_cli::spec::dashed(&layer_sizes(hidden))
}

/// The parameter count of a net with these hidden widths.
pub fn n_params(hidden: &[usize]) -> Result<u64> {
    Ok(mlp_core::count_params(&layer_sizes(hidden))?.total)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A configuration as `summary.json` stores it (built from JSON so that it does not depend on
    /// how the trainer's types spell the activation and schedule).
    pub(crate) fn config(activation: &str, lr: f64, schedule: &str, momentum: f64) -> TrainConfig {
        serde_json::from_value(serde_json::json!({
            "hidden": [150],
            "activation": activation,
            "lr": lr,
            "batch_size": 64,
            "epochs": 10,
            "momentum": momentum,
            "weight_decay": 0.0,
            "lr_schedule": schedule,
            "seed": 1,
            "val": 10000,
            "train_limit": null
        }))
        .unwrap()
    }

    #[test]
    fn settings_read_as_on_the_command_line() {
        assert_eq!(
            setting(&config("sigmoid", 0.5, "constant", 0.0)),
            "sigmoid, lr 0.5 constant, batch 64, plain SGD"
        );
        let mut tuned = config("relu", 0.2, "cosine", 0.9);
        tuned.weight_decay = 1e-4;
        assert_eq!(
            setting(&tuned),
            "relu, lr 0.2 cosine, batch 64, momentum 0.9, weight decay 0.0001"
        );
        assert_eq!(
            schedule_text(schedule(&config("tanh", 1.0, "step", 0.0))),
            "step"
        );
    }

    #[test]
    fn layer_sizes_add_inputs_and_classes() {
        assert_eq!(layer_sizes(&[150]), [784, 150, 10]);
        assert_eq!(sizes_text(&[150, 200, 150, 50]), "784-150-200-150-50-10");
        assert_eq!(n_params(&[150]).unwrap(), 119_260);
    }
}
