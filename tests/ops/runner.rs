//! Runs one registry row on one device: every dtype the row claims, every sample, each
//! result checked against the row's f64 reference (computed here from the samples' logical
//! values), its shape, dtype and device, the inputs left as they were; then the row's error
//! inputs (`error_inputs.rs`), each the exact error with the op's name and the values. The
//! `where`, truth and cast kinds run in `runner_kinds.rs`.

use super::check::{Tol, compare};
use super::dynarray::Dyn;
use super::registry::{Kind, Row};
use super::samples::{self, Input, indices};
use crate::common::devices::CaseResult;
use crate::ensure;
use ferrite::{DType, Device, Error};

/// NumPy's broadcast shape, or `None`.
pub fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| if i + s.len() < n { 1 } else { s[i + s.len() - n] };
    (0..n)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y || y == 1 => Some(x),
            (1, y) => Some(y),
            _ => None,
        })
        .collect()
}

/// The values of `input` broadcast to `shape`, row-major.
pub fn expand(input: &Input, shape: &[usize]) -> Vec<f64> {
    let n = shape.len();
    let s = &input.shape;
    indices(shape)
        .iter()
        .map(|idx| {
            let flat = (0..s.len()).fold(0, |acc, d| {
                let i = idx[d + n - s.len()];
                acc * s[d] + if s[d] == 1 { 0 } else { i }
            });
            input.values[flat]
        })
        .collect()
}

/// Checks a result's metadata and values.
#[allow(clippy::too_many_arguments)]
pub fn judge(
    what: &str,
    row: &Row,
    got: &Dyn,
    dtype: DType,
    shape: &[usize],
    want: &[f64],
    tol: Tol,
    scale: &dyn Fn(usize) -> f64,
    device: &Device,
) -> CaseResult {
    ensure!(got.dtype() == dtype, "{what}: dtype {:?}, expected {dtype:?}", got.dtype());
    ensure!(got.shape() == shape, "{what}: shape {:?}, expected {shape:?}", got.shape());
    ensure!(got.device() == *device, "{what}: on {}, expected {device}", got.device());
    let values = got.to_f64()?;
    compare(dtype, &values, want, tol, scale, row.signed_zero).map_err(|e| format!("{what}: {e}"))?;
    Ok(())
}

/// The inputs must be unchanged by an op that does not write them.
pub fn untouched(what: &str, x: &Dyn, input: &Input) -> CaseResult {
    let now = x.to_f64()?;
    let same = now.iter().zip(&input.values).all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
    ensure!(same && now.len() == input.values.len(), "{what}: the op changed its input");
    Ok(())
}

