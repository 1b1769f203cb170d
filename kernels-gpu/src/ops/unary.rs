//! Unary ops, one line each: `y = op(x)` (with up to three scalar parameters, e.g. `clip`'s
//! bounds). Each line declares the op's type, its formula, and the dtypes it takes: `float`
//! ops run on f32, f64, f16 and bf16 (the 16-bit types computed in f32); `num` ops also on
//! i32, i64, u8 and u32 (integer arithmetic wraps, see `prelude/scalar.rs`).
//!
//! From the list, [`unary_ops!`] makes the [`Unary`] enum (the op as a kernel parameter and
//! the host's handle on it), a type per op with its formula (the CPU backend monomorphizes a
//! loop per op through [`UnaryVisitor`]), and two kernel entries per dtype, contiguous
//! (`unary_f32`) and strided (`unary_strided_f32`): the map engine (`map.rs`) with the op chosen
//! by a `match` on the parameter, uniform across the grid. Entries per dtype rather than per op
//! and dtype keep the PTX to one copy of the engine per dtype. A new op: one line here, its registry
//! row (`tests/ops/`), its interpreter reference (README: "Where a new unary op goes").

use super::layout::{Shape, Strides};
use super::map::{map1, map1_contiguous};
use crate::prelude::*;

/// A float op's formula, on f32 or f64 (`p`: its scalar parameters).
pub trait FloatUnary: 'static {
    const OP: Unary;
    fn float<F: Float>(x: F, p: [F; 3]) -> F;
}

/// An op that also runs on integers.
pub trait NumUnary: FloatUnary {
    fn num<N: Num>(x: N, p: [N; 3]) -> N;
}

/// Runs code monomorphized for one op: [`Unary::visit`] calls `visit::<Op>()` for its op.
pub trait UnaryVisitor {
    type Out;
    fn float<Op: FloatUnary>(self) -> Self::Out;
    /// For ops that also run on integers (by default the float path).
    fn num<Op: NumUnary>(self) -> Self::Out
    where
        Self: Sized,
    {
        self.float::<Op>()
    }
}

/// The arguments of a contiguous unary entry: the op, input, output, the length, and three
/// scalar parameters as the compute type's bits.
pub type UnaryArgs<E> = (u32, *const E, *mut E, u64, u64, u64, u64);
/// A strided entry's: the op, input (pointer, length, strides), output (pointer, length,
/// strides), the shape, and the three parameters.
pub type UnaryStridedArgs<E> = (u32, *const E, u64, Strides, *mut E, u64, Strides, Shape, u64, u64, u64);

/// The parameters as the compute type.
#[inline(always)]
fn params<C: Num>(p: [u64; 3]) -> [C; 3] {
    [C::from_bits64(p[0]), C::from_bits64(p[1]), C::from_bits64(p[2])]
}

/// The op as a function of the storage type (the dtypes the unary kernels take), from the
/// cheap ops or, with `MATH`, the ops that call `libm` (integers have no such ops).
pub trait Apply: Elem {
    fn apply<const MATH: bool>(op: u32, p: [Self::Compute; 3]) -> impl Fn(Self) -> Self;
}

macro_rules! apply {
    (float: $($t:ty),*) => {$(
        impl Apply for $t {
            #[inline(always)]
            fn apply<const MATH: bool>(op: u32, p: [Self::Compute; 3]) -> impl Fn($t) -> $t {
                move |v: $t| <$t>::store(Unary::float::<_, MATH>(op, v.load(), p))
            }
        }
    )*};
    (num: $($t:ty),*) => {$(
        impl Apply for $t {
            #[inline(always)]
            fn apply<const MATH: bool>(op: u32, p: [Self::Compute; 3]) -> impl Fn($t) -> $t {
                move |v: $t| <$t>::store(Unary::num(op, v.load(), p))
            }
        }
    )*};
}
apply!(float: f32, f64, F16, BF16);
apply!(num: i32, i64, u8, u32);

/// `y = op(x)` over `n` contiguous elements.
///
/// # Safety
/// `x` and `y` hold `n` elements each (they may be the same buffer).
#[inline(always)]
pub unsafe fn unary<E: Apply, const MATH: bool>(op: u32, x: *const E, y: *mut E, n: u64, p0: u64, p1: u64, p2: u64) {
    let f = E::apply::<MATH>(op, params([p0, p1, p2]));
    unsafe { map1_contiguous(x, y, n, f) }
}

