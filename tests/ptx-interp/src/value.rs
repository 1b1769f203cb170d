//! Scalar semantics as the PTX ISA states them: integer arithmetic at each width, IEEE float
//! arithmetic with PTX's `min`/`max` rules, comparisons, and `cvt` between every type the
//! kernels use. Values travel as the bits of their type, zero-extended into a `u64`.

use crate::op::*;
use half::{bf16, f16};

/// Keeps the low `bits` bits.
#[inline(always)]
pub fn chop(v: u64, bits: u32) -> u64 {
    if bits >= 64 { v } else { v & ((1u64 << bits) - 1) }
}

/// Sign-extends the low `bits` bits to 64.
#[inline(always)]
pub fn sext(v: u64, bits: u32) -> i64 {
    if bits >= 64 { v as i64 } else { ((v << (64 - bits)) as i64) >> (64 - bits) }
}

/// A result of `bits` written to a register of `reg_bits`: sign- or zero-extended, then chopped.
#[inline(always)]
pub fn extend(v: u64, bits: u32, signed: bool, reg_bits: u32) -> u64 {
    let wide = if signed { sext(v, bits) as u64 } else { chop(v, bits) };
    chop(wide, reg_bits)
}

#[inline(always)]
fn int_val(v: u64, ty: IntTy) -> i128 {
    if ty.signed { sext(v, ty.bits as u32) as i128 } else { chop(v, ty.bits as u32) as i128 }
}

/// Two-input integer operation; `Err` for a division by zero.
pub fn int_bin(op: IntOp, ty: IntTy, a: u64, b: u64) -> Result<u64, &'static str> {
    let bits = ty.bits as u32;
    let (x, y) = (int_val(a, ty), int_val(b, ty));
    let r: u64 = match op {
        IntOp::Add => x.wrapping_add(y) as u64,
        IntOp::Sub => x.wrapping_sub(y) as u64,
        IntOp::MulLo => x.wrapping_mul(y) as u64,
        IntOp::MulHi => (x.wrapping_mul(y) >> bits) as u64,
        IntOp::Div | IntOp::Rem if y == 0 => return Err("integer division by zero"),
        IntOp::Div => {
            if ty.signed && x == -(1i128 << (bits - 1)) && y == -1 {
                x as u64
            } else {
                (x / y) as u64
            }
        }
        IntOp::Rem => {
            if ty.signed && y == -1 {
                0
            } else {
                (x % y) as u64
            }
        }
        IntOp::Min => x.min(y) as u64,
        IntOp::Max => x.max(y) as u64,
        IntOp::And => a & b,
        IntOp::Or => a | b,
        IntOp::Xor => a ^ b,
        IntOp::Shl => {
            let s = chop(b, 32);
            if s >= bits as u64 { 0 } else { chop(a, bits) << s }
        }
        IntOp::Shr => {
            // Amounts past the width clamp: zeros, or copies of the sign bit.
            let s = chop(b, 32);
            if ty.signed {
                (sext(a, bits) >> s.min(63)) as u64
            } else if s >= bits as u64 {
                0
            } else {
                chop(a, bits) >> s
            }
        }
    };
    Ok(chop(r, bits))
}

pub fn int_un(op: IntUnOp, ty: IntTy, a: u64) -> u64 {
    let bits = ty.bits as u32;
    match op {
        IntUnOp::Not => chop(!a, bits),
        IntUnOp::Neg => chop(int_val(a, ty).wrapping_neg() as u64, bits),
        IntUnOp::Abs => chop(int_val(a, ty).unsigned_abs() as u64, bits),
        IntUnOp::Clz => (chop(a, bits).leading_zeros() - (64 - bits)) as u64,
        IntUnOp::Popc => chop(a, bits).count_ones() as u64,
        IntUnOp::Brev => chop(a, bits).reverse_bits() >> (64 - bits),
    }
}

/// `mul.wide`: inputs of `ty`, a result of twice the width.
pub fn mul_wide(ty: IntTy, a: u64, b: u64) -> u64 {
    chop(int_val(a, ty).wrapping_mul(int_val(b, ty)) as u64, 2 * ty.bits as u32)
}

pub fn mad(ty: IntTy, hi: bool, a: u64, b: u64, c: u64) -> u64 {
    let bits = ty.bits as u32;
    let p = int_val(a, ty).wrapping_mul(int_val(b, ty));
    let p = if hi { p >> bits } else { p };
    chop((p as u64).wrapping_add(c), bits)
}

