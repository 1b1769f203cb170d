//! ferrite: GPU arrays and Keras-style training for Rust, with every kernel written in Rust.
pub mod ptx;
