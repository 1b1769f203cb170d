//! Inclusive prefix sums along rows: `out[r, i] = Σ_{j ≤ i} x[r, j]` (NumPy's `cumsum` on the
//! last axis; the host moves any other axis last and makes the rows contiguous first).
//!
//! Accumulation as the reductions' (`reduce.rs`): f32 for f32, f16 and bf16, f64 for f64, i64
//! for every integer and bool (wrapping). The kernel writes the result's dtype
//! ([`Reducible::Sum`]: the array's own for floats, rounded once at the store, so f16 and bf16
//! take one launch and no f32 temporary; i64 for integers and bools).
//!
//! Thread mapping: a block of [`BLOCK`] threads per row (grid-stride over rows). The row is
//! taken in chunks of `BLOCK` elements: thread `t` holds element `base + t`; a warp scans its
//! 32 values with `shfl.up` (Kogge-Stone), the warps' totals are scanned by warp 0 through
//! shared memory, and the running total of the earlier chunks (`carry`) is added last.
//!
//! Summation order: element `i` is `carry + (its chunk's prefix, a tree of depth ≤ 8)`, so the
//! rounding error of `out[i]` is about `(i / BLOCK + 8)·u` relative to `Σ|x|`, not `i·u`.

use super::reduce::{Reducible, Store};
use crate::launch::{Dim3, LaunchConfig};
use crate::prelude::*;

/// Threads per block (a multiple of the warp size, at most 32 warps).
pub const BLOCK: u32 = 256;
const WARPS: usize = (BLOCK / WARP_SIZE) as usize;

/// The arguments of [`cumsum`]: element `E`, result `S` (`E::Sum`).
pub type CumsumArgs<E, S> = (*const E, u64, u64, u64, *mut S);

/// The inclusive scan of 32 lanes' values (lane `l` gets the sum of lanes `0..=l`).
#[inline(always)]
fn warp_scan<A: Num + Shuffle>(mut v: A) -> A {
    let lane = lane_id();
    let mut d = 1;
    while d < WARP_SIZE {
        let t = v.shfl(Shfl::Up, d);
        if lane >= d {
            v = v.add(t);
        }
        d *= 2;
    }
    v
}

/// Row-wise inclusive prefix sums of `rows × n` contiguous elements starting at `x + offset`
/// into `out` (`rows × n`, the sum dtype: each running sum is kept in the accumulator and
/// converted once as it is stored).
///
/// # Safety
/// `x` holds `offset + rows·n` elements and `out` `rows·n`.
#[inline(always)]
pub unsafe fn cumsum<E: Reducible>(x: *const E, offset: u64, rows: u64, n: u64, out: *mut E::Sum) {
    let total = (rows * n) as usize;
    let xg = unsafe { Global::new(x, offset as usize + total) };
    let og = unsafe { GlobalMut::new(out, total) };
    let warp_totals = Shared::<E::Acc>::new(0, WARPS);
    let t = thread_rank() as usize;
    let (warp, lane) = (t / WARP_SIZE as usize, lane_id() as usize);
    let mut row = block_idx().x as u64;
    while row < rows {
        let start = (row * n) as usize;
        let mut carry = E::Acc::ZERO;
        let mut base = 0u64;
        while base < n {
            let i = base + t as u64;
            let live = i < n;
            let v = if live { xg.load(offset as usize + start + i as usize).acc() } else { E::Acc::ZERO };
            let v = warp_scan(v);
            if lane == WARP_SIZE as usize - 1 {
                warp_totals.store(warp, v);
            }
            sync_threads();
            if warp == 0 {
                let w = if lane < WARPS { warp_totals.load(lane) } else { E::Acc::ZERO };
                let w = warp_scan(w);
                if lane < WARPS {
                    warp_totals.store(lane, w);
                }
            }
            sync_threads();
            let before = if warp > 0 { warp_totals.load(warp - 1) } else { E::Acc::ZERO };
            if live {
                og.store(start + i as usize, E::Sum::of_acc(carry.add(before.add(v))));
            }
            carry = carry.add(warp_totals.load(WARPS - 1));
            // Every thread has read the totals before the next chunk overwrites them.
            sync_threads();
            base += BLOCK as u64;
        }
        row += grid_dim().x as u64;
    }
}

/// The launch: a block per row, at most `max_blocks` (more rows loop).
pub fn config<A>(rows: u64, max_blocks: u32) -> LaunchConfig {
    let blocks = rows.clamp(1, max_blocks.max(1) as u64) as u32;
    LaunchConfig { grid: Dim3::x(blocks), block: Dim3::x(BLOCK), shared_bytes: (WARPS * size_of::<A>()) as u32 }
}

macro_rules! cumsum_entries {
    ($($t:ty: $sum:ty, $name:ident;)*) => {
        kernels! {
            @entries
            $( $name(x: *const $t, offset: u64, rows: u64, n: u64, out: *mut $sum) => cumsum::<$t>; )*
        }

        /// The scan entries, for the PTX cross-check.
        #[cfg(not(target_arch = "nvptx64"))]
        pub const KERNELS: &[crate::KernelInfo] = &[$($name.info,)*];

        /// The entry for element type `E` (host only).
        #[cfg(not(target_arch = "nvptx64"))]
        pub fn kernel<E: Reducible>() -> crate::Kernel<CumsumArgs<E, E::Sum>> {
            let all: &[&dyn core::any::Any] = &[$(&$name),*];
            all.iter().find_map(|k| k.downcast_ref()).copied().expect("every reducible type has a cumsum entry")
        }
    };
}

cumsum_entries! {
    f32: f32, cumsum_f32;
    f64: f64, cumsum_f64;
    F16: F16, cumsum_f16;
    BF16: BF16, cumsum_bf16;
    i32: i64, cumsum_i32;
    i64: i64, cumsum_i64;
    u8: i64, cumsum_u8;
    u32: i64, cumsum_u32;
    Bool: i64, cumsum_bool;
}
