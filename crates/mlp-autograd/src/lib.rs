//! mlp-autograd
