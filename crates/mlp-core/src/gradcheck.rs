//! Finite-difference gradient checking of an [`Mlp<f64>`]: every weight and bias, or a seeded sample.
//!
//! For each checked parameter θ the loss is evaluated at θ + h and θ − h with [`Mlp::propagate`] and
//! [`Mlp::loss`], and the central difference `(L(θ + h) − L(θ − h)) / 2h` is compared with the
//! gradient that [`Mlp::backpropagate`] computed. Nothing here uses back-propagation to get the
//! numeric side, so a wrong backward pass cannot hide behind itself.
//!
//! ```
//! use faer::Mat;
//! use mlp_core::gradcheck::{check_gradients, ParamSelection};
//! use mlp_core::{Activation, Mlp};
//!
//! let mut mlp = Mlp::<f64>::new(&[4, 5, 3], Activation::Tanh, 7)?;
//! let x = Mat::from_fn(4, 2, |i, j| (i as f64 - j as f64) / 3.0);
//! let y = Mat::from_fn(3, 2, |i, j| if i == j { 1.0 } else { 0.0 });
//! let report = check_gradients(&mut mlp, x.as_ref(), y.as_ref(), ParamSelection::All, 0)?;
//! assert_eq!(report.checked, mlp.n_params());
//! assert!(report.passed(), "{:?}", report.worst);
//! # Ok::<(), mlp_core::MlpError>(())
//! ```

use crate::error::{check_shape, Result};
use crate::{Mlp, MlpError};
use faer::{Mat, MatRef};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

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

/// How many ε·S of rounding error the difference of two loss evaluations is assumed to carry, where
/// S = max(1, |L|, largest |logit|) is the [`GradCheckReport::rounding_scale`].
///
/// Each loss is a mean of per-sample `log-sum-exp − z_y` terms, which round relative to the logits
/// (not to their difference, the loss), and the two evaluations round independently. Measured over
/// 20 000 random nets (depth 1 to 5, widths to 16, every activation) and ~200 000 parameters of MNIST
/// nets: at most 7.1. 16 leaves a factor 2.
const ROUNDING_ULPS: f64 = 16.0;

/// Whether a parameter is a weight or a bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// An entry of a weight matrix W `(n_out, n_in)`.
    Weight,
    /// An entry of a bias b `(n_out,)`; its column is always 0.
    Bias,
}

impl ParamKind {
    /// `"weight"` or `"bias"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Weight => "weight",
            Self::Bias => "bias",
        }
    }
}

/// One scalar parameter of a network: `W_layer[row, col]`, or `b_layer[row]` (with `col == 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Param {
    /// The layer, 0 on the input side.
    pub layer: usize,
    /// Weight or bias.
    pub kind: ParamKind,
    /// The row: the output unit.
    pub row: usize,
    /// The column: the input unit (0 for a bias).
    pub col: usize,
}

/// Which parameters to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamSelection {
    /// Every weight and every bias.
    All,
    /// Up to N entries drawn (without replacement, from the seed) from each weight matrix and N from
    /// each bias; a matrix or bias with N entries or fewer is checked whole.
    PerLayer(usize),
    /// Exactly these parameters (e.g. a test skipping ReLU kinks).
    Only(Vec<Param>),
}

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

/// The smallest denominator of the relative error, for a rounding scale `scale` (see
/// [`GradCheckReport::rounding_scale`]) and a step `h`.
///
/// A pure relative error |a − n| / max(|a|, |n|) is meaningless for tiny gradients: the central
/// difference carries an absolute rounding error of up to δ = 16·ε·S / 2h (≈ 4e-9 for S ≈ 2.3 and
/// h = 1e-6, see [`RELATIVE_STEP`]), so a correct gradient of 1e-5 could show a relative error up
/// to 4e-4. The floor is δ / [`THRESHOLD`] (≈ 1.4e-2 for that S): below it the comparison becomes
/// absolute, and a correct gradient's error — at most δ — stays within the threshold whatever its
/// size. Above it the error is truly relative.
///
/// A floor at the noise level itself (δ, or the typical 1e-10) would not do: a gradient that small
/// would then be compared at its own noise level, and its relative error could be near 1, far above
/// the threshold. A bug still shows: any discrepancy larger than δ fails, and δ is tiny next to the
/// gradients of an untrained network (~1e-4 to 1e-1).
pub fn denominator_floor(scale: f64, h: f64) -> f64 {
    ROUNDING_ULPS * f64::EPSILON * scale / (2.0 * h) / THRESHOLD
}

