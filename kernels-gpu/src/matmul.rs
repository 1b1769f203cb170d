//! Tiled matrix multiply through shared memory: `C = op(A) · op(B)`, all row-major, where
//! `op` is the identity or a transpose (chosen at compile time by `TA`, `TB`).
//!
//! Shapes: `op(A)` is `M×K`, `op(B)` is `K×N`, `C` is `M×N`. Stored, `A` is `M×K` (or `K×M`
//! when `TA`), `B` is `K×N` (or `N×K` when `TB`). Any sizes work, including 1 and primes;
//! `K = 0` gives zeros.
//!
//! Tiling: a block of 16×16 threads computes a 64×64 tile of `C`. For each step of 16 along
//! `K` the block stages a 64×16 tile of `op(A)` and a 16×64 tile of `op(B)` in shared memory
//! (out-of-range elements as zero), then every thread accumulates its 4×4 outputs with FMAs.
//!
//! Thread mapping: thread `(tx, ty)` owns `C[m0 + ty + 16i][n0 + tx + 16j]` for `i, j < 4`.
//! Strides of 16 (rather than 4 adjacent outputs) make a warp's shared-memory reads hit
//! consecutive words and its global stores consecutive addresses.
//!
//! Staging: the 256 threads load 1024 elements of each tile, four each, in the order that
//! makes consecutive threads read consecutive global addresses (that order depends on the
//! transpose). Shared tiles are `k`-major with a row stride of 65 words: the compute reads are
//! free of bank conflicts and the staging writes at worst 2-way.
//!
//! Correctness: each staged element is written by exactly one thread and read only after the
//! first barrier; the second barrier keeps a fast thread from overwriting a tile that others
//! still read. Every output is written once, by its owner, if it lies inside `C`.

use crate::launch::{Dim3, LaunchConfig};
use crate::prelude::*;

/// Rows and columns of `C` per block.
pub const TILE: usize = 64;
/// Depth of one staging step along `K`.
pub const STEP: usize = 16;
/// Threads per block along x and y.
pub const THREADS: u32 = 16;
/// Outputs per thread along each axis: `TILE / THREADS`.
const PER_THREAD: usize = TILE / THREADS as usize;
/// Row stride of the shared tiles in elements: one word of padding against bank conflicts.
const STRIDE: usize = TILE + 1;

/// Grid of `ceil(N/64) × ceil(M/64)` blocks. Requires `M, N >= 1` and `M <= 65535 * 64`.
pub fn config<T: Float>(m: usize, n: usize) -> LaunchConfig {
    LaunchConfig {
        grid: Dim3::xy(n.div_ceil(TILE) as u32, m.div_ceil(TILE) as u32),
        block: Dim3::xy(THREADS, THREADS),
        shared_bytes: (2 * STEP * STRIDE * size_of::<T>()) as u32,
    }
}

/// `(row, col)` of staging element `e` in a `rows × cols` tile. Consecutive `e` walk along
/// `col` when the source is contiguous along columns (`cols_fast`), else along `row`.
#[inline(always)]
fn tile_coords(e: usize, cols_fast: bool, rows: usize, cols: usize) -> (usize, usize) {
    if cols_fast { (e / cols, e % cols) } else { (e % rows, e / rows) }
}

