//! Tensor-core matmul on Hopper's warpgroup MMA (`wgmma`, sm_90a only): `C = A·B`, row-major,
//! any M, N, K; bf16 or f16 inputs, f32 accumulation, C in the input type (rounded once).
//!
//! Tiling: a block of two warpgroups (256 threads) computes a 128×128 tile of C. Warpgroup
//! `g` owns rows `64g ..+64` and all 128 columns: one `m64n128k16` accumulator set, 64 f32 per
//! thread. K advances 64 elements per stage, 4 `wgmma` per warpgroup.
//!
//! Shared memory (64 KiB, two stages of 32 KiB): each holds A's tile (128 rows × 64 K) and
//! B's tile transposed (128 columns × 64 K), both K-major in unswizzled core matrices. Row
//! `r`, K-chunk `c = k / 8` is the 16-byte row `r % 8` of core matrix (`r / 8`, `c`), at byte
//! `128·(8·(r / 8) + c) + 16·(r % 8)` of its tile: the next core matrix along K is 128 bytes
//! on (LBO), along M or N 1024 (SBO).
//!
//! Pipeline: while the tensor cores work on one stage, the threads store the next into the
//! other buffer (from registers loaded an iteration earlier) and start the global loads of the
//! one after.
//!
//! Staging: A: thread `t` loads chunks `e = t + 256q` (q < 4) of 8 K-consecutive elements
//! (one 16-byte load when K is a multiple of 8), chunk `e` being row `8·(e / 64) + e % 8`,
//! K-chunk `(e / 8) % 8`: a warp's 32 stores fill four whole core matrices, 512 contiguous
//! bytes, without bank conflicts. B: thread `t` loads columns `4·(t % 32) ..+4` of K rows
//! `8·(t / 32) ..+8` (8-byte loads when N is a multiple of 4), transposes that block in
//! registers and stores four 16-byte core-matrix rows (these stores conflict 4-way: a swizzled
//! layout would remove that). Elements past M, N or K are zero.
//!
//! Order per stage `s`, the `wgmma` protocol of `prelude/wgmma.rs`: `wgmma.fence`, 4 `wgmma`
//! on buffer `s % 2`, commit; `wait_group 1` (stage `s - 1`'s group, which read the other
//! buffer, is done) and a barrier (it is done in every warp); stage `s + 1`'s stores into that
//! buffer, `fence.proxy.async` (the tensor core reads through the async proxy), stage `s + 2`'s
//! global loads, barrier. After the last stage, `wait_group 0`. The emulator checks that no
//! store lands on a buffer a group in flight still reads.

use crate::launch::{Dim3, LaunchConfig};
use crate::prelude::*;
use crate::tensor_core::{Stager, TensorInput, half};

/// Rows and columns of C per block.
pub const TILE: usize = crate::tensor_core::TILE;
/// K elements per stage.
const KS: usize = 64;
/// Shared-memory stages: the tensor cores read one while the threads fill the other.
const STAGES: usize = 2;
const THREADS: usize = 256;
/// Bytes of one operand tile in shared memory.
const TILE_BYTES: usize = TILE * KS * 2;
/// Core-matrix strides (see the module notes).
const LBO: u32 = 128;
const SBO: u32 = 1024;

/// A 16-bit input type `wgmma` takes.
pub trait WgmmaInput: TensorInput {
    fn wgmma(d: &mut WgmmaAcc, a: u64, b: u64);
}

impl WgmmaInput for BF16 {
    #[inline(always)]
    fn wgmma(d: &mut WgmmaAcc, a: u64, b: u64) {
        wgmma_m64n128k16_bf16(d, a, b)
    }
}

impl WgmmaInput for F16 {
    #[inline(always)]
    fn wgmma(d: &mut WgmmaAcc, a: u64, b: u64) {
        wgmma_m64n128k16_f16(d, a, b)
    }
}