/// `|analytic − numeric| / max(|analytic|, |numeric|, floor)`, or infinity if either is not finite.
pub fn relative_error(analytic: f64, numeric: f64, floor: f64) -> f64 {
    if !(analytic.is_finite() && numeric.is_finite()) {
        return f64::INFINITY;
    }
    let scale = analytic.abs().max(numeric.abs()).max(floor);
    if scale == 0.0 {
        0.0
    } else {
        (analytic - numeric).abs() / scale
    }
}

/// The floor of [`max_relative_errors`], relative to the largest gradient entry of either set.
///
/// Two exact methods (e.g. back-propagation and a reverse-mode tape) differ only in the order of
/// their sums, by a few ε times the summands, which are at most about the largest gradient entry G.
/// An entry far smaller than G is the result of cancellation, and its rounding is relative to G,
/// not to itself: below 1e-3·G the comparison becomes absolute (measured: |a − b| ≤ 1e-15·G).
pub const SUMMATION_FLOOR: f64 = 1e-3;

/// The largest relative error between two gradient sets `a` and `b` of the same shapes, per layer:
/// `(weights, bias)`, with the floor [`SUMMATION_FLOOR`] · max(1, largest |entry| of either set).
///
/// For comparing two exact methods; a finite difference needs [`check_gradients`] instead.
pub fn max_relative_errors(a: &[LayerGradient], b: &[LayerGradient]) -> Result<Vec<(f64, f64)>> {
    check_shape(
        || "gradient sets (layers)".into(),
        (a.len(), 1),
        (b.len(), 1),
    )?;
    for (l, ((aw, ab), (bw, bb))) in a.iter().zip(b).enumerate() {
        check_shape(
            || format!("layer {l} weight gradient"),
            aw.shape(),
            bw.shape(),
        )?;
        check_shape(
            || format!("layer {l} bias gradient"),
            (ab.len(), 1),
            (bb.len(), 1),
        )?;
    }
    let largest = a
        .iter()
        .chain(b)
        .flat_map(|(w, bias)| entries(w).chain(bias.iter().copied()))
        .fold(1.0f64, |m, v| m.max(v.abs()));
    let floor = SUMMATION_FLOOR * largest;
    Ok(a.iter()
        .zip(b)
        .map(|((aw, ab), (bw, bb))| {
            (
                max_error(entries(aw), entries(bw), floor),
                max_error(ab.iter().copied(), bb.iter().copied(), floor),
            )
        })
        .collect())
}

fn max_error(a: impl Iterator<Item = f64>, b: impl Iterator<Item = f64>, floor: f64) -> f64 {
    a.zip(b)
        .map(|(a, b)| relative_error(a, b, floor))
        .fold(0.0, f64::max)
}

/// The entries of a matrix, column by column.
fn entries(w: &Mat<f64>) -> impl Iterator<Item = f64> + '_ {
    (0..w.ncols()).flat_map(move |c| (0..w.nrows()).map(move |r| w[(r, c)]))
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
    check_shape(
        || "gradient check: analytic gradients (layers)".into(),
        (mlp.layers().len(), 1),
        (analytic.len(), 1),
    )?;
    for (l, (layer, (gw, gb))) in mlp.layers().iter().zip(analytic).enumerate() {
        check_shape(
            || format!("gradient check: layer {l} weight gradient"),
            layer.weights().shape(),
            gw.shape(),
        )?;
        check_shape(
            || format!("gradient check: layer {l} bias gradient"),
            (layer.n_out(), 1),
            (gb.len(), 1),
        )?;
    }
    let params = select_params(mlp, &selection, seed)?;
    let Some(&first) = params.first() else {
        return Err(MlpError::InvalidHyperParameter {
            name: "number of parameters to check",
            value: 0.0,
            reason: "must be at least 1",
        });
    };
    let loss = loss_at(mlp, x, targets)?;
    let rounding_scale = rounding_scale(mlp, loss, x.ncols());
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

