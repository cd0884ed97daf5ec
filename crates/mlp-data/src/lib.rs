//! mlp-data
