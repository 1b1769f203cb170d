//! Registry rows of sorting and search: `sort`, `argsort`, `topk`, `unique`, `searchsorted`.
//! The references sort here, by hand: `sort_by` on the logical values (f64) with NaN after
//! everything and `-0.0 == 0.0` (Rust's sort is stable, as NumPy's `kind='stable'`), never
//! through the library. The samples: the indexing rows' sources (empty, 1, primes, over a
//! block, 2-D and 4-D, transposed, sliced, broadcast, the specials), the specials repeated in
//! two orders (ties, `±0`, NaNs), and rows past the shared-memory sort (the GPU's radix sort):
//! the specials cycled over 4099 keys (every 64-bit key digit varies for the integer dtypes),
//! one value 4096 times (no digit varies), and 3 rows of 4099 (specials between random values;
//! flattened, 12297 keys); on the emulated devices, for one dtype per key width only
//! ([`EMULATED_LONG_ROWS`]). The error
//! inputs: an axis out of range, `k` past the axis, `searchsorted` on a 2-D array.

use super::dynarray::{ALL, Dyn, each};
use super::registry::{Kind, Row};
use super::rows_index::{attempt, exact, flat, sources};
use super::samples::{self, Input, View, domain, indices};
use crate::common::devices::CaseResult;
use crate::ensure;
use ferrite::{Array, DType, Device, Error, Side};
use std::cmp::Ordering;

/// NumPy's sort order: NaN last (all alike), `-0.0 == 0.0`.
fn order(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).unwrap(),
    }
}

/// The stable ascending (or descending, NaN first) permutation of `lane`.
fn perm(lane: &[f64], descending: bool) -> Vec<usize> {
    let mut p: Vec<usize> = (0..lane.len()).collect();
    if descending {
        p.sort_by(|&a, &b| order(lane[b], lane[a]));
    } else {
        p.sort_by(|&a, &b| order(lane[a], lane[b]));
    }
    p
}

/// The flat positions of each lane of `shape` along `ax`, lanes in row-major order.
fn lanes(shape: &[usize], ax: usize) -> Vec<Vec<usize>> {
    let mut starts = shape.to_vec();
    starts[ax] = 1;
    indices(&starts)
        .iter()
        .map(|p| {
            (0..shape[ax])
                .map(|c| {
                    let mut q = p.clone();
                    q[ax] = c;
                    flat(shape, &q)
                })
                .collect()
        })
        .collect()
}

/// On an emulated CUDA device, the dtypes whose long rows (the radix sort's) run: one per key
/// width (64-bit keys with NaN and ±0, 32, 16, 8). The radix kernels sort the i64 keys
/// whatever the dtype, and every dtype's key kernel runs on every short row; the emulator
/// runs each radix pass thread by thread, about a second per dtype and op, which for all nine
/// dtypes was two thirds of this suite's time. The CPU and a real GPU run every dtype.
const EMULATED_LONG_ROWS: [DType; 4] = [DType::F64, DType::F32, DType::BF16, DType::U8];

/// Whether a sort of `dtype` on `d` takes the long rows (see [`EMULATED_LONG_ROWS`]).
fn sorts_long_rows(dtype: DType, d: &Device) -> bool {
    let emulated = matches!(d, Device::Cuda(c) if c.is_emulated());
    !emulated || EMULATED_LONG_ROWS.contains(&dtype)
}