/// # Safety
/// `a`, `b`, `c` are device pointers holding `M·K`, `K·N` and `M·N` elements.
#[inline(always)]
pub unsafe fn tiled<T: Float, const TA: bool, const TB: bool>(
    a: *const T,
    b: *const T,
    c: *mut T,
    m: u32,
    n: u32,
    k: u32,
) {
    let (m, n, k) = (m as usize, n as usize, k as usize);
    let (a, b, c) = unsafe { (Global::new(a, m * k), Global::new(b, k * n), GlobalMut::new(c, m * n)) };
    // a_s[kk * STRIDE + row] = op(A)[m0 + row][k0 + kk]; b_s[kk * STRIDE + col] = op(B)[k0 + kk][n0 + col]
    let a_s = Shared::<T>::new(0, STEP * STRIDE);
    let b_s = Shared::<T>::new(STEP * STRIDE * size_of::<T>(), STEP * STRIDE);

    let (tx, ty) = (thread_idx().x as usize, thread_idx().y as usize);
    let t = ty * THREADS as usize + tx;
    let (n0, m0) = (block_idx().x as usize * TILE, block_idx().y as usize * TILE);
    let mut acc = [[T::ZERO; PER_THREAD]; PER_THREAD];

    let mut k0 = 0;
    while k0 < k {
        for q in 0..(TILE * STEP) / (THREADS * THREADS) as usize {
            let e = t + q * (THREADS * THREADS) as usize;
            // op(A) tile: TILE rows × STEP cols; stored A is contiguous along K unless TA.
            let (row, kk) = tile_coords(e, !TA, TILE, STEP);
            let (gm, gk) = (m0 + row, k0 + kk);
            let va = if gm < m && gk < k { a.load(if TA { gk * m + gm } else { gm * k + gk }) } else { T::ZERO };
            a_s.store(kk * STRIDE + row, va);
            // op(B) tile: STEP rows × TILE cols; stored B is contiguous along N unless TB.
            let (kk, col) = tile_coords(e, !TB, STEP, TILE);
            let (gk, gn) = (k0 + kk, n0 + col);
            let vb = if gk < k && gn < n { b.load(if TB { gn * k + gk } else { gk * n + gn }) } else { T::ZERO };
            b_s.store(kk * STRIDE + col, vb);
        }
        sync_threads();
        for kk in 0..STEP {
            let av: [T; PER_THREAD] = core::array::from_fn(|i| a_s.load(kk * STRIDE + ty + i * THREADS as usize));
            let bv: [T; PER_THREAD] = core::array::from_fn(|j| b_s.load(kk * STRIDE + tx + j * THREADS as usize));
            for i in 0..PER_THREAD {
                for j in 0..PER_THREAD {
                    acc[i][j] = av[i].mul_add(bv[j], acc[i][j]);
                }
            }
        }
        sync_threads();
        k0 += STEP;
    }
    for (i, row) in acc.iter().enumerate() {
        let gm = m0 + ty + i * THREADS as usize;
        for (j, &v) in row.iter().enumerate() {
            let gn = n0 + tx + j * THREADS as usize;
            if gm < m && gn < n {
                c.store(gm * n + gn, v);
            }
        }
    }
}

kernels! {
    /// `C = A · B`, f32.
    matmul_f32(a: *const f32, b: *const f32, c: *mut f32, m: u32, n: u32, k: u32) => tiled::<f32, false, false>;
    /// `C = Aᵀ · B`, f32 (`A` stored `K×M`).
    matmul_tn_f32(a: *const f32, b: *const f32, c: *mut f32, m: u32, n: u32, k: u32) => tiled::<f32, true, false>;
    /// `C = A · Bᵀ`, f32 (`B` stored `N×K`).
    matmul_nt_f32(a: *const f32, b: *const f32, c: *mut f32, m: u32, n: u32, k: u32) => tiled::<f32, false, true>;
    /// `C = A · B`, f64.
    matmul_f64(a: *const f64, b: *const f64, c: *mut f64, m: u32, n: u32, k: u32) => tiled::<f64, false, false>;
    /// `C = Aᵀ · B`, f64.
    matmul_tn_f64(a: *const f64, b: *const f64, c: *mut f64, m: u32, n: u32, k: u32) => tiled::<f64, true, false>;
    /// `C = A · Bᵀ`, f64.
    matmul_nt_f64(a: *const f64, b: *const f64, c: *mut f64, m: u32, n: u32, k: u32) => tiled::<f64, false, true>;
}