/// `y = op(x)` over strided operands.
///
/// # Safety
/// As for [`map1`]: `x` holds `xl` elements and `y` `yl`, and the strides stay inside.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn unary_strided<E: Apply, const MATH: bool>(
    op: u32,
    x: *const E,
    xl: u64,
    xs: Strides,
    y: *mut E,
    yl: u64,
    ys: Strides,
    shape: Shape,
    p0: u64,
    p1: u64,
    p2: u64,
) {
    let f = E::apply::<MATH>(op, params([p0, p1, p2]));
    unsafe { map1((x, xl, xs), (y, yl, ys), &shape, f) }
}

/// The entries of one dtype: contiguous and strided, for the cheap ops and (floats only) the
/// `libm` ops.
#[cfg(not(target_arch = "nvptx64"))]
#[derive(Clone, Copy)]
pub struct UnaryKernels<E: Elem> {
    pub contiguous: crate::Kernel<UnaryArgs<E>>,
    pub strided: crate::Kernel<UnaryStridedArgs<E>>,
    pub math: Option<UnaryPair<E>>,
}

/// A contiguous entry and its strided twin.
#[cfg(not(target_arch = "nvptx64"))]
pub type UnaryPair<E> = (crate::Kernel<UnaryArgs<E>>, crate::Kernel<UnaryStridedArgs<E>>);

/// Each dtype's entries, and the lookup from dtype to entries.
macro_rules! unary_entries {
    (float { $($t:ty: $c:ident, $s:ident, $mc:ident, $ms:ident;)* } num { $($it:ty: $ic:ident, $is:ident;)* }) => {
        kernels! {
            @entries
            $(
                $c(op: u32, x: *const $t, y: *mut $t, n: u64, p0: u64, p1: u64, p2: u64) => unary::<$t, false>;
                $s(op: u32, x: *const $t, xl: u64, xs: Strides, y: *mut $t, yl: u64, ys: Strides, shape: Shape, p0: u64, p1: u64, p2: u64) => unary_strided::<$t, false>;
                $mc(op: u32, x: *const $t, y: *mut $t, n: u64, p0: u64, p1: u64, p2: u64) => unary::<$t, true>;
                $ms(op: u32, x: *const $t, xl: u64, xs: Strides, y: *mut $t, yl: u64, ys: Strides, shape: Shape, p0: u64, p1: u64, p2: u64) => unary_strided::<$t, true>;
            )*
            $(
                $ic(op: u32, x: *const $it, y: *mut $it, n: u64, p0: u64, p1: u64, p2: u64) => unary::<$it, false>;
                $is(op: u32, x: *const $it, xl: u64, xs: Strides, y: *mut $it, yl: u64, ys: Strides, shape: Shape, p0: u64, p1: u64, p2: u64) => unary_strided::<$it, false>;
            )*
        }

        /// The unary entries, for the PTX cross-check.
        #[cfg(not(target_arch = "nvptx64"))]
        pub const KERNELS: &[crate::KernelInfo] =
            &[$($c.info, $s.info, $mc.info, $ms.info,)* $($ic.info, $is.info,)*];

        /// The entries for element type `E`, if it has them (host only).
        #[cfg(not(target_arch = "nvptx64"))]
        pub fn kernels<E: Elem>() -> Option<UnaryKernels<E>> {
            use core::any::Any;
            let all: &[&dyn Any] = &[
                $(&UnaryKernels { contiguous: $c, strided: $s, math: Some(($mc, $ms)) },)*
                $(&UnaryKernels { contiguous: $ic, strided: $is, math: None },)*
            ];
            all.iter().find_map(|k| k.downcast_ref()).copied()
        }
    };
}

unary_entries! {
    float {
        f32: unary_f32, unary_strided_f32, unary_math_f32, unary_math_strided_f32;
        f64: unary_f64, unary_strided_f64, unary_math_f64, unary_math_strided_f64;
        F16: unary_f16, unary_strided_f16, unary_math_f16, unary_math_strided_f16;
        BF16: unary_bf16, unary_strided_bf16, unary_math_bf16, unary_math_strided_bf16;
    }
    num {
        i32: unary_i32, unary_strided_i32;
        i64: unary_i64, unary_strided_i64;
        u8: unary_u8, unary_strided_u8;
        u32: unary_u32, unary_strided_u32;
    }
}