/// `a + b + cin` (or `a - b - cin` with `sub`) on `bits` (32 or 64): the result and the carry
/// out (for `sub`, the borrow out), as `add.cc`/`addc`/`sub.cc`/`subc` leave it in `CC.CF`.
pub fn add_carry(sub: bool, bits: u32, a: u64, b: u64, cin: bool) -> (u64, bool) {
    let (a, b) = (chop(a, bits) as u128, chop(b, bits) as u128);
    let top = 1u128 << bits;
    if sub {
        let r = a.wrapping_sub(b).wrapping_sub(cin as u128);
        (chop(r as u64, bits), b + cin as u128 > a)
    } else {
        let r = a + b + cin as u128;
        (chop(r as u64, bits), r >= top)
    }
}

/// `shf.{l,r}.{wrap,clamp}.b32 d, a, b, c`: `b:a` (64 bits) shifted by `c` (`c & 31`, or
/// `min(c, 32)` with `clamp`), its upper 32 bits to the left, lower 32 to the right.
pub fn shf(left: bool, clamp: bool, a: u64, b: u64, c: u64) -> u64 {
    let n = if clamp { (c as u32).min(32) } else { c as u32 & 31 };
    let v = (b & 0xffff_ffff) << 32 | (a & 0xffff_ffff);
    if left { (v << n) >> 32 } else { (v >> n) & 0xffff_ffff }
}

pub fn mad_wide(ty: IntTy, a: u64, b: u64, c: u64) -> u64 {
    chop(mul_wide(ty, a, b).wrapping_add(c), 2 * ty.bits as u32)
}

/// `bfe` (PTX ISA pseudo-code: field of `len` bits at `pos`, sign from its top bit if signed).
pub fn bfe(ty: IntTy, a: u64, pos: u64, len: u64) -> u64 {
    let msb = ty.bits as u64 - 1;
    let (pos, len) = (pos & 0xff, len & 0xff);
    let sbit = if !ty.signed || len == 0 { 0 } else { (a >> (pos + len - 1).min(msb)) & 1 };
    let mut d = 0u64;
    for i in 0..=msb {
        let bit = if i < len && pos + i <= msb { (a >> (pos + i)) & 1 } else { sbit };
        d |= bit << i;
    }
    d
}

#[inline(always)]
fn f32_of(v: u64) -> f32 {
    f32::from_bits(v as u32)
}

#[inline(always)]
fn f64_of(v: u64) -> f64 {
    f64::from_bits(v)
}

/// PTX `max`/`min` without `.NaN`: a NaN input loses to a number, and `+0 > -0`.
macro_rules! minmax {
    ($name:ident, $t:ty, $nan:expr) => {
        fn $name(a: $t, b: $t, max: bool) -> $t {
            match (a.is_nan(), b.is_nan()) {
                (true, true) => $nan,
                (true, false) => b,
                (false, true) => a,
                _ if a == b => <$t>::from_bits(if max { a.to_bits() & b.to_bits() } else { a.to_bits() | b.to_bits() }),
                _ => {
                    if (a > b) == max {
                        a
                    } else {
                        b
                    }
                }
            }
        }
    };
}
minmax!(minmax32, f32, f32::from_bits(0x7fff_ffff));
minmax!(minmax64, f64, f64::from_bits(0x7fff_ffff_ffff_ffff));

pub fn float_bin(op: FOp, ty: FTy, a: u64, b: u64) -> u64 {
    match ty {
        FTy::F32 => {
            let (x, y) = (f32_of(a), f32_of(b));
            (match op {
                FOp::Add => x + y,
                FOp::Sub => x - y,
                FOp::Mul => x * y,
                FOp::Div => x / y,
                FOp::Min => minmax32(x, y, false),
                FOp::Max => minmax32(x, y, true),
                FOp::MinNan | FOp::MaxNan if x.is_nan() || y.is_nan() => return 0x7fff_ffff,
                FOp::MinNan => minmax32(x, y, false),
                FOp::MaxNan => minmax32(x, y, true),
                FOp::Copysign => return ((b as u32 & 0x7fff_ffff) | (a as u32 & 0x8000_0000)) as u64,
            })
            .to_bits() as u64
        }
        FTy::F64 => {
            let (x, y) = (f64_of(a), f64_of(b));
            (match op {
                FOp::Add => x + y,
                FOp::Sub => x - y,
                FOp::Mul => x * y,
                FOp::Div => x / y,
                FOp::Min => minmax64(x, y, false),
                FOp::Max => minmax64(x, y, true),
                FOp::MinNan | FOp::MaxNan if x.is_nan() || y.is_nan() => return 0x7fff_ffff_ffff_ffff,
                FOp::MinNan => minmax64(x, y, false),
                FOp::MaxNan => minmax64(x, y, true),
                FOp::Copysign => return (b & !(1 << 63)) | (a & (1 << 63)),
            })
            .to_bits()
        }
    }
}

