//! Loss heads: from the last layer's logits `z` and the targets, each kernel writes the
//! per-sample loss, whether the prediction was right, and (when training) `dz`, the gradient
//! of the batch-mean loss with respect to `z`. Per-sample values (not a running sum) keep the
//! epoch's loss deterministic: [`sum2`] adds them in a fixed order when the host asks.
//!
//! Thread mapping: one warp per sample row (8 rows per 256-thread block); lane `l` handles
//! columns `l, l + 32, ...`, and row statistics are warp butterflies (no shared memory, no
//! barriers, so a warp whose row is past the batch simply returns).
//!
//! Softmax cross-entropy uses log-sum-exp: with `m = max z`, `s = Σ e^(z - m)`,
//! `lse = m + ln s`, the loss is `Σ y (lse - z)` and `dz = (softmax(z) · Σy - y) / batch`.
//! Mean squared error (Keras: mean over the row) applies the output activation first and
//! chains its derivative, including softmax's Jacobian `y ⊙ (g - (g · y))`.

use crate::launch::{Dim3, LaunchConfig};
use crate::nn::activation::{self, SOFTMAX};
use crate::prelude::*;

const ROWS_PER_BLOCK: usize = 8;

/// `ceil(batch / 8)` blocks of 8 warps.
pub fn config(batch: usize) -> LaunchConfig {
    LaunchConfig {
        grid: Dim3::x(batch.div_ceil(ROWS_PER_BLOCK) as u32),
        block: Dim3::x(ROWS_PER_BLOCK as u32 * WARP_SIZE),
        shared_bytes: 0,
    }
}

/// This warp's row, if it has one.
#[inline(always)]
fn warp_row(batch: usize) -> Option<usize> {
    let r = block_idx().x as usize * ROWS_PER_BLOCK + (thread_rank() / WARP_SIZE) as usize;
    (r < batch).then_some(r)
}

/// Larger value wins, ties go to the smaller index (NumPy's first maximum).
#[inline(always)]
fn better<T: Float>(v: T, i: u32, best: (T, u32)) -> bool {
    v > best.0 || (v == best.0 && i < best.1)
}

#[inline(always)]
fn warp_argmax<T: Float>(mut best: (T, u32)) -> u32 {
    let mut mask = WARP_SIZE / 2;
    while mask > 0 {
        let (v, i) = (shfl_xor(best.0, mask), shfl_xor(best.1, mask));
        if better(v, i, best) {
            best = (v, i);
        }
        mask /= 2;
    }
    best.1
}

/// `(max, argmax, Σ e^(z - max))` of `cols` values at `z[base..]`, in every lane.
#[inline(always)]
fn softmax_stats<T: Float>(z: &Global<T>, base: usize, cols: usize) -> (T, u32, T) {
    let lane = lane_id() as usize;
    let mut best = (T::NEG_INFINITY, u32::MAX);
    let mut c = lane;
    while c < cols {
        let v = z.load(base + c);
        if better(v, c as u32, best) {
            best = (v, c as u32);
        }
        c += WARP_SIZE as usize;
    }
    let arg = warp_argmax(best);
    let m = warp_max(best.0);
    let mut s = T::ZERO;
    let mut c = lane;
    while c < cols {
        s = s + (z.load(base + c) - m).exp();
        c += WARP_SIZE as usize;
    }
    (m, arg, warp_sum(s))
}

/// The per-sample outputs and the optional gradient, as views.
struct Outputs<T> {
    dz: Option<GlobalMut<T>>,
    loss: GlobalMut<T>,
    correct: GlobalMut<T>,
}

unsafe fn outputs<T: Copy>(dz: *mut T, loss: *mut T, correct: *mut T, batch: usize, cols: usize) -> Outputs<T> {
    unsafe {
        Outputs {
            dz: if dz.is_null() { None } else { Some(GlobalMut::new(dz, batch * cols)) },
            loss: GlobalMut::new(loss, batch),
            correct: GlobalMut::new(correct, batch),
        }
    }
}

/// Dataset row of batch row `r`.
#[inline(always)]
unsafe fn sample(rows: *const u32, r: usize, batch: usize) -> usize {
    if rows.is_null() { r } else { unsafe { Global::new(rows, batch) }.load(r) as usize }
}