/// Declares the unary ops: `float Type(name) |x, p| formula;` or `num Type(name) |x, p|
/// formula;` (a `num` formula is written over [`Num`] and serves floats too).
macro_rules! unary_ops {
    ($($(#[doc = $doc:literal])* $kind:ident $op:ident($name:ident) |$x:ident, $p:ident| $body:expr;)*) => {
        /// Every unary op, as the kernels take it (`op` parameter) and the host names it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum Unary {
            $($(#[doc = $doc])* $op,)*
        }

        impl Unary {
            /// Every op, in declaration order.
            pub const ALL: &'static [Unary] = &[$(Unary::$op),*];

            /// The op's name, as the array method and the registry call it.
            pub const fn name(self) -> &'static str {
                match self { $(Unary::$op => stringify!($name),)* }
            }

            /// Whether the op also runs on integers.
            pub const fn takes_integers(self) -> bool {
                match self { $(Unary::$op => unary_ops!(@is_num $kind),)* }
            }

            /// Whether the op calls `libm` (its own entries: their calls cost registers and a
            /// stack frame, which the cheap ops' entries should not pay).
            pub const fn is_math(self) -> bool {
                match self { $(Unary::$op => unary_ops!(@is_math $kind),)* }
            }

            /// The op on a float compute type; `op` is the enum's discriminant. With `MATH`, the
            /// ops that call `libm`, else the others; an op of the other group, or an unknown
            /// code, gives NaN (the host never sends one).
            #[inline(always)]
            #[allow(unused_variables)]
            pub fn float<F: Float, const MATH: bool>(op: u32, x: F, p: [F; 3]) -> F {
                $( if MATH == unary_ops!(@is_math $kind) && op == Unary::$op as u32 {
                    return <$op as FloatUnary>::float(x, p);
                } )*
                F::NAN
            }

            /// The op on an integer compute type: numeric ops only (the host never sends a float
            /// op for an integer array); anything else gives 0.
            #[inline(always)]
            #[allow(unused_variables)]
            pub fn num<N: Num>(op: u32, x: N, p: [N; 3]) -> N {
                $( unary_ops!(@num_arm $kind $op op x p); )*
                N::ZERO
            }

            /// Calls `v.float::<Op>()` (or `v.num::<Op>()` for numeric ops) with this op's type.
            pub fn visit<V: UnaryVisitor>(self, v: V) -> V::Out {
                match self { $(Unary::$op => unary_ops!(@visit $kind $op v),)* }
            }
        }

        $( unary_ops!(@op [$(#[doc = $doc])*] $kind $op $name |$x, $p| $body); )*

        /// Every unary op, `$m!(kind, Type, name, doc)` once per op: the host's array methods.
        #[macro_export]
        macro_rules! for_each_unary {
            ($m:ident) => { $( $m!($kind, $op, $name, concat!($($doc, "\n"),*)); )* };
        }
    };
    (@is_num num) => { true };
    (@is_num $other:ident) => { false };
    (@is_math math) => { true };
    (@is_math $other:ident) => { false };
    (@num_arm num $op:ident $code:ident $x:ident $p:ident) => {
        if $code == Unary::$op as u32 { return <$op as NumUnary>::num($x, $p); }
    };
    (@num_arm $other:ident $op:ident $code:ident $x:ident $p:ident) => {};
    (@visit num $op:ident $v:ident) => { $v.num::<$op>() };
    (@visit $other:ident $op:ident $v:ident) => { $v.float::<$op>() };
    (@op [$($doc:tt)*] math $op:ident $name:ident |$x:ident, $p:ident| $body:expr) => {
        unary_ops!(@op [$($doc)*] float $op $name |$x, $p| $body);
    };
    (@op [$($doc:tt)*] float $op:ident $name:ident |$x:ident, $p:ident| $body:expr) => {
        $($doc)*
        pub struct $op;
        impl FloatUnary for $op {
            const OP: Unary = Unary::$op;
            #[inline(always)]
            #[allow(unused_variables)]
            fn float<F: Float>($x: F, $p: [F; 3]) -> F {
                $body
            }
        }
    };
    (@op [$($doc:tt)*] num $op:ident $name:ident |$x:ident, $p:ident| $body:expr) => {
        $($doc)*
        pub struct $op;
        impl NumUnary for $op {
            #[inline(always)]
            #[allow(unused_variables)]
            fn num<N: Num>($x: N, $p: [N; 3]) -> N {
                $body
            }
        }
        impl FloatUnary for $op {
            const OP: Unary = Unary::$op;
            #[inline(always)]
            fn float<F: Float>(x: F, p: [F; 3]) -> F {
                <$op as NumUnary>::num(x, p)
            }
        }
    };
}

/// `1 / (1 + e^-x)` without overflow: `e^-|x|` is at most 1.
#[inline(always)]
fn sigmoid<F: Float>(x: F) -> F {
    let e = (-x.abs()).exp();
    if x >= F::ZERO { F::ONE / (F::ONE + e) } else { e / (F::ONE + e) }
}

unary_ops! {
    /// `-x` (integers wrap).
    num Neg(neg) |x, p| x.neg();
    /// `|x|` (integers wrap: `abs(i32::MIN)` is `i32::MIN`).
    num Abs(abs) |x, p| x.abs();
    /// -1, 0 or 1; NaN stays NaN.
    num Sign(sign) |x, p| x.sign();
    /// `x · x`.
    num Square(square) |x, p| x.mul(x);
    /// `minimum(maximum(x, lo), hi)`, NumPy's `clip` (NaN stays NaN; `lo > hi` gives `hi`).
    num Clip(clip) |x, p| x.maximum(p[0]).minimum(p[1]);
    /// Correctly rounded square root; NaN below 0.
    float Sqrt(sqrt) |x, p| x.sqrt();
    /// `1 / sqrt(x)`.
    float Rsqrt(rsqrt) |x, p| F::ONE / x.sqrt();
    /// `1 / x`.
    float Recip(recip) |x, p| F::ONE / x;
    /// e^x (within 2 ulp).
    float Exp(exp) |x, p| x.exp();
    /// 2^x.
    math Exp2(exp2) |x, p| x.exp2();
    /// e^x - 1, accurate near 0.
    float Expm1(expm1) |x, p| x.exp_m1();
    /// Natural logarithm (within 2 ulp); -inf at 0, NaN below.
    float Log(log) |x, p| x.ln();
    math Log2(log2) |x, p| x.log2();
    /// ln(1 + x), accurate near 0.
    math Log1p(log1p) |x, p| x.ln_1p();
    math Sin(sin) |x, p| x.sin();
    math Cos(cos) |x, p| x.cos();
    math Tan(tan) |x, p| x.tan();
    math Tanh(tanh) |x, p| x.tanh();
    /// `1 / (1 + e^-x)`, without overflow for any x.
    float Sigmoid(sigmoid) |x, p| sigmoid(x);
    /// `maximum(x, 0)` (NaN stays NaN).
    float Relu(relu) |x, p| x.maximum(F::ZERO);
    /// `x · Φ(x) = x/2 · (1 + erf(x / √2))`, PyTorch's `gelu` (approximate = "none").
    math Gelu(gelu) |x, p| F::from_f32(0.5) * x * (F::ONE + (x * F::of_f64(core::f64::consts::FRAC_1_SQRT_2)).erf());
    /// `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`, PyTorch's `gelu(approximate="tanh")`.
    math GeluTanh(gelu_tanh) |x, p| {
        // √(2/π) and 0.044715 in the compute type (f32-rounded constants would leave f64
        // results only f32-accurate).
        let inner = F::of_f64(0.797_884_560_802_865_4) * x.mul_add(F::of_f64(0.044_715) * x * x, x);
        F::from_f32(0.5) * x * (F::ONE + inner.tanh())
    };
    /// `x · sigmoid(x)`.
    float Silu(silu) |x, p| x * sigmoid(x);
    /// `ln(1 + e^x)` as `max(x, 0) + ln(1 + e^-|x|)`, without overflow.
    math Softplus(softplus) |x, p| x.maximum(F::ZERO) + (-x.abs()).exp().ln_1p();
    float Floor(floor) |x, p| x.floor();
    float Ceil(ceil) |x, p| x.ceil();
    /// To the nearest integer, halves to even (NumPy's `round`).
    float Round(round) |x, p| x.round_even();
    float Trunc(trunc) |x, p| x.trunc();
    /// NaN to `p[0]`, +inf to `p[1]`, -inf to `p[2]` (NumPy's `nan_to_num`).
    float NanToNum(nan_to_num) |x, p| if x.is_nan() {
        p[0]
    } else if x == F::INFINITY {
        p[1]
    } else if x == F::NEG_INFINITY {
        p[2]
    } else {
        x
    };
}