/// The samples: the indexing rows' sources, the specials twice over, and with `long` the long
/// rows.
fn inputs(dtype: DType, case: &str, long: bool) -> Vec<Input> {
    let mut v = sources(dtype, case);
    let sp = samples::specials(dtype);
    let mut twice: Vec<f64> = sp.iter().rev().copied().collect();
    twice.extend(&sp);
    twice.extend(sp.iter().step_by(2));
    let n = twice.len();
    v.push(Input::new(&[n], twice.clone(), View::Contiguous));
    v.push(Input::new(&[3, n], [&twice[..], &twice[..], &twice[..]].concat(), View::Sliced));
    if !long {
        return v;
    }
    // Rows on the CPU's radix sort (4096 or more): the specials over and over (NaNs, ±inf, ±0,
    // ties, the extreme keys: every digit of the 64-bit keys differs), and all one value (no
    // digit differs: no pass at all).
    v.push(Input::new(&[4099], twice.iter().copied().cycle().take(4099).collect(), View::Contiguous));
    v.push(Input::new(&[4096], vec![sp[sp.len() / 2]; 4096], View::Contiguous));
    // Several rows on the GPU's radix sort at once (along axis 1, two tiles a row: tiles of
    // 4096 keys never span two rows; flattened, one row of 12297 keys in 4 tiles): the
    // specials cycled between random values (ties).
    let rnd = samples::values(dtype, 3 * 4099, domain(-100.0, 100.0), case);
    let mixed: Vec<f64> = (0..3 * 4099).map(|i| if i % 2 == 0 { twice[i % n] } else { rnd[i] }).collect();
    v.push(Input::new(&[3, 4099], mixed, View::Contiguous));
    v
}

macro_rules! with_indices {
    ($d:expr, $a:ident => $body:expr) => {
        match $d {
            Dyn::F32($a) => {
                let (v, i) = $body;
                (Dyn::F32(v), i)
            }
            Dyn::F64($a) => {
                let (v, i) = $body;
                (Dyn::F64(v), i)
            }
            Dyn::F16($a) => {
                let (v, i) = $body;
                (Dyn::F16(v), i)
            }
            Dyn::BF16($a) => {
                let (v, i) = $body;
                (Dyn::BF16(v), i)
            }
            Dyn::I32($a) => {
                let (v, i) = $body;
                (Dyn::I32(v), i)
            }
            Dyn::I64($a) => {
                let (v, i) = $body;
                (Dyn::I64(v), i)
            }
            Dyn::U8($a) => {
                let (v, i) = $body;
                (Dyn::U8(v), i)
            }
            Dyn::U32($a) => {
                let (v, i) = $body;
                (Dyn::U32(v), i)
            }
            Dyn::Bool($a) => {
                let (v, i) = $body;
                (Dyn::Bool(v), i)
            }
        }
    };
}

fn index_of(x: &Dyn, f: impl Fn(&Dyn) -> ferrite::Result<Array<i64>>) -> ferrite::Result<Array<i64>> {
    f(x)
}

/// `sort` (or `argsort`) along the first and last axes, and of the flattened array.
fn sort_row(dtype: DType, d: &Device, argsort: bool) -> CaseResult {
    let name = if argsort { "argsort" } else { "sort" };
    for input in inputs(dtype, &format!("{name} {dtype:?}"), sorts_long_rows(dtype, d)) {
        let x = input.build(dtype, d)?;
        let nd = input.shape.len();
        // `None` (NumPy's `axis=None`): the flattened array, one lane of every element.
        let total = input.values.len();
        let axes: Vec<Option<usize>> = if nd == 1 { vec![Some(0), None] } else { vec![Some(0), Some(nd - 1), None] };
        for ax in axes {
            let case = format!("{name} {dtype:?} {} axis {ax:?}", input.describe());
            let (mut want_v, mut want_i) = (vec![0.0; total], vec![0.0; total]);
            let all = [(0..total).collect::<Vec<_>>()];
            let lanes = match ax {
                Some(ax) => lanes(&input.shape, ax),
                None => all.to_vec(),
            };
            for lane in lanes {
                let vals: Vec<f64> = lane.iter().map(|&q| input.values[q]).collect();
                for (c, &p) in perm(&vals, false).iter().enumerate() {
                    want_v[lane[c]] = vals[p];
                    want_i[lane[c]] = p as f64;
                }
            }
            let shape = if ax.is_some() { input.shape.clone() } else { vec![total] };
            let axis = ax.map(|ax| if ax == 0 { 0 } else { -1 });
            if argsort {
                let got = index_of(&x, |x| {
                    Ok(match x {
                        Dyn::F32(a) => a.argsort(axis)?,
                        Dyn::F64(a) => a.argsort(axis)?,
                        Dyn::F16(a) => a.argsort(axis)?,
                        Dyn::BF16(a) => a.argsort(axis)?,
                        Dyn::I32(a) => a.argsort(axis)?,
                        Dyn::I64(a) => a.argsort(axis)?,
                        Dyn::U8(a) => a.argsort(axis)?,
                        Dyn::U32(a) => a.argsort(axis)?,
                        Dyn::Bool(a) => a.argsort(axis)?,
                    })
                })?;
                exact(&case, DType::I64, &Dyn::I64(got), &shape, &want_i, d)?;
            } else {
                let got = each!(&x, a => a.sort(axis)?);
                exact(&case, dtype, &got, &shape, &want_v, d)?;
            }
        }
        let r = attempt(|| Ok(each!(&x, a => a.sort(Some(nd as isize))?)));
        ensure!(
            matches!(r, Err(Error::AxisOutOfRange { axis, ndim, .. }) if axis == nd as isize && ndim == nd),
            "{name} along axis {nd} of {:?}: {r:?}",
            input.shape
        );
    }
    Ok(())
}

