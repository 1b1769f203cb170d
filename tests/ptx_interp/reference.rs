//! The op families' semantics written again, independently of `kernels_gpu`: plain f64 and
//! i128 arithmetic on the host, each op from its documented definition (NumPy's, and the
//! rules in `kernels-gpu/src/prelude/scalar.rs`), values decoded from the buffers' bytes and
//! rounded to each dtype by code of its own. The interpreter's results must match the emulator
//! bit for bit; the emulator's must match these, exactly where the op is correctly rounded
//! (or exact), within a stated number of ulps where it is not. A formula changed in
//! `kernels_gpu::ops` passes the first check (both run the same Rust) and fails this one.

use kernels_gpu::ops::binary::Binary;
use kernels_gpu::ops::compare::{Compare, Test};
use kernels_gpu::ops::reduce::Reduce;
use kernels_gpu::ops::unary::Unary;
use kernels_gpu::prelude::{BF16, Bool, F16};
use std::any::TypeId;

/// A dtype, as the reference sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dt {
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

impl Dt {
    pub fn of<E: 'static>() -> Dt {
        let t = TypeId::of::<E>();
        let all = [
            (TypeId::of::<f32>(), Dt::F32),
            (TypeId::of::<f64>(), Dt::F64),
            (TypeId::of::<F16>(), Dt::F16),
            (TypeId::of::<BF16>(), Dt::BF16),
            (TypeId::of::<i32>(), Dt::I32),
            (TypeId::of::<i64>(), Dt::I64),
            (TypeId::of::<u8>(), Dt::U8),
            (TypeId::of::<u32>(), Dt::U32),
            (TypeId::of::<Bool>(), Dt::Bool),
        ];
        all.iter().find(|(id, _)| *id == t).map(|(_, d)| *d).expect("one of the nine dtypes")
    }

    pub fn size(self) -> usize {
        match self {
            Dt::F64 | Dt::I64 => 8,
            Dt::F32 | Dt::I32 | Dt::U32 => 4,
            Dt::F16 | Dt::BF16 => 2,
            Dt::U8 | Dt::Bool => 1,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, Dt::F32 | Dt::F64 | Dt::F16 | Dt::BF16)
    }

    /// `(mantissa bits, smallest normal exponent, largest exponent)` of a float dtype.
    fn format(self) -> (i32, i32, i32) {
        match self {
            Dt::F64 => (52, -1022, 1023),
            Dt::F32 => (23, -126, 127),
            Dt::F16 => (10, -14, 15),
            Dt::BF16 => (7, -126, 127),
            _ => unreachable!("{self:?} is not a float"),
        }
    }

    /// The unit roundoff of the type a float dtype computes in (f32 for the 16-bit floats).
    fn compute_eps(self) -> f64 {
        if self == Dt::F64 { 2f64.powi(-53) } else { 2f64.powi(-24) }
    }

    fn int_range(self) -> (i128, i128) {
        match self {
            Dt::I32 => (i32::MIN as i128, i32::MAX as i128),
            Dt::I64 => (i64::MIN as i128, i64::MAX as i128),
            Dt::U8 => (0, u8::MAX as i128),
            Dt::U32 => (0, u32::MAX as i128),
            Dt::Bool => (0, 1),
            _ => unreachable!("{self:?} is not an integer"),
        }
    }
}

/// A value: a float's exact value, or an integer's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum V {
    F(f64),
    I(i128),
}

impl V {
    pub fn f(self) -> f64 {
        match self {
            V::F(x) => x,
            V::I(i) => i as f64,
        }
    }

    /// Nonzero (NaN is true).
    pub fn truth(self) -> bool {
        match self {
            V::F(x) => x != 0.0,
            V::I(i) => i != 0,
        }
    }
}

impl std::fmt::Display for V {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            V::F(x) => write!(f, "{x:e}"),
            V::I(i) => write!(f, "{i}"),
        }
    }
}

/// A 16-bit float's value: `exp_bits` exponent bits, the rest mantissa.
fn decode16(b: u16, exp_bits: u32) -> f64 {
    let man_bits = 15 - exp_bits;
    let (sign, e, m) = (b >> 15, ((b >> man_bits) & ((1 << exp_bits) - 1)) as i32, (b & ((1 << man_bits) - 1)) as f64);
    let bias = (1 << (exp_bits - 1)) - 1;
    let mag = if e == (1 << exp_bits) - 1 {
        if m == 0.0 { f64::INFINITY } else { f64::NAN }
    } else if e == 0 {
        m * 2f64.powi(1 - bias - man_bits as i32)
    } else {
        (1.0 + m / 2f64.powi(man_bits as i32)) * 2f64.powi(e - bias)
    };
    if sign == 1 { -mag } else { mag }
}

