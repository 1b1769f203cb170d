//! f64 reference formulas that `std` lacks, written from their definitions (not from the
//! kernels' code): `erf`, and NumPy's integer and float division rules.

/// The error function: the series of positive terms (Abramowitz & Stegun 7.1.6) below 2,
/// `1 - erfc` above; accurate to a few units of f64 everywhere.
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs();
    let r = if a < 2.0 { erf_series(a) } else { 1.0 - erfc(a) };
    if x < 0.0 { -r } else { r }
}

/// `erf(a)` for `0 ≤ a < 2`: `2/√π · e^(-a²) · Σ 2ⁿ a^(2n+1) / (1·3·5···(2n+1))`, every term
/// positive, so no cancellation.
fn erf_series(a: f64) -> f64 {
    let (mut term, mut sum, mut n) = (a, a, 0.0);
    while term > 1e-17 * sum {
        n += 1.0;
        term *= 2.0 * a * a / (2.0 * n + 1.0);
        sum += term;
    }
    2.0 / std::f64::consts::PI.sqrt() * (-a * a).exp() * sum
}

/// `erfc(a) = 1 - erf(a)` for `a ≥ 0`, with a small relative error where it is tiny: `1 -`
/// the series below 2 (erf ≤ 0.9954 there), the continued fraction (A&S 7.1.14)
/// `e^(-a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + ...))))` above, evaluated from its tail.
pub fn erfc(a: f64) -> f64 {
    if a < 2.0 {
        return 1.0 - erf_series(a);
    }
    let mut k = 0.0;
    for n in (1..=400).rev() {
        k = (n as f64 / 2.0) / (a + k);
    }
    (-a * a).exp() / std::f64::consts::PI.sqrt() / (a + k)
}

/// Floor division (Python's and NumPy's `//`), 0 for a zero divisor (NumPy's result, which it
/// warns about).
pub fn floor_div(x: i128, y: i128) -> i128 {
    if y == 0 {
        return 0;
    }
    let q = x / y;
    if x % y != 0 && ((x < 0) != (y < 0)) { q - 1 } else { q }
}

/// The remainder with the divisor's sign (NumPy's `%`), 0 for a zero divisor.
pub fn floor_rem(x: i128, y: i128) -> i128 {
    if y == 0 { 0 } else { x - floor_div(x, y) * y }
}

/// NumPy's float `%`: `fmod`, moved into the divisor's sign, a zero result taking the
/// divisor's sign; NaN for a zero divisor or an infinite dividend.
pub fn float_rem(x: f64, y: f64) -> f64 {
    let r = x % y;
    if r.is_nan() {
        return r;
    }
    if r == 0.0 {
        return 0f64.copysign(y);
    }
    if (r < 0.0) != (y < 0.0) { r + y } else { r }
}

/// NaN-propagating maximum and minimum (NumPy's `maximum`/`minimum`).
pub fn maximum(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() { f64::NAN } else { x.max(y) }
}

pub fn minimum(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() { f64::NAN } else { x.min(y) }
}

/// The logistic function, without overflow.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 { 1.0 / (1.0 + (-x).exp()) } else { x.exp() / (1.0 + x.exp()) }
}

/// The references' own check, run before any row (this binary has no `#[test]` harness):
/// `erf` and `erfc` against tabulated values (A&S table 7.1, Python's `math.erfc`), 0 included.
pub fn self_check() {
    for (a, want) in [
        (0.5, 0.4795001221869535),
        (2.0, 0.004677734981047265),
        (3.0, 2.2090496998585438e-05),
        (4.74, 2.0366370347625475e-11),
        (10.0, 2.088487583762545e-45),
        (26.0, 5.663192408856143e-296),
    ] {
        assert!((erfc(a) / want - 1.0).abs() < 1e-14, "reference erfc({a}) = {}, tabulated {want}", erfc(a));
    }
    for (x, want) in [
        (0.0, 0.0),
        (0.5, 0.5204998778130465),
        (1.0, 0.8427007929497149),
        (2.0, 0.9953222650189527),
        (3.5, 0.9999992569016276),
        (-1.0, -0.8427007929497149),
        (7.0, 1.0),
        (f64::INFINITY, 1.0),
    ] {
        assert!((erf(x) - want).abs() < 1e-14, "reference erf({x}) = {}, tabulated {want}", erf(x));
    }
}
