//! The configuration of a training run: what summary.json and every checkpoint record, so that a
//! run can be told apart from another, resumed, and named.

use crate::spec::{dashed, layer_sizes, positive};
use crate::{CliError, Result};
use mlp_core::{Activation, LrSchedule};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Everything that defines a training run; saved in summary.json and in checkpoints.
///
/// The activation and the schedule are written by their own names (`"relu"`, `"cosine"`).
/// `Display` gives a one-line description; the alternate form `{:#}` gives the compact name of the
/// settings a search varies, used as a directory name.
///
/// ```
/// use mlp_cli::train::TrainConfig;
/// use mlp_core::{Activation, LrSchedule};
///
/// let config = TrainConfig {
///     hidden: vec![150],
///     activation: Activation::Relu,
///     lr: 0.05,
///     momentum: 0.9,
///     lr_schedule: LrSchedule::Cosine,
///     ..TrainConfig::default()
/// };
/// assert_eq!(
///     config.to_string(),
///     "hidden 150 relu, lr 0.05 cosine, batch 64, momentum 0.9, 10 epochs, seed 0, val 10000"
/// );
/// assert_eq!(format!("{config:#}"), "relu-cosine-lr0.05-b64-m0.9-wd0-e10");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Hidden activation.
    #[serde(with = "by_name")]
    pub activation: Activation,
    /// Base learning rate.
    pub lr: f64,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Number of epochs.
    pub epochs: usize,
    /// Momentum.
    pub momentum: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// Learning-rate schedule.
    #[serde(with = "by_name")]
    pub lr_schedule: LrSchedule,
    /// Seed.
    pub seed: u64,
    /// Validation split size.
    pub val: usize,
    /// Training subset size, if any.
    pub train_limit: Option<usize>,
}

impl Default for TrainConfig {
    /// The defaults of `mlp-cli train`.
    fn default() -> Self {
        Self {
            hidden: vec![150],
            activation: Activation::Sigmoid,
            lr: 0.1,
            batch_size: 64,
            epochs: 10,
            momentum: 0.0,
            weight_decay: 0.0,
            lr_schedule: LrSchedule::Constant,
            seed: 0,
            val: 10_000,
            train_limit: None,
        }
    }
}

impl TrainConfig {
    /// Checks the values that do not depend on the data. The messages name the command-line
    /// flags, which have the fields' names.
    pub fn check(&self) -> Result<()> {
        positive("--lr", self.lr)?;
        if self.batch_size == 0 {
            return Err(CliError::Usage("--batch-size must be at least 1".into()));
        }
        if self.epochs == 0 {
            return Err(CliError::Usage("--epochs must be at least 1".into()));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(CliError::Usage(format!(
                "--momentum must be in [0, 1), got {}",
                self.momentum
            )));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(CliError::Usage(format!(
                "--weight-decay must be finite and >= 0, got {}",
                self.weight_decay
            )));
        }
        if self.train_limit == Some(0) {
            return Err(CliError::Usage("--train-limit must be at least 1".into()));
        }
        Ok(())
    }

    /// The optimisation settings in words, as the report and the epoch table's header give them:
    /// `relu, lr 0.2 cosine, batch 64, momentum 0.9, weight decay 0.0001` (or `…, plain SGD`).
    pub fn settings(&self) -> Settings<'_> {
        Settings(self)
    }

    /// The full layer sizes for data with `inputs` features and `classes` classes.
    pub fn sizes(&self, inputs: usize, classes: usize) -> Vec<usize> {
        layer_sizes(inputs, &self.hidden, classes)
    }
}

impl fmt::Display for TrainConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (activation, schedule) = (self.activation.name(), self.lr_schedule.name());
        if f.alternate() {
            // Directory names of the committed results depend on this exact form.
            return write!(
                f,
                "{activation}-{schedule}-lr{}-b{}-m{}-wd{}-e{}",
                self.lr, self.batch_size, self.momentum, self.weight_decay, self.epochs
            );
        }
        write!(f, "hidden {} {}", dashed(&self.hidden), self.settings())?;
        write!(
            f,
            ", {} epochs, seed {}, val {}",
            self.epochs, self.seed, self.val
        )?;
        if let Some(limit) = self.train_limit {
            write!(f, ", train limit {limit}")?;
        }
        Ok(())
    }
}

/// [`TrainConfig::settings`]: the optimisation part of a configuration's description.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a>(&'a TrainConfig);