/// Element `i` of a buffer of `dt`.
pub fn get(dt: Dt, b: &[u8], i: usize) -> V {
    let s = &b[i * dt.size()..(i + 1) * dt.size()];
    match dt {
        Dt::F64 => V::F(f64::from_le_bytes(s.try_into().unwrap())),
        Dt::F32 => V::F(f32::from_le_bytes(s.try_into().unwrap()) as f64),
        Dt::F16 => V::F(decode16(u16::from_le_bytes([s[0], s[1]]), 5)),
        Dt::BF16 => V::F(decode16(u16::from_le_bytes([s[0], s[1]]), 8)),
        Dt::I32 => V::I(i32::from_le_bytes(s.try_into().unwrap()) as i128),
        Dt::I64 => V::I(i64::from_le_bytes(s.try_into().unwrap()) as i128),
        Dt::U32 => V::I(u32::from_le_bytes(s.try_into().unwrap()) as i128),
        Dt::U8 | Dt::Bool => V::I(s[0] as i128),
    }
}

/// `x` rounded to the nearest value of float dtype `dt`, ties to even (overflow to ±inf).
pub fn round(dt: Dt, x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 || dt == Dt::F64 {
        return x;
    }
    let (man, emin, emax) = dt.format();
    let e = (x.abs().log2().floor() as i32).max(emin);
    // The exponent by log2 can be one off near powers of two: the quantum of the binade.
    let e = if x.abs() >= 2f64.powi(e + 1) {
        e + 1
    } else if e > emin && x.abs() < 2f64.powi(e) {
        e - 1
    } else {
        e
    };
    let q = 2f64.powi(e - man);
    let r = (x / q).round_ties_even() * q;
    if r.abs() >= 2f64.powi(emax + 1) { f64::INFINITY.copysign(x) } else { r.copysign(x) }
}

/// The spacing of float dtype `dt` at `x`'s magnitude.
fn ulp(dt: Dt, x: f64) -> f64 {
    let (man, emin, _) = dt.format();
    let e = if x == 0.0 || !x.is_finite() { emin } else { (x.abs().log2().floor() as i32).max(emin) };
    2f64.powi(e - man)
}

/// `x` wrapped into integer dtype `dt` (two's complement).
pub fn wrap(dt: Dt, x: i128) -> i128 {
    let (lo, hi) = dt.int_range();
    let m = hi - lo + 1;
    (x - lo).rem_euclid(m) + lo
}

/// `x` truncated toward zero and saturated into integer dtype `dt`, NaN to 0.
pub fn saturate(dt: Dt, x: f64) -> i128 {
    let (lo, hi) = dt.int_range();
    if x.is_nan() {
        0
    } else if x <= lo as f64 {
        lo
    } else if x >= hi as f64 {
        hi
    } else {
        x.trunc() as i128
    }
}

/// What an output must be: `v` rounded to the output dtype, or within `ulps` of the output
/// dtype plus `abs` of the exact `v` (a float op that is not correctly rounded).
#[derive(Clone, Copy, Debug)]
pub struct Want {
    pub v: V,
    pub ulps: f64,
    pub abs: f64,
}

pub fn exact(v: V) -> Want {
    Want { v, ulps: 0.0, abs: 0.0 }
}

fn near(x: f64, ulps: f64) -> Want {
    Want { v: V::F(x), ulps, abs: 0.0 }
}

fn bool_v(b: bool) -> Want {
    exact(V::I(b as i128))
}

/// Whether `got` (of dtype `dt`) is what `want` allows; the 16-bit floats compute in f32 and
/// round once more, so any inexact op is allowed one ulp of theirs.
fn allowed(dt: Dt, got: V, want: &Want) -> bool {
    match (got, want.v) {
        (V::I(g), V::I(w)) => g == w,
        (V::F(g), V::F(w)) => {
            if w.is_nan() || g.is_nan() {
                return w.is_nan() && g.is_nan();
            }
            let r = round(dt, w);
            if g.to_bits() == r.to_bits() {
                return true;
            }
            if want.ulps == 0.0 && want.abs == 0.0 {
                return false;
            }
            if g == w {
                return true;
            }
            let ulps = if matches!(dt, Dt::F16 | Dt::BF16) { want.ulps.max(1.0) } else { want.ulps };
            (g - w).abs() <= ulps * ulp(dt, w) + want.abs
        }
        _ => false,
    }
}

