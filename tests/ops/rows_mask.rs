//! Registry rows of boolean masks: `masked_select` (masks of the array's shape, broadcast
//! along either axis, and views), `masked_fill` (a special value too, NaN for floats) and
//! `nonzero` (the specials: NaN is nonzero, -0 is zero). References select the samples'
//! logical values by hand. Error inputs: masks that do not broadcast, or would grow the array,
//! and operands on two devices.

use super::dynarray::{ALL, Dyn, each};
use super::registry::{Kind, Row};
use super::rows_index::{attempt, exact, flat, sources};
use super::samples::{self, Input, View, domain, indices, represent};
use crate::common::devices::CaseResult;
use crate::ensure;
use ferrite::{Array, DType, Device, Error};

/// Masks for `shape`: the same shape (contiguous and sliced), its last axis (broadcast down),
/// and its first axis with a length-1 rest (broadcast across).
fn masks(shape: &[usize], case: &str) -> Vec<Input> {
    let nd = shape.len();
    let mut mshapes = vec![(shape.to_vec(), View::Contiguous), (vec![shape[nd - 1]], View::Contiguous)];
    if nd > 1 {
        mshapes.push((shape.to_vec(), View::Sliced));
        let mut first = vec![1; nd];
        first[0] = shape[0];
        mshapes.push((first, View::Contiguous));
    }
    mshapes
        .into_iter()
        .enumerate()
        .map(|(i, (s, v))| {
            let n = s.iter().product();
            Input::new(&s, samples::values(DType::Bool, n, domain(0.0, 1.0), &format!("{case} mask {i}")), v)
        })
        .collect()
}

/// `input`'s values at each multi-index of the broadcast `shape`, with the mask's.
fn broadcast_pairs<'a>(input: &'a Input, mask: &'a Input) -> impl Iterator<Item = (f64, bool)> + 'a {
    let shape = &input.shape;
    indices(shape).into_iter().map(move |p| {
        let off = shape.len() - mask.shape.len();
        let q: Vec<usize> = (0..mask.shape.len()).map(|k| if mask.shape[k] == 1 { 0 } else { p[k + off] }).collect();
        (input.values[flat(shape, &p)], mask.values[flat(&mask.shape, &q)] != 0.0)
    })
}

fn masked_select(dtype: DType, d: &Device) -> CaseResult {
    for input in sources(dtype, &format!("masked_select {dtype:?}")) {
        let x = input.build(dtype, d)?;
        for mask in masks(&input.shape, &format!("masked_select {dtype:?} {}", input.describe())) {
            let what = format!("masked_select {dtype:?} of {} by {}", input.describe(), mask.describe());
            let Dyn::Bool(m) = mask.build(DType::Bool, d)? else { unreachable!() };
            let got = each!(&x, a => a.masked_select(&m)?);
            let want: Vec<f64> = broadcast_pairs(&input, &mask).filter(|p| p.1).map(|p| p.0).collect();
            exact(&what, dtype, &got, &[want.len()], &want, d)?;
        }
        // A mask that broadcasts the array up: the result selects from the broadcast.
        let nd = input.shape.len();
        let mut up = vec![3];
        up.extend(&input.shape);
        let m = Array::from_vec_on((0..up.iter().product::<usize>()).map(|i| i % 3 == 1).collect(), &up, d)?;
        let got = each!(&x, a => a.masked_select(&m)?);
        let n: usize = input.shape.iter().product();
        let want: Vec<f64> = (0..3 * n).filter(|i| i % 3 == 1).map(|i| input.values[i % n.max(1)]).collect();
        exact(
            &format!("masked_select of {} by a [3, ...] mask", input.describe()),
            dtype,
            &got,
            &[want.len()],
            &want,
            d,
        )?;
        let mut wrong = input.shape.clone();
        wrong[nd - 1] += 2;
        let m = Array::from_vec_on(vec![true; wrong.iter().product()], &wrong, d)?;
        ensure!(
            input.shape[nd - 1] == 1
                || matches!(attempt(|| Ok(each!(&x, a => a.masked_select(&m)?))), Err(Error::ShapeMismatch { .. })),
            "masked_select of {:?} by a {wrong:?} mask",
            input.shape
        );
        if d.is_cuda() {
            let host = Array::from_vec(vec![true], &[1])?;
            ensure!(
                matches!(attempt(|| Ok(each!(&x, a => a.masked_select(&host)?))), Err(Error::DeviceMismatch { .. })),
                "masked_select by a mask on the CPU"
            );
        }
    }
    Ok(())
}

