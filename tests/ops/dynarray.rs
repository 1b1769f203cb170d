//! An array of any dtype (`Dyn`), so that one registry row can name a typed method once and
//! the runner can take it over every dtype: values go in and come out as f64 (exact for every
//! dtype but i64/u32 beyond 2^53, which the samples never reach).

use ferrite::{Array, DType, Device, Result, bf16, f16};

#[derive(Clone, Debug)]
pub enum Dyn {
    F32(Array<f32>),
    F64(Array<f64>),
    F16(Array<f16>),
    BF16(Array<bf16>),
    I32(Array<i32>),
    I64(Array<i64>),
    U8(Array<u8>),
    U32(Array<u32>),
    Bool(Array<bool>),
}

pub const FLOATS: &[DType] = &[DType::F32, DType::F64, DType::F16, DType::BF16];
pub const NUMS: &[DType] =
    &[DType::F32, DType::F64, DType::F16, DType::BF16, DType::I32, DType::I64, DType::U8, DType::U32];
pub const ALL: &[DType] =
    &[DType::F32, DType::F64, DType::F16, DType::BF16, DType::I32, DType::I64, DType::U8, DType::U32, DType::Bool];

/// `$body` with `$a` bound to the typed array of any dtype, rewrapped in the same variant:
/// `each!(d, a => a.t())`.
macro_rules! each {
    ($d:expr, $a:ident => $body:expr) => {
        match $d {
            Dyn::F32($a) => Dyn::F32($body),
            Dyn::F64($a) => Dyn::F64($body),
            Dyn::F16($a) => Dyn::F16($body),
            Dyn::BF16($a) => Dyn::BF16($body),
            Dyn::I32($a) => Dyn::I32($body),
            Dyn::I64($a) => Dyn::I64($body),
            Dyn::U8($a) => Dyn::U8($body),
            Dyn::U32($a) => Dyn::U32($body),
            Dyn::Bool($a) => Dyn::Bool($body),
        }
    };
}
pub(crate) use each;

/// A float method: `float!(x, a => a.exp()?)` (an integer array is a runner bug: the row's
/// dtypes say which run).
macro_rules! float {
    ($d:expr, $a:ident => $body:expr) => {
        match $d {
            Dyn::F32($a) => Dyn::F32($body),
            Dyn::F64($a) => Dyn::F64($body),
            Dyn::F16($a) => Dyn::F16($body),
            Dyn::BF16($a) => Dyn::BF16($body),
            other => panic!("a float op was given {:?}", other.dtype()),
        }
    };
}
pub(crate) use float;

/// A float method whose result is wrapped by `$to` (`isnan`: to bool).
macro_rules! float_to {
    ($d:expr, $to:path, $a:ident => $body:expr) => {
        match $d {
            Dyn::F32($a) => $to($body),
            Dyn::F64($a) => $to($body),
            Dyn::F16($a) => $to($body),
            Dyn::BF16($a) => $to($body),
            other => panic!("a float op was given {:?}", other.dtype()),
        }
    };
}
pub(crate) use float_to;

/// A numeric method (every dtype but bool).
macro_rules! num {
    ($d:expr, $a:ident => $body:expr) => {
        match $d {
            Dyn::F32($a) => Dyn::F32($body),
            Dyn::F64($a) => Dyn::F64($body),
            Dyn::F16($a) => Dyn::F16($body),
            Dyn::BF16($a) => Dyn::BF16($body),
            Dyn::I32($a) => Dyn::I32($body),
            Dyn::I64($a) => Dyn::I64($body),
            Dyn::U8($a) => Dyn::U8($body),
            Dyn::U32($a) => Dyn::U32($body),
            Dyn::Bool(_) => panic!("a numeric op was given a bool array"),
        }
    };
}
pub(crate) use num;

/// A method of any dtype whose result has a fixed type (`to: Dyn::Bool`, say).
macro_rules! any_to {
    ($d:expr, $to:path, $a:ident => $body:expr) => {
        match $d {
            Dyn::F32($a) => $to($body),
            Dyn::F64($a) => $to($body),
            Dyn::F16($a) => $to($body),
            Dyn::BF16($a) => $to($body),
            Dyn::I32($a) => $to($body),
            Dyn::I64($a) => $to($body),
            Dyn::U8($a) => $to($body),
            Dyn::U32($a) => $to($body),
            Dyn::Bool($a) => $to($body),
        }
    };
}
pub(crate) use any_to;

/// Two operands of the same dtype (`pair!(x, y, a, b => a.add(b)?)`).
macro_rules! pair {
    ($x:expr, $y:expr, $a:ident, $b:ident => $body:expr, $($v:ident),*) => {
        match ($x, $y) {
            $( (Dyn::$v($a), Dyn::$v($b)) => Dyn::$v($body), )*
            (p, q) => panic!("operands {:?} and {:?}", p.dtype(), q.dtype()),
        }
    };
}
pub(crate) use pair;

