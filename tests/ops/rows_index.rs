//! Registry rows of indexing by index arrays: `index_select`, `take`, `gather`, `scatter`,
//! `scatter_add`, `one_hot`. Each row's reference picks the logical values of the samples by
//! hand here (multi-indices over the shapes, never the library's layouts); indices are drawn
//! at random with repeats, as i64 and i32, contiguous and as strided views whose other
//! elements are out of range (so reading one is an error, not a silent pass). The error
//! inputs: an index past either end (named: value, axis, size), an axis out of range, index
//! shapes that do not fit, operands on two devices.

use super::check::{EXACT, Tol, compare};
use super::dynarray::{ALL, Dyn, NUMS, each, pair};
use super::registry::{Kind, Row};
use super::samples::{self, Input, View, domain, indices, represent};
use crate::common::devices::CaseResult;
use crate::common::{rng, uniform};
use crate::ensure;
use ferrite::{Array, DType, Device, Error};

/// The samples an indexing row takes `x` from: empty, 1, prime and just-over-a-block sizes,
/// 2-D and 4-D, transposed, sliced and broadcast views, and the dtype's special values.
pub fn sources(dtype: DType, case: &str) -> Vec<Input> {
    let mut v: Vec<Input> = samples::elementwise(dtype, domain(-100.0, 100.0), case);
    v.retain(|i| !i.shape.is_empty());
    v
}

/// `n` random indices in `lo..hi` (empty when the range is).
pub fn draw(n: usize, lo: i64, hi: i64, case: &str) -> Vec<i64> {
    if hi <= lo {
        return Vec::new();
    }
    uniform(&mut rng(case), n, lo as f64, hi as f64).into_iter().map(|v| (v.floor() as i64).min(hi - 1)).collect()
}

/// An index array of `shape` on `d`: contiguous, or (`strided`) every other element of a base
/// twice as long along the last axis whose other elements are `JUNK`, out of every range.
pub fn index(values: &[i64], shape: &[usize], strided: bool, d: &Device) -> ferrite::Result<Array<i64>> {
    const JUNK: i64 = 1 << 40;
    if !strided || shape.is_empty() {
        return Array::from_vec_on(values.to_vec(), shape, d);
    }
    let nd = shape.len();
    let mut base_shape = shape.to_vec();
    base_shape[nd - 1] = 2 * shape[nd - 1] + 1;
    let mut base = vec![JUNK; base_shape.iter().product()];
    for (i, idx) in indices(shape).iter().enumerate() {
        let mut b = idx.clone();
        b[nd - 1] = 2 * b[nd - 1] + 1;
        base[b.iter().zip(&base_shape).fold(0, |a, (&i, &n)| a * n + i)] = values[i];
    }
    Array::from_vec_on(base, &base_shape, d)?.slice_axis(nd as isize - 1, Some(1), None, 2)
}

/// Runs `f` (a closure, so that `?` works inside a dtype dispatch).
pub fn attempt<T>(f: impl FnOnce() -> ferrite::Result<T>) -> ferrite::Result<T> {
    f()
}

/// Row-major position of `idx` in `shape`.
pub fn flat(shape: &[usize], idx: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |a, (&i, &n)| a * n + i)
}

pub fn exact(what: &str, dtype: DType, got: &Dyn, shape: &[usize], want: &[f64], d: &Device) -> CaseResult {
    ensure!(got.shape() == shape, "{what}: shape {:?}, expected {shape:?}", got.shape());
    ensure!(got.dtype() == dtype && got.device() == *d, "{what}: {:?} on {}", got.dtype(), got.device());
    compare(dtype, &got.to_f64()?, want, EXACT, &|_| 0.0, true).map_err(|e| format!("{what}: {e}"))?;
    Ok(())
}

/// The error must be `IndexOutOfRange` naming `index`, `axis` and `size`.
pub fn out_of_range<T: std::fmt::Debug>(
    what: &str,
    r: ferrite::Result<T>,
    index: i64,
    axis: usize,
    size: usize,
) -> CaseResult {
    match r {
        Err(Error::IndexOutOfRange { index: i, axis: a, size: s, .. }) if (i, a, s) == (index, axis, size) => Ok(()),
        other => {
            Err(format!("{what}: {other:?}, expected index {index} out of range for axis {axis} of size {size}").into())
        }
    }
}

