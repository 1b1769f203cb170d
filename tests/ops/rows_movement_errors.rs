//! The movement rows' error inputs (each the exact `ferrite::Error`, naming the values) and
//! the cases a row's samples cannot express: writing into a slice through an array that owns
//! its storage (no copy-on-write), into a broadcast view, from a view of the array itself,
//! and `slice_fill`.

use super::dynarray::Dyn;
use super::movement::{Sample, ones, typed};
use super::rows_join as rj;
use super::rows_movement as rm;
use super::samples::{Input, View};
use crate::common::devices::CaseResult;
use crate::ensure;
use ferrite::{Array, DType, Device, Error, Result, SliceArg, s};

fn with(axis: Option<isize>, ints: &[isize], spec: &[SliceArg]) -> Sample {
    Sample { inputs: Vec::new(), axis, ints: ints.to_vec(), spec: spec.to_vec() }
}

/// Fails unless `$res` is an error matching `$pat`.
macro_rules! refuses {
    ($res:expr, $pat:pat $(if $guard:expr)?, $what:expr) => {
        match $res {
            Err($pat) $(if $guard)? => {}
            other => return Err(format!("{}: gave {:?}", $what, other.map(|_| ())).into()),
        }
    };
}

fn one(dtype: DType, shape: &[usize], d: &Device) -> Result<Vec<Dyn>> {
    Ok(vec![ones(dtype, shape, d)?])
}

/// An array on the CPU when `d` is a CUDA device, for the device-mismatch inputs.
fn elsewhere(dtype: DType, shape: &[usize], d: &Device) -> Result<Option<Dyn>> {
    if d.is_cuda() { Ok(Some(ones(dtype, shape, &Device::Cpu)?)) } else { Ok(None) }
}

pub fn slice(t: DType, d: &Device) -> CaseResult {
    let (f, x) = (typed!(rm::slice), one(t, &[37, 41], d)?);
    refuses!(
        f(&x, &with(None, &[], &s![0, 41])),
        Error::IndexOutOfRange { index: 41, axis: 1, size: 41, .. },
        "[0, 41]"
    );
    refuses!(f(&x, &with(None, &[], &s![-38])), Error::IndexOutOfRange { index: -38, axis: 0, size: 37, .. }, "[-38]");
    refuses!(f(&x, &with(None, &[], &s![1, 2, 3])), Error::BadShape { .. }, "three indices of a 2-D array");
    refuses!(f(&x, &with(None, &[], &s![..;0])), Error::BadShape { .. }, "a zero step");
    let two = [SliceArg::Ellipsis, SliceArg::Ellipsis];
    refuses!(f(&x, &with(None, &[], &two)), Error::BadShape { .. }, "two ellipses");
    refuses!(f(&one(t, &[], d)?, &with(None, &[], &s![0])), Error::BadShape { .. }, "an index of a 0-d array");
    Ok(())
}

pub fn slice_assign(t: DType, d: &Device) -> CaseResult {
    let f = typed!(rm::slice_assign);
    let x = ones(t, &[37, 41], d)?;
    refuses!(
        f(&[x.clone(), ones(t, &[3], d)?], &with(None, &[], &s![1..3, 5..9])),
        Error::ShapeMismatch { ref lhs, ref rhs, .. } if lhs == &[3] && rhs == &[2, 4],
        "a [3] value into a [2, 4] slice"
    );
    refuses!(
        f(&[x.clone(), ones(t, &[], d)?], &with(None, &[], &s![37])),
        Error::IndexOutOfRange { index: 37, axis: 0, size: 37, .. },
        "index 37"
    );
    if let Some(host) = elsewhere(t, &[], d)? {
        refuses!(f(&[x.clone(), host], &with(None, &[], &s![0])), Error::DeviceMismatch { .. }, "a value on the CPU");
    }
    owned_writes(t, d)
}

