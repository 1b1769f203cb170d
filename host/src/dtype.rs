//! Element types of arrays, as NumPy names them: `float32`, `float64`, `float16`, `bfloat16`,
//! `int32`, `int64`, `uint8`, `uint32` and `bool`.
//!
//! [`Element`] is the type an [`Array`](crate::Array) holds; [`Num`] the numeric ones (every
//! element type but `bool`), [`Int`] the integers and [`Float`] the floats. Each element type
//! has a kernel twin with the same bits (`Element::Kernel`: `half::f16` is the kernels' `F16`,
//! `bool` their `Bool`), which is all the kernels and the CPU backend need to know of it; this
//! layer knows nothing of the backends.

use half::{bf16, f16};
use std::fmt;

/// The element type of an array, named as NumPy names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F64,
    F16,
    BF16,
    I32,
    I64,
    U8,
    U32,
    Bool,
}

impl DType {
    /// Every dtype.
    pub const ALL: [DType; 9] =
        [DType::F32, DType::F64, DType::F16, DType::BF16, DType::I32, DType::I64, DType::U8, DType::U32, DType::Bool];

    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::U32 => "uint32",
            DType::Bool => "bool",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::F64 | DType::I64 => 8,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F16 | DType::BF16 => 2,
            DType::U8 | DType::Bool => 1,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64 | DType::F16 | DType::BF16)
    }

    pub fn is_int(self) -> bool {
        matches!(self, DType::I32 | DType::I64 | DType::U8 | DType::U32)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A type an [`Array`](crate::Array) can hold. Its bytes are copied to and from devices as is.
pub trait Element:
    sealed::Sealed + Copy + Send + Sync + fmt::Debug + fmt::Display + PartialEq + Default + 'static
{
    const DTYPE: DType;
    /// The kernels' type with the same size, alignment and bits.
    #[doc(hidden)]
    type Kernel: kernels_gpu::prelude::Elem;
    fn to_f64(self) -> f64;
    /// Rounds to nearest even (floats), truncates toward zero and saturates (integers; NaN
    /// gives 0), or tests for nonzero (bool): the same rule as [`Array::cast`](crate::Array::cast).
    fn from_f64(x: f64) -> Self;
}

/// A numeric element: every element type but `bool`.
pub trait Num: Element {}

/// An integer element: `i32`, `i64`, `u8`, `u32`.
pub trait Int: Num {}

/// A floating-point element: `f32`, `f64`, `f16` and `bf16` (the 16-bit types compute in f32,
/// inside each kernel).
pub trait Float: Num {
    /// The type arithmetic runs in (f32 for the 16-bit types).
    #[doc(hidden)]
    type Compute: Native;
}

/// f32 and f64: the types arithmetic runs in (every float's [`Float::Compute`]). The trait
/// says only what the kernel crate knows of them; what each backend offers them (its matmul,
/// softmax and training kernels) the backend or the network layer asks for itself
/// ([`NnFloat`](crate::nn::NnFloat)), so the dtype layer depends on no backend.
#[doc(hidden)]
pub trait Native: Float<Compute = Self> + kernels_gpu::prelude::Float + kernels_gpu::prelude::Elem {}
impl Native for f32 {}
impl Native for f64 {}

macro_rules! element {
    ($t:ty, $d:ident, $k:ty, |$x:ident| $to:expr, |$y:ident| $from:expr, $($marker:ident),*) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            type Kernel = $k;
            fn to_f64(self) -> f64 {
                let $x = self;
                $to
            }
            fn from_f64($y: f64) -> Self {
                $from
            }
        }
        $( impl $marker for $t {} )*
    };
}

use kernels_gpu::prelude::{BF16 as KBF16, Bool as KBool, Elem as _, F16 as KF16};

element!(f32, F32, f32, |x| x as f64, |y| y as f32, Num);
element!(f64, F64, f64, |x| x, |y| y, Num);
// The 16-bit conversions are the kernels' own (correctly rounded, once, from f64; `half`'s
// `from_f64` rounds through f32 first), so the CPU and the GPU produce the same bits.
element!(f16, F16, KF16, |x| x.to_f64(), |y| f16::from_bits(KF16::from_double(y).0), Num);
element!(bf16, BF16, KBF16, |x| x.to_f64(), |y| bf16::from_bits(KBF16::from_double(y).0), Num);
element!(i32, I32, i32, |x| x as f64, |y| y as i32, Num, Int);
element!(i64, I64, i64, |x| x as f64, |y| y as i64, Num, Int);
element!(u8, U8, u8, |x| x as f64, |y| y as u8, Num, Int);
element!(u32, U32, u32, |x| x as f64, |y| y as u32, Num, Int);
element!(bool, Bool, KBool, |x| x as u8 as f64, |y| y != 0.0,);

impl Float for f32 {
    type Compute = f32;
}
impl Float for f64 {
    type Compute = f64;
}
impl Float for f16 {
    type Compute = f32;
}
impl Float for bf16 {
    type Compute = f32;
}

/// `const` checks that every element type and its kernel twin share size and alignment, which
/// the backends rely on when they view one as the other.
const _: () = {
    macro_rules! same_layout {
        ($($t:ty),*) => {$(
            assert!(size_of::<$t>() == size_of::<<$t as Element>::Kernel>());
            assert!(align_of::<$t>() == align_of::<<$t as Element>::Kernel>());
        )*};
    }
    same_layout!(f32, f64, f16, bf16, i32, i64, u8, u32, bool);
};

/// Runs `$body` with `$v` bound to the payload of `$value`, an enum with one variant per dtype
/// named as [`DType`]'s (`F32(..)`, ..., `Bool(..)`), and `$t` to that variant's element type:
/// the one dtype dispatch that `CpuData` (`with_cpu!`) and `io::AnyArray` (`with_any!`) share.
macro_rules! with_dtype_variant {
    ($($enum:ident)::+, $value:expr, |$v:ident: $t:ident| $body:expr) => {{
        #[allow(unused)]
        match $value {
            $($enum)::+::F32($v) => { type $t = f32; $body }
            $($enum)::+::F64($v) => { type $t = f64; $body }
            $($enum)::+::F16($v) => { type $t = half::f16; $body }
            $($enum)::+::BF16($v) => { type $t = half::bf16; $body }
            $($enum)::+::I32($v) => { type $t = i32; $body }
            $($enum)::+::I64($v) => { type $t = i64; $body }
            $($enum)::+::U8($v) => { type $t = u8; $body }
            $($enum)::+::U32($v) => { type $t = u32; $body }
            $($enum)::+::Bool($v) => { type $t = bool; $body }
        }
    }};
}
pub(crate) use with_dtype_variant;
