//! Registry rows of the reductions and the ops along an axis: `sum` ... `norm`, `cumsum`,
//! `softmax`, `log_softmax`. A reduction's reference takes one output's elements; its bound
//! scales with what the sum's rounding depends on (`Σ|x|` and the number of terms).

use super::check::Tol;
use super::dynarray::{ALL, Dyn, FLOATS, any_to, float};
use super::registry::{Kind, Row, sixteen};
use super::samples;
use crate::common::devices::CaseResult;
use crate::ensure;
use ferrite::{Axes, DType, Device};

/// The growth of a sum's rounding error with its length `n`, as the kernels order the adds
/// (`kernels_gpu::ops::reduce`: chunks of at most 1024 added in order, then trees; long rows
/// split into at most 1056 chunks of at least 4096, each a tree over 256 threads, the chunks
/// added in order): at most about `1024 + n/1024` roundings on the way to any output, and
/// never more than `n`.
pub fn growth(n: usize) -> f64 {
    (n as f64).min(1024.0 + n as f64 / 1024.0) + 2.0
}

fn abs_sum(v: &[f64]) -> f64 {
    v.iter().map(|x| x.abs()).sum::<f64>() * growth(v.len())
}

/// `Σ|x|·growth` units of the accumulator's rounding, plus the 16-bit result's own rounding.
fn summed(d: DType) -> Tol {
    Tol { ulps: if sixteen(d).is_some() { 1.0 } else { 0.0 }, atol: 0.0, rel_sum: 1.0 }
}

/// A product's bound: [`summed`]'s, plus 2^20 of the accumulator's subnormal steps absolute.
/// Once a partial product underflows, each rounding loses up to half a step (not a relative
/// u), and later factors (up to 1.99 here) scale that; 2^20 steps stay below the smallest
/// normal, so results in the normal range keep the relative bound (a random f64 product of
/// 1.6e-315 was 3 steps off).
fn multiplied(d: DType) -> Tol {
    let step = if d == DType::F64 { f64::from_bits(1) } else { f32::from_bits(1) as f64 };
    Tol { atol: step * 2f64.powi(20), ..summed(d) }
}

/// The same plus a few ulps for a final sqrt, log or divide.
fn summed_then(d: DType) -> Tol {
    Tol { ulps: if sixteen(d).is_some() { 1.0 } else { 3.0 }, atol: 0.0, rel_sum: 2.0 }
}

fn to_axes(axes: Option<&[isize]>) -> Axes {
    axes.map_or(Axes::All, |a| Axes::from(a.to_vec()))
}

/// Sum's dtype: the input's for floats, i64 for integers and bools.
fn sum_dtype(d: DType) -> DType {
    if d.is_float() { d } else { DType::I64 }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// NumPy's `var`: NaN when `n ≤ ddof` (no degrees of freedom left).
fn var(v: &[f64], ddof: usize) -> f64 {
    if v.len() <= ddof {
        return f64::NAN;
    }
    let m = mean(v);
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() as f64 - ddof as f64)
}

/// The first index of the extreme (`better(a, b)`: a beats b), NaN counting as the extreme.
fn arg(v: &[f64], better: fn(f64, f64) -> bool) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    if let Some(i) = v.iter().position(|x| x.is_nan()) {
        return Some(i as f64);
    }
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if better(x, v[best]) {
            best = i;
        }
    }
    Some(best as f64)
}

fn extreme(v: &[f64], f: fn(f64, f64) -> f64) -> Option<f64> {
    if v.iter().any(|x| x.is_nan()) {
        return Some(f64::NAN);
    }
    v.iter().copied().reduce(f)
}

