//! The registry's contraction rows: `matmul` (NumPy's rules: batches that broadcast, 1-D
//! operands), `dot`, `outer` and `einsum`, each over every float dtype, against f64
//! references written here (`matmul_reference` in `common/arrays.rs`, a naive `einsum` over
//! every assignment of its labels), then their error inputs. Samples: empty, 1, primes, just
//! over the 64-tile kernel (65, 129) and one product that reaches sgemm's 128-tiles (f32),
//! transposed views (read as they are), sliced views (copied), broadcast batches (stride 0).
//!
//! Error bound: a K-term sum in the compute type (f32 for the 16-bit types, which tensor cores
//! accumulate in f32 too) is within `K·u·Σ|a·b|`; twice that is allowed, plus one unit of a
//! 16-bit result's own rounding.

use super::check::{Tol, compare};
use super::dynarray::{Dyn, FLOATS, float, pair};
use super::samples::{Input, View, domain, represent, specials, values};
use crate::common::arrays::matmul_reference;
use crate::common::devices::{Case, CaseResult};
use crate::ensure;
use ferrite::{DType, Device, Error};

pub const CASES: &[(&str, Case)] = &[
    ("matmul", matmul_row),
    ("dot", dot_row),
    ("outer", outer_row),
    ("einsum", einsum_row),
    ("contraction_errors", errors),
];

fn tol(dtype: DType) -> Tol {
    let ulps = if matches!(dtype, DType::F16 | DType::BF16) { 1.0 } else { 0.0 };
    Tol { ulps, atol: 0.0, rel_sum: 2.0 }
}

/// An input of `shape` seen through `view`, with fresh values (a broadcast view repeats its
/// first slice along the first axis, as the view will).
fn input(dtype: DType, shape: &[usize], view: View, case: &str) -> Input {
    let n: usize = shape.iter().product();
    let mut v = values(dtype, n, domain(-2.0, 2.0), case);
    if view == View::Broadcast && n > 0 {
        let row: usize = shape[1..].iter().product();
        for i in row..n {
            v[i] = v[i % row];
        }
    }
    Input::new(shape, v, view)
}

/// Builds both inputs, runs `call`, checks the result's metadata and values against `want`
/// (with per-element error scales), and that the inputs are unchanged.
fn judge(
    what: &str,
    d: &Device,
    dtype: DType,
    (a, b): (&Input, Option<&Input>),
    call: &dyn Fn(&Dyn, Option<&Dyn>) -> ferrite::Result<Dyn>,
    (shape, want, scale): (Vec<usize>, Vec<f64>, Vec<f64>),
) -> CaseResult {
    let x = a.build(dtype, d)?;
    let y = b.map(|b| b.build(dtype, d)).transpose()?;
    let got = call(&x, y.as_ref()).map_err(|e| format!("{what}: {e}"))?;
    ensure!(got.dtype() == dtype, "{what}: dtype {:?}", got.dtype());
    ensure!(got.shape() == shape, "{what}: shape {:?}, expected {shape:?}", got.shape());
    ensure!(got.device() == *d, "{what}: on {}", got.device());
    compare(dtype, &got.to_f64()?, &want, tol(dtype), &|i| scale[i], false).map_err(|e| format!("{what}: {e}"))?;
    for (arr, inp) in [(Some(&x), Some(a)), (y.as_ref(), b)] {
        if let (Some(arr), Some(inp)) = (arr, inp) {
            let now = arr.to_f64()?;
            let same =
                now.iter().zip(&inp.values).all(|(p, q)| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()));
            ensure!(same, "{what}: the op changed its input");
        }
    }
    Ok(())
}

type Shapes = (&'static [usize], View, &'static [usize], View);

