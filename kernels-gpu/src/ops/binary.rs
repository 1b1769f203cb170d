//! Binary arithmetic, one line per op: `y = op(a, b)` with NumPy's broadcasting (a
//! broadcast operand has stride 0 where it repeats), or with a scalar on either side. `num`
//! ops run on every numeric dtype (integers: wrapping, floor division and NumPy's remainder,
//! 0 for a zero divisor, see `prelude/scalar.rs`), `math` ops on floats, through `libm`, in
//! entries of their own (see `unary.rs` for why).
//!
//! Entries per dtype: `binary_f32` (contiguous operands, or an array and a scalar, `mode`
//! says which: 0 `a[i] op b[i]`, 1 `a[i] op s`, 2 `s op a[i]`), `binary_strided_f32` (any
//! strides, a scalar passed as a one-element array of stride 0), and the same two for the
//! `math` ops (`binary_math_f32`, ...). The op is a parameter, matched per element, uniform
//! across the grid.

use super::layout::{Shape, Strides};
use super::map::{map1_contiguous, map2, map2_contiguous};
use crate::prelude::*;

/// A float op's formula.
pub trait FloatBinary: 'static {
    const OP: Binary;
    fn float<F: Float>(a: F, b: F) -> F;
}

/// An op that also runs on integers.
pub trait NumBinary: FloatBinary {
    fn num<N: Num>(a: N, b: N) -> N;
}

/// Runs code monomorphized for one op: [`Binary::visit`] calls it with the op's type.
pub trait BinaryVisitor {
    type Out;
    fn float<Op: FloatBinary>(self) -> Self::Out;
    fn num<Op: NumBinary>(self) -> Self::Out
    where
        Self: Sized,
    {
        self.float::<Op>()
    }
}

/// A contiguous entry's arguments: op, `a`, `b` (ignored unless `mode` is 0), `y`, the length,
/// the scalar's bits, and the mode.
pub type BinaryArgs<E> = (u32, *const E, *const E, *mut E, u64, u64, u32);
/// A strided entry's: op, `a` (pointer, length, strides), `b` (same), `y` (same), the shape.
pub type BinaryStridedArgs<E> = (u32, *const E, u64, Strides, *const E, u64, Strides, *mut E, u64, Strides, Shape);

/// The op as a function of the storage type: the cheap ops or, with `MATH`, the `libm` ones.
pub trait Apply2: Elem {
    fn apply<const MATH: bool>(op: u32) -> impl Fn(Self::Compute, Self::Compute) -> Self::Compute + Copy;
}

macro_rules! apply2 {
    (float: $($t:ty),*) => {$(
        impl Apply2 for $t {
            #[inline(always)]
            fn apply<const MATH: bool>(op: u32) -> impl Fn(Self::Compute, Self::Compute) -> Self::Compute + Copy {
                move |a, b| Binary::float::<_, MATH>(op, a, b)
            }
        }
    )*};
    (num: $($t:ty),*) => {$(
        impl Apply2 for $t {
            #[inline(always)]
            fn apply<const MATH: bool>(op: u32) -> impl Fn(Self::Compute, Self::Compute) -> Self::Compute + Copy {
                move |a, b| Binary::num(op, a, b)
            }
        }
    )*};
}
apply2!(float: f32, f64, F16, BF16);
apply2!(num: i32, i64, u8, u32);

/// `y = op(a, b)` over `n` contiguous elements, or with a scalar (`mode` 1: `op(a[i], s)`,
/// 2: `op(s, a[i])`).
///
/// # Safety
/// `a`, `y` (and `b` in mode 0) hold `n` elements.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn binary<E: Apply2, const MATH: bool>(
    op: u32,
    a: *const E,
    b: *const E,
    y: *mut E,
    n: u64,
    s: u64,
    mode: u32,
) {
    let f = E::apply::<MATH>(op);
    let s = <E::Compute as Num>::from_bits64(s);
    unsafe {
        match mode {
            0 => map2_contiguous(a, b, y, n, |x: E, z: E| E::store(f(x.load(), z.load()))),
            1 => map1_contiguous(a, y, n, |x: E| E::store(f(x.load(), s))),
            _ => map1_contiguous(a, y, n, |x: E| E::store(f(s, x.load()))),
        }
    }
}