fn masked_fill(dtype: DType, d: &Device) -> CaseResult {
    let fills = [represent(dtype, 3.0), samples::specials(dtype)[0]];
    for input in sources(dtype, &format!("masked_fill {dtype:?}")) {
        let x = input.build(dtype, d)?;
        for (k, mask) in masks(&input.shape, &format!("masked_fill {dtype:?} {}", input.describe())).iter().enumerate()
        {
            let v = fills[k % 2];
            let what = format!("masked_fill {dtype:?} of {} by {} with {v}", input.describe(), mask.describe());
            let Dyn::Bool(m) = mask.build(DType::Bool, d)? else { unreachable!() };
            let got = fill(&x, &m, v)?;
            let want: Vec<f64> = broadcast_pairs(&input, mask).map(|(a, b)| if b { v } else { a }).collect();
            exact(&what, dtype, &got, &input.shape, &want, d)?;
        }
        let mut up = vec![2];
        up.extend(&input.shape);
        let m = Array::from_vec_on(vec![true; up.iter().product()], &up, d)?;
        ensure!(
            matches!(fill(&x, &m, fills[0]), Err(Error::ShapeMismatch { .. })),
            "masked_fill of {:?} by a {up:?} mask, which would grow it",
            input.shape
        );
    }
    Ok(())
}

fn fill(x: &Dyn, m: &Array<bool>, v: f64) -> ferrite::Result<Dyn> {
    use super::dynarray::FromF64;
    Ok(each!(x, a => a.masked_fill(m, FromF64::from_f64(v))?))
}

fn nonzero(dtype: DType, d: &Device) -> CaseResult {
    let mut inputs = sources(dtype, &format!("nonzero {dtype:?}"));
    // Sparse ones too (most values zero), and a 0-d array.
    inputs.push(Input::new(
        &[37, 41],
        (0..37 * 41).map(|i| represent(dtype, (i % 7 == 3) as u8 as f64)).collect(),
        View::Transposed,
    ));
    inputs.push(Input::new(&[], vec![represent(dtype, 2.0)], View::Contiguous));
    for input in inputs {
        let x = input.build(dtype, d)?;
        let what = format!("nonzero {dtype:?} of {}", input.describe());
        let got = Dyn::I64(each_to_nonzero(&x)?);
        let nd = input.shape.len();
        let (mut want, mut count) = (Vec::new(), 0);
        for (i, p) in indices(&input.shape).iter().enumerate() {
            if input.values[i] != 0.0 {
                want.extend(p.iter().map(|&c| c as f64));
                count += 1;
            }
        }
        exact(&what, DType::I64, &got, &[count, nd], &want, d)?;
    }
    Ok(())
}

fn each_to_nonzero(x: &Dyn) -> ferrite::Result<Array<i64>> {
    use super::dynarray::any_to;
    Ok(any_to!(x, std::convert::identity, a => a.nonzero()?))
}

pub fn rows() -> Vec<Row> {
    vec![
        Row::new("masked_select", ALL, Kind::Custom(masked_select)),
        Row::new("masked_fill", ALL, Kind::Custom(masked_fill)),
        Row::new("nonzero", ALL, Kind::Custom(nonzero)),
    ]
}
