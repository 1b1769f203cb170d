//! The element types arrays hold ([`Elem`]: f32, f64, F16, BF16, i32, i64, u8, u32, Bool) and
//! the types kernels compute in ([`Num`], refined by `Float` and [`Int`]).
//!
//! A 16-bit float is loaded, computed in f32 and stored once, rounded to nearest even: no
//! temporaries, one launch. A bool is a byte holding 0 or 1, computed as `bool`.
//!
//! Integer arithmetic has one rule everywhere, on the GPU, the emulator and the CPU: it wraps
//! (two's complement), division is floor division and the remainder takes the divisor's sign
//! (NumPy's `//` and `%`), and division or remainder by zero gives 0, as NumPy's result does
//! (NumPy also warns). `i32::MIN // -1` wraps to `i32::MIN`. Nothing is undefined.

use super::half::{BF16, F16};

/// A type kernels compute in.
pub trait Num: Copy + PartialEq + PartialOrd + Send + Sync + 'static {
    const ZERO: Self;
    const ONE: Self;
    /// The smallest and largest values (`-inf`, `inf` for floats): identities of max and min.
    const LOWEST: Self;
    const HIGHEST: Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// True division for floats; integers: floor division (NumPy's `//`, so that
    /// `a == div(a, b) · b + rem(a, b)`), 0 for a zero divisor.
    fn div(self, o: Self) -> Self;
    /// The remainder with the divisor's sign, as NumPy's `%`; integers: 0 for a zero divisor.
    fn rem(self, o: Self) -> Self;
    fn neg(self) -> Self;
    fn abs(self) -> Self;
    /// -1, 0 or 1 (NaN stays NaN; -0 and 0 give 0).
    fn sign(self) -> Self;
    /// The larger of the two; NaN if either is NaN (NumPy's `maximum`).
    fn maximum(self, o: Self) -> Self;
    fn minimum(self, o: Self) -> Self;
    #[allow(clippy::eq_op)] // NaN is the only value unequal to itself
    #[inline(always)]
    fn nan(self) -> bool {
        self != self
    }
    /// `x` converted as Rust's `as` does (floats round to nearest, integers truncate toward
    /// zero and saturate, NaN gives 0).
    fn of_f64(x: f64) -> Self;
    fn as_f64(self) -> f64;
    /// A kernel's scalar parameter: the value's bits in the low bits of a `u64`.
    fn from_bits64(bits: u64) -> Self;
    fn to_bits64(self) -> u64;
}

/// An integer compute type.
pub trait Int: Num {}

macro_rules! int {
    ($t:ty, signed: $signed:expr) => {
        impl Num for $t {
            const ZERO: $t = 0;
            const ONE: $t = 1;
            const LOWEST: $t = <$t>::MIN;
            const HIGHEST: $t = <$t>::MAX;
            #[inline(always)]
            fn add(self, o: $t) -> $t {
                self.wrapping_add(o)
            }
            #[inline(always)]
            fn sub(self, o: $t) -> $t {
                self.wrapping_sub(o)
            }
            #[inline(always)]
            fn mul(self, o: $t) -> $t {
                self.wrapping_mul(o)
            }
            #[inline(always)]
            fn div(self, o: $t) -> $t {
                if o == 0 {
                    return 0;
                }
                let q = self.wrapping_div(o);
                // Floor, not truncation: one less when the signs differ and it is inexact.
                #[allow(unused_comparisons)]
                if self.wrapping_rem(o) != 0 && ((self < 0) != (o < 0)) { q.wrapping_sub(1) } else { q }
            }
            #[inline(always)]
            fn rem(self, o: $t) -> $t {
                if o == 0 {
                    return 0;
                }
                let r = self.wrapping_rem(o);
                // NumPy: the remainder takes the divisor's sign.
                #[allow(unused_comparisons)]
                if r != 0 && ((r < 0) != (o < 0)) { r.wrapping_add(o) } else { r }
            }
            #[inline(always)]
            fn neg(self) -> $t {
                self.wrapping_neg()
            }
            #[inline(always)]
            #[allow(unused_comparisons)]
            fn abs(self) -> $t {
                if self < 0 { self.wrapping_neg() } else { self }
            }
            #[inline(always)]
            #[allow(unused_comparisons)]
            fn sign(self) -> $t {
                if self > 0 {
                    1
                } else if self < 0 {
                    (0 as $t).wrapping_sub(1)
                } else {
                    0
                }
            }
            #[inline(always)]
            fn maximum(self, o: $t) -> $t {
                if o > self { o } else { self }
            }
            #[inline(always)]
            fn minimum(self, o: $t) -> $t {
                if o < self { o } else { self }
            }
            #[inline(always)]
            fn of_f64(x: f64) -> $t {
                x as $t
            }
            #[inline(always)]
            fn as_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_bits64(bits: u64) -> $t {
                bits as $t
            }
            #[inline(always)]
            fn to_bits64(self) -> u64 {
                if $signed { self as i64 as u64 } else { self as u64 }
            }
        }
        impl Int for $t {}
    };
}
int!(i32, signed: true);
int!(i64, signed: true);
int!(u8, signed: false);
int!(u32, signed: false);

