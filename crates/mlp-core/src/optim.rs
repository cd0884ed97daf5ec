//! Stochastic gradient descent with momentum and weight decay, and learning-rate schedules.

use crate::error::check_shape;
use crate::plan::LayerPlan;
use crate::scalar::{vectorize, Kernel};
use crate::weights::Stored;
use crate::{par, Float, Layer, Mlp, MlpError, Result};
use faer::prelude::ReborrowMut;
use faer::{MatMut, MatRef};

/// SGD with optional momentum and L2 weight decay, in PyTorch's convention:
/// `v ← μ·v + g + λ·w`, `w ← w − η·v` (with μ = 0 this is plain SGD).
///
/// Weight decay applies to weights only, not biases: shrinking a bias does not regularise the
/// function and only slows its fit. Velocities are allocated once, at construction; with μ = 0 and
/// λ = 0 they are not used (the step is `w ← w − η·g`, the same values) and stay zero.
///
/// ```
/// use faer::Mat;
/// use mlp_core::{Activation, Mlp, Sgd};
///
/// let mut mlp = Mlp::<f64>::new(&[2, 4, 2], Activation::Relu, 0)?;
/// let mut sgd = Sgd::new(&mlp, 0.9, 1e-4)?; // momentum 0.9, weight decay 1e-4
/// let x = Mat::from_fn(2, 8, |i, j| if i == j % 2 { 1.0 } else { -1.0 });
/// let y = Mat::from_fn(2, 8, |i, j| if i == j % 2 { 1.0 } else { 0.0 });
/// let mut losses = Vec::new();
/// for _ in 0..30 {
///     mlp.propagate(x.as_ref())?;
///     losses.push(mlp.loss(y.as_ref())?);
///     mlp.backpropagate(x.as_ref(), y.as_ref())?;
///     sgd.step(&mut mlp, 0.1)?;
/// }
/// assert!(losses[29] < losses[0] / 2.0);
/// # Ok::<(), mlp_core::MlpError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Sgd<T> {
    momentum: f64,
    weight_decay: f64,
    /// Per layer: the velocity of the weights, held in the order of the layer's weights at each
    /// update (by rows when the step splits the layer by rows, so that a thread updating its rows
    /// goes through one contiguous range of each array), and the velocity of the bias.
    velocity: Vec<(Stored<T>, Vec<T>)>,
}

