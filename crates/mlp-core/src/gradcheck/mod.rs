//! Finite-difference gradient checking of an [`Mlp<f64>`]: every weight and bias, or a seeded sample.
//!
//! For each checked parameter θ the loss is evaluated at θ + h and θ − h with [`Mlp::propagate`] and
//! [`Mlp::loss`], and the central difference `(L(θ + h) − L(θ − h)) / 2h` is compared with the
//! gradient that [`Mlp::backpropagate`] computed. Nothing here uses back-propagation to get the
//! numeric side, so a wrong backward pass cannot hide behind itself.
//!
//! The check is a client of the network like any other: it uses only [`Mlp`]'s public API (sets a
//! parameter through [`Mlp::layers_mut`], propagates, reads [`Mlp::loss`] and [`Mlp::logits`]). [`check_gradients`] is the entry point.

mod compare;
mod params;

pub use compare::{denominator_floor, max_relative_errors, relative_error, SUMMATION_FLOOR};
pub use params::{get, select_params, set, Param, ParamKind, ParamSelection};

use crate::error::Result;
use crate::{Mlp, MlpError};
use compare::check_gradient_shapes;
use faer::{Mat, MatRef};
use params::check_param;

/// One layer's gradient: ∂L/∂W, shaped `(n_out, n_in)` like W, and ∂L/∂b, of length `n_out`.
pub type LayerGradient = (Mat<f64>, Vec<f64>);

/// The largest relative error a correct gradient may show: the practical work's threshold.
pub const THRESHOLD: f64 = 3e-7;

/// The step relative to the parameter: h = `RELATIVE_STEP` · max(1, |θ|).
///
/// A central difference errs by h²·L'''/6 from truncation and by a few ε·S/2h from rounding the two
/// losses (ε = 2.2e-16, S ≈ the size of the logits and of L; see [`denominator_floor`]). h = 1e-6
/// keeps the truncation part near 1e-12, below the rounding part (~1e-10·S), while the two losses
/// still differ in about their tenth significant digit. (The step minimising the sum, ε^(1/3) ≈ 6e-6,
/// would cut the rounding part by 6 at most.)
///
/// The step is absolute for |θ| ≤ 1 (a relative one would vanish at θ = 0) and relative beyond, so
/// that θ ± h always differs from θ around its sixth significant digit, far from its last bits.
pub const RELATIVE_STEP: f64 = 1e-6;

/// The outcome for one parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamReport {
    /// The parameter.
    pub param: Param,
    /// The gradient being checked (from back-propagation, or as given).
    pub analytic: f64,
    /// The central difference.
    pub numeric: f64,
    /// `|analytic − numeric| / max(|analytic|, |numeric|, floor)`; see [`relative_error`] and
    /// [`denominator_floor`]. Infinite if either side is not finite.
    pub relative_error: f64,
}

/// The worst entries of one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerReport {
    /// The layer, 0 on the input side.
    pub layer: usize,
    /// How many weights were checked.
    pub weights_checked: usize,
    /// How many biases were checked.
    pub bias_checked: usize,
    /// The weight with the largest relative error, if any weight was checked.
    pub worst_weight: Option<ParamReport>,
    /// The bias with the largest relative error, if any bias was checked.
    pub worst_bias: Option<ParamReport>,
}

/// The outcome of a gradient check.
#[derive(Debug, Clone, PartialEq)]
pub struct GradCheckReport {
    /// One entry per layer, input side first.
    pub per_layer: Vec<LayerReport>,
    /// The parameter with the largest relative error over the whole network.
    pub worst: ParamReport,
    /// How many parameters were checked.
    pub checked: usize,
    /// The loss at the unperturbed parameters.
    pub loss: f64,
    /// S = max(1, |L|, largest |logit| of the batch): the size of the numbers whose rounding makes
    /// the noise of the loss, and so of the central differences (see [`denominator_floor`]).
    pub rounding_scale: f64,
}

impl GradCheckReport {
    /// Whether every checked relative error is at most [`THRESHOLD`].
    pub fn passed(&self) -> bool {
        self.worst.relative_error <= THRESHOLD
    }
}

/// The step h = [`RELATIVE_STEP`] · max(1, |θ|) used for parameter value `theta`.
pub fn step(theta: f64) -> f64 {
    RELATIVE_STEP * theta.abs().max(1.0)
}

