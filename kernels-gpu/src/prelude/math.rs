//! Transcendental functions in plain Rust, so the GPU and the emulator compute the same bits.
//!
//! LLVM cannot lower `expf` on nvptx (it would be a libm call), so exp is built here:
//! `e^x = 2^n * e^r` with `n = round(x / ln 2)` and `r = x - n ln 2` reduced in two FMA
//! steps (Cody-Waite), `e^r` by its Taylor series on `|r| <= ln2 / 2` (truncation error far
//! below half an ulp), and `2^n` applied as two exact power-of-two factors so results that
//! are subnormal round only once. Error: within 2 ulp (measured in the tests below).
//!
//! ln is built the classic way: `x = 2^e · m` with `m` in `[sqrt(1/2), sqrt(2))`, then
//! `ln m = 2 atanh(s)`, `s = (m - 1) / (m + 1)`, `|s| < 0.172`, by its odd series.

use core::f32::math as m32;
use core::f64::math as m64;

/// Written without branches (the range checks are selects), so it costs the same in every
/// GPU thread and vectorizes in the CPU backend's loops, which call it too.
/// `round(x · log2 e)` is taken by adding `1.5 · 2^23`: floats in `[2^23, 2^24)` are integers,
/// so the sum rounds to nearest even and its low bits hold the integer (valid while
/// `|x · log2 e| < 2^22`; outside `[-104, 88.72]` the final selects replace the result, and the
/// integer arithmetic wraps so that no input overflows).
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = core::f32::consts::LOG2_E;
    const LN2_HI: f32 = core::f32::consts::LN_2; // ln 2 rounded to f32
    const LN2_LO: f32 = -1.904_654_3e-9; // ln 2 - LN2_HI
    const SHIFT: f32 = 12_582_912.0; // 1.5 · 2^23
    let t = x * LOG2E + SHIFT;
    let n = t - SHIFT;
    let r = m32::mul_add(-n, LN2_HI, x);
    let r = m32::mul_add(-n, LN2_LO, r);
    // 1/k! for k = 7 down to 0: 8 terms leave r^8/8! < 6e-9 relative error.
    const C: [f32; 8] = [1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0];
    let mut p = C[0];
    for &c in &C[1..] {
        p = m32::mul_add(p, r, c);
    }
    let k = (t.to_bits() as i32).wrapping_sub(SHIFT.to_bits() as i32);
    let half = k >> 1;
    let y = p * pow2_f32(half) * pow2_f32(k.wrapping_sub(half));
    // NaN fails both tests and keeps y, which is NaN.
    if x > 88.722_84 {
        f32::INFINITY
    } else if x < -104.0 {
        0.0
    } else {
        y
    }
}

/// e^x - 1 without the cancellation near 0 or the doubled rounding of `exp(x) - 1` beyond it.
/// `|x| < ln2 / 2`: the Taylor series of `e^x - 1` itself. Beyond, as exp: `x = n ln2 + r`
/// and `e^x - 1 = 2^n (e^r - 1) + (2^n - 1)`, one FMA, so the result carries the series'
/// error once plus one rounding (within 2 ulp; `exp(x) - 1` adds exp's error, up to 2 ulp of
/// a number twice as large, then rounds again). Where e^x dwarfs the 1 (x ≥ 20) or the 1
/// dwarfs e^x (x ≤ -18), `exp(x) - 1` rounds once correctly enough; NaN and ±inf go there.
#[allow(clippy::neg_cmp_op_on_partial_ord)] // written so that NaN takes the first branch
#[inline(always)]
pub fn expm1_f32(x: f32) -> f32 {
    if !(x.abs() < 0.346_573_6) {
        if !(x > -18.0 && x < 20.0) {
            return exp_f32(x) - 1.0;
        }
        let n = m32::round_ties_even(x * core::f32::consts::LOG2_E);
        let r = m32::mul_add(-n, core::f32::consts::LN_2, x);
        let r = m32::mul_add(-n, -1.904_654_3e-9, r); // ln 2 - LN_2 as f32
        let two = pow2_f32(n as i32);
        return m32::mul_add(two, expm1_series_f32(r), two - 1.0);
    }
    expm1_series_f32(x)
}