pub fn run_row(row: &Row, d: &Device) -> CaseResult {
    for &dtype in row.dtypes {
        let case = format!("{} {dtype:?}", row.name);
        let tol = (row.tol)(dtype);
        match &row.kind {
            Kind::Unary { call, float, int } => {
                for input in samples::elementwise(dtype, row.domain, &case) {
                    let what = format!("{case} of {}", input.describe());
                    let x = input.build(dtype, d)?;
                    let y = call(&x)?;
                    let want: Vec<f64> = input
                        .values
                        .iter()
                        .map(|&v| {
                            if dtype.is_float() {
                                float(v)
                            } else {
                                samples::wrap_int(dtype, int.expect("an integer reference")(v as i128))
                            }
                        })
                        .collect();
                    judge(&what, row, &y, dtype, &input.shape, &want, tol, &|_| 0.0, d)?;
                    untouched(&what, &x, &input)?;
                }
            }
            Kind::Binary { call, scalar, assign, float, int } => {
                let f = |a: f64, b: f64| {
                    if dtype.is_float() {
                        float(a, b)
                    } else {
                        samples::wrap_int(dtype, int.expect("an integer reference")(a as i128, b as i128))
                    }
                };
                for (a, b) in samples::pairs(dtype, (row.domain, row.domain2), &case) {
                    let what = format!("{case} of {} and {}", a.describe(), b.describe());
                    let shape = broadcast(&a.shape, &b.shape).expect("samples broadcast");
                    let (x, y) = (a.build(dtype, d)?, b.build(dtype, d)?);
                    let want: Vec<f64> =
                        expand(&a, &shape).iter().zip(expand(&b, &shape)).map(|(&p, q)| f(p, q)).collect();
                    judge(&what, row, &call(&x, &y)?, dtype, &shape, &want, tol, &|_| 0.0, d)?;
                    untouched(&what, &x, &a)?;
                    untouched(&what, &y, &b)?;
                    if let Some(&s) = b.values.first().filter(|_| b.values.len() == 1 || b.shape.len() > 1) {
                        let want: Vec<f64> = a.values.iter().map(|&p| f(p, s)).collect();
                        judge(
                            &format!("{what}, scalar {s}"),
                            row,
                            &scalar(&x, s, false)?,
                            dtype,
                            &a.shape,
                            &want,
                            tol,
                            &|_| 0.0,
                            d,
                        )?;
                        let want: Vec<f64> = a.values.iter().map(|&p| f(s, p)).collect();
                        judge(
                            &format!("{what}, scalar {s} on the left"),
                            row,
                            &scalar(&x, s, true)?,
                            dtype,
                            &a.shape,
                            &want,
                            tol,
                            &|_| 0.0,
                            d,
                        )?;
                    }
                    if shape == a.shape {
                        let mut z = x.clone();
                        assign(&mut z, &y)?;
                        judge(&format!("{what}, in place"), row, &z, dtype, &shape, &want, tol, &|_| 0.0, d)?;
                        untouched(&format!("{what}: the array the in-place op's operand shared storage with"), &x, &a)?;
                    }
                }
            }
            Kind::Predicate2 { call, scalar, reference } => {
                for (a, b) in samples::pairs(dtype, (row.domain, row.domain2), &case) {
                    let what = format!("{case} of {} and {}", a.describe(), b.describe());
                    let shape = broadcast(&a.shape, &b.shape).expect("samples broadcast");
                    let (x, y) = (a.build(dtype, d)?, b.build(dtype, d)?);
                    let truth = |p: f64, q: f64| reference(p, q) as u8 as f64;
                    let want: Vec<f64> =
                        expand(&a, &shape).iter().zip(expand(&b, &shape)).map(|(&p, q)| truth(p, q)).collect();
                    judge(&what, row, &call(&x, &y)?, DType::Bool, &shape, &want, tol, &|_| 0.0, d)?;
                    if let Some(&s) = b.values.first() {
                        let want: Vec<f64> = a.values.iter().map(|&p| truth(p, s)).collect();
                        judge(
                            &format!("{what}, scalar {s}"),
                            row,
                            &scalar(&x, s, false)?,
                            DType::Bool,
                            &a.shape,
                            &want,
                            tol,
                            &|_| 0.0,
                            d,
                        )?;
                    }
                }
            }
            Kind::Predicate1 { call, reference } => {
                for input in samples::elementwise(dtype, row.domain, &case) {
                    let what = format!("{case} of {}", input.describe());
                    let x = input.build(dtype, d)?;
                    let want: Vec<f64> = input.values.iter().map(|&v| reference(v) as u8 as f64).collect();
                    judge(&what, row, &call(&x)?, DType::Bool, &input.shape, &want, tol, &|_| 0.0, d)?;
                }
            }
            Kind::Reduce { call, reference, out, scale } => {
                for (input, axes) in samples::reductions(dtype, row.domain, &case) {
                    let arg = row.name.starts_with("arg");
                    if arg && axes.as_ref().is_some_and(|a| a.len() > 1) {
                        continue;
                    }
                    for keepdims in [false, true] {
                        let what = format!("{case} of {} over {axes:?}, keepdims {keepdims}", input.describe());
                        let x = input.build(dtype, d)?;
                        let (shape, lanes) = lanes(&input, axes.as_deref(), keepdims);
                        let refs: Vec<Option<f64>> = lanes.iter().map(|l| reference(l)).collect();
                        let result = call(&x, axes.as_deref(), keepdims);
                        if refs.iter().any(Option::is_none) {
                            match result {
                                Err(Error::BadShape { .. }) => continue,
                                other => {
                                    return Err(format!(
                                        "{what}: an empty reduction gave {other:?}, expected a BadShape error"
                                    )
                                    .into());
                                }
                            }
                        }
                        let want: Vec<f64> = refs.into_iter().map(Option::unwrap).collect();
                        let scales: Vec<f64> = lanes.iter().map(|l| scale(l)).collect();
                        judge(&what, row, &result?, out(dtype), &shape, &want, tol, &|i| scales[i], d)?;
                        untouched(&what, &x, &input)?;
                    }
                }
            }
            Kind::Ternary { call, reference } => super::runner_kinds::ternary(row, *call, *reference, dtype, d)?,
            Kind::Truth { call, reference } => super::runner_kinds::truth(row, *call, *reference, dtype, d)?,
            Kind::Convert { call, to, reference } => {
                super::runner_kinds::convert(row, *call, to, *reference, dtype, d)?
            }
            Kind::Movement(m) => super::movement::run(row.name, m, dtype, d)?,
            Kind::Custom(run) => run(dtype, d).map_err(|e| format!("{case}: {e}"))?,
            Kind::Along { call, reference, out, flattens } => {
                for (input, axes) in samples::reductions(dtype, row.domain, &case) {
                    let x = input.build(dtype, d)?;
                    if *flattens && axes.is_none() {
                        // NumPy's axis=None: the flattened array (a 0-d one becomes [1]).
                        let what = format!("{case} of {} flattened", input.describe());
                        let flat = Input::new(&[input.values.len()], input.values.clone(), samples::View::Contiguous);
                        let (want, scales) = along(&flat, 0, *reference);
                        judge(&what, row, &call(&x, None)?, out(dtype), &flat.shape, &want, tol, &|i| scales[i], d)?;
                    }
                    if input.shape.is_empty() {
                        // A 0-d array has no axis: NumPy's AxisError (cumsum), or the op's own
                        // refusal (softmax: "no axis to normalise over").
                        match call(&x, Some(0)) {
                            Err(Error::AxisOutOfRange { axis: 0, ndim: 0, .. } | Error::BadShape { .. }) => continue,
                            other => return Err(format!("{case} along axis 0 of a 0-d array gave {other:?}").into()),
                        }
                    }
                    // Several axes in a sample: each one in turn (an op along one axis).
                    for axis in axes.unwrap_or_else(|| vec![-1]) {
                        let what = format!("{case} of {} along {axis}", input.describe());
                        let (want, scales) = along(&input, axis, *reference);
                        judge(
                            &what,
                            row,
                            &call(&x, Some(axis))?,
                            out(dtype),
                            &input.shape,
                            &want,
                            tol,
                            &|i| scales[i],
                            d,
                        )?;
                    }
                    untouched(&format!("{case} of {}", input.describe()), &x, &input)?;
                }
            }
        }
        super::error_inputs::check(row, dtype, d)?;
    }
    Ok(())
}

