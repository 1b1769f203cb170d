//! The prelude's primitives on the GPU: special registers, `bar.sync`, dynamic shared memory,
//! `shfl.sync` and `vote.sync.ballot`, each one or two PTX instructions. `emu/thread.rs` has the same functions
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

/// `vote.sync.ballot.b32` over the full warp (member mask all ones): bit `l` of the result is
/// lane `l`'s `pred`.
#[inline(always)]
pub fn ballot(pred: bool) -> u32 {
    let r: u32;
    unsafe {
        asm!("{{ .reg .pred p; setp.ne.u32 p, {v}, 0; vote.sync.ballot.b32 {r}, p, -1; }}", r = out(reg32) r,
             v = in(reg32) pred as u32, options(nomem, nostack))
    }
    r
}

/// One 128-bit global load (`ld.global.v4.b32`): written out because LLVM splits a 16-byte
/// aggregate load into scalar loads once loops around it are unrolled.
///
/// # Safety
/// `p` is a 16-byte aligned global address of 16 readable bytes.
#[inline(always)]
pub unsafe fn ld_global_v4(p: *const [u32; 4]) -> [u32; 4] {
    let (a, b, c, d): (u32, u32, u32, u32);
    unsafe {
        asm!("ld.global.v4.b32 {{{a}, {b}, {c}, {d}}}, [{p}];", a = out(reg32) a, b = out(reg32) b, c = out(reg32) c,
             d = out(reg32) d, p = in(reg64) p, options(readonly, nostack, preserves_flags));
    }
    [a, b, c, d]
}

/// One 128-bit global store (`st.global.v4.b32`).
///
/// # Safety
/// `p` is a 16-byte aligned global address of 16 writable bytes.
#[inline(always)]
pub unsafe fn st_global_v4(p: *mut [u32; 4], v: [u32; 4]) {
    unsafe {
        asm!("st.global.v4.b32 [{p}], {{{a}, {b}, {c}, {d}}};", p = in(reg64) p, a = in(reg32) v[0], b = in(reg32) v[1],
             c = in(reg32) v[2], d = in(reg32) v[3], options(nostack, preserves_flags));
    }
}

/// One 128-bit shared-memory load (`ld.shared.v4.b32`). Rust pointers are generic
/// addresses, so the asm converts to the shared window first (`cvta.to.shared`).
///
/// # Safety
/// `p` is a 16-byte aligned address of 16 readable bytes of shared memory.
#[inline(always)]
pub unsafe fn ld_shared_v4(p: *const [u32; 4]) -> [u32; 4] {
    let (a, b, c, d): (u32, u32, u32, u32);
    unsafe {
        asm!("{{ .reg .u64 s; cvta.to.shared.u64 s, {p}; ld.shared.v4.b32 {{{a}, {b}, {c}, {d}}}, [s]; }}",
             a = out(reg32) a, b = out(reg32) b, c = out(reg32) c, d = out(reg32) d, p = in(reg64) p,
             options(readonly, nostack, preserves_flags));
    }
    [a, b, c, d]
}

/// One 64-bit global load (`ld.global.v2.b32`).
///
/// # Safety
/// `p` is an 8-byte aligned global address of 8 readable bytes.
#[inline(always)]
pub unsafe fn ld_global_v2(p: *const [u32; 2]) -> [u32; 2] {
    let (a, b): (u32, u32);
    unsafe {
        asm!("ld.global.v2.b32 {{{a}, {b}}}, [{p}];", a = out(reg32) a, b = out(reg32) b, p = in(reg64) p,
             options(readonly, nostack, preserves_flags));
    }
    [a, b]
}

/// One 128-bit shared-memory store (`st.shared.v4.b32`), through the shared window.
///
/// # Safety
/// `p` is a 16-byte aligned address of 16 writable bytes of shared memory.
#[inline(always)]
pub unsafe fn st_shared_v4(p: *mut [u32; 4], v: [u32; 4]) {
    unsafe {
        asm!("{{ .reg .u64 s; cvta.to.shared.u64 s, {p}; st.shared.v4.b32 [s], {{{a}, {b}, {c}, {d}}}; }}",
             p = in(reg64) p, a = in(reg32) v[0], b = in(reg32) v[1], c = in(reg32) v[2], d = in(reg32) v[3],
             options(nostack, preserves_flags));
    }
}

/// The shared-window address of a generic pointer into shared memory (what `wgmma`'s
/// matrix descriptors hold).
#[inline(always)]
pub fn shared_window_addr(p: *const u8) -> u32 {
    let a: u32;
    unsafe {
        asm!("{{ .reg .u64 s; cvta.to.shared.u64 s, {p}; cvt.u32.u64 {a}, s; }}", a = out(reg32) a, p = in(reg64) p,
             options(pure, nomem, nostack));
    }
    a
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
