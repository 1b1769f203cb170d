//! Conversions between float types: `y[i] = x[i]` as another type, rounded to nearest even.
//!
//! Every conversion goes through f64: widening to f64 is exact for all four types, and the
//! narrowing from f64 rounds once, so e.g. f32 -> f16 rounds exactly as a direct conversion.
//!
//! Thread mapping: a 1-D grid-stride loop, one element per thread per step (the kernels are
//! memory-bound and the element sizes differ, so vector widths would differ on each side).
//! Launch with [`crate::elementwise::config`] for the wider of the two types.

use crate::prelude::*;

/// A float type that can be stored in an array: converts to and from f64.
pub trait CastElem: Copy {
    fn to_f64(self) -> f64;
    fn from_f64(x: f64) -> Self;
}

impl CastElem for f32 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn from_f64(x: f64) -> f32 {
        x as f32
    }
}

impl CastElem for f64 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_f64(x: f64) -> f64 {
        x
    }
}

impl CastElem for F16 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self.to_f32() as f64
    }
    #[inline(always)]
    fn from_f64(x: f64) -> F16 {
        F16::from_f64(x)
    }
}

impl CastElem for BF16 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self.to_f32() as f64
    }
    #[inline(always)]
    fn from_f64(x: f64) -> BF16 {
        BF16::from_f64(x)
    }
}

/// # Safety
/// `x` and `y` are device pointers to `n` elements each.
#[inline(always)]
pub unsafe fn cast<S: CastElem, D: CastElem>(x: *const S, y: *mut D, n: u64) {
    let n = n as usize;
    let (x, y) = unsafe { (Global::new(x, n), GlobalMut::new(y, n)) };
    let mut i = global_thread_x();
    while i < n {
        y.store(i, D::from_f64(x.load(i).to_f64()));
        i += grid_threads_x();
    }
}

kernels! {
    cast_f32_f64(x: *const f32, y: *mut f64, n: u64) => cast::<f32, f64>;
    cast_f32_f16(x: *const f32, y: *mut F16, n: u64) => cast::<f32, F16>;
    cast_f32_bf16(x: *const f32, y: *mut BF16, n: u64) => cast::<f32, BF16>;
    cast_f64_f32(x: *const f64, y: *mut f32, n: u64) => cast::<f64, f32>;
    cast_f64_f16(x: *const f64, y: *mut F16, n: u64) => cast::<f64, F16>;
    cast_f64_bf16(x: *const f64, y: *mut BF16, n: u64) => cast::<f64, BF16>;
    cast_f16_f32(x: *const F16, y: *mut f32, n: u64) => cast::<F16, f32>;
    cast_f16_f64(x: *const F16, y: *mut f64, n: u64) => cast::<F16, f64>;
    cast_f16_bf16(x: *const F16, y: *mut BF16, n: u64) => cast::<F16, BF16>;
    cast_bf16_f32(x: *const BF16, y: *mut f32, n: u64) => cast::<BF16, f32>;
    cast_bf16_f64(x: *const BF16, y: *mut f64, n: u64) => cast::<BF16, f64>;
    cast_bf16_f16(x: *const BF16, y: *mut F16, n: u64) => cast::<BF16, F16>;
}