macro_rules! float_num {
    ($t:ty, $bits:ty, $fmod:ident) => {
        impl Num for $t {
            const ZERO: $t = 0.0;
            const ONE: $t = 1.0;
            const LOWEST: $t = <$t>::NEG_INFINITY;
            const HIGHEST: $t = <$t>::INFINITY;
            #[inline(always)]
            fn add(self, o: $t) -> $t {
                self + o
            }
            #[inline(always)]
            fn sub(self, o: $t) -> $t {
                self - o
            }
            #[inline(always)]
            fn mul(self, o: $t) -> $t {
                self * o
            }
            #[inline(always)]
            fn div(self, o: $t) -> $t {
                self / o
            }
            /// `fmod` (exact), then moved into the divisor's sign as NumPy does; `x % ±inf`
            /// is `x` when the signs agree and `±inf` when they do not (NumPy's result).
            ///
            /// `fmod` is libm's, not Rust's `%`: LLVM's NVPTX backend lowers `%` on floats to
            /// `x - trunc(x / y) · y`, which is not exact once `x / y` needs more than the
            /// mantissa's bits, and overflows when `x / y` does (`-1 % 1e-40` gave `+inf` on the
            /// GPU, a tiny remainder on the host). Outlined like the other `libm` calls
            /// (`float.rs`): inlined, its 128-bit arithmetic was copied into every lane.
            #[inline(always)]
            fn rem(self, o: $t) -> $t {
                let r = super::float::outlined::$fmod(self, o);
                if r != 0.0 && ((r < 0.0) != (o < 0.0)) {
                    r + o
                } else if r == 0.0 {
                    // A zero remainder takes the divisor's sign, as NumPy's does.
                    (0.0 as $t).copysign(o)
                } else {
                    r
                }
            }
            #[inline(always)]
            fn neg(self) -> $t {
                -self
            }
            #[inline(always)]
            fn abs(self) -> $t {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn sign(self) -> $t {
                if self > 0.0 {
                    1.0
                } else if self < 0.0 {
                    -1.0
                } else if self.nan() {
                    self
                } else {
                    0.0 // for ±0, as NumPy gives (`self * 0.0` would keep -0's sign)
                }
            }
            #[inline(always)]
            fn maximum(self, o: $t) -> $t {
                if self.nan() || o.nan() {
                    self + o
                } else if o > self || (o == self && self.to_bits() >> (<$bits>::BITS - 1) == 1) {
                    o // the larger, and +0 over -0
                } else {
                    self
                }
            }
            #[inline(always)]
            fn minimum(self, o: $t) -> $t {
                if self.nan() || o.nan() {
                    self + o
                } else if o < self || (o == self && o.to_bits() >> (<$bits>::BITS - 1) == 1) {
                    o // the smaller, and -0 over +0
                } else {
                    self
                }
            }
            #[inline(always)]
            fn of_f64(x: f64) -> $t {
                x as $t
            }
            #[inline(always)]
            fn as_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_bits64(bits: u64) -> $t {
                <$t>::from_bits(bits as $bits)
            }
            #[inline(always)]
            fn to_bits64(self) -> u64 {
                self.to_bits() as u64
            }
        }
    };
}
float_num!(f32, u32, fmodf);
float_num!(f64, u64, fmod);

/// A boolean, in registers.
impl Num for bool {
    const ZERO: bool = false;
    const ONE: bool = true;
    const LOWEST: bool = false;
    const HIGHEST: bool = true;
    #[inline(always)]
    fn add(self, o: bool) -> bool {
        self | o
    }
    #[inline(always)]
    fn sub(self, o: bool) -> bool {
        self ^ o
    }
    #[inline(always)]
    fn mul(self, o: bool) -> bool {
        self & o
    }
    #[inline(always)]
    fn div(self, o: bool) -> bool {
        self & o
    }
    #[inline(always)]
    fn rem(self, _: bool) -> bool {
        false
    }
    #[inline(always)]
    fn neg(self) -> bool {
        self
    }
    #[inline(always)]
    fn abs(self) -> bool {
        self
    }
    #[inline(always)]
    fn sign(self) -> bool {
        self
    }
    #[inline(always)]
    fn maximum(self, o: bool) -> bool {
        self | o
    }
    #[inline(always)]
    fn minimum(self, o: bool) -> bool {
        self & o
    }
    #[inline(always)]
    fn of_f64(x: f64) -> bool {
        x != 0.0
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self as u8 as f64
    }
    #[inline(always)]
    fn from_bits64(bits: u64) -> bool {
        bits != 0
    }
    #[inline(always)]
    fn to_bits64(self) -> u64 {
        self as u64
    }
}

/// A bool as arrays hold it: one byte, 0 or 1 (the same layout as Rust's `bool`).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Bool(pub u8);

/// A type an array holds on the device, computed as [`Elem::Compute`].
pub trait Elem: Copy + Send + Sync + 'static {
    type Compute: Num;
    /// Elements in 16 bytes: one vector load or store (`ld.global.v4.u32`).
    const LANES: usize;
    /// Those 16 bytes as an array of `Self`.
    type Lanes: Copy + Default + AsRef<[Self]> + AsMut<[Self]>;
    /// Widening to the compute type (exact).
    fn load(self) -> Self::Compute;
    /// Narrowing from the compute type (16-bit floats round to nearest even, once).
    fn store(c: Self::Compute) -> Self;
    /// The value as f64: exact for every type but i64 beyond 2^53 (rounded to nearest).
    fn to_double(self) -> f64;
    /// `x` rounded once to nearest even (floats), truncated toward zero and saturated
    /// (integers; NaN gives 0, as Rust's `as`), or tested for nonzero (bool).
    fn from_double(x: f64) -> Self;
    /// Whether the value is exactly an f32 (f32 and the 16-bit floats): a cast between two
    /// such types goes through f32, which rounds once as through f64.
    const F32_EXACT: bool = false;
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self.to_double() as f32
    }
    #[inline(always)]
    fn from_f32(x: f32) -> Self {
        Self::from_double(x as f64)
    }
}

