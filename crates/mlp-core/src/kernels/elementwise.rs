//! The element-wise passes fused after a product (a layer's bias and activation, the derivative of
//! the layer below), compiled for the CPU's widest vector registers.

use crate::scalar::{vectorize, Kernel};
use crate::{Activation, Float};
use faer::prelude::ReborrowMut;
use faer::{MatMut, MatRef};

/// What to do to every entry of a product's output once it is computed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Epilogue<'a, T> {
    /// Nothing: the output is the product.
    None,
    /// `BiasAndActivation(b, f)`: `z[i, j] = f(z[i, j] + b[i])`, a layer's bias and activation.
    BiasAndActivation(&'a [T], Activation),
    /// `TimesDerivative(f, a)`: `d[i, j] *= f'(z[i, j])`, with `f'` computed from the output
    /// `a[i, j] = f(z[i, j])` (shaped like the product) that the forward pass kept.
    TimesDerivative(Activation, MatRef<'a, T>),
}

impl<T: Float> Epilogue<'_, T> {
    /// The same epilogue for rows `first..first + rows` of the output.
    pub(crate) fn rows(self, first: usize, rows: usize) -> Self {
        match self {
            Self::None => Self::None,
            Self::BiasAndActivation(bias, f) => {
                Self::BiasAndActivation(&bias[first..first + rows], f)
            }
            Self::TimesDerivative(f, output) => {
                Self::TimesDerivative(f, output.subrows(first, rows))
            }
        }
    }

    /// The same epilogue for columns `first..first + columns` of the output.
    pub(crate) fn columns(self, first: usize, columns: usize) -> Self {
        match self {
            Self::TimesDerivative(f, output) => {
                Self::TimesDerivative(f, output.subcols(first, columns))
            }
            // The bias is the same for every column.
            other => other,
        }
    }

    /// Applies the epilogue to `block`, the part of the output it was cut for (unit row stride).
    pub(crate) fn apply(self, block: MatMut<'_, T>) {
        match self {
            // f' = 1: nothing to multiply.
            Self::None | Self::TimesDerivative(Activation::Identity, _) => {}
            epilogue => vectorize(Apply { epilogue, block }),
        }
    }
}

/// Runs `$body` with `$f` a constant equal to `$activation`, so that the loops in `$body` are
/// compiled once per activation, each branch-free and vectorised.
macro_rules! with_constant_activation {
    ($activation:expr, $f:ident => $body:expr) => {
        with_constant_activation!(@each $activation, $f => $body; Sigmoid Tanh Relu Identity)
    };
    (@each $activation:expr, $f:ident => $body:expr; $($name:ident)+) => {
        match $activation {
            $(Activation::$name => {
                const $f: Activation = Activation::$name;
                $body
            })+
        }
    };
}

/// The loops of [`Epilogue::apply`], compiled by [`vectorize`].
struct Apply<'a, T> {
    epilogue: Epilogue<'a, T>,
    block: MatMut<'a, T>,
}

impl<T: Float> Kernel for Apply<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let Self {
            epilogue,
            mut block,
        } = self;
        for j in 0..block.ncols() {
            let z = unit_stride_mut(block.rb_mut().col_mut(j));
            match epilogue {
                Epilogue::None => {}
                Epilogue::BiasAndActivation(bias, activation) => {
                    with_constant_activation!(activation, F => {
                        for (z, &b) in z.iter_mut().zip(bias) {
                            *z = F.apply(*z + b);
                        }
                    })
                }
                Epilogue::TimesDerivative(activation, output) => {
                    let a = output.col(j).try_as_col_major().expect("unit row stride");
                    with_constant_activation!(activation, F => {
                        for (d, &a) in z.iter_mut().zip(a.as_slice()) {
                            *d *= F.derivative_from_output(a);
                        }
                    })
                }
            }
        }
    }
}

fn unit_stride_mut<T>(column: faer::ColMut<'_, T>) -> &mut [T] {
    column
        .try_as_col_major_mut()
        .expect("unit row stride")
        .as_slice_mut()
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::{mat, Mat};

    #[test]
    fn bias_is_added_per_row_before_the_activation() {
        // z = [[0, 1], [2, 3]], bias [10, 20].
        let mut z = mat![[0.0, 1.0], [2.0, 3.0]];
        let bias = [10.0f64, 20.0];
        Epilogue::BiasAndActivation(&bias, Activation::Identity).apply(z.as_mut());
        assert!(z == mat![[10.0, 11.0], [22.0, 23.0]]);
        let mut z = mat![[-1.0], [0.5]];
        Epilogue::BiasAndActivation(&[0.0, 0.0], Activation::Relu).apply(z.as_mut());
        assert!(z == mat![[0.0], [0.5]]);
    }

    #[test]
    fn derivative_is_taken_from_the_output_of_the_cut_block() {
        // Sigmoid outputs a, σ' = a(1 − a): rows 1.. and columns 1.. of a 3 × 3 output.
        let output = Mat::from_fn(3, 3, |i, j| 0.1 * (1 + i + 3 * j) as f64);
        let epilogue = Epilogue::TimesDerivative(Activation::Sigmoid, output.as_ref());
        let mut delta = Mat::from_fn(2, 2, |_, _| 2.0);
        epilogue.rows(1, 2).columns(1, 2).apply(delta.as_mut());
        let expected = Mat::from_fn(2, 2, |i, j| {
            let a = output[(1 + i, 1 + j)];
            2.0 * (a * (1.0 - a))
        });
        assert!(delta == expected);
    }
}
