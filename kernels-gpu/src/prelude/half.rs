//! 16-bit floats as storage: IEEE binary16 (`F16`) and bfloat16 (`BF16`), with conversions in
//! plain integer arithmetic (identical on the GPU and the emulator, and on every GPU
//! generation: sm_70 has no bf16 `cvt`). Narrowing rounds to nearest, ties to even, like
//! `cvt.rn` and the `half` crate; widening is exact.

/// IEEE 754 binary16, stored as its bits (same layout as `half::f16`).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct F16(pub u16);

/// bfloat16 (the top half of an f32), stored as its bits (same layout as `half::bf16`).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct BF16(pub u16);

impl F16 {
    #[inline(always)]
    pub fn to_f32(self) -> f32 {
        f16_to_f32(self.0)
    }
    #[inline(always)]
    pub fn from_f32(x: f32) -> Self {
        F16(narrow::<23, 8, 10, 5>(x.to_bits() as u64))
    }
    #[inline(always)]
    pub fn from_f64(x: f64) -> Self {
        F16(narrow::<52, 11, 10, 5>(x.to_bits()))
    }
}

impl BF16 {
    #[inline(always)]
    pub fn to_f32(self) -> f32 {
        f32::from_bits((self.0 as u32) << 16)
    }
    #[inline(always)]
    pub fn from_f32(x: f32) -> Self {
        BF16(narrow::<23, 8, 7, 8>(x.to_bits() as u64))
    }
    #[inline(always)]
    pub fn from_f64(x: f64) -> Self {
        BF16(narrow::<52, 11, 7, 8>(x.to_bits()))
    }
}

/// Exact conversion of binary16 bits to f32.
#[inline(always)]
fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h as u32) >> 15) << 31;
    let exp = ((h as u32) >> 10) & 0x1f;
    let frac = (h as u32) & 0x3ff;
    if exp == 0 {
        // zero or subnormal: frac · 2^-24, exact in f32
        let magnitude = frac as f32 * f32::from_bits((127 - 24) << 23);
        return if sign != 0 { -magnitude } else { magnitude };
    }
    // inf/NaN keep an all-ones exponent (and the NaN payload); normals rebias 15 -> 127
    let exp = if exp == 0x1f { 0xff } else { exp + 127 - 15 };
    f32::from_bits(sign | (exp << 23) | (frac << 13))
}

/// Rounds the binary float `bits` (`SF` fraction bits, `SE` exponent bits) to the nearest
/// 16-bit float with `DF` fraction and `DE` exponent bits, ties to even. NaN stays NaN (quiet,
/// top payload bits kept), overflow gives infinity, underflow subnormals or zero.
#[inline(always)]
fn narrow<const SF: u32, const SE: u32, const DF: u32, const DE: u32>(bits: u64) -> u16 {
    let sign = (((bits >> (SF + SE)) & 1) as u16) << (DF + DE);
    let exp = ((bits >> SF) & ((1 << SE) - 1)) as i32;
    let frac = bits & ((1u64 << SF) - 1);
    let (src_bias, dst_bias) = ((1i32 << (SE - 1)) - 1, (1i32 << (DE - 1)) - 1);
    let dst_exp_max = (1u16 << DE) - 1;
    if exp == (1 << SE) - 1 {
        let nan = if frac != 0 { (1 << (DF - 1)) | (frac >> (SF - DF)) as u16 } else { 0 };
        return sign | (dst_exp_max << DF) | nan;
    }
    if exp == 0 && frac == 0 {
        return sign;
    }
    // value = m · 2^e with m an integer holding the implicit bit
    let (m, e) =
        if exp == 0 { (frac, 1 - src_bias - SF as i32) } else { (frac | (1 << SF), exp - src_bias - SF as i32) };
    let top = e + 63 - m.leading_zeros() as i32; // exponent of the leading bit
    // exponent of the target's last place: DF bits below the leading one, or the subnormal quantum
    let q = (top - DF as i32).max(1 - dst_bias - DF as i32);
    let r = shift_right_even(m, (q - e) as u32);
    // rounding up may carry into a new leading bit
    let (r, q) = if r >> (DF + 1) != 0 { (r >> 1, q + 1) } else { (r, q) };
    if r < (1 << DF) {
        return sign | r as u16; // subnormal
    }
    let biased = q + DF as i32 + dst_bias;
    if biased >= dst_exp_max as i32 {
        return sign | (dst_exp_max << DF); // overflow
    }
    sign | ((biased as u16) << DF) | (r as u16 & ((1 << DF) - 1))
}

/// `m / 2^s` rounded to nearest, ties to even.
#[inline(always)]
fn shift_right_even(m: u64, s: u32) -> u64 {
    if s == 0 {
        return m;
    }
    if s > 64 {
        return 0;
    }
    let q = if s == 64 { 0 } else { m >> s };
    let rem = if s == 64 { m } else { m & ((1u64 << s) - 1) };
    let half = 1u64 << (s - 1);
    if rem > half || (rem == half && q & 1 == 1) { q + 1 } else { q }
}
