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
//! [`row_softmax_regs`] is the one-pass form for rows whose length is a multiple of 16 bytes:
//! each thread keeps `V` 16-byte groups of the row in registers between one vector read and
//! one vector write, so global memory is touched exactly twice per element whatever the row
//! length (with `V = 8`, up to 8 groups per thread times the largest block its registers allow:
//! 896 threads, 28,672 f32, on sm_90a; longer rows take the shared-memory form).
//!
//! Storage and compute types: [`row_softmax`] loads elements of a storage type `S` and computes
//! in its compute type (`S::Compute`): f32 and f64 are their own, and the f16 and bf16 entries
//! load 16 bits, compute (and cache the row) in f32, and store 16 bits, rounding once: one
//! launch, no f32 copy of the input or the output. With `LOG` they write the log-softmax,
//! `(x - max) - ln Σ e^(x - max)` (the cache then keeps `x`, not `e^(x - max)`, for the last
//! sweep; an infinite maximum counts as 0, as in the log-sum-exp of `ops/reduce.rs`).
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

/// The largest multiple of 32 at most `max_threads` (the kernel's own limit, from its
/// registers: [`crate::launch::max_threads_for_registers`]) and 1024.
fn block_cap(max_threads: u32) -> usize {
    (max_threads.min(1024) / WARP_SIZE * WARP_SIZE) as usize
}

/// One block per row, about 8 columns per thread, 32 to `max_threads` threads (at most 1024).
/// The row is cached in shared memory if it fits in `max_shared_bytes`. Requires
/// `rows, cols >= 1` and `max_threads >= 32`.
pub fn config<T: Float>(rows: usize, cols: usize, max_shared_bytes: u32, max_threads: u32) -> LaunchConfig {
    let threads =
        cols.div_ceil(8).next_multiple_of(WARP_SIZE as usize).clamp(32, block_cap(max_threads).max(32)) as u32;
    let with_cache = (SCRATCH + cols) * size_of::<T>();
    let shared = if with_cache <= max_shared_bytes as usize { with_cache } else { SCRATCH * size_of::<T>() };
    LaunchConfig { grid: Dim3::x(rows as u32), block: Dim3::x(threads), shared_bytes: shared as u32 }
}

/// Loads `S`, computes in `T = S::Compute` (the shared-memory cache holds `T`: launch with
/// [`config`]`::<T>`), stores `S`.
///
/// # Safety
/// `x` and `y` are device pointers to `rows * cols` elements each (they may be equal).
#[inline(always)]
pub unsafe fn row_softmax<S: Elem<Compute = T>, T: Float, const LOG: bool>(x: *const S, y: *mut S, rows: u32, cols: u32) {
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
        let v = x.load(base + i).load();
        if cached {
            cache.store(i, v);
        }
        m = m.max_num(v);
        i += step;
    }
    let m = block_max(m, &scratch);
    // The log-softmax takes an infinite maximum as 0, as the log-sum-exp does: a row holding
    // +inf gives -inf (NaN at the +inf), a row of -inf NaN, as `x - logsumexp(x)`.
    let m = if LOG && m.is_infinite() { T::ZERO } else { m };

    let mut s = T::ZERO;
    let mut i = t;
    while i < cols {
        let e = (if cached { cache.load(i) } else { x.load(base + i).load() } - m).exp();
        if cached && !LOG {
            cache.store(i, e);
        }
        s = s + e;
        i += step;
    }
    let s = block_sum(s, &scratch);
    let (inv, ln_s) = if LOG { (T::ZERO, s.ln()) } else { (T::ONE / s, T::ZERO) };

    let mut i = t;
    while i < cols {
        let v = if LOG {
            (if cached { cache.load(i) } else { x.load(base + i).load() } - m) - ln_s
        } else {
            (if cached { cache.load(i) } else { (x.load(base + i).load() - m).exp() }) * inv
        };
        y.store(base + i, S::store(v));
        i += step;
    }
}

/// The `V`s of [`row_softmax_regs`]' entries, in the order of their descriptors.
pub const REGS_GROUPS: [usize; 4] = [1, 2, 4, 8];

/// Launch of [`row_softmax_regs`]: `(index into REGS_GROUPS, config)` for the smallest `V`
/// whose block stays within 512 threads (for `V = 8`, within what its registers allow, up to
/// 1024), or `None` if the row is too long or not a multiple of 16 bytes (use [`config`] and
/// [`row_softmax`] then). `max_threads(i)` is the largest block entry `i` can launch with:
/// `V = 8` holds 32 values per thread, and its registers (about 70 on sm_90a) do not fit 1024
/// threads in one block's 65,536 registers.
pub fn regs_config<T: Float>(
    rows: usize,
    cols: usize,
    max_threads: impl Fn(usize) -> u32,
) -> Option<(usize, LaunchConfig)> {
    if !cols.is_multiple_of(T::LANES16) {
        return None;
    }
    let groups = cols / T::LANES16;
    for (i, v) in REGS_GROUPS.into_iter().enumerate() {
        let threads = groups.div_ceil(v).next_multiple_of(WARP_SIZE as usize).max(WARP_SIZE as usize);
        let limit = block_cap(max_threads(i)).min(if v == 8 { 1024 } else { 512 });
        if threads <= limit {
            let shared = (SCRATCH * size_of::<T>()) as u32;
            return Some((
                i,
                LaunchConfig { grid: Dim3::x(rows as u32), block: Dim3::x(threads as u32), shared_bytes: shared },
            ));
        }
    }
    None
}