/// e^r - 1 for `|r| <= ln2 / 2` (a little over, after rounding) by its Taylor series:
/// r · (1 + r/2 + r^2/6 + ... + r^7/8!), whose truncation r^8/9! is below 6e-10 relative.
#[inline(always)]
fn expm1_series_f32(x: f32) -> f32 {
    const C: [f32; 8] = [1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0];
    let mut q = C[0];
    for &c in &C[1..] {
        q = m32::mul_add(q, x, c);
    }
    x * q
}

/// 2^k for k in [-126, 127], from its bits (other k give garbage, which callers discard).
#[inline(always)]
fn pow2_f32(k: i32) -> f32 {
    f32::from_bits((k.wrapping_add(127) as u32) << 23)
}

#[inline(always)]
pub fn exp_f64(x: f64) -> f64 {
    const LOG2E: f64 = core::f64::consts::LOG2_E;
    const LN2_HI: f64 = core::f64::consts::LN_2;
    const LN2_LO: f64 = 2.319_046_813_846_299_6e-17; // ln 2 - LN2_HI
    if x > 709.782_712_893_384 {
        return f64::INFINITY;
    }
    if x < -746.0 {
        return 0.0;
    }
    let n = m64::round_ties_even(x * LOG2E);
    let r = m64::mul_add(-n, LN2_HI, x);
    let r = m64::mul_add(-n, LN2_LO, r);
    // 1/k! for k = 13 down to 0: r^14/14! < 5e-18 relative error.
    const C: [f64; 14] = inverse_factorials();
    let mut p = C[0];
    for &c in &C[1..] {
        p = m64::mul_add(p, r, c);
    }
    let n = n as i32;
    let half = n >> 1;
    p * pow2_f64(half) * pow2_f64(n - half)
}

/// e^x - 1 in f64; see [`expm1_f32`] (here the plain `exp(x) - 1` is left for x ≥ 40 and
/// x ≤ -38).
#[allow(clippy::neg_cmp_op_on_partial_ord)] // written so that NaN takes the first branch
#[inline(always)]
pub fn expm1_f64(x: f64) -> f64 {
    if !(x.abs() < 0.346_573_590_279_972_6) {
        if !(x > -38.0 && x < 40.0) {
            return exp_f64(x) - 1.0;
        }
        let n = m64::round_ties_even(x * core::f64::consts::LOG2_E);
        let r = m64::mul_add(-n, core::f64::consts::LN_2, x);
        let r = m64::mul_add(-n, 2.319_046_813_846_299_6e-17, r); // ln 2 - LN_2 as f64
        let two = pow2_f64(n as i32);
        return m64::mul_add(two, expm1_series_f64(r), two - 1.0);
    }
    expm1_series_f64(x)
}

/// e^r - 1 for `|r| <= ln2 / 2` (a little over): r · (1/1! + r/2! + ... + r^13/14!), whose
/// truncation r^14/15! is below 3e-19 relative.
#[inline(always)]
fn expm1_series_f64(x: f64) -> f64 {
    const C: [f64; 14] = inverse_factorials();
    let mut q = 1.0 / 87_178_291_200.0; // 1/14!
    for &c in &C[..13] {
        q = m64::mul_add(q, x, c);
    }
    x * q
}

/// `[1/13!, 1/12!, ..., 1/1!, 1/0!]`, evaluated by the compiler.
const fn inverse_factorials() -> [f64; 14] {
    let mut c = [1.0; 14];
    let mut k = 1;
    let mut fact = 1.0;
    while k < 14 {
        fact *= k as f64; // exact: 13! < 2^53
        c[13 - k] = 1.0 / fact;
        k += 1;
    }
    c
}

/// 2^k for k in [-1022, 1023], from its bits.
#[inline(always)]
fn pow2_f64(k: i32) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

