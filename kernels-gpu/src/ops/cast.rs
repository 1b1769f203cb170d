//! Conversions between every pair of dtypes: `y[i] = x[i] as D` (see [`cast`] for the
//! rounding rules), one contiguous entry per pair (`cast_f32_bf16`, `cast_i64_f32`, ...). A
//! strided array is made contiguous first (`copy.rs`), then converted.
//!
//! Thread mapping: the map engine's contiguous path (`map.rs`); pairs of the same width move
//! 16-byte groups, others one element per thread.

use super::map::map1_contiguous;
use crate::prelude::*;

pub type CastArgs<S, D> = (*const S, *mut D, u64);

/// # Safety
/// `x` and `y` hold `n` elements each.
#[inline(always)]
pub unsafe fn convert<S: Elem, D: Elem>(x: *const S, y: *mut D, n: u64) {
    unsafe { map1_contiguous(x, y, n, cast::<S, D>) }
}

/// The storage type of a dtype's name.
macro_rules! ty {
    (f32) => {
        f32
    };
    (f64) => {
        f64
    };
    (f16) => {
        F16
    };
    (bf16) => {
        BF16
    };
    (i32) => {
        i32
    };
    (i64) => {
        i64
    };
    (u8) => {
        u8
    };
    (u32) => {
        u32
    };
    (bool) => {
        Bool
    };
}

/// Every `(from, to)` pair of distinct dtypes, one row per source.
macro_rules! cast_pairs {
    ($($s:ident => $($d:ident),*;)*) => {
        $($( kernels! {
            @entries
            ${concat(cast_, $s, _, $d)}(x: *const ty!($s), y: *mut ty!($d), n: u64) => convert::<ty!($s), ty!($d)>;
        } )*)*

        /// The cast entries, for the PTX cross-check (the diagonal has none).
        #[cfg(not(target_arch = "nvptx64"))]
        pub const KERNELS: &[crate::KernelInfo] = &[$($(${concat(cast_, $s, _, $d)}.info,)*)*];

        /// The entry converting `S` to `D`, or `None` for `S == D` (host only).
        #[cfg(not(target_arch = "nvptx64"))]
        pub fn kernel<S: Elem, D: Elem>() -> Option<crate::Kernel<CastArgs<S, D>>> {
            let all: &[&dyn core::any::Any] = &[$($(&${concat(cast_, $s, _, $d)},)*)*];
            all.iter().find_map(|k| k.downcast_ref()).copied()
        }
    };
}

cast_pairs! {
    f32 => f64, f16, bf16, i32, i64, u8, u32, bool;
    f64 => f32, f16, bf16, i32, i64, u8, u32, bool;
    f16 => f32, f64, bf16, i32, i64, u8, u32, bool;
    bf16 => f32, f64, f16, i32, i64, u8, u32, bool;
    i32 => f32, f64, f16, bf16, i64, u8, u32, bool;
    i64 => f32, f64, f16, bf16, i32, u8, u32, bool;
    u8 => f32, f64, f16, bf16, i32, i64, u32, bool;
    u32 => f32, f64, f16, bf16, i32, i64, u8, bool;
    bool => f32, f64, f16, bf16, i32, i64, u8, u32;
}
