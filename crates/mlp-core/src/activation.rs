//! Element-wise activations, each with its derivative expressed through the value it produced.

use crate::Float;

/// The non-linearity of a hidden layer.
///
/// Each derivative is computed from the layer's *output* `a = f(z)`, which the forward pass keeps,
/// so back-propagation never evaluates `exp` again: σ' = a(1 − a), tanh' = 1 − a², ReLU' = `[a > 0]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Activation {
    /// The logistic function 1 / (1 + e^−z), the practical work's choice.
    #[default]
    Sigmoid,
    /// The hyperbolic tangent.
    Tanh,
    /// max(0, z).
    Relu,
    /// f(z) = z; used for the output layer, whose logits feed the softmax.
    Identity,
}

impl Activation {
    /// Every activation, for tests and command-line parsing.
    pub const ALL: [Activation; 4] = [Self::Sigmoid, Self::Tanh, Self::Relu, Self::Identity];

    /// The lower-case name used on the command line and in model files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sigmoid => "sigmoid",
            Self::Tanh => "tanh",
            Self::Relu => "relu",
            Self::Identity => "identity",
        }
    }

    /// Parses a name produced by [`Activation::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// f(z) for one value.
    #[inline(always)]
    pub fn apply<T: Float>(self, z: T) -> T {
        let one = T::from_f64(1.0);
        match self {
            Self::Sigmoid => one / (one + (-z).exp()),
            Self::Tanh => z.tanh(),
            // Written as a comparison so that NaN propagates.
            Self::Relu => {
                if z < T::from_f64(0.0) {
                    T::from_f64(0.0)
                } else {
                    z
                }
            }
            Self::Identity => z,
        }
    }

    /// f'(z), given the output a = f(z).
    #[inline(always)]
    pub fn derivative_from_output<T: Float>(self, a: T) -> T {
        let one = T::from_f64(1.0);
        match self {
            Self::Sigmoid => a * (one - a),
            Self::Tanh => one - a * a,
            Self::Relu => {
                if a > T::from_f64(0.0) {
                    one
                } else {
                    T::from_f64(0.0)
                }
            }
            Self::Identity => one,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derivative from the output agrees with a central difference of `apply`.
    #[test]
    fn derivatives_match_finite_differences() {
        for act in Activation::ALL {
            for &z in &[-3.0f64, -0.7, -0.1, 0.2, 0.9, 2.5] {
                let h = 1e-6;
                let numeric = (act.apply(z + h) - act.apply(z - h)) / (2.0 * h);
                let analytic = act.derivative_from_output(act.apply(z));
                assert!((numeric - analytic).abs() < 1e-8, "{act:?} at {z}");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for act in Activation::ALL {
            assert_eq!(Activation::from_name(act.name()), Some(act));
        }
        assert_eq!(Activation::from_name("softplus"), None);
    }
}