#[allow(clippy::neg_cmp_op_on_partial_ord)] // written so that NaN takes the first branch
#[inline(always)]
pub fn ln_f32(x: f32) -> f32 {
    if !(x > 0.0) || x == f32::INFINITY {
        // NaN, negatives -> NaN; 0 -> -inf; +inf -> +inf
        return if x == 0.0 {
            f32::NEG_INFINITY
        } else if x == f32::INFINITY {
            x
        } else {
            f32::NAN
        };
    }
    let (mut bits, mut e) = (x.to_bits(), 0i32);
    if bits < 0x0080_0000 {
        bits = (x * 16_777_216.0).to_bits(); // subnormal: scale by 2^24 first
        e = -24;
    }
    e += ((bits >> 23) as i32) - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000); // [1, 2)
    if m > core::f32::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    // 2 atanh(s) = r + r·s²·q with r = 2s and q = 1/3 + s²/5 + ... (terms to s^10 leave < 1e-10
    // relative error); adding the small correction to r keeps r's single rounding.
    // Written out: a loop over a coefficient array is not always unrolled, and then the array
    // lives in local memory on the GPU.
    let q = m32::mul_add(1.0 / 11.0, s2, 1.0 / 9.0);
    let q = m32::mul_add(q, s2, 1.0 / 7.0);
    let q = m32::mul_add(q, s2, 1.0 / 5.0);
    let q = m32::mul_add(q, s2, 1.0 / 3.0);
    let r = 2.0 * s;
    m32::mul_add(e as f32, core::f32::consts::LN_2, m32::mul_add(r, s2 * q, r))
}

