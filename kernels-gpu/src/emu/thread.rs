//! The emulated thread: its context, and the prelude's primitives on the host.
//!
//! Each GPU thread of a block is a coroutine on one OS thread. Before resuming one, the block
//! scheduler points `CURRENT` at that thread's context, so the prelude functions below (the
//! host twins of `prelude/nvptx.rs`) read the right indices and suspend the right coroutine.

use super::memory;
use super::warp::{WarpRequest, WarpResponse};
use super::wgmma::{AccBits, PendingReads};
use crate::launch::Dim3;
use crate::prelude::{MmaKind, Shfl, WgmmaAcc, WgmmaKind};
use core::cell::{Cell, RefCell};
use core::ptr;
use corosensei::Yielder;
use std::string::{String, ToString};
use std::vec::Vec;

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
    /// Shared-memory reads of `wgmma`s not yet waited for.
    pub wgmma_reads: RefCell<PendingReads>,
}

pub(crate) struct ThreadCtx {
    pub thread_idx: Dim3,
    pub block: *const BlockCtx,
    pub yielder: Cell<*const ThreadYielder>,
    pub wgmma: Cell<WgmmaState>,
    /// This thread's `wgmma` accumulators while its warp's collective is evaluated.
    pub wgmma_acc: Cell<AccBits>,
}

impl ThreadCtx {
    pub(crate) fn block_ctx(&self) -> &BlockCtx {
        // SAFETY: the block context outlives its threads' contexts.
        unsafe { &*self.block }
    }
}

impl BlockCtx {
    /// The block's shared memory as bytes; only for the scheduler, between resumes, when no
    /// emulated thread is running.
    pub(crate) fn shared_slice(&self) -> &[u8] {
        if self.shared.is_null() {
            &[]
        } else {
            // SAFETY: `shared` points at `shared_bytes` bytes owned by the block runner.
            unsafe { std::slice::from_raw_parts(self.shared, self.shared_bytes as usize) }
        }
    }
}

/// Where a thread stands in the `wgmma` protocol (`prelude/wgmma.rs`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WgmmaState {
    /// A `wgmma.fence` since the accumulators were last handed back by a wait.
    pub fenced: bool,
    /// `wgmma`s issued since the last commit.
    pub uncommitted: u32,
    /// Committed groups not yet waited for.
    pub in_flight: u32,
    /// Groups committed since the thread started: the number of the group being formed.
    pub committed: u32,
}

impl WgmmaState {
    /// Why a thread may not exit in this state, if it may not.
    pub fn exit_error(self) -> Option<String> {
        (self.uncommitted > 0 || self.in_flight > 0).then(|| {
            std::format!(
                "thread exited with {} uncommitted wgmma and {} wgmma groups not waited for",
                self.uncommitted,
                self.in_flight
            )
        })
    }
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

/// Offset of `p` from the start of the block's shared memory: the emulator's shared window.
pub fn shared_window_addr(p: *const u8) -> u32 {
    let (base, bytes) = (block().shared as usize, block().shared_bytes as usize);
    let off = (p as usize).wrapping_sub(base);
    assert!(off < bytes, "address {p:?} is not in the block's {bytes} bytes of shared memory");
    off as u32
}

/// `c` as PTX's `shfl.sync` has it for a full 32-lane segment (see `prelude/nvptx.rs`).
pub fn shfl_u32(mode: Shfl, v: u32, b: u32) -> u32 {
    let c = if mode == Shfl::Up { 0 } else { 31 };
    match suspend(Suspend::Warp(WarpRequest::Shfl { mode, value: v, b, c })) {
        WarpResponse::Word(w) => w,
        other => unreachable!("shfl answered with {other:?}"),
    }
}

/// `vote.sync.ballot.b32` of the full warp: bit `l` is lane `l`'s `pred`.
pub fn ballot(pred: bool) -> u32 {
    match suspend(Suspend::Warp(WarpRequest::Ballot { pred })) {
        WarpResponse::Word(w) => w,
        other => unreachable!("ballot answered with {other:?}"),
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

fn update_wgmma(f: impl FnOnce(&mut WgmmaState)) {
    let cell = &current().wgmma;
    let mut st = cell.get();
    f(&mut st);
    cell.set(st);
}

pub fn wgmma_fence() {
    update_wgmma(|s| s.fenced = true);
}

pub fn wgmma_commit_group() {
    update_wgmma(|s| {
        s.in_flight += 1;
        s.committed += 1;
        s.uncommitted = 0;
    });
}

/// `wgmma.wait_group.sync.aligned n`: all but the `n` newest committed groups are complete.
pub fn wgmma_wait_group(n: u32) {
    let mut committed = 0;
    update_wgmma(|s| {
        assert!(s.uncommitted == 0, "wgmma.wait_group with {} wgmma not committed to a group", s.uncommitted);
        s.in_flight = s.in_flight.min(n);
        s.fenced = false;
        committed = s.committed;
    });
    let r = rank();
    block().wgmma_reads.borrow_mut().waited(r / 32, r % 32, committed.saturating_sub(n));
}

/// Panics if a `wgmma` still in flight reads any of the `bytes` bytes of shared memory at `p`,
/// which a thread is about to write: on a GPU the tensor core might read the new bytes.
pub fn shared_written(p: *const u8, bytes: usize) {
    let off = p as usize - block().shared as usize;
    let r = rank();
    let warps = block().wgmma_reads.borrow().readers(off, bytes, r / 32, r % 32);
    if !warps.is_empty() {
        let list: Vec<String> = warps.iter().map(|w| w.to_string()).collect();
        panic!(
            "thread {} writes shared bytes [{off}, {}) while a wgmma of warp {} still reads them: the \
             writer's warp must wgmma.wait_group past it first, and other warps' waits must be ordered \
             before the write by a barrier",
            r,
            off + bytes,
            list.join(", ")
        );
    }
}

/// The current thread's linear index in its block.
fn rank() -> u32 {
    let (t, dim) = (current().thread_idx, block().block_dim);
    (t.z * dim.y + t.y) * dim.x + t.x
}

/// `wgmma.mma_async` m64n128k16: a collective of the thread's warp (see `emu/wgmma.rs`).
pub fn wgmma(kind: WgmmaKind, a: u64, b: u64, d: &mut WgmmaAcc) {
    assert!(current().wgmma.get().fenced, "wgmma.mma_async without a wgmma.fence since the last wgmma.wait_group");
    let n = block().block_dim.volume();
    assert!(n.is_multiple_of(128), "wgmma needs whole warpgroups, but the block has {n} threads");
    current().wgmma_acc.set(d.map(f32::to_bits));
    let req = WarpRequest::Wgmma { kind, descs: (a, b), warp: (rank() / 32) as u8 };
    match suspend(Suspend::Warp(req)) {
        WarpResponse::AccWritten => *d = current().wgmma_acc.get().map(f32::from_bits),
        other => unreachable!("wgmma answered with {other:?}"),
    }
    update_wgmma(|s| s.uncommitted += 1);
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
