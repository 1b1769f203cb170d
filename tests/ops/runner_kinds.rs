//! The runner's kinds beyond one formula per element: `where` (three operands broadcast
//! together, the condition in several shapes and views of its own), whole-array truth tests
//! (`any`, `all`) and conversions to every other dtype (`cast`). Samples are the runner's
//! usual ones (empty, 0-d, 1, primes, just over a block, views, the specials).

use super::check::{EXACT, compare};
use super::dynarray::Dyn;
use super::registry::Row;
use super::runner::{broadcast, expand, judge, untouched};
use super::samples::{self, Input, View, domain};
use crate::common::devices::CaseResult;
use crate::ensure;
use ferrite::{DType, Device};

/// Conditions for a result of `shape`: the same shape (contiguous and, for 2-D, sliced), its
/// last axis (broadcast down), a 0-d one, and one that adds a leading axis of 2 (the
/// condition grows the result).
fn conditions(shape: &[usize], case: &str) -> Vec<Input> {
    let mut shapes = vec![(shape.to_vec(), View::Contiguous), (vec![], View::Contiguous)];
    if let Some(&last) = shape.last() {
        shapes.push((vec![last], View::Contiguous));
    }
    if shape.len() == 2 && shape.iter().all(|&n| n > 0) {
        shapes.push((shape.to_vec(), View::Sliced));
    }
    if shape.iter().product::<usize>() <= 2000 {
        let mut grown = vec![2];
        grown.extend(shape);
        shapes.push((grown, View::Contiguous));
    }
    shapes
        .into_iter()
        .enumerate()
        .map(|(i, (s, v))| {
            let n = s.iter().product();
            Input::new(&s, samples::values(DType::Bool, n, domain(0.0, 1.0), &format!("{case} condition {i}")), v)
        })
        .collect()
}

pub fn ternary(
    row: &Row,
    call: fn(&Dyn, &Dyn, &Dyn) -> ferrite::Result<Dyn>,
    reference: fn(bool, f64, f64) -> f64,
    dtype: DType,
    d: &Device,
) -> CaseResult {
    let case = format!("{} {dtype:?}", row.name);
    for (a, b) in samples::pairs(dtype, (row.domain, row.domain2), &case) {
        let ab = broadcast(&a.shape, &b.shape).expect("samples broadcast");
        let (x, y) = (a.build(dtype, d)?, b.build(dtype, d)?);
        for c in conditions(&ab, &format!("{case} {}", a.describe())) {
            let what = format!("{case} of {} ? {} : {}", c.describe(), a.describe(), b.describe());
            let shape = broadcast(&c.shape, &ab).expect("conditions broadcast");
            let cond = c.build(DType::Bool, d)?;
            let (cv, av, bv) = (expand(&c, &shape), expand(&a, &shape), expand(&b, &shape));
            let want: Vec<f64> = (0..cv.len()).map(|i| reference(cv[i] != 0.0, av[i], bv[i])).collect();
            judge(&what, row, &call(&cond, &x, &y)?, dtype, &shape, &want, (row.tol)(dtype), &|_| 0.0, d)?;
            untouched(&what, &cond, &c)?;
        }
        untouched(&case, &x, &a)?;
        untouched(&case, &y, &b)?;
    }
    Ok(())
}

pub fn truth(
    row: &Row,
    call: fn(&Dyn) -> ferrite::Result<bool>,
    reference: fn(&[f64]) -> bool,
    dtype: DType,
    d: &Device,
) -> CaseResult {
    let case = format!("{} {dtype:?}", row.name);
    let mut inputs = samples::elementwise(dtype, row.domain, &case);
    // All zeros and all nonzero, at sizes past a block: the answers the random samples rarely give.
    for (i, v) in [0.0, 1.0].into_iter().enumerate() {
        for n in [1, 257, 1031] {
            inputs.push(Input::new(&[n], vec![v; n], View::Contiguous));
        }
        inputs.push(Input::new(&[37, 41], vec![v; 37 * 41], [View::Transposed, View::Sliced][i].clone()));
    }
    for input in inputs {
        let what = format!("{case} of {}", input.describe());
        let x = input.build(dtype, d)?;
        let (got, want) = (call(&x)?, reference(&input.values));
        ensure!(got == want, "{what}: {got}, expected {want}");
        untouched(&what, &x, &input)?;
    }
    Ok(())
}

pub fn convert(
    row: &Row,
    call: fn(&Dyn, DType) -> ferrite::Result<Dyn>,
    to: &[DType],
    reference: fn(f64, DType) -> f64,
    dtype: DType,
    d: &Device,
) -> CaseResult {
    let case = format!("{} {dtype:?}", row.name);
    for input in samples::elementwise(dtype, row.domain, &case) {
        let x = input.build(dtype, d)?;
        for &t in to {
            let what = format!("{case} -> {t:?} of {}", input.describe());
            let want: Vec<f64> = input.values.iter().map(|&v| reference(v, t)).collect();
            let y = call(&x, t)?;
            ensure!(y.dtype() == t && y.shape() == input.shape && y.device() == *d, "{what}: metadata");
            // Integer results compare exactly as f64 (the reference saturated them already;
            // i64's bound reads back as 2^63, which the dtype's own check would wrap).
            let as_type = if t.is_float() { t } else { DType::F64 };
            compare(as_type, &y.to_f64()?, &want, EXACT, &|_| 0.0, row.signed_zero)
                .map_err(|e| format!("{what}: {e}"))?;
        }
        untouched(&case, &x, &input)?;
    }
    Ok(())
}