/// Two operands of the same dtype, any dtype, to a fixed result type.
macro_rules! pair_to {
    ($x:expr, $y:expr, $to:path, $a:ident, $b:ident => $body:expr) => {
        match ($x, $y) {
            (Dyn::F32($a), Dyn::F32($b)) => $to($body),
            (Dyn::F64($a), Dyn::F64($b)) => $to($body),
            (Dyn::F16($a), Dyn::F16($b)) => $to($body),
            (Dyn::BF16($a), Dyn::BF16($b)) => $to($body),
            (Dyn::I32($a), Dyn::I32($b)) => $to($body),
            (Dyn::I64($a), Dyn::I64($b)) => $to($body),
            (Dyn::U8($a), Dyn::U8($b)) => $to($body),
            (Dyn::U32($a), Dyn::U32($b)) => $to($body),
            (Dyn::Bool($a), Dyn::Bool($b)) => $to($body),
            (p, q) => panic!("operands {:?} and {:?}", p.dtype(), q.dtype()),
        }
    };
}
pub(crate) use pair_to;

/// A scalar of the array's dtype from an f64 (exact for the values the samples use).
pub trait FromF64 {
    fn from_f64(v: f64) -> Self;
}
macro_rules! from_f64 {
    ($($t:ty),*) => {$( impl FromF64 for $t { fn from_f64(v: f64) -> $t { v as $t } } )*};
}
from_f64!(f32, f64, i32, i64, u8, u32);
impl FromF64 for f16 {
    fn from_f64(v: f64) -> f16 {
        f16::from_f64(v)
    }
}
impl FromF64 for bf16 {
    fn from_f64(v: f64) -> bf16 {
        bf16::from_f64(v)
    }
}
impl FromF64 for bool {
    fn from_f64(v: f64) -> bool {
        v != 0.0
    }
}

impl Dyn {
    /// `values` (already representable in `dtype`) as an array of `shape` on `device`.
    pub fn new(dtype: DType, values: &[f64], shape: &[usize], device: &Device) -> Result<Dyn> {
        fn make<T: ferrite::Element + FromF64>(v: &[f64], shape: &[usize], d: &Device) -> Result<Array<T>> {
            Array::from_vec_on(v.iter().map(|&x| <T as FromF64>::from_f64(x)).collect(), shape, d)
        }
        Ok(match dtype {
            DType::F32 => Dyn::F32(make(values, shape, device)?),
            DType::F64 => Dyn::F64(make(values, shape, device)?),
            DType::F16 => Dyn::F16(make(values, shape, device)?),
            DType::BF16 => Dyn::BF16(make(values, shape, device)?),
            DType::I32 => Dyn::I32(make(values, shape, device)?),
            DType::I64 => Dyn::I64(make(values, shape, device)?),
            DType::U8 => Dyn::U8(make(values, shape, device)?),
            DType::U32 => Dyn::U32(make(values, shape, device)?),
            DType::Bool => Dyn::Bool(make(values, shape, device)?),
        })
    }

    pub fn dtype(&self) -> DType {
        match self {
            Dyn::F32(_) => DType::F32,
            Dyn::F64(_) => DType::F64,
            Dyn::F16(_) => DType::F16,
            Dyn::BF16(_) => DType::BF16,
            Dyn::I32(_) => DType::I32,
            Dyn::I64(_) => DType::I64,
            Dyn::U8(_) => DType::U8,
            Dyn::U32(_) => DType::U32,
            Dyn::Bool(_) => DType::Bool,
        }
    }

    pub fn shape(&self) -> Vec<usize> {
        match self {
            Dyn::F32(a) => a.shape().to_vec(),
            Dyn::F64(a) => a.shape().to_vec(),
            Dyn::F16(a) => a.shape().to_vec(),
            Dyn::BF16(a) => a.shape().to_vec(),
            Dyn::I32(a) => a.shape().to_vec(),
            Dyn::I64(a) => a.shape().to_vec(),
            Dyn::U8(a) => a.shape().to_vec(),
            Dyn::U32(a) => a.shape().to_vec(),
            Dyn::Bool(a) => a.shape().to_vec(),
        }
    }

    pub fn device(&self) -> Device {
        match self {
            Dyn::F32(a) => a.device(),
            Dyn::F64(a) => a.device(),
            Dyn::F16(a) => a.device(),
            Dyn::BF16(a) => a.device(),
            Dyn::I32(a) => a.device(),
            Dyn::I64(a) => a.device(),
            Dyn::U8(a) => a.device(),
            Dyn::U32(a) => a.device(),
            Dyn::Bool(a) => a.device(),
        }
    }

    /// The elements in row-major order as f64.
    pub fn to_f64(&self) -> Result<Vec<f64>> {
        Ok(match self {
            Dyn::F32(a) => a.to_vec()?.into_iter().map(f64::from).collect(),
            Dyn::F64(a) => a.to_vec()?,
            Dyn::F16(a) => a.to_vec()?.into_iter().map(f64::from).collect(),
            Dyn::BF16(a) => a.to_vec()?.into_iter().map(f64::from).collect(),
            Dyn::I32(a) => a.to_vec()?.into_iter().map(f64::from).collect(),
            Dyn::I64(a) => a.to_vec()?.into_iter().map(|v| v as f64).collect(),
            Dyn::U8(a) => a.to_vec()?.into_iter().map(f64::from).collect(),
            Dyn::U32(a) => a.to_vec()?.into_iter().map(f64::from).collect(),
            Dyn::Bool(a) => a.to_vec()?.into_iter().map(|b| b as u8 as f64).collect(),
        })
    }
}
