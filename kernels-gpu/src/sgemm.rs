//! Exact FP32 matmul for large matrices: `C = A·B`, row-major, any M, N, K, with FMAs only
//! (no tensor cores), tuned for the ratio of arithmetic to memory traffic.
//!
//! Tiling: a block of 16×16 threads computes a 128×128 tile of C, thread `(tx, ty)` an 8×8
//! sub-tile made of four 4×4 quadrants: rows `4ty + {0..4}` and `64 + 4ty + {0..4}`, columns
//! `4tx + {0..4}` and `64 + 4tx + {0..4}`. Per step of K (8 deep) a thread reads its 8 A and
//! 8 B values as four 16-byte shared loads and does 64 FMAs.
//!
//! Staging: A's 128×8 tile is stored k-major (`a_s[k][m]`, row stride 132 words, so the
//! transposing stores of a warp hit 32 banks), B's 8×128 tile as is (`b_s[k][n]`). Thread
//! `e` loads 4 consecutive K of A's row `e / 2` and 4 consecutive N of B's row `e / 32`, each
//! as one 16-byte load when K (for A) or N (for B) is a multiple of 4 and the base aligned.
//! The tiles are double-buffered: while computing on one buffer, the next tile's values wait
//! in registers and go to the other buffer, so each K step needs one barrier.
//! Out-of-range elements are staged as zero; results outside C are not stored.

use crate::launch::{Dim3, LaunchConfig};
use crate::prelude::*;

/// Rows and columns of C per block.
pub const TILE: usize = 128;
/// Depth of a K step.
const DEPTH: usize = 8;
/// Row strides of the shared tiles, in elements.
const A_STRIDE: usize = TILE + 4;
const B_STRIDE: usize = TILE;
const STAGE: usize = DEPTH * (A_STRIDE + B_STRIDE);

/// `ceil(N/128) × ceil(M/128)` blocks of 16×16 threads, two shared stages (16.6 KB).
pub fn config(m: usize, n: usize) -> LaunchConfig {
    LaunchConfig {
        grid: Dim3::xy(n.div_ceil(TILE) as u32, m.div_ceil(TILE) as u32),
        block: Dim3::xy(16, 16),
        shared_bytes: (2 * STAGE * 4) as u32,
    }
}

/// Batch `blockIdx.z` of a strided batch (`matmul::batch`).
///
/// # Safety
/// `a`, `b`, `c` are device pointers holding every batch's `M·K`, `K·N` and `M·N` f32 values.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm(a: *const f32, b: *const f32, c: *mut f32, m: u32, n: u32, k: u32, sa: u64, sb: u64) {
    let (m, n, k) = (m as usize, n as usize, k as usize);
    let (a, b, c) = unsafe { crate::matmul::batch(a, b, c, (m, n, k), sa, sb) };
    let smem = Shared::<f32>::new(0, 2 * STAGE);
    let (tx, ty) = (thread_idx().x as usize, thread_idx().y as usize);
    let e = ty * 16 + tx;
    let (n0, m0) = (block_idx().x as usize * TILE, block_idx().y as usize * TILE);
    // What this thread stages: A[m0 + a_row][k0 + a_k + j] and B[k0 + b_k][n0 + b_n + j], j < 4.
    let (a_row, a_k) = (e / 2, 4 * (e % 2));
    let (b_k, b_n) = (e / 32, 4 * (e % 32));
    // Rows of 4-multiple length from 16-byte aligned bases: every group a thread stages is then
    // one aligned `ld.global.v4`, whole or wholly outside the matrix. The choice is the same
    // for every thread, so it does not diverge.
    let (a_vec, b_vec) = (a.is_aligned16() && k % 4 == 0, b.is_aligned16() && n % 4 == 0);
    let fetch = |k0: usize| -> ([f32; 4], [f32; 4]) {
        let (gm, gn, ak) = (m0 + a_row, n0 + b_n, k0 + a_k);
        let av = if a_vec && gm < m && ak < k {
            a.load_v4(gm * k + ak).map(f32::from_bits)
        } else {
            core::array::from_fn(|j| if gm < m && ak + j < k { a.load(gm * k + ak + j) } else { 0.0 })
        };
        let bk = k0 + b_k;
        let bv = if b_vec && bk < k && gn < n {
            b.load_v4(bk * n + gn).map(f32::from_bits)
        } else {
            core::array::from_fn(|j| if bk < k && gn + j < n { b.load(bk * n + gn + j) } else { 0.0 })
        };
        (av, bv)
    };
    let put = |stage: usize, (av, bv): ([f32; 4], [f32; 4])| {
        let base = stage * STAGE;
        for j in 0..4 {
            smem.store(base + (a_k + j) * A_STRIDE + a_row, av[j]);
            smem.store(base + DEPTH * A_STRIDE + b_k * B_STRIDE + b_n + j, bv[j]);
        }
    };

    let mut acc = [[0f32; 8]; 8];
    let steps = k.div_ceil(DEPTH);
    if steps > 0 {
        put(0, fetch(0));
    }
    sync_threads();
    for s in 0..steps {
        let next = if s + 1 < steps { Some(fetch((s + 1) * DEPTH)) } else { None };
        let base = (s % 2) * STAGE;
        // 16-byte groups: A's row k starts at base + k·A_STRIDE (132 floats: 16-byte aligned).
        let a_view = Shared::<f32>::new(base * 4, DEPTH * A_STRIDE);
        let b_view = Shared::<f32>::new((base + DEPTH * A_STRIDE) * 4, DEPTH * B_STRIDE);
        for kk in 0..DEPTH {
            let (ar, br) = (kk * A_STRIDE / 4, kk * B_STRIDE / 4);
            let a4 = [a_view.load16(ar + ty), a_view.load16(ar + 16 + ty)];
            let b4 = [b_view.load16(br + tx), b_view.load16(br + 16 + tx)];
            for i in 0..8 {
                let av = a4[i / 4][i % 4];
                for j in 0..8 {
                    acc[i][j] = av.mul_add(b4[j / 4][j % 4], acc[i][j]);
                }
            }
        }
        if let Some(v) = next {
            put((s + 1) % 2, v);
        }
        // Orders this step's reads before the next overwrite, and the staged tile before its reads.
        sync_threads();
    }
    for (i, row) in acc.iter().enumerate() {
        let gm = m0 + (i / 4) * 64 + 4 * ty + i % 4;
        for (j, &v) in row.iter().enumerate() {
            let gn = n0 + (j / 4) * 64 + 4 * tx + j % 4;
            if gm < m && gn < n {
                c.store(gm * n + gn, v);
            }
        }
    }
}

kernels! {
    /// `C = A · B`, exact FP32, 128×128 tiles (for large matrices).
    sgemm_f32(a: *const f32, b: *const f32, c: *mut f32, m: u32, n: u32, k: u32, sa: u64, sb: u64) => sgemm;
}
