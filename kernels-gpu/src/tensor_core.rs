//! Tensor-core matmul `C = A·B`, row-major, any M, N, K (sm_80 and newer, `mma.sync`): f32
//! inputs rounded to tf32, or bf16 / f16 inputs; f32 accumulation; C in the input type
//! (rounded to nearest even once, at the end).
//!
//! Tiling: a block of 8 warps computes a 128×128 tile of C. Warp `w` owns the 64×32 sub-tile
//! at rows `64·(w / 4)`, columns `32·(w % 4)`: 4 × 4 mma tiles of 16×8, so each lane keeps
//! 64 f32 accumulators in registers.
//!
//! K is staged through shared memory 16 K-words at a time (16 tf32 or 32 bf16/f16 elements;
//! two mma K-steps), as 32-bit words: A as `[row][word]`, B transposed as `[column][word]`,
//! both with a row stride of 20 words. A fragment load has lanes read rows `g` (0..8) at
//! words `t` (0..4): `20g + t` falls in 32 different banks, so fragment loads are
//! conflict-free. In 32-bit words the fragments of `m16n8k8.tf32` and `m16n8k16.bf16/f16` are
//! laid out alike (see `emu/mma.rs`), so one kernel body serves all three.
//!
//! Staging: thread `t` loads words `t + 256q`, `q < 8`, of each tile: consecutive threads read
//! consecutive addresses of A's rows and of B's columns' neighbours. Elements past M, N or K
//! are zero, which adds nothing to the products.
//!
//! Correctness: the barrier after staging orders the shared stores before the fragment loads;
//! the barrier after the products keeps the next stage from overwriting words still being read.

use crate::launch::{Dim3, LaunchConfig};
use crate::prelude::*;

/// Rows and columns of C per block.
pub const TILE: usize = 128;
/// K-words staged per step.
const WORDS: usize = 16;
/// Shared-memory row stride in words (see the module notes for why 20).
const STRIDE: usize = WORDS + 4;
const THREADS: usize = 256;

/// An input type of the tensor-core product.
pub trait TensorInput: Copy + 'static {
    /// Elements per 32-bit K-word.
    const PER_WORD: usize;
    const ZERO: Self;
    /// The K-word holding `lo` (lower K index) and, for 16-bit types, `hi`.
    fn word(lo: Self, hi: Self) -> u32;
    fn mma(a: [u32; 4], b: [u32; 2], c: [f32; 4]) -> [f32; 4];
    /// The accumulator rounded to the output type.
    fn from_acc(x: f32) -> Self;
}

impl TensorInput for f32 {
    const PER_WORD: usize = 1;
    const ZERO: f32 = 0.0;
    #[inline(always)]
    fn word(lo: f32, _: f32) -> u32 {
        tf32(lo)
    }
    #[inline(always)]
    fn mma(a: [u32; 4], b: [u32; 2], c: [f32; 4]) -> [f32; 4] {
        mma_m16n8k8_tf32(a, b, c)
    }
    #[inline(always)]
    fn from_acc(x: f32) -> f32 {
        x
    }
}

impl TensorInput for BF16 {
    const PER_WORD: usize = 2;
    const ZERO: BF16 = BF16(0);
    #[inline(always)]
    fn word(lo: BF16, hi: BF16) -> u32 {
        pack2(lo.0, hi.0)
    }
    #[inline(always)]
    fn mma(a: [u32; 4], b: [u32; 2], c: [f32; 4]) -> [f32; 4] {
        mma_m16n8k16_bf16(a, b, c)
    }
    #[inline(always)]
    fn from_acc(x: f32) -> BF16 {
        BF16(bf16_rn(x))
    }
}

impl TensorInput for F16 {
    const PER_WORD: usize = 2;
    const ZERO: F16 = F16(0);
    #[inline(always)]
    fn word(lo: F16, hi: F16) -> u32 {
        pack2(lo.0, hi.0)
    }
    #[inline(always)]
    fn mma(a: [u32; 4], b: [u32; 2], c: [f32; 4]) -> [f32; 4] {
        mma_m16n8k16_f16(a, b, c)
    }
    #[inline(always)]
    fn from_acc(x: f32) -> F16 {
        F16(f16_rn(x))
    }
}

/// `ceil(N/128) × ceil(M/128)` blocks of 256 threads, 20 KiB of shared memory. Requires
/// `M, N >= 1` and `M <= 65535 · 128`.
pub fn config(m: usize, n: usize) -> LaunchConfig {
    LaunchConfig {
        grid: Dim3::xy(n.div_ceil(TILE) as u32, m.div_ceil(TILE) as u32),
        block: Dim3::x(THREADS as u32),
        shared_bytes: (2 * TILE * STRIDE * 4) as u32,
    }
}

