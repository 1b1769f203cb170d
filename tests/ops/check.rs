//! Judging a result against its f64 reference: the reference rounded once to the output
//! dtype, NaN where it is NaN, infinities exact, zeros' signs where the row says they matter,
//! integers exact, and floats within the row's error bound.

use super::samples::represent;
use ferrite::DType;

/// An error bound: `ulps` units in the last place of the output dtype at the reference
/// value, plus `atol` (absolute, for results that cancel: a tiny value computed from terms
/// near 1), plus `rel_sum` times the unit roundoff times a scale the runner supplies (for
/// sums: `Σ|x|`).
#[derive(Clone, Copy, Debug)]
pub struct Tol {
    pub ulps: f64,
    pub atol: f64,
    pub rel_sum: f64,
}

pub const EXACT: Tol = Tol { ulps: 0.0, atol: 0.0, rel_sum: 0.0 };

/// The spacing of `dtype`'s values at `|v|` (the smallest subnormal step near 0).
pub fn ulp(dtype: DType, v: f64) -> f64 {
    let (mant, min_exp) = match dtype {
        DType::F32 => (23, -126),
        DType::F64 => (52, -1022),
        DType::F16 => (10, -14),
        DType::BF16 => (7, -126),
        _ => return 1.0,
    };
    let e = if v == 0.0 || !v.is_finite() { min_exp } else { (v.abs().log2().floor() as i32).max(min_exp) };
    2f64.powi(e - mant)
}

/// The unit roundoff of the dtype sums accumulate in (f32 for 16-bit floats).
pub fn unit(dtype: DType) -> f64 {
    match dtype {
        DType::F64 => f64::EPSILON / 2.0,
        d if d.is_float() => f32::EPSILON as f64 / 2.0,
        _ => 0.0,
    }
}

/// Whether `got` (an element of a `dtype` result) passes for the exact value `want`.
/// `scale` multiplies `tol.rel_sum`; `signed_zero` asks that a zero's sign match.
pub fn close(dtype: DType, got: f64, want: f64, tol: Tol, scale: f64, signed_zero: bool) -> bool {
    if !dtype.is_float() {
        return got == represent(dtype, want);
    }
    let want_r = represent(dtype, want);
    if want_r.is_nan() {
        return got.is_nan();
    }
    if got.is_nan() {
        return false;
    }
    if want_r.is_infinite() || got.is_infinite() {
        // A bound wide enough to reach past the largest finite value allows infinity.
        let bound = tol.ulps * ulp(dtype, want) + tol.atol + tol.rel_sum * unit(dtype) * scale;
        return got == want_r || (want.is_finite() && (got - want).abs() <= bound && bound > 0.0);
    }
    if signed_zero && want_r == 0.0 && got == 0.0 {
        return got.is_sign_negative() == want_r.is_sign_negative();
    }
    let err = (got - want_r).abs();
    err <= tol.ulps * ulp(dtype, want_r) + tol.atol + tol.rel_sum * unit(dtype) * scale
}

/// Compares every element; the message names the first failure with its inputs' index.
pub fn compare(
    dtype: DType,
    got: &[f64],
    want: &[f64],
    tol: Tol,
    scale: &dyn Fn(usize) -> f64,
    signed_zero: bool,
) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{} elements, expected {}", got.len(), want.len()));
    }
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        if !close(dtype, g, w, tol, scale(i), signed_zero) {
            return Err(format!(
                "element {i}: got {g:e}, want {w:e} (as {dtype}: {:e}; bound {tol:?}, scale {:e})",
                represent(dtype, w),
                scale(i)
            ));
        }
    }
    Ok(())
}