fn matmul_row(d: &Device) -> CaseResult {
    use View::*;
    let samples: &[Shapes] = &[
        (&[1], Contiguous, &[1], Contiguous),
        (&[7], Contiguous, &[7, 5], Contiguous),
        (&[5, 7], Contiguous, &[7], Contiguous),
        (&[3, 0], Contiguous, &[0, 4], Contiguous),
        (&[0, 3], Contiguous, &[3, 2], Contiguous),
        (&[2, 0, 3], Contiguous, &[3, 4], Contiguous),
        (&[3, 4, 0], Contiguous, &[0, 2], Contiguous),
        (&[65, 13], Transposed, &[13, 129], Contiguous),
        (&[7, 13], Contiguous, &[13, 5], Transposed),
        (&[7, 13], Transposed, &[13, 5], Transposed),
        (&[3, 5, 7], Contiguous, &[7, 4], Contiguous),
        (&[3, 5, 7], Transposed, &[7, 4], Contiguous),
        (&[7], Contiguous, &[3, 7, 4], Contiguous),
        (&[5, 7], Contiguous, &[3, 7, 4], Transposed),
        (&[2, 1, 5, 7], Contiguous, &[3, 7, 4], Contiguous),
        (&[2, 3, 5, 7], Sliced, &[7, 4], Contiguous),
        (&[3, 5, 7], Broadcast, &[3, 7, 4], Contiguous),
        (&[2, 3, 5, 7], Contiguous, &[2, 1, 7, 3], Broadcast),
        (&[37, 41], Contiguous, &[41, 29], Sliced),
    ];
    let call = |x: &Dyn, y: Option<&Dyn>| Ok(pair!(x, y.unwrap(), a, b => a.matmul(b)?, F32, F64, F16, BF16));
    for &dtype in FLOATS {
        let mut all: Vec<(Input, Input)> = samples
            .iter()
            .enumerate()
            .map(|(i, (sa, va, sb, vb))| {
                let case = format!("matmul {dtype:?} sample {i}");
                (input(dtype, sa, va.clone(), &format!("{case} a")), input(dtype, sb, vb.clone(), &format!("{case} b")))
            })
            .collect();
        if dtype == DType::F32 {
            // Batched, through sgemm (M, N >= 128) with a batch broadcast on the right.
            all.push((
                input(dtype, &[2, 129, 17], View::Contiguous, "sgemm a"),
                input(dtype, &[2, 17, 131], View::Contiguous, "sgemm b"),
            ));
        }
        // The special values, each times 1, 0 and -0.5 (NumPy's: inf · 0 is NaN).
        let sp = specials(dtype);
        let k = sp.len();
        let row = vec![1.0, 0.0, represent(dtype, -0.5)];
        all.push((Input::new(&[k, 1], sp, View::Contiguous), Input::new(&[1, 3], row, View::Contiguous)));
        for (a, b) in &all {
            let what = format!("matmul {dtype:?} of {} and {}", a.describe(), b.describe());
            let reference = matmul_reference(&a.values, &a.shape, &b.values, &b.shape);
            judge(&what, d, dtype, (a, Some(b)), &call, reference)?;
        }
    }
    Ok(())
}

fn dot_row(d: &Device) -> CaseResult {
    use View::*;
    let call = |x: &Dyn, y: Option<&Dyn>| Ok(pair!(x, y.unwrap(), a, b => a.dot(b)?, F32, F64, F16, BF16));
    let samples: &[Shapes] = &[
        (&[7], Contiguous, &[7], Contiguous),
        (&[5, 7], Transposed, &[7, 3], Contiguous),
        (&[2, 3, 4], Contiguous, &[4], Contiguous),
        (&[2, 3, 4], Contiguous, &[5, 4, 6], Transposed),
        (&[4], Contiguous, &[2, 4, 3], Contiguous),
        (&[], Contiguous, &[2, 3], Contiguous),
    ];
    for &dtype in FLOATS {
        for (i, (sa, va, sb, vb)) in samples.iter().enumerate() {
            let case = format!("dot {dtype:?} sample {i}");
            let (a, b) = (
                input(dtype, sa, va.clone(), &format!("{case} a")),
                input(dtype, sb, vb.clone(), &format!("{case} b")),
            );
            let what = format!("dot {dtype:?} of {} and {}", a.describe(), b.describe());
            // dot(a, b)[I, J, n] = Σ_p a[I, p] · b[J, p, n], written out; a 0-d operand scales.
            let reference = if sa.is_empty() {
                (sb.to_vec(), b.values.iter().map(|v| v * a.values[0]).collect(), vec![0.0; b.values.len()])
            } else {
                let (k, nb) = (sa[sa.len() - 1], sb.len());
                let n = if nb >= 2 { sb[nb - 1] } else { 1 };
                let rows = a.values.len() / k.max(1);
                let mats = if nb >= 2 { b.values.len() / (k * n).max(1) } else { 1 };
                let (mut want, mut scale) = (Vec::new(), Vec::new());
                for i in 0..rows {
                    for j in 0..mats {
                        for c in 0..n {
                            let t: Vec<f64> =
                                (0..k).map(|p| a.values[i * k + p] * b.values[(j * k + p) * n + c]).collect();
                            want.push(t.iter().sum());
                            scale.push((k + 1) as f64 * t.iter().map(|v| v.abs()).sum::<f64>());
                        }
                    }
                }
                let mut shape = sa[..sa.len() - 1].to_vec();
                if nb >= 2 {
                    shape.extend_from_slice(&sb[..nb - 2]);
                    shape.push(n);
                }
                (shape, want, scale)
            };
            judge(&what, d, dtype, (&a, Some(&b)), &call, reference)?;
        }
    }
    Ok(())
}

