//! Exact arithmetic for the constructors' references: `x · y + z` computed on integers and
//! rounded once to f64, with no floating-point operation but the final conversion, so the
//! reference of `arange` and `linspace` does not share a formula with the code it checks.

/// `(m, e)` with `v = m · 2^e` exactly and `m` odd (or zero), `v` finite.
fn split(v: f64) -> (i128, i32) {
    let bits = v.to_bits();
    let (field, frac) = (((bits >> 52) & 0x7ff) as i32, (bits & ((1 << 52) - 1)) as i128);
    let (mut m, mut e) = if field == 0 { (frac, -1074) } else { (frac | 1 << 52, field - 1075) };
    if m == 0 {
        return (0, 0);
    }
    let tz = m.trailing_zeros();
    m >>= tz;
    e += tz as i32;
    (if v < 0.0 { -m } else { m }, e)
}

/// `2^e` for `e` in the normal range.
fn pow2(e: i32) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// `n · 2^e` rounded once to f64, to nearest even (`n` nonzero).
fn round(n: i128, mut e: i32) -> f64 {
    let neg = n < 0;
    let mut a = n.unsigned_abs();
    if e < -1074 {
        // Below the smallest subnormal's unit: round the integer to that unit first.
        let shift = (-1074 - e) as u32;
        a = if shift >= 128 {
            0
        } else {
            let (q, r, half) = (a >> shift, a & ((1u128 << shift) - 1), 1u128 << (shift - 1));
            if r > half || (r == half && q & 1 == 1) { q + 1 } else { q }
        };
        e = -1074;
    }
    // `as` rounds to nearest even; scaling by a power of two is then exact (a rounded `a`
    // has more than 53 bits, so the result is normal).
    let f = a as f64;
    let v = if e < -1022 {
        f * pow2(e + 1074) * f64::from_bits(1)
    } else if e > 1023 {
        f * pow2(1023) * if e - 1023 > 1023 { f64::INFINITY } else { pow2(e - 1023) }
    } else {
        f * pow2(e)
    };
    if neg { -v } else { v }
}

/// `x · y + z` rounded once to f64 (what one fused multiply-add gives); an error where the
/// exact value needs more than 126 bits (the samples never do).
pub fn fused(x: f64, y: f64, z: f64) -> Result<f64, String> {
    if !(x.is_finite() && y.is_finite() && z.is_finite()) {
        return Err(format!("fused({x}, {y}, {z}): not finite"));
    }
    if x == 0.0 || y == 0.0 {
        // An exact zero product: z itself, and a zero sum is -0 only when both are.
        let product_negative = x.is_sign_negative() != y.is_sign_negative();
        return Ok(if z == 0.0 { if product_negative && z.is_sign_negative() { -0.0 } else { 0.0 } } else { z });
    }
    let ((mx, ex), (my, ey), (mz, ez)) = (split(x), split(y), split(z));
    let (mp, ep) = (mx * my, ex + ey); // at most 106 bits
    if mz == 0 {
        return Ok(round(mp, ep));
    }
    let e = ep.min(ez);
    let widen = |m: i128, shift: i32| {
        (shift < 126 && (m.unsigned_abs().leading_zeros() as i32) > shift + 1)
            .then(|| m << shift)
            .ok_or_else(|| format!("fused({x}, {y}, {z}) needs more than 126 bits"))
    };
    let sum = widen(mp, ep - e)? + widen(mz, ez - e)?;
    // An exact zero sum is +0 when rounding to nearest.
    Ok(if sum == 0 { 0.0 } else { round(sum, e) })
}

/// Checks of the reference itself against cases whose answer is known.
pub fn self_check() {
    assert_eq!(fused(3.0, 0.1, -3.0).unwrap(), 3.0f64.mul_add(0.1, -3.0));
    assert_eq!(fused(7.0, 0.1, 0.3).unwrap(), 7.0f64.mul_add(0.1, 0.3));
    // 0.1 · 10 is 1 + 2^-54 exactly: the fused result is 1, the rounded product plus 0 too.
    assert_eq!(fused(10.0, 0.1, 0.0).unwrap(), 1.0);
    assert_eq!(fused(0.75, 5e-324, 0.0).unwrap(), 5e-324);
    assert_eq!(fused(0.5, 5e-324, 0.0).unwrap(), 0.0);
    assert_eq!(fused(1.0, 1.0, -1.0).unwrap().to_bits(), 0.0f64.to_bits());
    assert_eq!(fused(0.0, 1.0, -0.0).unwrap().to_bits(), 0.0f64.to_bits());
    assert_eq!(fused(-0.0, 1.0, -0.0).unwrap().to_bits(), (-0.0f64).to_bits());
    assert_eq!(fused(1e308, 10.0, 0.0).unwrap(), f64::INFINITY);
    assert!(fused(-3.0, 2.5, 1e-300).is_err(), "too wide for the integers: refused, not guessed");
}