#[allow(clippy::neg_cmp_op_on_partial_ord)] // written so that NaN takes the first branch
#[inline(always)]
pub fn ln_f64(x: f64) -> f64 {
    if !(x > 0.0) || x == f64::INFINITY {
        return if x == 0.0 {
            f64::NEG_INFINITY
        } else if x == f64::INFINITY {
            x
        } else {
            f64::NAN
        };
    }
    let (mut bits, mut e) = (x.to_bits(), 0i64);
    if bits < 0x0010_0000_0000_0000 {
        bits = (x * 18_014_398_509_481_984.0).to_bits(); // subnormal: scale by 2^54 first
        e = -54;
    }
    e += ((bits >> 52) as i64) - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > core::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    // Terms to s^22: the first omitted one, s^24/25 < 2e-20, is far below an ulp.
    let mut q = 1.0 / 23.0;
    let mut k = 21.0;
    while k > 2.0 {
        q = m64::mul_add(q, s2, 1.0 / k);
        k -= 2.0;
    }
    let r = 2.0 * s;
    // e·ln2 in two parts so that large exponents keep full precision.
    const LN2_HI: f64 = core::f64::consts::LN_2;
    const LN2_LO: f64 = 2.319_046_813_846_299_6e-17;
    m64::mul_add(e as f64, LN2_HI, m64::mul_add(e as f64, LN2_LO, m64::mul_add(r, s2 * q, r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between `got` and the correctly rounded `want`.
    fn ulps32(got: f32, want: f64) -> f64 {
        let w = want as f32;
        if got == w {
            return 0.0;
        }
        let ulp = if w == 0.0 || w.is_subnormal() {
            f32::from_bits(1)
        } else {
            f32::from_bits(w.abs().to_bits() + 1) - w.abs()
        };
        (got as f64 - want).abs() / ulp as f64
    }

    #[test]
    fn exp_f32_is_within_two_ulp_across_its_range() {
        let mut worst: (f64, f32) = (0.0, 0.0);
        let mut x = -104.0f32;
        while x < 88.8 {
            let e = ulps32(exp_f32(x), (x as f64).exp());
            if e > worst.0 {
                worst = (e, x);
            }
            x += 0.000_731;
        }
        assert!(worst.0 <= 2.0, "worst error {} ulp at x = {}", worst.0, worst.1);
    }

    #[test]
    fn exp_f32_special_values_follow_ieee() {
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(89.0), f32::INFINITY);
        assert_eq!(exp_f32(-200.0), 0.0);
        assert!(exp_f32(f32::NAN).is_nan());
        // Largest finite result and a subnormal one.
        assert!(exp_f32(88.72).is_finite());
        assert!(exp_f32(-100.0) > 0.0 && exp_f32(-100.0).is_subnormal());
    }

    #[test]
    fn ln_f32_is_within_two_ulp_across_its_range() {
        let mut worst: (f64, f32) = (0.0, 0.0);
        let mut x = f32::from_bits(1);
        while x.is_finite() {
            let e = ulps32(ln_f32(x), (x as f64).ln());
            if e > worst.0 {
                worst = (e, x);
            }
            x = f32::from_bits(x.to_bits() + 9_973);
        }
        assert!(worst.0 <= 2.0, "worst error {} ulp at x = {:e}", worst.0, worst.1);
        assert_eq!(ln_f32(1.0), 0.0);
        assert_eq!(ln_f32(0.0), f32::NEG_INFINITY);
        assert_eq!(ln_f32(f32::INFINITY), f32::INFINITY);
        assert!(ln_f32(-1.0).is_nan() && ln_f32(f32::NAN).is_nan());
    }

    #[test]
    fn ln_f64_is_within_two_ulp_across_its_range() {
        let mut x = f64::from_bits(1);
        while x.is_finite() {
            let (got, want) = (ln_f64(x), x.ln());
            assert!(
                (got - want).abs() <= 2.0 * f64::EPSILON * want.abs().max(1e-300) || got == want,
                "x = {x:e}: {got} vs {want}"
            );
            x = f64::from_bits(x.to_bits() + 0x0000_3ffb_f2a3_1c07);
        }
        // Near 1, where the absolute error matters: ln(1 + d) ~ d.
        for d in [1e-300, 1e-16, 2.2e-16, 1e-8, 1e-3] {
            let (got, want) = (ln_f64(1.0 + d), (1.0 + d).ln());
            assert!((got - want).abs() <= 2.0 * f64::EPSILON * want.abs() || got == want, "1 + {d}: {got} vs {want}");
        }
        assert_eq!(ln_f64(0.0), f64::NEG_INFINITY);
        assert!(ln_f64(-0.5).is_nan());
    }

    #[test]
    fn exp_f64_is_within_two_ulp_across_its_range() {
        // Reference: e^x = e^(x/2)^2 in f64 has its own error, so compare in relative terms
        // against std's exp (within 1 ulp) with a 3-ulp budget for both.
        let mut x = -745.0f64;
        while x < 709.7 {
            let (got, want) = (exp_f64(x), x.exp());
            let rel = ((got - want) / want).abs();
            assert!(rel <= 3.0 * f64::EPSILON || want < f64::MIN_POSITIVE, "x = {x}: {got} vs {want}");
            x += 0.013_7;
        }
        assert_eq!(exp_f64(0.0), 1.0);
        assert_eq!(exp_f64(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_f64(f64::INFINITY), f64::INFINITY);
        assert!(exp_f64(f64::NAN).is_nan());
    }

    #[test]
    fn expm1_is_within_two_ulp_across_its_range() {
        // f32 against the f64 value, correctly rounded; f64 against std's exp_m1 (libm's,
        // within 1 ulp). Dense through [-2, 2], where the old `exp(x) - 1` path lost 3 ulp
        // just past ln2 / 2 (planted back, this test fails on both), then coarser to the ends.
        let ulps64 = |got: f64, want: f64| {
            if got == want {
                return 0.0;
            }
            (got - want).abs() / (f64::from_bits(want.abs().to_bits() + 1) - want.abs())
        };
        let (mut worst32, mut worst64) = ((0.0, 0.0f32), (0.0, 0.0f64));
        let mut x = -45.0f64;
        while x < 88.0 {
            let step = if x.abs() < 2.0 { 1.37e-5 } else { 3.1e-3 };
            let e32 = ulps32(expm1_f32(x as f32), (x as f32 as f64).exp_m1());
            if e32 > worst32.0 {
                worst32 = (e32, x as f32);
            }
            if x < 709.0 {
                let e64 = ulps64(expm1_f64(x), x.exp_m1());
                if e64 > worst64.0 {
                    worst64 = (e64, x);
                }
            }
            x += step;
        }
        assert!(worst32.0 <= 2.0, "f32: worst error {} ulp at x = {}", worst32.0, worst32.1);
        assert!(worst64.0 <= 2.0, "f64: worst error {} ulp at x = {}", worst64.0, worst64.1);
        for (x, want) in
            [(0.0, 0.0), (-0.0, -0.0), (f64::INFINITY, f64::INFINITY), (f64::NEG_INFINITY, -1.0), (-50.0, -1.0)]
        {
            assert_eq!(expm1_f64(x).to_bits(), f64::to_bits(want), "expm1({x})");
            assert_eq!(expm1_f32(x as f32).to_bits(), (want as f32).to_bits(), "expm1_f32({x})");
        }
        assert!(expm1_f64(f64::NAN).is_nan() && expm1_f32(f32::NAN).is_nan());
        assert_eq!(expm1_f32(89.0), f32::INFINITY);
        assert_eq!(expm1_f64(710.0), f64::INFINITY);
    }
}
