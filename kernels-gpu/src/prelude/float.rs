//! `Float`: the float compute types kernels are generic over (f32, f64), with their math.
//!
//! exp and ln are ferrite's own (`math.rs`, within 2 ulp, branch-free so the CPU backend's
//! loops vectorize them). The other transcendental functions are the `libm` crate's (a Rust
//! port of musl's, within 1 ulp), which the GPU build inlines into each kernel
//! (`-Zcross-crate-inline-threshold=always` in `build.rs`): the GPU, the emulator and the CPU
//! compute the same bits.

use super::math;
use super::reduce::Shuffle;
use core::f32::math as m32;
use core::f64::math as m64;
use core::ops::{Add, Div, Mul, Neg, Sub};

pub trait Float:
    super::scalar::Num
    + Copy
    + PartialEq
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Shuffle
    + 'static
{
    const INFINITY: Self;
    const NEG_INFINITY: Self;
    const NAN: Self;
    /// Elements in one 16-byte vector load (`ld.global.v4.f32`, `ld.global.v2.f64`).
    const LANES16: usize;
    /// Those 16 bytes as an array of `Self`.
    type Lanes16: Copy + AsRef<[Self]> + AsMut<[Self]>;
    /// A 16-byte group with every lane `v`.
    fn splat16(v: Self) -> Self::Lanes16;

    fn from_f32(x: f32) -> Self;
    /// `n` converted with rounding, for sizes and counts.
    fn from_usize(n: usize) -> Self;
    /// `self * a + b` with one rounding (`fma.rn`). Rust never fuses `a * b + c` on its own.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// Correctly rounded square root (`sqrt.rn`); NaN for negative input, as IEEE says.
    fn sqrt(self) -> Self;
    /// e^x within 2 ulp over the whole range, identical on the GPU and the emulator.
    fn exp(self) -> Self;
    /// e^x - 1, accurate near 0.
    fn exp_m1(self) -> Self;
    /// Natural logarithm within 2 ulp; -inf at 0, NaN below.
    fn ln(self) -> Self;
    /// IEEE maxNum (`max.f32`): if one operand is NaN the other is returned.
    fn max_num(self, other: Self) -> Self;
    /// Rounding to integers (`cvt.rmi`, `cvt.rpi`, `cvt.rzi`, `cvt.rni`: half to even).
    fn floor(self) -> Self;
    fn ceil(self) -> Self;
    fn trunc(self) -> Self;
    fn round_even(self) -> Self;
    fn exp2(self) -> Self;
    fn log2(self) -> Self;
    /// ln(1 + x), accurate near 0.
    fn ln_1p(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn tan(self) -> Self;
    fn tanh(self) -> Self;
    fn erf(self) -> Self;
    fn atan2(self, x: Self) -> Self;
    /// `self^y` with C's `pow` special cases (`pow(x, 0) = 1`, even for NaN).
    fn powf(self, y: Self) -> Self;
    fn is_infinite(self) -> bool {
        self == Self::INFINITY || self == Self::NEG_INFINITY
    }
    #[allow(clippy::eq_op)] // NaN is the only value unequal to itself
    fn is_nan(self) -> bool {
        self != self
    }
}

impl Float for f32 {
    const INFINITY: f32 = f32::INFINITY;
    const NEG_INFINITY: f32 = f32::NEG_INFINITY;
    const NAN: f32 = f32::NAN;
    const LANES16: usize = 4;
    type Lanes16 = [f32; 4];
    #[inline(always)]
    fn splat16(v: f32) -> [f32; 4] {
        [v; 4]
    }

    #[inline(always)]
    fn from_f32(x: f32) -> f32 {
        x
    }
    #[inline(always)]
    fn from_usize(n: usize) -> f32 {
        n as f32
    }
    #[inline(always)]
    fn mul_add(self, a: f32, b: f32) -> f32 {
        m32::mul_add(self, a, b)
    }
    #[inline(always)]
    fn sqrt(self) -> f32 {
        m32::sqrt(self)
    }
    #[inline(always)]
    fn exp(self) -> f32 {
        math::exp_f32(self)
    }
    #[inline(always)]
    fn exp_m1(self) -> f32 {
        math::expm1_f32(self)
    }
    #[inline(always)]
    fn ln(self) -> f32 {
        math::ln_f32(self)
    }
    #[inline(always)]
    fn max_num(self, other: f32) -> f32 {
        self.max(other)
    }
    #[inline(always)]
    fn floor(self) -> f32 {
        m32::floor(self)
    }
    #[inline(always)]
    fn ceil(self) -> f32 {
        m32::ceil(self)
    }
    #[inline(always)]
    fn trunc(self) -> f32 {
        m32::trunc(self)
    }
    #[inline(always)]
    fn round_even(self) -> f32 {
        m32::round_ties_even(self)
    }
    #[inline(always)]
    fn exp2(self) -> f32 {
        outlined::exp2f(self)
    }
    #[inline(always)]
    fn log2(self) -> f32 {
        outlined::log2f(self)
    }
    #[inline(always)]
    fn ln_1p(self) -> f32 {
        outlined::log1pf(self)
    }
    #[inline(always)]
    fn sin(self) -> f32 {
        outlined::sinf(self)
    }
    #[inline(always)]
    fn cos(self) -> f32 {
        outlined::cosf(self)
    }
    #[inline(always)]
    fn tan(self) -> f32 {
        outlined::tanf(self)
    }
    #[inline(always)]
    fn tanh(self) -> f32 {
        outlined::tanhf(self)
    }
    #[inline(always)]
    fn erf(self) -> f32 {
        outlined::erff(self)
    }
    #[inline(always)]
    fn atan2(self, x: f32) -> f32 {
        outlined::atan2f(self, x)
    }
    #[inline(always)]
    fn powf(self, y: f32) -> f32 {
        outlined::powf(self, y)
    }
}

impl Float for f64 {
    const INFINITY: f64 = f64::INFINITY;
    const NEG_INFINITY: f64 = f64::NEG_INFINITY;
    const NAN: f64 = f64::NAN;
    const LANES16: usize = 2;
    type Lanes16 = [f64; 2];
    #[inline(always)]
    fn splat16(v: f64) -> [f64; 2] {
        [v; 2]
    }

    #[inline(always)]
    fn from_f32(x: f32) -> f64 {
        x as f64
    }
    #[inline(always)]
    fn from_usize(n: usize) -> f64 {
        n as f64
    }
    #[inline(always)]
    fn mul_add(self, a: f64, b: f64) -> f64 {
        m64::mul_add(self, a, b)
    }
    #[inline(always)]
    fn sqrt(self) -> f64 {
        m64::sqrt(self)
    }
    #[inline(always)]
    fn exp(self) -> f64 {
        math::exp_f64(self)
    }
    #[inline(always)]
    fn exp_m1(self) -> f64 {
        math::expm1_f64(self)
    }
    #[inline(always)]
    fn ln(self) -> f64 {
        math::ln_f64(self)
    }
    #[inline(always)]
    fn max_num(self, other: f64) -> f64 {
        self.max(other)
    }
    #[inline(always)]
    fn floor(self) -> f64 {
        m64::floor(self)
    }
    #[inline(always)]
    fn ceil(self) -> f64 {
        m64::ceil(self)
    }
    #[inline(always)]
    fn trunc(self) -> f64 {
        m64::trunc(self)
    }
    #[inline(always)]
    fn round_even(self) -> f64 {
        m64::round_ties_even(self)
    }
    #[inline(always)]
    fn exp2(self) -> f64 {
        outlined::exp2(self)
    }
    #[inline(always)]
    fn log2(self) -> f64 {
        outlined::log2(self)
    }
    #[inline(always)]
    fn ln_1p(self) -> f64 {
        outlined::log1p(self)
    }
    #[inline(always)]
    fn sin(self) -> f64 {
        outlined::sin(self)
    }
    #[inline(always)]
    fn cos(self) -> f64 {
        outlined::cos(self)
    }
    #[inline(always)]
    fn tan(self) -> f64 {
        outlined::tan(self)
    }
    #[inline(always)]
    fn tanh(self) -> f64 {
        outlined::tanh(self)
    }
    #[inline(always)]
    fn erf(self) -> f64 {
        outlined::erf(self)
    }
    #[inline(always)]
    fn atan2(self, x: f64) -> f64 {
        outlined::atan2(self, x)
    }
    #[inline(always)]
    fn powf(self, y: f64) -> f64 {
        outlined::pow(self, y)
    }
}

/// libm's functions, each compiled once per PTX module (`#[inline(never)]`) and called from every
/// kernel that needs it: inlined, each of them would be copied into every lane of every vector
/// path of every kernel, multiplying the PTX (and ptxas's time) by the copies.
pub(super) mod outlined {
    macro_rules! outline {
        ($($f:ident($($a:ident: $t:ty),*) -> $r:ty;)*) => {$(
            #[inline(never)]
            pub fn $f($($a: $t),*) -> $r {
                libm::$f($($a),*)
            }
        )*};
    }
    outline! {
        exp2f(x: f32) -> f32;
        log2f(x: f32) -> f32;
        log1pf(x: f32) -> f32;
        sinf(x: f32) -> f32;
        cosf(x: f32) -> f32;
        tanf(x: f32) -> f32;
        tanhf(x: f32) -> f32;
        erff(x: f32) -> f32;
        atan2f(y: f32, x: f32) -> f32;
        powf(x: f32, y: f32) -> f32;
        fmodf(x: f32, y: f32) -> f32;
        exp2(x: f64) -> f64;
        log2(x: f64) -> f64;
        log1p(x: f64) -> f64;
        sin(x: f64) -> f64;
        cos(x: f64) -> f64;
        tan(x: f64) -> f64;
        tanh(x: f64) -> f64;
        erf(x: f64) -> f64;
        atan2(y: f64, x: f64) -> f64;
        pow(x: f64, y: f64) -> f64;
        fmod(x: f64, y: f64) -> f64;
    }
}