/// # Safety
/// `a`, `b`, `c` are device pointers holding `M·K`, `K·N` and `M·N` elements.
#[inline(always)]
pub unsafe fn matmul<T: TensorInput>(a: *const T, b: *const T, c: *mut T, m: u32, n: u32, k: u32) {
    let (m, n, k) = (m as usize, n as usize, k as usize);
    let (a, b, c) = unsafe { (Global::new(a, m * k), Global::new(b, k * n), GlobalMut::new(c, m * n)) };
    let a_s = Shared::<u32>::new(0, TILE * STRIDE);
    let b_s = Shared::<u32>::new(TILE * STRIDE * 4, TILE * STRIDE);
    let t = thread_idx().x as usize;
    let (warp, lane) = (t / 32, t % 32);
    let (g, q4) = (lane / 4, lane % 4);
    let (n0, m0) = (block_idx().x as usize * TILE, block_idx().y as usize * TILE);
    let (wm, wn) = (64 * (warp / 4), 32 * (warp % 4));
    let mut acc = [[[0f32; 4]; 4]; 4];

    let per = T::PER_WORD;
    let mut kw0 = 0;
    while kw0 * per < k {
        for q in 0..(TILE * WORDS) / THREADS {
            let e = t + THREADS * q;
            // A word (row, w): elements (row, (kw0 + w)·per + h).
            let (row, w) = (e / WORDS, e % WORDS);
            let (gm, kk) = (m0 + row, (kw0 + w) * per);
            let at = |kk: usize| if gm < m && kk < k { a.load(gm * k + kk) } else { T::ZERO };
            let hi = if per == 2 { at(kk + 1) } else { T::ZERO };
            a_s.store(row * STRIDE + w, T::word(at(kk), hi));
            // B word (col, w): elements ((kw0 + w)·per + h, col), stored transposed.
            let (col, w) = (e % TILE, e / TILE);
            let (gn, kk) = (n0 + col, (kw0 + w) * per);
            let bt = |kk: usize| if gn < n && kk < k { b.load(kk * n + gn) } else { T::ZERO };
            let hi = if per == 2 { bt(kk + 1) } else { T::ZERO };
            b_s.store(col * STRIDE + w, T::word(bt(kk), hi));
        }
        sync_threads();
        for step in 0..WORDS / 8 {
            let w0 = 8 * step + q4;
            let af: [[u32; 4]; 4] = core::array::from_fn(|i| {
                core::array::from_fn(|r| a_s.load((wm + 16 * i + g + 8 * (r & 1)) * STRIDE + w0 + 4 * (r >> 1)))
            });
            let bf: [[u32; 2]; 4] =
                core::array::from_fn(|j| core::array::from_fn(|r| b_s.load((wn + 8 * j + g) * STRIDE + w0 + 4 * r)));
            for (i, row) in acc.iter_mut().enumerate() {
                for (j, tile) in row.iter_mut().enumerate() {
                    *tile = T::mma(af[i], bf[j], *tile);
                }
            }
        }
        sync_threads();
        kw0 += WORDS;
    }
    for (i, row) in acc.iter().enumerate() {
        for (j, tile) in row.iter().enumerate() {
            for (r, &v) in tile.iter().enumerate() {
                let gm = m0 + wm + 16 * i + g + 8 * (r >> 1);
                let gn = n0 + wn + 8 * j + 2 * q4 + (r & 1);
                if gm < m && gn < n {
                    c.store(gm * n + gn, T::from_acc(v));
                }
            }
        }
    }
}

kernels! {
    /// `C = A·B` on tensor cores, f32 in and out, products in tf32.
    ["sm_80"] mma_matmul_tf32(a: *const f32, b: *const f32, c: *mut f32, m: u32, n: u32, k: u32) => matmul::<f32>;
    /// `C = A·B` on tensor cores, bf16 in and out, f32 accumulation.
    ["sm_80"] mma_matmul_bf16(a: *const BF16, b: *const BF16, c: *mut BF16, m: u32, n: u32, k: u32) => matmul::<BF16>;
    /// `C = A·B` on tensor cores, f16 in and out, f32 accumulation.
    ["sm_80"] mma_matmul_f16(a: *const F16, b: *const F16, c: *mut F16, m: u32, n: u32, k: u32) => matmul::<F16>;
}