/// `ceil(N/128) × ceil(M/128)` blocks of 256 threads, 64 KiB of shared memory (above the
/// default 48 KiB: the launch opts in). Requires `M, N >= 1` and `M <= 65535 · 128`.
pub fn config(m: usize, n: usize) -> LaunchConfig {
    LaunchConfig {
        grid: Dim3::xy(n.div_ceil(TILE) as u32, m.div_ceil(TILE) as u32),
        block: Dim3::x(THREADS as u32),
        shared_bytes: (STAGES * 2 * TILE_BYTES) as u32,
    }
}

/// Byte offset of row `r`, K-chunk `c` (8 elements) in an operand tile.
#[inline(always)]
const fn core_row(r: usize, c: usize) -> usize {
    128 * (8 * (r / 8) + c) + 16 * (r % 8)
}

/// One stage's operands in registers: A's four 16-byte chunks and B's 8×4 block (8 K rows of
/// two words).
type Regs = ([[u32; 4]; 4], [[u32; 2]; 8]);

impl<T: WgmmaInput> Stager<T> {
    /// This thread's share of stage `kt`, loaded from global memory.
    #[inline(always)]
    fn load_wgmma(&self, kt: usize) -> Regs {
        let (t, m, n, k, k0) = (self.t, self.m, self.n, self.k, kt * KS);
        let a_chunks = core::array::from_fn(|q| {
            let e = t + THREADS * q;
            let (gm, kk) = (self.m0 + 8 * (e / 64) + e % 8, k0 + 8 * ((e / 8) % 8));
            if self.fast_a && gm < m && kk + 8 <= k {
                self.a.load_v4(gm * k + kk)
            } else {
                let at = |kk: usize| if gm < m && kk < k { self.a.load(gm * k + kk) } else { T::ZERO };
                core::array::from_fn(|w| T::word(at(kk + 2 * w), at(kk + 2 * w + 1)))
            }
        });
        let gn = self.n0 + 4 * (t % 32);
        let b_rows = core::array::from_fn(|r| {
            let kr = k0 + 8 * (t / 32) + r;
            if self.fast_b && kr < k && gn + 4 <= n {
                self.b.load_v2(kr * n + gn)
            } else {
                let at = |col: usize| if kr < k && col < n { self.b.load(kr * n + col) } else { T::ZERO };
                core::array::from_fn(|w| T::word(at(gn + 2 * w), at(gn + 2 * w + 1)))
            }
        });
        (a_chunks, b_rows)
    }

    /// Writes a stage into the shared tiles, B transposed to K-major.
    #[inline(always)]
    fn store_wgmma(&self, (a_chunks, b_rows): Regs, a_s: &Shared<u32>, b_s: &Shared<u32>) {
        let t = self.t;
        // Index loops, not `into_iter()`: an array's `IntoIter` is not unrolled, and its data
        // then lives in local memory.
        for (q, &chunk) in a_chunks.iter().enumerate() {
            let e = t + THREADS * q;
            a_s.store_v4(core_row(8 * (e / 64) + e % 8, (e / 8) % 8) / 4, chunk);
        }
        for j in 0..4 {
            // Column j of the 8×4 block: K pairs (2p, 2p + 1) in one word, lower K low.
            let col = core::array::from_fn(|p| {
                half(b_rows[2 * p][j / 2], j % 2) | half(b_rows[2 * p + 1][j / 2], j % 2) << 16
            });
            b_s.store_v4(core_row(4 * (t % 32) + j, t / 32) / 4, col);
        }
    }
}