fn topk(dtype: DType, d: &Device) -> CaseResult {
    for input in inputs(dtype, &format!("topk {dtype:?}"), sorts_long_rows(dtype, d)) {
        let x = input.build(dtype, d)?;
        let nd = input.shape.len();
        for ax in if nd == 1 { vec![0] } else { vec![0, nd - 1] } {
            let n = input.shape[ax];
            // A long lane (the radix sort) once: `topk` is a full argsort then a slice, so
            // the second `k` would repeat the slow emulated sort and check nothing new (the
            // short lanes cover `k = n`; the `sort` rows, the long lanes' order).
            let ks = if n >= 4096 { vec![n / 3] } else { vec![n / 3, n] };
            for k in ks {
                let case = format!("topk {dtype:?} {} axis {ax} k {k}", input.describe());
                let mut shape = input.shape.clone();
                shape[ax] = k;
                let total: usize = shape.iter().product();
                let (mut want_v, mut want_i) = (vec![0.0; total], vec![0.0; total]);
                for (lane, out) in lanes(&input.shape, ax).iter().zip(lanes(&shape, ax)) {
                    let vals: Vec<f64> = lane.iter().map(|&q| input.values[q]).collect();
                    for (c, &p) in perm(&vals, true).iter().take(k).enumerate() {
                        want_v[out[c]] = vals[p];
                        want_i[out[c]] = p as f64;
                    }
                }
                let (got, idx) = with_indices!(&x, a => a.topk(k, ax as isize)?);
                exact(&case, dtype, &got, &shape, &want_v, d)?;
                exact(&format!("{case} indices"), DType::I64, &Dyn::I64(idx), &shape, &want_i, d)?;
            }
            let r = attempt(|| Ok(with_indices!(&x, a => a.topk(n + 1, ax as isize)?)));
            ensure!(
                matches!(r, Err(Error::TopK { k, axis, size, .. }) if (k, axis, size) == (n + 1, ax, n)),
                "topk of {} along axis {ax} of {:?}: {r:?}",
                n + 1,
                input.shape
            );
        }
        let r = attempt(|| Ok(with_indices!(&x, a => a.topk(0, -(nd as isize) - 1)?)));
        ensure!(
            matches!(r, Err(Error::AxisOutOfRange { .. })),
            "topk along axis {} of {:?}",
            -(nd as isize) - 1,
            input.shape
        );
    }
    Ok(())
}

