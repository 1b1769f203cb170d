//! Registry rows of `where_` (three operands broadcast together, NaN and -0 passed through
//! bit for bit), `any` and `all` (NaN is nonzero, -0 is zero, an empty array is `any` false
//! and `all` true, as NumPy) and `cast` between every pair of dtypes by the rule ferrite
//! documents on `Array::cast` (NumPy's `astype` where NumPy defines it): floats round to
//! nearest even, integers take floats truncated toward zero and saturated with NaN giving 0
//! (NumPy leaves those undefined), bool takes "nonzero". References are written here.

use super::dynarray::{ALL, Dyn, any_to, pair};
use super::registry::{Kind, Row};
use ferrite::{DType, where_};

fn id<T>(x: T) -> T {
    x
}

/// `v` as `to` by the documented rule, exactly (integers as f64: i64's saturation at 2^63 − 1
/// reads back as 2^63, as the reference's bound does).
pub fn cast_reference(v: f64, to: DType) -> f64 {
    let (lo, hi) = match to {
        DType::Bool => return (v != 0.0) as u8 as f64,
        t if t.is_float() => return v,
        DType::I32 => (i32::MIN as f64, i32::MAX as f64),
        DType::I64 => (-(2f64.powi(63)), 2f64.powi(63)),
        DType::U8 => (0.0, 255.0),
        DType::U32 => (0.0, u32::MAX as f64),
        _ => unreachable!("every dtype is named"),
    };
    if v.is_nan() { 0.0 } else { v.trunc().clamp(lo, hi) + 0.0 }
}

fn cast_to(x: &Dyn, to: DType) -> ferrite::Result<Dyn> {
    Ok(match to {
        DType::F32 => Dyn::F32(any_to!(x, id, a => a.cast::<f32>()?)),
        DType::F64 => Dyn::F64(any_to!(x, id, a => a.cast::<f64>()?)),
        DType::F16 => Dyn::F16(any_to!(x, id, a => a.cast::<ferrite::f16>()?)),
        DType::BF16 => Dyn::BF16(any_to!(x, id, a => a.cast::<ferrite::bf16>()?)),
        DType::I32 => Dyn::I32(any_to!(x, id, a => a.cast::<i32>()?)),
        DType::I64 => Dyn::I64(any_to!(x, id, a => a.cast::<i64>()?)),
        DType::U8 => Dyn::U8(any_to!(x, id, a => a.cast::<u8>()?)),
        DType::U32 => Dyn::U32(any_to!(x, id, a => a.cast::<u32>()?)),
        DType::Bool => Dyn::Bool(any_to!(x, id, a => a.cast::<bool>()?)),
    })
}

pub fn rows() -> Vec<Row> {
    vec![
        Row::new(
            "where",
            ALL,
            Kind::Ternary {
                call: |c, a, b| {
                    let Dyn::Bool(c) = c else { panic!("a {:?} condition", c.dtype()) };
                    Ok(pair!(a, b, p, q => where_(c, p, q)?, F32, F64, F16, BF16, I32, I64, U8, U32, Bool))
                },
                reference: |c, a, b| if c { a } else { b },
            },
        )
        .domain(-50.0, 50.0)
        .domain2(-50.0, 50.0)
        .signed_zero()
        .tol(|_| super::check::EXACT, "a copy of the chosen element"),
        Row::new(
            "any",
            ALL,
            Kind::Truth { call: |x| Ok(any_to!(x, id, a => a.any()?)), reference: |v| v.iter().any(|&x| x != 0.0) },
        )
        .domain(-2.0, 2.0),
        Row::new(
            "all",
            ALL,
            Kind::Truth { call: |x| Ok(any_to!(x, id, a => a.all()?)), reference: |v| v.iter().all(|&x| x != 0.0) },
        )
        .domain(0.0, 100.0),
        Row::new("cast", ALL, Kind::Convert { call: cast_to, to: ALL, reference: cast_reference })
            .domain(-300.0, 300.0)
            .signed_zero(),
    ]
}