/// # Safety
/// `a`, `b`, `c` are device pointers holding every batch's `M·K`, `K·N` and `M·N` elements
/// (batch `blockIdx.z` of a strided batch: `matmul::batch`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub unsafe fn matmul<T: WgmmaInput>(a: *const T, b: *const T, c: *mut T, m: u32, n: u32, k: u32, sa: u64, sb: u64) {
    let (m, n, k) = (m as usize, n as usize, k as usize);
    let (a, b, c) = unsafe { crate::matmul::batch(a, b, c, (m, n, k), sa, sb) };
    // Stage buffer `s`: A's tile, then B's. Both views are made (and checked) before the first
    // `wgmma`, and chosen with a select, not by indexing an array: a dynamically indexed array
    // lives in local memory, and a bounds check inside the loop would add a trap path on which
    // ptxas must wait for the `wgmma`s in flight.
    let buf = |s: usize| {
        (
            Shared::<u32>::new(2 * s * TILE_BYTES, TILE_BYTES / 4),
            Shared::<u32>::new((2 * s + 1) * TILE_BYTES, TILE_BYTES / 4),
        )
    };
    let (buf0, buf1) = (buf(0), buf(1));
    // A's chunks are 8 K-consecutive elements.
    let stager = Stager::new(a, b, (m, n, k), 8);
    let (t, m0, n0) = (stager.t, stager.m0, stager.n0);

    let group = t / 128;
    let (a0, b0) = buf0;
    let (a_base0, b_base0) = (a0.window_addr(0) + core_row(64 * group, 0) as u32, b0.window_addr(0));
    let mut acc: WgmmaAcc = [0.0; WGMMA_N / 2];
    let stages = k.div_ceil(KS);
    let mut next = stager.load_wgmma(0);
    stager.store_wgmma(next, &a0, &b0);
    fence_proxy_async_shared();
    if stages > 1 {
        next = stager.load_wgmma(1);
    }
    sync_threads();
    for kt in 0..stages {
        let stage_offset = ((kt % STAGES) * 2 * TILE_BYTES) as u32;
        let (a_base, b_base) = (a_base0 + stage_offset, b_base0 + stage_offset);
        wgmma_fence();
        for s in 0..KS / 16 {
            // K elements 16s ..+16: core matrices 2s and 2s + 1 along K.
            let step = core_row(0, 2 * s) as u32;
            T::wgmma(&mut acc, smem_desc(a_base + step, LBO, SBO), smem_desc(b_base + step, LBO, SBO));
        }
        wgmma_commit_group();
        // Stage kt - 1's group read the other buffer: done here, and after the barrier in
        // every warp, so stage kt + 1 may overwrite it while this stage's group runs.
        wgmma_wait_group::<1>();
        sync_threads();
        if kt + 1 < stages {
            let (a_s, b_s) = if (kt + 1) % STAGES == 0 { buf0 } else { buf1 };
            stager.store_wgmma(next, &a_s, &b_s);
            fence_proxy_async_shared();
            if kt + 2 < stages {
                next = stager.load_wgmma(kt + 2);
            }
            sync_threads();
        }
    }
    wgmma_wait_group::<0>();

    let lane = t % 32;
    let row0 = m0 + 64 * group + 16 * ((t / 32) % 4) + lane / 4;
    for (i, &v) in acc.iter().enumerate() {
        let (gm, gn) = (row0 + 8 * ((i % 4) / 2), n0 + 8 * (i / 4) + 2 * (lane % 4) + i % 2);
        if gm < m && gn < n {
            c.store(gm * n + gn, T::from_acc(v));
        }
    }
}

kernels! {
    /// `C = A·B` on Hopper tensor cores (`wgmma`), bf16 in and out, f32 accumulation.
    ["sm_90a"] wgmma_matmul_bf16(a: *const BF16, b: *const BF16, c: *mut BF16, m: u32, n: u32, k: u32, sa: u64, sb: u64) => matmul::<BF16>;
    /// `C = A·B` on Hopper tensor cores (`wgmma`), f16 in and out, f32 accumulation.
    ["sm_90a"] wgmma_matmul_f16(a: *const F16, b: *const F16, c: *mut F16, m: u32, n: u32, k: u32, sa: u64, sb: u64) => matmul::<F16>;
}