/// `y = op(a, b)` over strided (broadcast) operands.
///
/// # Safety
/// Each pointer holds its length in elements, and the strides stay inside.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn binary_strided<E: Apply2, const MATH: bool>(
    op: u32,
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
    let f = E::apply::<MATH>(op);
    unsafe { map2((a, al, as_), (b, bl, bs), (y, yl, ys), &shape, |x: E, z: E| E::store(f(x.load(), z.load()))) }
}

/// The entries of one dtype: contiguous and strided, for the cheap ops and (floats only) the
/// `libm` ops.
#[cfg(not(target_arch = "nvptx64"))]
#[derive(Clone, Copy)]
pub struct BinaryKernels<E: Elem> {
    pub contiguous: crate::Kernel<BinaryArgs<E>>,
    pub strided: crate::Kernel<BinaryStridedArgs<E>>,
    pub math: Option<(crate::Kernel<BinaryArgs<E>>, crate::Kernel<BinaryStridedArgs<E>>)>,
}

macro_rules! binary_entries {
    (float { $($t:ty: $c:ident, $s:ident, $mc:ident, $ms:ident;)* } num { $($it:ty: $ic:ident, $is:ident;)* }) => {
        kernels! {
            @entries
            $(
                $c(op: u32, a: *const $t, b: *const $t, y: *mut $t, n: u64, s: u64, mode: u32) => binary::<$t, false>;
                $s(op: u32, a: *const $t, al: u64, as_: Strides, b: *const $t, bl: u64, bs: Strides, y: *mut $t, yl: u64, ys: Strides, shape: Shape) => binary_strided::<$t, false>;
                $mc(op: u32, a: *const $t, b: *const $t, y: *mut $t, n: u64, s: u64, mode: u32) => binary::<$t, true>;
                $ms(op: u32, a: *const $t, al: u64, as_: Strides, b: *const $t, bl: u64, bs: Strides, y: *mut $t, yl: u64, ys: Strides, shape: Shape) => binary_strided::<$t, true>;
            )*
            $(
                $ic(op: u32, a: *const $it, b: *const $it, y: *mut $it, n: u64, s: u64, mode: u32) => binary::<$it, false>;
                $is(op: u32, a: *const $it, al: u64, as_: Strides, b: *const $it, bl: u64, bs: Strides, y: *mut $it, yl: u64, ys: Strides, shape: Shape) => binary_strided::<$it, false>;
            )*
        }

        /// The binary entries, for the PTX cross-check.
        #[cfg(not(target_arch = "nvptx64"))]
        pub const KERNELS: &[crate::KernelInfo] =
            &[$($c.info, $s.info, $mc.info, $ms.info,)* $($ic.info, $is.info,)*];

        /// The entries for element type `E`, if it has them (host only).
        #[cfg(not(target_arch = "nvptx64"))]
        pub fn kernels<E: Elem>() -> Option<BinaryKernels<E>> {
            use core::any::Any;
            let all: &[&dyn Any] = &[
                $(&BinaryKernels { contiguous: $c, strided: $s, math: Some(($mc, $ms)) },)*
                $(&BinaryKernels { contiguous: $ic, strided: $is, math: None },)*
            ];
            all.iter().find_map(|k| k.downcast_ref()).copied()
        }
    };
}

binary_entries! {
    float {
        f32: binary_f32, binary_strided_f32, binary_math_f32, binary_math_strided_f32;
        f64: binary_f64, binary_strided_f64, binary_math_f64, binary_math_strided_f64;
        F16: binary_f16, binary_strided_f16, binary_math_f16, binary_math_strided_f16;
        BF16: binary_bf16, binary_strided_bf16, binary_math_bf16, binary_math_strided_bf16;
    }
    num {
        i32: binary_i32, binary_strided_i32;
        i64: binary_i64, binary_strided_i64;
        u8: binary_u8, binary_strided_u8;
        u32: binary_u32, binary_strided_u32;
    }
}

