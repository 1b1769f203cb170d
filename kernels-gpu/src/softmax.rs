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
//! [`axis_softmax`] takes any other axis: the input, contiguous, seen as `[outer, len, inner]`
//! with the axis in the middle, one lane per `(o, i)` pair (`outer · inner` lanes), each lane
//! the `len` elements `x[o][k][i]`. Thread mapping: a block is 32 consecutive lanes
//! (`threadIdx.x`, so a warp reads 32 consecutive `i`: coalesced whenever `inner ≥ 32`) ×
//! `blockDim.y` segments of the axis (`threadIdx.y`), blocks striding over the groups of 32
//! lanes; the host ([`axis_config`]) splits the axis into up to 32 segments until there are
//! threads enough to fill a GPU, so a `[8192, 8192]` array along axis 0 (8192 lanes) still
//! runs 32 warps per 32 lanes. Each thread makes the three sweeps over its segment (maximum,
//! sum of `exp(x - max)`, write), the segments' maxima and sums meeting in shared memory
//! between sweeps: the input read three times, the output written once, one launch for every
//! float dtype (16-bit loaded, f32 inside, stored once), with or without `LOG`. The per-element
//! arithmetic is [`lane_center`], [`lane_factor`] and [`lane_value`], which the CPU's [`lane`]
//! runs too, and each thread's sum is a [`blocked_sum`] (error `(128 + n/4096)·u` relative to
//! the sum, then at most 32 segments added in order; the CPU's lane is one segment).
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
pub unsafe fn row_softmax<S: Elem<Compute = T>, T: Float, const LOG: bool>(
    x: *const S,
    y: *mut S,
    rows: u32,
    cols: u32,
) {
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
    let m = lane_center(m, LOG);

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

/// The first sweep's result made the center of the others: the maximum, or for the
/// log-softmax `0` in its place when it is infinite (as [`row_softmax`]).
#[inline(always)]
pub fn lane_center<T: Float>(m: T, log: bool) -> T {
    if log && m.is_infinite() { T::ZERO } else { m }
}

/// The third sweep's factor from the sum `s` of `e^(x - m)`: `1/s`, or `ln s` for the
/// log-softmax.
#[inline(always)]
pub fn lane_factor<T: Float>(s: T, log: bool) -> T {
    if log { s.ln() } else { T::ONE / s }
}

/// One result from its input `x`, the center `m` and the factor `f`: `e^(x - m) · f`, or
/// `(x - m) - f` for the log-softmax.
#[inline(always)]
pub fn lane_value<T: Float>(x: T, m: T, f: T, log: bool) -> T {
    if log { (x - m) - f } else { (x - m).exp() * f }
}

/// Terms a [`blocked_sum`] adds in order before passing the block's sum up a level.
pub const SUM_BLOCK: usize = 64;

/// `Σ f(k)` over `lo..hi`, in blocks of [`SUM_BLOCK`] terms added in order, the blocks' sums
/// added in order into a super-block's (of `SUM_BLOCK` blocks), the super-blocks' into the
/// total: any term reaches the result through at most `2·SUM_BLOCK + n/SUM_BLOCK²` roundings
/// (`n = hi - lo`), so the error grows as `(128 + n/4096)·u·Σ|f|`, not `n·u` (`2^25` equal
/// terms summed in order in f32 would stop at `2^24`).
#[inline(always)]
pub fn blocked_sum<T: Float>(lo: usize, hi: usize, f: impl Fn(usize) -> T) -> T {
    let (mut total, mut sup, mut blocks) = (T::ZERO, T::ZERO, 0);
    let mut k = lo;
    while k < hi {
        let end = if hi - k > SUM_BLOCK { k + SUM_BLOCK } else { hi };
        let mut b = T::ZERO;
        while k < end {
            b = b + f(k);
            k += 1;
        }
        sup = sup + b;
        blocks += 1;
        if blocks == SUM_BLOCK {
            total = total + sup;
            (sup, blocks) = (T::ZERO, 0);
        }
    }
    total + sup
}

/// One lane's softmax (`log`: log-softmax) in the compute type `T`: the `len` values `at(k)`,
/// result `k` through `put(k, ·)`. Three sweeps: the maximum (maxNum, as [`row_softmax`]),
/// the sum of `e^(x - m)` ([`blocked_sum`]), then [`lane_value`]. The CPU's form; [`axis_softmax`]
/// makes the same sweeps over segments of the lane.
#[inline(always)]
pub fn lane<T: Float>(len: usize, log: bool, at: impl Fn(usize) -> T, mut put: impl FnMut(usize, T)) {
    let mut m = T::NEG_INFINITY;
    for k in 0..len {
        m = m.max_num(at(k));
    }
    let m = lane_center(m, log);
    let f = lane_factor(blocked_sum(0, len, |k| (at(k) - m).exp()), log);
    for k in 0..len {
        put(k, lane_value(at(k), m, f, log));
    }
}

/// Softmax (`log != 0`: log-softmax) along the middle axis of a contiguous `[outer, len,
/// inner]` array, loading `S` and computing in `T = S::Compute`. A block is 32 lanes
/// (`threadIdx.x`) × `blockDim.y` segments of the axis; each sweep's partial results (the
/// segment's maximum, then its sum) meet in shared memory (`32 · blockDim.y` values of `T`)
/// and every thread combines its lane's in segment order. Blocks stride over the lane groups.
///
/// # Safety
/// `x` and `y` are device pointers to `outer · len · inner` elements each; the launch gives
/// `32 · blockDim.y · size_of::<T>()` bytes of shared memory and `blockDim.x == 32`.
#[inline(always)]
pub unsafe fn axis_softmax<S: Elem<Compute = T>, T: Float>(
    x: *const S,
    y: *mut S,
    outer: u64,
    len: u64,
    inner: u64,
    log: u32,
) {
    let (outer, len, inner, log) = (outer as usize, len as usize, inner as usize, log != 0);
    let n = outer * len * inner;
    let (x, y) = unsafe { (Global::new(x, n), GlobalMut::new(y, n)) };
    let (tx, ty, segs) = (thread_idx().x as usize, thread_idx().y as usize, block_dim().y as usize);
    let part = Shared::<T>::new(0, 32 * segs);
    let seg = len.div_ceil(segs);
    let (lo, hi) = ((ty * seg).min(len), ((ty + 1) * seg).min(len));
    // Every segment's partial for this thread's lane, combined in segment order.
    let combine = |v: T, f: fn(T, T) -> T, init: T| {
        part.store(ty * 32 + tx, v);
        sync_threads();
        let mut acc = init;
        for j in 0..segs {
            acc = f(acc, part.load(j * 32 + tx));
        }
        sync_threads();
        acc
    };
    let mut group = block_idx().x as usize;
    while group * 32 < outer * inner {
        let g = group * 32 + tx;
        let live = g < outer * inner;
        let base = if live { (g / inner) * len * inner + g % inner } else { 0 };
        let at = |k: usize| x.load(base + k * inner).load();
        // A thread past the last lane sweeps nothing but still meets the barriers.
        let end = if live { hi } else { lo };
        let mut m = T::NEG_INFINITY;
        for k in lo..end {
            m = m.max_num(at(k));
        }
        let m = lane_center(combine(m, T::max_num, T::NEG_INFINITY), log);
        let s = blocked_sum(lo, end, |k| (at(k) - m).exp());
        let f = lane_factor(combine(s, |a, b| a + b, T::ZERO), log);
        for k in lo..end {
            y.store(base + k * inner, S::store(lane_value(at(k), m, f, log)));
        }
        group += grid_dim().x as usize;
    }
}

/// Threads a GPU needs in flight to approach its memory bandwidth (an H200: 132 SMs × 2048):
/// [`axis_config`] splits the axis until the lanes give about this many.
pub const AXIS_THREADS: u64 = 132 * 2048;

/// [`axis_softmax`]'s launch for `lanes` lanes of `len` elements: blocks of 32 lanes × `segs`
/// segments, `segs` a power of two up to 32 and to `max_threads / 32` (the entry's own limit,
/// from its registers: [`crate::launch::max_threads_for_registers`]), enough for
/// [`AXIS_THREADS`] threads but with at least 16 elements a segment; at most `max_blocks`
/// blocks (grid-stride over lane groups).
pub fn axis_config(lanes: u64, len: u64, max_blocks: u32, max_threads: u32) -> LaunchConfig {
    let groups = lanes.div_ceil(32).max(1);
    let cap = (max_threads / WARP_SIZE).clamp(1, 32) as u64;
    let mut segs = 1u64;
    while 2 * segs <= cap && groups * 32 * segs < AXIS_THREADS && len >= 32 * segs {
        segs *= 2;
    }
    let blocks = groups.min(max_blocks.max(1) as u64) as u32;
    // 8 bytes a partial: enough for every compute type.
    let shared = (32 * segs * 8) as u32;
    LaunchConfig { grid: Dim3::x(blocks), block: Dim3 { x: 32, y: segs as u32, z: 1 }, shared_bytes: shared }
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
    /// Row log-softmax, f32 and f64.
    log_softmax_f32(x: *const f32, y: *mut f32, rows: u32, cols: u32) => row_softmax::<f32, f32, true>;
    log_softmax_f64(x: *const f64, y: *mut f64, rows: u32, cols: u32) => row_softmax::<f64, f64, true>;
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
    /// Softmax or log-softmax along a middle axis ([`axis_softmax`]), per float dtype.
    softmax_axis_f32(x: *const f32, y: *mut f32, outer: u64, len: u64, inner: u64, log: u32) => axis_softmax::<f32, f32>;
    softmax_axis_f64(x: *const f64, y: *mut f64, outer: u64, len: u64, inner: u64, log: u32) => axis_softmax::<f64, f64>;
    softmax_axis_f16(x: *const F16, y: *mut F16, outer: u64, len: u64, inner: u64, log: u32) => axis_softmax::<F16, f32>;
    softmax_axis_bf16(x: *const BF16, y: *mut BF16, outer: u64, len: u64, inner: u64, log: u32) => axis_softmax::<BF16, f32>;
}
