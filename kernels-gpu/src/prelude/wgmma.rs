//! Hopper's warpgroup matrix multiply-accumulate (`wgmma`, sm_90a only), A and B from shared
//! memory, f32 accumulators in registers.
//!
//! A warpgroup is four consecutive warps (threads `128·w .. 128·w + 128` of the block); all of
//! its threads issue each instruction together, with the same descriptors. One
//! `m64n128k16` computes `D(64×128) += A(64×16)·B(16×128)`: warp `w % 4` of the group holds
//! rows `16·(w % 4) ..+16` of D, 64 f32 per thread. Accumulator `i` of lane `l` is row
//! `l / 4 + 8·((i % 4) / 2)` of the warp's rows, column `8·(i / 4) + 2·(l % 4) + i % 2`: the
//! `mma.sync` m16n8 layout repeated over the 16 column blocks.
//!
//! The instruction is asynchronous, so a kernel follows one protocol (the emulator checks the
//! parts it can, see `emu/wgmma.rs`):
//! 1. write the operands to shared memory, [`fence_proxy_async_shared`], `sync_threads`;
//! 2. [`wgmma_fence`] (orders earlier register writes of the accumulators);
//! 3. any number of `wgmma_m64n128k16_*`, then [`wgmma_commit_group`];
//! 4. [`wgmma_wait_group`] before reading the accumulators (`N = 0`) or overwriting a group's
//!    operands (`N` no more than the groups committed after it).
//!
//! Operands are described by [`smem_desc`]: K-major, no swizzle. A core matrix is 8 rows of
//! 16 bytes (8 elements along K), stored as 128 contiguous bytes; `lbo` is the byte distance
//! between core matrices adjacent along K, `sbo` between core matrices adjacent along M (A)
//! or N (B) (PTX ISA, "Matrix Descriptor Format" and the K-major canonical layouts).

#[cfg(not(target_arch = "nvptx64"))]
use crate::emu::thread as target;

/// The input types `wgmma` takes here (f32 accumulation in both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WgmmaKind {
    Bf16,
    F16,
}

/// Columns of D per instruction (`n128`), and so f32 accumulators per thread: `128 / 2`.
pub const WGMMA_N: usize = 128;
/// One thread's accumulators of an `m64n128k16`.
pub type WgmmaAcc = [f32; WGMMA_N / 2];

/// The 64-bit shared-memory matrix descriptor for a K-major, unswizzled operand starting at
/// shared-window address `addr` (see the module notes for `lbo` and `sbo`). Each field keeps
/// bits 4..18 of its byte value, so all three must be multiples of 16 below 2^18.
#[inline(always)]
pub const fn smem_desc(addr: u32, lbo: u32, sbo: u32) -> u64 {
    desc_field(addr) | desc_field(lbo) << 16 | desc_field(sbo) << 32
}

#[inline(always)]
const fn desc_field(bytes: u32) -> u64 {
    ((bytes & 0x3ffff) >> 4) as u64
}

/// `fence.proxy.async.shared::cta`: makes this thread's ordinary shared-memory writes
/// visible to the async proxy that `wgmma` reads its operands through.
#[inline(always)]
pub fn fence_proxy_async_shared() {
    #[cfg(target_arch = "nvptx64")]
    unsafe {
        core::arch::asm!("fence.proxy.async.shared::cta;", options(nostack))
    }
}

/// `wgmma.fence.sync.aligned`: required before the first `wgmma` of a batch, after the
/// accumulators were last touched by other instructions.
#[inline(always)]
pub fn wgmma_fence() {
    #[cfg(target_arch = "nvptx64")]
    unsafe {
        core::arch::asm!("wgmma.fence.sync.aligned;", options(nostack))
    }
    #[cfg(not(target_arch = "nvptx64"))]
    target::wgmma_fence()
}

/// `wgmma.commit_group.sync.aligned`: closes the group of `wgmma`s issued since the last one.
#[inline(always)]
pub fn wgmma_commit_group() {
    #[cfg(target_arch = "nvptx64")]
    unsafe {
        core::arch::asm!("wgmma.commit_group.sync.aligned;", options(nostack))
    }
    #[cfg(not(target_arch = "nvptx64"))]
    target::wgmma_commit_group()
}

/// `wgmma.wait_group.sync.aligned N`: waits until at most the `N` most recently committed
/// groups are pending. With `N = 0` the accumulators hold every result and no operand is read
/// any more; with `N = 1` the groups before the newest are done, so a pipeline can overwrite
/// their operands while the newest still runs.
#[inline(always)]
pub fn wgmma_wait_group<const N: u32>() {
    #[cfg(target_arch = "nvptx64")]
    unsafe {
        core::arch::asm!("wgmma.wait_group.sync.aligned {n};", n = const N, options(nostack))
    }
    #[cfg(not(target_arch = "nvptx64"))]
    target::wgmma_wait_group(N)
}

/// The `asm!` of one `m64n128k16`: 64 accumulators in and out, positional `{0}`..`{63}` in
/// the template, then the two descriptors. Scale-d is 1 (accumulate), A and B are not
/// negated (`1, 1`) and both are K-major (`0, 0`).
#[cfg(target_arch = "nvptx64")]
macro_rules! wgmma_asm {
    ($instr:literal, $d:ident, $a:ident, $b:ident; $d0:literal $($i:literal)*) => {
        core::arch::asm!(
            concat!(
                "{{ .reg .pred p; setp.ne.b32 p, {scale}, 0; ", $instr, " {{{", $d0, "}", $(", {", $i, "}",)*
                "}}, {a}, {b}, p, 1, 1, 0, 0; }}"
            ),
            inout(reg32) $d[$d0], $(inout(reg32) $d[$i],)*
            a = in(reg64) $a,
            b = in(reg64) $b,
            scale = in(reg32) 1u32,
            options(nostack),
        )
    };
}

macro_rules! wgmma_fn {
    ($(#[$doc:meta])* $name:ident, $kind:ident, $instr:literal) => {
        $(#[$doc])*
        #[inline(always)]
        pub fn $name(d: &mut WgmmaAcc, a: u64, b: u64) {
            #[cfg(target_arch = "nvptx64")]
            unsafe {
                wgmma_asm!($instr, d, a, b;
                    0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
                    32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63)
            }
            #[cfg(not(target_arch = "nvptx64"))]
            target::wgmma(WgmmaKind::$kind, a, b, d)
        }
    };
}

wgmma_fn!(
    /// `D += A·B`, 64×128×16, bf16 operands from shared memory (descriptors `a`, `b`).
    wgmma_m64n128k16_bf16, Bf16, "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16"
);
wgmma_fn!(
    /// `D += A·B`, 64×128×16, f16 operands from shared memory (descriptors `a`, `b`).
    wgmma_m64n128k16_f16, F16, "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16"
);
