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