fn outer_row(d: &Device) -> CaseResult {
    use View::*;
    let samples: &[Shapes] = &[
        (&[3], Contiguous, &[4], Contiguous),
        (&[2, 3], Transposed, &[5], Contiguous),
        (&[0], Contiguous, &[3], Contiguous),
    ];
    let call = |x: &Dyn, y: Option<&Dyn>| Ok(pair!(x, y.unwrap(), a, b => a.outer(b)?, F32, F64, F16, BF16, I32));
    for &dtype in FLOATS.iter().chain(&[DType::I32]) {
        for (i, (sa, va, sb, vb)) in samples.iter().enumerate() {
            let case = format!("outer {dtype:?} sample {i}");
            let (a, b) = (
                input(dtype, sa, va.clone(), &format!("{case} a")),
                input(dtype, sb, vb.clone(), &format!("{case} b")),
            );
            let want: Vec<f64> = a.values.iter().flat_map(|&p| b.values.iter().map(move |&q| p * q)).collect();
            let reference = (vec![a.values.len(), b.values.len()], want.clone(), vec![0.0; want.len()]);
            judge(
                &format!("{case} of {} and {}", a.describe(), b.describe()),
                d,
                dtype,
                (&a, Some(&b)),
                &call,
                reference,
            )?;
        }
    }
    Ok(())
}

/// `einsum` over every assignment of its labels, in f64: the output's shape, values and
/// error scales (`(terms + 1)·Σ|term|`).
fn einsum_reference(spec: &str, ops: &[&Input]) -> (Vec<usize>, Vec<f64>, Vec<f64>) {
    let (lhs, out) = spec.split_once("->").unwrap();
    let ins: Vec<&[u8]> = lhs.split(',').map(str::as_bytes).collect();
    let mut labels: Vec<u8> = ins.iter().flat_map(|l| l.iter().copied()).collect();
    labels.sort_unstable();
    labels.dedup();
    let size = |c: u8| {
        let (i, l) = ins.iter().enumerate().find(|(_, l)| l.contains(&c)).unwrap();
        ops[i].shape[l.iter().position(|&x| x == c).unwrap()]
    };
    let out = out.as_bytes();
    let shape: Vec<usize> = out.iter().map(|&c| size(c)).collect();
    let total: usize = shape.iter().product();
    let (mut want, mut mag, mut terms) = (vec![0.0; total], vec![0.0; total], vec![0usize; total]);
    let sizes: Vec<usize> = labels.iter().map(|&c| size(c)).collect();
    let mut val = vec![0usize; labels.len()];
    let at = |c: u8, val: &[usize]| val[labels.iter().position(|&x| x == c).unwrap()];
    for _ in 0..sizes.iter().product::<usize>() {
        let t: f64 = ins
            .iter()
            .zip(ops)
            .map(|(l, op)| op.values[l.iter().zip(&op.shape).fold(0, |acc, (&c, &n)| acc * n + at(c, &val))])
            .product();
        let o = out.iter().zip(&shape).fold(0, |acc, (&c, &n)| acc * n + at(c, &val));
        want[o] += t;
        mag[o] += t.abs();
        terms[o] += 1;
        for i in (0..val.len()).rev() {
            val[i] += 1;
            if val[i] < sizes[i] {
                break;
            }
            val[i] = 0;
        }
    }
    let scale = mag.iter().zip(&terms).map(|(m, &t)| (t + 1) as f64 * m).collect();
    (shape, want, scale)
}