/// `testp`: a property of a float.
pub fn testp(op: TestpOp, ty: FTy, a: u64) -> bool {
    let x = match ty {
        FTy::F32 => f32_of(a) as f64,
        FTy::F64 => f64_of(a),
    };
    let sub = match ty {
        FTy::F32 => f32_of(a).is_subnormal(),
        FTy::F64 => x.is_subnormal(),
    };
    match op {
        TestpOp::Finite => x.is_finite(),
        TestpOp::Infinite => x.is_infinite(),
        TestpOp::Number => !x.is_nan(),
        TestpOp::NotANumber => x.is_nan(),
        TestpOp::Normal => x.is_finite() && x != 0.0 && !sub,
        TestpOp::Subnormal => sub,
    }
}

pub fn fma(ty: FTy, a: u64, b: u64, c: u64) -> u64 {
    match ty {
        FTy::F32 => f32_of(a).mul_add(f32_of(b), f32_of(c)).to_bits() as u64,
        FTy::F64 => f64_of(a).mul_add(f64_of(b), f64_of(c)).to_bits(),
    }
}

fn flush32(x: f32) -> f32 {
    if x.is_subnormal() { 0.0f32.copysign(x) } else { x }
}

pub fn float_un(op: FUnOp, ty: FTy, ftz: bool, a: u64) -> u64 {
    match ty {
        FTy::F32 => {
            let x = if ftz { flush32(f32_of(a)) } else { f32_of(a) };
            // Approximations: the exact function in f64, rounded once to f32.
            let approx = |f: fn(f64) -> f64| {
                let r = f(x as f64) as f32;
                if ftz { flush32(r) } else { r }
            };
            (match op {
                FUnOp::Neg => return (a as u32 ^ 0x8000_0000) as u64,
                FUnOp::Abs => return (a as u32 & 0x7fff_ffff) as u64,
                FUnOp::Sqrt => x.sqrt(),
                FUnOp::Rcp => 1.0 / x,
                FUnOp::ApproxSqrt => approx(f64::sqrt),
                FUnOp::ApproxRcp => approx(|v| 1.0 / v),
                FUnOp::ApproxRsqrt => approx(|v| 1.0 / v.sqrt()),
                FUnOp::ApproxEx2 => approx(f64::exp2),
                FUnOp::ApproxLg2 => approx(f64::log2),
                FUnOp::ApproxSin => approx(f64::sin),
                FUnOp::ApproxCos => approx(f64::cos),
                FUnOp::ApproxTanh => approx(f64::tanh),
            })
            .to_bits() as u64
        }
        FTy::F64 => {
            let x = f64_of(a);
            (match op {
                FUnOp::Neg => return a ^ (1 << 63),
                FUnOp::Abs => return a & !(1 << 63),
                FUnOp::Sqrt | FUnOp::ApproxSqrt => x.sqrt(),
                FUnOp::Rcp | FUnOp::ApproxRcp => 1.0 / x,
                FUnOp::ApproxRsqrt => 1.0 / x.sqrt(),
                FUnOp::ApproxEx2 => x.exp2(),
                FUnOp::ApproxLg2 => x.log2(),
                FUnOp::ApproxSin => x.sin(),
                FUnOp::ApproxCos => x.cos(),
                FUnOp::ApproxTanh => x.tanh(),
            })
            .to_bits()
        }
    }
}

pub fn setp(cmp: Cmp, ty: NumTy, a: u64, b: u64) -> bool {
    let ord = |x: f64, y: f64| -> bool {
        let nan = x.is_nan() || y.is_nan();
        match cmp {
            Cmp::Eq => !nan && x == y,
            Cmp::Ne => !nan && x != y,
            Cmp::Lt => !nan && x < y,
            Cmp::Le => !nan && x <= y,
            Cmp::Gt => !nan && x > y,
            Cmp::Ge => !nan && x >= y,
            Cmp::Equ => nan || x == y,
            Cmp::Neu => nan || x != y,
            Cmp::Ltu => nan || x < y,
            Cmp::Leu => nan || x <= y,
            Cmp::Gtu => nan || x > y,
            Cmp::Geu => nan || x >= y,
            Cmp::Num => !nan,
            Cmp::Nan => nan,
        }
    };
    match ty {
        // f32 values are exact in f64, so comparing there is the same comparison.
        NumTy::F32 => ord(f32_of(a) as f64, f32_of(b) as f64),
        NumTy::F64 => ord(f64_of(a), f64_of(b)),
        NumTy::Int(t) => {
            let (x, y) = (int_val(a, t), int_val(b, t));
            match cmp {
                Cmp::Eq => x == y,
                Cmp::Ne => x != y,
                Cmp::Lt => x < y,
                Cmp::Le => x <= y,
                Cmp::Gt => x > y,
                _ => x >= y,
            }
        }
        _ => false,
    }
}

