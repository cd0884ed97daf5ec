//! The tape (a Wengert list): every value ever computed, in creation order, with how it was made.

use crate::error::{AutogradError, Result};
use crate::matrix::Matrix;

/// A handle to a value on a [`Tape`]: the index of its node.
///
/// Only meaningful for the tape that created it; using it with another tape may panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Var(usize);

/// How a node was computed: the primitive and the ids of its parents.
#[derive(Debug)]
enum Op {
    Leaf,
    MatMul(usize, usize),
    AddBias(usize, usize),
    Sigmoid(usize),
    Tanh(usize),
    Relu(usize),
    Identity(usize),
    /// `probs` are the softmax probabilities, kept from the forward pass for the backward pass.
    SoftmaxCrossEntropy {
        logits: usize,
        labels: Vec<usize>,
        probs: Matrix,
    },
    Sum(usize),
}

#[derive(Debug)]
struct Node {
    value: Matrix,
    /// d loss / d value, filled in by `backward` (zeros until then).
    grad: Matrix,
    op: Op,
}

/// An arena of nodes. Parents are always created before their children, so creation order is a
/// topological order and `backward` simply walks the nodes in reverse.
#[derive(Debug, Default)]
pub struct Tape {
    nodes: Vec<Node>,
}

impl Tape {
    /// An empty tape.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, value: Matrix, op: Op) -> Var {
        let grad = Matrix::zeros(value.rows(), value.cols());
        self.nodes.push(Node { value, grad, op });
        Var(self.nodes.len() - 1)
    }

    /// The value of `v`.
    pub fn value(&self, v: Var) -> &Matrix {
        &self.nodes[v.0].value
    }

    /// d loss / d `v` from the last [`backward`](Self::backward) (zeros before any).
    pub fn grad(&self, v: Var) -> &Matrix {
        &self.nodes[v.0].grad
    }

    /// An input or parameter.
    pub fn leaf(&mut self, value: Matrix) -> Var {
        self.push(value, Op::Leaf)
    }

    /// The matrix product `a · b`.
    pub fn matmul(&mut self, a: Var, b: Var) -> Result<Var> {
        let (av, bv) = (self.value(a), self.value(b));
        if av.cols() != bv.rows() {
            return Err(AutogradError::ShapeMismatch {
                op: "matmul",
                left: av.shape(),
                right: bv.shape(),
            });
        }
        let value = av.matmul(bv);
        Ok(self.push(value, Op::MatMul(a.0, b.0)))
    }

    /// `z + b` with the column `b` (z.rows × 1) added to every column of `z`.
    pub fn add_bias(&mut self, z: Var, b: Var) -> Result<Var> {
        let (zv, bv) = (self.value(z), self.value(b));
        if bv.shape() != (zv.rows(), 1) {
            return Err(AutogradError::ShapeMismatch {
                op: "add_bias",
                left: zv.shape(),
                right: bv.shape(),
            });
        }
        let value = Matrix::from_fn(zv.rows(), zv.cols(), |r, c| zv.get(r, c) + bv.get(r, 0));
        Ok(self.push(value, Op::AddBias(z.0, b.0)))
    }

    /// The logistic function 1 / (1 + e^(−x)), entrywise.
    pub fn sigmoid(&mut self, x: Var) -> Var {
        let value = self.value(x).map(|x| 1.0 / (1.0 + (-x).exp()));
        self.push(value, Op::Sigmoid(x.0))
    }

    /// tanh, entrywise.
    pub fn tanh(&mut self, x: Var) -> Var {
        let value = self.value(x).map(f64::tanh);
        self.push(value, Op::Tanh(x.0))
    }

    /// max(x, 0), entrywise.
    pub fn relu(&mut self, x: Var) -> Var {
        let value = self.value(x).map(|x| if x > 0.0 { x } else { 0.0 });
        self.push(value, Op::Relu(x.0))
    }

    /// A copy of `x` (the output "activation" of the last layer).
    pub fn identity(&mut self, x: Var) -> Var {
        let value = self.value(x).clone();
        self.push(value, Op::Identity(x.0))
    }

    /// The sum of all entries of `a`, as a 1×1 matrix.
    pub fn sum(&mut self, a: Var) -> Var {
        let total = self.value(a).data().iter().sum();
        self.push(Matrix::from_fn(1, 1, |_, _| total), Op::Sum(a.0))
    }

    /// Mean over the m columns j of `−log softmax(logits[:, j])[labels[j]]`, as a 1×1 matrix.
    ///
    /// Computed stably: with μ the column max, log-sum-exp = μ + ln Σ_i e^(l_i − μ), and the
    /// column's loss is `log-sum-exp − l[label]`. Needs one label per column, each < `logits.rows`.
    pub fn softmax_cross_entropy(&mut self, logits: Var, labels: &[usize]) -> Result<Var> {
        let l = self.value(logits);
        let (classes, m) = l.shape();
        if labels.len() != m {
            return Err(AutogradError::LabelCount {
                labels: labels.len(),
                columns: m,
            });
        }
        if m == 0 {
            return Err(AutogradError::EmptyBatch);
        }
        if let Some(&label) = labels.iter().find(|&&y| y >= classes) {
            return Err(AutogradError::LabelOutOfRange { label, classes });
        }
        let mut log_sum_exp = vec![0.0; m];
        let mut total = 0.0;
        for (j, &y) in labels.iter().enumerate() {
            let max = (0..classes)
                .map(|i| l.get(i, j))
                .fold(f64::NEG_INFINITY, f64::max);
            let sum_exp: f64 = (0..classes).map(|i| (l.get(i, j) - max).exp()).sum();
            log_sum_exp[j] = max + sum_exp.ln();
            total += log_sum_exp[j] - l.get(y, j);
        }
        // softmax = e^(l − log-sum-exp): no overflow, since l − log-sum-exp ≤ 0.
        let probs = Matrix::from_fn(classes, m, |i, j| (l.get(i, j) - log_sum_exp[j]).exp());
        let loss = total / m as f64;
        let op = Op::SoftmaxCrossEntropy {
            logits: logits.0,
            labels: labels.to_vec(),
            probs,
        };
        Ok(self.push(Matrix::from_fn(1, 1, |_, _| loss), op))
    }

    /// Reverse-mode sweep: sets every node's gradient to d `loss` / d node.
    ///
    /// Gradients from an earlier `backward` are discarded first. Fails unless `loss` is 1×1.
    pub fn backward(&mut self, loss: Var) -> Result<()> {
        let shape = self.value(loss).shape();
        if shape != (1, 1) {
            return Err(AutogradError::NotScalar { shape });
        }
        for node in &mut self.nodes {
            node.grad = Matrix::zeros(node.value.rows(), node.value.cols());
        }
        self.nodes[loss.0].grad = Matrix::from_fn(1, 1, |_, _| 1.0); // d loss / d loss = 1
                                                                     // Nodes after `loss` cannot influence it: start there. Every child of node i has an id
                                                                     // greater than i, so by the time we reach i its gradient is complete.
        for i in (0..=loss.0).rev() {
            for (parent, contribution) in self.local_chain_rule(i) {
                // `+=`: a value used several times receives the sum of all contributions.
                self.nodes[parent].grad.add_assign(&contribution);
            }
        }
        Ok(())
    }

    /// Node i's contribution to each parent's gradient, given g = d loss / d node i.
    fn local_chain_rule(&self, i: usize) -> Vec<(usize, Matrix)> {
        let node = &self.nodes[i];
        let g = &node.grad;
        let val = |id: usize| &self.nodes[id].value;
        match &node.op {
            Op::Leaf => vec![],
            // C = A·B: dA = G·Bᵀ, dB = Aᵀ·G.
            Op::MatMul(a, b) => vec![
                (*a, g.matmul(&val(*b).transpose())),
                (*b, val(*a).transpose().matmul(g)),
            ],
            // Z' = Z + b·1ᵀ: dZ = G, db = G·1 (row sums of G).
            Op::AddBias(z, b) => {
                let row_sums =
                    Matrix::from_fn(g.rows(), 1, |r, _| (0..g.cols()).map(|c| g.get(r, c)).sum());
                vec![(*z, g.clone()), (*b, row_sums)]
            }
            // s = σ(x): ds/dx = s(1 − s), with s this node's value.
            Op::Sigmoid(x) => vec![(*x, g.hadamard(&node.value.map(|s| s * (1.0 - s))))],
            // t = tanh(x): dt/dx = 1 − t².
            Op::Tanh(x) => vec![(*x, g.hadamard(&node.value.map(|t| 1.0 - t * t)))],
            // r = relu(x): dr/dx = 1 where x > 0, else 0.
            Op::Relu(x) => {
                let step = val(*x).map(|x| if x > 0.0 { 1.0 } else { 0.0 });
                vec![(*x, g.hadamard(&step))]
            }
            // y = x: dy/dx = 1.
            Op::Identity(x) => vec![(*x, g.clone())],
            // s = Σ a: ds/da = 1 everywhere.
            Op::Sum(a) => {
                let a_shape = val(*a).shape();
                let g = g.get(0, 0);
                vec![(*a, Matrix::from_fn(a_shape.0, a_shape.1, |_, _| g))]
            }
            // L = (1/m) Σ_j (lse_j − l[y_j, j]): dL/dl = (softmax − onehot(y)) / m.
            Op::SoftmaxCrossEntropy {
                logits,
                labels,
                probs,
            } => {
                let (g, m) = (g.get(0, 0), probs.cols() as f64);
                let onehot = |r: usize, c: usize| if labels[c] == r { 1.0 } else { 0.0 };
                let d = Matrix::from_fn(probs.rows(), probs.cols(), |r, c| {
                    g * (probs.get(r, c) - onehot(r, c)) / m
                });
                vec![(*logits, d)]
            }
        }
    }
}
