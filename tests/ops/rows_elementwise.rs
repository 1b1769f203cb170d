//! Registry rows of the elementwise ops: unary, binary (with scalar and in-place forms),
//! comparisons and logic, tests. One row per op: its method, its f64 (and integer) reference,
//! its bound and why.

use super::check::Tol;
use super::dynarray::{ALL, Dyn, FLOATS, FromF64, NUMS, any_to, float, float_to, num, pair, pair_to};
use super::reference::{erf, erfc, float_rem, floor_div, floor_rem, maximum, minimum, sigmoid};
use super::registry::{Kind, Row, sixteen, ulps};
use ferrite::DType;

/// A float unary method.
macro_rules! fu {
    ($m:ident) => {
        |x: &Dyn| Ok(float!(x, a => a.$m()?))
    };
}
/// A numeric unary method.
macro_rules! nu {
    ($m:ident) => {
        |x: &Dyn| Ok(num!(x, a => a.$m()?))
    };
}

/// `Row` for a float unary op: method, reference, bound in ulps (f32 and f64).
fn float_unary(name: &'static str, call: super::registry::UnaryCall, f: fn(f64) -> f64) -> Row {
    Row::new(name, FLOATS, Kind::Unary { call, float: f, int: None })
}

fn num_unary(name: &'static str, call: super::registry::UnaryCall, f: fn(f64) -> f64, i: fn(i128) -> i128) -> Row {
    Row::new(name, NUMS, Kind::Unary { call, float: f, int: Some(i) })
}

/// Within `u` ulps in f32 and f64 (16-bit: one of their own).
macro_rules! within {
    ($u:expr) => {
        |d: DType| sixteen(d).unwrap_or(ulps($u))
    };
}

/// Binary rows: the array, scalar, reversed-scalar and in-place methods of one op.
macro_rules! binary {
    ($name:literal, $dtypes:expr, $m:ident, $s:ident, $r:ident, $assign:ident, $wrap:ident, [$($v:ident),*], $f:expr, $i:expr) => {
        Row::new(
            $name,
            $dtypes,
            Kind::Binary {
                call: |x, y| Ok(pair!(x, y, a, b => a.$m(b)?, $($v),*)),
                scalar: |x, s, rev| {
                    Ok($wrap!(x, a => if rev { a.$r(FromF64::from_f64(s))? } else { a.$s(FromF64::from_f64(s))? }))
                },
                assign: |x, y| match (x, y) {
                    $( (Dyn::$v(a), Dyn::$v(b)) => a.$assign(b), )*
                    (p, q) => panic!("operands {:?} and {:?}", p.dtype(), q.dtype()),
                },
                float: $f,
                int: $i,
            },
        )
    };
}

macro_rules! predicate2 {
    ($name:literal, $m:ident, $s:ident, $f:expr) => {
        Row::new(
            $name,
            ALL,
            Kind::Predicate2 {
                call: |x, y| Ok(pair_to!(x, y, Dyn::Bool, a, b => a.$m(b)?)),
                scalar: |x, s, rev| {
                    assert!(!rev, "comparisons have no reversed form");
                    Ok(any_to!(x, Dyn::Bool, a => a.$s(FromF64::from_f64(s))?))
                },
                reference: $f,
            },
        )
    };
}

fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        x
    }
}

fn relu(x: f64) -> f64 {
    if x.is_nan() || x > 0.0 { x } else { 0.0 }
}

/// The bound of the libm-based and composite ops: `u` ulps, plus `atol` relative to the
/// output's own scale for results that cancel.
fn tol(u: f64, atol32: f64, atol64: f64) -> impl Fn(DType) -> Tol {
    move |d| match d {
        DType::F64 => Tol { ulps: u, atol: atol64, rel_sum: 0.0 },
        DType::F32 => Tol { ulps: u, atol: atol32, rel_sum: 0.0 },
        _ => Tol { ulps: 1.0, atol: atol32, rel_sum: 0.0 },
    }
}

const GELU_WHY: &str = "x/2·(1 + erf(x/√2)) as PyTorch computes it: for x below about -3 the sum 1 + erf cancels, so the error is absolute, a few units of the working precision times |x|";

