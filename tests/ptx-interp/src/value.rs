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
            })
            .to_bits()
        }
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

/// The `cvt` forms the interpreter implements, with the rounding each must carry (PTX ISA:
/// float-to-int and same-size float rounding to integers take an integer rounding; narrowing
/// float conversions and int-to-float take `.rn`; widening takes none).
pub fn check_cvt(to: NumTy, from: NumTy, rnd: Rnd) -> Result<(), String> {
    let bad =
        || Err(format!("unsupported conversion cvt{}.{to:?}.{from:?}", if rnd == Rnd::None { "" } else { ".rnd" }));
    match (is_float(to), is_float(from)) {
        (false, false) if rnd == Rnd::None => Ok(()),
        (false, true) if int_rounding(rnd) && matches!(from, NumTy::F32 | NumTy::F64) => Ok(()),
        (true, false) if rnd == Rnd::Rn && matches!(to, NumTy::F32 | NumTy::F64) => Ok(()),
        (true, true) => match (to, from, rnd) {
            (NumTy::F64, NumTy::F32 | NumTy::F16 | NumTy::Bf16, Rnd::None) => Ok(()),
            (NumTy::F32, NumTy::F16 | NumTy::Bf16, Rnd::None) => Ok(()),
            (NumTy::F32, NumTy::F64, Rnd::Rn) => Ok(()),
            (NumTy::F16 | NumTy::Bf16, NumTy::F32 | NumTy::F64, Rnd::Rn) => Ok(()),
            (NumTy::Tf32, NumTy::F32, Rnd::Rna) => Ok(()),
            (NumTy::F32, NumTy::F32, r) | (NumTy::F64, NumTy::F64, r) if int_rounding(r) => Ok(()),
            _ => bad(),
        },
        _ => bad(),
    }
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

/// `cvt`, checked by [`check_cvt`]; the result has the bits of `to` (integers chopped, to be
/// extended into the destination register by the caller).
pub fn cvt(to: NumTy, from: NumTy, rnd: Rnd, a: u64) -> u64 {
    let as_f64 = |t: NumTy, v: u64| -> f64 {
        match t {
            NumTy::F64 => f64_of(v),
            NumTy::F32 => f32_of(v) as f64,
            NumTy::F16 => f16::from_bits(v as u16).to_f64(),
            NumTy::Bf16 => bf16::from_bits(v as u16).to_f64(),
            _ => 0.0,
        }
    };
    match (to, from) {
        (NumTy::Int(t), NumTy::Int(f)) => chop(int_val(a, f) as u64, t.bits as u32),
        (NumTy::Int(t), _) => {
            let x = as_f64(from, a);
            let bits = t.bits as u32;
            if x.is_nan() {
                // PTX: zero, except from f64 or into a 64-bit integer: the top bit alone.
                return if from != NumTy::F64 && bits != 64 { 0 } else { 1u64 << (bits - 1) };
            }
            let r = round_int(x, rnd);
            let (lo, hi) = if t.signed {
                (-(2f64.powi(bits as i32 - 1)), 2f64.powi(bits as i32 - 1) - 1.0)
            } else {
                (0.0, 2f64.powi(bits as i32) - 1.0)
            };
            let c = r.clamp(lo, hi);
            let v = if t.signed { c as i64 as u64 } else { c as u64 };
            chop(v, bits)
        }
        (_, NumTy::Int(f)) => {
            let v = int_val(a, f);
            match to {
                NumTy::F32 => (if f.signed { v as i64 as f32 } else { v as u64 as f32 }).to_bits() as u64,
                _ => (if f.signed { v as i64 as f64 } else { v as u64 as f64 }).to_bits(),
            }
        }
        (NumTy::F64, NumTy::F64) => round_int(f64_of(a), rnd).to_bits(),
        (NumTy::F32, NumTy::F32) => (round_int(f32_of(a) as f64, rnd) as f32).to_bits() as u64,
        (NumTy::F64, _) => as_f64(from, a).to_bits(),
        (NumTy::F32, NumTy::F64) => (f64_of(a) as f32).to_bits() as u64,
        (NumTy::F32, _) => (as_f64(from, a) as f32).to_bits() as u64,
        (NumTy::F16, NumTy::F32) => f16::from_f32(f32_of(a)).to_bits() as u64,
        (NumTy::F16, _) => f16::from_f64(f64_of(a)).to_bits() as u64,
        (NumTy::Bf16, NumTy::F32) => bf16::from_f32(f32_of(a)).to_bits() as u64,
        (NumTy::Bf16, _) => bf16::from_f64(f64_of(a)).to_bits() as u64,
        (NumTy::Tf32, _) => tf32_rna(a as u32) as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S32: IntTy = IntTy { bits: 32, signed: true };
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
        assert_eq!(cvt(s32, NumTy::F64, Rnd::Rzi, f64::NAN.to_bits()), 0x8000_0000);
        assert_eq!(cvt(s32, NumTy::F32, Rnd::Rzi, nan), 0);
        assert_eq!(cvt(s32, NumTy::F64, Rnd::Rzi, 1e20f64.to_bits()), 0x7fff_ffff, "saturates");
        assert_eq!(cvt(NumTy::F64, NumTy::F64, Rnd::Rni, 2.5f64.to_bits()), 2.0f64.to_bits());
        // tf32: ties away from zero at bit 13.
        assert_eq!(tf32_rna(0x3f80_1000), 0x3f80_2000);
        assert_eq!(tf32_rna(0x3f80_0fff), 0x3f80_0000);
        assert_eq!(tf32_rna(0xbf80_1000), 0xbf80_2000);
        assert_eq!(tf32_rna(0x7f7f_ffff), 0x7f80_0000, "rounds up to infinity");
        assert_eq!(cvt(NumTy::Bf16, NumTy::F32, Rnd::Rn, 0x3f80_8000), 0x3f80, "ties to even");
        assert_eq!(cvt(NumTy::Bf16, NumTy::F32, Rnd::Rn, 0x3f81_8000), 0x3f82, "ties to even");
    }
}