fn is_float(t: NumTy) -> bool {
    !matches!(t, NumTy::Int(_))
}

fn int_rounding(r: Rnd) -> bool {
    matches!(r, Rnd::Rni | Rnd::Rzi | Rnd::Rmi | Rnd::Rpi)
}

fn float_rounding(r: Rnd) -> bool {
    matches!(r, Rnd::Rn | Rnd::Rz | Rnd::Rm | Rnd::Rp)
}

/// A binary floating-point format: precision (with the implicit bit), the exponent of the
/// smallest normal number, and of the largest.
#[derive(Clone, Copy)]
struct Fmt {
    p: i32,
    emin: i32,
    emax: i32,
}

fn fmt(t: NumTy) -> Fmt {
    match t {
        NumTy::F16 => Fmt { p: 11, emin: -14, emax: 15 },
        NumTy::Bf16 => Fmt { p: 8, emin: -126, emax: 127 },
        NumTy::Tf32 => Fmt { p: 11, emin: -126, emax: 127 },
        NumTy::F32 => Fmt { p: 24, emin: -126, emax: 127 },
        _ => Fmt { p: 53, emin: -1022, emax: 1023 },
    }
}

/// Whether every value of `from` is a value of `to` (a widening conversion, exact).
fn widens(to: NumTy, from: NumTy) -> bool {
    let (t, f) = (fmt(to), fmt(from));
    to != NumTy::Tf32 && t.p >= f.p && t.emin <= f.emin && t.emax >= f.emax
}

/// The `cvt` forms of the PTX ISA the interpreter implements, with the rounding each must
/// carry: int to int none (`.sat` clamps); float to int an integer rounding (`.rni`, `.rzi`,
/// `.rmi`, `.rpi`); int to float, and narrowing float conversions, a float rounding (`.rn`,
/// `.rz`, `.rm`, `.rp`; tf32 takes `.rna`); widening float conversions none; a float to its
/// own type none or an integer rounding. `.ftz` needs an f32 operand, `.relu` an f16/bf16
/// result, `.satfinite` a narrowing float conversion.
pub fn check_cvt(to: NumTy, from: NumTy, rnd: Rnd, m: CvtMods) -> Result<(), String> {
    let bad = || Err(format!("unsupported conversion cvt.{rnd:?}{m:?}.{to:?}.{from:?}"));
    let ok = match (is_float(to), is_float(from)) {
        (false, false) => rnd == Rnd::None,
        (false, true) => int_rounding(rnd) && from != NumTy::Tf32,
        (true, false) => float_rounding(rnd) && to != NumTy::Tf32,
        (true, true) if to == from => (rnd == Rnd::None || int_rounding(rnd)) && to != NumTy::Tf32,
        (true, true) if widens(to, from) => rnd == Rnd::None,
        (true, true) if to == NumTy::Tf32 => from == NumTy::F32 && matches!(rnd, Rnd::Rna | Rnd::Rn | Rnd::Rz),
        (true, true) => float_rounding(rnd) && from != NumTy::Tf32,
    };
    let f32_side = to == NumTy::F32 || from == NumTy::F32;
    let narrowing = is_float(to) && is_float(from) && to != from && !widens(to, from);
    if !ok
        || (m.ftz && !f32_side)
        || (m.relu && !matches!(to, NumTy::F16 | NumTy::Bf16))
        || (m.satfinite && !narrowing)
        || (m.sat && (m.relu || m.satfinite))
    {
        return bad();
    }
    Ok(())
}

fn round_int(x: f64, r: Rnd) -> f64 {
    match r {
        Rnd::Rni => x.round_ties_even(),
        Rnd::Rzi => x.trunc(),
        Rnd::Rmi => x.floor(),
        _ => x.ceil(),
    }
}

/// `f32` to tf32 (10 stored mantissa bits), nearest with ties away from zero: the result is
/// f32 bits whose low 13 bits are zero.
pub fn tf32_rna(x: u32) -> u32 {
    if f32::from_bits(x).is_nan() {
        return 0x7fff_ffff;
    }
    if f32::from_bits(x).is_infinite() {
        return x;
    }
    let sign = x & 0x8000_0000;
    (((x & 0x7fff_ffff) + 0x1000) & !0x1fff) | sign
}