pub fn rows() -> Vec<Row> {
    const FLOAT_VARIANTS_WHY: &str =
        "f32: the kernels' own exp/log (within 2 ulp); f64: libm (within 1 ulp); both rounded once more for 16-bit";
    vec![
        num_unary("neg", nu!(neg), |x| -x, |i| -i).signed_zero(),
        num_unary("abs", nu!(abs), f64::abs, i128::abs).signed_zero(),
        num_unary("sign", nu!(sign), sign, i128::signum),
        num_unary("square", nu!(square), |x| x * x, |i| i * i),
        Row::new(
            "clip",
            NUMS,
            Kind::Unary {
                call: |x| {
                    let (lo, hi) = if x.dtype().is_float() { (-3.5, 7.0) } else { (2.0, 7.0) };
                    Ok(num!(x, a => a.clip(FromF64::from_f64(lo), FromF64::from_f64(hi))?))
                },
                float: |x| if x.is_nan() { x } else { x.clamp(-3.5, 7.0) },
                int: Some(|i| i.clamp(2, 7)),
            },
        ),
        float_unary("sqrt", fu!(sqrt), f64::sqrt).signed_zero().tol(within!(0.0), "IEEE: correctly rounded"),
        float_unary("rsqrt", fu!(rsqrt), |x| 1.0 / x.sqrt()).tol(within!(1.5), "two correctly rounded steps"),
        float_unary("recip", fu!(recip), |x| 1.0 / x).signed_zero(),
        float_unary("exp", fu!(exp), f64::exp).tol(within!(2.0), FLOAT_VARIANTS_WHY),
        float_unary("exp2", fu!(exp2), f64::exp2).tol(within!(2.0), "libm's exp2 (within 1 ulp)"),
        float_unary("expm1", fu!(expm1), f64::exp_m1).tol(within!(2.0), FLOAT_VARIANTS_WHY),
        float_unary("log", fu!(log), f64::ln).domain(0.0, 1e4).tol(within!(2.0), FLOAT_VARIANTS_WHY),
        float_unary("log2", fu!(log2), f64::log2).domain(0.0, 1e4).tol(within!(2.0), "libm's log2 (within 1 ulp)"),
        float_unary("log1p", fu!(log1p), f64::ln_1p)
            .domain(-1.0, 100.0)
            .tol(within!(2.0), "libm's log1p (within 1 ulp)"),
        float_unary("sin", fu!(sin), f64::sin).domain(-50.0, 50.0).tol(within!(2.0), "libm's sin (within 1 ulp)"),
        float_unary("cos", fu!(cos), f64::cos).domain(-50.0, 50.0).tol(within!(2.0), "libm's cos (within 1 ulp)"),
        float_unary("tan", fu!(tan), f64::tan).domain(-1.5, 1.5).tol(within!(2.0), "libm's tan (within 1 ulp)"),
        float_unary("tanh", fu!(tanh), f64::tanh).domain(-10.0, 10.0).tol(within!(2.0), "libm's tanh (within 2 ulp)"),
        float_unary("sigmoid", fu!(sigmoid), sigmoid)
            .domain(-30.0, 30.0)
            .tol(within!(4.0), "e^-|x| (2 ulp), then an add and a divide"),
        float_unary("relu", fu!(relu), relu),
        float_unary("gelu", fu!(gelu), |x| {
            // `1 + erf(x/√2)` as `erfc(-x/√2)` below 0: the reference does not cancel.
            let a = x / std::f64::consts::SQRT_2;
            0.5 * x * if x < 0.0 { erfc(-a) } else { 1.0 + erf(a) }
        })
        .domain(-8.0, 8.0)
        .tol(|d| tol(4.0, 6e-7 * 8.0, 4e-16 * 8.0)(d), GELU_WHY),
        float_unary("gelu_tanh", fu!(gelu_tanh), |x| {
            let inner = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
            0.5 * x * (1.0 + inner.tanh())
        })
        .domain(-8.0, 8.0)
        .tol(|d| tol(4.0, 6e-7 * 8.0, 4e-16 * 8.0)(d), "as gelu: 1 + tanh cancels below about -3"),
        float_unary("silu", fu!(silu), |x| x * sigmoid(x))
            .domain(-30.0, 30.0)
            .tol(within!(4.0), "sigmoid's bound and a multiply"),
        float_unary("softplus", fu!(softplus), |x| x.max(0.0) + (-x.abs()).exp().ln_1p())
            .domain(-30.0, 30.0)
            .tol(within!(4.0), "max(x, 0) + log1p(e^-|x|): e^x and log1p within 2 ulp each, one add"),
        float_unary("floor", fu!(floor), f64::floor).signed_zero(),
        float_unary("ceil", fu!(ceil), f64::ceil).signed_zero(),
        float_unary("round", fu!(round), f64::round_ties_even).signed_zero(),
        float_unary("trunc", fu!(trunc), f64::trunc).signed_zero(),
        Row::new(
            "nan_to_num",
            FLOATS,
            Kind::Unary {
                call: |x| {
                    Ok(
                        float!(x, a => a.nan_to_num(FromF64::from_f64(0.5), FromF64::from_f64(100.0), FromF64::from_f64(-100.0))?),
                    )
                },
                float: |x| {
                    if x.is_nan() {
                        0.5
                    } else if x == f64::INFINITY {
                        100.0
                    } else if x == f64::NEG_INFINITY {
                        -100.0
                    } else {
                        x
                    }
                },
                int: None,
            },
        ),
        binary!(
            "add",
            NUMS,
            add,
            add_scalar,
            radd_scalar,
            add_assign,
            num,
            [F32, F64, F16, BF16, I32, I64, U8, U32],
            |x, y| x + y,
            Some(|x, y| x + y)
        ),
        binary!(
            "sub",
            NUMS,
            sub,
            sub_scalar,
            rsub_scalar,
            sub_assign,
            num,
            [F32, F64, F16, BF16, I32, I64, U8, U32],
            |x, y| x - y,
            Some(|x, y| x - y)
        ),
        binary!(
            "mul",
            NUMS,
            mul,
            mul_scalar,
            rmul_scalar,
            mul_assign,
            num,
            [F32, F64, F16, BF16, I32, I64, U8, U32],
            |x, y| x * y,
            Some(|x, y| x * y)
        ),
        binary!(
            "div",
            NUMS,
            div,
            div_scalar,
            rdiv_scalar,
            div_assign,
            num,
            [F32, F64, F16, BF16, I32, I64, U8, U32],
            |x, y| x / y,
            Some(floor_div)
        ),
        binary!(
            "rem",
            NUMS,
            rem,
            rem_scalar,
            rrem_scalar,
            rem_assign,
            num,
            [F32, F64, F16, BF16, I32, I64, U8, U32],
            float_rem,
            Some(floor_rem)
        )
        .tol(within!(0.0), "exact: fmod is exact, and adding the divisor back rounds once")
        .signed_zero(),
        binary!(
            "maximum",
            NUMS,
            maximum,
            maximum_scalar,
            rmaximum_scalar,
            maximum_assign,
            num,
            [F32, F64, F16, BF16, I32, I64, U8, U32],
            maximum,
            Some(|x, y| x.max(y))
        ),
        binary!(
            "minimum",
            NUMS,
            minimum,
            minimum_scalar,
            rminimum_scalar,
            minimum_assign,
            num,
            [F32, F64, F16, BF16, I32, I64, U8, U32],
            minimum,
            Some(|x, y| x.min(y))
        ),
        binary!("pow", FLOATS, pow, pow_scalar, rpow_scalar, pow_assign, float, [F32, F64, F16, BF16], f64::powf, None)
            .domain(0.0, 10.0)
            .domain2(-4.0, 4.0)
            .tol(within!(2.0), "libm's pow (within 1 ulp)"),
        binary!(
            "atan2",
            FLOATS,
            atan2,
            atan2_scalar,
            ratan2_scalar,
            atan2_assign,
            float,
            [F32, F64, F16, BF16],
            f64::atan2,
            None
        )
        .tol(within!(2.0), "libm's atan2 (within 2 ulp)"),
        predicate2!("eq", eq, eq_scalar, |x, y| x == y),
        predicate2!("ne", ne, ne_scalar, |x, y| x != y),
        predicate2!("lt", lt, lt_scalar, |x, y| x < y),
        predicate2!("le", le, le_scalar, |x, y| x <= y),
        predicate2!("gt", gt, gt_scalar, |x, y| x > y),
        predicate2!("ge", ge, ge_scalar, |x, y| x >= y),
        predicate2!("logical_and", logical_and, logical_and_scalar, |x, y| x != 0.0 && y != 0.0),
        predicate2!("logical_or", logical_or, logical_or_scalar, |x, y| x != 0.0 || y != 0.0),
        predicate2!("logical_xor", logical_xor, logical_xor_scalar, |x, y| (x != 0.0) != (y != 0.0)),
        Row::new(
            "isnan",
            FLOATS,
            Kind::Predicate1 { call: |x| Ok(float_to!(x, Dyn::Bool, a => a.isnan()?)), reference: f64::is_nan },
        ),
        Row::new(
            "isinf",
            FLOATS,
            Kind::Predicate1 { call: |x| Ok(float_to!(x, Dyn::Bool, a => a.isinf()?)), reference: f64::is_infinite },
        ),
        Row::new(
            "isfinite",
            FLOATS,
            Kind::Predicate1 { call: |x| Ok(float_to!(x, Dyn::Bool, a => a.isfinite()?)), reference: f64::is_finite },
        ),
        Row::new(
            "logical_not",
            ALL,
            Kind::Predicate1 { call: |x| Ok(any_to!(x, Dyn::Bool, a => a.logical_not()?)), reference: |x| x == 0.0 },
        ),
    ]
}
