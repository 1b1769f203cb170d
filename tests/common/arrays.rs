//! Array-level helpers for the device-harness suites: inputs on a device, and matmul against
//! an f64 reference with its error bound.

use super::devices::CaseResult;
use super::{rng, uniform};
use crate::ensure;
use ferrite::{Array, DType, Device, Element, Float};

pub fn on<T: Element>(d: &Device, data: Vec<T>, shape: &[usize]) -> ferrite::Result<Array<T>> {
    Array::from_vec_on(data, shape, d)
}

pub fn random<T: Element>(case: &str, n: usize, lo: f64, hi: f64) -> Vec<T> {
    uniform(&mut rng(case), n, lo, hi).into_iter().map(T::from_f64).collect()
}

/// Error bound of a k-term dot product in T (see tests/kernels_matmul.rs), plus the final
/// rounding to T for 16-bit types.
pub fn matmul_check<T: Float>(d: &Device, a_shape: &[usize], b_shape: &[usize], out_shape: &[usize]) -> CaseResult {
    matmul_check_with::<T>(d, a_shape, b_shape, out_shape, 0.0)
}

/// A 2-D product whose inputs the kernel rounds to a unit roundoff of `input_u` first (tf32:
/// 2^-11): each product then carries up to `2·input_u` relative error on top of the sum's.
pub fn matmul_check_inputs_rounded<T: Float>(d: &Device, a: &[usize], b: &[usize], input_u: f64) -> CaseResult {
    matmul_check_with::<T>(d, a, b, &[a[0], b[1]], input_u)
}

fn matmul_check_with<T: Float>(
    d: &Device,
    a_shape: &[usize],
    b_shape: &[usize],
    out_shape: &[usize],
    input_u: f64,
) -> CaseResult {
    let case = format!("matmul {} {a_shape:?} {b_shape:?}", T::DTYPE);
    let (na, nb): (usize, usize) = (a_shape.iter().product(), b_shape.iter().product());
    let a: Vec<T> = random(&format!("{case} a"), na, -1.0, 1.0);
    let b: Vec<T> = random(&format!("{case} b"), nb, -1.0, 1.0);
    let k = *a_shape.last().unwrap();
    let n = if b_shape.len() == 2 { b_shape[1] } else { 1 };
    let m = na / k;
    let c = on(d, a.clone(), a_shape)?.matmul(&on(d, b.clone(), b_shape)?)?;
    ensure!(c.shape() == out_shape, "{case}: result shape {:?}, want {out_shape:?}", c.shape());
    let got = c.to_vec()?;
    let u = if T::DTYPE == DType::F64 { f64::EPSILON / 2.0 } else { f32::EPSILON as f64 / 2.0 };
    let out_u = match T::DTYPE {
        DType::F16 => 2f64.powi(-11),
        DType::BF16 => 2f64.powi(-8),
        _ => 0.0,
    };
    for i in 0..m {
        for j in 0..n {
            let (mut want, mut mag) = (0.0, 0.0);
            for p in 0..k {
                let t = a[i * k + p].to_f64() * b[p * n + j].to_f64();
                want += t;
                mag += t.abs();
            }
            let g = got[i * n + j].to_f64();
            let tol = (2.0 * k as f64 * u + 2.0 * input_u) * mag + out_u * want.abs() + 1e-300;
            ensure!((g - want).abs() <= tol, "{case}: C[{i}][{j}] = {g}, want {want} ± {tol}");
        }
    }
    Ok(())
}

