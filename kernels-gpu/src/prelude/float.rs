//! `Float`: the element types kernels are generic over (f32, f64).

use super::math;
use super::reduce::Shuffle;
use core::f32::math as m32;
use core::f64::math as m64;
use core::ops::{Add, Div, Mul, Neg, Sub};

pub trait Float:
    Copy
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
    const ZERO: Self;
    const ONE: Self;
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
    #[allow(clippy::eq_op)] // NaN is the only value unequal to itself
    fn is_nan(self) -> bool {
        self != self
    }
}

impl Float for f32 {
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
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
}

impl Float for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
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
}
