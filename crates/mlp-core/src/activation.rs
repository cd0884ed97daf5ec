//! Element-wise activations, each with its derivative expressed through the value it produced.

use crate::scalar::{vectorize, Kernel};
use crate::Float;
use faer::prelude::ReborrowMut;
use faer::{MatMut, MatRef};

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

    /// One fused pass over a column-major `rows × m` block: `z[i, j] = f(z[i, j] + bias[i])`.
    pub(crate) fn add_bias_and_apply<T: Float>(self, z: &mut [T], bias: &[T]) {
        debug_assert_eq!(z.len() % bias.len().max(1), 0);
        vectorize(AddBiasAndApply {
            activation: self,
            z,
            bias,
        });
    }

    /// One fused pass: `delta[k] *= f'(z)` where `output[k] = f(z)`.
    pub(crate) fn scale_by_derivative<T: Float>(self, delta: &mut [T], output: &[T]) {
        debug_assert_eq!(delta.len(), output.len());
        vectorize(ScaleByDerivative {
            activation: self,
            delta,
            output,
        });
    }
}

impl Activation {
    /// [`Activation::add_bias_and_apply`] on a block of rows of a column-major matrix (a thread's
    /// rows of a layer's output), `bias` holding those rows' biases.
    pub(crate) fn add_bias_and_apply_rows<T: Float>(self, mut z: MatMut<'_, T>, bias: &[T]) {
        debug_assert_eq!(z.nrows(), bias.len());
        for j in 0..z.ncols() {
            let column = z.rb_mut().col_mut(j).try_as_col_major_mut();
            self.add_bias_and_apply(column.expect("unit row stride").as_slice_mut(), bias);
        }
    }

    /// [`Activation::scale_by_derivative`] on a block of rows of column-major matrices.
    pub(crate) fn scale_by_derivative_rows<T: Float>(
        self,
        mut delta: MatMut<'_, T>,
        output: MatRef<'_, T>,
    ) {
        debug_assert_eq!(delta.shape(), output.shape());
        if self == Activation::Identity {
            return;
        }
        for j in 0..delta.ncols() {
            let d = delta.rb_mut().col_mut(j).try_as_col_major_mut();
            let a = output.col(j).try_as_col_major();
            self.scale_by_derivative(
                d.expect("unit row stride").as_slice_mut(),
                a.expect("unit row stride").as_slice(),
            );
        }
    }
}

/// The loops of [`Activation::add_bias_and_apply`], compiled by [`vectorize`] for the CPU's widest
/// registers.
struct AddBiasAndApply<'a, T> {
    activation: Activation,
    z: &'a mut [T],
    bias: &'a [T],
}

impl<T: Float> Kernel for AddBiasAndApply<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let Self {
            activation,
            z,
            bias,
        } = self;
        // The match is outside the loops so that each loop body is branch-free and vectorises.
        match activation {
            Activation::Sigmoid => map_columns(z, bias, |v| Activation::Sigmoid.apply(v)),
            Activation::Tanh => map_columns(z, bias, |v| Activation::Tanh.apply(v)),
            Activation::Relu => map_columns(z, bias, |v| Activation::Relu.apply(v)),
            Activation::Identity => map_columns(z, bias, |v| v),
        }
    }
}

/// The loops of [`Activation::scale_by_derivative`], compiled by [`vectorize`].
struct ScaleByDerivative<'a, T> {
    activation: Activation,
    delta: &'a mut [T],
    output: &'a [T],
}

impl<T: Float> Kernel for ScaleByDerivative<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let Self {
            activation,
            delta,
            output,
        } = self;
        match activation {
            Activation::Sigmoid => zip_scale(delta, output, |a| {
                Activation::Sigmoid.derivative_from_output(a)
            }),
            Activation::Tanh => zip_scale(delta, output, |a| {
                Activation::Tanh.derivative_from_output(a)
            }),
            Activation::Relu => zip_scale(delta, output, |a| {
                Activation::Relu.derivative_from_output(a)
            }),
            Activation::Identity => {}
        }
    }
}

#[inline(always)]
fn map_columns<T: Float>(z: &mut [T], bias: &[T], f: impl Fn(T) -> T) {
    if bias.is_empty() {
        return;
    }
    for column in z.chunks_exact_mut(bias.len()) {
        for (v, &b) in column.iter_mut().zip(bias) {
            *v = f(*v + b);
        }
    }
}

#[inline(always)]
fn zip_scale<T: Float>(delta: &mut [T], output: &[T], derivative: impl Fn(T) -> T) {
    for (d, &a) in delta.iter_mut().zip(output) {
        *d *= derivative(a);
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
    fn fused_pass_adds_bias_per_row() {
        // Two rows, two columns: z = [[0, 1], [2, 3]] column-major, bias [10, 20].
        let mut z = vec![0.0, 2.0, 1.0, 3.0];
        Activation::Identity.add_bias_and_apply(&mut z, &[10.0f64, 20.0]);
        assert_eq!(z, [10.0, 22.0, 11.0, 23.0]);
        let mut z = vec![-1.0, 0.5];
        Activation::Relu.add_bias_and_apply(&mut z, &[0.0f64, 0.0]);
        assert_eq!(z, [0.0, 0.5]);
    }

    #[test]
    fn names_round_trip() {
        for act in Activation::ALL {
            assert_eq!(Activation::from_name(act.name()), Some(act));
        }
        assert_eq!(Activation::from_name("softplus"), None);
    }
}