/// Softmax cross-entropy against integer class labels.
///
/// # Safety
/// `z`, `dz` (or null): `batch × classes`; `labels`: `total`; `rows`: null or `batch` indices
/// below `total`; `loss`, `correct`: `batch`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn xent_sparse<T: Float>(
    z: *const T,
    labels: *const u32,
    rows: *const u32,
    total: u32,
    dz: *mut T,
    loss: *mut T,
    correct: *mut T,
    batch: u32,
    classes: u32,
    scale: T,
) {
    let (b, c) = (batch as usize, classes as usize);
    let Some(r) = warp_row(b) else { return };
    let z = unsafe { Global::new(z, b * c) };
    let out = unsafe { outputs(dz, loss, correct, b, c) };
    let label = unsafe { Global::new(labels, total as usize).load(sample(rows, r, b)) } as usize;
    let (m, pred, s) = softmax_stats(&z, r * c, c);
    let lane = lane_id() as usize;
    if lane == 0 {
        // A label out of range gives NaN rather than reading outside the row.
        let zl = if label < c { z.load(r * c + label) } else { T::NAN };
        out.loss.store(r, m + s.ln() - zl);
        out.correct.store(r, if pred as usize == label { T::ONE } else { T::ZERO });
    }
    if let Some(dz) = out.dz {
        let inv = T::ONE / s;
        let mut col = lane;
        while col < c {
            let p = (z.load(r * c + col) - m).exp() * inv;
            let y = if col == label { T::ONE } else { T::ZERO };
            dz.store(r * c + col, (p - y) * scale);
            col += WARP_SIZE as usize;
        }
    }
}

/// Softmax cross-entropy against target rows (one-hot or soft labels).
///
/// # Safety
/// `z`, `dz` (or null): `batch × classes`; `y`: `total × classes`; `rows`: null or `batch`
/// indices below `total`; `loss`, `correct`: `batch`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn xent_onehot<T: Float>(
    z: *const T,
    y: *const T,
    rows: *const u32,
    total: u32,
    dz: *mut T,
    loss: *mut T,
    correct: *mut T,
    batch: u32,
    classes: u32,
    scale: T,
) {
    let (b, c) = (batch as usize, classes as usize);
    let Some(r) = warp_row(b) else { return };
    let z = unsafe { Global::new(z, b * c) };
    let y = unsafe { Global::new(y, total as usize * c) };
    let out = unsafe { outputs(dz, loss, correct, b, c) };
    let ybase = unsafe { sample(rows, r, b) } * c;
    let (m, pred, s) = softmax_stats(&z, r * c, c);
    let lse = m + s.ln();
    let lane = lane_id() as usize;
    let (mut sum_y, mut l, mut best) = (T::ZERO, T::ZERO, (T::NEG_INFINITY, u32::MAX));
    let mut col = lane;
    while col < c {
        let t = y.load(ybase + col);
        sum_y = sum_y + t;
        if t != T::ZERO {
            l = t.mul_add(lse - z.load(r * c + col), l);
        }
        if better(t, col as u32, best) {
            best = (t, col as u32);
        }
        col += WARP_SIZE as usize;
    }
    let (sum_y, l, truth) = (warp_sum(sum_y), warp_sum(l), warp_argmax(best));
    if lane == 0 {
        out.loss.store(r, l);
        out.correct.store(r, if pred == truth { T::ONE } else { T::ZERO });
    }
    if let Some(dz) = out.dz {
        let inv = T::ONE / s;
        let mut col = lane;
        while col < c {
            let p = (z.load(r * c + col) - m).exp() * inv;
            dz.store(r * c + col, p.mul_add(sum_y, -y.load(ybase + col)) * scale);
            col += WARP_SIZE as usize;
        }
    }
}

/// Mean squared error of `act(z)` against target rows; accuracy is the argmax match (or, for a
/// single output, both sides of 0.5), as Keras's `accuracy` picks for this loss.
///
/// # Safety
/// `z`, `dz` (or null): `batch × cols`; `t`: `total × cols`; `rows`: null or `batch` indices
/// below `total`; `loss`, `correct`: `batch`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn mse<T: Float>(
    z: *const T,
    t: *const T,
    rows: *const u32,
    total: u32,
    dz: *mut T,
    loss: *mut T,
    correct: *mut T,
    batch: u32,
    cols: u32,
    act: u32,
    scale: T,
) {
    let (b, c) = (batch as usize, cols as usize);
    let Some(r) = warp_row(b) else { return };
    let z = unsafe { Global::new(z, b * c) };
    let t = unsafe { Global::new(t, total as usize * c) };
    let out = unsafe { outputs(dz, loss, correct, b, c) };
    let tbase = unsafe { sample(rows, r, b) } * c;
    let (m, _, s) = if act == SOFTMAX { softmax_stats(&z, r * c, c) } else { (T::ZERO, 0, T::ONE) };
    let inv_s = T::ONE / s;
    let output = |col: usize| {
        let v = z.load(r * c + col);
        if act == SOFTMAX { (v - m).exp() * inv_s } else { activation::apply(act, v) }
    };
    let g_scale = (T::ONE + T::ONE) * scale / T::from_usize(c);
    let lane = lane_id() as usize;
    let (mut sq, mut gy) = (T::ZERO, T::ZERO);
    let (mut best_y, mut best_t) = ((T::NEG_INFINITY, u32::MAX), (T::NEG_INFINITY, u32::MAX));
    let mut col = lane;
    while col < c {
        let (yv, tv) = (output(col), t.load(tbase + col));
        let e = yv - tv;
        sq = e.mul_add(e, sq);
        gy = (e * g_scale).mul_add(yv, gy);
        if better(yv, col as u32, best_y) {
            best_y = (yv, col as u32);
        }
        if better(tv, col as u32, best_t) {
            best_t = (tv, col as u32);
        }
        col += WARP_SIZE as usize;
    }
    let (sq, gy) = (warp_sum(sq), warp_sum(gy));
    let (pred, truth) = (warp_argmax(best_y), warp_argmax(best_t));
    if lane == 0 {
        out.loss.store(r, sq / T::from_usize(c));
        let half = T::ONE / (T::ONE + T::ONE);
        let right = if c == 1 { (best_y.0 > half) == (best_t.0 > half) } else { pred == truth };
        out.correct.store(r, if right { T::ONE } else { T::ZERO });
    }
    if let Some(dz) = out.dz {
        let mut col = lane;
        while col < c {
            let yv = output(col);
            let g = (yv - t.load(tbase + col)) * g_scale;
            let d = if act == SOFTMAX { yv * (g - gy) } else { g * activation::derivative(act, yv) };
            dz.store(r * c + col, d);
            col += WARP_SIZE as usize;
        }
    }
}

