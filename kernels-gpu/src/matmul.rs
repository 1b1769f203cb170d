//! Tiled matrix multiply through shared memory: `C = op(A) · op(B)`, all row-major, where
//! `op` is the identity or a transpose (chosen at compile time by `TA`, `TB`).
//!
//! The tiling lives in [`product_tile`], generic over how operands are read ([`Operand`]) and
//! what happens to each result (a closure), so the network kernels in `nn/` reuse it with
//! gathered rows, an implicit bias column and fused activations.
//!
//! Shapes: `op(A)` is `M×K`, `op(B)` is `K×N`, `C` is `M×N`. Stored, `A` is `M×K` (or `K×M`
//! when `TA`), `B` is `K×N` (or `N×K` when `TB`). Any sizes work, including 1 and primes;
//! `K = 0` gives zeros.
//!
//! Batches: every matmul entry (here, `sgemm.rs`, `tensor_core.rs`, `wgmma_matmul.rs`) takes
//! batch strides `sa`, `sb` (elements; 0 repeats one operand for every batch, NumPy's
//! broadcast) and multiplies batch `z = blockIdx.z` as `A + z·sa`, `B + z·sb` into
//! `C + z·M·N` ([`batch`]): one launch for a whole strided batch, as cuBLAS's strided-batched
//! GEMM. [`batched`] puts the batch count in the grid's z (at most [`MAX_BATCH`] per launch).
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

/// The most batches one launch takes: the grid's z limit.
pub const MAX_BATCH: usize = 65535;

/// `cfg` over `batches` matrices (grid z). Requires `1 <= batches <= MAX_BATCH`.
pub fn batched(cfg: LaunchConfig, batches: usize) -> LaunchConfig {
    LaunchConfig { grid: Dim3::new(cfg.grid.x, cfg.grid.y, batches as u32), ..cfg }
}

/// This block's batch of a batched product: views of `A + z·sa` (`M·K` elements), `B + z·sb`
/// (`K·N`) and `C + z·M·N` (`M·N`), `z` the block's grid z.
///
/// # Safety
/// Every batch's operands are valid device memory of those lengths for the whole launch.
#[inline(always)]
pub unsafe fn batch<T: Copy>(
    a: *const T,
    b: *const T,
    c: *mut T,
    (m, n, k): (usize, usize, usize),
    sa: u64,
    sb: u64,
) -> (Global<T>, Global<T>, GlobalMut<T>) {
    let z = block_idx().z as usize;
    // SAFETY: the caller's contract; the offsets stay inside the batch's allocations.
    unsafe {
        (
            Global::new(a.wrapping_add(z * sa as usize), m * k),
            Global::new(b.wrapping_add(z * sb as usize), k * n),
            GlobalMut::new(c.wrapping_add(z * m * n), m * n),
        )
    }
}

/// `(row, col)` of staging element `e` in a `rows × cols` tile. Consecutive `e` walk along
/// `col` when the source is contiguous along columns (`cols_fast`), else along `row`.
#[inline(always)]
fn tile_coords(e: usize, cols_fast: bool, rows: usize, cols: usize) -> (usize, usize) {
    if cols_fast { (e / cols, e % cols) } else { (e % rows, e / rows) }
}

/// A logical matrix operand of the product. Implementations decide where element `(row, col)`
/// lives (plain, transposed, gathered rows, an implicit column of ones...).
pub trait Operand<T>: Copy {
    /// Whether consecutive columns are adjacent in memory: the staging order that coalesces.
    const COLS_CONTIGUOUS: bool;
    /// Element `(row, col)`; the product only asks for rows and columns inside the matrix.
    fn at(&self, row: usize, col: usize) -> T;
}

/// A stored row-major matrix with `ld` elements per row, read as is or transposed.
#[derive(Clone, Copy)]
pub struct Stored<T, const TRANSPOSED: bool> {
    data: Global<T>,
    ld: usize,
}

impl<T: Copy, const TRANSPOSED: bool> Stored<T, TRANSPOSED> {
    #[inline(always)]
    pub fn new(data: Global<T>, ld: usize) -> Self {
        Stored { data, ld }
    }
}