/// Writes that need no copy-on-write, and the ones that must copy although nothing else
/// holds the storage (a broadcast view), or because the value is a view of the target.
fn owned_writes(t: DType, d: &Device) -> CaseResult {
    let vals = |n: usize| (0..n).map(|i| super::samples::represent(t, (i % 50) as f64)).collect::<Vec<_>>();
    // A transposed view that alone holds its storage: written in place through its strides.
    let base = Input::new(&[41, 37], vals(41 * 37), View::Contiguous);
    let mut want: Vec<f64> = (0..37 * 41).map(|i| base.values[(i % 41) * 37 + i / 41]).collect();
    let mut x = super::dynarray::each!(&base.build(t, d)?, b => b.t());
    let v = ones(t, &[], d)?;
    super::dynarray::pair!(&mut x, &v, a, b => { a.slice_assign(&s![2..5, ..;-3], b)?; a.clone() }, F32, F64, F16, BF16, I32, I64, U8, U32, Bool);
    for r in 2..5 {
        for c in (0..41).rev().step_by(3) {
            want[r * 41 + c] = 1.0;
        }
    }
    ensure!(x.to_f64()? == want, "{t:?}: slice_assign into a transposed view that owns its storage");
    // A broadcast view owning its storage: one row written, the others keep the old value.
    let row = Input::new(&[1, 5], vals(5), View::Contiguous);
    let mut b = super::dynarray::each!(&row.build(t, d)?, a => a.broadcast_to(&[4, 5])?);
    super::dynarray::pair!(&mut b, &v, a, z => { a.slice_assign(&s![2], z)?; a.clone() }, F32, F64, F16, BF16, I32, I64, U8, U32, Bool);
    let want: Vec<f64> = (0..20).map(|i| if i / 5 == 2 { 1.0 } else { row.values[i % 5] }).collect();
    ensure!(b.to_f64()? == want, "{t:?}: slice_assign into row 2 of a broadcast view changed {:?}", b.to_f64()?);
    // The value a view of the target: x[1:] = x[:-1] reads the old values.
    let src = Input::new(&[9], vals(9), View::Contiguous);
    let mut y = src.build(t, d)?;
    let z = super::dynarray::each!(&y, a => a.slice(&s![..-1])?);
    super::dynarray::pair!(&mut y, &z, a, b => { a.slice_assign(&s![1..], b)?; a.clone() }, F32, F64, F16, BF16, I32, I64, U8, U32, Bool);
    let want: Vec<f64> = (0..9).map(|i| src.values[i.max(1) - 1]).collect();
    ensure!(y.to_f64()? == want && z.to_f64()? == src.values[..8], "{t:?}: x[1:] = x[:-1]");
    // slice_fill.
    let mut w = Array::full_on(&[3, 4], 0.0f32, d)?;
    w.slice_fill(&s![.., 1..;2], 2.5)?;
    ensure!(w.to_vec()? == [0.0, 2.5, 0.0, 2.5].repeat(3), "slice_fill of every other column");
    Ok(())
}

pub fn narrow(t: DType, d: &Device) -> CaseResult {
    let (f, x) = (typed!(rm::narrow), one(t, &[5, 7], d)?);
    refuses!(
        f(&x, &with(Some(1), &[-8, 1], &[])),
        Error::IndexOutOfRange { index: -8, axis: 1, size: 7, .. },
        "start -8"
    );
    refuses!(f(&x, &with(Some(0), &[3, 3], &[])), Error::BadShape { .. }, "3 elements from 3 of 5");
    refuses!(f(&x, &with(Some(2), &[0, 1], &[])), Error::AxisOutOfRange { axis: 2, ndim: 2, .. }, "axis 2");
    Ok(())
}

pub fn select(t: DType, d: &Device) -> CaseResult {
    let (f, x) = (typed!(rm::select), one(t, &[5, 7], d)?);
    refuses!(f(&x, &with(Some(0), &[5], &[])), Error::IndexOutOfRange { index: 5, axis: 0, size: 5, .. }, "index 5");
    refuses!(f(&x, &with(Some(-3), &[0], &[])), Error::AxisOutOfRange { axis: -3, ndim: 2, .. }, "axis -3");
    Ok(())
}

pub fn flip(t: DType, d: &Device) -> CaseResult {
    let (f, x) = (typed!(rm::flip), one(t, &[5, 7], d)?);
    refuses!(f(&x, &with(None, &[2], &[])), Error::AxisOutOfRange { axis: 2, ndim: 2, .. }, "axis 2");
    refuses!(f(&x, &with(None, &[1, -1], &[])), Error::BadShape { .. }, "axis 1 twice");
    Ok(())
}

pub fn unfold(t: DType, d: &Device) -> CaseResult {
    let (f, x) = (typed!(rm::unfold), one(t, &[5, 7], d)?);
    refuses!(f(&x, &with(Some(1), &[8, 1], &[])), Error::BadShape { .. }, "windows of 8 along 7");
    refuses!(f(&x, &with(Some(1), &[0, 1], &[])), Error::BadShape { .. }, "windows of 0");
    refuses!(f(&x, &with(Some(0), &[2, 0], &[])), Error::BadShape { .. }, "step 0");
    refuses!(f(&x, &with(Some(-3), &[1, 1], &[])), Error::AxisOutOfRange { axis: -3, ndim: 2, .. }, "axis -3");
    Ok(())
}

