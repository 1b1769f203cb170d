//! Activations and their derivatives, as plain functions of one value: the network kernels
//! and the CPU backend both call these, so both compute the same thing.
//!
//! Derivatives are written in terms of the activation's *output* `y`, which is what the
//! forward pass keeps: relu' = [y > 0], sigmoid' = y(1 - y), tanh' = (1 - y)(1 + y), linear' = 1.
//! Softmax couples a whole row, so it only appears in the loss kernels (`loss.rs`).

use crate::prelude::Float;

/// Activation codes as kernels receive them (`u32` parameters).
pub const LINEAR: u32 = 0;
pub const RELU: u32 = 1;
pub const SIGMOID: u32 = 2;
pub const TANH: u32 = 3;
pub const SOFTMAX: u32 = 4;

/// `act(z)` for the elementwise activations (softmax is handled per row elsewhere; here it is
/// the identity, as the layer's logits feed the loss kernel).
#[inline(always)]
pub fn apply<T: Float>(act: u32, z: T) -> T {
    match act {
        // `z < 0` is false for NaN, so NaN passes through as in PyTorch and TensorFlow.
        RELU => {
            if z < T::ZERO {
                T::ZERO
            } else {
                z
            }
        }
        SIGMOID => T::ONE / (T::ONE + (-z).exp()),
        TANH => tanh(z),
        _ => z,
    }
}

/// `d act / dz` expressed through the output `y = act(z)`.
#[inline(always)]
pub fn derivative<T: Float>(act: u32, y: T) -> T {
    match act {
        RELU => {
            if y > T::ZERO {
                T::ONE
            } else {
                T::ZERO
            }
        }
        SIGMOID => y * (T::ONE - y),
        // (1 - y)(1 + y) rather than 1 - y²: near |y| = 1 one factor is exact (Sterbenz),
        // so the result keeps its relative accuracy instead of cancelling.
        TANH => (T::ONE - y) * (T::ONE + y),
        _ => T::ONE,
    }
}

/// tanh(z) = expm1(2z) / (expm1(2z) + 2): accurate near 0, and ±1 where e^(2|z|) would
/// overflow (|z| > 20 already rounds to ±1 in f64).
#[inline(always)]
pub fn tanh<T: Float>(z: T) -> T {
    let limit = T::from_f32(20.0);
    if z > limit {
        return T::ONE;
    }
    if z < -limit {
        return -T::ONE;
    }
    let e = (z + z).exp_m1();
    e / (e + T::ONE + T::ONE)
}