fn index_select(dtype: DType, d: &Device) -> CaseResult {
    for (k, input) in sources(dtype, &format!("index_select {dtype:?}")).iter().enumerate() {
        let x = input.build(dtype, d)?;
        let nd = input.shape.len();
        for ax in [0, nd - 1] {
            let n = input.shape[ax];
            let sizes: &[usize] = if nd == 1 { &[0, 1, 13, 1031] } else { &[0, 1, 13] };
            for (j, &m) in sizes.iter().enumerate() {
                let case = format!("index_select {dtype:?} {} axis {ax} m {m}", input.describe());
                let vals = draw(m, 0, n as i64, &case);
                if vals.len() != m {
                    continue;
                }
                let strided = j % 2 == 1;
                let idx = index(&vals, &[m], strided, d)?;
                let got = if k % 3 == 0 {
                    each!(&x, a => a.index_select(ax as isize, &idx.cast::<i32>()?)?)
                } else {
                    each!(&x, a => a.index_select(ax as isize - nd as isize, &idx)?)
                };
                let mut shape = input.shape.clone();
                shape[ax] = m;
                let want: Vec<f64> = indices(&shape)
                    .iter()
                    .map(|p| {
                        let mut q = p.clone();
                        q[ax] = vals[p[ax]] as usize;
                        input.values[flat(&input.shape, &q)]
                    })
                    .collect();
                exact(&format!("{case} strided {strided}"), dtype, &got, &shape, &want, d)?;
            }
            let idx = Array::from_vec_on(vec![0, n as i64], &[2], d)?;
            out_of_range(
                "index_select past the end",
                attempt(|| Ok(each!(&x, a => a.index_select(ax as isize, &idx)?))),
                n as i64,
                ax,
                n,
            )?;
            let idx = Array::from_vec_on(vec![-1i64], &[1], d)?;
            out_of_range(
                "index_select of -1",
                attempt(|| Ok(each!(&x, a => a.index_select(ax as isize, &idx)?))),
                -1,
                ax,
                n,
            )?;
        }
        let idx = Array::from_vec_on(vec![0i64], &[1], d)?;
        ensure!(
            matches!(
                attempt(|| Ok(each!(&x, a => a.index_select(nd as isize, &idx)?))),
                Err(Error::AxisOutOfRange { .. })
            ),
            "index_select along axis {nd} of {:?}",
            input.shape
        );
        let two = Array::from_vec_on(vec![0i64; 4], &[2, 2], d)?;
        ensure!(
            matches!(attempt(|| Ok(each!(&x, a => a.index_select(0, &two)?))), Err(Error::BadShape { .. })),
            "index_select with a 2-D index"
        );
        if d.is_cuda() {
            let host = Array::from_vec(vec![0i64], &[1])?;
            ensure!(
                matches!(attempt(|| Ok(each!(&x, a => a.index_select(0, &host)?))), Err(Error::DeviceMismatch { .. })),
                "index_select with the index on the CPU"
            );
        }
    }
    Ok(())
}

fn take(dtype: DType, d: &Device) -> CaseResult {
    for input in sources(dtype, &format!("take {dtype:?}")) {
        let x = input.build(dtype, d)?;
        let nd = input.shape.len();
        let total: usize = input.shape.iter().product();
        for axis in [None, Some(nd - 1)] {
            let n = axis.map_or(total, |a| input.shape[a]) as i64;
            for ishape in [vec![0], vec![3, 4], vec![257]] {
                let case = format!("take {dtype:?} {} axis {axis:?} {ishape:?}", input.describe());
                let m: usize = ishape.iter().product();
                let vals = draw(m, -n, n, &case);
                if vals.len() != m {
                    continue;
                }
                let idx = index(&vals, &ishape, ishape.len() == 2, d)?;
                let got = each!(&x, a => a.take(&idx, axis.map(|a| a as isize))?);
                let fix = |v: i64| if v < 0 { v + n } else { v } as usize;
                let (shape, want): (Vec<usize>, Vec<f64>) = match axis {
                    None => (ishape.clone(), vals.iter().map(|&v| input.values[fix(v)]).collect()),
                    Some(ax) => {
                        let mut shape = input.shape[..ax].to_vec();
                        shape.extend(&ishape);
                        shape.extend(&input.shape[ax + 1..]);
                        let want = indices(&shape)
                            .iter()
                            .map(|p| {
                                let mut q = p[..ax].to_vec();
                                q.push(fix(vals[flat(&ishape, &p[ax..ax + ishape.len()])]));
                                q.extend(&p[ax + ishape.len()..]);
                                input.values[flat(&input.shape, &q)]
                            })
                            .collect();
                        (shape, want)
                    }
                };
                exact(&case, dtype, &got, &shape, &want, d)?;
            }
            let ax = axis.unwrap_or(0);
            for bad in [n, -n - 1] {
                let idx = Array::from_vec_on(vec![bad], &[1], d)?;
                out_of_range(
                    "take out of range",
                    attempt(|| Ok(each!(&x, a => a.take(&idx, axis.map(|a| a as isize))?))),
                    bad,
                    ax,
                    n as usize,
                )?;
            }
        }
    }
    Ok(())
}