/// One-pass row softmax: thread `t` holds the row's 16-byte groups `t, t + T, ... ` (`V` of
/// them, `T` threads) in registers. Requires `cols` to be a multiple of 16 bytes' worth of
/// elements, 16-byte aligned `x` and `y`, and `V · T · LANES16 >= cols`.
///
/// # Safety
/// `x` and `y` are device pointers to `rows * cols` elements each (they may be equal).
#[inline(always)]
pub unsafe fn row_softmax_regs<T: Float, const V: usize>(x: *const T, y: *mut T, rows: u32, cols: u32) {
    let (rows, cols) = (rows as usize, cols as usize);
    let (x, y) = unsafe { (Global::new(x, rows * cols), GlobalMut::new(y, rows * cols)) };
    let groups = cols / T::LANES16;
    let base = block_idx().x as usize * groups;
    let (t, step) = (thread_rank() as usize, block_dim().volume() as usize);
    let scratch = Shared::<T>::new(0, SCRATCH);
    let mut vals: [T::Lanes16; V] = core::array::from_fn(|v| {
        let g = v * step + t;
        if g < groups { x.load16(base + g) } else { T::splat16(T::NEG_INFINITY) }
    });
    let mut m = T::NEG_INFINITY;
    for group in &vals {
        for &e in group.as_ref() {
            m = m.max_num(e);
        }
    }
    let m = block_max(m, &scratch);
    let mut s = T::ZERO;
    for group in vals.iter_mut() {
        for e in group.as_mut() {
            *e = (*e - m).exp();
            s = s + *e;
        }
    }
    let inv = T::ONE / block_sum(s, &scratch);
    for (v, group) in vals.iter_mut().enumerate() {
        let g = v * step + t;
        if g < groups {
            for e in group.as_mut() {
                *e = *e * inv;
            }
            y.store16(base + g, *group);
        }
    }
}

kernels! {
    /// Row softmax, f32.
    softmax_f32(x: *const f32, y: *mut f32, rows: u32, cols: u32) => row_softmax::<f32, f32, false>;
    /// Row softmax, f64.
    softmax_f64(x: *const f64, y: *mut f64, rows: u32, cols: u32) => row_softmax::<f64, f64, false>;
    /// Row softmax of f16 (computed in f32, rounded once at the store).
    softmax_f16(x: *const F16, y: *mut F16, rows: u32, cols: u32) => row_softmax::<F16, f32, false>;
    /// Row softmax of bf16 (computed in f32, rounded once at the store).
    softmax_bf16(x: *const BF16, y: *mut BF16, rows: u32, cols: u32) => row_softmax::<BF16, f32, false>;
    /// Row log-softmax of f16 (computed in f32, rounded once at the store).
    log_softmax_f16(x: *const F16, y: *mut F16, rows: u32, cols: u32) => row_softmax::<F16, f32, true>;
    /// Row log-softmax of bf16 (computed in f32, rounded once at the store).
    log_softmax_bf16(x: *const BF16, y: *mut BF16, rows: u32, cols: u32) => row_softmax::<BF16, f32, true>;
    /// One-pass row softmax, f32, one 16-byte group per thread.
    softmax_regs_f32_v1(x: *const f32, y: *mut f32, rows: u32, cols: u32) => row_softmax_regs::<f32, 1>;
    softmax_regs_f32_v2(x: *const f32, y: *mut f32, rows: u32, cols: u32) => row_softmax_regs::<f32, 2>;
    softmax_regs_f32_v4(x: *const f32, y: *mut f32, rows: u32, cols: u32) => row_softmax_regs::<f32, 4>;
    softmax_regs_f32_v8(x: *const f32, y: *mut f32, rows: u32, cols: u32) => row_softmax_regs::<f32, 8>;
    /// One-pass row softmax, f64.
    softmax_regs_f64_v1(x: *const f64, y: *mut f64, rows: u32, cols: u32) => row_softmax_regs::<f64, 1>;
    softmax_regs_f64_v2(x: *const f64, y: *mut f64, rows: u32, cols: u32) => row_softmax_regs::<f64, 2>;
    softmax_regs_f64_v4(x: *const f64, y: *mut f64, rows: u32, cols: u32) => row_softmax_regs::<f64, 4>;
    softmax_regs_f64_v8(x: *const f64, y: *mut f64, rows: u32, cols: u32) => row_softmax_regs::<f64, 8>;
}
