//! Comparisons, logic and selection, giving or taking `bool` arrays (one byte per element):
//!
//! - [`Compare`]: `y = op(a, b)` for `eq`, `ne`, `lt`, `le`, `gt`, `ge` (IEEE: any comparison
//!   with NaN is false but `ne`) and `logical_and`/`or`/`xor` (an element is true when nonzero,
//!   as NumPy's `logical_*`), on every dtype, with broadcasting or a scalar on either side;
//! - [`Test`]: `y = op(x)` for `isnan`, `isinf`, `isfinite` and `logical_not`;
//! - `where`: `y = cond ? a : b`, broadcasting all three.
//!
//! The engine is `map.rs`'s; entries per dtype, contiguous and strided, as `binary.rs`.

use super::layout::{Shape, Strides};
use super::map::{map1_contiguous, map2, map2_contiguous, map3};
use crate::prelude::*;

/// Declares an op enum with its names and the formula dispatch on compute values `(a, b)` or
/// `(x)`.
macro_rules! ops {
    ($enum:ident($($arg:ident),*) { $($(#[doc = $doc:literal])* $op:ident($name:ident) $body:expr;)* }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum $enum {
            $($(#[doc = $doc])* $op,)*
        }

        impl $enum {
            pub const ALL: &'static [$enum] = &[$($enum::$op),*];

            pub const fn name(self) -> &'static str {
                match self { $($enum::$op => stringify!($name),)* }
            }

            /// The op on compute values; an unknown code gives false.
            #[inline(always)]
            pub fn eval<C: Truth>(op: u32, $($arg: C),*) -> bool {
                $( if op == $enum::$op as u32 {
                    return $body;
                } )*
                false
            }
        }
    };
}

/// What logic and tests need of a compute value.
pub trait Truth: Num {
    /// Nonzero (NaN is true, as NumPy's `bool(nan)`).
    #[inline(always)]
    fn truth(self) -> bool {
        self != Self::ZERO
    }
    #[inline(always)]
    fn is_infinite(self) -> bool {
        false
    }
}
impl Truth for f32 {
    #[inline(always)]
    fn is_infinite(self) -> bool {
        Float::is_infinite(self)
    }
}
impl Truth for f64 {
    #[inline(always)]
    fn is_infinite(self) -> bool {
        Float::is_infinite(self)
    }
}
impl Truth for i32 {}
impl Truth for i64 {}
impl Truth for u8 {}
impl Truth for u32 {}
impl Truth for bool {}

ops! {
    Compare(a, b) {
        /// `a == b`.
        Eq(eq) a == b;
        /// `a != b` (true when either is NaN).
        Ne(ne) a != b;
        Lt(lt) a < b;
        Le(le) a <= b;
        Gt(gt) a > b;
        Ge(ge) a >= b;
        /// Both nonzero.
        And(logical_and) a.truth() && b.truth();
        /// Either nonzero.
        Or(logical_or) a.truth() || b.truth();
        /// Exactly one nonzero.
        Xor(logical_xor) a.truth() != b.truth();
    }
}

ops! {
    Test(x) {
        /// NaN (never for integers).
        IsNan(isnan) x.nan();
        /// ±inf.
        IsInf(isinf) x.is_infinite();
        /// Neither NaN nor ±inf.
        IsFinite(isfinite) !x.nan() && !x.is_infinite();
        /// Zero (false for NaN).
        Not(logical_not) !x.truth();
    }
}

/// A contiguous comparison's arguments: op, `a`, `b` (mode 0 only), `y`, the length, the
/// scalar's bits, the mode (0 `a[i] op b[i]`, 1 `a[i] op s`, 2 `s op a[i]`).
pub type CompareArgs<E> = (u32, *const E, *const E, *mut Bool, u64, u64, u32);
pub type CompareStridedArgs<E> = (u32, *const E, u64, Strides, *const E, u64, Strides, *mut Bool, u64, Strides, Shape);
pub type TestArgs<E> = (u32, *const E, *mut Bool, u64);
pub type WhereArgs<E> =
    (*const Bool, u64, Strides, *const E, u64, Strides, *const E, u64, Strides, *mut E, u64, Strides, Shape);

/// # Safety
/// `a`, `y` (and `b` in mode 0) hold `n` elements.
#[inline(always)]
pub unsafe fn compare<E: Elem>(op: u32, a: *const E, b: *const E, y: *mut Bool, n: u64, s: u64, mode: u32)
where
    E::Compute: Truth,
{
    let s = <E::Compute as Num>::from_bits64(s);
    let f = move |x: E::Compute, z: E::Compute| Bool::store(Compare::eval(op, x, z));
    unsafe {
        match mode {
            0 => map2_contiguous(a, b, y, n, |x: E, z: E| f(x.load(), z.load())),
            1 => map1_contiguous(a, y, n, |x: E| f(x.load(), s)),
            _ => map1_contiguous(a, y, n, |x: E| f(s, x.load())),
        }
    }
}

/// # Safety
/// Each pointer holds its length, and the strides stay inside.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn compare_strided<E: Elem>(
    op: u32,
    a: *const E,
    al: u64,
    as_: Strides,
    b: *const E,
    bl: u64,
    bs: Strides,
    y: *mut Bool,
    yl: u64,
    ys: Strides,
    shape: Shape,
) where
    E::Compute: Truth,
{
    let f = |x: E, z: E| Bool::store(Compare::eval(op, x.load(), z.load()));
    unsafe { map2((a, al, as_), (b, bl, bs), (y, yl, ys), &shape, f) }
}

/// # Safety
/// `x` and `y` hold `n` elements.
#[inline(always)]
pub unsafe fn test<E: Elem>(op: u32, x: *const E, y: *mut Bool, n: u64)
where
    E::Compute: Truth,
{
    unsafe { map1_contiguous(x, y, n, |v: E| Bool::store(Test::eval(op, v.load()))) }
}

/// # Safety
/// Each pointer holds its length, and the strides stay inside.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn select<E: Elem>(
    c: *const Bool,
    cl: u64,
    cs: Strides,
    a: *const E,
    al: u64,
    as_: Strides,
    b: *const E,
    bl: u64,
    bs: Strides,
    y: *mut E,
    yl: u64,
    ys: Strides,
    shape: Shape,
) {
    let f = |k: Bool, x: E, z: E| if k.load() { x } else { z };
    unsafe { map3((c, cl, cs), (a, al, as_), (b, bl, bs), (y, yl, ys), &shape, f) }
}

/// The comparison entries of one dtype.
#[cfg(not(target_arch = "nvptx64"))]
#[derive(Clone, Copy)]
pub struct CompareKernels<E: Elem> {
    pub contiguous: crate::Kernel<CompareArgs<E>>,
    pub strided: crate::Kernel<CompareStridedArgs<E>>,
    pub test: crate::Kernel<TestArgs<E>>,
    /// `where` over this dtype.
    pub select: crate::Kernel<WhereArgs<E>>,
}

macro_rules! compare_entries {
    ($($t:ty: $c:ident, $s:ident, $test:ident, $sel:ident;)*) => {
        kernels! {
            @entries
            $(
                $c(op: u32, a: *const $t, b: *const $t, y: *mut Bool, n: u64, s: u64, mode: u32) => compare::<$t>;
                $s(op: u32, a: *const $t, al: u64, as_: Strides, b: *const $t, bl: u64, bs: Strides, y: *mut Bool, yl: u64, ys: Strides, shape: Shape) => compare_strided::<$t>;
                $test(op: u32, x: *const $t, y: *mut Bool, n: u64) => test::<$t>;
                $sel(c: *const Bool, cl: u64, cs: Strides, a: *const $t, al: u64, as_: Strides, b: *const $t, bl: u64, bs: Strides, y: *mut $t, yl: u64, ys: Strides, shape: Shape) => select::<$t>;
            )*
        }

        /// The comparison, test and `where` entries, for the PTX cross-check.
        #[cfg(not(target_arch = "nvptx64"))]
        pub const KERNELS: &[crate::KernelInfo] = &[$($c.info, $s.info, $test.info, $sel.info,)*];

        /// The entries for element type `E`, if it has them (host only).
        #[cfg(not(target_arch = "nvptx64"))]
        pub fn kernels<E: Elem>() -> Option<CompareKernels<E>> {
            use core::any::Any;
            let all: &[&dyn Any] = &[$(&CompareKernels { contiguous: $c, strided: $s, test: $test, select: $sel },)*];
            all.iter().find_map(|k| k.downcast_ref()).copied()
        }
    };
}

compare_entries! {
    f32: compare_f32, compare_strided_f32, test_f32, where_f32;
    f64: compare_f64, compare_strided_f64, test_f64, where_f64;
    F16: compare_f16, compare_strided_f16, test_f16, where_f16;
    BF16: compare_bf16, compare_strided_bf16, test_bf16, where_bf16;
    i32: compare_i32, compare_strided_i32, test_i32, where_i32;
    i64: compare_i64, compare_strided_i64, test_i64, where_i64;
    u8: compare_u8, compare_strided_u8, test_u8, where_u8;
    u32: compare_u32, compare_strided_u32, test_u32, where_u32;
    Bool: compare_bool, compare_strided_bool, test_bool, where_bool;
}