impl<T: Float, const TRANSPOSED: bool> Operand<T> for Stored<T, TRANSPOSED> {
    const COLS_CONTIGUOUS: bool = !TRANSPOSED;
    #[inline(always)]
    fn at(&self, row: usize, col: usize) -> T {
        if TRANSPOSED { self.data.load(col * self.ld + row) } else { self.data.load(row * self.ld + col) }
    }
}

/// The block's 64×64 tile of `A·B` (`A` is `m×k`, `B` is `k×n`): every element inside `m×n` is
/// handed to `store(row, col, value)` exactly once, by the thread that computed it. All threads
/// of the block must call it (it has barriers). Launch with [`config`].
#[inline(always)]
pub fn product_tile<T: Float>(
    a: impl Operand<T>,
    b: impl Operand<T>,
    (m, n, k): (usize, usize, usize),
    store: impl Fn(usize, usize, T),
) {
    fn contiguous<T, O: Operand<T>>(_: &O) -> bool {
        O::COLS_CONTIGUOUS
    }
    let (a_cols_fast, b_cols_fast) = (contiguous(&a), contiguous(&b));
    // a_s[kk * STRIDE + row] = A[m0 + row][k0 + kk]; b_s[kk * STRIDE + col] = B[k0 + kk][n0 + col]
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
            let (row, kk) = tile_coords(e, a_cols_fast, TILE, STEP);
            let (gm, gk) = (m0 + row, k0 + kk);
            a_s.store(kk * STRIDE + row, if gm < m && gk < k { a.at(gm, gk) } else { T::ZERO });
            let (kk, col) = tile_coords(e, b_cols_fast, STEP, TILE);
            let (gk, gn) = (k0 + kk, n0 + col);
            b_s.store(kk * STRIDE + col, if gk < k && gn < n { b.at(gk, gn) } else { T::ZERO });
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
                store(gm, gn, v);
            }
        }
    }
}

/// `C = op(A) · op(B)` for stored `A` (`M×K`, or `K×M` when `TA`) and `B` (`K×N`, or `N×K`),
/// batch `blockIdx.z` of a strided batch ([`batch`]).
///
/// # Safety
/// `a`, `b`, `c` are device pointers holding every batch's `M·K`, `K·N` and `M·N` elements.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub unsafe fn tiled<T: Float, const TA: bool, const TB: bool>(
    a: *const T,
    b: *const T,
    c: *mut T,
    m: u32,
    n: u32,
    k: u32,
    sa: u64,
    sb: u64,
) {
    let (m, n, k) = (m as usize, n as usize, k as usize);
    let (a, b, c) = unsafe { batch(a, b, c, (m, n, k), sa, sb) };
    let a = Stored::<T, TA>::new(a, if TA { m } else { k });
    let b = Stored::<T, TB>::new(b, if TB { k } else { n });
    product_tile(a, b, (m, n, k), |i, j, v| c.store(i * n + j, v));
}

kernels! {
    /// `C = A · B`, f32.
    matmul_f32(a: *const f32, b: *const f32, c: *mut f32, m: u32, n: u32, k: u32, sa: u64, sb: u64) => tiled::<f32, false, false>;
    /// `C = Aᵀ · B`, f32 (`A` stored `K×M`).
    matmul_tn_f32(a: *const f32, b: *const f32, c: *mut f32, m: u32, n: u32, k: u32, sa: u64, sb: u64) => tiled::<f32, true, false>;
    /// `C = A · Bᵀ`, f32 (`B` stored `N×K`).
    matmul_nt_f32(a: *const f32, b: *const f32, c: *mut f32, m: u32, n: u32, k: u32, sa: u64, sb: u64) => tiled::<f32, false, true>;
    /// `C = A · B`, f64.
    matmul_f64(a: *const f64, b: *const f64, c: *mut f64, m: u32, n: u32, k: u32, sa: u64, sb: u64) => tiled::<f64, false, false>;
    /// `C = Aᵀ · B`, f64.
    matmul_tn_f64(a: *const f64, b: *const f64, c: *mut f64, m: u32, n: u32, k: u32, sa: u64, sb: u64) => tiled::<f64, true, false>;
    /// `C = A · Bᵀ`, f64.
    matmul_nt_f64(a: *const f64, b: *const f64, c: *mut f64, m: u32, n: u32, k: u32, sa: u64, sb: u64) => tiled::<f64, false, true>;
}