/// Runs one forward and one backward pass of `x` against `targets` and copies out every layer's
/// `(∂L/∂W, ∂L/∂b)`.
pub fn backprop_gradients(
    mlp: &mut Mlp<f64>,
    x: MatRef<'_, f64>,
    targets: MatRef<'_, f64>,
) -> Result<Vec<LayerGradient>> {
    mlp.propagate(x)?;
    mlp.backpropagate(x, targets)?;
    (0..mlp.layers().len())
        .map(|l| {
            Ok((
                mlp.gradient_weights(l)?.to_owned(),
                mlp.gradient_bias(l)?.to_vec(),
            ))
        })
        .collect()
}

/// Checks the gradients of back-propagation against central differences.
///
/// Runs [`backprop_gradients`] and then [`check_gradients_against`]. `seed` draws the parameters of
/// [`ParamSelection::PerLayer`] and is ignored otherwise. Every perturbed parameter is restored to its
/// exact value, and the network is left holding the forward pass of `x`.
///
/// ```
/// use faer::Mat;
/// use mlp_core::gradcheck::{check_gradients, ParamSelection};
/// use mlp_core::{Activation, Mlp};
///
/// let mut mlp = Mlp::<f64>::new(&[4, 5, 3], Activation::Tanh, 7)?;
/// let x = Mat::from_fn(4, 2, |i, j| (i as f64 - j as f64) / 3.0);
/// let y = Mat::from_fn(3, 2, |i, j| if i == j { 1.0 } else { 0.0 });
/// let report = check_gradients(&mut mlp, x.as_ref(), y.as_ref(), ParamSelection::All, 0)?;
/// assert_eq!(report.checked, mlp.n_params());
/// assert!(report.passed(), "{:?}", report.worst);
/// # Ok::<(), mlp_core::MlpError>(())
/// ```
pub fn check_gradients(
    mlp: &mut Mlp<f64>,
    x: MatRef<'_, f64>,
    targets: MatRef<'_, f64>,
    selection: ParamSelection,
    seed: u64,
) -> Result<GradCheckReport> {
    let analytic = backprop_gradients(mlp, x, targets)?;
    check_gradients_against(mlp, x, targets, &analytic, selection, seed)
}

/// Checks a given set of gradients `analytic` (one `(∂L/∂W, ∂L/∂b)` per layer, shaped like the
/// parameters) against central differences of the loss of `mlp` on `x` and `targets`.
///
/// This is [`check_gradients`] without the back-propagation, so that a test can hand it a gradient
/// with a planted error and see the check fail. Large checks run on several threads, each on its own
/// copy of the network; the parameters of `mlp` itself are restored exactly.
pub fn check_gradients_against(
    mlp: &mut Mlp<f64>,
    x: MatRef<'_, f64>,
    targets: MatRef<'_, f64>,
    analytic: &[LayerGradient],
    selection: ParamSelection,
    seed: u64,
) -> Result<GradCheckReport> {
    let shapes = mlp
        .layers()
        .iter()
        .map(|l| (l.weights().shape(), l.n_out()));
    check_gradient_shapes("gradient check: analytic gradients", shapes, analytic)?;
    let params = select_params(mlp, &selection, seed)?;
    let Some(&first) = params.first() else {
        return Err(MlpError::InvalidHyperParameter {
            name: "number of parameters to check",
            value: 0.0,
            reason: "must be at least 1",
        });
    };
    let loss = loss_at(mlp, x, targets)?;
    let rounding_scale = rounding_scale(mlp, loss)?;
    let numeric = numeric_gradients(mlp, x, targets, &params)?;
    // Leave the network holding the forward pass of x at its own parameters.
    mlp.propagate(x)?;

    let mut per_layer: Vec<LayerReport> = (0..mlp.layers().len())
        .map(|layer| LayerReport {
            layer,
            weights_checked: 0,
            bias_checked: 0,
            worst_weight: None,
            worst_bias: None,
        })
        .collect();
    let mut worst: Option<ParamReport> = None;
    for (&param, &numeric) in params.iter().zip(&numeric) {
        let (gw, gb) = &analytic[param.layer];
        let (analytic, theta) = match param.kind {
            ParamKind::Weight => (
                gw[(param.row, param.col)],
                mlp.layers()[param.layer].weights()[(param.row, param.col)],
            ),
            ParamKind::Bias => (gb[param.row], mlp.layers()[param.layer].bias()[param.row]),
        };
        let floor = denominator_floor(rounding_scale, step(theta));
        let report = ParamReport {
            param,
            analytic,
            numeric,
            relative_error: relative_error(analytic, numeric, floor),
        };
        let layer = &mut per_layer[param.layer];
        let slot = match param.kind {
            ParamKind::Weight => {
                layer.weights_checked += 1;
                &mut layer.worst_weight
            }
            ParamKind::Bias => {
                layer.bias_checked += 1;
                &mut layer.worst_bias
            }
        };
        keep_worse(slot, report);
        keep_worse(&mut worst, report);
    }
    Ok(GradCheckReport {
        per_layer,
        // Unreachable fallback: `params` is not empty, so `worst` was set.
        worst: worst.unwrap_or(ParamReport {
            param: first,
            analytic: f64::NAN,
            numeric: f64::NAN,
            relative_error: f64::INFINITY,
        }),
        checked: params.len(),
        loss,
        rounding_scale,
    })
}