/// `2^k` times `q` (exact whenever the result is a float of some format narrower than f64's
/// range, as every use here).
fn ldexp(q: f64, k: i32) -> f64 {
    let pow = |k: i32| f64::from_bits(((k + 1023) as u64) << 52);
    if k < -1000 {
        q * pow(k + 200) * pow(-200)
    } else if k > 1000 {
        q * pow(k - 200) * pow(200)
    } else {
        q * pow(k)
    }
}

/// The value `(-1)^neg · m · 2^e` rounded to `fmt` by `rnd` (a float rounding, or `.rna`):
/// exactly, from the bits, so that no intermediate rounding can double-round. The result is
/// an f64 holding a value of the format (or an infinity).
fn round_to(neg: bool, m: u128, e: i32, f: Fmt, rnd: Rnd) -> f64 {
    let sign = if neg { -1.0 } else { 1.0 };
    if m == 0 {
        return sign * 0.0;
    }
    let lead = 127 - m.leading_zeros() as i32 + e;
    let lsb = (lead - (f.p - 1)).max(f.emin - (f.p - 1));
    let shift = lsb - e;
    let q = if shift <= 0 {
        m << -shift
    } else {
        let (q, r, half) =
            if shift >= 128 { (0, m, u128::MAX) } else { (m >> shift, m & ((1 << shift) - 1), 1u128 << (shift - 1)) };
        let half_cmp = if shift > 128 { std::cmp::Ordering::Less } else { r.cmp(&half) };
        let up = match rnd {
            Rnd::Rn => half_cmp.is_gt() || (half_cmp.is_eq() && q & 1 == 1),
            Rnd::Rna => half_cmp.is_ge(),
            Rnd::Rm => neg && r != 0,
            Rnd::Rp => !neg && r != 0,
            _ => false,
        };
        q + up as u128
    };
    let v = ldexp(q as f64, lsb);
    let max = ldexp((2.0 - ldexp(1.0, 1 - f.p)) * 2.0, f.emax - 1);
    if v > max {
        let to_inf = match rnd {
            Rnd::Rn | Rnd::Rna => true,
            Rnd::Rm => neg,
            Rnd::Rp => !neg,
            _ => false,
        };
        return sign * if to_inf { f64::INFINITY } else { max };
    }
    sign * v
}

/// The bits of `v`, a value of format `t` (or an infinity), as type `t`.
fn encode(t: NumTy, v: f64) -> u64 {
    match t {
        NumTy::F64 => v.to_bits(),
        NumTy::F32 | NumTy::Tf32 => (v as f32).to_bits() as u64,
        NumTy::Bf16 => ((v as f32).to_bits() >> 16) as u64,
        _ => f16::from_f64(v).to_bits() as u64,
    }
}

fn canonical_nan(t: NumTy) -> u64 {
    match t {
        NumTy::F64 => 0x7fff_ffff_ffff_ffff,
        NumTy::F32 | NumTy::Tf32 => 0x7fff_ffff,
        _ => 0x7fff,
    }
}

/// A float of type `t` as f64 (every format here is exact in f64).
fn float_value(t: NumTy, v: u64) -> f64 {
    match t {
        NumTy::F64 => f64_of(v),
        NumTy::F32 | NumTy::Tf32 => f32_of(v) as f64,
        NumTy::F16 => f16::from_bits(v as u16).to_f64(),
        NumTy::Bf16 => bf16::from_bits(v as u16).to_f64(),
        NumTy::Int(_) => unreachable!("not a float"),
    }
}

/// Sign, magnitude and exponent of a finite f64: `(-1)^neg · m · 2^e`.
fn parts(x: f64) -> (bool, u128, i32) {
    let b = x.to_bits();
    let (exp, man) = (((b >> 52) & 0x7ff) as i32, b & ((1 << 52) - 1));
    let (m, e) = if exp == 0 { (man, -1074) } else { (man | 1 << 52, exp - 1075) };
    (b >> 63 == 1, m as u128, e)
}

fn flush_f32(x: f64, t: NumTy, ftz: bool) -> f64 {
    if ftz && t == NumTy::F32 && (x as f32).is_subnormal() { 0.0f64.copysign(x) } else { x }
}

