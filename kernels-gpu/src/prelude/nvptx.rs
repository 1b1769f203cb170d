//! The prelude's primitives on the GPU: special registers, `bar.sync`, dynamic shared memory
//! and `shfl.sync`, each one or two PTX instructions. `emulated.rs` has the same functions
//! for the CPU grid emulator; keep the two signatures identical.

use super::Shfl;
use crate::launch::Dim3;
use core::arch::asm;
use core::arch::nvptx;

#[inline(always)]
pub fn thread_idx() -> Dim3 {
    unsafe { Dim3::new(nvptx::_thread_idx_x() as u32, nvptx::_thread_idx_y() as u32, nvptx::_thread_idx_z() as u32) }
}

#[inline(always)]
pub fn block_idx() -> Dim3 {
    unsafe { Dim3::new(nvptx::_block_idx_x() as u32, nvptx::_block_idx_y() as u32, nvptx::_block_idx_z() as u32) }
}

#[inline(always)]
pub fn block_dim() -> Dim3 {
    unsafe { Dim3::new(nvptx::_block_dim_x() as u32, nvptx::_block_dim_y() as u32, nvptx::_block_dim_z() as u32) }
}

#[inline(always)]
pub fn grid_dim() -> Dim3 {
    unsafe { Dim3::new(nvptx::_grid_dim_x() as u32, nvptx::_grid_dim_y() as u32, nvptx::_grid_dim_z() as u32) }
}

/// `bar.sync 0`: every thread of the block must reach it.
#[inline(always)]
pub fn sync_threads() {
    unsafe { nvptx::_syncthreads() }
}

/// Start of the block's dynamic shared memory (sized by the launch).
#[inline(always)]
pub fn dynamic_shared_base() -> *mut u8 {
    core::intrinsics::gpu::gpu_launch_sized_workgroup_mem::<u8>()
}

/// Bytes of dynamic shared memory this launch gave the block.
#[inline(always)]
pub fn dynamic_shared_bytes() -> u32 {
    let n: u32;
    unsafe { asm!("mov.u32 {n}, %dynamic_smem_size;", n = out(reg32) n, options(pure, nomem, nostack)) };
    n
}

/// `shfl.sync.<mode>.b32` over the full warp (member mask all ones).
#[inline(always)]
pub fn shfl_u32(mode: Shfl, v: u32, b: u32) -> u32 {
    let r: u32;
    // `c` is the PTX clamp/segment operand for a 32-lane segment: 0 for `up`, 31 otherwise.
    unsafe {
        match mode {
            Shfl::Bfly => {
                asm!("shfl.sync.bfly.b32 {r}, {v}, {b}, 31, -1;", r = out(reg32) r, v = in(reg32) v, b = in(reg32) b, options(nomem, nostack))
            }
            Shfl::Down => {
                asm!("shfl.sync.down.b32 {r}, {v}, {b}, 31, -1;", r = out(reg32) r, v = in(reg32) v, b = in(reg32) b, options(nomem, nostack))
            }
            Shfl::Up => {
                asm!("shfl.sync.up.b32 {r}, {v}, {b}, 0, -1;", r = out(reg32) r, v = in(reg32) v, b = in(reg32) b, options(nomem, nostack))
            }
            Shfl::Idx => {
                asm!("shfl.sync.idx.b32 {r}, {v}, {b}, 31, -1;", r = out(reg32) r, v = in(reg32) v, b = in(reg32) b, options(nomem, nostack))
            }
        }
    }
    r
}

/// Global-memory views are not checked on the GPU (compute-sanitizer does that);
/// the emulator checks them against its allocations.
#[inline(always)]
pub fn check_global(_addr: *const u8, _bytes: usize) {}

/// Stops the kernel with an error the host sees as `CUDA_ERROR_ILLEGAL_INSTRUCTION`.
#[inline(always)]
pub fn trap() -> ! {
    unsafe { nvptx::trap() }
}