/// One block of up to 1024 threads (fewer if the kernel's registers allow fewer: `max_threads`).
pub fn sum2_config(max_threads: u32) -> LaunchConfig {
    let threads = (max_threads.min(1024) / WARP_SIZE * WARP_SIZE).max(WARP_SIZE);
    LaunchConfig { grid: Dim3::x(1), block: Dim3::x(threads), shared_bytes: 32 * 8 }
}

/// `out = [Σ a, Σ b]` over `n` elements, in a fixed order for a given block size (so the
/// result is reproducible): one block of `T` threads, thread `t` adds elements `t, t + T, ...`,
/// then a block reduction.
///
/// # Safety
/// `a`, `b`: `n` elements; `out`: 2.
#[inline(always)]
pub unsafe fn sum2<T: Float>(a: *const T, b: *const T, n: u32, out: *mut T) {
    let n = n as usize;
    let (a, b, out) = unsafe { (Global::new(a, n), Global::new(b, n), GlobalMut::new(out, 2)) };
    let scratch = Shared::<T>::new(0, 32);
    let step = block_dim().volume() as usize;
    let (mut sa, mut sb) = (T::ZERO, T::ZERO);
    let mut i = thread_rank() as usize;
    while i < n {
        sa = sa + a.load(i);
        sb = sb + b.load(i);
        i += step;
    }
    let sa = block_sum(sa, &scratch);
    let sb = block_sum(sb, &scratch);
    if thread_rank() == 0 {
        out.store(0, sa);
        out.store(1, sb);
    }
}

kernels! {
    xent_sparse_f32(z: *const f32, labels: *const u32, rows: *const u32, total: u32, dz: *mut f32, loss: *mut f32, correct: *mut f32, batch: u32, classes: u32, scale: f32) => xent_sparse::<f32>;
    xent_sparse_f64(z: *const f64, labels: *const u32, rows: *const u32, total: u32, dz: *mut f64, loss: *mut f64, correct: *mut f64, batch: u32, classes: u32, scale: f64) => xent_sparse::<f64>;
    xent_onehot_f32(z: *const f32, y: *const f32, rows: *const u32, total: u32, dz: *mut f32, loss: *mut f32, correct: *mut f32, batch: u32, classes: u32, scale: f32) => xent_onehot::<f32>;
    xent_onehot_f64(z: *const f64, y: *const f64, rows: *const u32, total: u32, dz: *mut f64, loss: *mut f64, correct: *mut f64, batch: u32, classes: u32, scale: f64) => xent_onehot::<f64>;
    mse_f32(z: *const f32, t: *const f32, rows: *const u32, total: u32, dz: *mut f32, loss: *mut f32, correct: *mut f32, batch: u32, cols: u32, act: u32, scale: f32) => mse::<f32>;
    mse_f64(z: *const f64, t: *const f64, rows: *const u32, total: u32, dz: *mut f64, loss: *mut f64, correct: *mut f64, batch: u32, cols: u32, act: u32, scale: f64) => mse::<f64>;
    sum2_f32(a: *const f32, b: *const f32, n: u32, out: *mut f32) => sum2::<f32>;
    sum2_f64(a: *const f64, b: *const f64, n: u32, out: *mut f64) => sum2::<f64>;
}