fn gather(dtype: DType, d: &Device) -> CaseResult {
    for (k, input) in sources(dtype, &format!("gather {dtype:?}")).iter().enumerate() {
        let x = input.build(dtype, d)?;
        let nd = input.shape.len();
        for ax in [0, nd - 1] {
            let n = input.shape[ax];
            // The index: shorter along the other axes, any length along the axis.
            let mut ishape: Vec<usize> = input.shape.iter().map(|&s| s - s / 3).collect();
            ishape[ax] = [n + 2, 1, 0][k % 3];
            let m: usize = ishape.iter().product();
            let case = format!("gather {dtype:?} {} axis {ax} index {ishape:?}", input.describe());
            let vals = draw(m, 0, n as i64, &case);
            if vals.len() != m {
                continue;
            }
            let idx = index(&vals, &ishape, k % 2 == 1, d)?;
            let got = each!(&x, a => a.gather(ax as isize, &idx)?);
            let want: Vec<f64> = indices(&ishape)
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let mut q = p.clone();
                    q[ax] = vals[i] as usize;
                    input.values[flat(&input.shape, &q)]
                })
                .collect();
            exact(&case, dtype, &got, &ishape, &want, d)?;
            if m > 0 {
                let mut bad = vals.clone();
                bad[m / 2] = n as i64 + 5;
                let idx = Array::from_vec_on(bad, &ishape, d)?;
                out_of_range(&case, attempt(|| Ok(each!(&x, a => a.gather(ax as isize, &idx)?))), n as i64 + 5, ax, n)?;
            }
        }
        let mut long = input.shape.clone();
        long[nd - 1] += 1;
        if nd > 1 {
            let idx = Array::from_vec_on(vec![0i64; long.iter().product()], &long, d)?;
            ensure!(
                matches!(attempt(|| Ok(each!(&x, a => a.gather(0, &idx)?))), Err(Error::ShapeMismatch { .. })),
                "gather with an index longer than {:?} along the last axis",
                input.shape
            );
        }
        let flat1 = Array::from_vec_on(vec![0i64], &[1; 5], d)?;
        ensure!(
            matches!(attempt(|| Ok(each!(&x, a => a.gather(0, &flat1)?))), Err(Error::ShapeMismatch { .. })),
            "gather with an index of 5 dimensions into {:?}",
            input.shape
        );
    }
    Ok(())
}

fn one_hot(dtype: DType, d: &Device) -> CaseResult {
    for (k, shape) in [vec![], vec![0], vec![7], vec![1031], vec![37, 41]].into_iter().enumerate() {
        let classes = [5usize, 1, 300][k % 3];
        let case = format!("one_hot {dtype:?} {shape:?} {classes}");
        let n: usize = shape.iter().product();
        let vals = draw(n, 0, classes as i64, &case);
        let labels = index(&vals, &shape, k % 2 == 1, d)?;
        let got = one_hot_dyn(dtype, &labels, classes)?;
        let mut out = shape.clone();
        out.push(classes);
        let want: Vec<f64> =
            (0..n * classes).map(|i| (vals[i / classes] == (i % classes) as i64) as u8 as f64).collect();
        exact(&case, dtype, &got, &out, &want, d)?;
        let via_i32 = one_hot_dyn(dtype, &labels.cast::<i32>()?, classes)?;
        exact(&format!("{case} from i32"), dtype, &via_i32, &out, &want, d)?;
    }
    for bad in [-1i64, 5] {
        let labels = Array::from_vec_on(vec![0, bad, 1], &[3], d)?;
        out_of_range("one_hot", one_hot_dyn(dtype, &labels, 5), bad, 1, 5)?;
    }
    Ok(())
}

fn one_hot_dyn<I: ferrite::IndexType>(dtype: DType, l: &Array<I>, classes: usize) -> ferrite::Result<Dyn> {
    Ok(match dtype {
        DType::F32 => Dyn::F32(l.one_hot(classes)?),
        DType::F64 => Dyn::F64(l.one_hot(classes)?),
        DType::F16 => Dyn::F16(l.one_hot(classes)?),
        DType::BF16 => Dyn::BF16(l.one_hot(classes)?),
        DType::I32 => Dyn::I32(l.one_hot(classes)?),
        DType::I64 => Dyn::I64(l.one_hot(classes)?),
        DType::U8 => Dyn::U8(l.one_hot(classes)?),
        DType::U32 => Dyn::U32(l.one_hot(classes)?),
        DType::Bool => Dyn::Bool(l.one_hot(classes)?),
    })
}