/// NumPy's `matmul` of logical row-major values in f64, written out (batches broadcast, a 1-D
/// operand a vector): the result's shape, values, and each output's error scale
/// `(K + 1)·Σ|a·b|` (the bound of a K-term sum is a multiple of it).
pub fn matmul_reference(a: &[f64], sa: &[usize], b: &[f64], sb: &[usize]) -> (Vec<usize>, Vec<f64>, Vec<f64>) {
    let a2: Vec<usize> = if sa.len() == 1 { vec![1, sa[0]] } else { sa.to_vec() };
    let b2: Vec<usize> = if sb.len() == 1 { vec![sb[0], 1] } else { sb.to_vec() };
    let (m, k, n) = (a2[a2.len() - 2], a2[a2.len() - 1], b2[b2.len() - 1]);
    let (ba, bb) = (&a2[..a2.len() - 2], &b2[..b2.len() - 2]);
    let nb = ba.len().max(bb.len());
    let dim = |s: &[usize], i: usize| if i + s.len() < nb { 1 } else { s[i + s.len() - nb] };
    let batch: Vec<usize> = (0..nb).map(|i| dim(ba, i).max(dim(bb, i))).collect();
    let total: usize = batch.iter().product();
    let (mut want, mut scale) = (Vec::new(), Vec::new());
    for z in 0..total {
        // The batch index, then each operand's own matrix index (1 where it broadcasts).
        let mut idx = vec![0; nb];
        let mut rest = z;
        for i in (0..nb).rev() {
            idx[i] = rest % batch[i];
            rest /= batch[i];
        }
        let own = |s: &[usize]| (0..nb).fold(0, |acc, i| acc * dim(s, i) + if dim(s, i) == 1 { 0 } else { idx[i] });
        let (za, zb) = (own(ba), own(bb));
        for i in 0..m {
            for j in 0..n {
                let (mut s, mut mag) = (0.0, 0.0);
                for p in 0..k {
                    let t = a[(za * m + i) * k + p] * b[(zb * k + p) * n + j];
                    s += t;
                    mag += t.abs();
                }
                want.push(s);
                scale.push((k + 1) as f64 * mag);
            }
        }
    }
    let mut shape = batch;
    if sa.len() > 1 {
        shape.push(m);
    }
    if sb.len() > 1 {
        shape.push(n);
    }
    (shape, want, scale)
}

/// `a @ b` on `d` against [`matmul_reference`], an operand given `transposed` built as the
/// `t()` view of its transpose (the kernels read it as it is); the bound of [`matmul_check`].
pub fn matmul_views_check<T: Float>(d: &Device, a: (&[usize], bool), b: (&[usize], bool)) -> CaseResult {
    let case = format!("matmul {} {a:?} {b:?}", T::DTYPE);
    let make = |(shape, t): (&[usize], bool), what: &str| -> ferrite::Result<(Vec<f64>, Array<T>)> {
        let v: Vec<T> = random(&format!("{case} {what}"), shape.iter().product(), -1.0, 1.0);
        let logical: Vec<f64> = v.iter().map(|x| x.to_f64()).collect();
        if !t {
            return Ok((logical, on(d, v, shape)?));
        }
        // Stored with the last two axes swapped: the logical values, transposed per matrix.
        let nd = shape.len();
        let (r, c) = (shape[nd - 2], shape[nd - 1]);
        let mut stored = v.clone();
        for (z, m) in v.chunks(r * c).enumerate() {
            for i in 0..r {
                for j in 0..c {
                    stored[z * r * c + j * r + i] = m[i * c + j];
                }
            }
        }
        let mut swapped = shape.to_vec();
        swapped.swap(nd - 2, nd - 1);
        Ok((logical, on(d, stored, &swapped)?.t()))
    };
    let ((av, x), (bv, y)) = (make(a, "a")?, make(b, "b")?);
    let (shape, want, scale) = matmul_reference(&av, a.0, &bv, b.0);
    let c = x.matmul(&y)?;
    ensure!(c.shape() == shape, "{case}: shape {:?}, want {shape:?}", c.shape());
    let u = if T::DTYPE == DType::F64 { f64::EPSILON / 2.0 } else { f32::EPSILON as f64 / 2.0 };
    let out_u = match T::DTYPE {
        DType::F16 => 2f64.powi(-11),
        DType::BF16 => 2f64.powi(-8),
        _ => 0.0,
    };
    for (i, (g, (w, s))) in c.to_vec()?.iter().zip(want.iter().zip(&scale)).enumerate() {
        let tol = 2.0 * u * s + out_u * w.abs() + 1e-300;
        ensure!((g.to_f64() - w).abs() <= tol, "{case}: element {i} = {g:?}, want {w} ± {tol}");
    }
    Ok(())
}