impl<T: Float> Sgd<T> {
    /// An optimiser for `mlp` with momentum μ ∈ [0, 1) and weight decay λ ≥ 0.
    pub fn new(mlp: &Mlp<T>, momentum: f64, weight_decay: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&momentum) {
            return Err(MlpError::InvalidHyperParameter {
                name: "momentum",
                value: momentum,
                reason: "must be in [0, 1)",
            });
        }
        if !(weight_decay.is_finite() && weight_decay >= 0.0) {
            return Err(MlpError::InvalidHyperParameter {
                name: "weight decay",
                value: weight_decay,
                reason: "must be finite and non-negative",
            });
        }
        let zero = T::from_f64(0.0);
        let velocity = mlp
            .layers()
            .iter()
            .map(|l| (Stored::zeros(l.n_out(), l.n_in()), vec![zero; l.n_out()]))
            .collect();
        Ok(Self {
            momentum,
            weight_decay,
            velocity,
        })
    }

    /// The velocities, per layer `(weights, bias)`, shaped like the parameters: `(n_out, n_in)` and
    /// `(n_out,)`. They are part of a checkpoint.
    pub fn velocity(&self) -> Vec<(MatRef<'_, T>, &[T])> {
        self.velocity
            .iter()
            .map(|(vw, vb)| (vw.get(), &vb[..]))
            .collect()
    }

    /// Sets the velocities (to restore a checkpoint), per layer `(weights, bias)` shaped like the
    /// parameters, as [`Sgd::velocity`] gives them. Refused, changing nothing, unless there is one
    /// pair per layer, each of its layer's shapes.
    pub fn set_velocity(&mut self, velocity: &[(MatRef<'_, T>, &[T])]) -> Result<()> {
        if velocity.len() != self.velocity.len() {
            return Err(MlpError::InvalidSizes {
                sizes: velocity.iter().map(|(_, b)| b.len()).collect(),
                reason: "the optimiser's network has another number of layers",
            });
        }
        for (l, ((w, b), (vw, vb))) in velocity.iter().zip(&self.velocity).enumerate() {
            let weights_shape = vw.get().shape();
            check_shape(
                || format!("velocity of layer {l} weights"),
                weights_shape,
                w.shape(),
            )?;
            check_shape(
                || format!("velocity of layer {l} bias"),
                (vb.len(), 1),
                (b.len(), 1),
            )?;
        }
        for ((w, b), (vw, vb)) in velocity.iter().zip(&mut self.velocity) {
            vw.get_mut().copy_from(w);
            vb.copy_from_slice(b);
        }
        Ok(())
    }

    /// One step with learning rate `learning_rate` from the gradients of the last back-propagation.
    pub fn step(&mut self, mlp: &mut Mlp<T>, learning_rate: f64) -> Result<()> {
        if !(learning_rate.is_finite() && learning_rate > 0.0) {
            return Err(MlpError::InvalidHyperParameter {
                name: "learning rate",
                value: learning_rate,
                reason: "must be finite and positive",
            });
        }
        // Every shape is checked before any parameter moves: a refused step changes nothing.
        let built_for_this_network = self.velocity.len() == mlp.layers().len()
            && self
                .velocity
                .iter()
                .zip(mlp.layers())
                .all(|((vw, vb), layer)| {
                    vw.get().shape() == (layer.n_out(), layer.n_in()) && vb.len() == layer.n_out()
                });
        if !built_for_this_network {
            return Err(MlpError::InvalidSizes {
                sizes: mlp.sizes(),
                reason: "the optimiser was built for another network",
            });
        }
        let (lr, mu, wd) = (
            T::from_f64(learning_rate),
            T::from_f64(self.momentum),
            T::from_f64(self.weight_decay),
        );
        // Without momentum or weight decay the velocity would only be a copy of the gradient
        // (`v ← 0·v + g + 0·θ`): the update then reads the gradient directly, which leaves a third
        // of the parameter-sized arrays out of the step's working set — and out of the cores'
        // caches, where the products of the next step find the weights still there.
        let plain = self.momentum == 0.0 && self.weight_decay == 0.0;
        for (l, (vw, vb)) in self.velocity.iter_mut().enumerate() {
            let plan = mlp.layer_plan(l);
            let layer = &mut mlp.layers_mut()[l];
            let rule = Rule {
                lr,
                momentum: mu,
                weight_decay: wd,
            };
            let velocity = (!plain).then(|| {
                vw.arrange(layer.gradient_order());
                (vw.get_mut(), &mut vb[..])
            });
            update(layer, velocity, rule, plan);
        }
        Ok(())
    }
}

/// `θ ← θ − η·g` on every parameter of `layer`.
pub(crate) fn sgd_step<T: Float>(layer: &mut Layer<T>, lr: T, plan: LayerPlan) {
    let zero = T::from_f64(0.0);
    let rule = Rule {
        lr,
        momentum: zero,
        weight_decay: zero,
    };
    update(layer, None, rule, plan);
}

/// The hyper-parameters of one update.
#[derive(Clone, Copy)]
struct Rule<T> {
    lr: T,
    momentum: T,
    weight_decay: T,
}

/// One update of the weights and bias of `layer` from its gradients: with momentum when `velocity`
/// (of the weights, of the bias) is given, plain SGD otherwise. Split by the rows of the layer's
/// gradients, so that each thread updates, in its own cache, the rows of `W` it used in the step and will
/// use again (ARCHITECTURE.md has the measurement).
fn update<T: Float>(
    layer: &mut Layer<T>,
    velocity: Option<(MatMut<'_, T>, &mut [T])>,
    rule: Rule<T>,
    plan: LayerPlan,
) {
    let (w, b, gw, gb) = layer.params_and_grads_mut();
    let (vw, vb) = velocity.map(|(vw, vb)| (vw, column_mut(vb))).unzip();
    let views = (w, gw, vw, column_mut(b), column(gb), vb);
    par::for_row_blocks(views, plan.update_parts, |_, (w, gw, vw, b, gb, vb)| {
        vectorize(Step {
            params: w,
            grads: gw,
            velocity: vw,
            rule,
        });
        // Weight decay applies to weights only.
        let rule = Rule {
            weight_decay: T::from_f64(0.0),
            ..rule
        };
        vectorize(Step {
            params: b,
            grads: gb,
            velocity: vb,
            rule,
        });
    });
}

/// A bias vector as a one-column matrix, to be cut by rows with the weights.
fn column_mut<T>(values: &mut [T]) -> MatMut<'_, T> {
    let rows = values.len();
    MatMut::from_column_major_slice_mut(values, rows, 1)
}

fn column<T>(values: &[T]) -> MatRef<'_, T> {
    MatRef::from_column_major_slice(values, values.len(), 1)
}