/// `x` as `D`: one rounding for floats (through f32 between f32-exact types, through f64
/// otherwise), truncation toward zero with saturation for integer targets (NaN gives 0),
/// nonzero for bool. i64 beyond 2^53 is rounded to f64 first.
#[inline(always)]
pub fn cast<S: Elem, D: Elem>(x: S) -> D {
    if S::F32_EXACT && D::F32_EXACT { D::from_f32(x.to_f32()) } else { D::from_double(x.to_double()) }
}

macro_rules! same {
    ($($t:ty),*) => {$(
        impl Elem for $t {
            type Compute = $t;
            const LANES: usize = 16 / size_of::<$t>();
            type Lanes = [$t; 16 / size_of::<$t>()];
            #[inline(always)]
            fn load(self) -> $t {
                self
            }
            #[inline(always)]
            fn store(c: $t) -> $t {
                c
            }
            #[inline(always)]
            fn to_double(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_double(x: f64) -> $t {
                x as $t
            }
        }
    )*};
}
same!(f64, i32, i64, u8, u32);

impl Elem for f32 {
    type Compute = f32;
    const LANES: usize = 4;
    type Lanes = [f32; 4];
    const F32_EXACT: bool = true;
    #[inline(always)]
    fn load(self) -> f32 {
        self
    }
    #[inline(always)]
    fn store(c: f32) -> f32 {
        c
    }
    #[inline(always)]
    fn to_double(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn from_double(x: f64) -> f32 {
        x as f32
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline(always)]
    fn from_f32(x: f32) -> f32 {
        x
    }
}

impl Elem for F16 {
    type Compute = f32;
    const LANES: usize = 16 / size_of::<F16>();
    type Lanes = [F16; 16 / size_of::<F16>()];
    #[inline(always)]
    fn load(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn store(c: f32) -> F16 {
        F16::from_f32(c)
    }
    const F32_EXACT: bool = true;
    #[inline(always)]
    fn to_double(self) -> f64 {
        self.to_f32() as f64
    }
    #[inline(always)]
    fn from_double(x: f64) -> F16 {
        F16::from_f64(x)
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        F16::to_f32(self)
    }
    #[inline(always)]
    fn from_f32(x: f32) -> F16 {
        F16::from_f32(x)
    }
}

impl Elem for BF16 {
    type Compute = f32;
    const LANES: usize = 16 / size_of::<BF16>();
    type Lanes = [BF16; 16 / size_of::<BF16>()];
    #[inline(always)]
    fn load(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn store(c: f32) -> BF16 {
        BF16::from_f32(c)
    }
    const F32_EXACT: bool = true;
    #[inline(always)]
    fn to_double(self) -> f64 {
        self.to_f32() as f64
    }
    #[inline(always)]
    fn from_double(x: f64) -> BF16 {
        BF16::from_f64(x)
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        BF16::to_f32(self)
    }
    #[inline(always)]
    fn from_f32(x: f32) -> BF16 {
        BF16::from_f32(x)
    }
}

impl Elem for Bool {
    type Compute = bool;
    const LANES: usize = 16 / size_of::<Bool>();
    type Lanes = [Bool; 16 / size_of::<Bool>()];
    #[inline(always)]
    fn load(self) -> bool {
        self.0 != 0
    }
    #[inline(always)]
    fn store(c: bool) -> Bool {
        Bool(c as u8)
    }
    #[inline(always)]
    fn to_double(self) -> f64 {
        (self.0 != 0) as u8 as f64
    }
    #[inline(always)]
    fn from_double(x: f64) -> Bool {
        Bool((x != 0.0) as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_division_by_zero_and_overflow_follow_the_documented_rule() {
        assert_eq!(7i32.div(0), 0);
        assert_eq!(7i32.rem(0), 0);
        assert_eq!(i32::MIN.div(-1), i32::MIN);
        assert_eq!((-7i32).div(2), -4);
        assert_eq!(7i32.div(-2), -4);
        assert_eq!((-8i32).div(2), -4);
        assert_eq!(7u8.div(2), 3);
        assert_eq!(i32::MIN.rem(-1), 0);
        assert_eq!((-7i32).rem(3), 2);
        assert_eq!(7i32.rem(-3), -2);
        assert_eq!(200u8.add(100), 44);
        assert_eq!(Num::abs(i64::MIN), i64::MIN);
        assert_eq!(0u32.sign(), 0);
        assert_eq!(5u8.sign(), 1);
    }

    #[test]
    fn float_remainder_and_extrema_follow_numpy() {
        assert_eq!((-7.0f64).rem(3.0), 2.0);
        assert_eq!(7.0f64.rem(-3.0), -2.0);
        assert!(6.0f64.rem(-3.0).is_sign_negative() && 6.0f64.rem(-3.0) == 0.0);
        assert!(1.0f32.rem(0.0).is_nan());
        assert!(Num::maximum(f32::NAN, 1.0).is_nan() && Num::minimum(1.0f32, f32::NAN).is_nan());
        assert!(Num::maximum(0.0f64, -0.0).is_sign_positive() && Num::maximum(-0.0f64, 0.0).is_sign_positive());
        assert!(Num::minimum(0.0f64, -0.0).is_sign_negative() && Num::minimum(-0.0f64, 0.0).is_sign_negative());
        assert!(f64::NAN.sign().is_nan() && (-0.0f64).sign() == 0.0);
    }
}
