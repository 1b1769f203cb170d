//! The ops that are not one elementwise or reduction formula, as device cases of their own:
//! `where_` with three-way broadcasting, `any`/`all`, `cast` between every pair of dtypes,
//! and the constructors (`arange`, `linspace`, `eye`, `full`, `*_like`).

use super::check::{EXACT, compare};
use super::dynarray::{ALL, Dyn, any_to};
use super::samples::{self, Input, View, represent, specials};
use crate::common::devices::{Case, CaseResult};
use crate::ensure;
use ferrite::{Array, DType, Device, Error, where_};

pub const CASES: &[(&str, Case)] = &[
    ("where", where_broadcasts_three_ways),
    ("any_all", any_and_all),
    ("cast", cast_every_pair),
    ("constructors", constructors),
];

fn where_broadcasts_three_ways(d: &Device) -> CaseResult {
    let shapes: &[(&[usize], &[usize], &[usize])] = &[
        (&[], &[], &[]),
        (&[0], &[0], &[1]),
        (&[1031], &[1031], &[1031]),
        (&[37, 1], &[41], &[37, 41]),
        (&[41], &[37, 1], &[]),
    ];
    for &dtype in ALL {
        for (i, (sc, sa, sb)) in shapes.iter().enumerate() {
            let case = format!("where {dtype:?} {i}");
            let c = Input::new(
                sc,
                samples::values(DType::Bool, sc.iter().product(), samples::domain(0.0, 1.0), &case),
                View::Contiguous,
            );
            let a = Input::new(
                sa,
                samples::values(dtype, sa.iter().product(), samples::domain(-50.0, 50.0), &format!("{case} a")),
                View::Contiguous,
            );
            let b = Input::new(
                sb,
                samples::values(dtype, sb.iter().product(), samples::domain(-50.0, 50.0), &format!("{case} b")),
                View::Contiguous,
            );
            let Dyn::Bool(cond) = c.build(DType::Bool, d)? else { unreachable!() };
            let (x, y) = (a.build(dtype, d)?, b.build(dtype, d)?);
            let got = super::dynarray::pair!(&x, &y, p, q => where_(&cond, p, q)?, F32, F64, F16, BF16, I32, I64, U8, U32, Bool);
            // The reference, broadcasting by hand.
            let shape = [*sc, *sa, *sb].iter().fold(Vec::new(), |acc: Vec<usize>, s| {
                let n = acc.len().max(s.len());
                (0..n)
                    .map(|k| {
                        let p = if k + acc.len() >= n { acc[k + acc.len() - n] } else { 1 };
                        let q = if k + s.len() >= n { s[k + s.len() - n] } else { 1 };
                        if p == 1 { q } else { p }
                    })
                    .collect()
            });
            let pick = |inp: &Input, idx: &[usize]| {
                let off = shape.len() - inp.shape.len();
                let f = (0..inp.shape.len())
                    .fold(0, |acc, k| acc * inp.shape[k] + if inp.shape[k] == 1 { 0 } else { idx[k + off] });
                inp.values[f]
            };
            let want: Vec<f64> = samples::indices(&shape)
                .iter()
                .map(|idx| if pick(&c, idx) != 0.0 { pick(&a, idx) } else { pick(&b, idx) })
                .collect();
            ensure!(got.shape() == shape, "{case}: shape {:?}, expected {shape:?}", got.shape());
            compare(dtype, &got.to_f64()?, &want, EXACT, &|_| 0.0, true).map_err(|e| format!("{case}: {e}"))?;
        }
    }
    let cond = Array::from_vec_on(vec![true, false], &[2], d)?;
    let (a, b) = (Array::from_vec_on(vec![1.0f32; 3], &[3], d)?, Array::from_vec_on(vec![2.0f32; 2], &[2], d)?);
    ensure!(matches!(where_(&cond, &a, &b), Err(Error::ShapeMismatch { .. })), "where of [2], [3], [2]");
    Ok(())
}

fn any_and_all(d: &Device) -> CaseResult {
    for &dtype in ALL {
        for (vals, any, all) in [
            (vec![], false, true),
            (vec![0.0], false, false),
            (vec![0.0, 0.0, 1.0], true, false),
            (vec![1.0; 1031], true, true),
        ] {
            let n = vals.len();
            let x = Input::new(&[n], vals, View::Contiguous).build(dtype, d)?;
            let got_any = match &x {
                Dyn::Bool(a) => a.any()?,
                other => any_to!(other, identity, a => a.any()?),
            };
            let got_all = any_to!(&x, identity, a => a.all()?);
            ensure!(
                (got_any, got_all) == (any, all),
                "{dtype:?} of {n}: any {got_any} all {got_all}, expected {any} {all}"
            );
        }
        if dtype.is_float() {
            let x = Input::new(&[2], vec![f64::NAN, 0.0], View::Contiguous).build(dtype, d)?;
            ensure!(any_to!(&x, identity, a => a.any()?), "{dtype:?}: NaN is nonzero, so any() holds");
        }
    }
    Ok(())
}

fn identity<T>(x: T) -> T {
    x
}

