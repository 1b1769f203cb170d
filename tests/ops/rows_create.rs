//! Registry rows of the constructors, on every device and dtype they take: `arange`
//! (integer, fractional and negative steps, empty ranges, a `-0` start, values that saturate
//! the integer dtypes), `linspace` (with and without the endpoint, one point, equal bounds,
//! the step that underflows), `eye`, `full` / `zeros` / `ones` (every special value) and
//! their `_like` (of views), at the usual awkward sizes. References are independent: element
//! `i` of an iota is `i · step + start` computed exactly on integers and rounded once
//! (`exact.rs`), then converted by the documented cast rule; the first element of `arange`
//! is `start` itself and the last of `linspace(endpoint=True)` is `stop`, as NumPy writes them.
//! Their error inputs are in `rows_create_errors.rs`.

use super::check::{EXACT, compare};
use super::dynarray::{ALL, Dyn, FLOATS, FromF64, NUMS, each};
use super::exact::fused;
use super::registry::{Kind, Row};
use super::rows_create_errors as errors;
use super::rows_logic::cast_reference;
use super::samples::{self, domain, represent, specials};
use crate::common::devices::CaseResult;
use crate::ensure;
use ferrite::{Array, DType, Device, Result, bf16, f16, with_device};

/// `$body` with `$t` the element type of `$dtype`, for the listed dtypes (`Variant: type`),
/// its result wrapped as that `Dyn` variant; any other dtype is a runner bug (the rows' dtypes
/// say which run), named with `$what`.
macro_rules! dyn_of {
    ($dtype:expr, |$t:ident| $body:expr, [$($d:ident: $ty:ty),*], $what:literal) => {
        match $dtype {
            $(DType::$d => {
                type $t = $ty;
                Dyn::$d($body)
            })*
            #[allow(unreachable_patterns)]
            other => panic!("{} was given {other:?}", $what),
        }
    };
}
pub(crate) use dyn_of;

/// [`dyn_of`] over every dtype.
macro_rules! dyn_typed {
    ($dtype:expr, |$t:ident| $body:expr) => {
        dyn_of!($dtype, |$t| $body, [F32: f32, F64: f64, F16: f16, BF16: bf16, I32: i32, I64: i64, U8: u8, U32: u32, Bool: bool], "a constructor")
    };
}
pub(crate) use dyn_typed;

/// [`dyn_of`] over the numeric dtypes.
macro_rules! dyn_numeric {
    ($dtype:expr, |$t:ident| $body:expr) => {
        dyn_of!($dtype, |$t| $body, [F32: f32, F64: f64, F16: f16, BF16: bf16, I32: i32, I64: i64, U8: u8, U32: u32], "a numeric constructor")
    };
}
pub(crate) use dyn_numeric;

/// [`dyn_of`] over the floats.
macro_rules! dyn_floating {
    ($dtype:expr, |$t:ident| $body:expr) => {
        dyn_of!($dtype, |$t| $body, [F32: f32, F64: f64, F16: f16, BF16: bf16], "a float constructor")
    };
}
pub(crate) use dyn_floating;

/// Checks a constructor's result: dtype, shape, device, and values against the exact
/// reference (floats rounded once, zeros' signs kept; integers by the cast rule, as f64).
fn judge(what: &str, got: &Dyn, dtype: DType, shape: &[usize], exact: &[f64], d: &Device) -> CaseResult {
    ensure!(got.dtype() == dtype, "{what}: dtype {:?}", got.dtype());
    ensure!(got.shape() == shape, "{what}: shape {:?}, expected {shape:?}", got.shape());
    ensure!(got.device() == *d, "{what}: on {}, expected {d}", got.device());
    let (as_type, want): (DType, Vec<f64>) = if dtype.is_float() {
        (dtype, exact.to_vec())
    } else {
        (DType::F64, exact.iter().map(|&v| cast_reference(v, dtype)).collect())
    };
    compare(as_type, &got.to_f64()?, &want, EXACT, &|_| 0.0, true).map_err(|e| format!("{what}: {e}").into())
}

pub fn arange_dyn(t: DType, start: f64, stop: f64, step: f64, d: &Device) -> Result<Dyn> {
    Ok(dyn_numeric!(t, |T| Array::<T>::arange_on(start, stop, step, d)?))
}