/// Checks outputs `0..n`: `got(k)` against `want(k)` (with a description of its inputs).
pub fn check_all(
    dt: Dt,
    n: usize,
    got: impl Fn(usize) -> V,
    want: impl Fn(usize) -> (Want, String),
) -> Result<(), String> {
    let mut bad = Vec::new();
    let mut count = 0;
    for k in 0..n {
        let g = got(k);
        let (w, inputs) = want(k);
        if !allowed(dt, g, &w) {
            count += 1;
            if bad.len() < 4 {
                let tol = if w.ulps > 0.0 || w.abs > 0.0 {
                    format!(" (± {} ulp + {:e})", w.ulps, w.abs)
                } else {
                    String::new()
                };
                bad.push(format!("output {k} of {inputs}: {g}, the reference {}{tol}", w.v));
            }
        }
    }
    if count == 0 {
        Ok(())
    } else {
        Err(format!("{count} of {n} outputs differ from the host reference; {}", bad.join("; ")))
    }
}

/// NumPy's `maximum` (`max`: true) or `minimum`: NaN if either is; `+0` over `-0` for the
/// maximum, `-0` for the minimum.
fn extreme(max: bool, a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == b {
        if a.is_sign_negative() == max { b } else { a }
    } else if (a > b) == max {
        a
    } else {
        b
    }
}

/// `y = op(x)` with parameters `p`, on dtype `dt`.
pub fn unary(op: Unary, dt: Dt, x: V, p: [V; 3]) -> Want {
    if let V::I(i) = x {
        let (lo, hi) = (p[0], p[1]);
        let v = match op {
            Unary::Neg => -i,
            Unary::Abs => i.abs(),
            Unary::Sign => i.signum(),
            Unary::Square => i * i,
            Unary::Clip => i.max(lo_i(lo)).min(lo_i(hi)),
            _ => panic!("{} takes no integers", op.name()),
        };
        return exact(V::I(wrap(dt, v)));
    }
    let x = x.f();
    let (p0, p1, p2) = (p[0].f(), p[1].f(), p[2].f());
    let eps = dt.compute_eps();
    match op {
        Unary::Neg => exact(V::F(-x)),
        Unary::Abs => exact(V::F(x.abs())),
        Unary::Sign => exact(V::F(if x.is_nan() {
            x
        } else if x > 0.0 {
            1.0
        } else if x < 0.0 {
            -1.0
        } else {
            0.0
        })),
        Unary::Square => exact(V::F(x * x)),
        Unary::Clip => exact(V::F(extreme(false, extreme(true, x, p0), p1))),
        Unary::Sqrt => exact(V::F(x.sqrt())),
        // Two roundings (the root, the quotient).
        Unary::Rsqrt => near(1.0 / x.sqrt(), 2.0),
        Unary::Recip => exact(V::F(1.0 / x)),
        Unary::Exp => near(x.exp(), 2.0),
        Unary::Exp2 => near(x.exp2(), 2.0),
        Unary::Expm1 => near(x.exp_m1(), 3.0),
        Unary::Log => near(x.ln(), 2.0),
        Unary::Log2 => near(x.log2(), 2.0),
        Unary::Log1p => near(x.ln_1p(), 2.0),
        Unary::Sin => near(x.sin(), 2.0),
        Unary::Cos => near(x.cos(), 2.0),
        Unary::Tan => near(x.tan(), 2.0),
        Unary::Tanh => near(x.tanh(), 2.0),
        Unary::Sigmoid => near(sigmoid(x), 4.0),
        Unary::Relu => exact(V::F(extreme(true, x, 0.0))),
        // x · Φ(x), Φ through erfc so that the reference does not cancel for negative x; the
        // kernel's `1 + erf` does, by up to an ulp of 1 times |x|.
        Unary::Gelu => {
            Want { v: V::F(0.5 * x * (-x / std::f64::consts::SQRT_2).erfc()), ulps: 4.0, abs: 4.0 * eps * x.abs() }
        }
        Unary::GeluTanh => {
            let k = (2.0 / std::f64::consts::PI).sqrt();
            let v = 0.5 * x * (1.0 + (k * (x + 0.044715 * x * x * x)).tanh());
            Want { v: V::F(v), ulps: 4.0, abs: 4.0 * eps * x.abs() }
        }
        Unary::Silu => near(x * sigmoid(x), 4.0),
        Unary::Softplus => near(if x > 0.0 { x + (-x).exp().ln_1p() } else { x.exp().ln_1p() }, 4.0),
        Unary::Floor => exact(V::F(x.floor())),
        Unary::Ceil => exact(V::F(x.ceil())),
        Unary::Round => exact(V::F(x.round_ties_even())),
        Unary::Trunc => exact(V::F(x.trunc())),
        Unary::NanToNum => exact(V::F(if x.is_nan() {
            p0
        } else if x == f64::INFINITY {
            p1
        } else if x == f64::NEG_INFINITY {
            p2
        } else {
            x
        })),
    }
}

