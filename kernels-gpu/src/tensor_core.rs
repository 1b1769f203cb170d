//! Tensor-core matmul `C = A·B`, row-major, any M, N, K (sm_80 and newer, `mma.sync`): f32
//! inputs rounded to tf32, or bf16 / f16 inputs; f32 accumulation; C in the input type
//! (rounded to nearest even once, at the end).
//!
//! Tiling: a block of 8 warps computes a 128×128 tile of C. Warp `w` owns the 64×32 sub-tile
//! at rows `64·(w / 4)`, columns `32·(w % 4)`: 4 × 4 mma tiles of 16×8, so each lane keeps
//! 64 f32 accumulators in registers.
//!
//! K is staged through shared memory 16 K-words at a time (16 tf32 or 32 bf16/f16 elements;
//! two mma K-steps), as 32-bit words: A as `[row][word]` with a row stride of 20 words, B as
//! `[word][column]` with a stride of 136. A fragment load has lanes `(g, t)` (g < 8, t < 4)
//! read A at `20g + t` and B at `136t + g`: 32 different banks either way, so fragment loads
//! are conflict-free. In 32-bit words the fragments of `m16n8k8.tf32` and `m16n8k16.bf16/f16`
//! are laid out alike (see `emu/mma.rs`), so one kernel body serves all three.
//!
//! Staging: thread `t` stages chunks `e = t + 256q` (q < 2) of each operand, four words each,
//! stored with one 16-byte shared store: A's row `e / 4`, words `4(e % 4) ..+4`; B's word row
//! `e / 32`, columns `4(e % 32) ..+4` (for 16-bit inputs, two K rows packed pairwise). A chunk
//! is one 16-byte load of A (or two 8-byte loads of B's 16-bit rows) when K (for A) or N (for
//! B) allows whole aligned chunks; otherwise it loads element by element, and elements past M,
//! N or K are zero, which adds nothing to the products.
//!
//! Pipeline: two shared stages. While the warps multiply out of one, the next stage's global
//! loads are in flight into registers; they are stored into the other buffer after the
//! products, and one barrier per stage orders both: the stores before the next stage's
//! fragment loads, and this stage's fragment loads before the stage after overwrites them.

use crate::launch::{Dim3, LaunchConfig};
use crate::prelude::*;

/// Rows and columns of C per block.
pub const TILE: usize = 128;
/// K-words staged per step.
const WORDS: usize = 16;
/// Row stride of A's shared tile in words, and of B's (see the module notes for why).
const A_STRIDE: usize = WORDS + 4;
const B_STRIDE: usize = TILE + 8;
/// Words of one shared stage: A's tile, then B's.
const STAGE: usize = TILE * A_STRIDE + WORDS * B_STRIDE;
const THREADS: usize = 256;
/// Four-word chunks per thread per operand and stage.
const CHUNKS: usize = TILE * WORDS / (4 * THREADS);

