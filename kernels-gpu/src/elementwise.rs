//! The launch of the fixed-arity elementwise kernels (the optimizer steps, `nn/optim.rs`):
//! a 1-D grid-stride loop, thread `g` taking elements or 16-byte groups `g, g + S, ...` (`S`
//! threads in the grid). The array ops' elementwise families use the strided engine of
//! `ops/map.rs` instead.

use crate::launch::{Dim3, LaunchConfig};
use crate::prelude::*;

/// Threads per block of the elementwise kernels.
pub const BLOCK: u32 = 256;

/// Enough blocks for one 16-byte group per thread, at most `max_blocks` (the grid-stride loop
/// does the rest). Requires `n > 0`.
pub fn config<T: Float>(n: usize, max_blocks: u32) -> LaunchConfig {
    let groups = n.div_ceil(T::LANES16);
    let blocks = groups.div_ceil(BLOCK as usize).clamp(1, max_blocks.max(1) as usize) as u32;
    LaunchConfig { grid: Dim3::x(blocks), block: Dim3::x(BLOCK), shared_bytes: 0 }
}