fn lo_i(v: V) -> i128 {
    match v {
        V::I(i) => i,
        V::F(_) => unreachable!("an integer parameter"),
    }
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 { 1.0 / (1.0 + (-x).exp()) } else { x.exp() / (1.0 + x.exp()) }
}

/// `y = op(a, b)` on dtype `dt`.
pub fn binary(op: Binary, dt: Dt, a: V, b: V) -> Want {
    if let (V::I(a), V::I(b)) = (a, b) {
        let v = match op {
            Binary::Add => a + b,
            Binary::Sub => a - b,
            Binary::Mul => a * b,
            // Floor division and the divisor-signed remainder; 0 for a zero divisor.
            Binary::Div if b == 0 => 0,
            Binary::Div => a.div_euclid(b) - if b < 0 && a.rem_euclid(b) != 0 { 1 } else { 0 },
            Binary::Rem if b == 0 => 0,
            Binary::Rem => {
                let r = a % b;
                if r != 0 && ((r < 0) != (b < 0)) { r + b } else { r }
            }
            Binary::Maximum => a.max(b),
            Binary::Minimum => a.min(b),
            Binary::Pow | Binary::Atan2 => panic!("{} takes no integers", op.name()),
        };
        return exact(V::I(wrap(dt, v)));
    }
    let (a, b) = (a.f(), b.f());
    match op {
        Binary::Add => exact(V::F(a + b)),
        Binary::Sub => exact(V::F(a - b)),
        Binary::Mul => exact(V::F(a * b)),
        Binary::Div => exact(V::F(a / b)),
        Binary::Rem => {
            // `%` on f64 is the exact fmod; the correction is one rounded addition, exact in
            // f64 for values of the narrower dtypes and rounded once more by the check.
            let r = a % b;
            exact(V::F(if r != 0.0 && ((r < 0.0) != (b < 0.0)) {
                r + b
            } else if r == 0.0 {
                0f64.copysign(b)
            } else {
                r
            }))
        }
        Binary::Maximum => exact(V::F(extreme(true, a, b))),
        Binary::Minimum => exact(V::F(extreme(false, a, b))),
        Binary::Pow => near(a.powf(b), 2.0),
        Binary::Atan2 => near(a.atan2(b), 2.0),
    }
}

pub fn compare(op: Compare, a: V, b: V) -> Want {
    let ord = match (a, b) {
        (V::I(x), V::I(y)) => Some(x.cmp(&y)),
        _ => a.f().partial_cmp(&b.f()),
    };
    use std::cmp::Ordering::*;
    bool_v(match op {
        Compare::Eq => ord == Some(Equal),
        Compare::Ne => ord != Some(Equal),
        Compare::Lt => ord == Some(Less),
        Compare::Le => matches!(ord, Some(Less | Equal)),
        Compare::Gt => ord == Some(Greater),
        Compare::Ge => matches!(ord, Some(Greater | Equal)),
        Compare::And => a.truth() && b.truth(),
        Compare::Or => a.truth() || b.truth(),
        Compare::Xor => a.truth() != b.truth(),
    })
}

pub fn test(op: Test, x: V) -> Want {
    let f = match x {
        V::F(f) => f,
        V::I(_) => 0.0,
    };
    bool_v(match op {
        Test::IsNan => f.is_nan(),
        Test::IsInf => f.is_infinite(),
        Test::IsFinite => f.is_finite(),
        Test::Not => !x.truth(),
    })
}