/// `scatter` (or with `add`, `scatter_add`) of `src` into `x` along `ax` at `vals`, by hand.
fn scatter_reference(
    x: &Input,
    src: &Input,
    ishape: &[usize],
    vals: &[i64],
    ax: usize,
    add: bool,
) -> (Vec<f64>, Vec<f64>) {
    let mut want = x.values.clone();
    let mut scale: Vec<f64> = x.values.iter().map(|v| v.abs()).collect();
    let mut terms = vec![1.0; want.len()];
    for (i, p) in indices(ishape).iter().enumerate() {
        let v = src.values[flat(&src.shape, p)];
        let mut q = p.clone();
        q[ax] = vals[i] as usize;
        let o = flat(&x.shape, &q);
        want[o] = if add { want[o] + v } else { v };
        scale[o] += v.abs();
        terms[o] += 1.0;
    }
    (want, scale.iter().zip(terms).map(|(s, t)| s * t).collect())
}

fn scatter_row(dtype: DType, d: &Device, add: bool) -> CaseResult {
    let name = if add { "scatter_add" } else { "scatter" };
    for (k, input) in sources(dtype, &format!("{name} {dtype:?}")).iter().enumerate() {
        let x = input.build(dtype, d)?;
        let nd = input.shape.len();
        for ax in [0, nd - 1] {
            let n = input.shape[ax];
            let mut ishape: Vec<usize> = input.shape.iter().map(|&s| s - s / 4).collect();
            ishape[ax] = [2 * n + 1, 1, 0][k % 3];
            let m: usize = ishape.iter().product();
            let case = format!("{name} {dtype:?} {} axis {ax} index {ishape:?}", input.describe());
            let vals = draw(m, 0, n as i64, &case);
            if vals.len() != m {
                continue;
            }
            let mut sshape = ishape.clone();
            sshape[nd - 1] += 1;
            let sv = samples::values(dtype, sshape.iter().product(), domain(-100.0, 100.0), &format!("{case} src"));
            let src = Input::new(&sshape, sv, if nd > 1 && k % 2 == 0 { View::Transposed } else { View::Sliced });
            let s = src.build(dtype, d)?;
            let idx = index(&vals, &ishape, k % 2 == 1, d)?;
            let got = if add {
                pair!(&x, &s, a, b => a.scatter_add(ax as isize, &idx, b)?, F32, F64, F16, BF16, I32, I64, U8, U32)
            } else {
                pair!(&x, &s, a, b => a.scatter(ax as isize, &idx, b)?, F32, F64, F16, BF16, I32, I64, U8, U32, Bool)
            };
            let (want, scale) = scatter_reference(input, &src, &ishape, &vals, ax, add);
            let want: Vec<f64> =
                want.iter().map(|&v| if dtype.is_float() { v } else { samples::wrap_int(dtype, v as i128) }).collect();
            ensure!(got.shape() == input.shape, "{case}: shape {:?}", got.shape());
            let tol = match (add, dtype) {
                (true, DType::F16 | DType::BF16) => Tol { ulps: 1.0, atol: 0.0, rel_sum: 1.0 },
                (true, _) => Tol { ulps: 0.0, atol: 0.0, rel_sum: 1.0 },
                _ => EXACT,
            };
            compare(dtype, &got.to_f64()?, &want, tol, &|i| scale[i], !add).map_err(|e| format!("{case}: {e}"))?;
            if m > 0 {
                let mut bad = vals.clone();
                bad[m - 1] = -1;
                let idx = Array::from_vec_on(bad, &ishape, d)?;
                let r = attempt(|| {
                    Ok(if add {
                        pair!(&x, &s, a, b => a.scatter_add(ax as isize, &idx, b)?, F32, F64, F16, BF16, I32, I64, U8, U32)
                    } else {
                        pair!(&x, &s, a, b => a.scatter(ax as isize, &idx, b)?, F32, F64, F16, BF16, I32, I64, U8, U32, Bool)
                    })
                });
                out_of_range(&case, r, -1, ax, n)?;
            }
        }
        let (s1, idx) = (represent(dtype, 1.0), Array::from_vec_on(vec![0i64], &[1; 2], d)?);
        let s = Dyn::new(dtype, &[s1], &[1; 2], d)?;
        let r =
            attempt(|| Ok(pair!(&x, &s, a, b => a.scatter(0, &idx, b)?, F32, F64, F16, BF16, I32, I64, U8, U32, Bool)));
        ensure!(
            nd == 2 || matches!(r, Err(Error::ShapeMismatch { .. })),
            "{name} with a 2-D index into {:?}: {r:?}",
            input.shape
        );
    }
    Ok(())
}

pub fn rows() -> Vec<Row> {
    vec![
        Row::new("index_select", ALL, Kind::Custom(index_select)),
        Row::new("take", ALL, Kind::Custom(take)),
        Row::new("gather", ALL, Kind::Custom(gather)),
        Row::new("scatter", ALL, Kind::Custom(|t, d| scatter_row(t, d, false))),
        Row::new("scatter_add", NUMS, Kind::Custom(|t, d| scatter_row(t, d, true))),
        Row::new("one_hot", ALL, Kind::Custom(one_hot)),
    ]
}