pub fn linspace_dyn(t: DType, start: f64, stop: f64, num: usize, endpoint: bool, d: &Device) -> Result<Dyn> {
    Ok(dyn_floating!(t, |T| Array::<T>::linspace_on(start, stop, num, endpoint, d)?))
}

const ARANGES: &[(f64, f64, f64)] = &[
    (0.0, 0.0, 1.0),
    (5.0, 0.0, 1.0),
    (0.0, 1.0, 1.0),
    (0.0, 7.0, 1.0),
    (-3.0, 254.0, 1.0),
    (0.0, 257.5, 1.0),
    (1.0, 1032.0, 1.0),
    (-3.5, 7.0, 0.25),
    (10.0, -20.0, -3.0),
    (-3.0, 100.0, 0.1),
    (1e9, 2e9, 3.3e6),
    (-300.0, 300.0, 7.0),
    (-0.0, 3.0, 1.0),
    (0.5, -0.5, -0.125),
];

fn arange(t: DType, d: &Device) -> CaseResult {
    for &(start, stop, step) in ARANGES {
        let what = format!("arange({start:?}, {stop}, {step}) {t:?}");
        let n = ((stop - start) / step).ceil().max(0.0) as usize;
        let want = (0..n)
            .map(|i| if i == 0 { Ok(start) } else { fused(i as f64, step, start) })
            .collect::<Result<Vec<f64>, String>>()?;
        judge(&what, &arange_dyn(t, start, stop, step, d)?, t, &[n], &want, d)?;
        let default =
            with_device(d, || -> Result<Dyn> { Ok(dyn_numeric!(t, |T| Array::<T>::arange(start, stop, step)?)) })?;
        judge(&format!("{what} on the default device"), &default, t, &[n], &want, d)?;
    }
    Ok(())
}

const LINSPACES: &[(f64, f64, usize, bool)] = &[
    (0.0, 1.0, 0, true),
    (0.0, 1.0, 0, false),
    (2.0, 3.0, 1, true),
    (2.0, 3.0, 1, false),
    (0.0, 1.0, 5, true),
    (0.0, 1.0, 4, false),
    (-1.0, 1.0, 7, true),
    (-3.3, 1e3, 257, true),
    (1e-3, -7.7, 1031, false),
    (0.0, 5e-324, 5, true),
    (5.0, 5.0, 3, true),
    (-0.0, -0.0, 2, true),
    (-2.5, 1.5, 3001, true),
];

fn linspace(t: DType, d: &Device) -> CaseResult {
    for &(start, stop, num, endpoint) in LINSPACES {
        let what = format!("linspace({start:?}, {stop:?}, {num}, endpoint={endpoint}) {t:?}");
        // NumPy's definition: step = delta / div, and (i / div) · delta where that is 0.
        let div = if endpoint { num.saturating_sub(1) } else { num } as f64;
        let delta = stop - start;
        let step = delta / div;
        let want = (0..num)
            .map(|i| match i {
                _ if endpoint && num > 1 && i == num - 1 => Ok(stop),
                _ if div > 0.0 && step == 0.0 => fused(i as f64 / div, delta, start),
                _ if div > 0.0 => fused(i as f64, step, start),
                _ => fused(i as f64, delta, start),
            })
            .collect::<Result<Vec<f64>, String>>()?;
        judge(&what, &linspace_dyn(t, start, stop, num, endpoint, d)?, t, &[num], &want, d)?;
    }
    Ok(())
}

fn eye(t: DType, d: &Device) -> CaseResult {
    for n in [0, 1, 7, 17, 31] {
        let want: Vec<f64> = (0..n * n).map(|k| (k / n == k % n) as u8 as f64).collect();
        judge(&format!("eye({n}) {t:?}"), &dyn_numeric!(t, |T| Array::<T>::eye_on(n, d)?), t, &[n, n], &want, d)?;
        let default = with_device(d, || -> Result<Dyn> { Ok(dyn_numeric!(t, |T| Array::<T>::eye(n)?)) })?;
        judge(&format!("eye({n}) {t:?} on the default device"), &default, t, &[n, n], &want, d)?;
    }
    Ok(())
}

