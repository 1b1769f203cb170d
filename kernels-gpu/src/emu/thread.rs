//! The emulated thread: its context, and the prelude's primitives on the host.
//!
//! Each GPU thread of a block is a coroutine on one OS thread. Before resuming one, the block
//! scheduler points `CURRENT` at that thread's context, so the prelude functions below (the
//! host twins of `prelude/nvptx.rs`) read the right indices and suspend the right coroutine.

use super::memory;
use super::warp::{WarpRequest, WarpResponse};
use crate::launch::Dim3;
use crate::prelude::{MmaKind, Shfl};
use core::cell::Cell;
use core::ptr;
use corosensei::Yielder;

/// Why a thread gave control back to the block scheduler.
pub(crate) enum Suspend {
    Barrier,
    Warp(WarpRequest),
}

pub(crate) type ThreadYielder = Yielder<WarpResponse, Suspend>;

/// What every thread of a block shares.
pub(crate) struct BlockCtx {
    pub block_idx: Dim3,
    pub block_dim: Dim3,
    pub grid_dim: Dim3,
    pub shared: *mut u8,
    pub shared_bytes: u32,
}

pub(crate) struct ThreadCtx {
    pub thread_idx: Dim3,
    pub block: *const BlockCtx,
    pub yielder: Cell<*const ThreadYielder>,
}

std::thread_local! {
    static CURRENT: Cell<*const ThreadCtx> = const { Cell::new(ptr::null()) };
}

pub(crate) fn set_current(ctx: *const ThreadCtx) {
    CURRENT.with(|c| c.set(ctx));
}

fn current() -> &'static ThreadCtx {
    let p = CURRENT.with(|c| c.get());
    assert!(!p.is_null(), "a kernel prelude function was called outside an emulated launch");
    // SAFETY: the scheduler keeps the context alive while its coroutine runs, and clears
    // CURRENT before the block's contexts are dropped.
    unsafe { &*p }
}

fn block() -> &'static BlockCtx {
    unsafe { &*current().block }
}

fn suspend(reason: Suspend) -> WarpResponse {
    let y = current().yielder.get();
    // SAFETY: set by the coroutine's own body before the kernel runs; valid while it lives.
    unsafe { (*y).suspend(reason) }
}

pub fn thread_idx() -> Dim3 {
    current().thread_idx
}

pub fn block_idx() -> Dim3 {
    block().block_idx
}

pub fn block_dim() -> Dim3 {
    block().block_dim
}

pub fn grid_dim() -> Dim3 {
    block().grid_dim
}

pub fn sync_threads() {
    suspend(Suspend::Barrier);
}

pub fn dynamic_shared_base() -> *mut u8 {
    block().shared
}

pub fn dynamic_shared_bytes() -> u32 {
    block().shared_bytes
}

/// `c` as PTX's `shfl.sync` has it for a full 32-lane segment (see `prelude/nvptx.rs`).
pub fn shfl_u32(mode: Shfl, v: u32, b: u32) -> u32 {
    let c = if mode == Shfl::Up { 0 } else { 31 };
    match suspend(Suspend::Warp(WarpRequest::Shfl { mode, value: v, b, c })) {
        WarpResponse::Word(w) => w,
        other => unreachable!("shfl answered with {other:?}"),
    }
}

/// `mma.sync` of the whole warp; see `emu/mma.rs` for the fragment layouts.
pub fn mma(kind: MmaKind, a: [u32; 4], b: [u32; 2], c: [f32; 4]) -> [f32; 4] {
    let c = c.map(f32::to_bits);
    match suspend(Suspend::Warp(WarpRequest::Mma { kind, a, b, c })) {
        WarpResponse::Frag(d) => d.map(f32::from_bits),
        other => unreachable!("mma answered with {other:?}"),
    }
}

/// `cvt.rna.tf32.f32`: round to the 10-bit tf32 mantissa, ties away from zero; the result
/// keeps f32's layout with the 13 low bits zero.
pub fn tf32_rna(x: f32) -> u32 {
    let bits = x.to_bits();
    if x.is_nan() {
        return bits | 0x0040_0000; // quiet NaN
    }
    // Adding half an ulp to the magnitude rounds ties away; a carry into the exponent is right.
    bits.wrapping_add(0x1000) & 0xffff_e000
}

/// Panics unless `[addr, addr + bytes)` lies inside one live emulated device allocation.
pub fn check_global(addr: *const u8, bytes: usize) {
    if let Err(msg) = memory::check_range(addr as usize, bytes) {
        panic!("{msg}");
    }
}

pub fn trap() -> ! {
    panic!("kernel executed trap")
}