/// `x` (of dtype `from`) converted to `to`: floats rounded once to nearest even (an i64
/// beyond 2^53 is rounded to f64 first, as documented), integers from floats truncated and
/// saturated (NaN to 0), from integers saturated, bool as nonzero.
pub fn cast(to: Dt, x: V) -> Want {
    if to == Dt::Bool {
        return bool_v(x.truth());
    }
    match (x, to.is_float()) {
        (V::F(f), true) => exact(V::F(f)),
        (V::I(i), true) => exact(V::F(i as f64)),
        (V::F(f), false) => exact(V::I(saturate(to, f))),
        (V::I(i), false) => {
            let (lo, hi) = to.int_range();
            exact(V::I(i.clamp(lo, hi)))
        }
    }
}

/// A reduction's result: `None` where it depends on the accumulation order (the accumulator
/// overflows or underflows on the way for some order), else the value wanted; for arg ops,
/// the index.
pub struct Reduced {
    pub v: Option<Want>,
    pub i: Option<i64>,
}

/// The inputs of one output of a reduction, per `kernels_gpu::ops::reduce`'s documentation.
pub struct ReduceIn<'a> {
    pub op: Reduce,
    /// The accumulator dtype: F32, F64 or I64.
    pub acc: Dt,
    /// `(value, index)` in order: elements (`elements`), to which the op's per-element
    /// function applies (`x²`, `(x - c)²`, `e^(x - c)`), or partial results, combined as they
    /// are.
    pub xs: &'a [(V, i64)],
    pub elements: bool,
    pub center: V,
    pub scale: V,
    pub post: u32,
    /// Whether the result is final: a chunk's partial result is neither scaled nor finished.
    pub finish: bool,
}