/// The exact result of `v as dtype` by NumPy's `astype` rules as ferrite documents them: to a
/// float, rounded to nearest even; to an integer, truncated toward zero and saturated, NaN to
/// 0; to bool, nonzero.
fn cast_reference(to: DType, v: f64) -> f64 {
    match to {
        DType::Bool => (v != 0.0) as u8 as f64,
        t if t.is_float() => represent(t, v),
        DType::I32 => v as i32 as f64,
        DType::I64 => v as i64 as f64,
        DType::U8 => v as u8 as f64,
        DType::U32 => v as u32 as f64,
        _ => unreachable!(),
    }
}

fn cast_every_pair(d: &Device) -> CaseResult {
    for &from in ALL {
        let mut vals = specials(from);
        vals.extend(samples::values(from, 1031, samples::domain(-300.0, 300.0), &format!("cast {from:?}")));
        let input = Input::new(&[vals.len()], vals, View::Contiguous);
        for view in [View::Contiguous, View::Sliced] {
            let input = Input { view: view.clone(), ..input.clone() };
            let x = input.build(from, d)?;
            for &to in ALL {
                let got = match to {
                    DType::F32 => Dyn::F32(any_to!(&x, identity, a => a.cast::<f32>()?)),
                    DType::F64 => Dyn::F64(any_to!(&x, identity, a => a.cast::<f64>()?)),
                    DType::F16 => Dyn::F16(any_to!(&x, identity, a => a.cast::<ferrite::f16>()?)),
                    DType::BF16 => Dyn::BF16(any_to!(&x, identity, a => a.cast::<ferrite::bf16>()?)),
                    DType::I32 => Dyn::I32(any_to!(&x, identity, a => a.cast::<i32>()?)),
                    DType::I64 => Dyn::I64(any_to!(&x, identity, a => a.cast::<i64>()?)),
                    DType::U8 => Dyn::U8(any_to!(&x, identity, a => a.cast::<u8>()?)),
                    DType::U32 => Dyn::U32(any_to!(&x, identity, a => a.cast::<u32>()?)),
                    DType::Bool => Dyn::Bool(any_to!(&x, identity, a => a.cast::<bool>()?)),
                };
                let want: Vec<f64> = input.values.iter().map(|&v| cast_reference(to, v)).collect();
                let case = format!("cast {from:?} -> {to:?} ({view:?})");
                ensure!(got.shape() == input.shape && got.dtype() == to, "{case}: metadata");
                // Integer targets compare exactly after the reference's own saturation.
                let got = got.to_f64()?;
                compare(if to.is_float() { to } else { DType::F64 }, &got, &want, EXACT, &|_| 0.0, true)
                    .map_err(|e| format!("{case}: {e}"))?;
            }
        }
    }
    Ok(())
}

fn constructors(d: &Device) -> CaseResult {
    ferrite::with_device(d, || -> CaseResult {
        let a = Array::<f32>::arange(-3.0, 7.0, 0.5)?;
        let want: Vec<f32> = (0..20).map(|i| -3.0 + 0.5 * i as f32).collect();
        ensure!(a.to_vec()? == want && a.device() == *d, "arange(-3, 7, 0.5)");
        let i = Array::<i32>::arange(0.0, 5.0, 1.0)?;
        ensure!(i.to_vec()? == [0, 1, 2, 3, 4], "arange of i32");
        ensure!(Array::<f64>::arange(5.0, 0.0, 1.0)?.shape() == [0], "an empty arange");
        ensure!(matches!(Array::<f64>::arange(0.0, 1.0, 0.0), Err(Error::Config(_))), "a zero step");
        let l = Array::<f64>::linspace(0.0, 1.0, 5, true)?;
        ensure!(l.to_vec()? == [0.0, 0.25, 0.5, 0.75, 1.0], "linspace(0, 1, 5)");
        ensure!(Array::<f64>::linspace(2.0, 3.0, 1, true)?.to_vec()? == [2.0], "linspace with one point");
        ensure!(
            Array::<f64>::linspace(0.0, 1.0, 4, false)?.to_vec()? == [0.0, 0.25, 0.5, 0.75],
            "linspace without the end"
        );
        let e = Array::<u8>::eye(3)?;
        ensure!(e.to_vec()? == [1, 0, 0, 0, 1, 0, 0, 0, 1], "eye(3)");
        let f = Array::<i64>::full(&[2, 3], -7)?;
        ensure!(f.to_vec()? == [-7; 6] && f.shape() == [2, 3], "full");
        let z = f.cast::<ferrite::bf16>()?.zeros_like()?;
        ensure!(z.shape() == [2, 3] && z.to_vec()?.iter().all(|v| v.to_f32() == 0.0), "zeros_like");
        let o = l.cast::<f32>()?.ones_like()?;
        ensure!(o.to_vec()? == [1.0; 5] && o.device() == *d, "ones_like");
        let fl = e.cast::<bool>()?.full_like(true)?;
        ensure!(fl.to_vec()? == [true; 9], "full_like");
        Ok(())
    })
}
