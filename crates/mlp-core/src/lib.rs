//! mlp-core
