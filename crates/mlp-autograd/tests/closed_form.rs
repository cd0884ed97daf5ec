//! Gradients of small functions checked against derivatives worked out by hand.

use mlp_autograd::{mlp_loss_and_gradients, Activation, AutogradError, Matrix, Tape, Var};

fn m(rows: usize, cols: usize, data: &[f64]) -> Matrix {
    Matrix::new(rows, cols, data.to_vec()).unwrap()
}

fn assert_close(actual: &[f64], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len());
    for (a, e) in actual.iter().zip(expected) {
        assert!(
            (a - e).abs() <= 1e-12 * (1.0 + e.abs()),
            "{actual:?} != {expected:?}"
        );
    }
}

/// d/dx of `sum(f(x))` for a 1×1 x, via the tape.
fn scalar_derivative(x: f64, f: impl Fn(&mut Tape, Var) -> Var) -> f64 {
    let mut tape = Tape::new();
    let xv = tape.leaf(m(1, 1, &[x]));
    let y = f(&mut tape, xv);
    let loss = tape.sum(y);
    tape.backward(loss).unwrap();
    tape.grad(xv).get(0, 0)
}

const POINTS: [f64; 5] = [-3.0, -0.5, 0.0, 0.7, 5.0];

#[test]
fn sigmoid_derivative_is_s_times_one_minus_s() {
    for x in POINTS {
        let s = 1.0 / (1.0 + (-x).exp());
        assert_close(&[scalar_derivative(x, Tape::sigmoid)], &[s * (1.0 - s)]);
    }
}

#[test]
fn tanh_derivative_is_one_minus_t_squared() {
    for x in POINTS {
        let t = x.tanh();
        assert_close(&[scalar_derivative(x, Tape::tanh)], &[1.0 - t * t]);
    }
}

#[test]
fn relu_derivative_is_step_function() {
    assert_eq!(scalar_derivative(-1.5, Tape::relu), 0.0);
    assert_eq!(scalar_derivative(0.0, Tape::relu), 0.0); // convention: 1 only where x > 0
    assert_eq!(scalar_derivative(2.0, Tape::relu), 1.0);
}

#[test]
fn identity_derivative_is_one() {
    assert_eq!(scalar_derivative(-4.0, Tape::identity), 1.0);
}

#[test]
fn value_used_twice_accumulates_both_contributions() {
    // d/dx x·x = 2x: the matmul sees x as both operands, each contributes x.
    let d = scalar_derivative(3.0, |tape, x| tape.matmul(x, x).unwrap());
    assert_eq!(d, 6.0);
}