fn unique(dtype: DType, d: &Device) -> CaseResult {
    for input in inputs(dtype, &format!("unique {dtype:?}"), sorts_long_rows(dtype, d)) {
        let x = input.build(dtype, d)?;
        let case = format!("unique {dtype:?} {}", input.describe());
        let mut vals = input.values.clone();
        vals.sort_by(|&a, &b| order(a, b));
        let (mut want_v, mut want_c): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
        for v in vals {
            match want_v.last() {
                Some(&l) if order(l, v) == Ordering::Equal => *want_c.last_mut().unwrap() += 1.0,
                _ => {
                    want_v.push(v);
                    want_c.push(1.0);
                }
            }
        }
        let (got, counts) = with_indices!(&x, a => a.unique()?);
        let u = want_v.len();
        ensure!(got.shape() == [u] && got.dtype() == dtype, "{case}: values {:?}", got.shape());
        // Which of `-0.0` and `0.0` stands for both is not checked (NumPy's unsorted quicksort
        // does not say either).
        super::check::compare(dtype, &got.to_f64()?, &want_v, super::check::EXACT, &|_| 0.0, false)
            .map_err(|e| format!("{case}: {e}"))?;
        exact(&format!("{case} counts"), DType::I64, &Dyn::I64(counts), &[u], &want_c, d)?;
    }
    Ok(())
}

fn searchsorted(dtype: DType, d: &Device) -> CaseResult {
    for input in inputs(dtype, &format!("searchsorted {dtype:?}"), true) {
        let mut sorted = input.values.clone();
        sorted.sort_by(|&a, &b| order(a, b));
        let a = Dyn::new(dtype, &sorted, &[sorted.len()], d)?;
        // The values: the sample itself (every element present, in its own shape and view)
        // and the specials.
        let v = input.build(dtype, d)?;
        let sp = samples::specials(dtype);
        let sv = Dyn::new(dtype, &sp, &[sp.len()], d)?;
        for (values, shape, want) in [(&v, &input.shape, &input.values), (&sv, &vec![sp.len()], &sp)] {
            for side in [Side::Left, Side::Right] {
                let case = format!("searchsorted {dtype:?} {} {side:?} {shape:?}", input.describe());
                let want: Vec<f64> = want
                    .iter()
                    .map(|&q| {
                        let o = |s: &f64| order(*s, q);
                        let p = if side == Side::Left {
                            sorted.partition_point(|s| o(s) == Ordering::Less)
                        } else {
                            sorted.partition_point(|s| o(s) != Ordering::Greater)
                        };
                        p as f64
                    })
                    .collect();
                let got = index_of(&a, |a| {
                    Ok(match (a, values) {
                        (Dyn::F32(a), Dyn::F32(b)) => a.searchsorted(b, side)?,
                        (Dyn::F64(a), Dyn::F64(b)) => a.searchsorted(b, side)?,
                        (Dyn::F16(a), Dyn::F16(b)) => a.searchsorted(b, side)?,
                        (Dyn::BF16(a), Dyn::BF16(b)) => a.searchsorted(b, side)?,
                        (Dyn::I32(a), Dyn::I32(b)) => a.searchsorted(b, side)?,
                        (Dyn::I64(a), Dyn::I64(b)) => a.searchsorted(b, side)?,
                        (Dyn::U8(a), Dyn::U8(b)) => a.searchsorted(b, side)?,
                        (Dyn::U32(a), Dyn::U32(b)) => a.searchsorted(b, side)?,
                        (Dyn::Bool(a), Dyn::Bool(b)) => a.searchsorted(b, side)?,
                        _ => unreachable!("one dtype"),
                    })
                })?;
                exact(&case, DType::I64, &Dyn::I64(got), shape, &want, d)?;
            }
        }
        if input.shape.len() > 1 {
            let r = attempt(|| Ok(each!(&v, b => { b.searchsorted(b, Side::Left)?; b.clone() })));
            ensure!(
                matches!(&r, Err(Error::BadShape { shape, .. }) if *shape == input.shape),
                "searchsorted on {:?}: {r:?}",
                input.shape
            );
        }
    }
    Ok(())
}

pub fn rows() -> Vec<Row> {
    vec![
        Row::new("sort", ALL, Kind::Custom(|t, d| sort_row(t, d, false))),
        Row::new("argsort", ALL, Kind::Custom(|t, d| sort_row(t, d, true))),
        Row::new("topk", ALL, Kind::Custom(topk)),
        Row::new("unique", ALL, Kind::Custom(unique)),
        Row::new("searchsorted", ALL, Kind::Custom(searchsorted)),
    ]
}
