//! The multilayer perceptron: layers, a softmax output, and hand-written back-propagation.

use crate::error::{check_shape, Result};
use crate::plan::{LayerPlan, StepPlan};
use crate::{par, Activation, Float, Layer, MlpError, Softmax};
use faer::MatRef;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A fully connected network of any depth with a softmax output and the mean cross-entropy loss.
///
/// `Mlp::new(&[784, 150, 10], Activation::Sigmoid, seed)` builds a hidden layer of 150 sigmoid units
/// and an output layer of 10 logits (identity activation) followed by [`Softmax`]; `&[784, 10]` is
/// softmax regression. Samples are the **columns** of every batch matrix: an input batch is
/// `(sizes[0], m)`, targets and probabilities are `(n_classes, m)`.
///
/// The method names follow the practical work: [`propagate`](Mlp::propagate) runs the forward pass and
/// keeps what back-propagation needs, [`backpropagate`](Mlp::backpropagate) computes the delta
/// `∂L/∂Z` of every layer and from them the parameter gradients, read with
/// [`gradient_weights`](Mlp::gradient_weights) and [`gradient_bias`](Mlp::gradient_bias), and
/// [`update_params`](Mlp::update_params) takes a plain SGD step.
///
/// ```
/// use faer::Mat;
/// use mlp_core::{Activation, Mlp};
///
/// let mut mlp = Mlp::<f64>::new(&[4, 8, 3], Activation::Sigmoid, 42)?;
/// // Two samples as columns, and their one-hot targets (classes 0 and 2).
/// let x = Mat::from_fn(4, 2, |i, j| (i + j) as f64 / 4.0);
/// let y = Mat::from_fn(3, 2, |i, j| if i == 2 * j { 1.0 } else { 0.0 });
///
/// mlp.propagate(x.as_ref())?;
/// let before = mlp.loss(y.as_ref())?;
/// mlp.backpropagate(x.as_ref(), y.as_ref())?;
/// assert_eq!(mlp.gradient_weights(0)?.shape(), (8, 4));
/// mlp.update_params(0.5)?;
///
/// mlp.propagate(x.as_ref())?;
/// assert!(mlp.loss(y.as_ref())? < before);
/// # Ok::<(), mlp_core::MlpError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Mlp<T> {
    layers: Vec<Layer<T>>,
    softmax: Softmax<T>,
    threads: usize,
    /// How the last batch's work is split between threads: decided by `propagate` before the
    /// forward pass, and handed to the forward pass, back-propagation and the update of that batch.
    plan: StepPlan,
    /// The batch of the last forward pass, so that backpropagate can refuse another one.
    last_input: Option<InputId>,
}

/// Identifies a matrix view by address, shape and strides (never dereferenced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InputId {
    ptr: usize,
    shape: (usize, usize),
    strides: (isize, isize),
}

impl InputId {
    fn of<T>(x: MatRef<'_, T>) -> Self {
        Self {
            ptr: x.as_ptr() as usize,
            shape: x.shape(),
            strides: (x.row_stride(), x.col_stride()),
        }
    }
}

impl<T: Float> Mlp<T> {
    /// A network with the given layer sizes (inputs, hidden…, classes), `activation` on every
    /// hidden layer, and weights drawn from a ChaCha8 generator seeded with `seed`.
    ///
    /// ```
    /// use mlp_core::{Activation, Mlp};
    ///
    /// // The practical work's shallow net: 784 inputs, 150 sigmoid units, 10 classes.
    /// let mlp = Mlp::<f32>::new(&[784, 150, 10], Activation::Sigmoid, 1)?;
    /// assert_eq!(mlp.sizes(), [784, 150, 10]);
    /// // The last layer computes the logits: no activation before the softmax.
    /// assert_eq!(mlp.layers()[1].activation(), Activation::Identity);
    /// assert!(Mlp::<f32>::new(&[784], Activation::Sigmoid, 1).is_err());
    /// # Ok::<(), mlp_core::MlpError>(())
    /// ```
    pub fn new(sizes: &[usize], activation: Activation, seed: u64) -> Result<Self> {
        validate_sizes(sizes)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n_layers = sizes.len() - 1;
        let layers = (0..n_layers)
            .map(|l| {
                let act = if l + 1 == n_layers {
                    Activation::Identity
                } else {
                    activation
                };
                Layer::init(sizes[l], sizes[l + 1], act, &mut rng)
            })
            .collect::<Result<Vec<_>>>()?;
        Self::from_layers(layers)
    }