pub fn concatenate(t: DType, d: &Device) -> CaseResult {
    let f = typed!(rj::concatenate);
    let (a, b) = (ones(t, &[2, 3], d)?, ones(t, &[2, 4], d)?);
    refuses!(
        f(&[a.clone(), b.clone()], &with(Some(0), &[], &[])),
        Error::ShapeMismatch { ref lhs, ref rhs, .. } if lhs == &[2, 3] && rhs == &[2, 4],
        "[2, 3] and [2, 4] along 0"
    );
    refuses!(f(&[a.clone(), ones(t, &[6], d)?], &with(Some(0), &[], &[])), Error::ShapeMismatch { .. }, "2-D and 1-D");
    refuses!(
        f(&[a.clone(), b.clone()], &with(Some(2), &[], &[])),
        Error::AxisOutOfRange { axis: 2, ndim: 2, .. },
        "axis 2"
    );
    refuses!(
        f(&one(t, &[], d)?, &with(Some(0), &[], &[])),
        Error::AxisOutOfRange { axis: 0, ndim: 0, .. },
        "a 0-d array"
    );
    let none: Vec<&Array<f32>> = Vec::new();
    refuses!(ferrite::concatenate(&none, 0), Error::BadShape { .. }, "no arrays");
    if let Some(host) = elsewhere(t, &[2, 4], d)? {
        refuses!(f(&[a, host], &with(Some(1), &[], &[])), Error::DeviceMismatch { .. }, "an array on the CPU");
    }
    Ok(())
}

pub fn stack(t: DType, d: &Device) -> CaseResult {
    let f = typed!(rj::stack);
    let (a, b) = (ones(t, &[2, 3], d)?, ones(t, &[3, 2], d)?);
    refuses!(f(&[a.clone(), b], &with(Some(0), &[], &[])), Error::ShapeMismatch { .. }, "[2, 3] and [3, 2]");
    refuses!(f(&[a.clone()], &with(Some(3), &[], &[])), Error::AxisOutOfRange { axis: 3, .. }, "axis 3 of 2-D arrays");
    refuses!(f(&[a], &with(Some(-4), &[], &[])), Error::AxisOutOfRange { axis: -4, .. }, "axis -4 of 2-D arrays");
    Ok(())
}

pub fn split(t: DType, d: &Device) -> CaseResult {
    let (f, x) = (typed!(rm::split), one(t, &[10], d)?);
    refuses!(f(&x, &with(Some(0), &[3, 3, 3], &[])), Error::BadShape { .. }, "sizes adding to 9 of 10");
    refuses!(f(&x, &with(Some(0), &[11], &[])), Error::BadShape { .. }, "a size of 11 of 10");
    refuses!(f(&x, &with(Some(1), &[10], &[])), Error::AxisOutOfRange { axis: 1, ndim: 1, .. }, "axis 1");
    Ok(())
}

pub fn chunk(t: DType, d: &Device) -> CaseResult {
    let (f, x) = (typed!(rm::chunk), one(t, &[10], d)?);
    refuses!(f(&x, &with(Some(0), &[0], &[])), Error::BadShape { .. }, "0 chunks");
    refuses!(f(&x, &with(Some(-2), &[2], &[])), Error::AxisOutOfRange { axis: -2, ndim: 1, .. }, "axis -2");
    Ok(())
}

pub fn repeat(t: DType, d: &Device) -> CaseResult {
    let x = one(t, &[2, 3], d)?;
    refuses!(
        typed!(rj::repeat)(&x, &with(Some(2), &[2], &[])),
        Error::AxisOutOfRange { axis: 2, ndim: 2, .. },
        "axis 2"
    );
    let huge = super::dynarray::any_to!(&x[0], Some, a => a.repeat(usize::MAX / 2, Some(1)).err());
    ensure!(
        matches!(huge.as_ref().and_then(|e| e.as_ref()), Some(Error::BadShape { .. })),
        "repeat overflowing the size: {huge:?}"
    );
    Ok(())
}

pub fn tile(t: DType, d: &Device) -> CaseResult {
    let x = one(t, &[2, 3], d)?;
    let huge = super::dynarray::any_to!(&x[0], Some, a => a.tile(&[usize::MAX / 2, 1]).err());
    ensure!(
        matches!(huge.as_ref().and_then(|e| e.as_ref()), Some(Error::BadShape { .. })),
        "tile overflowing the size: {huge:?}"
    );
    Ok(())
}

pub fn pad(t: DType, d: &Device) -> CaseResult {
    let (f, x) = (typed!(rj::pad), one(t, &[2, 3], d)?);
    refuses!(f(&x, &with(None, &[1, 1, 1, 1, 1, 1], &[])), Error::BadShape { .. }, "3 pairs for 2 axes");
    refuses!(f(&x, &with(None, &[], &[])), Error::BadShape { .. }, "no pairs for 2 axes");
    let huge = super::dynarray::any_to!(&x[0], Some, a => a.pad(&[(usize::MAX, 1)], a.to_vec().unwrap()[0]).err());
    ensure!(
        matches!(huge.as_ref().and_then(|e| e.as_ref()), Some(Error::BadShape { .. })),
        "pad overflowing the size: {huge:?}"
    );
    Ok(())
}

pub fn roll(t: DType, d: &Device) -> CaseResult {
    let x = one(t, &[2, 3], d)?;
    refuses!(
        typed!(rj::roll)(&x, &with(Some(-3), &[1], &[])),
        Error::AxisOutOfRange { axis: -3, ndim: 2, .. },
        "axis -3"
    );
    Ok(())
}