#[test]
fn matmul_gradient_of_sum() {
    // sum(A·B) = Σ_ijk A[i,k] B[k,j]: d/dA[i,k] = Σ_j B[k,j] (row sums of B, i.e. 1·Bᵀ),
    // d/dB[k,j] = Σ_i A[i,k] (column sums of A).
    let mut tape = Tape::new();
    let a = tape.leaf(m(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
    let b = tape.leaf(m(3, 2, &[1.0, -1.0, 0.5, 2.0, -3.0, 0.25]));
    let ab = tape.matmul(a, b).unwrap();
    let loss = tape.sum(ab);
    tape.backward(loss).unwrap();
    // Row sums of B: 0, 2.5, -2.75, repeated for both rows of A.
    assert_close(tape.grad(a).data(), &[0.0, 2.5, -2.75, 0.0, 2.5, -2.75]);
    // Column sums of A: 5, 7, 9, repeated for both columns of B.
    assert_close(tape.grad(b).data(), &[5.0, 5.0, 7.0, 7.0, 9.0, 9.0]);
}

#[test]
fn add_bias_gradient_is_row_sums() {
    // loss = sum(σ(Z + b)): with G = s(1 − s) entrywise, dZ = G and db[r] = Σ_c G[r, c].
    let z_data = [0.0, 1.0, -2.0, 0.5, -1.0, 3.0];
    let b_data = [0.25, -0.75];
    let mut tape = Tape::new();
    let z = tape.leaf(m(2, 3, &z_data));
    let b = tape.leaf(m(2, 1, &b_data));
    let zb = tape.add_bias(z, b).unwrap();
    let s = tape.sigmoid(zb);
    let loss = tape.sum(s);
    tape.backward(loss).unwrap();
    let g: Vec<f64> = (0..6)
        .map(|i| {
            let s = 1.0 / (1.0 + (-(z_data[i] + b_data[i / 3])).exp());
            s * (1.0 - s)
        })
        .collect();
    assert_close(tape.grad(z).data(), &g);
    assert_close(
        tape.grad(b).data(),
        &[g[0] + g[1] + g[2], g[3] + g[4] + g[5]],
    );
}

#[test]
fn softmax_cross_entropy_2x2_by_hand() {
    // Column 0: logits (0, ln 3) → softmax (1/4, 3/4), label 1 → loss −ln(3/4) = ln(4/3).
    // Column 1: logits (ln 2, 0) → softmax (2/3, 1/3), label 0 → loss −ln(2/3) = ln(3/2).
    // Mean: (ln(4/3) + ln(3/2)) / 2 = ln(2) / 2.
    // Gradient (p − y)/m, m = 2: column 0 (1/4 − 0, 3/4 − 1)/2 = (1/8, −1/8),
    //                             column 1 (2/3 − 1, 1/3 − 0)/2 = (−1/6, 1/6).
    let mut tape = Tape::new();
    let logits = tape.leaf(m(2, 2, &[0.0, 2f64.ln(), 3f64.ln(), 0.0]));
    let loss = tape.softmax_cross_entropy(logits, &[1, 0]).unwrap();
    tape.backward(loss).unwrap();
    assert_close(tape.value(loss).data(), &[2f64.ln() / 2.0]);
    assert_close(
        tape.grad(logits).data(),
        &[1.0 / 8.0, -1.0 / 6.0, -1.0 / 8.0, 1.0 / 6.0],
    );
}

#[test]
fn softmax_cross_entropy_is_stable_for_huge_logits() {
    // Both columns are (1e4, −1e4): softmax is (1, e^(−2e4)) = (1, 0) in f64.
    // Label 0 costs ln(1 + e^(−2e4)) = 0; label 1 costs 2e4. Mean 1e4.
    // Gradient (p − y)/2: column 0 (0, 0), column 1 (1, −1)/2.
    let mut tape = Tape::new();
    let logits = tape.leaf(m(2, 2, &[1e4, 1e4, -1e4, -1e4]));
    let loss = tape.softmax_cross_entropy(logits, &[0, 1]).unwrap();
    tape.backward(loss).unwrap();
    assert!(tape.grad(logits).data().iter().all(|g| g.is_finite()));
    assert_close(tape.value(loss).data(), &[1e4]);
    assert_close(tape.grad(logits).data(), &[0.0, 0.5, 0.0, -0.5]);
}

#[test]
fn backward_twice_gives_the_same_gradients() {
    let mut tape = Tape::new();
    let x = tape.leaf(m(1, 1, &[3.0]));
    let xx = tape.matmul(x, x).unwrap();
    let loss = tape.sum(xx);
    tape.backward(loss).unwrap();
    tape.backward(loss).unwrap();
    assert_eq!(tape.grad(x).data(), &[6.0]);
}

#[test]
fn one_layer_mlp_by_hand() {
    // W = 0, b = 0, 2 classes: p = (1/2, 1/2) in both columns, loss = ln 2.
    // x = (1, 2), labels (0, 1): G = (p − y)/2 = column 0 (−1/4, 1/4), column 1 (1/4, −1/4).
    // dW = G·xᵀ = (−1/4 + 2/4, 1/4 − 2/4) = (1/4, −1/4); db = row sums of G = (0, 0).
    let params = [(Matrix::zeros(2, 1), Matrix::zeros(2, 1))];
    let x = m(1, 2, &[1.0, 2.0]);
    let (loss, grads) = mlp_loss_and_gradients(&params, Activation::Relu, &x, &[0, 1]).unwrap();
    assert_close(&[loss], &[2f64.ln()]);
    assert_close(grads[0].0.data(), &[0.25, -0.25]);
    assert_close(grads[0].1.data(), &[0.0, 0.0]);
}

#[test]
fn user_errors_are_errors_not_panics() {
    assert_eq!(
        Matrix::new(2, 2, vec![1.0]),
        Err(AutogradError::DataLength {
            rows: 2,
            cols: 2,
            len: 1
        })
    );
    let mut tape = Tape::new();
    let a = tape.leaf(Matrix::zeros(2, 3));
    let b = tape.leaf(Matrix::zeros(2, 1));
    assert!(matches!(
        tape.matmul(a, b),
        Err(AutogradError::ShapeMismatch { op: "matmul", .. })
    ));
    assert!(matches!(
        tape.add_bias(a, a),
        Err(AutogradError::ShapeMismatch { op: "add_bias", .. })
    ));
    assert_eq!(
        tape.backward(a),
        Err(AutogradError::NotScalar { shape: (2, 3) })
    );
    assert_eq!(
        tape.softmax_cross_entropy(a, &[0, 1]),
        Err(AutogradError::LabelCount {
            labels: 2,
            columns: 3
        })
    );
    assert_eq!(
        tape.softmax_cross_entropy(a, &[0, 2, 1]),
        Err(AutogradError::LabelOutOfRange {
            label: 2,
            classes: 2
        })
    );
    let empty = tape.leaf(Matrix::zeros(2, 0));
    assert_eq!(
        tape.softmax_cross_entropy(empty, &[]),
        Err(AutogradError::EmptyBatch)
    );
    let x = Matrix::zeros(1, 1);
    assert_eq!(
        mlp_loss_and_gradients(&[], Activation::Tanh, &x, &[0]),
        Err(AutogradError::NoLayers)
    );
}