    /// A network from ready layers; the last one's outputs are the logits.
    pub fn from_layers(layers: Vec<Layer<T>>) -> Result<Self> {
        let Some(last) = layers.last() else {
            return Err(MlpError::InvalidSizes {
                sizes: vec![],
                reason: "a network needs at least one layer",
            });
        };
        for (l, pair) in layers.windows(2).enumerate() {
            check_shape(
                || format!("layer {} input (the outputs of layer {l})", l + 1),
                (pair[0].n_out(), 1),
                (pair[1].n_in(), 1),
            )?;
        }
        let n_classes = last.n_out();
        Ok(Self {
            layers,
            softmax: Softmax::new(n_classes),
            threads: par::default_threads(),
            plan: StepPlan::default(),
            last_input: None,
        })
    }

    /// The layer sizes: inputs, each layer's outputs.
    pub fn sizes(&self) -> Vec<usize> {
        std::iter::once(self.n_inputs())
            .chain(self.layers.iter().map(Layer::n_out))
            .collect()
    }

    /// The number of input features.
    pub fn n_inputs(&self) -> usize {
        self.layers[0].n_in()
    }

    /// The number of classes.
    pub fn n_classes(&self) -> usize {
        self.softmax.n_classes()
    }

    /// The layers, input side first.
    pub fn layers(&self) -> &[Layer<T>] {
        &self.layers
    }

    /// The layers, mutably (to load parameters, or for an optimiser).
    pub fn layers_mut(&mut self) -> &mut [Layer<T>] {
        &mut self.layers
    }

    /// The total number of weights and biases.
    pub fn n_params(&self) -> usize {
        self.layers.iter().map(Layer::n_params).sum()
    }

    /// Limits the threads used by large products (1 makes every product sequential).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Forward propagation of a batch `x` `(n_inputs, m)`: returns the class probabilities
    /// `(n_classes, m)` and keeps every layer's activations for [`Mlp::backpropagate`].
    ///
    /// NaN inputs give NaN outputs.
    ///
    /// ```
    /// use faer::Mat;
    /// use mlp_core::{Activation, Mlp};
    ///
    /// let mut mlp = Mlp::<f64>::new(&[3, 5, 4], Activation::Tanh, 0)?;
    /// let x = Mat::from_fn(3, 2, |i, j| (i + j) as f64); // two samples, as columns
    /// let p = mlp.propagate(x.as_ref())?;
    /// assert_eq!(p.shape(), (4, 2));
    /// let total: f64 = (0..4).map(|i| p[(i, 1)]).sum();
    /// assert!((total - 1.0).abs() < 1e-12); // each column is a probability distribution
    /// # Ok::<(), mlp_core::MlpError>(())
    /// ```
    pub fn propagate(&mut self, x: MatRef<'_, T>) -> Result<MatRef<'_, T>> {
        let m = x.ncols();
        check_shape(
            || "propagate input (layer 0)".into(),
            (self.n_inputs(), m),
            x.shape(),
        )?;
        if m == 0 {
            return Err(MlpError::EmptyBatch { what: "propagate" });
        }
        let shapes = self.layers.iter().map(|l| (l.n_out(), l.n_in()));
        self.plan.prepare(shapes, m, self.threads);
        self.layers[0].forward(x, self.plan.layer(0));
        for l in 1..self.layers.len() {
            let (below, above) = self.layers.split_at_mut(l);
            above[0].forward(below[l - 1].output(m), self.plan.layer(l));
        }
        self.last_input = Some(InputId::of(x));
        let logits = self.layers.last().expect("at least one layer").output(m);
        self.softmax.propagate(logits)
    }

    /// The probabilities of the last forward pass, `(n_classes, m)`.
    pub fn probabilities(&self) -> Result<MatRef<'_, T>> {
        self.batch_size()?;
        Ok(self.softmax.probabilities())
    }