/// Declares the binary ops: `num Type(name) |a, b| formula;` (over [`Num`]) or `math
/// Type(name) |a, b| formula;` (floats, calling `libm`).
macro_rules! binary_ops {
    ($($(#[doc = $doc:literal])* $kind:ident $op:ident($name:ident) |$a:ident, $b:ident| $body:expr;)*) => {
        /// Every binary op, as the kernels take it and the host names it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum Binary {
            $($(#[doc = $doc])* $op,)*
        }

        impl Binary {
            pub const ALL: &'static [Binary] = &[$(Binary::$op),*];

            pub const fn name(self) -> &'static str {
                match self { $(Binary::$op => stringify!($name),)* }
            }

            /// Whether the op also runs on integers.
            pub const fn takes_integers(self) -> bool {
                match self { $(Binary::$op => binary_ops!(@is_num $kind),)* }
            }

            /// Whether the op calls `libm` (its own entries).
            pub const fn is_math(self) -> bool {
                match self { $(Binary::$op => binary_ops!(@is_math $kind),)* }
            }

            /// The op on a float compute type (the `MATH` group's, or the others'); anything
            /// else gives NaN.
            #[inline(always)]
            pub fn float<F: Float, const MATH: bool>(op: u32, a: F, b: F) -> F {
                $( if MATH == binary_ops!(@is_math $kind) && op == Binary::$op as u32 {
                    return <$op as FloatBinary>::float(a, b);
                } )*
                F::NAN
            }

            /// The op on an integer compute type (numeric ops only); anything else gives 0.
            #[inline(always)]
            #[allow(unused_variables)]
            pub fn num<N: Num>(op: u32, a: N, b: N) -> N {
                $( binary_ops!(@num_arm $kind $op op a b); )*
                N::ZERO
            }

            /// Calls the visitor with this op's type.
            pub fn visit<V: BinaryVisitor>(self, v: V) -> V::Out {
                match self { $(Binary::$op => binary_ops!(@visit $kind $op v),)* }
            }
        }

        $( binary_ops!(@op [$(#[doc = $doc])*] $kind $op |$a, $b| $body); )*

        /// Every binary op, `$m!(kind, Type, name, doc)` once per op.
        #[macro_export]
        macro_rules! for_each_binary {
            ($m:ident) => { $( $m!($kind, $op, $name, concat!($($doc, "\n"),*)); )* };
        }
    };
    (@is_num num) => { true };
    (@is_num $other:ident) => { false };
    (@is_math math) => { true };
    (@is_math $other:ident) => { false };
    (@num_arm num $op:ident $code:ident $a:ident $b:ident) => {
        if $code == Binary::$op as u32 { return <$op as NumBinary>::num($a, $b); }
    };
    (@num_arm $other:ident $op:ident $code:ident $a:ident $b:ident) => {};
    (@visit num $op:ident $v:ident) => { $v.num::<$op>() };
    (@visit $other:ident $op:ident $v:ident) => { $v.float::<$op>() };
    (@op [$($doc:tt)*] math $op:ident |$a:ident, $b:ident| $body:expr) => {
        $($doc)*
        pub struct $op;
        impl FloatBinary for $op {
            const OP: Binary = Binary::$op;
            #[inline(always)]
            fn float<F: Float>($a: F, $b: F) -> F {
                $body
            }
        }
    };
    (@op [$($doc:tt)*] num $op:ident |$a:ident, $b:ident| $body:expr) => {
        $($doc)*
        pub struct $op;
        impl NumBinary for $op {
            #[inline(always)]
            fn num<N: Num>($a: N, $b: N) -> N {
                $body
            }
        }
        impl FloatBinary for $op {
            const OP: Binary = Binary::$op;
            #[inline(always)]
            fn float<F: Float>(a: F, b: F) -> F {
                <$op as NumBinary>::num(a, b)
            }
        }
    };
}

binary_ops! {
    /// `a + b`.
    num Add(add) |a, b| a.add(b);
    /// `a - b`.
    num Sub(sub) |a, b| a.sub(b);
    /// `a · b`.
    num Mul(mul) |a, b| a.mul(b);
    /// `a / b` (integers: floor division, NumPy's `//`).
    num Div(div) |a, b| a.div(b);
    /// The remainder with the divisor's sign (NumPy's `%`, `remainder`).
    num Rem(rem) |a, b| a.rem(b);
    /// The larger; NaN if either is NaN (NumPy's `maximum`).
    num Maximum(maximum) |a, b| a.maximum(b);
    /// The smaller; NaN if either is NaN (NumPy's `minimum`).
    num Minimum(minimum) |a, b| a.minimum(b);
    /// `a^b` (C's `pow`: `pow(x, 0) = 1` even for NaN, `pow(1, y) = 1`).
    math Pow(pow) |a, b| a.powf(b);
    /// The angle of `(b, a)`: `atan2(a, b)`, in `[-π, π]`.
    math Atan2(atan2) |a, b| a.atan2(b);
}
