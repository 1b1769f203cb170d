//! Element types of arrays.

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
    U32,
}

impl DType {
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::I32 => "int32",
            DType::U32 => "uint32",
        }
    }

    pub fn size(self) -> usize {
        match self {
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 => 8,
            DType::F16 | DType::BF16 => 2,
        }
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
    fn to_f64(self) -> f64;
    /// Rounds to nearest (floats) or truncates and saturates (integers).
    fn from_f64(x: f64) -> Self;
}

/// A floating-point element: the types `sqrt`, `matmul` and `softmax` take.
///
/// `f32` and `f64` run natively everywhere; `f16` and `bf16` are storage types that compute
/// in f32 (converted on the device, then rounded back once).
pub trait Float: Element {
    /// The type arithmetic runs in.
    #[doc(hidden)]
    type Compute: Native;
}

/// f32 and f64: the types with kernels and CPU code of their own.
#[doc(hidden)]
pub trait Native:
    Float<Compute = Self>
    + kernels_gpu::prelude::Float
    + crate::backend::cpu::CpuMath
    + crate::backend::cuda::ops::NativeKernels
    + crate::nn::backend::cuda::NnKernels
{
}
impl Native for f32 {}
impl Native for f64 {}

macro_rules! element {
    ($t:ty, $d:ident, |$x:ident| $to:expr, |$y:ident| $from:expr, compute = $c:tt) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            fn to_f64(self) -> f64 {
                let $x = self;
                $to
            }
            fn from_f64($y: f64) -> Self {
                $from
            }
        }
        element!(@float $t, $c);
    };
    (@float $t:ty, none) => {};
    (@float $t:ty, $c:ty) => { impl Float for $t { type Compute = $c; } };
}

element!(f32, F32, |x| x as f64, |y| y as f32, compute = f32);
element!(f64, F64, |x| x, |y| y, compute = f64);
// The 16-bit conversions are the kernels' own (correctly rounded, once, from f64; `half`'s
// `from_f64` rounds through f32 first), so the CPU and the GPU produce the same bits.
element!(f16, F16, |x| x.to_f64(), |y| f16::from_bits(kernels_gpu::prelude::F16::from_f64(y).0), compute = f32);
element!(bf16, BF16, |x| x.to_f64(), |y| bf16::from_bits(kernels_gpu::prelude::BF16::from_f64(y).0), compute = f32);
element!(i32, I32, |x| x as f64, |y| y as i32, compute = none);
element!(u32, U32, |x| x as f64, |y| y as u32, compute = none);