fn einsum_row(d: &Device) -> CaseResult {
    use View::*;
    type Sample = (&'static str, &'static [usize], View, &'static [usize], View);
    let samples: &[Sample] = &[
        ("ij,jk->ik", &[5, 7], Contiguous, &[7, 3], Transposed),
        ("bij,bjk->bik", &[2, 3, 4], Contiguous, &[2, 4, 5], Contiguous),
        ("ij,ij->i", &[5, 7], Transposed, &[5, 7], Contiguous),
        ("i,j->ij", &[3], Contiguous, &[4], Contiguous),
        ("bij,jk->bki", &[2, 3, 4], Contiguous, &[4, 5], Contiguous),
        ("ijk,ikl->jl", &[2, 3, 4], Contiguous, &[2, 4, 5], Contiguous),
        ("ij->ji", &[5, 7], Contiguous, &[], Contiguous),
        ("ii->i", &[6, 6], Transposed, &[], Contiguous),
        ("ii->", &[6, 6], Contiguous, &[], Contiguous),
        ("ijk->kj", &[2, 3, 4], Contiguous, &[], Contiguous),
        ("ij,jk", &[0, 3], Contiguous, &[3, 2], Contiguous),
    ];
    for &dtype in FLOATS {
        for (i, (spec, sa, va, sb, vb)) in samples.iter().enumerate() {
            let case = format!("einsum {spec} {dtype:?} sample {i}");
            let a = input(dtype, sa, va.clone(), &format!("{case} a"));
            let b = (spec.contains(',')).then(|| input(dtype, sb, vb.clone(), &format!("{case} b")));
            let full = if spec.contains("->") { spec.to_string() } else { format!("{spec}->ik") };
            let ops: Vec<&Input> = std::iter::once(&a).chain(b.as_ref()).collect();
            let reference = einsum_reference(&full, &ops);
            let call = |x: &Dyn, y: Option<&Dyn>| -> ferrite::Result<Dyn> {
                Ok(match y {
                    Some(y) => pair!(x, y, p, q => ferrite::einsum(spec, &[p, q])?, F32, F64, F16, BF16),
                    None => float!(x, p => ferrite::einsum(spec, &[p])?),
                })
            };
            judge(&format!("{case} of {}", a.describe()), d, dtype, (&a, b.as_ref()), &call, reference)?;
        }
    }
    Ok(())
}

/// Every error input as its exact kind, naming what went wrong.
fn errors(d: &Device) -> CaseResult {
    let arr = |shape: &[usize]| ferrite::Array::<f32>::from_vec_on(vec![1.0; shape.iter().product()], shape, d);
    let mismatch = |r: ferrite::Result<ferrite::Array<f32>>, lhs: &[usize], rhs: &[usize], says: &str| -> CaseResult {
        match r {
            Err(e @ Error::ShapeMismatch { .. }) if e.to_string().contains(says) => {
                let Error::ShapeMismatch { lhs: l, rhs: r, .. } = &e else { unreachable!() };
                ensure!(l == lhs && r == rhs, "{e} names {l:?} and {r:?}, expected {lhs:?} and {rhs:?}");
                Ok(())
            }
            other => {
                Err(format!("{lhs:?} and {rhs:?} gave {other:?}, expected a ShapeMismatch saying {says:?}").into())
            }
        }
    };
    mismatch(arr(&[2, 3])?.matmul(&arr(&[4, 5])?), &[2, 3], &[4, 5], "3 != 4")?;
    mismatch(arr(&[2, 3, 4])?.matmul(&arr(&[3, 4, 5])?), &[2, 3, 4], &[3, 4, 5], "[2] and [3] do not broadcast")?;
    mismatch(arr(&[])?.matmul(&arr(&[3])?), &[], &[3], "0-d")?;
    mismatch(arr(&[3])?.matmul(&arr(&[])?), &[3], &[], "0-d")?;
    mismatch(arr(&[7])?.matmul(&arr(&[2, 6, 3])?), &[7], &[2, 6, 3], "7 != 6")?;
    mismatch(arr(&[2, 3])?.dot(&arr(&[4, 2, 5])?), &[2, 3], &[4, 2, 5], "differs")?;
    mismatch(ferrite::einsum("ij,jk->ik", &[&arr(&[2, 3])?, &arr(&[4, 5])?]), &[2, 3], &[4, 5], "'j'")?;
    match ferrite::einsum("ii->i", &[&arr(&[2, 3])?]) {
        Err(Error::BadShape { op: "einsum", shape, reason }) if shape == [2, 3] && reason.contains("ii->i") => {}
        other => return Err(format!("einsum ii->i of [2, 3] gave {other:?}").into()),
    }
    let x = arr(&[2, 2])?;
    for (spec, n, says) in [
        ("ij,jk,kl->il", 3, "more than two"),
        ("...ij->ij", 1, "ellipses"),
        ("ij->k", 1, "'k' is in no operand"),
        ("ij->ii", 1, "repeats"),
        ("i1->i", 1, "not a label"),
        ("ijk->i", 1, "2 dimensions but 3 labels"),
        ("ij,jk->ik", 1, "2 operand subscripts for 1"),
    ] {
        let ops = vec![&x; n];
        match ferrite::einsum(spec, &ops) {
            Err(e @ Error::Einsum { .. }) if e.to_string().contains(spec) && e.to_string().contains(says) => {}
            other => {
                return Err(format!("einsum {spec:?} gave {other:?}, expected an Einsum error saying {says:?}").into());
            }
        }
    }
    if d.is_cuda() {
        let host = ferrite::Array::<f32>::from_vec(vec![1.0; 4], &[2, 2])?;
        for r in [x.matmul(&host), x.dot(&host), ferrite::einsum("ij,jk->ik", &[&x, &host])] {
            ensure!(matches!(r, Err(Error::DeviceMismatch { .. })), "operands on {d} and the CPU gave {r:?}");
        }
    }
    Ok(())
}