/// An input type of the tensor-core product.
pub trait TensorInput: Copy + 'static {
    /// Elements per 32-bit K-word.
    const PER_WORD: usize;
    const ZERO: Self;
    /// The K-word holding `lo` (lower K index) and, for 16-bit types, `hi`.
    fn word(lo: Self, hi: Self) -> u32;
    /// The K-word of a word loaded as is from memory (`PER_WORD` consecutive elements).
    fn raw_word(bits: u32) -> u32;
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
    fn raw_word(bits: u32) -> u32 {
        tf32(f32::from_bits(bits))
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
    fn raw_word(bits: u32) -> u32 {
        bits
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
    fn raw_word(bits: u32) -> u32 {
        bits
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

/// `ceil(N/128) × ceil(M/128)` blocks of 256 threads, 37 KiB of shared memory (two stages).
/// Requires `M, N >= 1` and `M <= 65535 · 128`.
pub fn config(m: usize, n: usize) -> LaunchConfig {
    LaunchConfig {
        grid: Dim3::xy(n.div_ceil(TILE) as u32, m.div_ceil(TILE) as u32),
        block: Dim3::x(THREADS as u32),
        shared_bytes: (2 * STAGE * 4) as u32,
    }
}

/// Half `h` (0: low) of a word.
#[inline(always)]
pub(crate) fn half(w: u32, h: usize) -> u32 {
    (w >> (16 * h)) & 0xffff
}

/// One stage's share of a thread in registers: its chunks of A and of B.
type Regs = ([[u32; 4]; CHUNKS], [[u32; 4]; CHUNKS]);

/// What one thread needs to stage a block's tiles of A and B (the `mma.sync` kernel here and
/// the `wgmma` kernel each map threads to chunks in their own `impl`).
pub(crate) struct Stager<T> {
    pub(crate) a: Global<T>,
    pub(crate) b: Global<T>,
    /// Thread index in the block, and the tile's first row and column.
    pub(crate) t: usize,
    pub(crate) m0: usize,
    pub(crate) n0: usize,
    pub(crate) m: usize,
    pub(crate) n: usize,
    pub(crate) k: usize,
    /// Whether every whole chunk is one aligned vector load (the same for every thread, so the
    /// choice does not diverge).
    pub(crate) fast_a: bool,
    pub(crate) fast_b: bool,
}

impl<T: Copy> Stager<T> {
    /// This thread's stager for its block's 128×128 tile of C. A's vector loads take `a_chunk`
    /// K-consecutive elements (K must be a multiple of it), B's take 4 N-consecutive ones.
    #[inline(always)]
    pub(crate) fn new(a: Global<T>, b: Global<T>, (m, n, k): (usize, usize, usize), a_chunk: usize) -> Self {
        let (n0, m0) = (block_idx().x as usize * TILE, block_idx().y as usize * TILE);
        let (fast_a, fast_b) = (k % a_chunk == 0 && a.is_aligned16(), n % 4 == 0 && b.is_aligned16());
        Stager { a, b, t: thread_idx().x as usize, m0, n0, m, n, k, fast_a, fast_b }
    }
}

impl<T: TensorInput> Stager<T> {
    /// This thread's chunks of the stage starting at K-word `kw0`, from global memory.
    #[inline(always)]
    fn load_mma(&self, kw0: usize) -> Regs {
        let (m, n, k, per) = (self.m, self.n, self.k, T::PER_WORD);
        let a_chunks = core::array::from_fn(|q| {
            let e = self.t + THREADS * q;
            let (gm, kk) = (self.m0 + e / 4, (kw0 + 4 * (e % 4)) * per);
            if self.fast_a && gm < m && kk < k {
                self.a.load_v4(gm * k + kk).map(T::raw_word)
            } else {
                let at = |kk: usize| if gm < m && kk < k { self.a.load(gm * k + kk) } else { T::ZERO };
                core::array::from_fn(|j| {
                    let kj = kk + j * per;
                    T::word(at(kj), if per == 2 { at(kj + 1) } else { T::ZERO })
                })
            }
        });
        let b_chunks = core::array::from_fn(|q| {
            let e = self.t + THREADS * q;
            let (kr, gn) = ((kw0 + e / 32) * per, self.n0 + 4 * (e % 32));
            let at = |kr: usize, col: usize| if kr < k && col < n { self.b.load(kr * n + col) } else { T::ZERO };
            if per == 1 {
                if self.fast_b && kr < k && gn < n {
                    self.b.load_v4(kr * n + gn).map(T::raw_word)
                } else {
                    core::array::from_fn(|j| T::word(at(kr, gn + j), T::ZERO))
                }
            } else {
                // Columns gn ..+4 of K rows kr and kr + 1, two elements per word, then packed
                // down the columns: word j holds (kr, gn + j) low and (kr + 1, gn + j) high.
                let row = |kr: usize| -> [u32; 2] {
                    if self.fast_b && kr < k && gn < n {
                        self.b.load_v2(kr * n + gn)
                    } else {
                        core::array::from_fn(|h| T::word(at(kr, gn + 2 * h), at(kr, gn + 2 * h + 1)))
                    }
                };
                let (lo, hi) = (row(kr), row(kr + 1));
                core::array::from_fn(|j| half(lo[j / 2], j % 2) | half(hi[j / 2], j % 2) << 16)
            }
        });
        (a_chunks, b_chunks)
    }

    /// Writes a stage's chunks into the shared tiles at word `base`.
    #[inline(always)]
    fn store_mma(&self, (a_chunks, b_chunks): Regs, s: &Shared<u32>, base: usize) {
        for q in 0..CHUNKS {
            let e = self.t + THREADS * q;
            s.store_v4(base + (e / 4) * A_STRIDE + 4 * (e % 4), a_chunks[q]);
            s.store_v4(base + TILE * A_STRIDE + (e / 32) * B_STRIDE + 4 * (e % 32), b_chunks[q]);
        }
    }
}

/// # Safety
/// `a`, `b`, `c` are device pointers holding every batch's `M·K`, `K·N` and `M·N` elements
/// (batch `blockIdx.z` of a strided batch: `matmul::batch`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub unsafe fn matmul<T: TensorInput>(a: *const T, b: *const T, c: *mut T, m: u32, n: u32, k: u32, sa: u64, sb: u64) {
    let (m, n, k) = (m as usize, n as usize, k as usize);
    let (a, b, c) = unsafe { crate::matmul::batch(a, b, c, (m, n, k), sa, sb) };
    let smem = Shared::<u32>::new(0, 2 * STAGE);
    let per = T::PER_WORD;
    // A chunk of A is 4 words, 4·per elements; B's rows load 4 elements at a time.
    let stager = Stager::new(a, b, (m, n, k), 4 * per);
    let (t, m0, n0) = (stager.t, stager.m0, stager.n0);
    let (warp, lane) = (t / 32, t % 32);
    let (g, q4) = (lane / 4, lane % 4);
    let (wm, wn) = (64 * (warp / 4), 32 * (warp % 4));
    let mut acc = [[[0f32; 4]; 4]; 4];

    let stages = k.div_ceil(WORDS * per);
    if stages > 0 {
        stager.store_mma(stager.load_mma(0), &smem, 0);
    }
    sync_threads();
    for s in 0..stages {
        let next = if s + 1 < stages { Some(stager.load_mma((s + 1) * WORDS)) } else { None };
        let (a_base, b_base) = ((s % 2) * STAGE, (s % 2) * STAGE + TILE * A_STRIDE);
        for step in 0..WORDS / 8 {
            let w0 = 8 * step + q4;
            let af: [[u32; 4]; 4] = core::array::from_fn(|i| {
                core::array::from_fn(|r| {
                    smem.load(a_base + (wm + 16 * i + g + 8 * (r & 1)) * A_STRIDE + w0 + 4 * (r >> 1))
                })
            });
            let bf: [[u32; 2]; 4] = core::array::from_fn(|j| {
                core::array::from_fn(|r| smem.load(b_base + (w0 + 4 * r) * B_STRIDE + wn + 8 * j + g))
            });
            for (i, row) in acc.iter_mut().enumerate() {
                for (j, tile) in row.iter_mut().enumerate() {
                    *tile = T::mma(af[i], bf[j], *tile);
                }
            }
        }
        if let Some(regs) = next {
            stager.store_mma(regs, &smem, ((s + 1) % 2) * STAGE);
        }
        sync_threads();
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
    ["sm_80"] mma_matmul_tf32(a: *const f32, b: *const f32, c: *mut f32, m: u32, n: u32, k: u32, sa: u64, sb: u64) => matmul::<f32>;
    /// `C = A·B` on tensor cores, bf16 in and out, f32 accumulation.
    ["sm_80"] mma_matmul_bf16(a: *const BF16, b: *const BF16, c: *mut BF16, m: u32, n: u32, k: u32, sa: u64, sb: u64) => matmul::<BF16>;
    /// `C = A·B` on tensor cores, f16 in and out, f32 accumulation.
    ["sm_80"] mma_matmul_f16(a: *const F16, b: *const F16, c: *mut F16, m: u32, n: u32, k: u32, sa: u64, sb: u64) => matmul::<F16>;
}