fn logsumexp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if v.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    if m.is_infinite() {
        return m; // +inf if any is +inf; -inf for an empty or all -inf lane
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

macro_rules! reduce_row {
    ($name:literal, $dtypes:expr, $call:expr, $reference:expr, $out:expr, $scale:expr) => {
        Row::new($name, $dtypes, Kind::Reduce { call: $call, reference: $reference, out: $out, scale: $scale })
    };
}

pub fn rows() -> Vec<Row> {
    const SUM_WHY: &str = "accumulated in f32 (f64 for f64) in chunks and trees: about (1024 + n/1024)·u·Σ|x|";
    vec![
        reduce_row!(
            "sum",
            ALL,
            |x, a, k| Ok(match x {
                Dyn::Bool(b) => Dyn::I64(b.sum(to_axes(a), k)?),
                Dyn::I32(b) => Dyn::I64(b.sum(to_axes(a), k)?),
                Dyn::I64(b) => Dyn::I64(b.sum(to_axes(a), k)?),
                Dyn::U8(b) => Dyn::I64(b.sum(to_axes(a), k)?),
                Dyn::U32(b) => Dyn::I64(b.sum(to_axes(a), k)?),
                f => float!(f, b => b.sum(to_axes(a), k)?),
            }),
            |v| Some(v.iter().sum()),
            sum_dtype,
            abs_sum
        )
        .tol(summed, SUM_WHY),
        reduce_row!(
            "prod",
            ALL,
            |x, a, k| Ok(match x {
                Dyn::Bool(b) => Dyn::I64(b.prod(to_axes(a), k)?),
                Dyn::I32(b) => Dyn::I64(b.prod(to_axes(a), k)?),
                Dyn::I64(b) => Dyn::I64(b.prod(to_axes(a), k)?),
                Dyn::U8(b) => Dyn::I64(b.prod(to_axes(a), k)?),
                Dyn::U32(b) => Dyn::I64(b.prod(to_axes(a), k)?),
                f => float!(f, b => b.prod(to_axes(a), k)?),
            }),
            |v| Some(v.iter().product()),
            sum_dtype,
            |v| v.iter().product::<f64>().abs() * v.len() as f64
        )
        .domain(-1.0, 1.99)
        .tol(
            multiplied,
            "n multiplications, each rounding once: n·u relative; past the smallest normal each \
             rounding is worth half a subnormal step, absolute (2^20 steps, below the normal range)",
        ),
        reduce_row!(
            "max",
            ALL,
            |x, a, k| Ok(super::dynarray::each!(x, b => b.max(to_axes(a), k)?)),
            |v| extreme(v, f64::max),
            |d| d,
            |_| 0.0
        ),
        reduce_row!(
            "min",
            ALL,
            |x, a, k| Ok(super::dynarray::each!(x, b => b.min(to_axes(a), k)?)),
            |v| extreme(v, f64::min),
            |d| d,
            |_| 0.0
        ),
        reduce_row!(
            "argmax",
            ALL,
            |x, a, k| Ok(any_to!(x, Dyn::I64, b => b.argmax(one_axis(a), k)?)),
            |v| arg(v, |a, b| a > b),
            |_| DType::I64,
            |_| 0.0
        ),
        reduce_row!(
            "argmin",
            ALL,
            |x, a, k| Ok(any_to!(x, Dyn::I64, b => b.argmin(one_axis(a), k)?)),
            |v| arg(v, |a, b| a < b),
            |_| DType::I64,
            |_| 0.0
        ),
        reduce_row!(
            "mean",
            FLOATS,
            |x, a, k| Ok(float!(x, b => b.mean(to_axes(a), k)?)),
            |v| Some(mean(v)),
            |d| d,
            |v| abs_sum(v) / v.len().max(1) as f64
        )
        .tol(summed_then, SUM_WHY),
        reduce_row!(
            "var",
            FLOATS,
            |x, a, k| Ok(float!(x, b => b.var(to_axes(a), 0, k)?)),
            |v| Some(var(v, 0)),
            |d| d,
            |v| var(v, 0).abs() * growth(v.len()) * 2.0
        )
        .tol(summed_then, "two passes (mean, then Σ(x - mean)²): each sum's bound, relative to the variance"),
        reduce_row!(
            "var_ddof1",
            FLOATS,
            |x, a, k| Ok(float!(x, b => b.var(to_axes(a), 1, k)?)),
            |v| Some(var(v, 1)),
            |d| d,
            |v| var(v, 1).abs() * growth(v.len()) * 2.0
        )
        .tol(summed_then, "as var; NaN when n ≤ ddof"),
        reduce_row!(
            "std",
            FLOATS,
            |x, a, k| Ok(float!(x, b => b.std(to_axes(a), 0, k)?)),
            |v| Some(var(v, 0).sqrt()),
            |d| d,
            |v| var(v, 0).sqrt() * growth(v.len())
        )
        .tol(summed_then, "the square root halves var's relative error, then rounds once"),
        reduce_row!(
            "logsumexp",
            FLOATS,
            |x, a, k| Ok(float!(x, b => b.logsumexp(to_axes(a), k)?)),
            |v| Some(logsumexp(v)),
            |d| d,
            |v| { growth(v.len()) + logsumexp(v).abs() }
        )
        .tol(summed_then, "max + ln Σ e^(x - max): the sum's relative error becomes an absolute one"),
        reduce_row!(
            "norm",
            FLOATS,
            |x, a, k| Ok(float!(x, b => b.norm(to_axes(a), k)?)),
            |v| Some(v.iter().map(|x| x * x).sum::<f64>().sqrt()),
            |d| d,
            |v| v.iter().map(|x| x * x).sum::<f64>().sqrt() * growth(v.len())
        )
        .tol(summed_then, "Σx² as a sum, then a square root"),
        Row::new(
            "cumsum",
            ALL,
            Kind::Along {
                call: |x, axis| {
                    Ok(match x {
                        Dyn::Bool(b) => Dyn::I64(b.cumsum(axis)?),
                        Dyn::I32(b) => Dyn::I64(b.cumsum(axis)?),
                        Dyn::I64(b) => Dyn::I64(b.cumsum(axis)?),
                        Dyn::U8(b) => Dyn::I64(b.cumsum(axis)?),
                        Dyn::U32(b) => Dyn::I64(b.cumsum(axis)?),
                        f => float!(f, b => b.cumsum(axis)?),
                    })
                },
                reference: |v| {
                    let (mut s, mut a) = (0.0, 0.0);
                    v.iter()
                        .enumerate()
                        .map(|(i, x)| {
                            s += x;
                            a += x.abs();
                            (s, a * ((i / 256) as f64 + 256.0).min(i as f64 + 1.0))
                        })
                        .collect()
                },
                out: sum_dtype,
                flattens: true,
            },
        )
        .tol(
            summed,
            "chunks of 256 added to the running total; the GPU scans a chunk as a tree ((i/256 + 9)·u·Σ|x|, \
             held on the PTX in tests/ptx_interp), the CPU left to right, so this row, shared by every device, \
             allows (i/256 + 256)·u·Σ|x| at element i",
        ),
        Row::new(
            "softmax",
            FLOATS,
            Kind::Along {
                call: |x, axis| Ok(float!(x, b => b.softmax_axis(axis.expect("no flattening"))?)),
                reference: |v| {
                    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let m = if v.iter().any(|x| x.is_nan()) { f64::NAN } else { m };
                    let e: Vec<f64> = v.iter().map(|x| (x - m).exp()).collect();
                    let s: f64 = e.iter().sum();
                    // `x - max` rounds by |x - max|·u, which e^ turns into a relative error.
                    e.iter()
                        .zip(v)
                        .map(|(e, x)| (e / s, (e / s).abs() * (growth(v.len()) + finite_or_zero((x - m).abs())) * 4.0))
                        .collect()
                },
                out: |d| d,
                flattens: false,
            },
        )
        .tol(summed_then, "x - max rounded (|x - max|·u), e^ within 2 ulp, a sum, a divide"),
        Row::new(
            "log_softmax",
            FLOATS,
            Kind::Along {
                call: |x, axis| Ok(float!(x, b => b.log_softmax(axis.expect("no flattening"))?)),
                reference: |v| {
                    let l = logsumexp(v);
                    // logsumexp itself is held to |l|·u, then `x - l` rounds.
                    v.iter()
                        .map(|x| (x - l, ((x - l).abs() + finite_or_zero(l.abs()) + growth(v.len())) * 4.0))
                        .collect()
                },
                out: |d| d,
                flattens: false,
            },
        )
        .tol(
            summed_then,
            "x - logsumexp: logsumexp's error (its rounding, |l|·u, and the sum's), and the subtraction's rounding",
        ),
        Row::new("sum_long_rows", FLOATS, Kind::Custom(long_rows)),
    ]
}

/// Rows long enough for the GPU to split them along `grid.y` (`kernels_gpu::ops::reduce`'s
/// `reduce_inner` with `reduce_partials`): `sum`, `argmax`, `mean`, `var`, `norm` and
/// `logsumexp` of the two rows of a `[2, 2^19 + 5]` array (chunks of uneven length, two
/// outputs interleaved in the partial results; `var` and `logsumexp` are two split launches
/// each, the second centred by the first's per-row result). Every float dtype. The bounds
/// follow the split order against the f64 value: `C` chunks of 256 threads give
/// `G = ceil(n/(256·C)) + 8 + C + 2` roundings on the way to a sum, each at most `u` of the
/// sum of magnitudes; `mean` adds its divide, `norm` halves Σx²'s relative error and rounds a
/// square root, `var` adds the rounding of each `x - mean` (relative, so 4u of the sum of
/// squares), `logsumexp` turns Σe^(x-m)'s relative error into an absolute one (the exps are
/// within 2 ulps, `x - m` in [-2, 0] rounds by 2u) plus `|l|·u`; 16-bit results round once
/// more (2^-8 relative). The index is exact.
fn long_rows(dtype: DType, d: &Device) -> CaseResult {
    use kernels_gpu::ops::reduce::MIN_SPLIT;
    let (rows, n) = (2usize, (1usize << 19) + 5);
    let case = format!("sum_long_rows {dtype:?}");
    let values = samples::values(dtype, rows * n, samples::domain(-1.0, 1.0), &case);
    let x = Dyn::new(dtype, &values, &[rows, n], d)?;
    let ax = || Axes::from(1isize);
    let results = [
        ("sum", float!(&x, b => b.sum(ax(), false)?).to_f64()?),
        ("mean", float!(&x, b => b.mean(ax(), false)?).to_f64()?),
        ("var", float!(&x, b => b.var(ax(), 0, false)?).to_f64()?),
        ("norm", float!(&x, b => b.norm(ax(), false)?).to_f64()?),
        ("logsumexp", float!(&x, b => b.logsumexp(ax(), false)?).to_f64()?),
    ];
    let idx = any_to!(&x, Dyn::I64, b => b.argmax(Some(1), false)?).to_f64()?;
    let chunks = (n as u64 / MIN_SPLIT).min(132 * 2048 / 256) as f64;
    let u = if dtype == DType::F64 { 2f64.powi(-53) } else { 2f64.powi(-24) };
    let out_u = sixteen(dtype).map_or(0.0, |_| 2f64.powi(-8));
    let g = (n as f64 / (256.0 * chunks)).ceil() + 8.0 + chunks + 2.0;
    for r in 0..rows {
        let row = &values[r * n..(r + 1) * n];
        let nf = n as f64;
        // Compensated sums: a plain f64 sum of 2^19 terms is no better than the f64 kernel.
        let sum = neumaier(row.iter().copied());
        let abs = neumaier(row.iter().map(|v| v.abs()));
        let sq = neumaier(row.iter().map(|v| v * v));
        let mean = sum / nf;
        let dev = neumaier(row.iter().map(|v| (v - mean) * (v - mean)));
        let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let l = m + neumaier(row.iter().map(|v| (v - m).exp())).ln();
        // (reference, bound before the 16-bit rounding)
        let want = [
            (sum, g * u * abs),
            (mean, g * u * abs / nf + u * mean.abs()),
            (dev / nf, (g + 4.0) * u * dev / nf + u * dev / nf),
            (sq.sqrt(), (g / 2.0 + 2.0) * u * sq.sqrt()),
            (l, (g + 4.0) * u + 2.0 * u * l.abs()),
        ];
        for ((name, got), (want, bound)) in results.iter().zip(want) {
            let bound = bound + out_u * (want.abs() + bound);
            ensure!(
                (got[r] - want).abs() <= bound,
                "{case} {name} of row {r}: {} against {want} (bound {bound:e})",
                got[r]
            );
        }
        let first_max = row.iter().enumerate().fold(0, |b, (i, &v)| if v > row[b] { i } else { b });
        ensure!(idx[r] == first_max as f64, "{case} argmax of row {r}: {} against {first_max}", idx[r]);
    }
    Ok(())
}

/// The sum of `v` with Neumaier's compensation: within a few ulps of the exact sum.
fn neumaier(v: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for x in v {
        let t = s + x;
        c += if s.abs() >= x.abs() { (s - t) + x } else { (x - t) + s };
        s = t;
    }
    s + c
}

/// The single axis an arg reduction takes (`None`: the flattened array); the runner gives
/// it only samples with at most one axis.
fn one_axis(a: Option<&[isize]>) -> Option<isize> {
    a.map(|a| a[0])
}

/// `v`, or 0 where it is inf or NaN (an error term of a lane whose result is exact anyway:
/// e^-inf = 0, or NaN).
fn finite_or_zero(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}
