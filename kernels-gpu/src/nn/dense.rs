//! Dense layers. A layer's weights and bias are stored together as `W_aug = [W; b]`, a
//! `(inputs + 1) × units` row-major block (the bias is the last row, Keras's `get_weights`
//! order), so with an implicit column of ones appended to the input,
//!
//! - forward:            `Y = act([X | 1] · W_aug)`                    (`batch × units`)
//! - weight gradients:   `G_aug = [X | 1]ᵀ · dZ`                       (`(inputs + 1) × units`, bias row included)
//! - input gradients:    `dZ_prev = (dZ · Wᵀ) ⊙ act_prev'(Y_prev)`    (`batch × inputs`)
//!
//! are each one tiled product ([`crate::matmul::product_tile`], same tiling and thread mapping)
//! with the activation or its derivative applied where each result is stored. Input rows are
//! read through an optional index array (`rows`), so a shuffled minibatch is gathered by the
//! product itself instead of being copied.

use crate::launch::LaunchConfig;
use crate::matmul::{self, Operand, Stored, product_tile};
use crate::nn::activation;
use crate::prelude::*;

/// Stored `X` (`total × width`) read at rows `rows[i]` (or row `i` if there is no index array),
/// with a column of ones appended: logically `batch × (width + 1)`, or its transpose.
#[derive(Clone, Copy)]
pub struct WithOnes<T, const TRANSPOSED: bool> {
    x: Global<T>,
    rows: Option<Global<u32>>,
    width: usize,
}

impl<T: Float, const TRANSPOSED: bool> Operand<T> for WithOnes<T, TRANSPOSED> {
    const COLS_CONTIGUOUS: bool = !TRANSPOSED;
    #[inline(always)]
    fn at(&self, row: usize, col: usize) -> T {
        let (sample, feature) = if TRANSPOSED { (col, row) } else { (row, col) };
        if feature == self.width {
            return T::ONE;
        }
        let r = match self.rows {
            Some(rows) => rows.load(sample) as usize,
            None => sample,
        };
        self.x.load(r * self.width + feature)
    }
}

/// # Safety
/// `x` holds `total × width` elements; `rows` is null or holds `batch` indices below `total`.
#[inline(always)]
unsafe fn gathered<T: Float, const TRANSPOSED: bool>(
    x: *const T,
    rows: *const u32,
    total: u32,
    width: usize,
    batch: usize,
) -> WithOnes<T, TRANSPOSED> {
    let x = unsafe { Global::new(x, total as usize * width) };
    let rows = if rows.is_null() { None } else { Some(unsafe { Global::new(rows, batch) }) };
    WithOnes { x, rows, width }
}

/// Geometry of each product: one 64×64 output tile per block.
pub fn forward_config<T: Float>(batch: usize, units: usize) -> LaunchConfig {
    matmul::config::<T>(batch, units)
}
pub fn backward_input_config<T: Float>(batch: usize, inputs: usize) -> LaunchConfig {
    matmul::config::<T>(batch, inputs)
}
pub fn backward_params_config<T: Float>(inputs: usize, units: usize) -> LaunchConfig {
    matmul::config::<T>(inputs + 1, units)
}

/// `y = act([x[rows] | 1] · w_aug)`.
///
/// # Safety
/// `x`: `total × inputs`; `rows`: null or `batch` indices below `total`; `w`: `(inputs + 1) × units`;
/// `y`: `batch × units`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn forward<T: Float>(
    x: *const T,
    rows: *const u32,
    total: u32,
    w: *const T,
    y: *mut T,
    batch: u32,
    inputs: u32,
    units: u32,
    act: u32,
) {
    let (b, i, u) = (batch as usize, inputs as usize, units as usize);
    let a = unsafe { gathered::<T, false>(x, rows, total, i, b) };
    let w = Stored::<T, false>::new(unsafe { Global::new(w, (i + 1) * u) }, u);
    let y = unsafe { GlobalMut::new(y, b * u) };
    product_tile(a, w, (b, u, i + 1), |r, c, v| y.store(r * u + c, activation::apply(act, v)));
}

/// `dx = (dz · Wᵀ) ⊙ act_prev'(y_prev)`, `W` being the first `inputs` rows of `w_aug`.
///
/// # Safety
/// `dz`: `batch × units`; `w`: `(inputs + 1) × units`; `y_prev`, `dx`: `batch × inputs`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn backward_input<T: Float>(
    dz: *const T,
    w: *const T,
    y_prev: *const T,
    dx: *mut T,
    batch: u32,
    inputs: u32,
    units: u32,
    act_prev: u32,
) {
    let (b, i, u) = (batch as usize, inputs as usize, units as usize);
    let dz = Stored::<T, false>::new(unsafe { Global::new(dz, b * u) }, u);
    let wt = Stored::<T, true>::new(unsafe { Global::new(w, (i + 1) * u) }, u);
    let (y_prev, dx) = unsafe { (Global::new(y_prev, b * i), GlobalMut::new(dx, b * i)) };
    product_tile(dz, wt, (b, i, u), |r, c, v| {
        dx.store(r * i + c, v * activation::derivative(act_prev, y_prev.load(r * i + c)))
    });
}

/// `g_aug = [x[rows] | 1]ᵀ · dz`: weight gradients with the bias gradients as the last row.
///
/// # Safety
/// `x`: `total × inputs`; `rows`: null or `batch` indices below `total`; `dz`: `batch × units`;
/// `g`: `(inputs + 1) × units`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn backward_params<T: Float>(
    x: *const T,
    rows: *const u32,
    total: u32,
    dz: *const T,
    g: *mut T,
    batch: u32,
    inputs: u32,
    units: u32,
) {
    let (b, i, u) = (batch as usize, inputs as usize, units as usize);
    let xt = unsafe { gathered::<T, true>(x, rows, total, i, b) };
    let dz = Stored::<T, false>::new(unsafe { Global::new(dz, b * u) }, u);
    let g = unsafe { GlobalMut::new(g, (i + 1) * u) };
    product_tile(xt, dz, (i + 1, u, b), |r, c, v| g.store(r * u + c, v));
}

kernels! {
    dense_forward_f32(x: *const f32, rows: *const u32, total: u32, w: *const f32, y: *mut f32, batch: u32, inputs: u32, units: u32, act: u32) => forward::<f32>;
    dense_forward_f64(x: *const f64, rows: *const u32, total: u32, w: *const f64, y: *mut f64, batch: u32, inputs: u32, units: u32, act: u32) => forward::<f64>;
    dense_backward_input_f32(dz: *const f32, w: *const f32, y_prev: *const f32, dx: *mut f32, batch: u32, inputs: u32, units: u32, act_prev: u32) => backward_input::<f32>;
    dense_backward_input_f64(dz: *const f64, w: *const f64, y_prev: *const f64, dx: *mut f64, batch: u32, inputs: u32, units: u32, act_prev: u32) => backward_input::<f64>;
    dense_backward_params_f32(x: *const f32, rows: *const u32, total: u32, dz: *const f32, g: *mut f32, batch: u32, inputs: u32, units: u32) => backward_params::<f32>;
    dense_backward_params_f64(x: *const f64, rows: *const u32, total: u32, dz: *const f64, g: *mut f64, batch: u32, inputs: u32, units: u32) => backward_params::<f64>;
}