pub fn reduce(r: &ReduceIn) -> Reduced {
    use kernels_gpu::ops::reduce::{POST_LOG_CENTER, POST_SQRT};
    let (op, n) = (r.op, r.xs.len() as f64);
    let arg = matches!(op, Reduce::ArgMax | Reduce::ArgMin);
    if r.acc == Dt::I64 {
        let ints: Vec<(i128, i64)> = r.xs.iter().map(|(v, i)| (lo_i(*v), *i)).collect();
        let term = |v: i128| match op {
            Reduce::SumSq if r.elements => wrap(Dt::I64, v * v),
            // Integers never take the centered ops: their elements count 0.
            Reduce::SumSqDev | Reduce::SumExpShift if r.elements => 0,
            _ => v,
        };
        let (v, i) = match op {
            Reduce::Prod => (ints.iter().fold(1i128, |p, (v, _)| wrap(Dt::I64, p * v)), None),
            Reduce::Max => (ints.iter().map(|(v, _)| *v).max().unwrap_or(i64::MIN as i128), None),
            Reduce::Min => (ints.iter().map(|(v, _)| *v).min().unwrap_or(i64::MAX as i128), None),
            Reduce::ArgMax | Reduce::ArgMin => {
                let max = op == Reduce::ArgMax;
                // The most extreme value; on a tie the smaller index.
                let best = ints.iter().fold(None, |b: Option<(i128, i64)>, &(v, i)| match b {
                    Some((w, j)) if (w != v && (w > v) == max) || (w == v && j < i) => Some((w, j)),
                    _ => Some((v, i)),
                });
                let (v, i) = best.unwrap_or((if max { i64::MIN as i128 } else { i64::MAX as i128 }, i64::MAX));
                (v, Some(i))
            }
            _ => (ints.iter().map(|(v, _)| term(*v)).sum::<i128>(), None),
        };
        let v = if r.finish { wrap(Dt::I64, wrap(Dt::I64, v) * lo_i(r.scale)) } else { wrap(Dt::I64, v) };
        return Reduced { v: Some(exact(V::I(v))), i };
    }
    let (max_f, min_f, eps) = if r.acc == Dt::F32 {
        (f32::MAX as f64, f32::MIN_POSITIVE as f64, 2f64.powi(-24))
    } else {
        (f64::MAX, f64::MIN_POSITIVE, 2f64.powi(-53))
    };
    let c = r.center.f();
    let c0 = if c.is_infinite() { 0.0 } else { c };
    let unknown = Reduced { v: None, i: None };
    let xs: Vec<(f64, i64)> = r.xs.iter().map(|(v, i)| (v.f(), *i)).collect();
    let (value, index, tol) = match op {
        Reduce::Max | Reduce::Min => {
            let start = if op == Reduce::Max { f64::NEG_INFINITY } else { f64::INFINITY };
            (xs.iter().fold(start, |m, (x, _)| extreme(op == Reduce::Max, m, *x)), None, 0.0)
        }
        Reduce::ArgMax | Reduce::ArgMin => {
            // The first NaN; else the first of the most extreme values.
            let max = op == Reduce::ArgMax;
            let best = xs.iter().fold(None, |b: Option<(f64, i64)>, &(v, i)| match b {
                None => Some((v, i)),
                Some((w, j)) => {
                    let keep = if w.is_nan() || v.is_nan() {
                        if w.is_nan() && v.is_nan() { j < i } else { w.is_nan() }
                    } else if w == v {
                        j < i
                    } else {
                        (w > v) == max
                    };
                    Some(if keep { (w, j) } else { (v, i) })
                }
            });
            let (v, i) = best.unwrap_or((if max { f64::NEG_INFINITY } else { f64::INFINITY }, i64::MAX));
            (v, Some(i), 0.0)
        }
        Reduce::Prod => {
            let has = |f: fn(f64) -> bool| xs.iter().any(|(x, _)| f(*x));
            let (nan, inf, zero) = (has(f64::is_nan), has(f64::is_infinite), has(|x| x == 0.0));
            // Logarithms of the largest and smallest magnitudes a partial product can reach.
            let (big, small) =
                xs.iter().filter(|(x, _)| x.is_finite() && *x != 0.0).fold((0.0, 0.0), |(b, s), (x, _)| {
                    let l = x.abs().ln();
                    (b + l.max(0.0), s + l.min(0.0))
                });
            let sign = if xs.iter().filter(|(x, _)| x.is_sign_negative()).count() % 2 == 1 { -1.0 } else { 1.0 };
            if nan || (inf && zero) {
                (f64::NAN, None, 0.0)
            } else if (big > max_f.ln() && !inf) || (small < min_f.ln() && !zero) {
                return unknown;
            } else if zero {
                (0.0 * sign, None, 0.0)
            } else if inf {
                (f64::INFINITY * sign, None, 0.0)
            } else {
                let p: f64 = xs.iter().map(|(x, _)| x).product();
                (p, None, 2.0 * (n + 1.0) * eps * p.abs())
            }
        }
        Reduce::Sum | Reduce::SumSq | Reduce::SumSqDev | Reduce::SumExpShift => {
            // Each term with its relative error in units of `eps`: the rounded square, the
            // rounded difference squared, an exp within 2 ulp of a rounded argument.
            let terms: Vec<(f64, f64)> = xs
                .iter()
                .map(|&(x, _)| match op {
                    Reduce::SumSq if r.elements => (x * x, 1.0),
                    Reduce::SumSqDev if r.elements => ((x - c) * (x - c), 3.0),
                    Reduce::SumExpShift if r.elements => ((x - c0).exp(), 3.0 + (x - c0).abs()),
                    _ => (x, 0.0),
                })
                // A term beyond the accumulator's range is infinite in it.
                .map(|(t, k)| if t.is_finite() && t.abs() > max_f { (f64::INFINITY.copysign(t), k) } else { (t, k) })
                .collect();
            let finite: Vec<&(f64, f64)> = terms.iter().filter(|(t, _)| t.is_finite()).collect();
            let mag: f64 = finite.iter().map(|(t, _)| t.abs()).sum();
            if mag > max_f {
                return unknown;
            }
            // From the identity +0, as the kernels start (a sum of -0 alone is +0).
            let s: f64 = terms.iter().fold(0.0, |s, (t, _)| s + t);
            // Any order of the sum (and the f64 reference's own) within about n·eps of the
            // magnitudes, plus each term's error.
            let tol = finite.iter().map(|(t, k)| t.abs() * (2.0 * n + k)).sum::<f64>() * eps;
            (s, None, tol)
        }
    };
    let index = if arg { index } else { None };
    if !r.finish {
        return Reduced { v: Some(Want { v: V::F(value), ulps: 0.0, abs: tol }), i: index };
    }
    let scale = r.scale.f();
    let s = value * scale;
    let (tol, ulps) = (tol * scale.abs(), if tol > 0.0 { 1.0 } else { 0.0 });
    let (v, ulps, abs) = match r.post {
        POST_SQRT => (s.sqrt(), 2.0, if s > 0.0 { tol / (2.0 * s.sqrt()) } else { tol.sqrt() }),
        POST_LOG_CENTER => {
            let l = s.ln();
            let abs = if s > 0.0 && l.is_finite() { tol / s + 4.0 * eps * (l.abs() + c0.abs()) } else { 0.0 };
            (l + c0, 4.0, abs)
        }
        _ => (s, ulps, tol),
    };
    Reduced { v: Some(Want { v: V::F(v), ulps, abs }), i: index }
}