/// One central difference `(L(θ + h) − L(θ − h)) / ((θ + h) − (θ − h))`, θ restored exactly after.
///
/// The denominator is the step actually taken after rounding θ ± h, not 2h.
pub fn numeric_gradient(
    mlp: &mut Mlp<f64>,
    x: MatRef<'_, f64>,
    targets: MatRef<'_, f64>,
    param: Param,
) -> Result<f64> {
    check_param(mlp, param)?;
    central_difference(mlp, x, targets, param)
}

/// Below this many multiply-adds in all, the finite differences run on the calling thread: spawning
/// threads and copying the network would cost more than it saves.
const PARALLEL_MIN_MACS: usize = 1 << 26;

/// The central differences of `params`, split over threads when the work is large.
fn numeric_gradients(
    mlp: &mut Mlp<f64>,
    x: MatRef<'_, f64>,
    targets: MatRef<'_, f64>,
    params: &[Param],
) -> Result<Vec<f64>> {
    // Each difference is two forward passes of about n_params · m multiply-adds each.
    let macs = params
        .len()
        .saturating_mul(2)
        .saturating_mul(mlp.n_params())
        .saturating_mul(x.ncols());
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(params.len());
    if threads <= 1 || macs < PARALLEL_MIN_MACS {
        return params
            .iter()
            .map(|&p| central_difference(mlp, x, targets, p))
            .collect();
    }
    let chunk = params.len().div_ceil(threads);
    let mine: &Mlp<f64> = mlp;
    let results = std::thread::scope(|s| {
        let handles: Vec<_> = params
            .chunks(chunk)
            .map(|chunk| {
                s.spawn(move || {
                    // Each thread perturbs its own copy; one thread per copy, so no nested parallelism.
                    let mut copy = mine.clone();
                    copy.set_threads(1);
                    chunk
                        .iter()
                        .map(|&p| central_difference(&mut copy, x, targets, p))
                        .collect::<Result<Vec<f64>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect::<Vec<_>>()
    });
    let mut numeric = Vec::with_capacity(params.len());
    for chunk in results {
        numeric.extend(chunk?);
    }
    Ok(numeric)
}

/// The central difference of an already validated parameter.
fn central_difference(
    mlp: &mut Mlp<f64>,
    x: MatRef<'_, f64>,
    targets: MatRef<'_, f64>,
    param: Param,
) -> Result<f64> {
    let theta = get(mlp, param);
    let h = step(theta);
    let (up, down) = (theta + h, theta - h);
    set(mlp, param, up);
    let loss_up = loss_at(mlp, x, targets);
    set(mlp, param, down);
    let loss_down = loss_at(mlp, x, targets);
    // Restore before looking at the results, so that an error leaves the network as it was.
    set(mlp, param, theta);
    Ok((loss_up? - loss_down?) / (up - down))
}

fn loss_at(mlp: &mut Mlp<f64>, x: MatRef<'_, f64>, targets: MatRef<'_, f64>) -> Result<f64> {
    mlp.propagate(x)?;
    mlp.loss(targets)
}

/// max(1, |L|, largest |logit|) of the last forward pass.
fn rounding_scale(mlp: &Mlp<f64>, loss: f64) -> Result<f64> {
    let z = mlp.logits()?;
    let mut scale = loss.abs().max(1.0);
    for j in 0..z.ncols() {
        for i in 0..z.nrows() {
            scale = scale.max(z[(i, j)].abs());
        }
    }
    Ok(scale)
}

/// Keeps in `slot` whichever of it and `candidate` has the larger relative error (the first on ties).
fn keep_worse(slot: &mut Option<ParamReport>, candidate: ParamReport) {
    if slot.is_none_or(|s| candidate.relative_error > s.relative_error) {
        *slot = Some(candidate);
    }
}
