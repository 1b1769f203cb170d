//! Warp shuffles of any 32/64-bit value, and warp- and block-wide reductions built on them.
//!
//! The reductions use the butterfly (`shfl.bfly`) pattern: after log2(32) = 5 steps every lane
//! holds the result, and since each step combines the same two values on both lanes of a pair
//! (`a + b` and `b + a` round identically), all lanes hold the same bits.

use super::{Float, Shared, Shfl, WARP_SIZE, lane_id, sync_threads, target, thread_rank};

/// A value a warp shuffle can move: 32-bit values take one `shfl.sync`, 64-bit ones two.
pub trait Shuffle: Copy {
    fn shfl(self, mode: Shfl, b: u32) -> Self;
}

impl Shuffle for u32 {
    #[inline(always)]
    fn shfl(self, mode: Shfl, b: u32) -> u32 {
        target::shfl_u32(mode, self, b)
    }
}

impl Shuffle for i32 {
    #[inline(always)]
    fn shfl(self, mode: Shfl, b: u32) -> i32 {
        (self as u32).shfl(mode, b) as i32
    }
}

impl Shuffle for f32 {
    #[inline(always)]
    fn shfl(self, mode: Shfl, b: u32) -> f32 {
        f32::from_bits(self.to_bits().shfl(mode, b))
    }
}

impl Shuffle for u64 {
    #[inline(always)]
    fn shfl(self, mode: Shfl, b: u32) -> u64 {
        let lo = (self as u32).shfl(mode, b);
        let hi = ((self >> 32) as u32).shfl(mode, b);
        (hi as u64) << 32 | lo as u64
    }
}

impl Shuffle for i64 {
    #[inline(always)]
    fn shfl(self, mode: Shfl, b: u32) -> i64 {
        (self as u64).shfl(mode, b) as i64
    }
}

impl Shuffle for f64 {
    #[inline(always)]
    fn shfl(self, mode: Shfl, b: u32) -> f64 {
        f64::from_bits(self.to_bits().shfl(mode, b))
    }
}

/// The value held by lane `lane_id() ^ mask` (`__shfl_xor_sync(0xffffffff, v, mask)`).
#[inline(always)]
pub fn shfl_xor<T: Shuffle>(v: T, mask: u32) -> T {
    v.shfl(Shfl::Bfly, mask)
}

/// Combines `v` across the warp with `op`; every lane gets the result.
/// All 32 lanes must call it (blocks are a multiple of 32 threads).
#[inline(always)]
pub fn warp_reduce<T: Shuffle>(mut v: T, op: impl Fn(T, T) -> T) -> T {
    let mut mask = WARP_SIZE / 2;
    while mask > 0 {
        v = op(v, shfl_xor(v, mask));
        mask /= 2;
    }
    v
}

#[inline(always)]
pub fn warp_sum<T: Float>(v: T) -> T {
    warp_reduce(v, |a, b| a + b)
}

/// maxNum over the warp: NaN only if every lane holds NaN (callers that need NaN to
/// propagate carry it through a sum, see softmax).
#[inline(always)]
pub fn warp_max<T: Float>(v: T) -> T {
    warp_reduce(v, |a, b| a.max_num(b))
}

/// Combines `v` across the block; every thread gets the result.
///
/// `scratch` needs one element per warp (32 covers any block). Every thread of the block must
/// call it, the block must be a whole number of warps, and the barrier at the end lets the
/// caller reuse `scratch` at once.
#[inline(always)]
pub fn block_reduce<T: Shuffle>(v: T, scratch: &Shared<T>, identity: T, op: impl Fn(T, T) -> T + Copy) -> T {
    let warps = (super::block_dim().volume() as u32).div_ceil(WARP_SIZE);
    let w = warp_reduce(v, op);
    if lane_id() == 0 {
        scratch.store((thread_rank() / WARP_SIZE) as usize, w);
    }
    sync_threads();
    let lane = lane_id();
    let partial = if lane < warps { scratch.load(lane as usize) } else { identity };
    let total = warp_reduce(partial, op);
    sync_threads();
    total
}

#[inline(always)]
pub fn block_sum<T: Float>(v: T, scratch: &Shared<T>) -> T {
    block_reduce(v, scratch, T::ZERO, |a, b| a + b)
}

#[inline(always)]
pub fn block_max<T: Float>(v: T, scratch: &Shared<T>) -> T {
    block_reduce(v, scratch, T::NEG_INFINITY, |a, b| a.max_num(b))
}