/// The result's shape and, for each output in row-major order, the input's elements it
/// reduces (in row-major order over the reduced axes).
fn lanes(input: &Input, axes: Option<&[isize]>, keepdims: bool) -> (Vec<usize>, Vec<Vec<f64>>) {
    let nd = input.shape.len();
    let reduced: Vec<bool> = match axes {
        None => vec![true; nd],
        Some(a) => (0..nd).map(|d| a.iter().any(|&x| (x + nd as isize) as usize % nd.max(1) == d)).collect(),
    };
    let kept: Vec<usize> = (0..nd).filter(|&d| !reduced[d]).map(|d| input.shape[d]).collect();
    let shape: Vec<usize> =
        if keepdims { (0..nd).map(|d| if reduced[d] { 1 } else { input.shape[d] }).collect() } else { kept.clone() };
    let mut out = vec![Vec::new(); kept.iter().product()];
    for (i, idx) in indices(&input.shape).iter().enumerate() {
        let o = (0..nd).filter(|&d| !reduced[d]).fold(0, |acc, d| acc * input.shape[d] + idx[d]);
        out[o].push(input.values[i]);
    }
    (shape, out)
}

/// The reference along `axis` for every lane, placed back at the lane's positions.
fn along(input: &Input, axis: isize, reference: fn(&[f64]) -> Vec<(f64, f64)>) -> (Vec<f64>, Vec<f64>) {
    let nd = input.shape.len();
    let ax = (axis + nd as isize) as usize % nd;
    let n = input.values.len();
    let (mut want, mut scales) = (vec![0.0; n], vec![0.0; n]);
    let mut groups: std::collections::BTreeMap<Vec<usize>, Vec<usize>> = Default::default();
    for (i, idx) in indices(&input.shape).iter().enumerate() {
        let mut key = idx.clone();
        key[ax] = 0;
        groups.entry(key).or_default().push(i);
    }
    for positions in groups.values() {
        let lane: Vec<f64> = positions.iter().map(|&i| input.values[i]).collect();
        for (&i, (v, s)) in positions.iter().zip(reference(&lane)) {
            want[i] = v;
            scales[i] = s;
        }
    }
    (want, scales)
}