impl fmt::Display for Settings<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        write!(
            f,
            "{}, lr {} {}, batch {}",
            c.activation.name(),
            c.lr,
            c.lr_schedule.name(),
            c.batch_size
        )?;
        if c.momentum > 0.0 {
            write!(f, ", momentum {}", c.momentum)?;
        } else {
            f.write_str(", plain SGD")?;
        }
        if c.weight_decay > 0.0 {
            write!(f, ", weight decay {}", c.weight_decay)?;
        }
        Ok(())
    }
}

/// A choice written in files by its own name ([`Activation::name`], [`LrSchedule::name`]).
pub trait Named: Sized + Copy + 'static {
    /// What the name names, for error messages.
    const KIND: &'static str;
    /// Every value.
    const ALL: &'static [Self];
    /// The value's name.
    fn name(self) -> &'static str;
    /// The value of a name.
    fn from_name(name: &str) -> Option<Self>;
}

impl Named for Activation {
    const KIND: &'static str = "activation";
    const ALL: &'static [Self] = &Activation::ALL;
    fn name(self) -> &'static str {
        Activation::name(self)
    }
    fn from_name(name: &str) -> Option<Self> {
        Activation::from_name(name)
    }
}

impl Named for LrSchedule {
    const KIND: &'static str = "learning-rate schedule";
    const ALL: &'static [Self] = &LrSchedule::ALL;
    fn name(self) -> &'static str {
        LrSchedule::name(self)
    }
    fn from_name(name: &str) -> Option<Self> {
        LrSchedule::from_name(name)
    }
}

/// Serde by name for a [`Named`] field: `#[serde(with = "mlp_cli::train::config::by_name")]`.
pub mod by_name {
    use super::Named;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    /// Writes the value's name.
    pub fn serialize<T: Named, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value.name())
    }

    /// Reads a name back, naming the expected ones when it is unknown.
    pub fn deserialize<'de, T: Named, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<T, D::Error> {
        let name = String::deserialize(deserializer)?;
        T::from_name(&name).ok_or_else(|| {
            let known: Vec<&str> = T::ALL.iter().map(|value| value.name()).collect();
            D::Error::custom(format!(
                "unknown {} {name:?} (expected one of {})",
                T::KIND,
                known.join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_of_a_config_is_the_one_in_the_committed_runs() {
        // The config of results/shallow-tuned-s1/summary.json (pretty-printed there).
        let committed = r#"{"hidden":[150],"activation":"relu","lr":0.2,"batch_size":64,"epochs":60,"momentum":0.9,"weight_decay":0.0001,"lr_schedule":"cosine","seed":1,"val":10000,"train_limit":null}"#;
        let config: TrainConfig = serde_json::from_str(committed).unwrap();
        assert_eq!(config.activation, Activation::Relu);
        assert_eq!(config.lr_schedule, LrSchedule::Cosine);
        assert_eq!(serde_json::to_string(&config).unwrap(), committed);
    }

    #[test]
    fn unknown_names_are_refused_with_the_known_ones() {
        let json = serde_json::to_string(&TrainConfig::default())
            .unwrap()
            .replace("sigmoid", "swish");
        let err = serde_json::from_str::<TrainConfig>(&json)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"swish\"") && err.contains("sigmoid, tanh, relu, identity"),
            "{err}"
        );
    }

    #[test]
    fn descriptions() {
        let config = TrainConfig {
            hidden: vec![150, 200, 150, 50],
            weight_decay: 1e-4,
            train_limit: Some(5000),
            ..TrainConfig::default()
        };
        assert_eq!(
            config.to_string(),
            "hidden 150-200-150-50 sigmoid, lr 0.1 constant, batch 64, plain SGD, weight decay 0.0001, \
             10 epochs, seed 0, val 10000, train limit 5000"
        );
        // The name of a committed search directory (results/search/deep-tuned/).
        let searched = TrainConfig {
            activation: Activation::Relu,
            lr: 0.05,
            momentum: 0.9,
            weight_decay: 3e-4,
            lr_schedule: LrSchedule::Step,
            epochs: 60,
            ..config
        };
        assert_eq!(
            format!("{searched:#}"),
            "relu-step-lr0.05-b64-m0.9-wd0.0003-e60"
        );
    }

    #[test]
    fn sizes_put_the_hidden_widths_between_inputs_and_classes() {
        let config = TrainConfig {
            hidden: vec![32, 16],
            ..TrainConfig::default()
        };
        assert_eq!(config.sizes(784, 10), [784, 32, 16, 10]);
    }
}