    /// The logits `Z_L` of the last forward pass — the last layer's outputs, which the softmax
    /// turns into probabilities — `(n_classes, m)`.
    ///
    /// ```
    /// use faer::Mat;
    /// use mlp_core::{Activation, Mlp};
    ///
    /// let mut mlp = Mlp::<f64>::new(&[3, 4, 2], Activation::Tanh, 1)?;
    /// mlp.propagate(Mat::from_fn(3, 5, |i, j| (i * j) as f64).as_ref())?;
    /// let (z, p) = (mlp.logits()?, mlp.probabilities()?);
    /// // The softmax of a column: p₀ / p₁ = e^(z₀ − z₁).
    /// assert!((p[(0, 4)] / p[(1, 4)] - (z[(0, 4)] - z[(1, 4)]).exp()).abs() < 1e-12);
    /// # Ok::<(), mlp_core::MlpError>(())
    /// ```
    pub fn logits(&self) -> Result<MatRef<'_, T>> {
        let m = self.batch_size()?;
        Ok(self.layers.last().expect("at least one layer").output(m))
    }

    /// The outputs `A_l = f(W_l·A_(l−1) + b_l)` of layer `layer` in the last forward pass,
    /// `(n_out, m)`: a hidden layer's activations, or the logits for the last layer. What a
    /// visualisation shows of the network at work.
    ///
    /// ```
    /// use faer::Mat;
    /// use mlp_core::{Activation, Mlp};
    ///
    /// let mut mlp = Mlp::<f64>::new(&[3, 4, 2], Activation::Relu, 1)?;
    /// mlp.propagate(Mat::from_fn(3, 5, |i, j| (i + j) as f64).as_ref())?;
    /// let hidden = mlp.activations(0)?;
    /// assert_eq!(hidden.shape(), (4, 5));
    /// assert!((0..4).all(|i| (0..5).all(|j| hidden[(i, j)] >= 0.0))); // ReLU outputs
    /// assert_eq!(mlp.activations(1)?, mlp.logits()?);
    /// # Ok::<(), mlp_core::MlpError>(())
    /// ```
    pub fn activations(&self, layer: usize) -> Result<MatRef<'_, T>> {
        let m = self.batch_size()?;
        Ok(self.layer(layer)?.output(m))
    }

    /// The mean cross-entropy of the last forward pass against one-hot `targets` `(n_classes, m)`.
    pub fn loss(&self, targets: MatRef<'_, T>) -> Result<T> {
        self.softmax.loss(self.logits()?, targets)
    }

    /// Back-propagation of the last forward pass against one-hot `targets` `(n_classes, m)`.
    ///
    /// Computes the delta `Δ_l = ∂L/∂Z_l` of every layer, starting from `(P − Y)/m` at the softmax and
    /// going down with `Δ_{l−1} = (W_lᵀ·Δ_l) ⊙ f'(A_{l−1})`, and the gradients `∂L/∂W_l = Δ_l·A_{l−1}ᵀ`,
    /// `∂L/∂b_l = Δ_l·1`. `x` must be the batch given to [`Mlp::propagate`]: the first layer's weight
    /// gradient needs it, and the network does not copy it.
    ///
    /// ```
    /// use faer::Mat;
    /// use mlp_core::{Activation, Mlp};
    ///
    /// let mut mlp = Mlp::<f64>::new(&[2, 3, 2], Activation::Sigmoid, 0)?;
    /// let x = Mat::from_fn(2, 1, |i, _| i as f64 + 0.5);
    /// let y = Mat::from_fn(2, 1, |i, _| if i == 0 { 1.0 } else { 0.0 });
    /// mlp.propagate(x.as_ref())?;
    /// mlp.backpropagate(x.as_ref(), y.as_ref())?;
    /// let analytic = mlp.gradient_weights(0)?[(1, 0)];
    ///
    /// // The same derivative as a central difference of the loss.
    /// let (w, h) = (mlp.layers()[0].weights()[(1, 0)], 1e-6);
    /// let mut loss_at = |w: f64| -> mlp_core::Result<f64> {
    ///     mlp.layers_mut()[0].weights_mut()[(1, 0)] = w;
    ///     mlp.propagate(x.as_ref())?;
    ///     mlp.loss(y.as_ref())
    /// };
    /// let numeric = (loss_at(w + h)? - loss_at(w - h)?) / (2.0 * h);
    /// assert!((analytic - numeric).abs() < 1e-8);
    /// # Ok::<(), mlp_core::MlpError>(())
    /// ```
    pub fn backpropagate(&mut self, x: MatRef<'_, T>, targets: MatRef<'_, T>) -> Result<()> {
        let m = self.batch_size()?;
        if self.last_input != Some(InputId::of(x)) {
            return Err(MlpError::InputChanged { found: x.shape() });
        }
        check_shape(
            || "backpropagate targets".into(),
            (self.n_classes(), m),
            targets.shape(),
        )?;
        let n_layers = self.layers.len();
        let last = &mut self.layers[n_layers - 1];
        self.softmax
            .backpropagate(targets, last.delta_slice_mut(m))?;
        for l in (0..n_layers).rev() {
            let (below, above) = self.layers.split_at_mut(l);
            let (layer, plan) = (&mut above[0], self.plan.layer(l));
            match below.last_mut() {
                Some(below) => layer.backpropagate_into(below, m, plan),
                None => layer.compute_gradients(x, plan),
            }
        }
        Ok(())
    }

    /// `∂L/∂W` of layer `layer` (0 = the input side) from the last back-propagation.
    ///
    /// ```
    /// use faer::Mat;
    /// use mlp_core::{Activation, Mlp};
    ///
    /// let mut mlp = Mlp::<f64>::new(&[4, 3, 2], Activation::Relu, 0)?;
    /// let (x, y) = (Mat::<f64>::ones(4, 5), Mat::from_fn(2, 5, |i, _| i as f64));
    /// mlp.propagate(x.as_ref())?;
    /// mlp.backpropagate(x.as_ref(), y.as_ref())?;
    /// assert_eq!(mlp.gradient_weights(0)?.shape(), (3, 4)); // shaped like W₀
    /// assert_eq!(mlp.gradient_bias(1)?.len(), 2);
    /// assert!(mlp.gradient_weights(2).is_err()); // two layers: 0 and 1
    /// # Ok::<(), mlp_core::MlpError>(())
    /// ```
    pub fn gradient_weights(&self, layer: usize) -> Result<MatRef<'_, T>> {
        Ok(self.layer(layer)?.gradient_weights())
    }

    /// `∂L/∂b` of layer `layer` from the last back-propagation.
    pub fn gradient_bias(&self, layer: usize) -> Result<&[T]> {
        Ok(self.layer(layer)?.gradient_bias())
    }

    /// One plain SGD step on every parameter: `θ ← θ − learning_rate · ∂L/∂θ`.
    ///
    /// ```
    /// use faer::Mat;
    /// use mlp_core::{Activation, Mlp};
    ///
    /// let mut mlp = Mlp::<f64>::new(&[2, 4, 2], Activation::Tanh, 3)?;
    /// let x = Mat::from_fn(2, 4, |i, j| if i == j % 2 { 1.0 } else { -1.0 });
    /// let y = Mat::from_fn(2, 4, |i, j| if i == j % 2 { 1.0 } else { 0.0 });
    /// mlp.propagate(x.as_ref())?;
    /// let before = mlp.loss(y.as_ref())?;
    /// mlp.backpropagate(x.as_ref(), y.as_ref())?;
    /// mlp.update_params(0.1)?; // one small step against the gradient
    /// mlp.propagate(x.as_ref())?;
    /// assert!(mlp.loss(y.as_ref())? < before);
    /// # Ok::<(), mlp_core::MlpError>(())
    /// ```
    pub fn update_params(&mut self, learning_rate: f64) -> Result<()> {
        if !(learning_rate.is_finite() && learning_rate > 0.0) {
            return Err(MlpError::InvalidHyperParameter {
                name: "learning rate",
                value: learning_rate,
                reason: "must be finite and positive",
            });
        }
        let lr = T::from_f64(learning_rate);
        for (l, layer) in self.layers.iter_mut().enumerate() {
            crate::optim::sgd_step(layer, lr, self.plan.layer(l));
        }
        Ok(())
    }

    /// How the last batch's work on layer `layer` is split (everything sequential before the first
    /// batch), for the optimiser's update.
    pub(crate) fn layer_plan(&self, layer: usize) -> LayerPlan {
        self.plan.layer(layer)
    }

    fn layer(&self, index: usize) -> Result<&Layer<T>> {
        self.layers.get(index).ok_or(MlpError::NoSuchLayer {
            index,
            n_layers: self.layers.len(),
        })
    }

    fn batch_size(&self) -> Result<usize> {
        self.last_input
            .map(|id| id.shape.1)
            .ok_or(MlpError::NoForwardPass)
    }
}

/// Checks that `sizes` describes a network: at least inputs and classes, every width ≥ 1.
pub(crate) fn validate_sizes(sizes: &[usize]) -> Result<()> {
    if sizes.len() < 2 {
        return Err(MlpError::InvalidSizes {
            sizes: sizes.to_vec(),
            reason: "need at least the number of inputs and the number of classes",
        });
    }
    if sizes.contains(&0) {
        return Err(MlpError::InvalidSizes {
            sizes: sizes.to_vec(),
            reason: "every width must be at least 1",
        });
    }
    Ok(())
}
