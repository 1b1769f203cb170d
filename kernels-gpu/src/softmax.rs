//! Softmax over the last axis of a row-major `rows × cols` array:
//! `y[r][i] = exp(x[r][i] - max_r) / sum_j exp(x[r][j] - max_r)`.
//!
//! Thread mapping: one block per row (`grid.x = rows`); thread `t` of `T` handles columns
//! `t, t + T, t + 2T, ...`, so any row length works with any block size (a multiple of 32).
//!
//! Three sweeps over the row, each followed by a block reduction (warp butterflies, then one
//! value per warp through shared memory): the row maximum, the sum of `exp(x - max)`, and the
//! scaled write. When the launch gives enough shared memory the first sweep copies the row
//! there and the second stores `exp(x - max)` over it, so global memory is read once and
//! written once; otherwise the sweeps re-read global memory. A thread only ever reads back
//! the elements it stored itself, so the cache needs no extra barrier.
//!
//! Numerics: subtracting the maximum keeps every exponent `<= 0`, so large inputs (1e4) cannot
//! overflow. NaN follows IEEE: the maximum ignores it (maxNum) but `exp(NaN - max)` enters the
//! sum, so a NaN anywhere in a row makes the whole row NaN, as NumPy's formula gives; `-inf`
//! contributes `exp(-inf) = 0`; a row of only `-inf`, or one holding `+inf`, is NaN
//! (`-inf - -inf` and `inf - inf` are NaN), again like the formula.

use crate::launch::{Dim3, LaunchConfig};
use crate::prelude::*;

/// Elements of shared memory before the row cache: one partial per warp.
const SCRATCH: usize = 32;

/// One block per row, about 8 columns per thread, 32 to 1024 threads. The row is cached in
/// shared memory if it fits in `max_shared_bytes`. Requires `rows, cols >= 1`.
pub fn config<T: Float>(rows: usize, cols: usize, max_shared_bytes: u32) -> LaunchConfig {
    let threads = cols.div_ceil(8).next_multiple_of(WARP_SIZE as usize).clamp(32, 1024) as u32;
    let with_cache = (SCRATCH + cols) * size_of::<T>();
    let shared = if with_cache <= max_shared_bytes as usize { with_cache } else { SCRATCH * size_of::<T>() };
    LaunchConfig { grid: Dim3::x(rows as u32), block: Dim3::x(threads), shared_bytes: shared as u32 }
}

/// # Safety
/// `x` and `y` are device pointers to `rows * cols` elements each (they may be equal).
#[inline(always)]
pub unsafe fn row_softmax<T: Float>(x: *const T, y: *mut T, rows: u32, cols: u32) {
    let (rows, cols) = (rows as usize, cols as usize);
    let (x, y) = unsafe { (Global::new(x, rows * cols), GlobalMut::new(y, rows * cols)) };
    let base = block_idx().x as usize * cols;
    let (t, step) = (thread_rank() as usize, block_dim().volume() as usize);
    let scratch = Shared::<T>::new(0, SCRATCH);
    let cache_at = SCRATCH * size_of::<T>();
    let cached = dynamic_shared_bytes() as usize >= cache_at + cols * size_of::<T>();
    let cache = Shared::<T>::new(cache_at, if cached { cols } else { 0 });

    let mut m = T::NEG_INFINITY;
    let mut i = t;
    while i < cols {
        let v = x.load(base + i);
        if cached {
            cache.store(i, v);
        }
        m = m.max_num(v);
        i += step;
    }
    let m = block_max(m, &scratch);

    let mut s = T::ZERO;
    let mut i = t;
    while i < cols {
        let e = (if cached { cache.load(i) } else { x.load(base + i) } - m).exp();
        if cached {
            cache.store(i, e);
        }
        s = s + e;
        i += step;
    }
    let inv = T::ONE / block_sum(s, &scratch);

    let mut i = t;
    while i < cols {
        let e = if cached { cache.load(i) } else { (x.load(base + i) - m).exp() };
        y.store(base + i, e * inv);
        i += step;
    }
}

kernels! {
    /// Row softmax, f32.
    softmax_f32(x: *const f32, y: *mut f32, rows: u32, cols: u32) => row_softmax::<f32>;
    /// Row softmax, f64.
    softmax_f64(x: *const f64, y: *mut f64, rows: u32, cols: u32) => row_softmax::<f64>;
}