/// The parameters a selection names, in layer order, weights (column-major) before biases.
///
/// Fails on `PerLayer(0)` and on an `Only` entry outside the network.
pub fn select_params(mlp: &Mlp<f64>, selection: &ParamSelection, seed: u64) -> Result<Vec<Param>> {
    let layers = mlp.layers();
    let every = |layer: usize, kind: ParamKind, flat: usize| {
        let n_out = layers[layer].n_out();
        Param {
            layer,
            kind,
            row: flat % n_out,
            col: flat / n_out,
        }
    };
    match selection {
        ParamSelection::All => Ok(layers
            .iter()
            .enumerate()
            .flat_map(|(l, layer)| {
                let weights =
                    (0..layer.n_out() * layer.n_in()).map(move |i| (l, ParamKind::Weight, i));
                let bias = (0..layer.n_out()).map(move |i| (l, ParamKind::Bias, i));
                weights.chain(bias)
            })
            .map(|(l, kind, i)| every(l, kind, i))
            .collect()),
        &ParamSelection::PerLayer(n) => {
            if n == 0 {
                return Err(MlpError::InvalidHyperParameter {
                    name: "parameters per layer",
                    value: 0.0,
                    reason: "must be at least 1",
                });
            }
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut params = Vec::new();
            for (l, layer) in layers.iter().enumerate() {
                for (kind, len) in [
                    (ParamKind::Weight, layer.n_out() * layer.n_in()),
                    (ParamKind::Bias, layer.n_out()),
                ] {
                    let mut picked = rand::seq::index::sample(&mut rng, len, n.min(len)).into_vec();
                    picked.sort_unstable();
                    params.extend(picked.into_iter().map(|i| every(l, kind, i)));
                }
            }
            Ok(params)
        }
        ParamSelection::Only(params) => {
            for p in params {
                check_param(mlp, *p)?;
            }
            Ok(params.clone())
        }
    }
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

/// max(1, |L|, largest |logit|) of the last forward pass, of `m` samples.
fn rounding_scale(mlp: &Mlp<f64>, loss: f64, m: usize) -> f64 {
    let mut scale = loss.abs().max(1.0);
    if let Some(last) = mlp.layers().last() {
        // The last layer's activations are the logits (its activation is the identity).
        let z = last.output(m);
        for j in 0..z.ncols() {
            for i in 0..z.nrows() {
                scale = scale.max(z[(i, j)].abs());
            }
        }
    }
    scale
}

fn check_param(mlp: &Mlp<f64>, p: Param) -> Result<()> {
    let n_layers = mlp.layers().len();
    let layer = mlp.layers().get(p.layer).ok_or(MlpError::NoSuchLayer {
        index: p.layer,
        n_layers,
    })?;
    let (shape, what) = match p.kind {
        ParamKind::Weight => (layer.weights().shape(), "weights"),
        ParamKind::Bias => ((layer.n_out(), 1), "bias"),
    };
    if p.row < shape.0 && p.col < shape.1 {
        Ok(())
    } else {
        Err(MlpError::ShapeMismatch {
            what: format!(
                "gradient check: index ({}, {}) is outside layer {} {what}",
                p.row, p.col, p.layer
            ),
            expected: shape,
            found: (p.row + 1, p.col + 1),
        })
    }
}

/// The current value of parameter `p` of `mlp` (`p` must exist: see [`select_params`]).
pub fn get(mlp: &Mlp<f64>, p: Param) -> f64 {
    let layer = &mlp.layers()[p.layer];
    match p.kind {
        ParamKind::Weight => layer.weights()[(p.row, p.col)],
        ParamKind::Bias => layer.bias()[p.row],
    }
}

/// Sets parameter `p` of `mlp` to `value` (`p` must exist: see [`select_params`]).
pub fn set(mlp: &mut Mlp<f64>, p: Param, value: f64) {
    let layer = &mut mlp.layers_mut()[p.layer];
    match p.kind {
        ParamKind::Weight => layer.weights_mut()[(p.row, p.col)] = value,
        ParamKind::Bias => layer.bias_mut()[p.row] = value,
    }
}

/// Keeps in `slot` whichever of it and `candidate` has the larger relative error (the first on ties).
fn keep_worse(slot: &mut Option<ParamReport>, candidate: ParamReport) {
    if slot.is_none_or(|s| candidate.relative_error > s.relative_error) {
        *slot = Some(candidate);
    }
}