/// `cvt`, checked by [`check_cvt`]; the result has the bits of `to` (integers chopped, to be
/// extended into the destination register by the caller).
pub fn cvt(to: NumTy, from: NumTy, rnd: Rnd, m: CvtMods, a: u64) -> u64 {
    match (to, from) {
        (NumTy::Int(t), NumTy::Int(f)) => {
            let v = int_val(a, f);
            let v = if m.sat { v.clamp(int_min(t), int_max(t)) } else { v };
            chop(v as u64, t.bits as u32)
        }
        (NumTy::Int(t), _) => {
            let x = flush_f32(float_value(from, a), from, m.ftz);
            let bits = t.bits as u32;
            if x.is_nan() {
                // PTX: zero, except from f64 or into a 64-bit integer: the top bit alone.
                return if from != NumTy::F64 && bits != 64 { 0 } else { 1u64 << (bits - 1) };
            }
            // Float-to-integer conversions saturate.
            let r = round_int(x, rnd);
            let v = if t.signed {
                (r as i64 as i128).clamp(int_min(t), int_max(t))
            } else {
                (r.max(0.0) as u64 as i128).min(int_max(t))
            };
            chop(v as u64, bits)
        }
        (_, NumTy::Int(f)) => {
            let v = int_val(a, f);
            let r = round_to(v < 0, v.unsigned_abs(), 0, fmt(to), rnd);
            finish(to, r, m)
        }
        _ => {
            let x = flush_f32(float_value(from, a), from, m.ftz);
            if x.is_nan() {
                return finish(to, x, m);
            }
            let r = if x.is_infinite() {
                x
            } else if int_rounding(rnd) {
                round_int(x, rnd)
            } else if to == NumTy::Tf32 && rnd == Rnd::Rna {
                return tf32_rna((x as f32).to_bits()) as u64;
            } else if rnd == Rnd::None {
                x
            } else {
                let (neg, mm, e) = parts(x);
                round_to(neg, mm, e, fmt(to), rnd)
            };
            finish(to, r, m)
        }
    }
}

/// The float result's modifiers, then its bits: `.relu`, `.satfinite`, `.sat`, `.ftz`.
fn finish(to: NumTy, r: f64, m: CvtMods) -> u64 {
    let mut r = r;
    if m.relu && r.is_sign_negative() && !r.is_nan() {
        r = 0.0;
    }
    if m.satfinite && r.is_infinite() {
        let f = fmt(to);
        r = ldexp((2.0 - ldexp(1.0, 1 - f.p)) * 2.0, f.emax - 1).copysign(r);
    }
    if m.sat {
        // `[0, 1]`, NaN to 0.
        r = if r.is_nan() { 0.0 } else { r.clamp(0.0, 1.0) };
    }
    if r.is_nan() {
        return canonical_nan(to);
    }
    encode(to, flush_f32(r, to, m.ftz))
}

fn int_min(t: IntTy) -> i128 {
    if t.signed { -(1i128 << (t.bits - 1)) } else { 0 }
}

