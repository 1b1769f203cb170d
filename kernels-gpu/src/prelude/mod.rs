//! What a kernel may call: indices, the block barrier, shared and global memory views, warp
//! shuffles, ballots and reductions, and float math.
//!
//! On `nvptx64` the primitives are PTX instructions (`nvptx.rs`); on the host they are the
//! CPU grid emulator's (`emu/thread.rs`). Everything else here is plain Rust shared by both,
//! so a kernel runs the same arithmetic on the emulator as on the GPU. Keeping this surface
//! small is deliberate: a different code generator would only need a new `nvptx.rs`.

mod float;
mod half;
mod math;
mod memory;
mod mma;
mod reduce;
mod scalar;
mod wgmma;

#[cfg(target_arch = "nvptx64")]
mod nvptx;
#[cfg(target_arch = "nvptx64")]
use nvptx as target;

#[cfg(not(target_arch = "nvptx64"))]
use crate::emu::thread as target;

pub use crate::launch::Dim3;
pub use float::Float;
pub use half::{BF16, F16};
pub use memory::{Align16, Global, GlobalMut, Shared};
pub use mma::{MmaKind, bf16_rn, f16_rn, mma_m16n8k8_tf32, mma_m16n8k16_bf16, mma_m16n8k16_f16, pack2, tf32};
pub use reduce::{Shuffle, block_max, block_reduce, block_sum, shfl_xor, warp_max, warp_reduce, warp_sum};
pub use scalar::{Bool, Elem, Int, Num, cast};
pub use target::{ballot, block_dim, block_idx, dynamic_shared_bytes, grid_dim, sync_threads, thread_idx, trap};
pub use wgmma::{
    WGMMA_N, WgmmaAcc, WgmmaKind, fence_proxy_async_shared, smem_desc, wgmma_commit_group, wgmma_fence,
    wgmma_m64n128k16_bf16, wgmma_m64n128k16_f16, wgmma_wait_group,
};

/// Threads per warp on every NVIDIA GPU.
pub const WARP_SIZE: u32 = 32;

/// The `shfl.sync` modes of the PTX ISA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shfl {
    Up,
    Down,
    Bfly,
    Idx,
}

/// Linear index of this thread within its block (`x` fastest).
#[inline(always)]
pub fn thread_rank() -> u32 {
    let (t, d) = (thread_idx(), block_dim());
    (t.z * d.y + t.y) * d.x + t.x
}

/// Lane of this thread within its warp.
#[inline(always)]
pub fn lane_id() -> u32 {
    thread_rank() % WARP_SIZE
}

/// Global index of this thread along `x`, for grid-stride loops.
#[inline(always)]
pub fn global_thread_x() -> usize {
    block_idx().x as usize * block_dim().x as usize + thread_idx().x as usize
}

/// Threads in the grid along `x`: the stride of a grid-stride loop.
#[inline(always)]
pub fn grid_threads_x() -> usize {
    grid_dim().x as usize * block_dim().x as usize
}
