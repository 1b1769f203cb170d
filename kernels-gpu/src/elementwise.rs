//! Elementwise kernels: `y[i] = op(x[i])` for any length.
//!
//! Thread mapping: a 1-D grid-stride loop. Thread `g` (global index along x) handles 16-byte
//! groups `g, g + S, g + 2S, ...` where `S` is the number of threads in the grid, so any grid
//! covers any length and consecutive threads touch consecutive 16-byte groups (coalesced
//! 128-bit loads and stores). Each iteration issues [`UNROLL`] loads before its first store, so
//! every thread keeps 64 bytes in flight: memory-bound kernels need many outstanding loads
//! per SM to reach full bandwidth. When either pointer is not 16-byte aligned the whole array
//! takes the scalar path; the `n % LANES16` elements past the last whole group always do.
//! `x` and `y` may be the same buffer (each element is read and written by one thread).

use crate::launch::{Dim3, LaunchConfig};
use crate::prelude::*;

/// A scalar function applied elementwise. The CPU backend calls the same `apply`, so both
/// sides compute the same values.
pub trait UnaryOp {
    fn apply<T: Float>(x: T) -> T;
}

/// `sqrt.rn`: correctly rounded; NaN for negative input and NaN, -0 for -0.
pub struct Sqrt;

impl UnaryOp for Sqrt {
    #[inline(always)]
    fn apply<T: Float>(x: T) -> T {
        x.sqrt()
    }
}

/// 16-byte groups each thread loads before it stores any (the stores below are written out).
pub const UNROLL: usize = 4;
const _: () = assert!(UNROLL == 4, "unary writes its four stores out by hand");

/// Threads per block of the elementwise kernels.
pub const BLOCK: u32 = 256;

/// Enough blocks for one 16-byte group per thread, at most `max_blocks` (the grid-stride loop
/// does the rest). Requires `n > 0`.
pub fn config<T: Float>(n: usize, max_blocks: u32) -> LaunchConfig {
    let groups = n.div_ceil(T::LANES16);
    let blocks = groups.div_ceil(BLOCK as usize).clamp(1, max_blocks.max(1) as usize) as u32;
    LaunchConfig { grid: Dim3::x(blocks), block: Dim3::x(BLOCK), shared_bytes: 0 }
}

/// # Safety
/// `x` and `y` are device pointers to `n` elements each.
#[inline(always)]
pub unsafe fn unary<Op: UnaryOp, T: Float>(x: *const T, y: *mut T, n: u64) {
    let n = n as usize;
    let (x, y) = unsafe { (Global::new(x, n), GlobalMut::new(y, n)) };
    let (start, stride) = (global_thread_x(), grid_threads_x());
    let groups = if x.is_aligned16() && y.is_aligned16() { n / T::LANES16 } else { 0 };
    let apply = |mut v: T::Lanes16| {
        for e in v.as_mut() {
            *e = Op::apply(*e);
        }
        v
    };
    let mut p = start;
    while p + (UNROLL - 1) * stride < groups {
        let v: [T::Lanes16; UNROLL] = core::array::from_fn(|u| apply(x.load16(p + u * stride)));
        y.store16(p, v[0]);
        y.store16(p + stride, v[1]);
        y.store16(p + 2 * stride, v[2]);
        y.store16(p + 3 * stride, v[3]);
        p += UNROLL * stride;
    }
    while p < groups {
        y.store16(p, apply(x.load16(p)));
        p += stride;
    }
    let mut i = groups * T::LANES16 + start;
    while i < n {
        y.store(i, Op::apply(x.load(i)));
        i += stride;
    }
}

kernels! {
    /// `y = sqrt(x)` over f32.
    sqrt_f32(x: *const f32, y: *mut f32, n: u64) => unary::<Sqrt, f32>;
    /// `y = sqrt(x)` over f64.
    sqrt_f64(x: *const f64, y: *mut f64, n: u64) => unary::<Sqrt, f64>;
}