const SHAPES: &[&[usize]] = &[&[], &[0], &[1], &[7], &[257], &[1031], &[3, 0], &[37, 41]];

fn full(t: DType, d: &Device) -> CaseResult {
    let values = specials(t);
    for (k, shape) in SHAPES.iter().enumerate() {
        let n: usize = shape.iter().product();
        // Every special value on the block-and-one size, one each elsewhere.
        let picks: Vec<f64> = if n == 257 { values.clone() } else { vec![values[k % values.len()]] };
        for v in picks {
            let what = format!("full({shape:?}, {v:?}) {t:?}");
            let got = dyn_typed!(t, |T| Array::<T>::full_on(shape, <T as FromF64>::from_f64(v), d)?);
            judge(&what, &got, t, shape, &vec![v; n], d)?;
        }
        let zeros = with_device(d, || -> Result<Dyn> { Ok(dyn_typed!(t, |T| Array::<T>::zeros(shape)?)) })?;
        judge(&format!("zeros({shape:?}) {t:?}"), &zeros, t, shape, &vec![0.0; n], d)?;
        let ones = with_device(d, || -> Result<Dyn> { Ok(dyn_typed!(t, |T| Array::<T>::ones(shape)?)) })?;
        judge(&format!("ones({shape:?}) {t:?}"), &ones, t, shape, &vec![1.0; n], d)?;
    }
    Ok(())
}

/// `zeros_like`, `ones_like` and `full_like` of every elementwise sample (views included):
/// contiguous results of the sample's shape on its device, the sample untouched.
fn like(t: DType, d: &Device) -> CaseResult {
    let value = represent(t, -2.5);
    for input in samples::elementwise(t, domain(-10.0, 10.0), &format!("like {t:?}")) {
        let what = format!("_like of {} {t:?}", input.describe());
        let x = input.build(t, d)?;
        let n = input.values.len();
        let z = each!(&x, a => a.zeros_like()?);
        judge(&format!("zeros{what}"), &z, t, &input.shape, &vec![0.0; n], d)?;
        let o = each!(&x, a => a.ones_like()?);
        judge(&format!("ones{what}"), &o, t, &input.shape, &vec![1.0; n], d)?;
        let f = each!(&x, a => a.full_like(FromF64::from_f64(value))?);
        judge(&format!("full{what}"), &f, t, &input.shape, &vec![value; n], d)?;
        super::runner::untouched(&what, &x, &input)?;
    }
    Ok(())
}

/// Seeded samples: the same values on every device (generated on the host), in range.
fn rand(t: DType, d: &Device) -> CaseResult {
    for shape in SHAPES {
        let n: usize = shape.iter().product();
        let here = with_device(d, || -> Result<Dyn> {
            Ok(dyn_floating!(t, |T| Array::<T>::rand_uniform(shape, -2.0, 3.0, 11)?))
        })?;
        let cpu = with_device(&Device::Cpu, || -> Result<Dyn> {
            Ok(dyn_floating!(t, |T| Array::<T>::rand_uniform(shape, -2.0, 3.0, 11)?))
        })?;
        let (v, c) = (here.to_f64()?, cpu.to_f64()?);
        ensure!(here.device() == *d && here.shape() == *shape && v.len() == n, "rand_uniform({shape:?}) metadata");
        ensure!(v == c, "rand_uniform({shape:?}) {t:?}: other values than the CPU's for the same seed");
        // Rounding to a narrow dtype can reach the upper bound itself.
        ensure!(v.iter().all(|x| (-2.0..=3.0).contains(x)), "rand_uniform({shape:?}) {t:?} outside [-2, 3]");
    }
    Ok(())
}

pub fn rows() -> Vec<Row> {
    vec![
        Row::new("arange", NUMS, Kind::Custom(arange)).errors(errors::arange()),
        Row::new("linspace", FLOATS, Kind::Custom(linspace)).errors(errors::linspace()),
        Row::new("eye", NUMS, Kind::Custom(eye)).errors(errors::eye()),
        Row::new("full", ALL, Kind::Custom(full)).errors(errors::full()),
        Row::new("like", ALL, Kind::Custom(like)),
        Row::new("rand_uniform", FLOATS, Kind::Custom(rand)).errors(errors::rand()),
    ]
}