fn int_max(t: IntTy) -> i128 {
    if t.signed { (1i128 << (t.bits - 1)) - 1 } else { (1i128 << t.bits) - 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S32: IntTy = IntTy { bits: 32, signed: true };
    const NONE: CvtMods = CvtMods { ftz: false, sat: false, relu: false, satfinite: false };
    const U32: IntTy = IntTy { bits: 32, signed: false };

    #[test]
    fn integer_edge_cases_follow_the_isa() {
        assert_eq!(int_bin(IntOp::Shl, U32, 1, 32), Ok(0), "shift amounts clamp to the width");
        assert_eq!(int_bin(IntOp::Shr, S32, 0x8000_0000, 40), Ok(0xffff_ffff), "arithmetic shift fills the sign");
        assert_eq!(int_bin(IntOp::Div, S32, 7, 0), Err("integer division by zero"));
        assert_eq!(mul_wide(S32, (-3i32) as u32 as u64, 5), (-15i64) as u64);
        assert_eq!(bfe(U32, 0xabcd_1234, 8, 8), 0x12);
        assert_eq!(bfe(S32, 0x0000_8000, 8, 8), 0xffff_ff80);
        assert_eq!(int_un(IntUnOp::Clz, IntTy { bits: 64, signed: false }, 1), 63);
        assert_eq!(extend(0x8000, 16, true, 32), 0xffff_8000);
    }

    #[test]
    fn float_rules_follow_the_isa() {
        let (pz, nz) = (0.0f32.to_bits() as u64, (-0.0f32).to_bits() as u64);
        assert_eq!(float_bin(FOp::Max, FTy::F32, nz, pz), pz, "max(-0, +0) = +0");
        assert_eq!(float_bin(FOp::Min, FTy::F32, pz, nz), nz, "min(+0, -0) = -0");
        let nan = f32::NAN.to_bits() as u64;
        assert_eq!(float_bin(FOp::Max, FTy::F32, nan, 2f32.to_bits() as u64), 2f32.to_bits() as u64);
        assert!(!setp(Cmp::Ne, NumTy::F32, nan, nan), "ne is ordered");
        assert!(setp(Cmp::Neu, NumTy::F32, nan, nan));
        // NaN from f64 to s32 is the top bit; from f32 it is zero.
        let s32 = NumTy::Int(S32);
        assert_eq!(cvt(s32, NumTy::F64, Rnd::Rzi, NONE, f64::NAN.to_bits()), 0x8000_0000);
        assert_eq!(cvt(s32, NumTy::F32, Rnd::Rzi, NONE, nan), 0);
        assert_eq!(cvt(s32, NumTy::F64, Rnd::Rzi, NONE, 1e20f64.to_bits()), 0x7fff_ffff, "saturates");
        assert_eq!(cvt(NumTy::F64, NumTy::F64, Rnd::Rni, NONE, 2.5f64.to_bits()), 2.0f64.to_bits());
        // tf32: ties away from zero at bit 13.
        assert_eq!(tf32_rna(0x3f80_1000), 0x3f80_2000);
        assert_eq!(tf32_rna(0x3f80_0fff), 0x3f80_0000);
        assert_eq!(tf32_rna(0xbf80_1000), 0xbf80_2000);
        assert_eq!(tf32_rna(0x7f7f_ffff), 0x7f80_0000, "rounds up to infinity");
        assert_eq!(cvt(NumTy::Bf16, NumTy::F32, Rnd::Rn, NONE, 0x3f80_8000), 0x3f80, "ties to even");
        assert_eq!(cvt(NumTy::Bf16, NumTy::F32, Rnd::Rn, NONE, 0x3f81_8000), 0x3f82, "ties to even");
    }

    #[test]
    fn conversions_round_and_saturate_as_the_isa_says() {
        let (f32b, f64b) = (|x: f32| x.to_bits() as u64, |x: f64| x.to_bits());
        let sat = CvtMods { sat: true, ..NONE };
        // f64 to f32 in each rounding: 1 + 2^-30 lies between 1 and 1 + 2^-23.
        let x = f64b(1.0 + 2f64.powi(-30));
        assert_eq!(cvt(NumTy::F32, NumTy::F64, Rnd::Rn, NONE, x), f32b(1.0));
        assert_eq!(cvt(NumTy::F32, NumTy::F64, Rnd::Rp, NONE, x), f32b(1.0 + 2f32.powi(-23)));
        assert_eq!(
            cvt(NumTy::F32, NumTy::F64, Rnd::Rm, NONE, f64b(-1.0 - 2f64.powi(-30))),
            f32b(-1.0 - 2f32.powi(-23))
        );
        assert_eq!(cvt(NumTy::F32, NumTy::F64, Rnd::Rz, NONE, f64b(-1.0 - 2f64.powi(-30))), f32b(-1.0));
        // Overflow: to infinity when rounding towards it, else to the largest finite value.
        assert_eq!(cvt(NumTy::F32, NumTy::F64, Rnd::Rz, NONE, f64b(1e300)), f32b(f32::MAX));
        assert_eq!(cvt(NumTy::F32, NumTy::F64, Rnd::Rn, NONE, f64b(-1e300)), f32b(f32::NEG_INFINITY));
        assert_eq!(cvt(NumTy::F32, NumTy::F64, Rnd::Rp, NONE, f64b(-1e300)), f32b(-f32::MAX));
        // Subnormal results round at the fixed subnormal step.
        assert_eq!(cvt(NumTy::F32, NumTy::F64, Rnd::Rp, NONE, f64b(1e-50)), 1, "the smallest subnormal");
        assert_eq!(cvt(NumTy::F32, NumTy::F64, Rnd::Rn, NONE, f64b(1e-50)), 0);
        // bf16 from f64 with one rounding: just above a tie rounds up (a truncation to f32
        // first would lose the deciding bit and round to even, down).
        let above_tie = 1.0 + 2f64.powi(-8) + 2f64.powi(-40);
        assert_eq!(cvt(NumTy::Bf16, NumTy::F64, Rnd::Rn, NONE, f64b(above_tie)), 0x3f81);
        assert_eq!(cvt(NumTy::F16, NumTy::F32, Rnd::Rz, NONE, f32b(65519.0)), 0x7bff, "f16 max, not infinity");
        assert_eq!(cvt(NumTy::F16, NumTy::F32, Rnd::Rn, NONE, f32b(65520.0)), 0x7c00);
        // Integers to floats: 2^24 + 1 is not an f32.
        let big = (1u64 << 24) + 1;
        assert_eq!(cvt(NumTy::F32, NumTy::Int(U32), Rnd::Rn, NONE, big), f32b(16777216.0));
        assert_eq!(cvt(NumTy::F32, NumTy::Int(U32), Rnd::Rp, NONE, big), f32b(16777218.0));
        let s64 = IntTy { bits: 64, signed: true };
        assert_eq!(cvt(NumTy::F32, NumTy::Int(s64), Rnd::Rm, NONE, (-(big as i64)) as u64), f32b(-16777218.0));
        assert_eq!(cvt(NumTy::F16, NumTy::Int(S32), Rnd::Rn, NONE, 70000), 0x7c00, "f16 overflow");
        // Integer saturation, and its absence.
        let u8t = NumTy::Int(IntTy { bits: 8, signed: false });
        assert_eq!(cvt(u8t, NumTy::Int(S32), Rnd::None, sat, (-5i32) as u32 as u64), 0);
        assert_eq!(cvt(u8t, NumTy::Int(S32), Rnd::None, sat, 300), 255);
        assert_eq!(cvt(u8t, NumTy::Int(S32), Rnd::None, NONE, 300), 44);
        // Floats to integers saturate, and round as told.
        assert_eq!(cvt(u8t, NumTy::F32, Rnd::Rni, NONE, f32b(-3.5)), 0);
        assert_eq!(cvt(NumTy::Int(S32), NumTy::F32, Rnd::Rmi, NONE, f32b(-2.5)), (-3i32) as u32 as u64);
        assert_eq!(cvt(NumTy::Int(U32), NumTy::F64, Rnd::Rpi, NONE, f64b(1e12)), u32::MAX as u64);
        // .sat on a float result: [0, 1], NaN to 0; .ftz flushes f32 subnormals.
        assert_eq!(cvt(NumTy::F32, NumTy::F64, Rnd::Rn, sat, f64b(1.5)), f32b(1.0));
        assert_eq!(cvt(NumTy::F32, NumTy::F64, Rnd::Rn, sat, f64::NAN.to_bits()), f32b(0.0));
        let ftz = CvtMods { ftz: true, ..NONE };
        assert_eq!(cvt(NumTy::F64, NumTy::F32, Rnd::None, ftz, 0x8000_0001), f64b(-0.0));
        assert_eq!(cvt(NumTy::F32, NumTy::F32, Rnd::None, ftz, 1), 0);
        let relu = CvtMods { relu: true, ..NONE };
        assert_eq!(cvt(NumTy::F16, NumTy::F32, Rnd::Rn, relu, f32b(-2.0)), 0);
        // The forms the ISA does not have are refused.
        assert!(check_cvt(NumTy::F32, NumTy::Int(S32), Rnd::None, NONE).is_err(), "int to float needs a rounding");
        assert!(check_cvt(NumTy::Int(S32), NumTy::F32, Rnd::Rn, NONE).is_err(), "float to int an integer rounding");
        assert!(check_cvt(NumTy::F64, NumTy::F32, Rnd::Rn, NONE).is_err(), "widening takes none");
        assert!(check_cvt(NumTy::F64, NumTy::F64, Rnd::None, ftz).is_err(), ".ftz needs an f32");
    }

    #[test]
    fn copysign_testp_and_nan_propagating_min_max() {
        let b = |x: f32| x.to_bits() as u64;
        // copysign d, a, b: b's magnitude, a's sign.
        assert_eq!(float_bin(FOp::Copysign, FTy::F32, b(-1.0), b(3.0)), b(-3.0));
        assert_eq!(float_bin(FOp::Copysign, FTy::F64, 0f64.to_bits(), (-2f64).to_bits()), 2f64.to_bits());
        assert!(testp(TestpOp::Infinite, FTy::F32, b(f32::NEG_INFINITY)));
        assert!(!testp(TestpOp::Finite, FTy::F32, b(f32::NAN)));
        assert!(testp(TestpOp::Subnormal, FTy::F32, 1) && !testp(TestpOp::Normal, FTy::F32, 1));
        assert!(!testp(TestpOp::Normal, FTy::F64, 0) && testp(TestpOp::Number, FTy::F64, 0));
        assert_eq!(float_bin(FOp::MaxNan, FTy::F32, b(f32::NAN), b(1.0)), 0x7fff_ffff);
        assert_eq!(float_bin(FOp::Max, FTy::F32, b(f32::NAN), b(1.0)), b(1.0));
        assert_eq!(int_un(IntUnOp::Brev, U32, 1), 0x8000_0000);
    }
}