/// Over a block of rows: `θ ← θ − η·g` without velocity; with it, `v ← μ·v + g + λ·θ`,
/// `θ ← θ − η·v`. Compiled by [`vectorize`].
struct Step<'a, T> {
    params: MatMut<'a, T>,
    grads: MatRef<'a, T>,
    velocity: Option<MatMut<'a, T>>,
    rule: Rule<T>,
}

impl<T: Float> Kernel for Step<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let Self {
            mut params,
            mut grads,
            mut velocity,
            rule:
                Rule {
                    lr,
                    momentum,
                    weight_decay,
                },
        } = self;
        // Weights are held by columns or by rows (`W`, `∂W` and the velocity alike), a bias as a
        // column: either way, go through the values in memory order, as the columns of a
        // column-major matrix.
        if params.row_stride() != 1 {
            params = params.transpose_mut();
            grads = grads.transpose();
            velocity = velocity.map(MatMut::transpose_mut);
        }
        for j in 0..params.ncols() {
            let p = unit_stride_mut(params.rb_mut().col_mut(j));
            let g = unit_stride(grads.col(j));
            // Zipped slices of equal length: the loops vectorise with no bounds checks.
            match velocity.as_mut() {
                None => {
                    for (p, &g) in p.iter_mut().zip(g) {
                        *p -= lr * g;
                    }
                }
                Some(velocity) => {
                    let v = unit_stride_mut(velocity.rb_mut().col_mut(j));
                    for ((p, v), &g) in p.iter_mut().zip(v.iter_mut()).zip(g) {
                        *v = momentum * *v + g + weight_decay * *p;
                        *p -= lr * *v;
                    }
                }
            }
        }
    }
}

fn unit_stride_mut<T>(column: faer::ColMut<'_, T>) -> &mut [T] {
    column
        .try_as_col_major_mut()
        .expect("parameters are stored column-major")
        .as_slice_mut()
}

fn unit_stride<T>(column: faer::ColRef<'_, T>) -> &[T] {
    column
        .try_as_col_major()
        .expect("parameters are stored column-major")
        .as_slice()
}

/// How the learning rate changes over epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LrSchedule {
    /// The same rate every epoch.
    #[default]
    Constant,
    /// Divided by 10 after half and again after three quarters of the epochs.
    Step,
    /// Cosine annealing from the base rate towards 0 over the run.
    Cosine,
}

impl LrSchedule {
    /// Every schedule, for tests and command-line parsing.
    pub const ALL: [LrSchedule; 3] = [Self::Constant, Self::Step, Self::Cosine];

    /// The lower-case name used on the command line and in run files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Constant => "constant",
            Self::Step => "step",
            Self::Cosine => "cosine",
        }
    }

    /// Parses a name produced by [`LrSchedule::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The learning rate of epoch `epoch` (0-based) of `n_epochs`, from the base rate `base`.
    pub fn rate(self, base: f64, epoch: usize, n_epochs: usize) -> f64 {
        let n = n_epochs.max(1) as f64;
        let e = epoch as f64;
        match self {
            Self::Constant => base,
            Self::Step => {
                let drops = (e >= n * 0.5) as i32 + (e >= n * 0.75) as i32;
                base * 0.1f64.powi(drops)
            }
            // Epoch e uses the rate at the midpoint between e and e + 1, so the last epoch is not 0.
            Self::Cosine => base * 0.5 * (1.0 + (std::f64::consts::PI * (e + 0.5) / n).cos()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_names_round_trip() {
        for schedule in LrSchedule::ALL {
            assert_eq!(LrSchedule::from_name(schedule.name()), Some(schedule));
        }
        assert_eq!(LrSchedule::from_name("Cosine"), None);
    }

    #[test]
    fn schedules() {
        assert_eq!(LrSchedule::Constant.rate(0.1, 7, 10), 0.1);
        assert_eq!(LrSchedule::Step.rate(1.0, 4, 10), 1.0);
        assert!((LrSchedule::Step.rate(1.0, 5, 10) - 0.1).abs() < 1e-15);
        assert!((LrSchedule::Step.rate(1.0, 8, 10) - 0.01).abs() < 1e-15);
        let cos: Vec<f64> = (0..10)
            .map(|e| LrSchedule::Cosine.rate(1.0, e, 10))
            .collect();
        assert!(cos.windows(2).all(|w| w[1] < w[0]) && cos[9] > 0.0 && cos[0] < 1.0);
    }
}
